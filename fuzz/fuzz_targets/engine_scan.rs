//! The engine on arbitrary bytes: never panics, detections lie inside the input, in order,
//! never overlap, never span a newline, and carry a confidence in [0, 1].
#![no_main]

use custos_rules::Engine;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::with_default_packs().expect("default packs compile"))
}

fuzz_target!(|data: &[u8]| {
    let e = engine();
    let mut out = Vec::new();
    e.scan(data, &mut out);
    let mut last_end = 0;
    for d in &out {
        assert!(d.start < d.end && d.end <= data.len());
        assert!(d.start >= last_end, "detections overlap or are out of order");
        assert!(!data[d.start..d.end].contains(&b'\n'));
        assert!((0.0..=1.0).contains(&d.confidence));
        let _ = custos_rules::mask::preview(&e.detector(d.detector).id, &data[d.start..d.end]);
        last_end = d.end;
    }
});

use super::*;
use crate::checkpoint::Checkpoint;

/// Feeds `lines` (as the tailer would: one identity per file, offsets by length) and returns
/// the messages handed out as (line, offset, text).
fn feed(r: &mut Reassembler, format: LogFormat, lines: &[&[u8]], max: usize) -> (Vec<(u64, u64, String)>, DecodeStats) {
    let mut out = Vec::new();
    let mut stats = DecodeStats::default();
    let mut offset = 0;
    for (i, l) in lines.iter().enumerate() {
        let mut why = |_| {};
        r.line(format, Path::new("/var/log/pods/a/b/0.log"), "1:2:0:abcd", i as u64 + 1, offset, l, max, &mut stats, &mut why, &mut |m| {
            out.push((m.line, m.offset, String::from_utf8_lossy(m.bytes).into_owned()))
        });
        offset += l.len() as u64 + 1;
    }
    (out, stats)
}

#[test]
fn a_cri_line_is_its_message_with_the_runtimes_time_and_stream() {
    let d = decode_cri(b"2024-01-01T00:00:00.123456789Z stderr F user ann@example.com logged in").unwrap();
    assert_eq!(d.stream, Stream::Stderr);
    assert!(!d.partial);
    assert_eq!(d.time_ms, Some(1_704_067_200_123));
    assert_eq!(&*d.message, b"user ann@example.com logged in");
    let empty = decode_cri(b"2024-01-01T00:00:00Z stdout F").unwrap();
    assert_eq!(&*empty.message, b"", "an empty message is a message");
    assert!(decode_cri(b"2024-01-01T00:00:00Z stdout P:x part").unwrap().partial, "tags after `:` are allowed");
}

#[test]
fn lines_that_are_not_cri_are_refused_with_a_reason_that_quotes_nothing() {
    for bad in [
        &b"ann@example.com"[..],
        b"2024-01-01T00:00:00Z stdin F x",
        b"2024-01-01T00:00:00Z stdout X x",
        b"yesterday stdout F ann@example.com",
        b"",
        b"\xff\xfe stdout F \xff",
    ] {
        let why = decode_cri(bad).unwrap_err();
        assert!(!why.contains("ann"), "{why}");
    }
}

#[test]
fn a_docker_line_is_its_json_decoded_log_value() {
    let d = decode_docker(br#"{"log":"caf\u00e9 \"ann@example.com\"\r\n","stream":"stdout","time":"2024-01-01T00:00:01.5Z"}"#).unwrap();
    assert_eq!(String::from_utf8_lossy(&d.message), "café \"ann@example.com\"");
    assert!(!d.partial);
    assert_eq!(d.time_ms, Some(1_704_067_201_500));
    let partial = decode_docker(br#"{"log":"no newline yet","stream":"stderr","time":"2024-01-01T00:00:01Z"}"#).unwrap();
    assert!(partial.partial);
    assert_eq!(partial.stream, Stream::Stderr);
    let no_time = decode_docker(br#"{"log":"x\n"}"#).unwrap();
    assert_eq!((no_time.stream, no_time.time_ms), (Stream::Stdout, None), "missing stream and time are tolerated");
}

#[test]
fn hostile_docker_lines_are_refused_without_a_panic() {
    for bad in [
        &br#"{"log":"x\n""#[..],
        br#"{"stream":"stdout"}"#,
        br#"{"log":42}"#,
        br#"{"log":"x\n","stream":"stdin"}"#,
        b"{\"log\":\"\xff\xfe\\n\"}",
        b"not json at all",
        br#"[1,2,3]"#,
        b"",
    ] {
        assert!(decode_docker(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(decode_docker(deep.as_bytes()).is_err(), "deep nesting is refused, not a stack overflow");
}

#[test]
fn auto_tells_docker_from_cri_line_by_line() {
    assert_eq!(&*decode(LogFormat::Auto, br#"{"log":"a\n","stream":"stdout"}"#).unwrap().message, b"a");
    assert_eq!(&*decode(LogFormat::Auto, b"2024-01-01T00:00:00Z stdout F b").unwrap().message, b"b");
    assert_eq!(&*decode(LogFormat::Plain, b"2024-01-01T00:00:00Z stdout F b").unwrap().message, b"2024-01-01T00:00:00Z stdout F b");
}

#[test]
fn partial_cri_lines_are_one_message_at_the_first_lines_position() {
    let mut r = Reassembler::default();
    let lines: &[&[u8]] = &[
        b"2024-01-01T00:00:00Z stdout P mail to ann@exa",
        b"2024-01-01T00:00:00Z stderr F an error",
        b"2024-01-01T00:00:00Z stdout P mple.",
        b"2024-01-01T00:00:01Z stdout F com sent",
    ];
    let (out, stats) = feed(&mut r, LogFormat::Cri, lines, 1 << 20);
    assert_eq!(out, vec![(2, 46, "an error".to_string()), (1, 0, "mail to ann@example.com sent".to_string())]);
    assert_eq!(stats, DecodeStats::default());
    assert!(r.is_empty());
}

#[test]
fn partial_docker_lines_are_reassembled_too() {
    let mut r = Reassembler::default();
    let lines: &[&[u8]] = &[br#"{"log":"ann@exa","stream":"stdout"}"#, br#"{"log":"mple.com\n","stream":"stdout"}"#];
    let (out, _) = feed(&mut r, LogFormat::Docker, lines, 1 << 20);
    assert_eq!(out, vec![(1, 0, "ann@example.com".to_string())]);
}

#[test]
fn a_reassembled_message_is_capped_at_max_bytes() {
    let mut r = Reassembler::default();
    let part = format!("2024-01-01T00:00:00Z stdout P {}", "x".repeat(300));
    let lines: Vec<&[u8]> = vec![part.as_bytes(); 5].into_iter().chain([&b"2024-01-01T00:00:00Z stdout F end"[..]]).collect();
    let (out, stats) = feed(&mut r, LogFormat::Cri, &lines, 1000);
    assert!(out.iter().all(|(_, _, m)| m.len() <= 1000), "{:?}", out.iter().map(|o| o.2.len()).collect::<Vec<_>>());
    assert_eq!(out.iter().map(|o| o.2.len()).sum::<usize>(), 1503, "nothing dropped");
    assert_eq!(stats.overlong, 1);
}

#[test]
fn a_malformed_line_is_scanned_whole_and_counted() {
    let mut r = Reassembler::default();
    let (out, stats) = feed(&mut r, LogFormat::Cri, &[b"\xffgarbage ann@example.com"], 1 << 20);
    assert_eq!(out.len(), 1);
    assert!(out[0].2.contains("ann@example.com"));
    assert_eq!(stats.malformed, 1);
}

#[test]
fn the_checkpoint_is_held_at_the_first_line_of_an_unfinished_message() {
    let mut r = Reassembler::default();
    let lines: &[&[u8]] = &[b"2024-01-01T00:00:00Z stdout F done", b"2024-01-01T00:00:00Z stdout P unfinished", b"2024-01-01T00:00:00Z stderr F other"];
    feed(&mut r, LogFormat::Cri, lines, 1 << 20);
    let mut c = Checkpoints::default();
    let cp = Checkpoint { path: "/x.log".into(), offset: 200, lines: 3, head_len: 10, head_hash: "h".into(), generation: 0 };
    c.files.insert("1:2".into(), cp.clone());
    c.files.insert("1:3".into(), cp.clone());
    r.hold_back(&mut c);
    assert_eq!((c.files["1:2"].offset, c.files["1:2"].lines), (35, 1), "held at line 2");
    assert_eq!(c.files["1:3"].offset, 200, "another file is not held");
    // The file left for good: its unfinished message goes out as it stands.
    let mut out = Vec::new();
    r.flush(Some(&Checkpoints::default()), &mut |m| out.push(String::from_utf8_lossy(m.bytes).into_owned()));
    assert_eq!(out, vec!["unfinished".to_string()]);
    assert!(r.is_empty());
}

#[test]
fn the_container_is_named_from_the_path() {
    let n = |p: &str| system_name(Path::new(p));
    assert_eq!(n("/var/log/pods/shop_web-7d9f_0b1c-22/api/0.log").as_deref(), Some("k8s/shop/web-7d9f/api"));
    assert_eq!(n("/var/log/pods/shop_web-7d9f_0b1c-22/api/0.log.20240101-000000").as_deref(), Some("k8s/shop/web-7d9f/api"));
    let id = "a".repeat(64);
    assert_eq!(n(&format!("/var/log/containers/web-7d9f_shop_api-{id}.log")).as_deref(), Some("k8s/shop/web-7d9f/api"));
    assert_eq!(n(&format!("/var/lib/docker/containers/{id}/{id}-json.log")).as_deref(), Some("docker/aaaaaaaaaaaa"));
    assert_eq!(n(&format!("/var/lib/docker/containers/{id}/{id}-json.log.1")).as_deref(), Some("docker/aaaaaaaaaaaa"));
    assert_eq!(n("/var/log/app/x.log"), None);
    assert_eq!(n("/var/log/pods/odd/api/0.log"), None);
    assert_eq!(n("x.log"), None);
}

use super::*;
use std::io::Cursor;

const CURSOR: &str = "s=d890f8c244e340a995c219e89a464b4d;i=2a;b=0123456789abcdef0123456789abcdef;m=3ea;t=60a24181e47d0;x=2ed4cafd6bf6d327";

fn entry_json(message: &str) -> String {
    format!(
        r#"{{"__CURSOR":"{CURSOR}","__REALTIME_TIMESTAMP":"1700000000002000","_SYSTEMD_UNIT":"shop.service","SYSLOG_IDENTIFIER":"shop","MESSAGE":{message}}}"#
    )
}

fn source(units: &[&str], identifiers: &[&str]) -> JournaldSource {
    JournaldSource {
        units: units.iter().map(|s| s.to_string()).collect(),
        identifiers: identifiers.iter().map(|s| s.to_string()).collect(),
        directory: Some("/j".into()),
        read_from: ReadFrom::End,
        journalctl: "journalctl".into(),
        max_entry_bytes: 4096,
    }
}

#[test]
fn an_entry_gives_its_cursor_unit_time_and_message() {
    let e = parse_entry(entry_json(r#""mail to ann@example.com""#).as_bytes()).unwrap();
    assert_eq!(e.cursor, CURSOR);
    assert_eq!((e.name.as_str(), e.identifier.as_deref()), ("shop.service", Some("shop")));
    assert_eq!(e.time_ms, Some(1_700_000_000_002));
    assert_eq!(e.message.as_deref(), Some(&b"mail to ann@example.com"[..]));
    assert_eq!(seqnum(&e.cursor), 0x2a);
    assert_eq!(identity(&e.cursor), identity(CURSOR), "the identity is stable");
    assert!(!identity(CURSOR).contains(CURSOR), "a hash, bounded in length");
}

#[test]
fn a_message_that_is_not_utf8_comes_as_bytes() {
    let e = parse_entry(entry_json("[98,105,110,32,255,254,32,97,64,98,46,99,111]").as_bytes()).unwrap();
    assert_eq!(e.message.as_deref(), Some(&b"bin \xff\xfe a@b.co"[..]));
    let several = parse_entry(entry_json(r#"["one",[116,119,111]]"#).as_bytes()).unwrap();
    assert_eq!(several.message.as_deref(), Some(&b"one\ntwo"[..]), "several values of a field");
    let too_large = parse_entry(entry_json("null").as_bytes()).unwrap();
    assert_eq!(too_large.message, None);
    let out_of_range = parse_entry(entry_json("[300,1]").as_bytes()).unwrap();
    assert_eq!(out_of_range.message, None, "not a byte array: no message, no panic");
}

#[test]
fn the_name_falls_back_to_the_identifier_then_the_command() {
    let e = parse_entry(format!(r#"{{"__CURSOR":"{CURSOR}","SYSLOG_IDENTIFIER":"sshd","_COMM":"sshd-session","MESSAGE":"x"}}"#).as_bytes()).unwrap();
    assert_eq!(e.name, "sshd");
    let e = parse_entry(format!(r#"{{"__CURSOR":"{CURSOR}","_COMM":"cron","MESSAGE":"x"}}"#).as_bytes()).unwrap();
    assert_eq!(e.name, "cron");
    let e = parse_entry(format!(r#"{{"__CURSOR":"{CURSOR}","MESSAGE":"x"}}"#).as_bytes()).unwrap();
    assert_eq!((e.name.as_str(), e.time_ms), ("unknown", None));
}

#[test]
fn hostile_entries_are_refused_with_a_reason_that_quotes_nothing() {
    for bad in [
        &b"not json ann@example.com"[..],
        b"[1,2]",
        br#"{"MESSAGE":"ann@example.com"}"#,
        br#"{"__CURSOR":42,"MESSAGE":"ann@example.com"}"#,
        br#"{"__CURSOR":"","MESSAGE":"x"}"#,
        b"{\"__CURSOR\":\"\xff\",\"MESSAGE\":\"x\"}",
        b"",
    ] {
        let why = parse_entry(bad).unwrap_err();
        assert!(!why.contains("ann"), "{why}");
    }
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_entry(deep.as_bytes()).is_err(), "deep nesting is refused, not a stack overflow");
}

#[test]
fn lines_are_read_bounded_and_overlong_ones_skipped_to_their_end() {
    let input = format!("short\n{}\nnext\nlast-without-newline", "x".repeat(10_000));
    let mut r = io::BufReader::with_capacity(64, Cursor::new(input.into_bytes()));
    assert_eq!(read_bounded(&mut r, 100).unwrap(), Some(ReadLine::Line(b"short".to_vec())));
    assert_eq!(read_bounded(&mut r, 100).unwrap(), Some(ReadLine::Overlong));
    assert_eq!(read_bounded(&mut r, 100).unwrap(), Some(ReadLine::Line(b"next".to_vec())));
    assert_eq!(read_bounded(&mut r, 100).unwrap(), Some(ReadLine::Line(b"last-without-newline".to_vec())));
    assert_eq!(read_bounded(&mut r, 100).unwrap(), None);
}

#[test]
fn journalctl_is_asked_for_json_after_the_cursor_with_the_filters() {
    let args = arguments(&source(&["shop.service"], &[]), Some(CURSOR), false, RunMode::Follow);
    for want in ["--output=json", "--all", "--merge", "--follow", "--directory=/j", "--no-tail", "--unit=shop.service"] {
        assert!(args.iter().any(|a| a == want), "{want} in {args:?}");
    }
    assert!(args.contains(&format!("--after-cursor={CURSOR}")));
    let first = arguments(&source(&[], &["sshd"]), None, false, RunMode::Once);
    assert!(first.contains(&"--lines=0".to_string()) && first.contains(&"--identifier=sshd".to_string()) && !first.contains(&"--follow".to_string()));
    let empty_journal = arguments(&source(&[], &[]), Some(""), false, RunMode::Follow);
    assert!(empty_journal.contains(&"--no-tail".to_string()) && !empty_journal.iter().any(|a| a.starts_with("--after-cursor")));
    let both = arguments(&source(&["a.service"], &["b"]), None, true, RunMode::Follow);
    assert!(!both.iter().any(|a| a.starts_with("--unit") || a.starts_with("--identifier")), "both lists: the agent filters");
}

#[test]
fn with_units_and_identifiers_an_entry_matching_either_is_read() {
    let s = source(&["shop*.service"], &["sshd"]);
    let e = |unit: Option<&str>, id: Option<&str>| Entry {
        cursor: CURSOR.into(),
        name: "x".into(),
        unit: unit.map(String::from),
        identifier: id.map(String::from),
        time_ms: None,
        message: None,
    };
    assert!(wanted(&s, &e(Some("shop-api.service"), None)));
    assert!(wanted(&s, &e(None, Some("sshd"))));
    assert!(!wanted(&s, &e(Some("cron.service"), Some("CRON"))));
}

#[test]
fn the_cursor_is_saved_atomically_and_a_corrupt_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = cursor_path(dir.path(), &source(&[], &[]));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    assert_eq!(load_cursor(&p).unwrap(), None);
    save_cursor(&p, CURSOR).unwrap();
    assert_eq!(load_cursor(&p).unwrap().as_deref(), Some(CURSOR));
    std::fs::write(&p, b"{oops").unwrap();
    let e = load_cursor(&p).unwrap_err().to_string();
    assert!(e.contains(&p.display().to_string()) && e.contains("move it away"), "{e}");
    assert_ne!(p, cursor_path(dir.path(), &source(&["a.service"], &[])), "one cursor per source");
}

//! The outbound requests of the egress log formats, and lines that are not one.

use super::*;

fn at(line: &str) -> Option<(String, String)> {
    outbound(line.as_bytes()).map(|o| (line[o.target.clone()].to_string(), o.host))
}

fn pair(target: &str, host: &str) -> Option<(String, String)> {
    Some((target.to_string(), host.to_string()))
}

#[test]
fn squid_native_lines_give_the_url_and_its_host() {
    let line = "1733560000.123     45 10.0.0.5 TCP_MISS/200 1234 GET http://pixel.vendor.example/collect?email=jane.doe@example.org&v=1 - HIER_DIRECT/203.0.113.5 image/gif";
    assert_eq!(at(line), pair("http://pixel.vendor.example/collect?email=jane.doe@example.org&v=1", "pixel.vendor.example"));
    let connect = "1733560001.000    120 10.0.0.5 TCP_TUNNEL/200 5120 CONNECT api.Vendor.example:443 - HIER_DIRECT/203.0.113.5 -";
    assert_eq!(at(connect), pair("api.Vendor.example:443", "api.vendor.example"));
}

#[test]
fn a_proxy_user_is_not_part_of_what_was_sent() {
    let line = "1733560000.123 45 10.0.0.5 TCP_MISS/200 1234 GET http://vendor.example/c?id=7 alice@corp.example HIER_DIRECT/203.0.113.5 -";
    let o = outbound(line.as_bytes()).unwrap();
    let user = line.find("alice@").unwrap();
    assert!(!o.carries(user..user + 17));
    let id = line.find("id=7").unwrap();
    assert!(o.carries(id..id + 4));
}

#[test]
fn nginx_as_forward_proxy_logs_absolute_urls() {
    let line = r#"10.0.0.5 - - [20/Nov/2026:10:00:00 +0100] "GET https://ads.example.net:8443/t?e=bob%40example.org HTTP/1.1" 200 43 "https://shop.example/account?email=x@y.example" "Mozilla/5.0""#;
    assert_eq!(at(line), pair("https://ads.example.net:8443/t?e=bob%40example.org", "ads.example.net"));
}

#[test]
fn envoy_default_format_names_the_authority_in_a_quoted_field() {
    let line = r#"[2026-11-20T10:00:00.000Z] "GET /v1/track?email=jane@example.org HTTP/1.1" 200 - 0 12 30 29 "-" "curl/8.5.0" "5c3e-a1" "api.analytics.example" "203.0.113.7:443""#;
    assert_eq!(at(line), pair("/v1/track?email=jane@example.org", "api.analytics.example"));
}

#[test]
fn nginx_egress_formats_name_the_host_by_key_or_by_upstream() {
    let keyed = r#"10.0.0.5 [20/Nov/2026:10:00:00 +0100] "POST /api/users?phone=0612345678 HTTP/1.1" 201 88 host=crm.vendor.example upstream=203.0.113.9:443"#;
    assert_eq!(at(keyed), pair("/api/users?phone=0612345678", "crm.vendor.example"));
    let upstream_only = r#"10.0.0.5 [20/Nov/2026:10:00:00 +0100] "GET /c?e=a@b.example HTTP/1.1" 200 1 "203.0.113.9:443""#;
    assert_eq!(at(upstream_only), pair("/c?e=a@b.example", "203.0.113.9"));
}

#[test]
fn application_client_lines_give_the_url() {
    assert_eq!(
        at("2026-11-20T10:00:00Z INFO http-client: POST https://api.support.example/v2/tickets?requester=jane@example.org -> 201 (35 ms)"),
        pair("https://api.support.example/v2/tickets?requester=jane@example.org", "api.support.example")
    );
    assert_eq!(
        at("level=info msg=\"outbound call\" method=GET url=https://user:secret@Vendor.Example./p?email=a@b.example status=200"),
        pair("https://user:secret@Vendor.Example./p?email=a@b.example", "vendor.example")
    );
    assert_eq!(
        at(r#"{"time":"2026-11-20T10:00:00Z","url":"https://cdn.vendor.example/i.gif?uid=42","status":200}"#),
        pair("https://cdn.vendor.example/i.gif?uid=42", "cdn.vendor.example")
    );
    assert_eq!(
        at(r#"{"method":"GET","path":"/q?email=a@b.example","authority":"search.vendor.example","status":200}"#).map(|p| p.1),
        Some("search.vendor.example".to_string())
    );
}

#[test]
fn lines_without_a_request_or_a_host_give_nothing() {
    assert_eq!(at(""), None);
    assert_eq!(at("user jane@example.org logged in"), None);
    assert_eq!(at(r#"10.0.0.5 - - [20/Nov/2026:10:00:00 +0100] "GET /account?email=a@b.example HTTP/1.1" 200 5 "-" "curl/8""#), None);
    assert_eq!(at("GET http:// HTTP/1.1"), None);
    assert_eq!(at("GET https://-bad-/x"), None);
    assert_eq!(at("FORGET https:"), None);
}

#[test]
fn hostile_lines_never_panic_and_hosts_stay_bounded() {
    let fragments: &[&[u8]] = &[
        b"GET ",
        b"CONNECT ",
        b"http://",
        b"https://",
        b"/",
        b"?",
        b"@",
        b":",
        b"[",
        b"]",
        b"\"",
        b" ",
        b"host=",
        b"\"authority\":",
        b"a.example",
        b"\xff\xfe",
        b"\x00",
        b"\t",
        b"443",
        b"%40",
        b"\xc3\xa9",
        b"...",
        b"-",
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..50_000 {
        let mut line = Vec::new();
        for _ in 0..1 + next() % 16 {
            line.extend_from_slice(fragments[(next() % fragments.len() as u64) as usize]);
        }
        if let Some(o) = outbound(&line) {
            assert!(o.target.end <= line.len() && o.target.start <= o.target.end);
            assert!(!o.host.is_empty() && o.host.len() <= MAX_HOST);
            assert!(o.host.bytes().all(|b| b.is_ascii_graphic()));
        }
    }
    let long = format!("GET https://{}/x", "a".repeat(10_000));
    assert_eq!(at(&long), None, "a host longer than 253 characters is not a host");
    let many = "GET ".repeat(100_000);
    assert_eq!(outbound(many.as_bytes()), None);
}

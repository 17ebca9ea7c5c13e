//! Outbound requests in forward-proxy and egress logs: where personal data is sent.
//!
//! Personal data leaves through outbound calls as often as through exports: an e-mail address
//! in the query string of a tracking pixel, a customer id in a call to a support vendor. The
//! lines that show it are those of forward proxies (squid), of nginx or envoy used as egress
//! gateways, and of applications logging their HTTP-client calls. A `[[log]]` source with
//! `detect = ["egress"]` says its lines are such requests; for each line, [`outbound`] finds
//! the request target (the URL, or the path and query) and the destination host, and every
//! personal-data finding *inside the target* is sent with the host (`destination_host`
//! evidence, masked like any name: see [`crate::finding::with_destination`]). A value
//! elsewhere on the line — the proxy user, a referer — was not sent to that host and gets none.
//!
//! Formats recognised, without configuration (an egress log's format is the operator's choice):
//!
//! | form | example | target | host |
//! |---|---|---|---|
//! | squid native | `1733560000.123 45 10.0.0.5 TCP_MISS/200 512 GET http://vendor.example/c?e=… - HIER_DIRECT/203.0.113.5 -` | the URL | the URL's |
//! | request with an absolute URL (nginx as forward proxy, application clients) | `"GET https://vendor.example/c?e=… HTTP/1.1"`, `POST https://api.vendor.example/v1/users?email=…` | the URL | the URL's |
//! | request with a path, host in a field (envoy's default format, nginx `$host`/`$proxy_host`/`$upstream_addr`) | `"GET /c?e=… HTTP/1.1" 200 … "vendor.example" "203.0.113.5:443"` | the path | the last quoted field that names a host, or a `host=`/`authority=`/`upstream_host=` key |
//! | any line with an absolute URL (`calling https://…`, JSON `"url":"https://…"`) | `http client: https://vendor.example/p?email=…` | the URL | the URL's |
//! | structured lines with the path and the host apart (JSON, logfmt) | `{"path":"/q?email=…","authority":"search.vendor.example"}` | the `path`/`uri` value | the `authority`/`host`/… value |
//!
//! The host is lower-cased, without user information (`user:password@`), port or trailing dot;
//! a line without a target or without a host yields nothing. Parsing never allocates more than
//! the host and never panics on hostile bytes (tested with random fragments).

use std::ops::Range;

/// An outbound request on a log line: the byte range of its target and its destination host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// Bytes of the line holding the request target (URL, or path and query string).
    pub target: Range<usize>,
    /// Destination host, lower-case, without port or user information.
    pub host: String,
}

impl Outbound {
    /// Whether a match at `span` of the line was sent to the destination (lies in the target).
    pub fn carries(&self, span: Range<usize>) -> bool {
        span.start >= self.target.start && span.end <= self.target.end && span.start < span.end
    }
}

/// Personal data sent to one destination host, as a log shows it after the fact
/// (`custos-agent scan --detect egress`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Flow {
    /// Personal values seen inside the requests' targets.
    pub findings: u64,
    /// The detectors that found them.
    pub detectors: std::collections::BTreeSet<String>,
    /// First and last line (1-based).
    pub lines: (u64, u64),
}

const METHODS: &[&[u8]] = &[b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"HEAD", b"OPTIONS", b"CONNECT"];
/// Keys whose value names the destination in key=value and JSON lines.
const HOST_KEYS: &[&[u8]] = &[b"authority", b"upstream_host", b"proxy_host", b"host", b"server_name", b"destination", b"dest_host", b"dst_host"];
/// Keys whose value is the request's path in structured lines.
const PATH_KEYS: &[&[u8]] = &[b"path", b"uri", b"request_uri", b"target"];
/// Longest host name kept (RFC 1035: 253 characters).
const MAX_HOST: usize = 253;

/// The outbound request on `line`, if it has one (see the module documentation).
pub fn outbound(line: &[u8]) -> Option<Outbound> {
    if let Some((target, quoted)) = request_target(line) {
        let text = &line[target.clone()];
        if let Some(host) = url_host(text) {
            return Some(Outbound { target, host });
        }
        if text.first() == Some(&b'/') {
            // The fields after a quoted request start past its closing quote.
            let after = if quoted { line[target.end..].iter().position(|&b| b == b'"').map_or(line.len(), |p| target.end + p + 1) } else { target.end };
            let host = field_host(line, after)?;
            return Some(Outbound { target, host });
        }
        return None;
    }
    if let Some(start) = find_url(line) {
        let end = token_end(line, start);
        let host = url_host(&line[start..end])?;
        return Some(Outbound { target: start..end, host });
    }
    // Structured lines naming the path and the host in fields of their own.
    let target = keyed(line, PATH_KEYS, |v| v.first() == Some(&b'/'))?;
    let host = keyed_host(line)?;
    Some(Outbound { target, host })
}

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// End of the token starting at `start`: the next space, quote or control byte.
fn token_end(line: &[u8], start: usize) -> usize {
    line[start..].iter().position(|&b| is_space(b) || b == b'"' || b == b'\'' || b < 0x20 || b == 0x7f).map_or(line.len(), |p| start + p)
}

/// The target of the first `METHOD target` pair on the line (a method word followed by an
/// absolute URL or a path), and whether the request is quoted (`"GET /x HTTP/1.1"`).
fn request_target(line: &[u8]) -> Option<(Range<usize>, bool)> {
    let mut i = 0;
    while i < line.len() {
        let at_word_start = i == 0 || matches!(line[i - 1], b' ' | b'\t' | b'"' | b'[' | b'=' | b':');
        if at_word_start && let Some(m) = METHODS.iter().find(|m| line[i..].starts_with(m)) {
            let after = i + m.len();
            if after < line.len() && is_space(line[after]) {
                let mut t = after;
                while t < line.len() && is_space(line[t]) {
                    t += 1;
                }
                let end = token_end(line, t);
                let token = &line[t..end];
                let fits = token.first() == Some(&b'/') || scheme_len(token).is_some() || (*m == b"CONNECT" && !token.is_empty());
                if fits {
                    return Some((t..end, i > 0 && line[i - 1] == b'"'));
                }
            }
        }
        i += 1;
    }
    None
}

/// Length of `http://` or `https://` (any case) at the start of `text`.
fn scheme_len(text: &[u8]) -> Option<usize> {
    let starts = |p: &[u8]| text.get(..p.len()).is_some_and(|s| s.eq_ignore_ascii_case(p));
    if starts(b"http://") {
        Some(7)
    } else if starts(b"https://") {
        Some(8)
    } else {
        None
    }
}

/// Byte offset of the first `http://` or `https://` on the line.
fn find_url(line: &[u8]) -> Option<usize> {
    (0..line.len()).find(|&i| (i == 0 || !line[i - 1].is_ascii_alphanumeric()) && scheme_len(&line[i..]).is_some())
}

/// The host of an absolute URL (`http(s)://[user@]host[:port]/…`), or of a CONNECT target
/// (`host:port`).
fn url_host(text: &[u8]) -> Option<String> {
    let rest = match scheme_len(text) {
        Some(n) => &text[n..],
        None if !text.contains(&b'/') && text.contains(&b':') => text, // CONNECT host:port
        None => return None,
    };
    let authority_end = rest.iter().position(|&b| matches!(b, b'/' | b'?' | b'#')).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host_port = match authority.iter().rposition(|&b| b == b'@') {
        Some(at) => &authority[at + 1..],
        None => authority,
    };
    host_of(host_port)
}

/// `host[:port]` or `[v6]:port` made a host: lower-case, no port, no trailing dot; `None` when
/// it is not a plausible host name or address.
fn host_of(host_port: &[u8]) -> Option<String> {
    let host = if host_port.first() == Some(&b'[') {
        let end = host_port.iter().position(|&b| b == b']')?;
        &host_port[1..end]
    } else {
        match host_port.iter().rposition(|&b| b == b':') {
            Some(c) if host_port[c + 1..].iter().all(u8::is_ascii_digit) => &host_port[..c],
            _ => host_port,
        }
    };
    let host = host.strip_suffix(b".").unwrap_or(host);
    let plausible = !host.is_empty()
        && host.len() <= MAX_HOST
        && host.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
        && host.iter().any(u8::is_ascii_alphanumeric)
        && host[0] != b'-'
        && host[0] != b'.';
    plausible.then(|| String::from_utf8_lossy(host).to_ascii_lowercase())
}

/// A host name (not an address, not a user agent) in a quoted field.
fn names_a_host(field: &[u8]) -> bool {
    field.contains(&b'.') && field.iter().any(u8::is_ascii_alphabetic) && !field.iter().any(|&b| is_space(b) || b == b'/')
}

/// The destination named by the line's fields after the request target: a `host=`-like key,
/// else the last quoted field naming a host (envoy's `:authority`, nginx's `$host`), else a
/// quoted `address:port` (an upstream address).
fn field_host(line: &[u8], after: usize) -> Option<String> {
    if let Some(h) = keyed_host(line) {
        return Some(h);
    }
    let rest = &line[after.min(line.len())..];
    let mut fields = Vec::new();
    let mut i = 0;
    while let Some(open) = rest[i..].iter().position(|&b| b == b'"').map(|p| i + p) {
        let Some(close) = rest[open + 1..].iter().position(|&b| b == b'"').map(|p| open + 1 + p) else { break };
        fields.push(&rest[open + 1..close]);
        i = close + 1;
    }
    if let Some(h) = fields.iter().rev().find(|f| names_a_host(f)).and_then(|f| host_of(f)) {
        return Some(h);
    }
    fields.iter().rev().find(|f| f.contains(&b':') && f.first().is_some_and(u8::is_ascii_digit)).and_then(|f| host_of(f))
}

/// The value of a `key=value` or `"key":"value"` whose key names the destination.
fn keyed_host(line: &[u8]) -> Option<String> {
    let range = keyed(line, HOST_KEYS, |v| url_host(v).or_else(|| host_of(v)).is_some())?;
    let value = &line[range];
    url_host(value).or_else(|| host_of(value))
}

/// The bytes of the first value of a `key=value` or `"key":"value"` pair, for any of `keys`
/// (in their order), that `accept`s.
fn keyed(line: &[u8], keys: &[&[u8]], accept: impl Fn(&[u8]) -> bool) -> Option<Range<usize>> {
    for key in keys {
        let mut from = 0;
        while let Some(p) = line[from..].windows(key.len()).position(|w| w.eq_ignore_ascii_case(key)).map(|p| from + p) {
            from = p + key.len();
            let before_ok = p == 0 || !(line[p - 1].is_ascii_alphanumeric() || line[p - 1] == b'_');
            let mut v = p + key.len();
            if line.get(v) == Some(&b'"') {
                v += 1; // JSON: "key":"value"
            }
            let Some(&sep) = line.get(v) else { continue };
            if !before_ok || (sep != b'=' && sep != b':') {
                continue;
            }
            v += 1;
            while v < line.len() && (is_space(line[v]) || line[v] == b'"') {
                v += 1;
            }
            let mut end = token_end(line, v);
            while end > v && matches!(line[end - 1], b',' | b'}') {
                end -= 1;
            }
            if accept(&line[v..end]) {
                return Some(v..end);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests;

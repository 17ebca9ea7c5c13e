//! Online identifiers and location: IP and MAC addresses, GPS coordinates.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Dotted-quad IPv4 without leading zeros (`010.1.1.1` is refused: octal in some parsers, an
/// order number more often). `0.0.0.0`, the broadcast address and `127.x` loopback are not
/// personal data and are refused. Normalised to its canonical text.
pub fn ipv4(raw: &[u8]) -> Option<Vec<u8>> {
    // Parsed by hand in one pass rather than through `Ipv4Addr`'s parser and `Display`: this
    // runs on every dotted quad of a log, and without leading zeros the canonical text is the
    // raw text itself.
    let mut octets = [0u8; 4];
    let (mut part, mut len, mut value) = (0usize, 0usize, 0u32);
    for (i, &b) in raw.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                // A leading zero (`010`), or a fourth digit.
                if (len == 1 && raw[i - 1] == b'0') || len == 3 {
                    return None;
                }
                value = value * 10 + u32::from(b - b'0');
                len += 1;
            }
            b'.' if len > 0 && part < 3 => {
                octets[part] = u8::try_from(value).ok()?;
                (part, len, value) = (part + 1, 0, 0);
            }
            _ => return None,
        }
    }
    if part != 3 || len == 0 {
        return None;
    }
    octets[3] = u8::try_from(value).ok()?;
    let ip = Ipv4Addr::from(octets);
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_loopback() {
        return None;
    }
    Some(raw.to_vec())
}

/// IPv6 in full or compressed form (at least three groups written, so `::1` and times like
/// `12:30::` are refused); loopback and unspecified are refused. Normalised to RFC 5952 text.
pub fn ipv6(raw: &[u8]) -> Option<Vec<u8>> {
    let s = std::str::from_utf8(raw).ok()?;
    let groups = s.split(':').filter(|g| !g.is_empty()).count();
    if groups < 3 {
        return None;
    }
    let ip: Ipv6Addr = s.parse().ok()?;
    if ip.is_loopback() || ip.is_unspecified() {
        return None;
    }
    Some(ip.to_string().into_bytes())
}

/// MAC address, `aa:bb:cc:dd:ee:ff`, `aa-bb-…` (one separator throughout) or Cisco
/// `aabb.ccdd.eeff`; all-zero and broadcast addresses are refused. Normalised to lower-case
/// colon form.
pub fn mac_address(raw: &[u8]) -> Option<Vec<u8>> {
    let hex: Vec<u8> = raw.iter().filter(|b| b.is_ascii_hexdigit()).map(|b| b.to_ascii_lowercase()).collect();
    if hex.len() != 12 {
        return None;
    }
    let seps: Vec<u8> = raw.iter().copied().filter(|b| !b.is_ascii_hexdigit()).collect();
    if seps.windows(2).any(|w| w[0] != w[1]) {
        return None;
    }
    if hex.iter().all(|&b| b == b'0') || hex.iter().all(|&b| b == b'f') {
        return None;
    }
    let mut out = Vec::with_capacity(17);
    for (i, pair) in hex.chunks(2).enumerate() {
        if i > 0 {
            out.push(b':');
        }
        out.extend_from_slice(pair);
    }
    Some(out)
}

/// Decimal latitude/longitude pair `lat, lon` with at least four decimals each (≈ 11 m: a
/// place, not a region), latitude within ±90 and longitude within ±180, not both zero.
pub fn gps_coordinates(raw: &[u8]) -> Option<Vec<u8>> {
    let s = std::str::from_utf8(raw).ok()?;
    let (a, b) = s.split_once(',').or_else(|| s.split_once(' '))?;
    let parse = |t: &str| -> Option<(f64, usize)> {
        let t = t.trim();
        let decimals = t.split_once('.')?.1.len();
        Some((t.parse().ok()?, decimals))
    };
    let ((lat, da), (lon, db)) = (parse(a)?, parse(b)?);
    if da < 4 || db < 4 || lat.abs() > 90.0 || lon.abs() > 180.0 || (lat == 0.0 && lon == 0.0) {
        return None;
    }
    Some(format!("{lat:.4},{lon:.4}").into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_accepts_what_the_standard_parser_accepted() {
        // The previous implementation, kept as the reference for the hand-written parser.
        fn reference(raw: &[u8]) -> Option<Vec<u8>> {
            let s = std::str::from_utf8(raw).ok()?;
            if s.split('.').any(|p| p.len() > 1 && p.starts_with('0')) {
                return None;
            }
            let ip: Ipv4Addr = s.parse().ok()?;
            if ip.is_unspecified() || ip.is_broadcast() || ip.is_loopback() {
                return None;
            }
            Some(ip.to_string().into_bytes())
        }
        let parts = ["0", "1", "9", "00", "01", "10", "99", "127", "199", "255", "256", "999", "0255", "1000", "", "+1", "a", "-1"];
        let mut checked = 0;
        for n in 1..=5 {
            let mut idx = vec![0usize; n];
            loop {
                let raw = idx.iter().map(|&i| parts[i]).collect::<Vec<_>>().join(".");
                assert_eq!(ipv4(raw.as_bytes()), reference(raw.as_bytes()), "{raw}");
                checked += 1;
                // Next combination (odometer); only the first parts vary beyond three, to stay quick.
                let mut k = 0;
                while k < n {
                    idx[k] += 1;
                    if idx[k] < parts.len() && (k < 3 || idx[k] < 4) {
                        break;
                    }
                    idx[k] = 0;
                    k += 1;
                }
                if k == n {
                    break;
                }
            }
        }
        assert!(checked > 10_000);
    }

    #[test]
    fn ipv4_refuses_leading_zeros_and_non_personal_addresses() {
        assert_eq!(ipv4(b"203.0.113.9").unwrap(), b"203.0.113.9");
        assert!(ipv4(b"10.1.2.3").is_some());
        assert!(ipv4(b"010.1.2.3").is_none());
        assert!(ipv4(b"256.1.2.3").is_none());
        assert!(ipv4(b"127.0.0.1").is_none());
        assert!(ipv4(b"0.0.0.0").is_none());
    }

    #[test]
    fn ipv6_full_and_compressed() {
        assert_eq!(ipv6(b"2001:0db8:0000:0000:0000:ff00:0042:8329").unwrap(), b"2001:db8::ff00:42:8329");
        assert!(ipv6(b"2001:db8::ff00:42:8329").is_some());
        assert!(ipv6(b"::1").is_none());
        assert!(ipv6(b"12:30::").is_none());
    }

    #[test]
    fn mac_forms() {
        assert_eq!(mac_address(b"00:1A:2b:3c:4D:5e").unwrap(), b"00:1a:2b:3c:4d:5e");
        assert!(mac_address(b"001a.2b3c.4d5e").is_some());
        assert!(mac_address(b"00:1a-2b:3c:4d:5e").is_none(), "mixed separators");
        assert!(mac_address(b"ff:ff:ff:ff:ff:ff").is_none());
    }

    #[test]
    fn gps_ranges_and_precision() {
        assert!(gps_coordinates(b"48.85837, 2.294481").is_some());
        assert!(gps_coordinates(b"-33.8568,151.2153").is_some());
        assert!(gps_coordinates(b"48.85, 2.29").is_none(), "too coarse");
        assert!(gps_coordinates(b"98.85837, 2.294481").is_none());
    }
}

//! Cutting a TCP byte stream into syslog messages (RFC 6587), in bounded memory.
//!
//! Two framings exist and senders do not say which they use, so it is decided per frame:
//! - **octet counting** `LEN SP MSG` (RFC 6587 3.4.1, RFC 5425): a frame starting with 1 to 10
//!   digits, a space and `<` (the PRI every syslog message starts with);
//! - **non-transparent framing**: anything else runs to the next LF (a CR before it goes) or
//!   NUL, the trailers senders use.
//!
//! No frame is held beyond `max` bytes. A longer message is handed out cut to `max` (marked
//! truncated, so it is counted) and the rest of it is skipped as it arrives — up to the next
//! delimiter, or through the announced length — without being buffered: an endless line or an
//! octet count of ten gigabytes costs `max` bytes of memory, never more.

/// One message cut from the stream.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    /// The message, at most `max` bytes, without length prefix or trailer.
    pub bytes: Vec<u8>,
    /// The message was longer than `max` and is cut.
    pub truncated: bool,
}

/// What is being skipped of a message too long to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    /// Nothing.
    No,
    /// This many more bytes of an octet-counted message.
    Bytes(u64),
    /// Up to and including the next LF or NUL.
    ToDelimiter,
}

/// The framing state of one connection.
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    max: usize,
    skip: Skip,
}

/// Digits of an octet count at most (9,999,999,999 bytes: anything longer is no count).
const MAX_COUNT_DIGITS: usize = 10;

impl Framer {
    /// A framer keeping messages of at most `max` bytes (at least 1).
    pub fn new(max: usize) -> Framer {
        Framer { buf: Vec::new(), max: max.max(1), skip: Skip::No }
    }

    /// Bytes held for a message not complete yet (at most `max` plus one read).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Adds bytes read from the connection and hands out every message they complete.
    pub fn push(&mut self, mut data: &[u8], out: &mut Vec<Frame>) {
        // What is being skipped is dropped as it comes, never buffered.
        match self.skip {
            Skip::No => {}
            Skip::Bytes(n) => {
                let k = (data.len() as u64).min(n);
                data = &data[k as usize..];
                self.skip = if k == n { Skip::No } else { Skip::Bytes(n - k) };
            }
            Skip::ToDelimiter => match data.iter().position(|&b| b == b'\n' || b == 0) {
                Some(i) => {
                    data = &data[i + 1..];
                    self.skip = Skip::No;
                }
                None => data = &[],
            },
        }
        if data.is_empty() {
            return;
        }
        self.buf.extend_from_slice(data);
        self.drain(out);
    }

    /// The last message of a closed connection, if it ended without a trailer.
    pub fn finish(&mut self, out: &mut Vec<Frame>) {
        if self.skip == Skip::No && !self.buf.iter().all(|b| b.is_ascii_whitespace() || *b == 0) {
            // An octet-counted frame cut short is kept as what arrived of it.
            let bytes = match octet_count(&self.buf) {
                Count::Frame { header, .. } => self.buf[header..].to_vec(),
                _ => std::mem::take(&mut self.buf),
            };
            out.push(Frame { bytes, truncated: false });
        }
        self.buf.clear();
    }

    fn drain(&mut self, out: &mut Vec<Frame>) {
        let mut at = 0;
        loop {
            // Trailers and blank lines between frames are not messages.
            while at < self.buf.len() && matches!(self.buf[at], b'\n' | b'\r' | 0) {
                at += 1;
            }
            let rest = &self.buf[at..];
            if rest.is_empty() {
                break;
            }
            match octet_count(rest) {
                Count::NeedMore => break,
                Count::Frame { header, len } => {
                    let body = &rest[header..];
                    if len <= self.max as u64 {
                        if (body.len() as u64) < len {
                            break; // wait for the rest of it
                        }
                        out.push(Frame { bytes: body[..len as usize].to_vec(), truncated: false });
                        at += header + len as usize;
                    } else if body.len() >= self.max {
                        out.push(Frame { bytes: body[..self.max].to_vec(), truncated: true });
                        let have = (body.len() as u64).min(len);
                        at += header + have as usize;
                        if have < len {
                            self.skip = Skip::Bytes(len - have);
                            at = self.buf.len();
                            break;
                        }
                    } else {
                        break;
                    }
                }
                Count::NotCounted => match rest.iter().position(|&b| b == b'\n' || b == 0) {
                    Some(i) if i <= self.max => {
                        let mut line = &rest[..i];
                        if line.ends_with(b"\r") {
                            line = &line[..line.len() - 1];
                        }
                        out.push(Frame { bytes: line.to_vec(), truncated: false });
                        at += i + 1;
                    }
                    found => {
                        if found.is_none() && rest.len() <= self.max {
                            break; // wait for its end
                        }
                        out.push(Frame { bytes: rest[..self.max].to_vec(), truncated: true });
                        match found {
                            Some(i) => at += i + 1,
                            None => {
                                self.skip = Skip::ToDelimiter;
                                at = self.buf.len();
                                break;
                            }
                        }
                    }
                },
            }
        }
        self.buf.drain(..at.min(self.buf.len()));
    }
}

/// How a frame starts.
enum Count {
    /// Octet counting: the frame's header length (digits and space) and the message length.
    Frame { header: usize, len: u64 },
    /// Not octet counting.
    NotCounted,
    /// Too few bytes to tell.
    NeedMore,
}

fn octet_count(s: &[u8]) -> Count {
    let digits = s.iter().take(MAX_COUNT_DIGITS + 1).take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > MAX_COUNT_DIGITS || s[0] == b'0' {
        return Count::NotCounted;
    }
    match (s.get(digits), s.get(digits + 1)) {
        (None, _) | (Some(b' '), None) => Count::NeedMore,
        (Some(b' '), Some(b'<')) => Count::Frame { header: digits + 1, len: s[..digits].iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')) },
        _ => Count::NotCounted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(max: usize, chunks: &[&[u8]]) -> Vec<Frame> {
        let mut f = Framer::new(max);
        let mut out = Vec::new();
        for c in chunks {
            f.push(c, &mut out);
            assert!(f.buffered() <= max + c.len() + MAX_COUNT_DIGITS + 2, "bounded: {} held", f.buffered());
        }
        f.finish(&mut out);
        out
    }

    fn texts(v: &[Frame]) -> Vec<(String, bool)> {
        v.iter().map(|f| (String::from_utf8_lossy(&f.bytes).into_owned(), f.truncated)).collect()
    }

    #[test]
    fn newline_and_nul_framing_with_crlf_and_blank_lines() {
        let out = frames(100, &[b"<13>a\n<13>b\r\n\n<13>c\0<13>d"]);
        let want = ["<13>a", "<13>b", "<13>c", "<13>d"].map(|s| (s.to_string(), false));
        assert_eq!(texts(&out), want);
    }

    #[test]
    fn octet_counting_mixed_with_newlines_and_split_anywhere() {
        let stream = b"11 <13>1 - x y\n9 <13>a b c<13>line\n";
        let want = vec![("<13>1 - x y".to_string(), false), ("<13>a b c".to_string(), false), ("<13>line".to_string(), false)];
        // The message holds a newline: only the count frames it right.
        let counted = frames(100, &[b"13 <13>one\ntwo!"]);
        assert_eq!(texts(&counted), vec![("<13>one\ntwo!".to_string(), false)]);
        for cut in 0..stream.len() {
            let out = frames(100, &[&stream[..cut], &stream[cut..]]);
            assert_eq!(texts(&out), want, "cut at {cut}");
        }
        // One byte at a time.
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(texts(&frames(100, &bytes)), want);
    }

    #[test]
    fn a_line_starting_with_digits_is_not_a_count() {
        let out = frames(100, &[b"404 not found\n12345\n"]);
        assert_eq!(texts(&out), vec![("404 not found".to_string(), false), ("12345".to_string(), false)]);
    }

    #[test]
    fn an_endless_line_is_cut_once_and_the_rest_skipped_in_bounded_memory() {
        let mut f = Framer::new(64);
        let mut out = Vec::new();
        let chunk = [b'x'; 1000];
        for _ in 0..1000 {
            f.push(&chunk, &mut out);
            assert!(f.buffered() <= 64 + 1000);
        }
        f.push(b"tail\n<13>next\n", &mut out);
        assert_eq!(out.len(), 2);
        assert!(out[0].truncated && out[0].bytes.len() == 64);
        assert_eq!(out[1], Frame { bytes: b"<13>next".to_vec(), truncated: false });
    }

    #[test]
    fn a_huge_octet_count_keeps_max_bytes_and_skips_the_rest() {
        let mut f = Framer::new(16);
        let mut out = Vec::new();
        f.push(b"9999999999 <13>", &mut out);
        for _ in 0..100 {
            f.push(&[b'y'; 4096], &mut out);
            assert!(f.buffered() <= 16 + 4096 + 12);
        }
        assert_eq!(out.len(), 1);
        assert!(out[0].truncated && out[0].bytes.len() == 16 && out[0].bytes.starts_with(b"<13>"));
        // A count that is announced too long, then the stream closes: nothing more is made up.
        f.finish(&mut out);
        assert_eq!(out.len(), 1);
        // A too-long counted message followed by a good one.
        let out = frames(8, &[b"20 <13>aaaaaaaaaaaaaaaa4 <1>x\n"]);
        assert_eq!(texts(&out), vec![("<13>aaaa".to_string(), true), ("<1>x".to_string(), false)]);
    }

    #[test]
    fn binary_garbage_never_panics_and_stays_bounded() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut f = Framer::new(128);
        let mut out = Vec::new();
        for _ in 0..2000 {
            let mut chunk = [0u8; 97];
            for b in &mut chunk {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = match seed % 7 {
                    0 => b'\n',
                    1 => b' ',
                    2 => b'<',
                    3 => b'0' + (seed % 10) as u8,
                    _ => seed as u8,
                };
            }
            f.push(&chunk, &mut out);
            assert!(f.buffered() <= 128 + 97 + 12);
        }
        assert!(out.iter().all(|fr| fr.bytes.len() <= 128));
    }
}

//! Log lines that text from the wire cannot forge.
//!
//! Agent ids, finding ids and other strings an agent (or a console user) chooses reach both
//! daemons' logs. In the human-readable format a `\n` inside such a value would start a line of
//! the attacker's making ("… INFO agent connected agent=admin"), and an escape sequence would
//! speak to the terminal of whoever reads the log. [`Escaping`] wraps the log's writer and
//! writes every control character of a record as a visible escape (`\n`, `\r`, `\t` stay
//! readable as such, others as `\x1b`…), keeping only the newline that ends the record. The
//! formatter writes one record per `write` call, so "the end of the buffer" is "the end of the
//! record". The JSON format needs none of this: JSON strings escape control characters.

use std::io::{self, Write};

/// An `io::Write` that escapes control characters, but for a trailing newline.
#[derive(Debug)]
pub struct Escaping<W>(pub W);

/// Appends `bytes` to `out` with every ASCII control character (and DEL) escaped, except a
/// final `\n`.
pub fn escape_record(bytes: &[u8], out: &mut Vec<u8>) {
    let (body, end) = match bytes.split_last() {
        Some((b'\n', body)) => (body, true),
        _ => (bytes, false),
    };
    for &b in body {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
            _ => out.push(b),
        }
    }
    if end {
        out.push(b'\n');
    }
}

impl<W: Write> Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !buf.iter().any(|&b| b < 0x20 && b != b'\n' || b == 0x7f) && buf.iter().filter(|&&b| b == b'\n').count() <= usize::from(buf.last() == Some(&b'\n')) {
            self.0.write_all(buf)?;
            return Ok(buf.len());
        }
        let mut out = Vec::with_capacity(buf.len() + 16);
        escape_record(buf, &mut out);
        self.0.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(record: &str) -> String {
        let mut w = Escaping(Vec::new());
        w.write_all(record.as_bytes()).unwrap();
        String::from_utf8(w.0).unwrap()
    }

    #[test]
    fn a_newline_inside_a_record_cannot_start_a_forged_line() {
        let forged = "WARN agent claimed another id claimed=x\n2026-01-01T00:00:00Z  INFO agent connected agent=admin\n";
        let out = through(forged);
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.ends_with("agent=admin\n") && out.contains("claimed=x\\n2026"), "{out}");
    }

    #[test]
    fn escape_sequences_are_shown_not_sent_and_plain_text_is_untouched() {
        assert_eq!(through("a\u{1b}[2Jb\r\n"), "a\\x1b[2Jb\\r\n");
        assert_eq!(through("plain é ✓ text\n"), "plain é ✓ text\n");
        assert_eq!(through("no newline"), "no newline");
    }
}

//! The event clock of a log, and counting windows on it.
//!
//! A line's event time is its own timestamp ([`super::event_time`]); a line without one (a
//! plan line of auto_explain, a MySQL slow-log entry after its `# Time:` header) takes the
//! time of the last line of the same log that had one; a log whose lines have none is timed by
//! the reading (live tailing).
//!
//! [`Windows`] count events per fixed window of event time. Lines arrive slightly out of order
//! (nginx logs a request when it ends, with the time it started), so a window closes only once
//! a line at least `tolerance` later than its end was seen; a line later still counts in the
//! oldest window that is open. Replaying a log (a forensic `scan`) and tailing it live close the
//! same windows with the same counts: closing depends on the lines, not on when they are read.
//! At the end of a scan, or when a live log has been quiet for a window and the tolerance, the
//! open windows are flushed.

use std::collections::BTreeMap;

/// The event clock of one log.
#[derive(Debug, Clone, Default)]
pub struct LineClock {
    last_ms: Option<i64>,
}

impl LineClock {
    /// The event time of `line` read at `read_ms`: its own timestamp, else the last stamped
    /// line's, else the read time.
    pub fn time(&mut self, line: &[u8], read_ms: i64) -> i64 {
        match super::event_time::line_time_ms(line, read_ms) {
            Some(t) => {
                self.last_ms = Some(t);
                t
            }
            None => self.last_ms.unwrap_or(read_ms),
        }
    }

    /// True once a line of this log had a timestamp of its own (its windows then close on
    /// event time only).
    pub fn stamped(&self) -> bool {
        self.last_ms.is_some()
    }
}

/// Fixed windows of event time, each holding an `S`, closed in order once the clock is past
/// their end by the reorder tolerance.
#[derive(Debug, Clone)]
pub struct Windows<S> {
    width_ms: i64,
    tolerance_ms: i64,
    open: BTreeMap<i64, S>,
    watermark: Option<i64>,
}

impl<S: Default> Windows<S> {
    /// Windows `width_s` long (at least 1 s) that wait `tolerance_s` for late lines.
    pub fn new(width_s: u64, tolerance_s: u64) -> Self {
        Windows { width_ms: (width_s.max(1) * 1000) as i64, tolerance_ms: (tolerance_s * 1000) as i64, open: BTreeMap::new(), watermark: None }
    }

    /// Window length, ms.
    pub fn width_ms(&self) -> i64 {
        self.width_ms
    }

    /// The window that counts an event at `t_ms`, after closing (into `closed`, oldest first)
    /// the windows the event's time closes. An event too late for its own window counts in the
    /// oldest window still open.
    pub fn at(&mut self, t_ms: i64, closed: &mut Vec<(i64, S)>) -> &mut S {
        self.advance(t_ms, closed);
        let own = t_ms.div_euclid(self.width_ms) * self.width_ms;
        let start = own.max(self.earliest_open());
        self.open.entry(start).or_default()
    }

    /// The start of the earliest window an event may still count in.
    fn earliest_open(&self) -> i64 {
        match self.watermark {
            Some(w) => (w - self.tolerance_ms).div_euclid(self.width_ms) * self.width_ms,
            None => i64::MIN,
        }
    }

    /// Moves the clock to `t_ms` (never back) and closes the windows it is past.
    pub fn advance(&mut self, t_ms: i64, closed: &mut Vec<(i64, S)>) {
        let w = self.watermark.map_or(t_ms, |w| w.max(t_ms));
        self.watermark = Some(w);
        while let Some((&start, _)) = self.open.first_key_value() {
            if start + self.width_ms + self.tolerance_ms > w {
                break;
            }
            if let Some(entry) = self.open.pop_first() {
                closed.push(entry);
            }
        }
    }

    /// Closes every open window (end of a scan, a quiet live log).
    pub fn flush(&mut self, closed: &mut Vec<(i64, S)>) {
        closed.extend(std::mem::take(&mut self.open));
    }

    /// True when no window is open.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_close_on_event_time_and_wait_for_late_lines() {
        let mut w: Windows<u64> = Windows::new(60, 10);
        let mut closed = Vec::new();
        for t in [0, 20_000, 59_000, 61_000, 55_000] {
            *w.at(t, &mut closed) += 1;
        }
        assert!(closed.is_empty(), "a line 55 s in, after one at 61 s, still counts in the first window");
        *w.at(70_500, &mut closed) += 1;
        assert_eq!(closed, vec![(0, 4)]);
        *w.at(30_000, &mut closed) += 1; // too late: the oldest open window takes it
        w.flush(&mut closed);
        assert_eq!(closed, vec![(0, 4), (60_000, 3)]);
        assert!(w.is_empty());
    }

    #[test]
    fn the_clock_follows_stamps_and_lends_the_last_one_to_lines_without() {
        let mut c = LineClock::default();
        assert_eq!(c.time(b"no time here", 5), 5);
        assert!(!c.stamped());
        let t = c.time(b"2026-11-20 10:00:01 UTC [1] LOG:  duration: 1 ms  plan:", 5);
        assert_eq!(c.time(b"\tSeq Scan on customers (actual rows=20000 loops=1)", 5), t);
        assert!(c.stamped());
    }
}

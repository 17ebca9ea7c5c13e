//! Scanning the files of a directory on every core, with the output of a single-threaded scan.
//!
//! Workers take files in the walk's order from a shared counter. Each file's output is written
//! through a [`TurnWriter`]: it is buffered until the file before it is completely written (its
//! "turn"), then goes straight to the real output. So the output is byte-for-byte what one
//! thread would print, and memory stays bounded: a worker whose buffer reaches
//! [`BUFFER_CAP`] waits for its turn instead of growing it. The file whose turn it is never
//! waits, so the turn always advances.
//!
//! ripgrep prints each file's matches whole but in completion order (unless `--sort`); a data
//! protection scan is compared run to run, so Custos keeps the walk's order.

use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// A worker buffers at most this much of a file's output before waiting for its turn.
pub const BUFFER_CAP: usize = 4 << 20;

/// The number of scanning threads for `requested` (0: one per core).
pub fn threads(requested: usize) -> usize {
    if requested > 0 {
        return requested;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The shared output and whose turn it is to write to it.
struct Turns<'w> {
    state: Mutex<TurnState<'w>>,
    changed: Condvar,
}

struct TurnState<'w> {
    /// Index of the item whose output goes to `out` now.
    turn: usize,
    out: &'w mut (dyn Write + Send),
    /// Set when writing failed (a closed pipe) or a worker panicked: everyone stops.
    aborted: Option<io::ErrorKind>,
}

impl<'w> Turns<'w> {
    /// Waits for item `index`'s turn, then writes `bytes`; with `done`, passes the turn on.
    fn write(&self, index: usize, bytes: &[u8], done: bool) -> io::Result<()> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while s.turn != index && s.aborted.is_none() {
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        if let Some(kind) = s.aborted {
            return Err(io::Error::new(kind, "the scan output was closed"));
        }
        let result = if bytes.is_empty() { Ok(()) } else { s.out.write_all(bytes) };
        match &result {
            Err(e) => s.aborted = Some(e.kind()),
            Ok(()) if done => s.turn += 1,
            Ok(()) => return Ok(()),
        }
        drop(s);
        self.changed.notify_all();
        result
    }

    fn abort(&self, kind: io::ErrorKind) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.aborted.get_or_insert(kind);
        drop(s);
        self.changed.notify_all();
    }

    fn aborted(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).aborted.is_some()
    }
}

/// The output of one item: buffered until its turn, then written through.
pub struct TurnWriter<'t, 'w> {
    turns: &'t Turns<'w>,
    index: usize,
    buf: Vec<u8>,
    finished: bool,
}

impl TurnWriter<'_, '_> {
    /// Writes what is left and passes the turn to the next item.
    fn finish(mut self) -> io::Result<()> {
        self.finished = true;
        let buf = std::mem::take(&mut self.buf);
        self.turns.write(self.index, &buf, true)
    }
}

impl Write for TurnWriter<'_, '_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= BUFFER_CAP {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    /// Waits for this item's turn and writes the buffer (bounding memory).
    fn flush(&mut self) -> io::Result<()> {
        self.turns.write(self.index, &self.buf, false)?;
        self.buf.clear();
        Ok(())
    }
}

impl Drop for TurnWriter<'_, '_> {
    fn drop(&mut self) {
        // Dropped without `finish`: the work panicked. Nobody may wait for this turn forever.
        if !self.finished {
            self.turns.abort(io::ErrorKind::Other);
        }
    }
}

/// Runs `work` over `items` on `threads` threads; what `work` writes for item `i` appears in
/// `out` after everything written for the items before it, as if run in order on one thread.
/// Each worker keeps a state `S` (its totals), returned at the end.
///
/// `work` handles its item's own errors (a file that cannot be read is reported and counted);
/// an error it returns stops the run, like a write error on `out` (a closed pipe), and is the
/// result. A panic in `work` stops the other workers and is resumed here.
pub fn for_each_ordered<T, S, F>(items: &[T], threads: usize, out: &mut (dyn Write + Send), work: F) -> io::Result<Vec<S>>
where
    T: Sync,
    S: Default + Send,
    F: Fn(&T, &mut (dyn Write + Send), &mut S) -> io::Result<()> + Sync,
{
    let turns = Turns { state: Mutex::new(TurnState { turn: 0, out, aborted: None }), changed: Condvar::new() };
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, items.len().max(1));
    let results: Vec<std::thread::Result<(S, io::Result<()>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut state = S::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= items.len() || turns.aborted() {
                            return (state, Ok(()));
                        }
                        let mut w = TurnWriter { turns: &turns, index: i, buf: Vec::new(), finished: false };
                        let r = work(&items[i], &mut w, &mut state).and_then(|()| w.finish());
                        if let Err(e) = r {
                            turns.abort(e.kind());
                            return (state, Err(e));
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    let mut states = Vec::with_capacity(results.len());
    let mut first_error = None;
    for r in results {
        match r {
            Ok((state, result)) => {
                states.push(state);
                if let Err(e) = result {
                    // The first real error, not the "output closed" of the workers it stopped.
                    if first_error.is_none() || e.kind() != io::ErrorKind::Other {
                        first_error.get_or_insert(e);
                    }
                }
            }
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(states),
    }
}

/// Computes `f` for every item on `threads` threads; the results in the items' order.
pub fn map_ordered<T, R, F>(items: &[T], threads: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, items.len().max(1));
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= items.len() {
                            return mine;
                        }
                        mine.push((i, f(&items[i])));
                    }
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    });
    results.sort_unstable_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Item `i` writes `i` lines of `i`, in pieces, some past the buffer cap.
    fn lines_of(i: &usize, w: &mut (dyn Write + Send)) -> io::Result<()> {
        let line = format!("{i}\n");
        for _ in 0..*i {
            w.write_all(line.as_bytes())?;
        }
        if i.is_multiple_of(7) {
            w.write_all(&vec![b'x'; BUFFER_CAP + 1])?;
            w.write_all(b"\n")?;
        }
        Ok(())
    }

    #[test]
    fn output_is_in_item_order_whatever_the_thread_count() {
        let items: Vec<usize> = (0..200).collect();
        let mut one = Vec::new();
        for_each_ordered(&items, 1, &mut one, |i, w, _: &mut ()| lines_of(i, w)).unwrap();
        for threads in [2, 3, 8] {
            let mut many = Vec::new();
            for_each_ordered(&items, threads, &mut many, |i, w, _: &mut ()| lines_of(i, w)).unwrap();
            assert!(one == many, "{threads} threads wrote another output than one thread");
        }
    }

    #[test]
    fn each_worker_keeps_its_totals() {
        let items: Vec<usize> = (1..=100).collect();
        let states = for_each_ordered(&items, 4, &mut io::sink(), |i, _, sum: &mut usize| {
            *sum += i;
            Ok(())
        })
        .unwrap();
        assert_eq!(states.iter().sum::<usize>(), 5050);
    }

    /// A writer that refuses everything after `limit` bytes, like a closed pipe.
    struct ClosedAfter(usize);
    impl Write for ClosedAfter {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if self.0 < b.len() {
                return Err(io::Error::from(io::ErrorKind::BrokenPipe));
            }
            self.0 -= b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_output_stops_every_worker_with_its_error() {
        let items: Vec<usize> = (0..10_000).collect();
        let err = for_each_ordered(&items, 4, &mut ClosedAfter(1000), |i, w, _: &mut ()| lines_of(i, w)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn a_panicking_item_does_not_leave_the_others_waiting() {
        let items: Vec<usize> = (0..50).collect();
        let r = std::panic::catch_unwind(|| {
            for_each_ordered(&items, 3, &mut io::sink(), |i, w, _: &mut ()| {
                assert!(*i != 20, "item 20 fails");
                lines_of(i, w)
            })
        });
        assert!(r.is_err(), "the panic is resumed in the caller");
    }

    #[test]
    fn map_keeps_the_items_order() {
        let items: Vec<u64> = (0..1000).collect();
        assert_eq!(map_ordered(&items, 4, |i| i * 2), items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }
}

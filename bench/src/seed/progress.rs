//! A progress line on stderr: rewritten in place (at most ten times a second) on a terminal,
//! one line per tenth of the work otherwise, so logs stay readable.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

const REDRAW_EVERY: Duration = Duration::from_millis(100);

pub struct Progress {
    what: &'static str,
    total: u64,
    done: u64,
    start: Instant,
    tty: bool,
    last_draw: Option<Instant>,
    /// Tenths of the work already reported (non-terminal mode).
    tenths_shown: u64,
}

impl Progress {
    pub fn new(what: &'static str, total: u64) -> Self {
        Self {
            what,
            total,
            done: 0,
            start: Instant::now(),
            tty: std::io::stderr().is_terminal(),
            last_draw: None,
            tenths_shown: 0,
        }
    }

    pub fn advance(&mut self, n: u64) {
        self.done = self.done.saturating_add(n).min(self.total);
        if self.tty {
            let due = self.last_draw.is_none_or(|t| t.elapsed() >= REDRAW_EVERY);
            if due || self.done == self.total {
                self.draw("\r\x1b[K", "");
                self.last_draw = Some(Instant::now());
            }
        } else {
            let tenths = self.done.saturating_mul(10) / self.total.max(1);
            if tenths > self.tenths_shown {
                self.tenths_shown = tenths;
                self.draw("", "\n");
            }
        }
    }

    /// End the in-place line (a terminal keeps its last state on screen).
    pub fn finish(&mut self) {
        if self.tty && self.last_draw.is_some() {
            let _ = writeln!(std::io::stderr());
        }
    }

    fn draw(&self, before: &str, after: &str) {
        let secs = self.start.elapsed().as_secs_f64();
        let rate = self.done as f64 / secs.max(1e-9);
        let left = self.total - self.done;
        let eta = if rate > 0.0 { left as f64 / rate } else { 0.0 };
        let pct = self.done as f64 * 100.0 / self.total.max(1) as f64;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "{before}{} {}/{} ({pct:.0} %), {rate:.0}/s, {secs:.0} s elapsed, ~{eta:.0} s left{after}",
            self.what, self.done, self.total
        );
        let _ = err.flush();
    }
}

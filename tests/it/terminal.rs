//! A real terminal for democtl: `script` gives it a pseudo-terminal of a set size (`stty`), and
//! a terminal emulator (`vt100`) turns what it drew into rows, as a presenter's tmux pane
//! would show them, with the scrollback. Also keeps every intermediate screen ("frames"), for
//! what the live region showed while it ran, and the raw bytes (to check escape sequences).
#![allow(clippy::unwrap_used, dead_code)]

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::Demo;

/// Says something on the test's stderr (why it skipped, where its screenshots are).
#[allow(clippy::print_stderr)]
pub fn say(text: &str) {
    eprintln!("{text}");
}

/// Whether `script` (util-linux) is there to give democtl a terminal.
pub fn available() -> bool {
    std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Shell-quotes one word.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[derive(Default)]
struct Shared {
    raw: Vec<u8>,
    frames: Vec<String>,
}

/// democtl running on a `cols`×`rows` pseudo-terminal.
pub struct Terminal {
    child: Child,
    stdin: Option<ChildStdin>,
    shared: Arc<Mutex<Shared>>,
    reader: Option<std::thread::JoinHandle<()>>,
    cols: u16,
    rows: u16,
}

/// What a finished run left on the terminal.
pub struct Finished {
    pub code: Option<i32>,
    pub raw: Vec<u8>,
    /// Every visible screen seen while it ran (one per chunk of output).
    pub frames: Vec<String>,
    /// The whole history, scrollback then screen, one string per row (trailing blanks cut).
    pub history: Vec<String>,
    /// The last screen, `rows` rows, trailing blank rows dropped.
    pub last_screen: Vec<String>,
    pub cols: u16,
}

fn parser(rows: u16, cols: u16) -> vt100::Parser {
    vt100::Parser::new(
        NonZeroU16::new(rows).unwrap(),
        NonZeroU16::new(cols).unwrap(),
        100_000,
    )
}

impl Terminal {
    /// Starts `democtl args…` in `demo`'s project on a terminal of `cols`×`rows`.
    pub fn start(demo: &Demo, cols: u16, rows: u16, args: &[&str]) -> Terminal {
        Terminal::start_then(demo, cols, rows, args, None)
    }

    /// [`Terminal::start`], then the shell command `after` on the same terminal once democtl
    /// has exited (its exit code is kept), e.g. `stty -a` to see the settings it left.
    pub fn start_then(
        demo: &Demo,
        cols: u16,
        rows: u16,
        args: &[&str],
        after: Option<&str>,
    ) -> Terminal {
        let bin = assert_cmd::cargo::cargo_bin("democtl");
        // democtl runs as the shell's child (not `exec`'d) so that `after` can run. Ctrl-C on
        // the terminal reaches the shell too: a no-op trap keeps it alive to run `after` (dash,
        // Debian's `/bin/sh`, dies of it otherwise). (The "layout wider than its terminal"
        // failures once seen on CI were its `CI=true`: plain lines; the harness drops `CI`.)
        let mut line = format!("stty cols {cols} rows {rows}; trap : INT; ");
        line.push_str(&quote(&bin.display().to_string()));
        for a in args {
            line.push(' ');
            line.push_str(&quote(a));
        }
        line.push_str(&format!("; code=$?; {}; exit $code", after.unwrap_or(":")));
        let mut cmd = demo.command_in(demo.path(), "script");
        // `script` runs the line with `$SHELL`; CI may have none set (then `/bin/sh`): the same
        // shell everywhere.
        cmd.args(["-qfec", &line, "/dev/null"])
            .env("SHELL", "/bin/sh")
            .env("TERM", "xterm-256color")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().unwrap();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let from_reader = Arc::clone(&shared);
        let reader = std::thread::spawn(move || {
            let mut screen = parser(rows, cols);
            let mut buf = [0u8; 8192];
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        screen.process(&buf[..n]);
                        let mut s = from_reader.lock().unwrap();
                        s.raw.extend_from_slice(&buf[..n]);
                        s.frames.push(rows_of(&screen));
                    }
                }
            }
        });
        Terminal {
            child,
            stdin,
            shared,
            reader: Some(reader),
            cols,
            rows,
        }
    }

    /// Types `keys` (as a person at the keyboard would).
    pub fn send(&mut self, keys: &[u8]) {
        if let Some(stdin) = &mut self.stdin {
            stdin.write_all(keys).unwrap();
            stdin.flush().unwrap();
        }
    }

    /// The screen as it is now.
    pub fn screen(&self) -> String {
        let raw = self.shared.lock().unwrap().raw.clone();
        let mut p = parser(self.rows, self.cols);
        p.process(&raw);
        rows_of(&p)
    }

    /// Waits until the screen shows `text`; panics after `limit` with the screen (a hang, not
    /// a timing assertion: the limit is generous).
    pub fn wait_for(&self, text: &str, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            if start.elapsed() > limit {
                panic!("the screen never showed {text:?}:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `text` has been written to the terminal, whatever was drawn over it since
    /// (a line said on the full-screen view's alternate screen); panics after `limit` (a hang,
    /// not a timing assertion).
    pub fn wait_for_output(&self, text: &str, limit: Duration) {
        let start = Instant::now();
        loop {
            if String::from_utf8_lossy(&self.shared.lock().unwrap().raw).contains(text) {
                return;
            }
            if start.elapsed() > limit {
                panic!("{text:?} was never written:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// [`Terminal::finish`], but a run still going after `limit` is killed and the test fails
    /// with its screen (a hang, not a timing assertion: the limit is generous).
    pub fn finish_within(mut self, limit: Duration) -> Finished {
        let start = Instant::now();
        while matches!(self.child.try_wait(), Ok(None)) {
            if start.elapsed() > limit {
                let screen = self.screen();
                let _ = self.child.kill();
                panic!("the run did not end within {limit:?}:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.finish()
    }

    /// Waits for the run to end (stdin stays open until then, as a person's keyboard does).
    pub fn finish(mut self) -> Finished {
        let status = self.child.wait().unwrap();
        drop(self.stdin.take());
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        let shared = std::mem::take(&mut *self.shared.lock().unwrap());
        let mut p = parser(self.rows, self.cols);
        p.process(&shared.raw);
        let history = history(&mut p);
        let mut last_screen: Vec<String> = p
            .screen()
            .rows(0, self.cols)
            .map(|r| r.trim_end().to_owned())
            .collect();
        while last_screen.last().is_some_and(String::is_empty) {
            last_screen.pop();
        }
        Finished {
            code: status.code(),
            raw: shared.raw,
            frames: shared.frames,
            history,
            last_screen,
            cols: self.cols,
        }
    }
}

impl Drop for Terminal {
    /// A test that failed half-way leaves no democtl behind (it may be waiting for a key).
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The visible screen, one line per row (vt100's `contents` would join the rows indicatif
/// pads to the full width, as if the terminal had wrapped them).
fn rows_of(p: &vt100::Parser) -> String {
    let cols = p.screen().size().1.get();
    p.screen()
        .rows(0, cols)
        .map(|r| r.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every row: the scrollback (oldest first) then the screen.
fn history(p: &mut vt100::Parser) -> Vec<String> {
    let cols = p.screen().size().1.get();
    p.screen_mut().set_scrollback(usize::MAX);
    let depth = p.screen().scrollback();
    let mut rows = Vec::new();
    for offset in (1..=depth).rev() {
        p.screen_mut().set_scrollback(offset);
        if let Some(top) = p.screen().rows(0, cols).next() {
            rows.push(top.trim_end().to_owned());
        }
    }
    p.screen_mut().set_scrollback(0);
    rows.extend(p.screen().rows(0, cols).map(|r| r.trim_end().to_owned()));
    rows
}

impl Finished {
    /// Rows that are a piece of a line the terminal had to wrap because it was too wide: a
    /// row that starts at the left edge right after a full row, unless it is the rest of a
    /// URL (one longer than the terminal is wrapped whole, never cut) or starts a line of its
    /// own (✓ ✗ ▸ …; a line of exactly the width is followed by the next one).
    pub fn cut_rows(&self) -> Vec<String> {
        cut_rows_of(&self.history, self.cols)
    }

    /// [`Finished::cut_rows`] over every screen seen while it ran (the live region is redrawn
    /// in place, so what it showed never reaches the history): each cut once, with its screen.
    pub fn cut_frame_rows(&self) -> Vec<String> {
        let mut seen = std::collections::BTreeSet::new();
        let mut cut = Vec::new();
        for frame in &self.frames {
            let rows: Vec<String> = frame.lines().map(str::to_owned).collect();
            for pair in cut_rows_of(&rows, self.cols) {
                if seen.insert(pair.clone()) {
                    cut.push(format!("{pair}\n--- on the screen:\n{frame}"));
                }
            }
        }
        cut
    }

    /// The last screen's rows joined as the terminal soft-wrapped them (a URL wrapped at the
    /// edge reads whole).
    pub fn last_screen_text(&self) -> String {
        joined(&self.last_screen, self.cols)
    }

    pub fn history_text(&self) -> String {
        self.history.join("\n")
    }
}

/// Rows joined: a full row runs on into the next.
pub fn joined(rows: &[String], cols: u16) -> String {
    let mut text = String::new();
    for r in rows {
        text.push_str(r);
        if console::measure_text_width(r) < usize::from(cols) {
            text.push('\n');
        }
    }
    text
}

/// The rows of `rows` (a terminal `cols` wide) that are a piece of a line cut by the edge; see
/// [`Finished::cut_rows`].
fn cut_rows_of(rows: &[String], cols: u16) -> Vec<String> {
    let starts = [
        "✓",
        "✗",
        "⚠",
        "○",
        "▸",
        "▶",
        "“",
        "to resume",
        "democtl",
        "cluster",
    ];
    let mut cut = Vec::new();
    // The row before ended inside a URL that the terminal wrapped.
    let mut in_url = false;
    for pair in rows.windows(2) {
        let (prev, row) = (&pair[0], &pair[1]);
        let full = console::measure_text_width(prev) >= usize::from(cols);
        let last_word = prev.rsplit(' ').next().unwrap_or_default();
        // A URL, or one shell word longer than half the width (a quoted JSON body):
        // wrapped whole by the terminal, as it must be, rather than cut.
        in_url = full
            && (last_word.contains("://")
                || console::measure_text_width(last_word) >= usize::from(cols) / 2
                || in_url && !prev.contains(' '));
        if !full || row.is_empty() || row.starts_with(' ') {
            continue;
        }
        // A spinner row (braille glyphs) starts a line of its own.
        let spinner = row
            .chars()
            .next()
            .is_some_and(|c| ('\u{2800}'..='\u{28FF}').contains(&c));
        if in_url || spinner || starts.iter().any(|s| row.starts_with(s)) {
            continue;
        }
        cut.push(format!("{prev}\n{row}"));
    }
    cut
}

//! The hidden prompt: echo off and Ctrl-C read as a key (so the first Ctrl-C cancels instead of
//! being swallowed), the terminal restored on every way out — the answer, Ctrl-C, Ctrl-D, an
//! error, a second Ctrl-C signal that ends the process ([`restore_terminal`]).

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::sync::Mutex;

use rustix::termios::{self, LocalModes, OptionalActions, SpecialCodeIndex, Termios};

/// What the user did at the prompt.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// Enter (possibly an empty line).
    Line(String),
    /// Ctrl-C: cancel the command.
    Interrupted,
    /// Ctrl-D on an empty line, or stdin closed.
    Closed,
}

/// The terminal settings to put back (set while a prompt has changed them).
static SAVED: Mutex<Option<Termios>> = Mutex::new(None);

/// Restores stdin's terminal settings if a prompt changed them. Called by the prompt itself and
/// before the process exits early (a second Ctrl-C), so echo is never left off.
pub fn restore_terminal() {
    let saved = SAVED.lock().map(|mut s| s.take()).unwrap_or_default();
    if let Some(saved) = saved {
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), OptionalActions::Now, &saved);
    }
}

/// Puts the settings back when dropped.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Writes `question` to stderr and reads one line from stdin without echo. Blocking.
pub fn read_hidden(question: &str) -> std::io::Result<Answer> {
    let stdin = std::io::stdin();
    let original = termios::tcgetattr(stdin.as_fd())?;
    let mut quiet = original.clone();
    // No echo, no line editing by the terminal (we do it), no signal on Ctrl-C (we read it).
    quiet.local_modes -= LocalModes::ECHO | LocalModes::ICANON | LocalModes::ISIG;
    quiet.special_codes[SpecialCodeIndex::VMIN] = 1;
    quiet.special_codes[SpecialCodeIndex::VTIME] = 0;
    if let Ok(mut saved) = SAVED.lock() {
        *saved = Some(original);
    }
    let _restore = Restore;
    termios::tcsetattr(stdin.as_fd(), OptionalActions::Now, &quiet)?;
    let mut stderr = std::io::stderr();
    stderr.write_all(question.as_bytes())?;
    stderr.flush()?;
    let answer = read_line(&mut stdin.lock());
    let _ = stderr.write_all(b"\n");
    answer
}

/// The line editing of a hidden prompt over raw bytes.
fn read_line(input: &mut dyn Read) -> std::io::Result<Answer> {
    let mut line: Vec<u8> = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if input.read(&mut byte)? == 0 {
            return Ok(Answer::Closed);
        }
        match byte[0] {
            0x03 => return Ok(Answer::Interrupted),
            0x04 if line.is_empty() => return Ok(Answer::Closed),
            b'\r' | b'\n' => break,
            0x7f | 0x08 => {
                // Backspace removes one character, not one byte.
                while let Some(b) = line.pop() {
                    if b & 0xc0 != 0x80 {
                        break;
                    }
                }
            }
            0x15 => line.clear(),
            b => line.push(b),
        }
    }
    Ok(Answer::Line(String::from_utf8_lossy(&line).into_owned()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn answer(bytes: &[u8]) -> Answer {
        read_line(&mut &bytes[..]).unwrap()
    }

    #[test]
    fn line_editing_of_the_hidden_prompt() {
        assert_eq!(answer(b"hf_abc\r"), Answer::Line("hf_abc".into()));
        assert_eq!(answer(b"hf_abx\x7fc\n"), Answer::Line("hf_abc".into()));
        assert_eq!(answer("é\x7fe\r".as_bytes()), Answer::Line("e".into()));
        assert_eq!(answer(b"wrong\x15hf_1\r"), Answer::Line("hf_1".into()));
        assert_eq!(answer(b"hf_a\x03"), Answer::Interrupted);
        assert_eq!(answer(b"\x04"), Answer::Closed);
        assert_eq!(answer(b"hf"), Answer::Closed);
        assert_eq!(answer(b"\r"), Answer::Line(String::new()));
    }
}

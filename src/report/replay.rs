//! Reading run logs back: `democtl logs` lists them, `democtl logs <run>` feeds their events to
//! the same human reporter that drew the run.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::runner::event::{RunEvent, RunEventKind, RunHeader, RunSummary};

/// A run log, parsed.
#[derive(Debug, Clone)]
pub struct RunLog {
    pub path: PathBuf,
    pub events: Vec<RunEvent>,
    /// Lines that did not parse (a newer democtl's event types, or a torn last line).
    pub unreadable: usize,
}

impl RunLog {
    /// Reads every line that parses.
    pub fn read(path: &Path) -> std::io::Result<RunLog> {
        let file = std::fs::File::open(path)?;
        let mut events = Vec::new();
        let mut unreadable = 0;
        for line in std::io::BufReader::new(file).lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<RunEvent>(&line) {
                Ok(event) => events.push(event),
                Err(_) => unreadable += 1,
            }
        }
        Ok(RunLog {
            path: path.to_owned(),
            events,
            unreadable,
        })
    }

    pub fn header(&self) -> Option<&RunHeader> {
        self.events.iter().find_map(|e| match &e.kind {
            RunEventKind::RunStarted(h) => Some(h),
            _ => None,
        })
    }

    /// None when the run never finished (killed, or still running).
    pub fn summary(&self) -> Option<&RunSummary> {
        self.events.iter().rev().find_map(|e| match &e.kind {
            RunEventKind::RunFinished(s) => Some(s),
            _ => None,
        })
    }
}

/// The `.jsonl` files of `dir`, oldest first (names start with a UTC timestamp).
pub fn list(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    files.sort();
    Ok(files)
}

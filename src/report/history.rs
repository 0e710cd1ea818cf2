//! "expected ~N" for a step, learned from earlier runs in `logs/`: the median duration of the
//! last runs in which the step succeeded. Only each log's last line (the run summary) is read.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use crate::runner::event::{Outcome, RunEvent, RunEventKind, RunSummary};

/// Logs looked at, newest first.
pub const RUNS_LOOKED_AT: usize = 30;
/// Successful durations per step the median is taken over.
pub const RUNS_PER_STEP: usize = 5;

/// What earlier runs say about a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub median: Duration,
    /// How many successful runs the median is over.
    pub runs: usize,
}

/// Expected durations per (stage, step).
#[derive(Debug, Clone, Default)]
pub struct Expectations(HashMap<(String, String), Expected>);

impl Expectations {
    pub fn get(&self, stage: &str, step: &str) -> Option<Expected> {
        self.0.get(&(stage.to_owned(), step.to_owned())).copied()
    }

    /// From the run summaries, newest first.
    pub fn from_summaries<'a>(summaries: impl IntoIterator<Item = &'a RunSummary>) -> Self {
        let mut seen: HashMap<(String, String), Vec<Duration>> = HashMap::new();
        for summary in summaries {
            for s in &summary.steps {
                if s.outcome != Outcome::Succeeded {
                    continue;
                }
                let durations = seen.entry((s.stage.clone(), s.step.clone())).or_default();
                if durations.len() < RUNS_PER_STEP {
                    durations.push(s.duration);
                }
            }
        }
        Expectations(
            seen.into_iter()
                .map(|(key, mut d)| {
                    d.sort();
                    let median = if d.len() % 2 == 1 {
                        d[d.len() / 2]
                    } else {
                        (d[d.len() / 2 - 1] + d[d.len() / 2]) / 2
                    };
                    (
                        key,
                        Expected {
                            median,
                            runs: d.len(),
                        },
                    )
                })
                .collect(),
        )
    }

    /// From the run logs in `dir` (missing folder: nothing learned).
    pub fn learn(dir: &Path) -> Self {
        let mut files = super::replay::list(dir).unwrap_or_default();
        files.reverse();
        let summaries: Vec<RunSummary> = files
            .iter()
            .take(RUNS_LOOKED_AT)
            .filter_map(|p| last_summary(p))
            .collect();
        Self::from_summaries(&summaries)
    }
}

/// The `run-finished` summary on the last line of a log, reading only its end.
fn last_summary(path: &Path) -> Option<RunSummary> {
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    // Summaries of big stages are tens of KB; read more only when the tail holds no full line.
    let mut tail = 64 * 1024;
    loop {
        let start = len.saturating_sub(tail);
        file.seek(SeekFrom::Start(start)).ok()?;
        let mut text = String::new();
        file.read_to_string(&mut text).ok()?;
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        // With more than one line in the tail, the last one is whole.
        if let Some(last) = lines.last()
            && (start == 0 || lines.len() > 1)
        {
            let event: RunEvent = serde_json::from_str(last).ok()?;
            return match event.kind {
                RunEventKind::RunFinished(s) => Some(s),
                _ => None,
            };
        }
        if start == 0 {
            return None;
        }
        tail *= 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::event::StepSummary;

    fn run(step_secs: &[(&str, u64, bool)]) -> RunSummary {
        RunSummary {
            outcome: Outcome::Succeeded,
            steps: step_secs
                .iter()
                .map(|(id, secs, ok)| StepSummary {
                    stage: "stage1".into(),
                    step: (*id).into(),
                    title: (*id).into(),
                    outcome: if *ok {
                        Outcome::Succeeded
                    } else {
                        Outcome::Cancelled
                    },
                    duration: Duration::from_secs(*secs),
                })
                .collect(),
            duration: Duration::ZERO,
            next: None,
        }
    }

    #[test]
    fn the_median_of_the_last_successful_runs() {
        let runs = [
            run(&[("wait-models", 100, true), ("wait-gpu", 5, false)]),
            run(&[("wait-models", 300, true), ("wait-gpu", 40, true)]),
            run(&[("wait-models", 200, true)]),
        ];
        let e = Expectations::from_summaries(&runs);
        assert_eq!(
            e.get("stage1", "wait-models"),
            Some(Expected {
                median: Duration::from_secs(200),
                runs: 3
            })
        );
        // The cancelled run does not count.
        assert_eq!(e.get("stage1", "wait-gpu").map(|x| x.runs), Some(1));
        assert_eq!(e.get("stage1", "other"), None);
    }
}

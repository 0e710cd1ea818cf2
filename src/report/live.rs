//! The state of long waits as the terminal views draw it, from `step-measured` events: per
//! download Job the bytes, rate (over the last minute of the run's own clock, so a replay shows
//! the recorded rate) and ETA, plus the overall total; per GPU MachineSet the phases reached and
//! when. Pure; the clock is the events' `elapsed` and `at`.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use super::layout;
use super::render;
use crate::runner::event::{DownloadProgress, GpuPhase, GpuProgress};

/// The window the download rate is measured over.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);

/// One download Job.
#[derive(Debug, Clone, Default)]
pub struct Transfer {
    pub last: DownloadProgress,
    samples: VecDeque<(Duration, u64)>,
}

impl Transfer {
    pub fn update(&mut self, elapsed: Duration, progress: &DownloadProgress) {
        self.last = progress.clone();
        self.samples.push_back((elapsed, progress.bytes_done));
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| elapsed.saturating_sub(*t) > RATE_WINDOW)
            && self.samples.len() > 2
        {
            self.samples.pop_front();
        }
    }

    /// Bytes per second over the window.
    pub fn rate(&self) -> Option<f64> {
        let (t0, b0) = *self.samples.front()?;
        let (t1, b1) = *self.samples.back()?;
        let secs = t1.saturating_sub(t0).as_secs_f64();
        (secs > 0.0 && b1 > b0).then(|| (b1 - b0) as f64 / secs)
    }

    pub fn eta(&self) -> Option<Duration> {
        if self.last.done {
            return None;
        }
        let left = self.last.bytes_total.saturating_sub(self.last.bytes_done);
        let rate = self.rate()?;
        Some(Duration::from_secs_f64(left as f64 / rate))
    }

    pub fn fraction(&self) -> f64 {
        if self.last.done {
            return 1.0;
        }
        if self.last.bytes_total == 0 {
            return 0.0;
        }
        (self.last.bytes_done as f64 / self.last.bytes_total as f64).clamp(0.0, 1.0)
    }
}

/// All downloads of a step, and their sum.
#[derive(Debug, Clone, Default)]
pub struct Downloads {
    pub jobs: BTreeMap<String, Transfer>,
    overall: Transfer,
}

impl Downloads {
    pub fn update(&mut self, elapsed: Duration, progress: &DownloadProgress) {
        self.jobs
            .entry(progress.job.clone())
            .or_default()
            .update(elapsed, progress);
        let mut sum = DownloadProgress {
            job: "all".into(),
            done: true,
            ..DownloadProgress::default()
        };
        for t in self.jobs.values() {
            sum.bytes_done += t.last.bytes_done;
            sum.bytes_total += t.last.bytes_total;
            sum.files_done += t.last.files_done;
            sum.files_total += t.last.files_total;
            sum.done &= t.last.done;
        }
        self.overall.update(elapsed, &sum);
    }

    pub fn overall(&self) -> &Transfer {
        &self.overall
    }
}

/// `12.3 GB` (decimal units, as Hugging Face shows sizes).
pub fn bytes(n: u64) -> String {
    let n = n as f64;
    for (unit, size) in [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)] {
        if n >= size {
            return format!("{:.1} {unit}", n / size);
        }
    }
    format!("{n:.0} B")
}

/// The text after a download's bar: `12.3/60.0 GB · 3/10 files · 45.1 MB/s · ETA 18m 02s`,
/// shortened to `max` columns by dropping the least useful parts first.
pub fn transfer_text(t: &Transfer, max: usize) -> String {
    let p = &t.last;
    let (done, total) = (bytes(p.bytes_done), bytes(p.bytes_total));
    let amount = match (done.split_once(' '), total.split_once(' ')) {
        (Some((d, unit)), Some((t, total_unit))) if unit == total_unit => {
            format!("{d}/{t} {unit}")
        }
        _ => format!("{done}/{total}"),
    };
    let percent = format!("{:>3.0}%", t.fraction() * 100.0);
    let files = (p.files_total > 0).then(|| format!("{}/{} files", p.files_done, p.files_total));
    let rate = t.rate().map(|r| format!("{}/s", bytes(r as u64)));
    let eta = if p.done {
        Some("done".to_owned())
    } else {
        t.eta().map(|e| format!("ETA {}", render::duration(e)))
    };
    // In order of importance: percent, amount, ETA, rate, files.
    let mut parts: Vec<(usize, String)> = vec![(0, percent), (1, amount)];
    for (rank, part) in [(2, eta), (3, rate), (4, files)] {
        if let Some(part) = part {
            parts.push((rank, part));
        }
    }
    loop {
        let text = parts
            .iter()
            .map(|(_, s)| s.as_str())
            .collect::<Vec<_>>()
            .join(" · ");
        if console::measure_text_width(&text) <= max || parts.len() <= 1 {
            return layout::abbreviate(&text, max);
        }
        if let Some(i) = parts
            .iter()
            .enumerate()
            .max_by_key(|(_, (rank, _))| *rank)
            .map(|(i, _)| i)
        {
            parts.remove(i);
        }
    }
}

/// The rows of a step's downloads, one per Job plus `all` when there are several: name, bar,
/// percent, bytes, ETA, rate and files. The Jobs' common prefix (`download-`) is left out so
/// the names stay apart; when a row does not fit `width` the numbers go on a second line under
/// the bar rather than being dropped. Each entry is (Job, text with `\n` between lines).
pub fn download_rows(downloads: &Downloads, width: usize, indent: &str) -> Vec<(String, String)> {
    let mut rows: Vec<(String, &Transfer)> =
        downloads.jobs.iter().map(|(k, t)| (k.clone(), t)).collect();
    let names: Vec<&str> = rows.iter().map(|(k, _)| k.as_str()).collect();
    let prefix = common_prefix(&names);
    let mut shown: Vec<String> = rows
        .iter()
        .map(|(k, _)| k[prefix.len()..].to_owned())
        .collect();
    if rows.len() > 1 {
        rows.push(("all".to_owned(), downloads.overall()));
        shown.push("all".to_owned());
    }
    let name_width = shown
        .iter()
        .map(|k| console::measure_text_width(k))
        .max()
        .unwrap_or(0)
        .clamp(3, (width / 3).max(3));
    let bar_width = (width / 5).clamp(10, 30);
    rows.iter()
        .zip(&shown)
        .map(|((job, t), name)| {
            let label = layout::abbreviate(name, name_width);
            let pad = name_width - console::measure_text_width(&label);
            let head = format!(
                "{indent}{label}{} {} ",
                " ".repeat(pad),
                bar(t.fraction(), bar_width)
            );
            let full = transfer_text(t, usize::MAX);
            let one = format!("{head}{full}");
            let text = if console::measure_text_width(&one) <= width {
                one
            } else {
                let under = " ".repeat(console::measure_text_width(indent) + name_width + 1);
                let room = width.saturating_sub(under.len());
                format!("{}\n{under}{}", head.trim_end(), transfer_text(t, room))
            };
            (job.clone(), text)
        })
        .collect()
}

/// The first `-`-separated word when every name (of several) starts with it and has more
/// after it (`download-`): the rest tells the Jobs apart and still reads as a model name.
fn common_prefix<'a>(names: &[&'a str]) -> &'a str {
    let Some((first, rest)) = names.split_first() else {
        return "";
    };
    let Some(end) = first.find('-') else {
        return "";
    };
    let prefix = &first[..=end];
    let shared = !rest.is_empty()
        && names
            .iter()
            .all(|n| n.starts_with(prefix) && n.len() > prefix.len());
    if shared { prefix } else { "" }
}

/// A text bar: `[██████░░░░]` of `width` columns inside the brackets.
pub fn bar(fraction: f64, width: usize) -> String {
    let filled = ((fraction.clamp(0.0, 1.0)) * width as f64).round() as usize;
    format!(
        "[{}{}]",
        "█".repeat(filled),
        "░".repeat(width - filled.min(width))
    )
}

/// One GPU MachineSet: its last state and when each phase was first seen.
#[derive(Debug, Clone)]
pub struct GpuRow {
    pub last: GpuProgress,
    /// Phase → wall-clock time (`at` of the event, RFC 3339).
    pub reached: BTreeMap<GpuPhase, String>,
}

/// All GPU MachineSets of a step.
#[derive(Debug, Clone, Default)]
pub struct GpuRows(pub BTreeMap<String, GpuRow>);

impl GpuRows {
    pub fn update(&mut self, at: &str, progress: &GpuProgress) {
        let row = self
            .0
            .entry(progress.pool.clone())
            .or_insert_with(|| GpuRow {
                last: progress.clone(),
                reached: BTreeMap::new(),
            });
        row.last = progress.clone();
        // Reaching a phase means the earlier ones were passed (first seen now, if never seen).
        for phase in GpuPhase::ALL {
            if phase <= progress.phase {
                row.reached.entry(phase).or_insert_with(|| at.to_owned());
            }
        }
    }
}

/// `08:01:02` in the machine's time zone (`at` is RFC 3339 UTC).
pub fn clock(at: &str, seconds: bool) -> String {
    let Ok(ts) = at.parse::<jiff::Timestamp>() else {
        return String::new();
    };
    let zoned = ts.to_zoned(jiff::tz::TimeZone::system());
    zoned
        .strftime(if seconds { "%H:%M:%S" } else { "%H:%M" })
        .to_string()
}

/// `gpu-4x  ✓ Provisioning 08:01:02 → ✓ Running 08:03:10 → ▸ Node Ready 08:05:00 → GPUs 0/4`,
/// fitted to `width` (two lines when one is too wide). Times keep their seconds at every width:
/// at a fast `--sim-speed` every phase is reached within the same minute.
pub fn gpu_lines(row: &GpuRow, width: usize, indent: &str) -> Vec<String> {
    let render = || -> Vec<String> {
        GpuPhase::ALL
            .iter()
            .map(|phase| {
                let label = match phase {
                    GpuPhase::GpusAllocatable => format!(
                        "GPUs {}/{}",
                        row.last.gpus_allocatable.min(row.last.gpus_wanted),
                        row.last.gpus_wanted
                    ),
                    other => other.label().to_owned(),
                };
                let mark = if *phase < row.last.phase || row.last.phase == GpuPhase::GpusAllocatable
                {
                    "✓ "
                } else if *phase == row.last.phase {
                    "▸ "
                } else {
                    ""
                };
                match row.reached.get(phase) {
                    Some(at) => format!("{mark}{label} {}", clock(at, true)),
                    None => label,
                }
            })
            .collect()
    };
    let head = format!("{indent}{}  ", row.last.pool);
    let parts = render();
    let line = format!("{head}{}", parts.join(" → "));
    if console::measure_text_width(&line) <= width {
        return vec![line];
    }
    let pad = " ".repeat(console::measure_text_width(&head));
    vec![
        layout::abbreviate(&format!("{head}{} →", parts[..2].join(" → ")), width),
        layout::abbreviate(&format!("{pad}{}", parts[2..].join(" → ")), width),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(job: &str, done: u64, total: u64) -> DownloadProgress {
        DownloadProgress {
            job: job.into(),
            file: None,
            bytes_done: done,
            bytes_total: total,
            files_done: 1,
            files_total: 10,
            done: false,
        }
    }

    #[test]
    fn downloads_have_rate_eta_and_an_overall_total() {
        let mut d = Downloads::default();
        d.update(
            Duration::from_secs(0),
            &progress("download-a", 0, 60_000_000_000),
        );
        d.update(
            Duration::from_secs(0),
            &progress("download-b", 0, 15_000_000_000),
        );
        d.update(
            Duration::from_secs(10),
            &progress("download-a", 1_000_000_000, 60_000_000_000),
        );
        let a = &d.jobs["download-a"];
        assert_eq!(a.rate(), Some(100_000_000.0));
        assert_eq!(a.eta(), Some(Duration::from_secs(590)));
        let text = transfer_text(a, 80);
        assert_eq!(
            text,
            "  2% · 1.0/60.0 GB · ETA 9m 50s · 100.0 MB/s · 1/10 files"
        );
        // Narrow: the least useful parts go first.
        assert_eq!(transfer_text(a, 32), "  2% · 1.0/60.0 GB · ETA 9m 50s");
        assert_eq!(d.overall().last.bytes_total, 75_000_000_000);
        assert_eq!(d.overall().last.bytes_done, 1_000_000_000);
    }

    #[test]
    fn download_rows_keep_rate_and_eta_and_tell_the_jobs_apart_at_80_columns() {
        let mut d = Downloads::default();
        let mut q = progress("download-mistral-24b-quantized", 0, 15_000_000_000);
        d.update(
            Duration::from_secs(0),
            &progress("download-mistral-24b", 0, 60_000_000_000),
        );
        d.update(Duration::from_secs(0), &q);
        q.bytes_done = 3_000_000_000;
        d.update(Duration::from_secs(30), &q);
        d.update(
            Duration::from_secs(30),
            &progress("download-mistral-24b", 6_000_000_000, 60_000_000_000),
        );
        for width in [80, 160] {
            let rows = download_rows(&d, width, "    ");
            assert_eq!(rows.len(), 3);
            let text: Vec<String> = rows.iter().map(|(_, t)| t.clone()).collect();
            assert!(text[0].starts_with("    mistral-24b "), "{text:?}");
            assert!(
                text[1].starts_with("    mistral-24b-quantized "),
                "{text:?}"
            );
            assert!(text[2].starts_with("    all "), "{text:?}");
            for t in &text {
                assert!(t.contains(" GB · ETA ") && t.contains("/s"), "{t}");
                for line in t.lines() {
                    assert!(console::measure_text_width(line) <= width, "{line}");
                }
            }
            assert_eq!(text[0].lines().count(), if width == 80 { 2 } else { 1 });
        }
    }

    #[test]
    fn gpu_rows_timestamp_each_phase_and_fit() {
        let mut rows = GpuRows::default();
        let p = |phase, n| GpuProgress {
            pool: "gpu-4x".into(),
            machineset: "demo-gpu-4x-us-east-1a".into(),
            phase,
            gpus_allocatable: n,
            gpus_wanted: 4,
        };
        rows.update("2026-12-03T08:01:02Z", &p(GpuPhase::Provisioning, 0));
        rows.update("2026-12-03T08:03:10Z", &p(GpuPhase::NodeReady, 0));
        let row = &rows.0["gpu-4x"];
        assert_eq!(row.reached.len(), 3);
        let wide = gpu_lines(row, 160, "  ");
        assert_eq!(wide.len(), 1);
        assert!(wide[0].contains("✓ Provisioning"));
        assert!(wide[0].contains("▸ Node Ready"));
        assert!(wide[0].ends_with("GPUs 0/4"), "{}", wide[0]);
        for l in gpu_lines(row, 60, "  ") {
            assert!(console::measure_text_width(&l) <= 60, "{l}");
        }
        // Two lines at 80 columns, the seconds kept (phases a few seconds apart must differ).
        rows.update("2026-12-03T08:03:14Z", &p(GpuPhase::GpusAllocatable, 4));
        let row = &rows.0["gpu-4x"];
        let narrow = gpu_lines(row, 80, "    ");
        assert_eq!(narrow.len(), 2, "{narrow:?}");
        let text = narrow.join(" ");
        for at in [
            "2026-12-03T08:01:02Z",
            "2026-12-03T08:03:10Z",
            "2026-12-03T08:03:14Z",
        ] {
            assert!(text.contains(&clock(at, true)), "no {at}: {text}");
        }
    }
}

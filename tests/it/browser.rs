//! `logs/<run>/benchmarks.svg` and `report.html` after stage 1, rendered in a real browser:
//! Debian's chromium, headless. The page must name both models' series, and the screenshot
//! must show both series' colours (drawn lines, not only a legend in the markup). Skips loudly
//! when chromium is missing (`tests/browser/install.sh` installs it; `tests/run.sh` runs it).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use crate::harness::{Demo, StopSim};

/// The first two colours of the charts (`chart::SVG_COLORS`): one per model.
const SERIES_COLOURS: [[u8; 3]; 2] = [[0, 114, 178], [213, 94, 0]];

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser"].iter().find_map(|name| {
        let out = std::process::Command::new("which")
            .arg(name)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    })
}

/// Headless chromium on `page`: its DOM after loading, and a screenshot in `png`.
fn render(browser: &Path, page: &Path, png: &Path, height: u32) -> String {
    let url = format!("file://{}", page.display());
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--allow-file-access-from-files",
    ];
    let home = tempfile::tempdir().unwrap();
    let run = |extra: &[String]| {
        let out = std::process::Command::new(browser)
            .args(common)
            .arg(format!("--user-data-dir={}", home.path().display()))
            .args(extra)
            .arg(&url)
            .env("HOME", home.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "chromium failed on {url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&[
        format!("--screenshot={}", png.display()),
        format!("--window-size=1280,{height}"),
    ]);
    run(&["--dump-dom".to_owned()])
}

/// Pixels of the screenshot close to `colour`.
fn pixels_of(png: &Path, colour: [u8; 3]) -> usize {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    buf[..info.buffer_size()]
        .chunks(channels)
        .filter(|p| {
            p.len() >= 3 && (0..3).all(|i| (i32::from(p[i]) - i32::from(colour[i])).abs() <= 12)
        })
        .count()
}

#[test]
fn the_report_and_the_chart_render_both_models_in_chromium() {
    let Some(browser) = chromium() else {
        crate::terminal::say(
            "SKIPPED: chromium is not installed, so report.html was not rendered in a browser \
             (tests/browser/install.sh installs it: apt-get install chromium)",
        );
        return;
    };
    let demo = Demo::repo().env("HF_TOKEN", "hf_rehearsal");
    let stop = StopSim(&demo);
    let run = demo.run(&[
        "--sim",
        "--sim-speed",
        "600",
        "deploy",
        "stage1",
        "--yes",
        "--no-eval",
        "--no-model-registry",
    ]);
    drop(stop);
    run.expect_code(0);
    let log = demo.logs().pop().unwrap();
    let dir = log.with_extension("");
    let html = dir.join("report.html");
    let svg = dir.join("benchmarks.svg");
    assert!(html.is_file() && svg.is_file(), "{}", run.stdout);

    // Kept next to the run (and printed) so a person can look at what the browser drew.
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&shots).unwrap();
    for (page, height) in [(&html, 2400), (&svg, 520)] {
        let png = shots.join(format!(
            "{}.png",
            page.file_name().unwrap().to_string_lossy()
        ));
        // plotters puts each text on lines of its own inside its element.
        let dom = render(&browser, page, &png, height)
            .replace(">\n", ">")
            .replace("\n<", "<");
        crate::terminal::say(&format!(
            "screenshot of {}: {}",
            page.display(),
            png.display()
        ));
        for model in ["mistral-24b-quantized", "mistral-24b"] {
            assert!(
                dom.contains(&format!(">{model} p50<")) && dom.contains(&format!(">{model}<")),
                "the rendered {} does not name the {model} series",
                page.display()
            );
        }
        for colour in SERIES_COLOURS {
            let n = pixels_of(&png, colour);
            assert!(
                n > 200,
                "the screenshot of {} shows {n} pixels of series colour {colour:?}: a series \
                 is not drawn ({})",
                page.display(),
                png.display()
            );
        }
    }
}

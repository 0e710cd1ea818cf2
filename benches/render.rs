//! Render benchmark: `gitops/overlays/stage3` rendered by democtl (library call, and the
//! built `democtl render` binary as a whole process when it exists) and by `kubectl
//! kustomize`, in the same run; prints mean times and the ratio (target: democtl ≥ 10×
//! faster as whole processes). Run with `cargo bench --bench render`.
#![expect(clippy::print_stdout, reason = "a bench reports its numbers")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn mean<F: FnMut() -> bool>(runs: u32, mut f: F) -> Option<Duration> {
    // One warm-up run (page cache, lazy statics).
    if !f() {
        return None;
    }
    let start = Instant::now();
    for _ in 0..runs {
        if !f() {
            return None;
        }
    }
    Some(start.elapsed() / runs)
}

fn process(cmd: &Path, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("gitops/overlays/stage3");
    let dir_s = dir.to_string_lossy().into_owned();
    if !dir.is_dir() {
        println!(
            "render bench: {} not found; nothing to measure",
            dir.display()
        );
        return;
    }
    let runs = 20;
    let lib = mean(runs, || {
        democtl::kustomize::build(&dir)
            .and_then(|o| democtl::kustomize::to_yaml(&o))
            .is_ok()
    });
    let kubectl = mean(runs, || {
        process(Path::new("kubectl"), &["kustomize", &dir_s])
    });
    // The built binary (release preferred), if `democtl render` is wired.
    let bin = ["target/release/democtl", "target/debug/democtl"]
        .iter()
        .map(|p| root.join(p))
        .find(|p| p.is_file());
    let whole = bin
        .as_ref()
        .and_then(|b| mean(runs, || process(b, &["render", &dir_s])));

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("render gitops/overlays/stage3, mean of {runs} runs:");
    match lib {
        Some(d) => println!("  democtl library (build + to_yaml): {:>8.2} ms", ms(d)),
        None => println!("  democtl library: render failed"),
    }
    match (&bin, whole) {
        (Some(b), Some(d)) => println!(
            "  democtl render (process, {}): {:>8.2} ms",
            b.display(),
            ms(d)
        ),
        (Some(b), None) => println!(
            "  democtl render (process, {}): not available (command failed)",
            b.display()
        ),
        (None, _) => {
            println!("  democtl render (process): binary not built (cargo build --release)")
        }
    }
    match kubectl {
        Some(d) => println!("  kubectl kustomize (process):       {:>8.2} ms", ms(d)),
        None => println!("  kubectl kustomize: not available"),
    }
    if let (Some(k), Some(w)) = (kubectl, whole) {
        println!(
            "  ratio kubectl / democtl process:   {:>8.1}x (target >= 10x)",
            k.as_secs_f64() / w.as_secs_f64()
        );
    }
    if let (Some(k), Some(l)) = (kubectl, lib) {
        println!(
            "  ratio kubectl / democtl library:   {:>8.1}x",
            k.as_secs_f64() / l.as_secs_f64()
        );
    }
}

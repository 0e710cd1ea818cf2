//! Render benchmark, run with `cargo bench --bench render`:
//! 1. `gitops/overlays/stage3` rendered by democtl (library call, and the built `democtl
//!    render` binary as a whole process) and by `kubectl kustomize`, in the same run; prints
//!    mean times and the ratio (target: democtl ≥ 10× faster as whole processes).
//! 2. Scaling: a generated tree of N Deployments, each with a generated ConfigMap, under five
//!    overlays (prefix, labels, images, replicas, a JSON patch on every Deployment,
//!    replacements), for N = 500, 1,000, 2,000: time per object must stay flat (linear time);
//!    peak memory of the `democtl render` process; `kubectl kustomize` beside it for sizes up
//!    to `RENDER_BENCH_KUBECTL_MAX` (default 500: kustomize itself is quadratic here).
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

/// Writes the synthetic tree of `n` Deployments: `base/` and overlays `o1` … `o5`, each
/// based on the previous one. Returns the top overlay.
fn synthetic_tree(dir: &Path, n: usize) -> std::io::Result<PathBuf> {
    use std::fmt::Write as _;
    let base = dir.join("base");
    std::fs::create_dir_all(&base)?;
    let mut deployments = String::new();
    let mut kustomization = String::from("resources:\n- deployments.yaml\nconfigMapGenerator:\n");
    for i in 0..n {
        let _ = write!(
            deployments,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\nspec:\n  \
             replicas: 1\n  selector:\n    matchLabels: {{app: app-{i}}}\n  template:\n    \
             metadata:\n      labels: {{app: app-{i}}}\n    spec:\n      containers:\n      \
             - name: main\n        image: registry.example.com/app:1.0\n        envFrom:\n        \
             - configMapRef: {{name: cfg-{i}}}\n"
        );
        let _ = write!(kustomization, "- name: cfg-{i}\n  literals: [K{i}=v{i}]\n");
    }
    std::fs::write(base.join("deployments.yaml"), deployments)?;
    std::fs::write(base.join("kustomization.yaml"), kustomization)?;
    let mut prev = "../base".to_string();
    for o in 1..=5 {
        let d = dir.join(format!("o{o}"));
        std::fs::create_dir_all(&d)?;
        std::fs::write(
            d.join("kustomization.yaml"),
            format!(
                "resources:\n- {prev}\nnamePrefix: o{o}-\nlabels:\n- pairs: {{layer: o{o}}}\n\
                 images:\n- name: registry.example.com/app\n  newTag: \"1.{o}\"\nreplicas:\n\
                 - name: app-0\n  count: {}\npatches:\n- target: {{kind: Deployment}}\n  \
                 patch: |-\n    - op: add\n      path: /metadata/annotations\n      \
                 value: {{layer: o{o}}}\nreplacements:\n- source: {{kind: ConfigMap, name: cfg-0, \
                 fieldPath: metadata.name}}\n  targets:\n  - select: {{kind: Deployment, name: \
                 app-1}}\n    fieldPaths: [spec.template.metadata.annotations.cfg]\n    \
                 options: {{create: true}}\n",
                o + 1
            ),
        )?;
        prev = format!("../o{o}");
    }
    Ok(dir.join("o5"))
}

/// Peak resident memory of one `democtl render` process, in MiB, from `/proc/<pid>/status`
/// (`VmHWM`, the high-water mark, sampled until the process exits).
fn peak_rss_mib(bin: &Path, dir: &Path) -> Option<f64> {
    let mut child = Command::new(bin)
        .arg("render")
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        match child.try_wait() {
            Ok(Some(s)) if s.success() => break,
            Ok(Some(_)) | Err(_) => return None,
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    Some(peak_kib as f64 / 1024.0)
}

fn scaling(bin: &Path) {
    let kubectl_max: usize = std::env::var("RENDER_BENCH_KUBECTL_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    println!();
    println!("synthetic tree (N Deployments + N generated ConfigMaps, 5 overlays):");
    println!(
        "       N   objects   democtl lib   per object   peak RSS (process)   kubectl kustomize"
    );
    for n in [500usize, 1000, 2000] {
        let Ok(tmp) = tempfile::tempdir() else {
            println!("  cannot create a temporary directory");
            return;
        };
        let Ok(top) = synthetic_tree(tmp.path(), n) else {
            println!("  cannot write the synthetic tree");
            return;
        };
        let objects = 2 * n;
        let runs = 3;
        let lib = mean(runs, || {
            democtl::kustomize::build(&top)
                .and_then(|o| democtl::kustomize::to_yaml(&o))
                .is_ok()
        });
        let rss = peak_rss_mib(bin, &top);
        let top_s = top.to_string_lossy().into_owned();
        let kubectl = (n <= kubectl_max)
            .then(|| mean(1, || process(Path::new("kubectl"), &["kustomize", &top_s])))
            .flatten();
        let Some(lib) = lib else {
            println!("  {n:>6}: render failed");
            continue;
        };
        let per_object_us = lib.as_secs_f64() * 1e6 / objects as f64;
        println!(
            "  {n:>6}   {objects:>7}   {:>9.1} ms   {per_object_us:>7.1} µs   {:>14}   {}",
            lib.as_secs_f64() * 1000.0,
            rss.map_or("n/a".to_string(), |m| format!("{m:.1} MiB")),
            match kubectl {
                Some(k) => format!(
                    "{:.2} s ({:.0}x slower)",
                    k.as_secs_f64(),
                    k.as_secs_f64() / lib.as_secs_f64()
                ),
                None if n <= kubectl_max => "not available".to_string(),
                None => format!("skipped (N > RENDER_BENCH_KUBECTL_MAX={kubectl_max})"),
            }
        );
    }
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
    scaling(Path::new(env!("CARGO_BIN_EXE_democtl")));
}

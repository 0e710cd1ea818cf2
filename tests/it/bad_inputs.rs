//! The bad-input table (#13): inputs a user gets wrong — arguments, stage files, overlays,
//! `.env`, kubeconfigs, scenarios, run logs — each run through the real binary in a copy of the
//! repository's project. Every row asserts the exit code, the `error:` line (a fragment of
//! it), the hint when one is promised, and that nothing panicked. Rows that need a cluster run
//! against one in-process simulated cluster; none of them gets past its input checks, so the
//! cluster stays empty.
#![allow(clippy::unwrap_used)]

use democtl::sim::{Embedded, EmbeddedOptions};

use super::harness::{Demo, Run};

/// One row: what is wrong, how democtl is run, and what it must answer.
struct Case {
    what: &'static str,
    args: Vec<&'static str>,
    /// `(file, from, to)`: replace the first `from` in a project file (it must be there).
    edits: Vec<(&'static str, &'static str, &'static str)>,
    /// Files written into the project (`None`: removed).
    files: Vec<(&'static str, Option<&'static [u8]>)>,
    env: Vec<(&'static str, &'static str)>,
    /// Runs against the simulated cluster (`--kubeconfig` prepended).
    cluster: bool,
    code: i32,
    error: &'static str,
    hint: Option<&'static str>,
}

fn case(what: &'static str, args: &[&'static str]) -> Case {
    Case {
        what,
        args: args.to_vec(),
        edits: Vec::new(),
        files: Vec::new(),
        env: Vec::new(),
        cluster: false,
        code: 2,
        error: "",
        hint: None,
    }
}

impl Case {
    fn code(mut self, code: i32) -> Case {
        self.code = code;
        self
    }
    fn error(mut self, fragment: &'static str) -> Case {
        self.error = fragment;
        self
    }
    fn hint(mut self, fragment: &'static str) -> Case {
        self.hint = Some(fragment);
        self
    }
    fn edit(mut self, file: &'static str, from: &'static str, to: &'static str) -> Case {
        self.edits.push((file, from, to));
        self
    }
    fn file(mut self, path: &'static str, text: &'static str) -> Case {
        self.files.push((path, Some(text.as_bytes())));
        self
    }
    fn bytes(mut self, path: &'static str, bytes: &'static [u8]) -> Case {
        self.files.push((path, Some(bytes)));
        self
    }
    fn remove(mut self, path: &'static str) -> Case {
        self.files.push((path, None));
        self
    }
    fn env(mut self, key: &'static str, value: &'static str) -> Case {
        self.env.push((key, value));
        self
    }
    fn on_cluster(mut self) -> Case {
        self.cluster = true;
        self
    }
}

const STAGE1: &str = "stages/stage1.yaml";
const STAGE2: &str = "stages/stage2.yaml";
const OVERLAY1: &str = "gitops/overlays/stage1/kustomization.yaml";

/// A kubeconfig whose server refuses connections.
const REFUSED: &str = "\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
";

fn arguments() -> Vec<Case> {
    vec![
        case("no command", &[]).error("Usage: democtl"),
        case("misspelt command", &["deplo", "stage1"])
            .error("unrecognized subcommand 'deplo'")
            .hint("'deploy'"),
        case("deploy without a stage", &["deploy"]).error("<STAGE>"),
        case("plan without a stage", &["plan"]).error("<STAGE>"),
        case("unknown stage", &["deploy", "stage9"])
            .error("no stage `stage9`")
            .hint("did you mean `stage1`?"),
        case("unknown stage to plan", &["plan", "stage7"]).error("no stage `stage7`"),
        case("stage number out of range", &["plan", "4"])
            .error("no stage `4`")
            .hint("`stage1`, `stage2` or `stage3`"),
        case(
            "unknown --only step",
            &["deploy", "stage1", "--only", "nosuch"],
        )
        .error("stage `stage1` has no step `nosuch`")
        .hint("`preflight`"),
        case(
            "misspelt --from step",
            &["deploy", "stage1", "--from", "wait-model"],
        )
        .error("stage `stage1` has no step `wait-model`")
        .hint("did you mean `wait-models`?"),
        case(
            "--only with --from",
            &["deploy", "stage1", "--only", "summary", "--from", "summary"],
        )
        .error("'--only <STEP>' cannot be used with '--from <STEP>'"),
        case("unknown flag", &["deploy", "stage1", "--nosuchflag"])
            .error("unexpected argument '--nosuchflag'"),
        case(
            "a switch on and off",
            &["deploy", "stage1", "--benchmarks", "--no-benchmarks"],
        )
        .error("cannot be used with"),
        case("unknown switch", &["deploy", "stage1", "--no-benchmark"])
            .error("unexpected argument '--no-benchmark'")
            .hint("--no-benchmarks"),
        case("sim speed 0", &["--sim-speed", "0", "status"])
            .error("the speed must be a finite number above 0"),
        case("sim speed NaN", &["--sim-speed", "NaN", "status"])
            .error("the speed must be a finite number above 0"),
        case("negative sim speed", &["--sim-speed=-5", "status"])
            .error("the speed must be a finite number above 0"),
        case("infinite sim speed", &["--sim-speed", "inf", "status"])
            .error("the speed must be a finite number above 0"),
        case("sim speed not a number", &["--sim-speed", "fast", "status"])
            .error("expected a number such as `60`, got `fast`"),
        case(
            "request timeout word",
            &["--request-timeout", "soon", "status"],
        )
        .error("expected a duration such as `30s`"),
        case(
            "negative request timeout",
            &["--request-timeout=-1s", "status"],
        )
        .error("got `-1s`"),
        case(
            "request timeout unit",
            &["--request-timeout", "5x", "status"],
        )
        .error("got `5x`"),
        case("teardown of stage 4", &["teardown", "--stage", "4"])
            .error("no stage `4`")
            .hint("the stages are"),
        case("teardown of stage 0", &["teardown", "--stage", "0"]).error("no stage `0`"),
        case("teardown without a stage", &["teardown"]).error("--stage"),
        case("status output format", &["status", "-o", "xml"])
            .error("invalid value 'xml' for '--output <OUTPUT>'")
            .hint("'yaml'"),
        case("plan output format", &["plan", "stage1", "-o", "toml"]).error("invalid value 'toml'"),
        case("completions for an unknown shell", &["completions", "tcsh"])
            .error("invalid value 'tcsh'"),
        case("logs of an unknown run", &["logs", "nosuchrun"])
            .error("no run `nosuchrun`")
            .hint("`democtl logs` lists the runs"),
        case("logs --last without runs", &["logs", "--last"])
            .error("no run logs in")
            .hint("written by `deploy` and `teardown`"),
        case("replay of an unknown run", &["replay", "nosuchrun"]).error("no run `nosuchrun`"),
        case("replay speed 0", &["replay", "--last", "--speed", "0"])
            .error("the speed must be a finite number above 0"),
        case("replay max gap", &["replay", "--last", "--max-gap", "abc"])
            .error("expected a duration such as `5s`"),
        case("render an unknown target", &["render", "nosuchdir"])
            .error("no stage `nosuchdir`")
            .hint("or give a kustomization directory"),
        case(
            "render a folder without kustomization",
            &["render", "stages"],
        )
        .error("cannot render")
        .hint("kustomization"),
        case("sim without a subcommand", &["sim"]).error("Usage: democtl sim"),
        case("unknown sim subcommand", &["sim", "nosuch"])
            .error("unrecognized subcommand 'nosuch'"),
        case(
            "ephemeral serve without its kubeconfig",
            &["sim", "serve", "--ephemeral"],
        )
        .error("--kubeconfig-out <FILE>"),
        case(
            "unknown built-in scenario",
            &["sim", "start", "--scenario", "nosuch"],
        )
        .error("cannot load scenario `nosuch`")
        .hint("shipped scenarios: healthy"),
        case(
            "missing scenario file",
            &["sim", "start", "--scenario", "/nonexistent/scenario.yaml"],
        )
        .error("cannot load scenario `/nonexistent/scenario.yaml`")
        .hint("no such file; the shipped scenarios are given by name"),
        case(
            "--sim with a kubeconfig",
            &["--sim", "--kubeconfig", "kc", "status"],
        )
        .error("cannot be used with"),
    ]
}

fn projects() -> Vec<Case> {
    vec![
        case(
            "project folder missing",
            &["--project-dir", "/nonexistent", "validate"],
        )
        .error("`/nonexistent` is not a democtl project")
        .hint("--project-dir DIR"),
        case(
            "project folder is a file",
            &["--project-dir", "/etc/hostname", "validate"],
        )
        .error("is not a democtl project"),
        case("no stage files", &["validate"])
            .remove(STAGE1)
            .remove(STAGE2)
            .remove("stages/stage3.yaml")
            .code(1)
            .error("no stage files")
            .hint("add `stages/stage1.yaml`"),
        case("misspelt field", &["validate"])
            .edit(STAGE1, "    timeout: 2m", "    tiemout: 2m")
            .code(1)
            .error("`steps[0].tiemout`: unknown field `tiemout`")
            .hint("did you mean `timeout`?"),
        case("negative timeout", &["validate"])
            .edit(STAGE1, "    timeout: 2m", "    timeout: -2m")
            .code(1)
            .error("invalid duration `-2m`")
            .hint("`90s`, `5m`"),
        case("timeout in words", &["validate"])
            .edit(STAGE1, "    timeout: 2m", "    timeout: a while")
            .code(1)
            .error("invalid duration `a while`"),
        case("stage number a word", &["validate"])
            .edit(STAGE1, "number: 1", "number: one")
            .code(1)
            .error("`number`: expected a whole number"),
        case("duplicate stage number", &["validate"])
            .edit(STAGE1, "number: 1", "number: 2")
            .code(1)
            .error("duplicate stage number 2")
            .hint("uses it too"),
        case("stage id not kebab-case", &["validate"])
            .edit(STAGE1, "id: stage1\n", "id: Stage_1\n")
            .code(1)
            .error("stage id `Stage_1` is not kebab-case")
            .hint("lowercase letters"),
        case("overlay path missing", &["validate"])
            .edit(
                STAGE1,
                "overlay: gitops/overlays/stage1",
                "overlay: gitops/overlays/nosuch",
            )
            .code(1)
            .error("overlay `gitops/overlays/nosuch` has no kustomization file")
            .hint("relative to the project root"),
        case("expected duration a word", &["validate"])
            .edit(STAGE1, "expectedDuration: 75m", "expectedDuration: soon")
            .code(1)
            .error("`expectedDuration`: invalid duration `soon`"),
        case("tab indentation", &["validate"])
            .file(STAGE1, "id: stage1\n\tnumber: 1\n")
            .code(1)
            .error("stages/stage1.yaml:"),
        case("empty stage file", &["validate"])
            .file(STAGE1, "")
            .code(1)
            .error("stages/stage1.yaml:1:1"),
        case("stage file a list", &["validate"])
            .file(STAGE1, "- a\n")
            .code(1)
            .error("expected a mapping")
            .hint("`key: value`"),
        case("stage file not UTF-8", &["validate"])
            .bytes(STAGE1, b"\xff\xfe")
            .code(1)
            .error("stages/stage1.yaml: cannot read the file")
            .hint("UTF-8"),
        case("unknown required stage", &["validate"])
            .edit(STAGE1, "requires: []", "requires: [stage9]")
            .code(1)
            .error("`requires[0]`: unknown stage `stage9`"),
        case("requires a later stage", &["validate"])
            .edit(STAGE1, "requires: []", "requires: [stage2]")
            .code(1)
            .error("requires stage `stage2`, which comes later")
            .hint("lower number"),
        case("switch default not a bool", &["validate"])
            .edit(STAGE1, "default: true", "default: maybe")
            .code(1)
            .error("expected `true` or `false`"),
        case("unknown step kind", &["validate"])
            .edit(STAGE1, "kind: prereq", "kind: prerequisite")
            .code(1)
            .error("unknown step kind `prerequisite`")
            .hint("`prereq`"),
        case("misspelt check", &["validate"])
            .edit(STAGE1, "- check: api-reachable", "- check: api-reachble")
            .code(1)
            .error("unknown variant `api-reachble`")
            .hint("did you mean `api-reachable`?"),
        case("check value a list", &["validate"])
            .edit(STAGE1, "value: AWS", "value: [AWS]")
            .code(1)
            .error("`steps[0].with.checks[3].value`"),
        case("unknown top-level key", &["validate"])
            .edit(STAGE1, "requires: []", "requires: []\ncolour: blue")
            .code(1)
            .error("unknown field `colour`")
            .hint("expected `id`"),
        case("duplicate key", &["validate"])
            .edit(STAGE1, "requires: []", "requires: []\nid: again")
            .code(1)
            .error("duplicate key `id`")
            .hint("only once"),
        case("duplicate step id", &["validate"])
            .edit(STAGE1, "  - id: namespace\n", "  - id: preflight\n")
            .code(1)
            .error("duplicate step id `preflight`"),
        case("two files with one stage id", &["validate"])
            .edit(STAGE2, "id: stage2\n", "id: stage1\n")
            .code(1)
            .error("duplicate stage id `stage1`"),
        case("step without a kind", &["validate"])
            .edit(STAGE1, "    kind: prereq\n", "")
            .code(1)
            .error("`with` comes before `kind`")
            .hint("write `kind:` before `with:`"),
        case("stage2 requires a misspelt stage", &["validate"])
            .edit(STAGE2, "requires: [stage1]", "requires: [stage-1]")
            .code(1)
            .error("unknown stage `stage-1`")
            .hint("did you mean `stage1`?"),
        case("overlay resource missing", &["validate"])
            .edit(
                OVERLAY1,
                "  - ../../components/lm-eval\n",
                "  - ../../components/lm-evaluation\n",
            )
            .code(1)
            .error("`../../components/lm-evaluation` in `resources`")
            .hint("relative to the kustomization file"),
        case("unknown kustomization field", &["validate"])
            .edit(OVERLAY1, "resources:\n", "resourcez: []\nresources:\n")
            .code(1)
            .error("invalid `resourcez`"),
        case("kustomization YAML syntax", &["render", "stage1"])
            .file(OVERLAY1, "resources: [\n")
            .error("cannot render")
            .hint("YAML syntax"),
        case("patch that matches nothing", &["render", "gitops/x"])
            .file(
                "gitops/x/kustomization.yaml",
                "resources: [cm.yaml]\npatches: [{path: p.yaml}]\n",
            )
            .file(
                "gitops/x/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
            )
            .file(
                "gitops/x/p.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
            )
            .error("no resource matches strategic merge patch `v1 ConfigMap b`")
            .hint("add a `target`"),
        case("resource without a name", &["render", "gitops/x"])
            .file("gitops/x/kustomization.yaml", "resources: [cm.yaml]\n")
            .file("gitops/x/cm.yaml", "apiVersion: v1\nkind: ConfigMap\n")
            .error("missing `metadata.name`"),
        case(
            "kustomization that includes itself",
            &["render", "gitops/x"],
        )
        .file("gitops/x/kustomization.yaml", "resources: [../x]\n")
        .error("cycle"),
        case("unknown component", &["validate"])
            .edit(STAGE1, "components: [", "components: [nosuch, ")
            .code(1)
            .error("belongs to component `nosuch`"),
    ]
}

fn kubeconfigs() -> Vec<Case> {
    vec![
        case("kubeconfig missing", &["--kubeconfig", "/nonexistent/kc", "status"])
            .error("failed to load the kubeconfig `/nonexistent/kc`")
            .hint("--kubeconfig"),
        case("kubeconfig not YAML", &["--kubeconfig", "kc", "status"])
            .file("kc", "not: [yaml\n")
            .error("failed to load the kubeconfig `kc`"),
        case("kubeconfig without contexts", &["--kubeconfig", "kc", "status"])
            .file("kc", "{}\n")
            .error("the kubeconfig `kc` has no current context")
            .hint("oc login"),
        case("empty current context", &["--kubeconfig", "kc", "status"])
            .file(
                "kc",
                "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: \"\"\n",
            )
            .error("has no current context")
            .hint("--context NAME"),
        case("current context not in the file", &["--kubeconfig", "kc", "status"])
            .file(
                "kc",
                "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: gone\n",
            )
            .error("context `gone` is not in the kubeconfig")
            .hint("available contexts: x"),
        case("unknown --context", &["--kubeconfig", "kc", "--context", "nope", "status"])
            .file("kc", REFUSED)
            .error("context `nope` is not in the kubeconfig")
            .hint("available contexts: x"),
        case("no kubeconfig at all", &["status"])
            .error("no kubeconfig found")
            .hint("democtl --sim"),
        case("--context without a kubeconfig", &["--context", "x", "status"])
            .error("no kubeconfig found"),
        case("KUBECONFIG to a missing file", &["status"])
            .env("KUBECONFIG", "/nonexistent/kc")
            .error("failed to load the kubeconfig"),
        case("server refuses connections", &["--kubeconfig", "kc", "status"])
            .file("kc", REFUSED)
            .code(3)
            .error("cluster `https://127.0.0.1:1` is unreachable")
            .hint("VPN"),
        case("server refuses, deploy", &["--kubeconfig", "kc", "deploy", "stage1", "--yes"])
            .file("kc", REFUSED)
            .code(3)
            .error("is unreachable"),
        case("server refuses, teardown", &["--kubeconfig", "kc", "teardown", "--stage", "1", "--yes"])
            .file("kc", REFUSED)
            .code(3)
            .error("is unreachable"),
        case("server with an unsupported scheme", &["--kubeconfig", "kc", "status"])
            .file(
                "kc",
                "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"ftp://x\"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
            )
            .code(3)
            .error("cluster `ftp://x` is unreachable")
            .hint("check the API URL"),
        case("server name that does not resolve", &["--kubeconfig", "kc", "status"])
            .file(
                "kc",
                "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://no-such-host.invalid:6443\"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
            )
            .code(3)
            .error("is unreachable"),
    ]
}

fn inputs() -> Vec<Case> {
    let dry = &["deploy", "stage1", "--dry-run"][..];
    vec![
        case(".env line without =", dry)
            .file(".env", "HF_TOKEN\n")
            .on_cluster()
            .error(".env:1: not a `KEY=VALUE` line")
            .hint("write `NAME=value`"),
        case(".env unterminated quote", dry)
            .file(".env", "HF_TOKEN=\"abc\n")
            .on_cluster()
            .error(".env:1: `HF_TOKEN`: the value opens a `\"` quote that does not close")
            .hint("quote the whole value with `\"…\"` or `'…'` on one line"),
        case(".env text after the closing quote", dry)
            .file(".env", "HF_TOKEN=\"hf_abc\" x\n")
            .on_cluster()
            .error(".env:1: `HF_TOKEN`: text after the closing `\"` quote")
            .hint("quote the whole value"),
        case(".env with a BOM and CRLF, empty token", dry)
            .file(".env", "\u{feff}# secrets\r\nHF_TOKEN=\r\n")
            .on_cluster()
            .error(".env:2: `HF_TOKEN` is empty")
            .hint("without spaces or line breaks"),
        case(".env exported token with spaces", dry)
            .file(".env", "export HF_TOKEN=' hf_abc'\n")
            .on_cluster()
            .error(".env:1: `HF_TOKEN` has whitespace around it")
            .hint("without spaces"),
        case(".env empty token", dry)
            .file(".env", "HF_TOKEN=   \n")
            .on_cluster()
            .error(".env:1: `HF_TOKEN` is empty")
            .hint("without spaces or line breaks"),
        case(".env token with spaces", dry)
            .file(".env", "HF_TOKEN=\" abc \"\n")
            .on_cluster()
            .error("`HF_TOKEN` has whitespace around it")
            .hint("without spaces"),
        case(".env invalid name", dry)
            .file(".env", "HF TOKEN=abc\n")
            .on_cluster()
            .error(".env:1: `HF TOKEN` is not a valid variable name")
            .hint("names are letters, digits and `_`"),
        case(".env not UTF-8", dry)
            .bytes(".env", b"HF_TOKEN=\xff\xfe\n")
            .on_cluster()
            .error(".env")
            .hint("not UTF-8 text"),
        case(".env is a folder", dry)
            .file(".env/x", "")
            .on_cluster()
            .error(".env")
            .hint("is a folder"),
        case("no token anywhere", dry)
            .on_cluster()
            .error("`HF_TOKEN` is not set")
            .hint("set `HF_TOKEN` in the environment or in `.env`"),
        case("token with a line break", dry)
            .env("HF_TOKEN", "hf_a\nb")
            .on_cluster()
            .error("`HF_TOKEN` in the environment contains a line break")
            .hint("unset HF_TOKEN"),
        case("token only whitespace", dry)
            .env("HF_TOKEN", "   ")
            .on_cluster()
            .error("`HF_TOKEN` in the environment"),
        case(
            "log folder that cannot exist",
            &[
                "--log-dir",
                "/proc/democtl-logs",
                "deploy",
                "stage1",
                "--dry-run",
            ],
        )
        .env("HF_TOKEN", "hf_test")
        .on_cluster()
        .error("cannot access `/proc/democtl-logs"),
        case(
            "log folder is a file",
            &[
                "--log-dir",
                "stages/stage1.yaml",
                "deploy",
                "stage1",
                "--dry-run",
            ],
        )
        .env("HF_TOKEN", "hf_test")
        .on_cluster()
        .error("cannot access"),
        case(
            "stage2 --only before stage1",
            &["deploy", "stage2", "--only", "summary"],
        )
        .env("HF_TOKEN", "hf_test")
        .on_cluster()
        .error("`--only summary` acts on stage2 alone, but stage1 is not deployed")
        .hint("deploy the earlier stages first with"),
        case("a stage given to status", &["status", "stage9"])
            .on_cluster()
            .error("unexpected argument 'stage9'"),
    ]
}

fn run_case(c: &Case, kubeconfig: &str) -> Run {
    let mut demo = Demo::repo();
    for (k, v) in &c.env {
        demo = demo.env(k, v);
    }
    for (file, from, to) in &c.edits {
        let path = demo.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{}: `{from}` is not in {file}", c.what);
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }
    for (file, bytes) in &c.files {
        let path = demo.path().join(file);
        match bytes {
            Some(bytes) => {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, bytes).unwrap();
            }
            None => std::fs::remove_file(&path).unwrap(),
        }
    }
    let mut args: Vec<&str> = Vec::new();
    if c.cluster {
        args.extend(["--kubeconfig", kubeconfig, "--yes"]);
    }
    args.extend(&c.args);
    demo.run(&args)
}

/// What is wrong with the answer to `c`, if anything.
fn check(c: &Case, run: &Run) -> Option<String> {
    let mut wrong = Vec::new();
    if run.code != c.code {
        wrong.push(format!("exit code {} (want {})", run.code, c.code));
    }
    if run.stderr.contains("panicked") || run.stderr.contains("RUST_BACKTRACE") {
        wrong.push("panicked".into());
    }
    // The error: its `error:` line and what belongs to it (clap's argument lines, causes,
    // evidence) up to the first blank line; hints aside.
    let block: Vec<&str> = run
        .stderr
        .lines()
        .skip_while(|l| !l.starts_with("error:"))
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| !l.trim_start().starts_with("hint:"))
        .collect();
    if block.is_empty() && !c.error.starts_with("Usage") {
        wrong.push("no `error:` line".into());
    } else if !block.iter().any(|l| l.contains(c.error)) && !run.stderr.contains(c.error) {
        wrong.push(format!("the error lacks `{}`", c.error));
    } else if !block.is_empty() && !block.iter().any(|l| l.contains(c.error)) {
        wrong.push(format!("`{}` is not in the error itself", c.error));
    }
    if let Some(hint) = c.hint {
        let hinted = run.stderr.lines().any(|l| {
            (l.trim_start().starts_with("hint:") || l.trim_start().starts_with("tip:"))
                && l.contains(hint)
        });
        if !hinted {
            wrong.push(format!("no hint with `{hint}`"));
        }
    }
    (!wrong.is_empty()).then(|| {
        format!(
            "{}: {}\n  democtl {}\n  stderr:\n{}",
            c.what,
            wrong.join("; "),
            c.args.join(" "),
            run.stderr
                .lines()
                .map(|l| format!("    {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_gets_its_exit_code_a_one_line_error_and_a_hint() {
    let state = tempfile::tempdir().unwrap();
    let sim = Embedded::start_with(
        state.path(),
        &EmbeddedOptions {
            scenario: None,
            speed: Some(60.0),
            tls: false,
        },
    )
    .await
    .unwrap();
    let kubeconfig = sim.kubeconfig_path().display().to_string();
    let cases: Vec<Case> = [arguments(), projects(), kubeconfigs(), inputs()]
        .into_iter()
        .flatten()
        .collect();
    assert!(cases.len() >= 100, "the table has {} rows", cases.len());
    // A few rows at a time: each is its own project and process.
    let failures = tokio::task::spawn_blocking(move || {
        let chunk = cases.len().div_ceil(3);
        std::thread::scope(|scope| {
            let workers: Vec<_> = cases
                .chunks(chunk)
                .map(|rows| {
                    let kubeconfig = &kubeconfig;
                    scope.spawn(move || {
                        rows.iter()
                            .filter_map(|c| check(c, &run_case(c, kubeconfig)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect::<Vec<_>>()
        })
    })
    .await
    .unwrap();
    sim.shutdown().await.unwrap();
    assert!(
        failures.is_empty(),
        "{} of the bad inputs were answered wrongly:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

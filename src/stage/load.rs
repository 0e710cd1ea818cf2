//! Loading and validating the stage files. Every problem names the file, line, column and
//! field, with a hint; validation reports every problem of every file at once.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::locate::{PathIndex, Pos};
use super::params::{CheckKind, StepParams};
use super::schema::{FIELD_SEPARATOR, HINT_SEPARATOR, Stage, StepKind};
use super::suggest;

/// One problem in a stage file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Relative to the project root (`stages/stage1.yaml`).
    pub file: PathBuf,
    pub pos: Option<Pos>,
    /// The field (`steps[2].with.jobs`), when known.
    pub field: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(pos) = self.pos {
            write!(f, ":{}:{}", pos.line, pos.column)?;
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "`{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// The stage files could not be loaded, or are inconsistent. Holds every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "{one}"),
            many => write!(f, "{} problems in the stage files", many.len()),
        }
    }
}

impl LoadError {
    /// The hint of a single problem (several problems carry their own).
    pub fn hint(&self) -> Option<String> {
        match self.problems.as_slice() {
            [one] => one.hint.clone(),
            _ => None,
        }
    }
}

/// A stage name the user typed that names no stage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no stage `{input}`")]
pub struct UnknownStage {
    pub input: String,
    pub hint: String,
}

/// A step id the user typed (`--from`, `--only`) that the stage does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stage `{stage}` has no step `{input}`")]
pub struct UnknownStep {
    pub stage: String,
    pub input: String,
    pub hint: String,
}

/// One parsed stage file, with the locations of its fields.
#[derive(Debug, Clone)]
pub struct LoadedStage {
    pub stage: Arc<Stage>,
    /// Relative to the project root.
    pub file: PathBuf,
    index: PathIndex,
}

impl LoadedStage {
    /// Parses one stage file's text. `file` is only used in messages.
    pub fn parse(file: impl Into<PathBuf>, text: &str) -> Result<LoadedStage, Problem> {
        let file = file.into();
        let index = PathIndex::build(text);
        match serde_saphyr::from_str::<Stage>(text) {
            Ok(stage) => Ok(LoadedStage {
                stage: Arc::new(stage),
                file,
                index,
            }),
            Err(error) => Err(problem_from_serde(file, &index, &error)),
        }
    }

    /// A problem at `path` in this file (at its value, or its key with `at_key`).
    pub fn problem(&self, path: &str, message: impl Into<String>, hint: Option<String>) -> Problem {
        Problem {
            file: self.file.clone(),
            pos: self.index.value(path).or_else(|| self.index.key(path)),
            field: Some(path.to_owned()),
            message: message.into(),
            hint,
        }
    }

    /// The index of step `id`, with "did you mean" when it does not exist.
    pub fn step_index(&self, id: &str) -> Result<usize, UnknownStep> {
        if let Some(i) = self.stage.steps.iter().position(|s| s.id == id) {
            return Ok(i);
        }
        let ids: Vec<&str> = self.stage.steps.iter().map(|s| s.id.as_str()).collect();
        let hint = match suggest::closest(id, ids.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("its steps are {}", suggest::list(&ids)),
        };
        Err(UnknownStep {
            stage: self.stage.id.clone(),
            input: id.to_owned(),
            hint,
        })
    }
}

/// Every stage of the project, ordered by number.
#[derive(Debug, Clone)]
pub struct StageSet {
    stages: Vec<LoadedStage>,
    /// Ids of the stage files that did not load: references to them are not reported again
    /// (the file's own problem is the root cause).
    unloaded: BTreeSet<String>,
}

impl StageSet {
    /// Loads and validates `<root>/stages/*.yaml`. Overlay paths are checked against `root`.
    pub fn load(root: &Path) -> Result<StageSet, LoadError> {
        let (set, problems) = StageSet::load_all(root);
        if problems.is_empty() {
            Ok(set)
        } else {
            Err(LoadError { problems })
        }
    }

    /// Loads what loads, and lists every problem (of parsing and of validation).
    pub fn load_all(root: &Path) -> (StageSet, Vec<Problem>) {
        let dir = root.join("stages");
        let rel_dir = PathBuf::from("stages");
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                let problem = Problem {
                    file: rel_dir,
                    pos: None,
                    field: None,
                    message: format!("cannot read the stage folder ({e})"),
                    hint: Some("stage files live in `stages/` at the project root".into()),
                };
                return (StageSet::from_stages(Vec::new()), vec![problem]);
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .collect();
        files.sort();
        let mut problems = Vec::new();
        let mut stages = Vec::new();
        let mut unloaded = BTreeSet::new();
        for path in files {
            let rel = rel_dir.join(path.file_name().unwrap_or_default());
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) => {
                    // Other stages' references to it are follow-ons of this one problem.
                    unloaded.extend(presumed_ids(&path, ""));
                    problems.push(Problem {
                        file: rel,
                        pos: None,
                        field: None,
                        message: format!("cannot read the file ({e})"),
                        hint: Some(
                            "stage files are UTF-8 YAML; check that this is the file you meant"
                                .into(),
                        ),
                    });
                    continue;
                }
            };
            match LoadedStage::parse(rel, &text) {
                Ok(stage) => stages.push(stage),
                Err(problem) => {
                    unloaded.extend(presumed_ids(&path, &text));
                    problems.push(problem);
                }
            }
        }
        if stages.is_empty() && problems.is_empty() {
            problems.push(Problem {
                file: rel_dir,
                pos: None,
                field: None,
                message: "no stage files (`*.yaml`)".into(),
                hint: Some(
                    "add `stages/stage1.yaml`; see the stage file reference in docs/commands.md"
                        .into(),
                ),
            });
        }
        // A stage whose id is invalid or taken is reported once; references to the id its file
        // name promises are follow-ons.
        let mut seen = BTreeSet::new();
        for stage in &stages {
            let duplicate = !seen.insert(stage.stage.id.as_str());
            if duplicate || !is_identifier(&stage.stage.id) {
                unloaded.extend(presumed_ids(&root.join(&stage.file), ""));
            }
        }
        // A stage whose id differs from its file name, where other stages require the file
        // name's id, is one problem (on its `id`); their "unknown stage" errors are follow-ons.
        problems.extend(renamed_ids(&stages, &mut unloaded));
        let mut set = StageSet::from_stages(stages);
        set.unloaded = unloaded;
        problems.extend(set.validate(Some(root)));
        (set, problems)
    }

    /// A set from parsed stages, unvalidated (tests; `load` validates).
    pub fn from_stages(mut stages: Vec<LoadedStage>) -> StageSet {
        stages.sort_by_key(|s| s.stage.number);
        StageSet {
            stages,
            unloaded: BTreeSet::new(),
        }
    }

    pub fn stages(&self) -> &[LoadedStage] {
        &self.stages
    }

    /// Resolves `stage1`, `1` or a slug.
    pub fn resolve(&self, input: &str) -> Result<&LoadedStage, UnknownStage> {
        let wanted = input.trim();
        let found = self.stages.iter().find(|s| {
            s.stage.id == wanted
                || s.stage.slug == wanted
                || wanted.parse::<u8>().ok() == Some(s.stage.number)
        });
        found.ok_or_else(|| {
            let names: Vec<&str> = self
                .stages
                .iter()
                .flat_map(|s| [s.stage.id.as_str(), s.stage.slug.as_str()])
                .collect();
            let hint = match suggest::closest(wanted, names.iter().copied()) {
                Some(best) => format!("did you mean `{best}`?"),
                None => {
                    let ids: Vec<&str> = self.stages.iter().map(|s| s.stage.id.as_str()).collect();
                    format!(
                        "the stages are {} (or their numbers and slugs)",
                        suggest::list(&ids)
                    )
                }
            };
            UnknownStage {
                input: input.to_owned(),
                hint,
            }
        })
    }

    /// Stages `required` transitively needs, in deploy order, then itself.
    pub fn with_prerequisites(&self, target: &LoadedStage) -> Vec<&LoadedStage> {
        let mut wanted: BTreeSet<&str> = BTreeSet::new();
        let mut todo = vec![target.stage.id.as_str()];
        while let Some(id) = todo.pop() {
            if wanted.insert(id)
                && let Some(s) = self.stages.iter().find(|s| s.stage.id == id)
            {
                todo.extend(s.stage.requires.iter().map(String::as_str));
            }
        }
        self.stages
            .iter()
            .filter(|s| wanted.contains(s.stage.id.as_str()))
            .collect()
    }

    /// Every switch any stage declares (first declaration wins), for the CLI's flags.
    pub fn switches(&self) -> Vec<super::schema::Switch> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for s in &self.stages {
            for switch in &s.stage.switches {
                if seen.insert(switch.name.clone()) {
                    out.push(switch.clone());
                }
            }
        }
        out
    }

    /// Consistency checks across the set: everything that needs no renderer and no cluster.
    /// `root` enables the overlay-path check.
    pub fn validate(&self, root: Option<&Path>) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut ids: BTreeMap<&str, &LoadedStage> = BTreeMap::new();
        let mut numbers: BTreeMap<u8, &LoadedStage> = BTreeMap::new();
        for s in &self.stages {
            if let Some(first) = ids.insert(&s.stage.id, s) {
                problems.push(s.problem(
                    "id",
                    format!("duplicate stage id `{}`", s.stage.id),
                    Some(format!("`{}` uses it too", first.file.display())),
                ));
            }
            if let Some(first) = numbers.insert(s.stage.number, s) {
                problems.push(s.problem(
                    "number",
                    format!("duplicate stage number {}", s.stage.number),
                    Some(format!("`{}` uses it too", first.file.display())),
                ));
            }
        }
        let known: Vec<&str> = self.stages.iter().map(|s| s.stage.id.as_str()).collect();
        for s in &self.stages {
            validate_stage(s, &known, &ids, &self.unloaded, root, &mut problems);
        }
        problems
    }

    /// Components that `apply`/`wait-ready` steps name but the stage's render does not provide.
    /// `provided` gives the components of a stage's rendered overlay (from the renderer).
    pub fn check_components(
        &self,
        stage: &LoadedStage,
        provided: &BTreeSet<String>,
    ) -> Vec<Problem> {
        let mut problems = Vec::new();
        let all: Vec<&str> = provided.iter().map(String::as_str).collect();
        for (i, step) in stage.stage.steps.iter().enumerate() {
            let components = match &step.with {
                StepParams::Apply(p) => &p.components,
                StepParams::WaitReady(p) => &p.components,
                _ => continue,
            };
            for (j, c) in components.iter().enumerate() {
                if !provided.contains(c) {
                    let hint = match suggest::closest(c, all.iter().copied()) {
                        Some(best) => format!("did you mean `{best}`?"),
                        None if all.is_empty() => format!(
                            "the overlay `{}` labels no objects with a component",
                            stage.stage.overlay
                        ),
                        None => format!("the overlay provides {}", suggest::list(&all)),
                    };
                    problems.push(stage.problem(
                        &format!("steps[{i}].with.components[{j}]"),
                        format!(
                            "no object of overlay `{}` belongs to component `{c}`",
                            stage.stage.overlay
                        ),
                        Some(hint),
                    ));
                }
            }
        }
        problems
    }
}

fn validate_stage(
    s: &LoadedStage,
    known: &[&str],
    ids: &BTreeMap<&str, &LoadedStage>,
    unloaded: &BTreeSet<String>,
    root: Option<&Path>,
    problems: &mut Vec<Problem>,
) {
    let stage = &s.stage;
    if !is_identifier(&stage.id) {
        problems.push(s.problem(
            "id",
            format!("stage id `{}` is not kebab-case", stage.id),
            Some(ident_hint()),
        ));
    }
    for (i, required) in stage.requires.iter().enumerate() {
        let field = format!("requires[{i}]");
        match ids.get(required.as_str()) {
            None if unloaded.contains(required) => {}
            None => problems.push(s.problem(
                &field,
                format!("unknown stage `{required}`"),
                Some(did_you_mean(required, known)),
            )),
            // An equal number is the duplicate-number problem, reported once already.
            Some(other) if other.stage.number > stage.number => problems.push(s.problem(
                &field,
                format!(
                    "stage `{}` requires stage `{required}`, which comes later",
                    stage.id
                ),
                Some("a stage may only require stages with a lower number".into()),
            )),
            Some(_) => {}
        }
    }
    if let Some(root) = root {
        let overlay = root.join(&stage.overlay);
        if !overlay.join("kustomization.yaml").is_file()
            && !overlay.join("kustomization.yml").is_file()
            && !overlay.join("Kustomization").is_file()
        {
            problems.push(s.problem(
                "overlay",
                format!("overlay `{}` has no kustomization file", stage.overlay),
                Some("overlay paths are relative to the project root, e.g. `gitops/overlays/stage1`".into()),
            ));
        }
    }
    let mut switches: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, switch) in stage.switches.iter().enumerate() {
        if !is_identifier(&switch.name) {
            problems.push(s.problem(
                &format!("switches[{i}].name"),
                format!("switch name `{}` is not kebab-case", switch.name),
                Some(ident_hint()),
            ));
        }
        if RESERVED_FLAGS.contains(&switch.name.as_str()) {
            problems.push(s.problem(
                &format!("switches[{i}].name"),
                format!(
                    "switch name `{}` clashes with the `--{}` option of `deploy`",
                    switch.name, switch.name
                ),
                Some("pick another name".into()),
            ));
        }
        if switches.insert(&switch.name, i).is_some() {
            problems.push(s.problem(
                &format!("switches[{i}].name"),
                format!("duplicate switch `{}`", switch.name),
                None,
            ));
        }
    }
    let declared: Vec<&str> = switches.keys().copied().collect();
    if stage.steps.is_empty() {
        problems.push(s.problem(
            "steps",
            "the stage has no steps",
            Some("add at least one step".into()),
        ));
    }
    let mut step_ids: BTreeMap<&str, usize> = BTreeMap::new();
    let mut gpu_suffixes: BTreeSet<&str> = BTreeSet::new();
    for step in &stage.steps {
        if let StepParams::GpuMachinesets(p) = &step.with {
            gpu_suffixes.extend(p.machinesets.iter().map(|m| m.suffix.as_str()));
        }
    }
    for (i, step) in stage.steps.iter().enumerate() {
        let at = |field: &str| format!("steps[{i}].{field}");
        if !is_identifier(&step.id) {
            problems.push(s.problem(
                &at("id"),
                format!("step id `{}` is not kebab-case", step.id),
                Some(ident_hint()),
            ));
        }
        if let Some(first) = step_ids.insert(&step.id, i) {
            let line = s
                .index
                .value(&format!("steps[{first}].id"))
                .map(|p| p.line)
                .unwrap_or(0);
            problems.push(s.problem(
                &at("id"),
                format!("duplicate step id `{}`", step.id),
                Some(format!(
                    "the first `{}` is on line {line}; step ids must be unique within a stage",
                    step.id
                )),
            ));
        }
        if let Some(switch) = &step.switch
            && !switches.contains_key(switch.as_str())
        {
            problems.push(s.problem(
                &at("switch"),
                format!("undeclared switch `{switch}`"),
                Some(switch_hint(switch, &declared)),
            ));
        }
        if step.timeout == Some(std::time::Duration::ZERO) {
            problems.push(s.problem(&at("timeout"), "timeout must be more than zero", None));
        }
        if let Some(retry) = &step.retry {
            if retry.attempts == 0 {
                problems.push(s.problem(
                    &at("retry.attempts"),
                    "`attempts` must be at least 1",
                    Some("`attempts` counts the first try too".into()),
                ));
            }
            if retry.base > retry.cap {
                problems.push(s.problem(
                    &at("retry.base"),
                    "`base` is longer than `cap`",
                    Some("the delay starts at `base` and doubles up to `cap`".into()),
                ));
            }
        }
        match &step.with {
            StepParams::Prereq(p) => {
                for (j, check) in p.checks.iter().enumerate() {
                    if let Some(switch) = &check.switch
                        && !switches.contains_key(switch.as_str())
                    {
                        problems.push(s.problem(
                            &at(&format!("with.checks[{j}].switch")),
                            format!("undeclared switch `{switch}`"),
                            Some(switch_hint(switch, &declared)),
                        ));
                    }
                    if check.check == CheckKind::StageDeployed
                        && let Some(name) = &check.name
                        && !known.contains(&name.as_str())
                        && !unloaded.contains(name)
                    {
                        problems.push(s.problem(
                            &at(&format!("with.checks[{j}].name")),
                            format!("unknown stage `{name}`"),
                            Some(did_you_mean(name, known)),
                        ));
                    }
                }
            }
            StepParams::WaitGpu(p) => {
                let all: Vec<&str> = gpu_suffixes.iter().copied().collect();
                for (j, suffix) in p.machinesets.iter().enumerate() {
                    if !gpu_suffixes.contains(suffix.as_str()) {
                        problems.push(s.problem(
                            &at(&format!("with.machinesets[{j}]")),
                            format!("no `gpu-machinesets` step of the stage creates `{suffix}`"),
                            Some(if all.is_empty() {
                                "add a `gpu-machinesets` step before this one".into()
                            } else {
                                did_you_mean(suffix, &all)
                            }),
                        ));
                    }
                }
            }
            StepParams::Benchmark(p) => {
                if let Some(publish) = &p.publish {
                    if let Some(switch) = &publish.switch
                        && !switches.contains_key(switch.as_str())
                    {
                        problems.push(s.problem(
                            &at("with.publish.switch"),
                            format!("undeclared switch `{switch}`"),
                            Some(switch_hint(switch, &declared)),
                        ));
                    }
                    if p.results.is_none() {
                        problems.push(s.problem(
                            &at("with.publish"),
                            "`publish` needs `results`: the Job reads the results ConfigMap",
                            Some("name the ConfigMap the step writes: `results: benchmark-results`".into()),
                        ));
                    }
                }
            }
            StepParams::Patch(p) => {
                if let Some(r) = &p.restart_pods
                    && r.deployment.is_some() == r.selector.is_some()
                {
                    problems.push(s.problem(
                        &at("with.restartPods"),
                        "`restartPods` needs exactly one of `deployment` and `selector`",
                        Some("name the operator's Deployment (`deployment: my-operator`): its own selector finds its pods".into()),
                    ));
                }
            }
            _ => {}
        }
        if step.kind == StepKind::Summary && step.optional {
            // Allowed: a summary that cannot find an endpoint degrades the run instead of failing it.
        }
    }
}

/// Long options of `deploy`/`plan` a switch must not shadow.
const RESERVED_FLAGS: &[&str] = &[
    "from",
    "only",
    "dry-run",
    "resume",
    "set-switch",
    "help",
    "project-dir",
    "kubeconfig",
    "context",
    "sim",
    "sim-speed",
    "sim-scenario",
    "log-dir",
    "no-color",
    "yes",
    "verbose",
    "quiet",
    "version",
];

/// Stages whose `id` is not their file name (`stages/stage1.yaml` declaring `stgae1`) while
/// other stages require the file name's id: one problem each, on the `id` field. The file
/// name's id is added to `unloaded`, so the requirers' "unknown stage" errors are not reported.
fn renamed_ids(stages: &[LoadedStage], unloaded: &mut BTreeSet<String>) -> Vec<Problem> {
    let ids: BTreeSet<&str> = stages.iter().map(|s| s.stage.id.as_str()).collect();
    let mut problems = Vec::new();
    for s in stages {
        let Some(stem) = s.file.file_stem().and_then(|n| n.to_str()) else {
            continue;
        };
        if stem == s.stage.id || ids.contains(stem) || unloaded.contains(stem) {
            continue;
        }
        let requirers: Vec<&str> = stages
            .iter()
            .filter(|other| {
                other.stage.requires.iter().any(|r| r == stem)
                    || other.stage.steps.iter().any(|step| match &step.with {
                        StepParams::Prereq(p) => p.checks.iter().any(|c| {
                            c.check == CheckKind::StageDeployed && c.name.as_deref() == Some(stem)
                        }),
                        _ => false,
                    })
            })
            .map(|other| other.stage.id.as_str())
            .collect();
        if requirers.is_empty() {
            continue;
        }
        let file_name = s.file.file_name().and_then(|n| n.to_str()).unwrap_or(stem);
        let (list, verb) = match requirers.as_slice() {
            [one] => ((*one).to_owned(), "requires"),
            many => (many.join(", "), "require"),
        };
        problems.push(s.problem(
            "id",
            format!(
                "declares `{}`, but the file is `{file_name}` and {list} {verb} `{stem}`",
                s.stage.id
            ),
            Some(format!(
                "write `id: {stem}` (or rename the file and every `{stem}` that names it)"
            )),
        ));
        unloaded.insert(stem.to_owned());
    }
    problems
}

/// The id a stage file that does not load was meant to have: its `id:` line if one can be
/// read, and its file name (`stages/stage1.yaml` → `stage1`).
fn presumed_ids(path: &Path, text: &str) -> Vec<String> {
    let mut ids: Vec<String> = path
        .file_stem()
        .and_then(|s| s.to_str())
        .map(str::to_owned)
        .into_iter()
        .collect();
    if let Some(id) = text
        .lines()
        .find_map(|l| l.strip_prefix("id:"))
        .map(|v| {
            v.split('#')
                .next()
                .unwrap_or_default()
                .trim()
                .trim_matches(['"', '\''])
        })
        .filter(|v| !v.is_empty())
    {
        ids.push(id.to_owned());
    }
    ids
}

fn is_identifier(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

fn ident_hint() -> String {
    "use lowercase letters, digits and `-`, like `wait-models`".into()
}

fn did_you_mean(input: &str, known: &[&str]) -> String {
    match suggest::closest(input, known.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None if known.is_empty() => "there is nothing of that name".into(),
        None => format!("known: {}", suggest::list(known)),
    }
}

fn switch_hint(input: &str, declared: &[&str]) -> String {
    match suggest::closest(input, declared.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!("declare it under `switches:` with `name: {input}` and a `default`"),
    }
}

/// Turns a serde-saphyr error into a problem: location, the field there, the message without
/// the snippet, and a hint (ours, split off the message; or "did you mean" for unknown names).
fn problem_from_serde(file: PathBuf, index: &PathIndex, error: &serde_saphyr::Error) -> Problem {
    let pos = error
        .location()
        .map(|l| Pos {
            line: l.line(),
            column: l.column(),
        })
        .filter(|p| p.line > 0);
    let (raw, is_data_error) = match error.without_snippet() {
        serde_saphyr::Error::Message { msg, .. } => (msg.clone(), true),
        serde_saphyr::Error::ExternalMessage { .. } => (
            strip_location(&error.without_snippet().to_string()).to_owned(),
            false,
        ),
        other => (strip_location(&other.to_string()).to_owned(), true),
    };
    let (key, raw) = match raw.split_once(FIELD_SEPARATOR) {
        Some((key, rest)) => (Some(key.to_owned()), rest.to_owned()),
        None => (None, raw),
    };
    let (message, mut hint) = match raw.split_once(HINT_SEPARATOR) {
        Some((m, h)) => (m.to_owned(), Some(h.to_owned())),
        None => (raw.clone(), None),
    };
    let (message, name_hint) = unknown_name_hint(&message);
    if hint.is_none() {
        hint = name_hint;
    }
    let message = match message.as_str() {
        "invalid u8" | "invalid u16" | "invalid u32" | "invalid u64" => {
            "expected a whole number".to_owned()
        }
        "invalid bool" | "invalid boolean" => "expected `true` or `false`".to_owned(),
        "expected sequence start" => {
            hint = hint.or(Some("write it as `[a, b]` or as `- a` lines".to_owned()));
            "expected a list".to_owned()
        }
        "expected mapping start" => {
            hint = hint.or(Some("write it as `key: value` lines".to_owned()));
            "expected a mapping".to_owned()
        }
        other => match other.strip_prefix("duplicate mapping key: ") {
            Some(rest) => {
                hint = hint.or(Some("a key may appear only once in a mapping".to_owned()));
                format!("duplicate key `{}`", rest.split(',').next().unwrap_or(rest))
            }
            None => message,
        },
    };
    // A syntax error has no field; a missing field belongs to the mapping, not its last key.
    let field = if is_data_error {
        pos.and_then(|p| index.path_at(p)).map(|path| {
            if message.starts_with("missing field") {
                parent(path)
            } else {
                path
            }
        })
    } else {
        None
    };
    let mut field = field.filter(|f| !f.is_empty()).map(str::to_owned);
    let mut pos = pos;
    if let (Some(key), Some(path)) = (&key, &field) {
        let path = format!("{path}.{key}");
        pos = index.value(&path).or(pos);
        field = Some(path);
    }
    if hint.is_none() {
        hint = if let Some(name) = message
            .strip_prefix("missing field `")
            .and_then(|r| r.strip_suffix('`'))
        {
            Some(format!("add `{name}:` to this mapping"))
        } else if message.contains("found a tab") {
            Some("indent with spaces: YAML does not allow tabs".to_owned())
        } else {
            None
        };
    }
    Problem {
        file,
        pos,
        field,
        message,
        hint,
    }
}

/// `steps[1].with.jobs` → `steps[1].with`; `steps[1]` → `steps[1]` (an item is its own mapping).
fn parent(path: &str) -> &str {
    if path.ends_with(']') {
        return path;
    }
    match path.rfind('.') {
        Some(i) => &path[..i],
        None => "",
    }
}

/// serde-saphyr appends " at line N, column M" to some messages; the problem carries it already.
fn strip_location(text: &str) -> &str {
    let text = text.lines().next().unwrap_or(text);
    match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => text,
    }
}

/// serde's "unknown field `x`, expected one of a, b" → ("unknown field `x`", "did you mean `a`?").
fn unknown_name_hint(message: &str) -> (String, Option<String>) {
    for prefix in ["unknown field `", "unknown variant `"] {
        let Some(rest) = message.strip_prefix(prefix) else {
            continue;
        };
        let Some((name, expected)) = rest.split_once('`') else {
            continue;
        };
        let expected = expected
            .trim_start_matches(", ")
            .trim_start_matches("expected one of ")
            .trim_start_matches("expected ");
        let options: Vec<&str> = expected
            .split(", ")
            .map(|o| o.trim_matches('`'))
            .filter(|o| !o.is_empty() && !o.contains(' '))
            .collect();
        let short = format!("{prefix}{name}`");
        let hint = if expected.contains("there are no") {
            Some("nothing is accepted here".to_owned())
        } else {
            match suggest::closest(name, options.iter().copied()) {
                Some(best) => Some(format!("did you mean `{best}`?")),
                None if options.is_empty() => None,
                None => Some(format!("expected {}", suggest::list(&options))),
            }
        };
        return (short, hint);
    }
    (message.to_owned(), None)
}

//! The `SecretProvider` of `crate::steps`: the environment, then `<project>/.env` (parsed as
//! data), then a hidden prompt — only on a terminal and without `--yes`. Every value handed out
//! is registered with `Sensitive` so no reporter can show it.

use futures::future::BoxFuture;
use indicatif::MultiProgress;

use super::env_file::EnvFile;
use crate::runner::Sensitive;
use crate::steps::{SecretProvider, SecretValue};

/// Secrets for one run.
pub struct Secrets {
    env_file: EnvFile,
    /// Prompting allowed: stdin and stderr are terminals and `--yes` was not given.
    can_prompt: bool,
    /// The spinners to pause while asking.
    progress: Option<MultiProgress>,
}

impl Secrets {
    pub fn new(env_file: EnvFile, can_prompt: bool, progress: Option<MultiProgress>) -> Self {
        Secrets {
            env_file,
            can_prompt,
            progress,
        }
    }
}

fn value(text: String) -> SecretValue {
    // Registered for redaction before anything else can see it.
    let sensitive = Sensitive::new(text);
    SecretValue::new(sensitive.expose().clone())
}

impl SecretProvider for Secrets {
    fn lookup(&self, key: &str) -> Option<SecretValue> {
        if let Some(v) = std::env::var(key).ok().filter(|v| !v.is_empty()) {
            return Some(value(v));
        }
        self.env_file.get(key).map(|v| value(v.expose().clone()))
    }

    fn prompt<'a>(&'a self, key: &'a str, prompt: &'a str) -> BoxFuture<'a, Option<SecretValue>> {
        Box::pin(async move {
            if !self.can_prompt {
                return None;
            }
            let question = format!("{prompt} ({key}, input hidden): ");
            let progress = self.progress.clone();
            let answer = tokio::task::spawn_blocking(move || {
                let ask = || {
                    let term = console::Term::stderr();
                    term.write_str(&question).ok()?;
                    term.read_secure_line().ok()
                };
                match progress {
                    Some(progress) => progress.suspend(ask),
                    None => ask(),
                }
            })
            .await
            .ok()
            .flatten()?;
            let answer = answer.trim().to_owned();
            if answer.is_empty() {
                None
            } else {
                Some(value(answer))
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn env_file_values_are_found_and_never_prompted_without_a_terminal() {
        let secrets = Secrets::new(
            EnvFile::parse("DEMOCTL_TEST_ONLY_IN_FILE=from-file-1234\n"),
            false,
            None,
        );
        assert_eq!(
            secrets
                .lookup("DEMOCTL_TEST_ONLY_IN_FILE")
                .unwrap()
                .expose(),
            "from-file-1234"
        );
        assert!(secrets.lookup("DEMOCTL_TEST_NOWHERE").is_none());
        assert!(
            secrets
                .prompt("DEMOCTL_TEST_NOWHERE", "Token")
                .await
                .is_none()
        );
        // Handed-out values are masked in anything a reporter writes.
        assert_eq!(
            crate::runner::sensitive::redact("x from-file-1234"),
            "x ********"
        );
    }
}

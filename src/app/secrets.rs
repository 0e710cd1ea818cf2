//! The `SecretProvider` of `crate::steps`: values entered at the preflight prompt, then the
//! environment, then `<project>/.env` (parsed as data), then a hidden prompt — only on a
//! terminal and without `--yes`. Every value handed out is registered with `Sensitive` so no
//! reporter can show it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use futures::future::BoxFuture;
use indicatif::MultiProgress;
use tokio_util::sync::CancellationToken;

use super::env_file::EnvFile;
use super::prompt::{self, Answer};
use crate::runner::Sensitive;
use crate::steps::{SecretProvider, SecretValue};

/// Secrets for one run.
pub struct Secrets {
    pub(super) env_file: EnvFile,
    /// Prompting allowed: stdin and stderr are terminals and `--yes` was not given.
    pub(super) can_prompt: bool,
    /// The spinners to pause while asking.
    progress: Option<MultiProgress>,
    /// Values entered at the preflight prompt, by variable name.
    entered: Mutex<BTreeMap<String, SecretValue>>,
    /// Cancelled when the user presses Ctrl-C at a prompt during the run.
    cancel: Option<CancellationToken>,
}

impl Secrets {
    pub fn new(env_file: EnvFile, can_prompt: bool, progress: Option<MultiProgress>) -> Self {
        Secrets {
            env_file,
            can_prompt,
            progress,
            entered: Mutex::new(BTreeMap::new()),
            cancel: None,
        }
    }

    /// Ctrl-C at a prompt during the run cancels `token` (the run's).
    #[must_use]
    pub fn cancel_with(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Remembers a value entered before the run (the steps' `lookup` finds it first).
    pub fn remember(&self, key: &str, value: String) {
        if let Ok(mut entered) = self.entered.lock() {
            entered.insert(key.to_owned(), secret(value));
        }
    }

    /// Asks for `key` on the terminal, input hidden (blocking the caller's task, not a thread
    /// of the runtime).
    pub async fn ask(&self, key: &str, prompt_text: &str) -> std::io::Result<Answer> {
        let question = format!("{prompt_text} ({key}, input hidden): ");
        let progress = self.progress.clone();
        tokio::task::spawn_blocking(move || {
            let ask = || prompt::read_hidden(&question);
            match progress {
                Some(progress) => progress.suspend(ask),
                None => ask(),
            }
        })
        .await
        .map_err(std::io::Error::other)?
    }
}

fn secret(text: String) -> SecretValue {
    // Registered for redaction before anything else can see it.
    let sensitive = Sensitive::new(text);
    SecretValue::new(sensitive.expose().clone())
}

impl SecretProvider for Secrets {
    fn lookup(&self, key: &str) -> Option<SecretValue> {
        if let Some(v) = self.entered.lock().ok().and_then(|e| e.get(key).cloned()) {
            return Some(v);
        }
        if let Some(v) = std::env::var(key).ok().filter(|v| !v.is_empty()) {
            return Some(secret(v));
        }
        self.env_file
            .get(key)
            .map(|(_, v)| v.expose().clone())
            .filter(|v| !v.is_empty())
            .map(secret)
    }

    fn prompt<'a>(&'a self, key: &'a str, prompt: &'a str) -> BoxFuture<'a, Option<SecretValue>> {
        Box::pin(async move {
            if !self.can_prompt {
                return None;
            }
            match self.ask(key, prompt).await.ok()? {
                Answer::Line(answer) => {
                    let answer = answer.trim().to_owned();
                    (!answer.is_empty()).then(|| secret(answer))
                }
                Answer::Interrupted => {
                    if let Some(cancel) = &self.cancel {
                        cancel.cancel();
                    }
                    None
                }
                Answer::Closed => None,
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
        secrets.remember("DEMOCTL_TEST_NOWHERE", "entered-5678".into());
        assert_eq!(
            secrets.lookup("DEMOCTL_TEST_NOWHERE").unwrap().expose(),
            "entered-5678"
        );
    }
}

//! A plan saved for review (`plan --out FILE`) and read back by `apply FILE`: the changes with the
//! operations apply will run, what the plan was computed from, and a digest that shows any edit.

use std::io::{Read, Write};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::render::FORMAT_VERSION;
use super::{Plan, Summary};

/// A saved plan is small (a few kilobytes per change); anything larger is not one.
pub const MAX_SIZE: u64 = 16 * 1024 * 1024;

/// What a plan was computed from. `apply FILE` refuses the plan when any of it differs now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basis {
    pub login_alert_version: String,
    /// The bundled handler's code hash (base64 SHA-256, as Lambda reports it).
    pub handler_sha256: String,
    /// `sha256:…` of the config as loaded (the file's secrets are in it only as part of the digest).
    pub config_digest: String,
    pub account_id: String,
    pub region: String,
    /// Every part of the pipeline, in order, with a fingerprint of the state that was read.
    pub state: Vec<PartState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartState {
    pub part: String,
    /// `sha256:…` of the part's state as read.
    pub fingerprint: String,
}

/// The document `plan --out` writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved<O> {
    pub format_version: String,
    #[serde(flatten)]
    pub plan: Plan<O>,
    pub summary: Summary,
    pub changes_pending: bool,
    pub computed_from: Basis,
    /// `sha256:…` of the document without this field: any edit after `plan --out` shows.
    pub digest: String,
}

/// Why a saved plan cannot be used, each naming what to do.
#[derive(Debug, thiserror::Error)]
pub enum SavedError {
    // `cause`, not `source`: the message already says it, a "caused by" line would repeat it.
    #[error("cannot read the plan file {path}: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("cannot write the plan file {path}: {cause}")]
    Write { path: String, cause: std::io::Error },
    #[error(
        "{path} is larger than {} MiB: it is not a plan written by `login-alert plan --out`",
        MAX_SIZE / 1024 / 1024
    )]
    TooLarge { path: String },
    #[error(
        "{path} is not a plan written by `login-alert plan --out` ({why}): run `login-alert plan --out {path}` again"
    )]
    NotAPlan { path: String, why: String },
    #[error(
        "{path} was edited after `login-alert plan --out` wrote it (its digest no longer matches): nothing was applied. \
         Run `login-alert plan --out {path}` again and review that plan"
    )]
    Edited { path: String },
}

impl<O: Serialize + DeserializeOwned> Saved<O> {
    /// The plan with what it was computed from, sealed with its digest.
    pub fn new(plan: Plan<O>, computed_from: Basis) -> Self {
        let mut saved = Saved {
            format_version: FORMAT_VERSION.to_owned(),
            summary: plan.summary(),
            changes_pending: plan.has_changes(),
            plan,
            computed_from,
            digest: String::new(),
        };
        saved.digest = saved.own_digest();
        saved
    }

    fn own_digest(&self) -> String {
        let mut value = serde_json::to_value(self).expect("a plan always serializes");
        if let Value::Object(map) = &mut value {
            map.remove("digest");
        }
        fingerprint(&value)
    }

    /// The file's exact text: [`Saved::read`] accepts these bytes and no others.
    fn text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a plan always serializes");
        text.push('\n');
        text
    }

    /// Writes the plan readable by its owner only, from the first byte (a temporary file in the
    /// same directory, renamed into place).
    pub fn write(&self, path: &Path) -> Result<(), SavedError> {
        let err = |cause| SavedError::Write {
            path: path.display().to_string(),
            cause,
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        // tempfile creates the file with mode 0600.
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
        file.write_all(self.text().as_bytes()).map_err(err)?;
        file.persist(path).map_err(|e| err(e.error))?;
        Ok(())
    }

    /// Reads a saved plan, refusing anything that is not one or that was edited since.
    pub fn read(path: &Path) -> Result<Self, SavedError> {
        let shown = path.display().to_string();
        let read_err = |cause| SavedError::Read {
            path: shown.clone(),
            cause,
        };
        let not_a_plan = |why: String| SavedError::NotAPlan {
            path: shown.clone(),
            why,
        };
        // Opening a named pipe waits for a writer (forever), a device may never end: only a
        // regular file is read (`stat` does not block).
        let kind = std::fs::metadata(path).map_err(read_err)?.file_type();
        if !kind.is_file() {
            return Err(not_a_plan(format!(
                "it is {}, not a file",
                file_kind(&kind)
            )));
        }
        let file = std::fs::File::open(path).map_err(read_err)?;
        let mut bytes = Vec::new();
        file.take(MAX_SIZE + 1)
            .read_to_end(&mut bytes)
            .map_err(read_err)?;
        if bytes.len() as u64 > MAX_SIZE {
            return Err(SavedError::TooLarge {
                path: shown.clone(),
            });
        }
        let text =
            String::from_utf8(bytes).map_err(|_| not_a_plan("it is not UTF-8 text".into()))?;
        let value: Value =
            serde_json::from_str(&text).map_err(|e| not_a_plan(format!("not JSON: {e}")))?;
        match value.get("format_version").and_then(Value::as_str) {
            Some(FORMAT_VERSION) => {}
            Some(other) => {
                return Err(not_a_plan(format!(
                    "format_version {other}, this login-alert reads {FORMAT_VERSION}"
                )));
            }
            None => return Err(not_a_plan("no format_version".into())),
        }
        let saved: Saved<O> =
            serde_json::from_value(value).map_err(|e| not_a_plan(e.to_string()))?;
        if saved.digest != saved.own_digest() {
            return Err(SavedError::Edited { path: shown });
        }
        // The digest covers what a parser keeps, not what a reviewer reads: a key given twice
        // (a parser keeps the last) or text a parser skips would show one thing and apply another.
        // So the bytes themselves must be the ones `plan --out` writes for this document.
        if text != saved.text() {
            return Err(SavedError::Edited { path: shown });
        }
        Ok(saved)
    }
}

impl<O: Serialize> Saved<O> {
    /// The fields of a saved plan that differ from the plan computed now (the digest aside): the
    /// account and region it shows first, then the summary, changes, notices, coverage and the rest.
    pub fn forged_fields(&self, expected: &Saved<O>) -> Vec<String> {
        let (Ok(Value::Object(saved)), Ok(Value::Object(expected))) =
            (serde_json::to_value(self), serde_json::to_value(expected))
        else {
            unreachable!("a saved plan always serializes as an object");
        };
        let mut keys: Vec<&String> = saved.keys().chain(expected.keys()).collect();
        keys.sort_by_key(|k| (!matches!(k.as_str(), "account_id" | "region"), k.as_str()));
        keys.dedup();
        keys.into_iter()
            .filter(|k| k.as_str() != "digest" && saved.get(*k) != expected.get(*k))
            .map(|k| match (k.as_str(), saved.get(k)) {
                ("account_id" | "region", Some(Value::String(shown))) => format!(
                    "the {k} it shows ({shown}; these credentials and config reach {})",
                    expected.get(k).and_then(Value::as_str).unwrap_or("none")
                ),
                _ => format!("the {k}"),
            })
            .collect()
    }
}

impl Basis {
    /// What differs between what a saved plan rests on and what is there now.
    pub fn differences(&self, now: &Basis) -> Vec<String> {
        let then = self;
        let mut changed = Vec::new();
        if (&then.account_id, &then.region) != (&now.account_id, &now.region) {
            changed.push(format!(
            "it was made for account {} in {}, these credentials and config reach account {} in {}",
            then.account_id, then.region, now.account_id, now.region
        ));
            return changed;
        }
        for part in &now.state {
            match then.state.iter().find(|p| p.part == part.part) {
                Some(was) if was.fingerprint == part.fingerprint => {}
                Some(_) => changed.push(format!("{} changed since the plan was made", part.part)),
                None => changed.push(format!("{} was not part of the plan", part.part)),
            }
        }
        changed
    }
}

/// What a path that is not a regular file is, in words.
fn file_kind(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a named pipe";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// `sha256:…` of a value's canonical JSON (object keys sorted at every level), so the same state
/// always gives the same fingerprint whatever order a service returned it in.
pub fn fingerprint(value: &impl Serialize) -> String {
    let value = serde_json::to_value(value).expect("state always serializes");
    let text = canonical(&value).to_string();
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), canonical(v)))
                    .collect::<Map<String, Value>>(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Attr, Change, Mode};

    fn sample() -> Saved<String> {
        let mut plan = Plan::new(Mode::Apply, "123456789012", "eu-west-1");
        plan.push(Some(
            Change::new("log group", "/x", Action::Create, "create /x".to_owned())
                .attr(Attr::set("retention_in_days", 90)),
        ));
        Saved::new(
            plan,
            Basis {
                login_alert_version: "0.1.0".into(),
                handler_sha256: "abc=".into(),
                config_digest: fingerprint(&"config"),
                account_id: "123456789012".into(),
                region: "eu-west-1".into(),
                state: vec![PartState {
                    part: "log group".into(),
                    fingerprint: fingerprint(&Option::<u8>::None),
                }],
            },
        )
    }

    #[test]
    fn a_written_plan_reads_back_and_is_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        sample().write(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let back: Saved<String> = Saved::read(&path).unwrap();
        assert_eq!(back.plan.changes[0].op, "create /x");
        assert_eq!(back.computed_from, sample().computed_from);
    }

    #[test]
    fn any_edit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        sample().write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replace("\"retention_in_days\"", "\"retention\""),
        )
        .unwrap();
        let err = Saved::<String>::read(&path).unwrap_err();
        assert!(matches!(err, SavedError::Edited { .. }), "{err}");
        std::fs::write(&path, "{\"format_version\": \"9\"}").unwrap();
        assert!(
            Saved::<String>::read(&path)
                .unwrap_err()
                .to_string()
                .contains("format_version 9")
        );
        std::fs::write(&path, "not json").unwrap();
        assert!(matches!(
            Saved::<String>::read(&path).unwrap_err(),
            SavedError::NotAPlan { .. }
        ));
    }

    #[test]
    fn a_key_given_twice_is_refused_though_the_digest_matches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        sample().write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        // A reviewer reads the first account_id; a parser keeps the last (the one sealed).
        std::fs::write(
            &path,
            text.replacen("{\n", "{\n  \"account_id\": \"999999999999\",\n", 1),
        )
        .unwrap();
        let err = Saved::<String>::read(&path).unwrap_err();
        assert!(matches!(err, SavedError::Edited { .. }), "{err}");
        // Reformatted, the same document: refused too (what is read must be what was written).
        let value: Value = serde_json::from_str(&text).unwrap();
        std::fs::write(&path, serde_json::to_string(&value).unwrap()).unwrap();
        let err = Saved::<String>::read(&path).unwrap_err();
        assert!(matches!(err, SavedError::Edited { .. }), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_named_pipe_or_text_that_is_not_utf8_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        // Opening it would wait for a writer forever: this returns at once.
        let err = Saved::<String>::read(&path).unwrap_err();
        assert!(
            err.to_string().contains("it is a named pipe, not a file"),
            "{err}"
        );
        let path = dir.path().join("plan.bin");
        std::fs::write(&path, b"{\"format_version\": \"\xff\xfe\"}").unwrap();
        let err = Saved::<String>::read(&path).unwrap_err();
        assert!(matches!(err, SavedError::NotAPlan { .. }), "{err}");
        assert!(err.to_string().contains("it is not UTF-8 text"), "{err}");
        assert!(
            std::error::Error::source(&err).is_none(),
            "the cause is said once"
        );
    }

    #[test]
    fn fingerprints_ignore_key_order() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": 2, "x": [1, 2]}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a": {"x": [1, 2], "y": 2}, "b": 1}"#).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let c: Value = serde_json::from_str(r#"{"a": {"x": [2, 1], "y": 2}, "b": 1}"#).unwrap();
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}

//! The config file on disk: read within a bound, parse errors in words that never quote a
//! secret, written owner-only and whole.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::{ConfigError, MAX_CONFIG_BYTES};

/// The file's text, read to at most [`MAX_CONFIG_BYTES`].
pub(super) fn read_bounded(path: &Path) -> Result<String, ConfigError> {
    let read_error = |cause: std::io::Error| match cause.kind() {
        std::io::ErrorKind::NotFound => ConfigError::Missing {
            path: path.to_owned(),
        },
        _ => ConfigError::Read {
            path: path.to_owned(),
            cause,
        },
    };
    let mut bytes = Vec::new();
    File::open(path)
        .map_err(read_error)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_owned(),
        });
    }
    String::from_utf8(bytes).map_err(|_| ConfigError::NotText {
        path: path.to_owned(),
    })
}

/// A TOML or schema error with its line, in words a user can act on.
pub(super) fn parse_error(path: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let message = err.message().trim();
    // A missing field has no line of its own (serde points at the table's start).
    let line = err
        .span()
        .filter(|_| !message.starts_with("missing field"))
        .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
    // toml's own messages ("duplicate key") do not say which: the text at the error does, unless
    // that line holds or may hold a secret (a webhook URL with its quotes forgotten, in a list or
    // a table): then only its number is given.
    let secret = err
        .span()
        .and_then(|span| may_hold_secret(text, span.start.min(text.len())));
    let at = err
        .span()
        .and_then(|span| text.get(span))
        .map(str::trim)
        .filter(|at| {
            !at.is_empty() && at.len() <= 60 && !at.contains('\n') && !message.contains('`')
        });
    let mut message = parse_message(message);
    if let Some(value) = secret {
        const HIDDEN: &str = " (the line is not shown: it may hold a webhook URL, a secret; a URL is written in quotes, \
             e.g. slack_webhook_url = \"https://hooks.slack.com/services/…\" under [notify])";
        // serde quotes what it could not take (an unknown field, a value): never the line's value.
        message = if message.contains("://") || (value.len() >= 4 && message.contains(&value)) {
            format!(
                "this line is not a valid setting{HIDDEN}: correct it (the README's config section shows every field)"
            )
        } else if message.contains(": correct it") {
            message.replacen(": correct it", &format!("{HIDDEN}: correct it"), 1)
        } else {
            format!("{message}{HIDDEN}")
        };
    } else if let Some(at) = at {
        message = message.replacen(": correct it", &format!(" (at `{at}`): correct it"), 1);
    }
    ConfigError::Parse {
        path: path.to_owned(),
        line,
        message,
    }
}

/// Whether the line at `offset` holds, or may hold, a secret: a key naming a URL, webhook, secret
/// or token (the line's own key, or the table it is in), a URL, or a line whose key cannot be told
/// (a list's continuation, a stray value). `Some(the line's value)` when it may.
fn may_hold_secret(text: &str, offset: usize) -> Option<String> {
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or_default().trim();
    let value = line
        .split_once('=')
        .map_or(line, |(_, v)| v)
        .trim()
        .trim_matches(|c| matches!(c, '"' | '\'' | '[' | ']' | '{' | '}' | ' '))
        .to_owned();
    line_may_hold_secret(text, start, line).then_some(value)
}

fn line_may_hold_secret(text: &str, start: usize, line: &str) -> bool {
    let secretish = |key: &str| {
        let key = key.to_ascii_lowercase();
        ["url", "webhook", "secret", "token", "password", "key"]
            .iter()
            .any(|word| key.contains(word))
    };
    if line.contains("://") {
        return true;
    }
    // The table the line is in: `[notify.webhook_url]` makes every line below it secret.
    let table = text[..start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .unwrap_or_default();
    if secretish(table) {
        return true;
    }
    if line.starts_with('[') {
        return secretish(line);
    }
    if line.is_empty() || line.starts_with('#') {
        return false;
    }
    let Some((key, _)) = line.split_once('=') else {
        return true;
    };
    let key = key.trim();
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"' | '\'' | ' '));
    !bare || secretish(key)
}

fn parse_message(message: &str) -> String {
    // serde's wording: "unknown field `x`, expected one of `a`, `b`" (or "expected `a`").
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let known = quoted.get(1..).unwrap_or_default();
    let nearest = |typed: &str| {
        known
            .iter()
            .min_by_key(|k| strsim::levenshtein(typed, k))
            .copied()
    };
    if message.starts_with("unknown field `")
        && let Some(key) = quoted.first()
    {
        return match nearest(key) {
            Some(near) => format!(
                "unknown field `{key}` (the nearest known field is `{near}`): correct or remove it; the fields here are {}",
                known.join(", ")
            ),
            None => format!("unknown field `{key}`: remove it (this table holds no fields)"),
        };
    }
    if message.starts_with("unknown variant `")
        && let Some(value) = quoted.first()
    {
        let hint = nearest(value)
            .filter(|near| strsim::levenshtein(value, near) <= 3)
            .map(|near| format!(" (did you mean `{near}`?)"))
            .unwrap_or_default();
        return format!(
            "`{value}` is not an allowed value{hint}: use one of {}",
            known.join(", ")
        );
    }
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        return format!(
            "missing field `{field}`: add it (`login-alert init` writes a complete file)"
        );
    }
    let message = message.lines().map(str::trim).collect::<Vec<_>>().join(" ");
    let message = [
        // log_retention_days is the only signed number; group_window_minutes and baseline_days are unsigned.
        ("expected i32", "expected a number of days such as 90"),
        (
            "expected u32",
            "expected a whole number (minutes such as 15, or days such as 90)",
        ),
        (
            "expected a map",
            "expected the table [account_names] of \"123456789012\" = \"name\" entries",
        ),
        (
            "expected a sequence",
            "expected a list such as [\"a@example.com\"]",
        ),
        ("expected struct TrailConfig", "expected the table [trail]"),
        (
            "expected struct NotifyConfig",
            "expected the table [notify]",
        ),
    ]
    .iter()
    .fold(message, |m, (from, to)| m.replace(from, to));
    format!("{message}: correct it (the README's config section shows every field)")
}

/// Where `init --force` keeps a file it could not read: `FILE.bak`.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".bak");
    PathBuf::from(name)
}

/// Copies the file to [`backup_path`] (owner-only, as it may hold the webhook secret) and returns that path.
pub fn back_up(path: &Path) -> Result<PathBuf, ConfigError> {
    let backup = backup_path(path);
    let mut file = File::open(path).map_err(|cause| ConfigError::Read {
        path: path.to_owned(),
        cause,
    })?;
    write_private(&backup, &mut file)?;
    Ok(backup)
}

/// Writes to a temporary file in the same directory, created 0600, then renames it over `path`:
/// the file is never readable by others, nor half-written, at any moment.
pub(super) fn write_private(path: &Path, contents: &mut dyn Read) -> Result<(), ConfigError> {
    let err = |cause| ConfigError::Write {
        path: path.to_owned(),
        cause,
    };
    // Write through a symlink to the file it names; never replace a device or a directory.
    let path = match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => {
            return Err(ConfigError::NotAFile {
                path: path.to_owned(),
            });
        }
        Ok(_) => std::fs::canonicalize(path).map_err(err)?,
        Err(_) => path.to_owned(),
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".login-alert-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o600));
    }
    let mut file = builder.tempfile_in(dir).map_err(err)?;
    std::io::copy(contents, &mut file).map_err(err)?;
    file.flush().map_err(err)?;
    file.as_file().sync_all().map_err(err)?;
    file.persist(&path).map_err(|e| err(e.error))?;
    Ok(())
}

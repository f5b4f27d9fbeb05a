//! The tags that remember an adopted trail's settings from before login-alert changed it.
//!
//! Written before the first change (so an interrupted apply still knows the originals), never
//! overwritten while present, restored and removed by `destroy`.

use std::collections::{BTreeMap, HashMap};

use super::error::TrailError;
use super::read::Found;
use crate::arn::strip_wildcard;

pub const MULTI_REGION: &str = "login-alert:original-multi-region";
pub const GLOBAL_EVENTS: &str = "login-alert:original-global-events";
/// The log group ARN without the trailing `:*`, or [`NONE`].
pub const LOG_GROUP: &str = "login-alert:original-log-group";
/// The CloudWatch Logs role ARN, or [`NONE`].
pub const ROLE: &str = "login-alert:original-role";
pub const LOGGING: &str = "login-alert:original-logging";
pub const ALL: [&str; 5] = [MULTI_REGION, GLOBAL_EVENTS, LOG_GROUP, ROLE, LOGGING];
/// "No CloudWatch Logs delivery" (an ARN can never be this).
pub const NONE: &str = "none";

/// CloudTrail's limits on tags (API reference, `Tag` and `AddTags`).
const MAX_TAG_VALUE: usize = 256;
pub const MAX_TAGS: usize = 50;

/// What an adopted trail looked like before login-alert changed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memo {
    pub multi_region: bool,
    pub global_events: bool,
    /// Without the trailing `:*`.
    pub log_group_arn: Option<String>,
    pub role_arn: Option<String>,
    pub logging: bool,
}

impl Memo {
    pub fn of(found: &Found) -> Memo {
        Memo {
            multi_region: found.multi_region,
            global_events: found.global_events,
            log_group_arn: found
                .log_group_arn
                .as_deref()
                .map(|a| strip_wildcard(a).to_owned()),
            role_arn: found.role_arn.clone(),
            logging: found.logging,
        }
    }

    /// The tags, or which value CloudTrail could not store.
    pub fn to_tags(&self) -> Result<BTreeMap<String, String>, TrailError> {
        let mut tags = BTreeMap::new();
        let mut put = |key: &'static str, raw: String| -> Result<(), TrailError> {
            let value = encode(&raw);
            if value.chars().count() > MAX_TAG_VALUE {
                return Err(TrailError::MemoDoesNotFit {
                    key,
                    value: raw,
                    why: format!(
                        "{} characters once stored; CloudTrail tag values hold at most {MAX_TAG_VALUE}",
                        value.chars().count()
                    ),
                });
            }
            tags.insert(key.to_owned(), value);
            Ok(())
        };
        put(MULTI_REGION, self.multi_region.to_string())?;
        put(GLOBAL_EVENTS, self.global_events.to_string())?;
        put(
            LOG_GROUP,
            self.log_group_arn.clone().unwrap_or_else(|| NONE.into()),
        )?;
        put(ROLE, self.role_arn.clone().unwrap_or_else(|| NONE.into()))?;
        put(LOGGING, self.logging.to_string())?;
        Ok(tags)
    }

    /// `Ok(None)` when the trail carries no memo tag at all.
    pub fn from_tags(tags: &HashMap<String, String>) -> Result<Option<Memo>, TrailError> {
        if !ALL.iter().any(|k| tags.contains_key(*k)) {
            return Ok(None);
        }
        let damaged = |why: String| TrailError::MemoDamaged { why };
        let get = |key: &str| -> Result<String, TrailError> {
            let raw = tags
                .get(key)
                .ok_or_else(|| damaged(format!("tag {key} is missing")))?;
            decode(raw).ok_or_else(|| {
                damaged(format!(
                    "tag {key} = `{raw}` is not in login-alert's format"
                ))
            })
        };
        let flag = |key: &str| -> Result<bool, TrailError> {
            match get(key)?.as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(damaged(format!(
                    "tag {key} = `{other}` is neither true nor false"
                ))),
            }
        };
        let arn = |key: &str| -> Result<Option<String>, TrailError> {
            let value = get(key)?;
            if value == NONE {
                Ok(None)
            } else if value.starts_with("arn:") {
                Ok(Some(value))
            } else {
                Err(damaged(format!(
                    "tag {key} = `{value}` is neither an ARN nor `none`"
                )))
            }
        };
        let memo = Memo {
            multi_region: flag(MULTI_REGION)?,
            global_events: flag(GLOBAL_EVENTS)?,
            log_group_arn: arn(LOG_GROUP)?,
            role_arn: arn(ROLE)?,
            logging: flag(LOGGING)?,
        };
        if memo.log_group_arn.is_some() != memo.role_arn.is_some() {
            return Err(damaged(format!(
                "{} and {} must both be ARNs or both `none`",
                LOG_GROUP, ROLE
            )));
        }
        Ok(Some(memo))
    }
}

/// Tag values may hold letters, digits, spaces and `_ . : / = + - @`; anything else (a `#` in a log
/// group name, a `,` in a role name) is written as `=XX` per UTF-8 byte, and `=` itself as `=3D`.
fn encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '.' | ':' | '/' | '+' | '-' | '@') {
            out.push(c);
        } else {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("={b:02X}"));
            }
        }
    }
    out
}

fn decode(stored: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(stored.len());
    let mut rest = stored.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'=' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_values_round_trip_and_overlong_ones_are_refused() {
        let memo = Memo {
            multi_region: false,
            global_events: true,
            log_group_arn: Some(
                "arn:aws:logs:eu-west-1:123456789012:log-group:team#1/audit".into(),
            ),
            role_arn: Some("arn:aws:iam::123456789012:role/path/a=b,c".into()),
            logging: true,
        };
        let tags: HashMap<String, String> = memo.to_tags().unwrap().into_iter().collect();
        assert_eq!(
            tags[LOG_GROUP],
            "arn:aws:logs:eu-west-1:123456789012:log-group:team=231/audit"
        );
        assert_eq!(tags[ROLE], "arn:aws:iam::123456789012:role/path/a=3Db=2Cc");
        assert_eq!(Memo::from_tags(&tags).unwrap(), Some(memo.clone()));
        let long = Memo {
            log_group_arn: Some(format!(
                "arn:aws:logs:eu-west-1:1:log-group:{}",
                "a".repeat(300)
            )),
            ..memo
        };
        assert!(matches!(
            long.to_tags(),
            Err(TrailError::MemoDoesNotFit { key: LOG_GROUP, .. })
        ));
    }
}

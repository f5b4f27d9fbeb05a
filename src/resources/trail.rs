//! The CloudTrail trail: the user's adopted trail (its original settings remembered in tags) or one login-alert creates.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use anyhow::{Context, Result};
use aws_sdk_cloudtrail::types::Tag;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::Serialize;
use serde_json::Value;

use super::{Ctx, Op as AnyOp, Target, TrailChoice, is_managed};
use crate::aws::{error_code, error_message, explain};
use crate::names::MANAGED_BY;
use crate::plan::{Action, Attr, Change, Plan};
use crate::retry::{Stopped, retry};

const KIND: &str = "trail";

/// The tags that remember an adopted trail's settings from before login-alert changed it.
///
/// Written before the first change (so an interrupted apply still knows the originals), never
/// overwritten while present, restored and removed by `destroy`.
pub mod memo {
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
}

/// CloudTrail's limits on tags (API reference, `Tag` and `AddTags`).
const MAX_TAG_VALUE: usize = 256;
const MAX_TAGS: usize = 50;

/// Problems the caller may want to tell apart; every message names the fix.
#[derive(Debug, thiserror::Error)]
pub enum TrailError {
    #[error(
        "`{arn}` is not a CloudWatch Logs log group ARN CloudTrail accepts ({why}): it must be arn:PARTITION:logs:{region}:ACCOUNT:log-group:NAME:* — in the trail's home region, with the trailing `:*`"
    )]
    BadLogGroupArn {
        arn: String,
        region: String,
        why: String,
    },
    #[error(
        "`{arn}` is not an IAM role ARN ({why}): it must be arn:PARTITION:iam::ACCOUNT:role/NAME"
    )]
    BadRoleArn { arn: String, why: String },
    #[error(
        "CloudTrail still cannot use role {role} to write to {log_group} after {attempts} attempts in {waited_secs}s ({message}). \
         IAM changes normally reach CloudTrail within a minute, so the role itself is the likely cause: its trust policy must let \
         cloudtrail.amazonaws.com call sts:AssumeRole and its policy must allow logs:CreateLogStream and logs:PutLogEvents on that \
         log group's streams. Fix the role (or delete it so `login-alert apply` recreates it) and run apply again"
    )]
    RoleNotUsable {
        role: String,
        log_group: String,
        attempts: u32,
        waited_secs: u64,
        message: String,
    },
    #[error(
        "the trail's {key} tag cannot hold `{value}` ({why}), so login-alert could not restore it on destroy: \
         change that setting of the trail by hand (e.g. a shorter log group or role name), or use trail.create = true"
    )]
    MemoDoesNotFit {
        key: &'static str,
        value: String,
        why: String,
    },
    #[error(
        "the trail's login-alert memo tags are damaged ({why}), so login-alert no longer knows the trail's original settings: \
         put the login-alert:original-* tags back as they were (see CloudTrail > Trails > Tags), or remove all of them and \
         restore the trail's settings by hand"
    )]
    MemoDamaged { why: String },
    #[error("refusing to delete trail {name}: it has no {}={} tag, so login-alert did not create it", MANAGED_BY.0, MANAGED_BY.1)]
    NotOurs { name: String },
    #[error(
        "trail {name} no longer exists (deleted since the plan was made): check trail.name, or run `login-alert init` to pick a trail"
    )]
    Gone { name: String },
}

/// An SDK error as the caller should see it: a vanished trail as [`TrailError::Gone`] (a restore
/// treats that as done), anything else explained with what was being done.
fn failed<E, R>(err: SdkError<E, R>, name: &str, doing: String) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if error_code(&err) == Some("TrailNotFoundException") {
        return TrailError::Gone {
            name: name.to_owned(),
        }
        .into();
    }
    explain(err).context(doing)
}

/// A trail as `DescribeTrails` and friends report it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Found {
    pub name: String,
    pub arn: String,
    pub home_region: String,
    pub multi_region: bool,
    /// Multi-region trails must include global service events (where root and IAM sign-ins land).
    pub global_events: bool,
    /// As CloudTrail reports it (with the trailing `:*`); `None` = no CloudWatch Logs delivery.
    pub log_group_arn: Option<String>,
    pub role_arn: Option<String>,
    pub logging: bool,
    pub bucket: Option<String>,
    pub organization: bool,
    pub custom_event_selectors: bool,
    /// Read only for a trail this account can change from the configured region (empty otherwise).
    pub tags: HashMap<String, String>,
}

/// The trail as found (or not found).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Current {
    /// What was looked for: the configured name or ARN, or the name of login-alert's own trail.
    pub wanted: String,
    pub trail: Option<Found>,
}

/// Which log group the trail delivers to, and whether login-alert provides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub log_group_name: String,
    /// `true`: login-alert's own group and CloudTrail role; `false`: the group the trail already used.
    pub ours: bool,
}

/// The CloudWatch Logs delivery an update sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "delivery", rename_all = "kebab-case")]
pub enum CloudWatchLogs {
    /// Both ARNs go in one `UpdateTrail` (CloudTrail requires them together); the group ARN ends with `:*`.
    Set {
        log_group_arn: String,
        role_arn: String,
    },
    /// Sent as empty strings for both ARNs.
    Remove,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// login-alert's own trail: create it (multi-region, management events, CloudWatch Logs), then start logging.
    Create {
        name: String,
        arn: String,
        bucket: String,
        log_group_arn: String,
        role_arn: String,
    },
    /// Changes to an existing trail, run in this order: remember the originals (only tags not yet
    /// present), one `UpdateTrail`, start/stop logging, forget the memo tags.
    Update {
        name: String,
        arn: String,
        remember: Option<BTreeMap<String, String>>,
        multi_region: Option<bool>,
        global_events: Option<bool>,
        cloud_watch_logs: Option<CloudWatchLogs>,
        bucket: Option<String>,
        logging: Option<bool>,
        forget: Vec<String>,
    },
    /// Only login-alert's own trail (checked again before the call).
    Delete { name: String, arn: String },
}

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
        put(memo::MULTI_REGION, self.multi_region.to_string())?;
        put(memo::GLOBAL_EVENTS, self.global_events.to_string())?;
        put(
            memo::LOG_GROUP,
            self.log_group_arn
                .clone()
                .unwrap_or_else(|| memo::NONE.into()),
        )?;
        put(
            memo::ROLE,
            self.role_arn.clone().unwrap_or_else(|| memo::NONE.into()),
        )?;
        put(memo::LOGGING, self.logging.to_string())?;
        Ok(tags)
    }

    /// `Ok(None)` when the trail carries no memo tag at all.
    pub fn from_tags(tags: &HashMap<String, String>) -> Result<Option<Memo>, TrailError> {
        if !memo::ALL.iter().any(|k| tags.contains_key(*k)) {
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
            if value == memo::NONE {
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
            multi_region: flag(memo::MULTI_REGION)?,
            global_events: flag(memo::GLOBAL_EVENTS)?,
            log_group_arn: arn(memo::LOG_GROUP)?,
            role_arn: arn(memo::ROLE)?,
            logging: flag(memo::LOGGING)?,
        };
        if memo.log_group_arn.is_some() != memo.role_arn.is_some() {
            return Err(damaged(format!(
                "{} and {} must both be ARNs or both `none`",
                memo::LOG_GROUP,
                memo::ROLE
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

fn strip_wildcard(arn: &str) -> &str {
    arn.strip_suffix(":*").unwrap_or(arn)
}

/// The log group name in `arn:…:logs:R:A:log-group:NAME[:*]`.
pub fn log_group_name(arn: &str) -> Option<&str> {
    strip_wildcard(arn)
        .split_once(":log-group:")
        .map(|(_, name)| name)
        .filter(|n| !n.is_empty())
}

/// The account in an ARN (`arn:P:SERVICE:REGION:ACCOUNT:…`).
fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4)
}

fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3)
}

/// Checks what CloudTrail requires of a log group ARN (moto accepts anything).
pub fn validate_log_group_arn(
    arn: &str,
    home_region: &str,
    account_id: &str,
) -> Result<(), TrailError> {
    let bad = |why: &str| TrailError::BadLogGroupArn {
        arn: arn.to_owned(),
        region: home_region.to_owned(),
        why: why.to_owned(),
    };
    let parts: Vec<&str> = arn.split(':').collect();
    let [
        prefix,
        partition,
        service,
        region,
        account,
        kind,
        name,
        rest @ ..,
    ] = parts.as_slice()
    else {
        return Err(bad("too few `:`-separated parts"));
    };
    if *prefix != "arn" || partition.is_empty() || *service != "logs" || *kind != "log-group" {
        return Err(bad("not a log group ARN"));
    }
    if rest != ["*"] {
        return Err(bad("it must end with `:*`"));
    }
    if *region != home_region {
        return Err(bad("the log group must be in the trail's home region"));
    }
    if *account != account_id {
        return Err(bad("the log group must be in the trail's account"));
    }
    let name_ok = (1..=512).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/' | b'#'));
    if !name_ok {
        return Err(bad(
            "the name must be 1-512 of letters, digits and . - _ / #",
        ));
    }
    Ok(())
}

pub fn validate_role_arn(arn: &str) -> Result<(), TrailError> {
    let bad = |why: &str| TrailError::BadRoleArn {
        arn: arn.to_owned(),
        why: why.to_owned(),
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(bad("too few `:`-separated parts"));
    };
    if *prefix != "arn" || partition.is_empty() || *service != "iam" || !region.is_empty() {
        return Err(bad("not an IAM ARN"));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("the account must be 12 digits"));
    }
    match resource.strip_prefix("role/") {
        Some(path) if !path.is_empty() && !path.ends_with('/') => Ok(()),
        _ => Err(bad("the resource must be role/NAME")),
    }
}

/// Whether login-alert can change the trail from where it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reach {
    Here,
    /// An organization trail seen from a member account: only the management account (or a
    /// delegated administrator) can change it.
    OtherAccount(String),
    OtherRegion(String),
}

fn reach(found: &Found, t: &Target) -> Reach {
    let owner = arn_account(&found.arn).unwrap_or_default();
    if owner != t.account_id() {
        return Reach::OtherAccount(owner.to_owned());
    }
    if found.home_region != t.region() {
        return Reach::OtherRegion(found.home_region.clone());
    }
    Reach::Here
}

fn matches(wanted: &str, name: Option<&str>, arn: Option<&str>) -> bool {
    if wanted.starts_with("arn:") {
        arn == Some(wanted)
    } else {
        name == Some(wanted)
    }
}

pub async fn read(ctx: &Ctx) -> Result<Current> {
    let t = &ctx.target;
    let wanted = match &t.trail {
        TrailChoice::Adopt(name) => name.clone(),
        TrailChoice::Create => t.names.trail(),
    };
    let mut trail = describe(ctx, &wanted).await?;
    if trail.is_none() && !wanted.starts_with("arn:") {
        // By name, DescribeTrails sees only this region's trails; ListTrails finds the trail's ARN
        // in any region, and DescribeTrails by ARN then describes it (to say which region to use).
        if let Some(arn) = list_arn(ctx, &wanted).await? {
            trail = describe(ctx, &arn).await?;
        }
    }
    let Some(mut found) = trail else {
        return Ok(Current {
            wanted,
            trail: None,
        });
    };
    if reach(&found, t) == Reach::Here {
        let ct = &ctx.clients.cloudtrail;
        match ct.get_trail_status().name(&found.arn).send().await {
            Ok(status) => found.logging = status.is_logging.unwrap_or(false),
            // Deleted between the two calls.
            Err(err) if error_code(&err) == Some("TrailNotFoundException") => {
                return Ok(Current {
                    wanted,
                    trail: None,
                });
            }
            Err(err) => {
                return Err(explain(err))
                    .with_context(|| format!("reading the status of trail {wanted}"));
            }
        }
        let tags = ct
            .list_tags()
            .resource_id_list(&found.arn)
            .send()
            .await
            .map_err(explain)
            .with_context(|| format!("reading the tags of trail {wanted}"))?;
        found.tags = tags
            .resource_tag_list
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.resource_id.as_deref() == Some(found.arn.as_str()))
            .flat_map(|r| r.tags_list.unwrap_or_default())
            .map(|tag| (tag.key, tag.value.unwrap_or_default()))
            .collect();
    }
    Ok(Current {
        wanted,
        trail: Some(found),
    })
}

async fn describe(ctx: &Ctx, name_or_arn: &str) -> Result<Option<Found>> {
    let out = match ctx
        .clients
        .cloudtrail
        .describe_trails()
        .trail_name_list(name_or_arn)
        .include_shadow_trails(true)
        .send()
        .await
    {
        Ok(out) => out,
        Err(err) if error_code(&err) == Some("TrailNotFoundException") => return Ok(None),
        Err(err) => {
            return Err(explain(err)).with_context(|| format!("reading trail {name_or_arn}"));
        }
    };
    // AWS returns only the named trail, moto every trail: match here, preferring a trail homed in
    // this region (names are unique per region only).
    let mut candidates: Vec<_> = out
        .trail_list
        .unwrap_or_default()
        .into_iter()
        .filter(|tr| matches(name_or_arn, tr.name.as_deref(), tr.trail_arn.as_deref()))
        .collect();
    candidates.sort_by_key(|tr| tr.home_region.as_deref() != Some(ctx.clients.region.as_str()));
    let Some(tr) = candidates.into_iter().next() else {
        return Ok(None);
    };
    let (Some(name), Some(arn)) = (tr.name, tr.trail_arn) else {
        return Ok(None);
    };
    let home_region = tr
        .home_region
        .or_else(|| arn_region(&arn).map(str::to_owned))
        .unwrap_or_default();
    // Removing delivery leaves empty strings on some implementations: treat them as "none".
    let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
    Ok(Some(Found {
        name,
        arn,
        home_region,
        multi_region: tr.is_multi_region_trail.unwrap_or(false),
        global_events: tr.include_global_service_events.unwrap_or(false),
        log_group_arn: non_empty(tr.cloud_watch_logs_log_group_arn),
        role_arn: non_empty(tr.cloud_watch_logs_role_arn),
        logging: false,
        bucket: non_empty(tr.s3_bucket_name),
        organization: tr.is_organization_trail.unwrap_or(false),
        custom_event_selectors: tr.has_custom_event_selectors.unwrap_or(false),
        tags: HashMap::new(),
    }))
}

async fn list_arn(ctx: &Ctx, name: &str) -> Result<Option<String>> {
    let mut next: Option<String> = None;
    loop {
        let out = ctx
            .clients
            .cloudtrail
            .list_trails()
            .set_next_token(next.take())
            .send()
            .await
            .map_err(explain)
            .context("listing the account's trails")?;
        if let Some(info) = out
            .trails
            .unwrap_or_default()
            .into_iter()
            .find(|i| i.name.as_deref() == Some(name))
        {
            return Ok(info.trail_arn);
        }
        match out.next_token {
            Some(token) if !token.is_empty() => next = Some(token),
            _ => return Ok(None),
        }
    }
}

pub fn delivery(current: &Current, t: &Target) -> Delivery {
    let ours = Delivery {
        log_group_name: t.names.log_group(),
        ours: true,
    };
    let Some(found) = &current.trail else {
        return ours;
    };
    if t.trail == TrailChoice::Create || reach(found, t) != Reach::Here {
        return ours;
    }
    // What the trail delivered to before login-alert touched it: the memo once written, else now.
    let original = match Memo::from_tags(&found.tags) {
        Ok(Some(memo)) => memo.log_group_arn,
        _ => found.log_group_arn.clone(),
    };
    match original.as_deref().and_then(log_group_name) {
        Some(name) if name != t.names.log_group() => Delivery {
            log_group_name: name.to_owned(),
            ours: false,
        },
        _ => ours,
    }
}

fn our_cloud_watch_logs(t: &Target) -> CloudWatchLogs {
    CloudWatchLogs::Set {
        log_group_arn: t.arns.log_group_wildcard(&t.names.log_group()),
        role_arn: t.arns.role(&t.names.cloudtrail_role()),
    }
}

/// Whether the trail already delivers as `want` says (the `:*` suffix aside).
fn delivers(found: &Found, want: &CloudWatchLogs) -> bool {
    match want {
        CloudWatchLogs::Remove => found.log_group_arn.is_none(),
        CloudWatchLogs::Set {
            log_group_arn,
            role_arn,
        } => {
            found.log_group_arn.as_deref().map(strip_wildcard)
                == Some(strip_wildcard(log_group_arn))
                && found.role_arn.as_deref() == Some(role_arn.as_str())
        }
    }
}

fn opt(v: Option<&str>) -> Value {
    v.map_or(Value::Null, Value::from)
}

/// The settings an update moves the trail to, and the plan attributes showing it.
#[derive(Default)]
struct Diff {
    multi_region: Option<bool>,
    global_events: Option<bool>,
    cloud_watch_logs: Option<CloudWatchLogs>,
    bucket: Option<String>,
    logging: Option<bool>,
    attrs: Vec<Attr>,
}

impl Diff {
    fn new(
        found: &Found,
        multi_region: bool,
        global_events: bool,
        cloud_watch_logs: Option<CloudWatchLogs>,
        bucket: Option<&str>,
        logging: bool,
    ) -> Diff {
        let mut d = Diff::default();
        if found.multi_region != multi_region {
            d.multi_region = Some(multi_region);
            d.attrs.push(Attr::change(
                "is_multi_region_trail",
                found.multi_region,
                multi_region,
            ));
        }
        if found.global_events != global_events {
            d.global_events = Some(global_events);
            d.attrs.push(Attr::change(
                "include_global_service_events",
                found.global_events,
                global_events,
            ));
        }
        if let Some(want) = cloud_watch_logs.filter(|want| !delivers(found, want)) {
            let (group, role) = match &want {
                CloudWatchLogs::Set {
                    log_group_arn,
                    role_arn,
                } => (opt(Some(log_group_arn)), opt(Some(role_arn))),
                CloudWatchLogs::Remove => (Value::Null, Value::Null),
            };
            d.attrs.push(Attr::new(
                "cloud_watch_logs_log_group_arn",
                Some(opt(found.log_group_arn.as_deref())),
                Some(group),
            ));
            d.attrs.push(Attr::new(
                "cloud_watch_logs_role_arn",
                Some(opt(found.role_arn.as_deref())),
                Some(role),
            ));
            d.cloud_watch_logs = Some(want);
        }
        if let Some(bucket) = bucket.filter(|b| found.bucket.as_deref() != Some(*b)) {
            d.attrs.push(Attr::new(
                "s3_bucket_name",
                Some(opt(found.bucket.as_deref())),
                Some(bucket.into()),
            ));
            d.bucket = Some(bucket.to_owned());
        }
        if found.logging != logging {
            d.logging = Some(logging);
            d.attrs
                .push(Attr::change("is_logging", found.logging, logging));
        }
        d
    }

    fn is_empty(&self) -> bool {
        self.multi_region.is_none()
            && self.global_events.is_none()
            && self.cloud_watch_logs.is_none()
            && self.bucket.is_none()
            && self.logging.is_none()
    }

    fn into_op(
        self,
        found: &Found,
        remember: Option<BTreeMap<String, String>>,
        forget: Vec<String>,
    ) -> (AnyOp, Vec<Attr>) {
        let op = Op::Update {
            name: found.name.clone(),
            arn: found.arn.clone(),
            remember,
            multi_region: self.multi_region,
            global_events: self.global_events,
            cloud_watch_logs: self.cloud_watch_logs,
            bucket: self.bucket,
            logging: self.logging,
            forget,
        };
        (AnyOp::Trail(op), self.attrs)
    }
}

pub fn plan_apply(current: &Current, t: &Target, delivery: &Delivery, plan: &mut Plan) {
    match &t.trail {
        TrailChoice::Create => plan_apply_ours(current, t, plan),
        TrailChoice::Adopt(_) => plan_apply_adopted(current, t, delivery, plan),
    }
}

/// Blocks apply when the trail cannot be changed from here; `true` when it can.
fn reachable_or_block(found: &Found, wanted: &str, t: &Target, plan: &mut Plan) -> bool {
    match reach(found, t) {
        Reach::Here => true,
        Reach::OtherAccount(owner) => {
            plan.block(format!(
                "trail {wanted} is an organization trail of the management account {owner}: a member account ({}) cannot change it. \
                 Run login-alert in account {owner} (or the organization's delegated CloudTrail administrator), \
                 or set trail.create = true to give this account a trail of its own",
                t.account_id()
            ));
            false
        }
        Reach::OtherRegion(home) => {
            plan.block(format!(
                "trail {wanted} has its home region in {home}, but the config says region = \"{}\": set region = \"{home}\" in the config \
                 (CloudTrail changes a trail only from its home region, and its log group must be there too)",
                t.region()
            ));
            false
        }
    }
}

fn plan_apply_adopted(current: &Current, t: &Target, delivery: &Delivery, plan: &mut Plan) {
    let Some(found) = &current.trail else {
        plan.block(format!(
            "no trail named {} in {}: check trail.name and region in the config, or use `login-alert init` to pick one",
            current.wanted,
            t.region()
        ));
        return;
    };
    if !reachable_or_block(found, &current.wanted, t, plan) {
        return;
    }
    let memo = match Memo::from_tags(&found.tags) {
        Ok(memo) => memo,
        Err(err) => {
            plan.block(format!("trail {}: {err}", found.name));
            return;
        }
    };
    if found.custom_event_selectors {
        plan.notice(format!(
            "trail {} uses custom event selectors: make sure they include management events (read and write), or sign-ins will not reach login-alert",
            found.name
        ));
    }
    let want_logs = delivery.ours.then(|| our_cloud_watch_logs(t));
    let diff = Diff::new(found, true, true, want_logs, None, true);
    if diff.is_empty() {
        return;
    }
    let remember = match memo {
        Some(_) => None,
        None => match Memo::of(found).to_tags() {
            Ok(tags) if found.tags.len() + tags.len() > MAX_TAGS => {
                plan.block(format!(
                    "trail {} already has {} tags: login-alert needs {} more to remember its settings and CloudTrail allows {MAX_TAGS}. \
                     Remove some tags from the trail, or use trail.create = true",
                    found.name,
                    found.tags.len(),
                    tags.len()
                ));
                return;
            }
            Ok(tags) => Some(tags),
            Err(err) => {
                plan.block(format!("trail {}: {err}", found.name));
                return;
            }
        },
    };
    let mut notes = Vec::new();
    if diff.multi_region.is_some() {
        notes.push("becomes multi-region (sign-ins are recorded in the region of the sign-in endpoint); destroy makes it single-region again".to_owned());
    }
    if diff.global_events.is_some() {
        notes.push("starts recording global service events (a multi-region trail must); destroy turns them off again".to_owned());
    }
    if diff.cloud_watch_logs.is_some() {
        let before = match &found.log_group_arn {
            Some(arn) => format!("destroy points it back at {}", strip_wildcard(arn)),
            None => "destroy removes the delivery again".to_owned(),
        };
        notes.push(format!(
            "delivers to CloudWatch Logs group {}; {before}",
            delivery.log_group_name
        ));
    }
    if !delivery.ours {
        notes.push(format!(
            "keeps delivering to your log group {}: login-alert adds its subscription filter there and leaves the trail's CloudWatch Logs settings alone",
            delivery.log_group_name
        ));
    }
    if diff.logging.is_some() {
        notes.push("starts logging (the trail was stopped); destroy stops it again".to_owned());
    }
    if found.organization {
        notes.push("an organization trail: the change applies to the trail of every account in the organization".to_owned());
    }
    if remember.is_some() {
        notes.push("its current settings are saved first as login-alert:original-* tags, so destroy can restore them".to_owned());
    }
    let (op, attrs) = diff.into_op(found, remember, Vec::new());
    let mut change = Change::new(KIND, &found.name, Action::Update, op).attrs(attrs);
    for note in notes {
        change = change.note(note);
    }
    plan.push(Some(change));
}

fn plan_apply_ours(current: &Current, t: &Target, plan: &mut Plan) {
    let bucket = t.names.bucket(t.account_id(), t.region());
    let logs = our_cloud_watch_logs(t);
    let Some(found) = &current.trail else {
        let CloudWatchLogs::Set {
            log_group_arn,
            role_arn,
        } = logs
        else {
            return;
        };
        let name = t.names.trail();
        let change = Change::new(
            KIND,
            &name,
            Action::Create,
            AnyOp::Trail(Op::Create {
                name: name.clone(),
                arn: t.arns.trail(&name),
                bucket: bucket.clone(),
                log_group_arn: log_group_arn.clone(),
                role_arn: role_arn.clone(),
            }),
        )
        .attr(Attr::set("is_multi_region_trail", true))
        .attr(Attr::set("include_global_service_events", true))
        .attr(Attr::set("s3_bucket_name", bucket))
        .attr(Attr::set("cloud_watch_logs_log_group_arn", log_group_arn))
        .attr(Attr::set("cloud_watch_logs_role_arn", role_arn))
        .attr(Attr::set("is_logging", true))
        .note("records management events in every region; a second trail recording them costs $2.00 per 100,000 events");
        plan.push(Some(change));
        return;
    };
    if !reachable_or_block(found, &current.wanted, t, plan) {
        return;
    }
    if !is_managed(&found.tags) {
        plan.block(format!(
            "{KIND} {} already exists and was not created by login-alert: adopt it with trail.name = \"{}\" instead of trail.create, \
             or choose another name_prefix",
            found.name, found.name
        ));
        return;
    }
    let diff = Diff::new(found, true, true, Some(logs), Some(&bucket), true);
    if diff.is_empty() {
        return;
    }
    let (op, attrs) = diff.into_op(found, None, Vec::new());
    plan.push(Some(
        Change::new(KIND, &found.name, Action::Update, op)
            .attrs(attrs)
            .note("puts login-alert's trail back as configured"),
    ));
}

pub fn plan_destroy(current: &Current, t: &Target, plan: &mut Plan) {
    let Some(found) = &current.trail else {
        if let TrailChoice::Adopt(_) = t.trail {
            plan.notice(format!(
                "no trail named {} in {}: nothing to restore",
                current.wanted,
                t.region()
            ));
        }
        return;
    };
    match reach(found, t) {
        Reach::Here => {}
        Reach::OtherAccount(owner) => {
            plan.notice(format!(
                "trail {} belongs to account {owner} (an organization trail): login-alert never changed it, left as it is",
                found.name
            ));
            return;
        }
        Reach::OtherRegion(home) => {
            plan.notice(format!(
                "trail {} has its home region in {home}: login-alert running in {} never changed it and left it as it is \
                 (if you applied with region = \"{home}\", run destroy with that region)",
                found.name,
                t.region()
            ));
            return;
        }
    }
    match &t.trail {
        TrailChoice::Create => {
            let change = Change::new(
                KIND,
                &found.name,
                Action::Delete,
                AnyOp::Trail(Op::Delete {
                    name: found.name.clone(),
                    arn: found.arn.clone(),
                }),
            );
            super::ours_or_notice(plan, is_managed(&found.tags), KIND, &found.name, change);
        }
        TrailChoice::Adopt(_) => plan_restore(found, t, plan),
    }
}

/// Puts an adopted trail back exactly as its memo tags say it was, then removes the memo.
fn plan_restore(found: &Found, t: &Target, plan: &mut Plan) {
    let ours = t.names.log_group();
    let memo = match Memo::from_tags(&found.tags) {
        Ok(Some(memo)) => memo,
        Ok(None) => {
            // No memo: login-alert never changed the trail, unless the memo was removed by hand while
            // the trail still delivers to the log group destroy is about to delete.
            if found.log_group_arn.as_deref().and_then(log_group_name) == Some(ours.as_str()) {
                let diff = Diff::new(
                    found,
                    found.multi_region,
                    found.global_events,
                    Some(CloudWatchLogs::Remove),
                    None,
                    found.logging,
                );
                let (op, attrs) = diff.into_op(found, None, Vec::new());
                plan.push(Some(
                    Change::new(KIND, &found.name, Action::Update, op)
                        .attrs(attrs)
                        .note(format!("has no login-alert memo tags but delivers to {ours}, which destroy deletes: the delivery is removed")),
                ));
            }
            return;
        }
        Err(err) => {
            plan.block(format!("trail {}: {err}", found.name));
            return;
        }
    };
    let mut notes = Vec::new();
    let logs = match (&memo.log_group_arn, &memo.role_arn) {
        // Our own group was never the user's original: destroy deletes it, so remove the delivery.
        (Some(group), _) if log_group_name(group) == Some(ours.as_str()) => CloudWatchLogs::Remove,
        (Some(group), Some(role)) => CloudWatchLogs::Set {
            log_group_arn: format!("{group}:*"),
            role_arn: role.clone(),
        },
        _ => CloudWatchLogs::Remove,
    };
    let diff = Diff::new(
        found,
        memo.multi_region,
        memo.global_events,
        Some(logs),
        None,
        memo.logging,
    );
    if diff.multi_region == Some(false) {
        notes.push("becomes single-region again, as it was before login-alert".to_owned());
    }
    if diff.global_events == Some(false) {
        notes.push("stops recording global service events again, as before login-alert".to_owned());
    }
    match &diff.cloud_watch_logs {
        Some(CloudWatchLogs::Remove) => {
            notes.push("CloudWatch Logs delivery is removed, as before login-alert".to_owned())
        }
        Some(CloudWatchLogs::Set { log_group_arn, .. }) => notes.push(format!(
            "delivers to {} again, as before login-alert",
            strip_wildcard(log_group_arn)
        )),
        None => {}
    }
    if diff.logging == Some(false) {
        notes.push("stops logging again, as it was before login-alert".to_owned());
    }
    notes.push("login-alert's memo tags (login-alert:original-*) are removed".to_owned());
    let forget: Vec<String> = memo::ALL
        .iter()
        .filter(|k| found.tags.contains_key(**k))
        .map(|k| (*k).to_owned())
        .collect();
    let (op, attrs) = diff.into_op(found, None, forget);
    let mut change = Change::new(KIND, &found.name, Action::Update, op).attrs(attrs);
    for note in notes {
        change = change.note(note);
    }
    plan.push(Some(change));
}

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    match op {
        Op::Create {
            name,
            arn,
            bucket,
            log_group_arn,
            role_arn,
        } => create(ctx, name, arn, bucket, log_group_arn, role_arn).await,
        Op::Update {
            name,
            arn,
            remember,
            multi_region,
            global_events,
            cloud_watch_logs,
            bucket,
            logging,
            forget,
        } => {
            let result: Result<()> = async {
                if let Some(memo) = remember {
                    remember_originals(ctx, name, arn, memo).await?;
                }
                if multi_region.is_some()
                    || global_events.is_some()
                    || cloud_watch_logs.is_some()
                    || bucket.is_some()
                {
                    update(
                        ctx,
                        name,
                        arn,
                        *multi_region,
                        *global_events,
                        cloud_watch_logs.as_ref(),
                        bucket.as_deref(),
                    )
                    .await?;
                }
                if let Some(on) = logging {
                    set_logging(ctx, name, *on).await?;
                }
                if !forget.is_empty() {
                    forget_memo(ctx, name, arn, forget).await?;
                }
                Ok(())
            }
            .await;
            match result {
                // Restoring a trail someone deleted meanwhile: nothing is left to restore.
                Err(err)
                    if !forget.is_empty()
                        && matches!(
                            err.downcast_ref::<TrailError>(),
                            Some(TrailError::Gone { .. })
                        ) =>
                {
                    Ok(())
                }
                other => other,
            }
        }
        Op::Delete { name, arn } => delete(ctx, name, arn).await,
    }
}

fn tag(key: &str, value: &str) -> Result<Tag> {
    Ok(Tag::builder().key(key).value(value).build()?)
}

async fn tags_of(ctx: &Ctx, name: &str, arn: &str) -> Result<HashMap<String, String>> {
    let out = ctx
        .clients
        .cloudtrail
        .list_tags()
        .resource_id_list(arn)
        .send()
        .await
        .map_err(|err| failed(err, name, format!("reading the tags of trail {name}")))?;
    Ok(out
        .resource_tag_list
        .unwrap_or_default()
        .into_iter()
        .flat_map(|r| r.tags_list.unwrap_or_default())
        .map(|t| (t.key, t.value.unwrap_or_default()))
        .collect())
}

/// Writes the memo tags not yet present: a second apply (or one after an interrupted apply) must
/// never overwrite the originals with login-alert's own settings.
async fn remember_originals(
    ctx: &Ctx,
    name: &str,
    arn: &str,
    memo: &BTreeMap<String, String>,
) -> Result<()> {
    let present = tags_of(ctx, name, arn).await?;
    let missing: Vec<Tag> = memo
        .iter()
        .filter(|(k, _)| !present.contains_key(*k))
        .map(|(k, v)| tag(k, v))
        .collect::<Result<_>>()?;
    if missing.is_empty() {
        return Ok(());
    }
    ctx.clients
        .cloudtrail
        .add_tags()
        .resource_id(arn)
        .set_tags_list(Some(missing))
        .send()
        .await
        .map_err(|err| {
            failed(
                err,
                name,
                format!(
                    "saving the original settings of trail {name} as tags (nothing was changed yet)"
                ),
            )
        })?;
    Ok(())
}

async fn forget_memo(ctx: &Ctx, name: &str, arn: &str, keys: &[String]) -> Result<()> {
    let tags: Vec<Tag> = keys
        .iter()
        .map(|k| Tag::builder().key(k).build())
        .collect::<Result<_, _>>()?;
    ctx.clients
        .cloudtrail
        .remove_tags()
        .resource_id(arn)
        .set_tags_list(Some(tags))
        .send()
        .await
        .map_err(|err| {
            failed(
                err,
                name,
                format!("removing login-alert's memo tags from trail {name} (its settings are already restored)"),
            )
        })?;
    Ok(())
}

/// The trail's home region and account, from its ARN.
fn home_of(arn: &str) -> (&str, &str) {
    (
        arn_region(arn).unwrap_or_default(),
        arn_account(arn).unwrap_or_default(),
    )
}

fn check_delivery(trail_arn: &str, log_group_arn: &str, role_arn: &str) -> Result<(), TrailError> {
    let (region, account) = home_of(trail_arn);
    validate_log_group_arn(log_group_arn, region, account)?;
    validate_role_arn(role_arn)
}

/// CloudTrail's IAM-propagation answer: the role exists but cannot be used yet (or ever, when its
/// trust or permissions are wrong — hence the bound). A malformed ARN says something else.
pub fn is_propagation<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    matches!(
        error_code(err),
        Some("InvalidCloudWatchLogsRoleArnException" | "InvalidCloudWatchLogsLogGroupArnException")
    ) && error_message(err).is_some_and(|m| m.contains("Access denied"))
}

/// Runs a call that sets CloudWatch Logs delivery, retrying while IAM propagates (bounded).
async fn with_role_retry<T, E, F, Fut>(
    ctx: &Ctx,
    name: &str,
    log_group_arn: &str,
    role_arn: &str,
    mut call: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let rejected = |err: SdkError<E, HttpResponse>| {
        let hint = match error_code(&err) {
            Some("InvalidCloudWatchLogsLogGroupArnException") => format!(
                "CloudTrail rejected log group {log_group_arn}: check that the log group exists in the trail's home region and the ARN ends with `:*`"
            ),
            Some("InvalidCloudWatchLogsRoleArnException") => {
                format!("CloudTrail rejected role {role_arn}: check that the role exists")
            }
            _ => format!("setting CloudWatch Logs delivery to {log_group_arn}"),
        };
        if error_code(&err) == Some("TrailNotFoundException") {
            return TrailError::Gone {
                name: name.to_owned(),
            }
            .into();
        }
        explain(err).context(hint)
    };
    match call().await {
        Ok(value) => return Ok(value),
        Err(err) if !is_propagation(&err) => return Err(rejected(err)),
        // Usually a role created a moment ago: wait for it, with a progress line.
        Err(_) => {}
    }
    let step = ctx.printer.step(format!(
        "waiting for IAM: CloudTrail cannot use role {role_arn} yet"
    ));
    match retry(
        ctx.iam_bound,
        Some(&step),
        "waiting for the new role to reach CloudTrail",
        is_propagation,
        &mut call,
    )
    .await
    {
        Ok(value) => {
            step.done();
            Ok(value)
        }
        Err(Stopped::Failed(err)) => {
            step.failed();
            Err(rejected(err))
        }
        Err(Stopped::TimedOut {
            last,
            attempts,
            waited,
        }) => {
            step.failed();
            Err(TrailError::RoleNotUsable {
                role: role_arn.to_owned(),
                log_group: strip_wildcard(log_group_arn).to_owned(),
                attempts: attempts + 1,
                waited_secs: waited.as_secs(),
                message: error_message(&last).unwrap_or("access denied").to_owned(),
            }
            .into())
        }
    }
}

async fn create(
    ctx: &Ctx,
    name: &str,
    arn: &str,
    bucket: &str,
    log_group_arn: &str,
    role_arn: &str,
) -> Result<()> {
    check_delivery(arn, log_group_arn, role_arn)?;
    let request = ctx
        .clients
        .cloudtrail
        .create_trail()
        .name(name)
        .s3_bucket_name(bucket)
        .is_multi_region_trail(true)
        .include_global_service_events(true)
        .cloud_watch_logs_log_group_arn(log_group_arn)
        .cloud_watch_logs_role_arn(role_arn)
        .tags_list(tag(MANAGED_BY.0, MANAGED_BY.1)?);
    let created = with_role_retry(ctx, name, log_group_arn, role_arn, || {
        let request = request.clone();
        async move {
            match request.send().await {
                Ok(_) => Ok(true),
                Err(err) if error_code(&err) == Some("TrailAlreadyExistsException") => Ok(false),
                Err(err) => Err(err),
            }
        }
    })
    .await
    .with_context(|| format!("creating trail {name} (bucket {bucket})"))?;
    if !created {
        // Left by an interrupted run: converge it instead.
        let logs = CloudWatchLogs::Set {
            log_group_arn: log_group_arn.to_owned(),
            role_arn: role_arn.to_owned(),
        };
        update(
            ctx,
            name,
            arn,
            Some(true),
            Some(true),
            Some(&logs),
            Some(bucket),
        )
        .await?;
    }
    set_logging(ctx, name, true).await
}

async fn update(
    ctx: &Ctx,
    name: &str,
    arn: &str,
    multi_region: Option<bool>,
    global_events: Option<bool>,
    logs: Option<&CloudWatchLogs>,
    bucket: Option<&str>,
) -> Result<()> {
    let mut request = ctx
        .clients
        .cloudtrail
        .update_trail()
        .name(name)
        .set_is_multi_region_trail(multi_region)
        .set_include_global_service_events(global_events)
        .set_s3_bucket_name(bucket.map(str::to_owned));
    match logs {
        Some(CloudWatchLogs::Set {
            log_group_arn,
            role_arn,
        }) => {
            check_delivery(arn, log_group_arn, role_arn)?;
            request = request
                .cloud_watch_logs_log_group_arn(log_group_arn)
                .cloud_watch_logs_role_arn(role_arn);
            with_role_retry(ctx, name, log_group_arn, role_arn, || {
                request.clone().send()
            })
            .await
            .with_context(|| format!("updating trail {name}"))?;
        }
        Some(CloudWatchLogs::Remove) => {
            // Empty strings for both is how UpdateTrail turns delivery off.
            request = request
                .cloud_watch_logs_log_group_arn("")
                .cloud_watch_logs_role_arn("");
            request.send().await.map_err(|err| {
                failed(
                    err,
                    name,
                    format!("removing CloudWatch Logs delivery from trail {name}"),
                )
            })?;
        }
        None => {
            request
                .send()
                .await
                .map_err(|err| failed(err, name, format!("updating trail {name}")))?;
        }
    }
    Ok(())
}

async fn set_logging(ctx: &Ctx, name: &str, on: bool) -> Result<()> {
    let ct = &ctx.clients.cloudtrail;
    if on {
        ct.start_logging()
            .name(name)
            .send()
            .await
            .map_err(|err| failed(err, name, format!("starting logging on trail {name}")))?;
    } else {
        ct.stop_logging()
            .name(name)
            .send()
            .await
            .map_err(|err| failed(err, name, format!("stopping logging on trail {name}")))?;
    }
    Ok(())
}

async fn delete(ctx: &Ctx, name: &str, arn: &str) -> Result<()> {
    // The plan checked the tag; check again so no stale plan can ever delete a user's trail.
    match ctx
        .clients
        .cloudtrail
        .list_tags()
        .resource_id_list(arn)
        .send()
        .await
    {
        Ok(out) => {
            let tags: HashMap<String, String> = out
                .resource_tag_list
                .unwrap_or_default()
                .into_iter()
                .flat_map(|r| r.tags_list.unwrap_or_default())
                .map(|t| (t.key, t.value.unwrap_or_default()))
                .collect();
            if !is_managed(&tags) {
                return Err(TrailError::NotOurs {
                    name: name.to_owned(),
                }
                .into());
            }
        }
        Err(err)
            if matches!(
                error_code(&err),
                Some("TrailNotFoundException" | "ResourceNotFoundException")
            ) =>
        {
            return Ok(());
        }
        Err(err) => {
            return Err(explain(err)).with_context(|| format!("reading the tags of trail {name}"));
        }
    }
    match ctx
        .clients
        .cloudtrail
        .delete_trail()
        .name(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(err) if error_code(&err) == Some("TrailNotFoundException") => Ok(()),
        Err(err) => Err(explain(err)).with_context(|| format!("deleting trail {name}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, NotifyConfig, TrailConfig};
    use crate::plan::Mode;

    const ACCOUNT: &str = "123456789012";
    const OUR_GROUP: &str =
        "arn:aws:logs:eu-west-1:123456789012:log-group:/login-alert/cloudtrail:*";
    const OUR_ROLE: &str = "arn:aws:iam::123456789012:role/login-alert-cloudtrail-to-logs";
    const THEIR_GROUP: &str = "arn:aws:logs:eu-west-1:123456789012:log-group:audit-events:*";
    const THEIR_ROLE: &str = "arn:aws:iam::123456789012:role/audit-to-logs";

    fn target(create: bool) -> Target {
        let config = Config {
            region: "eu-west-1".into(),
            name_prefix: "login-alert".into(),
            account_name: None,
            timezone: "UTC".into(),
            scope: Default::default(),
            log_retention_days: 90,
            trail: TrailConfig {
                name: (!create).then(|| "audit".into()),
                create,
            },
            notify: NotifyConfig {
                emails: vec!["a@example.com".into()],
                slack_webhook_url: None,
            },
        };
        Target::new(&config, ACCOUNT)
    }

    /// A single-region, stopped trail without CloudWatch Logs: everything login-alert changes.
    fn plain() -> Found {
        Found {
            name: "audit".into(),
            arn: "arn:aws:cloudtrail:eu-west-1:123456789012:trail/audit".into(),
            home_region: "eu-west-1".into(),
            multi_region: false,
            global_events: true,
            log_group_arn: None,
            role_arn: None,
            logging: true,
            bucket: Some("audit-bucket".into()),
            organization: false,
            custom_event_selectors: false,
            tags: HashMap::new(),
        }
    }

    fn converged(original: &Found) -> Found {
        let mut found = original.clone();
        found.multi_region = true;
        found.global_events = true;
        found.logging = true;
        if original.log_group_arn.is_none() {
            found.log_group_arn = Some(OUR_GROUP.into());
            found.role_arn = Some(OUR_ROLE.into());
        }
        found.tags.extend(Memo::of(original).to_tags().unwrap());
        found
    }

    fn current(found: Option<Found>) -> Current {
        Current {
            wanted: "audit".into(),
            trail: found,
        }
    }

    fn apply_plan(current: &Current, t: &Target) -> Plan {
        let mut plan = Plan::new(Mode::Apply, ACCOUNT, "eu-west-1");
        plan_apply(current, t, &delivery(current, t), &mut plan);
        plan
    }

    fn destroy_plan(current: &Current, t: &Target) -> Plan {
        let mut plan = Plan::new(Mode::Destroy, ACCOUNT, "eu-west-1");
        plan_destroy(current, t, &mut plan);
        plan
    }

    fn update_op(plan: &Plan) -> &Op {
        match &plan.changes[0].op {
            AnyOp::Trail(op @ Op::Update { .. }) => op,
            other => panic!("expected a trail update, got {other:?}"),
        }
    }

    #[test]
    fn an_adopted_single_region_trail_becomes_multi_region_and_delivers_to_our_group() {
        let plan = apply_plan(&current(Some(plain())), &target(false));
        assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].action, Action::Update);
        let Op::Update {
            remember,
            multi_region,
            cloud_watch_logs,
            logging,
            forget,
            ..
        } = update_op(&plan)
        else {
            unreachable!()
        };
        assert_eq!(*multi_region, Some(true));
        assert_eq!(*logging, None);
        assert_eq!(
            cloud_watch_logs,
            &Some(CloudWatchLogs::Set {
                log_group_arn: OUR_GROUP.into(),
                role_arn: OUR_ROLE.into()
            })
        );
        let remember = remember.as_ref().expect("the originals are remembered");
        assert_eq!(remember[memo::MULTI_REGION], "false");
        assert_eq!(remember[memo::LOG_GROUP], "none");
        assert_eq!(remember[memo::ROLE], "none");
        assert_eq!(remember[memo::LOGGING], "true");
        assert!(forget.is_empty());
        let names: Vec<&str> = plan.changes[0]
            .attrs
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "is_multi_region_trail",
                "cloud_watch_logs_log_group_arn",
                "cloud_watch_logs_role_arn"
            ]
        );
        assert!(
            plan.changes[0]
                .notes
                .iter()
                .any(|n| n.contains("destroy makes it single-region again"))
        );
    }

    #[test]
    fn a_stopped_trail_without_global_events_is_started_and_includes_them() {
        let mut found = plain();
        found.logging = false;
        found.global_events = false;
        let plan = apply_plan(&current(Some(found)), &target(false));
        let Op::Update {
            global_events,
            logging,
            remember,
            ..
        } = update_op(&plan)
        else {
            unreachable!()
        };
        assert_eq!((*global_events, *logging), (Some(true), Some(true)));
        let remember = remember.as_ref().unwrap();
        assert_eq!(
            (
                remember[memo::GLOBAL_EVENTS].as_str(),
                remember[memo::LOGGING].as_str()
            ),
            ("false", "false")
        );
    }

    #[test]
    fn a_converged_adopted_trail_needs_nothing() {
        let plan = apply_plan(&current(Some(converged(&plain()))), &target(false));
        assert!(!plan.has_changes());
        assert!(plan.blockers.is_empty());
    }

    #[test]
    fn a_trail_delivering_to_the_users_group_keeps_it() {
        let mut found = plain();
        found.log_group_arn = Some(THEIR_GROUP.into());
        found.role_arn = Some(THEIR_ROLE.into());
        let t = target(false);
        let d = delivery(&current(Some(found.clone())), &t);
        assert_eq!(
            d,
            Delivery {
                log_group_name: "audit-events".into(),
                ours: false
            }
        );
        let plan = apply_plan(&current(Some(found.clone())), &t);
        let Op::Update {
            cloud_watch_logs,
            multi_region,
            remember,
            ..
        } = update_op(&plan)
        else {
            unreachable!()
        };
        assert_eq!(*cloud_watch_logs, None, "the user's delivery is left alone");
        assert_eq!(*multi_region, Some(true));
        assert_eq!(
            remember.as_ref().unwrap()[memo::LOG_GROUP],
            THEIR_GROUP.trim_end_matches(":*")
        );
        // After apply the memo decides, and it still says "theirs".
        let after = converged(&found);
        assert!(!delivery(&current(Some(after.clone())), &t).ours);
        assert!(!apply_plan(&current(Some(after)), &t).has_changes());
    }

    #[test]
    fn an_interrupted_apply_is_finished_without_rewriting_the_memo() {
        let original = plain();
        let mut interrupted = original.clone();
        interrupted
            .tags
            .extend(Memo::of(&original).to_tags().unwrap());
        let plan = apply_plan(&current(Some(interrupted)), &target(false));
        let Op::Update {
            remember,
            multi_region,
            ..
        } = update_op(&plan)
        else {
            unreachable!()
        };
        assert_eq!(*remember, None);
        assert_eq!(*multi_region, Some(true));
    }

    #[test]
    fn a_missing_adopted_trail_blocks_apply_but_only_notes_on_destroy() {
        let t = target(false);
        let plan = apply_plan(&current(None), &t);
        assert!(
            plan.blockers[0].contains("no trail named audit in eu-west-1"),
            "{}",
            plan.blockers[0]
        );
        assert!(plan.blockers[0].contains("login-alert init"));
        let plan = destroy_plan(&current(None), &t);
        assert!(plan.blockers.is_empty() && !plan.has_changes());
        assert_eq!(plan.notices.len(), 1);
    }

    #[test]
    fn a_trail_homed_elsewhere_names_the_region_to_set() {
        let mut found = plain();
        found.home_region = "us-east-2".into();
        found.arn = "arn:aws:cloudtrail:us-east-2:123456789012:trail/audit".into();
        found.multi_region = true;
        let t = target(false);
        let plan = apply_plan(&current(Some(found.clone())), &t);
        assert!(
            plan.blockers[0].contains("set region = \"us-east-2\""),
            "{}",
            plan.blockers[0]
        );
        let plan = destroy_plan(&current(Some(found)), &t);
        assert!(plan.blockers.is_empty() && !plan.has_changes());
        assert_eq!(plan.notices.len(), 1);
    }

    #[test]
    fn an_organization_trail_seen_from_a_member_account_is_a_clear_error() {
        let mut found = plain();
        found.organization = true;
        found.multi_region = true;
        found.arn = "arn:aws:cloudtrail:eu-west-1:999999999999:trail/org".into();
        let t = target(false);
        let plan = apply_plan(&current(Some(found.clone())), &t);
        assert!(!plan.has_changes());
        assert!(
            plan.blockers[0].contains("management account 999999999999"),
            "{}",
            plan.blockers[0]
        );
        assert!(delivery(&current(Some(found.clone())), &t).ours);
        let plan = destroy_plan(&current(Some(found)), &t);
        assert!(!plan.has_changes() && plan.blockers.is_empty());
    }

    #[test]
    fn an_organization_trail_of_this_account_is_changed_with_a_note() {
        let mut found = plain();
        found.organization = true;
        let plan = apply_plan(&current(Some(found)), &target(false));
        assert!(
            plan.changes[0]
                .notes
                .iter()
                .any(|n| n.contains("organization"))
        );
    }

    #[test]
    fn destroy_restores_exactly_the_originals_and_forgets_the_memo() {
        let mut original = plain();
        original.logging = false;
        original.global_events = false;
        let plan = destroy_plan(&current(Some(converged(&original))), &target(false));
        let Op::Update {
            multi_region,
            global_events,
            cloud_watch_logs,
            logging,
            forget,
            remember,
            ..
        } = update_op(&plan)
        else {
            unreachable!()
        };
        assert_eq!(*remember, None);
        assert_eq!(
            (*multi_region, *global_events, *logging),
            (Some(false), Some(false), Some(false))
        );
        assert_eq!(*cloud_watch_logs, Some(CloudWatchLogs::Remove));
        assert_eq!(forget.len(), memo::ALL.len());
    }

    #[test]
    fn destroy_points_the_trail_back_at_its_earlier_group_when_it_was_changed() {
        let mut original = plain();
        original.log_group_arn = Some(THEIR_GROUP.into());
        original.role_arn = Some(THEIR_ROLE.into());
        let mut now = converged(&original);
        // Someone pointed it at our group since: destroy still puts back the original.
        now.log_group_arn = Some(OUR_GROUP.into());
        now.role_arn = Some(OUR_ROLE.into());
        let plan = destroy_plan(&current(Some(now)), &target(false));
        let Op::Update {
            cloud_watch_logs, ..
        } = update_op(&plan)
        else {
            unreachable!()
        };
        assert_eq!(
            *cloud_watch_logs,
            Some(CloudWatchLogs::Set {
                log_group_arn: THEIR_GROUP.into(),
                role_arn: THEIR_ROLE.into()
            })
        );
    }

    #[test]
    fn destroy_keeps_the_users_delivery_and_only_removes_the_memo_when_nothing_else_changed() {
        let mut original = plain();
        original.multi_region = true;
        original.log_group_arn = Some(THEIR_GROUP.into());
        original.role_arn = Some(THEIR_ROLE.into());
        let plan = destroy_plan(&current(Some(converged(&original))), &target(false));
        let Op::Update {
            multi_region,
            cloud_watch_logs,
            logging,
            forget,
            ..
        } = update_op(&plan)
        else {
            unreachable!()
        };
        assert_eq!(
            (*multi_region, cloud_watch_logs, *logging),
            (None, &None, None)
        );
        assert_eq!(forget.len(), 5);
        assert!(plan.changes[0].attrs.is_empty());
    }

    #[test]
    fn destroy_without_memo_leaves_the_trail_alone_unless_it_delivers_to_our_group() {
        let t = target(false);
        assert!(!destroy_plan(&current(Some(plain())), &t).has_changes());
        let mut found = plain();
        found.log_group_arn = Some(OUR_GROUP.into());
        found.role_arn = Some(OUR_ROLE.into());
        let plan = destroy_plan(&current(Some(found)), &t);
        let Op::Update {
            cloud_watch_logs,
            multi_region,
            ..
        } = update_op(&plan)
        else {
            unreachable!()
        };
        assert_eq!(
            (cloud_watch_logs, *multi_region),
            (&Some(CloudWatchLogs::Remove), None)
        );
    }

    #[test]
    fn damaged_memo_tags_block_apply_and_destroy() {
        let mut found = converged(&plain());
        found.tags.remove(memo::ROLE);
        let t = target(false);
        assert!(
            apply_plan(&current(Some(found.clone())), &t).blockers[0]
                .contains("memo tags are damaged")
        );
        assert!(destroy_plan(&current(Some(found)), &t).blockers[0].contains(memo::ROLE));
    }

    #[test]
    fn too_many_tags_block_before_anything_changes() {
        let mut found = plain();
        found.tags = (0..48).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        let plan = apply_plan(&current(Some(found)), &target(false));
        assert!(!plan.has_changes());
        assert!(
            plan.blockers[0].contains("CloudTrail allows 50"),
            "{}",
            plan.blockers[0]
        );
    }

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
            tags[memo::LOG_GROUP],
            "arn:aws:logs:eu-west-1:123456789012:log-group:team=231/audit"
        );
        assert_eq!(
            tags[memo::ROLE],
            "arn:aws:iam::123456789012:role/path/a=3Db=2Cc"
        );
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
            Err(TrailError::MemoDoesNotFit {
                key: memo::LOG_GROUP,
                ..
            })
        ));
    }

    #[test]
    fn a_memo_value_that_does_not_fit_blocks_apply() {
        let mut found = plain();
        found.log_group_arn = Some(format!(
            "arn:aws:logs:eu-west-1:123456789012:log-group:{}:*",
            "g".repeat(250)
        ));
        found.role_arn = Some(THEIR_ROLE.into());
        let plan = apply_plan(&current(Some(found)), &target(false));
        assert!(!plan.has_changes());
        assert!(
            plan.blockers[0].contains(memo::LOG_GROUP),
            "{}",
            plan.blockers[0]
        );
    }

    #[test]
    fn our_trail_is_created_multi_region_with_delivery_and_logging() {
        let t = target(true);
        let plan = apply_plan(
            &Current {
                wanted: "login-alert-trail".into(),
                trail: None,
            },
            &t,
        );
        let AnyOp::Trail(Op::Create {
            name,
            bucket,
            log_group_arn,
            role_arn,
            arn,
        }) = &plan.changes[0].op
        else {
            panic!("expected a create")
        };
        assert_eq!(name, "login-alert-trail");
        assert_eq!(
            arn,
            "arn:aws:cloudtrail:eu-west-1:123456789012:trail/login-alert-trail"
        );
        assert_eq!(bucket, "login-alert-trail-123456789012-eu-west-1");
        assert_eq!(
            (log_group_arn.as_str(), role_arn.as_str()),
            (OUR_GROUP, OUR_ROLE)
        );
        assert!(plan.changes[0].attrs.iter().any(|a| a.name == "is_logging"));
    }

    fn ours() -> Found {
        Found {
            name: "login-alert-trail".into(),
            arn: "arn:aws:cloudtrail:eu-west-1:123456789012:trail/login-alert-trail".into(),
            multi_region: true,
            log_group_arn: Some(OUR_GROUP.into()),
            role_arn: Some(OUR_ROLE.into()),
            bucket: Some("login-alert-trail-123456789012-eu-west-1".into()),
            tags: super::super::managed_tags(),
            ..plain()
        }
    }

    #[test]
    fn our_trail_converged_needs_nothing_and_drift_is_updated() {
        let t = target(true);
        let cur = |f: Found| Current {
            wanted: "login-alert-trail".into(),
            trail: Some(f),
        };
        assert!(!apply_plan(&cur(ours()), &t).has_changes());
        let mut drifted = ours();
        drifted.logging = false;
        drifted.log_group_arn = None;
        drifted.role_arn = None;
        let plan = apply_plan(&cur(drifted), &t);
        let Op::Update {
            logging,
            cloud_watch_logs,
            remember,
            ..
        } = update_op(&plan)
        else {
            unreachable!()
        };
        assert_eq!(*logging, Some(true));
        assert!(cloud_watch_logs.is_some());
        assert_eq!(*remember, None, "our own trail needs no memo");
    }

    #[test]
    fn a_foreign_trail_with_our_name_blocks_create_and_is_never_deleted() {
        let t = target(true);
        let mut theirs = ours();
        theirs.tags.clear();
        let cur = Current {
            wanted: "login-alert-trail".into(),
            trail: Some(theirs),
        };
        let plan = apply_plan(&cur, &t);
        assert!(!plan.has_changes() && plan.blockers.len() == 1);
        let plan = destroy_plan(&cur, &t);
        assert!(!plan.has_changes() && plan.notices.len() == 1);
    }

    #[test]
    fn destroy_deletes_our_trail_only() {
        let t = target(true);
        let plan = destroy_plan(
            &Current {
                wanted: "login-alert-trail".into(),
                trail: Some(ours()),
            },
            &t,
        );
        assert!(
            matches!(&plan.changes[0].op, AnyOp::Trail(Op::Delete { name, .. }) if name == "login-alert-trail")
        );
        // An adopted trail is never deleted, whatever its tags say.
        let mut adopted = converged(&plain());
        adopted.tags.extend(super::super::managed_tags());
        let plan = destroy_plan(&current(Some(adopted)), &target(false));
        assert!(plan.changes.iter().all(|c| c.action != Action::Delete));
    }

    #[test]
    fn log_group_arns_are_checked_as_cloudtrail_would() {
        let ok = |arn: &str| validate_log_group_arn(arn, "eu-west-1", ACCOUNT).is_ok();
        assert!(ok(OUR_GROUP));
        assert!(
            !ok(OUR_GROUP.trim_end_matches(":*")),
            "the trailing :* is required"
        );
        assert!(
            !ok("arn:aws:logs:us-east-1:123456789012:log-group:/login-alert/cloudtrail:*"),
            "home region"
        );
        assert!(
            !ok("arn:aws:logs:eu-west-1:210987654321:log-group:x:*"),
            "account"
        );
        assert!(!ok(
            "arn:aws:logs:eu-west-1:123456789012:log-group:bad name:*"
        ));
        assert!(!ok("not-an-arn"));
        assert!(validate_role_arn(OUR_ROLE).is_ok());
        assert!(validate_role_arn("arn:aws:iam::123456789012:user/x").is_err());
        assert!(validate_role_arn("arn:aws:iam::1234:role/x").is_err());
    }
}

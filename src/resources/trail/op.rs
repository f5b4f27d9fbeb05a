//! What `apply` does to a trail (one [`Op`]), and the settings diff a plan turns into one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::read::Found;
use crate::arn::strip_wildcard;
use crate::model::Target;
use crate::plan::Attr;

pub const KIND: &str = "trail";

/// The CloudWatch Logs delivery an update sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// login-alert's own trail: create it (multi-region, management events, CloudWatch Logs delivery
    /// in CloudWatch Logs mode), then start logging.
    Create {
        name: String,
        arn: String,
        bucket: String,
        /// `Set` or `None` (EventBridge mode needs no delivery).
        cloud_watch_logs: Option<CloudWatchLogs>,
        /// An organization trail (`IsOrganizationTrail`), with `coverage = "organization"`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        organization: bool,
    },
    /// login-alert's own trail made an organization trail, or no longer one (`UpdateTrail` with
    /// `IsOrganizationTrail` alone).
    SetOrganization {
        name: String,
        arn: String,
        organization: bool,
    },
    /// Changes to an existing trail (see [`Update`]).
    Update(Update),
    /// Only login-alert's own trail (checked again before the call).
    Delete { name: String, arn: String },
}

/// Changes to an existing trail, run in this order: remember the originals (only tags not yet
/// present), one `UpdateTrail`, start/stop logging, forget the memo tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    pub name: String,
    pub arn: String,
    pub remember: Option<BTreeMap<String, String>>,
    pub multi_region: Option<bool>,
    pub global_events: Option<bool>,
    pub cloud_watch_logs: Option<CloudWatchLogs>,
    pub bucket: Option<String>,
    pub logging: Option<bool>,
    pub forget: Vec<String>,
}

/// The delivery login-alert wants the trail to have when the trail has none of the user's: its own
/// group and role in CloudWatch Logs mode; none (its own removed) in EventBridge mode.
pub fn wanted_logs(t: &Target) -> CloudWatchLogs {
    if t.route.uses_logs() {
        our_cloud_watch_logs(t)
    } else {
        CloudWatchLogs::Remove
    }
}

/// login-alert's own log group and CloudTrail role, as one delivery.
pub fn our_cloud_watch_logs(t: &Target) -> CloudWatchLogs {
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
pub struct Diff {
    pub multi_region: Option<bool>,
    pub global_events: Option<bool>,
    pub cloud_watch_logs: Option<CloudWatchLogs>,
    pub bucket: Option<String>,
    pub logging: Option<bool>,
    pub attrs: Vec<Attr>,
}

impl Diff {
    pub fn new(
        found: &Found,
        multi_region: bool,
        global_events: bool,
        cloud_watch_logs: Option<CloudWatchLogs>,
        bucket: Option<&str>,
        logging: bool,
    ) -> Diff {
        let mut d = Diff::default();
        d.multi_region = d.flag("is_multi_region_trail", found.multi_region, multi_region);
        d.global_events = d.flag(
            "include_global_service_events",
            found.global_events,
            global_events,
        );
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
        d.logging = d.flag("is_logging", found.logging, logging);
        d
    }

    /// `Some(want)`, shown as the attribute `name` changing, when the trail's flag is not `want`.
    fn flag(&mut self, name: &str, found: bool, want: bool) -> Option<bool> {
        (found != want).then(|| {
            self.attrs.push(Attr::change(name, found, want));
            want
        })
    }

    pub fn is_empty(&self) -> bool {
        self.multi_region.is_none()
            && self.global_events.is_none()
            && self.cloud_watch_logs.is_none()
            && self.bucket.is_none()
            && self.logging.is_none()
    }

    pub fn into_op(
        self,
        found: &Found,
        remember: Option<BTreeMap<String, String>>,
        forget: Vec<String>,
    ) -> (Op, Vec<Attr>) {
        let op = Op::Update(Update {
            name: found.name.clone(),
            arn: found.arn.clone(),
            remember,
            multi_region: self.multi_region,
            global_events: self.global_events,
            cloud_watch_logs: self.cloud_watch_logs,
            bucket: self.bucket,
            logging: self.logging,
            forget,
        });
        (op, self.attrs)
    }
}

//! What can go wrong with a trail, each message naming the fix; and an SDK error turned into one of them.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::{error_code, explain};
use crate::names::MANAGED_BY;

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
        "CloudTrail still finds the policy of bucket {bucket} insufficient after {attempts} attempts in {waited_secs}s ({message}). \
         A bucket policy put a moment ago normally reaches CloudTrail within seconds, so the policy itself is the likely cause: it must let \
         cloudtrail.amazonaws.com call s3:GetBucketAcl on the bucket and s3:PutObject on AWSLogs/ACCOUNT/* with \
         s3:x-amz-acl = bucket-owner-full-control. Check the bucket policy (or delete the bucket so `login-alert apply` recreates it) and run apply again"
    )]
    BucketPolicyNotSeen {
        bucket: String,
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
/// An SDK error as the caller should see it: a vanished trail as [`TrailError::Gone`] (a restore
/// treats that as done), anything else explained with what was being done.
pub fn failed<E, R>(err: SdkError<E, R>, name: &str, doing: String) -> anyhow::Error
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

/// [`failed`] as a method on the result of a call on trail `name`: `doing` (made only on a failure)
/// says what was being done.
pub trait OnTrail<T> {
    fn on_trail(self, name: &str, doing: impl FnOnce() -> String) -> anyhow::Result<T>;
}

impl<T, E, R> OnTrail<T> for Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn on_trail(self, name: &str, doing: impl FnOnce() -> String) -> anyhow::Result<T> {
        self.map_err(|err| failed(err, name, doing()))
    }
}

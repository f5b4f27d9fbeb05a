//! Runs a trail operation against CloudTrail: create, one `UpdateTrail`, logging, the memo tags,
//! delete — each idempotent, with the bounded wait for IAM when delivery goes to a new role.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use anyhow::{Context, Result};
use aws_sdk_cloudtrail::types::Tag;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::error::{OnTrail, TrailError, failed};
use super::op::{CloudWatchLogs, Op, Update};
use crate::arn::{Arn, strip_wildcard};
use crate::aws::{SdkResultExt, error_code, error_message};
use crate::model::Ctx;
use crate::names::MANAGED_BY;
use crate::retry::{Stopped, patiently};
use crate::tags;

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    match op {
        Op::Create {
            name,
            arn,
            bucket,
            cloud_watch_logs,
            organization,
        } => {
            create(
                ctx,
                name,
                arn,
                bucket,
                cloud_watch_logs.as_ref(),
                *organization,
            )
            .await
        }
        Op::SetOrganization {
            name,
            arn,
            organization,
        } => {
            // As for delete: no stale plan changes a trail that is not login-alert's.
            if !tags::is_managed(&tags_of(ctx, name, arn).await?) {
                return Err(TrailError::NotOurs {
                    name: name.to_owned(),
                }
                .into());
            }
            ctx.clients
                .cloudtrail
                .update_trail()
                .name(name)
                .is_organization_trail(*organization)
                .send()
                .await
                .explained()
                .with_context(|| format!("updating trail {name} (IsOrganizationTrail)"))?;
            Ok(())
        }
        Op::Update(Update {
            name,
            arn,
            remember,
            multi_region,
            global_events,
            cloud_watch_logs,
            bucket,
            logging,
            forget,
        }) => {
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
        .on_trail(name, || format!("reading the tags of trail {name}"))?;
    Ok(tags::to_map(
        out.resource_tag_list
            .unwrap_or_default()
            .into_iter()
            .flat_map(|r| r.tags_list.unwrap_or_default())
            .map(|t| (t.key, t.value.unwrap_or_default())),
    ))
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
        .on_trail(name, || {
            format!(
                "saving the original settings of trail {name} as tags (nothing was changed yet)"
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
        .on_trail(name, || {
            format!("removing login-alert's memo tags from trail {name} (its settings are already restored)")
        })?;
    Ok(())
}

/// The trail's home region and account, from its ARN.
fn home_of(arn: &str) -> (&str, &str) {
    Arn::parse(arn).map_or(("", ""), |a| (a.region, a.account))
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

/// A final error from a call that set CloudWatch Logs delivery, with what to check.
fn delivery_rejected<E>(
    err: SdkError<E, HttpResponse>,
    name: &str,
    log_group_arn: &str,
    role_arn: &str,
) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let hint = match error_code(&err) {
        Some("InvalidCloudWatchLogsLogGroupArnException") => format!(
            "CloudTrail rejected log group {log_group_arn}: check that the log group exists in the trail's home region and the ARN ends with `:*`"
        ),
        Some("InvalidCloudWatchLogsRoleArnException") => {
            format!("CloudTrail rejected role {role_arn}: check that the role exists")
        }
        _ => format!("setting CloudWatch Logs delivery to {log_group_arn}"),
    };
    failed(err, name, hint)
}

/// Runs a call that sets CloudWatch Logs delivery, retrying while IAM propagates (bounded).
async fn with_role_retry<T, E, F, Fut>(
    ctx: &Ctx,
    name: &str,
    log_group_arn: &str,
    role_arn: &str,
    call: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    // Usually a role created a moment ago: wait for it, with a progress line.
    match patiently(
        &ctx.printer,
        ctx.iam_bound,
        format!("waiting for IAM: CloudTrail cannot use role {role_arn} yet"),
        "waiting for the new role to reach CloudTrail",
        |err: &SdkError<E, HttpResponse>| is_propagation(err),
        call,
    )
    .await
    {
        Ok(value) => Ok(value),
        Err(Stopped::Failed(err)) => Err(delivery_rejected(err, name, log_group_arn, role_arn)),
        Err(Stopped::TimedOut {
            last,
            attempts,
            waited,
        }) => Err(TrailError::RoleNotUsable {
            role: role_arn.to_owned(),
            log_group: strip_wildcard(log_group_arn).to_owned(),
            attempts,
            waited_secs: waited.as_secs(),
            message: error_message(&last).unwrap_or("access denied").to_owned(),
        }
        .into()),
    }
}

/// CloudTrail checks the bucket policy when CreateTrail runs; a policy put a moment earlier may not
/// have reached it yet (terraform-provider-aws #820), so this answer is retried within the bound.
pub fn is_bucket_policy_race<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    error_code(err) == Some("InsufficientS3BucketPolicyException")
}

/// The log group and role ARNs `logs` sets on trail `arn`, checked (`None`: it sets no delivery).
fn delivery<'a>(arn: &str, logs: Option<&'a CloudWatchLogs>) -> Result<Option<(&'a str, &'a str)>> {
    match logs {
        Some(CloudWatchLogs::Set {
            log_group_arn,
            role_arn,
        }) => {
            check_delivery(arn, log_group_arn, role_arn)?;
            Ok(Some((log_group_arn, role_arn)))
        }
        _ => Ok(None),
    }
}

async fn create(
    ctx: &Ctx,
    name: &str,
    arn: &str,
    bucket: &str,
    logs: Option<&CloudWatchLogs>,
    organization: bool,
) -> Result<()> {
    let mut request = ctx
        .clients
        .cloudtrail
        .create_trail()
        .name(name)
        .s3_bucket_name(bucket)
        .is_multi_region_trail(true)
        .is_organization_trail(organization)
        .include_global_service_events(true)
        .tags_list(tag(MANAGED_BY.0, MANAGED_BY.1)?);
    let delivery = delivery(arn, logs)?;
    if let Some((log_group_arn, role_arn)) = delivery {
        request = request
            .cloud_watch_logs_log_group_arn(log_group_arn)
            .cloud_watch_logs_role_arn(role_arn);
    }
    let send = || {
        let request = request.clone();
        async move {
            match request.send().await {
                Ok(_) => Ok(true),
                Err(err) if error_code(&err) == Some("TrailAlreadyExistsException") => Ok(false),
                Err(err) => Err(err),
            }
        }
    };
    // Both propagation races can meet here: the bucket policy put just before (either mode) and,
    // in CloudWatch Logs mode, the role created just before.
    let waiting = match delivery {
        Some((_, role)) => {
            format!("waiting for CloudTrail to see bucket {bucket}'s new policy and role {role}")
        }
        None => format!("waiting for CloudTrail to see bucket {bucket}'s new policy"),
    };
    let created = match patiently(
        &ctx.printer,
        ctx.iam_bound,
        waiting,
        "waiting for CloudTrail to accept the new trail",
        |err: &SdkError<_, HttpResponse>| {
            is_bucket_policy_race(err) || (delivery.is_some() && is_propagation(err))
        },
        send,
    )
    .await
    {
        Ok(created) => Ok(created),
        Err(Stopped::TimedOut {
            last,
            attempts,
            waited,
        }) if is_bucket_policy_race(&last) => Err(TrailError::BucketPolicyNotSeen {
            bucket: bucket.to_owned(),
            attempts,
            waited_secs: waited.as_secs(),
            message: error_message(&last)
                .unwrap_or("insufficient bucket policy")
                .to_owned(),
        }
        .into()),
        Err(Stopped::TimedOut {
            last,
            attempts,
            waited,
        }) => {
            let (log_group, role) = delivery.unwrap_or_default();
            Err(TrailError::RoleNotUsable {
                role: role.to_owned(),
                log_group: strip_wildcard(log_group).to_owned(),
                attempts,
                waited_secs: waited.as_secs(),
                message: error_message(&last).unwrap_or("access denied").to_owned(),
            }
            .into())
        }
        Err(Stopped::Failed(err)) => Err(match delivery {
            Some((log_group, role)) => delivery_rejected(err, name, log_group, role),
            None => failed(err, name, format!("creating trail {name}")),
        }),
    }
    .with_context(|| format!("creating trail {name} (bucket {bucket})"))?;
    if !created {
        // Left by an interrupted run: converge it instead.
        update(
            ctx,
            name,
            arn,
            Some(true),
            Some(true),
            Some(logs.unwrap_or(&CloudWatchLogs::Remove)),
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
    match (delivery(arn, logs)?, logs) {
        (Some((log_group_arn, role_arn)), _) => {
            request = request
                .cloud_watch_logs_log_group_arn(log_group_arn)
                .cloud_watch_logs_role_arn(role_arn);
            with_role_retry(ctx, name, log_group_arn, role_arn, || {
                request.clone().send()
            })
            .await
            .with_context(|| format!("updating trail {name}"))?;
        }
        (None, Some(CloudWatchLogs::Remove)) => {
            // Empty strings for both is how UpdateTrail turns delivery off.
            request = request
                .cloud_watch_logs_log_group_arn("")
                .cloud_watch_logs_role_arn("");
            request.send().await.on_trail(name, || {
                format!("removing CloudWatch Logs delivery from trail {name}")
            })?;
        }
        (None, _) => {
            request
                .send()
                .await
                .on_trail(name, || format!("updating trail {name}"))?;
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
            .on_trail(name, || format!("starting logging on trail {name}"))?;
    } else {
        ct.stop_logging()
            .name(name)
            .send()
            .await
            .on_trail(name, || format!("stopping logging on trail {name}"))?;
    }
    Ok(())
}

async fn delete(ctx: &Ctx, name: &str, arn: &str) -> Result<()> {
    // The plan checked the tag; check again so no stale plan can ever delete a user's trail.
    let Some(out) = ctx
        .clients
        .cloudtrail
        .list_tags()
        .resource_id_list(arn)
        .send()
        .await
        .found_doing(
            &["TrailNotFoundException", "ResourceNotFoundException"],
            || format!("reading the tags of trail {name}"),
        )?
    else {
        return Ok(());
    };
    let found = tags::to_map(
        out.resource_tag_list
            .unwrap_or_default()
            .into_iter()
            .flat_map(|r| r.tags_list.unwrap_or_default())
            .map(|t| (t.key, t.value.unwrap_or_default())),
    );
    if !tags::is_managed(&found) {
        return Err(TrailError::NotOurs {
            name: name.to_owned(),
        }
        .into());
    }
    ctx.clients
        .cloudtrail
        .delete_trail()
        .name(name)
        .send()
        .await
        .gone_doing(&["TrailNotFoundException"], || {
            format!("deleting trail {name}")
        })
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
    let Some(parsed) = Arn::parse(arn) else {
        return Err(bad("too few `:`-separated parts"));
    };
    let Some(group) = parsed
        .resource_of("log-group")
        .filter(|_| parsed.service == "logs")
    else {
        return Err(bad("not a log group ARN"));
    };
    let Some(name) = group.strip_suffix(":*").filter(|n| !n.contains(':')) else {
        return Err(bad("it must end with `:*`"));
    };
    if parsed.region != home_region {
        return Err(bad("the log group must be in the trail's home region"));
    }
    if parsed.account != account_id {
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
    let Some(parsed) = Arn::parse(arn) else {
        return Err(bad("too few `:`-separated parts"));
    };
    if parsed.service != "iam" || !parsed.region.is_empty() {
        return Err(bad("not an IAM ARN"));
    }
    if !parsed.has_account_id() {
        return Err(bad("the account must be 12 digits"));
    }
    match parsed.resource.strip_prefix("role/") {
        Some(path) if !path.is_empty() && !path.ends_with('/') => Ok(()),
        _ => Err(bad("the resource must be role/NAME")),
    }
}

/// Whether login-alert can change the trail from where it runs.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::trail::tests::{OUR_GROUP, OUR_ROLE};
    use crate::testing::ACCOUNT;

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

//! CloudWatch Logs log groups: the trail's destination and the Lambda function's own log group.

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::SdkResultExt;
use crate::model::{Ctx, Target};
use crate::part::{Named, When, kind};
use crate::plan::lifecycle::owned_when_managed;
use crate::plan::{Attr, Change, Plan};
use crate::policy::{Grant, log_group_arns};
use crate::tags;

const KIND: &str = "log group";

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Current {
    pub name: String,
    pub retention_days: Option<i32>,
    pub managed: bool,
}

owned_when_managed!(Current);

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub name: String,
    pub retention_days: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    Create { name: String, retention_days: i32 },
    SetRetention { name: String, retention_days: i32 },
    Delete { name: String },
}

/// The log group the trail delivers to, when login-alert provides it; when the trail delivers to
/// the user's own group, or in EventBridge mode, an earlier one of login-alert's is removed.
pub struct TrailGroup;

/// The function's own log group: created before the function so it has a retention and goes with destroy.
pub struct FunctionGroup;

/// A log group by its name.
pub struct LogGroup;

kind!(LogGroup);

impl Named for TrailGroup {
    const NAME: &'static str = "the trail's log group";
    type Kind = LogGroup;

    const WHEN: When = When::TrailDelivery;

    fn desired(&self, t: &Target) -> Desired {
        desired(t.names.log_group(), t)
    }
}

impl Named for FunctionGroup {
    const NAME: &'static str = "the function's log group";
    type Kind = LogGroup;

    fn desired(&self, t: &Target) -> Desired {
        desired(t.names.function_log_group(), t)
    }
}

/// What `read` and `execute` call on log group `name`: reading and deleting it always (the trail's
/// group goes in EventBridge mode), creating it and setting its retention when it is `wanted`.
pub fn permissions(t: &Target, name: &str, wanted: bool) -> Vec<Grant> {
    let group = Grant::new(
        "LogGroups",
        ["logs:ListTagsForResource", "logs:DeleteLogGroup"],
        log_group_arns(&t.arns.log_group(name)),
    );
    vec![
        Grant::anywhere(["logs:DescribeLogGroups"]),
        // CreateLogGroup with tags needs logs:TagResource as well.
        group.unless_unused(
            wanted,
            [
                "logs:CreateLogGroup",
                "logs:TagResource",
                "logs:PutRetentionPolicy",
            ],
            "LogGroupOfTheOtherMode",
        ),
    ]
}

/// A log group of login-alert's, kept as long as the config says.
pub fn desired(name: String, t: &Target) -> Desired {
    Desired {
        name,
        retention_days: t.log_retention_days,
    }
}

/// The group and its tags, read at the same time.
pub async fn read(ctx: &Ctx, name: &str) -> Result<Option<Current>> {
    let logs = &ctx.clients.logs;
    let arn = ctx.target.arns.log_group(name);
    // A prefix query returns the group and any whose names extend it; keep the exact match.
    let (groups, tags) = tokio::join!(
        logs.describe_log_groups()
            .log_group_name_prefix(name)
            .send(),
        logs.list_tags_for_resource().resource_arn(&arn).send(),
    );
    let found = groups
        .doing(|| format!("reading log group {name}"))?
        .log_groups
        .unwrap_or_default()
        .into_iter()
        .find(|g| g.log_group_name.as_deref() == Some(name));
    let Some(group) = found else { return Ok(None) };
    let Some(tags) = tags.found_doing(NOT_FOUND, || {
        format!("reading the tags of log group {name}")
    })?
    else {
        return Ok(None);
    };
    Ok(Some(Current {
        name: name.to_owned(),
        retention_days: group.retention_in_days,
        managed: tags::is_managed(&tags.tags.unwrap_or_default()),
    }))
}

pub fn plan_apply(current: Option<&Current>, desired: &Desired, plan: &mut Plan<impl From<Op>>) {
    let retention_days = desired.retention_days;
    plan.converge(
        KIND,
        &desired.name,
        current,
        || {
            Change::create(
                KIND,
                &desired.name,
                Op::Create {
                    name: desired.name.clone(),
                    retention_days,
                },
            )
            .attr(Attr::set("retention_in_days", retention_days))
        },
        |current| {
            (current.retention_days != Some(retention_days)).then(|| {
                let op = Op::SetRetention {
                    name: desired.name.clone(),
                    retention_days,
                };
                Change::update(KIND, &desired.name, op).attr(Attr::new(
                    "retention_in_days",
                    Some(current.retention_days.map_or(Value::Null, Into::into)),
                    Some(retention_days.into()),
                ))
            })
        },
    );
}

pub fn plan_destroy(current: Option<&Current>, plan: &mut Plan<impl From<Op>>) {
    plan.remove_ours(current, |current| {
        Change::delete_named(KIND, &current.name, |name| Op::Delete { name })
    });
}

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    let logs = &ctx.clients.logs;
    match op {
        Op::Create {
            name,
            retention_days,
        } => {
            logs.create_log_group()
                .log_group_name(name)
                .set_tags(Some(tags::managed()))
                .send()
                .await
                // Created by an interrupted run a moment ago: converge its retention below.
                .found_doing(&["ResourceAlreadyExistsException"], || {
                    format!("creating log group {name}")
                })?;
            set_retention(ctx, name, *retention_days).await
        }
        Op::SetRetention {
            name,
            retention_days,
        } => set_retention(ctx, name, *retention_days).await,
        Op::Delete { name } => logs
            .delete_log_group()
            .log_group_name(name)
            .send()
            .await
            .gone_doing(NOT_FOUND, || format!("deleting log group {name}")),
    }
}

async fn set_retention(ctx: &Ctx, name: &str, days: i32) -> Result<()> {
    ctx.clients
        .logs
        .put_retention_policy()
        .log_group_name(name)
        .retention_in_days(days)
        .send()
        .await
        .doing(|| format!("setting the retention of log group {name} to {days} days"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Mode};
    use crate::testing::{applied, assert_refused, first, test_plan};

    fn desired() -> Desired {
        Desired {
            name: "/login-alert/cloudtrail".into(),
            retention_days: 90,
        }
    }

    fn current(retention: Option<i32>, managed: bool) -> Current {
        Current {
            name: "/login-alert/cloudtrail".into(),
            retention_days: retention,
            managed,
        }
    }

    #[test]
    fn missing_group_is_created_with_retention() {
        let plan: Plan<Op> = applied(plan_apply, None, &desired());
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].action, Action::Create);
        assert!(matches!(
            &plan.changes[0].op,
            Op::Create {
                retention_days: 90,
                ..
            }
        ));
    }

    #[test]
    fn matching_group_needs_nothing() {
        let plan: Plan<Op> = applied(plan_apply, Some(&current(Some(90), true)), &desired());
        assert!(!plan.has_changes());
    }

    #[test]
    fn drifted_retention_is_updated_in_place() {
        let plan: Plan<Op> = applied(plan_apply, Some(&current(None, true)), &desired());
        let change = first(&plan, Action::Update);
        assert_eq!(change.attrs[0].before, Some(serde_json::Value::Null));
    }

    #[test]
    fn a_foreign_group_with_our_name_blocks_apply() {
        let plan: Plan<Op> = applied(plan_apply, Some(&current(Some(90), false)), &desired());
        assert_refused(&plan);
    }

    #[test]
    fn destroy_deletes_only_our_group() {
        let mut plan: Plan<Op> = test_plan(Mode::Destroy);
        plan_destroy(Some(&current(Some(90), true)), &mut plan);
        plan_destroy(
            Some(&Current {
                name: "/theirs".into(),
                retention_days: None,
                managed: false,
            }),
            &mut plan,
        );
        plan_destroy(None, &mut plan);
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].action, Action::Delete);
        assert_eq!(plan.notices.len(), 1);
    }
}

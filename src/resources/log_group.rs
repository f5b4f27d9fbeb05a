//! CloudWatch Logs log groups: the trail's destination and the Lambda function's own log group.

use anyhow::{Context, Result};
use serde::Serialize;

use super::{Ctx, Op as AnyOp, is_managed, managed_tags, ours_or_notice};
use crate::aws::{error_code, explain};
use crate::plan::{Action, Attr, Change, Plan};

const KIND: &str = "log group";

#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    pub name: String,
    pub retention_days: Option<i32>,
    pub managed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub name: String,
    pub retention_days: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    Create { name: String, retention_days: i32 },
    SetRetention { name: String, retention_days: i32 },
    Delete { name: String },
}

pub async fn read(ctx: &Ctx, name: &str) -> Result<Option<Current>> {
    let logs = &ctx.clients.logs;
    // A prefix query returns the group and any whose names extend it; keep the exact match.
    let found = logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("reading log group {name}"))?
        .log_groups
        .unwrap_or_default()
        .into_iter()
        .find(|g| g.log_group_name.as_deref() == Some(name));
    let Some(group) = found else { return Ok(None) };
    let arn = ctx.target.arns.log_group(name);
    let tags = match logs
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
    {
        Ok(out) => out.tags.unwrap_or_default(),
        Err(err) if error_code(&err) == Some("ResourceNotFoundException") => return Ok(None),
        Err(err) => {
            return Err(explain(err))
                .with_context(|| format!("reading the tags of log group {name}"));
        }
    };
    Ok(Some(Current {
        name: name.to_owned(),
        retention_days: group.retention_in_days,
        managed: is_managed(&tags),
    }))
}

pub fn plan_apply(current: Option<&Current>, desired: &Desired, plan: &mut Plan) {
    let change = match current {
        None => Some(
            Change::new(
                KIND,
                &desired.name,
                Action::Create,
                AnyOp::LogGroup(Op::Create {
                    name: desired.name.clone(),
                    retention_days: desired.retention_days,
                }),
            )
            .attr(Attr::set("retention_in_days", desired.retention_days)),
        ),
        Some(current) if !current.managed => {
            plan.block(format!(
                "{KIND} {} already exists and was not created by login-alert: delete or rename it, or choose another name_prefix",
                current.name
            ));
            None
        }
        Some(current) if current.retention_days != Some(desired.retention_days) => Some(
            Change::new(
                KIND,
                &desired.name,
                Action::Update,
                AnyOp::LogGroup(Op::SetRetention {
                    name: desired.name.clone(),
                    retention_days: desired.retention_days,
                }),
            )
            .attr(Attr::new(
                "retention_in_days",
                Some(
                    current
                        .retention_days
                        .map_or(serde_json::Value::Null, Into::into),
                ),
                Some(desired.retention_days.into()),
            )),
        ),
        Some(_) => None,
    };
    plan.push(change);
}

pub fn plan_destroy(current: Option<&Current>, plan: &mut Plan) {
    if let Some(current) = current {
        let change = Change::new(
            KIND,
            &current.name,
            Action::Delete,
            AnyOp::LogGroup(Op::Delete {
                name: current.name.clone(),
            }),
        );
        ours_or_notice(plan, current.managed, KIND, &current.name, change);
    }
}

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    let logs = &ctx.clients.logs;
    match op {
        Op::Create {
            name,
            retention_days,
        } => {
            match logs
                .create_log_group()
                .log_group_name(name)
                .set_tags(Some(managed_tags()))
                .send()
                .await
            {
                Ok(_) => {}
                // Created by an interrupted run a moment ago: converge its retention below.
                Err(err) if error_code(&err) == Some("ResourceAlreadyExistsException") => {}
                Err(err) => {
                    return Err(explain(err)).with_context(|| format!("creating log group {name}"));
                }
            }
            set_retention(ctx, name, *retention_days).await
        }
        Op::SetRetention {
            name,
            retention_days,
        } => set_retention(ctx, name, *retention_days).await,
        Op::Delete { name } => match logs.delete_log_group().log_group_name(name).send().await {
            Ok(_) => Ok(()),
            Err(err) if error_code(&err) == Some("ResourceNotFoundException") => Ok(()),
            Err(err) => Err(explain(err)).with_context(|| format!("deleting log group {name}")),
        },
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
        .map_err(explain)
        .with_context(|| format!("setting the retention of log group {name} to {days} days"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Mode;

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

    fn apply_plan(current: Option<&Current>) -> Plan {
        let mut plan = Plan::new(Mode::Apply, "123456789012", "us-east-1");
        plan_apply(current, &desired(), &mut plan);
        plan
    }

    #[test]
    fn missing_group_is_created_with_retention() {
        let plan = apply_plan(None);
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].action, Action::Create);
        assert!(matches!(
            &plan.changes[0].op,
            AnyOp::LogGroup(Op::Create {
                retention_days: 90,
                ..
            })
        ));
    }

    #[test]
    fn matching_group_needs_nothing() {
        assert!(!apply_plan(Some(&current(Some(90), true))).has_changes());
    }

    #[test]
    fn drifted_retention_is_updated_in_place() {
        let plan = apply_plan(Some(&current(None, true)));
        assert_eq!(plan.changes[0].action, Action::Update);
        assert_eq!(
            plan.changes[0].attrs[0].before,
            Some(serde_json::Value::Null)
        );
    }

    #[test]
    fn a_foreign_group_with_our_name_blocks_apply() {
        let plan = apply_plan(Some(&current(Some(90), false)));
        assert!(!plan.has_changes());
        assert_eq!(plan.blockers.len(), 1);
    }

    #[test]
    fn destroy_deletes_only_our_group() {
        let mut plan = Plan::new(Mode::Destroy, "123456789012", "us-east-1");
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

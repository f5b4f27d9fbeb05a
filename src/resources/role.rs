//! IAM roles with one inline policy: the role CloudTrail uses to write logs, and the function's execution role.

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;

use super::policies::same_policy;
use super::{Ctx, Op as AnyOp, ours_or_notice};
use crate::aws::{error_code, explain};
use crate::names::{INLINE_POLICY, MANAGED_BY};
use crate::plan::{Action, Attr, Change, Plan};

const KIND: &str = "IAM role";

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub name: String,
    pub description: String,
    pub trust: Value,
    /// The inline policy named [`INLINE_POLICY`].
    pub policy: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    pub name: String,
    pub arn: String,
    pub trust: Value,
    /// Our inline policy, if present.
    pub policy: Option<Value>,
    pub managed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    Create {
        name: String,
        description: String,
        trust: Value,
        policy: Value,
    },
    Update {
        name: String,
        trust: Option<Value>,
        policy: Option<Value>,
    },
    /// Removes inline and attached policies first: IAM refuses to delete a role that has any.
    Delete { name: String },
}

/// IAM returns policy documents URL-encoded.
fn decode(document: &str) -> Result<Value> {
    let text = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
    serde_json::from_str(&text).context("IAM returned a policy document that is not JSON")
}

pub async fn read(ctx: &Ctx, name: &str) -> Result<Option<Current>> {
    let iam = &ctx.clients.iam;
    let role = match iam.get_role().role_name(name).send().await {
        Ok(out) => out.role,
        Err(err) if error_code(&err) == Some("NoSuchEntity") => return Ok(None),
        Err(err) => return Err(explain(err)).with_context(|| format!("reading IAM role {name}")),
    };
    let Some(role) = role else { return Ok(None) };
    let trust = match role.assume_role_policy_document() {
        Some(doc) => decode(doc)?,
        None => Value::Null,
    };
    let policy = match iam
        .get_role_policy()
        .role_name(name)
        .policy_name(INLINE_POLICY)
        .send()
        .await
    {
        Ok(out) => Some(decode(&out.policy_document)?),
        Err(err) if error_code(&err) == Some("NoSuchEntity") => None,
        Err(err) => {
            return Err(explain(err))
                .with_context(|| format!("reading the inline policy of IAM role {name}"));
        }
    };
    let tags = iam
        .list_role_tags()
        .role_name(name)
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("reading the tags of IAM role {name}"))?
        .tags;
    let managed = tags
        .iter()
        .any(|t| t.key == MANAGED_BY.0 && t.value == MANAGED_BY.1);
    Ok(Some(Current {
        name: name.to_owned(),
        arn: role.arn,
        trust,
        policy,
        managed,
    }))
}

pub fn plan_apply(current: Option<&Current>, desired: &Desired, plan: &mut Plan) {
    let change = match current {
        None => Some(
            Change::new(
                KIND,
                &desired.name,
                Action::Create,
                AnyOp::Role(Op::Create {
                    name: desired.name.clone(),
                    description: desired.description.clone(),
                    trust: desired.trust.clone(),
                    policy: desired.policy.clone(),
                }),
            )
            .attr(Attr::set("trusted_service", principal(&desired.trust)))
            .attr(Attr::set("policy", actions(&desired.policy))),
        ),
        Some(current) if !current.managed => {
            plan.block(format!(
                "{KIND} {} already exists and was not created by login-alert: delete or rename it, or choose another name_prefix",
                current.name
            ));
            None
        }
        Some(current) => {
            let trust =
                (!same_policy(&current.trust, &desired.trust)).then(|| desired.trust.clone());
            let policy = match &current.policy {
                Some(p) if same_policy(p, &desired.policy) => None,
                _ => Some(desired.policy.clone()),
            };
            let mut attrs = Vec::new();
            if trust.is_some() {
                attrs.push(Attr::change(
                    "trusted_service",
                    principal(&current.trust),
                    principal(&desired.trust),
                ));
            }
            if policy.is_some() {
                let before = current.policy.as_ref().map(actions).map(Value::from);
                attrs.push(Attr::new(
                    "policy",
                    before,
                    Some(actions(&desired.policy).into()),
                ));
            }
            (trust.is_some() || policy.is_some()).then(|| {
                Change::new(
                    KIND,
                    &desired.name,
                    Action::Update,
                    AnyOp::Role(Op::Update {
                        name: desired.name.clone(),
                        trust,
                        policy,
                    }),
                )
                .attrs(attrs)
            })
        }
    };
    plan.push(change);
}

pub fn plan_destroy(current: Option<&Current>, plan: &mut Plan) {
    if let Some(current) = current {
        let change = Change::new(
            KIND,
            &current.name,
            Action::Delete,
            AnyOp::Role(Op::Delete {
                name: current.name.clone(),
            }),
        );
        ours_or_notice(plan, current.managed, KIND, &current.name, change);
    }
}

/// The trusted service, for the plan's one-line summary.
fn principal(trust: &Value) -> String {
    trust["Statement"][0]["Principal"]["Service"]
        .as_str()
        .unwrap_or("(custom)")
        .to_owned()
}

/// "action on resource" per statement, for the plan's summary of a policy.
fn actions(policy: &Value) -> String {
    let statements = match &policy["Statement"] {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    statements
        .iter()
        .map(|s| {
            let list = |v: &Value| match v {
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                Value::String(s) => s.clone(),
                _ => String::new(),
            };
            format!("{} on {}", list(&s["Action"]), list(&s["Resource"]))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    let iam = &ctx.clients.iam;
    match op {
        Op::Create {
            name,
            description,
            trust,
            policy,
        } => {
            let tag = aws_sdk_iam::types::Tag::builder()
                .key(MANAGED_BY.0)
                .value(MANAGED_BY.1)
                .build()?;
            match iam
                .create_role()
                .role_name(name)
                .description(description)
                .assume_role_policy_document(trust.to_string())
                .tags(tag)
                .send()
                .await
            {
                Ok(_) => {}
                // Left by an interrupted run: make sure its trust is ours.
                Err(err) if error_code(&err) == Some("EntityAlreadyExists") => {
                    update_trust(ctx, name, trust).await?
                }
                Err(err) => {
                    return Err(explain(err)).with_context(|| format!("creating IAM role {name}"));
                }
            }
            put_policy(ctx, name, policy).await
        }
        Op::Update {
            name,
            trust,
            policy,
        } => {
            if let Some(trust) = trust {
                update_trust(ctx, name, trust).await?;
            }
            if let Some(policy) = policy {
                put_policy(ctx, name, policy).await?;
            }
            Ok(())
        }
        Op::Delete { name } => delete(ctx, name).await,
    }
}

async fn update_trust(ctx: &Ctx, name: &str, trust: &Value) -> Result<()> {
    ctx.clients
        .iam
        .update_assume_role_policy()
        .role_name(name)
        .policy_document(trust.to_string())
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("updating the trust policy of IAM role {name}"))?;
    Ok(())
}

async fn put_policy(ctx: &Ctx, name: &str, policy: &Value) -> Result<()> {
    ctx.clients
        .iam
        .put_role_policy()
        .role_name(name)
        .policy_name(INLINE_POLICY)
        .policy_document(policy.to_string())
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("writing the inline policy of IAM role {name}"))?;
    Ok(())
}

async fn delete(ctx: &Ctx, name: &str) -> Result<()> {
    let iam = &ctx.clients.iam;
    let inline = match iam.list_role_policies().role_name(name).send().await {
        Ok(out) => out.policy_names,
        Err(err) if error_code(&err) == Some("NoSuchEntity") => return Ok(()),
        Err(err) => {
            return Err(explain(err))
                .with_context(|| format!("listing the policies of IAM role {name}"));
        }
    };
    for policy in inline {
        match iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(&policy)
            .send()
            .await
        {
            Ok(_) => {}
            Err(err) if error_code(&err) == Some("NoSuchEntity") => {}
            Err(err) => {
                return Err(explain(err))
                    .with_context(|| format!("deleting policy {policy} of IAM role {name}"));
            }
        }
    }
    let attached = iam
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("listing the managed policies of IAM role {name}"))?
        .attached_policies
        .unwrap_or_default();
    for policy in attached.into_iter().filter_map(|p| p.policy_arn) {
        iam.detach_role_policy()
            .role_name(name)
            .policy_arn(&policy)
            .send()
            .await
            .map_err(explain)
            .with_context(|| format!("detaching {policy} from IAM role {name}"))?;
    }
    match iam.delete_role().role_name(name).send().await {
        Ok(_) => Ok(()),
        Err(err) if error_code(&err) == Some("NoSuchEntity") => Ok(()),
        Err(err) => Err(explain(err)).with_context(|| format!("deleting IAM role {name}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Mode;
    use serde_json::json;

    fn desired() -> Desired {
        Desired {
            name: "login-alert-handler".into(),
            description: "d".into(),
            trust: json!({"Statement": [{"Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            policy: json!({"Statement": [{"Action": "sns:Publish", "Resource": "arn:aws:sns:us-east-1:1:t"}]}),
        }
    }

    fn current_matching() -> Current {
        let d = desired();
        Current {
            name: d.name,
            arn: "arn:aws:iam::1:role/login-alert-handler".into(),
            trust: d.trust,
            policy: Some(d.policy),
            managed: true,
        }
    }

    fn apply_plan(current: Option<&Current>) -> Plan {
        let mut plan = Plan::new(Mode::Apply, "123456789012", "us-east-1");
        plan_apply(current, &desired(), &mut plan);
        plan
    }

    #[test]
    fn missing_role_is_created_with_its_policy() {
        let plan = apply_plan(None);
        assert_eq!(plan.changes[0].action, Action::Create);
        assert_eq!(
            plan.changes[0].attrs[1].after,
            Some("sns:Publish on arn:aws:sns:us-east-1:1:t".into())
        );
    }

    #[test]
    fn matching_role_needs_nothing() {
        assert!(!apply_plan(Some(&current_matching())).has_changes());
    }

    #[test]
    fn a_widened_policy_is_put_back() {
        let mut current = current_matching();
        current.policy = Some(json!({"Statement": [{"Action": "sns:Publish", "Resource": "*"}]}));
        let plan = apply_plan(Some(&current));
        let AnyOp::Role(Op::Update { trust, policy, .. }) = &plan.changes[0].op else {
            panic!("expected an update")
        };
        assert!(trust.is_none());
        assert_eq!(policy.as_ref(), Some(&desired().policy));
        assert_eq!(
            plan.changes[0].attrs[0].before,
            Some("sns:Publish on *".into())
        );
    }

    #[test]
    fn a_deleted_inline_policy_is_restored() {
        let mut current = current_matching();
        current.policy = None;
        let plan = apply_plan(Some(&current));
        assert_eq!(plan.changes[0].action, Action::Update);
    }

    #[test]
    fn a_role_that_is_not_ours_is_never_touched() {
        let mut current = current_matching();
        current.managed = false;
        let plan = apply_plan(Some(&current));
        assert!(!plan.has_changes());
        assert_eq!(plan.blockers.len(), 1);
        let mut plan = Plan::new(Mode::Destroy, "123456789012", "us-east-1");
        plan_destroy(Some(&current), &mut plan);
        assert!(!plan.has_changes());
    }
}

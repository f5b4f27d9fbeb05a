//! IAM roles with exactly one inline policy and nothing else: the role CloudTrail uses to write
//! logs, and the function's execution role.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use futures::future::try_join_all;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::policies::{self, same_policy, statement_diff};
use crate::aws::{SdkResultExt, found_pages};
use crate::model::{Ctx, Target};
use crate::names::{INLINE_POLICY, MANAGED_BY};
use crate::part::{Named, When, kind};
use crate::plan::lifecycle::owned_when_managed;
use crate::plan::{Attr, Change, Plan};
use crate::policy::Grant;
use crate::tags;

const KIND: &str = "IAM role";

/// The role as login-alert wants it (the documents are written in [`policies`]): its trust, its
/// one inline policy, no other inline policy and no attached managed policy.
pub use super::policies::RoleDocuments as Desired;

const NO_SUCH_ENTITY: &[&str] = &["NoSuchEntity"];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Current {
    pub name: String,
    pub arn: String,
    pub trust: Value,
    /// Every inline policy, by name (login-alert's is [`INLINE_POLICY`]).
    pub inline: BTreeMap<String, Value>,
    /// The ARNs of the managed policies attached to the role.
    pub attached: Vec<String>,
    pub managed: bool,
}

owned_when_managed!(Current);

impl Current {
    /// login-alert's inline policy, if present.
    pub fn policy(&self) -> Option<&Value> {
        self.inline.get(INLINE_POLICY)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    Create {
        name: String,
        description: String,
        trust: Value,
        policy: Value,
    },
    /// Puts back what differs and removes what login-alert did not put on the role.
    Update {
        name: String,
        trust: Option<Value>,
        policy: Option<Value>,
        /// Inline policies to delete (any but login-alert's).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        delete_inline: Vec<String>,
        /// Managed policy ARNs to detach.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        detach: Vec<String>,
    },
    /// Removes inline and attached policies first: IAM refuses to delete a role that has any.
    Delete { name: String },
}

/// IAM returns policy documents URL-encoded.
fn decode(document: &str) -> Result<Value> {
    let text = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
    serde_json::from_str(&text).context("IAM returned a policy document that is not JSON")
}

/// The role CloudTrail assumes to write into login-alert's log group (only while the trail delivers there).
pub struct CloudTrailRole;

/// The function's execution role.
pub struct FunctionRole;

/// An IAM role by its name.
pub struct Role;

kind!(Role);

impl Named for CloudTrailRole {
    const NAME: &'static str = "the CloudTrail role";
    type Kind = Role;

    const WHEN: When = When::TrailDelivery;

    fn desired(&self, t: &Target) -> Desired {
        policies::cloudtrail_role(t)
    }
}

impl Named for FunctionRole {
    const NAME: &'static str = "the function's role";
    type Kind = Role;

    fn desired(&self, t: &Target) -> Desired {
        policies::function_role(t)
    }
}

/// The role EventBridge uses to forward events home (EventBridge mode only).
pub struct EventsRole;

impl Named for EventsRole {
    const NAME: &'static str = "the EventBridge forwarding role";
    type Kind = Role;

    const WHEN: When = When::EventBridge;

    fn desired(&self, t: &Target) -> Desired {
        policies::events_role(t)
    }
}

/// What `read` and `execute` call on role `name`: reading and deleting it always (a role of the
/// other mode is removed), creating and changing it only when the mode uses it (`wanted`).
pub fn permissions(t: &Target, name: &str, wanted: bool) -> Vec<Grant> {
    let actions = [
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:ListRoleTags",
        "iam:ListRolePolicies",
        "iam:DeleteRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:DetachRolePolicy",
        "iam:DeleteRole",
    ];
    // CreateRole with tags needs iam:TagRole as well.
    let creating = [
        "iam:CreateRole",
        "iam:TagRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:PutRolePolicy",
    ];
    vec![
        Grant::new("Roles", actions, [t.arns.role(name)]).unless_unused(
            wanted,
            creating,
            "RoleOfTheOtherMode",
        ),
    ]
}

/// The role, the names of its inline policies, its attached policies and its tags at the same
/// time; then every inline policy's document at the same time.
pub async fn read(ctx: &Ctx, name: &str) -> Result<Option<Current>> {
    let iam = &ctx.clients.iam;
    let (role, inline_names, attached, tags) = tokio::join!(
        iam.get_role().role_name(name).send(),
        inline_policy_names(ctx, name),
        attached_policies(ctx, name),
        iam.list_role_tags().role_name(name).send(),
    );
    let Some(role) = role
        .found_doing(NO_SUCH_ENTITY, || format!("reading IAM role {name}"))?
        .and_then(|out| out.role)
    else {
        return Ok(None);
    };
    // Deleted between the calls: as good as not there.
    let (Some(inline_names), Some(attached)) = (inline_names?, attached?) else {
        return Ok(None);
    };
    let Some(tags) = tags.found_doing(NO_SUCH_ENTITY, || {
        format!("reading the tags of IAM role {name}")
    })?
    else {
        return Ok(None);
    };
    let documents = try_join_all(inline_names.into_iter().map(|policy| async move {
        let out = iam
            .get_role_policy()
            .role_name(name)
            .policy_name(&policy)
            .send()
            .await
            .found_doing(NO_SUCH_ENTITY, || {
                format!("reading inline policy {policy} of IAM role {name}")
            })?;
        // Deleted since it was listed: not there.
        let document = match out {
            Some(out) => Some(decode(&out.policy_document)?),
            None => None,
        };
        anyhow::Ok(document.map(|d| (policy, d)))
    }))
    .await?;
    let trust = match role.assume_role_policy_document() {
        Some(doc) => decode(doc)?,
        None => Value::Null,
    };
    Ok(Some(Current {
        name: name.to_owned(),
        arn: role.arn,
        trust,
        inline: documents.into_iter().flatten().collect(),
        attached,
        managed: tags::ours_among(tags.tags, |t| (t.key, t.value)),
    }))
}

/// The names of the role's inline policies, every page; `None` when the role is gone.
async fn inline_policy_names(ctx: &Ctx, name: &str) -> Result<Option<Vec<String>>> {
    let iam = &ctx.clients.iam;
    let pages = found_pages(
        iam.list_role_policies()
            .role_name(name)
            .into_paginator()
            .send(),
        NO_SUCH_ENTITY,
        || format!("listing the inline policies of IAM role {name}"),
    )
    .await?;
    Ok(pages.map(|pages| pages.into_iter().flat_map(|p| p.policy_names).collect()))
}

/// The ARNs of the managed policies attached to the role, every page; `None` when the role is gone.
async fn attached_policies(ctx: &Ctx, name: &str) -> Result<Option<Vec<String>>> {
    let list = ctx.clients.iam.list_attached_role_policies();
    let pages = found_pages(
        list.role_name(name).into_paginator().send(),
        NO_SUCH_ENTITY,
        || format!("listing the managed policies of IAM role {name}"),
    )
    .await?;
    Ok(pages.map(|pages| {
        pages
            .into_iter()
            .flat_map(|p| p.attached_policies.unwrap_or_default())
            .filter_map(|p| p.policy_arn)
            .collect()
    }))
}

pub fn plan_apply(current: Option<&Current>, desired: &Desired, plan: &mut Plan<impl From<Op>>) {
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
                    description: desired.description.clone(),
                    trust: desired.trust.clone(),
                    policy: desired.policy.clone(),
                },
            )
            .attr(Attr::set("trusted_service", principal(&desired.trust)))
            .attr(Attr::set("policy", actions(&desired.policy)))
        },
        |current| plan_update(current, desired),
    );
}

/// What differs on our role: each statement of the trust and of our inline policy that goes or
/// comes, each other inline policy, each attached managed policy.
fn plan_update(current: &Current, desired: &Desired) -> Option<Change<Op>> {
    let mut attrs = statement_diff("trust", Some(&current.trust), &desired.trust);
    let trust = (!attrs.is_empty()).then(|| desired.trust.clone());
    let policy = match current.policy() {
        Some(p) if same_policy(p, &desired.policy) => None,
        p => {
            attrs.extend(statement_diff(INLINE_POLICY, p, &desired.policy));
            Some(desired.policy.clone())
        }
    };
    let delete_inline: Vec<String> = current
        .inline
        .iter()
        .filter(|(name, _)| name.as_str() != INLINE_POLICY)
        .map(|(name, document)| {
            attrs.push(Attr::unset(
                "inline_policy",
                format!("{name}: {}", actions(document)),
            ));
            name.clone()
        })
        .collect();
    for arn in &current.attached {
        attrs.push(Attr::unset("managed_policy", arn.clone()));
    }
    let detach = current.attached.clone();
    let removes = !delete_inline.is_empty() || !detach.is_empty();
    if trust.is_none() && policy.is_none() && !removes {
        return None;
    }
    let change = Change::update(
        KIND,
        &desired.name,
        Op::Update {
            name: desired.name.clone(),
            trust,
            policy,
            delete_inline,
            detach,
        },
    )
    .attrs(attrs);
    Some(if removes {
        change.note(format!(
            "login-alert's role carries only its own inline policy \"{INLINE_POLICY}\": any other permission is removed"
        ))
    } else {
        change
    })
}

pub fn plan_destroy(current: Option<&Current>, plan: &mut Plan<impl From<Op>>) {
    plan.remove_ours(current, |current| {
        Change::delete_named(KIND, &current.name, |name| Op::Delete { name })
    });
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
    policies::statements(policy)
        .into_iter()
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
            let created = iam
                .create_role()
                .role_name(name)
                .description(description)
                .assume_role_policy_document(trust.to_string())
                .tags(tag)
                .send()
                .await
                .found_doing(&["EntityAlreadyExists"], || {
                    format!("creating IAM role {name}")
                })?;
            if created.is_none() {
                // Left by an interrupted run: make sure its trust is ours.
                update_trust(ctx, name, trust).await?;
            }
            put_policy(ctx, name, policy).await
        }
        Op::Update {
            name,
            trust,
            policy,
            delete_inline,
            detach,
        } => {
            if let Some(trust) = trust {
                update_trust(ctx, name, trust).await?;
            }
            if let Some(policy) = policy {
                put_policy(ctx, name, policy).await?;
            }
            for policy in delete_inline {
                delete_inline_policy(ctx, name, policy).await?;
            }
            for arn in detach {
                detach_policy(ctx, name, arn).await?;
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
        .doing(|| format!("updating the trust policy of IAM role {name}"))?;
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
        .doing(|| format!("writing the inline policy of IAM role {name}"))?;
    Ok(())
}

async fn delete_inline_policy(ctx: &Ctx, name: &str, policy: &str) -> Result<()> {
    ctx.clients
        .iam
        .delete_role_policy()
        .role_name(name)
        .policy_name(policy)
        .send()
        .await
        .gone_doing(NO_SUCH_ENTITY, || {
            format!("deleting inline policy {policy} of IAM role {name}")
        })
}

async fn detach_policy(ctx: &Ctx, name: &str, arn: &str) -> Result<()> {
    ctx.clients
        .iam
        .detach_role_policy()
        .role_name(name)
        .policy_arn(arn)
        .send()
        .await
        .gone_doing(NO_SUCH_ENTITY, || {
            format!("detaching {arn} from IAM role {name}")
        })
}

async fn delete(ctx: &Ctx, name: &str) -> Result<()> {
    let (Some(inline), Some(attached)) =
        tokio::try_join!(inline_policy_names(ctx, name), attached_policies(ctx, name))?
    else {
        return Ok(());
    };
    for policy in inline {
        delete_inline_policy(ctx, name, &policy).await?;
    }
    for arn in attached {
        detach_policy(ctx, name, &arn).await?;
    }
    ctx.clients
        .iam
        .delete_role()
        .role_name(name)
        .send()
        .await
        .gone_doing(NO_SUCH_ENTITY, || format!("deleting IAM role {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Mode};
    use crate::testing::{applied, assert_refused, first, planned};
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
            inline: BTreeMap::from([(INLINE_POLICY.to_owned(), d.policy)]),
            attached: Vec::new(),
            managed: true,
        }
    }

    #[test]
    fn missing_role_is_created_with_its_policy() {
        let plan: Plan<Op> = applied(plan_apply, None, &desired());
        let change = first(&plan, Action::Create);
        assert_eq!(
            change.attrs[1].after,
            Some("sns:Publish on arn:aws:sns:us-east-1:1:t".into())
        );
    }

    #[test]
    fn matching_role_needs_nothing() {
        let plan: Plan<Op> = applied(plan_apply, Some(&current_matching()), &desired());
        assert!(!plan.has_changes());
    }

    #[test]
    fn a_widened_policy_is_put_back() {
        let mut current = current_matching();
        current.inline.insert(
            INLINE_POLICY.into(),
            json!({"Statement": [{"Action": "sns:Publish", "Resource": "*"}]}),
        );
        let plan: Plan<Op> = applied(plan_apply, Some(&current), &desired());
        let Op::Update { trust, policy, .. } = &plan.changes[0].op else {
            panic!("expected an update")
        };
        assert!(trust.is_none());
        assert_eq!(policy.as_ref(), Some(&desired().policy));
        assert_eq!(
            plan.changes[0].attrs,
            [
                Attr::unset(INLINE_POLICY, "sns:Publish on *"),
                Attr::set(INLINE_POLICY, "sns:Publish on arn:aws:sns:us-east-1:1:t")
            ]
        );
    }

    #[test]
    fn another_inline_policy_and_any_attached_policy_are_removed() {
        let mut current = current_matching();
        current.inline.insert(
            "backdoor".into(),
            json!({"Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}),
        );
        current
            .attached
            .push("arn:aws:iam::123456789012:policy/Admin".into());
        let plan: Plan<Op> = applied(plan_apply, Some(&current), &desired());
        assert_eq!(plan.changes.len(), 1);
        let change = &plan.changes[0];
        let Op::Update {
            trust,
            policy,
            delete_inline,
            detach,
            ..
        } = &change.op
        else {
            panic!("expected an update")
        };
        assert!(trust.is_none() && policy.is_none());
        assert_eq!(delete_inline, &["backdoor"]);
        assert_eq!(detach, &["arn:aws:iam::123456789012:policy/Admin"]);
        assert_eq!(
            change.attrs,
            [
                Attr::unset("inline_policy", "backdoor: iam:* on *"),
                Attr::unset("managed_policy", "arn:aws:iam::123456789012:policy/Admin")
            ]
        );
        assert!(change.notes[0].contains("any other permission is removed"));
    }

    #[test]
    fn a_widened_trust_is_put_back_statement_by_statement() {
        let mut current = current_matching();
        current.trust["Statement"]
            .as_array_mut()
            .unwrap()
            .push(json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"}));
        let plan: Plan<Op> = applied(plan_apply, Some(&current), &desired());
        let Op::Update { trust, policy, .. } = &plan.changes[0].op else {
            panic!("expected an update")
        };
        assert_eq!(trust.as_ref(), Some(&desired().trust));
        assert!(policy.is_none());
        assert_eq!(
            plan.changes[0].attrs,
            [Attr::unset(
                "trust",
                "Allow AWS:arn:aws:iam::999999999999:root sts:AssumeRole"
            )]
        );
    }

    #[test]
    fn a_deleted_inline_policy_is_restored() {
        let mut current = current_matching();
        current.inline.clear();
        let plan: Plan<Op> = applied(plan_apply, Some(&current), &desired());
        let change = first(&plan, Action::Update);
        assert_eq!(
            change.attrs,
            [Attr::set(
                INLINE_POLICY,
                "sns:Publish on arn:aws:sns:us-east-1:1:t"
            )]
        );
    }

    #[test]
    fn a_role_that_is_not_ours_is_never_touched() {
        let mut current = current_matching();
        current.managed = false;
        let plan: Plan<Op> = applied(plan_apply, Some(&current), &desired());
        assert_refused(&plan);
        let plan: Plan<Op> = planned(Mode::Destroy, |plan| plan_destroy(Some(&current), plan));
        assert!(!plan.has_changes());
    }
}

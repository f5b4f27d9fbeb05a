//! The SSM SecureString parameters holding the webhook URLs (Slack, Teams, a JSON webhook): secrets,
//! never printed; each exists only while its webhook is configured.

use anyhow::{Context, Result, bail};
use aws_sdk_ssm::types::{ParameterType, ResourceTypeForTagging, Tag};
use serde::{Deserialize, Serialize};

use crate::aws::{SdkResultExt, error_code, explain};
use crate::check::{Check, Link};
use crate::model::{Ctx, Secret, Target};
use crate::names::{MANAGED_BY, WebhookKind};
use crate::part::{Named, kind};
use crate::plan::lifecycle::{FIX, foreign, not_ours, owned_when_managed};
use crate::plan::{Action, Attr, Change, Plan, SENSITIVE};
use crate::policy::Grant;
use crate::tags;

const KIND: &str = "SSM parameter";
const NOT_FOUND: &[&str] = &["ParameterNotFound"];
const SECURE_STRING: &str = "SecureString";
/// What the plan shows when the stored value differs from the configured one.
pub const SENSITIVE_CHANGED: &str = "(sensitive value changed)";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Current {
    pub name: String,
    /// `SecureString`, `String` or `StringList`.
    pub kind: String,
    /// Decrypted, to compare with the configured URL; its `Debug` is masked and it serializes
    /// only as a digest.
    #[serde(serialize_with = "Secret::serialize_digest")]
    pub value: Secret,
    pub managed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub kind: WebhookKind,
    pub name: String,
    /// `None`: this webhook is not configured, so the parameter should not exist.
    pub value: Option<Secret>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    Create {
        name: String,
        value: Secret,
    },
    /// New value, same type: PutParameter with Overwrite.
    Overwrite {
        name: String,
        value: Secret,
    },
    /// The type is not SecureString: delete it and create it again encrypted.
    Replace {
        name: String,
        value: Secret,
    },
    Delete {
        name: String,
    },
}

impl Op {
    fn create(name: String, value: Secret) -> Op {
        Op::Create { name, value }
    }
    fn overwrite(name: String, value: Secret) -> Op {
        Op::Overwrite { name, value }
    }
    fn replace(name: String, value: Secret) -> Op {
        Op::Replace { name, value }
    }
}

owned_when_managed!(Current);

/// One part per webhook kind: the same calls, the same never-print rules, its own parameter.
macro_rules! webhook_parameter {
    ($(#[$doc:meta])* $part:ident, $kind:expr, $name:literal) => {
        $(#[$doc])*
        pub struct $part;

        impl Named for $part {
            const NAME: &'static str = $name;
            type Kind = Webhook;

            fn desired(&self, t: &Target) -> Desired {
                desired_for(t, $kind)
            }

            async fn checks(&self, ctx: &Ctx, current: Option<&Current>) -> Result<Vec<Check>> {
                Ok(check(current, &desired_for(&ctx.target, $kind)).into_iter().collect())
            }
        }
    };
}

/// A webhook's SecureString by its name.
pub struct Webhook;

kind!(Webhook);

webhook_parameter!(
    /// The SecureString holding the Slack webhook URL (only while Slack is configured).
    Parameter,
    WebhookKind::Slack,
    "the Slack parameter"
);
webhook_parameter!(
    /// The SecureString holding the Teams Workflows webhook URL (only while Teams is configured).
    TeamsParameter,
    WebhookKind::Teams,
    "the Teams parameter"
);
webhook_parameter!(
    /// The SecureString holding the generic JSON webhook URL (only while it is configured).
    WebhookParameter,
    WebhookKind::Json,
    "the JSON webhook parameter"
);

/// Every webhook parameter lives under `/<prefix>/`, a path that is login-alert's own: one grant on
/// that path covers the three (and keeps the operator policy within a managed policy's size).
/// The SecureStrings use the AWS managed key `aws/ssm`, whose key policy lets every principal of
/// the account decrypt through SSM: no kms permission is needed. So the grant is the same whichever
/// parameter `_name` is, and every mode uses them.
fn permissions(t: &Target, _name: &str, _: bool) -> Vec<Grant> {
    vec![Grant::new(
        "WebhookParameters",
        [
            "ssm:GetParameter",
            "ssm:ListTagsForResource",
            // PutParameter with tags needs ssm:AddTagsToResource as well.
            "ssm:PutParameter",
            "ssm:AddTagsToResource",
            "ssm:DeleteParameter",
        ],
        [t.arns.parameter(&format!("/{}/*", t.names.prefix))],
    )]
}

/// What `status` says of a webhook's delivery (nothing when it is not configured). Never shows the URL.
pub fn check(current: Option<&Current>, desired: &Desired) -> Option<Check> {
    let (name, destination) = match desired.kind {
        WebhookKind::Slack => ("Slack webhook parameter", "Slack"),
        WebhookKind::Teams => ("Teams webhook parameter", "Teams"),
        WebhookKind::Json => ("JSON webhook parameter", "the JSON webhook"),
    };
    let value = desired.value.as_ref()?;
    Some(match current {
        None => Check::failing(
            Link::Destinations,
            name,
            format!(
                "SSM parameter {} does not exist: the function cannot post to {destination}",
                desired.name
            ),
            "run `login-alert apply`",
        ),
        Some(c) if !c.managed => Check::failing(
            Link::Destinations,
            name,
            not_ours(KIND, &desired.name),
            format!("{FIX}, then run `login-alert apply`"),
        ),
        Some(c) if c.value != *value => Check::warning(
            Link::Destinations,
            name,
            format!("{} holds another webhook URL than the config", desired.name),
            "run `login-alert apply` to store the configured one",
        ),
        Some(c) if c.kind != SECURE_STRING => Check::warning(
            Link::Destinations,
            name,
            format!("{} is stored unencrypted ({})", desired.name, c.kind),
            "run `login-alert apply` to store it as a SecureString",
        ),
        Some(_) => Check::ok(
            Link::Destinations,
            name,
            format!(
                "{} holds the configured webhook URL (encrypted)",
                desired.name
            ),
        ),
    })
}

/// The parameter (decrypted) and its tags, read at the same time.
pub async fn read(ctx: &Ctx, name: &str) -> Result<Option<Current>> {
    let ssm = &ctx.clients.ssm;
    let (parameter, managed) = tokio::join!(
        ssm.get_parameter().name(name).with_decryption(true).send(),
        read_managed(ctx, name),
    );
    let Some(parameter) = parameter
        .found_doing(NOT_FOUND, || {
            format!("reading SSM parameter {name} (reading it needs ssm:GetParameter and kms:Decrypt on its key)")
        })?
        .and_then(|out| out.parameter)
    else {
        return Ok(None);
    };
    let Some(managed) = managed? else {
        return Ok(None);
    };
    Ok(Some(Current {
        name: name.to_owned(),
        kind: parameter
            .r#type
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        value: Secret::new(parameter.value.unwrap_or_default()),
        managed,
    }))
}

/// Whether the parameter carries our tag; `None` when it is gone.
async fn read_managed(ctx: &Ctx, name: &str) -> Result<Option<bool>> {
    let tags = ctx
        .clients
        .ssm
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .send()
        .await
        .found_doing(&["InvalidResourceId", "ParameterNotFound"], || {
            format!("reading the tags of SSM parameter {name}")
        })?;
    Ok(tags.map(|out| tags::ours_among(out.tag_list.unwrap_or_default(), |t| (t.key, t.value))))
}

/// The Slack parameter.
pub fn desired(t: &Target) -> Desired {
    desired_for(t, WebhookKind::Slack)
}

pub fn desired_for(t: &Target, kind: WebhookKind) -> Desired {
    Desired {
        kind,
        name: t.names.webhook_parameter(kind),
        value: t.webhook_url(kind).cloned(),
    }
}

pub fn plan_apply(current: Option<&Current>, desired: &Desired, plan: &mut Plan<impl From<Op>>) {
    let Some(value) = &desired.value else {
        // The webhook was removed from the config: our parameter goes, anyone else's stays.
        return plan_destroy(current, plan);
    };
    let op = |make: fn(String, Secret) -> Op| make(desired.name.clone(), value.clone());
    plan.converge(
        KIND,
        &desired.name,
        current,
        || {
            Change::create(KIND, &desired.name, op(Op::create))
                .attr(Attr::set("type", SECURE_STRING))
                .attr(Attr::set("value", SENSITIVE))
        },
        |current| {
            if current.kind != SECURE_STRING {
                Some(
                    Change::new(KIND, &desired.name, Action::Replace, op(Op::replace))
                        .attr(Attr::change("type", current.kind.clone(), SECURE_STRING))
                        .attr(if current.value == *value {
                            Attr::change("value", SENSITIVE, SENSITIVE)
                        } else {
                            value_changed()
                        })
                        .note("stored unencrypted: recreated as an encrypted SecureString"),
                )
            } else if current.value != *value {
                Some(Change::update(KIND, &desired.name, op(Op::overwrite)).attr(value_changed()))
            } else {
                None
            }
        },
    );
}

fn value_changed() -> Attr {
    Attr::change("value", SENSITIVE, SENSITIVE_CHANGED)
}

pub fn plan_destroy(current: Option<&Current>, plan: &mut Plan<impl From<Op>>) {
    plan.remove_ours(current, |current| {
        Change::delete_named(KIND, &current.name, |name| Op::Delete { name })
    });
}

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    match op {
        Op::Create { name, value } => create(ctx, name, value).await,
        Op::Overwrite { name, value } => overwrite(ctx, name, value).await,
        Op::Replace { name, value } => {
            delete(ctx, name).await?;
            create(ctx, name, value).await
        }
        Op::Delete { name } => delete(ctx, name).await,
    }
}

/// Creates the parameter with its tag in one call, so there is no moment it exists untagged.
async fn create(ctx: &Ctx, name: &str, value: &Secret) -> Result<()> {
    let tag = Tag::builder()
        .key(MANAGED_BY.0)
        .value(MANAGED_BY.1)
        .build()?;
    match ctx
        .clients
        .ssm
        .put_parameter()
        .name(name)
        .description("login-alert: a webhook URL the sign-in alert function posts to")
        .r#type(ParameterType::SecureString)
        .value(value.expose())
        .tags(tag)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        // Created a moment ago by an interrupted run: converge its value if it is ours.
        Err(err) if error_code(&err) == Some("ParameterAlreadyExists") => {
            match read_managed(ctx, name).await? {
                Some(true) | None => overwrite(ctx, name, value).await,
                Some(false) => bail!(
                    "{}; then run apply again (it appeared after the plan was made)",
                    foreign(KIND, name)
                ),
            }
        }
        // The error never carries the value (SSM does not echo it), so it is safe to show.
        Err(err) => Err(explain(err)).with_context(|| format!("creating SSM parameter {name}")),
    }
}

/// PutParameter cannot combine Overwrite with Tags; the tag is already there (the plan checked).
async fn overwrite(ctx: &Ctx, name: &str, value: &Secret) -> Result<()> {
    ctx.clients
        .ssm
        .put_parameter()
        .name(name)
        .r#type(ParameterType::SecureString)
        .value(value.expose())
        .overwrite(true)
        .send()
        .await
        .doing(|| format!("updating SSM parameter {name}"))?;
    Ok(())
}

async fn delete(ctx: &Ctx, name: &str) -> Result<()> {
    ctx.clients
        .ssm
        .delete_parameter()
        .name(name)
        .send()
        .await
        .gone_doing(NOT_FOUND, || format!("deleting SSM parameter {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Mode;
    use crate::testing::{assert_refused, first, planned};

    const URL: &str = "https://hooks.slack.com/services/T000/B000/very-secret-token";
    const NAME: &str = "/login-alert/slack-webhook-url";

    fn desired(value: Option<&str>) -> Desired {
        Desired {
            kind: WebhookKind::Slack,
            name: NAME.into(),
            value: value.map(Secret::new),
        }
    }

    fn current(kind: &str, value: &str, managed: bool) -> Current {
        Current {
            name: NAME.into(),
            kind: kind.into(),
            value: Secret::new(value),
            managed,
        }
    }

    fn apply_plan(current: Option<&Current>, desired: &Desired) -> Plan<Op> {
        planned(Mode::Apply, |plan| plan_apply(current, desired, plan))
    }

    #[test]
    fn status_checks_the_parameter_only_with_slack_and_never_shows_the_url() {
        use crate::check::Status;
        assert!(check(None, &desired(None)).is_none());
        let status = |c: Option<&Current>| check(c, &desired(Some(URL))).unwrap();
        assert_eq!(
            status(Some(&current(SECURE_STRING, URL, true))).status,
            Status::Ok
        );
        assert_eq!(status(None).status, Status::Failing);
        assert_eq!(
            status(Some(&current(SECURE_STRING, URL, false))).status,
            Status::Failing
        );
        let other = status(Some(&current(
            SECURE_STRING,
            "https://hooks.slack.com/services/x",
            true,
        )));
        assert_eq!(other.status, Status::Warning);
        assert_eq!(
            status(Some(&current("String", URL, true))).status,
            Status::Warning
        );
        assert!(
            !format!("{other:?}").contains("very-secret-token")
                && !other.detail.contains("services/x")
        );
    }

    /// Everything a reviewer or a log could see of the plan.
    fn visible(plan: &Plan<Op>) -> String {
        format!(
            "{plan:?}\n{}\n{}",
            crate::plan::render::text(plan),
            crate::plan::render::json(plan)
        )
    }

    #[test]
    fn missing_parameter_is_created_as_secure_string_without_showing_the_url() {
        let plan = apply_plan(None, &desired(Some(URL)));
        let change = first(&plan, Action::Create);
        assert_eq!(change.attrs[0].after, Some(SECURE_STRING.into()));
        assert_eq!(change.attrs[1].after, Some(SENSITIVE.into()));
        assert!(!visible(&plan).contains("very-secret-token"));
    }

    #[test]
    fn matching_parameter_needs_nothing() {
        assert!(
            !apply_plan(
                Some(&current(SECURE_STRING, URL, true)),
                &desired(Some(URL))
            )
            .has_changes()
        );
    }

    #[test]
    fn a_changed_value_is_overwritten_and_shown_only_as_changed() {
        let plan = apply_plan(
            Some(&current(
                SECURE_STRING,
                "https://hooks.slack.com/services/old-secret",
                true,
            )),
            &desired(Some(URL)),
        );
        assert_eq!(plan.changes[0].action, Action::Update);
        assert!(matches!(&plan.changes[0].op, Op::Overwrite { .. }));
        assert_eq!(
            plan.changes[0].attrs[0],
            Attr::change("value", SENSITIVE, SENSITIVE_CHANGED)
        );
        let seen = visible(&plan);
        assert!(
            !seen.contains("very-secret-token") && !seen.contains("old-secret"),
            "{seen}"
        );
    }

    #[test]
    fn a_plaintext_parameter_is_replaced_by_a_secure_string() {
        let plan = apply_plan(Some(&current("String", URL, true)), &desired(Some(URL)));
        let change = first(&plan, Action::Replace);
        assert_eq!(
            change.attrs[0],
            Attr::change("type", "String", SECURE_STRING)
        );
        assert!(!visible(&plan).contains("very-secret-token"));
    }

    #[test]
    fn removing_slack_deletes_our_parameter_only() {
        let plan = apply_plan(Some(&current(SECURE_STRING, URL, true)), &desired(None));
        first(&plan, Action::Delete);
        assert!(
            !apply_plan(Some(&current(SECURE_STRING, URL, false)), &desired(None)).has_changes()
        );
        assert!(!apply_plan(None, &desired(None)).has_changes());
    }

    #[test]
    fn a_parameter_that_is_not_ours_blocks_apply_and_survives_destroy() {
        let theirs = current(SECURE_STRING, URL, false);
        let plan = apply_plan(Some(&theirs), &desired(Some(URL)));
        assert_refused(&plan);
        let plan: Plan<Op> = planned(Mode::Destroy, |plan| plan_destroy(Some(&theirs), plan));
        assert!(!plan.has_changes());
        assert_eq!(plan.notices.len(), 1);
        let plan: Plan<Op> = planned(Mode::Destroy, |plan| {
            plan_destroy(Some(&current(SECURE_STRING, URL, true)), plan)
        });
        assert_eq!(plan.changes[0].action, Action::Delete);
    }

    #[test]
    fn teams_and_the_json_webhook_get_parameters_of_their_own_only_while_configured() {
        let mut config = crate::config::Config::read_str(
            "region = \"us-east-1\"\n[trail]\ncreate = true\n[notify]\nteams_webhook_url = \"https://x.logic.azure.com/workflows/TEAMS-SECRET\"\n",
        );
        let t = Target::new(&config, "123456789012");
        let teams = desired_for(&t, WebhookKind::Teams);
        assert_eq!(teams.name, "/login-alert/teams-webhook-url");
        let plan = apply_plan(None, &teams);
        first(&plan, Action::Create);
        assert!(!visible(&plan).contains("TEAMS-SECRET"));
        let json = desired_for(&t, WebhookKind::Json);
        assert_eq!(json.name, "/login-alert/webhook-url");
        assert!(json.value.is_none());
        assert!(!apply_plan(None, &json).has_changes());
        let missing = check(None, &teams).unwrap();
        assert_eq!(missing.name, "Teams webhook parameter");
        assert!(missing.detail.contains("cannot post to Teams"));
        // A saved plan's placeholder is filled from the config by the parameter's name.
        assert_eq!(
            t.secret_of("/login-alert/teams-webhook-url")
                .map(Secret::expose),
            Some("https://x.logic.azure.com/workflows/TEAMS-SECRET")
        );
        assert_eq!(t.secret_of("/login-alert/webhook-url"), None);
        config.notify.teams_webhook_url = None;
        let t = Target::new(&config, "123456789012");
        let stored = Current {
            name: teams.name.clone(),
            kind: SECURE_STRING.into(),
            value: Secret::new("x"),
            managed: true,
        };
        let plan = apply_plan(Some(&stored), &desired_for(&t, WebhookKind::Teams));
        first(&plan, Action::Delete);
    }

    #[test]
    fn the_secret_never_shows_in_debug_of_ops_or_state() {
        let op = Op::Create {
            name: NAME.into(),
            value: Secret::new(URL),
        };
        assert!(!format!("{op:?}").contains("very-secret-token"));
        assert!(
            !serde_json::to_string(&op)
                .unwrap()
                .contains("very-secret-token")
        );
        assert!(!format!("{:?}", current(SECURE_STRING, URL, true)).contains("very-secret-token"));
    }
}

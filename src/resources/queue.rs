//! The SQS queue that keeps the function's failed asynchronous invocations (its on-failure
//! destination): encrypted by SQS, kept 14 days, watched by an alarm and by `status`.

use std::collections::HashMap;

use anyhow::{Context, Result};
use aws_sdk_sqs::types::QueueAttributeName;
use serde::{Deserialize, Serialize};

use crate::aws::{SdkResultExt, error_code, explain};
use crate::check::{Check, Link};
use crate::model::{Ctx, Target};
use crate::part::{Named, kind};
use crate::plan::lifecycle::{FIX, field_diff, field_set, not_ours, owned_when_managed};
use crate::plan::{Change, Plan};
use crate::policy::Grant;
use crate::retry::{Bound, Stopped, patiently};
use crate::tags;

const KIND: &str = "SQS queue";
/// SQS's longest retention: two weeks to notice (the alarm) and read what failed.
pub const RETENTION_SECONDS: i64 = 14 * 24 * 3600;
/// How SQS says a queue does not exist (the JSON protocol's name and the query-compatible code).
const NOT_FOUND: &[&str] = &[
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
];
/// A queue of this name exists with other attributes.
const EXISTS: &[&str] = &["QueueAlreadyExists", "QueueNameExists"];
/// SQS refuses to create a queue under a name deleted less than 60 seconds ago.
const DELETED_RECENTLY: &[&str] = &[
    "AWS.SimpleQueueService.QueueDeletedRecently",
    "QueueDeletedRecently",
];
const RECREATE_BOUND: Bound = Bound {
    total: std::time::Duration::from_secs(90),
    first_delay: std::time::Duration::from_secs(5),
    max_delay: std::time::Duration::from_secs(15),
};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Current {
    pub name: String,
    pub url: String,
    pub arn: String,
    pub retention_seconds: Option<i64>,
    /// `SqsManagedSseEnabled`: encrypted with keys SQS owns (no KMS key policy for the function to need).
    pub sqs_managed_sse: bool,
    /// Messages waiting (`ApproximateNumberOfMessages`): failed invocations nobody has read yet.
    pub waiting: u64,
    pub managed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub name: String,
    pub retention_seconds: i64,
}

/// The queue's settings a plan shows, by the names SQS gives them.
#[derive(Serialize)]
struct Settings {
    message_retention_seconds: Option<i64>,
    sqs_managed_sse_enabled: bool,
}

impl Current {
    fn settings(&self) -> Settings {
        Settings {
            message_retention_seconds: self.retention_seconds,
            sqs_managed_sse_enabled: self.sqs_managed_sse,
        }
    }
}

impl Desired {
    fn settings(&self) -> Settings {
        Settings {
            message_retention_seconds: Some(self.retention_seconds),
            sqs_managed_sse_enabled: true,
        }
    }
}

owned_when_managed!(Current);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    Create {
        name: String,
        retention_seconds: i64,
    },
    /// Retention and encryption put back as wanted.
    SetAttributes {
        name: String,
        retention_seconds: i64,
    },
    Delete {
        name: String,
    },
}

/// The failed-event queue.
pub struct Queue;

kind!(Queue);

impl Named for Queue {
    const NAME: &'static str = "the failed-event queue";
    type Kind = Queue;

    fn desired(&self, t: &Target) -> Desired {
        desired(t)
    }

    async fn checks(&self, ctx: &Ctx, current: Option<&Current>) -> Result<Vec<Check>> {
        Ok(vec![check(current, &ctx.target)])
    }
}

/// What the queue `name` needs of IAM; every mode uses it.
fn permissions(t: &Target, name: &str, _: bool) -> Vec<Grant> {
    vec![Grant::new(
        "FailedEventQueue",
        [
            "sqs:GetQueueUrl",
            "sqs:GetQueueAttributes",
            "sqs:ListQueueTags",
            // CreateQueue with tags needs sqs:TagQueue as well.
            "sqs:CreateQueue",
            "sqs:TagQueue",
            "sqs:SetQueueAttributes",
            "sqs:DeleteQueue",
        ],
        [t.arns.queue(name)],
    )]
}

pub fn desired(t: &Target) -> Desired {
    Desired {
        name: t.names.failed_events_queue(),
        retention_seconds: RETENTION_SECONDS,
    }
}

/// The queue's URL, then its attributes and tags at the same time.
pub async fn read(ctx: &Ctx, name: &str) -> Result<Option<Current>> {
    let sqs = &ctx.clients.sqs;
    let Some(url) = url_of(ctx, name).await? else {
        return Ok(None);
    };
    let (attributes, tags) = tokio::join!(
        sqs.get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::All)
            .send(),
        sqs.list_queue_tags().queue_url(&url).send(),
    );
    // Deleted between the calls: as good as not there.
    let Some(attributes) = attributes.found_doing(NOT_FOUND, || {
        format!("reading the attributes of SQS queue {name}")
    })?
    else {
        return Ok(None);
    };
    let Some(tags) = tags.found_doing(NOT_FOUND, || {
        format!("reading the tags of SQS queue {name}")
    })?
    else {
        return Ok(None);
    };
    let attributes = attributes.attributes.unwrap_or_default();
    let get = |key: QueueAttributeName| attributes.get(&key).map(String::as_str);
    Ok(Some(Current {
        name: name.to_owned(),
        arn: get(QueueAttributeName::QueueArn)
            .map(str::to_owned)
            .unwrap_or_else(|| ctx.target.arns.queue(name)),
        url,
        retention_seconds: get(QueueAttributeName::MessageRetentionPeriod)
            .and_then(|v| v.parse().ok()),
        sqs_managed_sse: get(QueueAttributeName::SqsManagedSseEnabled)
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        waiting: get(QueueAttributeName::ApproximateNumberOfMessages)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        managed: tags::is_managed(&tags.tags.unwrap_or_default()),
    }))
}

async fn url_of(ctx: &Ctx, name: &str) -> Result<Option<String>> {
    Ok(ctx
        .clients
        .sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .found_doing(NOT_FOUND, || format!("looking up SQS queue {name}"))?
        .and_then(|out| out.queue_url))
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
                    retention_seconds: desired.retention_seconds,
                },
            )
            .attrs(field_set(&desired.settings()))
            .note("the function's failed invocations land here after Lambda's retries")
        },
        |current| {
            let attrs = field_diff(&current.settings(), &desired.settings());
            (!attrs.is_empty()).then(|| {
                Change::update(
                    KIND,
                    &desired.name,
                    Op::SetAttributes {
                        name: desired.name.clone(),
                        retention_seconds: desired.retention_seconds,
                    },
                )
                .attrs(attrs)
            })
        },
    );
}

pub fn plan_destroy(current: Option<&Current>, plan: &mut Plan<impl From<Op>>) {
    plan.remove_ours(current, |current| {
        let change = Change::delete_named(KIND, &current.name, |name| Op::Delete { name });
        if current.waiting > 0 {
            change.note(format!(
                "it still holds {} failed invocation(s), deleted with it",
                current.waiting
            ))
        } else {
            change
        }
    });
}

/// What `status` says: the queue is there, and empty.
pub fn check(current: Option<&Current>, t: &Target) -> Check {
    const NAME: &str = "failed-event queue";
    let name = t.names.failed_events_queue();
    match current {
        None => Check::warning(
            Link::FailedEvents,
            NAME,
            format!(
                "SQS queue {name} does not exist: an alert that fails after Lambda's retries is lost"
            ),
            "run `login-alert apply`",
        ),
        Some(c) if !c.managed => Check::warning(
            Link::FailedEvents,
            NAME,
            not_ours(KIND, &name),
            format!("{FIX}, then run `login-alert apply`"),
        ),
        Some(c) if c.waiting > 0 => Check::warning(
            Link::FailedEvents,
            NAME,
            format!(
                "{} failed invocation(s) waiting in {name}: alerts that could not be delivered",
                c.waiting
            ),
            format!(
                "read them with `aws sqs receive-message --queue-url {} --max-number-of-messages 10 --region {}`, fix the cause \
                 (`aws logs tail {} --since 1d --region {}`), then empty the queue with `aws sqs purge-queue --queue-url {} --region {}`",
                c.url,
                t.region(),
                t.names.function_log_group(),
                t.region(),
                c.url,
                t.region()
            ),
        ),
        Some(_) => Check::ok(
            Link::FailedEvents,
            NAME,
            format!("{name} is empty (failed invocations are kept 14 days)"),
        ),
    }
}

fn attributes(retention_seconds: i64) -> HashMap<QueueAttributeName, String> {
    HashMap::from([
        (
            QueueAttributeName::MessageRetentionPeriod,
            retention_seconds.to_string(),
        ),
        (QueueAttributeName::SqsManagedSseEnabled, "true".to_owned()),
    ])
}

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    let sqs = &ctx.clients.sqs;
    match op {
        Op::Create {
            name,
            retention_seconds,
        } => {
            let result = patiently(
                &ctx.printer,
                RECREATE_BOUND,
                format!("waiting for SQS: a queue named {name} was deleted less than a minute ago"),
                "waiting until SQS accepts the name again",
                |err: &aws_sdk_sqs::error::SdkError<_, _>| {
                    error_code(err).is_some_and(|c| DELETED_RECENTLY.contains(&c))
                },
                || {
                    sqs.create_queue()
                        .queue_name(name)
                        .set_attributes(Some(attributes(*retention_seconds)))
                        .set_tags(Some(tags::managed()))
                        .send()
                },
            )
            .await;
            match result {
                Ok(_) => Ok(()),
                // Left by an interrupted run with other attributes: converge them.
                Err(Stopped::Failed(err))
                    if error_code(&err).is_some_and(|c| EXISTS.contains(&c)) =>
                {
                    set_attributes(ctx, name, *retention_seconds).await
                }
                Err(Stopped::Failed(err) | Stopped::TimedOut { last: err, .. }) => {
                    Err(explain(err)).with_context(|| format!("creating SQS queue {name}"))
                }
            }
        }
        Op::SetAttributes {
            name,
            retention_seconds,
        } => set_attributes(ctx, name, *retention_seconds).await,
        Op::Delete { name } => {
            let Some(url) = url_of(ctx, name).await? else {
                return Ok(());
            };
            sqs.delete_queue()
                .queue_url(&url)
                .send()
                .await
                .gone_doing(NOT_FOUND, || format!("deleting SQS queue {name}"))
        }
    }
}

async fn set_attributes(ctx: &Ctx, name: &str, retention_seconds: i64) -> Result<()> {
    let url = url_of(ctx, name)
        .await?
        .with_context(|| format!("SQS queue {name} disappeared: run `login-alert apply` again"))?;
    ctx.clients
        .sqs
        .set_queue_attributes()
        .queue_url(&url)
        .set_attributes(Some(attributes(retention_seconds)))
        .send()
        .await
        .doing(|| format!("setting the retention and encryption of SQS queue {name}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Attr, Mode};
    use crate::testing::{applied, first, planned};

    fn desired() -> Desired {
        Desired {
            name: "login-alert-failed-events".into(),
            retention_seconds: RETENTION_SECONDS,
        }
    }

    fn current() -> Current {
        Current {
            name: "login-alert-failed-events".into(),
            url: "https://sqs.eu-west-1.amazonaws.com/123456789012/login-alert-failed-events"
                .into(),
            arn: "arn:aws:sqs:eu-west-1:123456789012:login-alert-failed-events".into(),
            retention_seconds: Some(RETENTION_SECONDS),
            sqs_managed_sse: true,
            waiting: 0,
            managed: true,
        }
    }

    #[test]
    fn a_missing_queue_is_created_encrypted_and_kept_14_days() {
        let plan: Plan<Op> = applied(plan_apply, None, &desired());
        let change = first(&plan, Action::Create);
        assert_eq!(
            change.attrs,
            [
                Attr::set("message_retention_seconds", 1_209_600),
                Attr::set("sqs_managed_sse_enabled", true)
            ]
        );
        let sent = attributes(RETENTION_SECONDS);
        assert_eq!(sent[&QueueAttributeName::MessageRetentionPeriod], "1209600");
        assert_eq!(sent[&QueueAttributeName::SqsManagedSseEnabled], "true");
    }

    #[test]
    fn a_matching_queue_needs_nothing_and_drift_is_put_back() {
        let plan: Plan<Op> = applied(plan_apply, Some(&current()), &desired());
        assert!(!plan.has_changes());
        let mut drifted = current();
        drifted.retention_seconds = Some(345_600);
        drifted.sqs_managed_sse = false;
        let plan: Plan<Op> = applied(plan_apply, Some(&drifted), &desired());
        assert_eq!(plan.changes[0].action, Action::Update);
        assert_eq!(plan.changes[0].attrs.len(), 2);
    }

    #[test]
    fn a_foreign_queue_blocks_and_survives_destroy() {
        let mut theirs = current();
        theirs.managed = false;
        let plan: Plan<Op> = applied(plan_apply, Some(&theirs), &desired());
        assert!(!plan.has_changes() && plan.blockers.len() == 1);
        let plan: Plan<Op> = planned(Mode::Destroy, |plan| plan_destroy(Some(&theirs), plan));
        assert!(!plan.has_changes());
    }

    #[test]
    fn status_warns_of_a_missing_queue_and_of_failures_waiting_in_it() {
        use crate::check::Status;
        let config = crate::config::sample("eu-west-1");
        let t = Target::new(&config, "123456789012");
        assert_eq!(check(Some(&current()), &t).status, Status::Ok);
        assert!(check(None, &t).detail.contains("is lost"));
        let mut full = current();
        full.waiting = 2;
        let waiting = check(Some(&full), &t);
        assert_eq!(waiting.status, Status::Warning);
        assert!(waiting.detail.starts_with("2 failed invocation(s) waiting"));
        assert!(
            waiting
                .fix
                .unwrap()
                .contains("aws sqs purge-queue --queue-url https://sqs.eu-west-1.amazonaws.com/")
        );
    }

    #[test]
    fn destroy_says_when_failed_invocations_go_with_the_queue() {
        let mut full = current();
        full.waiting = 3;
        let plan: Plan<Op> = planned(Mode::Destroy, |plan| plan_destroy(Some(&full), plan));
        assert!(plan.changes[0].notes[0].contains("3 failed invocation(s)"));
    }
}

//! How Lambda treats the function's asynchronous invocations (CloudWatch Logs invokes it that way):
//! an explicit retry setting, and the failed-event queue as the on-failure destination.

use anyhow::{Context, Result};
use aws_sdk_lambda::types::{DestinationConfig, OnFailure};
use serde::{Deserialize, Serialize};

use crate::aws::{SdkResultExt, error_code, error_message, explain};
use crate::check::{Check, Link};
use crate::model::{Ctx, Facts, Target};
use crate::part::Part;
use crate::plan::{Action, Attr, Change, Plan};
use crate::policy::Grant;
use crate::retry::{Stopped, patiently};

const KIND: &str = "Lambda async invoke config";
const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
/// Lambda's own default, made explicit: a failed alert is tried three times in all (about 3 minutes).
pub const MAX_RETRIES: i32 = 2;
/// Lambda's longest: an invocation throttled or queued for hours is still delivered.
pub const MAX_EVENT_AGE_SECONDS: i32 = 6 * 3600;
/// Lambda checks the execution role when the destination is set; a statement just added may not be
/// visible to it yet (IAM propagation). Also said when the role truly lacks it, hence the bound.
const ROLE_CANNOT_SEND: &str = "does not have permissions to call";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Current {
    pub function: String,
    pub max_retries: Option<i32>,
    pub max_event_age_seconds: Option<i32>,
    pub on_failure: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub function: String,
    pub max_retries: i32,
    pub max_event_age_seconds: i32,
    pub on_failure: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// PutFunctionEventInvokeConfig: replaces the whole configuration.
    Put {
        function: String,
        max_retries: i32,
        max_event_age_seconds: i32,
        on_failure: String,
    },
    Delete {
        function: String,
    },
}

/// The function's asynchronous invocation settings. Not taggable: login-alert's while the function is.
pub struct InvokeConfig;

impl Part for InvokeConfig {
    const NAME: &'static str = "the function's failed-event destination";
    type Current = Option<Current>;
    type Op = Op;

    fn permissions(&self, t: &Target) -> Vec<Grant> {
        vec![Grant::new(
            "Function",
            [
                "lambda:GetFunctionEventInvokeConfig",
                "lambda:PutFunctionEventInvokeConfig",
                "lambda:DeleteFunctionEventInvokeConfig",
            ],
            [t.function_arn()],
        )]
    }

    /// Read beside the function (no function reads as no configuration); whether the function is
    /// login-alert's comes from what the function part teaches.
    async fn read(&self, ctx: &Ctx, _: &Facts) -> Result<Option<Current>> {
        read(ctx, &ctx.target.names.function()).await
    }

    fn plan_apply(
        &self,
        current: &Option<Current>,
        t: &Target,
        facts: &Facts,
        plan: &mut Plan<Op>,
    ) {
        // Someone else's function of that name blocks the plan already (function part).
        if facts.function_managed != Some(false) {
            plan_apply(current.as_ref(), &desired(t), plan);
        }
    }

    fn plan_destroy(
        &self,
        current: &Option<Current>,
        _: &Target,
        facts: &Facts,
        plan: &mut Plan<Op>,
    ) {
        if facts.function_managed == Some(true) {
            plan_destroy(current.as_ref(), plan);
        }
    }

    async fn checks(
        &self,
        ctx: &Ctx,
        current: &Option<Current>,
        facts: &Facts,
    ) -> Result<Vec<Check>> {
        if facts.function_managed.is_none() {
            // No function: its own check says so.
            return Ok(Vec::new());
        }
        Ok(vec![check(current.as_ref(), &desired(&ctx.target))])
    }
}

pub fn desired(t: &Target) -> Desired {
    Desired {
        function: t.names.function(),
        max_retries: MAX_RETRIES,
        max_event_age_seconds: MAX_EVENT_AGE_SECONDS,
        on_failure: t.arns.queue(&t.names.failed_events_queue()),
    }
}

pub async fn read(ctx: &Ctx, function: &str) -> Result<Option<Current>> {
    let Some(out) = ctx
        .clients
        .lambda
        .get_function_event_invoke_config()
        .function_name(function)
        .send()
        .await
        .found_doing(NOT_FOUND, || {
            format!("reading the async invoke config of Lambda function {function}")
        })?
    else {
        return Ok(None);
    };
    Ok(Some(Current {
        function: function.to_owned(),
        max_retries: out.maximum_retry_attempts,
        max_event_age_seconds: out.maximum_event_age_in_seconds,
        on_failure: out
            .destination_config
            .and_then(|d| d.on_failure)
            .and_then(|f| f.destination)
            .filter(|d| !d.is_empty()),
    }))
}

pub fn plan_apply(current: Option<&Current>, desired: &Desired, plan: &mut Plan<impl From<Op>>) {
    let mut attrs = Vec::new();
    let mut field = |name: &str, before: Option<serde_json::Value>, after: serde_json::Value| {
        if before.as_ref() != Some(&after) {
            attrs.push(Attr::new(name, before, Some(after)));
        }
    };
    field(
        "maximum_retry_attempts",
        current.and_then(|c| c.max_retries).map(Into::into),
        desired.max_retries.into(),
    );
    field(
        "maximum_event_age_in_seconds",
        current
            .and_then(|c| c.max_event_age_seconds)
            .map(Into::into),
        desired.max_event_age_seconds.into(),
    );
    field(
        "on_failure_destination",
        current.and_then(|c| c.on_failure.clone()).map(Into::into),
        desired.on_failure.clone().into(),
    );
    if attrs.is_empty() {
        return;
    }
    let action = if current.is_some() {
        Action::Update
    } else {
        Action::Create
    };
    plan.push(Some(
        Change::new(
            KIND,
            &desired.function,
            action,
            Op::Put {
                function: desired.function.clone(),
                max_retries: desired.max_retries,
                max_event_age_seconds: desired.max_event_age_seconds,
                on_failure: desired.on_failure.clone(),
            },
        )
        .attrs(attrs),
    ));
}

pub fn plan_destroy(current: Option<&Current>, plan: &mut Plan<impl From<Op>>) {
    if let Some(current) = current {
        plan.push(Some(Change::delete(
            KIND,
            &current.function,
            Op::Delete {
                function: current.function.clone(),
            },
        )));
    }
}

/// What `status` says: failed invocations go to the queue after the retries.
pub fn check(current: Option<&Current>, desired: &Desired) -> Check {
    const NAME: &str = "failed-event destination";
    match current.and_then(|c| c.on_failure.as_deref()) {
        Some(queue) if queue == desired.on_failure => Check::ok(
            Link::FailedEvents,
            NAME,
            format!(
                "after {} retries, failed invocations go to {queue}",
                current.and_then(|c| c.max_retries).unwrap_or(MAX_RETRIES)
            ),
        ),
        other => Check::warning(
            Link::FailedEvents,
            NAME,
            match other {
                Some(elsewhere) => format!(
                    "failed invocations of {} go to {elsewhere}, not to login-alert's queue",
                    desired.function
                ),
                None => format!(
                    "{} has no on-failure destination: an alert that still fails after Lambda's retries is lost",
                    desired.function
                ),
            },
            "run `login-alert apply`",
        ),
    }
}

fn is_role_not_ready(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("InvalidParameterValueException")
        && message.is_some_and(|m| m.contains(ROLE_CANNOT_SEND))
}

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    let lambda = &ctx.clients.lambda;
    match op {
        Op::Put {
            function,
            max_retries,
            max_event_age_seconds,
            on_failure,
        } => {
            let destination = DestinationConfig::builder()
                .on_failure(OnFailure::builder().destination(on_failure).build())
                .build();
            let result = patiently(
                &ctx.printer,
                ctx.iam_bound,
                format!("waiting for IAM: the role of {function} may not send to {on_failure} yet"),
                "waiting for the role's sqs:SendMessage to take effect",
                |err: &aws_sdk_lambda::error::SdkError<_, _>| {
                    is_role_not_ready(error_code(err), error_message(err))
                        || error_code(err) == Some("ResourceConflictException")
                },
                || {
                    lambda
                        .put_function_event_invoke_config()
                        .function_name(function)
                        .maximum_retry_attempts(*max_retries)
                        .maximum_event_age_in_seconds(*max_event_age_seconds)
                        .destination_config(destination.clone())
                        .send()
                },
            )
            .await;
            match result {
                Ok(_) => Ok(()),
                Err(Stopped::Failed(err)) => Err(explain(err))
                    .with_context(|| format!("setting the async invoke config of {function}")),
                Err(Stopped::TimedOut {
                    last,
                    attempts,
                    waited,
                }) => Err(explain(last)).with_context(|| {
                    format!(
                        "Lambda still refused the on-failure destination of {function} after {attempts} attempts over {}s: \
                         the function's role needs sqs:SendMessage on {on_failure} (login-alert's inline policy grants it; \
                         run `login-alert plan` to see whether the role differs)",
                        waited.as_secs()
                    )
                }),
            }
        }
        Op::Delete { function } => lambda
            .delete_function_event_invoke_config()
            .function_name(function)
            .send()
            .await
            .gone_doing(NOT_FOUND, || {
                format!("deleting the async invoke config of {function}")
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{applied, attr_names, first};

    const QUEUE: &str = "arn:aws:sqs:eu-west-1:123456789012:login-alert-failed-events";

    fn desired() -> Desired {
        Desired {
            function: "login-alert-handler".into(),
            max_retries: MAX_RETRIES,
            max_event_age_seconds: MAX_EVENT_AGE_SECONDS,
            on_failure: QUEUE.into(),
        }
    }

    fn matching() -> Current {
        Current {
            function: "login-alert-handler".into(),
            max_retries: Some(2),
            max_event_age_seconds: Some(21600),
            on_failure: Some(QUEUE.into()),
        }
    }

    #[test]
    fn a_missing_config_is_created_with_retries_age_and_destination() {
        let plan: Plan<Op> = applied(plan_apply, None, &desired());
        first(&plan, Action::Create);
        let names = attr_names(&plan);
        assert_eq!(
            names,
            [
                "maximum_retry_attempts",
                "maximum_event_age_in_seconds",
                "on_failure_destination"
            ]
        );
    }

    #[test]
    fn a_matching_config_needs_nothing_and_a_removed_destination_is_put_back() {
        let plan: Plan<Op> = applied(plan_apply, Some(&matching()), &desired());
        assert!(!plan.has_changes());
        let mut drifted = matching();
        drifted.on_failure = None;
        drifted.max_retries = Some(0);
        let plan: Plan<Op> = applied(plan_apply, Some(&drifted), &desired());
        assert_eq!(plan.changes[0].action, Action::Update);
        assert_eq!(
            plan.changes[0].attrs,
            [
                Attr::change("maximum_retry_attempts", 0, 2),
                Attr::new("on_failure_destination", None, Some(QUEUE.into()))
            ]
        );
    }

    #[test]
    fn the_check_names_a_missing_or_foreign_destination() {
        assert_eq!(
            check(Some(&matching()), &desired()).status,
            crate::check::Status::Ok
        );
        let none = check(None, &desired());
        assert_eq!(none.status, crate::check::Status::Warning);
        assert!(none.detail.contains("is lost"), "{}", none.detail);
        let mut elsewhere = matching();
        elsewhere.on_failure = Some("arn:aws:sqs:eu-west-1:123456789012:theirs".into());
        assert!(
            check(Some(&elsewhere), &desired())
                .detail
                .contains("theirs")
        );
    }

    #[test]
    fn only_the_missing_send_permission_is_waited_for() {
        assert!(is_role_not_ready(
            Some("InvalidParameterValueException"),
            Some(
                "The provided execution role does not have permissions to call SendMessage on SQS"
            )
        ));
        assert!(!is_role_not_ready(
            Some("InvalidParameterValueException"),
            Some("Destination ARN is invalid")
        ));
    }
}

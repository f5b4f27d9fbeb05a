//! The AWS resources login-alert manages, one module each, and the engine that plans and applies them.
//!
//! Every module has the same shape:
//! - `read(ctx, …) -> Result<Option<Current>>` — reads the live resource, never writes;
//! - `plan_apply(current, desired, plan)` / `plan_destroy(current, plan)` — pure functions pushing
//!   [`Change`]s (and notices or blockers) onto the plan;
//! - `execute(ctx, op)` — runs one planned operation, idempotently ("already there" / "already gone" is success).

pub mod bucket;
pub mod function;
pub mod log_group;
pub mod parameter;
pub mod permission;
pub mod policies;
pub mod role;
pub mod subscription_filter;
pub mod topic;
pub mod trail;

use std::collections::HashMap;
use std::fmt;

use anyhow::{Context, Result};
use login_alert_handler::Scope;
use serde::Serialize;

use crate::aws::Clients;
use crate::config::Config;
use crate::names::{Arns, MANAGED_BY, Names};
use crate::plan::{Change, Mode, Plan};
use crate::printer::Printer;
use crate::retry::Bound;

/// A value that must never be printed: Debug, Display and JSON show a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::plan::SENSITIVE)
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(crate::plan::SENSITIVE)
    }
}

/// Which trail carries the events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrailChoice {
    /// The user's existing trail (name or ARN): changed, never deleted.
    Adopt(String),
    /// A trail login-alert creates (with its S3 bucket).
    Create,
}

/// The desired state: the validated config plus what only the account can tell (its ID).
#[derive(Debug, Clone)]
pub struct Target {
    pub arns: Arns,
    pub names: Names,
    pub trail: TrailChoice,
    pub emails: Vec<String>,
    pub slack_webhook_url: Option<Secret>,
    /// Shown in messages; the account ID when the config names none.
    pub account_name: String,
    pub timezone: String,
    pub scope: Scope,
    pub log_retention_days: i32,
}

impl Target {
    pub fn new(config: &Config, account_id: &str) -> Self {
        Target {
            arns: Arns::new(account_id, &config.region),
            names: Names::new(&config.name_prefix),
            trail: match &config.trail.name {
                Some(name) if !config.trail.create => TrailChoice::Adopt(name.clone()),
                _ => TrailChoice::Create,
            },
            emails: config.notify.emails.clone(),
            slack_webhook_url: config.notify.slack_webhook_url.clone().map(Secret::new),
            account_name: config
                .account_name
                .clone()
                .unwrap_or_else(|| account_id.to_owned()),
            timezone: config.timezone.clone(),
            scope: config.scope,
            log_retention_days: config.log_retention_days,
        }
    }

    pub fn account_id(&self) -> &str {
        &self.arns.account_id
    }

    pub fn region(&self) -> &str {
        &self.arns.region
    }

    /// The topic exists only when someone is notified by email.
    pub fn topic_arn(&self) -> Option<String> {
        (!self.emails.is_empty()).then(|| self.arns.topic(&self.names.topic()))
    }

    /// The SSM parameter exists only when a Slack webhook is configured.
    pub fn slack_parameter(&self) -> Option<String> {
        self.slack_webhook_url
            .as_ref()
            .map(|_| self.names.slack_parameter())
    }
}

/// Everything an operation needs: clients in the pipeline's region, the target, output, retry bounds.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub clients: Clients,
    pub target: Target,
    pub printer: Printer,
    pub iam_bound: Bound,
    pub lambda_bound: Bound,
}

impl Ctx {
    pub fn new(clients: Clients, target: Target, printer: Printer) -> Self {
        Ctx {
            clients,
            target,
            printer,
            iam_bound: Bound::IAM_PROPAGATION,
            lambda_bound: Bound::LAMBDA_READY,
        }
    }
}

/// Whether a resource's tags say login-alert created it.
pub fn is_managed(tags: &HashMap<String, String>) -> bool {
    tags.get(MANAGED_BY.0).is_some_and(|v| v == MANAGED_BY.1)
}

/// The `managed-by` tag as a map, for services that take tags as one.
pub fn managed_tags() -> HashMap<String, String> {
    HashMap::from([(MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned())])
}

/// One planned operation; each resource module defines its own.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "resource", rename_all = "kebab-case")]
pub enum Op {
    Bucket(bucket::Op),
    LogGroup(log_group::Op),
    Role(role::Op),
    Trail(trail::Op),
    Topic(topic::Op),
    Parameter(parameter::Op),
    Function(function::Op),
    Permission(permission::Op),
    SubscriptionFilter(subscription_filter::Op),
    /// Does nothing: for rendering tests.
    #[cfg(test)]
    Noop,
}

/// Runs one planned operation.
pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    match op {
        Op::Bucket(op) => bucket::execute(ctx, op).await,
        Op::LogGroup(op) => log_group::execute(ctx, op).await,
        Op::Role(op) => role::execute(ctx, op).await,
        Op::Trail(op) => trail::execute(ctx, op).await,
        Op::Topic(op) => topic::execute(ctx, op).await,
        Op::Parameter(op) => parameter::execute(ctx, op).await,
        Op::Function(op) => function::execute(ctx, op).await,
        Op::Permission(op) => permission::execute(ctx, op).await,
        Op::SubscriptionFilter(op) => subscription_filter::execute(ctx, op).await,
        #[cfg(test)]
        Op::Noop => Ok(()),
    }
}

/// The live state of everything login-alert manages (or would), read concurrently.
#[derive(Debug, Clone)]
pub struct State {
    pub trail: trail::Current,
    pub delivery: trail::Delivery,
    pub bucket: Option<bucket::Current>,
    pub log_group: Option<log_group::Current>,
    pub cloudtrail_role: Option<role::Current>,
    pub topic: Option<topic::Current>,
    pub parameter: Option<parameter::Current>,
    pub function_role: Option<role::Current>,
    pub function_log_group: Option<log_group::Current>,
    pub function: Option<function::Current>,
    pub permission: Option<permission::Current>,
    pub filters: subscription_filter::Current,
}

/// Reads the account. Only reads: `plan` calls nothing else.
pub async fn read(ctx: &Ctx) -> Result<State> {
    let t = &ctx.target;
    let trail = trail::read(ctx).await?;
    let delivery = trail::delivery(&trail, t);
    let n = &t.names;
    let (bucket_name, topic_arn) = (
        n.bucket(t.account_id(), t.region()),
        t.arns.topic(&n.topic()),
    );
    let (trail_group, trail_role, parameter_name) =
        (n.log_group(), n.cloudtrail_role(), n.slack_parameter());
    let (function_role_name, function_group, function_name) =
        (n.function_role(), n.function_log_group(), n.function());
    let (
        bucket,
        log_group,
        cloudtrail_role,
        topic,
        parameter,
        function_role,
        function_log_group,
        function,
    ) = tokio::try_join!(
        async {
            match &t.trail {
                TrailChoice::Create => bucket::read(ctx, &bucket_name).await,
                TrailChoice::Adopt(_) => Ok(None),
            }
        },
        log_group::read(ctx, &trail_group),
        role::read(ctx, &trail_role),
        topic::read(ctx, &topic_arn),
        parameter::read(ctx, &parameter_name),
        role::read(ctx, &function_role_name),
        log_group::read(ctx, &function_group),
        function::read(ctx, &function_name),
    )?;
    let permission = match &function {
        Some(function) => permission::read(ctx, function, &t.names.permission_statement()).await?,
        None => None,
    };
    let filters = subscription_filter::read(ctx, &delivery.log_group_name).await?;
    Ok(State {
        trail,
        delivery,
        bucket,
        log_group,
        cloudtrail_role,
        topic,
        parameter,
        function_role,
        function_log_group,
        function,
        permission,
        filters,
    })
}

/// What `apply` (or `destroy`) would do, from the state read. Pure: no AWS calls.
pub fn plan(target: &Target, state: &State, mode: Mode) -> Plan {
    let mut plan = Plan::new(mode, target.account_id(), target.region());
    let t = target;
    let cloudtrail_log_group = log_group::Desired {
        name: t.names.log_group(),
        retention_days: t.log_retention_days,
    };
    let function_log_group = log_group::Desired {
        name: t.names.function_log_group(),
        retention_days: t.log_retention_days,
    };
    match mode {
        Mode::Apply => {
            if t.trail == TrailChoice::Create {
                bucket::plan_apply(state.bucket.as_ref(), &bucket::desired(t), &mut plan);
            }
            if state.delivery.ours {
                log_group::plan_apply(state.log_group.as_ref(), &cloudtrail_log_group, &mut plan);
                role::plan_apply(
                    state.cloudtrail_role.as_ref(),
                    &policies::cloudtrail_role(t),
                    &mut plan,
                );
            } else {
                // The trail delivers to the user's own group: ours (from an earlier config) goes.
                log_group::plan_destroy(state.log_group.as_ref(), &mut plan);
                role::plan_destroy(state.cloudtrail_role.as_ref(), &mut plan);
            }
            trail::plan_apply(&state.trail, t, &state.delivery, &mut plan);
            topic::plan_apply(state.topic.as_ref(), &topic::desired(t), &mut plan);
            parameter::plan_apply(state.parameter.as_ref(), &parameter::desired(t), &mut plan);
            role::plan_apply(
                state.function_role.as_ref(),
                &policies::function_role(t),
                &mut plan,
            );
            log_group::plan_apply(
                state.function_log_group.as_ref(),
                &function_log_group,
                &mut plan,
            );
            function::plan_apply(state.function.as_ref(), &function::desired(t), &mut plan);
            permission::plan_apply(
                state.permission.as_ref(),
                &permission::desired(t, &state.delivery),
                &mut plan,
            );
            subscription_filter::plan_apply(
                &state.filters,
                &subscription_filter::desired(t, &state.delivery),
                &mut plan,
            );
        }
        Mode::Destroy => {
            subscription_filter::plan_destroy(
                &state.filters,
                &t.names.subscription_filter(),
                &mut plan,
            );
            permission::plan_destroy(state.permission.as_ref(), &mut plan);
            function::plan_destroy(state.function.as_ref(), &mut plan);
            log_group::plan_destroy(state.function_log_group.as_ref(), &mut plan);
            role::plan_destroy(state.function_role.as_ref(), &mut plan);
            parameter::plan_destroy(state.parameter.as_ref(), &mut plan);
            topic::plan_destroy(state.topic.as_ref(), &mut plan);
            trail::plan_destroy(&state.trail, t, &mut plan);
            role::plan_destroy(state.cloudtrail_role.as_ref(), &mut plan);
            log_group::plan_destroy(state.log_group.as_ref(), &mut plan);
            bucket::plan_destroy(state.bucket.as_ref(), &mut plan);
        }
    }
    plan
}

/// Runs the plan's operations in order, one progress line each; stops at the first failure
/// (the next `apply` plans again from what exists, so it finishes the job).
pub async fn apply(ctx: &Ctx, plan: &Plan) -> Result<()> {
    for change in &plan.changes {
        let label = format!("{} {} {}", change.action.symbol(), change.kind, change.name);
        let step = ctx.printer.step(label.clone());
        match execute(ctx, &change.op).await {
            Ok(()) => step.done(),
            Err(err) => {
                step.failed();
                return Err(err).with_context(|| format!("{label} failed"));
            }
        }
    }
    Ok(())
}

/// Collects a change into the plan only when the resource is ours; otherwise says why it is kept.
pub fn ours_or_notice(plan: &mut Plan, managed: bool, kind: &str, name: &str, change: Change) {
    if managed {
        plan.push(Some(change));
    } else {
        plan.notice(format!(
            "{kind} {name} was not created by login-alert (no managed-by tag): left as it is"
        ));
    }
}

//! The engine: every part of the pipeline in one ordered list; read them all (concurrently), plan
//! each, and apply the plan — creations in the list's order, deletions in reverse.

use std::fmt;

use anyhow::{Context, Result, anyhow};
use futures::future::{BoxFuture, try_join_all};
use serde::{Deserialize, Serialize};

use crate::check::Check;
use crate::model::{Ctx, Facts, Target};
use crate::part::Part;
use crate::plan::saved::{PartState, fingerprint};
use crate::plan::{Action, Change, Mode, Plan};
use crate::policy::Grant;
use crate::resources::{
    alarm, bucket, central_bus, cis, digest_rule, enabled_regions, function, invoke_config,
    log_group, organization, parameter, permission, queue, role, route, rule, stackset,
    state_table, subscription_filter, test_stream, topic, trail,
};

/// Every part of the pipeline, in the order `apply` creates them (what a part depends on comes
/// before it); `destroy`, and the deletions within an `apply`, walk it backwards.
static PIPELINE: [&dyn Stage; 29] = [
    &organization::OrganizationPart,
    &enabled_regions::EnabledRegions,
    &bucket::OwnBucket,
    &log_group::TrailGroup,
    &role::CloudTrailRole,
    &trail::Trail,
    &trail::LeftoverTrail,
    &topic::Topic,
    &parameter::Parameter,
    &parameter::TeamsParameter,
    &parameter::WebhookParameter,
    &queue::Queue,
    &state_table::StateTable,
    &route::Routes,
    &role::FunctionRole,
    &log_group::FunctionGroup,
    &function::Function,
    &invoke_config::InvokeConfig,
    &permission::Permission,
    &role::EventsRole,
    &rule::HomeRule,
    &central_bus::CentralBus,
    &stackset::StackSet,
    &rule::ForwardRules,
    &digest_rule::DigestRule,
    &subscription_filter::SubscriptionFilter,
    &test_stream::TestStream,
    &alarm::Alarms,
    &cis::Cis,
];

/// One planned operation: one resource kind's own operation.
#[derive(Debug, Clone, Serialize, Deserialize, derive_more::From)]
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
    Rule(rule::Op),
    SubscriptionFilter(subscription_filter::Op),
    Queue(queue::Op),
    InvokeConfig(invoke_config::Op),
    TestStream(test_stream::Op),
    Alarm(alarm::Op),
    StateTable(state_table::Op),
    Cis(cis::Op),
    CentralBus(central_bus::Op),
    StackSet(stackset::Op),
    Route(route::TableOp),
}

/// A route's topic and parameters are the topic's and parameter's operations; only its item is its own.
impl From<route::Op> for Op {
    fn from(op: route::Op) -> Self {
        match op {
            route::Op::Topic(op) => Op::Topic(op),
            route::Op::Parameter(op) => Op::Parameter(op),
            route::Op::Table(op) => Op::Route(op),
        }
    }
}

/// A part that reads and teaches but never changes anything plans no operation.
impl From<std::convert::Infallible> for Op {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

/// Runs one planned operation with the module of its kind.
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
        Op::Rule(op) => rule::execute(ctx, op).await,
        Op::SubscriptionFilter(op) => subscription_filter::execute(ctx, op).await,
        Op::Queue(op) => queue::execute(ctx, op).await,
        Op::InvokeConfig(op) => invoke_config::execute(ctx, op).await,
        Op::TestStream(op) => test_stream::execute(ctx, op).await,
        Op::Alarm(op) => alarm::execute(ctx, op).await,
        Op::StateTable(op) => state_table::execute(ctx, op).await,
        Op::Cis(op) => cis::execute(ctx, op).await,
        Op::CentralBus(op) => central_bus::execute(ctx, op).await,
        Op::StackSet(op) => stackset::execute(ctx, op).await,
        Op::Route(op) => route::execute(ctx, op).await,
    }
}

impl Op {
    /// The operation with the secrets the config holds put back (a saved plan holds placeholders).
    pub fn with_secrets(mut self, t: &Target) -> Result<Op> {
        if let Op::Parameter(
            parameter::Op::Create { name, value }
            | parameter::Op::Overwrite { name, value }
            | parameter::Op::Replace { name, value },
        ) = &mut self
        {
            *value = t.secret_of(name).cloned().ok_or_else(|| {
                anyhow!("the plan writes SSM parameter {name}, but the config holds no value for it: run `login-alert plan` again")
            })?;
        }
        Ok(self)
    }
}

/// The live state of everything login-alert manages (or would), part by part in pipeline order.
pub struct State {
    /// What the parts read first told the others.
    pub facts: Facts,
    parts: Vec<Box<dyn Seen>>,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("facts", &self.facts)
            .field("parts", &self.parts)
            .finish()
    }
}

impl State {
    /// Every part, in pipeline order, with a fingerprint of what was read.
    pub fn fingerprints(&self) -> Vec<PartState> {
        self.parts
            .iter()
            .zip(PIPELINE.iter())
            .map(|(seen, part)| PartState {
                part: part.name().to_owned(),
                fingerprint: seen.fingerprint(),
            })
            .collect()
    }
}

/// Reads the account. Only reads: `plan` calls nothing else. Every part is read at once, except
/// those that need what the teaching parts learn: they follow as soon as those are read.
pub async fn read(ctx: &Ctx) -> Result<State> {
    let t = &ctx.target;
    let mut facts = Facts::new(t);
    let (teachers, free) = tokio::try_join!(
        read_parts(ctx, &facts, |part| part.teaches()),
        read_parts(ctx, &facts, |part| !part.teaches() && !part.needs_facts()),
    )?;
    for seen in &teachers {
        seen.learn(t, &mut facts);
    }
    let dependents = read_parts(ctx, &facts, |part| part.needs_facts()).await?;
    let (mut teachers, mut free, mut dependents) = (
        teachers.into_iter(),
        free.into_iter(),
        dependents.into_iter(),
    );
    let parts = PIPELINE
        .iter()
        .map(|part| {
            if part.teaches() {
                teachers.next()
            } else if part.needs_facts() {
                dependents.next()
            } else {
                free.next()
            }
            .expect("one read per part")
        })
        .collect();
    Ok(State { facts, parts })
}

/// Reads the parts `pick` chooses, all at once.
async fn read_parts(
    ctx: &Ctx,
    facts: &Facts,
    pick: fn(&dyn Stage) -> bool,
) -> Result<Vec<Box<dyn Seen>>> {
    try_join_all(
        PIPELINE
            .iter()
            .filter(|part| pick(**part))
            .map(|part| part.read(ctx, facts)),
    )
    .await
}

/// What `apply` (or `destroy`) would do, from the state read. Pure: no AWS calls.
///
/// Apply creates and updates in pipeline order, then deletes what the config no longer wants in
/// reverse order (nothing is removed while something still points at it); destroy is the
/// pipeline walked backwards.
pub fn plan(target: &Target, state: &State, mode: Mode) -> Plan<Op> {
    let mut plan = Plan::new(mode, target.account_id(), target.region());
    let by_part: Vec<Plan<Op>> = state
        .parts
        .iter()
        .map(|seen| seen.plan(target, &state.facts, mode))
        .collect();
    match mode {
        Mode::Apply => {
            let mut deletions: Vec<Vec<Change<Op>>> = Vec::new();
            for mut part in by_part {
                let (delete, keep) = part
                    .changes
                    .drain(..)
                    .partition(|c| c.action == Action::Delete);
                part.changes = keep;
                deletions.push(delete);
                plan.absorb(part);
            }
            plan.changes.extend(deletions.into_iter().rev().flatten());
        }
        Mode::Destroy => {
            for part in by_part.into_iter().rev() {
                plan.absorb(part);
            }
        }
    }
    if mode == Mode::Apply {
        plan.coverage = Some(coverage(target, &state.facts));
    }
    plan
}

/// Where alerts come from once the plan is applied, and how fast they arrive.
fn coverage(t: &Target, facts: &Facts) -> String {
    const LOGS: &str = "every region the multi-region trail records, through CloudWatch Logs: alerts arrive in about 5 minutes \
                        (CloudTrail's delivery to CloudWatch Logs; durable)";
    if !t.route.uses_eventbridge() {
        return LOGS.to_owned();
    }
    let mut text = match &facts.regions {
        None => "the enabled regions, through EventBridge (not read yet)".to_owned(),
        Some(regions) => {
            let mut text = format!(
                "{} enabled regions ({}), through EventBridge: alerts arrive within seconds (CloudTrail delivers to EventBridge on a best-effort basis)",
                regions.enabled.len(),
                regions.enabled.join(", ")
            );
            if !regions.skipped.is_empty() {
                text.push_str(&format!(
                    "; not enabled for this account, so not covered: {}",
                    regions.skipped.join(", ")
                ));
            }
            text
        }
    };
    if t.route.uses_logs() {
        text.push_str(&format!(
            "; and {LOGS}, as the backstop (each event alerts once, whichever way reaches the function first)"
        ));
    }
    text
}

/// Runs the plan's operations in order, one progress line each; stops at the first failure
/// (the next `apply` plans again from what exists, so it finishes the job).
pub async fn apply(ctx: &Ctx, plan: &Plan<Op>) -> Result<()> {
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

/// What every part says about its link of an alert's path (`status`), asked all at once; in
/// pipeline order (see [`crate::check::in_path_order`] for the path's).
pub async fn checks(ctx: &Ctx, state: &State) -> Result<Vec<Check>> {
    let each = try_join_all(
        state
            .parts
            .iter()
            .map(|seen| seen.checks(ctx, &state.facts)),
    )
    .await?;
    Ok(each.into_iter().flatten().collect())
}

/// What every part of the pipeline needs of IAM under `t`, in pipeline order.
pub fn permissions(t: &Target) -> Vec<Grant> {
    PIPELINE
        .iter()
        .flat_map(|part| part.permissions(t))
        .collect()
}

/// A part with its types erased, so parts of every kind stand in one list.
trait Stage: Sync {
    fn name(&self) -> &'static str;
    fn permissions(&self, t: &Target) -> Vec<Grant>;
    fn teaches(&self) -> bool;
    fn needs_facts(&self) -> bool;
    fn read<'a>(
        &'static self,
        ctx: &'a Ctx,
        facts: &'a Facts,
    ) -> BoxFuture<'a, Result<Box<dyn Seen>>>;
}

/// What one part read, able to say what it teaches the others and to plan itself.
trait Seen: Send + Sync + fmt::Debug {
    fn fingerprint(&self) -> String;
    fn learn(&self, t: &Target, facts: &mut Facts);
    fn plan(&self, t: &Target, facts: &Facts, mode: Mode) -> Plan<Op>;
    fn checks<'a>(&'a self, ctx: &'a Ctx, facts: &'a Facts) -> BoxFuture<'a, Result<Vec<Check>>>;
}

impl<P> Stage for P
where
    P: Part + 'static,
    Op: From<P::Op>,
{
    fn name(&self) -> &'static str {
        P::NAME
    }

    fn permissions(&self, t: &Target) -> Vec<Grant> {
        Part::permissions(self, t)
    }

    fn teaches(&self) -> bool {
        P::TEACHES
    }

    fn needs_facts(&self) -> bool {
        P::NEEDS_FACTS
    }

    fn read<'a>(
        &'static self,
        ctx: &'a Ctx,
        facts: &'a Facts,
    ) -> BoxFuture<'a, Result<Box<dyn Seen>>> {
        Box::pin(async move {
            let current = Part::read(self, ctx, facts).await?;
            Ok(Box::new(Read {
                part: self,
                current,
            }) as Box<dyn Seen>)
        })
    }
}

struct Read<P: Part + 'static> {
    part: &'static P,
    current: P::Current,
}

impl<P: Part + 'static> fmt::Debug for Read<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.current.fmt(f)
    }
}

impl<P> Seen for Read<P>
where
    P: Part + 'static,
    Op: From<P::Op>,
{
    fn fingerprint(&self) -> String {
        fingerprint(&self.current)
    }

    fn learn(&self, t: &Target, facts: &mut Facts) {
        self.part.learn(&self.current, t, facts);
    }

    fn plan(&self, t: &Target, facts: &Facts, mode: Mode) -> Plan<Op> {
        let mut own = Plan::new(mode, t.account_id(), t.region());
        match mode {
            Mode::Apply if self.part.wanted(t, facts) => {
                self.part.plan_apply(&self.current, t, facts, &mut own)
            }
            Mode::Apply | Mode::Destroy => {
                self.part.plan_destroy(&self.current, t, facts, &mut own)
            }
        }
        let mut plan = Plan::new(mode, t.account_id(), t.region());
        plan.absorb(own);
        plan
    }

    fn checks<'a>(&'a self, ctx: &'a Ctx, facts: &'a Facts) -> BoxFuture<'a, Result<Vec<Check>>> {
        Box::pin(self.part.checks(ctx, &self.current, facts))
    }
}

//! EventBridge rules on the default bus: in the home region one that sends sign-in, root and tamper
//! events to the function; in every other enabled region one that forwards them to the home bus
//! (EventBridge sees only its own region's events). The digest schedule is a rule too (`digest_rule`).

use anyhow::Result;
use aws_sdk_eventbridge::Client;
use futures::future::try_join_all;
use login_alert_handler::patterns::{PatternVars, event_pattern};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::calls::events as rules;
use crate::check::{Check, Link};
use crate::model::{Ctx, Facts, Target};
use crate::part::{Named, Part, When, kind};
use crate::plan::lifecycle::{Found, owned_when_managed};
use crate::plan::{Attr, Change, Plan};
use crate::policy::Grant;

const KIND: &str = "EventBridge rule";
/// Read-only management calls (Get/List/Describe: most of what a console session does) reach only
/// rules in this state.
pub const STATE: &str = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";
/// A scheduled rule matches no event, so the CloudTrail state means nothing to it.
pub const SCHEDULE_STATE: &str = "ENABLED";
/// The ids login-alert gives its targets.
pub const FUNCTION_TARGET: &str = "login-alert-function";
pub const HOME_BUS_TARGET: &str = "login-alert-home-bus";
const PATTERN_SUMMARY: &str =
    "sign-ins, root activity, AssumeRoot, tamper calls, login-alert's test event";

pub use super::calls::events::RuleTarget;

/// A rule as EventBridge reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Current {
    pub region: String,
    pub name: String,
    /// Parsed, so that key order and spacing do not count as a change.
    pub pattern: Option<Value>,
    /// `rate(…)` or `cron(…)`, for a scheduled rule.
    pub schedule: Option<String>,
    pub state: String,
    pub managed: bool,
    pub targets: Vec<RuleTarget>,
}

/// One rule's instance in a set: the region, and the rule when it exists.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instance {
    pub region: String,
    pub rule: Option<Current>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub region: String,
    pub name: String,
    pub description: String,
    /// Compact JSON; empty for a scheduled rule.
    pub pattern: String,
    /// A scheduled rule's expression (it then has no pattern).
    pub schedule: Option<String>,
    pub target: RuleTarget,
}

impl Desired {
    fn state(&self) -> &'static str {
        state(self.schedule.as_deref())
    }
}

/// The state a rule is put in: a scheduled one's, or the one a pattern's needs.
fn state(schedule: Option<&str>) -> &'static str {
    if schedule.is_some() {
        SCHEDULE_STATE
    } else {
        STATE
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// PutRule (tagged when it creates the rule), PutTargets with login-alert's one target, then
    /// RemoveTargets for any other target someone added.
    Put {
        region: String,
        name: String,
        description: String,
        pattern: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schedule: Option<String>,
        create: bool,
        target: RuleTarget,
        remove_targets: Vec<String>,
    },
    /// Removes every target, then the rule.
    Delete { region: String, name: String },
}

/// The home region's rule, sending the events (its own and those forwarded to it) to the function.
pub struct HomeRule;

/// The forwarding rules: one in every enabled region other than the home region.
pub struct ForwardRules;

/// A rule on the home region's default bus, by its name.
pub struct HomeRegionRule;

kind!(HomeRegionRule, read_home, home_permissions);

/// The rule called `name` in the home region.
async fn read_home(ctx: &Ctx, name: &str) -> Result<Option<Current>> {
    read(ctx, ctx.target.region(), name).await
}

/// [`permissions`] for the rule called `name` in the home region.
fn home_permissions(t: &Target, name: &str, uses: bool) -> Vec<Grant> {
    permissions(t, t.region(), name, uses)
}

impl Named for HomeRule {
    const NAME: &'static str = "the home EventBridge rule";
    type Kind = HomeRegionRule;

    const WHEN: When = When::EventBridge;

    fn desired(&self, t: &Target) -> Desired {
        home(t)
    }

    async fn checks(&self, ctx: &Ctx, current: Option<&Current>) -> Result<Vec<Check>> {
        let t = &ctx.target;
        if !t.route.uses_eventbridge() {
            return Ok(Vec::new());
        }
        Ok(vec![check("home EventBridge rule", current, &home(t))])
    }
}

impl Part for ForwardRules {
    const NAME: &'static str = "the forwarding EventBridge rules";
    type Current = Vec<Instance>;
    type Op = Op;
    const NEEDS_FACTS: bool = true;

    /// In every region but the home region: which ones are enabled is known only when read.
    fn permissions(&self, t: &Target) -> Vec<Grant> {
        let wanted = t.route.uses_eventbridge();
        let mut grants = permissions(t, "*", &t.names.forward_rule(), wanted);
        if wanted {
            // `status`: each forwarding rule's FailedInvocations, in its own region.
            grants.extend(crate::metrics::permissions());
            // PutTargets hands the forwarding role to EventBridge.
            grants.push(Grant::pass_role(
                "PassRoleToEventBridge",
                t.arns.role(&t.names.events_role()),
                "events.amazonaws.com",
            ));
        }
        grants
    }

    /// Every enabled region but the home region, all at once (the SDK's in-flight bound applies).
    async fn read(&self, ctx: &Ctx, facts: &Facts) -> Result<Vec<Instance>> {
        let Some(regions) = &facts.regions else {
            return Ok(Vec::new());
        };
        let t = &ctx.target;
        let name = t.names.forward_rule();
        try_join_all(
            regions
                .enabled
                .iter()
                .filter(|region| region.as_str() != t.region())
                .map(|region| async {
                    Ok(Instance {
                        region: region.clone(),
                        rule: read(ctx, region, &name).await?,
                    })
                }),
        )
        .await
    }

    fn wanted(&self, t: &Target, _: &Facts) -> bool {
        t.route.uses_eventbridge()
    }

    fn plan_apply(&self, current: &Vec<Instance>, t: &Target, _: &Facts, plan: &mut Plan<Op>) {
        for instance in current {
            plan_apply(instance.rule.as_ref(), &forward(t, &instance.region), plan);
        }
    }

    fn plan_destroy(&self, current: &Vec<Instance>, _: &Target, _: &Facts, plan: &mut Plan<Op>) {
        for instance in current {
            plan_destroy(instance.rule.as_ref(), plan);
        }
    }

    /// One check for all the forwarding rules, naming the regions whose rule is missing or wrong.
    async fn checks(
        &self,
        ctx: &Ctx,
        current: &Vec<Instance>,
        facts: &Facts,
    ) -> Result<Vec<Check>> {
        let t = &ctx.target;
        if !t.route.uses_eventbridge() {
            return Ok(Vec::new());
        }
        const NAME: &str = "forwarding EventBridge rules";
        let broken: Vec<String> = current
            .iter()
            .map(|i| check(NAME, i.rule.as_ref(), &forward(t, &i.region)))
            .filter(|c| c.status != crate::check::Status::Ok)
            .map(|c| c.detail)
            .collect();
        let skipped = facts.regions.as_ref().map_or(0, |r| r.skipped.len());
        let failures = forward_failures(ctx, current).await;
        let overall = if broken.is_empty() {
            Check::ok(
                Link::Route,
                NAME,
                format!(
                    "{} in every other enabled region ({}), each sending to the home region's bus{}",
                    t.names.forward_rule(),
                    current.len(),
                    if skipped > 0 {
                        format!("; {skipped} regions are not enabled and not covered")
                    } else {
                        String::new()
                    }
                ),
            )
        } else {
            Check::failing(
                Link::Route,
                NAME,
                format!(
                    "{}: events recorded there do not reach the function",
                    broken.join("; ")
                ),
                "run `login-alert apply` to put them back",
            )
        };
        Ok(std::iter::once(overall).chain(failures).collect())
    }
}

/// How far back `status` looks for a forwarding rule's failed deliveries.
const FAILURE_WINDOW_HOURS: u64 = 24;

/// One check per region whose forwarding rule failed to put events on the home bus lately (its
/// `FailedInvocations`, a metric of that region), or could not be read there; none when all is well.
async fn forward_failures(ctx: &Ctx, current: &[Instance]) -> Vec<Check> {
    let t = &ctx.target;
    let name = t.names.forward_rule();
    let sums =
        futures::future::join_all(current.iter().filter(|i| i.rule.is_some()).map(|instance| {
            let name = name.clone();
            async move {
                let cloudwatch = ctx.clients.cloudwatch_in(&instance.region);
                let sum = crate::metrics::sums_with(
                    &cloudwatch,
                    "AWS/Events",
                    &["FailedInvocations"],
                    ("RuleName", &name),
                    std::time::Duration::from_secs(FAILURE_WINDOW_HOURS * 3600),
                )
                .await;
                (instance.region.clone(), sum.map(|s| s[0]))
            }
        }))
        .await;
    sums.into_iter()
        .filter_map(|(region, sum)| {
            let check = format!("forwarding rule failures in {region} ({FAILURE_WINDOW_HOURS} h)");
            match sum {
                Ok(0.0) => None,
                // Past failures, like the function's errors: worth a look, not proof of a broken path now.
                Ok(failed) => Some(Check::warning(
                    Link::Route,
                    check,
                    format!(
                        "{name} in {region} failed to deliver {failed} event(s) to {}'s bus in the last {FAILURE_WINDOW_HOURS} hours: \
                         those sign-ins recorded in {region} did not reach the function",
                        t.region()
                    ),
                    format!(
                        "check role {} (EventBridge assumes it; it must allow events:PutEvents on {}) and run `login-alert apply`; \
                         the rule's AWS/Events FailedInvocations metric in {region} shows when it failed",
                        t.arns.role(&t.names.events_role()),
                        t.arns.default_bus()
                    ),
                )),
                Err(err) => Some(Check::warning(
                    Link::Route,
                    check,
                    format!("could not be read: {err:#}"),
                    "allow cloudwatch:GetMetricData (see the operator policy in the README)",
                )),
            }
        })
        .collect()
}

/// What `status` says of one rule: it exists, is login-alert's, enabled for every management event,
/// with its pattern and its one target as apply leaves them.
fn check(name: &str, current: Option<&Current>, desired: &Desired) -> Check {
    let label = label(&desired.region, &desired.name);
    let Some(current) = current else {
        return Check::failing(
            Link::Route,
            name,
            format!("{label} is missing"),
            "run `login-alert apply` to put it back",
        );
    };
    let mut plan: Plan<Op> = Plan::probe();
    plan_apply(Some(current), desired, &mut plan);
    if let Some(blocker) = plan.blockers.first() {
        return Check::failing(Link::Route, name, blocker.clone(), "see `login-alert plan`");
    }
    match plan.changes.first() {
        None => Check::ok(
            Link::Route,
            name,
            format!("{label} sends matching events to {}", desired.target.arn),
        ),
        Some(change) => {
            let what: Vec<&str> = change.attrs.iter().map(|a| a.name.as_str()).collect();
            Check::failing(
                Link::Route,
                name,
                format!(
                    "{label} differs from what login-alert set ({})",
                    what.join(", ")
                ),
                "run `login-alert apply` to put it back, and find out who changed it",
            )
        }
    }
}

/// The event pattern every rule uses, filled in for this installation (its tamper terms name
/// login-alert's resources).
pub fn pattern(t: &Target) -> String {
    event_pattern(&PatternVars {
        prefix: &t.names.prefix,
        partition: &t.arns.partition,
        region: t.region(),
        account: t.account_id(),
    })
}

/// The home rule: the function is its target (the function's resource policy lets EventBridge invoke it).
pub fn home(t: &Target) -> Desired {
    Desired {
        region: t.region().to_owned(),
        name: t.names.events_rule(),
        description: "login-alert: sign-in, root and tamper events (this region's and those forwarded here) to the alert function".into(),
        pattern: pattern(t),
        schedule: None,
        target: RuleTarget {
            id: FUNCTION_TARGET.into(),
            arn: t.function_arn(),
            role_arn: None,
        },
    }
}

/// A forwarding rule in `region`: the home region's default bus is its target, through login-alert's role.
pub fn forward(t: &Target, region: &str) -> Desired {
    Desired {
        region: region.to_owned(),
        name: t.names.forward_rule(),
        description: format!(
            "login-alert: sign-in, root and tamper events to {}, where the alert function runs",
            t.region()
        ),
        pattern: pattern(t),
        schedule: None,
        target: RuleTarget {
            id: HOME_BUS_TARGET.into(),
            arn: t.arns.default_bus(),
            role_arn: Some(t.arns.role(&t.names.events_role())),
        },
    }
}

/// The rule `name` in `region`, with its targets and tags, read at the same time.
/// What [`read`] calls on rule `name` in `region` (`*`: any region).
pub fn read_permissions(t: &Target, region: &str, name: &str) -> Grant {
    Grant::new(
        "Rules",
        [
            "events:DescribeRule",
            "events:ListTargetsByRule",
            "events:ListTagsForResource",
        ],
        [t.arns.rule(region, name)],
    )
}

/// What [`read`] and [`execute`] call on rule `name` in `region`: reading and deleting it always
/// (a rule of the other mode is removed), putting it and its target when it is `wanted`.
pub fn permissions(t: &Target, region: &str, name: &str, wanted: bool) -> Vec<Grant> {
    let mut grant = read_permissions(t, region, name);
    grant
        .actions
        .extend(["events:RemoveTargets", "events:DeleteRule"]);
    // PutRule with tags needs events:TagResource as well.
    let creating = ["events:PutRule", "events:TagResource", "events:PutTargets"];
    vec![grant.unless_unused(wanted, creating, "RulesOfTheOtherMode")]
}

pub async fn read(ctx: &Ctx, region: &str, name: &str) -> Result<Option<Current>> {
    let events = ctx.clients.events_in(region);
    let label = rule_label(region, name);
    let found = in_region(&events, name, &label)
        .read(&ctx.target.arns.rule(region, name))
        .await?;
    Ok(found.map(|found| Current {
        region: region.to_owned(),
        name: name.to_owned(),
        pattern: found.pattern,
        schedule: found.schedule,
        state: found.state,
        managed: found.managed,
        targets: found.targets,
    }))
}

/// How messages name the rule `name` in `region`.
fn rule_label(region: &str, name: &str) -> String {
    format!("{KIND} {}", label(region, name))
}

/// The rule `name` on the default bus `events` reaches, for the calls rules share.
fn in_region<'a>(events: &'a Client, name: &'a str, label: &'a str) -> rules::Rule<'a> {
    rules::Rule {
        events,
        bus: None,
        name,
        label,
    }
}

fn label(region: &str, name: &str) -> String {
    format!("{name} in {region}")
}

pub fn plan_apply(current: Option<&Current>, desired: &Desired, plan: &mut Plan<impl From<Op>>) {
    let put = |create: bool, remove_targets: Vec<String>| Op::Put {
        region: desired.region.clone(),
        name: desired.name.clone(),
        description: desired.description.clone(),
        pattern: desired.pattern.clone(),
        schedule: desired.schedule.clone(),
        create,
        target: desired.target.clone(),
        remove_targets,
    };
    let name = label(&desired.region, &desired.name);
    let current = match plan.claim(KIND, &name, current) {
        Found::Ours(current) => current,
        Found::Refused => return,
        Found::Missing => {
            plan.push(Some(create_change(desired, name, put(true, Vec::new()))));
            return;
        }
    };
    let mut attrs = Vec::new();
    match &desired.schedule {
        Some(schedule) => {
            if current.schedule.as_ref() != Some(schedule) {
                attrs.push(Attr::new(
                    "schedule",
                    current.schedule.clone().map(Value::from),
                    Some(schedule.clone().into()),
                ));
            }
            if current.pattern.is_some() {
                attrs.push(Attr::unset("event_pattern", "(a pattern)"));
            }
        }
        None => {
            let wanted: Option<Value> = serde_json::from_str(&desired.pattern).ok();
            if current.pattern != wanted {
                attrs.push(Attr::change("event_pattern", "(differs)", PATTERN_SUMMARY));
            }
        }
    }
    if current.state != desired.state() {
        attrs.push(Attr::change(
            "state",
            current.state.clone(),
            desired.state(),
        ));
    }
    match current.targets.iter().find(|t| t.id == desired.target.id) {
        Some(ours) if *ours == desired.target => {}
        Some(ours) => attrs.push(Attr::change(
            "target",
            ours.arn.clone(),
            desired.target.arn.clone(),
        )),
        None => attrs.push(Attr::set("target", desired.target.arn.clone())),
    }
    let foreign: Vec<&RuleTarget> = current
        .targets
        .iter()
        .filter(|t| t.id != desired.target.id)
        .collect();
    for target in &foreign {
        attrs.push(Attr::unset(
            &format!("target.{}", target.id),
            target.arn.clone(),
        ));
    }
    if attrs.is_empty() {
        return;
    }
    let mut change = Change::update(
        KIND,
        name,
        put(false, foreign.iter().map(|t| t.id.clone()).collect()),
    )
    .attrs(attrs);
    if !foreign.is_empty() {
        change = change.note("targets login-alert did not add are removed: events of this rule go only where login-alert sends them");
    }
    plan.push(Some(change));
}

/// A new rule: its schedule or pattern, state, target (and the role EventBridge uses for it).
fn create_change(desired: &Desired, name: String, op: Op) -> Change<Op> {
    let mut change = Change::create(KIND, name, op);
    change = match &desired.schedule {
        Some(schedule) => change.attr(Attr::set("schedule", schedule.clone())),
        None => change.attr(Attr::set("event_pattern", PATTERN_SUMMARY)),
    };
    change = change
        .attr(Attr::set("state", desired.state()))
        .attr(Attr::set("target", desired.target.arn.clone()));
    match &desired.target.role_arn {
        Some(role) => change.attr(Attr::set("target_role", role.clone())),
        None => change,
    }
}

pub fn plan_destroy(current: Option<&Current>, plan: &mut Plan<impl From<Op>>) {
    plan.remove_ours(current, |current| {
        let op = Op::Delete {
            region: current.region.clone(),
            name: current.name.clone(),
        };
        Change::delete(KIND, label(&current.region, &current.name), op)
    });
}

owned_when_managed!(Current);

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    match op {
        Op::Put {
            region,
            name,
            description,
            pattern,
            schedule,
            create,
            target,
            remove_targets,
        } => {
            let events = ctx.clients.events_in(region);
            let label = rule_label(region, name);
            let trigger = rules::Trigger {
                pattern,
                schedule: schedule.as_deref(),
                state: state(schedule.as_deref()),
            };
            in_region(&events, name, &label)
                .put(description, trigger, *create, target, remove_targets)
                .await
        }
        Op::Delete { region, name } => {
            let events = ctx.clients.events_in(region);
            let label = rule_label(region, name);
            in_region(&events, name, &label).delete().await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Mode};
    use crate::testing::{applied, attr_names, first, planned};

    fn desired() -> Desired {
        Desired {
            region: "us-east-2".into(),
            name: "login-alert-forward".into(),
            description: "d".into(),
            pattern: r#"{"source":["aws.signin"]}"#.into(),
            schedule: None,
            target: RuleTarget {
                id: HOME_BUS_TARGET.into(),
                arn: "arn:aws:events:eu-west-1:123456789012:event-bus/default".into(),
                role_arn: Some("arn:aws:iam::123456789012:role/login-alert-events-forward".into()),
            },
        }
    }

    fn current() -> Current {
        let d = desired();
        Current {
            region: d.region,
            name: d.name,
            // Another key order and spacing: the same pattern.
            pattern: Some(serde_json::json!({ "source": ["aws.signin"] })),
            schedule: None,
            state: STATE.into(),
            managed: true,
            targets: vec![d.target],
        }
    }

    #[test]
    fn a_missing_rule_is_created_tagged_with_its_one_target() {
        let plan: Plan<Op> = applied(plan_apply, None, &desired());
        let change = first(&plan, Action::Create);
        assert_eq!(change.name, "login-alert-forward in us-east-2");
        let Op::Put { create, target, .. } = &change.op else {
            panic!("a put")
        };
        assert!(*create);
        assert!(target.role_arn.is_some());
    }

    #[test]
    fn a_matching_rule_needs_nothing() {
        let plan: Plan<Op> = applied(plan_apply, Some(&current()), &desired());
        assert!(!plan.has_changes());
    }

    #[test]
    fn a_disabled_rule_a_changed_pattern_and_a_foreign_target_are_put_back() {
        let mut c = current();
        c.state = "DISABLED".into();
        c.pattern = Some(serde_json::json!({ "source": ["aws.s3"] }));
        c.targets.push(RuleTarget {
            id: "exfil".into(),
            arn: "arn:aws:sqs:us-east-2:999999999999:theirs".into(),
            role_arn: None,
        });
        let plan: Plan<Op> = applied(plan_apply, Some(&c), &desired());
        let names = attr_names(&plan);
        assert_eq!(names, ["event_pattern", "state", "target.exfil"]);
        let Op::Put {
            create,
            remove_targets,
            ..
        } = &plan.changes[0].op
        else {
            panic!("a put")
        };
        assert!(!create);
        assert_eq!(remove_targets, &["exfil"]);
    }

    #[test]
    fn a_rule_that_is_not_ours_blocks_apply_and_survives_destroy() {
        let mut c = current();
        c.managed = false;
        let plan: Plan<Op> = applied(plan_apply, Some(&c), &desired());
        assert!(!plan.has_changes() && plan.blockers.len() == 1);
        let plan: Plan<Op> = planned(Mode::Destroy, |plan| plan_destroy(Some(&c), plan));
        assert!(!plan.has_changes() && plan.notices.len() == 1);
    }
}

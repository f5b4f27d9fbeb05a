//! Organization coverage's central event bus, in the home account and region: login-alert's own bus
//! (named from the prefix, tagged), whose resource policy lets the organization's accounts put
//! events on it (condition `aws:PrincipalOrgID`), and a rule on it with the home rule's pattern that
//! invokes the function (its invoke statement, scoped to this rule, is the permission part's).
//! Member accounts' forwarding rules (the StackSet) send here; a bus cannot forward what it received.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::calls::events as rules;
use super::rule::{self, FUNCTION_TARGET, RuleTarget, STATE};
use crate::aws::SdkResultExt;
use crate::check::{Check, Link};
use crate::model::{Ctx, Facts, Target};
use crate::part::Part;
use crate::plan::lifecycle::{Found, Owned};
use crate::plan::{Action, Attr, Change, Mode, Plan};
use crate::policy::Grant;
use crate::tags;

const BUS: &str = "EventBridge event bus";
const POLICY: &str = "event bus policy";
const RULE: &str = "EventBridge rule";
const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
/// What the rule on the bus says it is for.
const RULE_DESCRIPTION: &str = "login-alert: sign-in, root and tamper events the organization's accounts forward, to the alert function";
/// The policy's one statement.
pub const STATEMENT_ID: &str = "login-alert-organization";

/// The bus as read, with its rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Current {
    pub bus: Option<Bus>,
    pub rule: Option<BusRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bus {
    pub name: String,
    pub managed: bool,
    /// The resource policy, parsed (`None`: the bus has none).
    pub policy: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BusRule {
    pub name: String,
    pub pattern: Option<Value>,
    pub state: String,
    pub managed: bool,
    pub targets: Vec<RuleTarget>,
}

impl Owned for Bus {
    fn ours(&self) -> bool {
        self.managed
    }
}

impl Owned for BusRule {
    fn ours(&self) -> bool {
        self.managed
    }
}

/// What the bus should be.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub bus: String,
    pub policy: Value,
    pub rule: String,
    pub pattern: String,
    pub target: RuleTarget,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// CreateEventBus, tagged.
    CreateBus { name: String },
    /// PutPermission with the whole policy (replacing any other statement).
    PutPolicy { bus: String, policy: String },
    /// PutRule (tagged when it creates it), PutTargets with the function, RemoveTargets for others.
    PutRule {
        bus: String,
        name: String,
        pattern: String,
        create: bool,
        target: RuleTarget,
        remove_targets: Vec<String>,
    },
    /// Every target, then the rule.
    DeleteRule { bus: String, name: String },
    /// The bus (and with it its policy).
    DeleteBus { name: String },
}

/// The central bus, wanted with organization coverage in the EventBridge modes.
pub struct CentralBus;

impl Part for CentralBus {
    const NAME: &'static str = "the central event bus";
    type Current = Current;
    type Op = Op;

    /// Read and deleted in every mode (a config that stops wanting it removes it); created only when wanted.
    fn permissions(&self, t: &Target) -> Vec<Grant> {
        let name = t.names.central_bus();
        let bus = t.arns.bus(&name);
        let rule = t.arns.bus_rule(&name, &name);
        let mut on_bus = vec![
            "events:DescribeEventBus",
            "events:ListTagsForResource",
            "events:DeleteEventBus",
        ];
        let mut on_rule = vec![
            "events:DescribeRule",
            "events:ListTargetsByRule",
            "events:ListTagsForResource",
            "events:RemoveTargets",
            "events:DeleteRule",
        ];
        if t.organization_events() {
            // CreateEventBus and PutRule with tags need events:TagResource as well.
            on_bus.extend([
                "events:CreateEventBus",
                "events:PutPermission",
                "events:TagResource",
            ]);
            on_rule.extend(["events:PutRule", "events:PutTargets", "events:TagResource"]);
        }
        vec![
            Grant::new("CentralBus", on_bus, [bus]),
            Grant::new("CentralBusRule", on_rule, [rule]),
        ]
    }

    async fn read(&self, ctx: &Ctx, _: &Facts) -> Result<Current> {
        read(ctx).await
    }

    fn wanted(&self, t: &Target, _: &Facts) -> bool {
        t.organization_events()
    }

    fn plan_apply(&self, current: &Current, t: &Target, facts: &Facts, plan: &mut Plan<Op>) {
        // Without the organization's ID there is no policy to write: the organization part has
        // already blocked the plan and said why.
        if let Some(org) = &facts.organization {
            plan_apply(current, &desired(t, &org.id), plan);
        }
    }

    fn plan_destroy(&self, current: &Current, _: &Target, _: &Facts, plan: &mut Plan<Op>) {
        plan_destroy(current, plan);
    }

    async fn checks(&self, ctx: &Ctx, current: &Current, facts: &Facts) -> Result<Vec<Check>> {
        let t = &ctx.target;
        let Some(org) = facts
            .organization
            .as_ref()
            .filter(|_| t.organization_events())
        else {
            return Ok(Vec::new());
        };
        Ok(vec![check(current, &desired(t, &org.id))])
    }
}

/// The bus, its policy and its rule for the organization `org_id`.
pub fn desired(t: &Target, org_id: &str) -> Desired {
    let bus = t.names.central_bus();
    Desired {
        policy: policy(&t.arns.bus(&bus), org_id),
        rule: bus.clone(),
        bus,
        pattern: rule::pattern(t),
        target: RuleTarget {
            id: FUNCTION_TARGET.into(),
            arn: t.arns.function(&t.names.function()),
            role_arn: None,
        },
    }
}

/// Any principal of the organization may put events on the bus, nothing else (EventBridge user
/// guide, "Permissions for event buses": `aws:PrincipalOrgID` grants every account of the
/// organization, including accounts that join later).
pub fn policy(bus_arn: &str, org_id: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": STATEMENT_ID,
            "Effect": "Allow",
            "Principal": "*",
            "Action": "events:PutEvents",
            "Resource": bus_arn,
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}},
        }],
    })
}

/// The policy as compared: a one-element list is its element, a principal `{"AWS": "*"}` is `*`
/// (IAM's equivalent spellings), so a policy read back in another spelling is not a change.
fn normalized(policy: &Value) -> Value {
    match policy {
        Value::Array(items) if items.len() == 1 => normalized(&items[0]),
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        Value::Object(map) if map.len() == 1 && map.get("AWS") == Some(&json!("*")) => json!("*"),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), normalized(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

pub fn plan_apply(current: &Current, desired: &Desired, plan: &mut Plan<impl From<Op>>) {
    let mut own: Plan<Op> = plan.empty_like();
    let policy_text = desired.policy.to_string();
    let put_policy = || Op::PutPolicy {
        bus: desired.bus.clone(),
        policy: policy_text.clone(),
    };
    match own.claim(BUS, &desired.bus, current.bus.as_ref()) {
        Found::Refused => return plan.absorb(own),
        Found::Missing => {
            own.push(Some(
                Change::new(
                    BUS,
                    &desired.bus,
                    Action::Create,
                    Op::CreateBus {
                        name: desired.bus.clone(),
                    },
                )
                .attr(Attr::set("name", desired.bus.clone())),
            ));
            own.push(Some(
                Change::new(POLICY, &desired.bus, Action::Create, put_policy())
                    .attr(Attr::set("policy", desired.policy.clone()))
                    .note(
                        "any account of the organization may put events on this bus, no one else",
                    ),
            ));
        }
        Found::Ours(bus) => {
            if bus.policy.as_ref().map(normalized) != Some(normalized(&desired.policy)) {
                own.push(Some(
                    Change::new(POLICY, &desired.bus, Action::Update, put_policy())
                        .attr(Attr::new("policy", bus.policy.clone(), Some(desired.policy.clone())))
                        .note("the policy is put back: only the organization's accounts may put events on the bus"),
                ));
            }
        }
    }
    plan_rule(current.rule.as_ref(), desired, &mut own);
    plan.absorb(own);
}

/// The rule on the bus: created with it, put back when its pattern, state or targets differ.
fn plan_rule(current: Option<&BusRule>, desired: &Desired, plan: &mut Plan<Op>) {
    let put = |create: bool, remove_targets: Vec<String>| Op::PutRule {
        bus: desired.bus.clone(),
        name: desired.rule.clone(),
        pattern: desired.pattern.clone(),
        create,
        target: desired.target.clone(),
        remove_targets,
    };
    let label = format!("{} on {}", desired.rule, desired.bus);
    let current = match plan.claim(RULE, &label, current) {
        Found::Refused => return,
        Found::Ours(current) => current,
        Found::Missing => {
            plan.push(Some(
                Change::new(RULE, &label, Action::Create, put(true, Vec::new()))
                    .attr(Attr::set("event_pattern", "the home rule's"))
                    .attr(Attr::set("state", STATE))
                    .attr(Attr::set("target", desired.target.arn.clone())),
            ));
            return;
        }
    };
    let mut attrs = Vec::new();
    if current.pattern != serde_json::from_str::<Value>(&desired.pattern).ok() {
        attrs.push(Attr::change(
            "event_pattern",
            "(differs)",
            "the home rule's",
        ));
    }
    if current.state != STATE {
        attrs.push(Attr::change("state", current.state.clone(), STATE));
    }
    if !current.targets.contains(&desired.target) {
        attrs.push(Attr::set("target", desired.target.arn.clone()));
    }
    let others: Vec<&RuleTarget> = current
        .targets
        .iter()
        .filter(|t| t.id != desired.target.id)
        .collect();
    for other in &others {
        attrs.push(Attr::unset(
            &format!("target.{}", other.id),
            other.arn.clone(),
        ));
    }
    if !attrs.is_empty() {
        let remove = others.iter().map(|t| t.id.clone()).collect();
        plan.push(Some(
            Change::new(RULE, &label, Action::Update, put(false, remove)).attrs(attrs),
        ));
    }
}

pub fn plan_destroy(current: &Current, plan: &mut Plan<impl From<Op>>) {
    let mut own: Plan<Op> = plan.empty_like();
    let bus = current
        .bus
        .as_ref()
        .map_or("", |b| b.name.as_str())
        .to_owned();
    own.remove_ours(current.rule.as_ref(), |rule| {
        Change::new(
            RULE,
            format!("{} on {bus}", rule.name),
            Action::Delete,
            Op::DeleteRule {
                bus: bus.clone(),
                name: rule.name.clone(),
            },
        )
    });
    own.remove_ours(current.bus.as_ref(), |found| {
        Change::new(
            BUS,
            &found.name,
            Action::Delete,
            Op::DeleteBus {
                name: found.name.clone(),
            },
        )
        .note("its policy goes with it")
    });
    plan.absorb(own);
}

/// What `status` says of the bus: there, login-alert's, and as declared.
fn check(current: &Current, desired: &Desired) -> Check {
    const NAME: &str = "central event bus";
    let mut plan: Plan<Op> = Plan::new(Mode::Apply, "", "");
    plan_apply(current, desired, &mut plan);
    if let Some(blocker) = plan.blockers.first() {
        return Check::failing(Link::Route, NAME, blocker.clone(), "see `login-alert plan`");
    }
    if plan.changes.is_empty() {
        return Check::ok(
            Link::Route,
            NAME,
            format!(
                "{} takes the organization's accounts' events; its rule sends them to the function",
                desired.bus
            ),
        );
    }
    let what: Vec<String> = plan
        .changes
        .iter()
        .map(|c| format!("{} {} {}", c.action.symbol(), c.kind, c.name))
        .collect();
    Check::failing(
        Link::Route,
        NAME,
        format!(
            "member accounts' events do not reach the function as declared: {}",
            what.join("; ")
        ),
        "run `login-alert apply` to put it back, and find out who changed it",
    )
}

/// The bus and its rule, by their fixed names, in the home region.
pub async fn read(ctx: &Ctx) -> Result<Current> {
    let t = &ctx.target;
    let name = t.names.central_bus();
    let events = &ctx.clients.events;
    let Some(found) = events
        .describe_event_bus()
        .name(&name)
        .send()
        .await
        .found_doing(NOT_FOUND, || format!("reading event bus {name}"))?
    else {
        return Ok(Current {
            bus: None,
            rule: None,
        });
    };
    let arn = t.arns.bus(&name);
    let label = format!("event bus {name}");
    let (tags, rule) = tokio::try_join!(
        rules::read_tags(events, &arn, &label),
        read_rule(ctx, &name, &name)
    )?;
    let policy = match found.policy() {
        Some(text) => Some(serde_json::from_str(text).with_context(|| {
            format!("EventBridge returned a policy for bus {name} that is not JSON")
        })?),
        None => None,
    };
    Ok(Current {
        bus: Some(Bus {
            name,
            managed: tags.is_some_and(|t| tags::is_managed(&t)),
            policy,
        }),
        rule,
    })
}

/// The rule `name` on `bus`, with its targets and whether it is login-alert's.
async fn read_rule(ctx: &Ctx, bus: &str, name: &str) -> Result<Option<BusRule>> {
    let label = rule_label(bus, name);
    let found = on_bus(ctx, bus, name, &label)
        .read(&ctx.target.arns.bus_rule(bus, name))
        .await?;
    Ok(found.map(|found| BusRule {
        name: name.to_owned(),
        pattern: found.pattern,
        state: found.state,
        managed: found.managed,
        targets: found.targets,
    }))
}

/// How messages name the rule `name` on `bus`.
fn rule_label(bus: &str, name: &str) -> String {
    format!("EventBridge rule {name} on bus {bus}")
}

/// The rule `name` on `bus`, for the calls rules share.
fn on_bus<'a>(ctx: &'a Ctx, bus: &'a str, name: &'a str, label: &'a str) -> rules::Rule<'a> {
    rules::Rule {
        events: &ctx.clients.events,
        bus: Some(bus),
        name,
        label,
    }
}

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    let events = &ctx.clients.events;
    match op {
        Op::CreateBus { name } => {
            match events
                .create_event_bus()
                .name(name)
                .tags(rules::managed_tag()?)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                // Created by an interrupted apply: read again next time, it is tagged from birth.
                Err(err)
                    if crate::aws::error_code(&err) == Some("ResourceAlreadyExistsException") =>
                {
                    Ok(())
                }
                Err(err) => Err(err).doing(|| format!("creating event bus {name}")),
            }
        }
        Op::PutPolicy { bus, policy } => events
            .put_permission()
            .event_bus_name(bus)
            .policy(policy)
            .send()
            .await
            .explained()
            .map(|_| ())
            .with_context(|| format!("putting the policy of event bus {bus}")),
        Op::PutRule {
            bus,
            name,
            pattern,
            create,
            target,
            remove_targets,
        } => {
            let label = rule_label(bus, name);
            let trigger = rules::Trigger {
                pattern,
                schedule: None,
                state: STATE,
            };
            on_bus(ctx, bus, name, &label)
                .put(RULE_DESCRIPTION, trigger, *create, target, remove_targets)
                .await
        }
        Op::DeleteRule { bus, name } => {
            let label = rule_label(bus, name);
            on_bus(ctx, bus, name, &label).delete().await
        }
        Op::DeleteBus { name } => events
            .delete_event_bus()
            .name(name)
            .send()
            .await
            .gone_doing(NOT_FOUND, || format!("deleting event bus {name}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::organization_target as target;

    fn as_applied(d: &Desired) -> Current {
        Current {
            bus: Some(Bus {
                name: d.bus.clone(),
                managed: true,
                policy: Some(d.policy.clone()),
            }),
            rule: Some(BusRule {
                name: d.rule.clone(),
                pattern: serde_json::from_str(&d.pattern).ok(),
                state: STATE.into(),
                managed: true,
                targets: vec![d.target.clone()],
            }),
        }
    }

    fn planned(current: &Current, d: &Desired) -> Plan<Op> {
        let mut plan = Plan::new(Mode::Apply, "111111111111", "eu-west-1");
        plan_apply(current, d, &mut plan);
        plan
    }

    #[test]
    fn the_bus_lets_in_the_organizations_accounts_only() {
        let d = desired(&target(), "o-abcdefghij");
        assert_eq!(d.bus, "login-alert-central");
        let statement = &d.policy["Statement"][0];
        assert_eq!(statement["Action"], "events:PutEvents");
        assert_eq!(
            statement["Resource"],
            "arn:aws:events:eu-west-1:111111111111:event-bus/login-alert-central"
        );
        assert_eq!(
            statement["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
            "o-abcdefghij"
        );
        assert_eq!(
            target().arns.bus_rule(&d.bus, &d.rule),
            "arn:aws:events:eu-west-1:111111111111:rule/login-alert-central/login-alert-central"
        );
    }

    #[test]
    fn a_missing_bus_is_created_with_its_policy_and_rule_and_as_applied_needs_nothing() {
        let d = desired(&target(), "o-abcdefghij");
        let plan = planned(
            &Current {
                bus: None,
                rule: None,
            },
            &d,
        );
        assert_eq!(
            crate::testing::kinds(&plan),
            [
                (BUS, Action::Create),
                (POLICY, Action::Create),
                (RULE, Action::Create)
            ]
        );
        assert!(!planned(&as_applied(&d), &d).has_changes());
        // The same policy in IAM's other spellings is not a change.
        let mut respelt = as_applied(&d);
        let policy = respelt.bus.as_mut().unwrap().policy.as_mut().unwrap();
        policy["Statement"][0]["Principal"] = json!({"AWS": "*"});
        policy["Statement"][0]["Action"] = json!(["events:PutEvents"]);
        assert!(!planned(&respelt, &d).has_changes());
    }

    #[test]
    fn a_widened_policy_or_a_changed_rule_is_planned_back() {
        let d = desired(&target(), "o-abcdefghij");
        let mut widened = as_applied(&d);
        widened.bus.as_mut().unwrap().policy = Some(policy(&d.bus, "o-someoneelse"));
        let rule = widened.rule.as_mut().unwrap();
        rule.state = "DISABLED".into();
        rule.targets.push(RuleTarget {
            id: "theirs".into(),
            arn: "arn:aws:sqs:eu-west-1:999999999999:copy".into(),
            role_arn: None,
        });
        let plan = planned(&widened, &d);
        assert_eq!(plan.changes.len(), 2, "{:?}", plan.changes);
        assert_eq!(
            (plan.changes[0].kind.as_str(), plan.changes[0].action),
            (POLICY, Action::Update)
        );
        let Op::PutRule {
            remove_targets,
            create,
            ..
        } = &plan.changes[1].op
        else {
            panic!("a rule put");
        };
        assert_eq!(
            (remove_targets.as_slice(), *create),
            (["theirs".to_owned()].as_slice(), false)
        );
        let names: Vec<&str> = plan.changes[1]
            .attrs
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, ["state", "target.theirs"]);
    }

    #[test]
    fn someone_elses_bus_blocks_and_destroy_removes_only_ours() {
        let d = desired(&target(), "o-abcdefghij");
        let mut theirs = as_applied(&d);
        theirs.bus.as_mut().unwrap().managed = false;
        theirs.rule = None;
        let plan = planned(&theirs, &d);
        assert!(!plan.has_changes());
        assert!(
            plan.blockers[0]
                .contains("login-alert-central already exists and was not created by login-alert")
        );

        let mut destroy: Plan<Op> = Plan::new(Mode::Destroy, "111111111111", "eu-west-1");
        plan_destroy(&as_applied(&d), &mut destroy);
        let ops: Vec<&Op> = destroy.changes.iter().map(|c| &c.op).collect();
        assert!(
            matches!(
                ops.as_slice(),
                [Op::DeleteRule { .. }, Op::DeleteBus { .. }]
            ),
            "{ops:?}"
        );
        let mut destroy: Plan<Op> = Plan::new(Mode::Destroy, "111111111111", "eu-west-1");
        plan_destroy(&theirs, &mut destroy);
        assert!(!destroy.has_changes());
        assert!(destroy.notices[0].contains("left as it is"));
    }
}

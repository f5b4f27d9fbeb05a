//! Organization coverage's member accounts: one CloudFormation StackSet of login-alert's (service-
//! managed permissions, automatic deployment on) deployed to the chosen organizational units in every
//! enabled region. Its template gives each member account, in each region, a rule on the default bus
//! forwarding sign-in, root and tamper events to the central bus, and (in the home region only, IAM
//! being global) the role that rule uses, allowed `events:PutEvents` on the central bus and nothing
//! else. StackSets does the fan-out: login-alert plans it, runs one operation per change and waits.
//!
//! Service-managed StackSets never deploy to the management account (CloudFormation user guide,
//! "Create a stack set with service-managed permissions"): it keeps its own per-region rules.

use std::time::Duration;

use anyhow::{Result, bail};
use aws_sdk_cloudformation::types::{
    AccountFilterType, AutoDeployment, CallAs, Capability, DeploymentTargets, PermissionModels,
    RegionConcurrencyType, StackSetOperationPreferences, StackSetOperationStatus, StackSetStatus,
    Tag,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::rule::{self, STATE};
use crate::aws::SdkResultExt;
use crate::check::{Check, Link};
use crate::model::{Ctx, Facts, Target};
use crate::names::MANAGED_BY;
use crate::organization::Caller;
use crate::part::Part;
use crate::plan::lifecycle::{Found, Owned};
use crate::plan::{Action, Attr, Change, Plan};
use crate::policy::Grant;

const KIND: &str = "CloudFormation StackSet";
const INSTANCES: &str = "stack instances";
const NOT_FOUND: &[&str] = &["StackSetNotFoundException"];

/// How each StackSets operation runs (they do not apply to automatic deployments, which AWS paces):
/// every region at once, since a region's instances are independent of another's; 100% of a region's
/// accounts at once, as the template is two small resources; and a failure tolerance of 10% of a
/// region's accounts, so one account whose SCPs refuse the role does not stop the rest, while a
/// template that fails everywhere stops the operation early. Failures are named after the wait.
pub const MAX_CONCURRENT_PERCENTAGE: i32 = 100;
pub const FAILURE_TOLERANCE_PERCENTAGE: i32 = 10;

/// How long one StackSets operation may take before apply stops waiting (it goes on in AWS; the
/// next `apply` finds its result): an organization of thousands of accounts takes tens of minutes.
const OPERATION_BOUND: Duration = Duration::from_secs(2 * 3600);

/// The StackSet as read, with its stack instances and the accounts its targets hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Current {
    pub stack_set: Option<StackSetFound>,
    pub instances: Vec<Instance>,
    /// Every account below the wanted targets (the management account aside), when wanted.
    pub members: Vec<Member>,
}

/// An account below the targets.
pub use crate::organization::Account as Member;

mod coverage;
mod execute;
mod template;

pub use coverage::{Coverage, coverage};
pub use execute::{execute, read};
pub use template::{digest, template};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackSetFound {
    pub name: String,
    pub managed: bool,
    /// `sha256:…` of the template body as CloudFormation holds it.
    pub template_digest: String,
    /// The deployment targets CloudFormation reports (organizational units or the root).
    pub units: Vec<String>,
}

impl Owned for StackSetFound {
    fn ours(&self) -> bool {
        self.managed
    }
}

/// One stack instance: an account in a region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, PartialOrd, Ord)]
pub struct Instance {
    pub account: String,
    pub region: String,
    /// CURRENT, OUTDATED or INOPERABLE.
    pub status: String,
    pub reason: Option<String>,
}

/// What the StackSet should be.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub name: String,
    pub template: String,
    pub digest: String,
    pub units: Vec<String>,
    pub regions: Vec<String>,
    pub delegated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// CreateStackSet: service-managed, automatic deployment on, tagged.
    Create {
        name: String,
        template: String,
        delegated: bool,
    },
    /// UpdateStackSet with the new template: one operation updates every instance.
    Update {
        name: String,
        template: String,
        delegated: bool,
    },
    /// CreateStackInstances: one operation for every account of `units` in `regions` (only
    /// `accounts` of them when given: a gap apply fills).
    AddInstances {
        name: String,
        units: Vec<String>,
        regions: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        accounts: Vec<String>,
        delegated: bool,
    },
    /// DeleteStackInstances: one operation for every account of `units` in `regions`.
    DeleteInstances {
        name: String,
        units: Vec<String>,
        regions: Vec<String>,
        delegated: bool,
    },
    /// DeleteStackSet (once it holds no instance).
    Delete { name: String, delegated: bool },
}

/// The StackSet, wanted with organization coverage in the EventBridge modes.
pub struct StackSet;

impl Part for StackSet {
    const NAME: &'static str = "the organization's StackSet";
    type Current = Current;
    type Op = Op;
    /// Read with what the organization part learned (whether to call as a delegated administrator).
    const NEEDS_FACTS: bool = true;

    /// Read and removed in every config (a config that stops wanting it removes what an earlier one
    /// deployed); created and changed only with organization coverage in the EventBridge modes.
    fn permissions(&self, t: &Target) -> Vec<Grant> {
        // A StackSet's ARN ends in its generated ID (`stackset/NAME:ID`): the name with a wildcard.
        let stack_set = format!(
            "arn:{}:cloudformation:{}:{}:stackset/{}:*",
            t.arns.partition,
            t.region(),
            t.account_id(),
            t.names.org_stack_set()
        );
        let mut actions = vec![
            "cloudformation:DescribeStackSet",
            "cloudformation:ListStackInstances",
            "cloudformation:DescribeStackSetOperation",
            "cloudformation:ListStackSetOperationResults",
            "cloudformation:DeleteStackInstances",
            "cloudformation:DeleteStackSet",
        ];
        if t.organization_events() {
            // CreateStackSet with tags needs cloudformation:TagResource as well.
            actions.extend([
                "cloudformation:CreateStackSet",
                "cloudformation:UpdateStackSet",
                "cloudformation:CreateStackInstances",
                "cloudformation:TagResource",
            ]);
        }
        vec![Grant::new("OrganizationStackSet", actions, [stack_set])]
    }

    async fn read(&self, ctx: &Ctx, facts: &Facts) -> Result<Current> {
        let t = &ctx.target;
        let (mut current, members) = tokio::try_join!(
            read(
                ctx,
                delegated(facts),
                facts.regions.as_ref().map(|r| r.enabled.as_slice())
            ),
            async {
                // The accounts the targets hold, for coverage (only when wanted, from a caller that may list them).
                match facts
                    .organization
                    .as_ref()
                    // Only once the organization passes every check: a unit that does not exist is a
                    // blocker of the plan, not an error of the read.
                    .filter(|o| {
                        t.organization_events()
                            && crate::organization::refusals(
                                Some(o),
                                t.account_id(),
                                t.route.as_str(),
                                true,
                                t.route.uses_logs(),
                            )
                            .is_empty()
                    }) {
                    // Refusals pass only once the root is read.
                    Some(org) => match &org.root {
                        Some(root) => ctx.organization_accounts(root).await.map(|all| {
                            crate::org_tree::below(
                                all,
                                &org.targets(&t.organization_units),
                                &org.management_account,
                            )
                        }),
                        None => Ok(Vec::new()),
                    },
                    None => Ok(Vec::new()),
                }
            }
        )?;
        current.members = members;
        Ok(current)
    }

    fn wanted(&self, t: &Target, _: &Facts) -> bool {
        t.organization_events()
    }

    fn plan_apply(&self, current: &Current, t: &Target, facts: &Facts, plan: &mut Plan<Op>) {
        let (Some(org), Some(regions)) = (&facts.organization, &facts.regions) else {
            return;
        };
        let desired = desired(
            t,
            &org.targets(&t.organization_units),
            &regions.enabled,
            delegated(facts),
        );
        plan_apply(current, &desired, plan);
        if current.stack_set.is_some() {
            let cov = coverage(current, &regions.enabled);
            let gaps = cov.gaps();
            plan.notice(if gaps.is_empty() {
                format!("organization coverage: {}", cov.summary())
            } else {
                format!(
                    "organization coverage: {}; not covered: {}",
                    cov.summary(),
                    gaps.join("; ")
                )
            });
        }
    }

    /// Coverage as accounts × regions, every gap named; a gap needs attention (exit 2), alerts
    /// from the other accounts still arrive.
    async fn checks(&self, ctx: &Ctx, current: &Current, facts: &Facts) -> Result<Vec<Check>> {
        let t = &ctx.target;
        let (Some(regions), true) = (&facts.regions, t.organization_events()) else {
            return Ok(Vec::new());
        };
        const NAME: &str = "organization coverage";
        if current.stack_set.is_none() {
            return Ok(vec![Check::failing(
                Link::Route,
                NAME,
                format!(
                    "StackSet {} is missing: no member account forwards its events",
                    t.names.org_stack_set()
                ),
                "run `login-alert apply`",
            )]);
        }
        let cov = coverage(current, &regions.enabled);
        let gaps = cov.gaps();
        Ok(vec![if gaps.is_empty() {
            Check::ok(Link::Route, NAME, cov.summary())
        } else {
            Check::warning(
                Link::Route,
                NAME,
                format!("{}; not covered: {}", cov.summary(), gaps.join("; ")),
                "run `login-alert apply` to add the missing stack instances; for a failed one, correct the cause \
                 CloudFormation gives (in the account named) and apply again",
            )
        }])
    }

    fn plan_destroy(&self, current: &Current, t: &Target, facts: &Facts, plan: &mut Plan<Op>) {
        let fallback = facts
            .organization
            .as_ref()
            .map(|org| org.targets(&t.organization_units))
            .unwrap_or_default();
        plan_destroy(current, &fallback, delegated(facts), plan);
    }
}

fn delegated(facts: &Facts) -> bool {
    facts
        .organization
        .as_ref()
        .is_some_and(|org| org.caller == Caller::DelegatedAdmin)
}

/// The StackSet for `units` in `regions`.
pub fn desired(t: &Target, units: &[String], regions: &[String], delegated: bool) -> Desired {
    let template = template(t).to_string();
    Desired {
        name: t.names.org_stack_set(),
        digest: digest(&template),
        template,
        units: units.to_vec(),
        regions: regions.to_vec(),
        delegated,
    }
}

/// Creates the StackSet and its instances, or puts back what differs: the template (one update of
/// every instance), regions enabled or disabled since, units added to or removed from the config.
pub fn plan_apply(current: &Current, desired: &Desired, plan: &mut Plan<impl From<Op>>) {
    let mut own: Plan<Op> = plan.empty_like();
    let (name, delegated) = (desired.name.clone(), desired.delegated);
    let add = |units: Vec<String>, regions: Vec<String>| Op::AddInstances {
        name: name.clone(),
        units,
        regions,
        accounts: Vec::new(),
        delegated,
    };
    let targets_label = |units: &[String], regions: &[String]| {
        format!("{} × {} regions", units.join(", "), regions.len())
    };
    // Every unit in every region: one operation, when there is anything to deploy.
    let every_instance = || {
        (!desired.units.is_empty() && !desired.regions.is_empty()).then(|| {
            Change::new(
                INSTANCES,
                targets_label(&desired.units, &desired.regions),
                Action::Create,
                add(desired.units.clone(), desired.regions.clone()),
            )
            .attr(Attr::set("deployment_targets", desired.units.join(", ")))
            .attr(Attr::set("regions", desired.regions.join(", ")))
        })
    };
    match own.claim(KIND, &desired.name, current.stack_set.as_ref()) {
        Found::Refused => {}
        Found::Missing => {
            own.push(Some(
                Change::new(
                    KIND,
                    &desired.name,
                    Action::Create,
                    Op::Create {
                        name: name.clone(),
                        template: desired.template.clone(),
                        delegated,
                    },
                )
                .attr(Attr::set("template_digest", desired.digest.clone()))
                .attr(Attr::set("permission_model", "SERVICE_MANAGED"))
                .attr(Attr::set(
                    "auto_deployment",
                    "on (accounts that join get it, accounts that leave lose it)",
                ))
                .attr(Attr::set(
                    "call_as",
                    if delegated { "DELEGATED_ADMIN" } else { "SELF" },
                )),
            ));
            own.push(every_instance().map(|change| {
                change.note("one StackSets operation for every account below these units (the management account keeps its own rules)")
            }));
        }
        Found::Ours(found) => {
            if found.template_digest != desired.digest {
                own.push(Some(
                    Change::new(
                        KIND,
                        &desired.name,
                        Action::Update,
                        Op::Update {
                            name: name.clone(),
                            template: desired.template.clone(),
                            delegated,
                        },
                    )
                    .attr(Attr::change(
                        "template_digest",
                        found.template_digest.clone(),
                        desired.digest.clone(),
                    ))
                    .note("one StackSets operation updates every stack instance"),
                ));
            }
            // The targets CloudFormation reports; none means no instance was ever asked for (an apply
            // stopped between CreateStackSet and CreateStackInstances): ask now.
            if found.units.is_empty() {
                own.push(every_instance());
                return plan.absorb(own);
            }
            let units = found.units.clone();
            let deployed: Vec<String> = {
                let mut r: Vec<String> =
                    current.instances.iter().map(|i| i.region.clone()).collect();
                r.sort();
                r.dedup();
                r
            };
            // Regions are known only from the instances: with no account below the targets there is
            // nothing to add (automatic deployment uses the targets' regions for accounts that join).
            let new_regions: Vec<String> = desired
                .regions
                .iter()
                .filter(|r| !deployed.is_empty() && !deployed.contains(r))
                .cloned()
                .collect();
            let gone_regions: Vec<String> = deployed
                .iter()
                .filter(|r| !desired.regions.contains(r))
                .cloned()
                .collect();
            let new_units: Vec<String> = desired
                .units
                .iter()
                .filter(|u| !units.contains(u))
                .cloned()
                .collect();
            let gone_units: Vec<String> = units
                .iter()
                .filter(|u| !desired.units.contains(u))
                .cloned()
                .collect();
            let kept_units: Vec<String> = units
                .iter()
                .filter(|u| desired.units.contains(u))
                .cloned()
                .collect();
            let delete = |units: Vec<String>, regions: Vec<String>| Op::DeleteInstances {
                name: name.clone(),
                units,
                regions,
                delegated,
            };
            // Instances of units in regions, added or deleted: each pair of what changed that leaves
            // both sides non-empty is one operation.
            let steps = [
                (
                    &new_units,
                    &desired.regions,
                    Action::Create,
                    Attr::set("deployment_targets", new_units.join(", ")),
                    None,
                ),
                (
                    &kept_units,
                    &new_regions,
                    Action::Create,
                    Attr::set("regions", new_regions.join(", ")),
                    Some("regions enabled since the last apply"),
                ),
                (
                    &gone_units,
                    &deployed,
                    Action::Delete,
                    Attr::unset("deployment_targets", gone_units.join(", ")),
                    None,
                ),
                (
                    &kept_units,
                    &gone_regions,
                    Action::Delete,
                    Attr::unset("regions", gone_regions.join(", ")),
                    Some("regions no longer enabled"),
                ),
            ];
            for (units, regions, action, attr, note) in steps {
                if units.is_empty() || regions.is_empty() {
                    continue;
                }
                let label = targets_label(units, regions);
                let op = match action {
                    Action::Create => add(units.clone(), regions.clone()),
                    _ => delete(units.clone(), regions.clone()),
                };
                let mut change = Change::new(INSTANCES, label, action, op).attr(attr);
                if let Some(note) = note {
                    change = change.note(note);
                }
                own.push(Some(change));
            }
            // A gap apply can see (an active account below the targets without an instance in a
            // region) is filled for those accounts only, in one operation; when the targets or the
            // regions change in this plan, the next apply fills what that left.
            let gaps = coverage(current, &desired.regions).missing;
            if !gaps.is_empty() && new_units.is_empty() && new_regions.is_empty() {
                let accounts: Vec<String> = gaps.iter().map(|(a, _)| a.clone()).collect();
                let mut regions: Vec<String> = gaps.iter().flat_map(|(_, r)| r.clone()).collect();
                regions.sort();
                regions.dedup();
                own.push(Some(
                    Change::new(
                        INSTANCES,
                        format!("{} accounts without an instance", accounts.len()),
                        Action::Create,
                        Op::AddInstances {
                            name: name.clone(),
                            units: units.clone(),
                            regions: regions.clone(),
                            accounts: accounts.clone(),
                            delegated,
                        },
                    )
                    .attr(Attr::set("accounts", accounts.join(", ")))
                    .attr(Attr::set("regions", regions.join(", ")))
                    .note("automatic deployment would normally have added them; apply adds what it can see is missing"),
                ));
            }
        }
    }
    plan.absorb(own);
}

/// Deletes the instances (one operation, waited for), then the StackSet; someone else's is left.
pub fn plan_destroy(
    current: &Current,
    fallback_units: &[String],
    delegated: bool,
    plan: &mut Plan<impl From<Op>>,
) {
    let mut own: Plan<Op> = plan.empty_like();
    let Some(found) = &current.stack_set else {
        return;
    };
    if found.ours() && !current.instances.is_empty() {
        let units = if found.units.is_empty() {
            fallback_units.to_vec()
        } else {
            found.units.clone()
        };
        let mut regions: Vec<String> = current.instances.iter().map(|i| i.region.clone()).collect();
        regions.sort();
        regions.dedup();
        own.push(Some(
            Change::new(
                INSTANCES,
                format!("{} × {} regions", units.join(", "), regions.len()),
                Action::Delete,
                Op::DeleteInstances {
                    name: found.name.clone(),
                    units,
                    regions,
                    delegated,
                },
            )
            .note(format!(
                "{} stack instances: the forwarding rules and roles in the member accounts",
                current.instances.len()
            )),
        ));
    }
    own.remove_ours(Some(found), |found| {
        Change::new(
            KIND,
            &found.name,
            Action::Delete,
            Op::Delete {
                name: found.name.clone(),
                delegated,
            },
        )
    });
    plan.absorb(own);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Mode;

    use crate::testing::organization_target as target;

    fn regions() -> Vec<String> {
        vec!["eu-west-1".into(), "us-east-1".into()]
    }

    /// The StackSet deployed to the organization's root in [`regions`], by the management account.
    fn at_root() -> Desired {
        desired(&target(), &["r-ab12".into()], &regions(), false)
    }

    fn as_applied(d: &Desired, accounts: &[&str]) -> Current {
        Current {
            members: accounts
                .iter()
                .map(|a| Member {
                    id: (*a).into(),
                    name: format!("name-{a}"),
                    status: "ACTIVE".into(),
                })
                .collect(),
            stack_set: Some(StackSetFound {
                name: d.name.clone(),
                managed: true,
                template_digest: d.digest.clone(),
                units: d.units.clone(),
            }),
            instances: accounts
                .iter()
                .flat_map(|a| {
                    d.regions.iter().map(move |r| Instance {
                        account: (*a).into(),
                        region: r.clone(),
                        status: "CURRENT".into(),
                        reason: None,
                    })
                })
                .collect(),
        }
    }

    fn planned(current: &Current, d: &Desired) -> Plan<Op> {
        let mut plan = Plan::new(Mode::Apply, "111111111111", "eu-west-1");
        plan_apply(current, d, &mut plan);
        plan
    }

    #[test]
    fn the_template_creates_the_role_once_and_a_rule_per_region_to_the_central_bus() {
        let t = template(&target());
        assert_eq!(t["Resources"]["ForwardRole"]["Condition"], "RoleRegion");
        assert_eq!(t["Conditions"]["RoleRegion"]["Fn::Equals"][1], "eu-west-1");
        let policy = &t["Resources"]["ForwardRole"]["Properties"]["Policies"][0]["PolicyDocument"]
            ["Statement"];
        assert_eq!(policy.as_array().unwrap().len(), 1);
        assert_eq!(policy[0]["Action"], "events:PutEvents");
        assert_eq!(
            policy[0]["Resource"],
            "arn:aws:events:eu-west-1:111111111111:event-bus/login-alert-central"
        );
        let rule = &t["Resources"]["ForwardRule"]["Properties"];
        assert_eq!(rule["State"], STATE);
        assert_eq!(rule["Targets"][0]["Arn"], policy[0]["Resource"]);
        assert!(rule["EventPattern"].is_object());
        assert!(rule.get("Condition").is_none());
    }

    #[test]
    fn every_rule_of_organization_coverage_matches_changes_to_it_by_the_names_login_alert_gives() {
        use login_alert_handler::org_tamper::{
            STACKSETS_PRINCIPAL, central_bus_name, stack_set_name,
        };
        let t = target();
        // The handler recognises the records by these names: both sides must agree.
        assert_eq!(t.names.org_stack_set(), stack_set_name(&t.names.prefix));
        assert_eq!(t.names.central_bus(), central_bus_name(&t.names.prefix));
        let member =
            template(&t)["Resources"]["ForwardRule"]["Properties"]["EventPattern"].to_string();
        let home = rule::home(&t).pattern;
        let forward = rule::forward(&t, "us-east-1").pattern;
        let central = super::super::central_bus::desired(&t, "o-abc123").pattern;
        for pattern in [&member, &home, &forward, &central] {
            for term in [
                r#""stackSetName":[{"prefix":"login-alert-org-forward"}]"#,
                r#"{"prefix":"StackSet-login-alert-org-forward-"}"#,
                r#"{"wildcard":"*:stack/StackSet-login-alert-org-forward-*"}"#,
                r#""eventBusName":[{"prefix":"login-alert-central"}"#,
                r#"{"wildcard":"*:event-bus/login-alert-central"}"#,
                STACKSETS_PRINCIPAL,
                // The member's rule and role, and the central bus and its rule, by their names.
                r#""roleName":[{"prefix":"login-alert-"}]"#,
                r#""name":[{"prefix":"login-alert-"}"#,
                r#""rule":[{"prefix":"login-alert-"}]"#,
            ] {
                assert!(pattern.contains(term), "{term} missing from {pattern}");
            }
        }
    }

    #[test]
    fn a_new_stack_set_is_one_create_and_one_operation_for_every_account_and_region() {
        let d = at_root();
        let plan = planned(
            &Current {
                stack_set: None,
                instances: vec![],
                members: vec![],
            },
            &d,
        );
        assert_eq!(plan.changes.len(), 2);
        assert!(matches!(
            &plan.changes[0].op,
            Op::Create {
                delegated: false,
                ..
            }
        ));
        let Op::AddInstances {
            units, regions: r, ..
        } = &plan.changes[1].op
        else {
            panic!("instances")
        };
        assert_eq!(
            (units.as_slice(), r.as_slice()),
            (["r-ab12".to_owned()].as_slice(), regions().as_slice())
        );
        assert!(
            plan.changes[0]
                .attrs
                .iter()
                .any(|a| a.name == "template_digest")
        );
        // A delegated administrator calls as one.
        let delegated = desired(&target(), &["r-ab12".into()], &regions(), true);
        let plan = planned(
            &Current {
                stack_set: None,
                instances: vec![],
                members: vec![],
            },
            &delegated,
        );
        assert!(matches!(
            &plan.changes[0].op,
            Op::Create {
                delegated: true,
                ..
            }
        ));
    }

    #[test]
    fn as_applied_needs_nothing_and_a_template_change_is_one_update() {
        let d = at_root();
        let current = as_applied(&d, &["222222222222", "333333333333"]);
        assert!(!planned(&current, &d).has_changes());
        let mut old = current.clone();
        old.stack_set.as_mut().unwrap().template_digest = "sha256:old".into();
        let plan = planned(&old, &d);
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].action, Action::Update);
        assert_eq!(
            plan.changes[0].attrs[0],
            Attr::change("template_digest", "sha256:old", d.digest.clone())
        );
    }

    #[test]
    fn regions_and_units_that_change_are_one_operation_each() {
        let d = at_root();
        let current = as_applied(&d, &["222222222222"]);
        let wider = desired(
            &target(),
            &["r-ab12".into(), "ou-ab12-abcdefgh".into()],
            &[
                "eu-west-1".into(),
                "us-east-1".into(),
                "ap-northeast-1".into(),
            ],
            false,
        );
        let plan = planned(&current, &wider);
        let ops: Vec<&Op> = plan.changes.iter().map(|c| &c.op).collect();
        assert_eq!(ops.len(), 2, "{ops:?}");
        assert!(
            matches!(ops[0], Op::AddInstances { units, .. } if units == &["ou-ab12-abcdefgh".to_owned()])
        );
        assert!(
            matches!(ops[1], Op::AddInstances { regions, .. } if regions == &["ap-northeast-1".to_owned()])
        );
        let narrower = desired(&target(), &["r-ab12".into()], &["eu-west-1".into()], false);
        let plan = planned(&current, &narrower);
        assert!(
            matches!(&plan.changes[0].op, Op::DeleteInstances { regions, .. } if regions == &["us-east-1".to_owned()])
        );
    }

    #[test]
    fn targets_without_accounts_need_nothing_and_targets_never_asked_for_are_asked_for() {
        let d = at_root();
        // No account below the root yet: no instance, nothing to do (automatic deployment adds them).
        assert!(!planned(&as_applied(&d, &[]), &d).has_changes());
        // An apply stopped after CreateStackSet: CloudFormation reports no targets.
        let mut interrupted = as_applied(&d, &[]);
        interrupted.stack_set.as_mut().unwrap().units.clear();
        let plan = planned(&interrupted, &d);
        assert!(
            matches!(&plan.changes[0].op, Op::AddInstances { units, .. } if units == &["r-ab12".to_owned()])
        );
    }

    #[test]
    fn coverage_counts_accounts_by_regions_and_names_every_gap_and_apply_fills_what_it_sees() {
        let d = at_root();
        let mut current = as_applied(&d, &["222222222222", "333333333333", "444444444444"]);
        // One instance gone, one failed, one account suspended.
        current
            .instances
            .retain(|i| !(i.account == "222222222222" && i.region == "us-east-1"));
        let failed = current
            .instances
            .iter_mut()
            .find(|i| i.account == "333333333333")
            .unwrap();
        failed.status = "INOPERABLE".into();
        failed.reason = Some(
            "Account 333333333333 should have 'AWSCloudFormationStackSetExecutionRole'".into(),
        );
        current.members.push(Member {
            id: "555555555555".into(),
            name: "old".into(),
            status: "SUSPENDED".into(),
        });
        let cov = coverage(&current, &d.regions);
        assert_eq!(
            cov.summary(),
            "4 accounts × 2 regions: 4 current, 1 failed, 1 missing, 1 accounts not active"
        );
        let gaps = cov.gaps().join("\n");
        for expected in [
            "account 222222222222 has no stack instance in us-east-1",
            "account 333333333333 (name-333333333333) in eu-west-1: INOPERABLE (Account 333333333333 should have",
            "account 555555555555 (old) is not covered",
        ] {
            assert!(gaps.contains(expected), "{expected}\n{gaps}");
        }
        let plan = planned(&current, &d);
        assert_eq!(plan.changes.len(), 1, "{:?}", plan.changes);
        let Op::AddInstances {
            accounts,
            regions,
            units,
            ..
        } = &plan.changes[0].op
        else {
            panic!("a gap fill");
        };
        assert_eq!(accounts, &["222222222222".to_owned()]);
        assert_eq!(regions, &["us-east-1".to_owned()]);
        assert_eq!(units, &["r-ab12".to_owned()]);
    }

    #[test]
    fn destroy_deletes_the_instances_then_the_stack_set_and_never_someone_elses() {
        let d = at_root();
        let mut plan: Plan<Op> = Plan::new(Mode::Destroy, "111111111111", "eu-west-1");
        plan_destroy(&as_applied(&d, &["222222222222"]), &[], false, &mut plan);
        assert!(matches!(&plan.changes[0].op, Op::DeleteInstances { .. }));
        assert!(matches!(&plan.changes[1].op, Op::Delete { .. }));
        let mut theirs = as_applied(&d, &["222222222222"]);
        theirs.stack_set.as_mut().unwrap().managed = false;
        let mut plan: Plan<Op> = Plan::new(Mode::Destroy, "111111111111", "eu-west-1");
        plan_destroy(&theirs, &[], false, &mut plan);
        assert!(!plan.has_changes());
        let blocked = planned(&theirs, &d);
        assert!(blocked.blockers[0].contains("already exists and was not created by login-alert"));
    }
}

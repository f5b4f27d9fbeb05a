//! The CloudTrail trail: the user's adopted trail (its original settings remembered in tags and
//! restored by `destroy`) or one login-alert creates, and login-alert's own trail left over when
//! the config moves from creating a trail to adopting one.
//!
//! - [`read`]: a trail as CloudTrail reports it, and whether it can be changed from here;
//! - [`memo`]: the `login-alert:original-*` tags;
//! - [`adopt`]: adopt, remember, restore; [`own`]: create and delete login-alert's own trail;
//! - [`op`] and [`execute`]: what apply does to a trail, and doing it;
//! - [`health`]: what `status` says of it.

pub mod adopt;
pub mod error;
pub mod execute;
pub mod health;
pub mod memo;
pub mod op;
pub mod own;
pub mod read;

use anyhow::Result;

pub use self::error::TrailError;
pub use self::execute::{execute, is_propagation, validate_log_group_arn, validate_role_arn};
use self::memo::Memo;
pub use self::op::{CloudWatchLogs, Op, Update};
pub use self::read::{Current, Found, read};
use crate::arn::log_group_name;
use crate::check::Check;
pub use crate::model::Delivery;
use crate::model::{Ctx, Facts, Target, TrailChoice};
use crate::part::Part;
use crate::plan::Plan;
use crate::policy::Grant;
use crate::reach::Reach;

/// The trail the config chooses. Read first: where it delivers decides the log group the filter
/// and the invoke permission name, and whether login-alert's own group and role are wanted.
pub struct Trail;

impl Part for Trail {
    const NAME: &'static str = "the trail";
    type Current = Current;
    type Op = Op;
    const TEACHES: bool = true;

    /// Whatever the trail choice (`init` makes it, and a change of it deletes the trail of
    /// login-alert's own): the adopted trail can have any name, in the home region only.
    fn permissions(&self, t: &Target) -> Vec<Grant> {
        let mut grants = vec![
            // DescribeTrails and ListTrails (a trail named from another region) have no resource type.
            Grant::anywhere(["cloudtrail:DescribeTrails", "cloudtrail:ListTrails"]),
            Grant::new(
                "TrailsInTheHomeRegion",
                [
                    "cloudtrail:GetTrailStatus",
                    "cloudtrail:ListTags",
                    "cloudtrail:UpdateTrail",
                    "cloudtrail:StartLogging",
                    "cloudtrail:StopLogging",
                    "cloudtrail:AddTags",
                    "cloudtrail:RemoveTags",
                ],
                [t.arns.trail("*")],
            ),
            // CreateTrail with tags needs cloudtrail:AddTags as well (granted above).
            Grant::new(
                "OwnTrail",
                ["cloudtrail:CreateTrail", "cloudtrail:DeleteTrail"],
                [t.arns.trail(&t.names.trail())],
            ),
        ];
        if t.organization_wide() && t.trail == TrailChoice::Create {
            grants.extend(organization_trail_permissions(t));
        }
        // The management account's organization trail, read from a delegated administrator: its
        // GetTrailStatus is in every policy already (`init` reads any account's trail, discovery.rs).
        if t.route.uses_logs() {
            // CreateTrail and UpdateTrail hand the role to CloudTrail with the log group.
            grants.push(Grant::pass_role(
                "PassRoleToCloudTrail",
                t.arns.role(&t.names.cloudtrail_role()),
                "cloudtrail.amazonaws.com",
            ));
            // `status`: the delivery status and the log group's creation time.
            grants.push(Grant::anywhere(["logs:DescribeLogGroups"]));
        }
        grants
    }

    async fn read(&self, ctx: &Ctx, _: &Facts) -> Result<Current> {
        read(ctx).await
    }

    fn learn(&self, current: &Current, t: &Target, facts: &mut Facts) {
        facts.delivery = delivery(current, t);
        facts.organization_trail = match t.trail {
            TrailChoice::Adopt(_) => current
                .trail
                .as_ref()
                .is_some_and(|found| found.organization),
            // login-alert's own trail is an organization trail with organization coverage (apply
            // makes it one).
            TrailChoice::Create => t.organization_wide(),
        };
    }

    fn plan_apply(&self, current: &Current, t: &Target, facts: &Facts, plan: &mut Plan<Op>) {
        if let Some(found) = &current.trail
            && let Some(owner) = read::read_only_owner(found, t, facts.organization.as_ref())
        {
            adopt::plan_read_only(found, &owner, plan);
            return;
        }
        plan_apply(current, t, &facts.delivery, plan);
        if let Some(found) = &current.trail
            && read::reach_of(found, t) == Reach::Here
            && let Some(text) = member_accounts(found, t, facts)
        {
            plan.notice(text);
        }
    }

    fn plan_destroy(&self, current: &Current, t: &Target, _: &Facts, plan: &mut Plan<Op>) {
        plan_destroy(current, t, plan);
    }

    async fn checks(&self, ctx: &Ctx, current: &Current, facts: &Facts) -> Result<Vec<Check>> {
        health::checks(ctx, current, facts).await
    }
}

/// What creating (or updating) an organization trail needs of the caller besides CloudTrail's own
/// actions (CloudTrail user guide, "Creating a trail for an organization"): CloudTrail reads the
/// organization, enables its trusted access if it is not yet enabled, and uses its service-linked
/// role, which it creates the first time.
fn organization_trail_permissions(t: &Target) -> Vec<Grant> {
    let role = format!(
        "arn:{}:iam::{}:role/aws-service-role/cloudtrail.amazonaws.com/AWSServiceRoleForCloudTrail",
        t.arns.partition,
        t.account_id()
    );
    let mut create_role = Grant::new(
        "CloudTrailServiceLinkedRole",
        ["iam:CreateServiceLinkedRole"],
        [role.clone()],
    );
    create_role.condition = Some(serde_json::json!({
        "StringEquals": { "iam:AWSServiceName": "cloudtrail.amazonaws.com" }
    }));
    let mut trusted_access = Grant::anywhere(["organizations:EnableAWSServiceAccess"]);
    trusted_access.condition = Some(serde_json::json!({
        "StringEquals": { "organizations:ServicePrincipal": "cloudtrail.amazonaws.com" }
    }));
    vec![
        Grant::new("CloudTrailServiceLinkedRoleRead", ["iam:GetRole"], [role]),
        create_role,
        trusted_access,
        Grant::anywhere([
            "organizations:DescribeOrganization",
            "organizations:ListAWSServiceAccessForOrganization",
        ]),
    ]
}

/// login-alert's own trail while the config adopts another one: left from an earlier
/// `trail.create = true`, it would go on logging (and costing) unseen, so both apply and destroy delete it.
pub struct LeftoverTrail;

impl Part for LeftoverTrail {
    const NAME: &'static str = "login-alert's own trail";
    type Current = Option<Found>;
    type Op = Op;

    fn permissions(&self, t: &Target) -> Vec<Grant> {
        vec![
            Grant::anywhere(["cloudtrail:DescribeTrails"]),
            Grant::new(
                "OwnTrail",
                [
                    "cloudtrail:GetTrailStatus",
                    "cloudtrail:ListTags",
                    "cloudtrail:DeleteTrail",
                ],
                [t.arns.trail(&t.names.trail())],
            ),
        ]
    }

    async fn read(&self, ctx: &Ctx, _: &Facts) -> Result<Option<Found>> {
        let t = &ctx.target;
        let own = t.names.trail();
        match &t.trail {
            // Adopting login-alert's own trail by name or ARN makes it the chosen trail, not a leftover.
            TrailChoice::Adopt(name) if *name != own && *name != t.arns.trail(&own) => {
                Ok(read::read_wanted(ctx, &own, read::Search::Here)
                    .await?
                    .trail)
            }
            _ => Ok(None),
        }
    }

    fn plan_apply(&self, current: &Option<Found>, t: &Target, _: &Facts, plan: &mut Plan<Op>) {
        plan_leftover(current.as_ref(), t, plan);
    }

    fn plan_destroy(&self, current: &Option<Found>, t: &Target, _: &Facts, plan: &mut Plan<Op>) {
        plan_leftover(current.as_ref(), t, plan);
    }
}

/// Deletes the leftover trail when it is login-alert's and can be changed from here; anything else
/// with that name is none of login-alert's business.
fn plan_leftover(found: Option<&Found>, t: &Target, plan: &mut Plan<Op>) {
    if let Some(found) = found
        && read::reach_of(found, t) == Reach::Here
        && crate::tags::is_managed(&found.tags)
    {
        own::plan_delete(found, plan);
    }
}

/// What EventBridge mode leaves out when the adopted trail is an organization trail: CloudTrail hands
/// each account's events to that account's own default bus, so login-alert's rules (in this account)
/// see this account's events only, while the trail's CloudWatch Logs delivery carries every account's.
/// `None` when nothing is left out (no organization trail, or CloudWatch Logs mode).
pub fn member_accounts(found: &Found, t: &Target, facts: &Facts) -> Option<String> {
    if !facts.organization_trail || !t.route.uses_eventbridge() || t.organization_wide() {
        return None;
    }
    let name = &found.name;
    Some(if t.route.uses_logs() {
        format!(
            "trail {name} is an organization trail, but EventBridge covers this account only (CloudTrail hands each account's events \
             to that account's own event bus): the member accounts' sign-ins reach login-alert only through CloudWatch Logs, \
             in about 5 minutes instead of seconds. coverage = \"organization\" covers them through EventBridge too \
             (a StackSet forwards each member account's events to a central bus)"
        )
    } else {
        format!(
            "trail {name} is an organization trail, but EventBridge mode covers this account only (CloudTrail hands each account's \
             events to that account's own event bus): the member accounts are not covered, their sign-ins raise no alert. \
             To cover them, set coverage = \"organization\" (a StackSet forwards each member account's events to a central bus), \
             or mode = \"cloudwatch-logs\" (the organization trail delivers every account's events to the log group)"
        )
    })
}

/// Where the trail delivers, as far as login-alert is concerned: its own group, unless the adopted
/// trail already delivered to one of the user's before login-alert touched it.
pub fn delivery(current: &Current, t: &Target) -> Delivery {
    let ours = Delivery::ours(t);
    let Some(found) = &current.trail else {
        return ours;
    };
    if t.trail == TrailChoice::Create || read::reach_of(found, t) != Reach::Here {
        return ours;
    }
    // What the trail delivered to before login-alert touched it: the memo once written, else now.
    let original = match Memo::from_tags(&found.tags) {
        Ok(Some(memo)) => memo.log_group_arn,
        _ => found.log_group_arn.clone(),
    };
    match original.as_deref().and_then(log_group_name) {
        Some(name) if name != t.names.log_group() => Delivery {
            log_group_name: name.to_owned(),
            ours: false,
        },
        _ => ours,
    }
}

pub fn plan_apply(
    current: &Current,
    t: &Target,
    delivery: &Delivery,
    plan: &mut Plan<impl From<Op>>,
) {
    let mut own: Plan<Op> = plan.empty_like();
    match &t.trail {
        TrailChoice::Create => own::plan_apply(current, t, &mut own),
        TrailChoice::Adopt(_) => adopt::plan_apply(current, t, delivery, &mut own),
    }
    plan.absorb(own);
}

pub fn plan_destroy(current: &Current, t: &Target, plan: &mut Plan<impl From<Op>>) {
    let mut own: Plan<Op> = plan.empty_like();
    plan_destroy_own(current, t, &mut own);
    plan.absorb(own);
}

fn plan_destroy_own(current: &Current, t: &Target, plan: &mut Plan<Op>) {
    let Some(found) = &current.trail else {
        if let TrailChoice::Adopt(_) = t.trail {
            plan.notice(format!(
                "no trail named {} in {}: nothing to restore",
                current.wanted,
                t.region()
            ));
        }
        return;
    };
    match read::reach_of(found, t) {
        Reach::Here => {}
        Reach::OtherAccount(owner) => {
            plan.notice(format!(
                "trail {} belongs to account {owner} (an organization trail): login-alert never changed it, left as it is",
                found.name
            ));
            return;
        }
        Reach::OtherRegion(home) => {
            plan.notice(format!(
                "trail {} has its home region in {home}: login-alert running in {} never changed it and left it as it is \
                 (if you applied with region = \"{home}\", run destroy with that region)",
                found.name,
                t.region()
            ));
            return;
        }
    }
    match &t.trail {
        TrailChoice::Create => own::plan_delete(found, plan),
        TrailChoice::Adopt(_) => adopt::plan_restore(found, t, plan),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::config::{Config, TrailConfig};
    use crate::plan::{Action, Mode};
    use crate::testing::{self, REGION, attr_names, notifying, planned};

    /// login-alert's own log group and delivery role in the test account (the trail's other
    /// modules test against them too).
    pub(super) const OUR_GROUP: &str =
        "arn:aws:logs:eu-west-1:123456789012:log-group:/login-alert/cloudtrail:*";
    pub(super) const OUR_ROLE: &str =
        "arn:aws:iam::123456789012:role/login-alert-cloudtrail-to-logs";
    const THEIR_GROUP: &str = "arn:aws:logs:eu-west-1:123456789012:log-group:audit-events:*";
    const THEIR_ROLE: &str = "arn:aws:iam::123456789012:role/audit-to-logs";

    fn target(create: bool) -> Target {
        let config = Config {
            trail: TrailConfig {
                name: (!create).then(|| "audit".into()),
                create,
            },
            ..notifying(REGION, &["a@example.com"], false)
        };
        testing::target(&config)
    }

    /// A single-region, stopped trail without CloudWatch Logs: everything login-alert changes.
    fn plain() -> Found {
        Found {
            name: "audit".into(),
            arn: "arn:aws:cloudtrail:eu-west-1:123456789012:trail/audit".into(),
            home_region: "eu-west-1".into(),
            multi_region: false,
            global_events: true,
            log_group_arn: None,
            role_arn: None,
            logging: true,
            bucket: Some("audit-bucket".into()),
            organization: false,
            custom_event_selectors: false,
            tags: HashMap::new(),
        }
    }

    /// The management account's organization trail, stopped and single-region, adopted with
    /// organization coverage in EventBridge mode; `caller`: where login-alert runs in the organization.
    fn theirs_from(caller: crate::organization::Caller) -> (Target, Facts, Plan<Op>) {
        let config = Config {
            trail: TrailConfig {
                name: Some("audit".into()),
                create: false,
            },
            coverage: crate::config::Coverage::Organization,
            mode: crate::config::Route::Eventbridge,
            ..notifying(REGION, &["a@example.com"], false)
        };
        let t = testing::target(&config);
        let mut facts = Facts::new(&t);
        facts.organization = Some(crate::organization::sample(caller));
        let current = Current {
            wanted: "audit".into(),
            trail: Some(Found {
                arn: "arn:aws:cloudtrail:eu-west-1:111111111111:trail/audit".into(),
                organization: true,
                logging: false,
                ..plain()
            }),
        };
        let plan = planned(Mode::Apply, |plan| {
            Trail.plan_apply(&current, &t, &facts, plan)
        });
        (t, facts, plan)
    }

    #[test]
    fn a_delegated_administrator_only_reads_the_management_accounts_organization_trail() {
        let (_, _, plan) = theirs_from(crate::organization::Caller::DelegatedAdmin);
        assert!(plan.changes.is_empty(), "{:?}", plan.changes);
        assert!(
            plan.notices[0].starts_with(
                "trail audit belongs to the management account 111111111111: read only, login-alert will not change it"
            ),
            "{:?}",
            plan.notices
        );
        // What coverage needs of it and is missing: the command to run in its account.
        assert_eq!(plan.blockers.len(), 2, "{:?}", plan.blockers);
        assert!(plan.blockers[0].contains(
            "trail audit is not logging, and it belongs to the management account 111111111111"
        ));
        assert!(plan.blockers[0].contains(
            "run `aws cloudtrail start-logging --name arn:aws:cloudtrail:eu-west-1:111111111111:trail/audit --region eu-west-1` in account 111111111111"
        ));
        assert!(
            plan.blockers[1].contains("--is-multi-region-trail --include-global-service-events")
        );

        // A plain member (refused by the organization part too) keeps the refusal of another account's trail.
        let (_, _, member) = theirs_from(crate::organization::Caller::Member);
        assert!(member.changes.is_empty());
        assert_eq!(member.blockers.len(), 1, "{:?}", member.blockers);
        assert!(
            member.blockers[0]
                .contains("is an organization trail of the management account 111111111111")
        );
    }

    fn converged(original: &Found) -> Found {
        let mut found = original.clone();
        found.multi_region = true;
        found.global_events = true;
        found.logging = true;
        if original.log_group_arn.is_none() {
            found.log_group_arn = Some(OUR_GROUP.into());
            found.role_arn = Some(OUR_ROLE.into());
        }
        found.tags.extend(Memo::of(original).to_tags().unwrap());
        found
    }

    fn current(found: Option<Found>) -> Current {
        Current {
            wanted: "audit".into(),
            trail: found,
        }
    }

    /// What is read when login-alert creates its own trail (`login-alert-trail`).
    fn own_trail(found: Option<Found>) -> Current {
        Current {
            wanted: "login-alert-trail".into(),
            trail: found,
        }
    }

    fn apply_plan(current: &Current, t: &Target) -> Plan<Op> {
        planned(Mode::Apply, |plan| {
            plan_apply(current, t, &delivery(current, t), plan)
        })
    }

    fn destroy_plan(current: &Current, t: &Target) -> Plan<Op> {
        planned(Mode::Destroy, |plan| plan_destroy(current, t, plan))
    }

    /// What destroy plans for a trail adopted as `original` and converged by login-alert.
    fn destroyed_after_adopting(original: &Found) -> Plan<Op> {
        destroy_plan(&current(Some(converged(original))), &target(false))
    }

    fn update_op(plan: &Plan<Op>) -> &Update {
        match &plan.changes[0].op {
            Op::Update(update) => update,
            other => panic!("expected a trail update, got {other:?}"),
        }
    }

    #[test]
    fn an_adopted_single_region_trail_becomes_multi_region_and_delivers_to_our_group() {
        let plan = apply_plan(&current(Some(plain())), &target(false));
        assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].action, Action::Update);
        let Update {
            remember,
            multi_region,
            cloud_watch_logs,
            logging,
            forget,
            ..
        } = update_op(&plan);
        assert_eq!(*multi_region, Some(true));
        assert_eq!(*logging, None);
        assert_eq!(
            cloud_watch_logs,
            &Some(CloudWatchLogs::Set {
                log_group_arn: OUR_GROUP.into(),
                role_arn: OUR_ROLE.into()
            })
        );
        let remember = remember.as_ref().expect("the originals are remembered");
        assert_eq!(remember[memo::MULTI_REGION], "false");
        assert_eq!(remember[memo::LOG_GROUP], "none");
        assert_eq!(remember[memo::ROLE], "none");
        assert_eq!(remember[memo::LOGGING], "true");
        assert!(forget.is_empty());
        let names = attr_names(&plan);
        assert_eq!(
            names,
            [
                "is_multi_region_trail",
                "cloud_watch_logs_log_group_arn",
                "cloud_watch_logs_role_arn"
            ]
        );
        assert!(
            plan.changes[0]
                .notes
                .iter()
                .any(|n| n.contains("destroy makes it single-region again"))
        );
    }

    #[test]
    fn a_stopped_trail_without_global_events_is_started_and_includes_them() {
        let mut found = plain();
        found.logging = false;
        found.global_events = false;
        let plan = apply_plan(&current(Some(found)), &target(false));
        let Update {
            global_events,
            logging,
            remember,
            ..
        } = update_op(&plan);
        assert_eq!((*global_events, *logging), (Some(true), Some(true)));
        let remember = remember.as_ref().unwrap();
        assert_eq!(
            (
                remember[memo::GLOBAL_EVENTS].as_str(),
                remember[memo::LOGGING].as_str()
            ),
            ("false", "false")
        );
    }

    #[test]
    fn a_converged_adopted_trail_needs_nothing() {
        let plan = apply_plan(&current(Some(converged(&plain()))), &target(false));
        assert!(!plan.has_changes());
        assert!(plan.blockers.is_empty());
    }

    #[test]
    fn a_trail_delivering_to_the_users_group_keeps_it() {
        let mut found = plain();
        found.log_group_arn = Some(THEIR_GROUP.into());
        found.role_arn = Some(THEIR_ROLE.into());
        let t = target(false);
        let d = delivery(&current(Some(found.clone())), &t);
        assert_eq!(
            d,
            Delivery {
                log_group_name: "audit-events".into(),
                ours: false
            }
        );
        let plan = apply_plan(&current(Some(found.clone())), &t);
        let Update {
            cloud_watch_logs,
            multi_region,
            remember,
            ..
        } = update_op(&plan);
        assert_eq!(*cloud_watch_logs, None, "the user's delivery is left alone");
        assert_eq!(*multi_region, Some(true));
        assert_eq!(
            remember.as_ref().unwrap()[memo::LOG_GROUP],
            THEIR_GROUP.trim_end_matches(":*")
        );
        // After apply the memo decides, and it still says "theirs".
        let after = converged(&found);
        assert!(!delivery(&current(Some(after.clone())), &t).ours);
        assert!(!apply_plan(&current(Some(after)), &t).has_changes());
    }

    #[test]
    fn an_interrupted_apply_is_finished_without_rewriting_the_memo() {
        let original = plain();
        let mut interrupted = original.clone();
        interrupted
            .tags
            .extend(Memo::of(&original).to_tags().unwrap());
        let plan = apply_plan(&current(Some(interrupted)), &target(false));
        let Update {
            remember,
            multi_region,
            ..
        } = update_op(&plan);
        assert_eq!(*remember, None);
        assert_eq!(*multi_region, Some(true));
    }

    #[test]
    fn a_missing_adopted_trail_blocks_apply_but_only_notes_on_destroy() {
        let t = target(false);
        let plan = apply_plan(&current(None), &t);
        assert!(
            plan.blockers[0].contains("no trail named audit in eu-west-1"),
            "{}",
            plan.blockers[0]
        );
        assert!(plan.blockers[0].contains("login-alert init"));
        let plan = destroy_plan(&current(None), &t);
        assert!(plan.blockers.is_empty() && !plan.has_changes());
        assert_eq!(plan.notices.len(), 1);
    }

    #[test]
    fn a_trail_homed_elsewhere_names_the_region_to_set() {
        let mut found = plain();
        found.home_region = "us-east-2".into();
        found.arn = "arn:aws:cloudtrail:us-east-2:123456789012:trail/audit".into();
        found.multi_region = true;
        let t = target(false);
        let plan = apply_plan(&current(Some(found.clone())), &t);
        assert!(
            plan.blockers[0].contains("set region = \"us-east-2\""),
            "{}",
            plan.blockers[0]
        );
        let plan = destroy_plan(&current(Some(found)), &t);
        assert!(plan.blockers.is_empty() && !plan.has_changes());
        assert_eq!(plan.notices.len(), 1);
    }

    #[test]
    fn an_organization_trail_seen_from_a_member_account_is_a_clear_error() {
        let mut found = plain();
        found.organization = true;
        found.multi_region = true;
        found.arn = "arn:aws:cloudtrail:eu-west-1:999999999999:trail/org".into();
        let t = target(false);
        let plan = apply_plan(&current(Some(found.clone())), &t);
        assert!(!plan.has_changes());
        assert!(
            plan.blockers[0].contains("management account 999999999999"),
            "{}",
            plan.blockers[0]
        );
        assert!(delivery(&current(Some(found.clone())), &t).ours);
        let plan = destroy_plan(&current(Some(found)), &t);
        assert!(!plan.has_changes() && plan.blockers.is_empty());
    }

    #[test]
    fn an_organization_trail_of_this_account_is_changed_with_a_note() {
        let mut found = plain();
        found.organization = true;
        let plan = apply_plan(&current(Some(found)), &target(false));
        assert!(
            plan.changes[0]
                .notes
                .iter()
                .any(|n| n.contains("organization"))
        );
    }

    /// The plan an organization trail of this account gets in `mode`, through the part (as the engine runs it).
    fn organization_plan(mode: crate::config::Route) -> Plan<Op> {
        let mut found = converged(&plain());
        found.organization = true;
        let mut t = target(false);
        t.route = mode;
        let current = current(Some(found));
        let mut facts = Facts::new(&t);
        Trail.learn(&current, &t, &mut facts);
        planned(Mode::Apply, |plan| {
            Trail.plan_apply(&current, &t, &facts, plan)
        })
    }

    #[test]
    fn an_organization_trail_in_eventbridge_mode_says_the_member_accounts_are_not_covered() {
        use crate::config::Route;
        let plan = organization_plan(Route::Eventbridge);
        let notice = plan
            .notices
            .iter()
            .find(|n| n.contains("member accounts"))
            .unwrap_or_else(|| panic!("{:?}", plan.notices));
        assert!(
            notice.contains("member accounts are not covered"),
            "{notice}"
        );
        assert!(notice.contains("mode = \"cloudwatch-logs\""), "{notice}");
        assert!(notice.contains("coverage = \"organization\""));
        assert!(plan.blockers.is_empty(), "a notice, not a blocker");
        let both = organization_plan(Route::Both);
        assert!(
            both.notices.iter().any(
                |n| n.contains("member accounts") && n.contains("only through CloudWatch Logs")
            ),
            "{:?}",
            both.notices
        );
        assert!(
            !organization_plan(Route::CloudwatchLogs)
                .notices
                .iter()
                .any(|n| n.contains("member accounts")),
            "the trail's log group carries every account's events"
        );
    }

    #[test]
    fn destroy_restores_exactly_the_originals_and_forgets_the_memo() {
        let mut original = plain();
        original.logging = false;
        original.global_events = false;
        let plan = destroyed_after_adopting(&original);
        let Update {
            multi_region,
            global_events,
            cloud_watch_logs,
            logging,
            forget,
            remember,
            ..
        } = update_op(&plan);
        assert_eq!(*remember, None);
        assert_eq!(
            (*multi_region, *global_events, *logging),
            (Some(false), Some(false), Some(false))
        );
        assert_eq!(*cloud_watch_logs, Some(CloudWatchLogs::Remove));
        assert_eq!(forget.len(), memo::ALL.len());
    }

    #[test]
    fn destroy_points_the_trail_back_at_its_earlier_group_when_it_was_changed() {
        let mut original = plain();
        original.log_group_arn = Some(THEIR_GROUP.into());
        original.role_arn = Some(THEIR_ROLE.into());
        let mut now = converged(&original);
        // Someone pointed it at our group since: destroy still puts back the original.
        now.log_group_arn = Some(OUR_GROUP.into());
        now.role_arn = Some(OUR_ROLE.into());
        let plan = destroy_plan(&current(Some(now)), &target(false));
        let Update {
            cloud_watch_logs, ..
        } = update_op(&plan);
        assert_eq!(
            *cloud_watch_logs,
            Some(CloudWatchLogs::Set {
                log_group_arn: THEIR_GROUP.into(),
                role_arn: THEIR_ROLE.into()
            })
        );
    }

    #[test]
    fn destroy_keeps_the_users_delivery_and_only_removes_the_memo_when_nothing_else_changed() {
        let mut original = plain();
        original.multi_region = true;
        original.log_group_arn = Some(THEIR_GROUP.into());
        original.role_arn = Some(THEIR_ROLE.into());
        let plan = destroyed_after_adopting(&original);
        let Update {
            multi_region,
            cloud_watch_logs,
            logging,
            forget,
            ..
        } = update_op(&plan);
        assert_eq!(
            (*multi_region, cloud_watch_logs, *logging),
            (None, &None, None)
        );
        assert_eq!(forget.len(), 5);
        assert!(plan.changes[0].attrs.is_empty());
    }

    #[test]
    fn destroy_without_memo_leaves_the_trail_alone_unless_it_delivers_to_our_group() {
        let t = target(false);
        assert!(!destroy_plan(&current(Some(plain())), &t).has_changes());
        let mut found = plain();
        found.log_group_arn = Some(OUR_GROUP.into());
        found.role_arn = Some(OUR_ROLE.into());
        let plan = destroy_plan(&current(Some(found)), &t);
        let Update {
            cloud_watch_logs,
            multi_region,
            ..
        } = update_op(&plan);
        assert_eq!(
            (cloud_watch_logs, *multi_region),
            (&Some(CloudWatchLogs::Remove), None)
        );
    }

    #[test]
    fn damaged_memo_tags_block_apply_and_destroy() {
        let mut found = converged(&plain());
        found.tags.remove(memo::ROLE);
        let t = target(false);
        assert!(
            apply_plan(&current(Some(found.clone())), &t).blockers[0]
                .contains("memo tags are damaged")
        );
        assert!(destroy_plan(&current(Some(found)), &t).blockers[0].contains(memo::ROLE));
    }

    #[test]
    fn too_many_tags_block_before_anything_changes() {
        let mut found = plain();
        found.tags = (0..48).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        let plan = apply_plan(&current(Some(found)), &target(false));
        assert!(!plan.has_changes());
        assert!(
            plan.blockers[0].contains("CloudTrail allows 50"),
            "{}",
            plan.blockers[0]
        );
    }

    #[test]
    fn a_memo_value_that_does_not_fit_blocks_apply() {
        let mut found = plain();
        found.log_group_arn = Some(format!(
            "arn:aws:logs:eu-west-1:123456789012:log-group:{}:*",
            "g".repeat(250)
        ));
        found.role_arn = Some(THEIR_ROLE.into());
        let plan = apply_plan(&current(Some(found)), &target(false));
        assert!(!plan.has_changes());
        assert!(
            plan.blockers[0].contains(memo::LOG_GROUP),
            "{}",
            plan.blockers[0]
        );
    }

    #[test]
    fn our_trail_is_created_multi_region_with_delivery_and_logging() {
        let t = target(true);
        let plan = apply_plan(&own_trail(None), &t);
        let Op::Create {
            name,
            bucket,
            cloud_watch_logs,
            arn,
            organization,
        } = &plan.changes[0].op
        else {
            panic!("expected a create")
        };
        assert_eq!(name, "login-alert-trail");
        assert!(!organization, "account coverage: a trail of this account");
        assert_eq!(
            arn,
            "arn:aws:cloudtrail:eu-west-1:123456789012:trail/login-alert-trail"
        );
        assert_eq!(bucket, "login-alert-trail-123456789012-eu-west-1");
        assert_eq!(
            cloud_watch_logs,
            &Some(CloudWatchLogs::Set {
                log_group_arn: OUR_GROUP.into(),
                role_arn: OUR_ROLE.into()
            })
        );
        assert!(plan.changes[0].attrs.iter().any(|a| a.name == "is_logging"));
    }

    fn ours() -> Found {
        Found {
            name: "login-alert-trail".into(),
            arn: "arn:aws:cloudtrail:eu-west-1:123456789012:trail/login-alert-trail".into(),
            multi_region: true,
            log_group_arn: Some(OUR_GROUP.into()),
            role_arn: Some(OUR_ROLE.into()),
            bucket: Some("login-alert-trail-123456789012-eu-west-1".into()),
            tags: crate::tags::managed(),
            ..plain()
        }
    }

    #[test]
    fn with_organization_coverage_our_trail_is_the_organizations_and_back() {
        let organization = Target {
            coverage: crate::config::Coverage::Organization,
            ..target(true)
        };
        let cur = own_trail;
        let plan = apply_plan(&cur(None), &organization);
        assert!(
            matches!(
                &plan.changes[0].op,
                Op::Create {
                    organization: true,
                    ..
                }
            ),
            "{:?}",
            plan.changes[0].op
        );
        assert!(
            plan.changes[0]
                .attrs
                .iter()
                .any(|a| a.name == "is_organization_trail")
        );
        let setting = |plan: &Plan<Op>| {
            plan.changes.iter().find_map(|c| match &c.op {
                Op::SetOrganization { organization, .. } => Some(*organization),
                _ => None,
            })
        };
        // Drift (or a switch of coverage) is put back in either direction; converged needs nothing.
        assert_eq!(
            setting(&apply_plan(&cur(Some(ours())), &organization)),
            Some(true)
        );
        let org_trail = Found {
            organization: true,
            ..ours()
        };
        assert!(!apply_plan(&cur(Some(org_trail.clone())), &organization).has_changes());
        assert_eq!(
            setting(&apply_plan(&cur(Some(org_trail)), &target(true))),
            Some(false)
        );
        // A trail of someone else's with that name is never changed.
        let theirs = Found {
            tags: HashMap::new(),
            ..ours()
        };
        assert_eq!(
            setting(&apply_plan(&cur(Some(theirs)), &organization)),
            None
        );
    }

    #[test]
    fn our_trail_converged_needs_nothing_and_drift_is_updated() {
        let t = target(true);
        let cur = |f: Found| own_trail(Some(f));
        assert!(!apply_plan(&cur(ours()), &t).has_changes());
        let mut drifted = ours();
        drifted.logging = false;
        drifted.log_group_arn = None;
        drifted.role_arn = None;
        let plan = apply_plan(&cur(drifted), &t);
        let Update {
            logging,
            cloud_watch_logs,
            remember,
            ..
        } = update_op(&plan);
        assert_eq!(*logging, Some(true));
        assert!(cloud_watch_logs.is_some());
        assert_eq!(*remember, None, "our own trail needs no memo");
    }

    #[test]
    fn a_foreign_trail_with_our_name_blocks_create_and_is_never_deleted() {
        let t = target(true);
        let mut theirs = ours();
        theirs.tags.clear();
        let cur = own_trail(Some(theirs));
        let plan = apply_plan(&cur, &t);
        assert!(!plan.has_changes() && plan.blockers.len() == 1);
        let plan = destroy_plan(&cur, &t);
        assert!(!plan.has_changes() && plan.notices.len() == 1);
    }

    #[test]
    fn destroy_deletes_our_trail_only() {
        let t = target(true);
        let plan = destroy_plan(&own_trail(Some(ours())), &t);
        assert!(
            matches!(&plan.changes[0].op, Op::Delete { name, .. } if name == "login-alert-trail")
        );
        // An adopted trail is never deleted, whatever its tags say.
        let mut adopted = converged(&plain());
        adopted.tags.extend(crate::tags::managed());
        let plan = destroy_plan(&current(Some(adopted)), &target(false));
        assert!(plan.changes.iter().all(|c| c.action != Action::Delete));
    }
}

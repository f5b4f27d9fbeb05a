//! The organization, with `coverage = "organization"`: read, never changed. It teaches the parts
//! that cover member accounts where the organization stands (its ID for the central bus's policy,
//! the root for StackSets' targets), and blocks the plan, before any write, when coverage cannot
//! work from here: each refusal names its fix (see `crate::organization`).

use std::convert::Infallible;

use anyhow::Result;

use crate::model::{Ctx, Facts, Target};
use crate::organization::{self, Caller, Organization};
use crate::part::Part;
use crate::plan::Plan;
use crate::policy::Grant;

/// The organization the caller belongs to, read only with organization coverage.
pub struct OrganizationPart;

impl Part for OrganizationPart {
    const NAME: &'static str = "the organization";
    type Current = Option<Organization>;
    type Op = Infallible;
    const TEACHES: bool = true;

    fn permissions(&self, t: &Target) -> Vec<Grant> {
        if t.organization_wide() {
            organization::permissions()
        } else {
            Vec::new()
        }
    }

    async fn read(&self, ctx: &Ctx, _: &Facts) -> Result<Option<Organization>> {
        let t = &ctx.target;
        if !t.organization_wide() {
            return Ok(None);
        }
        organization::read(
            &ctx.clients.organizations,
            t.account_id(),
            &t.organization_units,
        )
        .await
    }

    fn learn(&self, current: &Option<Organization>, _: &Target, facts: &mut Facts) {
        facts.organization = current.clone();
    }

    fn wanted(&self, t: &Target, _: &Facts) -> bool {
        t.organization_wide()
    }

    /// Every reason organization coverage cannot be applied from here, as blockers.
    fn plan_apply(
        &self,
        current: &Option<Organization>,
        t: &Target,
        facts: &Facts,
        plan: &mut Plan<Infallible>,
    ) {
        let refusals = organization::refusals(
            current.as_ref(),
            t.account_id(),
            t.route.as_str(),
            t.route.uses_eventbridge(),
            t.route.uses_logs(),
        );
        let trail = organization::trail_refusal(&t.trail_name(), facts.organization_trail);
        for refusal in refusals.into_iter().chain(trail) {
            plan.block(refusal);
        }
        if let Some(org) = current
            && org.caller == Caller::DelegatedAdmin
            && !t.route.uses_logs()
        {
            plan.notice(format!(
                "the management account {} is not covered from this delegated administrator: service-managed StackSets never \
                 deploy to it, and the rules here see this account's events only. Cover it by running login-alert in account {0} \
                 (coverage = \"account\" there)",
                org.management_account
            ));
        }
    }

    fn plan_destroy(
        &self,
        _: &Option<Organization>,
        _: &Target,
        _: &Facts,
        _: &mut Plan<Infallible>,
    ) {
    }
}

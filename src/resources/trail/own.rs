//! login-alert's own trail (`trail.create = true`): created multi-region with its bucket and log
//! group, put back as configured, and deleted by `destroy` — only ever when it carries the managed-by tag.

use super::op::{CloudWatchLogs, Diff, KIND, Op, wanted_logs};
use super::read::{Current, Found, reachable_or_block};
use crate::model::Target;
use crate::plan::lifecycle::{Owned, foreign_with};
use crate::plan::{Attr, Change, Plan};
use crate::tags;

impl Owned for Found {
    fn ours(&self) -> bool {
        tags::is_managed(&self.tags)
    }
}

/// Creates login-alert's trail, or puts it back as configured.
pub fn plan_apply(current: &Current, t: &Target, plan: &mut Plan<Op>) {
    let bucket = t.names.bucket(t.account_id(), t.region());
    let logs = wanted_logs(t);
    // With organization coverage login-alert's trail logs every account of the organization.
    let organization = t.organization_wide();
    let Some(found) = &current.trail else {
        let name = t.names.trail();
        let mut change = Change::create(
            KIND,
            &name,
            Op::Create {
                name: name.clone(),
                arn: t.arns.trail(&name),
                bucket: bucket.clone(),
                cloud_watch_logs: Some(logs.clone()).filter(|l| *l != CloudWatchLogs::Remove),
                organization,
            },
        )
        .attr(Attr::set("is_multi_region_trail", true))
        .attr(Attr::set("include_global_service_events", true))
        .attr(Attr::set("s3_bucket_name", bucket));
        if let CloudWatchLogs::Set {
            log_group_arn,
            role_arn,
        } = logs
        {
            change = change
                .attr(Attr::set("cloud_watch_logs_log_group_arn", log_group_arn))
                .attr(Attr::set("cloud_watch_logs_role_arn", role_arn));
        }
        if organization {
            change = change.attr(Attr::set("is_organization_trail", true));
        }
        let change = change
            .attr(Attr::set("is_logging", true))
            .note("records management events in every region; a second trail recording them costs $2.00 per 100,000 events");
        plan.push(Some(change));
        return;
    };
    if !reachable_or_block(found, &current.wanted, t, plan) {
        return;
    }
    if !found.ours() {
        let fix = format!(
            "adopt it with trail.name = \"{}\" instead of trail.create, or choose another name_prefix",
            found.name
        );
        return plan.block(foreign_with(KIND, &found.name, &fix));
    }
    if found.organization != organization {
        plan.push(Some(
            Change::update(
                KIND,
                &found.name,
                Op::SetOrganization {
                    name: found.name.clone(),
                    arn: found.arn.clone(),
                    organization,
                },
            )
            .attr(Attr::change(
                "is_organization_trail",
                found.organization,
                organization,
            ))
            .note(if organization {
                "coverage = \"organization\": the trail logs every account of the organization"
            } else {
                "coverage = \"account\": the trail logs this account only"
            }),
        ));
    }
    let diff = Diff::new(found, true, true, Some(logs), Some(&bucket), true);
    if diff.is_empty() {
        return;
    }
    let (op, attrs) = diff.into_op(found, None, Vec::new());
    plan.push(Some(
        Change::update(KIND, &found.name, op)
            .attrs(attrs)
            .note("puts login-alert's trail back as configured"),
    ));
}

/// Deletes login-alert's trail; a trail with its name that it did not create is left alone, with a notice.
pub fn plan_delete(found: &Found, plan: &mut Plan<Op>) {
    let change = Change::delete(
        KIND,
        &found.name,
        Op::Delete {
            name: found.name.clone(),
            arn: found.arn.clone(),
        },
    );
    plan.remove_ours(Some(found), |_| change);
}

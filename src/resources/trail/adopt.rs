//! An adopted trail: made multi-region, logging and (when login-alert provides the group) delivering
//! to CloudWatch Logs, its settings remembered first; and restored exactly by `destroy`.

use super::memo::{ALL, MAX_TAGS, Memo};
use super::op::{CloudWatchLogs, Diff, KIND, Op, wanted_logs};
use super::read::{Current, Found, reachable_or_block};
use crate::arn::{log_group_name, strip_wildcard};
use crate::model::{Delivery, Target};
use crate::plan::{Change, Plan};

/// The management account's organization trail, adopted from a delegated administrator: read only.
/// What organization coverage needs of it (logging, every region) is checked; what is missing blocks
/// the plan with the command to run in the owner account, since nothing of it is changed from here.
pub fn plan_read_only(found: &Found, owner: &str, plan: &mut Plan<Op>) {
    let (name, arn, region) = (&found.name, &found.arn, &found.home_region);
    plan.notice(format!(
        "trail {name} belongs to the management account {owner}: read only, login-alert will not change it \
         (nor restore it on destroy)"
    ));
    let mut fixes = Vec::new();
    if !found.logging {
        fixes.push((
            "is not logging",
            format!("aws cloudtrail start-logging --name {arn} --region {region}"),
        ));
    }
    if !found.multi_region || !found.global_events {
        fixes.push((
            "does not record every region with global service events",
            format!(
                "aws cloudtrail update-trail --name {arn} --region {region} --is-multi-region-trail --include-global-service-events"
            ),
        ));
    }
    for (what, command) in fixes {
        plan.block(format!(
            "trail {name} {what}, and it belongs to the management account {owner}, where login-alert does not change it \
             from this delegated administrator: run `{command}` in account {owner}"
        ));
    }
    selectors_notice(found, plan);
}

/// Custom event selectors can leave out the management events sign-ins are.
fn selectors_notice(found: &Found, plan: &mut Plan<Op>) {
    if found.custom_event_selectors {
        plan.notice(format!(
            "trail {} uses custom event selectors: make sure they include management events (read and write), or sign-ins will not reach login-alert",
            found.name
        ));
    }
}

/// Makes the adopted trail what login-alert needs, remembering its settings first.
pub fn plan_apply(current: &Current, t: &Target, delivery: &Delivery, plan: &mut Plan<Op>) {
    let Some(found) = &current.trail else {
        plan.block(format!(
            "no trail named {} in {}: check trail.name and region in the config, or use `login-alert init` to pick one",
            current.wanted,
            t.region()
        ));
        return;
    };
    if !reachable_or_block(found, &current.wanted, t, plan) {
        return;
    }
    let memo = match Memo::from_tags(&found.tags) {
        Ok(memo) => memo,
        Err(err) => {
            plan.block(format!("trail {}: {err}", found.name));
            return;
        }
    };
    selectors_notice(found, plan);
    // The user's own delivery is never touched; login-alert's is set (CloudWatch Logs mode) or, left
    // from that mode, removed (EventBridge mode).
    let want_logs = delivery.ours.then(|| wanted_logs(t));
    let diff = Diff::new(found, true, true, want_logs, None, true);
    if diff.is_empty() {
        return;
    }
    let remember = match memo {
        Some(_) => None,
        None => match Memo::of(found).to_tags() {
            Ok(tags) if found.tags.len() + tags.len() > MAX_TAGS => {
                plan.block(format!(
                    "trail {} already has {} tags: login-alert needs {} more to remember its settings and CloudTrail allows {MAX_TAGS}. \
                     Remove some tags from the trail, or use trail.create = true",
                    found.name,
                    found.tags.len(),
                    tags.len()
                ));
                return;
            }
            Ok(tags) => Some(tags),
            Err(err) => {
                plan.block(format!("trail {}: {err}", found.name));
                return;
            }
        },
    };
    let mut notes = Vec::new();
    if diff.multi_region.is_some() {
        notes.push("becomes multi-region (sign-ins are recorded in the region of the sign-in endpoint); destroy makes it single-region again".to_owned());
    }
    if diff.global_events.is_some() {
        notes.push("starts recording global service events (a multi-region trail must); destroy turns them off again".to_owned());
    }
    match &diff.cloud_watch_logs {
        Some(CloudWatchLogs::Set { .. }) => {
            let before = match &found.log_group_arn {
                Some(arn) => format!("destroy points it back at {}", strip_wildcard(arn)),
                None => "destroy removes the delivery again".to_owned(),
            };
            notes.push(format!(
                "delivers to CloudWatch Logs group {}; {before}",
                delivery.log_group_name
            ));
        }
        Some(CloudWatchLogs::Remove) => notes.push(
            "stops delivering to login-alert's CloudWatch Logs group: EventBridge mode needs none"
                .to_owned(),
        ),
        None => {}
    }
    if !delivery.ours && t.route.uses_logs() {
        notes.push(format!(
            "keeps delivering to your log group {}: login-alert adds its subscription filter there and leaves the trail's CloudWatch Logs settings alone",
            delivery.log_group_name
        ));
    }
    if diff.logging.is_some() {
        notes.push("starts logging (the trail was stopped); destroy stops it again".to_owned());
    }
    if found.organization {
        notes.push("an organization trail: the change applies to the trail of every account in the organization".to_owned());
    }
    if remember.is_some() {
        notes.push("its current settings are saved first as login-alert:original-* tags, so destroy can restore them".to_owned());
    }
    let (op, attrs) = diff.into_op(found, remember, Vec::new());
    let mut change = Change::update(KIND, &found.name, op).attrs(attrs);
    for note in notes {
        change = change.note(note);
    }
    plan.push(Some(change));
}
/// Puts an adopted trail back exactly as its memo tags say it was, then removes the memo.
pub fn plan_restore(found: &Found, t: &Target, plan: &mut Plan<Op>) {
    let ours = t.names.log_group();
    let memo = match Memo::from_tags(&found.tags) {
        Ok(Some(memo)) => memo,
        Ok(None) => {
            // No memo: login-alert never changed the trail, unless the memo was removed by hand while
            // the trail still delivers to the log group destroy is about to delete.
            if found.log_group_arn.as_deref().and_then(log_group_name) == Some(ours.as_str()) {
                let diff = Diff::new(
                    found,
                    found.multi_region,
                    found.global_events,
                    Some(CloudWatchLogs::Remove),
                    None,
                    found.logging,
                );
                let (op, attrs) = diff.into_op(found, None, Vec::new());
                plan.push(Some(
                    Change::update(KIND, &found.name, op)
                        .attrs(attrs)
                        .note(format!("has no login-alert memo tags but delivers to {ours}, which destroy deletes: the delivery is removed")),
                ));
            }
            return;
        }
        Err(err) => {
            plan.block(format!("trail {}: {err}", found.name));
            return;
        }
    };
    let mut notes = Vec::new();
    let logs = match (&memo.log_group_arn, &memo.role_arn) {
        // Our own group was never the user's original: destroy deletes it, so remove the delivery.
        (Some(group), _) if log_group_name(group) == Some(ours.as_str()) => CloudWatchLogs::Remove,
        (Some(group), Some(role)) => CloudWatchLogs::Set {
            log_group_arn: format!("{group}:*"),
            role_arn: role.clone(),
        },
        _ => CloudWatchLogs::Remove,
    };
    let diff = Diff::new(
        found,
        memo.multi_region,
        memo.global_events,
        Some(logs),
        None,
        memo.logging,
    );
    if diff.multi_region == Some(false) {
        notes.push("becomes single-region again, as it was before login-alert".to_owned());
    }
    if diff.global_events == Some(false) {
        notes.push("stops recording global service events again, as before login-alert".to_owned());
    }
    match &diff.cloud_watch_logs {
        Some(CloudWatchLogs::Remove) => {
            notes.push("CloudWatch Logs delivery is removed, as before login-alert".to_owned())
        }
        Some(CloudWatchLogs::Set { log_group_arn, .. }) => notes.push(format!(
            "delivers to {} again, as before login-alert",
            strip_wildcard(log_group_arn)
        )),
        None => {}
    }
    if diff.logging == Some(false) {
        notes.push("stops logging again, as it was before login-alert".to_owned());
    }
    notes.push("login-alert's memo tags (login-alert:original-*) are removed".to_owned());
    let forget: Vec<String> = ALL
        .iter()
        .filter(|k| found.tags.contains_key(**k))
        .map(|k| (*k).to_owned())
        .collect();
    let (op, attrs) = diff.into_op(found, None, forget);
    let mut change = Change::update(KIND, &found.name, op).attrs(attrs);
    for note in notes {
        change = change.note(note);
    }
    plan.push(Some(change));
}

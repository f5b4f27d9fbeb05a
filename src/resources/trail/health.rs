//! What `status` says of the trail: it is logging, in every region, and (CloudWatch Logs mode) it
//! delivered to its log group recently and without error (`GetTrailStatus`).

use anyhow::Result;
use chrono::{DateTime, TimeDelta, Utc};

use super::read::{Current, Found, reach_of, read_only_owner};
use crate::aws::SdkResultExt;
use crate::check::{Check, Link};
use crate::model::{Ctx, Delivery, Facts, Target, TrailChoice};
use crate::reach::Reach;

/// After logging starts (or the group appears) CloudTrail takes about 5 minutes to deliver: no
/// delivery yet is no sign of trouble for this long.
pub const GRACE: TimeDelta = TimeDelta::minutes(15);
/// No delivery for this long is worth a look; an active account delivers every few minutes.
pub const STALE: TimeDelta = TimeDelta::hours(1);
/// No delivery for this long means the trail has gone dark (the no-trail-events alarm's window).
pub const DARK: TimeDelta = TimeDelta::hours(6);

/// What CloudTrail and CloudWatch Logs say about the delivery, beyond what the trail part read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Probe {
    pub latest_delivery: Option<DateTime<Utc>>,
    pub latest_error: Option<String>,
    pub logging_since: Option<DateTime<Utc>>,
    /// `None`: the log group does not exist; `Some(created)` when it does.
    pub group_created: Option<Option<DateTime<Utc>>>,
}

/// The trail's checks: whether it records (logging, every region) and, in CloudWatch Logs mode,
/// whether those records reach the log group.
pub async fn checks(ctx: &Ctx, current: &Current, facts: &Facts) -> Result<Vec<Check>> {
    let t = &ctx.target;
    let Some(found) = &current.trail else {
        return Ok(vec![missing(&current.wanted, t)]);
    };
    let read_only = read_only_owner(found, t, facts.organization.as_ref());
    if let Some(owner) = &read_only {
        // The management account's organization trail, read from a delegated administrator.
        let mut checks = recording(found, Some(owner));
        if t.route.uses_logs() {
            checks.push(Check::failing(
                Link::Delivery,
                "trail delivery to CloudWatch Logs",
                format!(
                    "trail {} delivers to a log group of the management account {owner}, which login-alert does not read \
                     from this delegated administrator",
                    found.name
                ),
                format!("set mode = \"eventbridge\" in the config, or run login-alert in account {owner}"),
            ));
        }
        return Ok(checks);
    }
    if let Some(check) = unreachable(found, t) {
        return Ok(vec![check]);
    }
    let mut checks = recording(found, None);
    if let Some(detail) = super::member_accounts(found, t, facts) {
        checks.push(Check::warning(
            Link::Trail,
            "organization member accounts",
            detail,
            if t.route.uses_logs() {
                "none needed for them to be alerted; for alerts within seconds, wait for organization-wide EventBridge coverage"
            } else {
                "set mode = \"cloudwatch-logs\" (or \"both\") in the config and run `login-alert apply`"
            },
        ));
    }
    // CloudWatch Logs mode: the trail's entrance is its log group. EventBridge mode's entrance is
    // the rules, which report from their own part.
    if t.route.uses_logs() {
        let probe = probe(ctx, found, &facts.delivery).await?;
        checks.push(delivery(found, &facts.delivery, &probe, Utc::now()));
    }
    Ok(checks)
}

fn to_chrono(time: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.secs(), time.subsec_nanos())
}

/// The trail's delivery status and the log group's creation, read at the same time.
pub async fn probe(ctx: &Ctx, found: &Found, delivery: &Delivery) -> Result<Probe> {
    let group = &delivery.log_group_name;
    let (status, groups) = tokio::join!(
        ctx.clients
            .cloudtrail
            .get_trail_status()
            .name(&found.arn)
            .send(),
        ctx.clients
            .logs
            .describe_log_groups()
            .log_group_name_prefix(group)
            .send(),
    );
    let status = status.doing(|| format!("reading the delivery status of trail {}", found.name))?;
    let groups = groups.doing(|| format!("reading log group {group}"))?;
    Ok(Probe {
        latest_delivery: status
            .latest_cloud_watch_logs_delivery_time()
            .and_then(to_chrono),
        latest_error: status
            .latest_cloud_watch_logs_delivery_error()
            .filter(|e| !e.is_empty())
            .map(str::to_owned),
        logging_since: status.start_logging_time().and_then(to_chrono),
        group_created: groups
            .log_groups
            .unwrap_or_default()
            .into_iter()
            .find(|g| g.log_group_name.as_deref() == Some(group.as_str()))
            .map(|g| g.creation_time.and_then(DateTime::from_timestamp_millis)),
    })
}

fn missing(wanted: &str, t: &Target) -> Check {
    let fix = match t.trail {
        TrailChoice::Create => "run `login-alert apply` to create it".to_owned(),
        TrailChoice::Adopt(_) => format!(
            "check trail.name in the config (`login-alert init` lists the account's trails), or set trail.create = true; \
             then run `login-alert apply` (looked in {})",
            t.region()
        ),
    };
    Check::failing(
        Link::Trail,
        "trail",
        format!("no trail named {wanted}: nothing records the sign-ins"),
        fix,
    )
}

fn unreachable(found: &Found, t: &Target) -> Option<Check> {
    let (detail, fix) = match reach_of(found, t) {
        Reach::Here => return None,
        Reach::OtherAccount(owner) => (
            format!(
                "trail {} belongs to account {owner}: its status cannot be read from here",
                found.name
            ),
            format!(
                "{}: run login-alert in account {owner}, or set trail.create = true",
                crate::reach::only_from_owner(&owner)
            ),
        ),
        Reach::OtherRegion(home) => (
            format!(
                "trail {} has its home region in {home}, not {}",
                found.name,
                t.region()
            ),
            format!("set region = \"{home}\" in the config"),
        ),
    };
    Some(Check::failing(Link::Trail, "trail", detail, fix))
}

/// Logging, and every region (with the global service events, where root and IAM sign-ins land).
/// `owner`: the management account of an organization trail read from a delegated administrator,
/// where the fixes are to be run (login-alert changes nothing of it).
pub fn recording(found: &Found, owner: Option<&str>) -> Vec<Check> {
    let name = &found.name;
    let region = &found.home_region;
    let by_hand = |owner: &str, command: String| {
        format!(
            "in the management account {owner}, which owns the trail (login-alert only reads it from here), run `{command}`"
        )
    };
    let logging = if found.logging {
        Check::ok(
            Link::Trail,
            "trail logging",
            format!("trail {name} is logging"),
        )
    } else {
        Check::failing(
            Link::Trail,
            "trail logging",
            format!(
                "trail {name} is not logging: CloudTrail records nothing, so no alert can arrive"
            ),
            {
                let command =
                    format!("aws cloudtrail start-logging --name {name} --region {region}");
                match owner {
                    Some(owner) => {
                        format!("{}, and find out who stopped it", by_hand(owner, command))
                    }
                    None => format!(
                        "run `login-alert apply`, which starts it again (or `{command}`), and find out who stopped it"
                    ),
                }
            },
        )
    };
    let missed = match (found.multi_region, found.global_events) {
        (true, true) => None,
        (false, _) => Some(format!(
            "trail {name} records only {region}: sign-ins served by other regions' endpoints are missed"
        )),
        (true, false) => Some(format!(
            "trail {name} leaves out global service events: root and IAM sign-ins recorded in us-east-1 are missed"
        )),
    };
    let regions = match missed {
        None => Check::ok(
            Link::Trail,
            "trail regions",
            format!("trail {name} records every region"),
        ),
        Some(detail) => Check::failing(
            Link::Trail,
            "trail regions",
            detail,
            match owner {
                Some(owner) => by_hand(
                    owner,
                    format!(
                        "aws cloudtrail update-trail --name {name} --region {region} --is-multi-region-trail --include-global-service-events"
                    ),
                ),
                None => format!(
                    "run `login-alert apply` (it makes {name} multi-region again; `destroy` restores it as it was)"
                ),
            },
        ),
    };
    vec![logging, regions]
}

fn ago(d: TimeDelta) -> String {
    if d < TimeDelta::minutes(2) {
        format!("{} s ago", d.num_seconds().max(0))
    } else if d < TimeDelta::hours(2) {
        format!("{} min ago", d.num_minutes())
    } else {
        format!("{} h ago", d.num_hours())
    }
}

/// The trail delivers to the log group the pipeline reads, recently and without error.
pub fn delivery(found: &Found, delivery: &Delivery, probe: &Probe, now: DateTime<Utc>) -> Check {
    const NAME: &str = "trail delivery to CloudWatch Logs";
    let group = &delivery.log_group_name;
    let name = &found.name;
    let to_group = found
        .log_group_arn
        .as_deref()
        .and_then(crate::arn::log_group_name)
        .is_some_and(|g| g == group);
    if !to_group {
        return Check::failing(
            Link::Delivery,
            NAME,
            format!(
                "trail {name} does not deliver to log group {group}: no event reaches the pipeline"
            ),
            "run `login-alert apply` to send the trail to it again",
        );
    }
    let Some(created) = probe.group_created else {
        return Check::failing(
            Link::Delivery,
            NAME,
            format!("log group {group} does not exist: CloudTrail has nowhere to deliver"),
            "run `login-alert apply`",
        );
    };
    let role = found.role_arn.as_deref().unwrap_or("(none)");
    let fix_role = format!(
        "check the trail's CloudWatch Logs role {role} (trusted by cloudtrail.amazonaws.com, logs:PutLogEvents on {group}); \
         `login-alert apply` restores login-alert's own role"
    );
    let since_delivery = probe.latest_delivery.map(|d| now - d);
    if let Some(error) = &probe.latest_error
        && since_delivery.is_none_or(|d| d > STALE)
    {
        return Check::failing(
            Link::Delivery,
            NAME,
            format!("CloudTrail cannot deliver trail {name} to {group}: {error}"),
            fix_role,
        );
    }
    match since_delivery {
        Some(d) if d <= STALE => match &probe.latest_error {
            Some(error) => Check::warning(
                Link::Delivery,
                NAME,
                format!(
                    "delivered to {group} {}, but CloudTrail also reported: {error}",
                    ago(d)
                ),
                fix_role,
            ),
            None => Check::ok(
                Link::Delivery,
                NAME,
                format!("last delivered to {group} {}", ago(d)),
            ),
        },
        Some(d) if d <= DARK => Check::warning(
            Link::Delivery,
            NAME,
            format!(
                "trail {name} last delivered to {group} {}: a quiet account, or the start of an outage",
                ago(d)
            ),
            "run `login-alert status` again in a while; `login-alert test` shows whether an alert gets through",
        ),
        Some(d) => Check::failing(
            Link::Delivery,
            NAME,
            format!(
                "trail {name} last delivered to {group} {}: it has gone dark",
                ago(d)
            ),
            fix_role,
        ),
        None => {
            // Never delivered: fine just after logging started or the group appeared, not later.
            let since = [probe.logging_since, created].into_iter().flatten().max();
            match since.map(|s| now - s) {
                Some(d) if d <= GRACE => Check::ok(
                    Link::Delivery,
                    NAME,
                    format!(
                        "no delivery to {group} yet: set up {}, CloudTrail delivers within about 5 minutes",
                        ago(d)
                    ),
                ),
                _ => Check::failing(
                    Link::Delivery,
                    NAME,
                    format!("CloudTrail has never delivered trail {name} to {group}"),
                    fix_role,
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;
    use chrono::TimeZone;

    const GROUP_ARN: &str =
        "arn:aws:logs:eu-west-1:123456789012:log-group:/login-alert/cloudtrail:*";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
    }

    fn found() -> Found {
        Found {
            name: "audit".into(),
            arn: "arn:aws:cloudtrail:eu-west-1:123456789012:trail/audit".into(),
            home_region: "eu-west-1".into(),
            multi_region: true,
            global_events: true,
            log_group_arn: Some(GROUP_ARN.into()),
            role_arn: Some("arn:aws:iam::123456789012:role/login-alert-cloudtrail-to-logs".into()),
            logging: true,
            ..Found::default()
        }
    }

    fn ours() -> Delivery {
        Delivery {
            log_group_name: "/login-alert/cloudtrail".into(),
            ours: true,
        }
    }

    fn probe(delivered: Option<i64>, error: Option<&str>, started: Option<i64>) -> Probe {
        Probe {
            latest_delivery: delivered.map(|m| now() - TimeDelta::minutes(m)),
            latest_error: error.map(str::to_owned),
            logging_since: started.map(|m| now() - TimeDelta::minutes(m)),
            group_created: Some(Some(now() - TimeDelta::days(30))),
        }
    }

    fn status(p: &Probe) -> (Status, String) {
        let check = delivery(&found(), &ours(), p, now());
        (check.status, check.detail)
    }

    #[test]
    fn a_recent_delivery_is_ok_an_old_one_a_warning_and_a_dark_trail_failing() {
        assert_eq!(status(&probe(Some(4), None, Some(9000))).0, Status::Ok);
        assert!(status(&probe(Some(4), None, None)).1.contains("4 min ago"));
        let (s, detail) = status(&probe(Some(3 * 60), None, Some(9000)));
        assert_eq!(s, Status::Warning);
        assert!(detail.contains("3 h ago"), "{detail}");
        assert_eq!(
            status(&probe(Some(7 * 60), None, Some(9000))).0,
            Status::Failing
        );
    }

    #[test]
    fn a_delivery_error_fails_unless_a_delivery_followed() {
        let (s, detail) = status(&probe(
            None,
            Some("Access denied. Check the permissions for your role."),
            Some(9000),
        ));
        assert_eq!(s, Status::Failing);
        assert!(
            detail.contains("CloudTrail cannot deliver trail audit"),
            "{detail}"
        );
        let check = delivery(
            &found(),
            &ours(),
            &probe(None, Some("Access denied."), None),
            now(),
        );
        assert!(
            check
                .fix
                .unwrap()
                .contains("login-alert-cloudtrail-to-logs")
        );
        assert_eq!(
            status(&probe(Some(2), Some("Access denied."), Some(9000))).0,
            Status::Warning
        );
    }

    #[test]
    fn no_delivery_yet_is_fine_only_just_after_logging_started_or_the_group_appeared() {
        assert_eq!(status(&probe(None, None, Some(3))).0, Status::Ok);
        let (s, detail) = status(&probe(None, None, Some(60)));
        assert_eq!(s, Status::Failing);
        assert!(detail.contains("has never delivered"), "{detail}");
        let mut fresh_group = probe(None, None, Some(9000));
        fresh_group.group_created = Some(Some(now() - TimeDelta::minutes(5)));
        assert_eq!(status(&fresh_group).0, Status::Ok);
    }

    #[test]
    fn delivery_elsewhere_or_into_a_missing_group_is_failing() {
        let mut elsewhere = found();
        elsewhere.log_group_arn =
            Some("arn:aws:logs:eu-west-1:123456789012:log-group:other:*".into());
        let check = delivery(&elsewhere, &ours(), &probe(Some(1), None, None), now());
        assert_eq!(check.status, Status::Failing);
        assert!(
            check
                .detail
                .contains("does not deliver to log group /login-alert/cloudtrail")
        );
        let mut gone = probe(Some(1), None, None);
        gone.group_created = None;
        assert!(status(&gone).1.contains("does not exist"));
    }

    #[test]
    fn a_stopped_or_single_region_trail_is_named_with_the_fix() {
        let mut stopped = found();
        stopped.logging = false;
        stopped.multi_region = false;
        let checks = recording(&stopped, None);
        assert_eq!(checks[0].status, Status::Failing);
        assert!(checks[0].detail.starts_with("trail audit is not logging"));
        assert!(
            checks[0]
                .fix
                .as_deref()
                .unwrap()
                .contains("aws cloudtrail start-logging --name audit --region eu-west-1")
        );
        assert_eq!(checks[1].status, Status::Failing);
        assert!(checks[1].detail.contains("records only eu-west-1"));
        let mut no_global = found();
        no_global.global_events = false;
        assert!(
            recording(&no_global, None)[1]
                .detail
                .contains("global service events")
        );
        assert!(
            recording(&found(), None)
                .iter()
                .all(|c| c.status == Status::Ok)
        );
        // The management account's trail read from a delegated administrator: fixed there, by hand.
        let theirs = recording(&stopped, Some("111111111111"));
        let fix = theirs[0].fix.as_deref().unwrap();
        assert!(
            fix.starts_with("in the management account 111111111111")
                && fix.contains("aws cloudtrail start-logging --name audit --region eu-west-1")
                && !fix.contains("login-alert apply"),
            "{fix}"
        );
        assert!(
            theirs[1]
                .fix
                .as_deref()
                .unwrap()
                .contains("--is-multi-region-trail --include-global-service-events")
        );
    }
}

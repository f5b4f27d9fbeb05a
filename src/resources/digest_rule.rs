//! The digest schedule: an EventBridge rule on a schedule (in every mode: grouping does not depend on
//! how events arrive) that invokes the function to send the digests of groups whose window has closed.

use super::rule::{Desired, FUNCTION_TARGET, HomeRegionRule, RuleTarget};
use crate::model::Target;
use crate::part::Named;

/// The schedule that invokes the function to send the digests of groups whose window has closed
/// (in both modes: grouping does not depend on how events arrive).
pub struct DigestRule;

impl Named for DigestRule {
    const NAME: &'static str = "the digest schedule";
    type Kind = HomeRegionRule;

    fn desired(&self, t: &Target) -> Desired {
        digest(t)
    }
}

/// How often the digest schedule runs: every 5 minutes, or every window when the window is shorter.
/// A digest then goes out at most 5 minutes (or one short window) after its window closes; each run
/// is one Scan of a small table, about 300 cheap invocations a day at 5 minutes.
pub fn digest_schedule(window_minutes: u32) -> String {
    match window_minutes.clamp(1, 5) {
        1 => "rate(1 minute)".to_owned(),
        n => format!("rate({n} minutes)"),
    }
}

/// The digest schedule: the function is its target (its resource policy lets this rule invoke it).
pub fn digest(t: &Target) -> Desired {
    Desired {
        region: t.region().to_owned(),
        name: t.names.digest_rule(),
        description:
            "login-alert: invokes the alert function to send the digests of grouped alerts".into(),
        pattern: String::new(),
        schedule: Some(digest_schedule(t.group_window_minutes)),
        target: RuleTarget {
            id: FUNCTION_TARGET.into(),
            arn: t.function_arn(),
            role_arn: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Attr, Mode, Plan};
    use crate::resources::rule::{Current, Op, plan_apply};
    use crate::testing::planned;

    #[test]
    fn the_digest_runs_every_five_minutes_or_every_shorter_window() {
        assert_eq!(digest_schedule(1), "rate(1 minute)");
        assert_eq!(digest_schedule(3), "rate(3 minutes)");
        assert_eq!(digest_schedule(15), "rate(5 minutes)");
        assert_eq!(digest_schedule(1440), "rate(5 minutes)");
    }

    #[test]
    fn the_digest_schedule_is_created_enabled_and_put_back_when_changed() {
        let config =
            crate::config::Config::read_str("region = \"eu-west-1\"\n[trail]\ncreate = true\n");
        let t = Target::new(&config, "123456789012");
        let wanted = digest(&t);
        assert_eq!(wanted.name, "login-alert-digest");
        let plan: Plan<Op> = planned(Mode::Apply, |plan| plan_apply(None, &wanted, plan));
        assert_eq!(
            plan.changes[0].attrs,
            [
                Attr::set("schedule", "rate(5 minutes)"),
                Attr::set("state", "ENABLED"),
                Attr::set(
                    "target",
                    "arn:aws:lambda:eu-west-1:123456789012:function:login-alert-handler"
                ),
            ]
        );
        let Op::Put { schedule, .. } = &plan.changes[0].op else {
            panic!("a put");
        };
        assert_eq!(schedule.as_deref(), Some("rate(5 minutes)"));

        let live = Current {
            region: "eu-west-1".into(),
            name: wanted.name.clone(),
            pattern: None,
            schedule: wanted.schedule.clone(),
            state: "ENABLED".into(),
            managed: true,
            targets: vec![wanted.target.clone()],
        };
        let mut plan: Plan<Op> =
            planned(Mode::Apply, |plan| plan_apply(Some(&live), &wanted, plan));
        assert!(!plan.has_changes());
        let mut disabled = live;
        disabled.state = "DISABLED".into();
        disabled.schedule = Some("rate(1 hour)".into());
        plan_apply(Some(&disabled), &wanted, &mut plan);
        assert_eq!(
            plan.changes[0].attrs,
            [
                Attr::change("schedule", "rate(1 hour)", "rate(5 minutes)"),
                Attr::change("state", "DISABLED", "ENABLED"),
            ]
        );
    }
}

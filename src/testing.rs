//! The fixtures the unit tests share (test builds only): a plan in a mode (from `plan::testing`)
//! and a target built from the sample config with the notifications a test is about.

use crate::config::{Config, Coverage, NotifyConfig, Route};
use crate::model::Target;
pub use crate::plan::testing::{ACCOUNT, REGION, planned, test_plan};
use crate::plan::{Action, Change, Mode, Plan};

/// A Slack webhook URL of the shape Slack hands out.
pub const SLACK: &str = "https://hooks.slack.com/services/T/B/x";

/// The sample config for `region` that notifies `emails` and, when `slack`, a Slack channel.
pub fn notifying(region: &str, emails: &[&str], slack: bool) -> Config {
    Config {
        notify: NotifyConfig {
            emails: emails.iter().map(|e| e.to_string()).collect(),
            slack_webhook_url: slack.then(|| SLACK.into()),
            teams_webhook_url: None,
            webhook_url: None,
        },
        ..crate::config::sample(region)
    }
}

/// What login-alert targets under `config` in the test account.
pub fn target(config: &Config) -> Target {
    Target::new(config, ACCOUNT)
}

/// The organization's management account, where an organization-wide install runs.
pub const MANAGEMENT_ACCOUNT: &str = "111111111111";

/// What login-alert targets in the management account under the sample config in EventBridge
/// mode covering the whole organization.
pub fn organization_target() -> Target {
    let config = Config {
        mode: Route::Eventbridge,
        coverage: Coverage::Organization,
        ..crate::config::sample(REGION)
    };
    Target::new(&config, MANAGEMENT_ACCOUNT)
}

/// Each change of the plan as its kind and action, in order.
pub fn kinds<O>(plan: &Plan<O>) -> Vec<(&str, Action)> {
    plan.changes
        .iter()
        .map(|c| (c.kind.as_str(), c.action))
        .collect()
}

/// The names of the attributes the plan's first change shows, in order.
pub fn attr_names<O>(plan: &Plan<O>) -> Vec<&str> {
    plan.changes[0]
        .attrs
        .iter()
        .map(|a| a.name.as_str())
        .collect()
}

/// The plan refuses: one blocker, and nothing planned.
pub fn assert_refused<O: std::fmt::Debug>(plan: &Plan<O>) {
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
    assert_eq!(plan.blockers.len(), 1, "{:?}", plan.blockers);
}

/// The plan `plan_apply` makes in apply mode from `current` toward `desired`: what a kind's unit
/// tests look at, one current state at a time.
pub fn applied<C, D, O>(
    plan_apply: impl FnOnce(C, &D, &mut Plan<O>),
    current: C,
    desired: &D,
) -> Plan<O> {
    planned(Mode::Apply, |plan| plan_apply(current, desired, plan))
}

/// The plan's first change, after checking that it does `action`.
pub fn first<O: std::fmt::Debug>(plan: &Plan<O>, action: Action) -> &Change<O> {
    let change = plan.changes.first().expect("the plan changes something");
    assert_eq!(change.action, action, "{change:#?}");
    change
}

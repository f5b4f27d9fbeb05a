//! `[[route]]`: per-account destinations. Each route sends the alerts about its accounts (listed, or
//! below its organizational units) to its own `notify` block; `[notify]` is the default route, for
//! every other account and for what concerns login-alert itself (tamper alerts, the test record,
//! the pipeline's alarms). Checked here before any AWS call.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::coverage::{Coverage, is_unit_id};
use super::{NotifyConfig, Problem};
use super::{validate_email, validate_slack_webhook, validate_teams_webhook, validate_webhook};

/// A route's name goes into resource names (`PREFIX-route-NAME`, `/PREFIX/route/NAME/…`).
pub const MAX_ROUTE_NAME_LEN: usize = 32;
/// Each route's destinations are granted to the function by ARN, in its role's inline policy (at
/// most 10,240 characters with the rest): 20 routes with four destinations each fit.
pub const MAX_ROUTES: usize = 20;
/// What the plan and the messages call `[notify]`; no route may take the name.
pub const DEFAULT_ROUTE: &str = "default";

/// One `[[route]]` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Lowercase letters, digits and `-`: it names the route's topic and parameters.
    pub name: String,
    /// 12-digit account IDs whose alerts take this route.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// Organizational units (`ou-…`): every account below them, at any depth, as of the last apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<String>,
    /// The route's destinations: the fields of `[notify]`, secrets kept the same way.
    #[serde(default)]
    pub notify: NotifyConfig,
}

impl RouteConfig {
    /// The route's webhook secrets by field name (`route.notify.slack_webhook_url`, …).
    pub fn secrets(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.notify
            .secrets()
            .map(|(field, value)| (route_field(field), value))
    }
}

/// `notify.x` as it is written inside a route.
fn route_field(field: &'static str) -> &'static str {
    match field {
        "notify.slack_webhook_url" => "route.notify.slack_webhook_url",
        "notify.teams_webhook_url" => "route.notify.teams_webhook_url",
        "notify.webhook_url" => "route.notify.webhook_url",
        "notify.emails" => "route.notify.emails",
        _ => "route",
    }
}

fn is_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

fn is_route_name(name: &str) -> bool {
    (1..=MAX_ROUTE_NAME_LEN).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Every problem of the routes at once; the route is named in each.
pub fn validate(routes: &[RouteConfig], coverage: Coverage) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut push = |problem: String, fix: &str| {
        problems.push(Problem {
            field: "route",
            problem,
            fix: fix.to_owned(),
        })
    };
    if routes.len() > MAX_ROUTES {
        push(
            format!(
                "{} routes are configured, more than {MAX_ROUTES}",
                routes.len()
            ),
            "give several accounts or a parent unit one route (each route's destinations are granted to the function \
             one by one, in a policy of at most 10,240 characters)",
        );
    }
    let mut names = BTreeSet::new();
    // Account -> the first route that lists it.
    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    let mut unit_owner: BTreeMap<&str, &str> = BTreeMap::new();
    for route in routes {
        let name = route.name.as_str();
        if !is_route_name(name) {
            push(
                format!("`{name}` is not a route name"),
                "use 1-32 lowercase letters, digits and hyphens, starting with a letter (it names the route's SNS topic \
                 and SSM parameters), e.g. name = \"payments\"",
            );
        } else if name == DEFAULT_ROUTE {
            push(
                format!("route `{DEFAULT_ROUTE}` is reserved: it is what [notify] is called"),
                "choose another name; put the default destinations in [notify]",
            );
        } else if !names.insert(name) {
            push(
                format!("route `{name}` is configured twice"),
                "give each [[route]] its own name, or merge the two into one",
            );
        }
        if route.accounts.is_empty() && route.units.is_empty() {
            push(
                format!("route `{name}` lists no account and no unit, so no alert would take it"),
                "add accounts = [\"123456789012\"] or units = [\"ou-abcd-12345678\"], or remove the route",
            );
        }
        for account in &route.accounts {
            if !is_account_id(account) {
                push(
                    format!("route `{name}`: `{account}` is not an AWS account ID"),
                    "write each account as its 12-digit ID, in quotes (`aws organizations list-accounts`)",
                );
            } else if let Some(first) = owner.insert(account, name) {
                push(
                    format!("account {account} is in route `{first}` and route `{name}`"),
                    "list each account in one route: an alert goes to exactly one route (remove it from one of them)",
                );
            }
        }
        for unit in &route.units {
            if !unit.starts_with("ou-") || !is_unit_id(unit) {
                push(
                    format!("route `{name}`: `{unit}` is not an organizational unit ID"),
                    "write each as the ID Organizations shows, ou-abcd-12345678 (`aws organizations \
                     list-organizational-units-for-parent --parent-id r-abcd`); for the whole organization use [notify]",
                );
            } else if let Some(first) = unit_owner.insert(unit, name) {
                push(
                    format!("unit {unit} is in route `{first}` and route `{name}`"),
                    "list each unit in one route (remove it from one of them)",
                );
            }
        }
        if !route.units.is_empty() && coverage != Coverage::Organization {
            push(
                format!(
                    "route `{name}` lists units, but coverage = \"account\": login-alert reads the organization (and the \
                     accounts below a unit) only with organization coverage"
                ),
                "set coverage = \"organization\", or list the unit's accounts by ID in accounts = [...]",
            );
        }
        let notify = &route.notify;
        if notify.emails.is_empty() && notify.secrets().next().is_none() {
            push(
                format!(
                    "route `{name}` has no destination: its accounts' alerts would reach nobody"
                ),
                "add [route.notify] with emails = [\"team@example.com\"] or a slack_webhook_url, teams_webhook_url or \
                 webhook_url, or remove the route (its accounts then go to [notify])",
            );
        }
        let checks = notify
            .emails
            .iter()
            .map(|e| validate_email(e))
            .chain(
                notify
                    .slack_webhook_url
                    .as_deref()
                    .map(validate_slack_webhook),
            )
            .chain(
                notify
                    .teams_webhook_url
                    .as_deref()
                    .map(validate_teams_webhook),
            )
            .chain(notify.webhook_url.as_deref().map(validate_webhook));
        for p in checks.filter_map(Result::err) {
            // The notify rule's own words (never the secret), said of this route.
            push(format!("route `{name}` {}: {}", p.field, p.problem), &p.fix);
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(name: &str, accounts: &[&str], units: &[&str]) -> RouteConfig {
        RouteConfig {
            name: name.into(),
            accounts: accounts.iter().map(|s| s.to_string()).collect(),
            units: units.iter().map(|s| s.to_string()).collect(),
            notify: NotifyConfig {
                emails: vec!["team@example.com".into()],
                ..NotifyConfig::default()
            },
        }
    }

    fn messages(routes: &[RouteConfig], coverage: Coverage) -> Vec<String> {
        validate(routes, coverage)
            .into_iter()
            .map(|p| {
                assert_eq!(p.field, "route");
                format!("{} ({})", p.problem, p.fix)
            })
            .collect()
    }

    #[test]
    fn good_routes_pass() {
        let routes = [
            route("payments", &["111111111111"], &["ou-ab12-34cd56ef"]),
            route("data-2", &["222222222222"], &[]),
        ];
        assert_eq!(
            messages(&routes, Coverage::Organization),
            Vec::<String>::new()
        );
        // Accounts alone need no organization coverage (an organization trail brings their events in).
        assert_eq!(
            messages(&routes[1..], Coverage::Account),
            Vec::<String>::new()
        );
    }

    #[test]
    fn each_bad_route_names_the_problem_and_the_fix() {
        let mut no_destination = route("quiet", &["333333333333"], &[]);
        no_destination.notify = NotifyConfig::default();
        let mut bad_destination = route("loud", &["444444444444"], &[]);
        bad_destination.notify.emails = vec!["team@".into()];
        bad_destination.notify.slack_webhook_url =
            Some("https://example.com/services/T0/B0/SECRETSECRET".into());
        let routes = [
            route("Payments!", &["111111111111"], &[]),
            route("default", &["555555555555"], &[]),
            route("dup", &["1234"], &["Workloads"]),
            route("dup", &["111111111111"], &[]),
            route("empty", &[], &[]),
            no_destination,
            bad_destination,
        ];
        let text = messages(&routes, Coverage::Organization).join("\n");
        for expected in [
            "`Payments!` is not a route name (use 1-32 lowercase letters",
            "route `default` is reserved",
            "route `dup` is configured twice",
            "route `dup`: `1234` is not an AWS account ID (write each account as its 12-digit ID",
            "route `dup`: `Workloads` is not an organizational unit ID",
            "account 111111111111 is in route `Payments!` and route `dup` (list each account in one route",
            "route `empty` lists no account and no unit",
            "route `quiet` has no destination",
            "route `loud` notify.emails: `team@` is not an email address (write each address",
            "route `loud` notify.slack_webhook_url: is not a Slack webhook",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        assert!(
            !text.contains("SECRETSECRET"),
            "a secret was echoed:\n{text}"
        );
    }

    #[test]
    fn units_need_organization_coverage_and_routes_are_bounded() {
        let text = messages(
            &[route("team", &[], &["ou-ab12-34cd56ef"])],
            Coverage::Account,
        )
        .join("\n");
        assert!(
            text.contains("route `team` lists units, but coverage = \"account\""),
            "{text}"
        );
        assert!(text.contains("set coverage = \"organization\""), "{text}");
        let many: Vec<RouteConfig> = (0..=MAX_ROUTES)
            .map(|i| route(&format!("r{i}"), &[&format!("{i:012}")], &[]))
            .collect();
        let text = messages(&many, Coverage::Account).join("\n");
        assert!(
            text.contains("21 routes are configured, more than 20"),
            "{text}"
        );
    }
}

//! What `status` reports: checks along an alert's path, each ok, warning or failing, with a detail
//! and a fix; plain data, rendered as text or JSON.

use console::style;
use serde::Serialize;

/// How one link of the path is doing. Ordered: the worst status decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not looked at: an earlier link failed (`test` walks the path in order).
    Skipped,
    Ok,
    /// Alerts still arrive, but something needs attention (an unconfirmed address, lost failures).
    Warning,
    /// An alert would not arrive now.
    Failing,
}

/// The links of an alert's path, in the order an event travels them: the order `status` lists its
/// checks in, whichever part reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Link {
    /// The trail records the events, in every region.
    Trail,
    /// The trail hands the events to the pipeline's entrance (its CloudWatch Logs group).
    Delivery,
    /// What sends the events on to the function (the subscription filter).
    Route,
    /// The function's permission for that sender to invoke it.
    Invoke,
    /// The function, and how its invocations went.
    Function,
    /// Where failed invocations are kept.
    FailedEvents,
    /// Where the messages go (email, Slack).
    Destinations,
    /// The alarms watching all of the above.
    Alarms,
}

/// One thing `status` looked at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    #[serde(skip)]
    pub link: Link,
    pub name: String,
    pub status: Status,
    pub detail: String,
    /// What to do about it; `None` when nothing needs doing.
    pub fix: Option<String>,
    /// What an auditor keeps of it (the CIS controls' filters and alarms), in JSON's `evidence`.
    #[serde(skip)]
    pub evidence: Option<serde_json::Value>,
}

impl Check {
    pub fn ok(link: Link, name: impl Into<String>, detail: impl Into<String>) -> Self {
        Check {
            link,
            name: name.into(),
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
            evidence: None,
        }
    }

    /// The check with what an auditor keeps of it.
    pub fn with_evidence(self, evidence: serde_json::Value) -> Self {
        Check {
            evidence: Some(evidence),
            ..self
        }
    }

    pub fn warning(
        link: Link,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Check::problem(Status::Warning, link, name, detail, fix)
    }

    /// A check that is not ok (`status` says how bad), with what is wrong and the fix.
    pub fn problem(
        status: Status,
        link: Link,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Check {
            status,
            fix: Some(fix.into()),
            ..Check::ok(link, name, detail)
        }
    }

    pub fn skipped(link: Link, name: impl Into<String>, detail: impl Into<String>) -> Self {
        Check {
            status: Status::Skipped,
            ..Check::ok(link, name, detail)
        }
    }

    pub fn failing(
        link: Link,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Check::problem(Status::Failing, link, name, detail, fix)
    }
}

/// The worst status among the checks (`Ok` for none).
pub fn worst(checks: &[Check]) -> Status {
    checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok)
}

/// The checks in path order; within one link, in the order they were given.
pub fn in_path_order(mut checks: Vec<Check>) -> Vec<Check> {
    checks.sort_by_key(|c| c.link);
    checks
}

/// `{"checks": [{"name", "status", "detail", "fix"}]}`, and beside them, when a check carries any
/// (the CIS controls), `"evidence": [...]`: added, so readers of the checks are unaffected.
pub fn json(checks: &[Check]) -> String {
    #[derive(Serialize)]
    struct Report<'a> {
        checks: &'a [Check],
        #[serde(skip_serializing_if = "Vec::is_empty")]
        evidence: Vec<&'a serde_json::Value>,
    }
    let evidence = checks.iter().filter_map(|c| c.evidence.as_ref()).collect();
    serde_json::to_string_pretty(&Report { checks, evidence }).expect("checks serialize")
}

/// One line per check (its fix below it), then a verdict.
pub fn text(checks: &[Check], account_id: &str, region: &str) -> String {
    let mut out =
        format!("login-alert in account {account_id} ({region}), along an alert's path:\n");
    lines(checks, &mut out);
    out.push('\n');
    out.push_str(&verdict(checks));
    out.push('\n');
    out
}

/// Each check on a line of its own, marked by its status, with its fix below it.
pub fn lines(checks: &[Check], out: &mut String) {
    let width = checks
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    for check in checks {
        let mark = match check.status {
            Status::Skipped => style("-").dim(),
            Status::Ok => style("✓").green(),
            Status::Warning => style("!").yellow(),
            Status::Failing => style("✗").red(),
        };
        out.push_str(&format!(
            "  {mark} {:width$}  {}\n",
            check.name, check.detail
        ));
        if let Some(fix) = &check.fix {
            out.push_str(&format!("    {:width$}  fix: {fix}\n", ""));
        }
    }
}

fn verdict(checks: &[Check]) -> String {
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    match worst(checks) {
        Status::Skipped | Status::Ok => format!("All {} checks ok.", checks.len()),
        Status::Warning => format!(
            "{} of {} checks need attention; alerts still arrive.",
            count(Status::Warning),
            checks.len()
        ),
        Status::Failing => format!(
            "{} of {} checks failing: an alert would not arrive now.",
            count(Status::Failing),
            checks.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_status_wins_and_none_is_ok() {
        assert_eq!(worst(&[]), Status::Ok);
        let checks = vec![
            Check::ok(Link::Function, "function", "Active"),
            Check::warning(Link::Destinations, "email", "pending", "click"),
        ];
        assert_eq!(worst(&checks), Status::Warning);
        let mut checks = checks;
        checks.push(Check::failing(Link::Trail, "trail", "stopped", "start it"));
        assert_eq!(worst(&checks), Status::Failing);
    }

    #[test]
    fn checks_follow_the_path_whoever_reported_them() {
        let checks = in_path_order(vec![
            Check::ok(Link::Alarms, "alarm", ""),
            Check::ok(Link::Trail, "trail logging", ""),
            Check::ok(Link::Route, "subscription filter", ""),
            Check::ok(Link::Trail, "trail multi-region", ""),
        ]);
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "trail logging",
                "trail multi-region",
                "subscription filter",
                "alarm"
            ]
        );
    }

    #[test]
    fn json_has_exactly_the_documented_fields() {
        let checks = vec![
            Check::ok(Link::Function, "function", "Active"),
            Check::failing(Link::Trail, "trail logging", "stopped", "start it"),
        ];
        let value: serde_json::Value = serde_json::from_str(&json(&checks)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"checks": [
                {"name": "function", "status": "ok", "detail": "Active", "fix": null},
                {"name": "trail logging", "status": "failing", "detail": "stopped", "fix": "start it"}
            ]})
        );
    }

    #[test]
    fn text_shows_each_fix_and_a_verdict() {
        console::set_colors_enabled(false);
        let checks = vec![
            Check::ok(Link::Function, "function", "Active"),
            Check::warning(
                Link::Destinations,
                "email subscriptions",
                "a@example.com pending",
                "click the link",
            ),
        ];
        let text = text(&checks, "123456789012", "eu-west-1");
        assert!(text.contains("✓ function"), "{text}");
        assert!(text.contains("fix: click the link"), "{text}");
        assert!(
            text.ends_with("1 of 2 checks need attention; alerts still arrive.\n"),
            "{text}"
        );
    }
}

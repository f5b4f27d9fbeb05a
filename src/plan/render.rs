//! How a plan reads: a Terraform-style diff for people, JSON for scripts.

use console::style;
use serde::Serialize;
use serde_json::Value;

use super::{Action, Attr, Change, Mode, Plan, Summary};

/// The plan as text, ending with the summary line.
pub fn text<O>(plan: &Plan<O>) -> String {
    let mut out = String::new();
    let what = match plan.mode {
        Mode::Apply => "apply",
        Mode::Destroy => "destroy",
    };
    if plan.has_changes() {
        out.push_str(&format!(
            "login-alert will make these changes to account {} ({}) on {what}:\n",
            plan.account_id, plan.region
        ));
        out.push_str(&format!(
            "  {} create   {} update in place   {} destroy   {} replace\n\n",
            paint(Action::Create, "+"),
            paint(Action::Update, "~"),
            paint(Action::Delete, "-"),
            paint(Action::Replace, "-/+"),
        ));
        for change in &plan.changes {
            out.push_str(&change_text(change));
        }
    }
    if !plan.notices.is_empty() {
        out.push_str("Notices:\n");
        for notice in &plan.notices {
            out.push_str(&format!("  {} {notice}\n", style("!").yellow()));
        }
        out.push('\n');
    }
    if let Some(coverage) = &plan.coverage {
        out.push_str(&format!("Coverage: {coverage}\n\n"));
    }
    if !plan.blockers.is_empty() {
        out.push_str(&format!("{}\n", style("Cannot apply:").red().bold()));
        for blocker in &plan.blockers {
            out.push_str(&format!("  {} {blocker}\n", style("✗").red()));
        }
        out.push('\n');
    }
    out.push_str(&summary_line(plan));
    out.push('\n');
    out
}

pub fn summary_line<O>(plan: &Plan<O>) -> String {
    if !plan.has_changes() {
        return match plan.mode {
            // "No changes" would read as "all is well" next to the problems listed above it.
            _ if !plan.blockers.is_empty() => {
                "No changes can be applied until the problems above are resolved.".into()
            }
            Mode::Apply => "No changes. The account matches the configuration.".into(),
            Mode::Destroy => "No changes. Nothing login-alert created is left.".into(),
        };
    }
    let Summary {
        add,
        change,
        destroy,
    } = plan.summary();
    format!("Plan: {add} to add, {change} to change, {destroy} to destroy.")
}

fn paint(action: Action, text: &str) -> String {
    match action {
        Action::Create => style(text).green().to_string(),
        Action::Update => style(text).yellow().to_string(),
        Action::Delete => style(text).red().to_string(),
        Action::Replace => style(text).magenta().to_string(),
    }
}

fn change_text<O>(change: &Change<O>) -> String {
    let verb = match change.action {
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Delete => "will be destroyed",
        Action::Replace => "will be replaced",
    };
    let mut out = format!(
        "  {} {} {} {verb}\n",
        paint(change.action, change.action.symbol()),
        style(&change.kind).bold(),
        change.name
    );
    for attr in &change.attrs {
        out.push_str(&format!("      {}\n", attr_text(change.action, attr)));
    }
    for note in &change.notes {
        out.push_str(&format!("      {} {note}\n", style("#").dim()));
    }
    out.push('\n');
    out
}

fn attr_text(action: Action, attr: &Attr) -> String {
    match (&attr.before, &attr.after) {
        (None, Some(after)) => format!(
            "{} {} = {}",
            paint(Action::Create, "+"),
            attr.name,
            value(after)
        ),
        (Some(before), None) => format!(
            "{} {} = {}",
            paint(Action::Delete, "-"),
            attr.name,
            value(before)
        ),
        (Some(before), Some(after)) if action == Action::Delete || before == after => {
            format!("  {} = {}", attr.name, value(before))
        }
        (Some(before), Some(after)) => {
            format!(
                "{} {} = {} -> {}",
                paint(Action::Update, "~"),
                attr.name,
                value(before),
                value(after)
            )
        }
        (None, None) => format!("  {} = (none)", attr.name),
    }
}

fn value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

/// The plan as Markdown, for a pull-request comment or a CI summary: a headline with the counts, a
/// table of the resources and actions, each change's attributes before → after, notices, blockers.
pub fn markdown<O>(plan: &Plan<O>) -> String {
    let what = match plan.mode {
        Mode::Apply => "apply",
        Mode::Destroy => "destroy",
    };
    let mut out = format!(
        "### login-alert {what} plan for account `{}` ({})\n\n**{}**\n\n",
        plan.account_id,
        plan.region,
        summary_line(plan)
    );
    if let Some(coverage) = &plan.coverage {
        out.push_str(&format!("Coverage: {}\n\n", cell(coverage)));
    }
    if plan.has_changes() {
        out.push_str("| | Resource | Name | Action |\n|---|---|---|---|\n");
        for change in &plan.changes {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                change.action.symbol(),
                cell(&change.kind),
                code(&change.name),
                verb(change.action)
            ));
        }
        out.push('\n');
        for change in plan
            .changes
            .iter()
            .filter(|c| !c.attrs.is_empty() || !c.notes.is_empty())
        {
            out.push_str(&format!(
                "#### `{}` {} {}\n\n",
                change.action.symbol(),
                cell(&change.kind),
                code(&change.name)
            ));
            if !change.attrs.is_empty() {
                out.push_str("| Attribute | Before | After |\n|---|---|---|\n");
                for attr in &change.attrs {
                    let side =
                        |v: &Option<Value>| v.as_ref().map_or(String::new(), |v| code(&plain(v)));
                    let before = if change.action == Action::Create {
                        String::new()
                    } else {
                        side(&attr.before)
                    };
                    out.push_str(&format!(
                        "| {} | {} | {} |\n",
                        code(&attr.name),
                        before,
                        side(&attr.after)
                    ));
                }
                out.push('\n');
            }
            for note in &change.notes {
                out.push_str(&format!("- {}\n", cell(note)));
            }
            if !change.notes.is_empty() {
                out.push('\n');
            }
        }
    }
    if !plan.notices.is_empty() {
        out.push_str("**Notices**\n\n");
        for notice in &plan.notices {
            out.push_str(&format!("- {}\n", cell(notice)));
        }
        out.push('\n');
    }
    if !plan.blockers.is_empty() {
        out.push_str("**Cannot apply**\n\n");
        for blocker in &plan.blockers {
            out.push_str(&format!("- :x: {}\n", cell(blocker)));
        }
        out.push('\n');
    }
    out
}

/// A value as a reader writes it: strings without quotes or escapes.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update in place",
        Action::Delete => "destroy",
        Action::Replace => "replace",
    }
}

/// Text safe inside a Markdown table cell or list item: no line breaks, no column separators.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Text as inline code; backticks inside it would end the span, so they become quotes.
fn code(text: &str) -> String {
    format!("`{}`", cell(&text.replace('`', "'")))
}

/// The version of the plan's JSON contract (`--output json` and the saved plan; see the README).
pub const FORMAT_VERSION: &str = "1";

/// The plan as `--output json` prints it: everything a reviewer reads, not the operations.
#[derive(Serialize)]
struct JsonPlan<'a> {
    format_version: &'static str,
    mode: Mode,
    account_id: &'a str,
    region: &'a str,
    changes: Vec<JsonChange<'a>>,
    notices: &'a [String],
    blockers: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    coverage: Option<&'a str>,
    summary: Summary,
    changes_pending: bool,
}

#[derive(Serialize)]
struct JsonChange<'a> {
    kind: &'a str,
    name: &'a str,
    action: Action,
    attributes: &'a [Attr],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
}

/// The plan as one JSON document (stable field names; secrets already masked in the attributes).
pub fn json<O>(plan: &Plan<O>) -> String {
    let doc = JsonPlan {
        format_version: FORMAT_VERSION,
        mode: plan.mode,
        account_id: &plan.account_id,
        region: &plan.region,
        changes: plan
            .changes
            .iter()
            .map(|c| JsonChange {
                kind: &c.kind,
                name: &c.name,
                action: c.action,
                attributes: &c.attrs,
                notes: &c.notes,
            })
            .collect(),
        notices: &plan.notices,
        blockers: &plan.blockers,
        coverage: plan.coverage.as_deref(),
        summary: plan.summary(),
        changes_pending: plan.has_changes(),
    };
    serde_json::to_string_pretty(&doc).expect("a plan always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Plan<()> {
        let mut plan = Plan::new(Mode::Apply, "123456789012", "us-east-1");
        plan.push(Some(
            Change::new("log group", "/login-alert/cloudtrail", Action::Create, ())
                .attr(Attr::set("retention_days", 90)),
        ));
        plan.push(Some(
            Change::new("trail", "audit-trail", Action::Update, ())
                .attr(Attr::change("is_multi_region_trail", false, true))
                .note("destroy makes it single-region again"),
        ));
        plan.push(Some(Change::new(
            "Lambda function",
            "login-alert-handler",
            Action::Replace,
            (),
        )));
        plan.notice("email a@example.com: awaiting confirmation");
        plan
    }

    #[test]
    fn text_has_one_line_per_change_and_the_summary() {
        console::set_colors_enabled(false);
        let text = text(&sample());
        assert!(text.contains("  + log group /login-alert/cloudtrail will be created"));
        assert!(text.contains("~ is_multi_region_trail = false -> true"));
        assert!(text.contains("-/+ Lambda function login-alert-handler will be replaced"));
        assert!(text.contains("! email a@example.com: awaiting confirmation"));
        assert!(
            text.trim_end()
                .ends_with("Plan: 2 to add, 1 to change, 1 to destroy."),
            "{text}"
        );
    }

    #[test]
    fn an_empty_plan_says_no_changes() {
        let plan: Plan<()> = Plan::new(Mode::Apply, "123456789012", "us-east-1");
        assert!(text(&plan).starts_with("No changes."));
    }

    #[test]
    fn a_plan_with_blockers_never_says_the_account_matches() {
        // From `sample()` so the plan's type needs no naming here.
        let mut plan = sample();
        plan.changes.clear();
        plan.notices.clear();
        plan.block("trail audit is an organization trail of the management account 999999999999");
        let text = text(&plan);
        assert!(!text.contains("No changes."), "{text}");
        assert!(!text.contains("matches the configuration"), "{text}");
        assert!(
            text.trim_end()
                .ends_with("No changes can be applied until the problems above are resolved."),
            "{text}"
        );
    }

    #[test]
    fn json_carries_actions_attributes_and_summary() {
        let doc: Value = serde_json::from_str(&json(&sample())).unwrap();
        assert_eq!(doc["changes"][1]["action"], "update");
        assert_eq!(doc["changes"][1]["attributes"][0]["after"], true);
        assert_eq!(doc["summary"]["add"], 2);
        assert_eq!(doc["changes_pending"], true);
        assert!(doc["changes"][0].get("op").is_none());
    }
}

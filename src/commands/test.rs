//! `login-alert test`: put a clearly marked test record into the live pipeline at its entrance,
//! wait (bounded, with progress) for the function's own proof that it delivered it, and report
//! each hop passed or failed.

use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use chrono::Utc;
use login_alert_handler::testevent::{
    TEST_DETAIL_TYPE, TEST_EVENT_SOURCE, parse_test_delivered, test_record,
};

use super::{ExitStatus, context};
use crate::aws::{SdkResultExt, error_code, explain};
use crate::check::{self, Check, Link, Status};
use crate::cli::{GlobalArgs, TestArgs};
use crate::model::{Ctx, Delivery, Target};
use crate::policy::{Grant, log_group_arns};
use crate::printer::Printer;
use crate::resources::{rule, subscription_filter, test_stream, trail};
use crate::retry::{Bound, Stopped, patiently};

/// The link of the alert's path a hop of the test is.
fn link_of(hop: &str) -> Link {
    match hop {
        ROUTE | RULE => Link::Route,
        ENTRANCE => Link::Delivery,
        _ => Link::Function,
    }
}

fn passed(name: &'static str, detail: impl Into<String>) -> Check {
    Check::ok(link_of(name), name, detail)
}

fn failed(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check::failing(link_of(name), name, detail, fix)
}

/// The hops' names, in the order the test walks them (the first one per mode).
pub const ROUTE: &str = "subscription filter";
pub const RULE: &str = "EventBridge rule";
pub const ENTRANCE: &str = "entrance";
pub const DELIVERY: &str = "function";

/// What one run of the test found.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub event_id: String,
    pub sent_via: String,
    /// One check per hop of the alert's path, in the order the test walks them.
    pub hops: Vec<Check>,
}

impl Report {
    /// Delivery is proven only when every hop passed.
    pub fn proven(&self) -> bool {
        self.hops.iter().all(|h| h.status == Status::Ok)
    }

    pub fn failed_hop(&self) -> Option<&Check> {
        self.hops.iter().find(|h| h.status == Status::Failing)
    }
}

/// Where `test` puts its record into the live pipeline: one entrance per delivery mode, so each
/// mode's test starts as close to CloudTrail as the account allows.
#[derive(Debug, Clone, PartialEq)]
pub enum Entrance {
    /// CloudWatch Logs mode: a log event on login-alert's own stream in the log group the trail
    /// delivers to, so the real subscription filter must pick it up.
    LogGroup { log_group: String, stream: String },
    /// EventBridge mode: an event on the home region's default bus (source `login-alert.test`, the
    /// record as its detail), so the real home rule must pick it up. CloudTrail's own events cannot
    /// be put there by anyone but AWS: this is the closest entrance the account allows, and the
    /// forwarding rules of the other regions are not on its path (`status` checks them).
    EventBus { region: String, rule: String },
}

impl Entrance {
    /// The entrance of the pipeline the config describes.
    /// In `both` mode, the EventBridge entrance: the way an alert arrives first (`status` checks the
    /// CloudWatch Logs backstop's filter and delivery).
    pub fn of(t: &Target, delivery: &Delivery) -> Self {
        if t.route.uses_eventbridge() {
            return Entrance::EventBus {
                region: t.region().to_owned(),
                rule: t.names.events_rule(),
            };
        }
        Entrance::LogGroup {
            log_group: delivery.log_group_name.clone(),
            stream: t.names.test_stream(),
        }
    }

    /// How the record was sent, in its `sentVia` field (the message that arrives shows it).
    pub fn sent_via(&self) -> String {
        match self {
            Entrance::LogGroup { log_group, stream } => {
                format!("PutLogEvents to {log_group} (stream {stream}) by login-alert test")
            }
            Entrance::EventBus { region, .. } => format!(
                "PutEvents to the default event bus of {region} by login-alert test (a custom event: \
                 CloudTrail's own events reach the bus the same way, through the same rule)"
            ),
        }
    }

    /// The name of the first hop: what takes the record from the entrance to the function.
    pub fn route_name(&self) -> &'static str {
        match self {
            Entrance::LogGroup { .. } => ROUTE,
            Entrance::EventBus { .. } => RULE,
        }
    }

    /// Whether what leads from the entrance to the function is in place and would pass the record on.
    async fn route(&self, ctx: &Ctx, record: &str) -> Result<Check> {
        match self {
            Entrance::LogGroup { log_group, .. } => filter_hop(ctx, log_group, record).await,
            Entrance::EventBus { region, rule } => rule_hop(ctx, region, rule).await,
        }
    }

    /// Puts the record in.
    async fn send(&self, ctx: &Ctx, record: &str) -> Result<Check> {
        match self {
            Entrance::LogGroup { log_group, stream } => {
                put_hop(ctx, log_group, stream, record).await
            }
            Entrance::EventBus { region, .. } => put_event_hop(ctx, region, record).await,
        }
    }
}

/// What `test` calls beside the parts' reads: reading the function's log lines, and its entrance (the
/// record on the test stream, checked against the filter's pattern, or the event on the home bus).
pub fn permissions(t: &Target) -> Vec<Grant> {
    let mut grants = vec![Grant::new(
        "FunctionLogGroup",
        ["logs:FilterLogEvents"],
        log_group_arns(&t.arns.log_group(&t.names.function_log_group())),
    )];
    if !t.route.uses_eventbridge() {
        grants.push(Grant::new(
            "TestStream",
            ["logs:PutLogEvents"],
            [test_stream::stream_arn(t)],
        ));
        grants.push(Grant::anywhere(["logs:TestMetricFilter"]));
    } else {
        grants.push(Grant::new(
            "HomeBus",
            ["events:PutEvents"],
            [t.arns.default_bus()],
        ));
    }
    grants
}

pub async fn run(global: &GlobalArgs, args: &TestArgs, printer: &Printer) -> Result<ExitStatus> {
    let ctx = context(global, printer).await?;
    let report = send_and_prove(&ctx, Duration::from_secs(args.timeout)).await?;
    printer.out(text(&report));
    Ok(if report.proven() {
        ExitStatus::Success
    } else {
        ExitStatus::Broken
    })
}

/// Sends one test record through the pipeline and waits at most `wait` for proof of delivery.
/// An error is the command failing (credentials, network); a hop failing is in the report.
pub async fn send_and_prove(ctx: &Ctx, wait: Duration) -> Result<Report> {
    let t = &ctx.target;
    let step = ctx.printer.step(format!(
        "Finding the pipeline's entrance in account {} ({})",
        t.account_id(),
        t.region()
    ));
    let current = match trail::read(ctx).await {
        Ok(current) => {
            step.done();
            current
        }
        Err(err) => {
            step.failed();
            return Err(err);
        }
    };
    let entrance = Entrance::of(t, &trail::delivery(&current, t));
    let event_id = uuid::Uuid::new_v4().to_string();
    let sent_via = entrance.sent_via();
    let record = test_record(&event_id, &sent_via, Utc::now(), t.account_id(), t.region());
    let mut report = Report {
        event_id: event_id.clone(),
        sent_via,
        hops: Vec::new(),
    };
    let expected = destinations(t);
    // Looked for from a little before sending: the function's clock and ours may differ.
    let since_ms = Utc::now().timestamp_millis() - 60_000;
    for hop in [entrance.route_name(), ENTRANCE, DELIVERY] {
        if report.failed_hop().is_some() {
            let skipped = "not tried: an earlier hop failed";
            report.hops.push(Check::skipped(link_of(hop), hop, skipped));
            continue;
        }
        let result = match hop {
            ROUTE | RULE => entrance.route(ctx, &record).await?,
            ENTRANCE => entrance.send(ctx, &record).await?,
            _ => await_delivery(ctx, &event_id, &expected, since_ms, wait).await?,
        };
        report.hops.push(result);
    }
    Ok(report)
}

/// The destinations the function must report, as its delivery line names them.
pub fn destinations(t: &Target) -> Vec<&'static str> {
    let mut expected = Vec::new();
    if !t.emails.is_empty() {
        expected.push("email");
    }
    if t.slack_webhook_url.is_some() {
        expected.push("slack");
    }
    expected
}

/// login-alert's filter is on the group, sends to the function, and its pattern matches the record
/// (CloudWatch Logs itself says so, through `TestMetricFilter`: the same pattern language).
async fn filter_hop(ctx: &Ctx, log_group: &str, record: &str) -> Result<Check> {
    let t = &ctx.target;
    let name = t.names.subscription_filter();
    let function = t.function_arn();
    let filters = subscription_filter::read(ctx, log_group).await?;
    let Some(ours) = filters.filters.iter().find(|f| f.name == name) else {
        return Ok(failed(
            ROUTE,
            format!(
                "{name} is not on log group {log_group}: nothing would take the record to the function"
            ),
            "run `login-alert apply`",
        ));
    };
    if ours.destination_arn != function {
        return Ok(failed(
            ROUTE,
            format!(
                "{name} on {log_group} sends to {}, not to {function}",
                ours.destination_arn
            ),
            "run `login-alert apply`",
        ));
    }
    let tested = ctx
        .clients
        .logs
        .test_metric_filter()
        .filter_pattern(&ours.pattern)
        .log_event_messages(record)
        .send()
        .await;
    Ok(match tested {
        Ok(out) if !out.matches().is_empty() => passed(
            ROUTE,
            format!(
                "{name} on {log_group} sends to the function, and its pattern matches the test record"
            ),
        ),
        Ok(_) => failed(
            ROUTE,
            format!(
                "the pattern of {name} on {log_group} does not match the test record (event source {}): it predates `login-alert test`",
                TEST_EVENT_SOURCE
            ),
            "run `login-alert apply` to update the pattern",
        ),
        // The check is a courtesy (it needs logs:TestMetricFilter): the delivery proof decides.
        Err(err) => passed(
            ROUTE,
            format!(
                "{name} on {log_group} sends to the function (its pattern was not checked against the record: \
                 TestMetricFilter failed: {})",
                explain(err)
            ),
        ),
    })
}

/// login-alert's home rule is there, enabled, sends to the function, and holds the pattern that
/// matches the test event.
async fn rule_hop(ctx: &Ctx, region: &str, name: &str) -> Result<Check> {
    let t = &ctx.target;
    let function = t.function_arn();
    let Some(found) = rule::read(ctx, region, name).await? else {
        return Ok(failed(
            RULE,
            format!(
                "{name} does not exist in {region}: nothing would take the event to the function"
            ),
            "run `login-alert apply`",
        ));
    };
    if !found.targets.iter().any(|target| target.arn == function) {
        return Ok(failed(
            RULE,
            format!("{name} in {region} does not send to {function}"),
            "run `login-alert apply`",
        ));
    }
    if found.state.starts_with("DISABLED") {
        return Ok(failed(
            RULE,
            format!("{name} in {region} is disabled"),
            "run `login-alert apply` to enable it again, and find out who disabled it",
        ));
    }
    // The pattern login-alert writes lets the test event through (the handler crate's pattern tests
    // prove it): a rule holding exactly that pattern passes the record on.
    let wanted: Option<serde_json::Value> = serde_json::from_str(&rule::pattern(t)).ok();
    if found.pattern != wanted {
        return Ok(failed(
            RULE,
            format!(
                "the pattern of {name} in {region} is not login-alert's current one, which matches the test event \
                 (source {TEST_EVENT_SOURCE}): it predates `login-alert test` or was changed"
            ),
            "run `login-alert apply` to update the pattern",
        ));
    }
    Ok(passed(
        RULE,
        format!(
            "{name} in {region} is enabled, sends to the function, and its pattern matches the test event"
        ),
    ))
}

async fn put_event_hop(ctx: &Ctx, region: &str, record: &str) -> Result<Check> {
    let out = ctx
        .clients
        .events_in(region)
        .put_events()
        .entries(
            PutEventsRequestEntry::builder()
                .source(TEST_EVENT_SOURCE)
                .detail_type(TEST_DETAIL_TYPE)
                .detail(record)
                .build(),
        )
        .send()
        .await
        .doing(|| format!("putting the test event on the default event bus of {region}"))?;
    let refused = out
        .entries()
        .iter()
        .find_map(|e| e.error_message().map(str::to_owned));
    Ok(match refused {
        Some(why) if out.failed_entry_count() > 0 => failed(
            ENTRANCE,
            format!("EventBridge refused the test event in {region}: {why}"),
            "check the operator's events:PutEvents permission, then run `login-alert test` again",
        ),
        _ => passed(
            ENTRANCE,
            format!("the event is on the default event bus of {region}"),
        ),
    })
}

/// The destinations a log line says the test record `event_id` was delivered to, if it is that
/// event's delivery line (anywhere in it: Lambda may prefix or wrap what the function prints).
pub fn delivered_to(line: &str, event_id: &str) -> Option<Vec<String>> {
    let (id, channels) = parse_test_delivered(line)?;
    (id == event_id).then(|| {
        channels
            .into_iter()
            // In a JSON log format the line ends inside a string: `…delivered to email"}`.
            .filter_map(|c| c.split(['"', '}', '\\']).next())
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

async fn put_hop(ctx: &Ctx, log_group: &str, stream: &str, record: &str) -> Result<Check> {
    let event = InputLogEvent::builder()
        .timestamp(Utc::now().timestamp_millis())
        .message(record)
        .build()
        .context("building the test log event")?;
    let put = ctx
        .clients
        .logs
        .put_log_events()
        .log_group_name(log_group)
        .log_stream_name(stream)
        .log_events(event)
        .send()
        .await;
    Ok(match put {
        Ok(out) if out.rejected_log_events_info().is_some() => failed(
            ENTRANCE,
            format!(
                "CloudWatch Logs rejected the test record in {log_group} as too old or too new"
            ),
            "check this machine's clock, then run `login-alert test` again",
        ),
        Ok(_) => passed(
            ENTRANCE,
            format!("the record is in log group {log_group} (stream {stream})"),
        ),
        Err(err) if error_code(&err) == Some("ResourceNotFoundException") => failed(
            ENTRANCE,
            format!("log stream {stream} (or log group {log_group}) does not exist"),
            "run `login-alert apply`, which creates the test stream",
        ),
        Err(err) => {
            return Err(explain(err))
                .with_context(|| format!("putting the test record into {log_group}"));
        }
    })
}

/// Why the proof is not there (yet).
enum Missing {
    /// Lines that mention the event but are not the delivery line (an error, say).
    NotYet {
        seen: Vec<String>,
    },
    Failed(anyhow::Error),
}

/// Waits for the function's line `login-alert test <id> delivered to …` in its log group.
async fn await_delivery(
    ctx: &Ctx,
    event_id: &str,
    expected: &[&str],
    since_ms: i64,
    wait: Duration,
) -> Result<Check> {
    let t = &ctx.target;
    let function = t.names.function();
    let group = t.names.function_log_group();
    let bound = Bound {
        total: wait,
        first_delay: Duration::from_secs(2).min(wait),
        max_delay: Duration::from_secs(5),
    };
    let result = patiently(
        &ctx.printer,
        bound,
        format!(
            "waiting up to {}s for {function} to confirm delivery of test event {event_id}",
            wait.as_secs()
        ),
        "looking in the function's log group",
        |missing: &Missing| matches!(missing, Missing::NotYet { .. }),
        || lines_about(ctx, &group, event_id, since_ms),
    )
    .await;
    let started = format!("after {}s", wait.as_secs());
    Ok(match result {
        Ok(destinations) => {
            let missing: Vec<&str> = expected
                .iter()
                .copied()
                .filter(|d| !destinations.iter().any(|got| got == d))
                .collect();
            if missing.is_empty() {
                passed(
                    DELIVERY,
                    format!("{function} delivered it to {}", destinations.join(", ")),
                )
            } else {
                failed(
                    DELIVERY,
                    format!(
                        "{function} delivered it to {} but not to {}",
                        destinations.join(", "),
                        missing.join(", ")
                    ),
                    "the function's environment predates the config: run `login-alert apply`",
                )
            }
        }
        Err(
            Stopped::Failed(Missing::Failed(err))
            | Stopped::TimedOut {
                last: Missing::Failed(err),
                ..
            },
        ) => {
            return Err(err);
        }
        Err(
            Stopped::TimedOut {
                last: Missing::NotYet { seen },
                ..
            }
            | Stopped::Failed(Missing::NotYet { seen }),
        ) => {
            let fix = format!(
                "`login-alert status` shows the function's errors and the failed-event queue; `aws logs tail {group} --since 15m \
                 --region {}` shows what the function did",
                t.region()
            );
            match seen.last() {
                Some(line) => failed(
                    DELIVERY,
                    format!(
                        "{function} saw test event {event_id} but did not confirm delivery {started}; its last word: {}",
                        line.trim()
                    ),
                    fix,
                ),
                None => failed(
                    DELIVERY,
                    format!(
                        "no line about test event {event_id} in {group} {started}: the function was not invoked, or failed \
                         before it could say so"
                    ),
                    fix,
                ),
            }
        }
    })
}

/// The destinations the delivery line names, or the other lines mentioning the event so far.
async fn lines_about(
    ctx: &Ctx,
    group: &str,
    event_id: &str,
    since_ms: i64,
) -> Result<Vec<String>, Missing> {
    let mut seen = Vec::new();
    let mut pages = ctx
        .clients
        .logs
        .filter_log_events()
        .log_group_name(group)
        .start_time(since_ms)
        // A quoted term: lines containing the ID exactly.
        .filter_pattern(format!("\"{event_id}\""))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = match page.found(&["ResourceNotFoundException"]) {
            Ok(Some(page)) => page,
            // No log group yet: the function has not run since it was created.
            Ok(None) => return Err(Missing::NotYet { seen }),
            Err(err) => {
                return Err(Missing::Failed(
                    err.context(format!("reading the function's log group {group}")),
                ));
            }
        };
        for event in page.events.unwrap_or_default() {
            let Some(message) = event.message else {
                continue;
            };
            if let Some(destinations) = delivered_to(&message, event_id) {
                return Ok(destinations);
            }
            if message.contains(event_id) {
                seen.push(message);
            }
        }
    }
    Err(Missing::NotYet { seen })
}

/// Each hop on its own line (its fix below it), then the verdict.
pub fn text(report: &Report) -> String {
    let mut out = format!("Test event {} ({}):\n", report.event_id, report.sent_via);
    check::lines(&report.hops, &mut out);
    out.push('\n');
    match report.failed_hop() {
        None => out.push_str(
            "Delivery proven: the message that arrives says it is a test and how it was sent.\n",
        ),
        Some(hop) => out.push_str(&format!(
            "Hop \"{}\" failed: the test alert was not proven delivered.\n",
            hop.name
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    const ID: &str = "5b0b3a0e-6c2f-4d8e-9a51-0c1f3e2d4b6a";

    /// What a function log group holds after an invocation that delivered the test record, as
    /// Lambda writes it (runtime lines around the handler's own; text log format).
    const INVOCATION: &str =
        "START RequestId: 6f1c0a9e-2b1d-4c3e-8f7a-1d2e3f4a5b6c Version: $LATEST
2025-06-01T10:00:01.120Z INFO login_alert_handler: records=1 alerts=1
login-alert test 5b0b3a0e-6c2f-4d8e-9a51-0c1f3e2d4b6a delivered to email,slack
END RequestId: 6f1c0a9e-2b1d-4c3e-8f7a-1d2e3f4a5b6c
REPORT RequestId: 6f1c0a9e-2b1d-4c3e-8f7a-1d2e3f4a5b6c Duration: 412.33 ms Billed Duration: 413 ms";

    #[test]
    fn only_the_delivery_line_of_this_event_counts() {
        let found: Vec<Vec<String>> = INVOCATION
            .lines()
            .filter_map(|l| delivered_to(l, ID))
            .collect();
        assert_eq!(found, [vec!["email".to_owned(), "slack".to_owned()]]);
        assert_eq!(
            delivered_to(INVOCATION.lines().nth(2).unwrap(), "5b0b3a0e"),
            None,
            "an id prefix is not the id"
        );
        assert_eq!(
            delivered_to("login-alert test other-id delivered to email", ID),
            None
        );
        assert_eq!(
            delivered_to(&format!("ERROR delivery of {ID} failed: 500"), ID),
            None
        );
    }

    #[test]
    fn the_line_is_found_inside_a_json_log_format_message() {
        let json = format!(
            r#"{{"timestamp":"2025-06-01T10:00:01Z","level":"INFO","message":"login-alert test {ID} delivered to email"}}"#
        );
        assert_eq!(delivered_to(&json, ID), Some(vec!["email".to_owned()]));
        assert_eq!(
            delivered_to(&format!("login-alert test {ID} delivered to slack\n"), ID),
            Some(vec!["slack".to_owned()])
        );
    }

    use super::*;

    fn report(outcomes: [Status; 3]) -> Report {
        Report {
            event_id: "id-1".into(),
            sent_via: "PutLogEvents to g (stream s) by login-alert test".into(),
            hops: [ROUTE, ENTRANCE, DELIVERY]
                .into_iter()
                .zip(outcomes)
                .map(|(name, status)| match status {
                    Status::Failing => failed(name, format!("{name} detail"), "do this"),
                    Status::Skipped => {
                        Check::skipped(link_of(name), name, format!("{name} detail"))
                    }
                    _ => passed(name, format!("{name} detail")),
                })
                .collect(),
        }
    }

    #[test]
    fn only_every_hop_passed_proves_delivery() {
        use Status::*;
        assert!(report([Ok, Ok, Ok]).proven());
        let failed = report([Ok, Failing, Skipped]);
        assert!(!failed.proven());
        assert_eq!(failed.failed_hop().map(|h| h.name.as_str()), Some(ENTRANCE));
    }

    #[test]
    fn the_text_names_the_failed_hop_and_its_fix() {
        console::set_colors_enabled(false);
        let text = text(&report([Status::Ok, Status::Ok, Status::Failing]));
        assert!(text.contains("✗ function"), "{text}");
        assert!(text.contains("fix: do this"), "{text}");
        assert!(
            text.ends_with("Hop \"function\" failed: the test alert was not proven delivered.\n"),
            "{text}"
        );
    }
}

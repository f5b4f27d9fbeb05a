//! The log group's subscription filter that sends sign-in and root events to the function.

use anyhow::{Context, Result};
use futures::future::try_join_all;
use serde::{Deserialize, Serialize};

use crate::arn::regional_resource;
use crate::aws::{SdkResultExt, error_code, error_message, explain, found_pages};
use crate::check::{Check, Link, Status};
use crate::model::{Ctx, Delivery, Facts, Target};
use crate::names::MAX_FILTERS;
use crate::part::Part;
use crate::plan::{Attr, Change, Plan};
use crate::policy::Grant;
use crate::retry::{Stopped, patiently};
use login_alert_handler::patterns::{PatternVars, filter_pattern};

const KIND: &str = "subscription filter";

/// CloudWatch Logs' limit on a filter pattern's length.
pub const MAX_PATTERN_LEN: usize = 1024;

/// Selects every sign-in event and everything the root user does; the handler decides per scope
/// what alerts. Kept to two plain terms so it can be checked by reading (moto never evaluates it).
/// The pattern as sent to CloudWatch Logs for this installation: `assets/filter-pattern.txt` with
/// the names login-alert gives its resources filled in (its tamper terms name them).
pub fn pattern(t: &Target) -> String {
    filter_pattern(&PatternVars {
        prefix: &t.names.prefix,
        partition: &t.arns.partition,
        region: t.region(),
        account: t.account_id(),
    })
}

/// One filter on the log group, ours or the user's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Filter {
    pub name: String,
    pub pattern: String,
    pub destination_arn: String,
    pub role_arn: Option<String>,
}

/// Every subscription filter on the log group (ours and the user's: at most two per group).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Current {
    pub log_group: String,
    pub filters: Vec<Filter>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub log_group: String,
    pub name: String,
    pub pattern: String,
    pub destination_arn: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// Creates or updates (PutSubscriptionFilter replaces a filter of the same name).
    Put {
        log_group: String,
        name: String,
        pattern: String,
        destination_arn: String,
    },
    Delete {
        log_group: String,
        name: String,
    },
}

/// login-alert's filter, as a set: one instance per log group it may sit on — the group the trail
/// delivers to (where it belongs) and login-alert's own group (where an earlier config put it).
pub struct SubscriptionFilter;

/// The filters of each log group login-alert's filter may sit on, the delivery group first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Groups(pub Vec<Current>);

impl Part for SubscriptionFilter {
    const NAME: &'static str = "the subscription filter";
    type Current = Groups;
    type Op = Op;
    const NEEDS_FACTS: bool = true;

    /// On whichever group the trail delivers to: the user's own, when the adopted trail had one.
    fn permissions(&self, t: &Target) -> Vec<Grant> {
        let mut actions = vec![
            "logs:DescribeSubscriptionFilters",
            "logs:DeleteSubscriptionFilter",
        ];
        if t.route.uses_logs() {
            actions.push("logs:PutSubscriptionFilter");
        }
        vec![Grant::new(
            "TheTrailsLogGroup",
            actions,
            [t.arns.log_group("*")],
        )]
    }

    async fn read(&self, ctx: &Ctx, facts: &Facts) -> Result<Groups> {
        let mut groups = vec![facts.delivery.log_group_name.clone()];
        let own = ctx.target.names.log_group();
        if !groups.contains(&own) {
            groups.push(own);
        }
        Ok(Groups(
            try_join_all(groups.iter().map(|group| read(ctx, group))).await?,
        ))
    }

    fn plan_apply(&self, current: &Groups, t: &Target, facts: &Facts, plan: &mut Plan<Op>) {
        let desired = desired(t, &facts.delivery);
        for group in &current.0 {
            if t.route.uses_logs() && group.log_group == desired.log_group {
                plan_apply(group, &desired, plan);
            } else {
                plan_destroy(group, &desired.name, plan);
            }
        }
    }

    fn plan_destroy(&self, current: &Groups, t: &Target, _: &Facts, plan: &mut Plan<Op>) {
        for group in &current.0 {
            plan_destroy(group, &t.names.subscription_filter(), plan);
        }
    }

    async fn checks(&self, ctx: &Ctx, current: &Groups, facts: &Facts) -> Result<Vec<Check>> {
        if !ctx.target.route.uses_logs() {
            return Ok(Vec::new());
        }
        let desired = desired(&ctx.target, &facts.delivery);
        let on_group = current.0.iter().find(|g| g.log_group == desired.log_group);
        Ok(vec![check(on_group, &desired)])
    }
}

/// What `status` says: login-alert's filter is on the group the trail delivers to, sending to the function.
pub fn check(current: Option<&Current>, desired: &Desired) -> Check {
    const NAME: &str = "subscription filter";
    let (name, group) = (&desired.name, &desired.log_group);
    let ours = current.and_then(|c| c.filters.iter().find(|f| &f.name == name));
    // What is wrong: the check's status, detail and fix.
    let problem = match ours {
        None => (
            Status::Failing,
            format!(
                "{name} is missing from log group {group}: no event reaches the function, so no alert can arrive"
            ),
            "run `login-alert apply` to put it back",
        ),
        Some(ours) if ours.destination_arn != desired.destination_arn => (
            Status::Failing,
            format!(
                "{name} on {group} sends to {}, not to {}",
                ours.destination_arn, desired.destination_arn
            ),
            "run `login-alert apply` to point it at the function again",
        ),
        Some(ours) if ours.pattern != desired.pattern => (
            Status::Warning,
            format!(
                "{name} on {group} has another pattern than this login-alert's: some events may not reach the function"
            ),
            "run `login-alert apply` to put the pattern back",
        ),
        Some(_) => {
            let detail = format!("{name} on {group} sends matching events to the function");
            return Check::ok(Link::Route, NAME, detail);
        }
    };
    let (status, detail, fix) = problem;
    Check::problem(status, Link::Route, NAME, detail, fix)
}

/// Every filter on `log_group`; a group that does not exist yet has none.
pub async fn read(ctx: &Ctx, log_group: &str) -> Result<Current> {
    let describe = ctx.clients.logs.describe_subscription_filters();
    let pages = found_pages(
        describe.log_group_name(log_group).into_paginator().send(),
        &["ResourceNotFoundException"],
        || format!("reading the subscription filters of log group {log_group}"),
    )
    .await?;
    let filters = pages
        .into_iter()
        .flatten()
        .flat_map(|page| page.subscription_filters.unwrap_or_default())
        .map(|f| Filter {
            name: f.filter_name.unwrap_or_default(),
            pattern: f.filter_pattern.unwrap_or_default(),
            destination_arn: f.destination_arn.unwrap_or_default(),
            role_arn: f.role_arn.filter(|r| !r.is_empty()),
        })
        .collect();
    Ok(Current {
        log_group: log_group.to_owned(),
        filters,
    })
}

pub fn desired(t: &Target, delivery: &Delivery) -> Desired {
    Desired {
        log_group: delivery.log_group_name.clone(),
        name: t.names.subscription_filter(),
        pattern: pattern(t),
        destination_arn: t.function_arn(),
    }
}

/// `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME` (unqualified): moto accepts anything that
/// names an existing function, AWS only a function ARN.
pub fn is_function_arn(arn: &str) -> bool {
    regional_resource(arn, "lambda", "function").is_some_and(|name| !name.contains(':'))
}

pub fn plan_apply(current: &Current, desired: &Desired, plan: &mut Plan<impl From<Op>>) {
    if !is_function_arn(&desired.destination_arn) || desired.pattern.len() > MAX_PATTERN_LEN {
        plan.block(format!(
            "subscription filter {}: destination {} is not a Lambda function ARN or the pattern is longer than \
             {MAX_PATTERN_LEN} characters: check name_prefix and assets/filter-pattern.txt",
            desired.name, desired.destination_arn
        ));
        return;
    }
    let put = || Op::Put {
        log_group: desired.log_group.clone(),
        name: desired.name.clone(),
        pattern: desired.pattern.clone(),
        destination_arn: desired.destination_arn.clone(),
    };
    let label = format!("{} on {}", desired.name, desired.log_group);
    match current.filters.iter().find(|f| f.name == desired.name) {
        None => {
            let theirs: Vec<&str> = current.filters.iter().map(|f| f.name.as_str()).collect();
            if theirs.len() >= MAX_FILTERS {
                plan.block(format!(
                    "log group {} already has {} subscription filters ({}), the CloudWatch Logs maximum: remove one of them \
                     (aws logs delete-subscription-filter --log-group-name {} --filter-name NAME) or point the trail at another \
                     log group, then run apply again; login-alert never replaces filters it did not create",
                    desired.log_group,
                    theirs.len(),
                    theirs.join(", "),
                    desired.log_group,
                ));
                return;
            }
            plan.push(Some(
                Change::create(KIND, label, put())
                    .attr(Attr::set("filter_pattern", desired.pattern.clone()))
                    .attr(Attr::set(
                        "destination_arn",
                        desired.destination_arn.clone(),
                    )),
            ));
        }
        Some(ours) => {
            let (pattern, destination) = (&desired.pattern, &desired.destination_arn);
            let mut attrs: Vec<Attr> = [
                Attr::differs("filter_pattern", &ours.pattern, pattern),
                Attr::differs("destination_arn", &ours.destination_arn, destination),
            ]
            .into_iter()
            .flatten()
            .collect();
            if let Some(role) = &ours.role_arn {
                // A Lambda destination takes no role; one set by hand is dropped by the put.
                attrs.push(Attr::unset("role_arn", role.clone()));
            }
            if !attrs.is_empty() {
                plan.push(Some(Change::update(KIND, label, put()).attrs(attrs)));
            }
        }
    }
}

/// Deletes our filter (found by its fixed name); the user's filters are never touched.
pub fn plan_destroy(current: &Current, name: &str, plan: &mut Plan<impl From<Op>>) {
    if current.filters.iter().any(|f| f.name == name) {
        plan.push(Some(Change::delete(
            KIND,
            format!("{name} on {}", current.log_group),
            Op::Delete {
                log_group: current.log_group.clone(),
                name: name.to_owned(),
            },
        )));
    }
}

/// CloudWatch Logs allows at most this many regular-expression patterns (`%…%` terms) per log group,
/// counted across its metric and subscription filters.
pub const MAX_REGEX_PER_GROUP: usize = 5;

/// The `%…%` regular-expression terms of a filter pattern.
pub fn regex_terms(pattern: &str) -> usize {
    pattern.matches('%').count() / 2
}

/// Which of CloudWatch Logs' two limits a LimitExceededException on PutSubscriptionFilter hit, and
/// what to do: [`MAX_FILTERS`] subscription filters per log group, or [`MAX_REGEX_PER_GROUP`]
/// regular-expression patterns per log group. AWS documents neither message (it is reported to
/// answer "Resource limit exceeded." for the filter count), so the group's other filters, as read
/// after the failure (`others`), decide: at the maximum, it was the count; below it, the regular
/// expressions, the only other limit of the call. A message that speaks of regular expressions
/// decides alone; with neither, both limits are named.
pub fn limit_hint(
    message: &str,
    others: Option<&[String]>,
    log_group: &str,
    pattern: &str,
) -> String {
    let lower = message.to_ascii_lowercase();
    let regex_said = lower.contains("regex") || lower.contains("regular expression");
    let count = |others: &[String]| {
        format!(
            " — log group {log_group} already has {} subscription filters ({}), the CloudWatch Logs maximum of {MAX_FILTERS}: \
             remove one of them (aws logs delete-subscription-filter --log-group-name {log_group} --filter-name NAME), then run \
             apply again; login-alert never replaces filters it did not create",
            others.len(),
            others.join(", ")
        )
    };
    let regex = format!(
        " — the filters of log group {log_group} would hold more than {MAX_REGEX_PER_GROUP} regular-expression patterns, the \
         most CloudWatch Logs allows per log group across its metric and subscription filters (login-alert's pattern has {}): \
         find the others with `aws logs describe-metric-filters --log-group-name {log_group}` and `aws logs \
         describe-subscription-filters --log-group-name {log_group}` (terms between `%` signs), rewrite or remove one, then \
         run apply again",
        regex_terms(pattern)
    );
    match others {
        _ if regex_said => regex,
        Some(others) if others.len() >= MAX_FILTERS => count(others),
        Some(_) => regex,
        None => format!(
            " — either log group {log_group} already has {MAX_FILTERS} subscription filters (the maximum: remove one login-alert \
             did not create), or its filters would hold more than {MAX_REGEX_PER_GROUP} regular-expression patterns (the most per \
             log group across metric and subscription filters; login-alert's pattern has {}): see `aws logs \
             describe-subscription-filters --log-group-name {log_group}` and `aws logs describe-metric-filters --log-group-name \
             {log_group}`, then run apply again",
            regex_terms(pattern)
        ),
    }
}

/// CloudWatch Logs test-invokes the function on put; right after AddPermission the new statement may
/// not be visible yet, which fails the same way as a missing permission.
fn is_permission_not_visible_yet(code: Option<&str>, message: Option<&str>) -> bool {
    let message = message.unwrap_or("");
    (code == Some("InvalidParameterException")
        && (message.contains("Could not execute the lambda function")
            || message.contains("Could not deliver test message")))
        || code == Some("OperationAbortedException")
}

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    let logs = &ctx.clients.logs;
    match op {
        Op::Put {
            log_group,
            name,
            pattern,
            destination_arn,
        } => {
            let result = patiently(
                &ctx.printer,
                ctx.iam_bound,
                format!("waiting for CloudWatch Logs to be allowed to invoke {destination_arn}"),
                "waiting for the function's invoke permission to take effect",
                |err: &aws_sdk_cloudwatchlogs::error::SdkError<_, _>| {
                    is_permission_not_visible_yet(error_code(err), error_message(err))
                },
                || {
                    logs.put_subscription_filter()
                        .log_group_name(log_group)
                        .filter_name(name)
                        .filter_pattern(pattern)
                        .destination_arn(destination_arn)
                        .send()
                },
            )
            .await;
            match result {
                Ok(_) => Ok(()),
                Err(Stopped::TimedOut {
                    last,
                    attempts,
                    waited,
                }) => {
                    Err(explain(last)).with_context(|| {
                        format!(
                            "CloudWatch Logs still could not invoke {destination_arn} after {attempts} attempts over {}s: \
                             the function's resource policy may lack the statement for logs.amazonaws.com, or its SourceArn \
                             may not be the log group ARN ending in `:*`; run `login-alert plan` to see what is missing",
                            waited.as_secs()
                        )
                    })
                }
                Err(Stopped::Failed(err)) => {
                    let hint = match error_code(&err) {
                        Some("LimitExceededException") => {
                            let message = error_message(&err).unwrap_or("").to_owned();
                            // Which limit it was: the group's filters as they are now (read with the
                            // DescribeSubscriptionFilters the part already needs); unreadable, the message alone.
                            let others = read(ctx, log_group).await.ok().map(|current| {
                                current
                                    .filters
                                    .into_iter()
                                    .map(|f| f.name)
                                    .filter(|n| n != name)
                                    .collect::<Vec<_>>()
                            });
                            limit_hint(&message, others.as_deref(), log_group, pattern)
                        }
                        Some("ResourceNotFoundException") => {
                            " — the log group does not exist: check the trail's CloudWatch Logs delivery, then run apply again".to_owned()
                        }
                        _ => String::new(),
                    };
                    Err(explain(err)).with_context(|| {
                        format!("putting subscription filter {name} on log group {log_group}{hint}")
                    })
                }
            }
        }
        Op::Delete { log_group, name } => logs
            .delete_subscription_filter()
            .log_group_name(log_group)
            .filter_name(name)
            .send()
            .await
            .gone_doing(&["ResourceNotFoundException"], || {
                format!("deleting subscription filter {name} from log group {log_group}")
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Mode};
    use crate::testing::{assert_refused, attr_names, planned, test_plan};

    const GROUP: &str = "/login-alert/cloudtrail";
    const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:login-alert-handler";

    fn desired() -> Desired {
        Desired {
            log_group: GROUP.into(),
            name: "login-alert-signin-events".into(),
            pattern: "{ $.eventSource = \"signin.amazonaws.com\" }".into(),
            destination_arn: FUNCTION.into(),
        }
    }

    fn filter(name: &str) -> Filter {
        Filter {
            name: name.into(),
            pattern: "".into(),
            destination_arn: "arn:aws:firehose:x".into(),
            role_arn: None,
        }
    }

    #[test]
    fn the_limit_hint_tells_the_filter_count_from_the_regular_expressions() {
        let pattern = "{ $.a = %x% || $.b = %y% }";
        assert_eq!(regex_terms(pattern), 2);
        let two = ["theirs-1".to_owned(), "theirs-2".to_owned()];
        let count = limit_hint("Resource limit exceeded.", Some(&two), GROUP, pattern);
        assert!(
            count.contains("2 subscription filters (theirs-1, theirs-2)")
                && !count.contains("regular"),
            "{count}"
        );
        let regex = limit_hint("Resource limit exceeded.", Some(&two[..1]), GROUP, pattern);
        assert!(
            regex.contains("more than 5 regular-expression patterns")
                && regex.contains("describe-metric-filters")
                && regex.contains("pattern has 2")
                && !regex.contains("already has"),
            "{regex}"
        );
        let said = limit_hint("Too many regex filters", Some(&two), GROUP, pattern);
        assert!(said.contains("regular-expression"), "{said}");
        let unknown = limit_hint("Resource limit exceeded.", None, GROUP, pattern);
        assert!(
            unknown.contains("either")
                && unknown.contains("2 subscription filters")
                && unknown.contains("5 regular"),
            "{unknown}"
        );
    }

    fn ours() -> Filter {
        let d = desired();
        Filter {
            name: d.name,
            pattern: d.pattern,
            destination_arn: d.destination_arn,
            role_arn: None,
        }
    }

    fn current(filters: Vec<Filter>) -> Current {
        Current {
            log_group: GROUP.into(),
            filters,
        }
    }

    fn apply_plan(current: &Current) -> Plan<Op> {
        planned(Mode::Apply, |plan| plan_apply(current, &desired(), plan))
    }

    #[test]
    fn missing_filter_is_created_next_to_one_of_theirs() {
        let plan = apply_plan(&current(vec![filter("theirs")]));
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].action, Action::Create);
        assert!(
            matches!(&plan.changes[0].op, Op::Put { name, .. } if name == "login-alert-signin-events")
        );
        assert!(plan.blockers.is_empty());
    }

    #[test]
    fn matching_filter_needs_nothing() {
        let plan = apply_plan(&current(vec![filter("theirs"), ours()]));
        assert!(!plan.has_changes());
        assert!(plan.blockers.is_empty());
    }

    #[test]
    fn a_changed_pattern_or_destination_is_put_back() {
        let mut drifted = ours();
        drifted.pattern = "{ $.eventName = \"ConsoleLogin\" }".into();
        drifted.destination_arn = "arn:aws:lambda:us-east-1:123456789012:function:other".into();
        drifted.role_arn = Some("arn:aws:iam::123456789012:role/x".into());
        let plan = apply_plan(&current(vec![drifted]));
        assert_eq!(plan.changes[0].action, Action::Update);
        let names = attr_names(&plan);
        assert_eq!(names, ["filter_pattern", "destination_arn", "role_arn"]);
    }

    #[test]
    fn status_fails_without_our_filter_or_its_destination_and_warns_on_its_pattern() {
        use crate::check::Status;
        assert_eq!(
            check(Some(&current(vec![filter("theirs"), ours()])), &desired()).status,
            Status::Ok
        );
        let gone = check(Some(&current(vec![filter("theirs")])), &desired());
        assert_eq!(gone.status, Status::Failing);
        assert!(gone.detail.starts_with(
            "login-alert-signin-events is missing from log group /login-alert/cloudtrail"
        ));
        assert_eq!(check(None, &desired()).status, Status::Failing);
        let mut elsewhere = ours();
        elsewhere.destination_arn = "arn:aws:lambda:us-east-1:123456789012:function:other".into();
        assert_eq!(
            check(Some(&current(vec![elsewhere])), &desired()).status,
            Status::Failing
        );
        let mut narrowed = ours();
        narrowed.pattern = "{ $.eventName = \"ConsoleLogin\" }".into();
        assert_eq!(
            check(Some(&current(vec![narrowed])), &desired()).status,
            Status::Warning
        );
    }

    #[test]
    fn two_filters_of_theirs_block_apply_and_are_named() {
        let plan = apply_plan(&current(vec![filter("splunk"), filter("datadog")]));
        assert_refused(&plan);
        assert!(
            plan.blockers[0].contains("(splunk, datadog)"),
            "{}",
            plan.blockers[0]
        );
        assert!(plan.blockers[0].contains("maximum"));
    }

    #[test]
    fn ours_beside_one_of_theirs_is_updated_not_blocked() {
        let mut drifted = ours();
        drifted.pattern = "x".into();
        let plan = apply_plan(&current(vec![filter("splunk"), drifted]));
        assert_eq!(plan.changes.len(), 1);
        assert!(plan.blockers.is_empty());
    }

    #[test]
    fn a_destination_that_is_not_a_function_arn_blocks_apply() {
        assert!(is_function_arn(FUNCTION));
        assert!(!is_function_arn("login-alert-handler"));
        assert!(!is_function_arn(&format!("{FUNCTION}:$LATEST")));
        let mut bad = desired();
        bad.destination_arn = "arn:aws:lambda:us-east-1:123:function:x".into();
        let plan: Plan<Op> = planned(Mode::Apply, |plan| plan_apply(&current(vec![]), &bad, plan));
        assert_refused(&plan);
    }

    #[test]
    fn destroy_deletes_only_ours_by_name() {
        let mut plan: Plan<Op> = test_plan(Mode::Destroy);
        plan_destroy(
            &current(vec![filter("splunk"), ours()]),
            "login-alert-signin-events",
            &mut plan,
        );
        assert_eq!(plan.changes.len(), 1);
        assert!(
            matches!(&plan.changes[0].op, Op::Delete { name, .. } if name == "login-alert-signin-events")
        );
        let mut plan: Plan<Op> = test_plan(Mode::Destroy);
        plan_destroy(
            &current(vec![filter("splunk")]),
            "login-alert-signin-events",
            &mut plan,
        );
        plan_destroy(&Current::default(), "login-alert-signin-events", &mut plan);
        assert!(!plan.has_changes());
    }

    #[test]
    fn only_permission_propagation_errors_are_retried() {
        assert!(is_permission_not_visible_yet(
            Some("InvalidParameterException"),
            Some(
                "Could not execute the lambda function. Make sure you have given CloudWatch Logs permission to execute your function."
            )
        ));
        assert!(!is_permission_not_visible_yet(
            Some("InvalidParameterException"),
            Some("Invalid filter pattern")
        ));
        assert!(!is_permission_not_visible_yet(
            Some("LimitExceededException"),
            None
        ));
    }

    /// The pattern as sent must be one line within CloudWatch Logs' limit, its braces, parentheses
    /// and quotes balanced (moto never checks a pattern; the handler crate's pattern tests check
    /// which records it selects).
    #[test]
    fn the_filled_pattern_fits_and_is_balanced() {
        let p = pattern(&target_in("eu-west-1"));
        assert!(p.len() <= MAX_PATTERN_LEN, "pattern is {} chars", p.len());
        assert!(!p.contains('\n') && !p.contains("${"), "{p}");
        let (mut braces, mut parens) = (0i32, 0i32);
        let mut in_quotes = false;
        for c in p.chars() {
            match c {
                '"' => in_quotes = !in_quotes,
                '{' if !in_quotes => braces += 1,
                '}' if !in_quotes => braces -= 1,
                '(' if !in_quotes => parens += 1,
                ')' if !in_quotes => parens -= 1,
                _ => {}
            }
            assert!(braces >= 0 && parens >= 0, "unbalanced at {c}");
        }
        assert!(
            !in_quotes && braces == 0 && parens == 0,
            "unbalanced pattern: {p}"
        );
        assert!(p.contains("login-alert-handler"), "names the function: {p}");
    }

    fn target_in(region: &str) -> Target {
        let config = crate::config::sample(region);
        Target::new(&config, "123456789012")
    }

    #[test]
    fn the_destination_is_our_function_and_the_filter_is_on_the_delivery_group() {
        let t = target_in("eu-west-1");
        let d = desired_for(&t);
        assert_eq!(
            d.destination_arn,
            "arn:aws:lambda:eu-west-1:123456789012:function:login-alert-handler"
        );
        assert_eq!(d.log_group, "/their/group");
    }

    fn desired_for(t: &Target) -> Desired {
        super::desired(
            t,
            &Delivery {
                log_group_name: "/their/group".into(),
                ours: false,
            },
        )
    }
}

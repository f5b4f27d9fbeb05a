//! The CloudWatch alarms that watch the pipeline itself and publish to the alert topic: the function
//! failing or throttled, failed invocations waiting in the queue or not even written to it, the
//! EventBridge rules failing to invoke the function, and the trail's log group gone silent (a
//! logging trail always records management events, so silence means it went dark).

use anyhow::Result;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic, Tag};
use futures::future::try_join_all;
use serde::{Deserialize, Serialize};

use crate::aws::SdkResultExt;
use crate::check::{Check, Link, Status};
use crate::model::{Ctx, Facts, Target};
use crate::names::MANAGED_BY;
use crate::part::Part;
use crate::plan::lifecycle::owned_when_managed;
use crate::plan::{Attr, Change, Plan};
use crate::policy::Grant;
use crate::tags;

const KIND: &str = "CloudWatch alarm";
const NOT_FOUND: &[&str] = &["ResourceNotFound", "ResourceNotFoundException"];

/// What each alarm watches; its name is the prefix and this (`login-alert-function-errors`).
pub const FUNCTION_ERRORS: &str = "function-errors";
pub const FUNCTION_THROTTLES: &str = "function-throttles";
pub const FAILED_EVENTS: &str = "failed-events";
pub const NO_TRAIL_EVENTS: &str = "no-trail-events";
/// Lambda could not write a failed invocation to the failed-event queue: that event is lost.
pub const DESTINATION_FAILURES: &str = "destination-failures";
/// The home EventBridge rule (EventBridge and both modes) could not invoke the function.
pub const EVENTS_RULE_FAILURES: &str = "events-rule-failures";
/// The digest schedule could not invoke the function: grouped alerts wait unsent.
pub const DIGEST_RULE_FAILURES: &str = "digest-rule-failures";
/// Every alarm login-alert may own, whichever the config wants now (the rest are removed).
pub const ALL: [&str; 7] = [
    FUNCTION_ERRORS,
    FUNCTION_THROTTLES,
    FAILED_EVENTS,
    DESTINATION_FAILURES,
    EVENTS_RULE_FAILURES,
    DIGEST_RULE_FAILURES,
    NO_TRAIL_EVENTS,
];

/// How long the trail's log group may receive nothing before the alarm fires: a quiet account
/// still records AWS services' own calls within hours.
pub const SILENT_HOURS: i32 = 6;

/// An alarm as login-alert defines it; compared field by field with the live one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    pub name: String,
    pub description: String,
    pub namespace: String,
    pub metric: String,
    /// (name, value), sorted.
    pub dimensions: Vec<(String, String)>,
    pub statistic: String,
    pub period: i32,
    pub evaluation_periods: i32,
    pub datapoints_to_alarm: i32,
    pub threshold: f64,
    pub comparison: String,
    pub treat_missing_data: String,
    /// Notified on ALARM and back to OK: the alert topic, when there is one.
    pub actions: Vec<String>,
}

/// One of login-alert's alarm names as found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Found {
    pub definition: Definition,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    pub reason: String,
    pub managed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// PutMetricAlarm: creates, or replaces the whole definition of, the alarm.
    Put {
        definition: Box<Definition>,
        create: bool,
    },
    Delete {
        name: String,
    },
}

/// login-alert's alarms, as a set: every name in [`ALL`] that exists.
pub struct Alarms;

impl Part for Alarms {
    const NAME: &'static str = "the CloudWatch alarms";
    type Current = Vec<Found>;
    type Op = Op;

    /// Every alarm by name in both modes: the one EventBridge mode does without is read and deleted.
    fn permissions(&self, t: &Target) -> Vec<Grant> {
        vec![Grant::new(
            "Alarms",
            [
                "cloudwatch:DescribeAlarms",
                "cloudwatch:ListTagsForResource",
                // PutMetricAlarm with tags needs cloudwatch:TagResource as well.
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:TagResource",
                "cloudwatch:DeleteAlarms",
            ],
            ALL.iter().map(|what| t.arns.alarm(&t.names.alarm(what))),
        )]
    }

    async fn read(&self, ctx: &Ctx, _: &Facts) -> Result<Vec<Found>> {
        let names: Vec<String> = ALL.iter().map(|w| ctx.target.names.alarm(w)).collect();
        read(ctx, &names).await
    }

    fn plan_apply(&self, current: &Vec<Found>, t: &Target, facts: &Facts, plan: &mut Plan<Op>) {
        plan_apply(current, &desired(t, facts), plan);
        if t.topic_arn().is_none() {
            plan.notice(
                "no email is configured, so the alarms have no topic to publish to: `login-alert status` shows their state \
                 (add an email address to be told when one fires)",
            );
        }
    }

    fn plan_destroy(&self, current: &Vec<Found>, _: &Target, _: &Facts, plan: &mut Plan<Op>) {
        for found in current {
            plan_destroy(found, plan);
        }
    }

    async fn checks(&self, ctx: &Ctx, current: &Vec<Found>, facts: &Facts) -> Result<Vec<Check>> {
        Ok(checks(current, &desired(&ctx.target, facts), &ctx.target))
    }
}

/// The alarms the config wants. The home rule's exists only in EventBridge and both modes (the
/// forwarding rules' failures are metrics of their own regions, which `status` reads); in EventBridge
/// mode no log group receives the trail's events, so there is no silence to watch for (`status`
/// checks the trail).
pub fn desired(t: &Target, facts: &Facts) -> Vec<Definition> {
    let actions: Vec<String> = t.topic_arn().into_iter().collect();
    let function = t.names.function();
    let define = |what: &str,
                  description: String,
                  namespace: &str,
                  metric: &str,
                  dimension: (&str, String)| {
        Definition {
            name: t.names.alarm(what),
            description,
            namespace: namespace.to_owned(),
            metric: metric.to_owned(),
            dimensions: vec![(dimension.0.to_owned(), dimension.1)],
            statistic: "Sum".to_owned(),
            period: 300,
            evaluation_periods: 1,
            datapoints_to_alarm: 1,
            threshold: 0.0,
            comparison: ComparisonOperator::GreaterThanThreshold.as_str().to_owned(),
            treat_missing_data: "notBreaching".to_owned(),
            actions: actions.clone(),
        }
    };
    let group = &facts.delivery.log_group_name;
    let mut alarms = vec![
        define(
            FUNCTION_ERRORS,
            format!(
                "login-alert: {function} failed; alerts may not have been delivered (run `login-alert status`)"
            ),
            "AWS/Lambda",
            "Errors",
            ("FunctionName", function.clone()),
        ),
        define(
            FUNCTION_THROTTLES,
            format!(
                "login-alert: {function} was throttled; alerts are delayed (run `login-alert status`)"
            ),
            "AWS/Lambda",
            "Throttles",
            ("FunctionName", function.clone()),
        ),
        Definition {
            statistic: "Maximum".to_owned(),
            ..define(
                FAILED_EVENTS,
                format!(
                    "login-alert: failed invocations wait in {}: alerts that could not be delivered (run `login-alert status`)",
                    t.names.failed_events_queue()
                ),
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                ("QueueName", t.names.failed_events_queue()),
            )
        },
        define(
            DESTINATION_FAILURES,
            format!(
                "login-alert: {function} could not write failed invocations to {}: those events are lost (run `login-alert status`)",
                t.names.failed_events_queue()
            ),
            "AWS/Lambda",
            "DestinationDeliveryFailures",
            ("FunctionName", function.clone()),
        ),
        define(
            EVENTS_RULE_FAILURES,
            format!(
                "login-alert: EventBridge rule {} could not invoke {function}: sign-ins went unalerted (run `login-alert status`)",
                t.names.events_rule()
            ),
            "AWS/Events",
            "FailedInvocations",
            ("RuleName", t.names.events_rule()),
        ),
        define(
            DIGEST_RULE_FAILURES,
            format!(
                "login-alert: the digest schedule {} could not invoke {function}: grouped alerts wait unsent (run `login-alert status`)",
                t.names.digest_rule()
            ),
            "AWS/Events",
            "FailedInvocations",
            ("RuleName", t.names.digest_rule()),
        ),
        Definition {
            period: 3600,
            evaluation_periods: SILENT_HOURS,
            datapoints_to_alarm: SILENT_HOURS,
            comparison: ComparisonOperator::LessThanOrEqualToThreshold
                .as_str()
                .to_owned(),
            // No datapoint at all is what a dark trail looks like.
            treat_missing_data: "breaching".to_owned(),
            ..define(
                NO_TRAIL_EVENTS,
                format!(
                    "login-alert: no CloudTrail events reached {group} for {SILENT_HOURS} hours: the trail stopped logging or \
                     delivering (run `login-alert status`)"
                ),
                "AWS/Logs",
                "IncomingLogEvents",
                ("LogGroupName", group.clone()),
            )
        },
    ];
    if !t.route.uses_logs() {
        alarms.retain(|a| a.name != t.names.alarm(NO_TRAIL_EVENTS));
    }
    if !t.route.uses_eventbridge() {
        alarms.retain(|a| a.name != t.names.alarm(EVENTS_RULE_FAILURES));
    }
    alarms
}

/// The alarms among `names` that exist, each with its tags.
pub async fn read(ctx: &Ctx, names: &[String]) -> Result<Vec<Found>> {
    let cw = &ctx.clients.cloudwatch;
    let out = cw
        .describe_alarms()
        .set_alarm_names(Some(names.to_vec()))
        .send()
        .await
        .doing(|| "reading login-alert's CloudWatch alarms")?;
    let alarms: Vec<_> = out
        .metric_alarms
        .unwrap_or_default()
        .into_iter()
        // AWS returns only the named alarms; keep to them whatever an implementation returns.
        .filter(|a| a.alarm_name().is_some_and(|n| names.iter().any(|m| m == n)))
        .collect();
    try_join_all(alarms.into_iter().map(|alarm| async move {
        let name = alarm.alarm_name().unwrap_or_default().to_owned();
        let arn = alarm
            .alarm_arn()
            .map(str::to_owned)
            .unwrap_or_else(|| ctx.target.arns.alarm(&name));
        let tags = cw
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .found_doing(NOT_FOUND, || {
                format!("reading the tags of CloudWatch alarm {name}")
            })?
            .and_then(|out| out.tags)
            .unwrap_or_default();
        let mut dimensions: Vec<(String, String)> = alarm
            .dimensions()
            .iter()
            .map(|d| {
                (
                    d.name().unwrap_or_default().to_owned(),
                    d.value().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        dimensions.sort();
        let mut actions: Vec<String> = alarm.alarm_actions().to_vec();
        // login-alert sets both to the same topic: OK actions set apart show up as a difference.
        if alarm.ok_actions() != alarm.alarm_actions() {
            actions.push(format!("(OK actions: {})", alarm.ok_actions().join(", ")));
        }
        Ok::<_, anyhow::Error>(Found {
            definition: Definition {
                name: name.clone(),
                description: alarm.alarm_description().unwrap_or_default().to_owned(),
                namespace: alarm.namespace().unwrap_or_default().to_owned(),
                metric: alarm.metric_name().unwrap_or_default().to_owned(),
                dimensions,
                statistic: alarm
                    .statistic()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                period: alarm.period().unwrap_or_default(),
                evaluation_periods: alarm.evaluation_periods().unwrap_or_default(),
                datapoints_to_alarm: alarm
                    .datapoints_to_alarm()
                    .or(alarm.evaluation_periods())
                    .unwrap_or_default(),
                threshold: alarm.threshold().unwrap_or_default(),
                comparison: alarm
                    .comparison_operator()
                    .map(|c| c.as_str().to_owned())
                    .unwrap_or_default(),
                treat_missing_data: alarm.treat_missing_data().unwrap_or("missing").to_owned(),
                actions,
            },
            state: alarm
                .state_value()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: alarm.state_reason().unwrap_or_default().to_owned(),
            managed: tags::ours_among(tags, |t| {
                (t.key.unwrap_or_default(), t.value.unwrap_or_default())
            }),
        })
    }))
    .await
}

/// One-line summaries of a definition, for the plan; equal summaries mean equal definitions.
fn summary(d: &Definition) -> [(&'static str, String); 5] {
    let dimensions: Vec<String> = d
        .dimensions
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    [
        (
            "metric",
            format!("{} {} ({})", d.namespace, d.metric, dimensions.join(", ")),
        ),
        (
            "condition",
            format!(
                "{} {} {} for {} of {} periods of {}s",
                d.statistic,
                d.comparison,
                d.threshold,
                d.datapoints_to_alarm,
                d.evaluation_periods,
                d.period
            ),
        ),
        ("treat_missing_data", d.treat_missing_data.clone()),
        (
            "actions",
            if d.actions.is_empty() {
                "(none)".to_owned()
            } else {
                d.actions.join(", ")
            },
        ),
        ("description", d.description.clone()),
    ]
}

pub fn plan_apply(current: &[Found], desired: &[Definition], plan: &mut Plan<impl From<Op>>) {
    for want in desired {
        let found = current.iter().find(|f| f.definition.name == want.name);
        let put = |create| Op::Put {
            definition: Box::new(want.clone()),
            create,
        };
        plan.converge(
            KIND,
            &want.name,
            found,
            || {
                let attrs = summary(want)
                    .into_iter()
                    .filter(|(name, _)| *name != "description")
                    .map(|(name, value)| Attr::set(name, value));
                Change::create(KIND, &want.name, put(true)).attrs(attrs)
            },
            |found| {
                let attrs: Vec<Attr> = summary(&found.definition)
                    .into_iter()
                    .zip(summary(want))
                    .filter(|(before, after)| before.1 != after.1)
                    .map(|(before, after)| Attr::change(before.0, before.1, after.1))
                    .collect();
                (!attrs.is_empty())
                    .then(|| Change::update(KIND, &want.name, put(false)).attrs(attrs))
            },
        );
    }
    for found in current {
        if !desired.iter().any(|d| d.name == found.definition.name) {
            plan_destroy(found, plan);
        }
    }
}

/// Deletes the alarm if it is login-alert's.
fn plan_destroy(found: &Found, plan: &mut Plan<impl From<Op>>) {
    plan.remove_ours(Some(found), |found| {
        let name = &found.definition.name;
        Change::delete(KIND, name, Op::Delete { name: name.clone() })
    });
}

owned_when_managed!(Found);

/// What `status` says of each alarm the config wants.
pub fn checks(current: &[Found], desired: &[Definition], t: &Target) -> Vec<Check> {
    desired
        .iter()
        .map(|want| {
            let name = format!("alarm {}", want.name);
            let Some(found) = current.iter().find(|f| f.definition.name == want.name) else {
                return Check::warning(
                    Link::Alarms,
                    name,
                    "does not exist: nobody is told when this part of the pipeline fails",
                    "run `login-alert apply`",
                );
            };
            let quiet = if found.definition.actions.is_empty() {
                " (no email configured: it notifies nobody)"
            } else {
                ""
            };
            match found.state.as_str() {
                "ALARM" => {
                    let status = if want.name == t.names.alarm(NO_TRAIL_EVENTS) {
                        // The trail gone dark: no alert can arrive.
                        Status::Failing
                    } else {
                        Status::Warning
                    };
                    Check {
                        status,
                        fix: Some(format!(
                            "look at the checks above for the cause; `aws cloudwatch describe-alarm-history --alarm-name {} --region {}` shows when it fired",
                            want.name,
                            t.region()
                        )),
                        ..Check::ok(
                            Link::Alarms,
                            name,
                            format!("in ALARM: {}{quiet}", found.reason),
                        )
                    }
                }
                "INSUFFICIENT_DATA" => Check::ok(
                    Link::Alarms,
                    name,
                    format!("not evaluated yet (no data){quiet}"),
                ),
                state => Check::ok(Link::Alarms, name, format!("{state}{quiet}")),
            }
        })
        .collect()
}

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    let cw = &ctx.clients.cloudwatch;
    match op {
        Op::Put {
            definition: d,
            create,
        } => {
            let mut put = cw
                .put_metric_alarm()
                .alarm_name(&d.name)
                .alarm_description(&d.description)
                .namespace(&d.namespace)
                .metric_name(&d.metric)
                .statistic(Statistic::from(d.statistic.as_str()))
                .period(d.period)
                .evaluation_periods(d.evaluation_periods)
                .datapoints_to_alarm(d.datapoints_to_alarm)
                .threshold(d.threshold)
                .comparison_operator(ComparisonOperator::from(d.comparison.as_str()))
                .treat_missing_data(&d.treat_missing_data)
                .actions_enabled(true)
                .set_alarm_actions(Some(d.actions.clone()))
                .set_ok_actions(Some(d.actions.clone()));
            for (name, value) in &d.dimensions {
                put = put.dimensions(Dimension::builder().name(name).value(value).build());
            }
            // CloudWatch takes tags only when it creates the alarm (and ignores them on an update).
            if *create {
                put = put.tags(Tag::builder().key(MANAGED_BY.0).value(MANAGED_BY.1).build());
            }
            put.send()
                .await
                .doing(|| format!("putting CloudWatch alarm {}", d.name))?;
            Ok(())
        }
        Op::Delete { name } => cw
            .delete_alarms()
            .alarm_names(name)
            .send()
            .await
            .gone_doing(NOT_FOUND, || format!("deleting CloudWatch alarm {name}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Delivery;
    use crate::plan::{Action, Mode};
    use crate::testing::{self, REGION, notifying, planned};

    /// Notifying an email address, or else Slack.
    fn target(email: bool) -> Target {
        let emails: &[&str] = if email { &["a@example.com"] } else { &[] };
        testing::target(&notifying(REGION, emails, !email))
    }

    fn facts(t: &Target, group: &str) -> Facts {
        let mut facts = Facts::new(t);
        facts.delivery = Delivery {
            log_group_name: group.into(),
            ours: false,
        };
        facts
    }

    fn found(d: &Definition, state: &str) -> Found {
        Found {
            definition: d.clone(),
            state: state.into(),
            reason: "Threshold Crossed: 1 datapoint [2.0] was greater than the threshold (0.0)."
                .into(),
            managed: true,
        }
    }

    #[test]
    fn six_alarms_publish_to_the_topic_and_the_silence_alarm_watches_the_delivery_group() {
        let t = target(true);
        let wanted = desired(&t, &facts(&t, "audit-events"));
        let names: Vec<&str> = wanted.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "login-alert-function-errors",
                "login-alert-function-throttles",
                "login-alert-failed-events",
                "login-alert-destination-failures",
                "login-alert-digest-rule-failures",
                "login-alert-no-trail-events"
            ]
        );
        for d in &wanted {
            assert_eq!(
                d.actions,
                ["arn:aws:sns:eu-west-1:123456789012:login-alert-alerts"]
            );
        }
        let silent = wanted.last().unwrap();
        assert_eq!(
            silent.dimensions,
            [("LogGroupName".to_owned(), "audit-events".to_owned())]
        );
        assert_eq!(silent.treat_missing_data, "breaching");
        assert_eq!(silent.comparison, "LessThanOrEqualToThreshold");
        assert_eq!(
            (silent.period * silent.evaluation_periods) / 3600,
            SILENT_HOURS
        );
        assert!(
            desired(&target(false), &facts(&t, "g"))
                .iter()
                .all(|d| d.actions.is_empty())
        );
    }

    /// The blind spots: the failed-event queue not written, and the rules that invoke the function
    /// failing to (the home rule only where it exists).
    #[test]
    fn lost_failed_events_and_rules_failing_to_invoke_the_function_are_watched() {
        let metric = |d: &Definition| (d.namespace.clone(), d.metric.clone(), d.dimensions.clone());
        let dim = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        for (route, home_rule) in [
            (crate::config::Route::CloudwatchLogs, false),
            (crate::config::Route::Eventbridge, true),
            (crate::config::Route::Both, true),
        ] {
            let mut t = target(true);
            t.route = route;
            let wanted: Vec<_> = desired(&t, &facts(&t, "g")).iter().map(metric).collect();
            let expect = |namespace: &str, name: &str, dimension| {
                (namespace.to_owned(), name.to_owned(), dimension)
            };
            assert!(wanted.contains(&expect(
                "AWS/Lambda",
                "DestinationDeliveryFailures",
                dim("FunctionName", "login-alert-handler")
            )));
            assert!(wanted.contains(&expect(
                "AWS/Events",
                "FailedInvocations",
                dim("RuleName", "login-alert-digest")
            )));
            assert_eq!(
                wanted.contains(&expect(
                    "AWS/Events",
                    "FailedInvocations",
                    dim("RuleName", "login-alert-events")
                )),
                home_rule,
                "{route:?}"
            );
        }
    }

    #[test]
    fn missing_alarms_are_created_drifted_ones_put_back_and_foreign_ones_block() {
        let t = target(true);
        let wanted = desired(&t, &facts(&t, "/login-alert/cloudtrail"));
        let plan: Plan<Op> = planned(Mode::Apply, |plan| plan_apply(&[], &wanted, plan));
        assert_eq!(plan.changes.len(), 6);
        assert!(plan.changes.iter().all(|c| c.action == Action::Create));
        assert!(matches!(&plan.changes[0].op, Op::Put { create: true, .. }));

        let mut current: Vec<Found> = wanted.iter().map(|d| found(d, "OK")).collect();
        let plan: Plan<Op> = planned(Mode::Apply, |plan| plan_apply(&current, &wanted, plan));
        assert!(!plan.has_changes());

        current[0].definition.actions.clear();
        current[1].managed = false;
        let plan: Plan<Op> = planned(Mode::Apply, |plan| plan_apply(&current, &wanted, plan));
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].action, Action::Update);
        assert_eq!(plan.changes[0].attrs[0].name, "actions");
        assert!(matches!(&plan.changes[0].op, Op::Put { create: false, .. }));
        assert_eq!(plan.blockers.len(), 1);
    }

    #[test]
    fn an_alarm_the_config_no_longer_wants_is_deleted_if_ours() {
        let t = target(true);
        let all = desired(&t, &facts(&t, "g"));
        let current = vec![found(all.last().unwrap(), "OK")];
        let plan: Plan<Op> = planned(Mode::Apply, |plan| {
            plan_apply(&current, &all[..all.len() - 1], plan)
        });
        assert_eq!(plan.changes.last().unwrap().action, Action::Delete);
        assert_eq!(
            plan.changes.last().unwrap().name,
            "login-alert-no-trail-events"
        );
    }

    #[test]
    fn a_firing_alarm_needs_attention_and_a_silent_trail_is_broken() {
        let t = target(true);
        let wanted = desired(&t, &facts(&t, "g"));
        let mut current: Vec<Found> = wanted.iter().map(|d| found(d, "OK")).collect();
        let last = current.len() - 1;
        current[0].state = "ALARM".into();
        current[last].state = "ALARM".into();
        current.remove(1);
        let checks = checks(&current, &wanted, &t);
        let statuses: Vec<Status> = checks.iter().map(|c| c.status).collect();
        assert_eq!(
            statuses,
            [
                Status::Warning,
                Status::Warning,
                Status::Ok,
                Status::Ok,
                Status::Ok,
                Status::Failing
            ]
        );
        assert!(checks[0].detail.starts_with("in ALARM: Threshold Crossed"));
        assert!(checks[1].detail.starts_with("does not exist"));
        assert!(
            checks[last]
                .fix
                .as_deref()
                .unwrap()
                .contains("describe-alarm-history --alarm-name login-alert-no-trail-events")
        );
    }
}

//! The CIS monitoring controls Security Hub checks (CloudWatch.1 to CloudWatch.14): on the trail's log group, a metric filter with each control's published pattern, and an alarm on its metric that notifies the alert topic.

use anyhow::{Context, Result};
use aws_sdk_cloudwatchlogs::types::MetricTransformation;
use futures::future::try_join_all;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::aws::{SdkResultExt, found_pages};
use crate::check::{Check, Link};
use crate::model::{Ctx, Facts, Target};
use crate::part::Part;
use crate::plan::{Attr, Change, Plan};
use crate::policy::Grant;
use crate::resources::{alarm, topic};

const KIND: &str = "metric filter";
const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];

/// Where every pattern below is published: Security Hub's page of CloudWatch controls, one section
/// per control (`#cloudwatch-N`), "Copy the following pattern" in its remediation. Security Hub's
/// checker passes a control only on the exact pattern ("Additional fields or terms cannot be added"),
/// so where CIS 1.4.0 words a pattern otherwise (CloudWatch.3), Security Hub's text is the one used.
/// Also kept in awsdocs/aws-security-hub-user-guide, doc_source/cloudwatch-controls.md (commit bda5bf7).
pub const SOURCE: &str =
    "https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html";

/// CloudWatch Logs allows this many metric filters on one log group (a hard quota).
pub const MAX_METRIC_FILTERS: usize = 100;
/// CloudWatch Logs allows this many filter patterns that contain a regular expression (`%…%`) on one
/// log group, metric and subscription filters together. The published patterns contain none, so
/// adding them never reaches it (the table test holds that).
pub const MAX_REGEX_PATTERNS: usize = 5;
/// The namespace Security Hub's remediation steps put every CIS metric in.
pub const NAMESPACE: &str = "LogMetrics";

/// One Security Hub control: what it watches and the pattern it requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control {
    /// `CloudWatch.1` … `CloudWatch.14`.
    pub id: &'static str,
    /// What login-alert's filter and alarm for it are called after the prefix (`cis-root-usage`).
    pub slug: &'static str,
    pub title: &'static str,
    /// The Security Hub standards' requirements it answers to (its page's "Related requirements").
    pub requirements: &'static str,
    pub pattern: &'static str,
}

/// The fourteen controls, in Security Hub's order, with the pattern each page gives.
pub const CONTROLS: [Control; 14] = [
    Control {
        id: "CloudWatch.1",
        slug: "cis-root-usage",
        title: "usage of the root user",
        requirements: "CIS v1.2.0 1.1 and 3.3, CIS v1.4.0 1.7 and 4.3",
        pattern: r#"{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}"#,
    },
    Control {
        id: "CloudWatch.2",
        slug: "cis-unauthorized-api-calls",
        title: "unauthorized API calls",
        requirements: "CIS v1.2.0 3.1",
        pattern: r#"{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}"#,
    },
    Control {
        id: "CloudWatch.3",
        slug: "cis-console-sign-in-without-mfa",
        title: "Management Console sign-in without MFA",
        requirements: "CIS v1.2.0 3.2",
        pattern: r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }"#,
    },
    Control {
        id: "CloudWatch.4",
        slug: "cis-iam-policy-changes",
        title: "IAM policy changes",
        requirements: "CIS v1.2.0 3.4, CIS v1.4.0 4.4",
        pattern: "{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy)}",
    },
    Control {
        id: "CloudWatch.5",
        slug: "cis-cloudtrail-changes",
        title: "CloudTrail configuration changes",
        requirements: "CIS v1.2.0 3.5, CIS v1.4.0 4.5",
        pattern: "{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}",
    },
    Control {
        id: "CloudWatch.6",
        slug: "cis-console-auth-failures",
        title: "AWS Management Console authentication failures",
        requirements: "CIS v1.2.0 3.6, CIS v1.4.0 4.6",
        pattern: r#"{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}"#,
    },
    Control {
        id: "CloudWatch.7",
        slug: "cis-cmk-disable-or-deletion",
        title: "disabling or scheduled deletion of customer managed keys",
        requirements: "CIS v1.2.0 3.7, CIS v1.4.0 4.7",
        pattern: "{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}",
    },
    Control {
        id: "CloudWatch.8",
        slug: "cis-s3-bucket-policy-changes",
        title: "S3 bucket policy changes",
        requirements: "CIS v1.2.0 3.8, CIS v1.4.0 4.8",
        pattern: "{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || ($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) || ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || ($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}",
    },
    Control {
        id: "CloudWatch.9",
        slug: "cis-config-changes",
        title: "AWS Config configuration changes",
        requirements: "CIS v1.2.0 3.9, CIS v1.4.0 4.9",
        pattern: "{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || ($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || ($.eventName=PutConfigurationRecorder))}",
    },
    Control {
        id: "CloudWatch.10",
        slug: "cis-security-group-changes",
        title: "security group changes",
        requirements: "CIS v1.2.0 3.10, CIS v1.4.0 4.10",
        pattern: "{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || ($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || ($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}",
    },
    Control {
        id: "CloudWatch.11",
        slug: "cis-nacl-changes",
        title: "changes to network access control lists (NACL)",
        requirements: "CIS v1.2.0 3.11, CIS v1.4.0 4.11",
        pattern: "{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) || ($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}",
    },
    Control {
        id: "CloudWatch.12",
        slug: "cis-network-gateway-changes",
        title: "changes to network gateways",
        requirements: "CIS v1.2.0 3.12, CIS v1.4.0 4.12",
        pattern: "{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || ($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || ($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}",
    },
    Control {
        id: "CloudWatch.13",
        slug: "cis-route-table-changes",
        title: "route table changes",
        requirements: "CIS v1.2.0 3.13, CIS v1.4.0 4.13",
        pattern: "{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) || ($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable)}",
    },
    Control {
        id: "CloudWatch.14",
        slug: "cis-vpc-changes",
        title: "VPC changes",
        requirements: "CIS v1.2.0 3.14, CIS v1.4.0 4.14",
        pattern: "{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || ($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) || ($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || ($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || ($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}",
    },
];

/// How many `%…%` regular expressions a filter pattern holds (each pair of `%` delimits one).
pub fn regex_count(pattern: &str) -> usize {
    pattern.matches('%').count() / 2
}

/// One metric filter on the log group, login-alert's or anyone's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricFilter {
    pub name: String,
    pub pattern: String,
    /// `namespace/metric=value` of each transformation.
    pub metrics: Vec<String>,
}

/// The metric filters of one log group login-alert's may sit on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub log_group: String,
    pub filters: Vec<MetricFilter>,
}

/// The filters of the trail's group (first) and of login-alert's own group, and the CIS alarms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Current {
    pub groups: Vec<Group>,
    pub alarms: Vec<alarm::Found>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// PutMetricFilter: creates, or replaces the pattern and metric of, the filter of that name.
    PutFilter {
        log_group: String,
        name: String,
        pattern: String,
        metric: String,
    },
    DeleteFilter {
        log_group: String,
        name: String,
    },
    /// The alarm kind's operations, spelled out here: a nested internally tagged enum would write
    /// its `op` twice in a saved plan.
    PutAlarm {
        definition: Box<alarm::Definition>,
        create: bool,
    },
    DeleteAlarm {
        name: String,
    },
}

impl From<alarm::Op> for Op {
    fn from(op: alarm::Op) -> Self {
        match op {
            alarm::Op::Put { definition, create } => Op::PutAlarm { definition, create },
            alarm::Op::Delete { name } => Op::DeleteAlarm { name },
        }
    }
}

/// The filter of `control` (its metric is called the same).
pub fn filter_name(t: &Target, control: &Control) -> String {
    t.names.cis(control.slug)
}

/// The alarm of `control`.
pub fn alarm_name(t: &Target, control: &Control) -> String {
    t.names.alarm(control.slug)
}

fn metric_of(name: &str) -> String {
    format!("{NAMESPACE}/{name}=1")
}

/// The alarm Security Hub's remediation describes: the filter's metric, Sum >= 1 in 5 minutes,
/// notifying the alert topic.
pub fn alarm_definition(t: &Target, control: &Control) -> alarm::Definition {
    alarm::Definition {
        name: alarm_name(t, control),
        description: format!(
            "login-alert: Security Hub {} ({}): {}",
            control.id, control.requirements, control.title
        ),
        namespace: NAMESPACE.to_owned(),
        metric: filter_name(t, control),
        dimensions: Vec::new(),
        statistic: "Sum".to_owned(),
        period: 300,
        evaluation_periods: 1,
        datapoints_to_alarm: 1,
        threshold: 1.0,
        comparison: "GreaterThanOrEqualToThreshold".to_owned(),
        treat_missing_data: "notBreaching".to_owned(),
        actions: t.topic_arn().into_iter().collect(),
    }
}

/// The CIS controls, as a set: fourteen filters on the trail's group and fourteen alarms.
pub struct Cis;

impl Part for Cis {
    const NAME: &'static str = "the CIS monitoring controls";
    type Current = Current;
    type Op = Op;
    const NEEDS_FACTS: bool = true;

    /// Whatever `cis` says: the controls are read (and an earlier config's removed) in every mode,
    /// and may be created in the modes that deliver to CloudWatch Logs.
    fn permissions(&self, t: &Target) -> Vec<Grant> {
        let wanted = t.route.uses_logs();
        let mut filters = vec!["logs:DescribeMetricFilters", "logs:DeleteMetricFilter"];
        let mut alarms = vec![
            "cloudwatch:DescribeAlarms",
            "cloudwatch:ListTagsForResource",
            "cloudwatch:DeleteAlarms",
        ];
        if wanted {
            filters.push("logs:PutMetricFilter");
            // PutMetricAlarm with tags needs cloudwatch:TagResource as well.
            alarms.extend(["cloudwatch:PutMetricAlarm", "cloudwatch:TagResource"]);
        }
        vec![
            Grant::new("TheTrailsLogGroup", filters, [t.arns.log_group("*")]),
            // One ARN for the 14 (`PREFIX-cis-*`): the operator policy must fit IAM's size limit.
            Grant::new("CisAlarms", alarms, [t.arns.alarm(&t.names.alarm("cis-*"))]),
        ]
    }

    async fn read(&self, ctx: &Ctx, facts: &Facts) -> Result<Current> {
        let t = &ctx.target;
        let mut groups = vec![facts.delivery.log_group_name.clone()];
        let own = t.names.log_group();
        if !groups.contains(&own) {
            groups.push(own);
        }
        let names: Vec<String> = CONTROLS.iter().map(|c| alarm_name(t, c)).collect();
        let (groups, alarms) = tokio::try_join!(
            try_join_all(groups.iter().map(|group| read(ctx, group))),
            alarm::read(ctx, &names),
        )?;
        Ok(Current { groups, alarms })
    }

    fn wanted(&self, t: &Target, _: &Facts) -> bool {
        t.cis && t.route.uses_logs()
    }

    fn plan_apply(&self, current: &Current, t: &Target, facts: &Facts, plan: &mut Plan<Op>) {
        let delivery = &facts.delivery.log_group_name;
        for group in &current.groups {
            if &group.log_group == delivery {
                plan_filters(group, t, plan);
            } else {
                remove_filters(group, t, plan);
            }
        }
        let desired: Vec<alarm::Definition> =
            CONTROLS.iter().map(|c| alarm_definition(t, c)).collect();
        alarm::plan_apply(&current.alarms, &desired, plan);
        if t.topic_arn().is_none() {
            plan.notice(
                "cis: no email is configured, so the CIS alarms notify no SNS topic and Security Hub keeps CloudWatch.1-14 \
                 failed: add an email address (notify.emails) and confirm its subscription",
            );
        }
    }

    fn plan_destroy(&self, current: &Current, t: &Target, _: &Facts, plan: &mut Plan<Op>) {
        for group in &current.groups {
            remove_filters(group, t, plan);
        }
        alarm::plan_apply(&current.alarms, &[], plan);
    }

    async fn checks(&self, ctx: &Ctx, current: &Current, facts: &Facts) -> Result<Vec<Check>> {
        let t = &ctx.target;
        if !self.wanted(t, facts) {
            return Ok(Vec::new());
        }
        let topic = match t.topic_arn() {
            Some(arn) => topic::read(ctx, &arn).await?,
            None => None,
        };
        Ok(checks(
            current,
            t,
            &facts.delivery.log_group_name,
            topic.as_ref(),
        ))
    }
}

/// Every metric filter on `log_group`; a group that does not exist has none.
pub async fn read(ctx: &Ctx, log_group: &str) -> Result<Group> {
    let describe = ctx.clients.logs.describe_metric_filters();
    let pages = found_pages(
        describe.log_group_name(log_group).into_paginator().send(),
        NOT_FOUND,
        || format!("reading the metric filters of log group {log_group}"),
    )
    .await?;
    let filters = pages
        .into_iter()
        .flatten()
        .flat_map(|page| page.metric_filters.unwrap_or_default())
        // DescribeMetricFilters takes a name prefix, not a group only: keep to the group.
        .filter(|f| f.log_group_name.as_deref().is_none_or(|g| g == log_group))
        .map(|f| MetricFilter {
            name: f.filter_name.unwrap_or_default(),
            pattern: f.filter_pattern.unwrap_or_default(),
            metrics: f
                .metric_transformations
                .unwrap_or_default()
                .into_iter()
                .map(|m| {
                    format!(
                        "{}/{}={}",
                        m.metric_namespace, m.metric_name, m.metric_value
                    )
                })
                .collect(),
        })
        .collect();
    Ok(Group {
        log_group: log_group.to_owned(),
        filters,
    })
}

/// The fourteen filters on the trail's group: each missing one created, each changed one put back.
/// Metric filters take no tags: login-alert's are the ones with its fixed names; the group's other
/// filters are counted against the quota and never changed.
fn plan_filters(group: &Group, t: &Target, plan: &mut Plan<Op>) {
    let ours: Vec<String> = CONTROLS.iter().map(|c| filter_name(t, c)).collect();
    let theirs = group
        .filters
        .iter()
        .filter(|f| !ours.contains(&f.name))
        .count();
    if theirs + CONTROLS.len() > MAX_METRIC_FILTERS {
        plan.block(format!(
            "cis: log group {} already has {theirs} metric filters of its own; CloudWatch Logs allows {MAX_METRIC_FILTERS} per \
             log group, so the {} CIS filters do not fit: delete some of them (aws logs delete-metric-filter --log-group-name {} \
             --filter-name NAME) or set cis = false; login-alert never changes filters it did not create",
            group.log_group,
            CONTROLS.len(),
            group.log_group
        ));
        return;
    }
    for (control, name) in CONTROLS.iter().zip(&ours) {
        let metric = metric_of(name);
        let put = || Op::PutFilter {
            log_group: group.log_group.clone(),
            name: name.clone(),
            pattern: control.pattern.to_owned(),
            metric: name.clone(),
        };
        let label = format!("{name} on {}", group.log_group);
        match group.filters.iter().find(|f| &f.name == name) {
            None => plan.push(Some(
                Change::create(KIND, label, put())
                    .attr(Attr::set("control", control.id))
                    .attr(Attr::set("filter_pattern", control.pattern))
                    .attr(Attr::set("metric", metric)),
            )),
            Some(found) => {
                let mut attrs = Vec::new();
                if found.pattern != control.pattern {
                    attrs.push(Attr::change(
                        "filter_pattern",
                        found.pattern.clone(),
                        control.pattern,
                    ));
                }
                if found.metrics != [metric.clone()] {
                    attrs.push(Attr::change("metric", found.metrics.join(", "), metric));
                }
                if !attrs.is_empty() {
                    plan.push(Some(Change::update(KIND, label, put()).attrs(attrs)));
                }
            }
        }
    }
}

/// Deletes login-alert's CIS filters from `group` (found by their fixed names); no other.
fn remove_filters(group: &Group, t: &Target, plan: &mut Plan<Op>) {
    for control in &CONTROLS {
        let name = filter_name(t, control);
        if group.filters.iter().any(|f| f.name == name) {
            plan.push(Some(Change::delete(
                KIND,
                format!("{name} on {}", group.log_group),
                Op::DeleteFilter {
                    log_group: group.log_group.clone(),
                    name,
                },
            )));
        }
    }
}

/// Where one control stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Standing {
    Ok,
    Missing,
    Changed,
}

/// What `status` says of each control (`CloudWatch.N`: ok / missing / changed), each with the
/// evidence an auditor keeps: the filter and its pattern, the alarm, the topic and its confirmed
/// subscriptions.
pub fn checks(
    current: &Current,
    t: &Target,
    log_group: &str,
    topic: Option<&topic::Current>,
) -> Vec<Check> {
    let group = current.groups.iter().find(|g| g.log_group == log_group);
    let topic_arn = t.topic_arn();
    let confirmed: Vec<String> = topic
        .map(|topic| {
            topic
                .subscriptions
                .iter()
                .filter(|s| s.arn.is_some())
                .map(|s| format!("{}:{}", s.protocol, s.endpoint))
                .collect()
        })
        .unwrap_or_default();
    CONTROLS
        .iter()
        .map(|control| {
            let name = filter_name(t, control);
            let want = alarm_definition(t, control);
            let filter = group.and_then(|g| g.filters.iter().find(|f| f.name == name));
            let found = current
                .alarms
                .iter()
                .find(|a| a.definition.name == want.name);
            let mut problems = Vec::new();
            let mut standing = Standing::Ok;
            match filter {
                None => {
                    standing = Standing::Missing;
                    problems.push(format!("metric filter {name} is missing from {log_group}"));
                }
                Some(f) if f.pattern != control.pattern || f.metrics != [metric_of(&name)] => {
                    standing = Standing::Changed;
                    problems.push(format!(
                        "metric filter {name} on {log_group} has another pattern or metric than Security Hub requires"
                    ));
                }
                Some(_) => {}
            }
            match found {
                None => {
                    standing = Standing::Missing;
                    problems.push(format!("alarm {} is missing", want.name));
                }
                Some(a) if a.definition != want => {
                    if standing == Standing::Ok {
                        standing = Standing::Changed;
                    }
                    problems.push(format!("alarm {} differs from login-alert's", want.name));
                }
                Some(_) => {}
            }
            if topic_arn.is_none() || confirmed.is_empty() {
                problems.push(
                    "no confirmed subscription on the alert topic: Security Hub wants the alarm's topic to have a subscriber"
                        .to_owned(),
                );
            }
            let evidence = json!({
                "control": control.id,
                "title": control.title,
                "requirements": control.requirements,
                "status": standing,
                "log_group": log_group,
                "filter": {
                    "name": name,
                    "pattern": filter.map(|f| f.pattern.clone()),
                    "published_pattern": control.pattern,
                    "source": format!("{SOURCE}#cloudwatch-{}", control.id.trim_start_matches("CloudWatch.")),
                    "metric": filter.map(|f| f.metrics.clone()),
                },
                "alarm": found.map(|a| json!({
                    "name": a.definition.name,
                    "state": a.state,
                    "metric": format!("{}/{}", a.definition.namespace, a.definition.metric),
                    "condition": format!("{} {} {}", a.definition.statistic, a.definition.comparison, a.definition.threshold),
                    "actions": a.definition.actions,
                })).unwrap_or(Value::Null),
                "topic": topic_arn,
                "confirmed_subscriptions": confirmed,
            });
            let label = format!("{} ({})", control.id, control.title);
            let check = if problems.is_empty() {
                Check::ok(
                    Link::Alarms,
                    label,
                    format!(
                        "ok: {name} on {log_group}, alarm {} notifies {}",
                        want.name,
                        topic_arn.as_deref().unwrap_or("(no topic)")
                    ),
                )
            } else {
                let word = match standing {
                    Standing::Ok => "ok",
                    Standing::Missing => "missing",
                    Standing::Changed => "changed",
                };
                Check::warning(
                    Link::Alarms,
                    label,
                    format!("{word}: {}", problems.join("; ")),
                    if standing == Standing::Ok {
                        "add an email address to notify.emails and confirm its subscription"
                    } else {
                        "run `login-alert apply` to put the filter and alarm back as Security Hub requires"
                    },
                )
            };
            check.with_evidence(evidence)
        })
        .collect()
}

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    let logs = &ctx.clients.logs;
    match op {
        Op::PutFilter {
            log_group,
            name,
            pattern,
            metric,
        } => {
            let transformation = MetricTransformation::builder()
                .metric_namespace(NAMESPACE)
                .metric_name(metric)
                .metric_value("1")
                .build()
                .context("building a metric transformation")?;
            logs.put_metric_filter()
                .log_group_name(log_group)
                .filter_name(name)
                .filter_pattern(pattern)
                .metric_transformations(transformation)
                .send()
                .await
                .doing(|| format!("putting metric filter {name} on {log_group}"))?;
            Ok(())
        }
        Op::DeleteFilter { log_group, name } => logs
            .delete_metric_filter()
            .log_group_name(log_group)
            .filter_name(name)
            .send()
            .await
            .gone_doing(NOT_FOUND, || {
                format!("deleting metric filter {name} from {log_group}")
            }),
        Op::PutAlarm { definition, create } => {
            let op = alarm::Op::Put {
                definition: definition.clone(),
                create: *create,
            };
            alarm::execute(ctx, &op).await
        }
        Op::DeleteAlarm { name } => {
            alarm::execute(ctx, &alarm::Op::Delete { name: name.clone() }).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::model::Delivery;
    use crate::plan::{Action, Mode};
    use crate::resources::subscription_filter::MAX_PATTERN_LEN;
    use crate::testing::{self, REGION, notifying, planned};

    /// The patterns as Security Hub's control pages print them ("Copy the following pattern"),
    /// <https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html>, copied
    /// here by hand from doc_source/cloudwatch-controls.md of awsdocs/aws-security-hub-user-guide
    /// (commit bda5bf7ddbdf498557b2ac6a538577528004e6d5, lines 66 … 1556), independently of CONTROLS.
    const PUBLISHED: [(&str, &str); 14] = [
        (
            "CloudWatch.1",
            r#"{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}"#,
        ),
        (
            "CloudWatch.2",
            r#"{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}"#,
        ),
        (
            "CloudWatch.3",
            r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }"#,
        ),
        (
            "CloudWatch.4",
            "{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy)}",
        ),
        (
            "CloudWatch.5",
            "{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}",
        ),
        (
            "CloudWatch.6",
            r#"{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}"#,
        ),
        (
            "CloudWatch.7",
            "{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}",
        ),
        (
            "CloudWatch.8",
            "{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || ($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) || ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || ($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}",
        ),
        (
            "CloudWatch.9",
            "{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || ($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || ($.eventName=PutConfigurationRecorder))}",
        ),
        (
            "CloudWatch.10",
            "{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || ($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || ($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}",
        ),
        (
            "CloudWatch.11",
            "{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) || ($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}",
        ),
        (
            "CloudWatch.12",
            "{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || ($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || ($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}",
        ),
        (
            "CloudWatch.13",
            "{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) || ($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable)}",
        ),
        (
            "CloudWatch.14",
            "{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || ($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) || ($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || ($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || ($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}",
        ),
    ];

    #[test]
    fn each_pattern_is_the_published_text_and_within_cloudwatch_logs_limits() {
        assert_eq!(CONTROLS.len(), PUBLISHED.len());
        for (control, (id, published)) in CONTROLS.iter().zip(PUBLISHED) {
            assert_eq!(control.id, id);
            assert_eq!(
                control.pattern, published,
                "{id} differs from Security Hub's page"
            );
            assert!(
                control.pattern.len() <= MAX_PATTERN_LEN,
                "{id}: {} characters",
                control.pattern.len()
            );
            assert_eq!(regex_count(control.pattern), 0, "{id} holds a regex");
            // A JSON-term pattern: one pair of braces around balanced parentheses.
            assert!(
                control.pattern.trim().starts_with('{') && control.pattern.trim().ends_with('}')
            );
            assert_eq!(
                control.pattern.matches('(').count(),
                control.pattern.matches(')').count(),
                "{id}"
            );
        }
        // All of them beside the user's own regex patterns never pass CloudWatch Logs' limit.
        let ours: usize = CONTROLS.iter().map(|c| regex_count(c.pattern)).sum();
        assert!(ours == 0 && ours < MAX_REGEX_PATTERNS);
        assert_eq!(regex_count("{ $.x = %abc% }"), 1);
    }

    #[test]
    fn filter_and_alarm_names_are_distinct_and_fit_their_limits() {
        let t = target(true);
        let mut names: Vec<String> = CONTROLS.iter().map(|c| filter_name(&t, c)).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 14);
        let long = crate::names::Names::new(&"a".repeat(24));
        for c in &CONTROLS {
            // Metric filter names and metric names: 512 and 255 characters; alarm names 255.
            assert!(long.cis(c.slug).len() <= 255);
            assert!(long.alarm(c.slug).len() <= 255);
        }
    }

    /// With the controls on, notifying an email address, or else Slack.
    fn target(email: bool) -> Target {
        let emails: &[&str] = if email { &["a@example.com"] } else { &[] };
        let config = Config {
            cis: true,
            ..notifying(REGION, emails, !email)
        };
        testing::target(&config)
    }

    fn facts(t: &Target) -> Facts {
        let mut facts = Facts::new(t);
        facts.delivery = Delivery {
            log_group_name: "/audit/trail".into(),
            ours: false,
        };
        facts
    }

    fn apply_plan(current: &Current, t: &Target) -> Plan<Op> {
        planned(Mode::Apply, |plan| {
            Cis.plan_apply(current, t, &facts(t), plan)
        })
    }

    fn group(filters: Vec<MetricFilter>) -> Group {
        Group {
            log_group: "/audit/trail".into(),
            filters,
        }
    }

    /// The trail's log group with no metric filter, and no alarm.
    fn nothing_in_place() -> Current {
        Current {
            groups: vec![group(vec![])],
            alarms: vec![],
        }
    }

    fn theirs(n: usize) -> Vec<MetricFilter> {
        (0..n)
            .map(|i| MetricFilter {
                name: format!("theirs-{i}"),
                pattern: "%ERROR%".into(),
                metrics: vec!["Mine/Errors=1".into()],
            })
            .collect()
    }

    #[test]
    fn a_group_with_no_room_for_fourteen_filters_blocks_before_any_write() {
        let t = target(true);
        let current = Current {
            groups: vec![group(theirs(87))],
            alarms: vec![],
        };
        let plan = apply_plan(&current, &t);
        assert_eq!(plan.blockers.len(), 1, "{:?}", plan.blockers);
        assert!(plan.blockers[0].contains("87 metric filters of its own"));
        assert!(plan.blockers[0].contains("allows 100"));
        assert!(!plan.changes.iter().any(|c| c.kind == KIND));
        // 86 of theirs leave room for exactly 14.
        let current = Current {
            groups: vec![group(theirs(86))],
            alarms: vec![],
        };
        let plan = apply_plan(&current, &t);
        assert!(plan.blockers.is_empty());
        assert_eq!(plan.changes.iter().filter(|c| c.kind == KIND).count(), 14);
    }

    #[test]
    fn a_changed_pattern_is_an_update_and_the_users_filters_are_never_planned() {
        let t = target(true);
        let mut filters: Vec<MetricFilter> = CONTROLS
            .iter()
            .map(|c| MetricFilter {
                name: filter_name(&t, c),
                pattern: c.pattern.into(),
                metrics: vec![metric_of(&filter_name(&t, c))],
            })
            .collect();
        filters[0].pattern = "{ $.userIdentity.type = \"Root\" }".into();
        filters.extend(theirs(3));
        let current = Current {
            groups: vec![group(filters)],
            alarms: vec![],
        };
        let plan = apply_plan(&current, &t);
        let filter_changes: Vec<_> = plan.changes.iter().filter(|c| c.kind == KIND).collect();
        assert_eq!(filter_changes.len(), 1);
        assert_eq!(filter_changes[0].action, Action::Update);
        assert!(
            filter_changes[0]
                .name
                .starts_with("login-alert-cis-root-usage")
        );
        assert!(!plan.changes.iter().any(|c| c.name.contains("theirs")));
    }

    #[test]
    fn without_an_email_the_plan_says_security_hub_stays_failed() {
        let t = target(false);
        let current = nothing_in_place();
        let plan = apply_plan(&current, &t);
        assert!(plan.notices.iter().any(|n| n.contains("CloudWatch.1-14")));
        assert_eq!(plan.changes.len(), 28);
    }

    fn all_in_place(t: &Target) -> Current {
        Current {
            groups: vec![group(
                CONTROLS
                    .iter()
                    .map(|c| MetricFilter {
                        name: filter_name(t, c),
                        pattern: c.pattern.into(),
                        metrics: vec![metric_of(&filter_name(t, c))],
                    })
                    .collect(),
            )],
            alarms: CONTROLS
                .iter()
                .map(|c| alarm::Found {
                    definition: alarm_definition(t, c),
                    state: "OK".into(),
                    reason: String::new(),
                    managed: true,
                })
                .collect(),
        }
    }

    fn topic_with(confirmed: bool) -> topic::Current {
        topic::Current {
            name: "login-alert-alerts".into(),
            arn: "arn:aws:sns:eu-west-1:123456789012:login-alert-alerts".into(),
            managed: true,
            policy: None,
            subscriptions: vec![topic::Subscription {
                protocol: "email".into(),
                endpoint: "a@example.com".into(),
                arn: confirmed
                    .then(|| "arn:aws:sns:eu-west-1:123456789012:login-alert-alerts:1".into()),
            }],
        }
    }

    #[test]
    fn status_names_each_control_ok_missing_or_changed_with_its_evidence() {
        use crate::check::Status;
        let t = target(true);
        let mut current = all_in_place(&t);
        let ok = checks(&current, &t, "/audit/trail", Some(&topic_with(true)));
        assert_eq!(ok.len(), 14);
        assert!(ok.iter().all(|c| c.status == Status::Ok), "{ok:?}");
        assert!(ok[0].name.starts_with("CloudWatch.1 ("));
        let evidence = ok[0].evidence.as_ref().unwrap();
        assert_eq!(
            evidence["confirmed_subscriptions"],
            json!(["email:a@example.com"])
        );
        assert_eq!(evidence["filter"]["pattern"], CONTROLS[0].pattern);

        current.groups[0].filters[0].pattern = "{ $.userIdentity.type = \"Root\" }".into();
        current.alarms.pop();
        current.groups[0].filters.remove(1);
        let drifted = checks(&current, &t, "/audit/trail", Some(&topic_with(true)));
        assert!(
            drifted[0].detail.starts_with("changed:"),
            "{}",
            drifted[0].detail
        );
        assert_eq!(drifted[0].evidence.as_ref().unwrap()["status"], "changed");
        assert!(
            drifted[1].detail.starts_with("missing:"),
            "{}",
            drifted[1].detail
        );
        assert!(
            drifted[13].detail.starts_with("missing:"),
            "{}",
            drifted[13].detail
        );
        assert_eq!(drifted[13].evidence.as_ref().unwrap()["alarm"], Value::Null);
        assert!(
            drifted[0..14]
                .iter()
                .filter(|c| c.status == Status::Warning)
                .count()
                == 3
        );

        // Security Hub wants a subscriber: a pending address is no evidence.
        let pending = checks(
            &all_in_place(&t),
            &t,
            "/audit/trail",
            Some(&topic_with(false)),
        );
        assert!(pending.iter().all(|c| c.status == Status::Warning));
        assert!(pending[0].detail.contains("no confirmed subscription"));
    }

    #[test]
    fn a_planned_operation_survives_a_saved_plan() {
        let t = target(true);
        let current = nothing_in_place();
        for change in apply_plan(&current, &t).changes {
            let text = serde_json::to_string(&change.op).unwrap();
            assert_eq!(text.matches("\"op\"").count(), 1, "{text}");
            let back: Op = serde_json::from_str(&text).unwrap();
            assert_eq!(serde_json::to_string(&back).unwrap(), text);
        }
    }
}

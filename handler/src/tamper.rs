//! Changes that would blind login-alert: the trail it reads, the trail's log group, and its own resources,
//! recognised by the names the configured prefix gives them (organization coverage's are read first, in
//! `org_tamper`).

use std::borrow::Cow;

use serde::Serialize;

use crate::record::Record;
use crate::settings::Pipeline;

/// What the CLI's requests carry in their user agent (`app/` + [`crate::vocab::APP_NAME`]).
pub const APP_AGENT: &str = "app/login-alert";

/// The CloudTrail calls that stop or narrow what a trail records; on any trail they can hide activity.
pub const TRAIL_EVENTS: [&str; 5] = [
    "StopLogging",
    "DeleteTrail",
    "UpdateTrail",
    "PutEventSelectors",
    "PutAdvancedEventSelectors",
];

/// The CloudWatch Logs calls that cut the trail's log group off from the function.
pub const LOG_GROUP_EVENTS: [&str; 2] = ["DeleteSubscriptionFilter", "DeleteLogGroup"];

/// What part of the pipeline a change hit (the `subkind` of a `tamper` classification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    Trail,
    TrailLogGroup,
    Function,
    Permission,
    Topic,
    Rule,
    Role,
    Parameter,
    StateTable,
    LogGroup,
    /// Organization coverage: the StackSet (or StackSets' trusted access in Organizations).
    StackSet,
    /// Organization coverage: the StackSet's stack instances, or their stacks in a member account.
    StackInstances,
    /// Organization coverage: the central event bus, or its policy.
    EventBus,
    /// Organization coverage: the central event bus's rule.
    CentralRule,
    /// Organization coverage: a member account's forwarding rule.
    ForwardingRule,
    /// Organization coverage: a member account's forwarding role.
    MemberRole,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Trail => "trail",
            Target::TrailLogGroup => "trail-log-group",
            Target::Function => "function",
            Target::Permission => "permission",
            Target::Topic => "topic",
            Target::Rule => "rule",
            Target::Role => "role",
            Target::Parameter => "parameter",
            Target::StateTable => "state-table",
            Target::LogGroup => "log-group",
            Target::StackSet => "stack-set",
            Target::StackInstances => "stack-instances",
            Target::EventBus => "event-bus",
            Target::CentralRule => "central-rule",
            Target::ForwardingRule => "forwarding-rule",
            Target::MemberRole => "member-role",
        }
    }

    /// A resource of organization coverage (the message then names the account it changed in).
    pub fn is_organization(self) -> bool {
        matches!(
            self,
            Target::StackSet
                | Target::StackInstances
                | Target::EventBus
                | Target::CentralRule
                | Target::ForwardingRule
                | Target::MemberRole
        )
    }

    /// What the StackSet deploys into member accounts.
    pub fn in_member_account(self) -> bool {
        matches!(
            self,
            Target::StackInstances | Target::ForwardingRule | Target::MemberRole
        )
    }
}

/// A recognised tampering record: what it hit, which resource, and whether login-alert itself made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tamper<'a> {
    pub target: Target,
    pub resource: Cow<'a, str>,
    /// The request carried login-alert's application name: its own `apply` or `destroy`.
    pub by_login_alert: bool,
}

/// Reads and invocations change nothing; everything else on a pipeline resource is a change.
pub(crate) fn is_change(event: &str) -> bool {
    ![
        "Get", "List", "Describe", "Invoke", "Publish", "Test", "Lookup", "Query", "Scan",
    ]
    .iter()
    .any(|prefix| event.starts_with(prefix))
}

/// `name` or the last part of an ARN (`…:function:NAME`, `…:NAME:subscription-id` is handled by the caller).
pub(crate) fn last_segment(value: &str) -> &str {
    value.rsplit([':', '/']).next().unwrap_or(value)
}

fn starts_with_prefix(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|rest| rest.starts_with('-'))
}

/// The request carried login-alert's application name: its own `apply` or `destroy`.
pub(crate) fn by_login_alert(record: &Record) -> bool {
    record
        .user_agent
        .get()
        .is_some_and(|agent| agent.contains(APP_AGENT))
}

/// Recognises a tampering record of one account's pipeline (`org_tamper::tamper_of` reads organization
/// coverage first, then this); `None` for everything else, including the same calls on other resources.
pub fn tamper_of<'a>(record: &Record<'a>, pipeline: &Pipeline) -> Option<Tamper<'a>> {
    let source = record.event_source.get()?.trim();
    let event = record.event_name.get()?.trim();
    let params = &record.request_parameters;
    let by_login_alert = by_login_alert(record);
    let found = |target: Target, resource: &str| {
        Some(Tamper {
            target,
            resource: Cow::Owned(resource.to_owned()),
            by_login_alert,
        })
    };
    let prefix = pipeline.name_prefix.as_deref().filter(|p| !p.is_empty());
    match source {
        "cloudtrail.amazonaws.com" if TRAIL_EVENTS.contains(&event) => {
            let trail = params
                .get("name")
                .or_else(|| params.get("trailName"))
                .unwrap_or("(trail not recorded)");
            found(Target::Trail, trail)
        }
        "logs.amazonaws.com" if is_change(event) => {
            let group = params.get("logGroupName")?;
            let trail_group = pipeline
                .trail_log_group
                .as_deref()
                .is_some_and(|g| g == group);
            if trail_group && LOG_GROUP_EVENTS.contains(&event) {
                return found(Target::TrailLogGroup, group);
            }
            let prefix = prefix?;
            let filter_is_ours = params
                .get("filterName")
                .is_some_and(|f| f == format!("{prefix}-signin-events"));
            if trail_group && filter_is_ours {
                return found(Target::TrailLogGroup, group);
            }
            let ours = group == format!("/{prefix}/cloudtrail")
                || group == format!("/aws/lambda/{prefix}-handler");
            if ours && (LOG_GROUP_EVENTS.contains(&event) || filter_is_ours) {
                return found(Target::LogGroup, group);
            }
            None
        }
        "lambda.amazonaws.com" if is_change(event) => {
            // A name, `name:qualifier`, or an ARN `…:function:name[:qualifier]`.
            let value = params.get("functionName")?;
            let value = value
                .split_once(":function:")
                .map_or(value, |(_, rest)| rest);
            let function = value.split_once(':').map_or(value, |(f, _)| f);
            if function != format!("{}-handler", prefix?) {
                return None;
            }
            let target =
                if event.starts_with("RemovePermission") || event.starts_with("AddPermission") {
                    Target::Permission
                } else {
                    Target::Function
                };
            found(target, function)
        }
        "sns.amazonaws.com" if is_change(event) => {
            let topic_name = format!("{}-alerts", prefix?);
            let arn = params
                .get("topicArn")
                .or_else(|| params.get("subscriptionArn"))
                .or_else(|| params.get("resourceArn"))?;
            // A subscription ARN is the topic ARN followed by `:subscription-id`.
            let is_ours = arn.split(':').nth(5) == Some(topic_name.as_str());
            is_ours.then(|| Tamper {
                target: Target::Topic,
                resource: Cow::Owned(arn.to_owned()),
                by_login_alert,
            })
        }
        "events.amazonaws.com" if is_change(event) => {
            let rule = params.get("rule").or_else(|| params.get("name"))?;
            let rule = last_segment(rule);
            starts_with_prefix(rule, prefix?)
                .then(|| found(Target::Rule, rule))
                .flatten()
        }
        "iam.amazonaws.com" if is_change(event) => {
            let role = params.get("roleName")?;
            starts_with_prefix(role, prefix?)
                .then(|| found(Target::Role, role))
                .flatten()
        }
        "ssm.amazonaws.com" if is_change(event) => {
            let name = params.get("name")?;
            let ours = name
                .trim_start_matches('/')
                .strip_prefix(prefix?)
                .is_some_and(|rest| rest.starts_with('/'));
            ours.then(|| found(Target::Parameter, name)).flatten()
        }
        "dynamodb.amazonaws.com" if is_change(event) => {
            let table = last_segment(params.get("tableName")?);
            (table == format!("{}-state", prefix?))
                .then(|| found(Target::StateTable, table))
                .flatten()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline() -> Pipeline {
        Pipeline {
            name_prefix: Some("login-alert".into()),
            trail_name: Some("main".into()),
            trail_log_group: Some("aws-cloudtrail-logs".into()),
        }
    }

    fn check(json: &str) -> Option<(Target, String, bool)> {
        let record = Record::parse(json).unwrap();
        tamper_of(&record, &pipeline())
            .map(|t| (t.target, t.resource.into_owned(), t.by_login_alert))
    }

    #[test]
    fn own_resources_are_recognised_by_their_prefixed_names_only() {
        let cases = [
            (
                r#"{"eventSource":"lambda.amazonaws.com","eventName":"UpdateFunctionConfiguration20150331v2","requestParameters":{"functionName":"arn:aws:lambda:us-east-1:1:function:login-alert-handler"}}"#,
                Some(Target::Function),
            ),
            (
                r#"{"eventSource":"lambda.amazonaws.com","eventName":"RemovePermission20150331v2","requestParameters":{"functionName":"login-alert-handler","statementId":"x"}}"#,
                Some(Target::Permission),
            ),
            (
                r#"{"eventSource":"lambda.amazonaws.com","eventName":"DeleteFunction20150331","requestParameters":{"functionName":"login-alert-handler-copy"}}"#,
                None,
            ),
            (
                r#"{"eventSource":"lambda.amazonaws.com","eventName":"GetFunction20150331v2","requestParameters":{"functionName":"login-alert-handler"}}"#,
                None,
            ),
            (
                r#"{"eventSource":"sns.amazonaws.com","eventName":"Unsubscribe","requestParameters":{"subscriptionArn":"arn:aws:sns:us-east-1:1:login-alert-alerts:0f1e"}}"#,
                Some(Target::Topic),
            ),
            (
                r#"{"eventSource":"sns.amazonaws.com","eventName":"DeleteTopic","requestParameters":{"topicArn":"arn:aws:sns:us-east-1:1:other-alerts"}}"#,
                None,
            ),
            (
                r#"{"eventSource":"events.amazonaws.com","eventName":"DisableRule","requestParameters":{"name":"login-alert-signin"}}"#,
                Some(Target::Rule),
            ),
            (
                r#"{"eventSource":"events.amazonaws.com","eventName":"DeleteRule","requestParameters":{"name":"login-alerts-elsewhere"}}"#,
                None,
            ),
            (
                r#"{"eventSource":"iam.amazonaws.com","eventName":"PutRolePolicy","requestParameters":{"roleName":"login-alert-handler"}}"#,
                Some(Target::Role),
            ),
            (
                r#"{"eventSource":"ssm.amazonaws.com","eventName":"DeleteParameter","requestParameters":{"name":"/login-alert/slack-webhook-url"}}"#,
                Some(Target::Parameter),
            ),
            (
                r#"{"eventSource":"ssm.amazonaws.com","eventName":"DeleteParameter","requestParameters":{"name":"/login-alert-old/x"}}"#,
                None,
            ),
            (
                r#"{"eventSource":"dynamodb.amazonaws.com","eventName":"DeleteTable","requestParameters":{"tableName":"login-alert-state"}}"#,
                Some(Target::StateTable),
            ),
            (
                r#"{"eventSource":"logs.amazonaws.com","eventName":"DeleteSubscriptionFilter","requestParameters":{"logGroupName":"aws-cloudtrail-logs","filterName":"theirs"}}"#,
                Some(Target::TrailLogGroup),
            ),
            (
                r#"{"eventSource":"logs.amazonaws.com","eventName":"DeleteLogGroup","requestParameters":{"logGroupName":"/aws/lambda/other"}}"#,
                None,
            ),
            (
                r#"{"eventSource":"logs.amazonaws.com","eventName":"PutSubscriptionFilter","requestParameters":{"logGroupName":"aws-cloudtrail-logs","filterName":"login-alert-signin-events"}}"#,
                Some(Target::TrailLogGroup),
            ),
            (
                r#"{"eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","requestParameters":{"name":"any-trail-at-all"}}"#,
                Some(Target::Trail),
            ),
            (
                r#"{"eventSource":"cloudtrail.amazonaws.com","eventName":"StartLogging","requestParameters":{"name":"main"}}"#,
                None,
            ),
        ];
        for (json, want) in cases {
            assert_eq!(check(json).map(|(t, _, _)| t), want, "{json}");
        }
    }

    #[test]
    fn the_agent_marker_is_the_app_name() {
        assert_eq!(APP_AGENT, format!("app/{}", crate::vocab::APP_NAME));
    }

    #[test]
    fn login_alerts_own_requests_are_marked_as_such() {
        let json = r#"{"eventSource":"iam.amazonaws.com","eventName":"DeleteRolePolicy","userAgent":"aws-sdk-rust/1.3 os/linux app/login-alert","requestParameters":{"roleName":"login-alert-handler"}}"#;
        assert_eq!(
            check(json),
            Some((Target::Role, "login-alert-handler".into(), true))
        );
    }

    #[test]
    fn without_a_prefix_only_the_trail_counts() {
        let record = Record::parse(r#"{"eventSource":"iam.amazonaws.com","eventName":"PutRolePolicy","requestParameters":{"roleName":"login-alert-handler"}}"#).unwrap();
        assert_eq!(tamper_of(&record, &Pipeline::default()), None);
        let record = Record::parse(r#"{"eventSource":"cloudtrail.amazonaws.com","eventName":"DeleteTrail","requestParameters":{"name":"t"}}"#).unwrap();
        assert!(tamper_of(&record, &Pipeline::default()).is_some());
    }
}

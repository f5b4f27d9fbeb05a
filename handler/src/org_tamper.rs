//! Changes that would blind organization coverage: the StackSet and its stack instances, the central event bus
//! (its policy and its rule), and the forwarding rule and role the StackSet gives every member account.
//!
//! The names come from the prefix, as the CLI gives them (`Names::org_stack_set`, `Names::central_bus`; a test
//! there checks that both sides agree).

use std::borrow::Cow;

use crate::record::Record;
use crate::settings::Pipeline;
use crate::tamper::{Tamper, Target, by_login_alert, is_change, last_segment};

/// Organizations' principal for trusted access by StackSets: disabling it stops automatic deployment to
/// accounts that join the organization.
pub const STACKSETS_PRINCIPAL: &str = "member.org.stacksets.cloudformation.amazonaws.com";

/// The StackSet calls that change its stack instances; its other change calls change the StackSet itself.
const INSTANCE_EVENTS: [&str; 4] = [
    "CreateStackInstances",
    "UpdateStackInstances",
    "DeleteStackInstances",
    "ImportStacksToStackSet",
];

/// The EventBridge calls that change a bus itself (they name it `name`).
const BUS_EVENTS: [&str; 3] = ["DeleteEventBus", "UpdateEventBus", "CreateEventBus"];

/// The roles a service-managed StackSet deploys with in a member account. Their trust allows only StackSets
/// in the management account, so a change they make is the StackSet's own template being deployed; the
/// StackSet call that caused it is the record that alerts (or says login-alert made it).
const DEPLOYING_ROLES: [&str; 2] = [
    ":assumed-role/stacksets-exec-",
    ":assumed-role/AWSServiceRoleForCloudFormationStackSetsOrgMember/",
];

/// The StackSet; in each member account also the name of its forwarding rule and role.
pub fn stack_set_name(prefix: &str) -> String {
    format!("{prefix}-org-forward")
}

/// The central event bus in the management account; its rule has the same name.
pub fn central_bus_name(prefix: &str) -> String {
    format!("{prefix}-central")
}

/// What a record does to organization coverage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Org {
    /// A change to one of its resources: what it hit and the resource's name.
    Tamper(Target, String),
    /// StackSets deploying the member template: not tamper of its own.
    Deployment,
    /// Nothing of organization coverage.
    Unrelated,
}

/// CloudFormation calls that read or check change nothing (`DetectStackSetDrift`, `ValidateTemplate`, …).
fn is_stack_change(event: &str) -> bool {
    is_change(event)
        && !["Detect", "Validate", "Estimate"]
            .iter()
            .any(|prefix| event.starts_with(prefix))
}

/// `NAME`, `NAME:ID` or `arn:…:stackset/NAME:ID` → `NAME`.
fn stack_set_of(value: &str) -> &str {
    let value = value
        .split_once(":stackset/")
        .map_or(value, |(_, rest)| rest);
    value.split(':').next().unwrap_or(value)
}

/// `NAME` or `arn:…:stack/NAME/ID` → `NAME`.
fn stack_of(value: &str) -> &str {
    match value.split_once(":stack/") {
        Some((_, rest)) => rest.split('/').next().unwrap_or(rest),
        None => value,
    }
}

/// Whether StackSets itself made the change in a member account (see [`DEPLOYING_ROLES`]).
fn by_stack_sets(record: &Record) -> bool {
    let Some(identity) = record.identity() else {
        return false;
    };
    let role = identity
        .arn
        .get()
        .is_some_and(|arn| DEPLOYING_ROLES.iter().any(|r| arn.contains(r)));
    let cloudformation = |value: Option<&str>| {
        value.is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("cloudformation.amazonaws.com")
        })
    };
    role && (cloudformation(identity.invoked_by.get())
        || cloudformation(record.source_ip.get())
        || cloudformation(record.user_agent.get()))
}

/// Recognises every tampering record: organization coverage's resources first (their names start with the
/// prefix too, so the account's own reading would call them login-alert's rule or role), then the rest
/// ([`crate::tamper::tamper_of`]).
pub fn tamper_of<'a>(record: &Record<'a>, pipeline: &Pipeline) -> Option<Tamper<'a>> {
    if let Some(prefix) = pipeline.name_prefix.as_deref().filter(|p| !p.is_empty()) {
        match org_of(record, prefix) {
            Org::Tamper(target, name) => {
                return Some(Tamper {
                    target,
                    resource: Cow::Owned(name),
                    by_login_alert: by_login_alert(record),
                });
            }
            Org::Deployment => return None,
            Org::Unrelated => {}
        }
    }
    crate::tamper::tamper_of(record, pipeline)
}

/// Reads a record for organization coverage, with the resource names `prefix` gives.
pub fn org_of(record: &Record, prefix: &str) -> Org {
    let (Some(source), Some(event)) = (record.event_source.get(), record.event_name.get()) else {
        return Org::Unrelated;
    };
    let (source, event) = (source.trim(), event.trim());
    // Sign-ins and every other service: nothing to build names for.
    if !matches!(
        source,
        "cloudformation.amazonaws.com"
            | "organizations.amazonaws.com"
            | "events.amazonaws.com"
            | "iam.amazonaws.com"
    ) {
        return Org::Unrelated;
    }
    let params = &record.request_parameters;
    let stack_set = stack_set_name(prefix);
    let central = central_bus_name(prefix);
    let found = match source {
        "cloudformation.amazonaws.com" if is_stack_change(event) => {
            if let Some(value) = params.get("stackSetName") {
                let name = stack_set_of(value);
                (name == stack_set).then(|| {
                    let target = if INSTANCE_EVENTS.contains(&event) {
                        Target::StackInstances
                    } else {
                        Target::StackSet
                    };
                    (target, name.to_owned())
                })
            } else {
                // The stacks StackSets creates in member accounts: `StackSet-<stack set>-<id>`.
                let name = params.get("stackName").map(stack_of);
                name.filter(|n| n.starts_with(&format!("StackSet-{stack_set}-")))
                    .map(|n| (Target::StackInstances, n.to_owned()))
            }
        }
        "organizations.amazonaws.com" if is_change(event) => params
            .get("servicePrincipal")
            .is_some_and(|p| p.trim() == STACKSETS_PRINCIPAL)
            .then(|| (Target::StackSet, STACKSETS_PRINCIPAL.to_owned())),
        "events.amazonaws.com" if is_change(event) => {
            let bus = params.get("eventBusName").map(last_segment);
            let named = params.get("name").map(last_segment);
            let rule = params.get("rule").map(last_segment).or(named);
            if BUS_EVENTS.contains(&event) {
                (named == Some(central.as_str())).then(|| (Target::EventBus, central.clone()))
            } else if rule == Some(central.as_str()) {
                Some((Target::CentralRule, central.clone()))
            } else if rule == Some(stack_set.as_str()) {
                Some((Target::ForwardingRule, stack_set.clone()))
            } else if bus == Some(central.as_str()) {
                // Its policy (PutPermission, RemovePermission), or a rule someone else added to it.
                Some((Target::EventBus, central.clone()))
            } else {
                None
            }
        }
        "iam.amazonaws.com" if is_change(event) => params
            .get("roleName")
            .filter(|role| *role == stack_set)
            .map(|role| (Target::MemberRole, role.to_owned())),
        _ => None,
    };
    match found {
        Some((target, _)) if target.in_member_account() && by_stack_sets(record) => Org::Deployment,
        Some((target, name)) => Org::Tamper(target, name),
        None => Org::Unrelated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(json: &str) -> Org {
        org_of(&Record::parse(json).unwrap(), "login-alert")
    }

    fn tamper(target: Target, name: &str) -> Org {
        Org::Tamper(target, name.to_owned())
    }

    #[test]
    fn stack_set_calls_are_told_apart_from_their_instances() {
        assert_eq!(
            org(
                r#"{"eventSource":"cloudformation.amazonaws.com","eventName":"UpdateStackSet","requestParameters":{"stackSetName":"login-alert-org-forward"}}"#
            ),
            tamper(Target::StackSet, "login-alert-org-forward")
        );
        assert_eq!(
            org(
                r#"{"eventSource":"cloudformation.amazonaws.com","eventName":"StopStackSetOperation","requestParameters":{"stackSetName":"login-alert-org-forward:5f1e2c3d-0000-4000-8000-000000000000","operationId":"x"}}"#
            ),
            tamper(Target::StackSet, "login-alert-org-forward")
        );
        assert_eq!(
            org(
                r#"{"eventSource":"cloudformation.amazonaws.com","eventName":"DeleteStackInstances","requestParameters":{"stackSetName":"arn:aws:cloudformation:eu-west-1:111111111111:stackset/login-alert-org-forward:5f1e","regions":["eu-west-1"]}}"#
            ),
            tamper(Target::StackInstances, "login-alert-org-forward")
        );
        // Reads and drift checks change nothing; other StackSets are not ours.
        for json in [
            r#"{"eventSource":"cloudformation.amazonaws.com","eventName":"DescribeStackSet","requestParameters":{"stackSetName":"login-alert-org-forward"}}"#,
            r#"{"eventSource":"cloudformation.amazonaws.com","eventName":"DetectStackSetDrift","requestParameters":{"stackSetName":"login-alert-org-forward"}}"#,
            r#"{"eventSource":"cloudformation.amazonaws.com","eventName":"DeleteStackSet","requestParameters":{"stackSetName":"login-alert-org-forward-old"}}"#,
        ] {
            assert_eq!(org(json), Org::Unrelated, "{json}");
        }
    }

    #[test]
    fn a_member_accounts_stack_is_recognised_by_name_or_arn() {
        for name in [
            "StackSet-login-alert-org-forward-0b1c2d3e",
            "arn:aws:cloudformation:us-east-1:222222222222:stack/StackSet-login-alert-org-forward-0b1c2d3e/9a8b7c6d",
        ] {
            let json = format!(
                r#"{{"eventSource":"cloudformation.amazonaws.com","eventName":"DeleteStack","requestParameters":{{"stackName":"{name}"}}}}"#
            );
            assert_eq!(
                org(&json),
                tamper(
                    Target::StackInstances,
                    "StackSet-login-alert-org-forward-0b1c2d3e"
                )
            );
        }
        let other = r#"{"eventSource":"cloudformation.amazonaws.com","eventName":"DeleteStack","requestParameters":{"stackName":"StackSet-someone-else-1"}}"#;
        assert_eq!(org(other), Org::Unrelated);
    }

    #[test]
    fn the_central_bus_its_policy_and_its_rule() {
        let cases = [
            (
                r#"{"eventSource":"events.amazonaws.com","eventName":"DeleteEventBus","requestParameters":{"name":"login-alert-central"}}"#,
                tamper(Target::EventBus, "login-alert-central"),
            ),
            (
                r#"{"eventSource":"events.amazonaws.com","eventName":"RemovePermission","requestParameters":{"eventBusName":"login-alert-central","statementId":"o-abc"}}"#,
                tamper(Target::EventBus, "login-alert-central"),
            ),
            (
                r#"{"eventSource":"events.amazonaws.com","eventName":"PutPermission","requestParameters":{"eventBusName":"arn:aws:events:eu-west-1:111111111111:event-bus/login-alert-central","policy":"{}"}}"#,
                tamper(Target::EventBus, "login-alert-central"),
            ),
            (
                r#"{"eventSource":"events.amazonaws.com","eventName":"PutRule","requestParameters":{"name":"exfiltrate","eventBusName":"login-alert-central"}}"#,
                tamper(Target::EventBus, "login-alert-central"),
            ),
            (
                r#"{"eventSource":"events.amazonaws.com","eventName":"RemoveTargets","requestParameters":{"rule":"login-alert-central","eventBusName":"login-alert-central","ids":["x"]}}"#,
                tamper(Target::CentralRule, "login-alert-central"),
            ),
            (
                r#"{"eventSource":"events.amazonaws.com","eventName":"DisableRule","requestParameters":{"name":"login-alert-org-forward"}}"#,
                tamper(Target::ForwardingRule, "login-alert-org-forward"),
            ),
            (
                r#"{"eventSource":"events.amazonaws.com","eventName":"DeleteEventBus","requestParameters":{"name":"orders"}}"#,
                Org::Unrelated,
            ),
            (
                r#"{"eventSource":"events.amazonaws.com","eventName":"PutPermission","requestParameters":{"policy":"{}"}}"#,
                Org::Unrelated,
            ),
            (
                r#"{"eventSource":"events.amazonaws.com","eventName":"DescribeEventBus","requestParameters":{"name":"login-alert-central"}}"#,
                Org::Unrelated,
            ),
        ];
        for (json, want) in cases {
            assert_eq!(org(json), want, "{json}");
        }
    }

    #[test]
    fn the_member_role_and_trusted_access() {
        assert_eq!(
            org(
                r#"{"eventSource":"iam.amazonaws.com","eventName":"PutRolePolicy","requestParameters":{"roleName":"login-alert-org-forward","policyName":"x"}}"#
            ),
            tamper(Target::MemberRole, "login-alert-org-forward")
        );
        assert_eq!(
            org(
                r#"{"eventSource":"organizations.amazonaws.com","eventName":"DisableAWSServiceAccess","requestParameters":{"servicePrincipal":"member.org.stacksets.cloudformation.amazonaws.com"}}"#
            ),
            tamper(Target::StackSet, STACKSETS_PRINCIPAL)
        );
        assert_eq!(
            org(
                r#"{"eventSource":"organizations.amazonaws.com","eventName":"DisableAWSServiceAccess","requestParameters":{"servicePrincipal":"config.amazonaws.com"}}"#
            ),
            Org::Unrelated
        );
    }

    #[test]
    fn stack_sets_deploying_the_template_is_not_tamper_but_a_person_in_that_role_is_not_excused() {
        let deploying = r#"{"eventSource":"events.amazonaws.com","eventName":"PutRule","sourceIPAddress":"cloudformation.amazonaws.com","userAgent":"cloudformation.amazonaws.com","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::222222222222:assumed-role/stacksets-exec-5c2b/1700000000","invokedBy":"cloudformation.amazonaws.com"},"requestParameters":{"name":"login-alert-org-forward"}}"#;
        assert_eq!(org(deploying), Org::Deployment);
        // The same role name without CloudFormation making the call: someone acting on their own.
        let by_hand = deploying
            .replace(
                r#""invokedBy":"cloudformation.amazonaws.com""#,
                r#""invokedBy":"x""#,
            )
            .replace(
                "cloudformation.amazonaws.com\",\"userAgent\":\"cloudformation.amazonaws.com",
                "203.0.113.9\",\"userAgent\":\"aws-cli/2",
            );
        assert_eq!(
            org(&by_hand),
            tamper(Target::ForwardingRule, "login-alert-org-forward")
        );
        // A StackSet call in the management account is never excused by the caller's name.
        let stack_set = r#"{"eventSource":"cloudformation.amazonaws.com","eventName":"DeleteStackSet","userAgent":"cloudformation.amazonaws.com","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111111111111:assumed-role/stacksets-exec-5c2b/1","invokedBy":"cloudformation.amazonaws.com"},"requestParameters":{"stackSetName":"login-alert-org-forward"}}"#;
        assert_eq!(
            org(stack_set),
            tamper(Target::StackSet, "login-alert-org-forward")
        );
    }
}

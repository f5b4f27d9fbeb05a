//! Tampering with organization coverage (issue #17): the StackSet and its instances, the central bus with its
//! policy and rule, and a member account's forwarding rule and role. The records are published CloudTrail shapes
//! varied to name login-alert's resources (`tests/fixtures/SOURCES.md`, "organization/").

use crate::messages::log_file;
use crate::support::events::fixtures_dir;

use chrono_tz::Tz;
use login_alert_handler::settings::Pipeline;
use login_alert_handler::{Language, PreviewFormat, Settings, preview};
use serde_json::Value;

/// Each fixture with the subkind it must get and the account it happened in.
const CASES: [(&str, &str, &str); 9] = [
    ("aws-cfn-ug__update-stack-set", "stack-set", MANAGEMENT),
    (
        "elastic-aws-cloudtrail__disable-stacksets-trusted-access",
        "stack-set",
        MANAGEMENT,
    ),
    (
        "aws-cfn-ug__delete-stack-instances",
        "stack-instances",
        MANAGEMENT,
    ),
    ("aws-cfn-ug__delete-stack-member", "stack-instances", MEMBER),
    ("aws-cwe-ug__delete-event-bus", "event-bus", MANAGEMENT),
    (
        "aws-cwe-ug__remove-permission-central-bus",
        "event-bus",
        MANAGEMENT,
    ),
    (
        "aws-cwe-ug__remove-targets-central-rule",
        "central-rule",
        MANAGEMENT,
    ),
    ("aws-cwe-ug__disable-rule-member", "forwarding-rule", MEMBER),
    (
        "elastic-aws-cloudtrail__delete-role-policy-member",
        "member-role",
        MEMBER,
    ),
];

const MANAGEMENT: &str = "111111111111";
const MEMBER: &str = "222222222222";

/// A fixture of `tests/fixtures/organization/`, as one compact record.
pub fn org_fixture(name: &str) -> String {
    let path = fixtures_dir()
        .join("organization")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str::<Value>(&text)
        .expect("fixture is JSON")
        .to_string()
}

/// Every fixture of `tests/fixtures/organization/` by name, so a new one cannot be left out of [`CASES`].
pub fn org_fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir().join("organization"))
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".json")
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

fn settings(language: Language) -> Settings {
    let mut names = std::collections::BTreeMap::new();
    names.insert(MANAGEMENT.to_owned(), "management".to_owned());
    names.insert(MEMBER.to_owned(), "sandbox".to_owned());
    Settings {
        account_names: names,
        home_account: Some(MANAGEMENT.into()),
        timezone: Tz::Asia__Tokyo,
        language,
        pipeline: Pipeline {
            name_prefix: Some("login-alert".into()),
            trail_name: Some("org-trail".into()),
            trail_log_group: Some("/login-alert/cloudtrail".into()),
        },
        ..Settings::default()
    }
}

fn classified(input: &[u8], settings: &Settings) -> Vec<Value> {
    let out = preview(input, settings, PreviewFormat::Json).expect("readable");
    assert!(out.problems.is_empty(), "{:?}", out.problems);
    serde_json::from_str(&out.output).unwrap()
}

#[test]
fn every_change_to_organization_coverage_is_tamper_with_its_subkind_and_account() {
    let mut listed: Vec<&str> = CASES.iter().map(|(name, _, _)| *name).collect();
    listed.sort();
    assert_eq!(org_fixture_names(), listed, "each fixture has a case");
    for (name, subkind, account) in CASES {
        let items = classified(org_fixture(name).as_bytes(), &settings(Language::En));
        let item = &items[0];
        assert_eq!(item["kind"], "tamper", "{name}: {item}");
        assert_eq!(item["subkind"], subkind, "{name}");
        assert_eq!(item["account_id"], account, "{name}");
        assert_eq!(item["alert"], true, "{name}");
        assert_eq!(item["severity"], "critical", "{name}");
        assert_eq!(item["by_login_alert"], false, "{name}");
    }
}

#[test]
fn the_same_calls_on_other_resources_or_another_prefix_are_not_tamper() {
    let other = Settings {
        pipeline: Pipeline {
            name_prefix: Some("alerts".into()),
            ..settings(Language::En).pipeline
        },
        ..settings(Language::En)
    };
    // Trusted access for StackSets names no resource: it is tamper whatever the prefix.
    for (name, _, _) in CASES
        .iter()
        .filter(|(n, _, _)| !n.contains("trusted-access"))
    {
        let items = classified(org_fixture(name).as_bytes(), &other);
        assert_ne!(items[0]["kind"], "tamper", "{name} with prefix `alerts`");
    }
}

#[test]
fn login_alerts_own_stack_set_calls_say_so() {
    let mut record: Value =
        serde_json::from_str(&org_fixture("aws-cfn-ug__delete-stack-instances")).unwrap();
    record["userAgent"] =
        Value::from("aws-sdk-rust/1.3.9 os/linux lang/rust/1.95.0 app/login-alert");
    let items = classified(record.to_string().as_bytes(), &settings(Language::En));
    assert_eq!(items[0]["kind"], "tamper");
    assert_eq!(items[0]["by_login_alert"], true);
    assert_eq!(items[0]["severity"], "info");
}

#[test]
fn a_member_record_forwarded_through_the_central_bus_keeps_its_account() {
    // The central bus's rule invokes the function with the event as the member's bus put it; even if the
    // envelope named the management account, the record's own account is the one that changed.
    let record: Value =
        serde_json::from_str(&org_fixture("aws-cwe-ug__disable-rule-member")).unwrap();
    let event = serde_json::json!({
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.events",
        "account": MANAGEMENT,
        "time": "2015-11-18T00:11:28Z",
        "region": "us-east-1",
        "resources": [],
        "detail": record,
    });
    let items = classified(event.to_string().as_bytes(), &settings(Language::En));
    assert_eq!(items[0]["kind"], "tamper");
    assert_eq!(items[0]["subkind"], "forwarding-rule");
    assert_eq!(items[0]["account_id"], MEMBER);
    assert_eq!(items[0]["account_name"], "sandbox");
}

#[test]
fn stack_sets_deploying_the_member_template_does_not_alert() {
    // What a template update looks like in a member account: CloudFormation, in StackSets' execution role,
    // puts the forwarding rule again. The UpdateStackSet that caused it is the record that alerts.
    let mut record: Value =
        serde_json::from_str(&org_fixture("aws-cwe-ug__disable-rule-member")).unwrap();
    record["eventName"] = Value::from("PutRule");
    record["sourceIPAddress"] = Value::from("cloudformation.amazonaws.com");
    record["userAgent"] = Value::from("cloudformation.amazonaws.com");
    record["userIdentity"] = serde_json::json!({
        "type": "AssumedRole",
        "arn": format!("arn:aws:sts::{MEMBER}:assumed-role/stacksets-exec-5c2b0e6d/1700000000"),
        "accountId": MEMBER,
        "invokedBy": "cloudformation.amazonaws.com",
    });
    let items = classified(record.to_string().as_bytes(), &settings(Language::En));
    assert_eq!(items[0]["kind"], "ignore", "{}", items[0]);
    assert_eq!(items[0]["alert"], false);
}

#[test]
fn organization_tamper_messages_in_both_languages() {
    let records: Vec<String> = [
        "aws-cfn-ug__update-stack-set",
        "aws-cwe-ug__remove-permission-central-bus",
        "aws-cwe-ug__disable-rule-member",
        "elastic-aws-cloudtrail__delete-role-policy-member",
        "aws-cfn-ug__delete-stack-member",
    ]
    .iter()
    .map(|name| org_fixture(name))
    .collect();
    let input = log_file(&records);
    let render = |language| {
        let out = preview(&input, &settings(language), PreviewFormat::Email).expect("readable");
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        out.output
    };
    let english = render(Language::En);
    let japanese = render(Language::Ja);
    // The member account is named in the title, by its Organizations name.
    assert!(
        english.contains(
            "TAMPERING: DisableRule on login-alert's forwarding rule login-alert-org-forward in account sandbox (222222222222)"
        ),
        "{english}"
    );
    assert!(
        japanese.contains("（アカウント: sandbox (222222222222)）"),
        "{japanese}"
    );
    insta::assert_snapshot!(format!(
        "=== email (en)\n{english}\n=== email (ja)\n{japanese}\n"
    ));
}

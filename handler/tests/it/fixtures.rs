//! Every published fixture classified as a person would expect, in every scope; email and Slack renderings as snapshots.

use crate::support::events as common;

use chrono_tz::Tz;
use login_alert_handler::{PreviewFormat, Scope, Settings, preview};
use serde_json::Value;

use common::*;

struct Expect {
    file: &'static str,
    kind: &'static str,
    subkind: Option<&'static str>,
    identity: Option<&'static str>,
    success: Option<bool>,
    mfa: Option<bool>,
    /// Whether the scopes all / failures-and-root / root-only alert.
    alerts: [bool; 3],
    no_mfa_warning: bool,
}

#[allow(clippy::too_many_arguments)]
const fn e(
    file: &'static str,
    kind: &'static str,
    subkind: Option<&'static str>,
    identity: Option<&'static str>,
    success: Option<bool>,
    mfa: Option<bool>,
    alerts: [bool; 3],
    no_mfa_warning: bool,
) -> Expect {
    Expect {
        file,
        kind,
        subkind,
        identity,
        success,
        mfa,
        alerts,
        no_mfa_warning,
    }
}

const ROOT_111: Option<&str> = Some("arn:aws:iam::111122223333:root");
const ROOT_123: Option<&str> = Some("arn:aws:iam::123456789012:root");
const Y: Option<bool> = Some(true);
const N: Option<bool> = Some(false);
const ALL: [bool; 3] = [true, true, true];
const ONLY_ALL: [bool; 3] = [true, false, false];
const FAILURES: [bool; 3] = [true, true, false];
const NONE: [bool; 3] = [false, false, false];

const EXPECTED: &[Expect] = &[
    e(
        "aws-ct-ug__iam-user-check-mfa",
        "other-signin",
        None,
        Some("anaya"),
        Y,
        None,
        ONLY_ALL,
        false,
    ),
    e(
        "aws-ct-ug__iam-user-failure",
        "console-login-failure",
        None,
        Some("anaya"),
        N,
        Y,
        FAILURES,
        false,
    ),
    e(
        "aws-ct-ug__iam-user-success-mfa",
        "console-login-success",
        None,
        Some("anaya"),
        Y,
        Y,
        ONLY_ALL,
        false,
    ),
    e(
        "aws-ct-ug__iam-user-success-no-mfa.logfile",
        "console-login-success",
        None,
        Some("anaya"),
        Y,
        N,
        ONLY_ALL,
        true,
    ),
    e(
        "aws-ct-ug__root-enable-mfa-device",
        "root-activity",
        Some("mfa-added"),
        ROOT_111,
        Y,
        N,
        ALL,
        false,
    ),
    e(
        "aws-ct-ug__root-failure",
        "console-login-failure",
        None,
        ROOT_111,
        N,
        N,
        ALL,
        false,
    ),
    e(
        "aws-ct-ug__root-password-updated",
        "root-activity",
        Some("password-change"),
        ROOT_111,
        Y,
        None,
        ALL,
        false,
    ),
    e(
        "aws-ct-ug__root-success-no-mfa",
        "console-login-success",
        None,
        ROOT_111,
        Y,
        N,
        ALL,
        true,
    ),
    e(
        "aws-iam-ug-privileged__assume-root",
        "root-activity",
        Some("assume-root"),
        Some("JohnDoe/JohnRole1"),
        None,
        N,
        ALL,
        false,
    ),
    e(
        "aws-iam-ug-privileged__root-session-delete-bucket-policy",
        "root-activity",
        None,
        Some("arn:aws:iam::222222222222:root"),
        Y,
        N,
        ALL,
        false,
    ),
    e(
        "aws-iam-ug__failure-hidden-user-name",
        "console-login-failure",
        None,
        Some("HIDDEN_DUE_TO_SECURITY_REASONS"),
        N,
        N,
        FAILURES,
        false,
    ),
    e(
        "aws-transfer-ug__identity-center-credential-verification",
        "other-signin",
        None,
        Some("demo-user-2"),
        Y,
        None,
        ONLY_ALL,
        false,
    ),
    e(
        "aws-workspaces-ag__credential-challenge-password",
        "other-signin",
        None,
        Some("exampleuser"),
        Y,
        None,
        ONLY_ALL,
        false,
    ),
    e(
        "aws-workspaces-ag__credential-verification-password",
        "other-signin",
        None,
        Some("exampleuser"),
        Y,
        None,
        ONLY_ALL,
        false,
    ),
    e(
        "aws-workspaces-ag__credential-verification-smartcard-failure",
        "other-signin",
        None,
        Some("509318101470"),
        N,
        None,
        FAILURES,
        false,
    ),
    e(
        "aws-workspaces-ag__user-authentication-password",
        "other-signin",
        None,
        Some("exampleuser"),
        Y,
        None,
        ONLY_ALL,
        false,
    ),
    e(
        "awslabs-lambda-events__sso-role-invoked-by-service-catalog",
        "ignore",
        None,
        Some("me@dev.com"),
        Y,
        N,
        NONE,
        false,
    ),
    e(
        "awslabs-lambda-events__unknown-user-authentication",
        "other-signin",
        None,
        Some("123456789000"),
        Y,
        None,
        ONLY_ALL,
        false,
    ),
    e(
        "elastic-aws-cloudtrail__attach-role-policy",
        "ignore",
        None,
        Some("test@elastic.co"),
        Y,
        None,
        NONE,
        false,
    ),
    e(
        "elastic-aws-cloudtrail__delete-log-group",
        "ignore",
        None,
        Some("test@elastic.co"),
        Y,
        None,
        NONE,
        false,
    ),
    e(
        "elastic-aws-cloudtrail__delete-rule",
        "ignore",
        None,
        Some("test@elastic.co"),
        Y,
        None,
        NONE,
        false,
    ),
    e(
        "elastic-aws-cloudtrail__iam-user-deactivate-own-mfa",
        "ignore",
        None,
        Some("Alice"),
        Y,
        Y,
        NONE,
        false,
    ),
    e(
        "elastic-aws-cloudtrail__identity-center-user-authentication",
        "other-signin",
        None,
        Some("redacted@example.com"),
        Y,
        None,
        ONLY_ALL,
        false,
    ),
    e(
        "elastic-aws-cloudtrail__subscribe-other-topic",
        "ignore",
        None,
        Some("pwncloud-backdoor-user"),
        Y,
        None,
        NONE,
        false,
    ),
    e(
        "elastic-aws-cloudtrail__update-trail-console",
        "tamper",
        Some("trail"),
        Some("Alice"),
        Y,
        Y,
        ALL,
        false,
    ),
    e(
        "elastic-aws-cloudtrail__update-trail-not-found",
        "tamper",
        Some("trail"),
        Some("Alice"),
        N,
        None,
        ALL,
        false,
    ),
    e(
        "github-switchrole-walkthrough__assumed-role-switch",
        "switch-role",
        None,
        Some("bob@example.com"),
        Y,
        None,
        ONLY_ALL,
        false,
    ),
    e(
        "ibm-qradar-sample__root-attach-user-policy-invoked-by-service",
        "ignore",
        None,
        Some("arn:aws:iam::555555555555:root"),
        Y,
        N,
        NONE,
        false,
    ),
    e(
        "panther-backdoor-lambda-function__add-permission-other-function",
        "ignore",
        None,
        Some("tester"),
        Y,
        Y,
        NONE,
        false,
    ),
    e(
        "panther-cloudtrail-event-selectors-disabled__put-event-selectors",
        "tamper",
        Some("trail"),
        Some("leroy.jenkins"),
        Y,
        N,
        ALL,
        false,
    ),
    e(
        "panther-cloudtrail-stopped__start-logging",
        "ignore",
        None,
        Some("tester"),
        Y,
        N,
        NONE,
        false,
    ),
    e(
        "panther-cloudtrail-stopped__stop-logging",
        "tamper",
        Some("trail"),
        Some("tester"),
        Y,
        Y,
        ALL,
        false,
    ),
    e(
        "panther-cloudtrail-stopped__stop-logging-denied",
        "tamper",
        Some("trail"),
        Some("tester"),
        N,
        Y,
        ALL,
        false,
    ),
    e(
        "panther-console-login-without-mfa__assumed-role-from-mfa-session",
        "console-login-success",
        None,
        None,
        Y,
        N,
        ONLY_ALL,
        false,
    ),
    e(
        "panther-console-login-without-mfa__iam-user",
        "console-login-success",
        None,
        Some("tester"),
        Y,
        N,
        ONLY_ALL,
        true,
    ),
    e(
        "panther-console-login-without-mfa__iam-user-saml-provider",
        "console-login-success",
        None,
        Some("tester"),
        Y,
        N,
        ONLY_ALL,
        false,
    ),
    e(
        "panther-console-login-without-mfa__no-time-no-result",
        "console-login-success",
        None,
        Some("tester@example.com"),
        None,
        Y,
        ONLY_ALL,
        false,
    ),
    e(
        "panther-console-login-without-mfa__role-external-idp",
        "console-login-success",
        None,
        Some("1641313043312360000"),
        Y,
        N,
        ONLY_ALL,
        false,
    ),
    e(
        "panther-console-login-without-mfa__sso-v2",
        "console-login-success",
        None,
        Some("foo@bar.com"),
        Y,
        N,
        ONLY_ALL,
        false,
    ),
    e(
        "panther-console-login-without-saml__saml-assumed-role",
        "console-login-success",
        None,
        Some("tester@domain.tld"),
        Y,
        N,
        ONLY_ALL,
        false,
    ),
    e(
        "panther-console-root-login-failed__dynamodb-describe-table",
        "ignore",
        None,
        Some("tester"),
        Y,
        Y,
        NONE,
        false,
    ),
    e(
        "panther-console-signin__sso-authenticate",
        "ignore",
        None,
        None,
        None,
        None,
        NONE,
        false,
    ),
    e(
        "panther-lambda-crud__delete-other-function",
        "ignore",
        None,
        Some("myUserName"),
        Y,
        None,
        NONE,
        false,
    ),
    e(
        "panther-root-access-key-created__key-for-iam-user",
        "root-activity",
        None,
        ROOT_123,
        Y,
        Y,
        ALL,
        false,
    ),
    e(
        "panther-root-access-key-created__own-key",
        "root-activity",
        Some("access-key-created"),
        ROOT_123,
        Y,
        Y,
        ALL,
        false,
    ),
    e(
        "panther-root-activity__iam-user-get-bucket-acl",
        "ignore",
        None,
        Some("tester"),
        Y,
        N,
        NONE,
        false,
    ),
    e(
        "panther-root-activity__put-bucket-versioning",
        "root-activity",
        None,
        ROOT_123,
        Y,
        N,
        ALL,
        true,
    ),
    e(
        "panther-root-activity__root-failed-external-idp-login-redacted",
        "root-activity",
        None,
        Some("arn:aws:iam::redacted:root"),
        N,
        None,
        ALL,
        false,
    ),
    e(
        "panther-root-activity__root-list-access-keys",
        "root-activity",
        None,
        ROOT_123,
        Y,
        None,
        ALL,
        false,
    ),
    e(
        "panther-root-password-changed__failed",
        "root-activity",
        Some("password-change"),
        ROOT_123,
        N,
        None,
        ALL,
        false,
    ),
    e(
        "panther-security-configuration-change__delete-trail",
        "tamper",
        Some("trail"),
        Some("example-user"),
        Y,
        Y,
        ALL,
        false,
    ),
    e(
        "panther-unsuccessful-mfa-attempt__failure-with-mfa",
        "console-login-failure",
        None,
        Some("anaya"),
        N,
        Y,
        FAILURES,
        false,
    ),
    e(
        "panther-unsuccessful-mfa-attempt__success-with-security-key",
        "console-login-success",
        None,
        Some("anaya"),
        Y,
        Y,
        ONLY_ALL,
        false,
    ),
];

fn settings(scope: Scope) -> Settings {
    Settings {
        account_name: Some("prod".into()),
        timezone: Tz::Asia__Tokyo,
        scope,
        ..Settings::default()
    }
}

fn classify(input: &[u8], scope: Scope) -> Vec<Value> {
    let out =
        preview(input, &settings(scope), PreviewFormat::Json).expect("fixture input is readable");
    assert!(out.problems.is_empty(), "{:?}", out.problems);
    match serde_json::from_str(&out.output).expect("preview json is JSON") {
        Value::Array(items) => items,
        other => panic!("expected an array, got {other}"),
    }
}

#[test]
fn fixtures_cover_every_kind_and_identity_type() {
    assert!(EXPECTED.len() >= 25, "at least 25 published records");
    assert_eq!(
        fixture_names(),
        EXPECTED
            .iter()
            .map(|e| e.file.to_owned())
            .collect::<Vec<_>>(),
        "every fixture has an expectation"
    );
    // `test` is login-alert's own synthetic record: no third party publishes one (see tests/tamper_test.rs).
    for kind in login_alert_handler::preview::KINDS
        .into_iter()
        .filter(|k| *k != login_alert_handler::Kind::Test)
    {
        assert!(
            EXPECTED.iter().any(|e| e.kind == kind.as_str()),
            "no fixture of kind {kind}"
        );
    }
    let user_types: Vec<String> = EXPECTED
        .iter()
        .flat_map(|e| classify(fixture(e.file).as_bytes(), Scope::All))
        .filter_map(|c| c["user_type"].as_str().map(str::to_owned))
        .collect();
    for wanted in [
        "IAMUser",
        "Root",
        "AssumedRole",
        "Unknown",
        "IdentityCenterUser",
    ] {
        assert!(
            user_types.iter().any(|t| t == wanted),
            "no fixture with user type {wanted}"
        );
    }
}

#[test]
fn every_fixture_is_classified_as_expected_in_every_scope() {
    for expect in EXPECTED {
        for (scope, alert) in Scope::ALL.into_iter().zip(expect.alerts) {
            let items = classify(fixture(expect.file).as_bytes(), scope);
            assert_eq!(items.len(), 1, "{}", expect.file);
            let got = &items[0];
            let ctx = format!("{} ({scope}): {got}", expect.file);
            assert_eq!(got["kind"], expect.kind, "{ctx}");
            assert_eq!(got["subkind"].as_str(), expect.subkind, "{ctx}");
            assert_eq!(got["identity"].as_str(), expect.identity, "{ctx}");
            assert_eq!(got["success"].as_bool(), expect.success, "{ctx}");
            assert_eq!(got["mfa"].as_bool(), expect.mfa, "{ctx}");
            assert_eq!(got["alert"], alert, "{ctx}");
        }
    }
}

#[test]
fn no_mfa_warning_only_where_mfa_was_possible_and_skipped() {
    for expect in EXPECTED.iter().filter(|e| e.alerts[0]) {
        let email = preview(
            fixture(expect.file).as_bytes(),
            &settings(Scope::All),
            PreviewFormat::Email,
        )
        .unwrap();
        let warned = email.output.contains("did not use MFA");
        assert_eq!(
            warned, expect.no_mfa_warning,
            "{}:\n{}",
            expect.file, email.output
        );
        let subject_says = email
            .output
            .lines()
            .next()
            .unwrap_or("")
            .contains("without MFA");
        assert_eq!(subject_says, expect.no_mfa_warning, "{}", expect.file);
    }
}

#[test]
fn eventbridge_and_cloudwatch_logs_wrapping_give_the_same_classification() {
    let mut records = Vec::new();
    let mut expected = Vec::new();
    for expect in EXPECTED {
        for record in fixture_records(expect.file) {
            let eventbridge = serde_json::json!({
                "version": "0", "id": "6f3b2f4c", "detail-type": "AWS Console Sign In via CloudTrail",
                "source": "aws.signin", "account": "123456789012", "time": "2019-01-01T00:00:00Z",
                "region": "us-east-1", "resources": [], "detail": serde_json::from_str::<Value>(&record).unwrap(),
            });
            let direct = classify(record.as_bytes(), Scope::All);
            // The envelope names the region (and account) where the event happened: it stands in for a record
            // that lacks them, and never overrides them.
            let mut enveloped = direct.clone();
            for item in &mut enveloped {
                if item["region"].is_null() {
                    item["region"] = Value::from("us-east-1");
                }
                if item["account_id"].is_null() {
                    item["account_id"] = Value::from("123456789012");
                }
            }
            assert_eq!(
                classify(eventbridge.to_string().as_bytes(), Scope::All),
                enveloped,
                "{}",
                expect.file
            );
            expected.extend(direct);
            records.push(record);
        }
    }
    for integer_ids in [false, true] {
        let batch = classify(&cloudwatch_event(&records, integer_ids), Scope::All);
        // Only a record without eventTime differs: the log event's timestamp stands in for it. And what a
        // sign-in's baseline found: in a batch it follows the sign-ins before it (anaya's success comes after
        // her failure there), alone it is each identity's first.
        let strip = |items: Vec<Value>| -> Vec<Value> {
            items
                .into_iter()
                .map(|mut v| {
                    if let Some(object) = v.as_object_mut() {
                        object.remove("new");
                        object.remove("after_failures");
                    }
                    v["event_time"] = Value::Null;
                    v
                })
                .collect()
        };
        assert_eq!(
            strip(batch),
            strip(expected.clone()),
            "integer ids: {integer_ids}"
        );
    }
}

/// Pretty JSON with keys sorted: `serde_json::Value` keeps insertion order when another crate in the
/// workspace turns on serde_json's `preserve_order` (aws-smithy-http-client does), and sorted otherwise.
fn pretty(json: &str) -> String {
    fn sorted(value: Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(String, Value)> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
            }
            Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
            other => other,
        }
    }
    serde_json::to_string_pretty(&sorted(serde_json::from_str::<Value>(json).unwrap())).unwrap()
}

/// One representative of each situation a reader must tell apart.
const SNAPSHOTS: &[&str] = &[
    "aws-ct-ug__root-success-no-mfa",
    "aws-ct-ug__root-failure",
    "aws-iam-ug__failure-hidden-user-name",
    "aws-ct-ug__iam-user-success-mfa",
    "aws-ct-ug__iam-user-success-no-mfa.logfile",
    "panther-console-login-without-mfa__sso-v2",
    "panther-console-login-without-saml__saml-assumed-role",
    "github-switchrole-walkthrough__assumed-role-switch",
    "panther-root-activity__put-bucket-versioning",
    "aws-workspaces-ag__credential-verification-smartcard-failure",
    "aws-transfer-ug__identity-center-credential-verification",
    "panther-root-activity__root-failed-external-idp-login-redacted",
];

#[test]
fn email_renderings() {
    for name in SNAPSHOTS {
        let out = preview(
            fixture(name).as_bytes(),
            &settings(Scope::All),
            PreviewFormat::Email,
        )
        .unwrap();
        let subject = out
            .output
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("Subject: ");
        assert!(
            subject.is_ascii() && subject.len() < 100,
            "{name}: {subject}"
        );
        insta::assert_snapshot!(format!("email__{name}"), out.output);
    }
}

#[test]
fn slack_renderings() {
    for name in SNAPSHOTS {
        let out = preview(
            fixture(name).as_bytes(),
            &settings(Scope::All),
            PreviewFormat::Slack,
        )
        .unwrap();
        let payloads: Vec<&str> = out.output.lines().collect();
        assert_eq!(payloads.len(), 1, "{name}");
        insta::assert_snapshot!(format!("slack__{name}"), pretty(payloads[0]));
    }
}

#[test]
fn classification_of_all_fixtures_as_one_log_file() {
    let records: Vec<Value> = EXPECTED
        .iter()
        .flat_map(|e| fixture_records(e.file))
        .map(|r| serde_json::from_str(&r).unwrap())
        .collect();
    let log_file = serde_json::json!({ "Records": records }).to_string();
    let out = preview(
        log_file.as_bytes(),
        &settings(Scope::FailuresAndRoot),
        PreviewFormat::Json,
    )
    .unwrap();
    insta::assert_snapshot!("json__all_fixtures_failures_and_root", out.output);
    let text = preview(
        log_file.as_bytes(),
        &settings(Scope::All),
        PreviewFormat::Text,
    )
    .unwrap();
    insta::assert_snapshot!("text__all_fixtures", text.output);
}

//! Events with no published record to copy (see fixtures/SOURCES.md): each is a published record of the same
//! family with only its `eventName` (and, for the log group, the configured trail group) changed, classified and
//! titled as a reader should see it.

use crate::support::events as common;

use login_alert_handler::settings::Pipeline;
use login_alert_handler::{PreviewFormat, Scope, Settings, preview};
use serde_json::Value;

use common::*;

fn varied(fixture_name: &str, event_name: &str) -> String {
    let mut record: Value = serde_json::from_str(&fixture_records(fixture_name).remove(0)).unwrap();
    record["eventName"] = Value::from(event_name);
    record.to_string()
}

fn read(record: &str, settings: &Settings) -> (Value, String) {
    let json = preview(record.as_bytes(), settings, PreviewFormat::Json).unwrap();
    let classification: Vec<Value> = serde_json::from_str(&json.output).unwrap();
    let email = preview(record.as_bytes(), settings, PreviewFormat::Email).unwrap();
    let subject = email
        .output
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("Subject: ")
        .to_owned();
    (classification[0].clone(), subject)
}

#[test]
fn root_credential_changes_have_their_own_subkind_and_title_in_every_scope() {
    let cases = [
        (
            "aws-ct-ug__root-password-updated",
            "PasswordRecoveryRequested",
            "password-recovery-requested",
            "Root password recovery requested",
        ),
        (
            "aws-ct-ug__root-password-updated",
            "PasswordRecoveryCompleted",
            "password-recovery-completed",
            "Root password reset by recovery",
        ),
        (
            "aws-ct-ug__root-password-updated",
            "EmailUpdated",
            "email-change",
            "Root email address changed",
        ),
        (
            "aws-ct-ug__root-enable-mfa-device",
            "UpdateAccountEmailAddress",
            "email-change",
            "Root email address changed",
        ),
        (
            "aws-ct-ug__root-enable-mfa-device",
            "ChangePassword",
            "password-change",
            "Root password changed",
        ),
        (
            "aws-ct-ug__root-enable-mfa-device",
            "CreateVirtualMFADevice",
            "mfa-added",
            "Root MFA device added",
        ),
        (
            "aws-ct-ug__root-enable-mfa-device",
            "DeactivateMFADevice",
            "mfa-removed",
            "Root MFA device removed",
        ),
        (
            "aws-ct-ug__root-enable-mfa-device",
            "DeleteVirtualMFADevice",
            "mfa-removed",
            "Root MFA device removed",
        ),
    ];
    let settings = Settings {
        scope: Scope::RootOnly,
        ..Settings::default()
    };
    for (fixture_name, event, subkind, title) in cases {
        let (got, subject) = read(&varied(fixture_name, event), &settings);
        assert_eq!(got["kind"], "root-activity", "{event}: {got}");
        assert_eq!(got["subkind"], subkind, "{event}");
        assert_eq!(got["alert"], true, "{event}");
        assert_eq!(subject, format!("[111122223333] {title}"), "{event}");
    }
}

#[test]
fn the_remaining_tamper_calls_are_recognised() {
    let settings = Settings {
        pipeline: Pipeline {
            name_prefix: Some("login-alert".into()),
            trail_name: None,
            trail_log_group: Some("cloudtrail-log-group-test".into()),
        },
        scope: Scope::RootOnly,
        ..Settings::default()
    };
    let (got, subject) = read(
        &varied(
            "panther-cloudtrail-event-selectors-disabled__put-event-selectors",
            "PutAdvancedEventSelectors",
        ),
        &settings,
    );
    assert_eq!(
        (got["kind"].as_str(), got["subkind"].as_str()),
        (Some("tamper"), Some("trail"))
    );
    assert!(
        subject.contains("TAMPERING: PutAdvancedEventSelectors on trail"),
        "{subject}"
    );

    let (got, subject) = read(
        &varied(
            "elastic-aws-cloudtrail__delete-log-group",
            "DeleteSubscriptionFilter",
        ),
        &settings,
    );
    assert_eq!(
        (got["kind"].as_str(), got["subkind"].as_str()),
        (Some("tamper"), Some("trail-log-group"))
    );
    assert_eq!(
        subject,
        "[000000000] TAMPERING: DeleteSubscriptionFilter on the trail's log group cloudtrail-log-group-test"
    );

    // The same call on a log group that is not the trail's stays quiet.
    let other = Settings {
        pipeline: Pipeline::default(),
        ..settings
    };
    let (got, _) = read(
        &varied(
            "elastic-aws-cloudtrail__delete-log-group",
            "DeleteSubscriptionFilter",
        ),
        &other,
    );
    assert_eq!(got["kind"], "ignore");
}

//! `login-alert preview` as a user runs it: every output format on published records, flags over config, clear errors.

use std::io::Write;
use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("handler/tests/fixtures")
        .join(format!("{name}.json"))
}

/// Runs in an empty directory so no `login-alert.toml` of the developer's leaks in.
fn cli(dir: &tempfile::TempDir) -> Command {
    let mut cmd = Command::cargo_bin("login-alert").expect("the CLI binary is built");
    cmd.current_dir(dir.path())
        .env_remove("LOGIN_ALERT_CONFIG")
        .env("NO_COLOR", "1");
    cmd
}

#[test]
fn json_output_is_the_classification_contract() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(&dir)
        .args(["preview", "--output", "json"])
        .arg(fixture("aws-ct-ug__root-success-no-mfa"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The contract's first fields, unchanged; fields are only ever added after them.
    let mut item = items[0].as_object().unwrap().clone();
    let added: Vec<String> = item
        .keys()
        .filter(|k| {
            ![
                "kind",
                "event_name",
                "event_time",
                "user_type",
                "identity",
                "account_id",
                "region",
                "source_ip",
                "success",
                "mfa",
                "alert",
            ]
            .contains(&k.as_str())
        })
        .cloned()
        .collect();
    for key in &added {
        item.remove(key);
    }
    assert_eq!(
        serde_json::Value::Object(item),
        serde_json::json!({
            "kind": "console-login-success", "event_name": "ConsoleLogin", "event_time": "2018-08-29T16:24:34Z",
            "user_type": "Root", "identity": "arn:aws:iam::111122223333:root", "account_id": "111122223333",
            "region": "us-east-1", "source_ip": "192.0.2.0", "success": true, "mfa": false, "alert": true
        })
    );
    assert_eq!(items[0]["severity"], "critical");
    assert_eq!(items[0]["event_id"], "deb1e1f9-c99b-4612-8e9f-21f93b5d79c0");
}

#[test]
fn json_output_is_valid_json_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for input in [
        r#"{"awslogs":{"data":"!!!not base64"}}"#,
        r#"{"Records":[{"eventName":"ConsoleLogin"}"#,
        "not json at all",
    ] {
        cli(&dir)
            .args(["preview", "--output", "json", "-"])
            .write_stdin(input)
            .assert()
            .failure()
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains("cannot preview"));
    }
}

#[test]
fn an_endless_input_is_refused_once_it_passes_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    cli(&dir)
        .args(["preview", "/dev/zero"])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .failure()
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("/dev/zero holds more than 64 MiB"));
    cli(&dir)
        .args(["preview", "-"])
        .write_stdin(vec![b' '; 64 * 1024 * 1024 + 1])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .failure()
        .stderr(predicate::str::contains("stdin holds more than 64 MiB"));
}

#[test]
fn language_teams_and_webhook_outputs() {
    let dir = tempfile::tempdir().unwrap();
    cli(&dir)
        .args(["preview", "--output", "email", "--language", "ja"])
        .arg(fixture("aws-ct-ug__root-success-no-mfa"))
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "Subject: [111122223333] Root console sign-in succeeded without MFA\n",
        ))
        .stdout(predicate::str::contains(
            "AWSルートユーザーログイン検知（MFAなし）",
        ));
    cli(&dir)
        .args(["preview", "--output", "teams"])
        .arg(fixture("aws-ct-ug__root-success-no-mfa"))
        .assert()
        .success()
        .stdout(predicate::str::contains("\"AdaptiveCard\""));
    cli(&dir)
        .args(["preview", "--output", "webhook"])
        .arg(fixture("aws-ct-ug__root-success-no-mfa"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "\"kind\":\"console-login-success\"",
        ));
    cli(&dir)
        .args(["preview", "--language", "fr"])
        .arg(fixture("aws-ct-ug__root-success-no-mfa"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("use en or ja"));
}

#[test]
fn email_uses_flags_for_account_name_and_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    cli(&dir)
        .args([
            "preview",
            "--output",
            "email",
            "--account-name",
            "prod",
            "--timezone",
            "Asia/Tokyo",
        ])
        .arg(fixture("aws-ct-ug__root-success-no-mfa"))
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "Subject: [prod] Root console sign-in succeeded without MFA\n",
        ))
        .stdout(predicate::str::contains(
            "2018-08-30 01:24:34 JST (Asia/Tokyo)",
        ))
        .stdout(predicate::str::contains("2018-08-29 16:24:34 UTC"));
}

#[test]
fn config_file_supplies_defaults_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = std::fs::File::create(dir.path().join("login-alert.toml")).unwrap();
    writeln!(
        config,
        "region = \"us-east-1\"\naccount_name = \"staging\"\ntimezone = \"Europe/Paris\"\nscope = \"root-only\"\n\n[trail]\ncreate = true\n\n[notify]\nemails = [\"ops@example.com\"]\n"
    )
    .unwrap();
    // root-only from the config: an IAM user's failure does not alert, so nothing would be sent.
    cli(&dir)
        .args(["preview", "--output", "slack"])
        .arg(fixture("aws-ct-ug__iam-user-failure"))
        .assert()
        .success()
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("root-only"));
    // --scope on the command line wins over the config; the account name still comes from it.
    cli(&dir)
        .args(["preview", "--output", "slack", "--scope", "all"])
        .arg(fixture("aws-ct-ug__iam-user-failure"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "[staging] Console sign-in FAILED: anaya",
        ))
        .stdout(predicate::str::contains("CEST (Europe/Paris)"));
}

#[test]
fn stdin_input_and_text_summary() {
    let dir = tempfile::tempdir().unwrap();
    cli(&dir)
        .args(["preview", "-"])
        .write_stdin(
            std::fs::read(fixture(
                "github-switchrole-walkthrough__assumed-role-switch",
            ))
            .unwrap(),
        )
        .assert()
        .success()
        .stdout(predicate::str::contains("switch-role"))
        .stdout(predicate::str::contains(
            "1 record(s) in this CloudTrail record: 1 alert(s) with scope `all`, 0 unreadable; they make 1 message(s)",
        ));
}

#[test]
fn unreadable_input_fails_with_a_message_that_says_what_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    cli(&dir)
        .args(["preview", "-"])
        .write_stdin(r#"{"awslogs":{"data":"!!!not base64"}}"#)
        .assert()
        .failure()
        .stderr(predicate::str::contains("not valid base64"));
    cli(&dir)
        .args(["preview", "--timezone", "Mars/Olympus"])
        .arg(fixture("aws-ct-ug__root-failure"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("IANA time zone"));
}

#[test]
fn the_config_gives_language_and_account_names_and_the_flag_wins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("login-alert.toml"),
        "region = \"us-east-1\"\nlanguage = \"ja\"\ngroup_window_minutes = 30\n[trail]\ncreate = true\n\
         [notify]\nemails = [\"a@example.com\"]\n[account_names]\n\"111122223333\" = \"sandbox\"\n",
    )
    .unwrap();
    cli(&dir)
        .args(["preview", "--output", "email"])
        .arg(fixture("aws-ct-ug__root-success-no-mfa"))
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "Subject: [sandbox] Root console sign-in succeeded without MFA\n",
        ))
        .stdout(predicate::str::contains(
            "AWSルートユーザーログイン検知（MFAなし）",
        ));
    cli(&dir)
        .args(["preview", "--output", "email", "--language", "en"])
        .arg(fixture("aws-ct-ug__root-success-no-mfa"))
        .assert()
        .success()
        .stdout(predicate::str::contains("AWSルートユーザー").not());
    // A bad value is the config's error, naming the field and the fix.
    std::fs::write(
        dir.path().join("login-alert.toml"),
        "region = \"us-east-1\"\ngroup_window_minutes = 0\n[trail]\ncreate = true\n\
         [notify]\nemails = [\"a@example.com\"]\n[account_names]\n\"1111\" = \"sandbox\"\n",
    )
    .unwrap();
    cli(&dir)
        .args(["preview"])
        .arg(fixture("aws-ct-ug__root-success-no-mfa"))
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "group_window_minutes: 0 is not a grouping window (use a whole number of minutes from 1 to 1440",
        ))
        .stderr(predicate::str::contains(
            "account_names: `1111` is not an AWS account ID",
        ));
}

/// The published IAM user sign-in (AWS CloudTrail User Guide, "AWS console sign-in events") and the same user
/// again the next day from the same network and browser: a file `preview` replays in time order.
fn usual_story(dir: &tempfile::TempDir) -> PathBuf {
    let first: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("aws-ct-ug__iam-user-success-mfa")).unwrap(),
    )
    .unwrap();
    let mut again = first.clone();
    again["eventID"] = "fed06f42-0000-4764-8c69-121063dc79b9".into();
    again["eventTime"] = "2018-07-25T08:02:11Z".into();
    again["sourceIPAddress"] = "192.0.2.77".into();
    let path = dir.path().join("story.json");
    std::fs::write(&path, serde_json::json!([first, again]).to_string()).unwrap();
    path
}

#[test]
fn alert_on_unusual_records_the_usual_sign_in_without_sending_it_and_the_flag_wins() {
    let dir = tempfile::tempdir().unwrap();
    let story = usual_story(&dir);
    let json = |args: &[&str]| -> Vec<serde_json::Value> {
        let out = cli(&dir)
            .args(["preview", "--output", "json"])
            .args(args)
            .arg(&story)
            .assert()
            .success();
        serde_json::from_slice(&out.get_output().stdout).unwrap()
    };
    let all = json(&[]);
    assert_eq!(all[0]["new"], serde_json::json!(["identity"]));
    assert_eq!(all[1]["new"], serde_json::json!([]));
    assert_eq!(
        (&all[0]["alert"], &all[1]["alert"]),
        (&true.into(), &true.into())
    );
    let unusual = json(&["--alert-on", "unusual"]);
    assert_eq!(
        (&unusual[0]["alert"], &unusual[1]["alert"]),
        (&true.into(), &false.into())
    );

    // From the config, and the flag beats it; the email output sends one message, not two.
    std::fs::write(
        dir.path().join("login-alert.toml"),
        "region = \"us-east-1\"\nalert_on = \"unusual\"\n[trail]\ncreate = true\n\
         [notify]\nemails = [\"a@example.com\"]\n",
    )
    .unwrap();
    assert_eq!(json(&[])[1]["alert"], false);
    assert_eq!(json(&["--alert-on", "all"])[1]["alert"], true);
    cli(&dir)
        .args(["preview", "--output", "text"])
        .arg(&story)
        .assert()
        .success()
        .stdout(predicate::str::contains("they make 1 message(s)"));
    cli(&dir)
        .args(["preview", "--alert-on", "sometimes"])
        .arg(&story)
        .assert()
        .failure()
        .stderr(predicate::str::contains("use all or unusual"));
}

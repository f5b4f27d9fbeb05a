//! The real `bootstrap` under cargo-lambda's Lambda runtime emulator, invoked with a CloudWatch Logs payload:
//! the email arrives through moto's SNS in an SQS queue and the Slack POST reaches a local webhook, with the URL
//! read from an SSM SecureString.

use crate::support;
use crate::support::events as common;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::{Guard, Moto, free_port, unique, wait_for_port};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn cargo_lambda() -> Command {
    let probe = Command::new("cargo-lambda")
        .args(["lambda", "--help"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        panic!(
            "cargo-lambda is not installed: run `pip install cargo-lambda` (it provides the Lambda runtime emulator this test needs)"
        );
    }
    let mut cmd = Command::new("cargo-lambda");
    cmd.arg("lambda");
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_under_the_lambda_emulator_emails_through_sns_and_posts_to_slack() {
    let moto = Moto::start();
    let suffix = unique("e2e");

    let topic_arn = moto
        .sns()
        .create_topic()
        .name(&suffix)
        .send()
        .await
        .expect("create topic")
        .topic_arn
        .expect("topic ARN");
    let queue_url = moto.subscribed_queue(&topic_arn, &suffix).await;

    let slack = MockServer::start().await;
    let webhook_path = "/services/T0000/B0000/secret-token";
    Mock::given(method("POST"))
        .and(path(webhook_path))
        .and(header("content-type", "application/json"))
        .and(body_string_contains(
            "Root console sign-in succeeded without MFA",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&slack)
        .await;
    let parameter = format!("/{suffix}/slack-webhook");
    moto.ssm()
        .put_parameter()
        .name(&parameter)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .value(format!("{}{webhook_path}", slack.uri()))
        .send()
        .await
        .expect("store the webhook URL");

    // A batch as CloudWatch Logs sends it (moto-style integer ids): one root sign-in, one record that is not
    // JSON, one that must not alert. The broken one must not cost the others their delivery.
    let messages = vec![
        common::fixture_records("aws-ct-ug__root-success-no-mfa").remove(0),
        "{\"eventVersion\": \"1.08\", truncated".to_owned(),
        common::fixture_records("panther-root-activity__iam-user-get-bucket-acl").remove(0),
    ];
    let dir = tempfile_dir();
    let event_file = dir.join("event.json");
    std::fs::write(&event_file, common::cloudwatch_event(&messages, true))
        .expect("write the event");

    let runtime_port = free_port();
    let _emulator = Guard(
        cargo_lambda()
            .args([
                "watch",
                "--only-lambda-apis",
                "-A",
                "127.0.0.1",
                "-P",
                &runtime_port.to_string(),
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start cargo lambda watch"),
    );
    wait_for_port(runtime_port, "cargo lambda watch");

    let account_name = format!("acct-{suffix}");
    let _function = Guard(
        Command::new(env!("CARGO_BIN_EXE_bootstrap"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{runtime_port}/.rt"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_REGION", support::REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_SESSION_TOKEN", "testing")
            .env("AWS_ENDPOINT_URL", &moto.url)
            .env(login_alert_handler::ENV_TOPIC_ARN, &topic_arn)
            .env(login_alert_handler::ENV_SLACK_PARAMETER, &parameter)
            .env(login_alert_handler::ENV_ACCOUNT_NAME, &account_name)
            .env(login_alert_handler::ENV_TIMEZONE, "Asia/Tokyo")
            .env(login_alert_handler::ENV_SCOPE, "all")
            // Its log lines are what CloudWatch Logs would keep; LOGIN_ALERT_E2E_LOGS=1 shows them here.
            .stdout(if std::env::var_os("LOGIN_ALERT_E2E_LOGS").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the bootstrap binary"),
    );

    let invoke = tokio::task::spawn_blocking(move || {
        cargo_lambda()
            .args([
                "invoke",
                "_",
                "-A",
                "127.0.0.1",
                "-P",
                &runtime_port.to_string(),
                "--output-format",
                "json",
            ])
            .arg("--data-file")
            .arg(&event_file)
            .output()
            .expect("run cargo lambda invoke")
    })
    .await
    .expect("invoke thread");
    let stdout = String::from_utf8_lossy(&invoke.stdout);
    assert!(
        invoke.status.success(),
        "invoke failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&invoke.stderr)
    );
    let result: serde_json::Value =
        serde_json::from_str(stdout.trim()).expect("the handler returns JSON");
    assert_eq!(
        result,
        serde_json::json!({"records": 3, "unreadable": 1, "alerts": 1, "messages": 1,
            "summarised": 0, "duplicates": 0, "deliveries": 2})
    );

    let arrived = moto.drain(&queue_url, Duration::from_secs(20)).await;
    assert_eq!(
        arrived.len(),
        1,
        "exactly one email for one alert: {arrived:#?}"
    );
    let subject = arrived[0]["Subject"].as_str().unwrap_or_default();
    let body = arrived[0]["Message"].as_str().unwrap_or_default();
    assert_eq!(
        subject,
        format!("[{account_name}] Root console sign-in succeeded without MFA")
    );
    for fact in [
        "Identity:   arn:aws:iam::111122223333:root",
        "2018-08-30 01:24:34 JST (Asia/Tokyo)",
        "2018-08-29 16:24:34 UTC",
        "Source IP:  192.0.2.0",
        "#/events/deb1e1f9-c99b-4612-8e9f-21f93b5d79c0",
    ] {
        assert!(body.contains(fact), "the email lacks `{fact}`:\n{body}");
    }
    slack.verify().await;
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique("login-alert-e2e"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

//! The deployed function's code run against moto as Lambda would run it: its environment as
//! deployed, one root sign-in, every destination; the requests it makes are the role's to allow.

use std::collections::HashMap;

use aws_sdk_ssm::types::ParameterType;
use login_alert_handler::dynamo::DynamoStore;
use login_alert_handler::handler::handle_with;
use login_alert_handler::settings::Settings;
use login_alert_handler::{
    AwsDelivery, Channel, ENV_SLACK_PARAMETER, ENV_STATE_TABLE, ENV_TOPIC_ARN, Webhook,
};
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::HOME;
use crate::support::{Account, Recorded};

/// A published root console sign-in (handler/tests/fixtures/SOURCES.md).
fn root_sign_in() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/handler/tests/fixtures/aws-ct-ug__root-success-no-mfa.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The event the function receives in `mode`: a CloudWatch Logs subscription event, or EventBridge's.
fn event(mode: &str, record: &Value) -> Value {
    if mode == "eventbridge" {
        return json!({
            "version": "0", "id": "policy-check", "detail-type": "AWS Console Sign In via CloudTrail",
            "source": "aws.signin", "account": record["recipientAccountId"], "time": record["eventTime"],
            "region": record["awsRegion"], "resources": [], "detail": record,
        });
    }
    use base64::Engine;
    use std::io::Write;
    let data = json!({
        "messageType": "DATA_MESSAGE", "owner": record["recipientAccountId"],
        "logGroup": "/login-alert/cloudtrail", "logStream": "111122223333_CloudTrail_us-east-1",
        "subscriptionFilters": ["login-alert-signin-events"],
        "logEvents": [{"id": "0".repeat(56), "timestamp": 1_700_000_000_000i64, "message": record.to_string()}],
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data.to_string().as_bytes()).unwrap();
    json!({"awslogs": {"data": base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap())}})
}

/// Runs the handler with the deployed `env` on one root sign-in and returns the requests it made.
/// The Slack parameter is pointed at a local stand-in first (the next `apply` puts the configured
/// URL back), so the webhook is really posted to and nothing leaves the machine.
pub async fn run(account: &Account, env: &HashMap<String, String>, mode: &str) -> Vec<Recorded> {
    let sdk = account.sdk(HOME);
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&slack)
        .await;
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let mut webhooks = Vec::new();
    if let Some(parameter) = env.get(ENV_SLACK_PARAMETER) {
        ssm.put_parameter()
            .name(parameter)
            .value(format!("{}/services/T0/B0/LOCAL", slack.uri()))
            .r#type(ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .expect("point the Slack parameter at the stand-in");
        webhooks.push(Webhook::new(Channel::Slack, parameter.clone(), ssm.clone()).unwrap());
    }
    let topic = env.get(ENV_TOPIC_ARN).cloned();
    let delivery = AwsDelivery::new(topic.map(|t| (aws_sdk_sns::Client::new(&sdk), t)), webhooks);
    let store = env
        .get(ENV_STATE_TABLE)
        .map(|table| DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table.clone()));
    let settings = Settings::from_lookup(|name| env.get(name).cloned()).unwrap();
    let input = event(mode, &root_sign_in()).to_string();

    let mark = account.requests().len();
    let outcome = handle_with(
        input.as_bytes(),
        &settings,
        &delivery,
        store.as_ref(),
        None,
        chrono::Utc::now(),
    )
    .await
    .expect("the handler delivers the root sign-in");
    let calls = account.requests().split_off(mark);
    assert!(outcome.alerts >= 1, "{outcome:?}");
    assert!(
        !slack
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty(),
        "the webhook was posted to"
    );
    calls
}

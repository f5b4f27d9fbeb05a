//! The Slack webhook POST against a local server: what is sent, and errors that never reveal the secret URL.

use crate::support;

use login_alert_handler::{Channel, DeliveryError, Webhook};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET_PATH: &str = "/services/T0000/B0000/very-secret-token";

fn unused_ssm() -> aws_sdk_ssm::Client {
    let config = aws_sdk_ssm::Config::builder()
        .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
        .region(aws_sdk_ssm::config::Region::new("us-east-1"))
        .credentials_provider(support::Moto::credentials())
        .build();
    aws_sdk_ssm::Client::from_conf(config)
}

#[tokio::test]
async fn posts_the_payload_as_json() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SECRET_PATH))
        .and(header("content-type", "application/json"))
        .and(body_json(serde_json::json!({"text": "hello"})))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let webhook = Webhook::with_url(
        Channel::Slack,
        &format!("{}{SECRET_PATH}", server.uri()),
        unused_ssm(),
    )
    .unwrap();
    webhook
        .post(r#"{"text":"hello"}"#, None)
        .await
        .expect("Slack accepted it");
    server.verify().await;
}

#[tokio::test]
async fn a_refused_post_says_why_without_the_url() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_string("invalid_token"))
        .mount(&server)
        .await;
    let webhook = Webhook::with_url(
        Channel::Slack,
        &format!("{}{SECRET_PATH}", server.uri()),
        unused_ssm(),
    )
    .unwrap();
    let err = webhook
        .post("{}", None)
        .await
        .expect_err("403 is a failure");
    assert!(
        matches!(err, DeliveryError::Status { status: 403, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("invalid_token") && text.contains("still active"),
        "{text}"
    );
    assert!(
        !text.contains("very-secret-token"),
        "the webhook URL leaked: {text}"
    );
}

#[tokio::test]
async fn an_unreachable_webhook_fails_without_the_url() {
    let port = support::free_port();
    let webhook = Webhook::with_url(
        Channel::Slack,
        &format!("http://127.0.0.1:{port}{SECRET_PATH}"),
        unused_ssm(),
    )
    .unwrap();
    let err = webhook
        .post("{}", None)
        .await
        .expect_err("nothing listens there")
        .to_string();
    assert!(err.contains("Slack webhook POST failed"), "{err}");
    assert!(
        !err.contains("very-secret-token"),
        "the webhook URL leaked: {err}"
    );
}

#[tokio::test]
async fn reads_the_url_from_an_ssm_secure_string_once() {
    let moto = support::Moto::start();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SECRET_PATH))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    let parameter = format!("/{}/slack", support::unique("slack"));
    moto.ssm()
        .put_parameter()
        .name(&parameter)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .value(format!("{}{SECRET_PATH}", server.uri()))
        .send()
        .await
        .unwrap();
    let webhook = Webhook::new(Channel::Slack, parameter.clone(), moto.ssm()).unwrap();
    webhook.post("{}", None).await.unwrap();
    // Changing the parameter does not change this container's webhook: it was read once.
    moto.ssm()
        .delete_parameter()
        .name(&parameter)
        .send()
        .await
        .unwrap();
    webhook
        .post("{}", None)
        .await
        .expect("the URL was kept from the first read");
    server.verify().await;

    let missing = Webhook::new(Channel::Slack, format!("{parameter}-missing"), moto.ssm()).unwrap();
    let err = missing
        .post("{}", None)
        .await
        .expect_err("no such parameter")
        .to_string();
    assert!(
        err.contains("ssm:GetParameter") && err.contains("-missing"),
        "{err}"
    );
}

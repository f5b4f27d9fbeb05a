//! What the binaries talk to: HTTPS in front of local servers with a test CA, a Lambda runtime API, and the
//! email (SNS → SQS) and Slack destinations of the function.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::chroot::Running;
use crate::support::{Account, moto};

pub const REGION: &str = "us-east-1";

/// A test CA and a certificate it signed for the names in `/etc/hosts`.
pub struct Pki {
    pub ca_pem: String,
    pub server: Arc<rustls::ServerConfig>,
}

pub fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name
        .push(DnType::CommonName, "login-alert test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["moto.test".to_owned(), "slack.test".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    Pki {
        ca_pem: ca.pem(),
        server: Arc::new(server),
    }
}

/// HTTPS on a new local port, passed on as plain HTTP to `upstream` (moto, or the Slack stub).
pub async fn tls_front(upstream: u16, server: Arc<rustls::ServerConfig>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tokio_rustls::TlsAcceptor::from(server);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that does not trust the certificate hangs up here.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

/// A Lambda runtime API that hands out one CloudWatch Logs event and records the function's answer.
pub async fn runtime_api(event: Value) -> MockServer {
    let server = MockServer::start().await;
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 60_000;
    Mock::given(method("GET"))
        .and(path("/2018-06-01/runtime/invocation/next"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("lambda-runtime-aws-request-id", "request-1")
                .insert_header("lambda-runtime-deadline-ms", deadline.to_string().as_str())
                // The function lives in the account of the records (the published examples' 111122223333),
                // so the handler names that account by the configured home account name.
                .insert_header(
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:111122223333:function:login-alert-handler",
                )
                .insert_header(
                    "lambda-runtime-trace-id",
                    "Root=1-00000000-000000000000000000000000",
                )
                .set_body_json(event),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    // Then no more work: the runtime long-polls, as on Lambda between invocations.
    Mock::given(method("GET"))
        .and(path("/2018-06-01/runtime/invocation/next"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(600)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(
            "^/2018-06-01/runtime/(invocation/request-1/(response|error)|init/error)$",
        ))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    server
}

/// How one invocation ended.
#[derive(Debug, PartialEq)]
pub enum Ended {
    /// The function posted to the runtime API: the path (…/response, …/error) and the body.
    Answered(String, Value),
    /// The process exited without answering (a failed start); what it printed.
    Exited(String),
}

pub async fn ended(runtime: &MockServer, function: &mut Running, log: &Path) -> Ended {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let posted = runtime.received_requests().await.unwrap_or_default();
        if let Some(request) = posted.iter().find(|r| r.method.as_str() == "POST") {
            return Ended::Answered(
                request.url.path().to_owned(),
                serde_json::from_slice(&request.body).unwrap_or(Value::Null),
            );
        }
        if let Ok(Some(_)) = function.0.try_wait() {
            return Ended::Exited(std::fs::read_to_string(log).unwrap_or_default());
        }
        assert!(
            Instant::now() < deadline,
            "the function did not answer within 30 s; its output:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `{"awslogs":{"data": base64(gzip(…))}}`, as CloudWatch Logs invokes the function.
pub fn cloudwatch_logs_event(records: &[Value]) -> Value {
    let data = json!({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/login-alert/cloudtrail",
        "logStream": "123456789012_CloudTrail_us-east-1",
        "subscriptionFilters": ["login-alert-signin-events"],
        "logEvents": records.iter().enumerate().map(|(i, r)| json!({
            "id": format!("{i:056}"),
            "timestamp": 1_700_000_000_000i64,
            "message": r.to_string(),
        })).collect::<Vec<_>>(),
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data.to_string().as_bytes()).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    json!({"awslogs": {"data": data}})
}

/// One SQS call in the JSON protocol, as `account` (moto selects the account by the access key).
fn sqs(account: &Account, action: &str, body: Value) -> Value {
    let mut response = ureq::post(format!("{}/", moto().url))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("AmazonSQS.{action}"))
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={}/20240101/{REGION}/sqs/aws4_request, SignedHeaders=host, Signature=0",
                account.access_key
            ),
        )
        .send(body.to_string())
        .unwrap_or_else(|err| panic!("SQS {action}: {err}"));
    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap_or(Value::Null)
}

/// The email and Slack destinations of one function: an SNS topic with an SQS queue subscribed (to read what
/// SNS delivered) and a webhook URL in SSM pointing at a stub.
pub struct Destinations {
    pub topic_arn: String,
    queue_url: String,
    pub parameter: String,
    pub slack: MockServer,
}

pub async fn destinations(account: &Account) -> Destinations {
    let sdk = account.sdk(REGION);
    let sns = aws_sdk_sns::Client::new(&sdk);
    let topic_arn = sns
        .create_topic()
        .name("alerts")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let queue_url = sqs(account, "CreateQueue", json!({"QueueName": "inbox"}))["QueueUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(format!("arn:aws:sqs:{REGION}:{}:inbox", account.id))
        .send()
        .await
        .unwrap();
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/T0/B0/secret"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    Destinations {
        topic_arn,
        queue_url,
        parameter: "/login-alert/slack-webhook-url".into(),
        slack,
    }
}

impl Destinations {
    pub async fn point_slack_at(&self, account: &Account, url: &str) {
        aws_sdk_ssm::Client::new(&account.sdk(REGION))
            .put_parameter()
            .name(&self.parameter)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .value(url)
            .overwrite(true)
            .send()
            .await
            .unwrap();
    }

    /// The emails SNS delivered since the last look (subject and body).
    pub fn emails(&self, account: &Account) -> Vec<(String, String)> {
        let received = sqs(
            account,
            "ReceiveMessage",
            json!({"QueueUrl": self.queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1}),
        );
        received["Messages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| {
                sqs(
                    account,
                    "DeleteMessage",
                    json!({"QueueUrl": self.queue_url, "ReceiptHandle": m["ReceiptHandle"]}),
                );
                let note: Value = serde_json::from_str(m["Body"].as_str().unwrap()).unwrap();
                (
                    note["Subject"].as_str().unwrap_or_default().to_owned(),
                    note["Message"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    pub async fn slack_posts(&self) -> usize {
        self.slack
            .received_requests()
            .await
            .unwrap_or_default()
            .len()
    }
}

//! Support for the handler's integration tests: published records and payloads built like AWS builds them
//! (`events`); for the delivery tests, moto (`moto_server`), SDK clients pointed at it, SQS over its JSON
//! protocol, and child processes that die with the test.
#![allow(dead_code)]

pub mod events;
pub mod moto_server;

use std::net::{TcpListener, TcpStream};
use std::process::Child;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

pub const REGION: &str = "us-east-1";
/// moto's default account.
pub const ACCOUNT: &str = "123456789012";

/// A child process killed when the test ends, however it ends.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

pub fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start listening on port {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A unique suffix so tests sharing one moto never see each other's resources.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

/// The moto server of this test run: the test command's, or one this binary starts for all its tests.
pub struct Moto {
    pub url: String,
}

impl Moto {
    pub fn start() -> Moto {
        static OWN: OnceLock<moto_server::Server> = OnceLock::new();
        let url = moto_server::from_env()
            .unwrap_or_else(|| OWN.get_or_init(|| moto_server::start(false)).url.clone());
        Moto { url }
    }

    pub fn credentials() -> aws_sdk_sns::config::Credentials {
        aws_sdk_sns::config::Credentials::new("testing", "testing", None, None, "test")
    }

    pub fn sns(&self) -> aws_sdk_sns::Client {
        let config = aws_sdk_sns::Config::builder()
            .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
            .region(aws_sdk_sns::config::Region::new(REGION))
            .credentials_provider(Moto::credentials())
            .endpoint_url(&self.url)
            .build();
        aws_sdk_sns::Client::from_conf(config)
    }

    pub fn ssm(&self) -> aws_sdk_ssm::Client {
        let config = aws_sdk_ssm::Config::builder()
            .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
            .region(aws_sdk_ssm::config::Region::new(REGION))
            .credentials_provider(Moto::credentials())
            .endpoint_url(&self.url)
            .build();
        aws_sdk_ssm::Client::from_conf(config)
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new(REGION))
            .credentials_provider(Moto::credentials())
            .endpoint_url(&self.url)
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    /// A state table as the CLI creates it: on demand, partition key `pk` (S), TTL on `expires_at`.
    pub async fn state_table(&self, name: &str) -> aws_sdk_dynamodb::Client {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
            TimeToLiveSpecification,
        };
        let client = self.dynamodb();
        client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("create the state table");
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name("expires_at")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("enable TTL");
        client
    }

    /// One SQS call in the JSON protocol (moto does not check signatures).
    pub async fn sqs(&self, action: &str, body: Value) -> Value {
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let request = hyper::Request::post(format!("{}/", self.url))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AmazonSQS.{action}"))
            .header("authorization", format!("AWS4-HMAC-SHA256 Credential=testing/20240101/{REGION}/sqs/aws4_request, SignedHeaders=host, Signature=0"))
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("valid request");
        let response = client.request(request).await.expect("moto answers SQS");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("SQS body")
            .to_bytes();
        assert!(
            status.is_success(),
            "SQS {action} failed: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }

    /// A queue subscribed to `topic_arn`; returns its URL.
    pub async fn subscribed_queue(&self, topic_arn: &str, name: &str) -> String {
        let created = self
            .sqs("CreateQueue", serde_json::json!({ "QueueName": name }))
            .await;
        let url = created["QueueUrl"].as_str().expect("QueueUrl").to_owned();
        self.sns()
            .subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"))
            .send()
            .await
            .expect("subscribe the queue to the topic");
        url
    }

    /// Every message that reaches the queue within `wait`, as the SNS envelopes' JSON.
    pub async fn drain(&self, queue_url: &str, wait: Duration) -> Vec<Value> {
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        while Instant::now() < deadline {
            let got = self
                .sqs(
                    "ReceiveMessage",
                    serde_json::json!({ "QueueUrl": queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1 }),
                )
                .await;
            for message in got["Messages"].as_array().into_iter().flatten() {
                let body = message["Body"].as_str().unwrap_or("");
                out.push(serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())));
            }
            if !out.is_empty() {
                // Give stragglers (a wrongly duplicated publish) one more poll before returning.
                tokio::time::sleep(Duration::from_millis(500)).await;
                let again = self
                    .sqs(
                        "ReceiveMessage",
                        serde_json::json!({ "QueueUrl": queue_url, "MaxNumberOfMessages": 10 }),
                    )
                    .await;
                for message in again["Messages"].as_array().into_iter().flatten() {
                    let body = message["Body"].as_str().unwrap_or("");
                    out.push(serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())));
                }
                break;
            }
        }
        out
    }
}

//! Sending messages: SNS Publish for email and HTTPS POSTs to the Slack, Teams and generic webhooks, with clients
//! built once per container and a webhook's `429 Retry-After` honoured within the function's remaining time.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::error::{DeliveryError, SettingsError};

/// Webhooks answer in well under a second; a hung connection must not eat the Lambda's whole timeout.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// A 429 is retried at most this many times, each after the wait the service asked for.
const MAX_RATE_LIMIT_RETRIES: u32 = 3;
/// Time kept back from the function's deadline for recording what was sent and returning.
const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

/// A destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Slack,
    Teams,
    Webhook,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Email,
        Channel::Slack,
        Channel::Teams,
        Channel::Webhook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Slack => "slack",
            Channel::Teams => "teams",
            Channel::Webhook => "webhook",
        }
    }

    /// The name in messages about the channel.
    pub fn display(self) -> &'static str {
        match self {
            Channel::Email => "SNS email",
            Channel::Slack => "Slack",
            Channel::Teams => "Teams",
            Channel::Webhook => "JSON",
        }
    }

    pub fn from_str_opt(value: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == value)
    }

    /// How many messages go to this channel at once. Slack takes about one message per second per webhook, so
    /// its messages go one after another (and in order).
    pub fn concurrency(self) -> usize {
        match self {
            Channel::Email => 8,
            Channel::Slack => 1,
            Channel::Teams => 2,
            Channel::Webhook => 4,
        }
    }
}

/// What is sent: an email, or a JSON body for a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    Email { subject: &'a str, body: &'a str },
    Json(&'a str),
}

/// Where messages go. Generic so tests can record deliveries instead of sending them.
pub trait Deliver: Sync {
    /// The destinations configured, in a fixed order.
    fn channels(&self) -> Vec<Channel>;
    /// Sends one message to one destination, giving up on waits that would end after `deadline`.
    fn send(
        &self,
        channel: Channel,
        payload: Payload<'_>,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Result<(), DeliveryError>> + Send;

    /// The destinations of the route alerts about `account` take (`None`: the default route). Without routes,
    /// every destination.
    fn channels_about(&self, _account: Option<&str>) -> Vec<Channel> {
        self.channels()
    }

    /// Sends one message about `account` to `channel` of that account's route.
    fn send_about(
        &self,
        _account: Option<&str>,
        channel: Channel,
        payload: Payload<'_>,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Result<(), DeliveryError>> + Send {
        self.send(channel, payload, deadline)
    }
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A webhook (Slack, Teams or generic JSON) whose URL is read from an SSM SecureString on first use and kept for
/// the container's life.
pub struct Webhook {
    channel: Channel,
    parameter: String,
    ssm: aws_sdk_ssm::Client,
    http: HttpsClient,
    url: OnceCell<hyper::Uri>,
}

impl Webhook {
    pub fn new(
        channel: Channel,
        parameter: String,
        ssm: aws_sdk_ssm::Client,
    ) -> Result<Self, DeliveryError> {
        Ok(Webhook {
            channel,
            parameter,
            ssm,
            http: https_client(channel)?,
            url: OnceCell::new(),
        })
    }

    /// A webhook with a known URL (tests); no SSM read.
    pub fn with_url(
        channel: Channel,
        url: &str,
        ssm: aws_sdk_ssm::Client,
    ) -> Result<Self, DeliveryError> {
        let parsed = parse_url(channel, url, "(given directly)")?;
        Ok(Webhook {
            channel,
            parameter: "(given directly)".into(),
            ssm,
            http: https_client(channel)?,
            url: OnceCell::new_with(Some(parsed)),
        })
    }

    async fn url(&self) -> Result<&hyper::Uri, DeliveryError> {
        self.url
            .get_or_try_init(|| async {
                let out = self
                    .ssm
                    .get_parameter()
                    .name(&self.parameter)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|err| DeliveryError::Parameter {
                        channel: self.channel.display(),
                        parameter: self.parameter.clone(),
                        message: aws_sdk_ssm::error::DisplayErrorContext(&err).to_string(),
                    })?;
                let value = out.parameter.and_then(|p| p.value).unwrap_or_default();
                parse_url(self.channel, value.trim(), &self.parameter)
            })
            .await
    }

    /// POSTs `payload`; on `429` waits as `Retry-After` asks and tries again, unless that wait would pass
    /// `deadline` (then the error says so and Lambda's retry sends it later).
    pub async fn post(
        &self,
        payload: &str,
        deadline: Option<Instant>,
    ) -> Result<(), DeliveryError> {
        let url = self.url().await?;
        let channel = self.channel.display();
        let mut retries = 0;
        loop {
            let request = hyper::Request::post(url.clone())
                .header(hyper::header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::copy_from_slice(payload.as_bytes())))
                .map_err(|err| DeliveryError::Transport {
                    channel,
                    message: err.to_string(),
                })?;
            // The error texts below never include the URL: its path is the webhook's secret.
            let response = tokio::time::timeout(WEBHOOK_TIMEOUT, self.http.request(request))
                .await
                .map_err(|_| DeliveryError::Transport {
                    channel,
                    message: format!("no answer within {}s", WEBHOOK_TIMEOUT.as_secs()),
                })?
                .map_err(|err| DeliveryError::Transport {
                    channel,
                    message: error_chain(&err),
                })?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            if status == hyper::StatusCode::TOO_MANY_REQUESTS {
                let wait = retry_after(response.headers());
                let fits = deadline.is_none_or(|d| Instant::now() + wait + DEADLINE_MARGIN < d);
                if retries < MAX_RATE_LIMIT_RETRIES && fits {
                    retries += 1;
                    tokio::time::sleep(wait).await;
                    continue;
                }
                return Err(DeliveryError::RateLimited {
                    channel,
                    retry_after_secs: wait.as_secs(),
                });
            }
            let body = tokio::time::timeout(WEBHOOK_TIMEOUT, response.into_body().collect())
                .await
                .ok()
                .and_then(Result::ok)
                .map(|b| {
                    String::from_utf8_lossy(&b.to_bytes())
                        .chars()
                        .take(200)
                        .collect()
                })
                .unwrap_or_default();
            return Err(DeliveryError::Status {
                channel,
                status: status.as_u16(),
                body,
            });
        }
    }
}

/// `Retry-After` in seconds (Slack sends seconds); a missing or unreadable value waits one second.
fn retry_after(headers: &hyper::HeaderMap) -> Duration {
    headers
        .get(hyper::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1))
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn parse_url(channel: Channel, value: &str, parameter: &str) -> Result<hyper::Uri, DeliveryError> {
    let bad = || DeliveryError::Url {
        channel: channel.display(),
        parameter: parameter.to_owned(),
    };
    let uri: hyper::Uri = value.parse().map_err(|_| bad())?;
    match uri.scheme_str() {
        Some("https") | Some("http") if uri.host().is_some() => Ok(uri),
        _ => Err(bad()),
    }
}

fn https_client(channel: Channel) -> Result<HttpsClient, DeliveryError> {
    // Name the provider explicitly: if feature unification ever enables ring too, rustls cannot pick a default.
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
        .map_err(|err| DeliveryError::Transport {
            channel: channel.display(),
            message: format!("cannot load the system's CA certificates: {err}"),
        })?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// The real destinations, as configured in the environment.
pub struct AwsDelivery {
    sns: Option<(aws_sdk_sns::Client, String)>,
    webhooks: Vec<Webhook>,
}

impl AwsDelivery {
    pub fn new(sns: Option<(aws_sdk_sns::Client, String)>, webhooks: Vec<Webhook>) -> Self {
        AwsDelivery { sns, webhooks }
    }

    /// Builds the clients from the Lambda environment: `LOGIN_ALERT_TOPIC_ARN` and the `*_PARAMETER` variables.
    pub fn from_env(sdk: &SdkEnv) -> Result<Self, DeliveryError> {
        let sns = env_var(crate::vocab::ENV_TOPIC_ARN).map(|topic| (sdk.sns(), topic));
        let mut webhooks = Vec::new();
        for (channel, var) in [
            (Channel::Slack, crate::vocab::ENV_SLACK_PARAMETER),
            (Channel::Teams, crate::vocab::ENV_TEAMS_PARAMETER),
            (Channel::Webhook, crate::vocab::ENV_WEBHOOK_PARAMETER),
        ] {
            if let Some(parameter) = env_var(var) {
                webhooks.push(Webhook::new(channel, parameter, sdk.ssm())?);
            }
        }
        Ok(AwsDelivery { sns, webhooks })
    }
}

pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// What the SDK clients need from the Lambda environment: region, the execution role's credentials, and an
/// endpoint override (`AWS_ENDPOINT_URL`, for emulators). Read directly rather than through `aws-config`, whose
/// profile, SSO, STS and IMDS providers a Lambda never uses but would add megabytes to the bundled binary.
#[derive(Debug, Clone)]
pub struct SdkEnv {
    region: String,
    credentials: aws_sdk_sns::config::Credentials,
    endpoint: Option<String>,
}

macro_rules! client {
    ($name:ident, $krate:ident) => {
        pub fn $name(&self) -> $krate::Client {
            let mut config = $krate::Config::builder()
                .behavior_version($krate::config::BehaviorVersion::latest())
                .region($krate::config::Region::new(self.region.clone()))
                .credentials_provider(self.credentials.clone());
            if let Some(endpoint) = &self.endpoint {
                config = config.endpoint_url(endpoint);
            }
            $krate::Client::from_conf(config.build())
        }
    };
}

impl SdkEnv {
    pub fn from_env() -> Result<Self, SettingsError> {
        let need =
            |var: &'static str| env_var(var).ok_or(SettingsError::MissingEnvironment { var });
        let region = env_var("AWS_REGION")
            .or_else(|| env_var("AWS_DEFAULT_REGION"))
            .ok_or(SettingsError::MissingEnvironment { var: "AWS_REGION" })?;
        let credentials = aws_sdk_sns::config::Credentials::new(
            need("AWS_ACCESS_KEY_ID")?,
            need("AWS_SECRET_ACCESS_KEY")?,
            env_var("AWS_SESSION_TOKEN"),
            None,
            "lambda-environment",
        );
        Ok(SdkEnv {
            region,
            credentials,
            endpoint: env_var("AWS_ENDPOINT_URL"),
        })
    }

    client!(sns, aws_sdk_sns);
    client!(ssm, aws_sdk_ssm);
    client!(dynamodb, aws_sdk_dynamodb);

    /// A CloudTrail client for `region`: the event history is kept per region.
    pub fn cloudtrail(&self, region: &str) -> aws_sdk_cloudtrail::Client {
        let mut config = aws_sdk_cloudtrail::Config::builder()
            .behavior_version(aws_sdk_cloudtrail::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudtrail::config::Region::new(region.to_owned()))
            .credentials_provider(self.credentials.clone());
        if let Some(endpoint) = &self.endpoint {
            config = config.endpoint_url(endpoint);
        }
        aws_sdk_cloudtrail::Client::from_conf(config.build())
    }
}

impl Deliver for AwsDelivery {
    fn channels(&self) -> Vec<Channel> {
        let mut channels: Vec<Channel> = self.webhooks.iter().map(|w| w.channel).collect();
        if self.sns.is_some() {
            channels.insert(0, Channel::Email);
        }
        channels
    }

    async fn send(
        &self,
        channel: Channel,
        payload: Payload<'_>,
        deadline: Option<Instant>,
    ) -> Result<(), DeliveryError> {
        match (channel, payload) {
            (Channel::Email, Payload::Email { subject, body }) => {
                let Some((client, topic)) = &self.sns else {
                    return Ok(());
                };
                client
                    .publish()
                    .topic_arn(topic)
                    .subject(subject)
                    .message(body)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|err| DeliveryError::Sns {
                        topic: topic.clone(),
                        message: aws_sdk_sns::error::DisplayErrorContext(&err).to_string(),
                    })
            }
            (channel, Payload::Json(body)) => {
                match self.webhooks.iter().find(|w| w.channel == channel) {
                    Some(webhook) => webhook.post(body, deadline).await,
                    None => Ok(()),
                }
            }
            // An email payload for a webhook (or the reverse) is never built; nothing to send.
            _ => Ok(()),
        }
    }
}

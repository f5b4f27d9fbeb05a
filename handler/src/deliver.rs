//! Sending alerts: SNS Publish for email and an HTTPS POST to the Slack webhook, with clients built once per container.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::OnceCell;

use crate::error::{DeliveryError, SettingsError};

/// Slack answers in well under a second; a hung connection must not eat the Lambda's whole timeout.
const SLACK_TIMEOUT: Duration = Duration::from_secs(10);

/// Where alerts go. Generic so tests can record deliveries instead of sending them.
pub trait Deliver {
    fn wants_email(&self) -> bool;
    fn wants_slack(&self) -> bool;
    fn email(
        &self,
        subject: &str,
        body: &str,
    ) -> impl Future<Output = Result<(), DeliveryError>> + Send;
    fn slack(&self, payload: &str) -> impl Future<Output = Result<(), DeliveryError>> + Send;
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A Slack incoming webhook whose URL is read from SSM on first use and kept for the container's life.
pub struct SlackWebhook {
    parameter: String,
    ssm: aws_sdk_ssm::Client,
    http: HttpsClient,
    url: OnceCell<hyper::Uri>,
}

impl SlackWebhook {
    pub fn new(parameter: String, ssm: aws_sdk_ssm::Client) -> Result<Self, DeliveryError> {
        Ok(SlackWebhook {
            parameter,
            ssm,
            http: https_client()?,
            url: OnceCell::new(),
        })
    }

    /// A webhook with a known URL (tests, and the CLI's `test` message); no SSM read.
    pub fn with_url(url: &str, ssm: aws_sdk_ssm::Client) -> Result<Self, DeliveryError> {
        let parsed = parse_url(url, "(given directly)")?;
        Ok(SlackWebhook {
            parameter: "(given directly)".into(),
            ssm,
            http: https_client()?,
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
                    .map_err(|err| DeliveryError::SlackParameter {
                        parameter: self.parameter.clone(),
                        message: aws_sdk_ssm::error::DisplayErrorContext(&err).to_string(),
                    })?;
                let value = out.parameter.and_then(|p| p.value).unwrap_or_default();
                parse_url(value.trim(), &self.parameter)
            })
            .await
    }

    pub async fn post(&self, payload: &str) -> Result<(), DeliveryError> {
        let url = self.url().await?;
        let request = hyper::Request::post(url.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::copy_from_slice(payload.as_bytes())))
            .map_err(|err| DeliveryError::SlackTransport(err.to_string()))?;
        // The error texts below never include the URL: its path is the webhook's secret.
        let response = tokio::time::timeout(SLACK_TIMEOUT, self.http.request(request))
            .await
            .map_err(|_| {
                DeliveryError::SlackTransport(format!(
                    "no answer within {}s",
                    SLACK_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|err| DeliveryError::SlackTransport(error_chain(&err)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = tokio::time::timeout(SLACK_TIMEOUT, response.into_body().collect())
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
        Err(DeliveryError::SlackStatus {
            status: status.as_u16(),
            body,
        })
    }
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

fn parse_url(value: &str, parameter: &str) -> Result<hyper::Uri, DeliveryError> {
    let bad = || DeliveryError::SlackUrl {
        parameter: parameter.to_owned(),
    };
    let uri: hyper::Uri = value.parse().map_err(|_| bad())?;
    match uri.scheme_str() {
        Some("https") | Some("http") if uri.host().is_some() => Ok(uri),
        _ => Err(bad()),
    }
}

fn https_client() -> Result<HttpsClient, DeliveryError> {
    // Name the provider explicitly: if feature unification ever enables ring too, rustls cannot pick a default.
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
        .map_err(|err| {
            DeliveryError::SlackTransport(format!(
                "cannot load the system's CA certificates: {err}"
            ))
        })?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// The real destinations: an SNS topic and/or a Slack webhook, as configured in the environment.
pub struct AwsDelivery {
    sns: Option<(aws_sdk_sns::Client, String)>,
    slack: Option<SlackWebhook>,
}

impl AwsDelivery {
    pub fn new(sns: Option<(aws_sdk_sns::Client, String)>, slack: Option<SlackWebhook>) -> Self {
        AwsDelivery { sns, slack }
    }

    /// Builds the clients from the Lambda environment and `LOGIN_ALERT_TOPIC_ARN` / `LOGIN_ALERT_SLACK_PARAMETER`.
    pub fn from_env(sdk: &SdkEnv) -> Result<Self, DeliveryError> {
        let sns = env_var(crate::ENV_TOPIC_ARN).map(|topic| (sdk.sns(), topic));
        let slack = match env_var(crate::ENV_SLACK_PARAMETER) {
            Some(parameter) => Some(SlackWebhook::new(parameter, sdk.ssm())?),
            None => None,
        };
        Ok(AwsDelivery { sns, slack })
    }
}

fn env_var(name: &str) -> Option<String> {
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

    pub fn sns(&self) -> aws_sdk_sns::Client {
        let mut config = aws_sdk_sns::Config::builder()
            .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
            .region(aws_sdk_sns::config::Region::new(self.region.clone()))
            .credentials_provider(self.credentials.clone());
        if let Some(endpoint) = &self.endpoint {
            config = config.endpoint_url(endpoint);
        }
        aws_sdk_sns::Client::from_conf(config.build())
    }

    pub fn ssm(&self) -> aws_sdk_ssm::Client {
        let mut config = aws_sdk_ssm::Config::builder()
            .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
            .region(aws_sdk_ssm::config::Region::new(self.region.clone()))
            .credentials_provider(self.credentials.clone());
        if let Some(endpoint) = &self.endpoint {
            config = config.endpoint_url(endpoint);
        }
        aws_sdk_ssm::Client::from_conf(config.build())
    }
}

impl Deliver for AwsDelivery {
    fn wants_email(&self) -> bool {
        self.sns.is_some()
    }

    fn wants_slack(&self) -> bool {
        self.slack.is_some()
    }

    async fn email(&self, subject: &str, body: &str) -> Result<(), DeliveryError> {
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

    async fn slack(&self, payload: &str) -> Result<(), DeliveryError> {
        match &self.slack {
            Some(webhook) => webhook.post(payload).await,
            None => Ok(()),
        }
    }
}

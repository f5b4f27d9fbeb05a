//! One bundle of SDK clients built from one `SdkConfig`: credentials chain, profile, region, endpoint, retries.

use std::fmt::Display;
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_async::future::pagination_stream::PaginationStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::policy::Grant;
use crate::regions;

/// What the user chose on the command line; everything else comes from the standard chain
/// (environment, `~/.aws/config`, SSO, IMDS/CloudShell container credentials, `AWS_ENDPOINT_URL`).
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// The endpoint every call goes to when the user set one (`--endpoint-url`, AWS_ENDPOINT_URL), so
/// an error that is the endpoint's and not AWS's can name it.
static CUSTOM_ENDPOINT: OnceLock<String> = OnceLock::new();

/// Loads the shared configuration. Throttling and 5xx are retried by the SDK's standard retry mode
/// (3 attempts unless `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE` or the profile say otherwise).
/// A profile no file defines is an error here, by name: the SDK would otherwise go on to other
/// credentials, or fail later listing every provider it tried.
pub async fn load(options: &AwsOptions) -> Result<SdkConfig> {
    check_profile(options.profile.as_deref()).await?;
    // CloudTrail records the user agent: `app/login-alert` tells login-alert's own calls apart.
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).app_name(
        aws_config::AppName::new(login_alert_handler::APP_NAME)
            .expect("the application name is a valid token"),
    );
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk = loader.load().await;
    if let Some(url) = sdk.endpoint_url() {
        let _ = CUSTOM_ENDPOINT.set(url.to_owned());
    }
    Ok(sdk)
}

/// The profile `--profile` or AWS_PROFILE names must exist in the shared config or credentials file.
async fn check_profile(flag: Option<&str>) -> Result<()> {
    let env_profile = std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty());
    let (name, from) = match (flag, env_profile) {
        (Some(name), _) => (name.to_owned(), "--profile"),
        (None, Some(name)) => (name, "AWS_PROFILE"),
        (None, None) => return Ok(()),
    };
    // "default" needs no file: environment keys or an instance role serve it.
    if name == "default" {
        return Ok(());
    }
    let profiles = aws_config::profile::load(
        &aws_types::os_shim_internal::Fs::real(),
        &aws_types::os_shim_internal::Env::real(),
        &Default::default(),
        None,
    )
    .await;
    let file = |var: &str, default: &str| std::env::var(var).unwrap_or_else(|_| default.into());
    let files = format!(
        "{} or {}",
        file("AWS_CONFIG_FILE", "~/.aws/config"),
        file("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
    );
    match profiles {
        Ok(set) if set.get_profile(&name).is_some() => Ok(()),
        Ok(_) => bail!(
            "the AWS profile `{name}` (from {from}) is not defined in {files}: check its name with `aws configure list-profiles`, or create it with `aws configure --profile {name}`"
        ),
        Err(err) => bail!(
            "cannot read the AWS profiles in {files} (looking for `{name}`, from {from}): {err}"
        ),
    }
}

/// The region the configuration resolved to, or an error that says how to set one.
pub fn region_of(sdk: &SdkConfig) -> Result<String> {
    let Some(region) = sdk.region().map(|r| r.to_string()) else {
        bail!(
            "no AWS region is set: pass --region REGION, set AWS_REGION, or give the profile a region (`aws configure set region REGION`)"
        );
    };
    if regions::is_known(&region) {
        return Ok(region);
    }
    let from = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find(|var| std::env::var(var).is_ok_and(|v| v == region))
        .unwrap_or("the profile's region");
    let near = regions::nearest(&region);
    let hint = if near.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", regions::or_list(&near))
    };
    bail!(
        "{from} is `{region}`, which is not an AWS region code{hint}: set it to a region such as us-east-1, or pass --region REGION"
    )
}

/// Clients for every service login-alert uses, all in one region.
#[derive(Debug, Clone)]
pub struct Clients {
    pub region: String,
    /// The settings the clients were built from, for clients in other regions.
    sdk: SdkConfig,
    pub account: aws_sdk_account::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub organizations: aws_sdk_organizations::Client,
    pub iam: aws_sdk_iam::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub sns: aws_sdk_sns::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sts: aws_sdk_sts::Client,
}

impl Clients {
    pub fn new(sdk: &SdkConfig) -> Self {
        let sdk = &bounded(sdk);
        // A custom endpoint (an emulator, a VPC endpoint) cannot serve virtual-hosted bucket names.
        let s3 = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(sdk.endpoint_url().is_some())
            .build();
        Clients {
            region: sdk.region().map(|r| r.to_string()).unwrap_or_default(),
            sdk: sdk.clone(),
            account: aws_sdk_account::Client::new(sdk),
            cloudtrail: aws_sdk_cloudtrail::Client::new(sdk),
            cloudformation: aws_sdk_cloudformation::Client::new(sdk),
            events: aws_sdk_eventbridge::Client::new(sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(sdk),
            organizations: aws_sdk_organizations::Client::new(sdk),
            iam: aws_sdk_iam::Client::new(sdk),
            lambda: aws_sdk_lambda::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            ssm: aws_sdk_ssm::Client::new(sdk),
            s3: aws_sdk_s3::Client::from_conf(s3),
            sqs: aws_sdk_sqs::Client::new(sdk),
            sts: aws_sdk_sts::Client::new(sdk),
        }
    }

    /// EventBridge in `region` (the home region's client when it is that one).
    pub fn events_in(&self, region: &str) -> aws_sdk_eventbridge::Client {
        if region == self.region {
            return self.events.clone();
        }
        aws_sdk_eventbridge::Client::new(
            &self
                .sdk
                .to_builder()
                .region(Region::new(region.to_owned()))
                .build(),
        )
    }

    /// CloudWatch in `region` (a forwarding rule's metrics are in its own region).
    pub fn cloudwatch_in(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        if region == self.region {
            return self.cloudwatch.clone();
        }
        aws_sdk_cloudwatch::Client::new(
            &self
                .sdk
                .to_builder()
                .region(Region::new(region.to_owned()))
                .build(),
        )
    }

    /// The same credentials and settings, in another region (a trail's home region, say).
    pub fn in_region(sdk: &SdkConfig, region: &str) -> Self {
        Clients::new(
            &sdk.to_builder()
                .region(Region::new(region.to_owned()))
                .build(),
        )
    }
}

/// What [`account_id`] calls (IAM lets every principal call it; named so the policy lists every call).
pub fn account_id_permissions() -> Grant {
    Grant::anywhere(["sts:GetCallerIdentity"])
}

/// The account the credentials belong to.
pub async fn account_id(sts: &aws_sdk_sts::Client) -> Result<String> {
    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(explain)
        .context("finding the AWS account")?;
    identity
        .account
        .context("STS did not say which account these credentials belong to")
}

/// The service's error code (`ResourceNotFoundException`, `NoSuchEntity`, …), if the service answered.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

/// The service's error message, if the service answered.
pub fn error_message<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(service) => service.err().message(),
        _ => None,
    }
}

/// Turns an SDK error into one that names the cause and the fix where the cause is a common one.
pub fn explain<E, R>(err: SdkError<E, R>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let SdkError::ServiceError(service) = &err {
        let Some(code) = service.err().code() else {
            // Something answered that is not an AWS API: say what answered, and how.
            let raw: &dyn std::any::Any = service.raw();
            return not_aws(
                raw.downcast_ref::<HttpResponse>()
                    .map(|r| r.status().as_u16()),
            );
        };
        let message = service.err().message().unwrap_or("");
        let hint = match code {
            "AccessDenied"
            | "AccessDeniedException"
            | "UnauthorizedOperation"
            | "AuthorizationError" => {
                " — the credentials lack this permission; see the operator policy in the README"
            }
            "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
                " — the session expired; sign in again (e.g. `aws sso login`) and retry"
            }
            "InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch" => {
                " — the credentials are not valid for this account or region; check --profile and the keys"
            }
            _ => "",
        };
        return anyhow::anyhow!("{code}: {message}{hint}");
    }
    if caused_by_credentials(&err) {
        return anyhow::anyhow!(
            "no usable AWS credentials: run `aws configure` or `aws sso login`, pass --profile NAME, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ({})",
            chain(&err)
        );
    }
    let hint = match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            " — the AWS endpoint could not be reached; check the network, --region and --endpoint-url/AWS_ENDPOINT_URL"
        }
        SdkError::ConstructionFailure(_) => {
            " — the request could not be built; check --region and the credentials"
        }
        _ => "",
    };
    anyhow::anyhow!("{}{hint}", chain(&err))
}

/// An HTTP answer without an AWS error code, naming the endpoint and the status.
fn not_aws(status: Option<u16>) -> anyhow::Error {
    let status = status.map_or("an HTTP error".to_owned(), |s| format!("HTTP {s}"));
    match CUSTOM_ENDPOINT.get() {
        Some(endpoint) => anyhow::anyhow!(
            "the endpoint {endpoint} answered {status}, which is not an AWS API answer: check --endpoint-url / AWS_ENDPOINT_URL"
        ),
        None => anyhow::anyhow!(
            "the AWS endpoint answered {status} without an AWS error: something between here and AWS (a proxy, a firewall) may be answering; check HTTPS_PROXY and the network, then retry"
        ),
    }
}

/// Whether the credential chain (not the service) is what failed.
fn caused_by_credentials(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(err) = next {
        if err
            .downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
            .is_some()
        {
            return true;
        }
        next = err.source();
    }
    false
}

/// The error and its causes as one line, each message once (the SDK repeats them down the chain).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(err) = next {
        let text = err.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

/// At most this many AWS requests are in flight at once in this process: reads run concurrently,
/// and a bound keeps a plan over many regions from bursting into the services' throttling limits.
pub const MAX_IN_FLIGHT: usize = 16;

/// The settings with their HTTP client wrapped so that every client built from them shares one
/// bound of [`MAX_IN_FLIGHT`] requests (a no-op when the settings carry no HTTP client).
pub fn bounded(sdk: &SdkConfig) -> SdkConfig {
    static PERMITS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::OnceLock::new();
    let Some(inner) = sdk.http_client() else {
        return sdk.clone();
    };
    let permits = PERMITS
        .get_or_init(|| std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT)))
        .clone();
    sdk.to_builder()
        .http_client(limit::Limited { inner, permits })
        .build()
}

mod limit {
    //! An HTTP client that waits for a permit before each request.

    use std::sync::Arc;

    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
        SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use tokio::sync::Semaphore;

    #[derive(Debug, Clone)]
    pub(super) struct Limited {
        pub(super) inner: SharedHttpClient,
        pub(super) permits: Arc<Semaphore>,
    }

    impl HttpClient for Limited {
        fn http_connector(
            &self,
            settings: &HttpConnectorSettings,
            components: &RuntimeComponents,
        ) -> SharedHttpConnector {
            SharedHttpConnector::new(Connector {
                inner: self.inner.http_connector(settings, components),
                permits: self.permits.clone(),
            })
        }
    }

    #[derive(Debug)]
    struct Connector {
        inner: SharedHttpConnector,
        permits: Arc<Semaphore>,
    }

    impl HttpConnector for Connector {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let (inner, permits) = (self.inner.clone(), self.permits.clone());
            HttpConnectorFuture::new(async move {
                // The semaphore is never closed, so acquiring cannot fail.
                let _permit = permits.acquire_owned().await.ok();
                inner.call(request).await
            })
        }
    }
}

/// The idioms every resource module shares when it calls AWS: "not found" becomes `None`,
/// "already gone" becomes success, any other error is explained (see [`explain`]).
pub trait SdkResultExt<T> {
    /// `Ok(None)` when the service answers with one of `missing` (the thing does not exist).
    fn found(self, missing: &[&str]) -> anyhow::Result<Option<T>>;
    /// `Ok(())` when the service answers with one of `gone` (a delete of what is already gone).
    fn gone(self, gone: &[&str]) -> anyhow::Result<()>;
    /// Any error explained.
    fn explained(self) -> anyhow::Result<T>;
    /// As [`SdkResultExt::explained`], the error naming what was being done (`doing` says it:
    /// "deleting IAM role x"), as every call of a resource module's does.
    fn doing<C: Display + Send + Sync + 'static>(
        self,
        doing: impl FnOnce() -> C,
    ) -> anyhow::Result<T>;
    /// As [`SdkResultExt::found`], an error naming what was being done.
    fn found_doing<C: Display + Send + Sync + 'static>(
        self,
        missing: &[&str],
        doing: impl FnOnce() -> C,
    ) -> anyhow::Result<Option<T>>;
    /// As [`SdkResultExt::gone`], an error naming what was being done.
    fn gone_doing<C: Display + Send + Sync + 'static>(
        self,
        gone: &[&str],
        doing: impl FnOnce() -> C,
    ) -> anyhow::Result<()>;
}

impl<T, E, R> SdkResultExt<T> for Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn found(self, missing: &[&str]) -> anyhow::Result<Option<T>> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(err) if error_code(&err).is_some_and(|code| missing.contains(&code)) => Ok(None),
            Err(err) => Err(explain(err)),
        }
    }

    fn gone(self, gone: &[&str]) -> anyhow::Result<()> {
        self.found(gone).map(|_| ())
    }

    fn explained(self) -> anyhow::Result<T> {
        self.map_err(explain)
    }

    fn doing<C: Display + Send + Sync + 'static>(
        self,
        doing: impl FnOnce() -> C,
    ) -> anyhow::Result<T> {
        self.explained().with_context(doing)
    }

    fn found_doing<C: Display + Send + Sync + 'static>(
        self,
        missing: &[&str],
        doing: impl FnOnce() -> C,
    ) -> anyhow::Result<Option<T>> {
        self.found(missing).with_context(doing)
    }

    fn gone_doing<C: Display + Send + Sync + 'static>(
        self,
        gone: &[&str],
        doing: impl FnOnce() -> C,
    ) -> anyhow::Result<()> {
        self.gone(gone).with_context(doing)
    }
}

/// Every page of a listing, `None` when the service answers with one of `missing` (what is listed
/// is gone); any other error explained, naming what was being done.
pub async fn found_pages<T, E, R, C>(
    pages: PaginationStream<Result<T, SdkError<E, R>>>,
    missing: &[&str],
    doing: impl FnOnce() -> C,
) -> anyhow::Result<Option<Vec<T>>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
    C: Display + Send + Sync + 'static,
{
    pages.try_collect().await.found_doing(missing, doing)
}

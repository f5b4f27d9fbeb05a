//! The handler's typed errors; each message names the problem and what to do about it.

use thiserror::Error;

/// The input as a whole cannot be read; no record of it can be.
#[derive(Debug, Error)]
pub enum InputError {
    #[error(
        "the input is empty: pass a CloudWatch Logs subscription event, an EventBridge event, a CloudTrail log file or one CloudTrail record"
    )]
    Empty,
    #[error(
        "the input is not UTF-8 text ({0}): pass the JSON event itself, not a compressed or binary file"
    )]
    NotUtf8(#[source] std::str::Utf8Error),
    #[error(
        "the input is not valid JSON ({0}): pass a CloudWatch Logs subscription event, an EventBridge event, a CloudTrail log file or one CloudTrail record"
    )]
    NotJson(#[source] serde_json::Error),
    #[error(
        "`awslogs` has no `data` string: pass the event exactly as CloudWatch Logs delivers it ({{\"awslogs\":{{\"data\":\"<base64 gzip>\"}}}})"
    )]
    MissingLogsData,
    #[error(
        "`awslogs.data` is not valid base64 ({0}): pass the event exactly as CloudWatch Logs delivers it"
    )]
    Base64(#[source] base64::DecodeError),
    #[error(
        "`awslogs.data` is not valid gzip ({0}): CloudWatch Logs gzips the payload before base64-encoding it; re-encode it that way"
    )]
    Gzip(#[source] std::io::Error),
    #[error("the decompressed `awslogs.data` is larger than {} MiB: split the batch", crate::limits::MAX_DECOMPRESSED / 1024 / 1024)]
    TooLarge,
    #[error(
        "the decompressed `awslogs.data` is not the CloudWatch Logs JSON (messageType, logEvents) ({0}): check what produced the payload"
    )]
    LogsJson(#[source] serde_json::Error),
    #[error(
        "`Records` is not an array of records ({0}): pass a CloudTrail log file as S3 stores it"
    )]
    RecordsNotArray(#[source] serde_json::Error),
    #[error(
        "the input is JSON but not a CloudWatch Logs event (`awslogs`), an EventBridge event (`detail`), a CloudTrail log file (`Records`) or a CloudTrail record (`eventName`, `userIdentity`): check you passed the right file"
    )]
    UnknownShape,
    #[error(
        "decoding the CloudWatch Logs payload stopped unexpectedly: this is a login-alert bug, please report it with the event"
    )]
    DecoderStopped,
}

/// One record cannot be read; the others of its batch are unaffected.
#[derive(Debug, Error)]
pub enum RecordError {
    #[error("not a CloudTrail record: {0}")]
    Json(#[source] serde_json::Error),
    #[error("not a JSON object, so not a CloudTrail record")]
    NotAnObject,
    #[error("the log event has no `message` string")]
    MissingMessage,
}

/// The settings in the environment are unusable.
#[derive(Debug, Error)]
pub enum SettingsError {
    #[error(
        "{var}=`{value}` is not an IANA time zone: set it to a name like `UTC` or `Asia/Tokyo`"
    )]
    TimeZone { var: &'static str, value: String },
    #[error("{var}: {message}")]
    Invalid { var: &'static str, message: String },
    #[error(
        "{var} is not set: Lambda sets it for every function; outside Lambda set AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)"
    )]
    MissingEnvironment { var: &'static str },
}

/// Delivering one message to one destination failed.
#[derive(Debug, Error)]
pub enum DeliveryError {
    #[error(
        "SNS Publish to {topic} failed: {message}. Check that the topic exists and the function's role allows sns:Publish on it"
    )]
    Sns { topic: String, message: String },
    #[error(
        "reading the {channel} webhook URL from SSM parameter `{parameter}` failed: {message}. Check that the SecureString exists and the function's role allows ssm:GetParameter on it and kms:Decrypt"
    )]
    Parameter {
        channel: &'static str,
        parameter: String,
        message: String,
    },
    #[error(
        "the {channel} webhook URL in SSM parameter `{parameter}` is not a valid http(s) URL: store the full https://... URL the service gave you"
    )]
    Url {
        channel: &'static str,
        parameter: String,
    },
    #[error(
        "{channel} webhook POST failed: {message}. Check the network path from the function to the webhook's host"
    )]
    Transport {
        channel: &'static str,
        message: String,
    },
    #[error(
        "{channel} webhook answered HTTP {status}: {body}. Check that the webhook is still active (the service's app or workflow settings)"
    )]
    Status {
        channel: &'static str,
        status: u16,
        body: String,
    },
    #[error(
        "{channel} webhook is rate limiting (HTTP 429) and asks to wait {retry_after_secs}s, longer than the function has left; the retry will send it"
    )]
    RateLimited {
        channel: &'static str,
        retry_after_secs: u64,
    },
}

/// The state table could not be read or written; the handler then delivers as if it had no state.
#[derive(Debug, Error)]
#[error(
    "DynamoDB {operation} on table `{table}` failed: {message}. Check that the table exists and the function's role allows dynamodb:{operation} on it"
)]
pub struct StoreError {
    pub operation: &'static str,
    pub table: String,
    pub message: String,
}

/// Some messages of an invocation could not be delivered; Lambda retries the event, and only those are sent again.
#[derive(Debug, Error)]
#[error(
    "{failed} of {attempted} deliveries failed (first: {first}); Lambda will retry the event{}",
    retry_note(.exactly_once)
)]
pub struct HandlerError {
    pub failed: usize,
    pub attempted: usize,
    pub first: DeliveryError,
    /// With the state table, what went out is recorded and the retry sends only the rest.
    pub exactly_once: bool,
}

fn retry_note(exactly_once: &bool) -> &'static str {
    if *exactly_once {
        " and send only what failed"
    } else {
        ""
    }
}

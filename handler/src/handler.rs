//! One invocation: read every record, classify it, and deliver each alert, failing only after all were attempted.

use tracing::{error, info, warn};

use crate::classify::Finding;
use crate::deliver::Deliver;
use crate::error::{DeliveryError, HandlerError};
use crate::format;
use crate::input::{self, Shape};
use crate::settings::Settings;

/// What an invocation did, for its log line and for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// `None` when the event as a whole could not be read (logged; retrying would not help).
    pub shape: Option<Shape>,
    pub records: usize,
    pub unreadable: usize,
    pub alerts: usize,
    pub deliveries: usize,
}

/// A rendered alert waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub position: String,
    pub email: Option<format::Email>,
    pub slack: Option<String>,
}

/// Reads, classifies and renders; no I/O. Renders only the channels that will be used.
pub fn render_alerts(
    input: &[u8],
    settings: &Settings,
    email: bool,
    slack: bool,
) -> (Outcome, Vec<Pending>) {
    let mut outcome = Outcome::default();
    let mut pending = Vec::new();
    let shape = input::for_each_record(input, |item| {
        outcome.records += 1;
        let record = match item.record {
            Ok(record) => record,
            Err(err) => {
                outcome.unreadable += 1;
                warn!(position = %item.position, error = %err, "skipped a record that cannot be read");
                return;
            }
        };
        let finding = Finding::new(record, settings.scope, item.timestamp_ms);
        if !finding.alert {
            return;
        }
        outcome.alerts += 1;
        pending.push(Pending {
            position: item.position.to_string(),
            email: email.then(|| format::email(&finding, settings)),
            slack: slack.then(|| format::slack(&finding, settings)),
        });
    });
    match shape {
        Ok(shape) => outcome.shape = Some(shape),
        Err(err) => error!(error = %err, "the event cannot be read; nothing to deliver"),
    }
    (outcome, pending)
}

/// Handles one Lambda event. Every alert is attempted; if any delivery failed the result is an error, so
/// Lambda's asynchronous retry sends the event again (alerts that did go out may then arrive twice).
pub async fn handle<D: Deliver>(
    input: &[u8],
    settings: &Settings,
    deliver: &D,
) -> Result<Outcome, HandlerError> {
    let (mut outcome, pending) = render_alerts(
        input,
        settings,
        deliver.wants_email(),
        deliver.wants_slack(),
    );
    let mut failures: Vec<DeliveryError> = Vec::new();
    for alert in &pending {
        if let Some(email) = &alert.email {
            outcome.deliveries += 1;
            match deliver.email(&email.subject, &email.body).await {
                Ok(()) => info!(position = %alert.position, subject = %email.subject, "emailed"),
                Err(err) => {
                    error!(position = %alert.position, error = %err, "email failed");
                    failures.push(err);
                }
            }
        }
        if let Some(payload) = &alert.slack {
            outcome.deliveries += 1;
            match deliver.slack(payload).await {
                Ok(()) => info!(position = %alert.position, "posted to Slack"),
                Err(err) => {
                    error!(position = %alert.position, error = %err, "Slack post failed");
                    failures.push(err);
                }
            }
        }
    }
    info!(
        records = outcome.records,
        unreadable = outcome.unreadable,
        alerts = outcome.alerts,
        deliveries = outcome.deliveries,
        failed = failures.len(),
        "done"
    );
    let failed = failures.len();
    match failures.into_iter().next() {
        Some(first) => Err(HandlerError {
            failed,
            attempted: outcome.deliveries,
            first,
        }),
        None => Ok(outcome),
    }
}

//! One Lambda invocation: read and classify the records, decide the messages against the state, deliver them,
//! and fail (so Lambda retries) only when some delivery failed.

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use tracing::{error, info};

use crate::collect::{self, Collected, KeepRaw};
use crate::deliver::Deliver;
use crate::engine::{self, Plan};
use crate::error::HandlerError;
use crate::input::Shape;
use crate::settings::Settings;
use crate::store::{MemoryStore, Store};

/// What an invocation did, for its log line and for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// `None` when the event as a whole could not be read (logged; retrying would not help).
    pub shape: Option<Shape>,
    pub records: usize,
    pub unreadable: usize,
    /// Records that alert.
    pub alerts: usize,
    /// Messages this invocation had to send (groups and digests count once).
    pub messages: usize,
    /// Sends attempted (message × destination), not counting those an earlier attempt already made.
    pub deliveries: usize,
    /// Records added to a group's digest instead of a message of their own.
    pub summarised: usize,
    /// Records an earlier invocation already reported.
    pub duplicates: usize,
    /// The lines logged for delivered test records (`login-alert test <eventID> delivered to …`).
    pub test_lines: Vec<String>,
}

/// Handles one event without state: records are grouped within the invocation, nothing is deduplicated.
pub async fn handle<D: Deliver>(
    input: &[u8],
    settings: &Settings,
    deliver: &D,
) -> Result<Outcome, HandlerError> {
    handle_with(
        input,
        settings,
        deliver,
        None::<&MemoryStore>,
        None,
        Utc::now(),
    )
    .await
}

/// Handles one event: a batch of records, or EventBridge's scheduled event (then the digests that are due).
/// Every message is attempted; if a delivery failed the result is an error, so Lambda retries the event, and with
/// a `store` the retry sends only what did not go out.
pub async fn handle_with<D: Deliver, S: Store>(
    input: &[u8],
    settings: &Settings,
    deliver: &D,
    store: Option<&S>,
    deadline: Option<Instant>,
    now: DateTime<Utc>,
) -> Result<Outcome, HandlerError> {
    let channels = deliver.channels();
    let collected = match collect::collect(input, settings, &channels, KeepRaw::All) {
        Ok(collected) => collected,
        Err(err) => {
            error!(error = %err, "the event cannot be read; nothing to deliver");
            Collected::default()
        }
    };
    let mut outcome = Outcome {
        shape: collected.shape,
        records: collected.records,
        unreadable: collected.unreadable,
        alerts: collected.alerts.len(),
        ..Outcome::default()
    };
    let plan: Plan = match (collected.shape, store) {
        (Some(Shape::Schedule), Some(store)) => {
            engine::digests(settings, &channels, store, now).await
        }
        (Some(Shape::Schedule), None) => Plan::default(),
        _ => {
            // Records are held for as long as this invocation may run: a retry after a timeout takes them over.
            let lease = deadline.map_or(engine::DEFAULT_LEASE_SECS, |d| {
                d.saturating_duration_since(Instant::now()).as_secs() as i64 + 1
            });
            engine::invoke(collected, settings, &channels, store, now, lease).await
        }
    };
    outcome.messages = plan.messages.len();
    outcome.summarised = plan.summarised;
    outcome.duplicates = plan.duplicates;
    let delivered = engine::deliver(&plan, deliver, store, deadline).await;
    outcome.deliveries = delivered.attempted;
    outcome.test_lines = delivered.test_lines;
    info!(
        records = outcome.records,
        unreadable = outcome.unreadable,
        alerts = outcome.alerts,
        messages = outcome.messages,
        summarised = outcome.summarised,
        duplicates = outcome.duplicates,
        deliveries = outcome.deliveries,
        failed = delivered.failures.len(),
        "done"
    );
    let failed = delivered.failures.len();
    match delivered.failures.into_iter().next() {
        Some(first) => Err(HandlerError {
            failed,
            attempted: outcome.deliveries,
            first,
            exactly_once: plan.stateful,
        }),
        None => Ok(outcome),
    }
}

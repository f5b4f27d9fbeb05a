//! What an invocation decided, as plain data: the messages to send, the records it holds, what it did with the
//! rest. Delivery executes it.

use std::collections::BTreeSet;

use crate::collect::{Alert, Rendered};
use crate::deliver::Channel;
use crate::store::GroupState;

/// What to do after a message reached every destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finish {
    pub item_key: String,
    pub expected_version: u64,
    pub state: GroupState,
}

/// A message to deliver.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Stable across retries: `e:<eventID>` for a record, `g:<group>:<eventID>` for a group, `d:…` for a digest.
    pub id: String,
    pub subject: String,
    pub rendered: Rendered,
    /// Destinations that already got it (an earlier attempt).
    pub sent: BTreeSet<Channel>,
    pub test_event: Option<String>,
    /// Boxed: only a digest has one, and a large batch holds thousands of messages.
    pub finish: Option<Box<Finish>>,
    /// How many records the message reports.
    pub records: u64,
    /// The account whose route the message takes (`None`: the default route). A message is about one account:
    /// every group key names its account.
    pub account: Option<String>,
}

impl Outgoing {
    /// The message the first pass rendered for `alert` alone, moved out of it (a large batch holds thousands).
    /// `None` when the first pass rendered none.
    pub fn alone(id: String, alert: &mut Alert) -> Option<Outgoing> {
        let rendered = alert.rendered.take()?;
        Some(Outgoing {
            id,
            subject: std::mem::take(&mut alert.subject),
            rendered,
            sent: BTreeSet::new(),
            test_event: alert.test_event.take(),
            finish: None,
            records: 1,
            account: alert.route_account.clone(),
        })
    }
}

/// How long an invocation holds the records it claimed when it does not know its deadline: Lambda's longest
/// timeout.
pub const DEFAULT_LEASE_SECS: i64 = 15 * 60;

/// The records an invocation claimed, held until `until` (epoch seconds).
#[derive(Debug, Default, Clone)]
pub struct Lease {
    pub until: i64,
    pub keys: Vec<String>,
}

/// The messages an invocation sends, and what it did with the other records.
#[derive(Debug, Default)]
pub struct Plan {
    /// The records this invocation holds; released if a delivery fails, so a retry may send what is missing.
    pub lease: Option<Lease>,
    pub messages: Vec<Outgoing>,
    /// Records added to a group's pending summary (the digest reports them).
    pub summarised: usize,
    /// Records already reported by an earlier invocation (a retry, or the same event by another path), or held
    /// by another invocation reporting them right now.
    pub duplicates: usize,
    /// Whether the state was used (the retry then sends only what failed).
    pub stateful: bool,
}

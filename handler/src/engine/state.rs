//! The state an invocation reads: once before planning (what was reported, the groups' windows, the root sessions
//! opened earlier) and once after (which destinations each message already reached).

use std::collections::{BTreeSet, HashMap};

use tracing::error;

use super::batch::Group;
use super::plan::Outgoing;
use crate::classify::RootSession;
use crate::collect::Alert;
use crate::error::StoreError;
use crate::store::{self, GroupState, StateItem, Store};

/// A state table that cannot be read or written costs exactly-once delivery, never an alert.
pub fn log_store_error(err: &StoreError) {
    error!(error = %err, "state table unavailable; delivering as if it had no state");
}

/// The items the state held for this batch when the invocation began (none without a state table).
#[derive(Debug, Default)]
pub struct Known {
    items: HashMap<String, StateItem>,
}

impl Known {
    /// Reads, in one request, the items of the batch's records, of its groups and of the root sessions its records
    /// belong to that the batch itself does not open; then, if earlier attempts reported some of those records,
    /// which of their messages reached a destination. `None` when the table cannot be read (logged).
    pub async fn read<S: Store>(
        store: &S,
        alerts: &[Alert],
        groups: &[Group],
        opened: &HashMap<String, RootSession>,
    ) -> Option<Known> {
        let mut keys: Vec<String> = alerts
            .iter()
            .map(|a| store::event_key(&a.event_id))
            .collect();
        keys.extend(groups.iter().map(|g| store::group_key(&g.digest)));
        keys.extend(
            alerts
                .iter()
                .filter_map(|a| a.access_key.as_deref())
                .filter(|k| !opened.contains_key(*k))
                .map(store::session_key)
                .collect::<BTreeSet<_>>(),
        );
        let mut items = match store.load(&keys).await {
            Ok(items) => items,
            Err(err) => {
                log_store_error(&err);
                return None;
            }
        };
        // A retry, or a record that arrives again with new ones: the messages earlier attempts put the batch's
        // records in, and whether each already reached a destination (new records may join only one that reached
        // nobody: one that did would never bring them to its destinations). A second read, made only then.
        let claimed: BTreeSet<String> = items
            .values()
            .filter_map(|item| match item {
                StateItem::Event { message, .. } if message != store::PENDING => {
                    Some(store::sent_key(message))
                }
                _ => None,
            })
            .collect();
        if !claimed.is_empty() {
            match store.load(&claimed.into_iter().collect::<Vec<_>>()).await {
                Ok(sent) => items.extend(sent),
                Err(err) => {
                    log_store_error(&err);
                    return None;
                }
            }
        }
        Some(Known { items })
    }

    /// Adds the root sessions opened by earlier batches; one the batch opens itself wins.
    pub fn add_sessions_to(&self, sessions: &mut HashMap<String, RootSession>) {
        for (key, item) in &self.items {
            if let (Some(access), StateItem::Session { session, .. }) =
                (key.strip_prefix("session#"), item)
            {
                sessions
                    .entry(access.to_owned())
                    .or_insert_with(|| session.clone());
            }
        }
    }

    /// The message an earlier invocation reported this record in (or [`store::PENDING`]), if any.
    pub fn claim_of(&self, event_id: &str) -> Option<String> {
        if self.items.is_empty() {
            return None;
        }
        match self.items.get(&store::event_key(event_id)) {
            Some(StateItem::Event { message, .. }) => Some(message.clone()),
            _ => None,
        }
    }

    /// The window of the group with this digest, if one was ever opened.
    pub fn group(&self, digest: &str) -> Option<&GroupState> {
        match self.items.get(&store::group_key(digest)) {
            Some(StateItem::Group(g)) => Some(g),
            _ => None,
        }
    }

    /// Whether message `id` reached some destination before this invocation began.
    pub fn was_sent(&self, id: &str) -> bool {
        self.items.contains_key(&store::sent_key(id))
    }
}

/// Fills in which destinations each message already reached (an earlier attempt).
pub async fn mark_already_sent<S: Store>(store: &S, messages: &mut [Outgoing]) {
    let keys: Vec<String> = messages.iter().map(|m| store::sent_key(&m.id)).collect();
    if keys.is_empty() {
        return;
    }
    match store.load(&keys).await {
        Ok(items) => {
            for m in messages.iter_mut() {
                if let Some(StateItem::Sent { channels, .. }) = items.get(&store::sent_key(&m.id)) {
                    m.sent = channels.clone();
                }
            }
        }
        Err(err) => log_store_error(&err),
    }
}

//! The state kept across invocations (the DynamoDB table, or memory for `preview` and tests): which records were
//! already reported, each group's window and pending summary, which message reached which destination, and the
//! root sessions `AssumeRoot` opened.
//!
//! Every item's key is prefixed by what it is: `event#<eventID>`, `group#<digest>`, `sent#<message id>`,
//! `session#<access key>`, `checkpoint#<region>`, `baseline#<digest>` (what is normal for one identity),
//! `source#<digest>` (the identities failing from one address), `config#account-names`; every item has an
//! `expires_at` (epoch seconds, the TTL).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::baseline::{Baseline, Source};
use crate::classify::RootSession;
use crate::deliver::Channel;
use crate::error::StoreError;
use crate::group::{Head, Summary};

/// The key of the item the CLI writes at `apply`: `names` maps account IDs to names.
pub const ACCOUNT_NAMES_KEY: &str = "config#account-names";

/// How long each kind of item is kept (DynamoDB's TTL deletes it within a few days after).
pub const EVENT_TTL_SECS: i64 = 24 * 3600;
pub const SENT_TTL_SECS: i64 = 48 * 3600;
/// `AssumeRoot` sessions last at most 15 minutes; CloudWatch Logs delivers their records within minutes more.
pub const SESSION_TTL_SECS: i64 = 3600;
/// A group's item outlives its window by a day, so a late digest still finds it.
pub const GROUP_TTL_AFTER_WINDOW_SECS: i64 = 24 * 3600;

pub fn event_key(event_id: &str) -> String {
    format!("event#{event_id}")
}
pub fn group_key(digest: &str) -> String {
    format!("group#{digest}")
}
pub fn sent_key(message_id: &str) -> String {
    format!("sent#{message_id}")
}
pub fn session_key(access_key: &str) -> String {
    format!("session#{access_key}")
}
pub fn checkpoint_key(region: &str) -> String {
    format!("checkpoint#{region}")
}

/// How far the event-history backfill (`history.rs`) has read one region: every event up to `at` (epoch
/// seconds) was looked at, except, when a run stopped at its page bound, `backlog`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkpoint {
    pub at: i64,
    pub backlog: Option<Backlog>,
}

/// What a run that stopped at its page bound left: the events before `before` (down to `at` less the
/// overlap) are still to be read; those from `before` to `resume` were read, so `at` becomes `resume` once
/// the backlog is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    pub before: i64,
    pub resume: i64,
}

/// Where a reported record went: into a message (its ID) or into its group's pending summary.
pub const PENDING: &str = "pending";

/// A group's window: which message opened it, what it carried, and what arrived since (for the digest).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    /// The full group key (class|account|principal|session|ip), for people reading the table.
    pub key: String,
    pub head: Head,
    pub window_start: i64,
    pub window_end: i64,
    /// The message that opened the window; a retry of that invocation finds it here and re-sends only what failed.
    pub opener: String,
    /// Records of an earlier window that no digest had reported, summarised in the opener.
    pub carried: Summary,
    /// Records that arrived within the window after the opener: the next digest reports them.
    pub pending: Summary,
    /// Bumped on every write; a write succeeds only over the version it read.
    pub version: u64,
}

/// One item of state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateItem {
    /// A record already reported: in message `message`, or `pending` in its group. The invocation that claimed it
    /// holds it until `lease_until` (epoch seconds; 0 once released): until then no other invocation sends it.
    Event {
        message: String,
        expires_at: i64,
        lease_until: i64,
    },
    Group(Box<GroupState>),
    /// The destinations a message reached.
    Sent {
        channels: BTreeSet<Channel>,
        expires_at: i64,
    },
    Session {
        session: RootSession,
        expires_at: i64,
    },
    /// Where the event-history backfill of one region stands.
    Checkpoint {
        checkpoint: Checkpoint,
        expires_at: i64,
    },
    /// What is normal for one identity (`baseline#…`); its `expires_at` is inside.
    Baseline(Box<Baseline>),
    /// The identities that failed to sign in from one address within the window (`source#…`).
    Source(Box<Source>),
}

/// A record an invocation means to report in `message`. A new record is claimed only if no item exists; a record
/// already claimed for the same message (`takeover`: the retry of an attempt that failed) only once its holder let go
/// of it: its lease ran out or was released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The item key, `event#<eventID>`.
    pub key: String,
    pub message: String,
    pub takeover: bool,
}

/// Where state lives. Generic so `preview` and tests run the handler's logic on memory.
pub trait Store: Sync {
    /// The items under `keys` that exist.
    fn load(
        &self,
        keys: &[String],
    ) -> impl Future<Output = Result<HashMap<String, StateItem>, StoreError>> + Send;
    /// Writes items whatever was there (event claims, sessions).
    fn put_all(
        &self,
        items: Vec<(String, StateItem)>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Claims records for this invocation until `lease_until`, each with its own condition (see [`Claim`]), so of
    /// two invocations claiming one record exactly one wins. Returns the keys another invocation holds.
    fn claim(
        &self,
        claims: Vec<Claim>,
        lease_until: i64,
        expires_at: i64,
        now: i64,
    ) -> impl Future<Output = Result<BTreeSet<String>, StoreError>> + Send;
    /// Lets go of the records this invocation still holds under `lease_until` (its delivery failed: the retry, or
    /// the other path's invocation, may now take them over and send what is missing).
    fn release(
        &self,
        keys: Vec<String>,
        lease_until: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Writes a group's state if it is still at `expected` (`None`: if it does not exist); `false` when another
    /// invocation changed it first.
    fn put_group(
        &self,
        key: &str,
        state: &GroupState,
        expected: Option<u64>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records that `message` reached `channel`.
    fn mark_sent(
        &self,
        message: &str,
        channel: Channel,
        expires_at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Groups whose window closed by `now` with records pending.
    fn due_groups(
        &self,
        now: i64,
    ) -> impl Future<Output = Result<Vec<(String, GroupState)>, StoreError>> + Send;
    /// The account names the CLI stored at `apply`.
    fn account_names(
        &self,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, StoreError>> + Send;
}

/// State in memory: `preview` starts from an empty one; tests inspect it.
#[derive(Debug, Default)]
pub struct MemoryStore {
    items: Mutex<HashMap<String, StateItem>>,
    /// The groups with records pending, by `(window_end, key)`: `preview` asks for the due digests before every
    /// record it replays, so a scan of every item there made a batch of new groups (one identity from a new
    /// address each time: a password spray) quadratic.
    due: Mutex<BTreeSet<(i64, String)>>,
    /// Groups `due_groups` looked at, over the store's life (the test of the index above).
    examined: AtomicUsize,
    names: BTreeMap<String, String>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_account_names(names: BTreeMap<String, String>) -> Self {
        MemoryStore {
            names,
            ..MemoryStore::default()
        }
    }

    /// How many groups `due_groups` looked at so far.
    pub fn examined(&self) -> usize {
        self.examined.load(Ordering::Relaxed)
    }

    /// Keeps the index of groups with records pending in step with a group's item.
    fn index(&self, key: &str, old: Option<&GroupState>, new: Option<&GroupState>) {
        let Ok(mut due) = self.due.lock() else { return };
        if let Some(old) = old {
            due.remove(&(old.window_end, key.to_owned()));
        }
        if let Some(new) = new.filter(|g| !g.pending.is_empty()) {
            due.insert((new.window_end, key.to_owned()));
        }
    }

    /// A copy of every item, for tests.
    pub fn snapshot(&self) -> HashMap<String, StateItem> {
        self.items.lock().map(|i| i.clone()).unwrap_or_default()
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut HashMap<String, StateItem>) -> T,
    ) -> Result<T, StoreError> {
        let mut items = self.items.lock().map_err(|_| StoreError {
            operation: "memory",
            table: "(memory)".into(),
            message: "a previous writer panicked".into(),
        })?;
        Ok(f(&mut items))
    }
}

impl Store for MemoryStore {
    async fn load(&self, keys: &[String]) -> Result<HashMap<String, StateItem>, StoreError> {
        self.with(|items| {
            keys.iter()
                .filter_map(|k| items.get(k).map(|v| (k.clone(), v.clone())))
                .collect()
        })
    }

    async fn put_all(&self, new: Vec<(String, StateItem)>) -> Result<(), StoreError> {
        self.with(|items| {
            for (key, item) in new {
                let old = items.insert(key.clone(), item);
                let group = |i: &Option<StateItem>| match i {
                    Some(StateItem::Group(g)) => Some((**g).clone()),
                    _ => None,
                };
                let new = group(&items.get(&key).cloned());
                if old.is_some() || new.is_some() {
                    self.index(&key, group(&old).as_ref(), new.as_ref());
                }
            }
        })
    }

    async fn claim(
        &self,
        claims: Vec<Claim>,
        lease_until: i64,
        expires_at: i64,
        now: i64,
    ) -> Result<BTreeSet<String>, StoreError> {
        self.with(|items| {
            let mut lost = BTreeSet::new();
            for claim in claims {
                let free = match items.get(&claim.key) {
                    None => !claim.takeover,
                    Some(StateItem::Event {
                        message,
                        lease_until,
                        ..
                    }) => claim.takeover && *message == claim.message && *lease_until < now,
                    Some(_) => false,
                };
                if !free {
                    lost.insert(claim.key);
                    continue;
                }
                items.insert(
                    claim.key,
                    StateItem::Event {
                        message: claim.message,
                        expires_at,
                        lease_until,
                    },
                );
            }
            lost
        })
    }

    async fn release(&self, keys: Vec<String>, held: i64) -> Result<(), StoreError> {
        self.with(|items| {
            for key in keys {
                if let Some(StateItem::Event { lease_until, .. }) = items.get_mut(&key)
                    && *lease_until == held
                {
                    *lease_until = 0;
                }
            }
        })
    }

    async fn put_group(
        &self,
        key: &str,
        state: &GroupState,
        expected: Option<u64>,
    ) -> Result<bool, StoreError> {
        self.with(|items| {
            let current = match items.get(key) {
                Some(StateItem::Group(g)) => Some(g.version),
                _ => None,
            };
            if current != expected {
                return false;
            }
            let old = items.insert(key.to_owned(), StateItem::Group(Box::new(state.clone())));
            let old = match &old {
                Some(StateItem::Group(g)) => Some(&**g),
                _ => None,
            };
            self.index(key, old, Some(state));
            true
        })
    }

    async fn mark_sent(
        &self,
        message: &str,
        channel: Channel,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.with(|items| {
            let entry = items
                .entry(sent_key(message))
                .or_insert_with(|| StateItem::Sent {
                    channels: BTreeSet::new(),
                    expires_at,
                });
            if let StateItem::Sent { channels, .. } = entry {
                channels.insert(channel);
            }
        })
    }

    async fn due_groups(&self, now: i64) -> Result<Vec<(String, GroupState)>, StoreError> {
        let keys: Vec<String> = match self.due.lock() {
            Ok(due) => due
                .iter()
                .take_while(|(end, _)| *end <= now)
                .map(|(_, key)| key.clone())
                .collect(),
            Err(_) => Vec::new(),
        };
        self.examined.fetch_add(keys.len(), Ordering::Relaxed);
        // In the index's order: window end, then key.
        self.with(|items| {
            keys.into_iter()
                .filter_map(|k| match items.get(&k) {
                    Some(StateItem::Group(g)) if !g.pending.is_empty() && g.window_end <= now => {
                        Some((k, (**g).clone()))
                    }
                    _ => None,
                })
                .collect()
        })
    }

    async fn account_names(&self) -> Result<BTreeMap<String, String>, StoreError> {
        Ok(self.names.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(window_end: i64, pending: u64) -> GroupState {
        GroupState {
            window_end,
            pending: Summary {
                count: pending,
                ..Summary::default()
            },
            version: 1,
            ..GroupState::default()
        }
    }

    /// `preview` replays a batch one record at a time and asks for the due digests before each: with one new
    /// group per record (a password spray from a new address each time) the work must grow with the groups that
    /// are due, not with every group the store holds (it looked at all of them: 40,000 records took seconds).
    #[test]
    fn due_digests_look_only_at_groups_that_are_due() {
        let store = MemoryStore::new();
        let n = 2_000i64;
        futures::executor::block_on(async {
            for i in 0..n {
                assert!(store.due_groups(i).await.unwrap().is_empty());
                // Each new group opens a window (closing after the replay) with nothing pending; every tenth gets a
                // late record.
                let key = format!("group#{i}");
                let opened = group(n + i, 0);
                assert!(store.put_group(&key, &opened, None).await.unwrap());
                if i % 10 == 0 {
                    assert!(
                        store
                            .put_group(&key, &group(n + i, 1), Some(1))
                            .await
                            .unwrap()
                    );
                }
            }
        });
        assert!(
            store.examined() <= 2 * n as usize / 10,
            "due_groups looked at {} groups for {} due",
            store.examined(),
            n / 10
        );
        // What is due, in order of window end; a group is due once, and no longer once its digest is written.
        let due = futures::executor::block_on(store.due_groups(3 * n)).unwrap();
        assert_eq!(due.len(), n as usize / 10);
        assert!(
            due.windows(2)
                .all(|w| w[0].1.window_end <= w[1].1.window_end)
        );
        let (key, first) = &due[0];
        let mut done = first.clone();
        done.pending = Summary::default();
        done.version += 1;
        assert!(
            futures::executor::block_on(store.put_group(key, &done, Some(first.version))).unwrap()
        );
        let again = futures::executor::block_on(store.due_groups(3 * n)).unwrap();
        assert_eq!(again.len(), n as usize / 10 - 1);
        assert!(again.iter().all(|(k, _)| k != key));
    }
}

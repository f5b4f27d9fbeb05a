//! Group windows: what each group of the batch does given its window in the state, and the window's new state,
//! written only over the version read so that two invocations changing one group never both win.

use std::slice;

use tracing::warn;

use super::batch::Group;
use super::decide::{Decided, Decision, Split, decide, split_group};
use super::group_message::{head_of, summary_of};
use super::invocation::Invocation;
use super::state::log_store_error;
use crate::group::{Head, Summary};
use crate::store::{self, GroupState, StateItem, Store};

/// How often a group's state is read again when another invocation keeps changing it.
const GROUP_WRITE_ATTEMPTS: u32 = 3;

impl<S: Store> Invocation<'_, S> {
    /// One group's step: its records split by what the state says of them (those reported in another message
    /// are duplicates, those another invocation holds are left to it), its decision settled against the state,
    /// then its claims and message.
    pub async fn window(&mut self, group: &Group) {
        let mut split = split_group(&group.members, &self.alerts, &group.digest, &self.known);
        self.plan.duplicates += split.elsewhere;
        split.fresh.retain(|i| !self.claims.lost.contains(i));
        split.mine.retain(|(i, _)| !self.claims.lost.contains(i));
        if let Some((decided, current)) = self.settle(group, &split).await {
            self.group_message(group, decided, current.as_ref());
        }
    }

    /// Decides what the group does and writes its new state over the version read; when another invocation
    /// changed the group first, reads it again and decides again. Returns the decision (`None`: nothing to do)
    /// with the group's state as it now stands. A state table that fails is logged and the decision kept.
    async fn settle(&self, group: &Group, split: &Split) -> Option<(Decided, Option<GroupState>)> {
        let item_key = store::group_key(&group.digest);
        let mut current = self.known.group(&group.digest).cloned();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let decided = decide(
                &group.digest,
                &self.alerts,
                split,
                current.as_ref(),
                &self.known,
                self.store.is_some(),
                self.now_s,
            )?;
            let Some(s) = self.store else {
                return Some((decided, current));
            };
            let Some(next) = self.next_state(group, &decided, current.as_ref()) else {
                return Some((decided, current));
            };
            let expected = current.as_ref().map(|g| g.version);
            match s.put_group(&item_key, &next, expected).await {
                Ok(true) => return Some((decided, Some(next))),
                Ok(false) if attempts < GROUP_WRITE_ATTEMPTS => {
                    // Another invocation changed the group first: read it again and decide again.
                    match s.load(slice::from_ref(&item_key)).await {
                        Ok(items) => {
                            current = match items.get(&item_key) {
                                Some(StateItem::Group(g)) => Some((**g).clone()),
                                _ => None,
                            };
                        }
                        Err(err) => {
                            log_store_error(&err);
                            return Some((decided, current));
                        }
                    }
                }
                Ok(false) => {
                    warn!(group = %group.digest, "the group kept changing under this invocation; sending its message anyway");
                    return Some((decided, current));
                }
                Err(err) => {
                    log_store_error(&err);
                    return Some((decided, current));
                }
            }
        }
    }

    /// The group's state after `decided`: a new window when it opens one (carrying the records of the closed
    /// window that no digest reported), or the pending summary grown by late records. `None`: nothing changes.
    fn next_state(
        &self,
        group: &Group,
        decided: &Decided,
        current: Option<&GroupState>,
    ) -> Option<GroupState> {
        match &decided.decision {
            Decision::Open { id } => {
                let first = &self.alerts[decided.in_message[0]];
                let head = first
                    .class
                    .map(|class| head_of(first, class, self.settings))
                    .unwrap_or_default();
                Some(GroupState {
                    key: group.key.clone(),
                    head: Head {
                        root_session: first
                            .access_key
                            .as_deref()
                            .and_then(|k| self.sessions.get(k))
                            .cloned(),
                        ..head
                    },
                    window_start: self.now_s,
                    window_end: self.now_s + self.settings.group_window().num_seconds(),
                    opener: id.clone(),
                    carried: current.map(|g| g.pending.clone()).unwrap_or_default(),
                    pending: Summary::default(),
                    version: current.map_or(0, |g| g.version) + 1,
                })
            }
            _ if decided.pending.is_empty() => None,
            _ => current.cloned().map(|mut g| {
                g.pending.merge(&summary_of(
                    decided.pending.iter().map(|&i| &self.alerts[i]),
                ));
                g.version += 1;
                g
            }),
        }
    }
}

//! Claims: before any group state is written, each record the invocation means to report is claimed with its own
//! condition, so of two invocations reporting one record (both event paths at once) one sends it. A record another
//! invocation holds is left to it.

use std::collections::{BTreeSet, HashMap, HashSet};

use tracing::info;

use super::batch::Group;
use super::decide::{decide, split_group};
use super::plan::Lease;
use super::state::{Known, log_store_error};
use crate::collect::Alert;
use crate::store::{self, Claim, EVENT_TTL_SECS, PENDING, StateItem, Store};

/// What the claims won and lost, and the claim items still to write. Empty without a state table.
#[derive(Debug, Default)]
pub struct Claims {
    /// Whether a state table is in use (claims are written only then).
    active: bool,
    /// Records another invocation holds.
    pub lost: HashSet<usize>,
    /// Records claimed, with the message each was claimed for.
    claimed: HashMap<usize, String>,
    lease_until: i64,
    expires_at: i64,
}

impl Claims {
    /// Claims, until `lease_until`, every record of the batch for the message the state read suggests. If a
    /// group's decision changes later (another invocation changed the group), its claims are rewritten at the end.
    pub async fn take<S: Store>(
        store: &S,
        alerts: &[Alert],
        groups: &[Group],
        known: &Known,
        now_s: i64,
        lease_until: i64,
    ) -> Claims {
        let mut wanted: Vec<(usize, Claim)> = Vec::new();
        let mut want = |i: usize, message: &str| {
            let event_id = &alerts[i].event_id;
            wanted.push((
                i,
                Claim {
                    key: store::event_key(event_id),
                    message: message.to_owned(),
                    takeover: known.claim_of(event_id).is_some(),
                },
            ));
        };
        for (i, a) in alerts.iter().enumerate() {
            let id = format!("e:{}", a.event_id);
            if a.group_key.is_none() && known.claim_of(&a.event_id).is_none_or(|m| m == id) {
                want(i, &id);
            }
        }
        for group in groups {
            let split = split_group(&group.members, alerts, &group.digest, known);
            let current = known.group(&group.digest);
            let Some(decided) = decide(&group.digest, alerts, &split, current, known, true, now_s)
            else {
                continue;
            };
            if let Some(id) = decided.decision.message() {
                for &i in &decided.in_message {
                    want(i, id);
                }
            }
            for &i in &decided.pending {
                want(i, PENDING);
            }
        }
        let mut claims = Claims {
            active: true,
            lease_until,
            expires_at: now_s + EVENT_TTL_SECS,
            ..Claims::default()
        };
        let requests: Vec<Claim> = wanted.iter().map(|(_, c)| c.clone()).collect();
        match store
            .claim(requests, lease_until, claims.expires_at, now_s)
            .await
        {
            Ok(held) => {
                for (i, c) in wanted {
                    if held.contains(&c.key) {
                        claims.lost.insert(i);
                    } else {
                        claims.claimed.insert(i, c.message);
                    }
                }
            }
            // Delivered as if claimed (a duplicate beats a lost alert); the claims are written at the end.
            Err(err) => log_store_error(&err),
        }
        if !claims.lost.is_empty() {
            info!(
                records = claims.lost.len(),
                "records held by another invocation are left to it"
            );
        }
        claims
    }

    /// The claim item still to write for record `i` reported in `message`: `None` when it was claimed for that
    /// message already, or without a state table.
    pub fn write(&self, i: usize, event_id: &str, message: &str) -> Option<(String, StateItem)> {
        if !self.active || self.claimed.get(&i).is_some_and(|m| m == message) {
            return None;
        }
        Some((
            store::event_key(event_id),
            StateItem::Event {
                message: message.to_owned(),
                expires_at: self.expires_at,
                lease_until: self.lease_until,
            },
        ))
    }

    /// The records this invocation holds: those it claimed and those it writes a claim for at the end.
    pub fn lease(&self, alerts: &[Alert], writes: &[(String, StateItem)]) -> Lease {
        let mut keys: BTreeSet<String> = self
            .claimed
            .keys()
            .map(|&i| store::event_key(&alerts[i].event_id))
            .collect();
        keys.extend(
            writes
                .iter()
                .filter(|(_, item)| matches!(item, StateItem::Event { .. }))
                .map(|(key, _)| key.clone()),
        );
        Lease {
            until: self.lease_until,
            keys: keys.into_iter().collect(),
        }
    }
}

//! The records that belong to no group: each is its own message, as the first pass rendered it.

use super::invocation::Invocation;
use super::plan::Outgoing;
use crate::store::{self, SESSION_TTL_SECS, StateItem, Store};

impl<S: Store> Invocation<'_, S> {
    /// Each ungrouped record not held by another invocation becomes message `e:<eventID>`, unless an earlier
    /// invocation reported it in another message (a duplicate). An `AssumeRoot` call also records its session, so
    /// the root activity of later batches names who opened it.
    pub fn singles(&mut self) {
        for i in 0..self.alerts.len() {
            let a = &self.alerts[i];
            if a.group_key.is_some() || self.claims.lost.contains(&i) {
                continue;
            }
            let id = format!("e:{}", a.event_id);
            match self.known.claim_of(&a.event_id) {
                Some(existing) if existing != id => {
                    self.plan.duplicates += 1;
                    continue;
                }
                Some(_) => {}
                None => self.writes.extend(self.claims.write(i, &a.event_id, &id)),
            }
            if let (Some((key, session)), Some(_)) = (a.session_opened.as_deref(), self.store) {
                self.writes.push((
                    store::session_key(key),
                    StateItem::Session {
                        session: session.clone(),
                        expires_at: self.now_s + SESSION_TTL_SECS,
                    },
                ));
            }
            let index = a.index;
            if let Some(outgoing) = Outgoing::alone(id, &mut self.alerts[i]) {
                self.out.push((index, outgoing));
            }
        }
    }
}

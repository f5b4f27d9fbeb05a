//! One invocation's working set while it plans: the batch, what the state said, the claims, and the messages and
//! state writes decided so far. The steps of [`super::invoke`] fill it in; `finish` turns it into the plan.

use std::collections::HashMap;

use super::claims::Claims;
use super::plan::{Outgoing, Plan};
use super::state::{Known, log_store_error, mark_already_sent};
use crate::classify::RootSession;
use crate::collect::Alert;
use crate::deliver::Channel;
use crate::settings::Settings;
use crate::store::{StateItem, Store};

pub struct Invocation<'a, S> {
    pub settings: &'a Settings,
    pub channels: &'a [Channel],
    /// `None` without a state table, or when it could not be read.
    pub store: Option<&'a S>,
    pub now_s: i64,
    /// The batch's alerting records, each once, in input order.
    pub alerts: Vec<Alert>,
    /// Root sessions by access key: opened in the batch, else by an earlier one.
    pub sessions: HashMap<String, RootSession>,
    pub known: Known,
    pub claims: Claims,
    /// State items to write once every message is decided.
    pub writes: Vec<(String, StateItem)>,
    /// Messages with the position of their first record, to send in input order.
    pub out: Vec<(usize, Outgoing)>,
    pub plan: Plan,
}

impl<S: Store> Invocation<'_, S> {
    /// The plan: the messages in input order and the lease on the records held; the decided state is written and
    /// each message's destinations reached by an earlier attempt are filled in.
    pub async fn finish(mut self) -> Plan {
        self.out.sort_by_key(|(index, _)| *index);
        self.plan.messages = self.out.into_iter().map(|(_, o)| o).collect();
        if let Some(s) = self.store {
            self.plan.lease = Some(self.claims.lease(&self.alerts, &self.writes));
            if let Err(err) = s.put_all(self.writes).await {
                log_store_error(&err);
            }
            mark_already_sent(s, &mut self.plan.messages).await;
        }
        self.plan
    }
}

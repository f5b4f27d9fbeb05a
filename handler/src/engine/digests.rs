//! The digests of groups whose window closed with records pending: one message each, and the group's pending
//! summary emptied once it reached every destination.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::plan::{Finish, Outgoing, Plan};
use super::state::{log_store_error, mark_already_sent};
use crate::collect::Rendered;
use crate::deliver::Channel;
use crate::group::Summary;
use crate::message;
use crate::render;
use crate::settings::Settings;
use crate::store::Store;

/// The digests due at `now`: one per group whose window closed with records pending.
pub async fn digests<S: Store>(
    settings: &Settings,
    channels: &[Channel],
    store: &S,
    now: DateTime<Utc>,
) -> Plan {
    let mut plan = Plan {
        stateful: true,
        ..Plan::default()
    };
    let due = match store.due_groups(now.timestamp()).await {
        Ok(due) => due,
        Err(err) => {
            log_store_error(&err);
            return plan;
        }
    };
    for (item_key, group) in due {
        let digest = item_key.trim_start_matches("group#").to_owned();
        let message = message::digest(&group.head, &group.pending, settings);
        let rendered = Rendered::new(&message, channels, || {
            render::webhook_digest(&group.head, &digest, &group.pending, settings)
        });
        let mut done = group.clone();
        done.pending = Summary::default();
        done.version += 1;
        plan.messages.push(Outgoing {
            id: format!("d:{digest}:{}:{}", group.window_end, group.pending.count),
            subject: message.subject.clone(),
            rendered,
            sent: BTreeSet::new(),
            test_event: None,
            records: group.pending.count,
            // A group is one account's; tamper groups stay on the default route, as their first message did.
            account: group
                .head
                .account_id
                .clone()
                .filter(|_| group.head.class != Some(crate::group::Class::Tamper)),
            finish: Some(Box::new(Finish {
                item_key,
                expected_version: group.version,
                state: done,
            })),
        });
    }
    mark_already_sent(store, &mut plan.messages).await;
    plan
}

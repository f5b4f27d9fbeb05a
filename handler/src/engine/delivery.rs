//! Delivery: every message to every destination it has not reached yet, each success recorded at once.

use std::collections::BTreeSet;

use chrono::Utc;
use futures::StreamExt;
use tokio::time::Instant;
use tracing::{error, info, warn};

use super::plan::Plan;
use super::state::log_store_error;
use crate::deliver::{Channel, Deliver};
use crate::error::DeliveryError;
use crate::store::{SENT_TTL_SECS, Store};
use crate::testevent;

/// What delivery did.
#[derive(Debug, Default)]
pub struct Delivered {
    /// Sends attempted in this invocation.
    pub attempted: usize,
    pub failures: Vec<DeliveryError>,
    /// The delivery lines logged for test records (see [`testevent::test_delivered_line`]).
    pub test_lines: Vec<String>,
}

/// Sends every message to every destination it has not reached yet: destinations in parallel, each with its own
/// bound on messages in flight. Each success is recorded at once, so a retry re-sends only what failed.
pub async fn deliver<D: Deliver, S: Store>(
    plan: &Plan,
    deliver: &D,
    store: Option<&S>,
    deadline: Option<Instant>,
) -> Delivered {
    let now_s = Utc::now().timestamp();
    let channels = deliver.channels();
    // Each message goes to the destinations of its account's route only (see `crate::route`).
    let routes: Vec<Vec<Channel>> = plan
        .messages
        .iter()
        .map(|m| deliver.channels_about(m.account.as_deref()))
        .collect();
    let routes = &routes;
    let per_channel = channels.iter().map(|&channel| {
        let jobs = plan.messages.iter().enumerate().filter_map(move |(i, m)| {
            if m.sent.contains(&channel) || !routes[i].contains(&channel) {
                return None;
            }
            m.rendered.payload(channel).map(|p| (i, m, p))
        });
        futures::stream::iter(jobs)
            .map(move |(i, m, payload)| async move {
                let result = deliver
                    .send_about(m.account.as_deref(), channel, payload, deadline)
                    .await;
                match &result {
                    Ok(()) => {
                        info!(message = %m.id, channel = channel.as_str(), subject = %m.subject, "delivered");
                        if let Some(s) = store
                            && let Err(err) = s.mark_sent(&m.id, channel, now_s + SENT_TTL_SECS).await
                        {
                            log_store_error(&err);
                        }
                    }
                    Err(err) => {
                        error!(message = %m.id, channel = channel.as_str(), error = %err, "delivery failed")
                    }
                }
                (i, channel, result)
            })
            .buffer_unordered(channel.concurrency())
            .collect::<Vec<_>>()
    });
    let results: Vec<(usize, Channel, Result<(), DeliveryError>)> =
        futures::future::join_all(per_channel)
            .await
            .into_iter()
            .flatten()
            .collect();
    let mut reached: Vec<BTreeSet<Channel>> =
        plan.messages.iter().map(|m| m.sent.clone()).collect();
    let mut delivered = Delivered {
        attempted: results.len(),
        ..Delivered::default()
    };
    for (i, channel, result) in results {
        match result {
            Ok(()) => {
                reached[i].insert(channel);
            }
            Err(err) => delivered.failures.push(err),
        }
    }
    // A failed delivery lets go of the records: the retry (or the other path's invocation) sends what is missing.
    if !delivered.failures.is_empty()
        && let (Some(s), Some(lease)) = (store, &plan.lease)
        && let Err(err) = s.release(lease.keys.clone(), lease.until).await
    {
        log_store_error(&err);
    }
    for ((m, reached), channels) in plan.messages.iter().zip(&reached).zip(routes) {
        let complete = channels
            .iter()
            .all(|c| reached.contains(c) || m.rendered.payload(*c).is_none());
        if !complete {
            continue;
        }
        if let Some(id) = &m.test_event {
            let names: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
            let line = testevent::test_delivered_line(id, &names);
            // Printed as is (not through the log formatter): `login-alert test` matches this exact line.
            println!("{line}");
            delivered.test_lines.push(line);
        }
        if let (Some(finish), Some(s)) = (&m.finish, store) {
            match s
                .put_group(
                    &finish.item_key,
                    &finish.state,
                    Some(finish.expected_version),
                )
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    warn!(group = %finish.item_key, "the group changed while its digest was sent; the next run reports the rest")
                }
                Err(err) => log_store_error(&err),
            }
        }
    }
    delivered
}

//! The state in DynamoDB (the table the CLI creates: on demand, partition key `pk` (S), TTL on `expires_at`).
//!
//! Item layout, by key prefix (every item also has `pk` and `expires_at`, epoch seconds):
//! - `event#<eventID>`: `message` (S): the message that reported the record, or `pending` (its group's digest);
//!   `lease_until` (N): until when the invocation that claimed it holds it (0: released).
//! - `group#<digest>`: `state` (S, JSON of [`GroupState`]), `version` (N), `window_end` (N), `pending_count` (N).
//! - `sent#<message id>`: `channels` (SS): the destinations the message reached.
//! - `session#<access key>`: `caller` (S), `caller_account` (S), `task_policy` (S): who opened a root session.
//! - `checkpoint#<region>`: `at` (N), and after a run that stopped at its page bound `backlog_before` (N) and
//!   `backlog_resume` (N): how far the event-history backfill has read the region.
//! - `baseline#<digest>`, `source#<digest>`: `state` (S, JSON of [`Baseline`] / [`Source`]): what is normal for
//!   an identity, who failed from an address. Written last-writer-wins (see `usual.rs` for why).
//! - `config#account-names`: `names` (M of S): account ID -> name, written by the CLI at `apply`.
//!
//! Calls: GetItem (the names), BatchGetItem, BatchWriteItem, PutItem (conditional: groups, and claims of new
//! records), UpdateItem (sent; conditional: claims taken over, leases released), Scan (the scheduled digest finds
//! due groups). Claims are one conditional write each (BatchWriteItem takes no condition), a bounded number at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, WriteRequest};
use futures::StreamExt;

use crate::baseline::{Baseline, Source};
use crate::classify::RootSession;
use crate::deliver::Channel;
use crate::error::StoreError;
use crate::store::{
    ACCOUNT_NAMES_KEY, Backlog, Checkpoint, Claim, GROUP_TTL_AFTER_WINDOW_SECS, GroupState,
    StateItem, Store,
};

/// BatchGetItem takes at most 100 keys, BatchWriteItem 25 items.
const GET_BATCH: usize = 100;
const WRITE_BATCH: usize = 25;
/// Batches in flight at once.
const CONCURRENCY: usize = 8;
/// Single-item conditional writes (claims, releases) in flight at once.
const CLAIM_CONCURRENCY: usize = 16;
/// Unprocessed keys or items (throttling) are retried this many times, with a growing pause.
const UNPROCESSED_RETRIES: u32 = 5;
/// Pages of a digest scan; far more than a table of short-lived items holds.
const MAX_SCAN_PAGES: usize = 100;

/// The state table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn get_s<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn get_n(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

impl DynamoStore {
    pub fn new(client: Client, table: String) -> Self {
        DynamoStore { client, table }
    }

    /// The routes the CLI stored at `apply` (`config#routes`); an empty table when there is no item (no route
    /// configured, or an apply before routes existed) or it cannot be read as one.
    pub async fn route_table(&self) -> Result<crate::route::RouteTable, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(crate::route::ROUTES_KEY))
            .send()
            .await
            .map_err(|e| self.error("GetItem", e))?;
        Ok(out
            .item
            .as_ref()
            .and_then(|item| get_s(item, crate::route::ROUTES_ATTRIBUTE))
            .and_then(crate::route::RouteTable::from_json)
            .unwrap_or_default())
    }

    fn error(&self, operation: &'static str, err: impl std::error::Error) -> StoreError {
        StoreError {
            operation,
            table: self.table.clone(),
            message: DisplayErrorContext(err).to_string(),
        }
    }

    /// A conditional write's outcome: `Ok(true)` when it went through, `Ok(false)` when its condition
    /// did not hold (`failed_condition` tells that error from the others), any other error named.
    fn conditional<T, E: std::error::Error + 'static>(
        &self,
        operation: &'static str,
        result: Result<T, SdkError<E, HttpResponse>>,
        failed_condition: impl Fn(&E) -> bool,
    ) -> Result<bool, StoreError> {
        match result {
            Ok(_) => Ok(true),
            Err(err) if err.as_service_error().is_some_and(failed_condition) => Ok(false),
            Err(err) => Err(self.error(operation, err)),
        }
    }

    fn to_item(key: &str, item: &StateItem) -> HashMap<String, AttributeValue> {
        let mut out = HashMap::from([("pk".to_owned(), s(key))]);
        match item {
            StateItem::Event {
                message,
                expires_at,
                lease_until,
            } => {
                out.insert("message".into(), s(message));
                out.insert("expires_at".into(), n(*expires_at));
                out.insert("lease_until".into(), n(*lease_until));
            }
            StateItem::Group(state) => {
                out.insert(
                    "state".into(),
                    s(serde_json::to_string(&**state).unwrap_or_default()),
                );
                out.insert("version".into(), n(state.version as i64));
                out.insert("window_end".into(), n(state.window_end));
                out.insert("pending_count".into(), n(state.pending.count as i64));
                out.insert(
                    "expires_at".into(),
                    n(state.window_end + GROUP_TTL_AFTER_WINDOW_SECS),
                );
            }
            StateItem::Sent {
                channels,
                expires_at,
            } => {
                out.insert(
                    "channels".into(),
                    AttributeValue::Ss(channels.iter().map(|c| c.as_str().to_owned()).collect()),
                );
                out.insert("expires_at".into(), n(*expires_at));
            }
            StateItem::Session {
                session,
                expires_at,
            } => {
                out.insert("caller".into(), s(&session.caller));
                if let Some(account) = &session.caller_account {
                    out.insert("caller_account".into(), s(account));
                }
                if let Some(policy) = &session.task_policy {
                    out.insert("task_policy".into(), s(policy));
                }
                out.insert("expires_at".into(), n(*expires_at));
            }
            StateItem::Checkpoint {
                checkpoint,
                expires_at,
            } => {
                out.insert("at".into(), n(checkpoint.at));
                if let Some(backlog) = checkpoint.backlog {
                    out.insert("backlog_before".into(), n(backlog.before));
                    out.insert("backlog_resume".into(), n(backlog.resume));
                }
                out.insert("expires_at".into(), n(*expires_at));
            }
            StateItem::Baseline(baseline) => {
                out.insert(
                    "state".into(),
                    s(serde_json::to_string(&**baseline).unwrap_or_default()),
                );
                out.insert("expires_at".into(), n(baseline.expires_at));
            }
            StateItem::Source(source) => {
                out.insert(
                    "state".into(),
                    s(serde_json::to_string(&**source).unwrap_or_default()),
                );
                out.insert("expires_at".into(), n(source.expires_at));
            }
        }
        out
    }

    fn from_item(item: &HashMap<String, AttributeValue>) -> Option<(String, StateItem)> {
        let key = get_s(item, "pk")?.to_owned();
        let expires_at = get_n(item, "expires_at").unwrap_or(0);
        let state = if key.starts_with("event#") {
            StateItem::Event {
                message: get_s(item, "message")?.to_owned(),
                expires_at,
                // Items written before leases existed are nobody's.
                lease_until: get_n(item, "lease_until").unwrap_or(0),
            }
        } else if key.starts_with("group#") {
            StateItem::Group(Box::new(
                serde_json::from_str::<GroupState>(get_s(item, "state")?).ok()?,
            ))
        } else if key.starts_with("sent#") {
            let channels = item
                .get("channels")
                .and_then(|v| v.as_ss().ok())
                .map(|ss| ss.iter().filter_map(|c| Channel::from_str_opt(c)).collect())
                .unwrap_or_default();
            StateItem::Sent {
                channels,
                expires_at,
            }
        } else if key.starts_with("session#") {
            StateItem::Session {
                session: RootSession {
                    caller: get_s(item, "caller")?.to_owned(),
                    caller_account: get_s(item, "caller_account").map(str::to_owned),
                    task_policy: get_s(item, "task_policy").map(str::to_owned),
                },
                expires_at,
            }
        } else if key.starts_with("checkpoint#") {
            let backlog = match (get_n(item, "backlog_before"), get_n(item, "backlog_resume")) {
                (Some(before), Some(resume)) => Some(Backlog { before, resume }),
                _ => None,
            };
            StateItem::Checkpoint {
                checkpoint: Checkpoint {
                    at: get_n(item, "at")?,
                    backlog,
                },
                expires_at,
            }
        } else if key.starts_with("baseline#") {
            StateItem::Baseline(Box::new(
                serde_json::from_str::<Baseline>(get_s(item, "state")?).ok()?,
            ))
        } else if key.starts_with("source#") {
            StateItem::Source(Box::new(
                serde_json::from_str::<Source>(get_s(item, "state")?).ok()?,
            ))
        } else {
            return None;
        };
        Some((key, state))
    }

    async fn get_batch(
        &self,
        keys: Vec<String>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut pending: Vec<HashMap<String, AttributeValue>> = keys
            .into_iter()
            .map(|k| HashMap::from([("pk".to_owned(), s(k))]))
            .collect();
        let mut found = Vec::new();
        for attempt in 0..=UNPROCESSED_RETRIES {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| self.error("BatchGetItem", e))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| self.error("BatchGetItem", e))?;
            if let Some(mut responses) = out.responses {
                found.extend(responses.remove(&self.table).unwrap_or_default());
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
        }
        if !pending.is_empty() {
            return Err(StoreError {
                operation: "BatchGetItem",
                table: self.table.clone(),
                message: format!("{} keys stayed unprocessed (throttled)", pending.len()),
            });
        }
        Ok(found)
    }

    async fn write_batch(
        &self,
        items: Vec<HashMap<String, AttributeValue>>,
    ) -> Result<(), StoreError> {
        let mut pending: Vec<WriteRequest> = items
            .into_iter()
            .filter_map(|item| {
                let put = PutRequest::builder().set_item(Some(item)).build().ok()?;
                Some(WriteRequest::builder().put_request(put).build())
            })
            .collect();
        for attempt in 0..=UNPROCESSED_RETRIES {
            if pending.is_empty() {
                return Ok(());
            }
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, std::mem::take(&mut pending))
                .send()
                .await
                .map_err(|e| self.error("BatchWriteItem", e))?;
            pending = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&self.table))
                .unwrap_or_default();
        }
        if pending.is_empty() {
            Ok(())
        } else {
            Err(StoreError {
                operation: "BatchWriteItem",
                table: self.table.clone(),
                message: format!("{} items stayed unprocessed (throttled)", pending.len()),
            })
        }
    }
}

impl DynamoStore {
    /// One claim: `true` if this invocation now holds the record, `false` if another does.
    async fn claim_one(
        &self,
        claim: &Claim,
        lease_until: i64,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        if claim.takeover {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(&claim.key))
                .update_expression("SET lease_until = :lease, expires_at = :e")
                .condition_expression(
                    "message = :m AND (attribute_not_exists(lease_until) OR lease_until < :now)",
                )
                .expression_attribute_values(":lease", n(lease_until))
                .expression_attribute_values(":e", n(expires_at))
                .expression_attribute_values(":m", s(&claim.message))
                .expression_attribute_values(":now", n(now))
                .send()
                .await;
            self.conditional("UpdateItem", result, |e| {
                e.is_conditional_check_failed_exception()
            })
        } else {
            let item = Self::to_item(
                &claim.key,
                &StateItem::Event {
                    message: claim.message.clone(),
                    expires_at,
                    lease_until,
                },
            );
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            self.conditional("PutItem", result, |e| {
                e.is_conditional_check_failed_exception()
            })
        }
    }
}

impl Store for DynamoStore {
    async fn load(&self, keys: &[String]) -> Result<HashMap<String, StateItem>, StoreError> {
        let unique: BTreeSet<&String> = keys.iter().collect();
        let chunks: Vec<Vec<String>> = unique
            .into_iter()
            .cloned()
            .collect::<Vec<_>>()
            .chunks(GET_BATCH)
            .map(<[String]>::to_vec)
            .collect();
        let results: Vec<Result<Vec<HashMap<String, AttributeValue>>, StoreError>> =
            futures::stream::iter(chunks)
                .map(|chunk| self.get_batch(chunk))
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
        let mut out = HashMap::new();
        for result in results {
            for item in result? {
                if let Some((key, state)) = Self::from_item(&item) {
                    out.insert(key, state);
                }
            }
        }
        Ok(out)
    }

    async fn put_all(&self, items: Vec<(String, StateItem)>) -> Result<(), StoreError> {
        // BatchWriteItem refuses a request that names one key twice: the last write of a key wins.
        let unique: BTreeMap<String, StateItem> = items.into_iter().collect();
        let items: Vec<HashMap<String, AttributeValue>> =
            unique.iter().map(|(k, v)| Self::to_item(k, v)).collect();
        let chunks: Vec<Vec<HashMap<String, AttributeValue>>> =
            items.chunks(WRITE_BATCH).map(<[_]>::to_vec).collect();
        let results: Vec<Result<(), StoreError>> = futures::stream::iter(chunks)
            .map(|chunk| self.write_batch(chunk))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        results.into_iter().collect()
    }

    async fn claim(
        &self,
        claims: Vec<Claim>,
        lease_until: i64,
        expires_at: i64,
        now: i64,
    ) -> Result<BTreeSet<String>, StoreError> {
        let results: Vec<(String, Result<bool, StoreError>)> = futures::stream::iter(claims)
            .map(|claim| async move {
                let won = self.claim_one(&claim, lease_until, expires_at, now).await;
                (claim.key, won)
            })
            .buffer_unordered(CLAIM_CONCURRENCY)
            .collect()
            .await;
        let mut lost = BTreeSet::new();
        let mut first_error = None;
        for (key, won) in results {
            match won {
                Ok(true) => {}
                Ok(false) => {
                    lost.insert(key);
                }
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        // A claim that could not be written counts as won (the caller delivers): a duplicate beats a lost alert.
        match first_error {
            Some(err) if lost.is_empty() => Err(err),
            Some(err) => {
                tracing::error!(error = %err, "some claims could not be written; delivering those records anyway");
                Ok(lost)
            }
            None => Ok(lost),
        }
    }

    async fn release(&self, keys: Vec<String>, held: i64) -> Result<(), StoreError> {
        let results: Vec<Result<(), StoreError>> = futures::stream::iter(keys)
            .map(|key| async move {
                let result = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key("pk", s(key))
                    .update_expression("SET lease_until = :zero")
                    // Only a lease this invocation still holds: another may have taken the record over since.
                    .condition_expression("lease_until = :held")
                    .expression_attribute_values(":zero", n(0))
                    .expression_attribute_values(":held", n(held))
                    .send()
                    .await;
                self.conditional("UpdateItem", result, |e| {
                    e.is_conditional_check_failed_exception()
                })
                .map(|_| ())
            })
            .buffer_unordered(CLAIM_CONCURRENCY)
            .collect()
            .await;
        results.into_iter().collect()
    }

    async fn put_group(
        &self,
        key: &str,
        state: &GroupState,
        expected: Option<u64>,
    ) -> Result<bool, StoreError> {
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::to_item(
                key,
                &StateItem::Group(Box::new(state.clone())),
            )));
        request = match expected {
            None => request.condition_expression("attribute_not_exists(pk)"),
            Some(version) => request
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(version as i64)),
        };
        self.conditional("PutItem", request.send().await, |e| {
            e.is_conditional_check_failed_exception()
        })
    }

    async fn mark_sent(
        &self,
        message: &str,
        channel: Channel,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(crate::store::sent_key(message)))
            .update_expression("ADD channels :c SET expires_at = :e")
            .expression_attribute_values(
                ":c",
                AttributeValue::Ss(vec![channel.as_str().to_owned()]),
            )
            .expression_attribute_values(":e", n(expires_at))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.error("UpdateItem", e))
    }

    async fn due_groups(&self, now: i64) -> Result<Vec<(String, GroupState)>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        for _ in 0..MAX_SCAN_PAGES {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(
                    "begins_with(pk, :g) AND pending_count > :zero AND window_end <= :now",
                )
                .expression_attribute_values(":g", s("group#"))
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":now", n(now))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.error("Scan", e))?;
            for item in page.items.unwrap_or_default() {
                if let Some((key, StateItem::Group(state))) = Self::from_item(&item) {
                    out.push((key, *state));
                }
            }
            match page.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.1.window_end.cmp(&b.1.window_end).then(a.0.cmp(&b.0)));
        Ok(out)
    }

    async fn account_names(&self) -> Result<BTreeMap<String, String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(ACCOUNT_NAMES_KEY))
            .send()
            .await
            .map_err(|e| self.error("GetItem", e))?;
        let names = out
            .item
            .as_ref()
            .and_then(|item| item.get("names"))
            .and_then(|v| v.as_m().ok())
            .map(|m| {
                m.iter()
                    .filter_map(|(id, name)| Some((id.clone(), name.as_s().ok()?.clone())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(names)
    }
}

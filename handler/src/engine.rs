//! One invocation's logic, shared by the Lambda and `preview`: read and classify every record (on worker threads),
//! decide which messages to send given the state (group windows, what was already reported and sent), and
//! deliver them concurrently, recording each delivery so a retry sends only what failed.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, TimeZone, Utc};
use futures::StreamExt;
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::classify::{Finding, RootSession};
use crate::deliver::{Channel, Deliver};
use crate::error::DeliveryError;
use crate::group::{self, Class, Head, Summary};
use crate::input::EventInfo;
use crate::message::{self};
use crate::record::Record;
use crate::render::{self};
use crate::settings::Settings;
use crate::store::{
    self, Claim, EVENT_TTL_SECS, GroupState, PENDING, SENT_TTL_SECS, SESSION_TTL_SECS, StateItem,
    Store,
};
use crate::testevent;

pub use crate::collect::{Alert, Collected, KeepRaw, Rendered, collect};

/// When every alerting record is its own message (no group of two, no root session of a call in the batch, no
/// record twice), an invocation on an empty state sends exactly the messages the first pass rendered, in input
/// order: they are returned without planning. `None` when planning is needed.
pub fn each_alone(collected: &mut Collected) -> Option<Vec<Outgoing>> {
    let mut ids: HashSet<&str> = HashSet::with_capacity(collected.alerts.len());
    let mut groups: HashSet<&str> = HashSet::new();
    let opened: HashSet<&str> = collected
        .alerts
        .iter()
        .filter_map(|a| a.session_opened.as_ref().map(|(key, _)| key.as_str()))
        .collect();
    for a in &collected.alerts {
        let repeated_group = a
            .group_key
            .as_deref()
            .is_some_and(|key| !groups.insert(key));
        let in_session = a.access_key.as_deref().is_some_and(|k| opened.contains(k));
        if repeated_group || in_session || !ids.insert(a.event_id.as_str()) || a.rendered.is_none()
        {
            return None;
        }
    }
    collected.alerts.sort_by_key(|a| a.index);
    Some(
        collected
            .alerts
            .iter_mut()
            .filter_map(|a| {
                let id = match &a.group_key {
                    Some(key) => format!("g:{}:{}", group::digest(key), a.event_id),
                    None => format!("e:{}", a.event_id),
                };
                Some(Outgoing {
                    id,
                    subject: std::mem::take(&mut a.subject),
                    rendered: a.rendered.take()?,
                    sent: BTreeSet::new(),
                    test_event: a.test_event.take(),
                    finish: None,
                    records: 1,
                })
            })
            .collect(),
    )
}

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
    pub finish: Option<Finish>,
    /// How many records the message reports.
    pub records: u64,
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

fn log_store_error(err: &crate::error::StoreError) {
    error!(error = %err, "state table unavailable; delivering as if it had no state");
}

/// Renders a group's message: its first record in full (re-read from its JSON), the rest summarised.
#[allow(clippy::too_many_arguments)]
fn render_group(
    first: &mut Alert,
    members: &Summary,
    carried: &Summary,
    session: Option<&RootSession>,
    digest: &str,
    settings: &Settings,
    channels: &[Channel],
) -> Option<(Rendered, String)> {
    // Alone, with nothing to add, the first pass already shaped it; a record heads one group only, so its
    // message is moved out rather than copied (a large batch holds thousands of them).
    if members.count <= 1
        && carried.is_empty()
        && session.is_none()
        && let Some(rendered) = first.rendered.take()
    {
        return Some((rendered, std::mem::take(&mut first.subject)));
    }
    let raw = first.raw.as_deref()?;
    let record = Record::parse(raw).ok()?;
    let envelope = EventInfo {
        region: crate::lenient::Text(first.envelope_region.clone().map(Into::into)),
        account: crate::lenient::Text(first.envelope_account.clone().map(Into::into)),
        ..EventInfo::default()
    };
    let mut finding = Finding::with_envelope(record, settings, first.timestamp_ms, Some(&envelope));
    if let Some(session) = session {
        finding.attach_root_session(session.clone());
    }
    let message = message::group(&finding, members, carried, settings);
    let mut all = members.clone();
    all.merge(carried);
    let rendered = Rendered::new(&message, channels, || {
        render::webhook(&finding, settings, Some((digest, &all)))
    });
    Some((rendered, message.subject))
}

fn envelope_of(alert: &Alert) -> EventInfo<'_> {
    EventInfo {
        region: crate::lenient::Text(alert.envelope_region.as_deref().map(Into::into)),
        account: crate::lenient::Text(alert.envelope_account.as_deref().map(Into::into)),
        ..EventInfo::default()
    }
}

/// Who a group is about, read again from its first record's JSON (for the state a digest is rendered from).
fn head_of(alert: &Alert, class: Class, settings: &Settings) -> Head {
    let Some(record) = alert.raw.as_deref().and_then(|raw| Record::parse(raw).ok()) else {
        return Head::default();
    };
    let envelope = envelope_of(alert);
    let finding = Finding::with_envelope(record, settings, alert.timestamp_ms, Some(&envelope));
    Head::of(&finding, class)
}

fn summary_of<'a>(alerts: impl Iterator<Item = &'a Alert>) -> Summary {
    let mut summary = Summary::default();
    for a in alerts {
        summary.add(&a.event_name, a.time, a.region.as_deref(), a.failed);
    }
    summary
}

/// What one group does in this invocation.
enum Decision {
    /// Open a new window with message `id` holding these items.
    Open { id: String },
    /// Re-send message `id` of an earlier attempt (a retry), with these items.
    Resume { id: String, accept_new: bool },
    /// The window is open: add new items to the pending summary.
    Late,
}

/// What one group does given what is known of it: the decision, the records in its message, the records added to
/// its pending summary. `None` when it has nothing to do.
#[allow(clippy::too_many_arguments)]
fn decide(
    digest: &str,
    alerts: &[Alert],
    fresh: &[usize],
    mine: &[(usize, String)],
    current: Option<&GroupState>,
    state: &HashMap<String, StateItem>,
    stateful: bool,
    now_s: i64,
) -> Option<(Decision, Vec<usize>, Vec<usize>)> {
    let earlier = mine.first().map(|(_, m)| m.clone());
    let open_window = current.filter(|g| g.window_end > now_s);
    let decision = match (&earlier, open_window) {
        (Some(id), _) => Decision::Resume {
            id: id.clone(),
            // New records may join only a message that reached nobody yet.
            accept_new: !state.contains_key(&store::sent_key(id)),
        },
        (None, Some(_)) if stateful => Decision::Late,
        (None, _) => Decision::Open {
            id: format!("g:{digest}:{}", alerts[*fresh.first()?].event_id),
        },
    };
    let (in_message, pending): (Vec<usize>, Vec<usize>) = match &decision {
        Decision::Open { .. } => (fresh.to_vec(), Vec::new()),
        Decision::Resume { id, accept_new } => {
            let mut in_message: Vec<usize> = mine
                .iter()
                .filter(|(_, m)| m == id)
                .map(|(i, _)| *i)
                .collect();
            if *accept_new {
                in_message.extend(fresh.iter().copied());
                in_message.sort_unstable();
                (in_message, Vec::new())
            } else {
                (in_message, fresh.to_vec())
            }
        }
        Decision::Late => (Vec::new(), fresh.to_vec()),
    };
    Some((decision, in_message, pending))
}

/// A group's records split by what the state says of them: new ones, and those an earlier attempt put in one of
/// the group's messages (with that message). Records reported elsewhere are counted as duplicates.
fn split_group(
    members: &[usize],
    alerts: &[Alert],
    digest: &str,
    claim_of: impl Fn(&str) -> Option<String>,
    duplicates: &mut usize,
) -> (Vec<usize>, Vec<(usize, String)>) {
    let mut fresh: Vec<usize> = Vec::new();
    let mut mine: Vec<(usize, String)> = Vec::new();
    let prefix = format!("g:{digest}:");
    for &i in members {
        match claim_of(&alerts[i].event_id) {
            None => fresh.push(i),
            Some(m) if m.starts_with(&prefix) => mine.push((i, m)),
            Some(_) => *duplicates += 1,
        }
    }
    (fresh, mine)
}

/// Decides the messages of one invocation at `now`, reading and writing state through `store` when there is one.
/// Records it reports are claimed for `lease_secs` first: of two invocations reporting one record (both event paths
/// at once), one sends it.
pub async fn invoke<S: Store>(
    collected: Collected,
    settings: &Settings,
    channels: &[Channel],
    store: Option<&S>,
    now: DateTime<Utc>,
    lease_secs: i64,
) -> Plan {
    let mut alerts = collected.alerts;
    alerts.sort_by_key(|a| a.index);
    let before = alerts.len();
    let keep: Vec<bool> = {
        let mut seen: HashSet<&str> = HashSet::with_capacity(alerts.len());
        alerts
            .iter()
            .map(|a| seen.insert(a.event_id.as_str()))
            .collect()
    };
    let mut keep = keep.into_iter();
    alerts.retain(|_| keep.next().unwrap_or(true));
    let mut plan = Plan {
        duplicates: before - alerts.len(),
        ..Plan::default()
    };
    let now_s = now.timestamp();
    let window = settings.group_window().num_seconds();

    // Groups in order of first appearance.
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    {
        let mut group_pos: HashMap<&str, usize> = HashMap::new();
        for (i, a) in alerts.iter().enumerate() {
            if let Some(key) = a.group_key.as_deref() {
                let pos = match group_pos.get(key) {
                    Some(pos) => *pos,
                    None => {
                        groups.push((key.to_owned(), Vec::new()));
                        group_pos.insert(key, groups.len() - 1);
                        groups.len() - 1
                    }
                };
                groups[pos].1.push(i);
            }
        }
    }
    let mut sessions: HashMap<String, RootSession> = alerts
        .iter()
        .filter_map(|a| a.session_opened.clone())
        .collect();

    // State, read once: what was reported, the groups' windows, the root sessions opened earlier.
    let mut state: HashMap<String, StateItem> = HashMap::new();
    let mut store = store;
    if let Some(s) = store {
        let mut keys: Vec<String> = alerts
            .iter()
            .map(|a| store::event_key(&a.event_id))
            .collect();
        keys.extend(
            groups
                .iter()
                .map(|(k, _)| store::group_key(&group::digest(k))),
        );
        keys.extend(
            alerts
                .iter()
                .filter_map(|a| a.access_key.as_deref())
                .filter(|k| !sessions.contains_key(*k))
                .map(store::session_key)
                .collect::<BTreeSet<_>>(),
        );
        match s.load(&keys).await {
            Ok(items) => state = items,
            Err(err) => {
                log_store_error(&err);
                store = None;
            }
        }
    }
    plan.stateful = store.is_some();
    for (key, item) in &state {
        if let (Some(access), StateItem::Session { session, .. }) =
            (key.strip_prefix("session#"), item)
        {
            sessions
                .entry(access.to_owned())
                .or_insert_with(|| session.clone());
        }
    }
    let claim_of = |id: &str| {
        if state.is_empty() {
            return None;
        }
        match state.get(&store::event_key(id)) {
            Some(StateItem::Event { message, .. }) => Some(message.clone()),
            _ => None,
        }
    };

    // Claims, each written with its condition before any group state: a record another invocation holds is left
    // to it. The message each is claimed for is what the state read suggests; if a group's decision changes below
    // (another invocation changed the group), the claim is rewritten at the end.
    let lease_until = now_s + lease_secs;
    let mut lost: HashSet<usize> = HashSet::new();
    let mut claimed: HashMap<usize, String> = HashMap::new();
    if let Some(s) = store {
        let mut claims: Vec<(usize, Claim)> = Vec::new();
        let mut ignored = 0;
        let mut wants = |i: usize, message: &str| {
            let existing = claim_of(&alerts[i].event_id);
            claims.push((
                i,
                Claim {
                    key: store::event_key(&alerts[i].event_id),
                    message: message.to_owned(),
                    takeover: existing.is_some(),
                },
            ));
        };
        for (i, a) in alerts.iter().enumerate() {
            let id = format!("e:{}", a.event_id);
            if a.group_key.is_none() && claim_of(&a.event_id).is_none_or(|m| m == id) {
                wants(i, &id);
            }
        }
        for (key, members) in &groups {
            let digest = group::digest(key);
            let current = match state.get(&store::group_key(&digest)) {
                Some(StateItem::Group(g)) => Some(&**g),
                _ => None,
            };
            let (fresh, mine) = split_group(members, &alerts, &digest, claim_of, &mut ignored);
            let Some((decision, in_message, pending)) = decide(
                &digest, &alerts, &fresh, &mine, current, &state, true, now_s,
            ) else {
                continue;
            };
            if let Decision::Open { id } | Decision::Resume { id, .. } = &decision {
                for &i in &in_message {
                    wants(i, id);
                }
            }
            for &i in &pending {
                wants(i, PENDING);
            }
        }
        let requests: Vec<Claim> = claims.iter().map(|(_, c)| c.clone()).collect();
        match s
            .claim(requests, lease_until, now_s + EVENT_TTL_SECS, now_s)
            .await
        {
            Ok(held) => {
                for (i, c) in claims {
                    if held.contains(&c.key) {
                        lost.insert(i);
                    } else {
                        claimed.insert(i, c.message);
                    }
                }
            }
            // Delivered as if claimed (a duplicate beats a lost alert); the claims are written at the end.
            Err(err) => log_store_error(&err),
        }
        if !lost.is_empty() {
            info!(
                records = lost.len(),
                "records held by another invocation are left to it"
            );
        }
        plan.duplicates += lost.len();
    }

    let mut writes: Vec<(String, StateItem)> = Vec::new();
    // Claims still to write: those whose message differs from the one claimed (or not claimed at all).
    let claim = |i: usize, event_id: &str, message: &str| {
        if store.is_none() || claimed.get(&i).is_some_and(|m| m == message) {
            return None;
        }
        Some((
            store::event_key(event_id),
            StateItem::Event {
                message: message.to_owned(),
                expires_at: now_s + EVENT_TTL_SECS,
                lease_until,
            },
        ))
    };
    // Messages with the position of their first record, to send in input order.
    let mut out: Vec<(usize, Outgoing)> = Vec::new();

    for (i, a) in alerts.iter_mut().enumerate() {
        if a.group_key.is_some() || lost.contains(&i) {
            continue;
        }
        let id = format!("e:{}", a.event_id);
        match claim_of(&a.event_id) {
            Some(existing) if existing != id => {
                plan.duplicates += 1;
                continue;
            }
            Some(_) => {}
            None => writes.extend(claim(i, &a.event_id, &id)),
        }
        if let (Some((key, session)), Some(_)) = (&a.session_opened, store) {
            writes.push((
                store::session_key(key),
                StateItem::Session {
                    session: session.clone(),
                    expires_at: now_s + SESSION_TTL_SECS,
                },
            ));
        }
        let Some(rendered) = a.rendered.take() else {
            continue;
        };
        out.push((
            a.index,
            Outgoing {
                id,
                subject: std::mem::take(&mut a.subject),
                rendered,
                sent: BTreeSet::new(),
                test_event: a.test_event.take(),
                finish: None,
                records: 1,
            },
        ));
    }

    for (key, members) in &groups {
        let digest = group::digest(key);
        let item_key = store::group_key(&digest);
        let mut current = match state.get(&item_key) {
            Some(StateItem::Group(g)) => Some((**g).clone()),
            _ => None,
        };
        // Records reported before (a retry, or the same event by another path) keep the message they went to;
        // records another invocation holds are left to it.
        let (mut fresh, mut mine) =
            split_group(members, &alerts, &digest, claim_of, &mut plan.duplicates);
        fresh.retain(|i| !lost.contains(i));
        mine.retain(|(i, _)| !lost.contains(i));
        let mut attempts = 0;
        let (decision, in_message, pending) = loop {
            attempts += 1;
            let Some((decision, in_message, pending)) = decide(
                &digest,
                &alerts,
                &fresh,
                &mine,
                current.as_ref(),
                &state,
                store.is_some(),
                now_s,
            ) else {
                break (None, Vec::new(), Vec::new());
            };
            let Some(s) = store else {
                break (Some(decision), in_message, pending);
            };
            // The group's new state, written only over the version read.
            let expected = current.as_ref().map(|g| g.version);
            let next = match &decision {
                Decision::Open { id } => {
                    let first = &alerts[in_message[0]];
                    let head = first
                        .class
                        .map(|class| head_of(first, class, settings))
                        .unwrap_or_default();
                    // Records of a closed window that no digest reported yet are carried into this message.
                    let carried = current
                        .as_ref()
                        .map(|g| g.pending.clone())
                        .unwrap_or_default();
                    Some(GroupState {
                        key: key.clone(),
                        head: Head {
                            root_session: first
                                .access_key
                                .as_deref()
                                .and_then(|k| sessions.get(k))
                                .cloned(),
                            ..head
                        },
                        window_start: now_s,
                        window_end: now_s + window,
                        opener: id.clone(),
                        carried,
                        pending: Summary::default(),
                        version: expected.unwrap_or(0) + 1,
                    })
                }
                _ if pending.is_empty() => None,
                _ => current.clone().map(|mut g| {
                    g.pending
                        .merge(&summary_of(pending.iter().map(|&i| &alerts[i])));
                    g.version += 1;
                    g
                }),
            };
            let Some(next) = next else {
                break (Some(decision), in_message, pending);
            };
            match s.put_group(&item_key, &next, expected).await {
                Ok(true) => {
                    current = Some(next);
                    break (Some(decision), in_message, pending);
                }
                Ok(false) if attempts < 3 => {
                    // Another invocation changed the group first: read it again and decide again.
                    match s.load(std::slice::from_ref(&item_key)).await {
                        Ok(items) => {
                            current = match items.get(&item_key) {
                                Some(StateItem::Group(g)) => Some((**g).clone()),
                                _ => None,
                            };
                        }
                        Err(err) => {
                            log_store_error(&err);
                            break (Some(decision), in_message, pending);
                        }
                    }
                }
                Ok(false) => {
                    warn!(group = %digest, "the group kept changing under this invocation; sending its message anyway");
                    break (Some(decision), in_message, pending);
                }
                Err(err) => {
                    log_store_error(&err);
                    break (Some(decision), in_message, pending);
                }
            }
        };
        let Some(decision) = decision else { continue };
        for &i in &pending {
            writes.extend(claim(i, &alerts[i].event_id, PENDING));
        }
        plan.summarised += pending.len();
        let id = match decision {
            Decision::Open { id } | Decision::Resume { id, .. } => id,
            Decision::Late => continue,
        };
        for &i in &in_message {
            if claim_of(&alerts[i].event_id).is_none_or(|m| m != id) {
                writes.extend(claim(i, &alerts[i].event_id, &id));
            }
        }
        let Some(&first) = in_message.first() else {
            continue;
        };
        // The first record with its JSON kept stands for the group (the batch's first one, unless a retry
        // finds it reported elsewhere).
        let first = if alerts[first].raw.is_some() || alerts[first].rendered.is_some() {
            first
        } else {
            members
                .iter()
                .copied()
                .find(|&i| alerts[i].raw.is_some())
                .unwrap_or(first)
        };
        let carried = current
            .as_ref()
            .filter(|g| g.opener == id)
            .map(|g| g.carried.clone())
            .unwrap_or_default();
        let session = alerts[first]
            .access_key
            .as_deref()
            .and_then(|k| sessions.get(k))
            .cloned();
        // A group of one with nothing to add keeps the message the first pass rendered; no summary needed.
        let members_summary = if in_message.len() == 1 && carried.is_empty() && session.is_none() {
            Summary {
                count: 1,
                ..Summary::default()
            }
        } else {
            summary_of(in_message.iter().map(|&i| &alerts[i]))
        };
        let index = alerts[first].index;
        let Some((rendered, subject)) = render_group(
            &mut alerts[first],
            &members_summary,
            &carried,
            session.as_ref(),
            &digest,
            settings,
            channels,
        ) else {
            warn!(group = %digest, "the group's first record could not be read again; its records stay counted");
            continue;
        };
        out.push((
            index,
            Outgoing {
                id,
                subject,
                rendered,
                sent: BTreeSet::new(),
                test_event: None,
                finish: None,
                records: in_message.len() as u64 + carried.count,
            },
        ));
    }

    out.sort_by_key(|(index, _)| *index);
    plan.messages = out.into_iter().map(|(_, o)| o).collect();
    if let Some(s) = store {
        let mut keys: BTreeSet<String> = claimed
            .keys()
            .map(|&i| store::event_key(&alerts[i].event_id))
            .collect();
        keys.extend(
            writes
                .iter()
                .filter(|(_, item)| matches!(item, StateItem::Event { .. }))
                .map(|(key, _)| key.clone()),
        );
        plan.lease = Some(Lease {
            until: lease_until,
            keys: keys.into_iter().collect(),
        });
        if let Err(err) = s.put_all(writes).await {
            log_store_error(&err);
        }
        mark_already_sent(s, &mut plan.messages).await;
    }
    plan
}

/// Fills in which destinations each message already reached (an earlier attempt).
async fn mark_already_sent<S: Store>(store: &S, messages: &mut [Outgoing]) {
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
            finish: Some(Finish {
                item_key,
                expected_version: group.version,
                state: done,
            }),
        });
    }
    mark_already_sent(store, &mut plan.messages).await;
    plan
}

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
    let per_channel = channels.iter().map(|&channel| {
        let jobs = plan.messages.iter().enumerate().filter_map(move |(i, m)| {
            if m.sent.contains(&channel) {
                return None;
            }
            m.rendered.payload(channel).map(|p| (i, m, p))
        });
        futures::stream::iter(jobs)
            .map(move |(i, m, payload)| async move {
                let result = deliver.send(channel, payload, deadline).await;
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
    for (m, reached) in plan.messages.iter().zip(&reached) {
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

/// The time an invocation of `preview` happens at: when its last record happened, so output is reproducible.
pub fn latest_time(alerts: &[Alert]) -> DateTime<Utc> {
    alerts
        .iter()
        .filter_map(|a| a.time)
        .max()
        .unwrap_or_else(|| Utc.timestamp_opt(0, 0).single().unwrap_or_default())
}

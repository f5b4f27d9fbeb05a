//! What the batch says of itself before any state is read: records it repeats, the groups its records form, the
//! root sessions opened in it; and when none of that matters, its messages as the first pass rendered them.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use chrono::{DateTime, TimeZone, Utc};

use super::group_message::{render_group, summary_of};
use super::plan::Outgoing;
use crate::classify::RootSession;
use crate::collect::{Alert, Collected};
use crate::deliver::Channel;
use crate::group::{self, Summary};
use crate::settings::Settings;

/// Records of one group in this batch, in input order.
#[derive(Debug)]
pub struct Group {
    /// The full group key (class|account|principal|session|ip).
    pub key: String,
    /// Its short digest, which names the group's item and messages.
    pub digest: String,
    /// Positions in the deduplicated alerts.
    pub members: Vec<usize>,
}

/// The alerts in input order with every record whose event ID came earlier dropped (the same event delivered
/// twice in one batch), and how many were dropped.
pub fn dedupe(mut alerts: Vec<Alert>) -> (Vec<Alert>, usize) {
    // The first pass hands them over in input order already; an alert is large, so it is moved only when needed.
    if !alerts.is_sorted_by_key(|a| a.index) {
        alerts.sort_by_key(|a| a.index);
    }
    let before = alerts.len();
    let keep: Vec<bool> = {
        let mut seen: HashSet<&str> = HashSet::with_capacity(alerts.len());
        alerts
            .iter()
            .map(|a| seen.insert(a.event_id.as_str()))
            .collect()
    };
    if keep.iter().all(|&k| k) {
        return (alerts, 0);
    }
    let mut keep = keep.into_iter();
    alerts.retain(|_| keep.next().unwrap_or(true));
    let dropped = before - alerts.len();
    (alerts, dropped)
}

/// The groups of the batch in order of first appearance.
pub fn groups_of(alerts: &[Alert]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut position: HashMap<&str, usize> = HashMap::new();
    for (i, a) in alerts.iter().enumerate() {
        let Some(key) = a.group_key.as_deref() else {
            continue;
        };
        let pos = *position.entry(key).or_insert_with(|| {
            groups.push(Group {
                key: key.to_owned(),
                digest: group::digest(key),
                members: Vec::new(),
            });
            groups.len() - 1
        });
        groups[pos].members.push(i);
    }
    groups
}

/// The root sessions whose `AssumeRoot` call is in the batch, by access key.
pub fn sessions_opened(alerts: &[Alert]) -> std::collections::HashMap<String, RootSession> {
    alerts
        .iter()
        .filter_map(|a| a.session_opened.clone())
        .collect()
}

/// When every alerting record is its own message (no group of two, no record twice), an invocation on an empty
/// state sends the messages the first pass rendered, in input order: they are returned without planning. A root
/// record of a session whose `AssumeRoot` call is in the batch is worded again naming who opened the session, as
/// its group's message would be. `None` when planning is needed.
pub fn each_alone(
    collected: &mut Collected,
    settings: &Settings,
    channels: &[Channel],
) -> Option<Vec<Outgoing>> {
    let mut ids: HashSet<&str> = HashSet::with_capacity(collected.alerts.len());
    let mut groups: HashSet<&str> = HashSet::new();
    let opened = sessions_opened(&collected.alerts);
    for a in &collected.alerts {
        let repeated_group = a
            .group_key
            .as_deref()
            .is_some_and(|key| !groups.insert(key));
        // Worded again from its JSON, which a grouped root record keeps.
        let in_session = a
            .access_key
            .as_deref()
            .is_some_and(|k| opened.contains_key(k));
        // A sign-in not yet judged against its baseline (`usual::annotate`) has no final message yet.
        let unjudged = a.signin.is_some() && a.verdict.is_none();
        if repeated_group
            || (in_session && (a.raw.is_none() || a.group_key.is_none()))
            || unjudged
            || !ids.insert(a.event_id.as_str())
            || a.rendered.is_none()
        {
            return None;
        }
    }
    collected.alerts.sort_by_key(|a| a.index);
    let mut out = Vec::with_capacity(collected.alerts.len());
    for a in &mut collected.alerts {
        let session = a.access_key.as_deref().and_then(|k| opened.get(k));
        let Some(key) = a.group_key.as_deref() else {
            out.extend(Outgoing::alone(format!("e:{}", a.event_id), a));
            continue;
        };
        let digest = group::digest(key);
        let id = format!("g:{digest}:{}", a.event_id);
        let Some(session) = session else {
            out.extend(Outgoing::alone(id, a));
            continue;
        };
        let members = summary_of(std::iter::once(&*a));
        let (rendered, subject) = render_group(
            a,
            &members,
            &Summary::default(),
            Some(session),
            &digest,
            settings,
            channels,
        )?;
        out.push(Outgoing {
            id,
            subject,
            rendered,
            sent: Default::default(),
            test_event: None,
            finish: None,
            records: 1,
            account: a.route_account.clone(),
        });
    }
    Some(out)
}

/// The time an invocation of `preview` happens at: when its last record happened, so output is reproducible.
pub fn latest_time(alerts: &[Alert]) -> DateTime<Utc> {
    alerts
        .iter()
        .filter_map(|a| a.time)
        .max()
        .unwrap_or_else(|| Utc.timestamp_opt(0, 0).single().unwrap_or_default())
}

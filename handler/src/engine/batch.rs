//! What the batch says of itself before any state is read: records it repeats, the groups its records form, the
//! root sessions opened in it.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use chrono::{DateTime, TimeZone, Utc};

use crate::classify::RootSession;
use crate::collect::Alert;
use crate::group;

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
        .filter_map(|a| a.session_opened.as_deref().cloned())
        .collect()
}

/// The time an invocation of `preview` happens at: when its last record happened, so output is reproducible.
pub fn latest_time(alerts: &[Alert]) -> DateTime<Utc> {
    alerts
        .iter()
        .filter_map(|a| a.time)
        .max()
        .unwrap_or_else(|| Utc.timestamp_opt(0, 0).single().unwrap_or_default())
}

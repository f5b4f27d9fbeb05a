//! What one group does in an invocation, decided from its records and what the state says of it: open a window,
//! resume an earlier attempt's message, or add late records to the open window's summary. Pure: nothing is read
//! or written here.

use super::state::Known;
use crate::collect::Alert;
use crate::store::GroupState;

/// What one group does in this invocation.
pub enum Decision {
    /// Open a new window with message `id` holding these items.
    Open { id: String },
    /// Re-send message `id` of an earlier attempt (a retry), with these items.
    Resume { id: String, accept_new: bool },
    /// The window is open: add new items to the pending summary.
    Late,
}

impl Decision {
    /// The message the group sends, if it sends one.
    pub fn message(&self) -> Option<&str> {
        match self {
            Decision::Open { id } | Decision::Resume { id, .. } => Some(id),
            Decision::Late => None,
        }
    }
}

/// A decision with the records in the group's message and those added to its pending summary.
pub struct Decided {
    pub decision: Decision,
    pub in_message: Vec<usize>,
    pub pending: Vec<usize>,
}

/// A group's records split by what the state says of them.
pub struct Split {
    /// Records no invocation reported yet.
    pub fresh: Vec<usize>,
    /// Records an earlier attempt put in one of the group's messages, with that message.
    pub mine: Vec<(usize, String)>,
    /// Records reported in some other message (the same event by another path).
    pub elsewhere: usize,
}

/// Splits a group's `members` by what `known` says of them.
pub fn split_group(members: &[usize], alerts: &[Alert], digest: &str, known: &Known) -> Split {
    let mut split = Split {
        fresh: Vec::new(),
        mine: Vec::new(),
        elsewhere: 0,
    };
    let prefix = format!("g:{digest}:");
    for &i in members {
        match known.claim_of(&alerts[i].event_id) {
            None => split.fresh.push(i),
            Some(m) if m.starts_with(&prefix) => split.mine.push((i, m)),
            Some(_) => split.elsewhere += 1,
        }
    }
    split
}

/// What the group with `digest` does given `current`, its window as last read: `None` when it has nothing to do.
/// `stateful`: whether a state table is in use (without one no window outlives the invocation).
pub fn decide(
    digest: &str,
    alerts: &[Alert],
    split: &Split,
    current: Option<&GroupState>,
    known: &Known,
    stateful: bool,
    now_s: i64,
) -> Option<Decided> {
    let Split { fresh, mine, .. } = split;
    let earlier = mine.first().map(|(_, m)| m.clone());
    let open_window = current.filter(|g| g.window_end > now_s);
    let decision = match (&earlier, open_window) {
        (Some(id), _) => Decision::Resume {
            id: id.clone(),
            // New records may join only a message that reached nobody yet.
            accept_new: !known.was_sent(id),
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
    Some(Decided {
        decision,
        in_message,
        pending,
    })
}

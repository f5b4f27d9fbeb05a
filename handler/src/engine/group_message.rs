//! A group's message: the claims of the records it reports, and its text, rendered from the group's first record
//! (read again from its JSON) with the rest of the group summarised.

use std::collections::BTreeSet;

use tracing::warn;

use super::batch::Group;
use super::decide::{Decided, Decision};
use super::invocation::Invocation;
use super::plan::Outgoing;
use crate::classify::RootSession;
use crate::collect::{Alert, Rendered};
use crate::deliver::Channel;
use crate::group::{Class, Head, Summary};
use crate::message;
use crate::render;
use crate::settings::Settings;
use crate::store::{GroupState, PENDING, Store};

impl<S: Store> Invocation<'_, S> {
    /// Writes the claims of the group's records (late ones as pending in its summary) and, unless the window was
    /// already open, renders the group's message.
    pub fn group_message(&mut self, group: &Group, decided: Decided, current: Option<&GroupState>) {
        let Decided {
            decision,
            in_message,
            pending,
        } = decided;
        for &i in &pending {
            self.writes
                .extend(self.claims.write(i, &self.alerts[i].event_id, PENDING));
        }
        self.plan.summarised += pending.len();
        let id = match decision {
            Decision::Open { id } | Decision::Resume { id, .. } => id,
            Decision::Late => return,
        };
        for &i in &in_message {
            let event_id = &self.alerts[i].event_id;
            if self.known.claim_of(event_id).is_none_or(|m| m != id) {
                self.writes.extend(self.claims.write(i, event_id, &id));
            }
        }
        let Some(&first) = in_message.first() else {
            return;
        };
        // The first record with its JSON kept stands for the group (the batch's first one, unless a retry
        // finds it reported elsewhere).
        let first = if self.alerts[first].raw.is_some() || self.alerts[first].rendered.is_some() {
            first
        } else {
            group
                .members
                .iter()
                .copied()
                .find(|&i| self.alerts[i].raw.is_some())
                .unwrap_or(first)
        };
        let carried = current
            .filter(|g| g.opener == id)
            .map(|g| g.carried.clone())
            .unwrap_or_default();
        let session = self.alerts[first]
            .access_key
            .as_deref()
            .and_then(|k| self.sessions.get(k))
            .cloned();
        // A group of one with nothing to add keeps the message the first pass rendered; no summary needed.
        let members = if in_message.len() == 1 && carried.is_empty() && session.is_none() {
            Summary {
                count: 1,
                ..Summary::default()
            }
        } else {
            summary_of(in_message.iter().map(|&i| &self.alerts[i]))
        };
        let index = self.alerts[first].index;
        let Some((rendered, subject)) = render_group(
            &mut self.alerts[first],
            &members,
            &carried,
            session.as_ref(),
            &group.digest,
            self.settings,
            self.channels,
        ) else {
            warn!(group = %group.digest, "the group's first record could not be read again; its records stay counted");
            return;
        };
        self.out.push((
            index,
            Outgoing {
                id,
                subject,
                rendered,
                sent: BTreeSet::new(),
                test_event: None,
                finish: None,
                records: in_message.len() as u64 + carried.count,
                account: self.alerts[first].route_account.clone(),
            },
        ));
    }
}

/// Who a group is about, from its first record (for the state a digest is rendered from).
pub fn head_of(alert: &Alert, class: Class, settings: &Settings) -> Head {
    alert
        .reread(settings)
        .map(|finding| Head::of(&finding, class))
        .unwrap_or_default()
}

/// The records `alerts` summed up: how many, which events, when, where, how many failed.
pub fn summary_of<'a>(alerts: impl Iterator<Item = &'a Alert>) -> Summary {
    let mut summary = Summary::default();
    for a in alerts {
        summary.add(&a.event_name, a.time, a.region.as_deref(), a.failed);
        if let (true, Some(signin)) = (a.failed, &a.signin) {
            summary.add_identity(&signin.identity);
        }
    }
    summary
}

/// Renders a group's message: its first record in full, the rest summarised.
#[allow(clippy::too_many_arguments)]
pub(super) fn render_group(
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
    let mut finding = first.reread(settings)?;
    if let Some(session) = session {
        finding.attach_root_session(session.clone());
    }
    finding.novelty = first.verdict.clone();
    let message = message::group(&finding, members, carried, settings);
    let mut all = members.clone();
    all.merge(carried);
    let rendered = Rendered::new(&message, channels, || {
        render::webhook(&finding, settings, Some((digest, &all)))
    });
    Some((rendered, message.subject))
}

//! The shortcut of a preview on an empty state: when every record is its own message, its messages without
//! planning.

use foldhash::{HashSet, HashSetExt};

use super::batch::sessions_opened;
use super::group_message::{render_group, summary_of};
use super::plan::Outgoing;
use crate::classify::RootSession;
use crate::collect::{Alert, Collected, Rendered};
use crate::deliver::Channel;
use crate::group::{self, Summary};
use crate::settings::Settings;

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
    // The session records are worded again on every core first; if one cannot be, planning decides instead.
    struct Again<'a> {
        alert: &'a mut Alert,
        session: &'a RootSession,
        worded: Option<(Rendered, String)>,
    }
    let mut again: Vec<Again> = collected
        .alerts
        .iter_mut()
        .filter_map(|alert| {
            let session = opened.get(alert.access_key.as_deref()?)?;
            Some(Again {
                alert,
                session,
                worded: None,
            })
        })
        .collect();
    crate::parallel::each_mut(&mut again, |job| {
        let digest = group::digest(job.alert.group_key.as_deref().unwrap_or_default());
        let members = summary_of(std::iter::once(&*job.alert));
        job.worded = render_group(
            job.alert,
            &members,
            &Summary::default(),
            Some(job.session),
            &digest,
            settings,
            channels,
        );
    });
    if again.iter().any(|job| job.worded.is_none()) {
        return None;
    }
    for job in again {
        if let Some((rendered, subject)) = job.worded {
            job.alert.rendered = Some(rendered);
            job.alert.subject = subject;
        }
    }
    // Each message's ID (a digest for a grouped record) is worked out on every core too.
    let mut slots: Vec<(&mut Alert, Option<Outgoing>)> =
        collected.alerts.iter_mut().map(|a| (a, None)).collect();
    crate::parallel::each_mut(&mut slots, |(a, out)| {
        let id = match a.group_key.as_deref() {
            Some(key) => format!("g:{}:{}", group::digest(key), a.event_id),
            None => format!("e:{}", a.event_id),
        };
        *out = Outgoing::alone(id, a);
    });
    Some(slots.into_iter().filter_map(|(_, out)| out).collect())
}

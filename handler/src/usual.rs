//! The step of an invocation that compares each console sign-in with what is normal for its identity: one read of
//! every baseline (and failing address) the batch names, the sign-ins judged in time order, their messages worded
//! once, with what is new (or muted under `alert_on = "unusual"`), a password spray's failures put in one group,
//! and one write per changed item.
//!
//! The writes are last-writer-wins (BatchWriteItem takes no condition). Two invocations judging one identity at
//! the same moment may lose one's additions; a later sign-in from that network then reads as new once more. Losing
//! an observation can only make a later sign-in look unusual, never hide one, so a conditional write (and its
//! retry loop) per identity would buy nothing a reader notices.

use std::collections::{BTreeSet, HashMap};

use tracing::error;

use crate::baseline::{Book, Rules};
use crate::collect::{Alert, Rendered};
use crate::deliver::Channel;
use crate::error::InputError;
use crate::group::Class;
use crate::message;
use crate::render;
use crate::settings::Settings;
use crate::store::{StateItem, Store};
use crate::verdict::Verdict;

/// Judges the batch's sign-ins (those not judged yet) against their baselines in `store` (none: an empty state,
/// as `preview` starts from), words their messages and writes the baselines back.
pub async fn annotate<S: Store>(
    alerts: &mut [Alert],
    settings: &Settings,
    channels: &[Channel],
    store: Option<&S>,
) {
    let mut order: Vec<usize> = (0..alerts.len())
        .filter(|&i| alerts[i].signin.is_some() && alerts[i].verdict.is_none())
        .collect();
    if order.is_empty() {
        return;
    }
    order.sort_by_key(|&i| (alerts[i].signin.as_ref().map(|s| s.time), alerts[i].index));
    let mut book = Book::default();
    if let Some(s) = store {
        let keys: BTreeSet<String> = order
            .iter()
            .filter_map(|&i| alerts[i].signin.as_ref())
            .flat_map(|s| [Some(s.baseline_key()), s.source_key()])
            .flatten()
            .map(str::to_owned)
            .collect();
        match s.load(&keys.into_iter().collect::<Vec<_>>()).await {
            Ok(items) => fill(&mut book, items),
            // Judged as if nothing were known: every sign-in reads as new and is sent.
            Err(err) => error!(error = %err, "baselines unavailable; every sign-in is judged new"),
        }
    }
    judge(alerts, &order, &mut book, settings);
    word_all(alerts, &order, settings, channels);
    if let Some(s) = store {
        let writes: Vec<(String, StateItem)> = book
            .changed
            .iter()
            .filter_map(|key| {
                let item = match (book.baselines.get(key), book.sources.get(key)) {
                    (Some(b), _) => StateItem::Baseline(Box::new(b.clone())),
                    (None, Some(s)) => StateItem::Source(Box::new(s.clone())),
                    (None, None) => return None,
                };
                Some((key.clone(), item))
            })
            .collect();
        if let Err(err) = s.put_all(writes).await {
            error!(error = %err, "baselines not written; the next sign-ins may read as new");
        }
    }
}

fn fill(book: &mut Book, items: HashMap<String, StateItem>) {
    for (key, item) in items {
        match item {
            StateItem::Baseline(b) => {
                book.baselines.insert(key, *b);
            }
            StateItem::Source(s) => {
                book.sources.insert(key, *s);
            }
            _ => {}
        }
    }
}

/// Judges `order` (time order) and, once the whole batch is known, puts every failure from a spraying address in
/// that address's spray group: one message names them all.
fn judge(alerts: &mut [Alert], order: &[usize], book: &mut Book, settings: &Settings) {
    let rules = Rules::of(settings);
    for &i in order {
        if let Some(signin) = &alerts[i].signin {
            let verdict = book.judge(signin, rules);
            alerts[i].verdict = Some(Box::new(verdict));
        }
    }
    for &i in order {
        let a = &mut alerts[i];
        let Some(signin) = &a.signin else { continue };
        let Some(spray) = book.spray_at(signin, rules) else {
            continue;
        };
        a.group_key = signin.spray_group();
        a.class = Some(Class::Spray);
        if let Some(v) = &mut a.verdict {
            v.spray = Some(spray);
        }
    }
}

/// Renders the message of every sign-in of `order` now that its verdict is known, on every core as the first pass
/// renders the others: each re-reads its record from the JSON it kept.
fn word_all(alerts: &mut [Alert], order: &[usize], settings: &Settings, channels: &[Channel]) {
    let mut judged = vec![false; alerts.len()];
    for &i in order {
        judged[i] = true;
    }
    let mut pending: Vec<&mut Alert> = alerts
        .iter_mut()
        .zip(judged)
        .filter_map(|(alert, judged)| judged.then_some(alert))
        .collect();
    crate::parallel::each_mut(&mut pending, |alert| word(alert, settings, channels));
}

/// Words the alert's message with its verdict, once; a usual sign-in under `alert_on = "unusual"` loses it.
fn word(alert: &mut Alert, settings: &Settings, channels: &[Channel]) {
    if !std::mem::take(&mut alert.awaits_verdict) {
        return;
    }
    let Some(verdict) = alert.verdict.clone() else {
        return;
    };
    if !verdict.send {
        alert.rendered = None;
        return;
    }
    let Some(mut finding) = alert.reread(settings) else {
        return;
    };
    finding.novelty = Some(verdict);
    let message = message::single(&finding, settings);
    let rendered = Rendered::new(&message, channels, || {
        render::webhook(&finding, settings, None::<(&str, &crate::group::Summary)>)
    });
    let subject = message.subject;
    alert.rendered = Some(rendered);
    alert.subject = subject;
}

/// The verdict of every sign-in of `input` by its position, judged in time order against an empty state (what
/// `preview --output json` shows).
pub fn verdicts(input: &[u8], settings: &Settings) -> Result<HashMap<usize, Verdict>, InputError> {
    let mut collected =
        crate::collect::collect(input, settings, &[], crate::collect::KeepRaw::None)?;
    let alerts = &mut collected.alerts;
    let mut order: Vec<usize> = (0..alerts.len())
        .filter(|&i| alerts[i].signin.is_some())
        .collect();
    order.sort_by_key(|&i| (alerts[i].signin.as_ref().map(|s| s.time), alerts[i].index));
    let mut book = Book::default();
    judge(alerts, &order, &mut book, settings);
    Ok(alerts
        .iter_mut()
        .filter_map(|a| Some((a.index, *a.verdict.take()?)))
        .collect())
}

//! The digest run's backfill from CloudTrail's event history (EventBridge mode): AWS delivers CloudTrail events
//! to EventBridge on a best-effort basis, so every few minutes the function asks `LookupEvents`, in each enabled
//! region, for the sign-in events and the root activity since that region's checkpoint, and sends every event the
//! live path never claimed through the same path, its message marked as delivered late.
//!
//! The event history shows an event minutes after it happened, so each window starts [`OVERLAP_SECS`] before the
//! checkpoint; events read twice are claimed already and count as duplicates. A region's checkpoint advances only
//! when every message of the run was delivered: a failed run leaves it where it was and the next run reads the
//! same window again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use aws_sdk_cloudtrail::Client;
use aws_sdk_cloudtrail::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_cloudtrail::primitives::DateTime as SdkTime;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::deliver::{Deliver, SdkEnv, env_var};
use crate::error::{HandlerError, StoreError};
use crate::handler::{Outcome, handle_with};
use crate::settings::Settings;
use crate::store::{self, Backlog, Checkpoint, StateItem, Store};
use crate::vocab::ENV_HISTORY_REGIONS;

/// How far before its checkpoint each run starts reading a region. The event history shows an event minutes after
/// it happened (typically within 5, not guaranteed); with the digest every 5 minutes, an event that reaches the
/// history up to 35 minutes late is still found. Reading the overlap again costs requests, not alerts: its events
/// are claimed already.
pub const OVERLAP_SECS: i64 = 30 * 60;
/// Pages (50 events each) read per lookup per region in one run; the rest waits for the next run (see [`Backlog`]).
/// Two lookups of 10 pages at 2 requests per second take 10 seconds a region; the regions are read at once.
pub const MAX_PAGES: usize = 10;
/// LookupEvents allows 2 requests per second per account per region: one request every half second.
pub const PACE: Duration = Duration::from_millis(500);
/// Throttling that outlasts the SDK's own retries is retried this many times more, after a pause that doubles.
pub const THROTTLE_RETRIES: u32 = 3;
/// The first pause of that retry.
pub const THROTTLE_PAUSE: Duration = Duration::from_secs(1);
/// A checkpoint outlives the event history (90 days); after that the next run starts afresh.
pub const CHECKPOINT_TTL_SECS: i64 = 90 * 24 * 3600;
/// No new page is asked for when less than this is left of the invocation: delivery still needs time.
const DEADLINE_RESERVE: Duration = Duration::from_secs(10);

/// The two questions asked of each region: sign-in events, and anything the root user did.
const LOOKUPS: [(LookupAttributeKey, &str); 2] = [
    (LookupAttributeKey::EventSource, "signin.amazonaws.com"),
    (LookupAttributeKey::Username, "root"),
];

/// The regions to read and how: one CloudTrail client per region, built once per container.
#[derive(Debug, Clone)]
pub struct History {
    regions: Vec<(String, Client)>,
    pace: Duration,
    throttle_pause: Duration,
    max_pages: usize,
}

impl History {
    pub fn new(regions: Vec<(String, Client)>) -> Self {
        History {
            regions,
            pace: PACE,
            throttle_pause: THROTTLE_PAUSE,
            max_pages: MAX_PAGES,
        }
    }

    /// The regions [`ENV_HISTORY_REGIONS`] names, each with its client; `None` when backfill is off.
    pub fn from_env(sdk: &SdkEnv) -> Option<Self> {
        let regions = parse_regions(&env_var(ENV_HISTORY_REGIONS)?);
        (!regions.is_empty()).then(|| {
            History::new(
                regions
                    .into_iter()
                    .map(|r| {
                        let client = sdk.cloudtrail(&r);
                        (r, client)
                    })
                    .collect(),
            )
        })
    }

    /// The pause between two requests to one region and the first pause after throttling (tests shorten them).
    pub fn with_timing(mut self, pace: Duration, throttle_pause: Duration) -> Self {
        self.pace = pace;
        self.throttle_pause = throttle_pause;
        self
    }

    /// Pages read per lookup per region in one run.
    pub fn with_max_pages(mut self, max_pages: usize) -> Self {
        self.max_pages = max_pages.max(1);
        self
    }

    pub fn regions(&self) -> impl Iterator<Item = &str> {
        self.regions.iter().map(|(r, _)| r.as_str())
    }
}

/// `us-east-1, eu-west-1` → the region codes, in order, once each.
pub fn parse_regions(list: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    list.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty() && seen.insert(*r))
        .map(str::to_owned)
        .collect()
}

/// What one backfill run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backfill {
    /// Distinct events the lookups returned.
    pub events: usize,
    /// The invocation of those events through the normal path (`None` when there were none).
    pub outcome: Option<Outcome>,
    /// Regions whose checkpoint advanced.
    pub advanced: Vec<String>,
    /// Regions that stopped at the page bound or the deadline: the next run reads what is left first.
    pub backlog: Vec<String>,
    /// Regions whose lookups failed (logged): their checkpoint stays, the next run reads the same window.
    pub failed: Vec<String>,
}

/// Why a backfill run changed no checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error(
        "the event-history backfill cannot read its checkpoints ({0}); the next run tries again"
    )]
    State(#[source] StoreError),
    #[error("the event-history backfill left its checkpoints where they were: {0}")]
    Delivery(#[source] HandlerError),
}

/// A lookup that failed after its retries.
#[derive(Debug)]
struct LookupFailure {
    attribute: &'static str,
    message: String,
}

impl fmt::Display for LookupFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LookupEvents ({}) failed: {}",
            self.attribute, self.message
        )
    }
}

/// The window a region's run reads (epoch seconds, both ends included), and where its checkpoint goes once the
/// window is read in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    from: i64,
    to: i64,
    /// The checkpoint the window starts from (`from` is `base - OVERLAP_SECS`).
    base: i64,
    /// `at` once the window is read: `to`, or the end of the window read before a backlog.
    done: i64,
}

impl Window {
    fn of(checkpoint: Option<&Checkpoint>, now: i64) -> Window {
        // The event history keeps 90 days: asking further back is an error.
        let oldest = now - CHECKPOINT_TTL_SECS + 3600;
        let (base, to, done) = match checkpoint {
            None => (now, now, now),
            Some(Checkpoint {
                at,
                backlog: Some(Backlog { before, resume }),
            }) => (*at, *before, *resume),
            Some(Checkpoint { at, backlog: None }) => (*at, now, now),
        };
        let from = (base - OVERLAP_SECS).max(oldest);
        Window {
            from,
            to: to.max(from + 1),
            base,
            done,
        }
    }

    /// The checkpoint after this window: read in full, or read down to `oldest_read` only.
    fn next(&self, oldest_read: Option<i64>) -> Checkpoint {
        match oldest_read {
            None => Checkpoint {
                at: self.done,
                backlog: None,
            },
            // Events of the oldest second read may have more on the next page: that second is read again.
            Some(oldest) => Checkpoint {
                at: self.base,
                backlog: Some(Backlog {
                    before: (oldest + 1).min(self.to),
                    resume: self.done,
                }),
            },
        }
    }
}

/// What one region's lookups found.
#[derive(Debug, Default)]
struct Found {
    /// `(eventID, the record's JSON)`.
    events: Vec<(String, String)>,
    /// When a lookup stopped before its last page: the oldest event time it read (the window's end if none).
    stopped_at: Option<i64>,
}

fn sdk_time(epoch_secs: i64) -> SdkTime {
    SdkTime::from_secs(epoch_secs)
}

fn near(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| d.saturating_duration_since(Instant::now()) < DEADLINE_RESERVE)
}

/// One lookup's pages, newest first (LookupEvents returns events in reverse time order), paced to the region's
/// request rate; `requests` counts the region's requests so far (the first of a run is not delayed).
async fn lookup(
    history: &History,
    client: &Client,
    (key, value): &(LookupAttributeKey, &'static str),
    window: Window,
    deadline: Option<Instant>,
    requests: &mut usize,
    found: &mut Found,
) -> Result<(), LookupFailure> {
    let attribute = match key {
        LookupAttributeKey::EventSource => "EventSource = signin.amazonaws.com",
        _ => "Username = root",
    };
    let attribute_filter = LookupAttribute::builder()
        .attribute_key(key.clone())
        .attribute_value(*value)
        .build()
        .map_err(|e| LookupFailure {
            attribute,
            message: e.to_string(),
        })?;
    let mut token: Option<String> = None;
    let mut oldest: Option<i64> = None;
    let mut page = 0;
    loop {
        if page == history.max_pages || near(deadline) {
            found.stopped_at = Some(
                found
                    .stopped_at
                    .map_or(oldest.unwrap_or(window.to), |other: i64| {
                        other.max(oldest.unwrap_or(window.to))
                    }),
            );
            return Ok(());
        }
        let mut throttled = 0;
        let out = loop {
            if *requests > 0 {
                tokio::time::sleep(history.pace).await;
            }
            *requests += 1;
            let result = client
                .lookup_events()
                .lookup_attributes(attribute_filter.clone())
                .start_time(sdk_time(window.from))
                .end_time(sdk_time(window.to))
                .max_results(50)
                .set_next_token(token.clone())
                .send()
                .await;
            match result {
                Ok(out) => break out,
                Err(err)
                    if throttled < THROTTLE_RETRIES
                        && err.code() == Some("ThrottlingException") =>
                {
                    let pause = history.throttle_pause * 2u32.pow(throttled);
                    throttled += 1;
                    warn!(
                        attribute,
                        pause_ms = pause.as_millis() as u64,
                        "LookupEvents throttled; retrying"
                    );
                    tokio::time::sleep(pause).await;
                }
                Err(err) => {
                    return Err(LookupFailure {
                        attribute,
                        message: DisplayErrorContext(&err).to_string(),
                    });
                }
            }
        };
        for event in out.events() {
            if let Some(time) = event.event_time() {
                let secs = time.secs();
                oldest = Some(oldest.map_or(secs, |o: i64| o.min(secs)));
            }
            match (event.event_id(), event.cloud_trail_event()) {
                (Some(id), Some(json)) => found.events.push((id.to_owned(), json.to_owned())),
                _ => {
                    warn!(attribute, event = ?event.event_id(), "an event-history entry without its record; skipped")
                }
            }
        }
        match out.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(()),
        }
        page += 1;
    }
}

/// Both lookups of one region.
async fn read_region(
    history: &History,
    client: &Client,
    window: Window,
    deadline: Option<Instant>,
) -> Result<Found, LookupFailure> {
    let mut found = Found::default();
    let mut requests = 0;
    for question in &LOOKUPS {
        lookup(
            history,
            client,
            question,
            window,
            deadline,
            &mut requests,
            &mut found,
        )
        .await?;
    }
    Ok(found)
}

/// The records as one JSON array (the "array of records" input shape), each event once; a `CloudTrailEvent` that
/// is not JSON is logged and left out, so it cannot spoil the others.
fn as_batch(events: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = Vec::with_capacity(events.values().map(|e| e.len() + 1).sum::<usize>() + 2);
    out.push(b'[');
    let mut first = true;
    for (id, json) in events {
        if serde_json::from_str::<&RawValue>(json).is_err() {
            warn!(event = %id, "an event-history record is not JSON; skipped");
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(json.as_bytes());
    }
    out.push(b']');
    out
}

/// One backfill run at `now`: reads every region's window, sends what was never claimed through the normal path
/// (claims, groups, delivery records), then moves the checkpoints of the regions that were read.
pub async fn backfill<D: Deliver, S: Store>(
    history: &History,
    settings: &Settings,
    deliver: &D,
    store: &S,
    deadline: Option<Instant>,
    now: DateTime<Utc>,
) -> Result<Backfill, BackfillError> {
    let now_s = now.timestamp();
    let keys: Vec<String> = history.regions().map(store::checkpoint_key).collect();
    let state = store.load(&keys).await.map_err(BackfillError::State)?;
    let windows: Vec<Window> = history
        .regions
        .iter()
        .map(|(region, _)| {
            let checkpoint = match state.get(&store::checkpoint_key(region)) {
                Some(StateItem::Checkpoint { checkpoint, .. }) => Some(checkpoint),
                _ => None,
            };
            Window::of(checkpoint, now_s)
        })
        .collect();
    // Each region has its own request rate: they are read at once.
    let reads = futures::future::join_all(
        history
            .regions
            .iter()
            .zip(&windows)
            .map(|((_, client), window)| read_region(history, client, *window, deadline)),
    )
    .await;

    let mut run = Backfill::default();
    let mut events: BTreeMap<String, String> = BTreeMap::new();
    let mut next: Vec<(String, Checkpoint)> = Vec::new();
    for (((region, _), window), read) in history.regions.iter().zip(&windows).zip(reads) {
        match read {
            Ok(found) => {
                if found.stopped_at.is_some() {
                    run.backlog.push(region.clone());
                }
                next.push((region.clone(), window.next(found.stopped_at)));
                events.extend(found.events);
            }
            Err(err) => {
                error!(region = %region, error = %err, "the event history could not be read; the next run reads this window again");
                run.failed.push(region.clone());
            }
        }
    }
    run.events = events.len();
    if !events.is_empty() {
        let late = Settings {
            delivered_late: true,
            ..settings.clone()
        };
        let outcome = handle_with(
            &as_batch(&events),
            &late,
            deliver,
            Some(store),
            deadline,
            now,
        )
        .await
        .map_err(BackfillError::Delivery)?;
        run.outcome = Some(outcome);
    }
    let writes: Vec<(String, StateItem)> = next
        .iter()
        .map(|(region, checkpoint)| {
            (
                store::checkpoint_key(region),
                StateItem::Checkpoint {
                    checkpoint: *checkpoint,
                    expires_at: now_s + CHECKPOINT_TTL_SECS,
                },
            )
        })
        .collect();
    if !writes.is_empty() {
        match store.put_all(writes).await {
            Ok(()) => run.advanced = next.into_iter().map(|(region, _)| region).collect(),
            // Nothing is lost: the next run reads the same windows, and what this one sent is claimed.
            Err(err) => error!(error = %err, "the event-history checkpoints could not be written"),
        }
    }
    info!(
        events = run.events,
        advanced = run.advanced.len(),
        backlog = run.backlog.len(),
        failed = run.failed.len(),
        "event-history backfill done"
    );
    Ok(run)
}

/// The age of each region's checkpoint at `now` (seconds), for a status line; `None` for a region never read.
pub fn checkpoint_ages(
    state: &HashMap<String, StateItem>,
    regions: &[String],
    now: i64,
) -> Vec<(String, Option<i64>)> {
    regions
        .iter()
        .map(|region| {
            let age = match state.get(&store::checkpoint_key(region)) {
                Some(StateItem::Checkpoint { checkpoint, .. }) => Some(now - checkpoint.at),
                _ => None,
            };
            (region.clone(), age)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_run_reads_the_overlap_and_a_later_one_from_its_checkpoint() {
        let now = 1_000_000_000;
        let first = Window::of(None, now);
        assert_eq!((first.from, first.to), (now - OVERLAP_SECS, now));
        assert_eq!(
            first.next(None),
            Checkpoint {
                at: now,
                backlog: None
            }
        );

        let later = Window::of(
            Some(&Checkpoint {
                at: now - 300,
                backlog: None,
            }),
            now,
        );
        assert_eq!((later.from, later.to), (now - 300 - OVERLAP_SECS, now));
    }

    #[test]
    fn a_run_stopped_at_its_page_bound_leaves_the_older_events_for_the_next() {
        let now = 1_000_000_000;
        let window = Window::of(
            Some(&Checkpoint {
                at: now - 600,
                backlog: None,
            }),
            now,
        );
        // Read from `now` back to `now - 100`; the rest of the window is the backlog.
        let stopped = window.next(Some(now - 100));
        assert_eq!(
            stopped,
            Checkpoint {
                at: now - 600,
                backlog: Some(Backlog {
                    before: now - 99,
                    resume: now
                })
            }
        );
        // The next run reads only the backlog, then goes on from where the first run had read.
        let backlog = Window::of(Some(&stopped), now + 300);
        assert_eq!(
            (backlog.from, backlog.to),
            (now - 600 - OVERLAP_SECS, now - 99)
        );
        assert_eq!(
            backlog.next(None),
            Checkpoint {
                at: now,
                backlog: None
            }
        );
        let after = Window::of(Some(&backlog.next(None)), now + 600);
        assert_eq!((after.from, after.to), (now - OVERLAP_SECS, now + 600));
    }

    #[test]
    fn a_checkpoint_older_than_the_history_starts_at_its_oldest_day() {
        let now = 1_000_000_000;
        let window = Window::of(
            Some(&Checkpoint {
                at: 0,
                backlog: None,
            }),
            now,
        );
        assert!(window.from > now - CHECKPOINT_TTL_SECS);
    }

    #[test]
    fn regions_are_read_once_each_in_order() {
        assert_eq!(
            parse_regions(" us-east-1,eu-west-1,, us-east-1 "),
            ["us-east-1", "eu-west-1"]
        );
        assert!(parse_regions(" , ").is_empty());
    }

    #[test]
    fn the_batch_is_one_json_array_without_the_records_that_are_not_json() {
        let events = BTreeMap::from([
            ("a".to_owned(), r#"{"eventID":"a"}"#.to_owned()),
            ("b".to_owned(), "not json".to_owned()),
            ("c".to_owned(), r#"{"eventID":"c"}"#.to_owned()),
        ]);
        let batch: serde_json::Value = serde_json::from_slice(&as_batch(&events)).unwrap();
        assert_eq!(batch.as_array().map(Vec::len), Some(2));
    }
}

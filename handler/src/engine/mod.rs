//! One invocation's logic after the first pass ([`crate::collect`]), shared by the Lambda and `preview`: decide
//! which messages to send given the state (what was already reported and sent, the groups' windows, root
//! sessions), then deliver them concurrently, recording each delivery so a retry sends only what failed.
//!
//! [`invoke`] is the sequence of steps, one file each: `batch` (repeats, groups, sessions of the batch itself),
//! `state` (read once), `claims`, `singles` (records of no group), `window` and `group_message` (each group),
//! then `digests` and `delivery`. `plan` holds the data the steps produce. `alone` is `preview`'s shortcut past
//! them all, when every record of a batch on an empty state is its own message.

mod alone;
mod batch;
mod claims;
mod decide;
mod delivery;
mod digests;
mod group_message;
mod invocation;
mod plan;
mod singles;
mod state;
mod window;

use chrono::{DateTime, Utc};

use self::claims::Claims;
use self::invocation::Invocation;
use self::state::Known;
use crate::collect::Collected;
use crate::deliver::Channel;
use crate::settings::Settings;
use crate::store::Store;

pub use self::alone::each_alone;
pub use self::batch::latest_time;
pub use self::delivery::{Delivered, deliver};
pub use self::digests::digests;
pub use self::plan::{DEFAULT_LEASE_SECS, Finish, Lease, Outgoing, Plan};

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
    let now_s = now.timestamp();
    let (mut alerts, repeated) = batch::dedupe(collected.alerts);
    // Sign-ins are judged against their baselines first: that may mute one, or put failures in a spray's group.
    crate::usual::annotate(&mut alerts, settings, channels, store).await;
    let groups = batch::groups_of(&alerts);
    let mut sessions = batch::sessions_opened(&alerts);
    let (known, store) = match store {
        Some(s) => match Known::read(s, &alerts, &groups, &sessions).await {
            Some(known) => (known, Some(s)),
            None => (Known::default(), None),
        },
        None => (Known::default(), None),
    };
    known.add_sessions_to(&mut sessions);
    let claims = match store {
        Some(s) => Claims::take(s, &alerts, &groups, &known, now_s, now_s + lease_secs).await,
        None => Claims::default(),
    };
    let mut run = Invocation {
        settings,
        channels,
        store,
        now_s,
        alerts,
        sessions,
        known,
        plan: Plan {
            duplicates: repeated + claims.lost.len(),
            stateful: store.is_some(),
            ..Plan::default()
        },
        claims,
        writes: Vec::new(),
        out: Vec::new(),
    };
    run.singles();
    for group in &groups {
        run.window(group).await;
    }
    run.finish().await
}

//! What is normal for each identity: the networks, browsers, regions and MFA types its successful sign-ins came
//! from, bounded and expiring; the failed sign-ins per source address (for "after 5 failed sign-ins") and the
//! identities failing from one address (password spraying). Plain data and pure functions: the engine step that
//! reads and writes them is `usual.rs`, `preview --output json` runs them on memory.
//!
//! Only successful sign-ins teach a baseline: an attacker's failed attempts must never make their network
//! "known". Every entry keeps its last-seen time and drops out `baseline_days` after it; each list keeps its
//! `MAX_ENTRIES` most recent entries, so an item stays a few kilobytes whatever happens.

use foldhash::HashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::classify::{Finding, Kind};
use crate::group;
use crate::settings::Settings;
use crate::useragent;
use crate::verdict::{New, Spray, Verdict};
use crate::vocab::AlertOn;

/// Entries kept per list (networks, browsers, regions, MFA types): the most recently seen.
pub const MAX_ENTRIES: usize = 20;
/// Source addresses whose failed sign-ins an identity's baseline counts at once.
pub const MAX_FAILURE_SOURCES: usize = 10;
/// Events whose verdict a baseline remembers, so a retried invocation words its messages the same way and never
/// mutes a sign-in the first attempt found new.
pub const MAX_JUDGED: usize = 10;
/// Failed sign-ins for this many distinct identities from one address within the grouping window are password
/// spraying. Two could be one person mistyping a user name once; three names tried from one place is a pattern.
pub const SPRAY_IDENTITIES: usize = 3;
/// Identities an address's record names; more are counted.
pub const MAX_SOURCE_NAMES: usize = 50;
const DAY_SECS: i64 = 24 * 3600;
/// The user name CloudTrail records for a failed sign-in whose user name does not exist: not an identity, so it
/// has no baseline and counts for no spray.
const HIDDEN_USER: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";
/// Longest value kept in an entry: records are attacker-controlled.
const MAX_VALUE: usize = 128;

/// The network a source address belongs to, as a baseline remembers it: IPv4 /24, IPv6 /48. What is not an
/// address (`AWS Internal`, a redacted value) is kept as written, cut short.
pub fn network_of(source: &str) -> String {
    let source = source.trim();
    match source.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
            format!("{prefix}/48")
        }
        Err(_) => bounded(source),
    }
}

fn bounded(value: &str) -> String {
    // Nearly every value is short printable ASCII: copied as it is.
    if value.len() <= MAX_VALUE && value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return value.to_owned();
    }
    value
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_VALUE)
        .collect()
}

/// The group key of a password spray from `source` in `account` (class, account, no principal, no session, the
/// address).
pub fn spray_group_key(account: &str, source: &str) -> String {
    format!("spray|{}|||{}", bounded(account), bounded(source))
}

/// One sign-in as a baseline sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    pub event_id: String,
    pub account: String,
    /// As messages name it (`alice`, the root ARN, an SSO session's email).
    pub identity: String,
    pub success: bool,
    pub root: bool,
    /// MFA was used, or done at the identity provider (SSO, SAML and federated sessions: CloudTrail cannot
    /// tell, and the project never calls them "without MFA").
    pub mfa: bool,
    pub source: Option<String>,
    pub network: Option<String>,
    pub browser: String,
    pub region: Option<String>,
    pub mfa_type: Option<String>,
    /// Epoch seconds.
    pub time: i64,
    /// The state keys, worked out once: `of` fills them on the first pass's worker thread, so judging (serial, in
    /// time order) does not hash them. A sign-in built with `..other` must start from an unfilled one.
    keys: Keys,
}

/// [`SignIn`]'s state keys once asked for (each is a digest); a cache, so never part of a comparison.
#[derive(Debug, Clone, Default)]
struct Keys {
    baseline: std::sync::OnceLock<String>,
    source: std::sync::OnceLock<Option<String>>,
}

impl PartialEq for Keys {
    fn eq(&self, _: &Keys) -> bool {
        true
    }
}

impl Eq for Keys {}

impl SignIn {
    /// A console sign-in (success or failure) with a time; `None` for anything else.
    pub fn of(finding: &Finding, event_id: &str) -> Option<SignIn> {
        if !matches!(
            finding.kind,
            Kind::ConsoleLoginSuccess | Kind::ConsoleLoginFailure
        ) {
            return None;
        }
        let time = finding.time?.timestamp();
        let identity = finding.identity.as_deref().unwrap_or("unknown identity");
        if identity == HIDDEN_USER {
            return None;
        }
        let source = finding.record.source_ip.get().map(bounded);
        let signin = SignIn {
            event_id: event_id.to_owned(),
            account: bounded(finding.account_id().unwrap_or("")),
            identity: bounded(identity),
            success: finding.kind == Kind::ConsoleLoginSuccess,
            root: finding.is_root(),
            mfa: finding.mfa == Some(true) || !finding.mfa_capable(),
            network: source.as_deref().map(network_of),
            source,
            browser: useragent::family(finding.record.user_agent.get()),
            region: finding.region().map(bounded),
            mfa_type: finding.mfa_type.as_ref().map(|m| bounded(m.as_str())),
            time,
            keys: Keys::default(),
        };
        signin.baseline_key();
        signin.source_key();
        Some(signin)
    }

    /// The state item of this identity's baseline.
    pub fn baseline_key(&self) -> &str {
        self.keys.baseline.get_or_init(|| {
            format!(
                "baseline#{}",
                group::digest(&format!("{}|{}", self.account, self.identity))
            )
        })
    }

    /// The state item of the identities failing from this sign-in's address.
    pub fn source_key(&self) -> Option<&str> {
        self.keys
            .source
            .get_or_init(|| {
                let source = self.source.as_deref()?;
                Some(format!(
                    "source#{}",
                    group::digest(&format!("{}|{source}", self.account))
                ))
            })
            .as_deref()
    }

    /// The group a password spray from this address is reported in.
    pub fn spray_group(&self) -> Option<String> {
        Some(spray_group_key(&self.account, self.source.as_deref()?))
    }
}

/// A value an identity was seen with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub value: String,
    pub first: i64,
    pub last: i64,
    pub count: u64,
}

/// Failed sign-ins of an identity from one address, within the grouping window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failures {
    pub source: String,
    pub count: u64,
    pub last: i64,
}

/// One identity's baseline: the state item `baseline#<digest of account|identity>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// Successful sign-ins within the baseline.
    pub count: u64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub networks: Vec<Seen>,
    pub browsers: Vec<Seen>,
    pub regions: Vec<Seen>,
    pub mfa_types: Vec<Seen>,
    pub failures: Vec<Failures>,
    /// The most recent verdicts, by event ID (see `MAX_JUDGED`).
    pub judged: Vec<Verdict>,
    /// The item's TTL: the last time anything was seen, plus the baseline's length.
    pub expires_at: i64,
}

/// The identities failing from one address: the state item `source#<digest of account|address>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub identities: Vec<Seen>,
    pub expires_at: i64,
}

/// How a baseline judges: its length, the grouping window, and `alert_on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub days: u32,
    pub window_secs: i64,
    pub alert_on: AlertOn,
}

impl Rules {
    /// How `settings` judge: their baseline length, grouping window and `alert_on`.
    pub fn of(settings: &Settings) -> Rules {
        Rules {
            days: settings.baseline_days,
            window_secs: i64::from(settings.group_window_minutes) * 60,
            alert_on: settings.alert_on,
        }
    }
}

fn find<'a>(list: &'a [Seen], value: &str) -> Option<&'a Seen> {
    list.iter().find(|s| s.value == value)
}

/// Counts `value` seen at `time`, keeping the `MAX_ENTRIES` most recently seen.
fn remember(list: &mut Vec<Seen>, value: &str, time: i64, cap: usize) {
    if let Some(seen) = list.iter_mut().find(|s| s.value == value) {
        seen.count += 1;
        seen.first = seen.first.min(time);
        seen.last = seen.last.max(time);
    } else {
        list.push(Seen {
            value: value.to_owned(),
            first: time,
            last: time,
            count: 1,
        });
    }
    if list.len() > cap {
        list.sort_by(|a, b| b.last.cmp(&a.last).then_with(|| a.value.cmp(&b.value)));
        list.truncate(cap);
    }
}

impl Baseline {
    /// Drops what was last seen before `horizon` (epoch seconds), and failures older than the window.
    pub fn expire(&mut self, horizon: i64, window_start: i64) {
        for list in [
            &mut self.networks,
            &mut self.browsers,
            &mut self.regions,
            &mut self.mfa_types,
        ] {
            list.retain(|s| s.last >= horizon);
        }
        if self.last_seen < horizon {
            self.count = 0;
            self.first_seen = 0;
            self.last_seen = 0;
        }
        self.failures.retain(|f| f.last >= window_start);
    }

    fn new_in(&self, signin: &SignIn) -> Vec<New> {
        if self.count == 0 {
            return vec![New::Identity];
        }
        let mut new = Vec::new();
        if let Some(network) = &signin.network
            && find(&self.networks, network).is_none()
        {
            new.push(New::Network);
        }
        if find(&self.browsers, &signin.browser).is_none() {
            new.push(New::Browser);
        }
        if let Some(region) = &signin.region
            && find(&self.regions, region).is_none()
        {
            new.push(New::Region);
        }
        if let Some(mfa_type) = &signin.mfa_type
            && find(&self.mfa_types, mfa_type).is_none()
        {
            new.push(New::MfaType);
        }
        new
    }

    /// Judges `signin` against what this baseline knew before it, then learns from it (a success) or counts it
    /// (a failure). A sign-in judged before (a retry) gets the same verdict and changes nothing.
    pub fn judge(&mut self, signin: &SignIn, rules: Rules) -> Verdict {
        if let Some(before) = self.judged.iter().find(|v| v.event_id == signin.event_id) {
            return before.clone();
        }
        let horizon = signin.time - i64::from(rules.days) * DAY_SECS;
        let window_start = signin.time - rules.window_secs;
        self.expire(horizon, window_start);
        let new = self.new_in(signin);
        let (mut seen, mut since) = (0, None);
        if let (Some(network), Some(browser)) = (
            signin
                .network
                .as_deref()
                .and_then(|n| find(&self.networks, n)),
            find(&self.browsers, &signin.browser),
        ) {
            seen = network.count.min(browser.count);
            since = Some(network.first.max(browser.first));
        }
        let mut after_failures = 0;
        if signin.success {
            if let Some(source) = &signin.source
                && let Some(at) = self.failures.iter().position(|f| &f.source == source)
            {
                after_failures = self.failures.remove(at).count;
            }
            self.learn(signin);
        } else if let Some(source) = &signin.source {
            match self.failures.iter_mut().find(|f| &f.source == source) {
                Some(f) => {
                    f.count += 1;
                    f.last = f.last.max(signin.time);
                }
                None => self.failures.push(Failures {
                    source: source.clone(),
                    count: 1,
                    last: signin.time,
                }),
            }
            if self.failures.len() > MAX_FAILURE_SOURCES {
                self.failures.sort_by_key(|f| std::cmp::Reverse(f.last));
                self.failures.truncate(MAX_FAILURE_SOURCES);
            }
        }
        let usual = signin.success
            && !signin.root
            && signin.mfa
            && after_failures == 0
            && !new
                .iter()
                .any(|n| matches!(n, New::Identity | New::Network | New::Browser));
        let verdict = Verdict {
            event_id: signin.event_id.clone(),
            identity: signin.identity.clone(),
            success: signin.success,
            new,
            network: signin.network.clone(),
            browser: signin.browser.clone(),
            region: signin.region.clone(),
            mfa_type: signin.mfa_type.clone(),
            seen,
            since,
            after_failures,
            send: rules.alert_on == AlertOn::All || !usual,
            spray: None,
        };
        self.judged.push(verdict.clone());
        if self.judged.len() > MAX_JUDGED {
            self.judged.remove(0);
        }
        let last = self.last_seen.max(signin.time);
        self.expires_at = last.max(self.failures.iter().map(|f| f.last).max().unwrap_or(0))
            + i64::from(rules.days) * DAY_SECS;
        verdict
    }

    fn learn(&mut self, signin: &SignIn) {
        let t = signin.time;
        if self.count == 0 || self.first_seen == 0 {
            self.first_seen = t;
        }
        self.first_seen = self.first_seen.min(t);
        self.last_seen = self.last_seen.max(t);
        self.count += 1;
        if let Some(network) = &signin.network {
            remember(&mut self.networks, network, t, MAX_ENTRIES);
        }
        remember(&mut self.browsers, &signin.browser, t, MAX_ENTRIES);
        if let Some(region) = &signin.region {
            remember(&mut self.regions, region, t, MAX_ENTRIES);
        }
        if let Some(mfa_type) = &signin.mfa_type {
            remember(&mut self.mfa_types, mfa_type, t, MAX_ENTRIES);
        }
    }
}

impl Source {
    /// Counts a failed sign-in of `identity` at `time`; the identities that failed within the window since.
    pub fn fail(&mut self, identity: &str, time: i64, window_secs: i64) -> Spray {
        let window_start = time - window_secs;
        self.identities.retain(|s| s.last >= window_start);
        remember(&mut self.identities, identity, time, MAX_SOURCE_NAMES);
        self.expires_at = time + window_secs + DAY_SECS;
        let mut names: Vec<&Seen> = self.identities.iter().collect();
        names.sort_by(|a, b| a.first.cmp(&b.first).then_with(|| a.value.cmp(&b.value)));
        Spray {
            source: String::new(),
            identities: names.iter().map(|s| s.value.clone()).collect(),
            total: names.len() as u64,
        }
    }
}

/// Every baseline and source an invocation (or a preview) works with, judged in time order.
#[derive(Debug, Default)]
pub struct Book {
    pub baselines: HashMap<String, Baseline>,
    pub sources: HashMap<String, Source>,
    /// Keys of the items a judgement changed (to write back).
    pub changed: std::collections::BTreeSet<String>,
}

impl Book {
    /// Judges one sign-in; a failure from an address with `SPRAY_IDENTITIES` or more failing identities within
    /// the window carries the spray.
    pub fn judge(&mut self, signin: &SignIn, rules: Rules) -> Verdict {
        let key = signin.baseline_key();
        let baseline = match self.baselines.get_mut(key) {
            Some(baseline) => baseline,
            None => self.baselines.entry(key.to_owned()).or_default(),
        };
        let repeated = baseline
            .judged
            .iter()
            .any(|v| v.event_id == signin.event_id);
        let mut verdict = baseline.judge(signin, rules);
        if repeated {
            return verdict;
        }
        self.changed_key(key);
        if !signin.success
            && let (Some(key), Some(source)) = (signin.source_key(), &signin.source)
        {
            let mut spray = self.sources.entry(key.to_owned()).or_default().fail(
                &signin.identity,
                signin.time,
                rules.window_secs,
            );
            self.changed_key(key);
            if spray.identities.len() >= SPRAY_IDENTITIES {
                spray.source = source.clone();
                verdict.spray = Some(spray);
            }
        }
        verdict
    }

    fn changed_key(&mut self, key: &str) {
        if !self.changed.contains(key) {
            self.changed.insert(key.to_owned());
        }
    }

    /// The spray `signin`'s address is part of, as the book stands now (after a whole batch was judged, so
    /// every failure of the batch from that address is reported in one message).
    pub fn spray_at(&self, signin: &SignIn, rules: Rules) -> Option<Spray> {
        if signin.success {
            return None;
        }
        let source = self.sources.get(signin.source_key()?)?;
        let mut names: Vec<&Seen> = source
            .identities
            .iter()
            .filter(|s| s.last >= signin.time - rules.window_secs)
            .collect();
        if names.len() < SPRAY_IDENTITIES {
            return None;
        }
        names.sort_by(|a, b| a.first.cmp(&b.first).then_with(|| a.value.cmp(&b.value)));
        Some(Spray {
            source: signin.source.clone()?,
            total: names.len() as u64,
            identities: names.into_iter().map(|s| s.value.clone()).collect(),
        })
    }
}

#[cfg(test)]
#[path = "baseline_tests.rs"]
mod tests;

//! Which records share a message: the group key (class, account, principal, session, source IP) and the running
//! summary of a group's records (event names with counts, first and last time, regions).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::classify::{Finding, Kind, Subkind};

/// Event names kept per summary; more are counted together, so a state item stays small.
const MAX_NAMES: usize = 40;
/// Regions kept per summary (there are about 35).
const MAX_REGIONS: usize = 40;
/// Identities kept per summary (a password spray names them); more are counted.
const MAX_IDENTITIES: usize = 50;
/// Longest part of a group key; ARNs and user agents are bounded by AWS but the key must stay an item key.
const MAX_PART: usize = 256;

/// What kind of repeated activity a group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    Root,
    Failure,
    SigninStep,
    Tamper,
    /// Failed sign-ins for several identities from one address (see `baseline::SPRAY_IDENTITIES`).
    Spray,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Root => "root",
            Class::Failure => "failure",
            Class::SigninStep => "signin-step",
            Class::Tamper => "tamper",
            Class::Spray => "spray",
        }
    }
}

/// The group a finding belongs to, or `None` when it is a message of its own: a successful sign-in, a role
/// switch, `AssumeRoot`, a change to the root user's credentials, the test record.
pub fn class_of(finding: &Finding) -> Option<Class> {
    match finding.kind {
        Kind::ConsoleLoginSuccess | Kind::SwitchRole | Kind::Test | Kind::Ignore => None,
        Kind::ConsoleLoginFailure => Some(Class::Failure),
        Kind::OtherSignin => Some(Class::SigninStep),
        Kind::Tamper => Some(Class::Tamper),
        Kind::RootActivity => match finding.subkind {
            Some(Subkind::AssumeRoot) => None,
            Some(s) if s.is_security_change() => None,
            _ => Some(Class::Root),
        },
    }
}

/// Appends one part of a key: without the separator or control characters, at most `MAX_PART` characters.
fn push_part(out: &mut String, value: Option<&str>) {
    out.push('|');
    let value = value.unwrap_or("");
    if value.len() <= MAX_PART && !value.contains(|c: char| c == '|' || c.is_control()) {
        out.push_str(value);
        return;
    }
    out.extend(
        value
            .chars()
            .filter(|c| *c != '|' && !c.is_control())
            .take(MAX_PART),
    );
}

/// The group's identity: one principal, one session, one source IP in one account.
pub fn key_of(finding: &Finding, class: Class) -> String {
    let record = &finding.record;
    let principal = record
        .identity()
        .and_then(|u| u.arn.get().or(u.principal_id.get()))
        .or(finding.identity.as_deref());
    // The access key is one per session; failures and sign-in steps have none, so principal and IP decide.
    let session = record.access_key().or_else(|| {
        record
            .identity()
            .and_then(|u| u.session_context.get())
            .and_then(|s| s.attributes.get("creationDate"))
    });
    let mut key = String::with_capacity(160);
    key.push_str(class.as_str());
    push_part(&mut key, finding.account_id());
    push_part(&mut key, principal);
    push_part(&mut key, session);
    push_part(&mut key, record.source_ip.get());
    key
}

/// A short stable digest of a group key, for item keys and message IDs.
pub fn digest(key: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hash = Sha256::digest(key.as_bytes());
    let mut out = String::with_capacity(20);
    for b in hash.iter().take(10) {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

/// What a group's records add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub count: u64,
    pub failed: u64,
    /// Event name -> count (at most `MAX_NAMES` names; the rest counted in `other_names`).
    pub names: BTreeMap<String, u64>,
    pub other_names: u64,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    pub regions: BTreeSet<String>,
    /// Identity -> failed sign-ins, for a password spray's digest (at most `MAX_IDENTITIES`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub identities: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub other_identities: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn count_in(map: &mut BTreeMap<String, u64>, other: &mut u64, key: &str, n: u64, cap: usize) {
    if let Some(m) = map.get_mut(key) {
        *m += n;
    } else if map.len() < cap {
        map.insert(key.to_owned(), n);
    } else {
        *other += n;
    }
}

impl Summary {
    /// Counts a failed sign-in of `identity` (password spray groups name who was tried).
    pub fn add_identity(&mut self, identity: &str) {
        count_in(
            &mut self.identities,
            &mut self.other_identities,
            identity,
            1,
            MAX_IDENTITIES,
        );
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn add(
        &mut self,
        event_name: &str,
        time: Option<DateTime<Utc>>,
        region: Option<&str>,
        failed: bool,
    ) {
        self.count += 1;
        self.failed += u64::from(failed);
        count_in(
            &mut self.names,
            &mut self.other_names,
            event_name,
            1,
            MAX_NAMES,
        );
        if let Some(t) = time {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
        if let Some(r) = region
            && self.regions.len() < MAX_REGIONS
        {
            self.regions.insert(r.to_owned());
        }
    }

    pub fn merge(&mut self, other: &Summary) {
        self.count += other.count;
        self.failed += other.failed;
        for (name, n) in &other.names {
            count_in(&mut self.names, &mut self.other_names, name, *n, MAX_NAMES);
        }
        self.other_names += other.other_names;
        for (name, n) in &other.identities {
            count_in(
                &mut self.identities,
                &mut self.other_identities,
                name,
                *n,
                MAX_IDENTITIES,
            );
        }
        self.other_identities += other.other_identities;
        self.first = match (self.first, other.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last = match (self.last, other.last) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        for region in &other.regions {
            if self.regions.len() >= MAX_REGIONS {
                break;
            }
            self.regions.insert(region.clone());
        }
    }

    /// Event names by count, highest first (ties by name).
    pub fn names_by_count(&self) -> Vec<(&str, u64)> {
        let mut names: Vec<(&str, u64)> =
            self.names.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        names.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        names
    }
}

/// Who a group is about, kept with its state so a digest can name them without any record at hand.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub class: Option<Class>,
    pub kind: Option<String>,
    pub identity: Option<String>,
    pub user_type: Option<String>,
    pub account_id: Option<String>,
    pub source_ip: Option<String>,
    pub session: Option<String>,
    /// The first record's event name (digest titles start from it).
    pub first_event: Option<String>,
    pub root_session: Option<crate::classify::RootSession>,
}

impl Head {
    pub fn of(finding: &Finding, class: Class) -> Self {
        Head {
            class: Some(class),
            kind: Some(finding.kind.as_str().to_owned()),
            identity: finding.identity.as_deref().map(str::to_owned),
            user_type: Some(finding.user_type_label().into_owned()),
            account_id: finding.account_id().map(str::to_owned),
            source_ip: finding.record.source_ip.get().map(str::to_owned),
            session: finding.record.access_key().map(str::to_owned),
            first_event: finding.record.event_name.get().map(str::to_owned),
            root_session: finding.root_session.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn summaries_count_names_times_and_regions_and_merge() {
        let t = |s| Some(Utc.timestamp_opt(s, 0).unwrap());
        let mut a = Summary::default();
        a.add("ListBuckets", t(100), Some("us-east-1"), false);
        a.add("ListBuckets", t(50), Some("us-east-1"), false);
        a.add("DeleteBucket", t(200), Some("eu-west-1"), true);
        let mut b = Summary::default();
        b.add("DeleteBucket", t(10), Some("ap-northeast-1"), false);
        a.merge(&b);
        assert_eq!(a.count, 4);
        assert_eq!(a.failed, 1);
        assert_eq!(
            a.names_by_count(),
            vec![("DeleteBucket", 2), ("ListBuckets", 2)]
        );
        assert_eq!((a.first, a.last), (t(10), t(200)));
        assert_eq!(a.regions.len(), 3);
    }

    #[test]
    fn names_beyond_the_cap_are_counted_not_listed() {
        let mut s = Summary::default();
        for i in 0..(MAX_NAMES + 5) {
            s.add(&format!("Event{i}"), None, None, false);
        }
        assert_eq!(s.names.len(), MAX_NAMES);
        assert_eq!(s.other_names, 5);
        assert_eq!(s.count, (MAX_NAMES + 5) as u64);
    }
}

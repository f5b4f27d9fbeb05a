//! The baseline's rules: what is new, bounds and expiry, failures then success, spraying, `alert_on`.

use super::*;
use crate::settings::{DEFAULT_BASELINE_DAYS, parse_days};

const DAY: i64 = 24 * 3600;
const T0: i64 = 1_790_000_000;

fn rules(alert_on: AlertOn) -> Rules {
    Rules {
        days: DEFAULT_BASELINE_DAYS,
        window_secs: 15 * 60,
        alert_on,
    }
}

fn signin(id: &str, ip: &str, browser: &str, time: i64) -> SignIn {
    SignIn {
        event_id: id.to_owned(),
        account: "111122223333".into(),
        identity: "alice".into(),
        success: true,
        root: false,
        mfa: true,
        network: Some(network_of(ip)),
        source: Some(ip.to_owned()),
        browser: browser.to_owned(),
        region: Some("us-east-1".into()),
        mfa_type: None,
        time,
        keys: Keys::default(),
    }
}

fn failure(id: &str, who: &str, ip: &str, time: i64) -> SignIn {
    SignIn {
        identity: who.to_owned(),
        success: false,
        ..signin(id, ip, "Firefox on Windows", time)
    }
}

#[test]
fn networks_are_slash_24_and_slash_48() {
    assert_eq!(network_of("203.0.113.77"), "203.0.113.0/24");
    assert_eq!(network_of(" 198.51.100.7 "), "198.51.100.0/24");
    assert_eq!(network_of("2001:db8:1234:5678::1"), "2001:db8:1234::/48");
    assert_eq!(network_of("AWS Internal"), "AWS Internal");
    assert_eq!(network_of(&"x".repeat(500)).len(), 128);
}

#[test]
fn a_new_identity_then_the_same_network_twice_then_a_new_browser() {
    let mut b = Baseline::default();
    let first = b.judge(
        &signin("1", "203.0.113.5", "Firefox on Windows", T0),
        rules(AlertOn::All),
    );
    assert_eq!(first.new, vec![New::Identity]);
    // The same network and browser a minute later: seen once before, since the first.
    let second = b.judge(
        &signin("2", "203.0.113.9", "Firefox on Windows", T0 + 60),
        rules(AlertOn::All),
    );
    assert!(second.new.is_empty(), "{:?}", second.new);
    assert_eq!((second.seen, second.since), (1, Some(T0)));
    let third = b.judge(
        &signin("3", "198.51.100.1", "Chrome on macOS", T0 + 120),
        rules(AlertOn::All),
    );
    assert_eq!(third.new, vec![New::Network, New::Browser]);
    assert_eq!(b.count, 3);
    assert_eq!(b.expires_at, T0 + 120 + 90 * DAY);
}

#[test]
fn lists_keep_the_most_recent_entries_only() {
    let mut b = Baseline::default();
    for i in 0..(MAX_ENTRIES as i64 + 15) {
        b.judge(
            &signin(
                &format!("e{i}"),
                &format!("10.0.{i}.1"),
                "Firefox on Windows",
                T0 + i,
            ),
            rules(AlertOn::All),
        );
    }
    assert_eq!(b.networks.len(), MAX_ENTRIES);
    assert_eq!(b.judged.len(), MAX_JUDGED);
    // The oldest networks went, the newest stayed.
    assert!(b.networks.iter().all(|n| n.value != "10.0.0.0/24"));
    assert!(b.networks.iter().any(|n| n.value == "10.0.34.0/24"));
    let item = serde_json::to_string(&b).unwrap();
    assert!(item.len() < 16 * 1024, "{} bytes", item.len());
}

#[test]
fn what_was_last_seen_longer_ago_than_the_baseline_is_new_again() {
    let mut b = Baseline::default();
    b.judge(
        &signin("1", "203.0.113.5", "Firefox on Windows", T0),
        rules(AlertOn::All),
    );
    b.judge(
        &signin("2", "198.51.100.5", "Firefox on Windows", T0 + 80 * DAY),
        rules(AlertOn::All),
    );
    // 91 days after the first: its network expired, the browser (seen on day 80) did not.
    let v = b.judge(
        &signin("3", "203.0.113.5", "Firefox on Windows", T0 + 91 * DAY),
        rules(AlertOn::All),
    );
    assert_eq!(v.new, vec![New::Network]);
    // Nothing at all for longer than the baseline: a new identity again.
    let v = b.judge(
        &signin("4", "203.0.113.5", "Firefox on Windows", T0 + 200 * DAY),
        rules(AlertOn::All),
    );
    assert_eq!(v.new, vec![New::Identity]);
    assert_eq!(b.count, 1);
}

#[test]
fn failures_teach_nothing_and_a_success_after_them_says_how_many() {
    let mut b = Baseline::default();
    for i in 0..5 {
        let v = b.judge(
            &failure(&format!("f{i}"), "alice", "203.0.113.5", T0 + i * 30),
            rules(AlertOn::All),
        );
        assert_eq!(v.new, vec![New::Identity]);
    }
    assert_eq!(b.count, 0);
    assert!(b.networks.is_empty());
    let v = b.judge(
        &signin("ok", "203.0.113.5", "Firefox on Windows", T0 + 200),
        rules(AlertOn::All),
    );
    assert_eq!(v.after_failures, 5);
    // Counted once: the next success from there follows no failure.
    let v = b.judge(
        &signin("ok2", "203.0.113.5", "Firefox on Windows", T0 + 300),
        rules(AlertOn::All),
    );
    assert_eq!(v.after_failures, 0);
    // Failures older than the window do not count.
    b.judge(
        &failure("old", "alice", "203.0.113.5", T0 + 400),
        rules(AlertOn::All),
    );
    let v = b.judge(
        &signin(
            "late",
            "203.0.113.5",
            "Firefox on Windows",
            T0 + 400 + 16 * 60,
        ),
        rules(AlertOn::All),
    );
    assert_eq!(v.after_failures, 0);
}

#[test]
fn alert_on_unusual_mutes_only_the_usual() {
    let unusual = rules(AlertOn::Unusual);
    let mut b = Baseline::default();
    let first = b.judge(
        &signin("1", "203.0.113.5", "Firefox on Windows", T0),
        unusual,
    );
    assert!(first.send, "a new identity's first sign-in is unusual");
    let usual = b.judge(
        &signin("2", "203.0.113.6", "Firefox on Windows", T0 + 60),
        unusual,
    );
    assert!(!usual.send);
    let mut all = b.clone();
    assert!(
        all.judge(
            &signin("2b", "203.0.113.6", "Firefox on Windows", T0 + 61),
            rules(AlertOn::All)
        )
        .send
    );
    let new_browser = b.judge(
        &signin("3", "203.0.113.6", "Chrome on Linux", T0 + 90),
        unusual,
    );
    assert!(new_browser.send);
    let no_mfa = SignIn {
        mfa: false,
        ..signin("4", "203.0.113.6", "Firefox on Windows", T0 + 120)
    };
    assert!(b.judge(&no_mfa, unusual).send);
    let root = SignIn {
        root: true,
        ..signin("5", "203.0.113.6", "Firefox on Windows", T0 + 150)
    };
    assert!(b.judge(&root, unusual).send, "root is always sent");
    let fail = failure("6", "alice", "203.0.113.6", T0 + 160);
    assert!(b.judge(&fail, unusual).send);
    let after = b.judge(
        &signin("7", "203.0.113.6", "Firefox on Windows", T0 + 170),
        unusual,
    );
    assert_eq!(after.after_failures, 1);
    assert!(after.send, "a success after failures is sent");
}

#[test]
fn a_retry_gets_the_same_verdict_and_learns_nothing_twice() {
    let unusual = rules(AlertOn::Unusual);
    let mut book = Book::default();
    let s = signin("1", "203.0.113.5", "Firefox on Windows", T0);
    let first = book.judge(&s, unusual);
    let again = book.judge(&s, unusual);
    assert_eq!(first, again);
    assert!(
        again.send,
        "the retry must not mute what the first attempt found new"
    );
    assert_eq!(book.baselines[s.baseline_key()].count, 1);
}

#[test]
fn three_identities_failing_from_one_address_are_a_spray() {
    let r = rules(AlertOn::All);
    let mut book = Book::default();
    let a = failure("1", "alice", "198.51.100.7", T0);
    let b = failure("2", "bob", "198.51.100.7", T0 + 10);
    assert!(book.judge(&a, r).spray.is_none());
    assert!(book.judge(&b, r).spray.is_none());
    // Another address, or the same identity again, is not a third identity.
    book.judge(&failure("3", "carol", "203.0.113.1", T0 + 20), r);
    book.judge(&failure("4", "alice", "198.51.100.7", T0 + 30), r);
    assert!(book.spray_at(&a, r).is_none());
    let c = failure("5", "carol", "198.51.100.7", T0 + 40);
    let spray = book.judge(&c, r).spray.expect("a spray");
    assert_eq!(spray.identities, ["alice", "bob", "carol"]);
    assert_eq!((spray.total, spray.source.as_str()), (3, "198.51.100.7"));
    // Seen from the whole batch, the first failure is part of it too.
    assert_eq!(book.spray_at(&a, r).map(|s| s.total), Some(3));
    // Outside the window it is over.
    let late = failure("6", "dave", "198.51.100.7", T0 + 40 + 16 * 60);
    assert!(book.judge(&late, r).spray.is_none());
}

#[test]
fn alert_on_and_days_parse_with_errors_that_name_the_fix() {
    assert_eq!("unusual".parse::<AlertOn>(), Ok(AlertOn::Unusual));
    assert_eq!(" all ".parse::<AlertOn>(), Ok(AlertOn::All));
    assert!(
        "some"
            .parse::<AlertOn>()
            .unwrap_err()
            .contains("all or unusual")
    );
    assert_eq!(parse_days("30"), Ok(30));
    for bad in ["0", "401", "soon"] {
        assert!(parse_days(bad).unwrap_err().contains("1 to 400"), "{bad}");
    }
}

//! How a message words what a sign-in's baseline found, in each language: what is new ("first sign-in from this
//! network for alice (203.0.113.0/24)"), or how familiar it is ("known network and browser (seen 23 times since
//! 2026-10-02)"), failures before a success, and a password spray.

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;

use crate::text::Label;
use crate::verdict::{New, Spray, Verdict};
use crate::vocab::Language;

/// Identities a spray message names; the rest are counted.
const SPRAY_NAMES: usize = 20;

/// `1 failed sign-in`, `5 failed sign-ins`.
pub fn count_en(n: u64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

fn date(epoch: i64, tz: Tz) -> String {
    match Utc.timestamp_opt(epoch, 0).single() {
        Some(t) => t.with_timezone(&tz).format("%Y-%m-%d").to_string(),
        None => "?".to_owned(),
    }
}

fn en(v: &Verdict, new: New) -> String {
    let net = v.network.as_deref().unwrap_or("unknown network");
    match (new, v.success) {
        (New::Identity, true) => format!(
            "first sign-in seen for {} (from {net}, {})",
            v.identity, v.browser
        ),
        (New::Identity, false) => format!("no successful sign-in of {} known yet", v.identity),
        (New::Network, true) => {
            format!("first sign-in from this network for {} ({net})", v.identity)
        }
        (New::Network, false) => format!("a network {} never signed in from ({net})", v.identity),
        (New::Browser, _) => format!("new browser: {}", v.browser),
        (New::Region, _) => format!("new region: {}", v.region.as_deref().unwrap_or("")),
        (New::MfaType, _) => format!("new MFA type: {}", v.mfa_type.as_deref().unwrap_or("")),
    }
}

fn ja(v: &Verdict, new: New) -> String {
    let net = v.network.as_deref().unwrap_or("不明なネットワーク");
    match (new, v.success) {
        (New::Identity, true) => {
            format!("{}の初めてのサインイン（{net}、{}）", v.identity, v.browser)
        }
        (New::Identity, false) => format!("{}のサインイン成功の記録はまだありません", v.identity),
        (New::Network, true) => format!(
            "{}がこのネットワークから初めてサインイン（{net}）",
            v.identity
        ),
        (New::Network, false) => format!(
            "{}がサインインしたことのないネットワーク（{net}）",
            v.identity
        ),
        (New::Browser, _) => format!("新しいブラウザー: {}", v.browser),
        (New::Region, _) => format!("新しいリージョン: {}", v.region.as_deref().unwrap_or("")),
        (New::MfaType, _) => format!("新しいMFAの種類: {}", v.mfa_type.as_deref().unwrap_or("")),
    }
}

/// The line a sign-in's message carries about its baseline.
pub fn describe(v: &Verdict, language: Language, tz: Tz) -> String {
    let mut parts: Vec<String> = Vec::with_capacity(4);
    if v.after_failures > 0 {
        parts.push(match language {
            Language::En => format!("after {}", count_en(v.after_failures, "failed sign-in")),
            Language::Ja => format!("{}回のサインイン失敗の後", v.after_failures),
        });
    }
    for &new in &v.new {
        parts.push(match language {
            Language::En => en(v, new),
            Language::Ja => ja(v, new),
        });
    }
    if v.new.is_empty() {
        let since = v.since.map(|s| date(s, tz));
        parts.push(match (language, since) {
            (Language::En, Some(since)) => format!(
                "known network and browser (seen {} since {since})",
                match v.seen {
                    1 => "once".to_owned(),
                    n => format!("{n} times"),
                }
            ),
            (Language::En, None) => "known network and browser".to_owned(),
            (Language::Ja, Some(since)) => {
                format!("既知のネットワークとブラウザー（{since}以降{}回）", v.seen)
            }
            (Language::Ja, None) => "既知のネットワークとブラウザー".to_owned(),
        });
    }
    parts.join(match language {
        Language::En => "; ",
        Language::Ja => "、",
    })
}

/// The title of a password spray (English is also the subject's).
pub fn spray_title(spray: &Spray, language: Language) -> String {
    match language {
        Language::En => format!(
            "Password spraying from {}: failed sign-ins for {} identities",
            spray.source, spray.total
        ),
        Language::Ja => format!(
            "パスワードスプレーの疑い（{}）: {}人のユーザーでサインイン失敗",
            spray.source, spray.total
        ),
    }
}

/// The fact a sign-in's message carries: what is new or familiar, or for a spray the identities it tried (one of
/// them's baseline would tell the reader nothing).
pub fn fact(v: &Verdict, language: Language, tz: Tz) -> (Label, String) {
    match &v.spray {
        Some(spray) => (Label::Identities, spray_names(spray, language)),
        None => (Label::Baseline, describe(v, language, tz)),
    }
}

/// `5 failed sign-ins from this address`: a spray message's count of records.
pub fn spray_records(n: u64, language: Language) -> String {
    match language {
        Language::En => format!("{} from this address", count_en(n, "failed sign-in")),
        Language::Ja => format!("このアドレスからのサインイン失敗{n}件"),
    }
}

/// The identities a spray tried: `alice, bob, carol` (and how many more).
pub fn spray_names(spray: &Spray, language: Language) -> String {
    names_line(
        spray.identities.iter().map(String::as_str),
        spray.total,
        language,
    )
}

/// The first `SPRAY_NAMES` of `names`, then how many more of `total` there are.
pub fn names_line<'a>(
    names: impl Iterator<Item = &'a str>,
    total: u64,
    language: Language,
) -> String {
    let shown: Vec<&str> = names.take(SPRAY_NAMES).collect();
    let mut out = shown.join(", ");
    let more = total.saturating_sub(shown.len() as u64);
    if more > 0 {
        out.push_str(&match language {
            Language::En => format!(" and {more} more"),
            Language::Ja => format!(" ほか{more}人"),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(new: Vec<New>) -> Verdict {
        Verdict {
            identity: "alice".into(),
            success: true,
            new,
            network: Some("203.0.113.0/24".into()),
            browser: "Firefox on Windows".into(),
            region: Some("eu-north-1".into()),
            seen: 23,
            since: Some(1_791_072_000), // 2026-10-04 UTC
            send: true,
            ..Verdict::default()
        }
    }

    #[test]
    fn what_is_new_and_what_is_known_in_both_languages() {
        let v = verdict(vec![New::Network, New::Browser]);
        assert_eq!(
            describe(&v, Language::En, Tz::UTC),
            "first sign-in from this network for alice (203.0.113.0/24); new browser: Firefox on Windows"
        );
        assert_eq!(
            describe(&v, Language::Ja, Tz::UTC),
            "aliceがこのネットワークから初めてサインイン（203.0.113.0/24）、新しいブラウザー: Firefox on Windows"
        );
        let known = verdict(vec![]);
        assert_eq!(
            describe(&known, Language::En, Tz::UTC),
            "known network and browser (seen 23 times since 2026-10-04)"
        );
        assert_eq!(
            describe(&known, Language::Ja, Tz::Asia__Tokyo),
            "既知のネットワークとブラウザー（2026-10-04以降23回）"
        );
        let after = Verdict {
            after_failures: 5,
            ..verdict(vec![])
        };
        assert!(
            describe(&after, Language::En, Tz::UTC).starts_with("after 5 failed sign-ins; known")
        );
    }

    #[test]
    fn a_spray_names_its_identities_and_counts_the_rest() {
        let spray = Spray {
            source: "198.51.100.7".into(),
            identities: (0..25).map(|i| format!("user{i}")).collect(),
            total: 30,
        };
        assert_eq!(
            spray_title(&spray, Language::En),
            "Password spraying from 198.51.100.7: failed sign-ins for 30 identities"
        );
        let names = spray_names(&spray, Language::En);
        assert!(
            names.starts_with("user0, user1,") && names.ends_with("user19 and 10 more"),
            "{names}"
        );
    }
}

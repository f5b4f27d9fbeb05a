//! What a sign-in was found to be against its identity's baseline: plain data, below the classification that
//! carries it and the messages that word it (`baseline.rs` decides it, `novelty.rs` words it).

use serde::{Deserialize, Serialize};

/// What is new in a sign-in, in the order messages list it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum New {
    /// No successful sign-in of this identity within the baseline.
    Identity,
    Network,
    Browser,
    Region,
    MfaType,
}

impl New {
    pub fn as_str(self) -> &'static str {
        match self {
            New::Identity => "identity",
            New::Network => "network",
            New::Browser => "browser",
            New::Region => "region",
            New::MfaType => "mfa-type",
        }
    }
}

/// What a sign-in was found to be, against its identity's baseline as it stood before it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub event_id: String,
    pub identity: String,
    pub success: bool,
    pub new: Vec<New>,
    pub network: Option<String>,
    pub browser: String,
    pub region: Option<String>,
    pub mfa_type: Option<String>,
    /// For a known network and browser: how often both were seen, and since when (epoch seconds).
    pub seen: u64,
    pub since: Option<i64>,
    /// Failed sign-ins of this identity from this address within the window before this success.
    pub after_failures: u64,
    /// Whether it sends a message under the configured `alert_on`.
    pub send: bool,
    /// For a failed sign-in from an address that is spraying: the address and the identities that failed from
    /// it within the window (at most `MAX_SOURCE_NAMES`), and how many there were in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spray: Option<Spray>,
}

/// A password spray: failures for several identities from one address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spray {
    pub source: String,
    pub identities: Vec<String>,
    pub total: u64,
}

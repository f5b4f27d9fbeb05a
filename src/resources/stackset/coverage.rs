//! What the stack instances cover: accounts × regions, and every gap with its reason.

use super::*;

/// What the stack instances cover: accounts × regions, and every gap with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Coverage {
    pub accounts: usize,
    pub regions: usize,
    pub current: usize,
    /// `account in region: STATUS (reason)` for each instance that is not CURRENT.
    pub failed: Vec<String>,
    /// Active accounts without an instance in some regions: (account, regions).
    pub missing: Vec<(String, Vec<String>)>,
    /// Accounts below the targets that are not active (suspended, closing): not covered.
    pub inactive: Vec<String>,
}

impl Coverage {
    /// Every gap, in words (empty when every account is covered in every region).
    pub fn gaps(&self) -> Vec<String> {
        let missing = self.missing.iter().map(|(account, regions)| {
            format!(
                "account {account} has no stack instance in {}",
                regions.join(", ")
            )
        });
        let inactive = self
            .inactive
            .iter()
            .map(|a| format!("account {a} is not covered: it is suspended or closing"));
        self.failed
            .iter()
            .cloned()
            .chain(missing)
            .chain(inactive)
            .collect()
    }

    /// `312 accounts × 17 regions: 5,302 current, 2 failed`.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{} accounts × {} regions: {} current",
            self.accounts, self.regions, self.current
        );
        if !self.failed.is_empty() {
            text.push_str(&format!(", {} failed", self.failed.len()));
        }
        let missing: usize = self.missing.iter().map(|(_, r)| r.len()).sum();
        if missing > 0 {
            text.push_str(&format!(", {missing} missing"));
        }
        if !self.inactive.is_empty() {
            text.push_str(&format!(", {} accounts not active", self.inactive.len()));
        }
        text
    }
}

/// What the instances cover of the active `members` in `regions`.
pub fn coverage(current: &Current, regions: &[String]) -> Coverage {
    let mut cov = Coverage {
        accounts: current.members.len(),
        regions: regions.len(),
        ..Default::default()
    };
    for member in &current.members {
        if member.status != "ACTIVE" {
            cov.inactive
                .push(format!("{} ({})", member.id, member.name));
            continue;
        }
        let mut missing = Vec::new();
        for region in regions {
            match current
                .instances
                .iter()
                .find(|i| i.account == member.id && &i.region == region)
            {
                None => missing.push(region.clone()),
                Some(i) if i.status == "CURRENT" => cov.current += 1,
                Some(i) => cov.failed.push(format!(
                    "account {} ({}) in {region}: {}{}",
                    member.id,
                    member.name,
                    i.status,
                    i.reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                )),
            }
        }
        if !missing.is_empty() {
            cov.missing.push((member.id.clone(), missing));
        }
    }
    cov
}

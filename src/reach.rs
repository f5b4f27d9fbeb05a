//! Whether login-alert can change a trail from where it runs: the one answer discovery, `init` and the trail use.

use crate::arn::Arn;

/// Where a trail can be changed from, seen from an account and the pipeline's region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// From this account, in this region.
    Here,
    /// An organization trail owned by another account (its management account, named here): seen
    /// from a member account, the delegated CloudTrail administrator included. login-alert changes
    /// it only from its owner (see [`only_from_owner`]); with organization coverage, a delegated
    /// administrator for StackSets adopts it read only (`resources::trail::read::read_only_owner`).
    OtherAccount(String),
    /// Only from its home region (CloudTrail's rule), named here.
    OtherRegion(String),
}

/// Why a trail of another account is left alone, in the words every message about it shares.
///
/// CloudTrail lets a delegated administrator change an organization trail, which stays owned by the
/// management account (its ARN names that account). login-alert does not do it from there: the
/// operator policy grants trail actions on this account's trail ARNs only, the trail's CloudWatch Logs
/// group must be in the trail's (the management) account, and whether CloudTrail accepts the memo
/// tags from a delegated administrator is not documented. So it says plainly where it does work.
pub fn only_from_owner(owner: &str) -> String {
    format!(
        "login-alert changes an organization trail only from the account that owns it, the management account {owner}, \
         even when this account is the organization's delegated CloudTrail administrator \
         (CloudTrail lets a delegated administrator change the trail, but its CloudWatch Logs group must be in account {owner} \
         and login-alert's permissions and memo tags are for trails of the account it runs in)"
    )
}

/// Whether `account_id`, working in `region`, can change the trail `trail_arn` homed in `home_region`.
pub fn reach(trail_arn: &str, home_region: &str, account_id: &str, region: &str) -> Reach {
    let owner = Arn::parse(trail_arn).map_or("", |a| a.account);
    if owner != account_id {
        return Reach::OtherAccount(owner.to_owned());
    }
    if home_region != region {
        return Reach::OtherRegion(home_region.to_owned());
    }
    Reach::Here
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:cloudtrail:eu-west-1:123456789012:trail/audit";

    #[test]
    fn the_owner_account_then_the_home_region_decide() {
        assert_eq!(
            reach(ARN, "eu-west-1", "123456789012", "eu-west-1"),
            Reach::Here
        );
        assert_eq!(
            reach(ARN, "eu-west-1", "999999999999", "eu-west-1"),
            Reach::OtherAccount("123456789012".into())
        );
        assert_eq!(
            reach(ARN, "eu-west-1", "123456789012", "us-east-1"),
            Reach::OtherRegion("eu-west-1".into())
        );
    }
}

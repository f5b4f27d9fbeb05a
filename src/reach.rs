//! Whether login-alert can change a trail from where it runs: the one answer discovery, `init` and the trail use.

use crate::arn::Arn;

/// Where a trail can be changed from, seen from an account and the pipeline's region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// From this account, in this region.
    Here,
    /// An organization trail seen from a member account: only the management account (or a
    /// delegated administrator), named here, can change it.
    OtherAccount(String),
    /// Only from its home region (CloudTrail's rule), named here.
    OtherRegion(String),
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

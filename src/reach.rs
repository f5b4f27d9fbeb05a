//! Whether login-alert can change a trail from where it runs.

/// Whether login-alert can change the trail from where it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    Here,
    /// An organization trail seen from a member account: only the management account (or a
    /// delegated administrator) can change it.
    OtherAccount(String),
    /// CloudTrail changes a trail only from its home region.
    OtherRegion(String),
}

/// The answer for a trail (its ARN and home region) seen by `account_id` working in `region`.
pub fn reach(trail_arn: &str, home_region: &str, account_id: &str, region: &str) -> Reach {
    // arn:PARTITION:cloudtrail:REGION:ACCOUNT:trail/NAME
    let owner = trail_arn.split(':').nth(4).unwrap_or_default();
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

    const ARN: &str = "arn:aws:cloudtrail:eu-west-1:111111111111:trail/audit";

    #[test]
    fn another_accounts_trail_comes_before_another_region() {
        assert_eq!(
            reach(ARN, "eu-west-1", "111111111111", "eu-west-1"),
            Reach::Here
        );
        assert_eq!(
            reach(ARN, "eu-west-1", "111111111111", "us-east-1"),
            Reach::OtherRegion("eu-west-1".into())
        );
        assert_eq!(
            reach(ARN, "eu-west-1", "222222222222", "us-east-1"),
            Reach::OtherAccount("111111111111".into())
        );
    }
}

//! The AWS regions login-alert knows, per partition: where discovery looks, and what a region setting may name.

use crate::names::partition_of;

/// The regions of the `aws` partition, as the SDK's endpoint data lists them.
const AWS: [&str; 34] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "sa-east-1",
];
const AWS_CN: [&str; 2] = ["cn-north-1", "cn-northwest-1"];
const AWS_US_GOV: [&str; 2] = ["us-gov-west-1", "us-gov-east-1"];

/// Regions the account owner must enable first; while disabled, they reject every request as if
/// the credentials were invalid.
pub const OPT_IN: [&str; 17] = [
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
];

/// The regions of the partition `region` belongs to (opt-in regions that are not enabled answer with an error).
pub fn regions_for(region: &str) -> &'static [&'static str] {
    match partition_of(region) {
        "aws-cn" => &AWS_CN,
        "aws-us-gov" => &AWS_US_GOV,
        _ => &AWS,
    }
}

/// Every region login-alert can work in.
fn all() -> impl Iterator<Item = &'static str> {
    AWS.iter().chain(&AWS_CN).chain(&AWS_US_GOV).copied()
}

pub fn is_known(region: &str) -> bool {
    all().any(|known| known == region)
}

/// The known regions closest to a mistyped one (`us-east-99` → us-east-1, us-east-2), if any is close.
pub fn nearest(region: &str) -> Vec<&'static str> {
    // More edits than this and the suggestion would be a guess, not a correction.
    const CLOSE: usize = 3;
    let typed = region.trim().to_ascii_lowercase();
    let scored: Vec<(usize, &str)> = all()
        .map(|known| (strsim::levenshtein(&typed, known), known))
        .collect();
    let Some(best) = scored.iter().map(|(d, _)| *d).min().filter(|d| *d <= CLOSE) else {
        return Vec::new();
    };
    scored
        .into_iter()
        .filter(|(d, _)| *d == best)
        .map(|(_, known)| known)
        .collect()
}

/// "a", "a or b", "a, b or c".
pub fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistyped_region_gets_its_nearest_neighbours() {
        assert_eq!(nearest("us-east-99"), ["us-east-1", "us-east-2"]);
        assert_eq!(nearest("US-EAST-1"), ["us-east-1"]);
        assert_eq!(nearest("eu-wset-1"), ["eu-west-1"]);
        assert_eq!(nearest("mars-north-1"), Vec::<&str>::new());
        assert_eq!(or_list(&["a", "b", "c"]), "a, b or c");
    }

    #[test]
    fn each_partition_lists_its_own_regions_and_opt_in_regions_are_known() {
        assert_eq!(regions_for("cn-north-1"), AWS_CN);
        assert_eq!(regions_for("us-gov-east-1"), AWS_US_GOV);
        assert!(regions_for("eu-west-1").contains(&"ap-southeast-6"));
        assert!(OPT_IN.iter().all(|r| AWS.contains(r)));
        assert!(is_known("us-gov-west-1") && !is_known("us-east-99"));
    }
}

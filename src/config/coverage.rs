//! `coverage` and `organization_units`: which accounts alerts come from, checked before any AWS call.

use serde::{Deserialize, Serialize};

use super::Problem;

/// At most this many organizational units per StackSets deployment-target call (CloudFormation
/// API reference, `DeploymentTargets.OrganizationalUnitIds`).
pub const MAX_UNITS: usize = 50;

/// Which accounts alerts come from (`coverage` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Coverage {
    /// The account login-alert runs in.
    #[default]
    Account,
    /// Every account of the organization (run from its management account or a delegated
    /// administrator for CloudFormation StackSets); see `crate::organization`.
    Organization,
}

impl Coverage {
    pub const ALL: [Coverage; 2] = [Coverage::Account, Coverage::Organization];

    pub fn as_str(self) -> &'static str {
        match self {
            Coverage::Account => "account",
            Coverage::Organization => "organization",
        }
    }

    pub fn is_default(&self) -> bool {
        *self == Coverage::default()
    }
}

/// The checks of `coverage` and `organization_units` that need no AWS call.
pub fn validate(coverage: Coverage, units: &[String]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for unit in units {
        if !is_unit_id(unit) {
            problems.push(Problem {
                field: "organization_units",
                problem: format!("`{unit}` is not an organizational unit ID or a root ID"),
                fix: "write each as the ID Organizations shows, ou-abcd-12345678 for a unit or r-abcd for the root \
                      (`aws organizations list-roots`, `aws organizations list-organizational-units-for-parent --parent-id r-abcd`)"
                    .into(),
            });
        }
    }
    if units.len() > MAX_UNITS {
        problems.push(Problem {
            field: "organization_units",
            problem: format!("{} units are listed; StackSets deploy to at most {MAX_UNITS} in one operation", units.len()),
            fix: "list their parent units instead (StackSets deploy to every account below a unit), or the root".into(),
        });
    }
    if coverage == Coverage::Account && !units.is_empty() {
        problems.push(Problem {
            field: "organization_units",
            problem: "units are listed, but coverage = \"account\" covers this account only".into(),
            fix: "set coverage = \"organization\" to cover the accounts of these units, or remove organization_units".into(),
        });
    }
    problems
}

/// `ou-` then 4-32 lowercase letters or digits (the root's), `-`, then 8-32 more; or a root, `r-` then 4-32
/// (Organizations API reference, `OrganizationalUnitId` and `RootId` patterns).
pub fn is_unit_id(id: &str) -> bool {
    let part = |s: &str, min: usize| {
        (min..=32).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    if let Some(rest) = id.strip_prefix("ou-") {
        return rest
            .split_once('-')
            .is_some_and(|(root, unit)| part(root, 4) && part(unit, 8));
    }
    id.strip_prefix("r-").is_some_and(|root| part(root, 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_ids_follow_organizations_patterns() {
        for good in ["ou-ab12-abcdefgh", "r-ab12", "ou-abcd-1234567890ab"] {
            assert!(is_unit_id(good), "{good}");
        }
        for bad in [
            "ou-ab12",
            "OU-AB12-ABCDEFGH",
            "r-a",
            "ou-ab12-abc",
            "o-abcdefghij",
            "ou-ab_2-abcdefgh",
            "",
        ] {
            assert!(!is_unit_id(bad), "{bad}");
        }
    }

    #[test]
    fn config_checks_name_the_field_and_the_fix() {
        let bad = validate(Coverage::Organization, &["ou-12".into()]);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].field, "organization_units");
        assert!(bad[0].problem.contains("`ou-12`") && bad[0].fix.contains("ou-abcd-12345678"));

        let units_without_org = validate(Coverage::Account, &["r-ab12".into()]);
        assert!(
            units_without_org[0]
                .fix
                .contains("coverage = \"organization\"")
        );

        // login-alert's own trail becomes an organization trail: nothing to refuse.
        assert!(validate(Coverage::Organization, &[]).is_empty());

        let many: Vec<String> = (0..51).map(|i| format!("ou-ab12-{i:08}")).collect();
        assert!(
            validate(Coverage::Organization, &many)[0]
                .problem
                .contains("at most 50")
        );
        assert!(validate(Coverage::Account, &[]).is_empty());
    }
}

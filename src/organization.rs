//! Organization coverage's ground: the `coverage`/`organization_units` checks made before any AWS
//! call, and the read-only discovery of the organization and of the caller's place in it
//! (management account, delegated administrator for CloudFormation StackSets, or neither).
//!
//! Service-managed StackSets need Organizations with all features and trusted access for StackSets
//! (CloudFormation user guide, "Activate trusted access for StackSets with AWS Organizations"); they
//! are run from the management account or from a registered delegated administrator, which passes
//! `CallAs = DELEGATED_ADMIN` ("Register a delegated administrator").

use anyhow::{Context, Result};
use aws_sdk_organizations::types::OrganizationFeatureSet;
use futures::future::try_join_all;
use serde::Serialize;

use aws_sdk_organizations::Client;

use crate::aws::{SdkResultExt, error_code};
use crate::policy::Grant;

/// The service principal of CloudFormation StackSets in Organizations: trusted access and
/// delegated administrators are registered for it.
pub const STACKSETS_PRINCIPAL: &str = "member.org.stacksets.cloudformation.amazonaws.com";

const NOT_IN_USE: &[&str] = &["AWSOrganizationsNotInUseException"];
const DENIED: &[&str] = &["AccessDeniedException", "AccessDenied"];

/// The caller's place in its organization, as far as StackSets care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Caller {
    /// The organization's management account.
    Management,
    /// A member registered as delegated administrator for StackSets (calls with `CallAs = DELEGATED_ADMIN`).
    DelegatedAdmin,
    /// Any other member account: it cannot deploy to the organization.
    Member,
}

impl Caller {
    /// Whether StackSets can be deployed to the organization from here.
    pub fn qualifies(self) -> bool {
        self != Caller::Member
    }
}

/// The organization as read from the caller's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organization {
    pub id: String,
    pub management_account: String,
    /// Organizations with all features (not consolidated billing only).
    pub all_features: bool,
    pub caller: Caller,
    /// Trusted access for StackSets is enabled; `None` when it was not read (a member cannot).
    pub stacksets_access: Option<bool>,
    /// The root's ID (`r-…`), when read.
    pub root: Option<String>,
    /// Configured organizational units that do not exist in the organization.
    pub missing_units: Vec<String>,
}

impl Organization {
    /// Where StackSets deploy: the configured units, else the root.
    pub fn targets(&self, units: &[String]) -> Vec<String> {
        if units.is_empty() {
            self.root.iter().cloned().collect()
        } else {
            units.to_vec()
        }
    }
}

/// What [`read`] calls, and ListAccounts, which names every member account in alerts (the state
/// table's account names). Organizations authorizes these reads on no narrower resource than the
/// organization itself, whose ID (and management account) is not known before they answer.
pub fn permissions() -> Vec<Grant> {
    vec![Grant::anywhere([
        "organizations:ListAccounts",
        "organizations:DescribeOrganization",
        "organizations:ListDelegatedAdministrators",
        "organizations:ListAWSServiceAccessForOrganization",
        "organizations:ListRoots",
        "organizations:DescribeOrganizationalUnit",
        "organizations:ListAccountsForParent",
        "organizations:ListOrganizationalUnitsForParent",
    ])]
}

/// The organization and the caller's place in it; `None` when the account is in no organization.
/// Reads only. A member that is not a delegated administrator learns no more than that.
pub async fn read(
    organizations: &Client,
    account_id: &str,
    units: &[String],
) -> Result<Option<Organization>> {
    let Some((id, management_account, all_features)) = describe(organizations).await? else {
        return Ok(None);
    };
    let caller = caller_of(organizations, account_id, &management_account).await?;
    let mut org = Organization {
        id,
        management_account,
        all_features,
        caller,
        stacksets_access: None,
        root: None,
        missing_units: Vec::new(),
    };
    if !caller.qualifies() {
        return Ok(Some(org));
    }
    let (access, root, units_found) = tokio::try_join!(
        stacksets_access(organizations),
        root(organizations),
        try_join_all(
            units
                .iter()
                .filter(|u| u.starts_with("ou-"))
                .map(|unit| unit_exists(organizations, unit))
        ),
    )?;
    org.stacksets_access = Some(access);
    org.missing_units = units
        .iter()
        .filter(|u| u.starts_with("r-"))
        .filter(|u| root.as_deref() != Some(u.as_str()))
        .cloned()
        .chain(
            units
                .iter()
                .filter(|u| u.starts_with("ou-"))
                .zip(units_found)
                .filter(|(_, found)| !found)
                .map(|(u, _)| u.clone()),
        )
        .collect();
    org.root = root;
    Ok(Some(org))
}

/// The caller's place only (for `init`'s question): `None` outside an organization.
pub async fn caller(organizations: &Client, account_id: &str) -> Result<Option<Caller>> {
    let Some((_, management, _)) = describe(organizations).await? else {
        return Ok(None);
    };
    Ok(Some(
        caller_of(organizations, account_id, &management).await?,
    ))
}

/// The organization's ID, management account and whether it has all features.
async fn describe(organizations: &Client) -> Result<Option<(String, String, bool)>> {
    let out = organizations
        .describe_organization()
        .send()
        .await
        .found(NOT_IN_USE)
        .context("reading the organization (organizations:DescribeOrganization)")?;
    let Some(org) = out.and_then(|o| o.organization) else {
        return Ok(None);
    };
    Ok(Some((
        org.id.unwrap_or_default(),
        org.master_account_id.unwrap_or_default(),
        org.feature_set == Some(OrganizationFeatureSet::All),
    )))
}

/// Management account, delegated administrator for StackSets, or a member. Organizations answers
/// ListDelegatedAdministrators only to the management account and to delegated administrators (of
/// any service): a member without that role is denied, which says what it is.
async fn caller_of(organizations: &Client, account_id: &str, management: &str) -> Result<Caller> {
    if account_id == management {
        return Ok(Caller::Management);
    }
    let mut pages = organizations
        .list_delegated_administrators()
        .service_principal(STACKSETS_PRINCIPAL)
        .into_paginator()
        .send();
    let mut admins = Vec::new();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => admins.extend(
                page.delegated_administrators
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|a| a.id),
            ),
            Err(err) if error_code(&err).is_some_and(|c| DENIED.contains(&c)) => {
                return Ok(Caller::Member);
            }
            Err(err) => {
                return Err(err).explained().context(
                    "listing the delegated administrators for StackSets (organizations:ListDelegatedAdministrators)",
                );
            }
        }
    }
    Ok(role_of(account_id, management, &admins))
}

/// The caller's place from the management account's ID and StackSets' delegated administrators.
pub fn role_of(account_id: &str, management: &str, admins: &[String]) -> Caller {
    if account_id == management {
        Caller::Management
    } else if admins.iter().any(|a| a == account_id) {
        Caller::DelegatedAdmin
    } else {
        Caller::Member
    }
}

/// Whether trusted access for StackSets is enabled in the organization.
async fn stacksets_access(organizations: &Client) -> Result<bool> {
    let mut pages = organizations
        .list_aws_service_access_for_organization()
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.explained().context(
            "reading the organization's trusted services (organizations:ListAWSServiceAccessForOrganization)",
        )?;
        if page
            .enabled_service_principals
            .unwrap_or_default()
            .iter()
            .any(|p| p.service_principal.as_deref() == Some(STACKSETS_PRINCIPAL))
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The organization's root (an organization has exactly one).
pub async fn root(organizations: &Client) -> Result<Option<String>> {
    let out = organizations
        .list_roots()
        .send()
        .await
        .explained()
        .context("reading the organization's root (organizations:ListRoots)")?;
    Ok(out.roots.unwrap_or_default().into_iter().find_map(|r| r.id))
}

pub async fn unit_exists(organizations: &Client, unit: &str) -> Result<bool> {
    Ok(organizations
        .describe_organizational_unit()
        .organizational_unit_id(unit)
        .send()
        .await
        .found(&["OrganizationalUnitNotFoundException"])
        .with_context(|| format!("reading organizational unit {unit}"))?
        .is_some())
}

pub use crate::org_tree::Account;

/// Why organization coverage cannot be applied from here, each reason with its fix; empty when it
/// can. `mode`: the config's, as written there; `stacksets`: it deploys StackSets (EventBridge);
/// `logs`: it reads the organization trail's log group (CloudWatch Logs), which is in the trail's
/// owner, the management account.
pub fn refusals(
    org: Option<&Organization>,
    account_id: &str,
    mode: &str,
    stacksets: bool,
    logs: bool,
) -> Vec<String> {
    const OR_ACCOUNT: &str = "or set coverage = \"account\" to cover this account only";
    let Some(org) = org else {
        return vec![format!(
            "coverage = \"organization\": account {account_id} is not in an AWS Organizations organization. \
             Run login-alert in the management account of the organization to cover, {OR_ACCOUNT}"
        )];
    };
    let (id, management) = (&org.id, &org.management_account);
    let mut refusals = Vec::new();
    match org.caller {
        Caller::Member => {
            return vec![format!(
                "coverage = \"organization\": account {account_id} is a member of organization {id}, neither its management \
                 account ({management}) nor a delegated administrator for CloudFormation StackSets, so it cannot deploy \
                 to the other accounts. Run login-alert in account {management}, or register this account from there \
                 (`aws organizations register-delegated-administrator --account-id {account_id} --service-principal \
                 {STACKSETS_PRINCIPAL}`), {OR_ACCOUNT}"
            )];
        }
        Caller::DelegatedAdmin if logs => refusals.push(format!(
            "coverage = \"organization\" with mode = \"{mode}\" reads every account's events from the organization \
             trail's log group, which belongs to the management account {management}, not to this delegated administrator \
             ({account_id}): run login-alert in account {management}, or set mode = \"eventbridge\" (StackSets forward \
             each account's events, which a delegated administrator may deploy, and the trail is only read)"
        )),
        _ => {}
    }
    if !org.all_features {
        refusals.push(format!(
            "coverage = \"organization\": organization {id} has consolidated billing features only, and StackSets with \
             service-managed permissions need all features. Enable them from account {management} (Organizations console, \
             Settings, or `aws organizations enable-all-features`; each member account must approve), {OR_ACCOUNT}"
        ));
    }
    if stacksets && org.stacksets_access == Some(false) {
        refusals.push(format!(
            "coverage = \"organization\": trusted access for CloudFormation StackSets is not enabled in organization {id}, \
             so StackSets cannot deploy to its accounts. Enable it from account {management} \
             (`aws cloudformation activate-organizations-access`, or the CloudFormation console, StackSets, \
             Activate trusted access), {OR_ACCOUNT}"
        ));
    }
    for unit in &org.missing_units {
        refusals.push(format!(
            "organization_units: {unit} does not exist in organization {id}: correct the ID \
             (`aws organizations list-roots`, `aws organizations list-organizational-units-for-parent --parent-id ROOT`) \
             or remove it to cover the whole organization"
        ));
    }
    refusals
}

/// What organization coverage needs of the trail: an organization trail. (Apply makes an adopted
/// trail multi-region and logging; those changes are in the plan as the trail's own.)
pub fn trail_refusal(trail: &str, organization_trail: bool) -> Option<String> {
    (!organization_trail).then(|| {
        format!(
            "coverage = \"organization\": trail {trail} is not an organization trail, so member accounts' events reach \
             neither their buses nor the log group. Adopt the organization's trail (trail.name), or make this one an \
             organization trail from the management account (`aws cloudtrail update-trail --name {trail} \
             --is-organization-trail`), or set coverage = \"account\""
        )
    })
}

/// A ready organization (o-abcdefghij, management account 111111111111) as `caller` reads it.
#[cfg(test)]
pub fn sample(caller: Caller) -> Organization {
    Organization {
        id: "o-abcdefghij".into(),
        management_account: "111111111111".into(),
        all_features: true,
        caller,
        stacksets_access: Some(true),
        root: Some("r-ab12".into()),
        missing_units: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callers_place_comes_from_the_management_account_and_the_admins() {
        let admins = ["222222222222".to_owned()];
        assert_eq!(
            role_of("111111111111", "111111111111", &admins),
            Caller::Management
        );
        assert_eq!(
            role_of("222222222222", "111111111111", &admins),
            Caller::DelegatedAdmin
        );
        assert_eq!(
            role_of("333333333333", "111111111111", &admins),
            Caller::Member
        );
    }

    #[test]
    fn each_refusal_names_its_cause_and_fix() {
        assert!(
            refusals(
                Some(&sample(Caller::Management)),
                "111111111111",
                "eventbridge",
                true,
                false
            )
            .is_empty()
        );
        assert!(
            refusals(
                Some(&sample(Caller::DelegatedAdmin)),
                "222222222222",
                "eventbridge",
                true,
                false
            )
            .is_empty()
        );

        let none = refusals(None, "333333333333", "eventbridge", true, false);
        assert!(
            none[0].contains("not in an AWS Organizations organization"),
            "{none:?}"
        );

        let member = refusals(
            Some(&sample(Caller::Member)),
            "333333333333",
            "eventbridge",
            true,
            false,
        );
        assert_eq!(member.len(), 1);
        assert!(member[0].contains("neither its management account (111111111111)"));
        assert!(member[0].contains("register-delegated-administrator --account-id 333333333333"));

        let billing = Organization {
            all_features: false,
            ..sample(Caller::Management)
        };
        assert!(
            refusals(Some(&billing), "111111111111", "eventbridge", true, false)[0]
                .contains("enable-all-features")
        );

        let closed = Organization {
            stacksets_access: Some(false),
            ..sample(Caller::Management)
        };
        assert!(
            refusals(Some(&closed), "111111111111", "eventbridge", true, false)[0]
                .contains("activate-organizations-access")
        );
        // CloudWatch Logs coverage deploys no StackSet: trusted access does not matter there.
        assert!(
            refusals(
                Some(&closed),
                "111111111111",
                "cloudwatch-logs",
                false,
                true
            )
            .is_empty()
        );

        let typo = Organization {
            missing_units: vec!["ou-ab12-nothere1".into()],
            ..sample(Caller::Management)
        };
        let said = refusals(Some(&typo), "111111111111", "eventbridge", true, false);
        assert!(
            said[0].contains("ou-ab12-nothere1 does not exist in organization o-abcdefghij"),
            "{said:?}"
        );

        // CloudWatch Logs delivery from a delegated administrator: the log group is the management account's.
        for (mode, stacksets) in [("cloudwatch-logs", false), ("both", true)] {
            let from_admin = refusals(
                Some(&sample(Caller::DelegatedAdmin)),
                "222222222222",
                mode,
                stacksets,
                true,
            );
            assert_eq!(from_admin.len(), 1, "{from_admin:?}");
            assert!(
                from_admin[0].contains(&format!("mode = \"{mode}\""))
                    && from_admin[0].contains("management account 111111111111")
                    && from_admin[0].contains("set mode = \"eventbridge\""),
                "{from_admin:?}"
            );
        }
    }

    #[test]
    fn the_trail_must_be_the_organizations() {
        assert!(trail_refusal("audit", true).is_none());
        let said = trail_refusal("audit", false).unwrap();
        assert!(
            said.contains("trail audit is not an organization trail")
                && said.contains("--is-organization-trail")
        );
    }

    #[test]
    fn targets_default_to_the_root() {
        let o = sample(Caller::Management);
        assert_eq!(o.targets(&[]), ["r-ab12"]);
        assert_eq!(
            o.targets(&["ou-ab12-abcdefgh".into()]),
            ["ou-ab12-abcdefgh"]
        );
    }
}

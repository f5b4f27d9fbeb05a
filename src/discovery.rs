//! What `init` finds out before it asks: the account, its alias, and the trails visible from every region.

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use futures::future::join_all;

use crate::arn::Arn;
use crate::aws::{Clients, explain};
use crate::names::Arns;
use crate::policy::Grant;
use crate::reach::{Reach, reach};
use crate::regions::{self, regions_for};

/// A trail as `DescribeTrails` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailInfo {
    pub name: String,
    pub arn: String,
    pub home_region: String,
    pub multi_region: bool,
    pub organization: bool,
    /// `arn:…:log-group:NAME:*` when the trail already delivers to CloudWatch Logs.
    pub log_group_arn: Option<String>,
}

impl TrailInfo {
    /// The account that owns the trail (from its ARN).
    pub fn owner_account(&self) -> Option<&str> {
        Arn::parse(&self.arn).map(|arn| arn.account)
    }

    /// Whether `account_id` can change the trail once the pipeline is in the trail's home region
    /// (where `init` puts it): only another account's organization trail is out of reach.
    /// An unknown account gets the benefit of the doubt; `plan` checks again.
    pub fn reach_from(&self, account_id: Option<&str>) -> Reach {
        match account_id {
            Some(account) => reach(&self.arn, &self.home_region, account, &self.home_region),
            None => Reach::Here,
        }
    }

    /// The log group name when the trail delivers to CloudWatch Logs.
    pub fn log_group_name(&self) -> Option<&str> {
        let arn = self.log_group_arn.as_deref()?;
        let rest = arn.split(":log-group:").nth(1)?;
        Some(rest.strip_suffix(":*").unwrap_or(rest))
    }
}

/// What discovery calls, in every region of the partition: the trails, their status (an
/// organization trail's ARN names the management account), their log groups' filters, the alias.
pub fn permissions(arns: &Arns) -> Vec<Grant> {
    // The caller's place in its organization (DescribeOrganization, ListDelegatedAdministrators).
    let organization = Grant::anywhere([
        "organizations:DescribeOrganization",
        "organizations:ListDelegatedAdministrators",
    ]);
    let anywhere = Arns {
        region: "*".into(),
        ..arns.clone()
    };
    let any_account = Arns {
        account_id: "*".into(),
        ..anywhere.clone()
    };
    vec![
        Grant::anywhere(["cloudtrail:DescribeTrails", "iam:ListAccountAliases"]),
        Grant::new(
            "AnyTrail",
            ["cloudtrail:GetTrailStatus"],
            [any_account.trail("*")],
        ),
        Grant::new(
            "LogGroupsOfTrails",
            ["logs:DescribeSubscriptionFilters"],
            [anywhere.log_group("*")],
        ),
        organization,
    ]
}

/// The trails one region shows (its own and other regions' multi-region trails).
pub async fn trails_in(sdk: &SdkConfig, region: &str) -> Result<Vec<TrailInfo>> {
    let clients = Clients::in_region(sdk, region);
    let out = clients
        .cloudtrail
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("listing trails in {region}"))?;
    Ok(out
        .trail_list
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| {
            Some(TrailInfo {
                name: t.name?,
                arn: t.trail_arn?,
                home_region: t.home_region.unwrap_or_else(|| region.to_owned()),
                multi_region: t.is_multi_region_trail.unwrap_or(false),
                organization: t.is_organization_trail.unwrap_or(false),
                log_group_arn: t.cloud_watch_logs_log_group_arn,
            })
        })
        .collect())
}

/// Every trail visible from `regions`, deduplicated by ARN, with one line per region that could not be read.
pub async fn all_trails(sdk: &SdkConfig, regions: &[&str]) -> (Vec<TrailInfo>, Vec<String>) {
    let results = join_all(
        regions
            .iter()
            .map(|region| async move { (region, trails_in(sdk, region).await) }),
    )
    .await;
    let mut trails: Vec<TrailInfo> = Vec::new();
    let mut problems = Vec::new();
    for (region, result) in results {
        match result {
            Ok(found) => {
                for trail in found {
                    if !trails.iter().any(|t| t.arn == trail.arn) {
                        trails.push(trail);
                    }
                }
            }
            Err(err) => problems.push(format!("{region}: {err:#}")),
        }
    }
    trails.sort_by(|a, b| (&a.home_region, &a.name).cmp(&(&b.home_region, &b.name)));
    (trails, problems)
}

/// Finds the trail the user named (name or ARN): first where it says, then in every region.
pub async fn find_trail(
    sdk: &SdkConfig,
    start_region: &str,
    name_or_arn: &str,
) -> Result<TrailInfo> {
    let matches = |t: &TrailInfo| t.name == name_or_arn || t.arn == name_or_arn;
    let first = match Arn::parse(name_or_arn) {
        Some(arn) => arn.region.to_owned(),
        None => start_region.to_owned(),
    };
    if let Ok(trails) = trails_in(sdk, &first).await
        && let Some(found) = trails.into_iter().find(matches)
    {
        return Ok(found);
    }
    let (trails, problems) = all_trails(sdk, regions_for(start_region)).await;
    if let Some(found) = trails.into_iter().find(matches) {
        return Ok(found);
    }
    let mut message = format!(
        "no trail named {name_or_arn} in this account: check the name (`aws cloudtrail describe-trails --include-shadow-trails`) or pass --create-trail"
    );
    if !problems.is_empty() {
        message.push_str(&format!(
            " ({} region(s) could not be read: {})",
            problems.len(),
            problems.join("; ")
        ));
    }
    bail!(message)
}

/// The account alias, if it has one (the friendly name for messages).
pub async fn account_alias(iam: &aws_sdk_iam::Client) -> Option<String> {
    iam.list_account_aliases()
        .send()
        .await
        .ok()?
        .account_aliases
        .into_iter()
        .next()
}

/// A trail with what the installer shows about it beyond `DescribeTrails`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailDetails {
    pub trail: TrailInfo,
    /// From `GetTrailStatus`; `None` when it could not be read (e.g. another account's organization trail).
    pub logging: Option<bool>,
    /// Subscription filters already on the trail's log group; `None` without delivery or when unreadable.
    pub subscription_filters: Option<usize>,
}

/// Everything `init` reads before it asks; what could not be read is a line in `problems`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    pub account_id: Option<String>,
    pub alias: Option<String>,
    /// The region the credentials resolved to (`--region`, AWS_REGION, the profile), if any.
    pub region: Option<String>,
    pub trails: Vec<TrailDetails>,
    pub problems: Vec<String>,
    /// The caller's place in its organization (`None`: in none, or it could not be read): `init`
    /// asks about organization coverage only when it can be deployed from here.
    pub organization: Option<crate::organization::Caller>,
}

impl Discovery {
    /// The discovered trail with this name or ARN.
    pub fn trail(&self, name_or_arn: &str) -> Option<&TrailDetails> {
        self.trails
            .iter()
            .find(|t| t.trail.name == name_or_arn || t.trail.arn == name_or_arn)
    }

    /// Whether `t` is another account's organization trail that this caller, a delegated
    /// administrator for StackSets, may adopt read only (organization coverage in EventBridge mode;
    /// `resources::trail` reads it, never changes it).
    pub fn read_only(&self, t: &TrailDetails) -> bool {
        read_only(self.organization, t, self.account_id.as_deref())
    }
}

fn read_only(
    caller: Option<crate::organization::Caller>,
    t: &TrailDetails,
    account_id: Option<&str>,
) -> bool {
    caller == Some(crate::organization::Caller::DelegatedAdmin)
        && t.trail.organization
        && matches!(t.trail.reach_from(account_id), Reach::OtherAccount(_))
}

/// The region the SDK configuration resolved to.
pub fn current_region(sdk: &SdkConfig) -> Option<String> {
    sdk.region().map(|r| r.to_string())
}

/// Whether the trail is logging, asked in its home region (where its status is authoritative).
pub async fn trail_logging(sdk: &SdkConfig, trail: &TrailInfo) -> Result<bool> {
    let clients = Clients::in_region(sdk, &trail.home_region);
    let out = clients
        .cloudtrail
        .get_trail_status()
        .name(&trail.arn)
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("reading the status of trail {}", trail.name))?;
    Ok(out.is_logging.unwrap_or(false))
}

/// How many subscription filters `log_group` in `region` already has (CloudWatch Logs allows two).
pub async fn subscription_filter_count(
    sdk: &SdkConfig,
    region: &str,
    log_group: &str,
) -> Result<usize> {
    let clients = Clients::in_region(sdk, region);
    let out = clients
        .logs
        .describe_subscription_filters()
        .log_group_name(log_group)
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("reading the subscription filters of log group {log_group}"))?;
    Ok(out.subscription_filters.map_or(0, |f| f.len()))
}

/// Reads the account, its alias and every trail (with status and filter count) concurrently; never writes.
///
/// Nothing here fails: what could not be read becomes a line in [`Discovery::problems`] and the
/// installer goes on with the rest.
pub async fn discover(sdk: &SdkConfig, start_region: &str) -> Discovery {
    let clients = Clients::new(sdk);
    let regions = regions_for(start_region);
    let (account, alias, listed) = futures::join!(
        crate::aws::account_id(&clients.sts),
        clients.iam.list_account_aliases().send(),
        join_all(
            regions
                .iter()
                .map(|region| async move { (*region, trails_in(sdk, region).await) })
        ),
    );
    let mut problems = Vec::new();
    let account_id = match account {
        Ok(id) => Some(id),
        Err(err) => {
            problems.push(format!(
                "cannot tell which account the credentials belong to: {}",
                brief(err.chain().last().unwrap_or(err.as_ref()))
            ));
            None
        }
    };
    let alias = match alias {
        Ok(out) => out.account_aliases.into_iter().next(),
        // Without the alias the account ID names the account in alerts: worth a line, not a stop.
        Err(err) if account_id.is_some() => {
            problems.push(format!(
                "cannot read the account alias (the account ID is used instead): {}",
                brief(explain(err).as_ref())
            ));
            None
        }
        Err(_) => None,
    };

    let mut trails: Vec<TrailInfo> = Vec::new();
    let mut failed: Vec<(&str, String)> = Vec::new();
    for (region, result) in listed {
        match result {
            Ok(found) => {
                for trail in found {
                    if !trails.iter().any(|t| t.arn == trail.arn) {
                        trails.push(trail);
                    }
                }
            }
            Err(err) => {
                // The cause without our "listing trails in REGION" context, so regions can be grouped.
                let message = brief(err.chain().last().unwrap_or(err.as_ref()));
                let disabled = regions::OPT_IN.contains(&region)
                    && ["UnrecognizedClientException", "InvalidClientTokenId"]
                        .iter()
                        .any(|c| message.contains(c));
                if !disabled {
                    failed.push((region, message));
                }
            }
        }
    }
    if account_id.is_none() && trails.is_empty() && failed.len() == regions.len() {
        // Nothing answered: the account line already names the cause (no credentials, no network).
        problems[0] = format!(
            "{} — nothing could be read; answer the questions yourself",
            problems[0]
        );
    } else {
        problems.extend(group_region_problems(&failed, regions.len()));
    }
    trails.sort_by(|a, b| (&a.home_region, &a.name).cmp(&(&b.home_region, &b.name)));

    let organization = async {
        let account_id = account_id.as_deref()?;
        // Read-only, and optional: without Organizations (or the permission to read it) there is
        // simply no question about it, as for an account outside any organization.
        crate::organization::caller(&clients.organizations, account_id)
            .await
            .ok()
            .flatten()
    };
    let details = join_all(trails.into_iter().map(|trail| {
        let account_id = account_id.clone();
        async move {
            let mut problems = Vec::new();
            if let Reach::OtherAccount(owner) = trail.reach_from(account_id.as_deref()) {
                let problem = format!(
                    "trail {} is an organization trail owned by account {owner}, so it cannot be used from here: {}",
                    trail.name,
                    crate::reach::only_from_owner(&owner),
                );
                return (TrailDetails { trail, logging: None, subscription_filters: None }, vec![problem]);
            }
            let filters = async {
                match trail.log_group_name() {
                    Some(group) => Some(subscription_filter_count(sdk, &trail.home_region, group).await),
                    None => None,
                }
            };
            let (logging, filters) = futures::join!(trail_logging(sdk, &trail), filters);
            let logging = logging.map_err(|err| problems.push(brief(err.as_ref()))).ok();
            let subscription_filters = match filters {
                Some(Ok(n)) => Some(n),
                Some(Err(err)) => {
                    problems.push(brief(err.as_ref()));
                    None
                }
                None => None,
            };
            (TrailDetails { trail, logging, subscription_filters }, problems)
        }
    }));
    let (details, organization) = futures::join!(details, organization);
    let mut trails = Vec::with_capacity(details.len());
    for (trail, trail_problems) in details {
        // Not a problem for a delegated administrator, who may adopt it read only (the installer
        // says so when it is chosen).
        if !read_only(organization, &trail, account_id.as_deref()) {
            problems.extend(trail_problems);
        }
        trails.push(trail);
    }
    Discovery {
        account_id,
        alias,
        region: current_region(sdk),
        trails,
        problems,
        organization,
    }
}

/// An error and its causes as one line, without the multi-line detail some causes carry
/// (the credential chain lists every provider it tried on lines of their own).
fn brief(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = first_line(&e.to_string());
        if !parts.iter().any(|p: &String| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// The first line, cut before a parenthesis that only closes on a later line.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim_end();
    let mut open = Vec::new();
    for (i, c) in line.char_indices() {
        match c {
            '(' => open.push(i),
            ')' => {
                open.pop();
            }
            _ => {}
        }
    }
    match open.first() {
        Some(&i) => line[..i].trim_end().to_owned(),
        None => line.to_owned(),
    }
}

/// One line per distinct error: "no credentials" in 33 regions is one problem, not 33.
fn group_region_problems(failed: &[(&str, String)], total: usize) -> Vec<String> {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for (region, message) in failed {
        // The same cause names each region's endpoint differently; compare without the region.
        let key = message.replace(region, "REGION");
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, regions)) => regions.push(region),
            None => groups.push((key, vec![region])),
        }
    }
    groups
        .into_iter()
        .map(|(key, regions)| {
            let which = if regions.len() == total {
                "any region".to_owned()
            } else if regions.len() == 1 {
                regions[0].to_owned()
            } else {
                format!("{} regions ({})", regions.len(), regions.join(", "))
            };
            let message = if regions.len() == 1 {
                key.replace("REGION", regions[0])
            } else {
                key
            };
            format!("cannot list trails in {which}: {message}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_line_error_becomes_one_line() {
        let err = anyhow::anyhow!(
            "no usable AWS credentials: run `aws configure` (dispatch failure: no credentials found in chain. Attempted:\n  Environment: not set)"
        )
        .context("finding the AWS account");
        assert_eq!(
            brief(err.as_ref()),
            "finding the AWS account: no usable AWS credentials: run `aws configure`"
        );
        assert_eq!(
            first_line("AccessDenied: no (really) access"),
            "AccessDenied: no (really) access"
        );
    }

    #[test]
    fn the_same_error_in_many_regions_is_one_line() {
        let failed = vec![
            (
                "us-east-1",
                "no credentials at https://cloudtrail.us-east-1.amazonaws.com".to_owned(),
            ),
            (
                "eu-west-1",
                "no credentials at https://cloudtrail.eu-west-1.amazonaws.com".to_owned(),
            ),
            (
                "ap-south-1",
                "AccessDeniedException: denied by an SCP".to_owned(),
            ),
        ];
        let lines = group_region_problems(&failed, 33);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("cannot list trails in 2 regions (us-east-1, eu-west-1)"),
            "{lines:?}"
        );
        assert_eq!(
            lines[1],
            "cannot list trails in ap-south-1: AccessDeniedException: denied by an SCP"
        );
    }

    #[test]
    fn only_other_accounts_trails_are_out_of_reach() {
        let trail = |organization, arn: &str| TrailInfo {
            name: "t".into(),
            arn: arn.into(),
            home_region: "us-east-1".into(),
            multi_region: true,
            organization,
            log_group_arn: None,
        };
        let mine = "arn:aws:cloudtrail:us-east-1:111111111111:trail/t";
        let theirs = "arn:aws:cloudtrail:us-east-1:222222222222:trail/t";
        assert_eq!(
            trail(false, mine).reach_from(Some("111111111111")),
            Reach::Here
        );
        assert_eq!(
            trail(true, mine).reach_from(Some("111111111111")),
            Reach::Here
        );
        assert_eq!(
            trail(true, theirs).reach_from(Some("111111111111")),
            Reach::OtherAccount("222222222222".into())
        );
        assert_eq!(trail(true, theirs).reach_from(None), Reach::Here);
    }
}

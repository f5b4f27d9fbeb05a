//! What `init` finds out before it asks: the account, its alias, and the trails visible from every region.

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use futures::future::join_all;

use crate::aws::{Clients, explain};
use crate::names::partition_of;

/// The regions to look in, per partition (opt-in regions that are not enabled answer with an error we skip).
pub fn regions_for(region: &str) -> &'static [&'static str] {
    match partition_of(region) {
        "aws-cn" => &["cn-north-1", "cn-northwest-1"],
        "aws-us-gov" => &["us-gov-west-1", "us-gov-east-1"],
        _ => &[
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
        ],
    }
}

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
        self.arn.split(':').nth(4)
    }

    /// The log group name when the trail delivers to CloudWatch Logs.
    pub fn log_group_name(&self) -> Option<&str> {
        let arn = self.log_group_arn.as_deref()?;
        let rest = arn.split(":log-group:").nth(1)?;
        Some(rest.strip_suffix(":*").unwrap_or(rest))
    }
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
    let results = join_all(regions.iter().map(|region| async move { (region, trails_in(sdk, region).await) })).await;
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
pub async fn find_trail(sdk: &SdkConfig, start_region: &str, name_or_arn: &str) -> Result<TrailInfo> {
    let matches = |t: &TrailInfo| t.name == name_or_arn || t.arn == name_or_arn;
    let first = match name_or_arn.strip_prefix("arn:").and_then(|rest| rest.split(':').nth(2)) {
        Some(region) => region.to_owned(),
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
        message.push_str(&format!(" ({} region(s) could not be read: {})", problems.len(), problems.join("; ")));
    }
    bail!(message)
}

/// The account alias, if it has one (the friendly name for messages).
pub async fn account_alias(iam: &aws_sdk_iam::Client) -> Option<String> {
    iam.list_account_aliases().send().await.ok()?.account_aliases.into_iter().next()
}

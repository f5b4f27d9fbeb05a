//! The regions the account has enabled (`account:ListRegions`): read, never changed; they say
//! where EventBridge mode puts its forwarding rules, and which regions it cannot cover.

use std::convert::Infallible;

use anyhow::{Result, bail};
use aws_sdk_account::types::RegionOptStatus;

use super::rule;
use crate::aws::{SdkResultExt, error_code};
use crate::model::{Ctx, Facts, Regions, Target};
use crate::part::Part;
use crate::plan::Plan;
use crate::policy::Grant;
use crate::regions::regions_for;

/// Names the enabled regions instead of asking `account:ListRegions`: for credentials that may not
/// call it, and for emulators that do not implement it (comma-separated, e.g. `us-east-1,eu-west-1`).
pub const ENV_ENABLED_REGIONS: &str = "LOGIN_ALERT_ENABLED_REGIONS";

/// The account's regions, taught to the forwarding rules. Read in EventBridge mode, and in the
/// other mode only while login-alert's home rule still exists (a switch back, or `destroy`, must
/// find the rules it left in every region).
pub struct EnabledRegions;

impl Part for EnabledRegions {
    const NAME: &'static str = "the account's enabled regions";
    type Current = Option<Regions>;
    type Op = Infallible;
    const TEACHES: bool = true;

    /// ListRegions in both modes (a switch back must find the rules in every region), and the
    /// home rule's read that tells, in CloudWatch Logs mode, whether rules remain.
    fn permissions(&self, t: &Target) -> Vec<Grant> {
        vec![
            Grant::new("Account", ["account:ListRegions"], [t.arns.account()]),
            rule::read_permissions(t, t.region(), &t.names.events_rule()),
        ]
    }

    async fn read(&self, ctx: &Ctx, _: &Facts) -> Result<Option<Regions>> {
        let t = &ctx.target;
        if !t.route.uses_eventbridge()
            && rule::read(ctx, t.region(), &t.names.events_rule())
                .await?
                .is_none()
        {
            return Ok(None);
        }
        let enabled = match std::env::var(ENV_ENABLED_REGIONS) {
            Ok(list) => from_list(&list, t.region())?,
            Err(_) => list_regions(ctx).await?,
        };
        Ok(Some(regions(enabled, t.region())))
    }

    fn learn(&self, current: &Option<Regions>, _: &Target, facts: &mut Facts) {
        facts.regions = current.clone();
    }

    fn plan_apply(&self, _: &Option<Regions>, _: &Target, _: &Facts, _: &mut Plan<Infallible>) {}

    fn plan_destroy(&self, _: &Option<Regions>, _: &Target, _: &Facts, _: &mut Plan<Infallible>) {}
}

/// The enabled regions (the home region always among them), and the partition's others as skipped.
fn regions(mut enabled: Vec<String>, home: &str) -> Regions {
    if !enabled.iter().any(|r| r == home) {
        enabled.push(home.to_owned());
    }
    enabled.sort();
    enabled.dedup();
    let skipped = regions_for(home)
        .iter()
        .filter(|r| !enabled.iter().any(|e| e == *r))
        .map(|r| (*r).to_owned())
        .collect();
    Regions { enabled, skipped }
}

fn from_list(list: &str, home: &str) -> Result<Vec<String>> {
    let known = regions_for(home);
    list.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|region| {
            if known.contains(&region) {
                Ok(region.to_owned())
            } else {
                bail!(
                    "{ENV_ENABLED_REGIONS} names `{region}`, which is not a region of the partition of {home}: \
                     list region codes such as us-east-1,eu-west-1"
                )
            }
        })
        .collect()
}

/// Every region with status ENABLED or ENABLED_BY_DEFAULT, every page.
pub async fn list_regions(ctx: &Ctx) -> Result<Vec<String>> {
    let mut pages = ctx
        .clients
        .account
        .list_regions()
        .region_opt_status_contains(RegionOptStatus::Enabled)
        .region_opt_status_contains(RegionOptStatus::EnabledByDefault)
        .into_paginator()
        .send();
    let mut enabled = Vec::new();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(err)
                if matches!(
                    error_code(&err),
                    Some("AccessDeniedException" | "AccessDenied")
                ) =>
            {
                bail!(
                    "cannot list the account's enabled regions (account:ListRegions was denied): allow it to these \
                     credentials, or name the enabled regions in {ENV_ENABLED_REGIONS} (e.g. us-east-1,eu-west-1)"
                );
            }
            Err(err) => {
                return Err(err)
                    .doing(|| "listing the account's enabled regions (account:ListRegions)");
            }
        };
        enabled.extend(
            page.regions
                .unwrap_or_default()
                .into_iter()
                .filter(|r| {
                    matches!(
                        r.region_opt_status,
                        Some(RegionOptStatus::Enabled | RegionOptStatus::EnabledByDefault)
                    )
                })
                .filter_map(|r| r.region_name),
        );
    }
    Ok(enabled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_home_region_is_always_covered_and_the_rest_of_the_partition_is_skipped() {
        let r = regions(vec!["us-east-1".into(), "us-east-1".into()], "eu-west-1");
        assert_eq!(r.enabled, ["eu-west-1", "us-east-1"]);
        assert!(r.skipped.contains(&"ap-east-1".to_owned()));
        assert!(!r.skipped.contains(&"eu-west-1".to_owned()));
    }

    #[test]
    fn a_listed_region_must_exist() {
        assert_eq!(
            from_list(" us-east-1, eu-west-1 ,", "eu-west-1").unwrap(),
            ["us-east-1", "eu-west-1"]
        );
        let err = from_list("us-east-99", "eu-west-1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`us-east-99`"), "{err}");
    }
}

//! A trail as CloudTrail reports it, found by name or ARN from the pipeline's region, and whether
//! login-alert can change it from there.

use std::collections::HashMap;

use anyhow::Result;
use serde::Serialize;

use crate::arn::Arn;
use crate::aws::SdkResultExt;
use crate::model::{Ctx, Target, TrailChoice};
use crate::organization::{Caller, Organization};
use crate::plan::Plan;
use crate::reach::{Reach, reach};
use crate::tags;

const NOT_FOUND: &[&str] = &["TrailNotFoundException"];

/// A trail as `DescribeTrails` and friends report it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Found {
    pub name: String,
    pub arn: String,
    pub home_region: String,
    pub multi_region: bool,
    /// Multi-region trails must include global service events (where root and IAM sign-ins land).
    pub global_events: bool,
    /// As CloudTrail reports it (with the trailing `:*`); `None` = no CloudWatch Logs delivery.
    pub log_group_arn: Option<String>,
    pub role_arn: Option<String>,
    pub logging: bool,
    pub bucket: Option<String>,
    pub organization: bool,
    pub custom_event_selectors: bool,
    /// Read only for a trail this account can change from the configured region (empty otherwise).
    pub tags: HashMap<String, String>,
}

/// The trail as found (or not found).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Current {
    /// What was looked for: the configured name or ARN, or the name of login-alert's own trail.
    pub wanted: String,
    pub trail: Option<Found>,
}
/// Whether login-alert can change the trail from where it runs.
pub fn reach_of(found: &Found, t: &Target) -> Reach {
    reach(&found.arn, &found.home_region, t.account_id(), t.region())
}

/// The management account that owns the adopted trail when organization coverage runs from a
/// delegated administrator for StackSets: the organization trail is then adopted read only (its
/// status is read, nothing of it is ever changed; CloudTrail shows an organization trail to every
/// member account and answers DescribeTrails and GetTrailStatus there). `None` in every other case,
/// where [`reachable_or_block`] decides.
pub fn read_only_owner(found: &Found, t: &Target, org: Option<&Organization>) -> Option<String> {
    let Reach::OtherAccount(owner) = reach_of(found, t) else {
        return None;
    };
    let adopted = matches!(t.trail, TrailChoice::Adopt(_));
    (adopted
        && may_read_only(found, t)
        && org.is_some_and(|o| o.caller == Caller::DelegatedAdmin && o.management_account == owner))
    .then_some(owner)
}

/// What can be known before the organization is read: an organization trail of another account,
/// adopted with organization coverage (whose status is then worth reading).
fn may_read_only(found: &Found, t: &Target) -> bool {
    t.organization_wide() && found.organization
}

fn matches(wanted: &str, name: Option<&str>, arn: Option<&str>) -> bool {
    if wanted.starts_with("arn:") {
        arn == Some(wanted)
    } else {
        name == Some(wanted)
    }
}

/// The name or ARN of the trail the config chooses (login-alert's own with `create = true`).
pub fn wanted(t: &Target) -> String {
    match &t.trail {
        TrailChoice::Adopt(name) => name.clone(),
        TrailChoice::Create => t.names.trail(),
    }
}

/// The trail the config chooses, wherever it lives.
pub async fn read(ctx: &Ctx) -> Result<Current> {
    read_wanted(ctx, &wanted(&ctx.target), Search::Everywhere).await
}

/// Where a trail named by name is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// Its home region may be another one (to say which region to set).
    Everywhere,
    /// Only the pipeline's region (login-alert's own trail, which it creates nowhere else).
    Here,
}

/// The trail named `wanted` (a name or an ARN), with its status and tags when it can be changed from here.
pub async fn read_wanted(ctx: &Ctx, wanted: &str, search: Search) -> Result<Current> {
    let wanted = wanted.to_owned();
    let mut trail = describe(ctx, &wanted).await?;
    if trail.is_none() && !wanted.starts_with("arn:") && search == Search::Everywhere {
        // By name, DescribeTrails sees only this region's trails; ListTrails finds the trail's ARN
        // in any region, and DescribeTrails by ARN then describes it (to say which region to use).
        if let Some(arn) = list_arn(ctx, &wanted).await? {
            trail = describe(ctx, &arn).await?;
        }
    }
    let Some(mut found) = trail else {
        return Ok(Current {
            wanted,
            trail: None,
        });
    };
    let here = reach_of(&found, &ctx.target) == Reach::Here;
    // Another account's organization trail adopted with organization coverage: its status is
    // readable from here, its tags are not login-alert's to read. Any other trail from elsewhere: neither.
    if !here && !may_read_only(&found, &ctx.target) {
        return Ok(Current {
            wanted,
            trail: Some(found),
        });
    }
    let ct = &ctx.clients.cloudtrail;
    let tag_list = async {
        if here {
            Some(ct.list_tags().resource_id_list(&found.arn).send().await)
        } else {
            None
        }
    };
    let (status, tag_list) = tokio::join!(ct.get_trail_status().name(&found.arn).send(), tag_list);
    // Deleted between the calls.
    let Some(status) = status.found_doing(NOT_FOUND, || {
        format!("reading the status of trail {wanted}")
    })?
    else {
        return Ok(Current {
            wanted,
            trail: None,
        });
    };
    found.logging = status.is_logging.unwrap_or(false);
    if let Some(tag_list) = tag_list {
        let Some(tag_list) =
            tag_list.found_doing(NOT_FOUND, || format!("reading the tags of trail {wanted}"))?
        else {
            return Ok(Current {
                wanted,
                trail: None,
            });
        };
        found.tags = tags::to_map(
            tag_list
                .resource_tag_list
                .unwrap_or_default()
                .into_iter()
                .filter(|r| r.resource_id.as_deref() == Some(found.arn.as_str()))
                .flat_map(|r| r.tags_list.unwrap_or_default())
                .map(|tag| (tag.key, tag.value.unwrap_or_default())),
        );
    }
    Ok(Current {
        wanted,
        trail: Some(found),
    })
}

async fn describe(ctx: &Ctx, name_or_arn: &str) -> Result<Option<Found>> {
    let Some(out) = ctx
        .clients
        .cloudtrail
        .describe_trails()
        .trail_name_list(name_or_arn)
        .include_shadow_trails(true)
        .send()
        .await
        .found_doing(NOT_FOUND, || format!("reading trail {name_or_arn}"))?
    else {
        return Ok(None);
    };
    // AWS returns only the named trail, moto every trail: match here, preferring a trail homed in
    // this region (names are unique per region only).
    let mut candidates: Vec<_> = out
        .trail_list
        .unwrap_or_default()
        .into_iter()
        .filter(|tr| matches(name_or_arn, tr.name.as_deref(), tr.trail_arn.as_deref()))
        .collect();
    candidates.sort_by_key(|tr| tr.home_region.as_deref() != Some(ctx.clients.region.as_str()));
    let Some(tr) = candidates.into_iter().next() else {
        return Ok(None);
    };
    let (Some(name), Some(arn)) = (tr.name, tr.trail_arn) else {
        return Ok(None);
    };
    let home_region = tr
        .home_region
        .or_else(|| Arn::parse(&arn).map(|a| a.region.to_owned()))
        .unwrap_or_default();
    // Removing delivery leaves empty strings on some implementations: treat them as "none".
    let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
    Ok(Some(Found {
        name,
        arn,
        home_region,
        multi_region: tr.is_multi_region_trail.unwrap_or(false),
        global_events: tr.include_global_service_events.unwrap_or(false),
        log_group_arn: non_empty(tr.cloud_watch_logs_log_group_arn),
        role_arn: non_empty(tr.cloud_watch_logs_role_arn),
        logging: false,
        bucket: non_empty(tr.s3_bucket_name),
        organization: tr.is_organization_trail.unwrap_or(false),
        custom_event_selectors: tr.has_custom_event_selectors.unwrap_or(false),
        tags: HashMap::new(),
    }))
}

async fn list_arn(ctx: &Ctx, name: &str) -> Result<Option<String>> {
    let mut next: Option<String> = None;
    loop {
        let out = ctx
            .clients
            .cloudtrail
            .list_trails()
            .set_next_token(next.take())
            .send()
            .await
            .doing(|| "listing the account's trails")?;
        if let Some(info) = out
            .trails
            .unwrap_or_default()
            .into_iter()
            .find(|i| i.name.as_deref() == Some(name))
        {
            return Ok(info.trail_arn);
        }
        match out.next_token {
            Some(token) if !token.is_empty() => next = Some(token),
            _ => return Ok(None),
        }
    }
}
/// Blocks apply when the trail cannot be changed from here; `true` when it can.
pub fn reachable_or_block<O>(found: &Found, wanted: &str, t: &Target, plan: &mut Plan<O>) -> bool {
    match reach_of(found, t) {
        Reach::Here => true,
        Reach::OtherAccount(owner) => {
            plan.block(format!(
                "trail {wanted} is an organization trail of the management account {owner}, not of this account ({}): {}. \
                 Run login-alert in account {owner}, or set trail.create = true to give this account a trail of its own",
                t.account_id(),
                crate::reach::only_from_owner(&owner)
            ));
            false
        }
        Reach::OtherRegion(home) => {
            plan.block(format!(
                "trail {wanted} has its home region in {home}, but the config says region = \"{}\": set region = \"{home}\" in the config \
                 (CloudTrail changes a trail only from its home region, and its log group must be there too)",
                t.region()
            ));
            false
        }
    }
}

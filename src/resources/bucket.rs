//! The S3 bucket of the trail login-alert creates: private, tagged, with the policy CloudTrail requires; kept while it holds logs.

use anyhow::{Context, Result};
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, PublicAccessBlockConfiguration, Tag,
    Tagging,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::policies::{same_policy, trail_bucket_for};
use crate::aws::{SdkResultExt, error_code, explain};
use crate::model::{Ctx, Facts, Target, TrailChoice};
use crate::names::MANAGED_BY;
use crate::part::Part;
use crate::plan::lifecycle::Owned;
use crate::plan::{Attr, Change, Plan};
use crate::policy::Grant;
use crate::tags;

const KIND: &str = "S3 bucket";
/// One `ListObjectsV2` page: enough to say "not empty" and roughly how full.
const COUNT_PAGE: i32 = 1000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Current {
    pub name: String,
    /// `false`: the name is taken by another account (bucket names are global).
    pub owned: bool,
    pub managed: bool,
    pub policy: Option<Value>,
    pub public_access_blocked: bool,
    /// Objects counted, up to one page ([`COUNT_PAGE`]).
    /// In a fingerprint only "empty or not": the trail adds log files all the time, and only
    /// emptiness changes a plan.
    #[serde(rename = "holds_objects", serialize_with = "nonzero")]
    pub objects: usize,
    /// More objects than were counted.
    #[serde(skip)]
    pub more_objects: bool,
    /// Untagged, yet recognisably login-alert's: created by an `apply` killed between CreateBucket
    /// and PutBucketTagging. Its exact name, in this account, empty or holding only this
    /// account's trail logs (`AWSLogs/<account>/…`, all on one page).
    pub adoptable: bool,
}

/// Untagged but left by an interrupted apply of login-alert's counts as ours.
impl Owned for Current {
    fn ours(&self) -> bool {
        self.managed || self.adoptable
    }
}

fn nonzero<S: serde::Serializer>(count: &usize, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(*count > 0)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub name: String,
    pub region: String,
    pub policy: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    Create {
        name: String,
        region: String,
        policy: Value,
    },
    Update {
        name: String,
        /// Tags it managed-by=login-alert first (a bucket adopted after an interrupted apply).
        #[serde(default)]
        tag: bool,
        policy: Option<Value>,
        block_public_access: bool,
    },
    /// Only when empty: a bucket holding audit logs is never emptied by login-alert.
    Delete { name: String },
}

fn status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// The bucket of login-alert's own trail: wanted with `trail.create = true`; read whatever the trail
/// choice, so a switch to adopting a trail removes it (kept, with a notice, while it holds logs).
pub struct OwnBucket;

impl Part for OwnBucket {
    const NAME: &'static str = "login-alert's S3 bucket";
    type Current = Option<Current>;
    type Op = Op;

    /// Whatever the trail choice: a switch to adopting a trail removes the bucket of login-alert's own.
    fn permissions(&self, t: &Target) -> Vec<Grant> {
        let bucket = t.arns.bucket(&t.names.bucket(t.account_id(), t.region()));
        vec![Grant::new(
            "OwnBucket",
            [
                // HeadBucket and ListObjectsV2 are authorized as s3:ListBucket.
                "s3:ListBucket",
                "s3:GetBucketTagging",
                "s3:GetBucketPolicy",
                "s3:GetBucketPublicAccessBlock",
                "s3:CreateBucket",
                "s3:PutBucketTagging",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketPolicy",
                "s3:DeleteBucket",
            ],
            [bucket],
        )]
    }

    async fn read(&self, ctx: &Ctx, _: &Facts) -> Result<Option<Current>> {
        let t = &ctx.target;
        read(ctx, &t.names.bucket(t.account_id(), t.region())).await
    }

    fn plan_apply(
        &self,
        current: &Option<Current>,
        t: &Target,
        facts: &Facts,
        plan: &mut Plan<Op>,
    ) {
        match t.trail {
            TrailChoice::Create => {
                // An organization trail of login-alert's writes the member accounts' logs too.
                let organization = facts
                    .organization
                    .as_ref()
                    .filter(|_| t.organization_wide())
                    .map(|o| o.id.as_str());
                plan_apply(current.as_ref(), &desired_for(t, organization), plan)
            }
            // Left from an earlier `create = true`; a bucket of someone else's with this name is none of ours.
            TrailChoice::Adopt(_) => {
                plan_destroy(current.as_ref().filter(|c| c.managed || c.adoptable), plan)
            }
        }
    }

    fn plan_destroy(&self, current: &Option<Current>, _: &Target, _: &Facts, plan: &mut Plan<Op>) {
        plan_destroy(current.as_ref(), plan);
    }
}

/// The bucket, then its tags, policy, public access block and a page of its objects at the same time.
pub async fn read(ctx: &Ctx, name: &str) -> Result<Option<Current>> {
    let s3 = &ctx.clients.s3;
    let account = ctx.target.account_id();
    // A bucket of another account answers 403 to this, whatever its policy lets us do.
    match s3
        .head_bucket()
        .bucket(name)
        .expected_bucket_owner(account)
        .send()
        .await
    {
        Ok(_) => {}
        Err(err) if status(&err) == Some(404) => return Ok(None),
        Err(err) if status(&err) == Some(403) => {
            return Ok(Some(Current {
                name: name.to_owned(),
                owned: false,
                managed: false,
                policy: None,
                public_access_blocked: false,
                objects: 0,
                more_objects: false,
                adoptable: false,
            }));
        }
        Err(err) => return Err(explain(err)).with_context(|| format!("reading S3 bucket {name}")),
    }
    let (tags, policy, public_access, page) = tokio::join!(
        s3.get_bucket_tagging().bucket(name).send(),
        s3.get_bucket_policy().bucket(name).send(),
        s3.get_public_access_block().bucket(name).send(),
        s3.list_objects_v2()
            .bucket(name)
            .max_keys(COUNT_PAGE)
            .send(),
    );
    let tags = tags
        .found_doing(&["NoSuchTagSet"], || {
            format!("reading the tags of S3 bucket {name}")
        })?
        .map(|out| out.tag_set)
        .unwrap_or_default();
    let managed = tags::ours_among(tags, |t| (t.key, t.value));
    let policy =
        match policy
            .found_doing(&["NoSuchBucketPolicy"], || {
                format!("reading the policy of S3 bucket {name}")
            })?
            .and_then(|out| out.policy)
        {
            Some(text) => Some(serde_json::from_str(&text).with_context(|| {
                format!("S3 returned a policy for bucket {name} that is not JSON")
            })?),
            None => None,
        };
    let public_access_blocked = public_access
        .found_doing(&["NoSuchPublicAccessBlockConfiguration"], || {
            format!("reading the public access block of S3 bucket {name}")
        })?
        .and_then(|out| out.public_access_block_configuration)
        .is_some_and(|c| {
            c.block_public_acls == Some(true)
                && c.ignore_public_acls == Some(true)
                && c.block_public_policy == Some(true)
                && c.restrict_public_buckets == Some(true)
        });
    let page = page.doing(|| format!("counting the objects in S3 bucket {name}"))?;
    let objects = page.contents.as_ref().map_or(0, Vec::len);
    let more_objects = page.is_truncated == Some(true);
    let logs = format!("AWSLogs/{account}/");
    let adoptable = !managed
        && !more_objects
        && page
            .contents
            .unwrap_or_default()
            .iter()
            .all(|o| o.key().is_some_and(|k| k.starts_with(&logs)));
    Ok(Some(Current {
        name: name.to_owned(),
        owned: true,
        managed,
        policy,
        public_access_blocked,
        objects,
        more_objects,
        adoptable,
    }))
}

pub fn desired(t: &Target) -> Desired {
    desired_for(t, None)
}

/// The bucket for login-alert's trail; for an organization trail, of organization `organization`.
pub fn desired_for(t: &Target, organization: Option<&str>) -> Desired {
    Desired {
        name: t.names.bucket(t.account_id(), t.region()),
        region: t.region().to_owned(),
        policy: trail_bucket_for(t, organization),
    }
}

/// The plan's one-line summary of the bucket policy.
fn summary(policy: &Value) -> String {
    let statements = match &policy["Statement"] {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    statements
        .iter()
        .map(|s| {
            let principal = s["Principal"]["Service"].as_str().unwrap_or("(custom)");
            let action = s["Action"].as_str().unwrap_or("(several)");
            let resource = s["Resource"].as_str().unwrap_or("(several)");
            format!("{principal}: {action} on {resource}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn plan_apply(current: Option<&Current>, desired: &Desired, plan: &mut Plan<impl From<Op>>) {
    if let Some(current) = current.filter(|c| !c.owned) {
        return plan.block(format!(
            "{KIND} {} already exists in another AWS account (bucket names are global): choose another name_prefix",
            current.name
        ));
    }
    if let Some(current) = current.filter(|c| !c.managed && c.adoptable) {
        plan.notice(format!(
            "adopting the untagged {KIND} {} left by an interrupted apply (login-alert's name, this account, {}): \
             it is tagged managed-by=login-alert and set up as configured",
            current.name,
            if current.objects == 0 { "empty" } else { "holding only this trail's logs" }
        ));
    }
    plan.converge(
        KIND,
        &desired.name,
        current,
        || {
            Change::create(
                KIND,
                &desired.name,
                Op::Create {
                    name: desired.name.clone(),
                    region: desired.region.clone(),
                    policy: desired.policy.clone(),
                },
            )
            .attr(Attr::set("region", desired.region.clone()))
            .attr(Attr::set("block_public_access", true))
            .attr(Attr::set("policy", summary(&desired.policy)))
            .note("holds the trail's log files; destroy keeps it while it holds any")
        },
        |current| plan_update(current, desired),
    );
}

/// What differs on our bucket (or one left untagged by an interrupted apply): the tag, the policy,
/// the public access block.
fn plan_update(current: &Current, desired: &Desired) -> Option<Change<Op>> {
    let tag = !current.managed;
    let policy = match &current.policy {
        Some(p) if same_policy(p, &desired.policy) => None,
        _ => Some(desired.policy.clone()),
    };
    let block = !current.public_access_blocked;
    let mut attrs = Vec::new();
    if tag {
        attrs.push(Attr::set(MANAGED_BY.0, MANAGED_BY.1));
    }
    if policy.is_some() {
        let before = current.policy.as_ref().map(|p| Value::from(summary(p)));
        attrs.push(Attr::new(
            "policy",
            before,
            Some(summary(&desired.policy).into()),
        ));
    }
    if block {
        attrs.push(Attr::change("block_public_access", false, true));
    }
    (tag || policy.is_some() || block).then(|| {
        Change::update(
            KIND,
            &desired.name,
            Op::Update {
                name: desired.name.clone(),
                tag,
                policy,
                block_public_access: block,
            },
        )
        .attrs(attrs)
    })
}

pub fn plan_destroy(current: Option<&Current>, plan: &mut Plan<impl From<Op>>) {
    let Some(current) = current else { return };
    if !current.owned {
        return;
    }
    if current.ours() && current.objects > 0 {
        let count = if current.more_objects {
            format!("more than {} objects", current.objects)
        } else if current.objects == 1 {
            "1 object".to_owned()
        } else {
            format!("{} objects", current.objects)
        };
        plan.notice(format!(
            "{KIND} {name} holds {count} (the trail's audit logs): kept on purpose. Once you no longer need the logs, \
             delete it by hand: aws s3 rb s3://{name} --force",
            name = current.name
        ));
        return;
    }
    let change = Change::delete(
        KIND,
        &current.name,
        Op::Delete {
            name: current.name.clone(),
        },
    );
    let change = if current.managed {
        change
    } else {
        change.note("untagged and empty: left by an interrupted apply")
    };
    plan.remove_ours(Some(current), |_| change);
}

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    match op {
        Op::Create {
            name,
            region,
            policy,
        } => {
            create(ctx, name, region).await?;
            // Tag first. A run killed before this leaves an untagged bucket that the next plan
            // recognises and adopts (see `Current::adoptable`).
            tag(ctx, name).await?;
            block_public_access(ctx, name).await?;
            put_policy(ctx, name, policy).await
        }
        Op::Update {
            name,
            tag: adopt,
            policy,
            block_public_access: block,
        } => {
            if *adopt {
                tag(ctx, name).await?;
            }
            if *block {
                block_public_access(ctx, name).await?;
            }
            if let Some(policy) = policy {
                put_policy(ctx, name, policy).await?;
            }
            Ok(())
        }
        Op::Delete { name } => match ctx.clients.s3.delete_bucket().bucket(name).send().await {
            Ok(_) => Ok(()),
            Err(err) if error_code(&err) == Some("NoSuchBucket") => Ok(()),
            // CloudTrail may deliver a last file after the plan was made: keep it, as for any bucket with logs.
            Err(err) if error_code(&err) == Some("BucketNotEmpty") => {
                ctx.printer.warn(format!(
                    "{KIND} {name} received log files after the plan was made: kept on purpose (audit logs); \
                     delete it by hand with: aws s3 rb s3://{name} --force"
                ));
                Ok(())
            }
            Err(err) => Err(explain(err)).with_context(|| format!("deleting S3 bucket {name}")),
        },
    }
}

async fn create(ctx: &Ctx, name: &str, region: &str) -> Result<()> {
    let mut request = ctx.clients.s3.create_bucket().bucket(name);
    // us-east-1 is the default location and refuses to be named as a constraint.
    if region != "us-east-1" {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match request.send().await {
        Ok(_) => Ok(()),
        // Left by an interrupted run: converge it below.
        Err(err) if error_code(&err) == Some("BucketAlreadyOwnedByYou") => Ok(()),
        Err(err) if error_code(&err) == Some("BucketAlreadyExists") => Err(anyhow::anyhow!(
            "S3 bucket name {name} is taken by another AWS account (bucket names are global): choose another name_prefix"
        )),
        Err(err) => {
            Err(explain(err)).with_context(|| format!("creating S3 bucket {name} in {region}"))
        }
    }
}

async fn tag(ctx: &Ctx, name: &str) -> Result<()> {
    let tagging = Tagging::builder()
        .tag_set(
            Tag::builder()
                .key(MANAGED_BY.0)
                .value(MANAGED_BY.1)
                .build()?,
        )
        .build()?;
    ctx.clients
        .s3
        .put_bucket_tagging()
        .bucket(name)
        .tagging(tagging)
        .send()
        .await
        .doing(|| format!("tagging S3 bucket {name}"))?;
    Ok(())
}

async fn block_public_access(ctx: &Ctx, name: &str) -> Result<()> {
    let config = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    ctx.clients
        .s3
        .put_public_access_block()
        .bucket(name)
        .public_access_block_configuration(config)
        .send()
        .await
        .doing(|| format!("blocking public access to S3 bucket {name}"))?;
    Ok(())
}

async fn put_policy(ctx: &Ctx, name: &str, policy: &Value) -> Result<()> {
    ctx.clients
        .s3
        .put_bucket_policy()
        .bucket(name)
        .policy(policy.to_string())
        .send()
        .await
        .doing(|| {
            format!(
                "writing the policy of S3 bucket {name} (CloudTrail needs it to deliver log files)"
            )
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, TrailConfig};
    use crate::plan::{Action, Mode};
    use crate::testing::{self, REGION, first, notifying, planned};

    fn target() -> Target {
        let config = Config {
            trail: TrailConfig {
                name: None,
                create: true,
            },
            ..notifying(REGION, &["a@example.com"], false)
        };
        testing::target(&config)
    }

    fn current(objects: usize) -> Current {
        let d = desired(&target());
        Current {
            name: d.name,
            owned: true,
            managed: true,
            policy: Some(d.policy),
            public_access_blocked: true,
            objects,
            more_objects: false,
            adoptable: false,
        }
    }

    /// What a run killed right after CreateBucket leaves: untagged, private-less, policy-less.
    fn left_by_interrupted_apply(objects: usize) -> Current {
        Current {
            managed: false,
            policy: None,
            public_access_blocked: false,
            adoptable: true,
            ..current(objects)
        }
    }

    fn apply_plan(current: Option<&Current>) -> Plan<Op> {
        planned(Mode::Apply, |plan| {
            plan_apply(current, &desired(&target()), plan)
        })
    }

    fn destroy_plan(current: Option<&Current>) -> Plan<Op> {
        planned(Mode::Destroy, |plan| plan_destroy(current, plan))
    }

    #[test]
    fn the_policy_lets_only_cloudtrail_write_for_our_trail() {
        let d = desired(&target());
        assert_eq!(d.name, "login-alert-trail-123456789012-eu-west-1");
        let s = &d.policy["Statement"];
        let trail = "arn:aws:cloudtrail:eu-west-1:123456789012:trail/login-alert-trail";
        assert_eq!(s[0]["Action"], "s3:GetBucketAcl");
        assert_eq!(
            s[0]["Resource"],
            "arn:aws:s3:::login-alert-trail-123456789012-eu-west-1"
        );
        assert_eq!(s[0]["Condition"]["StringEquals"]["aws:SourceArn"], trail);
        assert_eq!(s[1]["Action"], "s3:PutObject");
        assert_eq!(
            s[1]["Resource"],
            "arn:aws:s3:::login-alert-trail-123456789012-eu-west-1/AWSLogs/123456789012/*"
        );
        assert_eq!(
            s[1]["Condition"]["StringEquals"]["s3:x-amz-acl"],
            "bucket-owner-full-control"
        );
        assert_eq!(s[1]["Condition"]["StringEquals"]["aws:SourceArn"], trail);
        assert_eq!(s[1]["Principal"]["Service"], "cloudtrail.amazonaws.com");
    }

    #[test]
    fn a_missing_bucket_is_created_private_with_the_policy() {
        let plan = apply_plan(None);
        let change = first(&plan, Action::Create);
        assert!(matches!(&change.op, Op::Create { region, .. } if region == "eu-west-1"));
    }

    /// What the plan's one update puts back (`policy`: whether it puts a policy).
    #[derive(Debug, PartialEq)]
    struct Updates {
        tag: bool,
        policy: bool,
        block_public_access: bool,
    }

    fn updates(plan: &Plan<Op>) -> Updates {
        match &plan.changes[0].op {
            Op::Update {
                tag,
                policy,
                block_public_access,
                ..
            } => Updates {
                tag: *tag,
                policy: policy.is_some(),
                block_public_access: *block_public_access,
            },
            other => panic!("expected a bucket update, got {other:?}"),
        }
    }

    #[test]
    fn a_matching_bucket_needs_nothing() {
        assert!(!apply_plan(Some(&current(3))).has_changes());
    }

    #[test]
    fn a_lost_policy_or_public_access_block_is_put_back() {
        let mut c = current(0);
        c.policy = None;
        c.public_access_blocked = false;
        let plan = apply_plan(Some(&c));
        assert_eq!(
            updates(&plan),
            Updates {
                tag: false,
                policy: true,
                block_public_access: true
            }
        );
        assert_eq!(plan.changes[0].attrs.len(), 2);
        assert!(plan.notices.is_empty());
    }

    #[test]
    fn a_bucket_that_is_not_ours_blocks_apply() {
        let mut c = current(0);
        c.managed = false;
        assert_eq!(apply_plan(Some(&c)).blockers.len(), 1);
        c.owned = false;
        assert!(apply_plan(Some(&c)).blockers[0].contains("another AWS account"));
        assert!(!destroy_plan(Some(&c)).has_changes());
    }

    #[test]
    fn destroy_deletes_our_empty_bucket() {
        let plan = destroy_plan(Some(&current(0)));
        first(&plan, Action::Delete);
        assert!(plan.notices.is_empty());
        assert!(!destroy_plan(None).has_changes());
    }

    #[test]
    fn destroy_keeps_a_bucket_with_logs_and_says_how_to_delete_it() {
        let plan = destroy_plan(Some(&current(7)));
        assert!(!plan.has_changes());
        let notice = &plan.notices[0];
        assert!(
            notice.contains("login-alert-trail-123456789012-eu-west-1 holds 7 objects"),
            "{notice}"
        );
        assert!(notice.contains("kept on purpose"));
        assert!(notice.contains("aws s3 rb s3://login-alert-trail-123456789012-eu-west-1 --force"));
        let mut full = current(1000);
        full.more_objects = true;
        assert!(destroy_plan(Some(&full)).notices[0].contains("more than 1000 objects"));
    }

    #[test]
    fn destroy_never_deletes_a_bucket_that_is_not_ours() {
        let mut c = current(0);
        c.managed = false;
        let plan = destroy_plan(Some(&c));
        assert!(!plan.has_changes());
        assert_eq!(plan.notices.len(), 1);
    }

    #[test]
    fn an_untagged_bucket_left_by_an_interrupted_apply_is_adopted_with_a_notice() {
        let plan = apply_plan(Some(&left_by_interrupted_apply(0)));
        assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
        assert_eq!(plan.notices.len(), 1);
        assert!(
            plan.notices[0].starts_with(
                "adopting the untagged S3 bucket login-alert-trail-123456789012-eu-west-1 left by an interrupted apply"
            ),
            "{}",
            plan.notices[0]
        );
        assert_eq!(
            updates(&plan),
            Updates {
                tag: true,
                policy: true,
                block_public_access: true
            }
        );
        assert_eq!(
            plan.changes[0].attrs[0],
            Attr::set("managed-by", "login-alert")
        );
    }

    #[test]
    fn an_untagged_bucket_left_by_an_interrupted_apply_goes_with_destroy() {
        let plan = destroy_plan(Some(&left_by_interrupted_apply(0)));
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].action, Action::Delete);
        assert!(plan.changes[0].notes[0].contains("interrupted apply"));
        // With the trail's logs in it, it is kept like login-alert's own bucket.
        let plan = destroy_plan(Some(&left_by_interrupted_apply(3)));
        assert!(!plan.has_changes());
        assert!(plan.notices[0].contains("kept on purpose"));
    }
}

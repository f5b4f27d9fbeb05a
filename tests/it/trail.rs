//! The trail and bucket modules against moto: adopt → apply → destroy restores the original, an
//! interrupted apply, the user's own log group, create mode with its bucket.
//!
//! Where moto differs from AWS (covered by the unit tests or `trail_mocks` instead):
//! - `DescribeTrails` ignores `trailNameList` and returns every trail visible from the region; AWS returns
//!   only the named one (by name: this region's only). `read` matches the name or ARN itself.
//! - `UpdateTrail`/`CreateTrail` accept any CloudWatch Logs ARNs (no `:*`, region or role check, no IAM
//!   propagation delay): login-alert validates the ARNs itself; the retry is tested with mocks.
//! - Removing delivery (both ARNs sent as "") leaves "" in `DescribeTrails` where AWS omits the fields:
//!   `read` treats "" as "no delivery", and so do these tests.
//! - `CreateTrail` checks only that the bucket exists, not its policy.
//! - No organization trails seen from a member account (moto has one account's view): unit-tested.
//! - `ListTrails` lists only the trails visible from the region (AWS: every region's).
//! - `StartLogging`/`StopLogging`/`DeleteTrail` take only a name (an ARN fails), so login-alert sends names.

use crate::support;

use std::collections::HashMap;
use std::time::Duration;

use login_alert::aws::Clients;
use login_alert::config::{Config, NotifyConfig, TrailConfig, sample};
use login_alert::engine::{self, Op};
use login_alert::model::{Ctx, Target, TrailChoice};
use login_alert::plan::{Action, Mode, Plan};
use login_alert::printer::Printer;
use login_alert::resources::bucket;
use login_alert::resources::trail::{self, memo};
use login_alert::retry::Bound;
use support::{Account, fresh_account};

const HOME: &str = "eu-west-1";
const TRAIL: &str = "audit-trail";

fn config(region: &str, trail: TrailConfig) -> Config {
    Config {
        trail,
        cis: false,
        notify: NotifyConfig {
            emails: vec!["secops@example.com".into()],
            ..Default::default()
        },
        ..sample(region)
    }
}

fn adopt(name: &str) -> TrailConfig {
    TrailConfig {
        name: Some(name.into()),
        create: false,
    }
}

fn create() -> TrailConfig {
    TrailConfig {
        name: None,
        create: true,
    }
}

async fn fixture(trail: TrailConfig) -> (Account, Ctx) {
    let account = fresh_account().await;
    let ctx = ctx_for(&account, HOME, trail);
    (account, ctx)
}

fn ctx_for(account: &Account, region: &str, trail: TrailConfig) -> Ctx {
    let sdk = account.sdk(region);
    let mut ctx = Ctx::new(
        Clients::new(&sdk),
        Target::new(&config(region, trail), &account.id),
        Printer::silent(),
    );
    ctx.iam_bound = Bound {
        total: Duration::from_secs(2),
        first_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
    };
    ctx
}

/// The user's set-up before login-alert: a trail writing to their own bucket.
async fn seed_trail(
    ctx: &Ctx,
    name: &str,
    multi_region: bool,
    logs: Option<(&str, &str)>,
    logging: bool,
) -> String {
    let bucket = format!("{name}-logs-{}", ctx.target.account_id());
    ctx.clients
        .s3
        .create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                    ctx.clients.region.as_str(),
                ))
                .build(),
        )
        .send()
        .await
        .expect("create the user's bucket");
    let mut request = ctx
        .clients
        .cloudtrail
        .create_trail()
        .name(name)
        .s3_bucket_name(&bucket)
        .is_multi_region_trail(multi_region);
    if let Some((group, role)) = logs {
        request = request
            .cloud_watch_logs_log_group_arn(group)
            .cloud_watch_logs_role_arn(role);
    }
    request.send().await.expect("create the user's trail");
    if logging {
        ctx.clients
            .cloudtrail
            .start_logging()
            .name(name)
            .send()
            .await
            .expect("start logging");
    }
    bucket
}

/// The trail (and, in create mode, bucket) part of `resources::plan`.
async fn plan(ctx: &Ctx, mode: Mode) -> Plan<Op> {
    let t = &ctx.target;
    let current = trail::read(ctx).await.expect("read the trail");
    let delivery = trail::delivery(&current, t);
    let bucket_name = t.names.bucket(t.account_id(), t.region());
    let bucket = match t.trail {
        TrailChoice::Create => bucket::read(ctx, &bucket_name)
            .await
            .expect("read the bucket"),
        TrailChoice::Adopt(_) => None,
    };
    let mut plan = Plan::new(mode, t.account_id(), t.region());
    match mode {
        Mode::Apply => {
            if t.trail == TrailChoice::Create {
                bucket::plan_apply(bucket.as_ref(), &bucket::desired(t), &mut plan);
            }
            trail::plan_apply(&current, t, &delivery, &mut plan);
        }
        Mode::Destroy => {
            trail::plan_destroy(&current, t, &mut plan);
            bucket::plan_destroy(bucket.as_ref(), &mut plan);
        }
    }
    plan
}

async fn run(ctx: &Ctx, mode: Mode) -> Plan<Op> {
    let plan = plan(ctx, mode).await;
    assert!(plan.blockers.is_empty(), "blocked: {:?}", plan.blockers);
    engine::apply(ctx, &plan).await.expect("apply the plan");
    plan
}

async fn describe(ctx: &Ctx, name: &str) -> aws_sdk_cloudtrail::types::Trail {
    let trails = ctx
        .clients
        .cloudtrail
        .describe_trails()
        .send()
        .await
        .expect("describe trails")
        .trail_list
        .unwrap_or_default();
    trails
        .into_iter()
        .find(|t| t.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("trail {name} exists"))
}

async fn tags(ctx: &Ctx, arn: &str) -> HashMap<String, String> {
    let out = ctx
        .clients
        .cloudtrail
        .list_tags()
        .resource_id_list(arn)
        .send()
        .await
        .expect("list tags");
    out.resource_tag_list
        .unwrap_or_default()
        .into_iter()
        .flat_map(|r| r.tags_list.unwrap_or_default())
        .map(|t| (t.key, t.value.unwrap_or_default()))
        .collect()
}

async fn is_logging(ctx: &Ctx, name: &str) -> bool {
    ctx.clients
        .cloudtrail
        .get_trail_status()
        .name(name)
        .send()
        .await
        .expect("trail status")
        .is_logging
        == Some(true)
}

/// moto leaves "" where AWS omits a removed CloudWatch Logs setting.
fn set(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

fn memo_keys(tags: &HashMap<String, String>) -> Vec<&String> {
    tags.keys()
        .filter(|k| k.starts_with("login-alert:"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn adopting_a_single_region_trail_then_destroy_restores_it() {
    let (account, ctx) = fixture(adopt(TRAIL)).await;
    let bucket = seed_trail(&ctx, TRAIL, false, None, true).await;

    let first = run(&ctx, Mode::Apply).await;
    assert_eq!(first.changes.len(), 1);
    assert_eq!(first.changes[0].action, Action::Update);

    let current = trail::read(&ctx).await.unwrap();
    let found = current.trail.as_ref().expect("found");
    assert!(found.multi_region);
    assert_eq!(
        found.log_group_arn.as_deref(),
        Some(
            format!(
                "arn:aws:logs:{HOME}:{}:log-group:/login-alert/cloudtrail:*",
                account.id
            )
            .as_str()
        )
    );
    assert_eq!(
        found.role_arn.as_deref(),
        Some(
            format!(
                "arn:aws:iam::{}:role/login-alert-cloudtrail-to-logs",
                account.id
            )
            .as_str()
        )
    );
    assert!(found.logging);
    assert_eq!(
        found.tags.get(memo::MULTI_REGION).map(String::as_str),
        Some("false")
    );
    assert_eq!(
        found.tags.get(memo::LOG_GROUP).map(String::as_str),
        Some("none")
    );
    assert!(trail::delivery(&current, &ctx.target).ours);

    // A second apply plans nothing.
    let again = plan(&ctx, Mode::Apply).await;
    assert!(
        !again.has_changes() && again.blockers.is_empty(),
        "{:?}",
        again.changes
    );

    let destroy = run(&ctx, Mode::Destroy).await;
    assert_eq!(destroy.changes.len(), 1);
    assert_eq!(
        destroy.changes[0].action,
        Action::Update,
        "an adopted trail is restored, never deleted"
    );
    let restored = describe(&ctx, TRAIL).await;
    assert_eq!(
        restored.is_multi_region_trail,
        Some(false),
        "single-region again"
    );
    assert_eq!(
        set(restored.cloud_watch_logs_log_group_arn),
        None,
        "no delivery again"
    );
    assert_eq!(set(restored.cloud_watch_logs_role_arn), None);
    assert_eq!(restored.s3_bucket_name.as_deref(), Some(bucket.as_str()));
    assert!(
        is_logging(&ctx, TRAIL).await,
        "it was logging before: still logging"
    );
    assert!(
        memo_keys(&tags(&ctx, restored.trail_arn.as_deref().unwrap()).await).is_empty(),
        "memo tags removed"
    );
    ctx.clients
        .s3
        .head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("the user's bucket is kept");

    // A second destroy is a no-op.
    let again = plan(&ctx, Mode::Destroy).await;
    assert!(
        !again.has_changes() && again.blockers.is_empty(),
        "{:?}",
        again.changes
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn adopting_by_arn_a_stopped_trail_starts_it_and_destroy_stops_it_again() {
    let account = fresh_account().await;
    let arn = format!("arn:aws:cloudtrail:{HOME}:{}:trail/{TRAIL}", account.id);
    let ctx = ctx_for(&account, HOME, adopt(&arn));
    seed_trail(&ctx, TRAIL, true, None, false).await;

    let applied = run(&ctx, Mode::Apply).await;
    let attrs: Vec<&str> = applied.changes[0]
        .attrs
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert!(
        attrs.contains(&"is_logging") && !attrs.contains(&"is_multi_region_trail"),
        "{attrs:?}"
    );
    assert!(is_logging(&ctx, TRAIL).await);
    assert!(!plan(&ctx, Mode::Apply).await.has_changes());

    run(&ctx, Mode::Destroy).await;
    assert!(
        !is_logging(&ctx, TRAIL).await,
        "it was stopped before login-alert"
    );
    assert_eq!(
        describe(&ctx, TRAIL).await.is_multi_region_trail,
        Some(true),
        "it was multi-region already"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trail_delivering_to_the_users_log_group_keeps_it() {
    let (account, ctx) = fixture(adopt(TRAIL)).await;
    let group = format!(
        "arn:aws:logs:{HOME}:{}:log-group:audit-events:*",
        account.id
    );
    let role = format!("arn:aws:iam::{}:role/audit-to-logs", account.id);
    seed_trail(&ctx, TRAIL, false, Some((&group, &role)), true).await;

    let current = trail::read(&ctx).await.unwrap();
    let delivery = trail::delivery(&current, &ctx.target);
    assert_eq!(delivery.log_group_name, "audit-events");
    assert!(!delivery.ours);

    run(&ctx, Mode::Apply).await;
    let after = describe(&ctx, TRAIL).await;
    assert_eq!(after.is_multi_region_trail, Some(true));
    assert_eq!(
        after.cloud_watch_logs_log_group_arn.as_deref(),
        Some(group.as_str()),
        "the user's group is kept"
    );
    assert_eq!(
        after.cloud_watch_logs_role_arn.as_deref(),
        Some(role.as_str()),
        "and their role"
    );
    let current = trail::read(&ctx).await.unwrap();
    assert!(
        !trail::delivery(&current, &ctx.target).ours,
        "still theirs after apply"
    );
    assert!(!plan(&ctx, Mode::Apply).await.has_changes());

    run(&ctx, Mode::Destroy).await;
    let restored = describe(&ctx, TRAIL).await;
    assert_eq!(restored.is_multi_region_trail, Some(false));
    assert_eq!(
        restored.cloud_watch_logs_log_group_arn.as_deref(),
        Some(group.as_str())
    );
    assert_eq!(
        restored.cloud_watch_logs_role_arn.as_deref(),
        Some(role.as_str())
    );
    assert!(memo_keys(&tags(&ctx, restored.trail_arn.as_deref().unwrap()).await).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_apply_is_finished_and_destroy_restores_the_originals() {
    let (_account, ctx) = fixture(adopt(TRAIL)).await;
    seed_trail(&ctx, TRAIL, false, None, false).await;

    // Interrupted right after the memo tags were written, before UpdateTrail.
    let first = plan(&ctx, Mode::Apply).await;
    let Op::Trail(trail::Op::Update(trail::Update {
        name,
        arn,
        remember,
        ..
    })) = &first.changes[0].op
    else {
        panic!("expected a trail update: {:?}", first.changes[0].op)
    };
    assert!(
        remember.is_some(),
        "the first apply remembers the originals"
    );
    let memo_only = trail::Op::Update(trail::Update {
        name: name.clone(),
        arn: arn.clone(),
        remember: remember.clone(),
        multi_region: None,
        global_events: None,
        cloud_watch_logs: None,
        bucket: None,
        logging: None,
        forget: Vec::new(),
    });
    trail::execute(&ctx, &memo_only)
        .await
        .expect("write the memo only");
    assert_eq!(
        describe(&ctx, TRAIL).await.is_multi_region_trail,
        Some(false)
    );

    // The next apply finishes the job without rewriting the memo.
    let second = plan(&ctx, Mode::Apply).await;
    let Op::Trail(trail::Op::Update(trail::Update {
        remember,
        multi_region,
        logging,
        ..
    })) = &second.changes[0].op
    else {
        panic!("expected a trail update")
    };
    assert_eq!(
        (remember, *multi_region, *logging),
        (&None, Some(true), Some(true))
    );
    engine::apply(&ctx, &second)
        .await
        .expect("finish the apply");
    let memo_tags = tags(&ctx, arn).await;
    assert_eq!(
        memo_tags[memo::MULTI_REGION],
        "false",
        "the originals survive"
    );
    assert_eq!(memo_tags[memo::LOGGING], "false");
    assert_eq!(memo_tags[memo::LOG_GROUP], "none");
    // Even an Update op carrying a memo again (a stale plan) never overwrites the originals.
    trail::execute(&ctx, &memo_only.clone()).await.unwrap();
    let Op::Trail(trail::Op::Update(trail::Update {
        remember: Some(stale),
        ..
    })) = &first.changes[0].op
    else {
        unreachable!()
    };
    let mut overwrite = stale.clone();
    overwrite.insert(memo::MULTI_REGION.into(), "true".into());
    let mut stale_op = memo_only;
    if let trail::Op::Update(trail::Update { remember, .. }) = &mut stale_op {
        *remember = Some(overwrite);
    }
    trail::execute(&ctx, &stale_op).await.unwrap();
    assert_eq!(tags(&ctx, arn).await[memo::MULTI_REGION], "false");

    run(&ctx, Mode::Destroy).await;
    let restored = describe(&ctx, TRAIL).await;
    assert_eq!(restored.is_multi_region_trail, Some(false));
    assert_eq!(set(restored.cloud_watch_logs_log_group_arn), None);
    assert!(!is_logging(&ctx, TRAIL).await);
    assert!(memo_keys(&tags(&ctx, arn).await).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn create_mode_creates_bucket_trail_and_logging_and_destroy_removes_them_when_empty() {
    let (account, ctx) = fixture(create()).await;
    let bucket = format!("login-alert-trail-{}-{HOME}", account.id);

    let applied = run(&ctx, Mode::Apply).await;
    let kinds: Vec<(Action, &str)> = applied
        .changes
        .iter()
        .map(|c| (c.action, c.kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [(Action::Create, "S3 bucket"), (Action::Create, "trail")]
    );

    let trail = describe(&ctx, "login-alert-trail").await;
    assert_eq!(trail.is_multi_region_trail, Some(true));
    assert_eq!(trail.include_global_service_events, Some(true));
    assert_eq!(trail.s3_bucket_name.as_deref(), Some(bucket.as_str()));
    assert!(
        set(trail.cloud_watch_logs_log_group_arn)
            .is_some_and(|a| a.ends_with(":log-group:/login-alert/cloudtrail:*"))
    );
    assert!(
        is_logging(&ctx, "login-alert-trail").await,
        "a new trail is started"
    );
    assert_eq!(
        tags(&ctx, trail.trail_arn.as_deref().unwrap())
            .await
            .get("managed-by")
            .map(String::as_str),
        Some("login-alert")
    );

    let found = bucket::read(&ctx, &bucket)
        .await
        .unwrap()
        .expect("bucket exists");
    assert!(found.managed && found.public_access_blocked);
    let policy = found.policy.expect("bucket policy");
    assert_eq!(
        policy["Statement"][1]["Condition"]["StringEquals"]["aws:SourceArn"],
        trail.trail_arn.clone().unwrap()
    );
    assert!(
        !plan(&ctx, Mode::Apply).await.has_changes(),
        "a second apply plans nothing"
    );

    let destroyed = run(&ctx, Mode::Destroy).await;
    let kinds: Vec<(Action, &str)> = destroyed
        .changes
        .iter()
        .map(|c| (c.action, c.kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [(Action::Delete, "trail"), (Action::Delete, "S3 bucket")]
    );
    assert!(
        trail::read(&ctx).await.unwrap().trail.is_none(),
        "our trail is deleted"
    );
    assert!(
        bucket::read(&ctx, &bucket).await.unwrap().is_none(),
        "the empty bucket is deleted"
    );
    let again = plan(&ctx, Mode::Destroy).await;
    assert!(
        !again.has_changes() && again.notices.is_empty(),
        "{:?}",
        again.notices
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn create_mode_destroy_keeps_a_bucket_holding_logs() {
    let (account, ctx) = fixture(create()).await;
    let bucket = format!("login-alert-trail-{}-{HOME}", account.id);
    run(&ctx, Mode::Apply).await;
    for n in 0..3 {
        ctx.clients
            .s3
            .put_object()
            .bucket(&bucket)
            .key(format!(
                "AWSLogs/{}/CloudTrail/{HOME}/2026/11/22/log-{n}.json.gz",
                account.id
            ))
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"{}"))
            .send()
            .await
            .expect("put a log file");
    }

    let destroyed = run(&ctx, Mode::Destroy).await;
    assert_eq!(
        destroyed.changes.len(),
        1,
        "only the trail: {:?}",
        destroyed.changes
    );
    assert!(
        destroyed
            .notices
            .iter()
            .any(|n| n.contains(&format!("{bucket} holds 3 objects"))
                && n.contains("kept on purpose")),
        "{:?}",
        destroyed.notices
    );
    assert!(
        bucket::read(&ctx, &bucket).await.unwrap().is_some(),
        "the bucket with logs is kept"
    );
    assert!(trail::read(&ctx).await.unwrap().trail.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_adopted_trail_blocks_apply_but_not_destroy() {
    let (_account, ctx) = fixture(adopt("no-such-trail")).await;
    let apply = plan(&ctx, Mode::Apply).await;
    assert_eq!(apply.blockers.len(), 1);
    assert!(
        apply.blockers[0].contains("no trail named no-such-trail in eu-west-1"),
        "{}",
        apply.blockers[0]
    );
    let destroy = plan(&ctx, Mode::Destroy).await;
    assert!(destroy.blockers.is_empty() && !destroy.has_changes());
    assert_eq!(destroy.notices.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trail_homed_in_another_region_names_the_region_to_set() {
    let account = fresh_account().await;
    let elsewhere = ctx_for(&account, "us-east-2", adopt(TRAIL));
    seed_trail(&elsewhere, TRAIL, true, None, true).await;

    let ctx = ctx_for(&account, HOME, adopt(TRAIL));
    let found = trail::read(&ctx)
        .await
        .unwrap()
        .trail
        .expect("a multi-region trail is seen from every region");
    assert_eq!(found.home_region, "us-east-2");
    let apply = plan(&ctx, Mode::Apply).await;
    assert!(!apply.has_changes());
    assert!(
        apply.blockers[0].contains("set region = \"us-east-2\""),
        "{}",
        apply.blockers[0]
    );
    let destroy = plan(&ctx, Mode::Destroy).await;
    assert!(destroy.blockers.is_empty() && !destroy.has_changes());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trail_with_our_name_but_not_our_tag_is_never_deleted() {
    let (_account, ctx) = fixture(create()).await;
    seed_trail(&ctx, "login-alert-trail", true, None, true).await;

    let apply = plan(&ctx, Mode::Apply).await;
    assert!(
        apply
            .blockers
            .iter()
            .any(|b| b.contains("not created by login-alert")),
        "{:?}",
        apply.blockers
    );
    let destroy = plan(&ctx, Mode::Destroy).await;
    assert!(
        !destroy.changes.iter().any(|c| c.kind == "trail"),
        "{:?}",
        destroy.changes
    );

    // Even a stale or hand-made Delete refuses.
    let found = trail::read(&ctx).await.unwrap().trail.unwrap();
    let err = trail::execute(
        &ctx,
        &trail::Op::Delete {
            name: found.name.clone(),
            arn: found.arn.clone(),
        },
    )
    .await
    .expect_err("must refuse");
    assert!(
        err.to_string()
            .contains("refusing to delete trail login-alert-trail"),
        "{err}"
    );
    assert!(trail::read(&ctx).await.unwrap().trail.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trail_deleted_since_the_plan_fails_apply_clearly_and_counts_as_restored() {
    let (account, ctx) = fixture(adopt(TRAIL)).await;
    let arn = format!("arn:aws:cloudtrail:{HOME}:{}:trail/{TRAIL}", account.id);
    let op = |forget: Vec<String>| {
        trail::Op::Update(trail::Update {
            name: TRAIL.into(),
            arn: arn.clone(),
            remember: None,
            multi_region: Some(false),
            global_events: None,
            cloud_watch_logs: None,
            bucket: None,
            logging: None,
            forget,
        })
    };
    let err = trail::execute(&ctx, &op(Vec::new()))
        .await
        .expect_err("apply cannot adopt a vanished trail");
    assert!(
        matches!(
            err.downcast_ref::<trail::TrailError>(),
            Some(trail::TrailError::Gone { .. })
        ),
        "{err:#}"
    );
    assert!(format!("{err:#}").contains("no longer exists"), "{err:#}");
    let restore = op(memo::ALL.iter().map(|k| k.to_string()).collect());
    trail::execute(&ctx, &restore)
        .await
        .expect("nothing left to restore is success");
}

//! The alerting half of the pipeline against moto — SNS topic and email subscriptions, the Slack
//! webhook parameter, the Lambda function, its invoke permission and the log group's subscription
//! filter: create → read back (no changes) → drift by hand → plan shows it → apply repairs → destroy
//! removes only what is ours.
//!
//! Where moto differs from AWS (covered by unit tests or `tests/pipeline_mocks.rs` instead):
//! - SNS email subscriptions are confirmed at once (moto `sns/models.py`: `PendingConfirmation: False`,
//!   `Subscribe` returns a real ARN). AWS answers "pending confirmation" and lists `PendingConfirmation`
//!   until the recipient clicks: the pending notice is tested with mocks.
//! - Lambda: `State` is `Active` at once and no update is ever `InProgress`, `ResourceConflictException`
//!   is never raised for a busy function, and `CreateFunction` fails "cannot be assumed" only when the
//!   role does not exist (never while IAM propagates, never for a wrong trust policy): mocks.
//! - Lambda `UpdateFunctionCode` ignores `Architectures` (only the code is replaced).
//! - `AddPermission` accepts a duplicate statement id (AWS: `ResourceConflictException`), so
//!   login-alert never relies on it: the plan reads the policy and removes before re-adding.
//! - CloudWatch Logs `PutSubscriptionFilter` checks only that the destination function exists, not its
//!   resource policy (AWS test-invokes it), and refuses to *update* a filter once the group has two
//!   (AWS allows it): these tests never update with two filters present.
//! - Filter patterns are stored, never evaluated: the pattern's syntax is unit-tested in
//!   `subscription_filter.rs`.
//! - SSM: `GetParameter` with decryption returns the stored value; no KMS key is involved.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_ssm::types::ParameterType;
use login_alert::aws::Clients;
use login_alert::bundle::handler_sha256;
use login_alert::config::{Config, NotifyConfig, TrailConfig};
use login_alert::engine::{self, Op};
use login_alert::model::{Ctx, Facts, Target};
use login_alert::plan::{Action, Attr, Mode, Plan, SENSITIVE, render};
use login_alert::printer::Printer;
use login_alert::resources::trail::Delivery;
use login_alert::resources::{
    function, log_group, parameter, permission, policies, role, subscription_filter, topic,
};
use login_alert::retry::Bound;
use login_alert_handler::{ENV_SCOPE, ENV_SLACK_PARAMETER, ENV_TOPIC_ARN};
use support::{Account, fresh_account};

const REGION: &str = "us-east-1";
const WEBHOOK: &str = "https://hooks.slack.com/services/T0000/B0000/pipeline-test-secret";
const QUICK: Bound = Bound {
    total: Duration::from_secs(2),
    first_delay: Duration::from_millis(10),
    max_delay: Duration::from_millis(100),
};

fn config(emails: &[&str], slack: Option<&str>) -> Config {
    Config {
        region: REGION.into(),
        name_prefix: "login-alert".into(),
        account_name: Some("pipeline-test".into()),
        timezone: "Europe/Paris".into(),
        scope: Default::default(),
        log_retention_days: 90,
        language: Default::default(),
        group_window_minutes: 15,
        account_names: Default::default(),
        mode: Default::default(),
        trail: TrailConfig {
            name: Some("audit".into()),
            create: false,
        },
        cis: false,
        notify: NotifyConfig {
            emails: emails.iter().map(|e| e.to_string()).collect(),
            slack_webhook_url: slack.map(Into::into),
            teams_webhook_url: None,
            webhook_url: None,
        },
    }
}

fn ctx_for(account: &Account, config: &Config) -> Ctx {
    let mut ctx = Ctx::new(
        Clients::new(&account.sdk(REGION)),
        Target::new(config, &account.id),
        Printer::silent(),
    );
    ctx.iam_bound = QUICK;
    ctx.lambda_bound = QUICK;
    ctx
}

async fn fixture(emails: &[&str], slack: Option<&str>) -> (Account, Ctx) {
    let account = fresh_account().await;
    let ctx = ctx_for(&account, &config(emails, slack));
    (account, ctx)
}

fn new_plan(ctx: &Ctx, mode: Mode) -> Plan<Op> {
    Plan::new(mode, ctx.target.account_id(), ctx.target.region())
}

async fn apply(ctx: &Ctx, plan: &Plan<Op>) {
    assert!(plan.blockers.is_empty(), "blocked: {:?}", plan.blockers);
    engine::apply(ctx, plan)
        .await
        .unwrap_or_else(|e| panic!("apply failed: {e:#}"));
}

fn assert_converged(plan: &Plan<Op>) {
    assert!(
        !plan.has_changes(),
        "expected no changes, got {:#?}",
        plan.changes
    );
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
}

/// What the engine would learn: the trail delivers to the log group these tests use.
fn facts(ctx: &Ctx) -> Facts {
    let mut facts = Facts::new(&ctx.target);
    facts.delivery = delivery(ctx);
    facts
}

fn delivery(ctx: &Ctx) -> Delivery {
    Delivery {
        log_group_name: ctx.target.names.log_group(),
        ours: true,
    }
}

// ---------------------------------------------------------------- topic

async fn topic_plan(ctx: &Ctx, mode: Mode) -> Plan<Op> {
    let d = topic::desired(&ctx.target);
    let current = topic::read(ctx, &d.arn).await.expect("read the topic");
    let mut plan = new_plan(ctx, mode);
    match mode {
        Mode::Apply => topic::plan_apply(current.as_ref(), &d, &mut plan),
        Mode::Destroy => topic::plan_destroy(current.as_ref(), &mut plan),
    }
    plan
}

#[tokio::test(flavor = "multi_thread")]
async fn topic_and_email_subscriptions_converge_and_repair() {
    let (account, ctx) = fixture(&["a@example.com", "b@example.com"], None).await;
    let arn = ctx.target.topic_arn().expect("emails configured");

    let first = topic_plan(&ctx, Mode::Apply).await;
    let summary: Vec<(&str, &str, Action)> = first
        .changes
        .iter()
        .map(|c| (c.kind.as_str(), c.name.as_str(), c.action))
        .collect();
    assert_eq!(
        summary,
        [
            ("SNS topic", "login-alert-alerts", Action::Create),
            ("email subscription", "a@example.com", Action::Create),
            ("email subscription", "b@example.com", Action::Create),
        ]
    );
    apply(&ctx, &first).await;

    let current = topic::read(&ctx, &arn)
        .await
        .unwrap()
        .expect("topic created");
    assert!(current.managed, "tagged managed-by=login-alert");
    let mut emails: Vec<&str> = current
        .subscriptions
        .iter()
        .map(|s| s.endpoint.as_str())
        .collect();
    emails.sort();
    assert_eq!(emails, ["a@example.com", "b@example.com"]);
    let again = topic_plan(&ctx, Mode::Apply).await;
    assert_converged(&again);
    // moto confirms at once; AWS would list both as PendingConfirmation and the plan would say so.
    assert!(again.notices.is_empty(), "{:?}", again.notices);

    // Drift: someone unsubscribes b by hand.
    let b = current
        .subscriptions
        .iter()
        .find(|s| s.endpoint == "b@example.com")
        .and_then(|s| s.arn.clone())
        .unwrap();
    ctx.clients
        .sns
        .unsubscribe()
        .subscription_arn(&b)
        .send()
        .await
        .unwrap();
    let drift = topic_plan(&ctx, Mode::Apply).await;
    assert_eq!(drift.changes.len(), 1);
    assert!(
        matches!(&drift.changes[0].op, Op::Topic(topic::Op::Subscribe { email, .. }) if email == "b@example.com")
    );
    apply(&ctx, &drift).await;
    assert_converged(&topic_plan(&ctx, Mode::Apply).await);

    // The config drops b: its (confirmed) subscription goes, a's stays.
    let ctx_a = ctx_for(&account, &config(&["a@example.com"], None));
    let fewer = topic_plan(&ctx_a, Mode::Apply).await;
    assert_eq!(fewer.changes.len(), 1);
    assert_eq!(
        (fewer.changes[0].action, fewer.changes[0].name.as_str()),
        (Action::Delete, "b@example.com")
    );
    apply(&ctx_a, &fewer).await;
    assert_converged(&topic_plan(&ctx_a, Mode::Apply).await);

    // No emails at all: the topic is no longer wanted.
    let ctx_none = ctx_for(&account, &config(&[], Some(WEBHOOK)));
    let gone = topic_plan(&ctx_none, Mode::Apply).await;
    assert_eq!(gone.changes.len(), 1);
    assert!(matches!(
        &gone.changes[0].op,
        Op::Topic(topic::Op::Delete { .. })
    ));

    // Destroy removes the topic (and its subscriptions), then has nothing left to do.
    let destroy = topic_plan(&ctx, Mode::Destroy).await;
    assert_eq!(destroy.changes.len(), 1);
    apply(&ctx, &destroy).await;
    assert_eq!(topic::read(&ctx, &arn).await.unwrap(), None);
    assert_converged(&topic_plan(&ctx, Mode::Destroy).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_topic_with_our_name_but_not_ours_blocks_apply_and_survives_destroy() {
    let (_account, ctx) = fixture(&["a@example.com"], None).await;
    ctx.clients
        .sns
        .create_topic()
        .name(ctx.target.names.topic())
        .send()
        .await
        .unwrap();

    let plan = topic_plan(&ctx, Mode::Apply).await;
    assert!(!plan.has_changes());
    assert_eq!(plan.blockers.len(), 1, "{:?}", plan.blockers);
    assert!(plan.blockers[0].contains("not created by login-alert"));

    let destroy = topic_plan(&ctx, Mode::Destroy).await;
    assert!(!destroy.has_changes());
    assert_eq!(destroy.notices.len(), 1);
    assert!(
        topic::read(&ctx, &ctx.target.topic_arn().unwrap())
            .await
            .unwrap()
            .is_some()
    );
}

/// Many addresses: every page of ListSubscriptionsByTopic is read (moto pages by 100), an address
/// is matched whatever its case, order or repetition in the config, and only the difference is planned.
#[tokio::test(flavor = "multi_thread")]
async fn many_addresses_are_planned_one_to_one_across_every_page() {
    let emails: Vec<String> = (0..250).map(|i| format!("user{i}@example.com")).collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let (account, ctx) = fixture(&refs, None).await;
    let first = topic_plan(&ctx, Mode::Apply).await;
    assert_eq!(
        first.changes.len(),
        251,
        "the topic and one subscription per address"
    );
    apply(&ctx, &first).await;

    // The same addresses, reversed, in capitals and each listed twice: nothing to do.
    let shuffled: Vec<String> = emails
        .iter()
        .rev()
        .flat_map(|e| [e.to_uppercase(), e.clone()])
        .collect();
    let shuffled: Vec<&str> = shuffled.iter().map(String::as_str).collect();
    let same = ctx_for(&account, &config(&shuffled, None));
    let again = topic_plan(&same, Mode::Apply).await;
    assert_converged(&again);
    assert!(again.notices.is_empty(), "{:?}", again.notices);

    // The first 100 stay: the other 150 go, and nothing is subscribed.
    let fewer = ctx_for(&account, &config(&refs[..100], None));
    let plan = topic_plan(&fewer, Mode::Apply).await;
    assert_eq!(plan.changes.len(), 150);
    assert!(
        plan.changes
            .iter()
            .all(|c| c.action == Action::Delete && c.kind == "email subscription")
    );
    assert!(plan.changes.iter().any(|c| c.name == "user249@example.com"));
    assert!(!plan.changes.iter().any(|c| c.name == "user99@example.com"));
    apply(&fewer, &plan).await;
    assert_converged(&topic_plan(&fewer, Mode::Apply).await);
}

// ---------------------------------------------------------------- parameter

async fn parameter_plan(ctx: &Ctx, mode: Mode) -> Plan<Op> {
    let current = parameter::read(ctx, &ctx.target.names.slack_parameter())
        .await
        .expect("read the parameter");
    let mut plan = new_plan(ctx, mode);
    match mode {
        Mode::Apply => parameter::plan_apply(
            current.as_ref(),
            &parameter::desired(&ctx.target),
            &mut plan,
        ),
        Mode::Destroy => parameter::plan_destroy(current.as_ref(), &mut plan),
    }
    plan
}

fn shown(plan: &Plan<Op>) -> String {
    format!("{plan:?}\n{}\n{}", render::text(plan), render::json(plan))
}

#[tokio::test(flavor = "multi_thread")]
async fn slack_parameter_is_a_secure_string_that_converges_without_ever_showing_the_url() {
    let (account, ctx) = fixture(&[], Some(WEBHOOK)).await;
    let name = ctx.target.names.slack_parameter();

    let first = parameter_plan(&ctx, Mode::Apply).await;
    assert_eq!(first.changes.len(), 1);
    assert_eq!(first.changes[0].action, Action::Create);
    assert!(!shown(&first).contains("pipeline-test-secret"));
    apply(&ctx, &first).await;

    let raw = ctx
        .clients
        .ssm
        .get_parameter()
        .name(&name)
        .send()
        .await
        .unwrap()
        .parameter
        .unwrap();
    assert_eq!(raw.r#type, Some(ParameterType::SecureString));
    assert_ne!(
        raw.value.as_deref(),
        Some(WEBHOOK),
        "not readable without decryption"
    );
    let current = parameter::read(&ctx, &name)
        .await
        .unwrap()
        .expect("created");
    assert!(current.managed);
    assert_eq!(current.value.expose(), WEBHOOK);
    assert_converged(&parameter_plan(&ctx, Mode::Apply).await);

    // Drift: the value is changed by hand.
    ctx.clients
        .ssm
        .put_parameter()
        .name(&name)
        .value("https://hooks.slack.com/services/T/B/hand-edited-secret")
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let drift = parameter_plan(&ctx, Mode::Apply).await;
    assert_eq!(drift.changes.len(), 1);
    assert_eq!(drift.changes[0].action, Action::Update);
    assert_eq!(
        drift.changes[0].attrs,
        [Attr::change(
            "value",
            SENSITIVE,
            parameter::SENSITIVE_CHANGED
        )]
    );
    let text = shown(&drift);
    assert!(
        !text.contains("pipeline-test-secret") && !text.contains("hand-edited-secret"),
        "{text}"
    );
    apply(&ctx, &drift).await;
    assert_converged(&parameter_plan(&ctx, Mode::Apply).await);
    assert_eq!(
        parameter::read(&ctx, &name)
            .await
            .unwrap()
            .unwrap()
            .value
            .expose(),
        WEBHOOK
    );

    // Drift: replaced by hand with a plaintext String (keeping our tag).
    ctx.clients
        .ssm
        .delete_parameter()
        .name(&name)
        .send()
        .await
        .unwrap();
    let tag = aws_sdk_ssm::types::Tag::builder()
        .key("managed-by")
        .value("login-alert")
        .build()
        .unwrap();
    ctx.clients
        .ssm
        .put_parameter()
        .name(&name)
        .value(WEBHOOK)
        .r#type(ParameterType::String)
        .tags(tag)
        .send()
        .await
        .unwrap();
    let plaintext = parameter_plan(&ctx, Mode::Apply).await;
    assert_eq!(plaintext.changes.len(), 1);
    assert_eq!(plaintext.changes[0].action, Action::Replace);
    apply(&ctx, &plaintext).await;
    let current = parameter::read(&ctx, &name).await.unwrap().unwrap();
    assert_eq!(
        (current.kind.as_str(), current.managed),
        ("SecureString", true)
    );
    assert_converged(&parameter_plan(&ctx, Mode::Apply).await);

    // Slack removed from the config: our parameter goes.
    let no_slack = ctx_for(&account, &config(&["a@example.com"], None));
    let removed = parameter_plan(&no_slack, Mode::Apply).await;
    assert_eq!(removed.changes.len(), 1);
    assert_eq!(removed.changes[0].action, Action::Delete);

    let destroy = parameter_plan(&ctx, Mode::Destroy).await;
    assert_eq!(destroy.changes.len(), 1);
    apply(&ctx, &destroy).await;
    assert_eq!(parameter::read(&ctx, &name).await.unwrap(), None);
    assert_converged(&parameter_plan(&ctx, Mode::Destroy).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parameter_with_our_name_but_not_ours_is_never_overwritten_or_deleted() {
    let (_account, ctx) = fixture(&[], Some(WEBHOOK)).await;
    let name = ctx.target.names.slack_parameter();
    ctx.clients
        .ssm
        .put_parameter()
        .name(&name)
        .value("theirs")
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let plan = parameter_plan(&ctx, Mode::Apply).await;
    assert!(!plan.has_changes());
    assert_eq!(plan.blockers.len(), 1);
    let destroy = parameter_plan(&ctx, Mode::Destroy).await;
    assert!(!destroy.has_changes());
    assert_eq!(destroy.notices.len(), 1);
    assert_eq!(
        parameter::read(&ctx, &name)
            .await
            .unwrap()
            .unwrap()
            .value
            .expose(),
        "theirs"
    );
}

// ---------------------------------------------------------------- function

/// The execution role the function needs (moto refuses CreateFunction without it).
async fn seed_role(ctx: &Ctx) {
    let d = policies::function_role(&ctx.target);
    let op = role::Op::Create {
        name: d.name,
        description: d.description,
        trust: d.trust,
        policy: d.policy,
    };
    role::execute(ctx, &op)
        .await
        .expect("create the function's role");
}

async fn function_plan(ctx: &Ctx, mode: Mode) -> Plan<Op> {
    let current = function::read(ctx, &ctx.target.names.function())
        .await
        .expect("read the function");
    let mut plan = new_plan(ctx, mode);
    match mode {
        Mode::Apply => function::plan_apply(
            current.as_ref(),
            &function::desired(&ctx.target, &facts(ctx)),
            &mut plan,
        ),
        Mode::Destroy => function::plan_destroy(current.as_ref(), &mut plan),
    }
    plan
}

async fn function_config(
    ctx: &Ctx,
) -> aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput {
    ctx.clients
        .lambda
        .get_function_configuration()
        .function_name(ctx.target.names.function())
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn function_is_created_from_the_bundle_and_updated_only_where_it_differs() {
    let (account, ctx) = fixture(&["a@example.com"], Some(WEBHOOK)).await;
    let name = ctx.target.names.function();
    seed_role(&ctx).await;

    let first = function_plan(&ctx, Mode::Apply).await;
    assert_eq!(first.changes.len(), 1);
    assert_eq!(first.changes[0].action, Action::Create);
    apply(&ctx, &first).await;

    let live = function_config(&ctx).await;
    assert_eq!(
        live.runtime.as_ref().map(|r| r.as_str()),
        Some("provided.al2023")
    );
    assert_eq!(live.handler.as_deref(), Some("bootstrap"));
    assert_eq!((live.timeout, live.memory_size), (Some(30), Some(128)));
    assert_eq!(live.code_sha256.as_deref(), Some(handler_sha256().as_str()));
    assert_eq!(
        live.role.as_deref(),
        Some(format!("arn:aws:iam::{}:role/login-alert-handler", account.id).as_str())
    );
    let env: HashMap<String, String> = live
        .environment
        .and_then(|e| e.variables)
        .unwrap_or_default();
    assert_eq!(env.get(ENV_TOPIC_ARN), ctx.target.topic_arn().as_ref());
    assert_eq!(
        env.get(ENV_SLACK_PARAMETER).map(String::as_str),
        Some("/login-alert/slack-webhook-url")
    );
    assert!(
        !format!("{env:?}").contains("pipeline-test-secret"),
        "the URL never goes into the configuration"
    );
    let current = function::read(&ctx, &name).await.unwrap().expect("created");
    assert!(current.managed);
    assert_eq!(
        current.config,
        function::desired(&ctx.target, &facts(&ctx)).config,
        "reads back as desired"
    );
    assert_converged(&function_plan(&ctx, Mode::Apply).await);

    // Drift: timeout and scope changed by hand → only the configuration is updated.
    let mut hand_env = env.clone();
    hand_env.insert(ENV_SCOPE.into(), "root-only".into());
    ctx.clients
        .lambda
        .update_function_configuration()
        .function_name(&name)
        .timeout(3)
        .environment(
            aws_sdk_lambda::types::Environment::builder()
                .set_variables(Some(hand_env))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let drift = function_plan(&ctx, Mode::Apply).await;
    assert_eq!(drift.changes.len(), 1);
    let attrs: Vec<&str> = drift.changes[0]
        .attrs
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(attrs, ["timeout", "environment.LOGIN_ALERT_SCOPE"]);
    assert!(matches!(
        &drift.changes[0].op,
        Op::Function(function::Op::Update {
            code: false,
            config: Some(_),
            ..
        })
    ));
    apply(&ctx, &drift).await;
    assert_converged(&function_plan(&ctx, Mode::Apply).await);

    // Drift: other code deployed by hand → only the code is uploaded again.
    let other = {
        let mut zip = login_alert::bundle::handler_zip().to_vec();
        zip.extend_from_slice(b"tampered");
        zip
    };
    ctx.clients
        .lambda
        .update_function_code()
        .function_name(&name)
        .zip_file(Blob::new(other))
        .send()
        .await
        .unwrap();
    let code = function_plan(&ctx, Mode::Apply).await;
    assert_eq!(code.changes.len(), 1);
    assert_eq!(
        code.changes[0]
            .attrs
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["code_sha256"]
    );
    assert!(matches!(
        &code.changes[0].op,
        Op::Function(function::Op::Update {
            code: true,
            config: None,
            ..
        })
    ));
    apply(&ctx, &code).await;
    assert_eq!(
        function_config(&ctx).await.code_sha256.as_deref(),
        Some(handler_sha256().as_str())
    );
    assert_converged(&function_plan(&ctx, Mode::Apply).await);

    // The config changes (no more email): the topic variable goes.
    let slack_only = ctx_for(&account, &config(&[], Some(WEBHOOK)));
    let fewer = function_plan(&slack_only, Mode::Apply).await;
    assert_eq!(
        fewer.changes[0].attrs,
        [Attr::unset(
            "environment.LOGIN_ALERT_TOPIC_ARN",
            ctx.target.topic_arn().unwrap()
        )]
    );

    let destroy = function_plan(&ctx, Mode::Destroy).await;
    assert_eq!(destroy.changes.len(), 1);
    apply(&ctx, &destroy).await;
    assert_eq!(function::read(&ctx, &name).await.unwrap(), None);
    assert_converged(&function_plan(&ctx, Mode::Destroy).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_create_is_finished_by_the_next_apply() {
    let (_account, ctx) = fixture(&["a@example.com"], None).await;
    seed_role(&ctx).await;
    let plan = function_plan(&ctx, Mode::Apply).await;
    // The first run created the function, then stopped; the second still holds the stale plan.
    apply(&ctx, &plan).await;
    ctx.clients
        .lambda
        .update_function_configuration()
        .function_name(ctx.target.names.function())
        .timeout(9)
        .send()
        .await
        .unwrap();
    apply(&ctx, &plan).await;
    assert_converged(&function_plan(&ctx, Mode::Apply).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_with_our_name_but_not_ours_is_never_touched() {
    let (_account, ctx) = fixture(&["a@example.com"], None).await;
    seed_role(&ctx).await;
    ctx.clients
        .lambda
        .create_function()
        .function_name(ctx.target.names.function())
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .handler("app.handler")
        .role(ctx.target.arns.role(&ctx.target.names.function_role()))
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(Blob::new(login_alert::bundle::handler_zip()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let plan = function_plan(&ctx, Mode::Apply).await;
    assert!(!plan.has_changes());
    assert_eq!(plan.blockers.len(), 1);
    let destroy = function_plan(&ctx, Mode::Destroy).await;
    assert!(!destroy.has_changes());
    assert_eq!(destroy.notices.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_role_create_function_gives_up_and_names_the_trust_policy() {
    // moto refuses a role that does not exist with AWS's exact message; login-alert retries it
    // (it is also what IAM propagation looks like), then names the likely cause.
    let (_account, ctx) = fixture(&["a@example.com"], None).await;
    let plan = function_plan(&ctx, Mode::Apply).await;
    let err = engine::apply(&ctx, &plan).await.expect_err("no role");
    let text = format!("{err:#}");
    assert!(
        text.contains("trust policy") && text.contains("lambda.amazonaws.com"),
        "{text}"
    );
    assert!(matches!(
        err.downcast_ref::<function::FunctionError>(),
        Some(function::FunctionError::RoleNotAssumable { .. })
    ));
}

// ---------------------------------------------------------------- permission and subscription filter

/// Role, function and the trail's log group, as the pipeline creates them before these two.
async fn seed_function_and_log_group(ctx: &Ctx) {
    seed_role(ctx).await;
    let plan = function_plan(ctx, Mode::Apply).await;
    apply(ctx, &plan).await;
    let group = log_group::Op::Create {
        name: ctx.target.names.log_group(),
        retention_days: 90,
    };
    log_group::execute(ctx, &group)
        .await
        .expect("create the trail's log group");
}

/// Every statement of the function's resource policy, read the way the engine does: function first.
async fn read_statements(ctx: &Ctx) -> anyhow::Result<Vec<permission::Current>> {
    let function = function::read(ctx, &ctx.target.names.function())
        .await?
        .expect("the function exists");
    permission::read(ctx, &function).await
}

/// Our (or another) statement on the function.
async fn read_permission(
    ctx: &Ctx,
    statement_id: &str,
) -> anyhow::Result<Option<permission::Current>> {
    Ok(read_statements(ctx)
        .await?
        .into_iter()
        .find(|s| s.statement_id == statement_id))
}

async fn permission_plan(ctx: &Ctx, mode: Mode) -> Plan<Op> {
    let t = &ctx.target;
    let statements = read_statements(ctx).await.expect("read the permission");
    let mut plan = new_plan(ctx, mode);
    match mode {
        Mode::Apply => permission::plan_apply(
            &statements,
            &permission::desired(t, &delivery(ctx)),
            &mut plan,
        ),
        Mode::Destroy => {
            permission::plan_destroy(&statements, &t.names.permission_statement(), &mut plan)
        }
    }
    plan
}

#[tokio::test(flavor = "multi_thread")]
async fn invoke_permission_converges_and_repairs() {
    let (account, ctx) = fixture(&["a@example.com"], None).await;
    seed_function_and_log_group(&ctx).await;
    let t = &ctx.target;

    let first = permission_plan(&ctx, Mode::Apply).await;
    assert_eq!(first.changes.len(), 1);
    assert_eq!(first.changes[0].action, Action::Create);
    apply(&ctx, &first).await;

    let current = read_permission(&ctx, &t.names.permission_statement())
        .await
        .unwrap()
        .expect("added");
    assert_eq!(current.principal, "logs.amazonaws.com");
    assert_eq!(current.action, "lambda:InvokeFunction");
    assert_eq!(
        current.source_arn.as_deref(),
        Some(
            format!(
                "arn:aws:logs:{REGION}:{}:log-group:/login-alert/cloudtrail:*",
                account.id
            )
            .as_str()
        )
    );
    assert_eq!(current.source_account.as_deref(), Some(account.id.as_str()));
    assert!(current.function_managed);
    assert_converged(&permission_plan(&ctx, Mode::Apply).await);

    // Drift: removed by hand.
    ctx.clients
        .lambda
        .remove_permission()
        .function_name(t.names.function())
        .statement_id(t.names.permission_statement())
        .send()
        .await
        .unwrap();
    let removed = permission_plan(&ctx, Mode::Apply).await;
    assert_eq!(removed.changes.len(), 1);
    assert_eq!(removed.changes[0].action, Action::Create);
    apply(&ctx, &removed).await;
    assert_converged(&permission_plan(&ctx, Mode::Apply).await);

    // Drift: re-added by hand without the `:*` and without SourceAccount.
    ctx.clients
        .lambda
        .remove_permission()
        .function_name(t.names.function())
        .statement_id(t.names.permission_statement())
        .send()
        .await
        .unwrap();
    ctx.clients
        .lambda
        .add_permission()
        .function_name(t.names.function())
        .statement_id(t.names.permission_statement())
        .action("lambda:InvokeFunction")
        .principal("logs.amazonaws.com")
        .source_arn(t.arns.log_group(&t.names.log_group()))
        .send()
        .await
        .unwrap();
    let wrong = permission_plan(&ctx, Mode::Apply).await;
    assert_eq!(wrong.changes.len(), 1);
    assert_eq!(wrong.changes[0].action, Action::Replace);
    let attrs: Vec<&str> = wrong.changes[0]
        .attrs
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(attrs, ["source_arn", "source_account"]);
    apply(&ctx, &wrong).await;
    assert_converged(&permission_plan(&ctx, Mode::Apply).await);
    let policy = ctx
        .clients
        .lambda
        .get_policy()
        .function_name(t.names.function())
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    let policy: serde_json::Value = serde_json::from_str(&policy).unwrap();
    assert_eq!(
        policy["Statement"].as_array().map(Vec::len),
        Some(1),
        "replaced, not duplicated: {policy}"
    );

    // A statement of the user's on the same function stays through destroy.
    ctx.clients
        .lambda
        .add_permission()
        .function_name(t.names.function())
        .statement_id("theirs")
        .action("lambda:InvokeFunction")
        .principal("events.amazonaws.com")
        .send()
        .await
        .unwrap();
    let destroy = permission_plan(&ctx, Mode::Destroy).await;
    assert_eq!(destroy.changes.len(), 1);
    apply(&ctx, &destroy).await;
    assert_eq!(
        read_permission(&ctx, &t.names.permission_statement())
            .await
            .unwrap(),
        None
    );
    assert!(
        read_permission(&ctx, "theirs").await.unwrap().is_some(),
        "theirs is kept"
    );
    assert_converged(&permission_plan(&ctx, Mode::Destroy).await);
}

async fn filter_plan(ctx: &Ctx, mode: Mode) -> Plan<Op> {
    let d = delivery(ctx);
    let current = subscription_filter::read(ctx, &d.log_group_name)
        .await
        .expect("read the filters");
    let mut plan = new_plan(ctx, mode);
    match mode {
        Mode::Apply => subscription_filter::plan_apply(
            &current,
            &subscription_filter::desired(&ctx.target, &d),
            &mut plan,
        ),
        Mode::Destroy => subscription_filter::plan_destroy(
            &current,
            &ctx.target.names.subscription_filter(),
            &mut plan,
        ),
    }
    plan
}

/// A filter of the user's: to another log group (a destination moto accepts without extra set-up).
async fn seed_their_filter(ctx: &Ctx, name: &str) {
    let target = format!("/their/{name}");
    ctx.clients
        .logs
        .create_log_group()
        .log_group_name(&target)
        .send()
        .await
        .unwrap();
    ctx.clients
        .logs
        .put_subscription_filter()
        .log_group_name(ctx.target.names.log_group())
        .filter_name(name)
        .filter_pattern("")
        .destination_arn(ctx.target.arns.log_group(&target))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn subscription_filter_converges_repairs_and_keeps_theirs() {
    let (_account, ctx) = fixture(&["a@example.com"], None).await;
    seed_function_and_log_group(&ctx).await;
    let permission = permission_plan(&ctx, Mode::Apply).await;
    apply(&ctx, &permission).await;
    let group = ctx.target.names.log_group();
    let ours = ctx.target.names.subscription_filter();
    assert_eq!(
        subscription_filter::read(&ctx, "/does/not/exist")
            .await
            .unwrap()
            .filters,
        [],
        "a missing group has none"
    );
    seed_their_filter(&ctx, "splunk").await;

    let first = filter_plan(&ctx, Mode::Apply).await;
    assert_eq!(first.changes.len(), 1);
    assert_eq!(first.changes[0].action, Action::Create);
    apply(&ctx, &first).await;
    let current = subscription_filter::read(&ctx, &group).await.unwrap();
    let mine = current
        .filters
        .iter()
        .find(|f| f.name == ours)
        .expect("ours is there");
    assert_eq!(mine.pattern, subscription_filter::pattern(&ctx.target));
    assert_eq!(
        mine.destination_arn,
        ctx.target.arns.function(&ctx.target.names.function())
    );
    assert_eq!(mine.role_arn, None);
    assert_converged(&filter_plan(&ctx, Mode::Apply).await);

    // Drift: ours deleted by hand.
    ctx.clients
        .logs
        .delete_subscription_filter()
        .log_group_name(&group)
        .filter_name(&ours)
        .send()
        .await
        .unwrap();
    let deleted = filter_plan(&ctx, Mode::Apply).await;
    assert_eq!(deleted.changes.len(), 1);
    assert_eq!(deleted.changes[0].action, Action::Create);
    apply(&ctx, &deleted).await;
    assert_converged(&filter_plan(&ctx, Mode::Apply).await);

    // Destroy removes ours by name; theirs stays.
    let destroy = filter_plan(&ctx, Mode::Destroy).await;
    assert_eq!(destroy.changes.len(), 1);
    apply(&ctx, &destroy).await;
    let left: Vec<String> = subscription_filter::read(&ctx, &group)
        .await
        .unwrap()
        .filters
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(left, ["splunk"]);
    assert_converged(&filter_plan(&ctx, Mode::Destroy).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_filter_pattern_is_put_back() {
    let (_account, ctx) = fixture(&["a@example.com"], None).await;
    seed_function_and_log_group(&ctx).await;
    apply(&ctx, &permission_plan(&ctx, Mode::Apply).await).await;
    apply(&ctx, &filter_plan(&ctx, Mode::Apply).await).await;
    // Drift: the pattern narrowed by hand (only ours on the group: moto refuses updates beside a second one).
    ctx.clients
        .logs
        .put_subscription_filter()
        .log_group_name(ctx.target.names.log_group())
        .filter_name(ctx.target.names.subscription_filter())
        .filter_pattern(r#"{ $.eventName = "ConsoleLogin" }"#)
        .destination_arn(ctx.target.arns.function(&ctx.target.names.function()))
        .send()
        .await
        .unwrap();
    let drift = filter_plan(&ctx, Mode::Apply).await;
    assert_eq!(drift.changes.len(), 1);
    assert_eq!(drift.changes[0].action, Action::Update);
    assert_eq!(drift.changes[0].attrs[0].name, "filter_pattern");
    apply(&ctx, &drift).await;
    assert_converged(&filter_plan(&ctx, Mode::Apply).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_filters_of_theirs_block_the_plan_instead_of_failing_mid_apply() {
    let (_account, ctx) = fixture(&["a@example.com"], None).await;
    seed_function_and_log_group(&ctx).await;
    seed_their_filter(&ctx, "splunk").await;
    seed_their_filter(&ctx, "datadog").await;
    let plan = filter_plan(&ctx, Mode::Apply).await;
    assert!(!plan.has_changes());
    assert_eq!(plan.blockers.len(), 1);
    assert!(
        plan.blockers[0].contains("2 subscription filters (")
            && plan.blockers[0].contains("splunk"),
        "{}",
        plan.blockers[0]
    );
    assert!(plan.blockers[0].contains("datadog"));
    assert_converged(&filter_plan(&ctx, Mode::Destroy).await);
    assert_eq!(
        subscription_filter::read(&ctx, &ctx.target.names.log_group())
            .await
            .unwrap()
            .filters
            .len(),
        2
    );
}

// ---------------------------------------------------------------- the five together

/// What `resources::plan` does for these five, in its order.
async fn all_plan(ctx: &Ctx, mode: Mode) -> Plan<Op> {
    let t = &ctx.target;
    let d = delivery(ctx);
    let topic = topic::read(ctx, &t.arns.topic(&t.names.topic()))
        .await
        .unwrap();
    let parameter = parameter::read(ctx, &t.names.slack_parameter())
        .await
        .unwrap();
    let function = function::read(ctx, &t.names.function()).await.unwrap();
    let permission = match &function {
        Some(_) => read_statements(ctx).await.unwrap(),
        None => Vec::new(),
    };
    let filters = subscription_filter::read(ctx, &d.log_group_name)
        .await
        .unwrap();
    let mut plan = new_plan(ctx, mode);
    match mode {
        Mode::Apply => {
            topic::plan_apply(topic.as_ref(), &topic::desired(t), &mut plan);
            parameter::plan_apply(parameter.as_ref(), &parameter::desired(t), &mut plan);
            function::plan_apply(
                function.as_ref(),
                &function::desired(t, &facts(ctx)),
                &mut plan,
            );
            permission::plan_apply(&permission, &permission::desired(t, &d), &mut plan);
            subscription_filter::plan_apply(
                &filters,
                &subscription_filter::desired(t, &d),
                &mut plan,
            );
        }
        Mode::Destroy => {
            subscription_filter::plan_destroy(&filters, &t.names.subscription_filter(), &mut plan);
            permission::plan_destroy(&permission, &t.names.permission_statement(), &mut plan);
            function::plan_destroy(function.as_ref(), &mut plan);
            parameter::plan_destroy(parameter.as_ref(), &mut plan);
            topic::plan_destroy(topic.as_ref(), &mut plan);
        }
    }
    plan
}

#[tokio::test(flavor = "multi_thread")]
async fn from_nothing_in_one_apply_then_a_second_apply_makes_no_write_call() {
    let (account, ctx) = fixture(&["a@example.com"], Some(WEBHOOK)).await;
    seed_role(&ctx).await;
    log_group::execute(
        &ctx,
        &log_group::Op::Create {
            name: ctx.target.names.log_group(),
            retention_days: 90,
        },
    )
    .await
    .unwrap();

    let first = all_plan(&ctx, Mode::Apply).await;
    assert_eq!(
        first.changes.len(),
        6,
        "topic, 1 subscription, parameter, function, permission, filter"
    );
    apply(&ctx, &first).await;

    let mark = account.requests().len();
    let second = all_plan(&ctx, Mode::Apply).await;
    assert_converged(&second);
    apply(&ctx, &second).await;
    let since = account.requests().split_off(mark);
    assert!(
        since.iter().any(|r| r.service == "lambda"),
        "the recorder saw the second run's reads: {since:?}"
    );
    let writes: Vec<String> = since
        .iter()
        .filter(|r| r.is_write())
        .map(|r| format!("{} {}", r.service, r.operation))
        .collect();
    assert_eq!(
        writes,
        Vec::<String>::new(),
        "a second apply makes zero write calls"
    );

    let destroy = all_plan(&ctx, Mode::Destroy).await;
    assert_eq!(
        destroy.changes.len(),
        5,
        "filter, permission, function, parameter, topic"
    );
    apply(&ctx, &destroy).await;
    assert_converged(&all_plan(&ctx, Mode::Destroy).await);
}

//! The function's invoke permission and the log group's subscription filter: converge, repair, keep the user's own.

use super::lambda::{function_plan, seed_role};
use super::*;

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
pub(super) async fn read_statements(ctx: &Ctx) -> anyhow::Result<Vec<permission::Current>> {
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

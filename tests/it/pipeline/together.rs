//! The five together in the engine's order: from nothing in one apply, then a second apply that writes nothing.

use super::invocation::read_statements;
use super::lambda::seed_role;
use super::*;

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

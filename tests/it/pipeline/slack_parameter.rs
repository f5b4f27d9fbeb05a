//! The Slack webhook parameter: a SecureString that converges without the URL ever being shown, and one of someone else's left alone.

use super::*;

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

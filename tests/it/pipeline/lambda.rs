//! The function: created from the bundle, updated only where it differs, an interrupted create finished, one of someone else's never touched, a missing role named.

use super::*;

/// The execution role the function needs (moto refuses CreateFunction without it).
pub(super) async fn seed_role(ctx: &Ctx) {
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

pub(super) async fn function_plan(ctx: &Ctx, mode: Mode) -> Plan<Op> {
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

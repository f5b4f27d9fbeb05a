//! The function's tags under the generated policy: Lambda's GetFunction returns them only to a caller
//! explicitly allowed lambda:ListTags, else its answer carries a `TagsError` and no tags. moto
//! authorizes nothing and always returns the tags, so Lambda's answer is mocked (aws-smithy-mocks)
//! as the evaluation of the generated policy decides it.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_lambda::Client as Lambda;
use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use aws_sdk_lambda::types::{FunctionConfiguration, State, TagsError};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use login_alert::aws::Clients;
use login_alert::bundle::handler_sha256;
use login_alert::commands::policy::{policies, target};
use login_alert::config::Route;
use login_alert::model::{Ctx, Facts, Target};
use login_alert::plan::{Mode, Plan};
use login_alert::printer::Printer;
use login_alert::resources::function;
use serde_json::Value;

use super::evaluate::allows;
use super::needs::Need;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-west-1";
const NOT_ALLOWED: &str = "User: arn:aws:sts::123456789012:assumed-role/operator/me is not authorized to perform: \
                           lambda:ListTags on resource: arn:aws:lambda:eu-west-1:123456789012:function:login-alert-handler";

/// `login-alert policy --output json` for `t`: each document under its managed policy's name.
fn generated(t: &Target) -> Value {
    Value::Object(
        policies(t)
            .into_iter()
            .map(|m| (m.name, m.document.to_value()))
            .collect(),
    )
}

/// A context whose Lambda client answers GetFunction for login-alert's function, deployed by
/// login-alert (tagged `managed-by = login-alert`), as Lambda answers a caller holding `policy`.
fn ctx_under(t: &Target, policy: &Value) -> Ctx {
    let name = t.names.function();
    let arn = t.arns.function(&name);
    let get = Need::new("lambda:GetFunction", arn.clone());
    assert!(
        allows(policy, &get),
        "the policy does not allow GetFunction at all"
    );
    let tags_allowed = allows(policy, &Need::new("lambda:ListTags", arn.clone()));
    let facts = Facts::new(t);
    let desired = function::desired(t, &facts);
    let rule = mock!(Lambda::get_function).then_output(move || {
        let configuration = FunctionConfiguration::builder()
            .function_name(&desired.name)
            .function_arn(&arn)
            .runtime(desired.config.runtime.as_str().into())
            .handler(&desired.config.handler)
            .architectures(desired.config.architecture.as_str().into())
            .timeout(desired.config.timeout)
            .memory_size(desired.config.memory_size)
            .role(&desired.config.role)
            .environment(
                aws_sdk_lambda::types::EnvironmentResponse::builder()
                    .set_variables(Some(
                        desired.config.environment.clone().into_iter().collect(),
                    ))
                    .build(),
            )
            .code_sha256(handler_sha256())
            .state(State::Active)
            .build();
        let out = GetFunctionOutput::builder().configuration(configuration);
        if tags_allowed {
            out.tags("managed-by", "login-alert").build()
        } else {
            out.tags_error(
                TagsError::builder()
                    .error_code("AccessDeniedException")
                    .message(NOT_ALLOWED)
                    .build()
                    .unwrap(),
            )
            .build()
        }
    });
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .build();
    let mut clients = Clients::new(&sdk);
    clients.lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&rule]);
    Ctx::new(clients, t.clone(), Printer::silent())
}

/// What the second `plan` does with the function: read it, then plan it against what it should be.
async fn second_plan(t: &Target, policy: &Value) -> anyhow::Result<Plan<function::Op>> {
    let ctx = ctx_under(t, policy);
    let current = function::read(&ctx, &t.names.function()).await?;
    let mut plan = Plan::new(Mode::Apply, ACCOUNT, REGION);
    function::plan_apply(
        current.as_ref(),
        &function::desired(t, &Facts::new(t)),
        &mut plan,
    );
    Ok(plan)
}

/// The "done when": under exactly the generated policy (evaluated), the second `plan` sees
/// login-alert's function as its own, with nothing to change and nothing blocking.
#[tokio::test]
async fn under_the_generated_policy_a_second_plan_sees_the_function_as_its_own() {
    for mode in Route::ALL {
        let t = target(REGION, "login-alert", mode, ACCOUNT);
        let plan = second_plan(&t, &generated(&t))
            .await
            .unwrap_or_else(|err| panic!("{}: {err:#}", mode.as_str()));
        assert!(
            plan.blockers.is_empty(),
            "{}: {:?}",
            mode.as_str(),
            plan.blockers
        );
        assert!(!plan.has_changes(), "{}: {:?}", mode.as_str(), plan.changes);
    }
}

/// Without lambda:ListTags (the policy before it was granted) the same plan stops with an error
/// that names the permission, and never calls the function "not created by login-alert".
#[tokio::test]
async fn without_list_tags_the_plan_fails_naming_the_permission_and_never_says_not_ours() {
    let t = target(REGION, "login-alert", Route::CloudwatchLogs, ACCOUNT);
    let mut policy = generated(&t);
    let mut removed = 0;
    for document in policy.as_object_mut().unwrap().values_mut() {
        for statement in document["Statement"].as_array_mut().unwrap() {
            if let Value::Array(actions) = &mut statement["Action"] {
                let before = actions.len();
                actions.retain(|a| a != "lambda:ListTags");
                removed += before - actions.len();
            }
        }
    }
    assert_eq!(
        removed, 1,
        "the generated policy grants lambda:ListTags once"
    );
    let err = second_plan(&t, &policy)
        .await
        .expect_err("the tags could not be read");
    let text = format!("{err:#}");
    assert!(
        text.contains("lambda:ListTags")
            && text.contains("AccessDeniedException")
            && text.contains("arn:aws:lambda:eu-west-1:123456789012:function:login-alert-handler")
            && text.contains("login-alert policy"),
        "{text}"
    );
    assert!(!text.contains("not created by login-alert"), "{text}");
}

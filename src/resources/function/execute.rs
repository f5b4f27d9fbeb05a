//! Doing what the plan says to the function: create, update (code, then configuration) and delete,
//! each retried while IAM propagates the role or Lambda is still busy with the last change.

use super::*;

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    match op {
        Op::Create { name, config } => create(ctx, name, config).await,
        Op::Update { name, code, config } => update(ctx, name, *code, config.as_ref()).await,
        Op::Delete { name } => ctx
            .clients
            .lambda
            .delete_function()
            .function_name(name)
            .send()
            .await
            .gone_doing(&["ResourceNotFoundException"], || {
                format!("deleting Lambda function {name}")
            }),
    }
}

/// What makes a Lambda call worth repeating.
pub(super) fn is_role_not_assumable(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("InvalidParameterValueException")
        && message.is_some_and(|m| m.contains(ROLE_NOT_ASSUMABLE))
}

fn is_busy(code: Option<&str>) -> bool {
    code == Some("ResourceConflictException")
}

fn environment_of(config: &Config) -> Environment {
    Environment::builder()
        .set_variables(Some(
            config
                .environment
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
        ))
        .build()
}

fn role_name(arn: &str) -> String {
    Arn::parse(arn).map_or(arn, |a| a.last_name()).to_owned()
}

async fn create(ctx: &Ctx, name: &str, config: &Config) -> Result<()> {
    let lambda = &ctx.clients.lambda;
    let result = patiently(
        &ctx.printer,
        ctx.iam_bound,
        format!(
            "waiting for IAM: Lambda cannot assume role {} yet",
            config.role
        ),
        "waiting for IAM to let Lambda assume the new role",
        |err: &aws_sdk_lambda::error::SdkError<_, _>| {
            is_role_not_assumable(error_code(err), error_message(err))
        },
        || {
            lambda
                .create_function()
                .function_name(name)
                .description(DESCRIPTION)
                .runtime(Runtime::from(config.runtime.as_str()))
                .handler(&config.handler)
                .architectures(Architecture::from(config.architecture.as_str()))
                .timeout(config.timeout)
                .memory_size(config.memory_size)
                .role(&config.role)
                .environment(environment_of(config))
                .code(
                    aws_sdk_lambda::types::FunctionCode::builder()
                        .zip_file(Blob::new(handler_zip()))
                        .build(),
                )
                .set_tags(Some(tags::managed()))
                .send()
        },
    )
    .await;
    match result {
        Ok(_) => wait_ready(ctx, name, After::Change).await,
        // Created by an interrupted run after this plan read the account: converge it instead.
        Err(Stopped::Failed(err)) if is_busy(error_code(&err)) => {
            update(ctx, name, true, Some(config)).await
        }
        Err(Stopped::Failed(err)) => {
            Err(explain(err)).with_context(|| format!("creating Lambda function {name}"))
        }
        Err(Stopped::TimedOut {
            attempts, waited, ..
        }) => Err(FunctionError::RoleNotAssumable {
            role: config.role.clone(),
            role_name: role_name(&config.role),
            attempts,
            waited_secs: waited.as_secs(),
        }
        .into()),
    }
}

async fn update(ctx: &Ctx, name: &str, code: bool, config: Option<&Config>) -> Result<()> {
    let lambda = &ctx.clients.lambda;
    // An earlier, interrupted run may have left an update in progress.
    wait_ready(ctx, name, After::Nothing).await?;
    if code {
        let architecture = config.map_or(ARCHITECTURE, |c| c.architecture.as_str());
        busy_retry(ctx, name, "uploading the code", None, || {
            lambda
                .update_function_code()
                .function_name(name)
                .zip_file(Blob::new(handler_zip()))
                .architectures(Architecture::from(architecture))
                .send()
        })
        .await?;
        wait_ready(ctx, name, After::Change).await?;
    }
    if let Some(config) = config {
        busy_retry(
            ctx,
            name,
            "updating the configuration",
            Some(&config.role),
            || {
                lambda
                    .update_function_configuration()
                    .function_name(name)
                    .description(DESCRIPTION)
                    .runtime(Runtime::from(config.runtime.as_str()))
                    .handler(&config.handler)
                    .timeout(config.timeout)
                    .memory_size(config.memory_size)
                    .role(&config.role)
                    .environment(environment_of(config))
                    .send()
            },
        )
        .await?;
        wait_ready(ctx, name, After::Change).await?;
    }
    Ok(())
}

/// Runs an update, repeating it while Lambda says the function is busy (`ResourceConflictException`)
/// or, when `role` is given, while the role is not yet assumable.
async fn busy_retry<T, E, F, Fut>(
    ctx: &Ctx,
    name: &str,
    what: &str,
    role: Option<&String>,
    op: F,
) -> Result<T>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
    F: FnMut() -> Fut,
    Fut: Future<
        Output = Result<
            T,
            aws_sdk_lambda::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
        >,
    >,
{
    let bound = if role.is_some() {
        longer(ctx.lambda_bound, ctx.iam_bound)
    } else {
        ctx.lambda_bound
    };
    let result = patiently(
        &ctx.printer,
        bound,
        format!("{what} of Lambda function {name}: waiting for Lambda to accept it"),
        "waiting for Lambda to accept the update",
        |err: &aws_sdk_lambda::error::SdkError<E, _>| {
            is_busy(error_code(err))
                || (role.is_some() && is_role_not_assumable(error_code(err), error_message(err)))
        },
        op,
    )
    .await;
    match result {
        Ok(value) => Ok(value),
        Err(Stopped::Failed(err)) => {
            Err(explain(err)).with_context(|| format!("{what} of Lambda function {name}"))
        }
        Err(Stopped::TimedOut {
            last,
            attempts,
            waited,
        }) => {
            let err = match role {
                Some(role) if is_role_not_assumable(error_code(&last), error_message(&last)) => {
                    FunctionError::RoleNotAssumable {
                        role: role.clone(),
                        role_name: role_name(role),
                        attempts,
                        waited_secs: waited.as_secs(),
                    }
                }
                _ => FunctionError::Busy {
                    name: name.to_owned(),
                    waited_secs: waited.as_secs(),
                },
            };
            Err(err.into())
        }
    }
}

fn longer(a: Bound, b: Bound) -> Bound {
    if a.total >= b.total { a } else { b }
}

/// What `wait_ready` follows: nothing of ours (before an update), or a change just made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    Nothing,
    Change,
}

/// Why the function is not ready yet, or that it never will be.
enum NotReady {
    Waiting { state: String, last_update: String },
    Failed(anyhow::Error),
}

/// Waits until `State=Active` and no update is in progress, so the next update is accepted.
async fn wait_ready(ctx: &Ctx, name: &str, after: After) -> Result<()> {
    let lambda = &ctx.clients.lambda;
    let result = patiently(
        &ctx.printer,
        ctx.lambda_bound,
        format!("waiting for Lambda function {name} to be ready"),
        "waiting for the function to become Active",
        |e: &NotReady| matches!(e, NotReady::Waiting { .. }),
        || async {
            let c = lambda
                .get_function_configuration()
                .function_name(name)
                .send()
                .await
                .map_err(|err| {
                    NotReady::Failed(
                        explain(err)
                            .context(format!("reading the state of Lambda function {name}")),
                    )
                })?;
            let state = c.state.as_ref().map_or("", |s| s.as_str());
            let last_update = c.last_update_status.as_ref().map_or("", |s| s.as_str());
            // A failed *earlier* update is what the coming update repairs; ours failing is final.
            let update_failed = last_update == "Failed" && after == After::Change;
            if state == "Failed" || update_failed {
                let (code, reason) = if state == "Failed" {
                    (
                        c.state_reason_code.as_ref().map(|r| r.as_str().to_owned()),
                        c.state_reason.clone(),
                    )
                } else {
                    (
                        c.last_update_status_reason_code
                            .as_ref()
                            .map(|r| r.as_str().to_owned()),
                        c.last_update_status_reason.clone(),
                    )
                };
                return Err(NotReady::Failed(
                    FunctionError::Failed {
                        name: name.to_owned(),
                        code: code.unwrap_or_else(|| "unknown".into()),
                        reason: reason.unwrap_or_else(|| "no reason given".into()),
                    }
                    .into(),
                ));
            }
            // An absent state (older APIs, emulators) counts as ready; so does Inactive (an idle
            // function), which an update reactivates.
            let ready = matches!(state, "" | "Active" | "Inactive") && last_update != "InProgress";
            if ready {
                Ok(())
            } else {
                Err(NotReady::Waiting {
                    state: state.to_owned(),
                    last_update: last_update.to_owned(),
                })
            }
        },
    )
    .await;
    match result {
        Ok(()) => Ok(()),
        Err(
            Stopped::Failed(NotReady::Failed(err))
            | Stopped::TimedOut {
                last: NotReady::Failed(err),
                ..
            },
        ) => Err(err),
        Err(Stopped::TimedOut {
            last: NotReady::Waiting { state, last_update },
            waited,
            ..
        }) => Err(FunctionError::NotReady {
            name: name.to_owned(),
            state,
            last_update,
            waited_secs: waited.as_secs(),
        }
        .into()),
        // Not produced (`Waiting` is always retried), but typed as possible.
        Err(Stopped::Failed(NotReady::Waiting { state, last_update })) => {
            Err(FunctionError::NotReady {
                name: name.to_owned(),
                state,
                last_update,
                waited_secs: 0,
            }
            .into())
        }
    }
}

//! The Lambda function running the bundled handler: created, updated only where it differs, deleted.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, Environment, Runtime};
use login_alert_handler::{
    ENV_ACCOUNT_NAME, ENV_ALERT_ON, ENV_BASELINE_DAYS, ENV_GROUP_WINDOW_MINUTES,
    ENV_HISTORY_REGIONS, ENV_LANGUAGE, ENV_NAME_PREFIX, ENV_SCOPE, ENV_SLACK_PARAMETER,
    ENV_STATE_TABLE, ENV_TEAMS_PARAMETER, ENV_TIMEZONE, ENV_TOPIC_ARN, ENV_TRAIL_LOG_GROUP,
    ENV_TRAIL_NAME, ENV_WEBHOOK_PARAMETER,
};
use serde::{Deserialize, Serialize};

use crate::arn::Arn;
use crate::aws::{SdkResultExt, error_code, error_message, explain};
use crate::bundle::{handler_sha256, handler_zip};
use crate::check::{Check, Link};
use crate::metrics;
use crate::model::{Ctx, Facts, Target};
use crate::names::WebhookKind;
use crate::part::Part;
use crate::plan::lifecycle::{FIX, not_ours, owned_when_managed};
use crate::plan::{Attr, Change, Plan};
use crate::policy::Grant;
use crate::retry::{Bound, Stopped, patiently};
use crate::tags;

mod execute;

pub use execute::execute;
#[cfg(test)]
use execute::is_role_not_assumable;

const KIND: &str = "Lambda function";
pub const RUNTIME: &str = "provided.al2023";
pub const HANDLER: &str = "bootstrap";
/// Must match the bundled binary (build.rs builds it for x86_64-unknown-linux-gnu).
pub const ARCHITECTURE: &str = "x86_64";
pub const TIMEOUT_SECONDS: i32 = 30;
pub const MEMORY_MB: i32 = 128;
const DESCRIPTION: &str = "login-alert: alerts on AWS console sign-ins and root activity";
/// Lambda's exact message while a new role is not yet visible to it (IAM propagation), and also
/// when the role is missing or does not trust lambda.amazonaws.com.
const ROLE_NOT_ASSUMABLE: &str = "cannot be assumed by Lambda";

/// Failures a caller (or a test) may want to tell apart; each says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    #[error(
        "Lambda still cannot assume role {role} after {attempts} attempts over {waited_secs}s: the role may be missing, or its \
         trust policy may not allow lambda.amazonaws.com to assume it (sts:AssumeRole). Check it with \
         `aws iam get-role --role-name {role_name}`; `login-alert apply` restores login-alert's own role"
    )]
    RoleNotAssumable {
        role: String,
        role_name: String,
        attempts: u32,
        waited_secs: u64,
    },
    #[error(
        "Lambda function {name} is still not ready after {waited_secs}s (state {state}, last update {last_update}): wait a \
         minute and run `login-alert apply` again, which continues from where this stopped"
    )]
    NotReady {
        name: String,
        state: String,
        last_update: String,
        waited_secs: u64,
    },
    #[error(
        "Lambda function {name} failed ({code}): {reason}. Fix the cause, then run `login-alert apply` again (or `login-alert \
         destroy` and apply to start over)"
    )]
    Failed {
        name: String,
        code: String,
        reason: String,
    },
    #[error(
        "Lambda function {name} exists, but Lambda did not return its tags ({code}: {message}): login-alert knows its own \
         function by its tags, and GetFunction returns them only to credentials explicitly allowed lambda:ListTags on it. \
         Allow lambda:ListTags on {arn} (it is in `login-alert policy`: update the policies attached to these credentials), \
         then run the command again"
    )]
    TagsNotReadable {
        name: String,
        arn: String,
        code: String,
        message: String,
    },
    #[error(
        "Lambda function {name} was still busy with another update after {waited_secs}s (ResourceConflictException): another \
         deployment may be running; wait for it to finish, then run `login-alert apply` again"
    )]
    Busy { name: String, waited_secs: u64 },
}

/// The settings login-alert controls, compared field by field with the live function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub runtime: String,
    pub handler: String,
    pub architecture: String,
    pub timeout: i32,
    pub memory_size: i32,
    pub role: String,
    pub environment: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Current {
    pub name: String,
    pub arn: String,
    pub config: Config,
    /// Base64 SHA-256 of the deployed package.
    pub code_sha256: String,
    /// Not in a fingerprint: they move on their own (Pending → Active) and no plan depends on them.
    #[serde(skip)]
    pub state: Option<String>,
    #[serde(skip)]
    pub last_update_status: Option<String>,
    pub managed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub name: String,
    pub config: Config,
    /// Of [`handler_zip`], the package `execute` uploads.
    pub code_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    Create {
        name: String,
        config: Config,
    },
    /// `code`: upload the bundled package (also how the architecture changes);
    /// `config`: UpdateFunctionConfiguration with these settings.
    Update {
        name: String,
        code: bool,
        config: Option<Config>,
    },
    Delete {
        name: String,
    },
}

/// The function running the bundled handler. It teaches whether it exists and is login-alert's:
/// its invoke permission is login-alert's to change only then.
pub struct Function;

impl Part for Function {
    const NAME: &'static str = "the function";
    type Current = Option<Current>;
    type Op = Op;
    const TEACHES: bool = true;

    fn permissions(&self, t: &Target) -> Vec<Grant> {
        let mut grants = vec![
            Grant::new(
                "Function",
                [
                    "lambda:GetFunction",
                    // GetFunction returns the tags (how login-alert knows its function) only to a caller
                    // explicitly allowed lambda:ListTags; without it the answer carries a TagsError.
                    "lambda:ListTags",
                    "lambda:GetFunctionConfiguration",
                    // CreateFunction with tags needs lambda:TagResource as well.
                    "lambda:CreateFunction",
                    "lambda:TagResource",
                    "lambda:UpdateFunctionCode",
                    "lambda:UpdateFunctionConfiguration",
                    "lambda:DeleteFunction",
                ],
                [t.function_arn()],
            ),
            // CreateFunction hands the execution role to Lambda.
            Grant::pass_role(
                "PassRoleToLambda",
                t.arns.role(&t.names.function_role()),
                "lambda.amazonaws.com",
            ),
        ];
        grants.extend(metrics::permissions());
        grants
    }

    async fn read(&self, ctx: &Ctx, _: &Facts) -> Result<Option<Current>> {
        read(ctx, &ctx.target.names.function()).await
    }

    fn learn(&self, current: &Option<Current>, _: &Target, facts: &mut Facts) {
        facts.function_managed = current.as_ref().map(|f| f.managed);
    }

    fn plan_apply(
        &self,
        current: &Option<Current>,
        t: &Target,
        facts: &Facts,
        plan: &mut Plan<Op>,
    ) {
        plan_apply(current.as_ref(), &desired(t, facts), plan);
    }

    fn plan_destroy(&self, current: &Option<Current>, _: &Target, _: &Facts, plan: &mut Plan<Op>) {
        plan_destroy(current.as_ref(), plan);
    }

    async fn checks(&self, ctx: &Ctx, current: &Option<Current>, _: &Facts) -> Result<Vec<Check>> {
        let t = &ctx.target;
        let Some(function) = current else {
            return Ok(vec![state_check(None, t)]);
        };
        let totals = metrics::sums(
            ctx,
            "AWS/Lambda",
            &["Errors", "Throttles"],
            ("FunctionName", &function.name),
            Duration::from_secs(24 * 3600),
        )
        .await;
        let mut checks = vec![state_check(Some(function), t)];
        match totals {
            Ok(totals) => {
                checks.push(errors_check(totals[0], t));
                checks.push(throttles_check(totals[1], t));
            }
            // Metrics only tell the past: without them the rest of the path is still worth showing.
            Err(err) => checks.push(Check::warning(
                Link::Function,
                "function errors and throttles (24 h)",
                format!("could not be read: {err:#}"),
                "allow cloudwatch:GetMetricData (see the operator policy in the README)",
            )),
        }
        Ok(checks)
    }
}

/// What `status` says of the function itself: there, login-alert's, and able to run.
pub fn state_check(current: Option<&Current>, t: &Target) -> Check {
    const NAME: &str = "function";
    let name = t.names.function();
    let Some(f) = current else {
        return Check::failing(
            Link::Function,
            NAME,
            format!("Lambda function {name} does not exist: no alert can be sent"),
            "run `login-alert apply`",
        );
    };
    if !f.managed {
        return Check::failing(
            Link::Function,
            NAME,
            not_ours(KIND, &name),
            format!("{FIX}, then run `login-alert apply`"),
        );
    }
    let state = f.state.as_deref().unwrap_or("");
    let last_update = f.last_update_status.as_deref().unwrap_or("");
    match (state, last_update) {
        ("Failed", _) | (_, "Failed") => Check::failing(
            Link::Function,
            NAME,
            format!("{name} is in state {state}, last update {last_update}: it cannot run"),
            format!(
                "`aws lambda get-function-configuration --function-name {name} --region {}` says why; `login-alert apply` deploys it again",
                t.region()
            ),
        ),
        ("Pending", _) | (_, "InProgress") => Check::warning(
            Link::Function,
            NAME,
            format!("{name} is still being deployed (state {state}, last update {last_update})"),
            "wait a minute and run `login-alert status` again",
        ),
        _ if f.code_sha256 != handler_sha256() => Check::warning(
            Link::Function,
            NAME,
            format!("{name} runs another handler build than this login-alert carries"),
            "run `login-alert apply` to deploy this one",
        ),
        _ => Check::ok(
            Link::Function,
            NAME,
            format!(
                "{name} is {}",
                if state.is_empty() { "ready" } else { state }
            ),
        ),
    }
}

/// Errors in the last 24 hours: alerts that failed at least once (Lambda retried them).
pub fn errors_check(errors: f64, t: &Target) -> Check {
    count_check("function errors (24 h)", errors, || {
        (
            format!("{errors} failed invocation(s) in the last 24 hours"),
            format!(
                "see why with `aws logs tail {} --since 24h --region {}`; what failed for good is in the failed-event queue",
                t.names.function_log_group(),
                t.region()
            ),
        )
    })
}

/// Throttles in the last 24 hours: alerts delayed because the account ran out of concurrency.
pub fn throttles_check(throttles: f64, t: &Target) -> Check {
    count_check("function throttles (24 h)", throttles, || {
        (
            format!(
                "{throttles} throttled invocation(s) in the last 24 hours: alerts were delayed"
            ),
            format!(
                "other functions use up the account's concurrency: see `aws lambda get-account-settings --region {}`, or reserve \
                 concurrency for {}",
                t.region(),
                t.names.function()
            ),
        )
    })
}

/// A count of bad invocations: none is fine, any is a warning with `what` happened and the fix.
fn count_check(name: &str, count: f64, what: impl FnOnce() -> (String, String)) -> Check {
    if count > 0.0 {
        let (said, fix) = what();
        Check::warning(Link::Function, name, said, fix)
    } else {
        Check::ok(Link::Function, name, "none")
    }
}

pub async fn read(ctx: &Ctx, name: &str) -> Result<Option<Current>> {
    let Some(out) = ctx
        .clients
        .lambda
        .get_function()
        .function_name(name)
        .send()
        .await
        .found_doing(&["ResourceNotFoundException"], || {
            format!("reading Lambda function {name}")
        })?
    else {
        return Ok(None);
    };
    let Some(c) = out.configuration else {
        return Ok(None);
    };
    // Without its tags the function cannot be told from another's: never read that as "not ours".
    if let Some(err) = out.tags_error {
        return Err(FunctionError::TagsNotReadable {
            name: name.to_owned(),
            arn: c
                .function_arn
                .clone()
                .unwrap_or_else(|| ctx.target.arns.function(name)),
            code: err.error_code,
            message: err.message,
        }
        .into());
    }
    let config = Config {
        runtime: c
            .runtime
            .as_ref()
            .map(|r| r.as_str().to_owned())
            .unwrap_or_default(),
        handler: c.handler.clone().unwrap_or_default(),
        architecture: c
            .architectures
            .as_ref()
            .and_then(|a| a.first())
            .map(|a| a.as_str().to_owned())
            // Lambda's default when the field is absent.
            .unwrap_or_else(|| ARCHITECTURE.to_owned()),
        timeout: c.timeout.unwrap_or_default(),
        memory_size: c.memory_size.unwrap_or_default(),
        role: c.role.clone().unwrap_or_default(),
        environment: c
            .environment
            .as_ref()
            .and_then(|e| e.variables.as_ref())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    };
    Ok(Some(Current {
        name: name.to_owned(),
        arn: c.function_arn.clone().unwrap_or_default(),
        config,
        code_sha256: c.code_sha256.clone().unwrap_or_default(),
        state: c.state.as_ref().map(|s| s.as_str().to_owned()),
        last_update_status: c.last_update_status.as_ref().map(|s| s.as_str().to_owned()),
        managed: tags::is_managed(&out.tags.unwrap_or_default()),
    }))
}

/// The function's environment: the handler's whole configuration (see `login_alert_handler::ENV_*`).
/// No webhook URL is here, only the names of the parameters holding them. `facts` say which log
/// group the trail delivers to (the handler treats changes to it as tampering).
pub fn environment(t: &Target, facts: &Facts) -> BTreeMap<String, String> {
    let mut env = BTreeMap::from([
        (ENV_ACCOUNT_NAME.to_owned(), t.account_name.clone()),
        (ENV_TIMEZONE.to_owned(), t.timezone.clone()),
        (ENV_SCOPE.to_owned(), t.scope.as_str().to_owned()),
        (ENV_LANGUAGE.to_owned(), t.language.as_str().to_owned()),
        (
            ENV_GROUP_WINDOW_MINUTES.to_owned(),
            t.group_window_minutes.to_string(),
        ),
        (ENV_ALERT_ON.to_owned(), t.alert_on.as_str().to_owned()),
        (ENV_BASELINE_DAYS.to_owned(), t.baseline_days.to_string()),
        (ENV_STATE_TABLE.to_owned(), t.names.state_table()),
        (ENV_NAME_PREFIX.to_owned(), t.names.prefix.clone()),
        (ENV_TRAIL_NAME.to_owned(), t.trail_name()),
    ]);
    if t.route.uses_logs() {
        env.insert(
            ENV_TRAIL_LOG_GROUP.to_owned(),
            facts.delivery.log_group_name.clone(),
        );
    } else {
        // Only EventBridge, which delivers on a best-effort basis: the digest run reads the event history of
        // every region a rule forwards from (the home region when the regions are not known yet).
        let regions = facts
            .regions
            .as_ref()
            .map(|r| r.enabled.join(","))
            .unwrap_or_else(|| t.region().to_owned());
        env.insert(ENV_HISTORY_REGIONS.to_owned(), regions);
    }
    if let Some(topic) = t.topic_arn() {
        env.insert(ENV_TOPIC_ARN.to_owned(), topic);
    }
    for (kind, var) in [
        (WebhookKind::Slack, ENV_SLACK_PARAMETER),
        (WebhookKind::Teams, ENV_TEAMS_PARAMETER),
        (WebhookKind::Json, ENV_WEBHOOK_PARAMETER),
    ] {
        if let Some(parameter) = t.webhook_parameter(kind) {
            env.insert(var.to_owned(), parameter);
        }
    }
    env
}

pub fn desired(t: &Target, facts: &Facts) -> Desired {
    Desired {
        name: t.names.function(),
        config: Config {
            runtime: RUNTIME.into(),
            handler: HANDLER.into(),
            architecture: ARCHITECTURE.into(),
            timeout: TIMEOUT_SECONDS,
            memory_size: MEMORY_MB,
            role: t.arns.role(&t.names.function_role()),
            environment: environment(t, facts),
        },
        code_sha256: handler_sha256(),
    }
}

/// One attribute per differing configuration field; environment variables one by one.
fn config_diff(current: &Config, desired: &Config) -> Vec<Attr> {
    let mut attrs = Vec::new();
    let mut field = |name: &str, before: serde_json::Value, after: serde_json::Value| {
        if before != after {
            attrs.push(Attr::new(name, Some(before), Some(after)));
        }
    };
    field(
        "runtime",
        current.runtime.clone().into(),
        desired.runtime.clone().into(),
    );
    field(
        "handler",
        current.handler.clone().into(),
        desired.handler.clone().into(),
    );
    field("timeout", current.timeout.into(), desired.timeout.into());
    field(
        "memory_size",
        current.memory_size.into(),
        desired.memory_size.into(),
    );
    field(
        "role",
        current.role.clone().into(),
        desired.role.clone().into(),
    );
    for (key, after) in &desired.environment {
        match current.environment.get(key) {
            Some(before) if before == after => {}
            before => attrs.push(Attr::new(
                &format!("environment.{key}"),
                before.map(|b| b.clone().into()),
                Some(after.clone().into()),
            )),
        }
    }
    for (key, before) in &current.environment {
        if !desired.environment.contains_key(key) {
            attrs.push(Attr::unset(&format!("environment.{key}"), before.clone()));
        }
    }
    attrs
}

pub fn plan_apply(current: Option<&Current>, desired: &Desired, plan: &mut Plan<impl From<Op>>) {
    plan.converge(
        KIND,
        &desired.name,
        current,
        || create_change(desired),
        |current| update_change(current, desired),
    );
}

fn create_change(desired: &Desired) -> Change<Op> {
    let c = &desired.config;
    let mut attrs = vec![
        Attr::set("runtime", c.runtime.clone()),
        Attr::set("handler", c.handler.clone()),
        Attr::set("architecture", c.architecture.clone()),
        Attr::set("timeout", c.timeout),
        Attr::set("memory_size", c.memory_size),
        Attr::set("role", c.role.clone()),
        Attr::set("code_sha256", desired.code_sha256.clone()),
    ];
    attrs.extend(
        c.environment
            .iter()
            .map(|(k, v)| Attr::set(&format!("environment.{k}"), v.clone())),
    );
    let op = Op::Create {
        name: desired.name.clone(),
        config: c.clone(),
    };
    Change::create(KIND, &desired.name, op).attrs(attrs)
}

/// The code (with the architecture: Lambda changes it only together with the code) and the
/// configuration, each only where it differs.
fn update_change(current: &Current, desired: &Desired) -> Option<Change<Op>> {
    let (was, will) = (&current.config, &desired.config);
    let mut attrs: Vec<Attr> = [
        Attr::differs("code_sha256", &current.code_sha256, &desired.code_sha256),
        Attr::differs("architecture", &was.architecture, &will.architecture),
    ]
    .into_iter()
    .flatten()
    .collect();
    let code = !attrs.is_empty();
    let config_attrs = config_diff(&current.config, &desired.config);
    let config = (!config_attrs.is_empty()).then(|| desired.config.clone());
    attrs.extend(config_attrs);
    (code || config.is_some()).then(|| {
        let op = Op::Update {
            name: desired.name.clone(),
            code,
            config,
        };
        Change::update(KIND, &desired.name, op).attrs(attrs)
    })
}

pub fn plan_destroy(current: Option<&Current>, plan: &mut Plan<impl From<Op>>) {
    plan.remove_ours(current, |current| {
        Change::delete_named(KIND, &current.name, |name| Op::Delete { name })
    });
}

owned_when_managed!(Current);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Mode};
    use crate::testing::{applied, assert_refused, attr_names, first, planned, test_plan};

    fn desired() -> Desired {
        Desired {
            name: "login-alert-handler".into(),
            config: Config {
                runtime: RUNTIME.into(),
                handler: HANDLER.into(),
                architecture: ARCHITECTURE.into(),
                timeout: TIMEOUT_SECONDS,
                memory_size: MEMORY_MB,
                role: "arn:aws:iam::123456789012:role/login-alert-handler".into(),
                environment: BTreeMap::from([
                    (ENV_ACCOUNT_NAME.to_owned(), "prod".to_owned()),
                    (ENV_SCOPE.to_owned(), "all".to_owned()),
                    (ENV_TIMEZONE.to_owned(), "UTC".to_owned()),
                ]),
            },
            code_sha256: "abc=".into(),
        }
    }

    fn current_matching() -> Current {
        let d = desired();
        Current {
            name: d.name,
            arn: "arn:aws:lambda:us-east-1:123456789012:function:login-alert-handler".into(),
            config: d.config,
            code_sha256: d.code_sha256,
            state: Some("Active".into()),
            last_update_status: Some("Successful".into()),
            managed: true,
        }
    }

    #[test]
    fn missing_function_is_created_with_every_setting_shown() {
        let plan: Plan<Op> = applied(plan_apply, None, &desired());
        first(&plan, Action::Create);
        let names = attr_names(&plan);
        for name in [
            "runtime",
            "handler",
            "architecture",
            "timeout",
            "memory_size",
            "role",
            "code_sha256",
            "environment.LOGIN_ALERT_SCOPE",
        ] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
    }

    #[test]
    fn matching_function_needs_nothing() {
        let plan: Plan<Op> = applied(plan_apply, Some(&current_matching()), &desired());
        assert!(!plan.has_changes());
    }

    #[test]
    fn new_code_updates_only_the_code() {
        let mut current = current_matching();
        current.code_sha256 = "old=".into();
        let plan: Plan<Op> = applied(plan_apply, Some(&current), &desired());
        assert_code_only(&plan, "code_sha256");
    }

    #[test]
    fn a_changed_timeout_or_environment_updates_only_the_configuration() {
        let mut current = current_matching();
        current.config.timeout = 3;
        current
            .config
            .environment
            .insert(ENV_SCOPE.into(), "root-only".into());
        current
            .config
            .environment
            .insert("EXTRA".into(), "x".into());
        let plan: Plan<Op> = applied(plan_apply, Some(&current), &desired());
        assert_eq!(
            attr_names(&plan),
            [
                "timeout",
                "environment.LOGIN_ALERT_SCOPE",
                "environment.EXTRA"
            ]
        );
        assert_eq!(plan.changes[0].attrs[0], Attr::change("timeout", 3, 30));
        assert_eq!(
            plan.changes[0].attrs[2],
            Attr::unset("environment.EXTRA", "x")
        );
        let Op::Update { code, config, .. } = &plan.changes[0].op else {
            panic!("expected an update")
        };
        assert!(!code);
        assert_eq!(config.as_ref(), Some(&desired().config));
    }

    #[test]
    fn a_missing_environment_variable_is_added() {
        let mut current = current_matching();
        current.config.environment.remove(ENV_TIMEZONE);
        let plan: Plan<Op> = applied(plan_apply, Some(&current), &desired());
        assert_eq!(
            plan.changes[0].attrs[0],
            Attr::new("environment.LOGIN_ALERT_TIMEZONE", None, Some("UTC".into()))
        );
    }

    #[test]
    fn a_changed_architecture_goes_with_the_code() {
        let mut current = current_matching();
        current.config.architecture = "arm64".into();
        let plan: Plan<Op> = applied(plan_apply, Some(&current), &desired());
        assert_code_only(&plan, "architecture");
    }

    /// One update that replaces the code alone, showing `attr` as the only difference.
    fn assert_code_only(plan: &Plan<Op>, attr: &str) {
        assert_eq!(attr_names(plan), [attr]);
        assert!(matches!(
            &plan.changes[0].op,
            Op::Update {
                code: true,
                config: None,
                ..
            }
        ));
    }

    #[test]
    fn a_function_that_is_not_ours_is_never_touched() {
        let mut current = current_matching();
        current.managed = false;
        current.code_sha256 = "theirs=".into();
        let plan: Plan<Op> = applied(plan_apply, Some(&current), &desired());
        assert_refused(&plan);
        let plan: Plan<Op> = planned(Mode::Destroy, |plan| plan_destroy(Some(&current), plan));
        assert!(!plan.has_changes());
        assert_eq!(plan.notices.len(), 1);
    }

    #[test]
    fn destroy_deletes_our_function() {
        let mut plan: Plan<Op> = test_plan(Mode::Destroy);
        plan_destroy(Some(&current_matching()), &mut plan);
        plan_destroy(None, &mut plan);
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].action, Action::Delete);
    }

    #[test]
    fn only_the_exact_role_error_is_retried() {
        assert!(is_role_not_assumable(
            Some("InvalidParameterValueException"),
            Some("The role defined for the function cannot be assumed by Lambda.")
        ));
        assert!(!is_role_not_assumable(
            Some("InvalidParameterValueException"),
            Some("Unzipped size must be smaller than 262144000 bytes")
        ));
        assert!(!is_role_not_assumable(
            Some("AccessDeniedException"),
            Some("cannot be assumed by Lambda")
        ));
    }

    #[test]
    fn the_environment_names_the_parameter_never_the_url() {
        let config = crate::config::Config {
            account_name: Some("prod".into()),
            timezone: "Asia/Tokyo".into(),
            scope: login_alert_handler::Scope::RootOnly,
            notify: crate::config::NotifyConfig {
                emails: vec![],
                slack_webhook_url: Some("https://hooks.slack.com/services/T/B/secret-token".into()),
                teams_webhook_url: None,
                webhook_url: None,
            },
            ..crate::config::sample("eu-west-1")
        };
        let t = Target::new(&config, "123456789012");
        let facts = Facts::new(&t);
        let env = environment(&t, &facts);
        assert_eq!(env[ENV_SLACK_PARAMETER], "/login-alert/slack-webhook-url");
        assert_eq!(env[ENV_SCOPE], "root-only");
        assert_eq!(env[ENV_TIMEZONE], "Asia/Tokyo");
        assert_eq!(env[ENV_ACCOUNT_NAME], "prod");
        assert_eq!(env[ENV_LANGUAGE], "en");
        assert_eq!(env[ENV_GROUP_WINDOW_MINUTES], "15");
        assert_eq!(env[ENV_ALERT_ON], "all");
        assert_eq!(env[ENV_BASELINE_DAYS], "90");
        assert_eq!(env[ENV_STATE_TABLE], "login-alert-state");
        assert_eq!(env[ENV_NAME_PREFIX], "login-alert");
        assert_eq!(env[ENV_TRAIL_NAME], "audit");
        assert_eq!(env[ENV_TRAIL_LOG_GROUP], "/login-alert/cloudtrail");
        assert!(!env.contains_key(ENV_TOPIC_ARN), "no emails, no topic");
        assert!(!env.contains_key(ENV_TEAMS_PARAMETER) && !env.contains_key(ENV_WEBHOOK_PARAMETER));
        assert!(!format!("{env:?}").contains("secret-token"));
        let d = super::desired(&t, &facts);
        assert_eq!(
            d.config.role,
            "arn:aws:iam::123456789012:role/login-alert-handler"
        );
        assert_eq!(d.code_sha256, handler_sha256());
    }

    fn prod_target() -> Target {
        let config = crate::config::sample("eu-west-1");
        Target::new(&config, "123456789012")
    }

    #[test]
    fn the_environment_follows_the_language_window_webhooks_trail_and_its_log_group() {
        let mut config = crate::config::Config::read_str(
            "region = \"eu-west-1\"\nname_prefix = \"la\"\nlanguage = \"ja\"\ngroup_window_minutes = 60\n\
             alert_on = \"unusual\"\nbaseline_days = 30\n\
             [trail]\nname = \"arn:aws:cloudtrail:eu-west-1:123456789012:trail/org-audit\"\n\
             [notify]\nteams_webhook_url = \"https://x.logic.azure.com/workflows/TEAMS-SECRET\"\n\
             webhook_url = \"https://alerts.example.com/JSON-SECRET\"\n",
        );
        let t = Target::new(&config, "123456789012");
        let mut facts = Facts::new(&t);
        // The adopted trail already delivered to a group of its own: that is the one to watch.
        facts.delivery = crate::model::Delivery {
            log_group_name: "aws-cloudtrail-logs-org".into(),
            ours: false,
        };
        let env = environment(&t, &facts);
        assert_eq!(env[ENV_LANGUAGE], "ja");
        assert_eq!(env[ENV_GROUP_WINDOW_MINUTES], "60");
        assert_eq!(env[ENV_ALERT_ON], "unusual");
        assert_eq!(env[ENV_BASELINE_DAYS], "30");
        assert_eq!(env[ENV_STATE_TABLE], "la-state");
        assert_eq!(env[ENV_NAME_PREFIX], "la");
        assert_eq!(env[ENV_TRAIL_NAME], "org-audit");
        assert_eq!(env[ENV_TRAIL_LOG_GROUP], "aws-cloudtrail-logs-org");
        assert_eq!(env[ENV_TEAMS_PARAMETER], "/la/teams-webhook-url");
        assert_eq!(env[ENV_WEBHOOK_PARAMETER], "/la/webhook-url");
        assert!(!env.contains_key(ENV_SLACK_PARAMETER));
        let shown = format!("{env:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(
            !env.contains_key(ENV_HISTORY_REGIONS),
            "CloudWatch Logs keeps every event: no backfill"
        );

        // EventBridge mode has no trail log group; a created trail is login-alert's own; the digest run reads
        // the event history of every enabled region.
        config.mode = crate::config::Route::Eventbridge;
        config.trail = crate::config::TrailConfig {
            name: None,
            create: true,
        };
        let t = Target::new(&config, "123456789012");
        let mut facts = Facts::new(&t);
        let env = environment(&t, &facts);
        assert!(!env.contains_key(ENV_TRAIL_LOG_GROUP));
        assert_eq!(env[ENV_TRAIL_NAME], "la-trail");
        assert_eq!(
            env[ENV_HISTORY_REGIONS], "eu-west-1",
            "regions not read yet"
        );
        facts.regions = Some(crate::model::Regions {
            enabled: vec!["eu-west-1".into(), "us-east-1".into()],
            skipped: vec!["me-south-1".into()],
        });
        assert_eq!(
            environment(&t, &facts)[ENV_HISTORY_REGIONS],
            "eu-west-1,us-east-1"
        );
        config.mode = crate::config::Route::Both;
        let t = Target::new(&config, "123456789012");
        assert!(!environment(&t, &facts).contains_key(ENV_HISTORY_REGIONS));
    }

    #[test]
    fn status_says_whether_the_function_can_run() {
        use crate::check::Status;
        let t = prod_target();
        let mut f = current_matching();
        f.code_sha256 = handler_sha256();
        assert_eq!(state_check(Some(&f), &t).status, Status::Ok);
        assert_eq!(state_check(None, &t).status, Status::Failing);
        let mut failed = f.clone();
        failed.state = Some("Failed".into());
        assert_eq!(state_check(Some(&failed), &t).status, Status::Failing);
        let mut pending = f.clone();
        pending.state = Some("Pending".into());
        assert_eq!(state_check(Some(&pending), &t).status, Status::Warning);
        let mut old = f.clone();
        old.code_sha256 = "old=".into();
        assert!(
            state_check(Some(&old), &t)
                .detail
                .contains("another handler build")
        );
        let mut theirs = f;
        theirs.managed = false;
        assert_eq!(state_check(Some(&theirs), &t).status, Status::Failing);
    }

    #[test]
    fn errors_and_throttles_of_the_last_day_need_attention() {
        use crate::check::Status;
        let t = prod_target();
        assert_eq!(errors_check(0.0, &t).status, Status::Ok);
        let errors = errors_check(3.0, &t);
        assert_eq!(errors.status, Status::Warning);
        assert!(errors.detail.starts_with("3 failed invocation(s)"));
        assert!(errors.fix.unwrap().contains(
            "aws logs tail /aws/lambda/login-alert-handler --since 24h --region eu-west-1"
        ));
        assert_eq!(throttles_check(0.0, &t).status, Status::Ok);
        assert_eq!(throttles_check(1.0, &t).status, Status::Warning);
    }

    #[test]
    fn the_final_role_error_names_the_trust_policy() {
        let err = FunctionError::RoleNotAssumable {
            role: "arn:aws:iam::1:role/r".into(),
            role_name: "r".into(),
            attempts: 9,
            waited_secs: 120,
        };
        let text = err.to_string();
        assert!(
            text.contains("may be missing")
                && text.contains("trust policy")
                && text.contains("lambda.amazonaws.com")
        );
    }
}

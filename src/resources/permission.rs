//! The function's resource policy: the one statement that lets the mode's sender invoke it —
//! CloudWatch Logs for the trail's log group, or EventBridge for the home rule — and no other.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::policies::statements;
use crate::arn::regional_resource;
use crate::aws::{SdkResultExt, error_code, error_message, explain};
use crate::check::{Check, Link};
use crate::model::{Ctx, Delivery, Facts, Target};
use crate::part::Part;
use crate::plan::{Action, Attr, Change, Plan};
use crate::policy::Grant;
use crate::retry::{Stopped, patiently};

const KIND: &str = "Lambda permission";
const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
pub const PRINCIPAL: &str = "logs.amazonaws.com";
/// EventBridge mode's sender: the home rule invokes the function.
pub const EVENTS_PRINCIPAL: &str = "events.amazonaws.com";
pub const ACTION: &str = "lambda:InvokeFunction";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Current {
    pub function: String,
    pub statement_id: String,
    pub effect: String,
    pub principal: String,
    pub action: String,
    pub source_arn: Option<String>,
    pub source_account: Option<String>,
    /// Whether the function carrying the statement is ours (the statement itself cannot be tagged).
    pub function_managed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub function: String,
    pub statement_id: String,
    /// [`PRINCIPAL`] or [`EVENTS_PRINCIPAL`].
    pub principal: String,
    /// CloudWatch Logs: the log group ARN with the trailing `:*` (without it PutSubscriptionFilter
    /// fails "Could not execute the lambda function"); EventBridge: the home rule's ARN.
    pub source_arn: String,
    pub source_account: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    Add {
        function: String,
        statement_id: String,
        principal: String,
        source_arn: String,
        source_account: String,
    },
    /// A statement cannot be edited: remove it and add it again.
    Replace {
        function: String,
        statement_id: String,
        principal: String,
        source_arn: String,
        source_account: String,
    },
    Remove {
        function: String,
        statement_id: String,
    },
}

/// The statements of the function's resource policy: login-alert's (by its statement id) and any other.
pub struct Permission;

impl Part for Permission {
    const NAME: &'static str = "the invoke permission";
    type Current = Vec<Current>;
    type Op = Op;

    /// The same calls in both modes: one mode's statement is added, the other's removed.
    fn permissions(&self, t: &Target) -> Vec<Grant> {
        vec![Grant::new(
            "Function",
            [
                "lambda:GetPolicy",
                "lambda:AddPermission",
                "lambda:RemovePermission",
            ],
            [t.function_arn()],
        )]
    }

    /// Read beside the function (a missing function reads as no statement); whether the function
    /// is login-alert's comes from what the function part teaches, at plan time.
    async fn read(&self, ctx: &Ctx, _: &Facts) -> Result<Vec<Current>> {
        read_statements(ctx, &ctx.target.names.function(), false).await
    }

    fn plan_apply(&self, current: &Vec<Current>, t: &Target, facts: &Facts, plan: &mut Plan<Op>) {
        let current = with_function(current, facts);
        plan_apply_all(&current, &desired_all(t, facts), plan);
    }

    fn plan_destroy(&self, current: &Vec<Current>, t: &Target, facts: &Facts, plan: &mut Plan<Op>) {
        let current = with_function(current, facts);
        plan_destroy(&current, &t.names.permission_statement(), plan);
        plan_destroy(&current, &t.names.events_permission_statement(), plan);
        plan_destroy(&current, &t.names.digest_permission_statement(), plan);
        plan_destroy(&current, &t.names.central_bus(), plan);
    }

    async fn checks(&self, ctx: &Ctx, current: &Vec<Current>, facts: &Facts) -> Result<Vec<Check>> {
        // Without login-alert's function there is nothing to invoke: the function's check says so.
        if facts.function_managed != Some(true) {
            return Ok(Vec::new());
        }
        let all = desired_all(&ctx.target, facts);
        Ok(statement_checks(
            &all,
            &with_function(current, facts),
            &ctx.target.names.digest_permission_statement(),
        ))
    }
}

/// What `status` says of each of login-alert's statements (from the changes apply would make to
/// it), then of each statement login-alert did not write, named by its Sid with what it allows.
fn statement_checks(all: &[Desired], statements: &[Current], digest: &str) -> Vec<Check> {
    let mut plan: Plan<Op> = Plan::probe();
    plan_apply_all(statements, all, &mut plan);
    let routes = all.iter().filter(|d| d.statement_id != digest).count();
    let mut checks: Vec<Check> = all
        .iter()
        .map(|desired| {
            let mine = format!("{} on ", desired.statement_id);
            let mut own = plan.empty_like::<Op>();
            own.blockers = plan.blockers.clone();
            own.changes = plan
                .changes
                .iter()
                .filter(|c| c.name.starts_with(&mine))
                .cloned()
                .collect();
            if desired.statement_id == digest {
                check_named(
                    &own,
                    desired,
                    "digest invoke permission",
                    "so grouped alerts are never summarised in a digest",
                )
            } else if routes > 1 {
                // `both` mode: one statement per way in, each named by its sender.
                let name = format!("{} invoke permission", sender(&desired.principal));
                check_named(&own, desired, &name, "so no alert can arrive that way")
            } else {
                check(&own, desired)
            }
        })
        .collect();
    // A stranger's statement leaves login-alert's intact (alerts still arrive): what is wrong is
    // what it lets others do.
    checks.extend(
        statements
            .iter()
            .filter(|s| s.function_managed)
            .filter(|s| !all.iter().any(|d| d.statement_id == s.statement_id))
            .map(foreign_check),
    );
    checks
}

/// A statement login-alert did not write: its Sid, who it lets invoke the function and on what condition.
fn foreign_check(other: &Current) -> Check {
    let conditions: Vec<String> = [
        other.source_arn.as_ref().map(|a| format!("from {a}")),
        other
            .source_account
            .as_ref()
            .map(|a| format!("from account {a}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let who = match other.principal.as_str() {
        "*" if conditions.is_empty() => "anyone (Principal \"*\")".to_owned(),
        "*" => format!("any principal (Principal \"*\") {}", conditions.join(" ")),
        p if conditions.is_empty() => p.to_owned(),
        p => format!("{p} {}", conditions.join(" ")),
    };
    let action = if other.action.is_empty() {
        "(no action)"
    } else {
        other.action.as_str()
    };
    let what = if other.effect == "Allow" {
        format!(
            "lets {who} call {action} on the function: whoever it lets in can send the function made-up sign-in events, \
             which it sends on as fake alerts (or floods the real ones with)"
        )
    } else {
        format!("says {} {action} for {who}", other.effect)
    };
    Check::warning(
        Link::Invoke,
        format!("foreign invoke permission {}", other.statement_id),
        format!(
            "statement {} on {} was not written by login-alert: it {what}",
            other.statement_id, other.function
        ),
        "run `login-alert apply` to remove it (`login-alert plan` shows the removal)",
    )
}

/// What `status` says: the statement is as apply would leave it (what apply would change is what is wrong).
fn check(plan: &Plan<Op>, desired: &Desired) -> Check {
    check_named(plan, desired, "invoke permission", "so no alert can arrive")
}

/// [`check`] for one statement: what it is called, and what its absence means.
fn check_named(plan: &Plan<Op>, desired: &Desired, name: &str, without: &str) -> Check {
    let Some(change) = plan.changes.first() else {
        if let Some(blocker) = plan.blockers.first() {
            return Check::failing(
                Link::Invoke,
                name,
                blocker.clone(),
                "see `login-alert plan`",
            );
        }
        return Check::ok(
            Link::Invoke,
            name,
            format!(
                "{} may invoke {} for {}",
                sender(&desired.principal),
                desired.function,
                desired.source_arn
            ),
        );
    };
    let what = match change.action {
        Action::Create => "is missing".to_owned(),
        _ => {
            let fields: Vec<&str> = change.attrs.iter().map(|a| a.name.as_str()).collect();
            format!("differs ({})", fields.join(", "))
        }
    };
    Check::failing(
        Link::Invoke,
        name,
        format!(
            "statement {} on {} {what}: {} cannot invoke the function, {without}",
            desired.statement_id,
            desired.function,
            sender(&desired.principal)
        ),
        "run `login-alert apply`",
    )
}

/// The statements as read, with what the function part taught: whether the function is ours.
fn with_function(current: &[Current], facts: &Facts) -> Vec<Current> {
    current
        .iter()
        .cloned()
        .map(|mut c| {
            c.function_managed = facts.function_managed == Some(true);
            c
        })
        .collect()
}

/// Every statement of the resource policy of `function`, as [`super::function::read`] found it
/// (its tags already say whether the function is ours, so they are not read again here).
pub async fn read(ctx: &Ctx, function: &super::function::Current) -> Result<Vec<Current>> {
    read_statements(ctx, &function.name, function.managed).await
}

async fn read_statements(
    ctx: &Ctx,
    function: &str,
    function_managed: bool,
) -> Result<Vec<Current>> {
    // No function, or a function without any resource policy.
    let Some(out) = ctx
        .clients
        .lambda
        .get_policy()
        .function_name(function)
        .send()
        .await
        .found_doing(NOT_FOUND, || {
            format!("reading the resource policy of Lambda function {function}")
        })?
    else {
        return Ok(Vec::new());
    };
    let policy: Value =
        serde_json::from_str(&out.policy.unwrap_or_default()).with_context(|| {
            format!("Lambda returned a resource policy for {function} that is not JSON")
        })?;
    Ok(statements(&policy)
        .into_iter()
        .map(|s| parse_statement(function, s, function_managed))
        .collect())
}

/// A policy value that may be a string or a list of strings, as one string.
fn one(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    }
}

/// The value of a condition key (`AWS:SourceArn`, `AWS:SourceAccount`) under whatever operator it sits.
fn condition(statement: &Value, key: &str) -> Option<String> {
    let Value::Object(operators) = &statement["Condition"] else {
        return None;
    };
    operators.values().find_map(|entries| match entries {
        Value::Object(entries) => entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| one(v)),
        _ => None,
    })
}

fn parse_statement(function: &str, s: &Value, function_managed: bool) -> Current {
    let principal = match &s["Principal"] {
        Value::Object(p) => p
            .get("Service")
            .or_else(|| p.get("AWS"))
            .and_then(one)
            .unwrap_or_default(),
        other => one(other).unwrap_or_default(),
    };
    Current {
        function: function.to_owned(),
        statement_id: one(&s["Sid"]).unwrap_or_default(),
        effect: one(&s["Effect"]).unwrap_or_default(),
        principal,
        action: one(&s["Action"]).unwrap_or_default(),
        source_arn: condition(s, "AWS:SourceArn"),
        source_account: condition(s, "AWS:SourceAccount"),
        function_managed,
    }
}

/// Older documentation uses the regional form `logs.REGION.amazonaws.com`: it grants the same.
pub fn is_logs_principal(principal: &str) -> bool {
    principal == PRINCIPAL
        || principal
            .strip_prefix("logs.")
            .and_then(|rest| rest.strip_suffix(".amazonaws.com"))
            .is_some_and(|region| {
                !region.is_empty()
                    && region
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
}

/// `arn:PARTITION:logs:REGION:ACCOUNT:log-group:NAME:*` — the only SourceArn form that works.
pub fn is_log_group_wildcard_arn(arn: &str) -> bool {
    regional_resource(arn, "logs", "log-group")
        .and_then(|rest| rest.strip_suffix(":*"))
        .is_some_and(|name| !name.is_empty() && !name.contains(':'))
}

/// Who sends the events, in words.
fn sender(principal: &str) -> &'static str {
    if principal == EVENTS_PRINCIPAL {
        "EventBridge"
    } else {
        "CloudWatch Logs"
    }
}

/// Every statement login-alert wants: its mode's sender's, and the digest schedule's.
pub fn desired_all(t: &Target, facts: &Facts) -> Vec<Desired> {
    let mut all = Vec::with_capacity(3);
    if t.route.uses_logs() {
        all.push(desired(t, &facts.delivery));
    }
    if t.route.uses_eventbridge() {
        all.push(desired_events(t));
    }
    if t.organization_events() {
        all.push(desired_central(t));
    }
    all.push(desired_digest(t));
    all
}

/// Organization coverage: the central bus's rule may invoke the function.
pub fn desired_central(t: &Target) -> Desired {
    let bus = t.names.central_bus();
    Desired {
        function: t.names.function(),
        statement_id: bus.clone(),
        principal: EVENTS_PRINCIPAL.to_owned(),
        source_arn: t.arns.bus_rule(&bus, &bus),
        source_account: t.account_id().to_owned(),
    }
}

/// The digest schedule may invoke the function.
pub fn desired_digest(t: &Target) -> Desired {
    from_rule(
        t,
        t.names.digest_permission_statement(),
        &t.names.digest_rule(),
    )
}

/// EventBridge mode: the home rule may invoke the function.
pub fn desired_events(t: &Target) -> Desired {
    from_rule(
        t,
        t.names.events_permission_statement(),
        &t.names.events_rule(),
    )
}

/// The statement `statement_id` letting login-alert's rule `rule` (in the home region) invoke the function.
fn from_rule(t: &Target, statement_id: String, rule: &str) -> Desired {
    Desired {
        function: t.names.function(),
        statement_id,
        principal: EVENTS_PRINCIPAL.to_owned(),
        source_arn: t.arns.rule(t.region(), rule),
        source_account: t.account_id().to_owned(),
    }
}

/// CloudWatch Logs mode: the trail's log group may invoke the function.
pub fn desired(t: &Target, delivery: &Delivery) -> Desired {
    Desired {
        function: t.names.function(),
        statement_id: t.names.permission_statement(),
        principal: PRINCIPAL.to_owned(),
        source_arn: t.arns.log_group_wildcard(&delivery.log_group_name),
        source_account: t.account_id().to_owned(),
    }
}

fn attrs_of(desired: &Desired) -> [(&'static str, String); 4] {
    [
        ("principal", desired.principal.clone()),
        ("action", ACTION.to_owned()),
        ("source_arn", desired.source_arn.clone()),
        ("source_account", desired.source_account.clone()),
    ]
}

/// Puts login-alert's statement in place and removes every other statement of our function's policy.
pub fn plan_apply(statements: &[Current], desired: &Desired, plan: &mut Plan<impl From<Op>>) {
    plan_apply_all(statements, std::slice::from_ref(desired), plan);
}

/// Puts each of login-alert's statements in place and removes every other statement of our function's policy.
pub fn plan_apply_all(statements: &[Current], desired: &[Desired], plan: &mut Plan<impl From<Op>>) {
    let (_, others): (Vec<&Current>, Vec<&Current>) = statements
        .iter()
        .partition(|s| desired.iter().any(|d| d.statement_id == s.statement_id));
    for wanted in desired {
        let ours = statements
            .iter()
            .find(|s| s.statement_id == wanted.statement_id);
        plan_ours(ours, wanted, plan);
    }
    // Someone else's function keeps its policy (its own plan blocks apply).
    for other in others.into_iter().filter(|s| s.function_managed) {
        plan.push(Some(remove_other(other)));
    }
}

/// A statement login-alert did not write: whoever it names may invoke the function.
fn remove_other(other: &Current) -> Change<Op> {
    let mut attrs = vec![
        Attr::unset("principal", other.principal.clone()),
        Attr::unset("action", other.action.clone()),
    ];
    if let Some(arn) = &other.source_arn {
        attrs.push(Attr::unset("source_arn", arn.clone()));
    }
    if let Some(account) = &other.source_account {
        attrs.push(Attr::unset("source_account", account.clone()));
    }
    Change::delete(KIND, format!("{} on {}", other.statement_id, other.function), Op::Remove {
            function: other.function.clone(),
            statement_id: other.statement_id.clone(),
        },
    )
    .attrs(attrs)
    .note("not login-alert's: only login-alert's sender (CloudWatch Logs or EventBridge) may invoke the function")
}

/// login-alert's own statement: added, or replaced where it differs.
fn plan_ours(current: Option<&Current>, desired: &Desired, plan: &mut Plan<impl From<Op>>) {
    if desired.principal == PRINCIPAL && !is_log_group_wildcard_arn(&desired.source_arn) {
        plan.block(format!(
            "the invoke permission's SourceArn {} is not a log group ARN ending in `:*`: check the trail's log group name",
            desired.source_arn
        ));
        return;
    }
    let name = format!("{} on {}", desired.statement_id, desired.function);
    let fields = || {
        (
            desired.function.clone(),
            desired.statement_id.clone(),
            desired.principal.clone(),
            desired.source_arn.clone(),
            desired.source_account.clone(),
        )
    };
    let change = match current {
        None => {
            let (function, statement_id, principal, source_arn, source_account) = fields();
            Some(
                Change::create(
                    KIND,
                    name,
                    Op::Add {
                        function,
                        statement_id,
                        principal,
                        source_arn,
                        source_account,
                    },
                )
                .attrs(attrs_of(desired).into_iter().map(|(k, v)| Attr::set(k, v))),
            )
        }
        // The function is someone else's (its own plan blocks apply): leave its policy alone.
        Some(current) if !current.function_managed => None,
        Some(current) => {
            let mut attrs = Vec::new();
            if current.effect != "Allow" {
                attrs.push(Attr::change("effect", current.effect.clone(), "Allow"));
            }
            let same_principal = if desired.principal == PRINCIPAL {
                is_logs_principal(&current.principal)
            } else {
                current.principal == desired.principal
            };
            if !same_principal {
                attrs.push(Attr::change(
                    "principal",
                    current.principal.clone(),
                    desired.principal.clone(),
                ));
            }
            if current.action != ACTION {
                attrs.push(Attr::change("action", current.action.clone(), ACTION));
            }
            if current.source_arn.as_deref() != Some(desired.source_arn.as_str()) {
                attrs.push(Attr::new(
                    "source_arn",
                    current.source_arn.clone().map(Value::from),
                    Some(desired.source_arn.clone().into()),
                ));
            }
            if current.source_account.as_deref() != Some(desired.source_account.as_str()) {
                attrs.push(Attr::new(
                    "source_account",
                    current.source_account.clone().map(Value::from),
                    Some(desired.source_account.clone().into()),
                ));
            }
            (!attrs.is_empty()).then(|| {
                let (function, statement_id, principal, source_arn, source_account) = fields();
                Change::new(
                    KIND,
                    name,
                    Action::Replace,
                    Op::Replace {
                        function,
                        statement_id,
                        principal,
                        source_arn,
                        source_account,
                    },
                )
                .attrs(attrs)
            })
        }
    };
    plan.push(change);
}

/// Removes our statement from our function only; someone else's function keeps its policy (and
/// the other statements of ours go with the function).
pub fn plan_destroy(statements: &[Current], statement_id: &str, plan: &mut Plan<impl From<Op>>) {
    let ours = statements.iter().find(|s| s.statement_id == statement_id);
    if let Some(current) = ours.filter(|c| c.function_managed) {
        plan.push(Some(Change::delete(
            KIND,
            format!("{} on {}", current.statement_id, current.function),
            Op::Remove {
                function: current.function.clone(),
                statement_id: current.statement_id.clone(),
            },
        )));
    }
}

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    match op {
        Op::Add {
            function,
            statement_id,
            principal,
            source_arn,
            source_account,
        }
        | Op::Replace {
            function,
            statement_id,
            principal,
            source_arn,
            source_account,
        } => {
            let statement = Statement {
                function,
                statement_id,
                principal,
                source_arn,
                source_account,
            };
            put(ctx, &statement, matches!(op, Op::Replace { .. })).await
        }
        Op::Remove {
            function,
            statement_id,
        } => remove(ctx, function, statement_id).await,
    }
}

/// Adds the statement so that the function carries exactly login-alert's: the one it replaces is
/// removed first; one found already there on an add (an interrupted run added it after the plan
/// read the policy) is removed and added again, once. Found again after that, another tool is
/// writing it.
async fn put(ctx: &Ctx, statement: &Statement<'_>, replacing: bool) -> Result<()> {
    let Statement {
        function,
        statement_id,
        ..
    } = statement;
    if replacing {
        remove(ctx, function, statement_id).await?;
    }
    if let Added::Yes = add(ctx, statement).await? {
        return Ok(());
    }
    if replacing {
        anyhow::bail!(
            "statement {statement_id} reappeared on Lambda function {function} while it was being replaced: another tool may be managing it; stop it, then run apply again"
        );
    }
    remove(ctx, function, statement_id).await?;
    match add(ctx, statement).await? {
        Added::Yes => Ok(()),
        Added::AlreadyThere => anyhow::bail!(
            "statement {statement_id} keeps reappearing on Lambda function {function}: another tool may be managing it; stop it, then run apply again"
        ),
    }
}

enum Added {
    Yes,
    AlreadyThere,
}

fn already_exists(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("ResourceConflictException")
        && message.is_some_and(|m| m.contains("already exists"))
}

/// One statement to add, as the operation carries it.
struct Statement<'a> {
    function: &'a str,
    statement_id: &'a str,
    principal: &'a str,
    source_arn: &'a str,
    source_account: &'a str,
}

async fn add(ctx: &Ctx, s: &Statement<'_>) -> Result<Added> {
    let lambda = &ctx.clients.lambda;
    let function = s.function;
    // A conflict other than a duplicate id means the function is mid-update: wait it out.
    let result = patiently(
        &ctx.printer,
        ctx.lambda_bound,
        format!("waiting for Lambda function {function} to accept the invoke permission"),
        "waiting for the function to accept the permission",
        |err: &aws_sdk_lambda::error::SdkError<_, _>| {
            error_code(err) == Some("ResourceConflictException")
                && !already_exists(error_code(err), error_message(err))
        },
        || {
            lambda
                .add_permission()
                .function_name(function)
                .statement_id(s.statement_id)
                .action(ACTION)
                .principal(s.principal)
                .source_arn(s.source_arn)
                .source_account(s.source_account)
                .send()
        },
    )
    .await;
    match result {
        Ok(_) => Ok(Added::Yes),
        Err(Stopped::Failed(err)) if already_exists(error_code(&err), error_message(&err)) => {
            Ok(Added::AlreadyThere)
        }
        Err(Stopped::Failed(err) | Stopped::TimedOut { last: err, .. }) => Err(explain(err))
            .with_context(|| {
                format!(
                    "allowing {} to invoke Lambda function {function} (statement {})",
                    sender(s.principal),
                    s.statement_id
                )
            }),
    }
}

async fn remove(ctx: &Ctx, function: &str, statement_id: &str) -> Result<()> {
    ctx.clients
        .lambda
        .remove_permission()
        .function_name(function)
        .statement_id(statement_id)
        .send()
        .await
        .gone_doing(NOT_FOUND, || {
            format!("removing statement {statement_id} from Lambda function {function}")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Mode;
    use crate::testing::{assert_refused, attr_names, first, planned, test_plan};
    use serde_json::json;

    const SOURCE: &str = "arn:aws:logs:us-east-1:123456789012:log-group:/login-alert/cloudtrail:*";

    fn desired() -> Desired {
        Desired {
            function: "login-alert-handler".into(),
            statement_id: "login-alert-cloudwatch-logs".into(),
            principal: PRINCIPAL.into(),
            source_arn: SOURCE.into(),
            source_account: "123456789012".into(),
        }
    }

    /// The statement exactly as Lambda's GetPolicy returns it.
    fn aws_statement() -> Value {
        json!({
            "Sid": "login-alert-cloudwatch-logs",
            "Effect": "Allow",
            "Principal": {"Service": "logs.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:login-alert-handler",
            "Condition": {
                "StringEquals": {"AWS:SourceAccount": "123456789012"},
                "ArnLike": {"AWS:SourceArn": SOURCE}
            }
        })
    }

    fn current(statement: &Value) -> Current {
        parse_statement("login-alert-handler", statement, true)
    }

    fn apply_plan(current: Option<&Current>) -> Plan<Op> {
        let statements: Vec<Current> = current.cloned().into_iter().collect();
        planned(Mode::Apply, |plan| {
            plan_apply(&statements, &desired(), plan)
        })
    }

    fn destroy_plan(statements: &[Current]) -> Plan<Op> {
        planned(Mode::Destroy, |plan| {
            plan_destroy(statements, "login-alert-cloudwatch-logs", plan)
        })
    }

    /// A statement someone added by hand: anyone may invoke the function.
    fn public_statement() -> Value {
        json!({
            "Sid": "open",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "lambda:InvokeFunction",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:login-alert-handler"
        })
    }

    #[test]
    fn status_names_a_strangers_statement_and_leaves_ours_ok() {
        use crate::check::Status;
        let statements = [current(&aws_statement()), current(&public_statement())];
        let checks = statement_checks(&[desired()], &statements, "login-alert-digest");
        assert_eq!(checks.len(), 2, "{checks:?}");
        assert_eq!(checks[0].status, Status::Ok, "ours is intact: {checks:?}");
        assert_eq!(checks[1].status, Status::Warning);
        assert_eq!(checks[1].name, "foreign invoke permission open");
        assert!(
            checks[1].detail.contains(
                "statement open on login-alert-handler was not written by login-alert: it lets anyone (Principal \"*\") call lambda:InvokeFunction"
            ) && checks[1].detail.contains("fake alerts"),
            "{}",
            checks[1].detail
        );
        assert!(
            checks[1]
                .fix
                .as_deref()
                .unwrap()
                .contains("login-alert apply")
        );
        // Limited to one account, it says so.
        let mut limited = public_statement();
        limited["Principal"] = json!({"AWS": "arn:aws:iam::210987654321:root"});
        let checks = statement_checks(&[desired()], &[current(&limited)], "login-alert-digest");
        assert!(
            checks[1]
                .detail
                .contains("lets arn:aws:iam::210987654321:root call"),
            "{}",
            checks[1].detail
        );
    }

    #[test]
    fn every_statement_is_read_with_its_sid() {
        let policy =
            json!({"Version": "2012-10-17", "Statement": [public_statement(), aws_statement()]});
        let read: Vec<Current> = statements(&policy)
            .into_iter()
            .map(|s| parse_statement("login-alert-handler", s, true))
            .collect();
        let sids: Vec<&str> = read.iter().map(|s| s.statement_id.as_str()).collect();
        assert_eq!(sids, ["open", "login-alert-cloudwatch-logs"]);
        assert_eq!(read[0].principal, "*");
        assert_eq!(read[1].source_arn.as_deref(), Some(SOURCE));
    }

    #[test]
    fn any_other_statement_on_our_function_is_removed_and_shown() {
        let mut events = aws_statement();
        events["Sid"] = json!("scheduled");
        events["Principal"] = json!({"Service": "events.amazonaws.com"});
        events["Condition"] =
            json!({"ArnLike": {"AWS:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/x"}});
        let statements = vec![
            current(&public_statement()),
            current(&aws_statement()),
            current(&events),
        ];
        let plan: Plan<Op> = planned(Mode::Apply, |plan| {
            plan_apply(&statements, &desired(), plan)
        });
        let removed: Vec<(&str, Action)> = plan
            .changes
            .iter()
            .map(|c| (c.name.as_str(), c.action))
            .collect();
        assert_eq!(
            removed,
            [
                ("open on login-alert-handler", Action::Delete),
                ("scheduled on login-alert-handler", Action::Delete)
            ]
        );
        assert_eq!(
            plan.changes[0].attrs,
            [
                Attr::unset("principal", "*"),
                Attr::unset("action", "lambda:InvokeFunction")
            ]
        );
        assert!(
            matches!(&plan.changes[1].op, Op::Remove { statement_id, .. } if statement_id == "scheduled")
        );
        assert_eq!(
            plan.changes[1].attrs[2],
            Attr::unset("source_arn", "arn:aws:events:us-east-1:123456789012:rule/x")
        );
        // Destroy removes only ours: the others go with the function.
        assert_eq!(destroy_plan(&statements).changes.len(), 1);
    }

    #[test]
    fn another_statement_on_a_function_that_is_not_ours_is_left_alone() {
        let mut theirs = current(&public_statement());
        theirs.function_managed = false;
        assert!(
            !apply_plan(Some(&theirs))
                .changes
                .iter()
                .any(|c| c.action == Action::Delete)
        );
    }

    #[test]
    fn missing_permission_is_added() {
        let plan = apply_plan(None);
        let change = first(&plan, Action::Create);
        assert!(matches!(&change.op, Op::Add { source_arn, .. } if source_arn == SOURCE));
    }

    #[test]
    fn matching_permission_needs_nothing_in_either_principal_form() {
        assert!(!apply_plan(Some(&current(&aws_statement()))).has_changes());
        let mut regional = aws_statement();
        regional["Principal"] = json!({"Service": "logs.us-east-1.amazonaws.com"});
        assert!(!apply_plan(Some(&current(&regional))).has_changes());
    }

    #[test]
    fn status_fails_on_what_apply_would_change_and_names_it() {
        use crate::check::Status;
        assert_eq!(
            check(&apply_plan(Some(&current(&aws_statement()))), &desired()).status,
            Status::Ok
        );
        let missing = check(&apply_plan(None), &desired());
        assert_eq!(missing.status, Status::Failing);
        assert!(
            missing
                .detail
                .contains("login-alert-cloudwatch-logs on login-alert-handler is missing")
        );
        let mut s = aws_statement();
        s["Principal"] = json!("*");
        let widened = check(&apply_plan(Some(&current(&s))), &desired());
        assert!(
            widened.detail.contains("differs (principal)"),
            "{}",
            widened.detail
        );
    }

    #[test]
    fn a_source_arn_without_the_wildcard_is_replaced() {
        let mut s = aws_statement();
        s["Condition"]["ArnLike"]["AWS:SourceArn"] =
            json!("arn:aws:logs:us-east-1:123456789012:log-group:/login-alert/cloudtrail");
        let plan = apply_plan(Some(&current(&s)));
        let change = first(&plan, Action::Replace);
        assert_eq!(change.attrs.len(), 1);
        assert_eq!(change.attrs[0].name, "source_arn");
    }

    #[test]
    fn a_widened_statement_is_replaced() {
        let mut s = aws_statement();
        s["Principal"] = json!("*");
        s["Action"] = json!("lambda:*");
        s.as_object_mut().unwrap().remove("Condition");
        let plan = apply_plan(Some(&current(&s)));
        let names = attr_names(&plan);
        assert_eq!(
            names,
            ["principal", "action", "source_arn", "source_account"]
        );
    }

    #[test]
    fn only_logs_principals_count() {
        assert!(is_logs_principal("logs.amazonaws.com"));
        assert!(is_logs_principal("logs.eu-west-1.amazonaws.com"));
        assert!(!is_logs_principal("events.amazonaws.com"));
        assert!(!is_logs_principal("logs.evil.example.com"));
        assert!(!is_logs_principal("logs..amazonaws.com"));
    }

    #[test]
    fn the_source_arn_must_be_a_log_group_with_the_wildcard() {
        assert!(is_log_group_wildcard_arn(SOURCE));
        assert!(!is_log_group_wildcard_arn(
            "arn:aws:logs:us-east-1:123456789012:log-group:/login-alert/cloudtrail"
        ));
        assert!(!is_log_group_wildcard_arn(
            "arn:aws:logs:us-east-1:123456789012:log-group::*"
        ));
        assert!(!is_log_group_wildcard_arn(
            "arn:aws:lambda:us-east-1:123456789012:function:f:*"
        ));
        let mut bad = desired();
        bad.source_arn = "arn:aws:logs:us-east-1:123456789012:log-group:/x".into();
        let plan: Plan<Op> = planned(Mode::Apply, |plan| plan_apply(&[], &bad, plan));
        assert_refused(&plan);
    }

    #[test]
    fn desired_uses_the_delivery_group_and_the_account() {
        let config = crate::config::sample("eu-west-1");
        let t = Target::new(&config, "123456789012");
        let d = super::desired(
            &t,
            &Delivery {
                log_group_name: "aws-cloudtrail-logs-1".into(),
                ours: false,
            },
        );
        assert_eq!(
            d.source_arn,
            "arn:aws:logs:eu-west-1:123456789012:log-group:aws-cloudtrail-logs-1:*"
        );
        assert_eq!(d.source_account, "123456789012");
        assert_eq!(d.statement_id, "login-alert-cloudwatch-logs");
    }

    #[test]
    fn the_digest_schedule_may_invoke_the_function_beside_the_mode_sender() {
        let config =
            crate::config::Config::read_str("region = \"us-east-1\"\n[trail]\ncreate = true\n");
        let t = Target::new(&config, "123456789012");
        let facts = Facts::new(&t);
        let all = desired_all(&t, &facts);
        assert_eq!(all.len(), 2);
        let digest = &all[1];
        assert_eq!(digest.statement_id, "login-alert-digest");
        assert_eq!(digest.principal, EVENTS_PRINCIPAL);
        assert_eq!(
            digest.source_arn,
            "arn:aws:events:us-east-1:123456789012:rule/login-alert-digest"
        );
        // Both added to a new function; with both in place (and a stranger's removed) nothing more.
        let plan: Plan<Op> = planned(Mode::Apply, |plan| plan_apply_all(&[], &all, plan));
        assert_eq!(plan.changes.len(), 2);
        assert!(plan.changes.iter().all(|c| c.action == Action::Create));
        let statement = |d: &Desired| Current {
            function: d.function.clone(),
            statement_id: d.statement_id.clone(),
            effect: "Allow".into(),
            principal: d.principal.clone(),
            action: ACTION.into(),
            source_arn: Some(d.source_arn.clone()),
            source_account: Some(d.source_account.clone()),
            function_managed: true,
        };
        let mut stranger = statement(digest);
        stranger.statement_id = "someone".into();
        let live = [statement(&all[0]), statement(digest), stranger];
        let plan: Plan<Op> = planned(Mode::Apply, |plan| plan_apply_all(&live, &all, plan));
        let names: Vec<&str> = plan.changes.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["someone on login-alert-handler"]);
        // Destroy removes the digest statement with the others.
        let mut plan: Plan<Op> = test_plan(Mode::Destroy);
        Permission.plan_destroy(
            &live.to_vec(),
            &t,
            &Facts {
                function_managed: Some(true),
                ..facts
            },
            &mut plan,
        );
        assert!(
            plan.changes
                .iter()
                .any(|c| c.name == "login-alert-digest on login-alert-handler")
        );
    }

    #[test]
    fn destroy_removes_the_statement_only_from_our_function() {
        let plan = destroy_plan(&[current(&aws_statement())]);
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].action, Action::Delete);
        let mut theirs = current(&aws_statement());
        theirs.function_managed = false;
        assert!(!destroy_plan(&[theirs.clone()]).has_changes());
        assert!(!destroy_plan(&[]).has_changes());
        assert!(!apply_plan(Some(&theirs)).has_changes());
    }

    #[test]
    fn eventbridge_mode_wants_the_home_rule_as_the_only_sender() {
        let logs = current(&aws_statement());
        let mut config = crate::config::Config {
            mode: crate::config::Route::Eventbridge,
            ..crate::config::sample("us-east-1")
        };
        let t = Target::new(&config, "123456789012");
        let events = desired_events(&t);
        assert_eq!(events.principal, EVENTS_PRINCIPAL);
        assert_eq!(
            events.source_arn,
            "arn:aws:events:us-east-1:123456789012:rule/login-alert-events"
        );
        // Switching from CloudWatch Logs mode: the logs statement goes, EventBridge's comes.
        let plan: Plan<Op> = planned(Mode::Apply, |plan| {
            plan_apply(std::slice::from_ref(&logs), &events, plan)
        });
        let actions: Vec<(Action, &str)> = plan
            .changes
            .iter()
            .map(|c| (c.action, c.name.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                (
                    Action::Create,
                    "login-alert-eventbridge on login-alert-handler"
                ),
                (
                    Action::Delete,
                    "login-alert-cloudwatch-logs on login-alert-handler"
                ),
            ]
        );
        assert!(
            matches!(&plan.changes[0].op, Op::Add { principal, .. } if principal == EVENTS_PRINCIPAL)
        );
        config.mode = crate::config::Route::CloudwatchLogs;
        let facts = Facts::new(&Target::new(&config, "123456789012"));
        assert_eq!(
            desired_all(&Target::new(&config, "123456789012"), &facts)[0].principal,
            PRINCIPAL
        );
        config.mode = crate::config::Route::Both;
        let facts = Facts::new(&Target::new(&config, "123456789012"));
        let both: Vec<String> = desired_all(&Target::new(&config, "123456789012"), &facts)
            .into_iter()
            .map(|d| d.statement_id)
            .collect();
        assert_eq!(
            both,
            [
                "login-alert-cloudwatch-logs",
                "login-alert-eventbridge",
                "login-alert-digest"
            ]
        );
    }
}

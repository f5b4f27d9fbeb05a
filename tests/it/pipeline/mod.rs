//! The alerting half of the pipeline against moto — SNS topic and email subscriptions, the Slack
//! webhook parameter, the Lambda function, its invoke permission and the log group's subscription
//! filter: create → read back (no changes) → drift by hand → plan shows it → apply repairs → destroy
//! removes only what is ours.
//!
//! Where moto differs from AWS (covered by unit tests or `pipeline_mocks` instead):
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

use crate::support;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_ssm::types::ParameterType;
use login_alert::aws::Clients;
use login_alert::bundle::handler_sha256;
use login_alert::config::{Config, NotifyConfig, sample};
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
        account_name: Some("pipeline-test".into()),
        timezone: "Europe/Paris".into(),
        notify: NotifyConfig {
            emails: emails.iter().map(|e| e.to_string()).collect(),
            slack_webhook_url: slack.map(Into::into),
            ..Default::default()
        },
        ..sample(REGION)
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

mod invocation;
mod lambda;
mod slack_parameter;
mod sns;
mod together;

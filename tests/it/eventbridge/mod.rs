//! EventBridge mode against moto through the real binary: a forwarding rule in every enabled region,
//! the home rule to the function, the trail without CloudWatch Logs delivery, zero-write re-apply, a
//! rule deleted by hand repaired, the mode switched both ways, destroy; the rules' pattern routing
//! published records (moto evaluates patterns in PutEvents); account:ListRegions with mocks.
//!
//! Where moto differs from AWS (tested here another way, or on our side):
//! - moto has no `account:ListRegions`: the CLI tests name the enabled regions in
//!   LOGIN_ALERT_ENABLED_REGIONS (the documented way for credentials that may not call it); the call
//!   itself is tested with aws-smithy-mocks below.
//! - moto's PutEvents raises NotImplementedError for a Lambda target, so a rule whose target is the
//!   function cannot route in moto: the pattern is routed through rules with the same pattern and an
//!   SQS target instead (forwarding across regions to the home bus, as login-alert's rules do).
//! - moto accepts any `State` string and does not check PutTargets' RoleArn or that the function's
//!   resource policy lets EventBridge invoke it.
//! - moto's TestEventPattern is an empty stub; PutEvents evaluates patterns for real.
//! - moto accepts PutEvents with `aws.*` sources (AWS keeps them for its services); that is what
//!   lets published CloudTrail records be replayed here.

use crate::support;

use std::path::Path;

use aws_sdk_account::Client as Account;
use aws_sdk_account::operation::list_regions::ListRegionsOutput;
use aws_sdk_account::types::{Region, RegionOptStatus};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use login_alert::config::{Config, NotifyConfig, Route, TrailConfig, sample};
use login_alert::model::{Ctx, Target};
use login_alert::printer::Printer;
use login_alert::resources::{enabled_regions, rule};
use predicates::prelude::*;
use predicates::str::contains;
use serde_json::Value;
use support::{Account as TestAccount, fresh_account, workdir};

const TRAIL: &str = "audit-trail";
const HOME: &str = "eu-west-1";
const ENABLED: [&str; 3] = ["eu-west-1", "us-east-1", "ap-northeast-1"];

fn cli(account: &TestAccount, dir: &Path) -> assert_cmd::Command {
    let mut cmd = account.cli(dir);
    cmd.env(enabled_regions::ENV_ENABLED_REGIONS, ENABLED.join(","));
    cmd
}

/// Every login-alert rule in each enabled region, with its targets and state.
async fn rules(
    account: &TestAccount,
) -> Vec<(String, String, String, Vec<(String, Option<String>)>)> {
    let mut found = Vec::new();
    for region in ENABLED {
        let events = aws_sdk_eventbridge::Client::new(&account.sdk(region));
        for r in events
            .list_rules()
            .name_prefix("login-alert")
            .send()
            .await
            .unwrap()
            .rules
            .unwrap_or_default()
        {
            let name = r.name.unwrap_or_default();
            let targets = events
                .list_targets_by_rule()
                .rule(&name)
                .send()
                .await
                .unwrap()
                .targets
                .unwrap_or_default()
                .into_iter()
                .map(|t| (t.arn, t.role_arn))
                .collect();
            found.push((
                region.to_owned(),
                name,
                r.state.map(|s| s.as_str().to_owned()).unwrap_or_default(),
                targets,
            ));
        }
    }
    found.sort();
    found
}

async fn trail(account: &TestAccount) -> aws_sdk_cloudtrail::types::Trail {
    aws_sdk_cloudtrail::Client::new(&account.sdk(HOME))
        .get_trail()
        .name(TRAIL)
        .send()
        .await
        .unwrap()
        .trail
        .unwrap()
}

fn no_logs(trail: &aws_sdk_cloudtrail::types::Trail) -> bool {
    // moto keeps "" where AWS omits a removed delivery.
    trail
        .cloud_watch_logs_log_group_arn
        .as_deref()
        .is_none_or(str::is_empty)
}

fn target(account: &str) -> Target {
    let config = Config {
        mode: Route::Eventbridge,
        trail: TrailConfig {
            name: Some(TRAIL.into()),
            create: false,
        },
        cis: false,
        notify: NotifyConfig {
            emails: vec!["a@example.com".into()],
            ..Default::default()
        },
        ..sample(HOME)
    };
    Target::new(&config, account)
}

mod coverage;
/// The published records that must alert reach the home region through a forwarding rule and the
/// home rule's pattern; ordinary API calls stop at the first rule.
mod modes;
mod regions;
mod routing;

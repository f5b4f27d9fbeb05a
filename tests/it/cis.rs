//! The CIS monitoring controls Security Hub checks (CloudWatch.1-14), through the real `login-alert`
//! binary against moto: `init --cis` and apply create the 14 metric filters on the trail's log group
//! and the 14 alarms on their metrics notifying the topic; a second apply writes nothing; a changed
//! pattern and a deleted alarm are planned (`~`, `+`) and repaired; a filter of the user's on the
//! same group is never touched; `status --output json` keeps the evidence; destroy removes exactly
//! them; eventbridge mode refuses `cis = true` before any call that writes.
//!
//! Where moto differs from AWS (moto 5.2, moto/logs/metric_filters.py):
//! - it stores metric filters and alarms on log metrics as given and never evaluates a pattern nor
//!   publishes the metric, so this test holds what is stored and what is called, not that an alarm
//!   fires; that the patterns are Security Hub's is the table test in `src/resources/cis.rs`;
//! - its PutMetricFilter appends a filter even when one of that name is on the group (AWS replaces
//!   it): the drift below is made as delete-then-put (AWS's state after a put), and after the repair
//!   moto lists the stale entry beside the repaired one, so the repair is held by the one
//!   PutMetricFilter it sends (with the published pattern) and by the listing holding the repaired
//!   filter, and the "second apply writes nothing" is held after the first apply only;
//! - SNS confirms an email subscription at once (AWS waits for the click), so the evidence lists
//!   the address as confirmed; the unconfirmed case is the unit test in `src/resources/cis.rs`;
//! - its DescribeMetricFilters answers an empty list for a log group that does not exist (AWS:
//!   ResourceNotFoundException, read as "no filters" all the same).

use crate::support;

use std::path::Path;

use login_alert::resources::cis::CONTROLS;
use predicates::prelude::*;
use predicates::str::contains;
use serde_json::Value;
use support::{Account, fresh_account, workdir};

const REGION: &str = "us-east-1";
const GROUP: &str = "/login-alert/cloudtrail";

fn topic_arn(account: &Account) -> String {
    format!("arn:aws:sns:{REGION}:{}:login-alert-alerts", account.id)
}

/// (name, pattern, metric) of every metric filter on the group, sorted by name.
async fn filters(account: &Account) -> Vec<(String, String, String)> {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&account.sdk(REGION));
    let mut found: Vec<(String, String, String)> = logs
        .describe_metric_filters()
        .log_group_name(GROUP)
        .send()
        .await
        .expect("describe metric filters")
        .metric_filters
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            let metric = f
                .metric_transformations
                .unwrap_or_default()
                .into_iter()
                .map(|m| format!("{}/{}", m.metric_namespace, m.metric_name))
                .collect::<Vec<_>>()
                .join(",");
            (
                f.filter_name.unwrap_or_default(),
                f.filter_pattern.unwrap_or_default(),
                metric,
            )
        })
        .collect();
    found.sort();
    found
}

/// (name, metric, actions) of every alarm login-alert's CIS controls own, sorted by name.
async fn cis_alarms(account: &Account) -> Vec<(String, String, Vec<String>)> {
    let cw = aws_sdk_cloudwatch::Client::new(&account.sdk(REGION));
    let mut found: Vec<_> = cw
        .describe_alarms()
        .alarm_name_prefix("login-alert-cis-")
        .send()
        .await
        .expect("describe alarms")
        .metric_alarms
        .unwrap_or_default()
        .into_iter()
        .map(|a| {
            (
                a.alarm_name.unwrap_or_default(),
                format!(
                    "{}/{}",
                    a.namespace.unwrap_or_default(),
                    a.metric_name.unwrap_or_default()
                ),
                a.alarm_actions.unwrap_or_default(),
            )
        })
        .collect();
    found.sort();
    found
}

fn expected_filters() -> Vec<(String, String, String)> {
    let mut want: Vec<_> = CONTROLS
        .iter()
        .map(|c| {
            let name = format!("login-alert-{}", c.slug);
            (
                name.clone(),
                c.pattern.to_owned(),
                format!("LogMetrics/{name}"),
            )
        })
        .collect();
    want.sort();
    want
}

fn init(account: &Account, dir: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    account
        .cli(dir)
        .args(["init", "--yes", "--create-trail", "--region", REGION])
        .args(["--email", "secops@example.com"])
        .args(extra)
        .assert()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fourteen_controls_from_apply_to_destroy() {
    let account = fresh_account().await;
    let dir = workdir();
    let dir = dir.path();
    init(&account, dir, &["--cis"]).success();
    let config = std::fs::read_to_string(dir.join("login-alert.toml")).unwrap();
    assert!(config.contains("cis = true"), "{config}");
    account
        .cli(dir)
        .args(["plan"])
        .assert()
        .success()
        .stdout(contains(format!(
            "+ metric filter login-alert-cis-root-usage on {GROUP} will be created"
        )))
        .stdout(contains(
            "+ CloudWatch alarm login-alert-cis-vpc-changes will be created",
        ));
    account.cli(dir).args(["apply", "--yes"]).assert().success();

    // All 14 filters with Security Hub's patterns, and 14 alarms on their metrics notifying the topic.
    let topic = topic_arn(&account);
    assert_eq!(filters(&account).await, expected_filters());
    let alarms = cis_alarms(&account).await;
    assert_eq!(alarms.len(), 14, "{alarms:?}");
    for (name, metric, actions) in &alarms {
        assert_eq!(metric, &format!("LogMetrics/{name}"));
        assert_eq!(actions, std::slice::from_ref(&topic), "{name}");
    }

    // A second apply writes nothing.
    let mark = account.requests().len();
    account
        .cli(dir)
        .args(["apply", "--yes"])
        .assert()
        .success()
        .stdout(contains("No changes."));
    assert_eq!(account.writes_since(mark), Vec::<String>::new());

    // Drift: the root pattern loosened, the VPC alarm deleted, and a filter of the user's added.
    let sdk = account.sdk(REGION);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let cw = aws_sdk_cloudwatch::Client::new(&sdk);
    let transformation = |name: &str| {
        aws_sdk_cloudwatchlogs::types::MetricTransformation::builder()
            .metric_namespace("LogMetrics")
            .metric_name(name)
            .metric_value("1")
            .build()
            .unwrap()
    };
    logs.delete_metric_filter()
        .log_group_name(GROUP)
        .filter_name("login-alert-cis-root-usage")
        .send()
        .await
        .expect("moto: delete before put, see above");
    logs.put_metric_filter()
        .log_group_name(GROUP)
        .filter_name("login-alert-cis-root-usage")
        .filter_pattern("{ $.userIdentity.type = \"Root\" }")
        .metric_transformations(transformation("login-alert-cis-root-usage"))
        .send()
        .await
        .expect("loosen the root filter");
    logs.put_metric_filter()
        .log_group_name(GROUP)
        .filter_name("teams-own-errors")
        .filter_pattern("ERROR")
        .metric_transformations(transformation("TeamErrors"))
        .send()
        .await
        .expect("a filter of the user's");
    cw.delete_alarms()
        .alarm_names("login-alert-cis-vpc-changes")
        .send()
        .await
        .expect("delete an alarm");

    let out = account
        .cli(dir)
        .args(["status", "--output", "json"])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    let checks = status["checks"].as_array().unwrap();
    let detail = |id: &str| {
        checks
            .iter()
            .find(|c| c["name"].as_str().unwrap().starts_with(&format!("{id} (")))
            .unwrap_or_else(|| panic!("no check for {id}: {status}"))["detail"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(detail("CloudWatch.1").starts_with("changed:"), "{status}");
    assert!(detail("CloudWatch.14").starts_with("missing:"), "{status}");
    assert!(detail("CloudWatch.5").starts_with("ok:"), "{status}");
    let evidence = status["evidence"].as_array().expect("an evidence array");
    assert_eq!(evidence.len(), 14);
    let root = &evidence[0];
    assert_eq!(root["control"], "CloudWatch.1");
    assert_eq!(root["status"], "changed");
    assert_eq!(root["filter"]["name"], "login-alert-cis-root-usage");
    assert_eq!(
        root["filter"]["pattern"],
        "{ $.userIdentity.type = \"Root\" }"
    );
    assert_eq!(root["filter"]["published_pattern"], CONTROLS[0].pattern);
    assert_eq!(root["alarm"]["name"], "login-alert-cis-root-usage");
    assert_eq!(root["topic"], topic.as_str());
    assert_eq!(evidence[13]["alarm"], Value::Null);
    assert_eq!(evidence[4]["filter"]["pattern"], CONTROLS[4].pattern);

    let mark = account.requests().len();
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(contains(format!(
            "~ metric filter login-alert-cis-root-usage on {GROUP} will be updated in place"
        )))
        .stdout(contains(
            "+ CloudWatch alarm login-alert-cis-vpc-changes will be created",
        ))
        .stdout(contains("teams-own-errors").not())
        .stdout(contains("Plan: 1 to add, 1 to change, 0 to destroy."));
    assert_eq!(account.writes_since(mark), Vec::<String>::new());
    let mark = account.requests().len();
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    let writes: Vec<_> = account
        .requests()
        .split_off(mark)
        .into_iter()
        .filter(|r| r.is_write())
        .collect();
    let ops: Vec<&str> = writes.iter().map(|r| r.operation.as_str()).collect();
    assert_eq!(ops, ["PutMetricFilter", "PutMetricAlarm"], "{writes:?}");
    let put: Value = serde_json::from_str(&writes[0].body).unwrap();
    assert_eq!(put["filterName"], "login-alert-cis-root-usage");
    assert_eq!(put["filterPattern"], CONTROLS[0].pattern);
    assert!(writes[1].body.contains("login-alert-cis-vpc-changes"));
    let listed = filters(&account).await;
    for filter in expected_filters() {
        assert!(listed.contains(&filter), "{filter:?} in {listed:?}");
    }
    assert!(listed.contains(&(
        "teams-own-errors".into(),
        "ERROR".into(),
        "LogMetrics/TeamErrors".into()
    )));
    assert_eq!(cis_alarms(&account).await.len(), 14);

    // Destroy deletes exactly the 14 filters and 14 alarms of the controls (and never the user's filter).
    let mark = account.requests().len();
    account
        .cli(dir)
        .args(["destroy", "--yes"])
        .assert()
        .success();
    let since = account.requests().split_off(mark);
    let mut deleted_filters: Vec<String> = since
        .iter()
        .filter(|r| r.operation == "DeleteMetricFilter")
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["filterName"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    deleted_filters.sort();
    let ours: Vec<String> = expected_filters().into_iter().map(|f| f.0).collect();
    assert_eq!(deleted_filters, ours);
    assert!(
        !since
            .iter()
            .any(|r| r.operation.contains("MetricFilter") && r.body.contains("teams-own-errors")),
        "the user's filter is never the object of a call"
    );
    assert_eq!(cis_alarms(&account).await, Vec::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn eventbridge_mode_refuses_cis_before_any_write() {
    let account = fresh_account().await;
    let dir = workdir();
    let dir = dir.path();
    let mark = account.requests().len();
    init(&account, dir, &["--cis", "--mode", "eventbridge"])
        .failure()
        .stderr(contains(
            "cis = true needs the trail's events in a CloudWatch Logs log group",
        ))
        .stderr(contains("mode = \"both\""));
    init(&account, dir, &[]).success();
    let path = dir.join("login-alert.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!("mode = \"eventbridge\"\ncis = true\n{config}"),
    )
    .unwrap();
    account
        .cli(dir)
        .args(["plan"])
        .assert()
        .failure()
        .stderr(contains(
            "cis = true needs the trail's events in a CloudWatch Logs log group",
        ));
    account
        .cli(dir)
        .args(["apply", "--yes"])
        .assert()
        .failure()
        .stderr(contains("cis"));
    assert_eq!(account.writes_since(mark), Vec::<String>::new());
}

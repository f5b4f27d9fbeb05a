//! What the grouping handler needs, provisioned through the real `login-alert` binary against moto:
//! the DynamoDB state table and its account-names item, the function's settings for language and
//! window, applied, converged (a second apply writes nothing), drift shown and repaired, destroyed.

use crate::support;

use std::collections::HashMap;
use std::path::Path;

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveSpecification};
use predicates::str::contains;
use serde_json::Value;
use support::{Account, fresh_account, workdir};

const HOME: &str = "us-east-1";
const TABLE: &str = "login-alert-state";
const TEAMS: &str = "https://prod-00.westus.logic.azure.com/workflows/TEAMS-SECRET";
const WEBHOOK: &str = "https://alerts.example.com/WEBHOOK-SECRET";

fn plan_json(account: &Account, dir: &Path) -> Value {
    let out = account
        .cli(dir)
        .args(["plan", "--output", "json"])
        .output()
        .expect("run plan");
    assert!(
        out.status.success(),
        "plan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// "action kind name" of every change, in plan order.
fn changes(plan: &Value) -> Vec<String> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {} {}",
                c["action"].as_str().unwrap(),
                c["kind"].as_str().unwrap(),
                c["name"].as_str().unwrap()
            )
        })
        .collect()
}

async fn names_item(db: &aws_sdk_dynamodb::Client) -> HashMap<String, String> {
    let item = db
        .get_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S("config#account-names".into()))
        .send()
        .await
        .expect("get the names item")
        .item
        .expect("the names item exists");
    item["names"]
        .as_m()
        .expect("names is a map")
        .iter()
        .map(|(id, name)| (id.clone(), name.as_s().unwrap().clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_state_table_and_settings_from_apply_to_destroy() {
    let account = fresh_account().await;
    let dir = workdir();
    let dir = dir.path();
    account
        .cli(dir)
        .args([
            "init",
            "--yes",
            "--create-trail",
            "--email",
            "secops@example.com",
            "--account-name",
            "prod",
            "--language",
            "ja",
        ])
        .assert()
        .success();
    let path = dir.join("login-alert.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    assert!(config.contains("language = \"ja\""), "{config}");
    let config = config.replace(
        "[notify]\n",
        &format!("[notify]\nteams_webhook_url = \"{TEAMS}\"\nwebhook_url = \"{WEBHOOK}\"\n"),
    ) + "\n[account_names]\n\"210987654321\" = \"sandbox\"\n";
    std::fs::write(&path, config).unwrap();

    let plan = plan_json(&account, dir);
    assert!(
        !plan.to_string().contains("SECRET"),
        "the webhook URLs are never shown"
    );
    let planned = changes(&plan);
    for parameter in ["teams-webhook-url", "webhook-url"] {
        assert!(
            planned.contains(&format!("create SSM parameter /login-alert/{parameter}")),
            "{planned:?}"
        );
    }
    assert!(
        planned.contains(&format!("create DynamoDB table {TABLE}")),
        "{planned:?}"
    );
    assert!(
        planned.contains(&format!(
            "create DynamoDB item {TABLE} config#account-names"
        )),
        "{planned:?}"
    );

    account
        .cli(dir)
        .args(["apply", "--yes"])
        .assert()
        .success()
        .stdout(contains("Apply complete!"));

    let sdk = account.sdk(HOME);
    let db = aws_sdk_dynamodb::Client::new(&sdk);
    let table = db
        .describe_table()
        .table_name(TABLE)
        .send()
        .await
        .expect("the table exists")
        .table
        .unwrap();
    assert_eq!(
        table
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|m| m.as_str()),
        Some("PAY_PER_REQUEST")
    );
    let key = &table.key_schema()[0];
    assert_eq!(
        (
            table.key_schema().len(),
            key.attribute_name(),
            key.key_type().as_str()
        ),
        (1, "pk", "HASH")
    );
    let ttl = db
        .describe_time_to_live()
        .table_name(TABLE)
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(
        ttl.time_to_live_status().map(|s| s.as_str()),
        Some("ENABLED")
    );
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
    let tags = db
        .list_tags_of_resource()
        .resource_arn(table.table_arn().unwrap())
        .send()
        .await
        .unwrap()
        .tags
        .unwrap_or_default();
    assert!(
        support::tagged_ours(&tags, |t| (t.key.as_str(), t.value.as_str())),
        "{tags:?}"
    );
    assert_eq!(
        names_item(&db).await,
        HashMap::from([
            (account.id.clone(), "prod".to_owned()),
            ("210987654321".to_owned(), "sandbox".to_owned())
        ])
    );

    // The function runs with the language, the window and the table.
    let env = aws_sdk_lambda::Client::new(&sdk)
        .get_function_configuration()
        .function_name("login-alert-handler")
        .send()
        .await
        .unwrap()
        .environment
        .unwrap()
        .variables
        .unwrap();
    assert_eq!(env["LOGIN_ALERT_LANGUAGE"], "ja");
    assert_eq!(env["LOGIN_ALERT_GROUP_WINDOW_MINUTES"], "15");
    assert_eq!(env["LOGIN_ALERT_STATE_TABLE"], TABLE);
    assert_eq!(env["LOGIN_ALERT_TRAIL_NAME"], "login-alert-trail");
    assert_eq!(
        env["LOGIN_ALERT_TRAIL_LOG_GROUP"],
        "/login-alert/cloudtrail"
    );
    assert_eq!(
        env["LOGIN_ALERT_TEAMS_PARAMETER"],
        "/login-alert/teams-webhook-url"
    );
    assert_eq!(
        env["LOGIN_ALERT_WEBHOOK_PARAMETER"],
        "/login-alert/webhook-url"
    );
    assert!(!env.contains_key("LOGIN_ALERT_SLACK_PARAMETER"));
    assert!(!format!("{env:?}").contains("SECRET"));

    // Each URL is a SecureString of its own, which the function's role may read.
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    for (name, url) in [
        ("/login-alert/teams-webhook-url", TEAMS),
        ("/login-alert/webhook-url", WEBHOOK),
    ] {
        let parameter = ssm
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .expect("the parameter exists")
            .parameter
            .unwrap();
        assert_eq!(parameter.r#type().map(|t| t.as_str()), Some("SecureString"));
        assert_eq!(parameter.value(), Some(url));
    }
    let role_policy = aws_sdk_iam::Client::new(&sdk)
        .get_role_policy()
        .role_name("login-alert-handler")
        .policy_name("login-alert")
        .send()
        .await
        .unwrap()
        .policy_document;
    let role_policy: Value = serde_json::from_str(
        &percent_encoding::percent_decode_str(&role_policy).decode_utf8_lossy(),
    )
    .unwrap();
    let read = role_policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "ReadWebhooks")
        .expect("the function may read the webhook parameters");
    assert_eq!(
        read["Resource"],
        serde_json::json!([
            format!(
                "arn:aws:ssm:{HOME}:{}:parameter/login-alert/teams-webhook-url",
                account.id
            ),
            format!(
                "arn:aws:ssm:{HOME}:{}:parameter/login-alert/webhook-url",
                account.id
            ),
        ])
    );

    // The digest schedule invokes the function, which lets that one rule invoke it.
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let rule = events
        .describe_rule()
        .name("login-alert-digest")
        .send()
        .await
        .expect("the digest rule exists");
    assert_eq!(rule.schedule_expression(), Some("rate(5 minutes)"));
    assert_eq!(rule.state().map(|s| s.as_str()), Some("ENABLED"));
    let targets = events
        .list_targets_by_rule()
        .rule("login-alert-digest")
        .send()
        .await
        .unwrap()
        .targets
        .unwrap_or_default();
    let function_arn = format!(
        "arn:aws:lambda:{HOME}:{}:function:login-alert-handler",
        account.id
    );
    assert_eq!(
        targets.iter().map(|t| t.arn.as_str()).collect::<Vec<_>>(),
        [function_arn.as_str()]
    );
    let policy: Value = serde_json::from_str(
        &aws_sdk_lambda::Client::new(&sdk)
            .get_policy()
            .function_name("login-alert-handler")
            .send()
            .await
            .unwrap()
            .policy
            .unwrap(),
    )
    .unwrap();
    let digest = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "login-alert-digest")
        .expect("the digest statement");
    assert_eq!(digest["Principal"]["Service"], "events.amazonaws.com");
    assert_eq!(
        digest["Condition"]["ArnLike"]["AWS:SourceArn"],
        format!(
            "arn:aws:events:{HOME}:{}:rule/login-alert-digest",
            account.id
        )
    );

    // Every call the CLI makes says it is login-alert's (CloudTrail records the user agent).
    let mark = account.requests().len();
    account.cli(dir).arg("plan").assert().success();
    let recorded = account.requests()[mark..].to_vec();
    assert!(recorded.len() > 10, "{recorded:?}");
    for request in &recorded {
        assert!(
            request.user_agent.contains("app/login-alert"),
            "{} {}: {}",
            request.service,
            request.operation,
            request.user_agent
        );
    }

    // Converged: no changes, and a second apply sends no write call.
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0);
    let mark = account.requests().len();
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    assert_eq!(account.writes_since(mark), Vec::<String>::new());

    // Drift by hand: TTL switched off, a name edited in the item.
    db.update_time_to_live()
        .table_name(TABLE)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expires_at")
                .enabled(false)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("TTL off by hand");
    db.put_item()
        .table_name(TABLE)
        .item("pk", AttributeValue::S("config#account-names".into()))
        .item(
            "names",
            AttributeValue::M(HashMap::from([(
                "210987654321".to_owned(),
                AttributeValue::S("prod".into()),
            )])),
        )
        .send()
        .await
        .expect("names edited by hand");
    let drift = plan_json(&account, dir);
    assert_eq!(
        changes(&drift),
        [
            format!("update DynamoDB table {TABLE}"),
            format!("update DynamoDB item {TABLE} config#account-names"),
        ]
    );
    let item_change = drift["changes"][1]["attributes"].as_array().unwrap();
    assert_eq!(item_change.len(), 2, "{item_change:?}");
    for expected in [
        serde_json::json!({"name": format!("names.{}", account.id), "before": null, "after": "prod"}),
        serde_json::json!({"name": "names.210987654321", "before": "prod", "after": "sandbox"}),
    ] {
        assert!(item_change.contains(&expected), "{item_change:?}");
    }
    account
        .cli(dir)
        .args(["plan"])
        .assert()
        .code(0)
        .stdout(contains("time_to_live_attribute"));
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0);
    assert_eq!(names_item(&db).await["210987654321"], "sandbox");

    // TTL moved to another attribute by hand: DynamoDB allows one UpdateTimeToLive per table per
    // hour, so apply disables it there, and a later apply enables it on expires_at. moto differs from
    // AWS here: it allows any number of TTL changes (the two by hand below; AWS refuses the second
    // with a ValidationException, tests/state_table_mocks.rs) and goes straight to DISABLED / ENABLED
    // (AWS: DISABLING / ENABLING for up to an hour, also in tests/state_table_mocks.rs).
    for (attribute, enabled) in [("expires_at", false), ("ttl", true)] {
        db.update_time_to_live()
            .table_name(TABLE)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(enabled)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("TTL moved by hand");
    }
    let ttl_writes = |mark: usize| {
        account
            .writes_since(mark)
            .into_iter()
            .filter(|w| w.ends_with(":UpdateTimeToLive"))
            .count()
    };
    account
        .cli(dir)
        .args(["plan"])
        .assert()
        .code(0)
        .stdout(contains("step 1 of 2"))
        .stdout(contains("disables TTL on `ttl`"));
    let mark = account.requests().len();
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    assert_eq!(ttl_writes(mark), 1, "one TTL change per apply");
    account
        .cli(dir)
        .args(["plan"])
        .assert()
        .code(0)
        .stdout(contains("+ time_to_live_attribute = \"expires_at\""));
    let mark = account.requests().len();
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    assert_eq!(ttl_writes(mark), 1, "the enable, in the next apply");
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0);

    // destroy removes the table with everything else.
    account
        .cli(dir)
        .args(["destroy", "--yes"])
        .assert()
        .success()
        .stdout(contains(format!(
            "- DynamoDB table {TABLE} will be destroyed"
        )));
    let tables = db
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names
        .unwrap_or_default();
    assert!(!tables.contains(&TABLE.to_owned()), "{tables:?}");
    assert_eq!(account.tagged(HOME).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_table_login_alert_did_not_create_blocks_apply() {
    let account = fresh_account().await;
    let dir = workdir();
    let dir = dir.path();
    account
        .cli(dir)
        .args([
            "init",
            "--yes",
            "--create-trail",
            "--email",
            "a@example.com",
        ])
        .assert()
        .success();
    aws_sdk_dynamodb::Client::new(&account.sdk(HOME))
        .create_table()
        .table_name(TABLE)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("someone else's table");
    let mark = account.requests().len();
    account
        .cli(dir)
        .args(["apply", "--yes"])
        .assert()
        .failure()
        .stdout(contains(format!(
            "DynamoDB table {TABLE} already exists and was not created by login-alert"
        )))
        .stderr(contains("nothing was changed"));
    assert_eq!(account.writes_since(mark), Vec::<String>::new());
}

/// With an organization trail adopted in the management account, `apply` stores the member
/// accounts' names from AWS Organizations; the config's `[account_names]` win over them.
#[tokio::test(flavor = "multi_thread")]
async fn an_organization_trail_brings_the_member_accounts_names() {
    let account = fresh_account().await;
    let sdk = account.sdk(HOME);
    let orgs = aws_sdk_organizations::Client::new(&sdk);
    orgs.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("an organization of this account");
    let member = orgs
        .create_account()
        .email("sandbox@example.com")
        .account_name("sandbox")
        .send()
        .await
        .expect("a member account")
        .create_account_status
        .and_then(|s| s.account_id)
        .expect("the member's ID");
    let bucket = format!("org-audit-{}", account.id);
    account
        .s3(HOME)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let cloudtrail = aws_sdk_cloudtrail::Client::new(&sdk);
    cloudtrail
        .create_trail()
        .name("org-trail")
        .s3_bucket_name(&bucket)
        .is_multi_region_trail(true)
        .is_organization_trail(true)
        .send()
        .await
        .expect("an organization trail");
    cloudtrail
        .start_logging()
        .name("org-trail")
        .send()
        .await
        .unwrap();

    let dir = workdir();
    let dir = dir.path();
    account
        .cli(dir)
        .args(["init", "--yes", "--trail", "org-trail"])
        .args(["--email", "secops@example.com", "--account-name", "prod"])
        .assert()
        .success();
    let plan = plan_json(&account, dir);
    let item = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "DynamoDB item")
        .expect("the names item is planned");
    let shown = item["attributes"].as_array().unwrap();
    assert!(
        shown.contains(&serde_json::json!({"name": format!("names.{member}"), "before": null, "after": "sandbox"})),
        "{shown:?}"
    );
    assert!(
        shown.contains(&serde_json::json!({"name": format!("names.{}", account.id), "before": null, "after": "prod"})),
        "the config's name for this account wins over the organization's: {shown:?}"
    );
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    let db = aws_sdk_dynamodb::Client::new(&sdk);
    let names = names_item(&db).await;
    assert_eq!(names[&member], "sandbox");
    assert_eq!(names[&account.id], "prod");
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0);

    // `[account_names]` wins over the organization's name too.
    let path = dir.join("login-alert.toml");
    let config = std::fs::read_to_string(&path).unwrap()
        + &format!("\n[account_names]\n\"{member}\" = \"sandbox-dev\"\n");
    std::fs::write(&path, config).unwrap();
    let plan = plan_json(&account, dir);
    assert_eq!(
        plan["changes"][0]["attributes"],
        serde_json::json!([{"name": format!("names.{member}"), "before": "sandbox", "after": "sandbox-dev"}])
    );
    account
        .cli(dir)
        .args(["destroy", "--yes"])
        .assert()
        .success();
    assert_eq!(account.tagged(HOME).await, Vec::<String>::new());
}

/// `[account_names]` up to the account-names item's bound (DynamoDB stores 400 KB in one item, and
/// moto enforces that too) applies whole; one name more is refused before any call: zero writes.
#[tokio::test(flavor = "multi_thread")]
async fn account_names_up_to_the_item_limit_apply_and_one_more_writes_nothing() {
    use login_alert::config::{MAX_NAMES_ITEM_BYTES, names_item_bytes};
    let account = fresh_account().await;
    let dir = workdir();
    let dir = dir.path();
    account
        .cli(dir)
        .args([
            "init",
            "--yes",
            "--create-trail",
            "--email",
            "secops@example.com",
        ])
        .args(["--account-name", "prod"])
        .assert()
        .success();
    let path = dir.join("login-alert.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    // 40-character names, the longest the config takes: as many as the bound holds.
    let entry = |i: usize| (format!("{:012}", 100_000_000_000 + i), format!("{i:040}"));
    let fits = |n: usize| {
        let names: Vec<(String, String)> = (0..n).map(entry).collect();
        names_item_bytes(
            names
                .iter()
                .map(|(id, name)| (id.as_str(), name.as_str()))
                .chain([(account.id.as_str(), "prod")]),
        ) <= MAX_NAMES_ITEM_BYTES
    };
    let n = (1..).find(|&n| !fits(n)).unwrap() - 1;
    assert!(n > 7000, "{n} names of 40 characters fit");
    let table = |n: usize| {
        (0..n).fold(String::from("\n[account_names]\n"), |mut t, i| {
            let (id, name) = entry(i);
            t.push_str(&format!("\"{id}\" = \"{name}\"\n"));
            t
        })
    };
    std::fs::write(&path, format!("{config}{}", table(n))).unwrap();
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    let db = aws_sdk_dynamodb::Client::new(&account.sdk(HOME));
    let names = names_item(&db).await;
    assert_eq!(
        names.len(),
        n + 1,
        "every name and this account's are stored"
    );
    assert_eq!(names[&entry(n - 1).0], entry(n - 1).1);
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0);

    // One name more: refused by plan and by apply, naming the bound and the fix; nothing written.
    std::fs::write(&path, format!("{config}{}", table(n + 1))).unwrap();
    let mark = account.requests().len();
    for command in [&["plan"][..], &["apply", "--yes"]] {
        account
            .cli(dir)
            .args(command)
            .assert()
            .failure()
            .stderr(contains(format!(
                "{} names take 401 KB in the account-names item, more than the 400 KB DynamoDB stores in one item",
                n + 1
            )))
            .stderr(contains("or shorten them"));
    }
    assert_eq!(account.writes_since(mark), Vec::<String>::new());
    assert_eq!(
        names_item(&db).await.len(),
        n + 1,
        "the stored names are untouched"
    );
}

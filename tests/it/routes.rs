//! Per-account routes (`[[route]]`) against moto through the real binary, in an organization whose unit holds a
//! member account: each route's topic (with its email subscription) and SecureString are created and tagged, the
//! state table's `config#routes` item names the unit's account, the function may publish and read exactly them,
//! a second apply writes nothing, drift shows in the plan and is put back, and destroy removes them.
//!
//! Where moto differs from AWS: none relied on here (moto keeps the organization's units and accounts, SNS
//! subscriptions stay pending as on AWS until the address confirms).

use crate::organization::{
    applied, cli, init, organization_of, organizations, root_of, second_apply_writes_nothing,
    trail, unit_under,
};
use crate::support::{fresh_account, tagged_ours, workdir};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_organizations::types::OrganizationFeatureSet;
use login_alert_handler::route::{ROUTES_ATTRIBUTE, ROUTES_KEY, RouteTable};

const HOME: &str = "us-east-1";
const SLACK: &str = "https://hooks.slack.com/services/T0/B0/ROUTESECRET";

#[tokio::test(flavor = "multi_thread")]
async fn a_route_from_apply_to_destroy() {
    let account = fresh_account().await;
    organization_of(&account, OrganizationFeatureSet::All).await;
    let org = organizations(&account);
    let root = root_of(&org).await;
    let unit = unit_under(&org, &root, "payments").await;
    let created = org
        .create_account()
        .email("payments-prod@example.com")
        .account_name("payments-prod")
        .send()
        .await
        .unwrap();
    let member = org
        .describe_create_account_status()
        .create_account_request_id(created.create_account_status.unwrap().id.unwrap())
        .send()
        .await
        .unwrap()
        .create_account_status
        .unwrap()
        .account_id
        .unwrap();
    org.move_account()
        .account_id(&member)
        .source_parent_id(&root)
        .destination_parent_id(&unit)
        .send()
        .await
        .unwrap();
    trail(&account, true).await;
    let dir = workdir();
    let dir = dir.path();
    init(&account, dir, "cloudwatch-logs", &[]);
    let path = dir.join("login-alert.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!(
            "{text}\n[[route]]\nname = \"payments\"\nunits = [\"{unit}\"]\n[route.notify]\n\
             emails = [\"pay@example.com\"]\nslack_webhook_url = \"{SLACK}\"\n"
        ),
    )
    .unwrap();

    let plan = cli(&account, dir).args(["plan"]).output().unwrap();
    let plan = String::from_utf8_lossy(&plan.stdout).into_owned();
    assert!(
        plan.contains(&format!(
            "route payments: unit {unit} (1 accounts now) -> pay@example.com, Slack (sensitive)"
        )),
        "{plan}"
    );
    assert!(!plan.contains("ROUTESECRET"), "{plan}");
    let stdout = applied(&account, dir);
    assert!(
        stdout.contains("+ SNS topic login-alert-route-payments"),
        "{stdout}"
    );
    assert!(!stdout.contains("ROUTESECRET"), "{stdout}");

    // The topic, tagged, with the route's address subscribed.
    let sns = aws_sdk_sns::Client::new(&account.sdk(HOME));
    let topic = format!(
        "arn:aws:sns:{HOME}:{}:login-alert-route-payments",
        account.id
    );
    let tags = sns
        .list_tags_for_resource()
        .resource_arn(&topic)
        .send()
        .await
        .unwrap();
    assert!(tagged_ours(tags.tags(), |t| (
        t.key.as_str(),
        t.value.as_str()
    )));
    let subscriptions = sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    let endpoints: Vec<_> = subscriptions
        .subscriptions()
        .iter()
        .filter_map(|s| s.endpoint())
        .collect();
    assert_eq!(endpoints, ["pay@example.com"]);
    // The webhook, encrypted.
    let ssm = aws_sdk_ssm::Client::new(&account.sdk(HOME));
    let parameter = "/login-alert/route/payments/slack-webhook-url";
    let stored = ssm
        .get_parameter()
        .name(parameter)
        .with_decryption(true)
        .send()
        .await
        .unwrap()
        .parameter
        .unwrap();
    assert_eq!(stored.r#type().map(|t| t.as_str()), Some("SecureString"));
    assert_eq!(stored.value(), Some(SLACK));
    // The item the function routes by: the unit's account, and the route's destinations.
    let dynamodb = aws_sdk_dynamodb::Client::new(&account.sdk(HOME));
    let item = dynamodb
        .get_item()
        .table_name("login-alert-state")
        .key("pk", AttributeValue::S(ROUTES_KEY.into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let table = RouteTable::from_json(item[ROUTES_ATTRIBUTE].as_s().unwrap()).unwrap();
    assert_eq!(table.route_of(Some(&member)), Some("payments"));
    assert_eq!(table.route_of(Some(&account.id)), None);
    assert_eq!(
        table.routes["payments"].topic_arn.as_deref(),
        Some(topic.as_str())
    );
    assert_eq!(
        table.routes["payments"].slack_parameter.as_deref(),
        Some(parameter)
    );
    // The function may publish to the route's topic and read its parameter.
    let iam = aws_sdk_iam::Client::new(&account.sdk(HOME));
    let policy = iam
        .get_role_policy()
        .role_name("login-alert-handler")
        .policy_name("login-alert")
        .send()
        .await
        .unwrap();
    let policy = percent_encoding::percent_decode_str(policy.policy_document()).decode_utf8_lossy();
    assert!(policy.contains(&topic), "{policy}");
    assert!(
        policy.contains(&format!("parameter{parameter}")),
        "{policy}"
    );

    second_apply_writes_nothing(&account, dir);

    // Drift: the webhook deleted by hand comes back.
    ssm.delete_parameter().name(parameter).send().await.unwrap();
    let plan = cli(&account, dir)
        .args(["plan", "--detailed-exitcode"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&plan.stdout);
    assert_eq!(plan.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&format!("+ SSM parameter {parameter}")),
        "{text}"
    );
    applied(&account, dir);
    assert!(ssm.get_parameter().name(parameter).send().await.is_ok());

    let destroyed = cli(&account, dir)
        .args(["destroy", "--yes"])
        .output()
        .unwrap();
    assert!(
        destroyed.status.success(),
        "{}",
        String::from_utf8_lossy(&destroyed.stderr)
    );
    assert!(ssm.get_parameter().name(parameter).send().await.is_err());
    let topics = sns.list_topics().send().await.unwrap();
    assert!(
        !topics
            .topics()
            .iter()
            .any(|t| t.topic_arn() == Some(topic.as_str())),
        "{topics:?}"
    );
}

//! What moto cannot produce for the state table's TTL, with `aws-smithy-mocks`: DynamoDB's
//! `ENABLING` / `DISABLING` statuses (moto's UpdateTimeToLive goes straight to ENABLED or DISABLED)
//! and the ValidationException for a second TTL change within the hour (moto allows any number).

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput;
use aws_sdk_dynamodb::operation::describe_time_to_live::DescribeTimeToLiveOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::list_tags_of_resource::ListTagsOfResourceOutput;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, BillingModeSummary, KeySchemaElement, KeyType,
    ScalarAttributeType, TableDescription, Tag, TimeToLiveDescription, TimeToLiveStatus,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use login_alert::aws::Clients;
use login_alert::config::{Config, NotifyConfig, TrailConfig, sample};
use login_alert::model::{Ctx, Target};
use login_alert::plan::{Mode, Plan};
use login_alert::printer::Printer;
use login_alert::resources::state_table::{self, Op};

const TABLE: &str = "login-alert-state";
const TOO_SOON: &str = r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"Time to live has been modified multiple times within a fixed interval"}"#;

fn ctx(dynamodb: Client) -> Ctx {
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .build();
    let mut clients = Clients::new(&sdk);
    clients.dynamodb = dynamodb;
    let config = Config {
        trail: TrailConfig {
            name: Some("audit".into()),
            create: false,
        },
        notify: NotifyConfig {
            emails: vec!["a@example.com".into()],
            ..Default::default()
        },
        ..sample("eu-west-1")
    };
    Ctx::new(
        clients,
        Target::new(&config, "123456789012"),
        Printer::silent(),
    )
}

/// login-alert's table as DynamoDB describes it, its TTL in `status` on `attribute`.
fn table_rules(status: TimeToLiveStatus, attribute: &'static str) -> Vec<Rule> {
    vec![
        mock!(Client::describe_table).then_output(|| {
            DescribeTableOutput::builder()
                .table(
                    TableDescription::builder()
                        .table_name(TABLE)
                        .table_arn(format!(
                            "arn:aws:dynamodb:eu-west-1:123456789012:table/{TABLE}"
                        ))
                        .attribute_definitions(
                            AttributeDefinition::builder()
                                .attribute_name("pk")
                                .attribute_type(ScalarAttributeType::S)
                                .build()
                                .unwrap(),
                        )
                        .key_schema(
                            KeySchemaElement::builder()
                                .attribute_name("pk")
                                .key_type(KeyType::Hash)
                                .build()
                                .unwrap(),
                        )
                        .billing_mode_summary(
                            BillingModeSummary::builder()
                                .billing_mode(BillingMode::PayPerRequest)
                                .build(),
                        )
                        .build(),
                )
                .build()
        }),
        mock!(Client::list_tags_of_resource).then_output(|| {
            ListTagsOfResourceOutput::builder()
                .tags(
                    Tag::builder()
                        .key("managed-by")
                        .value("login-alert")
                        .build()
                        .unwrap(),
                )
                .build()
        }),
        mock!(Client::describe_time_to_live).then_output(move || {
            DescribeTimeToLiveOutput::builder()
                .time_to_live_description(
                    TimeToLiveDescription::builder()
                        .attribute_name(attribute)
                        .time_to_live_status(status.clone())
                        .build(),
                )
                .build()
        }),
        mock!(Client::get_item).then_output(|| GetItemOutput::builder().build()),
    ]
}

async fn plan_for(status: TimeToLiveStatus, attribute: &'static str) -> Plan<Op> {
    let rules = table_rules(status, attribute);
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&rules[0], &rules[1], &rules[2], &rules[3]]
    );
    let ctx = ctx(client);
    let current = state_table::read(&ctx, TABLE)
        .await
        .expect("read")
        .expect("the table");
    let mut plan = Plan::new(Mode::Apply, "123456789012", "eu-west-1");
    state_table::plan_apply(
        Some(&current),
        &state_table::desired_with(&ctx.target, Default::default()),
        &mut plan,
    );
    plan
}

fn ttl_changes(plan: &Plan<Op>) -> Vec<&Op> {
    plan.changes
        .iter()
        .map(|c| &c.op)
        .filter(|op| matches!(op, Op::EnableTtl { .. } | Op::DisableTtl { .. }))
        .collect()
}

/// DISABLING: DynamoDB takes no TTL change until it is done, so apply writes none and says to wait.
#[tokio::test]
async fn a_table_whose_ttl_is_disabling_is_waited_for() {
    let plan = plan_for(TimeToLiveStatus::Disabling, "ttl").await;
    assert_eq!(ttl_changes(&plan), Vec::<&Op>::new());
    assert!(
        plan.notices
            .iter()
            .any(|n| n.contains("being disabled") && n.contains("up to an hour")),
        "{:?}",
        plan.notices
    );
}

/// ENABLING on login-alert's attribute: as good as enabled, nothing to write.
#[tokio::test]
async fn ttl_enabling_on_our_attribute_is_done() {
    let plan = plan_for(TimeToLiveStatus::Enabling, "expires_at").await;
    assert_eq!(ttl_changes(&plan), Vec::<&Op>::new());
    assert!(plan.notices.is_empty(), "{:?}", plan.notices);
}

/// ENABLED on another attribute: this apply only disables it (one TTL change per hour).
#[tokio::test]
async fn ttl_on_another_attribute_is_only_disabled_by_this_apply() {
    let plan = plan_for(TimeToLiveStatus::Enabled, "ttl").await;
    assert_eq!(
        ttl_changes(&plan),
        [&Op::DisableTtl {
            name: TABLE.into(),
            attribute: "ttl".into()
        }]
    );
}

/// DynamoDB refuses a second TTL change within the hour: the error says why and how long to wait.
#[tokio::test]
async fn a_ttl_change_within_the_hour_says_how_long_to_wait() {
    let update = mock!(Client::update_time_to_live)
        .sequence()
        .http_status(400, Some(TOO_SOON.into()))
        .build();
    let ctx = ctx(mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&update]
    ));
    let err = state_table::execute(&ctx, &Op::EnableTtl { name: TABLE.into() })
        .await
        .expect_err("refused");
    let text = format!("{err:#}");
    assert!(text.contains("one TTL change per table per hour"), "{text}");
    assert!(
        text.contains("Wait up to an hour, then run `login-alert apply` again"),
        "{text}"
    );
    assert!(
        text.contains("Time to live has been modified multiple times"),
        "DynamoDB's own words are kept: {text}"
    );
}

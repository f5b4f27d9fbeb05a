//! What the installer discovers, read from moto: trails from every region with status and filter counts.

use crate::support;

use login_alert::discovery;

#[tokio::test(flavor = "multi_thread")]
async fn discovery_reads_every_trail_once_with_its_status_and_filter_count_and_writes_nothing() {
    let account = support::fresh_account().await;
    let sdk = account.sdk("us-east-1");
    let id = &account.id;

    // A log group that already has one subscription filter (of the user's), delivered to by the multi-region trail.
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    for group in ["trail-logs", "archive"] {
        logs.create_log_group()
            .log_group_name(group)
            .send()
            .await
            .expect("log group");
    }
    logs.put_subscription_filter()
        .log_group_name("trail-logs")
        .filter_name("users-own-filter")
        .filter_pattern("")
        .destination_arn(format!("arn:aws:logs:us-east-1:{id}:log-group:archive:*"))
        .send()
        .await
        .expect("subscription filter");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let bucket = format!("trail-logs-{id}");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    let eu = aws_sdk_cloudtrail::Client::new(&account.sdk("eu-west-1"));
    eu.create_trail()
        .name("audit-trail")
        .s3_bucket_name(&bucket)
        .send()
        .await
        .expect("eu-west-1 trail");
    eu.start_logging()
        .name("audit-trail")
        .send()
        .await
        .expect("start logging");
    aws_sdk_cloudtrail::Client::new(&sdk)
        .create_trail()
        .name("main-trail")
        .s3_bucket_name(&bucket)
        .is_multi_region_trail(true)
        .cloud_watch_logs_log_group_arn(format!(
            "arn:aws:logs:us-east-1:{id}:log-group:trail-logs:*"
        ))
        .cloud_watch_logs_role_arn(format!("arn:aws:iam::{id}:role/trail-to-logs"))
        .send()
        .await
        .expect("us-east-1 trail");
    aws_sdk_iam::Client::new(&sdk)
        .create_account_alias()
        .account_alias("acme-prod")
        .send()
        .await
        .expect("alias");
    let writes =
        |account: &support::Account| account.requests().iter().filter(|r| r.is_write()).count();
    let writes_before = writes(&account);

    // Started from eu-west-1: the us-east-1 multi-region trail is seen there too (and in every region), once.
    let found = discovery::discover(&account.sdk("eu-west-1"), "eu-west-1").await;

    assert_eq!(found.problems, Vec::<String>::new());
    assert_eq!(found.account_id.as_deref(), Some(id.as_str()));
    assert_eq!(found.alias.as_deref(), Some("acme-prod"));
    assert_eq!(found.region.as_deref(), Some("eu-west-1"));
    let summary: Vec<_> = found
        .trails
        .iter()
        .map(|t| {
            (
                t.trail.name.as_str(),
                t.trail.home_region.as_str(),
                t.trail.multi_region,
                t.logging,
                t.trail.log_group_name(),
                t.subscription_filters,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("audit-trail", "eu-west-1", false, Some(true), None, None),
            (
                "main-trail",
                "us-east-1",
                true,
                Some(false),
                Some("trail-logs"),
                Some(1)
            ),
        ]
    );
    assert_eq!(
        writes(&account),
        writes_before,
        "discovery wrote: {:?}",
        account.requests()
    );
}

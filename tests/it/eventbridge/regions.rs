//! Which regions get a rule: account:ListRegions (with mocks), and the partitions where EventBridge cannot forward.

use super::*;

fn mocked_ctx(account: aws_sdk_account::Client) -> Ctx {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(HOME))
        .build();
    let mut clients = login_alert::aws::Clients::new(&sdk);
    clients.account = account;
    Ctx::new(clients, target("123456789012"), Printer::silent())
}

#[tokio::test]
async fn the_enabled_regions_are_every_page_of_list_regions_with_an_enabled_status() {
    let first = mock!(Account::list_regions)
        .match_requests(|req| req.next_token().is_none())
        .then_output(|| {
            ListRegionsOutput::builder()
                .regions(
                    Region::builder()
                        .region_name("us-east-1")
                        .region_opt_status(RegionOptStatus::EnabledByDefault)
                        .build(),
                )
                .regions(
                    Region::builder()
                        .region_name("ap-east-1")
                        .region_opt_status(RegionOptStatus::Enabled)
                        .build(),
                )
                .next_token("page-2")
                .build()
        });
    let second = mock!(Account::list_regions)
        .match_requests(|req| req.next_token() == Some("page-2"))
        .then_output(|| {
            ListRegionsOutput::builder()
                .regions(
                    Region::builder()
                        .region_name("eu-west-1")
                        .region_opt_status(RegionOptStatus::EnabledByDefault)
                        .build(),
                )
                // Asked for enabled ones only; one being disabled must still not count.
                .regions(
                    Region::builder()
                        .region_name("me-south-1")
                        .region_opt_status(RegionOptStatus::Disabling)
                        .build(),
                )
                .build()
        });
    let ctx = mocked_ctx(mock_client!(
        aws_sdk_account,
        RuleMode::MatchAny,
        [&first, &second]
    ));
    let regions = enabled_regions::list_regions(&ctx).await.unwrap();
    assert_eq!(regions, ["us-east-1", "ap-east-1", "eu-west-1"]);
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_denied_list_regions_names_the_permission_and_the_way_around_it() {
    let denied = mock!(Account::list_regions).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(403).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"AccessDeniedException","message":"User is not authorized to perform: account:ListRegions"}"#,
            ),
        )
    });
    let ctx = mocked_ctx(mock_client!(aws_sdk_account, RuleMode::MatchAny, [&denied]));
    let err = enabled_regions::list_regions(&ctx)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("account:ListRegions"), "{err}");
    assert!(err.contains(enabled_regions::ENV_ENABLED_REGIONS), "{err}");
}

/// EventBridge cannot route events between Regions in China and GovCloud: there `init`, `plan` and
/// `apply` refuse `eventbridge` and `both` before any write, and name the mode that works.
#[tokio::test(flavor = "multi_thread")]
async fn eventbridge_modes_are_refused_in_china_and_govcloud_without_a_write() {
    let account = fresh_account().await;
    let dir = workdir();
    let mark = account.requests().len();
    for (region, mode) in [("cn-north-1", "eventbridge"), ("us-gov-west-1", "both")] {
        let says_why = || {
            contains("cross-Region event routing is not supported")
                .and(contains("mode = \"cloudwatch-logs\""))
        };
        cli(&account, dir.path())
            .args([
                "init",
                "--yes",
                "--create-trail",
                "--email",
                "secops@example.com",
            ])
            .args(["--region", region, "--mode", mode])
            .assert()
            .code(1)
            .stderr(says_why());
        assert!(
            !dir.path().join("login-alert.toml").exists(),
            "init wrote a config"
        );
        std::fs::write(
            dir.path().join("login-alert.toml"),
            format!(
                "region = \"{region}\"\nmode = \"{mode}\"\n\n[trail]\ncreate = true\n\n[notify]\nemails = [\"secops@example.com\"]\n"
            ),
        )
        .unwrap();
        for args in [&["plan"][..], &["apply", "--yes"][..]] {
            cli(&account, dir.path())
                .args(args)
                .assert()
                .code(1)
                .stderr(says_why());
        }
        std::fs::remove_file(dir.path().join("login-alert.toml")).unwrap();
    }
    assert_eq!(account.writes_since(mark), Vec::<String>::new());
}

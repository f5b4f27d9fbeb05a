//! Organization coverage (`coverage = "organization"`) against moto through the real binary: every
//! reason it cannot work from here is a blocker naming its fix, all at once, before any write; with
//! the organization ready the plan has none. The caller's place in the organization is read with
//! aws-smithy-mocks where moto cannot play it.
//!
//! Where moto differs from AWS (corrected in the test bed's launcher, `scripts/moto-fixed.py`, which
//! cites the API reference for each fix):
//! - moto refuses to register (or list) a delegated administrator for StackSets' service principal;
//! - from a member account, moto answers ListDelegatedAdministrators, ListAWSServiceAccessForOrganization
//!   and DescribeOrganizationalUnit from the member's own empty state; AWS answers a delegated
//!   administrator with the organization's and denies any other member.
//!
//! Also run with aws-smithy-mocks: the denial's exact shape as AWS sends it. moto accepts
//! `IsOrganizationTrail` from any account and checks nothing of the organization (not relied on).

use crate::support;

use std::path::Path;

use aws_sdk_organizations::operation::describe_organization::DescribeOrganizationOutput;
use aws_sdk_organizations::operation::describe_organizational_unit::DescribeOrganizationalUnitOutput;
use aws_sdk_organizations::operation::list_aws_service_access_for_organization::ListAwsServiceAccessForOrganizationOutput;
use aws_sdk_organizations::operation::list_delegated_administrators::ListDelegatedAdministratorsOutput;
use aws_sdk_organizations::operation::list_roots::ListRootsOutput;
use aws_sdk_organizations::types::{
    DelegatedAdministrator, EnabledServicePrincipal, Organization, OrganizationFeatureSet, Root,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use login_alert::organization::{self, Caller, STACKSETS_PRINCIPAL};
use login_alert::resources::enabled_regions::ENV_ENABLED_REGIONS;
use support::{Account, account_with_id, fresh_account, moto, tagged_ours, workdir};

const HOME: &str = "us-east-1";
pub(crate) const TRAIL: &str = "org-trail";

pub(crate) fn organizations(account: &Account) -> aws_sdk_organizations::Client {
    aws_sdk_organizations::Client::new(&account.sdk(HOME))
}

/// `account` becomes the management account of a new organization with `features`.
pub(crate) async fn organization_of(account: &Account, features: OrganizationFeatureSet) -> String {
    let org = organizations(account)
        .create_organization()
        .feature_set(features)
        .send()
        .await
        .expect("create organization");
    org.organization.unwrap().id.unwrap()
}

pub(crate) async fn trusted_access(account: &Account) {
    organizations(account)
        .enable_aws_service_access()
        .service_principal(STACKSETS_PRINCIPAL)
        .send()
        .await
        .expect("enable trusted access");
}

/// A trail of `account` in the home region, organization-wide or not, logging to its own bucket.
pub(crate) async fn trail(account: &Account, organization: bool) {
    let bucket = format!("org-logs-{}", account.id);
    account
        .s3(HOME)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    let cloudtrail = aws_sdk_cloudtrail::Client::new(&account.sdk(HOME));
    cloudtrail
        .create_trail()
        .name(TRAIL)
        .s3_bucket_name(&bucket)
        .is_multi_region_trail(true)
        .is_organization_trail(organization)
        .send()
        .await
        .expect("create trail");
    cloudtrail
        .start_logging()
        .name(TRAIL)
        .send()
        .await
        .expect("start logging");
}

/// The organization's root ID.
pub(crate) async fn root_of(org: &aws_sdk_organizations::Client) -> String {
    org.list_roots().send().await.unwrap().roots.unwrap()[0]
        .id
        .clone()
        .unwrap()
}

/// A new organizational unit named `name` under `parent`, by its ID.
pub(crate) async fn unit_under(
    org: &aws_sdk_organizations::Client,
    parent: &str,
    name: &str,
) -> String {
    org.create_organizational_unit()
        .parent_id(parent)
        .name(name)
        .send()
        .await
        .unwrap()
        .organizational_unit
        .unwrap()
        .id
        .unwrap()
}

pub(crate) fn cli(account: &Account, dir: &Path) -> assert_cmd::Command {
    let mut cmd = account.cli(dir);
    cmd.env(ENV_ENABLED_REGIONS, "us-east-1,eu-west-1");
    cmd
}

/// `init --yes` for organization coverage in `mode`, then `organization_units` when given.
pub(crate) fn init(account: &Account, dir: &Path, mode: &str, units: &[&str]) {
    cli(account, dir)
        .args([
            "init",
            "--yes",
            "--trail",
            TRAIL,
            "--email",
            "secops@example.com",
        ])
        .args(["--coverage", "organization", "--mode", mode])
        .assert()
        .success();
    if !units.is_empty() {
        let path = dir.join("login-alert.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let list: Vec<String> = units.iter().map(|u| format!("\"{u}\"")).collect();
        let text = format!("organization_units = [{}]\n{text}", list.join(", "));
        std::fs::write(&path, text).unwrap();
    }
}

/// `apply --yes`, which must succeed; its stdout.
pub(crate) fn applied(account: &Account, dir: &Path) -> String {
    let out = cli(account, dir).args(["apply", "--yes"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A second `apply --yes`, which must succeed without a single write.
pub(crate) fn second_apply_writes_nothing(account: &Account, dir: &Path) {
    let mark = account.requests().len();
    let again = cli(account, dir).args(["apply", "--yes"]).output().unwrap();
    assert!(again.status.success());
    assert_eq!(
        account.writes_since(mark),
        Vec::<String>::new(),
        "a second apply wrote: {}",
        String::from_utf8_lossy(&again.stdout)
    );
}

/// `apply --yes`, which must be refused before any write; its stderr.
fn refused_apply(account: &Account, dir: &Path) -> String {
    let mark = account.requests().len();
    let out = cli(account, dir).args(["apply", "--yes"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    let writes = account.writes_since(mark);
    assert!(writes.is_empty(), "a refused apply wrote: {writes:?}");
    format!("{stdout}\n{stderr}")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_outside_any_organization_is_told_before_any_write() {
    let account = fresh_account().await;
    trail(&account, false).await;
    let dir = workdir();
    init(&account, dir.path(), "eventbridge", &[]);
    let said = refused_apply(&account, dir.path());
    assert!(
        said.contains(&format!(
            "account {} is not in an AWS Organizations organization",
            account.id
        )) && said.contains("set coverage = \"account\""),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_that_is_not_a_delegated_administrator_is_sent_to_the_management_account() {
    let management = fresh_account().await;
    let org = organization_of(&management, OrganizationFeatureSet::All).await;
    trusted_access(&management).await;
    let created = organizations(&management)
        .create_account()
        .account_name("workloads")
        .email("workloads@example.com")
        .send()
        .await
        .expect("create account");
    let member_id = created.create_account_status.unwrap().account_id.unwrap();
    let member = account_with_id(moto(), member_id.clone()).await;
    trail(&member, false).await;
    let dir = workdir();
    init(&member, dir.path(), "eventbridge", &[]);
    let said = refused_apply(&member, dir.path());
    assert!(
        said.contains(&format!(
            "account {member_id} is a member of organization {org}, neither its management account ({})",
            management.id
        )) && said.contains(&format!(
            "register-delegated-administrator --account-id {member_id} --service-principal {STACKSETS_PRINCIPAL}"
        )),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn consolidated_billing_only_is_refused_with_the_way_to_all_features() {
    let account = fresh_account().await;
    organization_of(&account, OrganizationFeatureSet::ConsolidatedBilling).await;
    trusted_access(&account).await;
    trail(&account, true).await;
    let dir = workdir();
    init(&account, dir.path(), "eventbridge", &[]);
    let said = refused_apply(&account, dir.path());
    assert!(
        said.contains("has consolidated billing features only")
            && said.contains("aws organizations enable-all-features"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn trusted_access_a_missing_unit_and_a_plain_trail_are_all_named_at_once() {
    let account = fresh_account().await;
    let org = organization_of(&account, OrganizationFeatureSet::All).await;
    trail(&account, false).await;
    let dir = workdir();
    init(&account, dir.path(), "eventbridge", &["ou-ab12-nothere1"]);
    let said = refused_apply(&account, dir.path());
    for expected in [
        format!("trusted access for CloudFormation StackSets is not enabled in organization {org}"),
        "aws cloudformation activate-organizations-access".to_owned(),
        format!("organization_units: ou-ab12-nothere1 does not exist in organization {org}"),
        format!("trail {TRAIL} is not an organization trail"),
        "3 problem(s)".to_owned(),
    ] {
        assert!(said.contains(&expected), "{expected}\n{said}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ready_organization_plans_without_a_blocker() {
    let account = fresh_account().await;
    let org = organizations(&account);
    organization_of(&account, OrganizationFeatureSet::All).await;
    trusted_access(&account).await;
    let root = root_of(&org).await;
    let unit = unit_under(&org, &root, "workloads").await;
    trail(&account, true).await;
    let dir = workdir();
    init(&account, dir.path(), "eventbridge", &[&unit, &root]);
    let out = cli(&account, dir.path())
        .args(["plan", "--detailed-exitcode"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(!stdout.contains("Cannot apply"), "{stdout}");
}

/// A member registered as delegated administrator for StackSets reads the organization as the
/// management account would (moto with the launcher's corrections).
#[tokio::test(flavor = "multi_thread")]
async fn a_delegated_administrator_reads_the_organization_from_its_member_account() {
    let (org, management, admin, plain) = organization_with_a_delegated_administrator().await;
    let root = root_of(&organizations(&management)).await;
    let read = organization::read(
        &organizations(&admin),
        &admin.id,
        &[root.clone(), "ou-ab12-nothere1".into()],
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        (read.id.as_str(), read.caller),
        (org.as_str(), Caller::DelegatedAdmin)
    );
    assert_eq!(read.management_account, management.id);
    assert_eq!(
        (read.stacksets_access, read.root.as_deref()),
        (Some(true), Some(root.as_str()))
    );
    assert_eq!(read.missing_units, ["ou-ab12-nothere1"]);

    // The other member is neither: denied the list, it is told where to run instead.
    assert_eq!(
        organization::caller(&organizations(&plain), &plain.id)
            .await
            .unwrap(),
        Some(Caller::Member)
    );
}

fn described(master: &str, features: OrganizationFeatureSet) -> DescribeOrganizationOutput {
    DescribeOrganizationOutput::builder()
        .organization(
            Organization::builder()
                .id("o-abcdefghij")
                .master_account_id(master)
                .feature_set(features)
                .build(),
        )
        .build()
}

/// A delegated administrator for StackSets, as AWS answers it (moto cannot play one).
#[tokio::test]
async fn a_delegated_administrator_for_stacksets_qualifies_and_reads_the_organization() {
    let describe = mock!(aws_sdk_organizations::Client::describe_organization)
        .then_output(|| described("111111111111", OrganizationFeatureSet::All));
    let admins = mock!(aws_sdk_organizations::Client::list_delegated_administrators)
        .match_requests(|r| r.service_principal() == Some(STACKSETS_PRINCIPAL))
        .then_output(|| {
            ListDelegatedAdministratorsOutput::builder()
                .delegated_administrators(
                    DelegatedAdministrator::builder().id("222222222222").build(),
                )
                .build()
        });
    let access = mock!(aws_sdk_organizations::Client::list_aws_service_access_for_organization)
        .then_output(|| {
            ListAwsServiceAccessForOrganizationOutput::builder()
                .enabled_service_principals(
                    EnabledServicePrincipal::builder()
                        .service_principal(STACKSETS_PRINCIPAL)
                        .build(),
                )
                .build()
        });
    let roots = mock!(aws_sdk_organizations::Client::list_roots).then_output(|| {
        ListRootsOutput::builder()
            .roots(Root::builder().id("r-ab12").build())
            .build()
    });
    let unit = mock!(aws_sdk_organizations::Client::describe_organizational_unit)
        .then_output(|| DescribeOrganizationalUnitOutput::builder().build());
    let client = mock_client!(
        aws_sdk_organizations,
        RuleMode::MatchAny,
        [&describe, &admins, &access, &roots, &unit]
    );
    let units = ["ou-ab12-abcdefgh".to_owned()];
    let org = organization::read(&client, "222222222222", &units)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org.caller, Caller::DelegatedAdmin);
    assert_eq!(org.stacksets_access, Some(true));
    assert_eq!(org.root.as_deref(), Some("r-ab12"));
    assert!(org.missing_units.is_empty());
    assert!(
        organization::refusals(Some(&org), "222222222222", "eventbridge", true, false).is_empty()
    );
}

/// A plain member is denied ListDelegatedAdministrators by AWS: that denial is its answer.
#[tokio::test]
async fn a_member_denied_the_administrators_list_is_a_member() {
    let describe = mock!(aws_sdk_organizations::Client::describe_organization)
        .then_output(|| described("111111111111", OrganizationFeatureSet::All));
    let denied = mock!(aws_sdk_organizations::Client::list_delegated_administrators).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"AccessDeniedException","Message":"You don't have permissions to access this resource."}"#,
            ),
        )
    });
    let client = mock_client!(
        aws_sdk_organizations,
        RuleMode::MatchAny,
        [&describe, &denied]
    );
    assert_eq!(
        organization::caller(&client, "333333333333").await.unwrap(),
        Some(Caller::Member)
    );
    let org = organization::read(&client, "333333333333", &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!((org.caller, org.stacksets_access), (Caller::Member, None));
}

/// The management account's side of EventBridge coverage: the central bus with its organization-only
/// policy, its rule to the function and that rule's own invoke statement; a second apply writes
/// nothing; a widened policy and a foreign target are drift the plan shows and apply repairs;
/// destroy leaves nothing of it. (moto stores a bus policy's condition but never evaluates it, and
/// cannot route PutEvents to a Lambda target: what is asserted here is the configuration AWS evaluates.)
#[tokio::test(flavor = "multi_thread")]
async fn the_central_bus_from_apply_to_destroy() {
    let account = fresh_account().await;
    let org = organization_of(&account, OrganizationFeatureSet::All).await;
    trusted_access(&account).await;
    trail(&account, true).await;
    let dir = workdir();
    let dir = dir.path();
    init(&account, dir, "eventbridge", &[]);
    let stdout = applied(&account, dir);
    assert!(
        stdout.contains("+ EventBridge event bus login-alert-central"),
        "{stdout}"
    );

    let events = aws_sdk_eventbridge::Client::new(&account.sdk(HOME));
    let bus = events
        .describe_event_bus()
        .name("login-alert-central")
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value = serde_json::from_str(bus.policy().unwrap()).unwrap();
    let statement = &policy["Statement"][0];
    assert_eq!(
        statement["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
        org.as_str()
    );
    assert_eq!(statement["Action"], "events:PutEvents");
    let tags = events
        .list_tags_for_resource()
        .resource_arn(bus.arn().unwrap())
        .send()
        .await
        .unwrap();
    assert!(tagged_ours(tags.tags(), |t| (
        t.key.as_str(),
        t.value.as_str()
    )));
    let rule_arn = format!(
        "arn:aws:events:{HOME}:{}:rule/login-alert-central/login-alert-central",
        account.id
    );
    let targets = events
        .list_targets_by_rule()
        .rule("login-alert-central")
        .event_bus_name("login-alert-central")
        .send()
        .await
        .unwrap();
    let function = format!(
        "arn:aws:lambda:{HOME}:{}:function:login-alert-handler",
        account.id
    );
    assert_eq!(
        targets
            .targets()
            .iter()
            .map(|t| t.arn.as_str())
            .collect::<Vec<_>>(),
        [function.as_str()]
    );
    let lambda = aws_sdk_lambda::Client::new(&account.sdk(HOME));
    let function_policy = lambda
        .get_policy()
        .function_name("login-alert-handler")
        .send()
        .await
        .unwrap();
    let function_policy: serde_json::Value =
        serde_json::from_str(function_policy.policy().unwrap()).unwrap();
    assert!(
        function_policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["Sid"] == "login-alert-central"
                && s["Condition"]["ArnLike"]["AWS:SourceArn"] == rule_arn.as_str()),
        "{function_policy}"
    );

    second_apply_writes_nothing(&account, dir);

    // Someone lets every AWS account in and copies the events elsewhere.
    let open = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "open", "Effect": "Allow",
        "Principal": "*", "Action": "events:PutEvents", "Resource": bus.arn().unwrap()}]});
    events
        .put_permission()
        .event_bus_name("login-alert-central")
        .policy(open.to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("login-alert-central")
        .event_bus_name("login-alert-central")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("copy")
                .arn(format!("arn:aws:sqs:{HOME}:{}:copy", account.id))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let plan = cli(&account, dir)
        .args(["plan", "--detailed-exitcode"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&plan.stdout);
    assert_eq!(plan.status.code(), Some(2), "{text}");
    assert!(
        text.contains("~ event bus policy login-alert-central"),
        "{text}"
    );
    assert!(
        text.contains("~ EventBridge rule login-alert-central on login-alert-central"),
        "{text}"
    );
    cli(&account, dir)
        .args(["apply", "--yes"])
        .assert()
        .success();
    let repaired = events
        .describe_event_bus()
        .name("login-alert-central")
        .send()
        .await
        .unwrap();
    let repaired: serde_json::Value = serde_json::from_str(repaired.policy().unwrap()).unwrap();
    assert_eq!(
        repaired["Statement"][0]["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
        org.as_str()
    );
    assert_eq!(
        repaired["Statement"].as_array().unwrap().len(),
        1,
        "{repaired}"
    );
    cli(&account, dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0);

    cli(&account, dir)
        .args(["destroy", "--yes"])
        .assert()
        .success();
    let gone = events
        .describe_event_bus()
        .name("login-alert-central")
        .send()
        .await;
    assert!(gone.is_err(), "the central bus is left: {gone:?}");
    assert!(
        account.tagged(HOME).await.is_empty(),
        "{:?}",
        account.tagged(HOME).await
    );
}

/// The member accounts' side: one StackSet (service-managed, deployed to the root) puts a forwarding
/// rule in every member account and enabled region, and the role it uses once per account (created
/// in the home region only: moto, like AWS, refuses a second role of the same name); the management
/// account gets no instance and keeps its own rules; a second apply writes nothing; destroy removes
/// the instances, the StackSet, and with them every rule and role in the member accounts.
/// moto corrections relied on (scripts/moto-fixed.py): the management account excluded from root
/// targets, nested units followed, no duplicate instances, DeleteStackInstances by deployment
/// targets, OrganizationalUnitIds reported by DescribeStackSet.
#[tokio::test(flavor = "multi_thread")]
async fn the_stack_set_forwards_every_member_account_from_apply_to_destroy() {
    let management = fresh_account().await;
    organization_of(&management, OrganizationFeatureSet::All).await;
    trusted_access(&management).await;
    let orgs = organizations(&management);
    let root = root_of(&orgs).await;
    let unit = unit_under(&orgs, &root, "workloads").await;
    let nested = unit_under(&orgs, &unit, "prod").await;
    let mut members = Vec::new();
    for (name, parent) in [
        ("security", None),
        ("app", Some(&unit)),
        ("app-prod", Some(&nested)),
    ] {
        let created = orgs
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .unwrap();
        let id = created.create_account_status.unwrap().account_id.unwrap();
        if let Some(parent) = parent {
            orgs.move_account()
                .account_id(&id)
                .source_parent_id(&root)
                .destination_parent_id(parent)
                .send()
                .await
                .unwrap();
        }
        members.push(account_with_id(moto(), id).await);
    }
    trail(&management, true).await;
    let dir = workdir();
    let dir = dir.path();
    init(&management, dir, "eventbridge", &[]);
    let stdout = applied(&management, dir);
    assert!(
        stdout.contains("+ CloudFormation StackSet login-alert-org-forward"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("+ stack instances {root} × 2 regions")),
        "{stdout}"
    );

    let central = format!(
        "arn:aws:events:{HOME}:{}:event-bus/login-alert-central",
        management.id
    );
    for member in &members {
        for region in ["us-east-1", "eu-west-1"] {
            let events = aws_sdk_eventbridge::Client::new(&member.sdk(region));
            let targets = events
                .list_targets_by_rule()
                .rule("login-alert-org-forward")
                .send()
                .await
                .unwrap_or_else(|e| panic!("no forwarding rule in {} {region}: {e:?}", member.id));
            let target = &targets.targets()[0];
            assert_eq!(target.arn, central);
            assert_eq!(
                target.role_arn.as_deref(),
                Some(format!("arn:aws:iam::{}:role/login-alert-org-forward", member.id).as_str())
            );
        }
        let iam = aws_sdk_iam::Client::new(&member.sdk(HOME));
        let role = iam
            .get_role()
            .role_name("login-alert-org-forward")
            .send()
            .await
            .unwrap();
        assert!(role.role.is_some());
        let policy = iam
            .get_role_policy()
            .role_name("login-alert-org-forward")
            .policy_name("put-events-on-the-central-bus")
            .send()
            .await
            .unwrap();
        // moto keeps a template's inline policy as it parsed it (not JSON), so its text is checked.
        let document = urlencoding_decode(policy.policy_document());
        assert!(
            document.contains("events:PutEvents")
                && document.contains(&central)
                && document.matches("Action").count() == 1,
            "{document}"
        );
    }
    // The management account gets no stack instance: its own per-region rules cover it.
    let events = aws_sdk_eventbridge::Client::new(&management.sdk("eu-west-1"));
    assert!(
        events
            .describe_rule()
            .name("login-alert-org-forward")
            .send()
            .await
            .is_err()
    );
    assert!(
        events
            .describe_rule()
            .name("login-alert-forward")
            .send()
            .await
            .is_ok()
    );

    let mark = management.requests().len();
    cli(&management, dir)
        .args(["apply", "--yes"])
        .assert()
        .success();
    assert_eq!(
        management.writes_since(mark),
        Vec::<String>::new(),
        "a second apply wrote"
    );

    // A gap: one account's instance in eu-west-1 deleted behind login-alert's back.
    let cfn = aws_sdk_cloudformation::Client::new(&management.sdk(HOME));
    cfn.delete_stack_instances()
        .stack_set_name("login-alert-org-forward")
        .deployment_targets(
            aws_sdk_cloudformation::types::DeploymentTargets::builder()
                .organizational_unit_ids(&root)
                .accounts(&members[1].id)
                .account_filter_type(aws_sdk_cloudformation::types::AccountFilterType::Intersection)
                .build(),
        )
        .regions("eu-west-1")
        .retain_stacks(false)
        .send()
        .await
        .unwrap();
    let coverage_check = |out: &std::process::Output| -> serde_json::Value {
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "organization coverage")
            .cloned()
            .unwrap_or_else(|| panic!("no coverage check: {report}"))
    };
    let status = cli(&management, dir)
        .args(["status", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(
        status.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    let check = coverage_check(&status);
    assert_eq!(check["status"], "warning", "{check}");
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("3 accounts × 2 regions: 5 current, 1 missing")
            && detail.contains(&format!(
                "account {} has no stack instance in eu-west-1",
                members[1].id
            )),
        "{detail}"
    );
    let plan = cli(&management, dir).args(["plan"]).output().unwrap();
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        text.contains("+ stack instances 1 accounts without an instance")
            && text.contains(&format!(
                "organization coverage: 3 accounts × 2 regions: 5 current, 1 missing; not covered: account {} has no stack instance in eu-west-1",
                members[1].id
            )),
        "{text}"
    );
    let mark = management.requests().len();
    cli(&management, dir)
        .args(["apply", "--yes"])
        .assert()
        .success();
    let writes = management.writes_since(mark);
    assert_eq!(
        writes,
        ["cloudformation:CreateStackInstances"],
        "one operation fills the gap"
    );
    let status = cli(&management, dir)
        .args(["status", "--output", "json"])
        .output()
        .unwrap();
    let check = coverage_check(&status);
    assert_eq!(check["status"], "ok", "{check}");
    assert_eq!(check["detail"], "3 accounts × 2 regions: 6 current");

    cli(&management, dir)
        .args(["destroy", "--yes"])
        .assert()
        .success();
    for member in &members {
        for region in ["us-east-1", "eu-west-1"] {
            let events = aws_sdk_eventbridge::Client::new(&member.sdk(region));
            assert!(
                events
                    .describe_rule()
                    .name("login-alert-org-forward")
                    .send()
                    .await
                    .is_err()
            );
        }
        let iam = aws_sdk_iam::Client::new(&member.sdk(HOME));
        assert!(
            iam.get_role()
                .role_name("login-alert-org-forward")
                .send()
                .await
                .is_err()
        );
    }
    let gone = cfn
        .describe_stack_set()
        .stack_set_name("login-alert-org-forward")
        .send()
        .await;
    assert!(gone.is_err(), "the StackSet is left: {gone:?}");
}

/// IAM returns inline policy documents URL-encoded.
fn urlencoding_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// An organization with all features and StackSets' trusted access, the management account's
/// organization trail, and two member accounts ("security", "workloads") below the root, the first
/// registered as delegated administrator for StackSets: (organization ID, management, delegated
/// administrator, other member).
pub(crate) async fn organization_with_a_delegated_administrator()
-> (String, Account, Account, Account) {
    let management = fresh_account().await;
    let org = organization_of(&management, OrganizationFeatureSet::All).await;
    trusted_access(&management).await;
    trail(&management, true).await;
    let orgs = organizations(&management);
    let mut members = Vec::new();
    for name in ["security", "workloads"] {
        let created = orgs
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .unwrap();
        let id = created.create_account_status.unwrap().account_id.unwrap();
        members.push(account_with_id(moto(), id).await);
    }
    orgs.register_delegated_administrator()
        .account_id(&members[0].id)
        .service_principal(STACKSETS_PRINCIPAL)
        .send()
        .await
        .expect("register the delegated administrator for StackSets");
    let other = members.pop().unwrap();
    (org, management, members.pop().unwrap(), other)
}

/// The management account's organization trail as CloudTrail describes it there, with its status.
async fn management_trail(management: &Account) -> (String, bool) {
    let cloudtrail = aws_sdk_cloudtrail::Client::new(&management.sdk(HOME));
    let described = cloudtrail
        .describe_trails()
        .trail_name_list(TRAIL)
        .send()
        .await
        .unwrap();
    let trail = described
        .trail_list()
        .iter()
        .find(|t| t.name() == Some(TRAIL))
        .expect("the organization trail");
    let status = cloudtrail
        .get_trail_status()
        .name(TRAIL)
        .send()
        .await
        .unwrap();
    (format!("{trail:?}"), status.is_logging() == Some(true))
}

/// `status --output json`.
fn status_report(account: &Account, dir: &Path) -> serde_json::Value {
    let status = cli(account, dir)
        .args(["status", "--output", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&status.stdout).unwrap()
}

/// The check named `name` in a `status --output json` report.
fn check_named(report: &serde_json::Value, name: &str) -> serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no check {name}: {report}"))
}

/// The whole life cycle from a delegated administrator for StackSets (EventBridge mode): the
/// management account's organization trail is adopted read only (the plan says so, status reads it,
/// destroy leaves it, and no CloudTrail write is ever sent), the central bus and the StackSet are the
/// administrator's, a second apply writes nothing. moto corrections relied on (scripts/moto-fixed.py):
/// a member account sees the management account's organization trail and its status; a delegated
/// administrator's StackSet deploys to the organization's units.
#[tokio::test(flavor = "multi_thread")]
async fn a_delegated_administrator_covers_the_organization_and_only_reads_its_trail() {
    let (_, management, admin, other) = organization_with_a_delegated_administrator().await;
    let trail_before = management_trail(&management).await;
    assert!(trail_before.1, "the organization trail logs");
    let dir = workdir();
    let dir = dir.path();
    let mark = admin.requests().len();
    init(&admin, dir, "eventbridge", &[]);
    let config = std::fs::read_to_string(dir.join("login-alert.toml")).unwrap();
    assert!(config.contains(&format!("name = \"{TRAIL}\"")), "{config}");

    let stdout = applied(&admin, dir);
    for expected in [
        format!(
            "trail {TRAIL} belongs to the management account {}: read only, login-alert will not change it",
            management.id
        ),
        format!(
            "the management account {} is not covered from this delegated administrator",
            management.id
        ),
        "+ CloudFormation StackSet login-alert-org-forward".to_owned(),
    ] {
        assert!(stdout.contains(&expected), "{expected}\n{stdout}");
    }
    let central = format!(
        "arn:aws:events:{HOME}:{}:event-bus/login-alert-central",
        admin.id
    );
    for region in ["us-east-1", "eu-west-1"] {
        let events = aws_sdk_eventbridge::Client::new(&other.sdk(region));
        let targets = events
            .list_targets_by_rule()
            .rule("login-alert-org-forward")
            .send()
            .await
            .unwrap_or_else(|e| panic!("no forwarding rule in {} {region}: {e:?}", other.id));
        assert_eq!(targets.targets()[0].arn, central);
    }
    let cloudtrail_writes: Vec<_> = admin
        .writes_since(mark)
        .into_iter()
        .filter(|w| w.starts_with("cloudtrail:"))
        .collect();
    assert_eq!(cloudtrail_writes, Vec::<String>::new());
    assert_eq!(management_trail(&management).await, trail_before);

    let mark = admin.requests().len();
    cli(&admin, dir).args(["apply", "--yes"]).assert().success();
    assert_eq!(
        admin.writes_since(mark),
        Vec::<String>::new(),
        "a second apply wrote"
    );

    let report = status_report(&admin, dir);
    let check = |name: &str| check_named(&report, name);
    assert_eq!(check("trail logging")["status"], "ok", "{report}");
    assert_eq!(check("trail regions")["status"], "ok", "{report}");
    let coverage = check("organization coverage");
    assert_eq!(coverage["status"], "ok", "{coverage}");
    assert!(
        coverage["detail"]
            .as_str()
            .unwrap()
            .starts_with("2 accounts × 2 regions"),
        "{coverage}"
    );

    // Stopped by its owner: status says so, and where the fix is run (login-alert cannot start it).
    aws_sdk_cloudtrail::Client::new(&management.sdk(HOME))
        .stop_logging()
        .name(TRAIL)
        .send()
        .await
        .unwrap();
    let logging = check_named(&status_report(&admin, dir), "trail logging");
    assert_eq!(logging["status"], "failing", "{logging}");
    assert!(
        logging["fix"]
            .as_str()
            .unwrap()
            .starts_with(&format!("in the management account {}", management.id)),
        "{logging}"
    );
    let said = refused_apply(&admin, dir);
    assert!(
        said.contains(&format!("trail {TRAIL} is not logging"))
            && said.contains(&format!("run `aws cloudtrail start-logging --name arn:aws:cloudtrail:{HOME}:{}:trail/{TRAIL}", management.id)),
        "{said}"
    );
    aws_sdk_cloudtrail::Client::new(&management.sdk(HOME))
        .start_logging()
        .name(TRAIL)
        .send()
        .await
        .unwrap();

    let mark = admin.requests().len();
    let out = cli(&admin, dir)
        .args(["destroy", "--yes"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "trail {TRAIL} belongs to account {}",
            management.id
        )) && stdout.contains("left as it is"),
        "{stdout}"
    );
    assert!(
        !admin
            .writes_since(mark)
            .iter()
            .any(|w| w.starts_with("cloudtrail:"))
    );
    let gone = aws_sdk_cloudformation::Client::new(&admin.sdk(HOME))
        .describe_stack_set()
        .stack_set_name("login-alert-org-forward")
        .call_as(aws_sdk_cloudformation::types::CallAs::DelegatedAdmin)
        .send()
        .await;
    assert!(gone.is_err(), "the StackSet is left: {gone:?}");
    assert!(
        aws_sdk_eventbridge::Client::new(&other.sdk("eu-west-1"))
            .describe_rule()
            .name("login-alert-org-forward")
            .send()
            .await
            .is_err()
    );
    let (trail_after, logging) = management_trail(&management).await;
    assert_eq!(trail_after, trail_before.0);
    assert!(logging);
}

/// From a delegated administrator, CloudWatch Logs delivery (`cloudwatch-logs`, `both`) would read
/// the organization trail's log group, which is in the management account: refused before any write.
#[tokio::test(flavor = "multi_thread")]
async fn a_delegated_administrator_is_refused_cloudwatch_logs_delivery_before_any_write() {
    let (_, management, admin, _) = organization_with_a_delegated_administrator().await;
    for mode in ["cloudwatch-logs", "both"] {
        let dir = workdir();
        init(&admin, dir.path(), mode, &[]);
        let said = refused_apply(&admin, dir.path());
        for expected in [
            format!(
                "coverage = \"organization\" with mode = \"{mode}\" reads every account's events from the organization trail's log group, \
                 which belongs to the management account {}",
                management.id
            ),
            format!(
                "run login-alert in account {}, or set mode = \"eventbridge\"",
                management.id
            ),
            "1 problem(s)".to_owned(),
        ] {
            assert!(said.contains(&expected), "{mode}: {expected}\n{said}");
        }
    }
}

//! Both shipped binaries run in an empty root directory (a chroot holding the binary and `/etc/{hosts,
//! resolv.conf,nsswitch.conf}`, nothing else), so they use no library of the build machine: the release CLI
//! from `scripts/dist.sh`'s archive and the `bootstrap` from the bundled handler zip. They reach moto, the
//! Lambda runtime API stub and Slack by host names that only that `/etc/hosts` knows, and trust HTTPS only
//! through a CA bundle where Amazon Linux 2023 keeps it.

use crate::support;

mod chroot;
mod stubs;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use chroot::{Root, Running, Trust, run, text};
use stubs::{
    Destinations, Ended, REGION, cloudwatch_logs_event, destinations, ended, pki, runtime_api,
    tls_front,
};
use support::{Account, fresh_account, moto};

/// The release CLI, unpacked from the archive `scripts/dist.sh` writes (built once per test run).
fn dist_cli() -> &'static [u8] {
    static CLI: OnceLock<Vec<u8>> = OnceLock::new();
    CLI.get_or_init(|| {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = Command::new(repo.join("scripts/dist.sh"))
            .current_dir(repo)
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/dist.sh");
        assert!(out.status.success(), "scripts/dist.sh failed");
        let archive = repo.join(text(&out.stdout).trim());
        let dist = archive.parent().unwrap();
        let name = archive.file_name().unwrap().to_str().unwrap();
        // The check the README's one-liner makes.
        let check = Command::new("sha256sum")
            .args(["-c", &format!("{name}.sha256")])
            .current_dir(dist)
            .output()
            .unwrap();
        assert!(check.status.success(), "{}", text(&check.stdout));
        let unpacked = tempfile::tempdir().unwrap();
        let tar = Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(unpacked.path())
            .output()
            .unwrap();
        assert!(tar.status.success(), "{}", text(&tar.stderr));
        let entries: Vec<String> = std::fs::read_dir(unpacked.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            entries,
            ["login-alert"],
            "the archive holds the binary only"
        );
        std::fs::read(unpacked.path().join("login-alert")).unwrap()
    })
}

/// The `bootstrap` this build deploys, from the bundled package.
fn bootstrap() -> Vec<u8> {
    let zip = login_alert::bundle::handler_zip();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut binary = Vec::new();
    std::io::copy(&mut archive.by_name("bootstrap").unwrap(), &mut binary).unwrap();
    binary
}

fn moto_port() -> u16 {
    moto()
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("moto's URL ends in its port")
}

fn aws_env(account: &Account, endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("HOME", "/".into()),
        ("NO_COLOR", "1".into()),
        ("AWS_ENDPOINT_URL", endpoint.into()),
        ("AWS_ACCESS_KEY_ID", account.access_key.clone()),
        ("AWS_SECRET_ACCESS_KEY", account.secret_key.clone()),
        ("AWS_REGION", REGION.into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

const CONFIG: &str =
    "region = \"us-east-1\"\n[trail]\ncreate = true\n[notify]\nemails = [\"secops@example.com\"]\n";

fn cli_root(trust: Trust, ca_pem: &str) -> Root {
    let root = Root::new(trust, ca_pem);
    root.install("login-alert", dist_cli(), 0o755);
    // chroot starts in `/`, where the CLI looks for its default config file.
    root.install("login-alert.toml", CONFIG.as_bytes(), 0o644);
    root
}

/// The release CLI in `root` with `args`, its environment exactly `env`.
async fn cli(root: &Root, env: &[(&str, String)], args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = root.command("/login-alert", env);
    cmd.args(args);
    let stdin = stdin.to_vec();
    tokio::task::spawn_blocking(move || run(cmd, &stdin))
        .await
        .unwrap()
}

/// `plan` in `root` against `endpoint`; asserts it read this account and found everything to create.
async fn assert_plans(root: &Root, account: &Account, endpoint: &str) {
    let env = aws_env(account, endpoint);
    let out = cli(root, &env, &["plan", "--detailed-exitcode"], b"").await;
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "plan against {endpoint} in an empty root:\n{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("+ trail login-alert-trail will be created"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("login-alert-trail-{}-us-east-1", account.id)),
        "the plan names this account's bucket: {stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_release_cli_runs_in_an_empty_root() {
    let root = cli_root(Trust::Nothing, "");

    let out = cli(&root, &[], &["--version"], b"").await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!(
            "login-alert {} (handler code_sha256 {})\n",
            env!("CARGO_PKG_VERSION"),
            base64::engine::general_purpose::STANDARD
                .encode(Sha256::digest(login_alert::bundle::handler_zip()))
        ),
        "the release bundles the handler this build tested"
    );

    let fixture = root_sign_in();
    let preview = [
        "preview",
        "-",
        "--output",
        "email",
        "--account-name",
        "prod",
    ];
    let out = cli(
        &root,
        &[],
        &[&preview[..], &["--timezone", "Asia/Tokyo"]].concat(),
        &fixture,
    )
    .await;
    let email = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        email.starts_with("Subject: [prod] Root console sign-in succeeded without MFA\n"),
        "{email}"
    );
    assert!(
        email.contains("Time:       2018-08-30 01:24:34 JST (Asia/Tokyo)"),
        "time zones come from inside the binary: {email}"
    );

    let account = fresh_account().await;
    assert_plans(
        &root,
        &account,
        &format!("http://moto.test:{}", moto_port()),
    )
    .await;

    // A name that /etc/hosts does not know cannot be reached: the name above was resolved from that file.
    let mut env = aws_env(&account, &format!("http://unmapped.test:{}", moto_port()));
    env.push(("AWS_MAX_ATTEMPTS", "1".into()));
    let out = cli(&root, &env, &["plan"], b"").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("dns error"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_release_cli_trusts_the_ca_bundle_where_amazon_linux_keeps_it() {
    let pki = pki();
    let account = fresh_account().await;
    let endpoint = format!(
        "https://moto.test:{}",
        tls_front(moto_port(), pki.server.clone()).await
    );
    for trust in [Trust::AmazonLinux2023, Trust::PkiCaBundleOnly] {
        let root = cli_root(trust, &pki.ca_pem);
        assert_plans(&root, &account, &endpoint).await;
    }

    // Without the bundle the same server is not trusted: the trust above came from that file.
    let root = cli_root(Trust::Nothing, "");
    let mut env = aws_env(&account, &endpoint);
    env.push(("AWS_MAX_ATTEMPTS", "1".into()));
    let out = cli(&root, &env, &["plan"], b"").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("UnknownIssuer"),
        "{}",
        text(&out.stderr)
    );
}

/// A root user's console sign-in without MFA, as CloudTrail records it.
fn root_sign_in() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("handler/tests/fixtures/aws-ct-ug__root-success-no-mfa.json"),
    )
    .unwrap()
}

/// Runs `bootstrap` in `root` for one invocation with a root sign-in, emailing (and posting to Slack if `slack`).
async fn invoke(
    root: &Root,
    account: &Account,
    endpoint: &str,
    to: &Destinations,
    slack: bool,
) -> Ended {
    let runtime = runtime_api(cloudwatch_logs_event(&[serde_json::from_slice(
        &root_sign_in(),
    )
    .unwrap()]))
    .await;
    let mut env = aws_env(account, endpoint);
    env.extend([
        (
            "AWS_LAMBDA_RUNTIME_API",
            format!("runtime.test:{}", runtime.address().port()),
        ),
        ("AWS_LAMBDA_FUNCTION_NAME", "login-alert-handler".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        (login_alert_handler::ENV_TOPIC_ARN, to.topic_arn.clone()),
        (login_alert_handler::ENV_ACCOUNT_NAME, "prod".into()),
        (login_alert_handler::ENV_TIMEZONE, "Asia/Tokyo".into()),
        (login_alert_handler::ENV_SCOPE, "all".into()),
    ]);
    if slack {
        env.push((
            login_alert_handler::ENV_SLACK_PARAMETER,
            to.parameter.clone(),
        ));
    }
    // Outside the root, which holds nothing but what the function may use.
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut function = Running(
        root.command("/var/task/bootstrap", &env)
            .stdin(Stdio::null())
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("start bootstrap"),
    );
    ended(&runtime, &mut function, log.path()).await
}

/// The answer with the counts this test is about (the handler reports more: messages, duplicates, …).
fn counts(ended: Ended) -> Ended {
    match ended {
        Ended::Answered(path, body) if path.ends_with("/response") => {
            let keep = ["records", "unreadable", "alerts", "deliveries"];
            let body = keep
                .iter()
                .filter_map(|k| body.get(*k).map(|v| ((*k).to_owned(), v.clone())))
                .collect::<serde_json::Map<_, _>>();
            Ended::Answered(path, Value::Object(body))
        }
        other => other,
    }
}

fn delivered_both() -> Ended {
    Ended::Answered(
        "/2018-06-01/runtime/invocation/request-1/response".into(),
        json!({"records": 1, "unreadable": 0, "alerts": 1, "deliveries": 2}),
    )
}

fn function_root(trust: Trust, ca_pem: &str) -> Root {
    let root = Root::new(trust, ca_pem);
    root.install("var/task/bootstrap", &bootstrap(), 0o755);
    root
}

/// Email only: the Slack client needs CA certificates to start, and a bare root has none (the next test).
#[tokio::test(flavor = "multi_thread")]
async fn the_bootstrap_runs_in_an_empty_root() {
    let account = fresh_account().await;
    let to = destinations(&account).await;
    let root = function_root(Trust::Nothing, "");
    let endpoint = format!("http://moto.test:{}", moto_port());
    let ended = counts(invoke(&root, &account, &endpoint, &to, false).await);
    assert_eq!(
        ended,
        Ended::Answered(
            "/2018-06-01/runtime/invocation/request-1/response".into(),
            json!({"records": 1, "unreadable": 0, "alerts": 1, "deliveries": 1}),
        )
    );
    let emails = to.emails(&account);
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(
        emails[0].0,
        "[prod] Root console sign-in succeeded without MFA"
    );
    assert!(
        emails[0]
            .1
            .contains("Time:       2018-08-30 01:24:34 JST (Asia/Tokyo)"),
        "{}",
        emails[0].1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bootstrap_trusts_the_ca_bundle_where_amazon_linux_keeps_it() {
    let pki = pki();
    let account = fresh_account().await;
    let to = destinations(&account).await;
    let moto_tls = tls_front(moto_port(), pki.server.clone()).await;
    let slack_tls = tls_front(to.slack.address().port(), pki.server.clone()).await;
    to.point_slack_at(
        &account,
        &format!("https://slack.test:{slack_tls}/services/T0/B0/secret"),
    )
    .await;
    let endpoint = format!("https://moto.test:{moto_tls}");
    for (n, trust) in [Trust::AmazonLinux2023, Trust::PkiCaBundleOnly]
        .into_iter()
        .enumerate()
    {
        let root = function_root(trust, &pki.ca_pem);
        let ended = invoke(&root, &account, &endpoint, &to, true).await;
        let ended = counts(ended);
        assert_eq!(ended, delivered_both(), "{trust:?}: {ended:?}");
        assert_eq!(to.emails(&account).len(), 1, "{trust:?}");
        assert_eq!(to.slack_posts().await, n + 1, "{trust:?}");
    }

    // Without the bundle the same servers are not trusted: the trust above came from that file.
    let root = function_root(Trust::Nothing, "");
    match invoke(&root, &account, &endpoint, &to, false).await {
        Ended::Answered(path, body) => {
            assert_eq!(path, "/2018-06-01/runtime/invocation/request-1/error");
            assert!(body.to_string().contains("UnknownIssuer"), "{body}");
        }
        other => panic!("{other:?}"),
    }
    // With Slack it cannot even start: its HTTPS client needs CA certificates, and says so.
    match invoke(&root, &account, &endpoint, &to, true).await {
        Ended::Exited(output) => assert!(output.contains("CA certificates"), "{output}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(to.emails(&account).len(), 0);
}

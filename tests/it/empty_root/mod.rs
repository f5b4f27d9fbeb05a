//! Both shipped binaries run in an empty root directory (a chroot holding the binary and `/etc/{hosts,
//! resolv.conf,nsswitch.conf}`, nothing else), so they use no library of the build machine: the CLI from
//! `scripts/dist.sh`'s archive and the `bootstrap` from the bundled handler zip. They reach moto, the
//! Lambda runtime API stub and Slack by host names that only that `/etc/hosts` knows, and trust HTTPS only
//! through a CA bundle where Amazon Linux 2023 keeps it.
//!
//! What is tested is what ships, without a second (release) build in every test run. How the release is
//! linked (static glibc, `x86_64-unknown-linux-gnu`) is written once, in `scripts/static.sh`, and both
//! `scripts/dist.sh` (the release) and `scripts/test.sh` (these tests) build through it. So the CLI here is
//! this test build's own (`CARGO_BIN_EXE_login-alert`), linked as the release is and only less optimised;
//! optimisation decides neither which libraries a binary needs nor where it looks for CA certificates. Its
//! dependencies are built without debug assertions, as in the release (Cargo.toml, `profile.dev.package."*"`):
//! the SDK's HTTP client debug-asserts that CA certificates exist, which would panic in a bare root.
//! `scripts/dist.sh` still runs, with a stand-in `cargo` first on its `PATH` that hands it that binary
//! instead of compiling one and writes down how it was asked to build: the same flags and target as this
//! build (`the_release_is_linked_as_these_tests_are`), then its static check, archive and checksum as in a
//! release. The `bootstrap` is the release's own: build.rs builds it with the `lambda` profile, statically,
//! for the tests and the release alike.
//!
//! A plain `cargo test` links the CLI dynamically: the CLI tests here then skip and say why, except under
//! `CI`, where they fail instead.

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

/// The CLI this build tests: linked as the release is when `scripts/test.sh` built it.
const CLI: &str = env!("CARGO_BIN_EXE_login-alert");

/// The dynamic loader an ELF64 (little-endian) binary asks for (its `PT_INTERP`); `None` for a static one.
fn dynamic_loader(elf: &[u8]) -> Option<String> {
    let u16_at = |at: usize| u16::from_le_bytes(elf[at..at + 2].try_into().unwrap()) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(elf[at..at + 8].try_into().unwrap()) as usize;
    assert_eq!(
        &elf[..6],
        b"\x7fELF\x02\x01",
        "{CLI} is not a 64-bit little-endian ELF"
    );
    let (table, entry, count) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    (0..count).map(|i| table + i * entry).find_map(|header| {
        (u32::from_le_bytes(elf[header..header + 4].try_into().unwrap()) == 3).then(|| {
            let (offset, size) = (u64_at(header + 8), u64_at(header + 0x20));
            text(&elf[offset..offset + size])
                .trim_end_matches('\0')
                .to_owned()
        })
    })
}

/// Whether the CLI tests must skip: only outside CI, when this build's CLI is dynamically linked (a plain
/// `cargo test`). Under `CI` a dynamic CLI fails the test: there it must be linked as the release is.
fn cli_not_linked_as_released() -> bool {
    let Some(loader) = dynamic_loader(&std::fs::read(CLI).expect("the CLI this build tests"))
    else {
        return false;
    };
    let why = format!(
        "{CLI} is dynamically linked (it asks for {loader}), the release is not: run the tests with \
         scripts/test.sh, which links them as scripts/dist.sh links the release (scripts/static.sh)"
    );
    let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"));
    assert!(!ci, "{why}");
    eprintln!("skipped: {why}");
    true
}

/// What `scripts/dist.sh` made of this build's CLI (once per test run).
struct Dist {
    /// The binary in its archive.
    cli: Vec<u8>,
    /// How it asked cargo to build the release: `RUSTFLAGS=…` and `cargo …` lines.
    asked: String,
}

/// Stands in for `cargo` in `scripts/dist.sh`: writes down how it was asked to build and hands over the CLI
/// this build tests, where `cargo build --target T --release` would have put the release CLI.
const STAND_IN_CARGO: &str = r#"#!/bin/sh
set -eu
case "$1" in
pkgid) echo "path+file://$PWD#login-alert@$STAND_IN_VERSION" ;;
build)
  printf 'RUSTFLAGS=%s\ncargo %s\n' "${RUSTFLAGS-}" "$*" >"$STAND_IN_LOG"
  target= previous=
  for arg in "$@"; do
    if [ "$previous" = --target ]; then target=$arg; fi
    previous=$arg
  done
  mkdir -p "$CARGO_TARGET_DIR/$target/release"
  cp "$STAND_IN_CLI" "$CARGO_TARGET_DIR/$target/release/login-alert"
  ;;
*) echo "the stand-in cargo was not expecting: cargo $*" >&2; exit 1 ;;
esac
"#;

fn dist() -> &'static Dist {
    static DIST: OnceLock<Dist> = OnceLock::new();
    DIST.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt;
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let work = tempfile::tempdir().unwrap();
        let bin = work.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(bin.join("cargo"), STAND_IN_CARGO).unwrap();
        std::fs::set_permissions(bin.join("cargo"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let path = std::env::var_os("PATH").unwrap_or_default();
        let path =
            std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(&path)))
                .unwrap();
        let log = work.path().join("asked");
        let out = Command::new(repo.join("scripts/dist.sh"))
            .current_dir(repo)
            .env("PATH", path)
            .env("CARGO_TARGET_DIR", work.path().join("target"))
            .env("STAND_IN_VERSION", env!("CARGO_PKG_VERSION"))
            .env("STAND_IN_CLI", CLI)
            .env("STAND_IN_LOG", &log)
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/dist.sh");
        assert!(out.status.success(), "scripts/dist.sh failed");
        let asked = std::fs::read_to_string(&log).expect("scripts/dist.sh ran cargo build");
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
        Dist {
            cli: std::fs::read(unpacked.path().join("login-alert")).unwrap(),
            asked,
        }
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
    root.install("login-alert", &dist().cli, 0o755);
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
    if cli_not_linked_as_released() {
        return;
    }
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
    if cli_not_linked_as_released() {
        return;
    }
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

/// `scripts/dist.sh` asks for the release with this build's flags and target: what the tests above show of
/// this build's CLI (static, no library of the host, the system's CA bundle) holds for the release's.
#[test]
fn the_release_is_linked_as_these_tests_are() {
    if cli_not_linked_as_released() {
        return;
    }
    let asked = &dist().asked;
    let (flags, cargo) = asked.split_once('\n').expect("two lines");
    // cargo passes its environment on to the tests it runs: these are the flags this build was made with.
    let ours = std::env::var("RUSTFLAGS").unwrap_or_default();
    assert_eq!(flags, format!("RUSTFLAGS={ours}"), "{asked}");
    assert!(ours.contains("+crt-static") && cfg!(target_feature = "crt-static"));
    let args: Vec<&str> = cargo.split_whitespace().collect();
    assert!(
        args.windows(2)
            .any(|w| w == ["--target", "x86_64-unknown-linux-gnu"]),
        "{cargo}"
    );
    for wanted in [
        &["cargo", "build"][..],
        &["--release"],
        &["-p", "login-alert"],
        &["--bin", "login-alert"],
    ] {
        assert!(
            args.windows(wanted.len()).any(|w| w == wanted),
            "{wanted:?} in {cargo}"
        );
    }
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

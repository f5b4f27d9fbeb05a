//! What a careless or hostile user can do to the config and the command line, against moto: a
//! config `init` cannot read is never thrown away, the file is owner-only from its first byte, a
//! plan with blockers never reads "No changes", and the bad inputs that need the account to find out.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use predicates::str::contains;
use support::{Account, fresh_account, workdir};

/// A user's config with one unknown key and settings that must never be lost.
const CAREFUL_CONFIG: &str = r#"# ours, edited by hand
region = "eu-west-1"
name_prefix = "acme-alerts"
account_name = "prod"
timezone = "Asia/Tokyo"
scope = "root-only"
log_retention_days = 365
colour = "red"

[trail]
name = "audit-trail"

[notify]
emails = ["secops@example.com", "oncall@example.com"]
slack_webhook_url = "https://hooks.slack.com/services/T000/B000/SECRETSECRET"
"#;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn init_never_discards_a_config_it_cannot_read() {
    let account = fresh_account().await;
    let dir = workdir();
    let path = dir.path().join("login-alert.toml");
    std::fs::write(&path, CAREFUL_CONFIG).unwrap();

    for flags in [
        vec![
            "init",
            "--yes",
            "--create-trail",
            "--email",
            "new@example.com",
        ],
        vec!["init", "--yes"],
    ] {
        account
            .cli(dir.path())
            .args(&flags)
            .assert()
            .code(1)
            .stderr(contains(
                "init changed nothing: login-alert.toml cannot be read. Correct it, or run init with --force to start from defaults (the file is kept as login-alert.toml.bak)",
            ))
            .stderr(contains(
                "login-alert.toml line 8: unknown field `colour` (the nearest known field is `scope`)",
            ));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            CAREFUL_CONFIG,
            "{flags:?} changed the file"
        );
        assert_eq!(files(dir.path()), ["login-alert.toml"]);
    }
    assert_eq!(account.requests(), vec![], "init read the account first");

    // --force starts from defaults and keeps the old file, owner-only like the new one.
    account
        .cli(dir.path())
        .args(["init", "--yes", "--force", "--create-trail"])
        .args(["--email", "new@example.com"])
        .assert()
        .success()
        .stderr(contains("Kept the old file as login-alert.toml.bak."));
    let backup = dir.path().join("login-alert.toml.bak");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), CAREFUL_CONFIG);
    assert_eq!(mode(&backup), 0o600);
    let written = login_alert::config::Config::load(&path).unwrap();
    assert_eq!(written.name_prefix, "login-alert");
    assert_eq!(written.notify.emails, ["new@example.com"]);
    assert_eq!(
        files(dir.path()),
        ["login-alert.toml", "login-alert.toml.bak"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_readable_config_survives_init_yes_setting_for_setting() {
    let account = fresh_account().await;
    let dir = workdir();
    let path = dir.path().join("login-alert.toml");
    let readable = CAREFUL_CONFIG
        .replace("colour = \"red\"\n", "")
        .replace("name = \"audit-trail\"", "create = true");
    std::fs::write(&path, &readable).unwrap();
    let before = login_alert::config::Config::load(&path).unwrap();

    account
        .cli(dir.path())
        .args(["init", "--yes"])
        .assert()
        .success();
    assert_eq!(login_alert::config::Config::load(&path).unwrap(), before);
}

/// `init --yes` as the user runs it, under `umask`, with the environment `Account::cli` gives.
fn init_under_umask(account: &Account, dir: &Path, umask: &str, args: &[&str]) -> i32 {
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_login-alert"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_ENDPOINT_URL", &support::moto().url)
        .env("AWS_ACCESS_KEY_ID", &account.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &account.secret_key)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .status()
        .unwrap();
    status.code().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_config_is_owner_only_whatever_the_umask_and_no_temp_file_is_left() {
    let account = fresh_account().await;
    let dir = workdir();
    let path = dir.path().join("login-alert.toml");
    let init = [
        "init",
        "--yes",
        "--create-trail",
        "--email",
        "a@example.com",
    ];
    assert_eq!(init_under_umask(&account, dir.path(), "000", &init), 0);
    assert_eq!(mode(&path), 0o600, "a config without a secret");
    assert_eq!(files(dir.path()), ["login-alert.toml"]);

    // Re-written with the secret (from the environment, out of `ps`), still owner-only.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let status = account
        .cli(dir.path())
        .args(["init", "--yes"])
        .env(
            "LOGIN_ALERT_SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/T000/B000/SECRETSECRET",
        )
        .assert()
        .success();
    drop(status);
    assert_eq!(mode(&path), 0o600, "a config with the webhook");
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("SECRETSECRET")
    );
    assert_eq!(files(dir.path()), ["login-alert.toml"]);

    // A hand-made copy others can read is pointed out by plan, with the fix.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    account
        .cli(dir.path())
        .arg("plan")
        .assert()
        .stderr(contains(
            "warning: login-alert.toml holds the Slack webhook URL, a secret, but its mode 0640 lets other users read it: run `chmod 600 login-alert.toml`",
        ));
}

/// A trail of the user's in us-east-1.
async fn seed_trail(account: &Account, name: &str) {
    let sdk = account.sdk("us-east-1");
    let bucket = format!("trail-logs-{}", account.id);
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    )
    .create_bucket()
    .bucket(&bucket)
    .send()
    .await
    .expect("bucket");
    aws_sdk_cloudtrail::Client::new(&sdk)
        .create_trail()
        .name(name)
        .s3_bucket_name(&bucket)
        .send()
        .await
        .expect("trail");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_with_only_blockers_never_says_no_changes() {
    let account = fresh_account().await;
    seed_trail(&account, "audit-trail").await;
    let dir = workdir();
    let dir = dir.path();
    account
        .cli(dir)
        .args(["init", "--yes", "--trail", "audit-trail"])
        .args(["--email", "secops@example.com"])
        .assert()
        .success();
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    // The adopted trail is deleted by hand: everything else still matches.
    aws_sdk_cloudtrail::Client::new(&account.sdk("us-east-1"))
        .delete_trail()
        .name("audit-trail")
        .send()
        .await
        .unwrap();

    let out = account.cli(dir).arg("plan").output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!stdout.contains("No changes."), "{stdout}");
    assert!(
        stdout.contains("Cannot apply:\n  ✗ no trail named audit-trail in us-east-1"),
        "{stdout}"
    );
    assert!(
        stdout
            .trim_end()
            .ends_with("No changes can be applied until the problems above are resolved."),
        "{stdout}"
    );
}

/// Bad input only the account can reveal, with the exact message (account IDs masked).
#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_found_out_by_reading_the_account() {
    let account = fresh_account().await;
    let dir = workdir();
    let dir = dir.path();
    let mut all = String::new();
    let mut run = |name: &str, args: &[&str], config: Option<&str>| {
        if let Some(text) = config {
            std::fs::write(dir.join("login-alert.toml"), text).unwrap();
        }
        let out = account.cli(dir).args(args).output().unwrap();
        let text = |b: &[u8]| {
            String::from_utf8_lossy(b)
                .replace(&account.id, "ACCOUNT")
                .trim_end()
                .to_owned()
        };
        assert!(!text(&out.stderr).contains("panicked"), "{name}");
        all.push_str(&format!(
            "── {name}\n$ login-alert {}\nexit {:?}\n{}\n\n",
            args.join(" "),
            out.status.code(),
            text(&out.stderr)
        ));
    };
    run(
        "a trail the account does not have",
        &[
            "init",
            "--yes",
            "--trail",
            "nonexistent-trail",
            "--email",
            "a@example.com",
        ],
        None,
    );
    run(
        "an existing config with a bad value that no flag fixes",
        &["init", "--yes"],
        Some(
            "region = \"us-east-1\"\ntimezone = \"Asia/Tokio\"\n[trail]\ncreate = true\n[notify]\nemails = [\"a@example.com\"]\n",
        ),
    );
    run(
        "apply without a terminal and without --yes",
        &["apply"],
        Some(
            "region = \"us-east-1\"\n[trail]\ncreate = true\n[notify]\nemails = [\"a@example.com\"]\n",
        ),
    );
    insta::assert_snapshot!(all);
}

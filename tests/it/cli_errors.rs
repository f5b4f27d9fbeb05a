//! What the user sees when the machine, not the config, is the problem: no credentials, no endpoint.

use predicates::str::contains;

fn cli(dir: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("login-alert").unwrap();
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1");
    std::fs::write(
        dir.join("login-alert.toml"),
        "region = \"us-east-1\"\n[trail]\nname = \"audit-trail\"\n[notify]\nemails = [\"a@example.com\"]\n",
    )
    .unwrap();
    cmd
}

#[test]
fn missing_credentials_name_the_ways_to_provide_them() {
    let dir = tempfile::tempdir().unwrap();
    cli(dir.path())
        .arg("plan")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .assert()
        .code(1)
        .stderr(contains("no usable AWS credentials"))
        .stderr(contains("aws sso login"))
        .stderr(contains("--profile"));
}

#[test]
fn an_unreachable_endpoint_says_which_settings_to_check() {
    let dir = tempfile::tempdir().unwrap();
    cli(dir.path())
        .arg("plan")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_MAX_ATTEMPTS", "1")
        .assert()
        .code(1)
        .stderr(contains("could not be reached"))
        .stderr(contains("--endpoint-url"));
}

#[test]
fn help_documents_every_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(dir.path()).args(["init", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--trail",
        "--create-trail",
        "--email",
        "--slack-webhook-url",
        "--account-name",
        "--timezone",
        "--scope",
        "--name-prefix",
        "--log-retention-days",
        "--yes",
        "--profile",
        "--region",
        "--endpoint-url",
        "--no-color",
        "--config",
    ] {
        assert!(help.contains(flag), "init --help lacks {flag}");
    }
}

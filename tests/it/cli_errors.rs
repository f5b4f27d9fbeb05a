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

/// `login-alert policy | head` and the like: a reader that closed the pipe before the output was written is no
/// error (exit 0, nothing on stderr), as with any Unix filter; before, the CLI panicked on the broken pipe.
#[test]
fn a_closed_stdout_pipe_ends_the_output_quietly() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["policy", "--account", "123456789012"][..],
        &["completions", "bash"],
        &["--help"],
    ] {
        // The reading end is closed before the CLI starts, so its first write fails with EPIPE every time.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("login-alert"))
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("NO_COLOR", "1")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked"),
            "{args:?} panicked on a closed pipe: {stderr}"
        );
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} said: {stderr}");
    }
}

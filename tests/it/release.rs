//! What a release promises its user: `--version` names the handler it deploys, shell completions work, and
//! running a newer binary against an account set up by an older one changes nothing but the function's code.

use crate::support;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use base64::Engine;
use predicates::str::contains;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::{fresh_account, workdir};

fn code_hash(zip: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(zip))
}

fn login_alert() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("login-alert").expect("the login-alert binary")
}

#[test]
fn version_names_the_bundled_handler_code_hash() {
    let out = login_alert().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "login-alert {} (handler code_sha256 {})\n",
            env!("CARGO_PKG_VERSION"),
            code_hash(login_alert::bundle::handler_zip())
        )
    );
}

/// Completes `words` (the last one being typed) with the script from `login-alert completions bash`.
fn bash_complete(words: &[&str]) -> Vec<String> {
    let dir = workdir();
    let script = dir.path().join("login-alert.bash");
    let out = login_alert()
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&script, &out.stdout).unwrap();
    let line = words.join(" ");
    let probe = format!(
        r#"source '{script}'
function=$(complete -p login-alert | sed -E 's/.* -F ([^ ]+) .*/\1/')
COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}
"$function" login-alert '{current}' '{previous}'
printf '%s\n' "${{COMPREPLY[@]}}""#,
        script = script.display(),
        words = words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" "),
        cword = words.len() - 1,
        current = words[words.len() - 1],
        previous = words[words.len() - 2],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &probe])
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completion_completes_commands_flags_and_values() {
    assert_eq!(bash_complete(&["login-alert", "ap"]), ["apply"]);
    assert_eq!(
        bash_complete(&["login-alert", "plan", "--outp"]),
        ["--output"]
    );
    assert_eq!(
        bash_complete(&["login-alert", "plan", "--out"]),
        ["--output", "--out"]
    );
    assert_eq!(
        bash_complete(&["login-alert", "plan", "--output", ""]),
        ["text", "json", "markdown"]
    );
    let shells = bash_complete(&["login-alert", "completions", ""]);
    for shell in ["bash", "zsh", "fish"] {
        assert!(shells.iter().any(|s| s == shell), "{shells:?}");
    }
}

#[test]
fn zsh_and_fish_completions_know_every_command() {
    for (shell, marker) in [
        ("zsh", "#compdef login-alert\n"),
        ("fish", "complete -c login-alert "),
    ] {
        let out = login_alert().args(["completions", shell]).output().unwrap();
        assert!(out.status.success());
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: {script}");
        for command in ["init", "plan", "apply", "destroy", "preview", "completions"] {
            assert!(
                script.contains(&format!("'{command}:"))
                    || script.contains(&format!("-a \"{command}\"")),
                "{shell} completion lacks `{command}`"
            );
        }
    }
    login_alert()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(contains("possible values: bash"));
}

/// Another build of the handler: the same `bootstrap`, changed the way a new release changes it.
fn older_build(dir: &Path) -> std::path::PathBuf {
    let bundled = login_alert::bundle::handler_zip();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bundled)).unwrap();
    let mut bootstrap = Vec::new();
    std::io::copy(&mut archive.by_name("bootstrap").unwrap(), &mut bootstrap).unwrap();
    bootstrap.extend_from_slice(b"\0login-alert 0.0.9");
    let path = dir.join("handler-0.0.9.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    zip.start_file(
        "bootstrap",
        zip::write::SimpleFileOptions::default().unix_permissions(0o755),
    )
    .unwrap();
    zip.write_all(&bootstrap).unwrap();
    zip.finish().unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newer_binary_updates_only_the_function_code() {
    let account = fresh_account().await;
    let dir = workdir();
    let dir = dir.path();
    let old = older_build(dir);
    let old_hash = code_hash(&std::fs::read(&old).unwrap());
    let new_hash = code_hash(login_alert::bundle::handler_zip());
    assert_ne!(old_hash, new_hash);

    account
        .cli(dir)
        .args([
            "init",
            "--yes",
            "--create-trail",
            "--email",
            "secops@example.com",
        ])
        .args(["--region", "us-east-1"])
        .assert()
        .success();
    // The account as the older release left it.
    account
        .cli(dir)
        .env("LOGIN_ALERT_HANDLER_ZIP", &old)
        .args(["apply", "--yes"])
        .assert()
        .success()
        .stderr(contains(format!(
            "deploying the handler package {} (LOGIN_ALERT_HANDLER_ZIP), not the one bundled in this binary",
            old.display()
        )));
    let lambda = aws_sdk_lambda::Client::new(&account.sdk("us-east-1"));
    let deployed = || async {
        lambda
            .get_function()
            .function_name("login-alert-handler")
            .send()
            .await
            .unwrap()
            .configuration
            .unwrap()
            .code_sha256
            .unwrap()
    };
    assert_eq!(deployed().await, old_hash);

    // This binary: the plan's one change is the code.
    let out = account
        .cli(dir)
        .args(["plan", "--output", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        plan["changes"],
        json!([{
            "kind": "Lambda function",
            "name": "login-alert-handler",
            "action": "update",
            "attributes": [{"name": "code_sha256", "before": old_hash, "after": new_hash}],
        }])
    );
    account
        .cli(dir)
        .arg("plan")
        .assert()
        .stdout(contains(
            "~ Lambda function login-alert-handler will be updated in place",
        ))
        .stdout(contains(format!(
            "~ code_sha256 = \"{old_hash}\" -> \"{new_hash}\""
        )))
        .stdout(contains("Plan: 0 to add, 1 to change, 0 to destroy."));

    let mark = account.requests().len();
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    assert_eq!(
        account.writes_since(mark),
        ["lambda:PUT /2015-03-31/functions/login-alert-handler/code"],
        "the upgrade uploads the code and writes nothing else"
    );
    // What `--version` names is what now runs.
    let version = login_alert().arg("--version").output().unwrap().stdout;
    assert!(String::from_utf8(version).unwrap().contains(&new_hash));
    assert_eq!(deployed().await, new_hash);
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0)
        .stdout(contains("No changes."));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_handler_override_stops_before_any_aws_call() {
    let account = fresh_account().await;
    let dir = workdir();
    let dir = dir.path();
    std::fs::write(
        dir.join("login-alert.toml"),
        "region = \"us-east-1\"\n[trail]\ncreate = true\n[notify]\nemails = [\"secops@example.com\"]\n",
    )
    .unwrap();
    let missing = dir.join("nowhere.zip");
    account
        .cli(dir)
        .env("LOGIN_ALERT_HANDLER_ZIP", &missing)
        .arg("plan")
        .assert()
        .code(1)
        .stderr(contains(format!(
            "LOGIN_ALERT_HANDLER_ZIP={}: cannot read it",
            missing.display()
        )));
    assert_eq!(account.requests(), vec![]);
}

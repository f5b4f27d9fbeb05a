//! Confirmations on a real terminal (the binary in a pseudo-terminal, against moto): Ctrl-C or Esc
//! at `apply`'s "Enter a value" is "cancelled - no changes made" with exit 130, never death by
//! SIGINT; and the installer stops on a config it cannot read before asking anything.

use crate::support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession as Session;
use expectrl::{ControlCode, Eof, Expect};
use support::Account;

const CREATE: &str =
    "region = \"us-east-1\"\n[trail]\ncreate = true\n[notify]\nemails = [\"a@example.com\"]\n";

fn spawn(account: &Account, dir: &Path, args: &[&str]) -> Session {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_login-alert"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("TERM", "xterm")
        .env("AWS_ENDPOINT_URL", &support::moto().url)
        .env("AWS_ACCESS_KEY_ID", &account.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &account.secret_key)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1");
    let mut session = Session::spawn(cmd).expect("spawn login-alert in a pty");
    session
        .get_process_mut()
        .set_window_size(160, 50)
        .expect("window size");
    session.set_expect_timeout(Some(Duration::from_secs(90)));
    session
}

fn expect(session: &mut Session, text: &str) {
    if let Err(err) = session.expect(text) {
        panic!("waiting for {text:?}: {err}");
    }
}

/// The exit code; a death by signal fails the test (that is what is being tested).
fn exit_code(session: &mut Session) -> i32 {
    let _ = session.expect(Eof);
    match session.get_process().wait().expect("wait") {
        WaitStatus::Exited(_, code) => code,
        other => panic!("login-alert did not exit normally: {other:?}"),
    }
}

fn writes(account: &Account) -> usize {
    account.requests().iter().filter(|r| r.is_write()).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_or_esc_at_the_apply_confirmation_cancels_with_130() {
    let account = support::fresh_account().await;
    let dir = support::workdir();
    std::fs::write(dir.path().join("login-alert.toml"), CREATE).unwrap();
    let before = writes(&account);

    let codes = tokio::task::spawn_blocking({
        let account = account.clone();
        let dir = dir.path().to_owned();
        move || {
            let mut codes = Vec::new();
            for key in [ControlCode::EndOfText, ControlCode::Escape] {
                let mut s = spawn(&account, &dir, &["apply"]);
                expect(&mut s, "Do you want to make these changes?");
                expect(&mut s, "Only 'yes' will be accepted to approve.");
                expect(&mut s, "Enter a value:");
                // Half an answer typed, then the key.
                s.send("ye").unwrap();
                s.send(key).unwrap();
                expect(&mut s, "cancelled - no changes made");
                codes.push(exit_code(&mut s));
            }
            codes
        }
    })
    .await
    .unwrap();
    assert_eq!(codes, [130, 130]);
    assert_eq!(writes(&account), before, "apply changed something in AWS");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_installer_stops_on_a_config_it_cannot_read_before_asking() {
    let account = support::fresh_account().await;
    let dir = support::workdir();
    let path = dir.path().join("login-alert.toml");
    let text = format!("{CREATE}colour = \"red\"\n");
    std::fs::write(&path, &text).unwrap();

    let (shown, code) = tokio::task::spawn_blocking({
        let account = account.clone();
        let dir = dir.path().to_owned();
        move || {
            let mut s = spawn(&account, &dir, &["init"]);
            let found = s.expect(Eof).expect("the installer ends");
            let shown =
                String::from_utf8_lossy(&[found.before(), found.as_bytes()].concat()).into_owned();
            let code = match s.get_process().wait().expect("wait") {
                WaitStatus::Exited(_, code) => code,
                other => panic!("login-alert did not exit normally: {other:?}"),
            };
            (shown, code)
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "{shown}");
    assert!(
        shown.contains("init changed nothing: login-alert.toml cannot be read"),
        "{shown}"
    );
    assert!(
        !shown.contains("Which trail"),
        "a question was asked: {shown}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(account.requests(), vec![]);
}

//! The interactive installer run as a person would: the real binary in a pseudo-terminal against moto.

use crate::support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession as Session;
use expectrl::{ControlCode, Eof, Expect};
use support::Account;

const DOWN: &str = "\x1b[B";
const UP: &str = "\x1b[A";
const ESC: &str = "\x1b";

/// One single-region trail homed in eu-west-1 and one multi-region trail homed in us-east-1, plus an alias.
async fn two_trails(account: &Account) {
    let sdk = account.sdk("us-east-1");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let bucket = format!("trail-logs-{}", account.id);
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    aws_sdk_cloudtrail::Client::new(&account.sdk("eu-west-1"))
        .create_trail()
        .name("audit-trail")
        .s3_bucket_name(&bucket)
        .send()
        .await
        .expect("create the eu-west-1 trail");
    aws_sdk_cloudtrail::Client::new(&account.sdk("eu-west-1"))
        .start_logging()
        .name("audit-trail")
        .send()
        .await
        .expect("start logging");
    let ct = aws_sdk_cloudtrail::Client::new(&sdk);
    ct.create_trail()
        .name("main-trail")
        .s3_bucket_name(&bucket)
        .is_multi_region_trail(true)
        .include_global_service_events(true)
        .send()
        .await
        .expect("create the us-east-1 trail");
    ct.start_logging()
        .name("main-trail")
        .send()
        .await
        .expect("start logging");
    aws_sdk_iam::Client::new(&sdk)
        .create_account_alias()
        .account_alias("acme-prod")
        .send()
        .await
        .expect("alias");
}

/// `login-alert init` in a pseudo-terminal, with the environment `Account::cli` gives the binary.
fn spawn_init(account: &Account, dir: &Path) -> Session {
    spawn(init_command(account, dir))
}

fn init_command(account: &Account, dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_login-alert"));
    cmd.arg("init")
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
    cmd
}

fn spawn(cmd: Command) -> Session {
    let mut session = Session::spawn(cmd).expect("spawn login-alert in a pty");
    // Wide enough that each trail stays on one line of the list.
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

/// Waits for `text` and returns everything the terminal showed up to and including it.
fn read_until(session: &mut Session, text: &str) -> String {
    match session.expect(text) {
        Ok(found) => {
            String::from_utf8_lossy(&[found.before(), found.as_bytes()].concat()).into_owned()
        }
        Err(err) => panic!("waiting for {text:?}: {err}"),
    }
}

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
async fn a_person_answers_with_keystrokes_and_the_config_is_written() {
    let account = support::fresh_account().await;
    two_trails(&account).await;
    let dir = support::workdir();
    let writes_before = writes(&account);

    let config = tokio::task::spawn_blocking({
        let account = account.clone();
        let dir = dir.path().to_owned();
        move || {
            let mut s = spawn_init(&account, &dir);
            expect(&mut s, "2 trails found");
            expect(&mut s, "Which trail should deliver sign-in events?");
            expect(&mut s, "main-trail (us-east-1): multi-region");
            // The multi-region trail is preselected; go up to the single-region one.
            s.send(UP).unwrap();
            s.send("\r").unwrap();
            expect(&mut s, "Email addresses to notify");
            s.send("secops@\r").unwrap();
            expect(&mut s, "is not an email address");
            s.send("secops@example.com, oncall@example.com\r").unwrap();
            expect(&mut s, "Slack incoming-webhook URL (hidden; optional, Enter to skip)");
            s.send("\r").unwrap();
            expect(&mut s, "Name shown in alerts for this account (acme-prod)");
            s.send("\r").unwrap();
            expect(&mut s, "Time zone for times in alerts");
            s.send("Asia/Tokyo\r").unwrap();
            expect(&mut s, "What should alert?");
            s.send(DOWN).unwrap();
            s.send("\r").unwrap();
            expect(&mut s, "Prefix for the names of the resources login-alert creates (login-alert)");
            s.send("\r").unwrap();
            expect(&mut s, "How should events reach the alert function?");
            expect(&mut s, "CloudWatch Logs: alerts in about 5 minutes");
            s.send("\r").unwrap();
            // Asked only in the modes that deliver to CloudWatch Logs; Enter keeps the default (no).
            expect(&mut s, "Also set up the CIS monitoring controls");
            s.send("\r").unwrap();
            expect(&mut s, "audit-trail (eu-west-1) is single-region: it will be made multi-region and sent to CloudWatch Logs; destroy puts it back");
            expect(&mut s, "Write these settings to login-alert.toml?");
            s.send("y").unwrap();
            expect(&mut s, "Wrote login-alert.toml.");
            expect(&mut s, "Show the plan now?");
            s.send("n").unwrap();
            expect(&mut s, "Next: `login-alert plan`");
            assert_eq!(exit_code(&mut s), 0);
            support::read_to_string(dir.join("login-alert.toml"))
        }
    })
    .await
    .unwrap();

    let written: toml::Value = toml::from_str(&config).unwrap();
    assert_eq!(written["region"].as_str(), Some("eu-west-1"), "{config}");
    assert_eq!(
        written["trail"]["name"].as_str(),
        Some("audit-trail"),
        "{config}"
    );
    assert_eq!(
        written["account_name"].as_str(),
        Some("acme-prod"),
        "{config}"
    );
    assert_eq!(written["timezone"].as_str(), Some("Asia/Tokyo"), "{config}");
    assert_eq!(
        written["scope"].as_str(),
        Some("failures-and-root"),
        "{config}"
    );
    assert_eq!(
        written["name_prefix"].as_str(),
        Some("login-alert"),
        "{config}"
    );
    let emails: Vec<&str> = written["notify"]["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.as_str())
        .collect();
    assert_eq!(emails, ["secops@example.com", "oncall@example.com"]);
    assert!(
        written["notify"].get("slack_webhook_url").is_none(),
        "{config}"
    );
    assert_eq!(
        writes(&account),
        writes_before,
        "init changed something in AWS: {:?}",
        account.requests()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_midway_writes_nothing_and_exits_130() {
    let account = support::fresh_account().await;
    two_trails(&account).await;
    let dir = support::workdir();
    let writes_before = writes(&account);

    let code = tokio::task::spawn_blocking({
        let account = account.clone();
        let dir = dir.path().to_owned();
        move || {
            let mut s = spawn_init(&account, &dir);
            expect(&mut s, "Which trail should deliver sign-in events?");
            s.send("\r").unwrap();
            expect(&mut s, "Email addresses to notify");
            s.send("secops@example.com\r").unwrap();
            expect(&mut s, "Slack incoming-webhook URL");
            // Half a secret typed, then Ctrl-C: the hidden input reads it as a key.
            s.send("https://hooks.slack.com/ser").unwrap();
            s.send(ControlCode::EndOfText).unwrap();
            expect(&mut s, "cancelled - no changes made");
            exit_code(&mut s)
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 130);
    assert!(
        !dir.path().join("login-alert.toml").exists(),
        "a config was written"
    );
    assert_eq!(
        writes(&account),
        writes_before,
        "init changed something in AWS"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_in_a_list_and_esc_in_a_question_both_cancel() {
    let account = support::fresh_account().await;
    two_trails(&account).await;
    let dir = support::workdir();

    let codes = tokio::task::spawn_blocking({
        let account = account.clone();
        let dir = dir.path().to_owned();
        move || {
            // Ctrl-C in dialoguer's list: console turns it into SIGINT, which the installer catches.
            let mut s = spawn_init(&account, &dir);
            expect(&mut s, "Which trail should deliver sign-in events?");
            s.send(DOWN).unwrap();
            s.send(ControlCode::EndOfText).unwrap();
            expect(&mut s, "cancelled - no changes made");
            let list = exit_code(&mut s);

            // Esc at the last question, with every earlier answer given.
            let mut s = spawn_init(&account, &dir);
            expect(&mut s, "Which trail should deliver sign-in events?");
            s.send("\r").unwrap();
            expect(&mut s, "Email addresses to notify");
            s.send("secops@example.com\r").unwrap();
            expect(&mut s, "Slack incoming-webhook URL");
            s.send("\r").unwrap();
            expect(&mut s, "Name shown in alerts");
            s.send("\r").unwrap();
            expect(&mut s, "Time zone for times in alerts");
            s.send("UTC\r").unwrap();
            expect(&mut s, "What should alert?");
            s.send("\r").unwrap();
            expect(&mut s, "Prefix for the names");
            s.send(ESC).unwrap();
            expect(&mut s, "cancelled - no changes made");
            let esc = exit_code(&mut s);
            (list, esc)
        }
    })
    .await
    .unwrap();
    assert_eq!(codes, (130, 130));
    assert!(
        !dir.path().join("login-alert.toml").exists(),
        "a config was written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_credentials_discovery_problems_are_one_line_and_the_questions_still_come() {
    let account = support::fresh_account().await;
    let dir = support::workdir();
    let code = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || {
            let mut cmd = init_command(&account, &dir);
            cmd.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY");
            let mut s = spawn(cmd);
            expect(&mut s, "Account unknown, region us-east-1: no trails found");
            expect(&mut s, "warning: cannot tell which account the credentials belong to: no usable AWS credentials");
            expect(&mut s, "nothing could be read; answer the questions yourself");
            expect(&mut s, "Which trail should deliver sign-in events?");
            expect(&mut s, "Another trail: type its name or ARN");
            s.send(ESC).unwrap();
            expect(&mut s, "cancelled - no changes made");
            exit_code(&mut s)
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 130);
    assert!(!dir.path().join("login-alert.toml").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_re_run_offers_the_config_as_defaults_then_shows_the_plan_and_applies_it() {
    const WEBHOOK: &str = "https://hooks.slack.com/services/T000/B000/PTYSECRET";
    let account = support::fresh_account().await;
    two_trails(&account).await;
    let dir = support::workdir();
    let path = dir.path().join("login-alert.toml");
    let before = format!(
        "region = \"eu-west-1\"\nname_prefix = \"alerts\"\naccount_name = \"prod\"\ntimezone = \"Europe/Paris\"\n\
         scope = \"root-only\"\nlog_retention_days = 30\n\n[trail]\nname = \"audit-trail\"\ncreate = false\n\n\
         [notify]\nemails = [\"secops@example.com\"]\nslack_webhook_url = \"{WEBHOOK}\"\n"
    );
    std::fs::write(&path, &before).unwrap();
    let expected = login_alert::config::Config::load(&path).unwrap();

    let shown = tokio::task::spawn_blocking({
        let account = account.clone();
        let dir = dir.path().to_owned();
        move || {
            let mut s = spawn_init(&account, &dir);
            let mut shown = read_until(&mut s, "login-alert.toml exists; its settings are the defaults this time");
            for (question, default) in [
                ("Which trail should deliver sign-in events?", "audit-trail (eu-west-1)"),
                ("Email addresses to notify", "(secops@example.com)"),
                ("Slack incoming-webhook URL (hidden; Enter keeps the current one, - removes it)", ""),
                ("Name shown in alerts for this account", "(prod)"),
                ("Time zone for times in alerts", "(Europe/Paris)"),
                ("What should alert?", "Root activity only"),
                ("Prefix for the names of the resources login-alert creates", "(alerts)"),
                ("How should events reach the alert function?", "CloudWatch Logs: alerts in about 5 minutes"),
                ("Also set up the CIS monitoring controls", ""),
            ] {
                shown += &read_until(&mut s, question);
                shown += &read_until(&mut s, default);
                s.send("\r").unwrap();
            }
            shown += &read_until(&mut s, "Slack webhook (set)");
            shown += &read_until(&mut s, "Write these settings to login-alert.toml?");
            s.send("y").unwrap();
            shown += &read_until(&mut s, "Show the plan now?");
            s.send("y").unwrap();
            shown += &read_until(&mut s, "Plan: 23 to add, 1 to change, 0 to destroy.");
            shown += &read_until(&mut s, "Apply it?");
            s.send("y").unwrap();
            shown += &read_until(&mut s, "Apply complete! Resources: 23 added, 1 changed, 0 destroyed.");
            assert_eq!(exit_code(&mut s), 0);
            shown
        }
    })
    .await
    .unwrap();

    assert!(
        !shown.contains("PTYSECRET"),
        "the webhook was shown:\n{shown}"
    );
    assert_eq!(
        login_alert::config::Config::load(&path).unwrap(),
        expected,
        "Enter everywhere must keep every setting"
    );
    // What the installer applied is what `plan` now finds: nothing left to do.
    account
        .cli(dir.path())
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0);
}

//! Plan in review through the real binary against moto: `plan --out FILE`, then `apply FILE` applies
//! exactly that plan, or refuses it with zero write calls when the account, the config or the file
//! changed in between; saved destroy plans; the Markdown rendering and the JSON contract's shape.

use crate::support;

use std::path::Path;

use login_alert::engine::Op;
use login_alert::plan::saved::Saved;
use predicates::str::contains;
use serde_json::Value;
use support::{Account, fresh_account, workdir};

const TRAIL: &str = "audit-trail";
const HOME: &str = "eu-west-1";
const SECRET: &str = "T0/B0/SAVEDPLANSECRET";

/// An account with the user's trail and a config adopting it (with a Slack webhook: a secret).
async fn configured() -> (Account, tempfile::TempDir) {
    let account = fresh_account().await;
    account.seed_single_region_trail(HOME, TRAIL).await;
    let dir = workdir();
    account
        .cli(dir.path())
        .args([
            "init",
            "--yes",
            "--trail",
            TRAIL,
            "--email",
            "secops@example.com",
        ])
        .args(["--account-name", "prod", "--timezone", "Asia/Tokyo"])
        .args([
            "--slack-webhook-url",
            &format!("https://hooks.slack.com/services/{SECRET}"),
        ])
        .assert()
        .success();
    (account, dir)
}

fn save(account: &Account, dir: &Path, file: &str, extra: &[&str]) {
    account
        .cli(dir)
        .args(["plan", "--out", file])
        .args(extra)
        .assert()
        .success()
        .stderr(contains(format!("login-alert apply {file}")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_applied_exactly_and_holds_no_secret() {
    let (account, dir) = configured().await;
    let dir = dir.path();
    save(&account, dir, "review.json", &[]);

    let path = dir.join("review.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the saved plan is readable by its owner only");
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("SAVEDPLANSECRET"),
        "no webhook URL in the file"
    );
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["computed_from"]["account_id"], account.id.as_str());
    assert!(
        doc["computed_from"]["config_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let parameter = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "SSM parameter")
        .expect("the Slack parameter is created");
    assert_eq!(parameter["op"]["value"], "(sensitive)");

    // Applying the file asks nothing (no --yes, no terminal) and converges the account.
    account
        .cli(dir)
        .args(["apply", "review.json"])
        .assert()
        .success()
        .stdout(contains("Apply complete!"));
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0);
    // The parameter holds the config's URL, put back from the config, not the placeholder.
    let stored = aws_sdk_ssm::Client::new(&account.sdk(HOME))
        .get_parameter()
        .name("/login-alert/slack-webhook-url")
        .with_decryption(true)
        .send()
        .await
        .unwrap()
        .parameter
        .unwrap()
        .value
        .unwrap();
    assert!(stored.ends_with(SECRET), "{stored}");

    // Applying the same file again: the account moved on (it was applied), so it is stale.
    let mark = account.requests().len();
    account
        .cli(dir)
        .args(["apply", "review.json"])
        .assert()
        .failure()
        .stderr(contains("is stale"));
    assert_eq!(account.writes_since(mark), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_between_plan_and_apply_refuses_the_plan_with_zero_writes() {
    let (account, dir) = configured().await;
    let dir = dir.path();
    save(&account, dir, "review.json", &[]);

    // Someone stops the trail's logging by hand after the review.
    aws_sdk_cloudtrail::Client::new(&account.sdk(HOME))
        .stop_logging()
        .name(TRAIL)
        .send()
        .await
        .unwrap();
    let mark = account.requests().len();
    account
        .cli(dir)
        .args(["apply", "review.json"])
        .assert()
        .failure()
        .stderr(contains("is stale"))
        .stderr(contains("the trail changed since the plan was made"))
        .stderr(contains("login-alert plan --out review.json"));
    assert_eq!(account.writes_since(mark), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edited_config_or_an_edited_file_refuses_the_plan_before_any_write() {
    let (account, dir) = configured().await;
    let dir = dir.path();
    save(&account, dir, "review.json", &[]);
    let config = dir.join("login-alert.toml");
    let original = std::fs::read_to_string(&config).unwrap();

    let mark = account.requests().len();
    std::fs::write(&config, original.replace("\"prod\"", "\"staging\"")).unwrap();
    account
        .cli(dir)
        .args(["apply", "review.json"])
        .assert()
        .failure()
        .stderr(contains("the config login-alert.toml changed since"));
    std::fs::write(&config, &original).unwrap();

    // An edit by hand: the digest no longer matches.
    let text = std::fs::read_to_string(dir.join("review.json")).unwrap();
    std::fs::write(
        dir.join("edited.json"),
        text.replace("\"retention_days\": 90", "\"retention_days\": 1"),
    )
    .unwrap();
    account
        .cli(dir)
        .args(["apply", "edited.json"])
        .assert()
        .failure()
        .stderr(contains("was edited after"));

    // An edit that also recomputes the digest: the changes are not what the account gives.
    let mut saved: Saved<Op> = Saved::read(&dir.join("review.json")).unwrap();
    let removed = saved.plan.changes.remove(0);
    let resealed = Saved::new(saved.plan, saved.computed_from);
    resealed.write(&dir.join("resealed.json")).unwrap();
    account
        .cli(dir)
        .args(["apply", "resealed.json"])
        .assert()
        .failure()
        .stderr(contains(
            "the changes, the summary in resealed.json: not what this config and account give",
        ));
    assert!(!removed.kind.is_empty());

    assert_eq!(account.writes_since(mark), Vec::<String>::new());
    // Nothing was half-applied: the original plan still applies.
    account
        .cli(dir)
        .args(["apply", "review.json"])
        .assert()
        .success();
}

/// What anyone can do to a saved plan: edit the document, then compute its SHA-256 digest again.
fn reseal(dir: &Path, file: &str, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) {
    let text = std::fs::read_to_string(dir.join("review.json")).unwrap();
    let Value::Object(mut doc) = serde_json::from_str(&text).unwrap() else {
        panic!("a plan is an object")
    };
    edit(&mut doc);
    doc.remove("digest");
    let digest = login_alert::plan::saved::fingerprint(&doc);
    doc.insert("digest".into(), digest.into());
    let mut text = serde_json::to_string_pretty(&doc).unwrap();
    text.push('\n');
    std::fs::write(dir.join(file), text).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resealed_plan_showing_another_account_or_other_changes_is_refused_with_zero_writes() {
    let (account, dir) = configured().await;
    let dir = dir.path();
    save(&account, dir, "review.json", &[]);
    let mark = account.requests().len();
    let refused = |file: &str, why: &str| {
        account
            .cli(dir)
            .args(["apply", file])
            .assert()
            .failure()
            .stdout("")
            .stderr(contains(why))
            .stderr(contains("nothing was"))
            .stderr(contains("will make these changes").not());
    };
    use predicates::prelude::PredicateBooleanExt;

    // The account and region a reviewer reads first; what is compared (computed_from) untouched.
    reseal(dir, "account.json", |doc| {
        doc.insert("account_id".into(), "999999999999".into());
    });
    refused(
        "account.json",
        &format!(
            "the account_id it shows (999999999999; these credentials and config reach {})",
            account.id
        ),
    );
    reseal(dir, "region.json", |doc| {
        doc.insert("region".into(), "ap-northeast-1".into());
    });
    refused(
        "region.json",
        &format!("the region it shows (ap-northeast-1; these credentials and config reach {HOME})"),
    );
    // A summary saying nothing changes, over the same changes.
    reseal(dir, "summary.json", |doc| {
        doc.insert(
            "summary".into(),
            serde_json::json!({"add": 0, "change": 0, "destroy": 0}),
        );
        doc.insert("changes_pending".into(), false.into());
    });
    refused(
        "summary.json",
        "the changes_pending, the summary in summary.json",
    );
    // A reassuring notice, and coverage claiming more than the plan gives.
    reseal(dir, "notices.json", |doc| {
        doc["notices"]
            .as_array_mut()
            .unwrap()
            .push("reviewed by security: safe to apply".into());
    });
    refused("notices.json", "the notices in notices.json");
    reseal(dir, "coverage.json", |doc| {
        doc.insert(
            "coverage".into(),
            "every region, every sign-in, within a second".into(),
        );
    });
    refused("coverage.json", "the coverage in coverage.json");

    // The account inserted a second time at the top: the digest matches (a parser keeps the last
    // value), the bytes are not what `plan --out` wrote.
    let text = std::fs::read_to_string(dir.join("review.json")).unwrap();
    std::fs::write(
        dir.join("twice.json"),
        text.replacen("{\n", "{\n  \"account_id\": \"999999999999\",\n", 1),
    )
    .unwrap();
    assert!(
        Saved::<Op>::read(&dir.join("review.json")).is_ok()
            && serde_json::from_str::<Value>(
                &std::fs::read_to_string(dir.join("twice.json")).unwrap()
            )
            .is_ok()
    );
    refused("twice.json", "was edited after");

    assert_eq!(account.writes_since(mark), Vec::<String>::new());
    // The genuine plan still applies, and shows the real account.
    account
        .cli(dir)
        .args(["apply", "review.json"])
        .assert()
        .success()
        .stdout(contains(account.id.as_str()))
        .stdout(contains("Apply complete!"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_destroy_plan_applies() {
    let (account, dir) = configured().await;
    let dir = dir.path();
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    save(&account, dir, "destroy.json", &["--destroy"]);
    account
        .cli(dir)
        .args(["apply", "destroy.json"])
        .assert()
        .success()
        .stdout(contains("Destroy complete!"));
    assert_eq!(account.tagged(HOME).await, Vec::<String>::new());
    account
        .cli(dir)
        .args(["plan", "--destroy", "--detailed-exitcode"])
        .assert()
        .code(0);
}

/// The code hash changes with every handler build; the account with every test.
fn mask(text: &str, account: &Account) -> String {
    let hash = login_alert::bundle::handler_sha256();
    text.replace(&account.id, "ACCOUNT").replace(&hash, "HASH")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_markdown_plan_reads_as_a_pull_request_comment() {
    let (account, dir) = configured().await;
    let out = account
        .cli(dir.path())
        .args(["plan", "--output", "markdown"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("SAVEDPLANSECRET"));
    insta::assert_snapshot!(mask(&text, &account));
}

/// Every path of the JSON documents with the type of its value: the contract the README documents.
/// A change's `op` is the operation apply runs, opaque to readers: only its presence is the contract.
fn shape(value: &Value, path: &str, out: &mut std::collections::BTreeSet<String>) {
    if path.ends_with("[].op") {
        out.insert(format!("{path}: object (opaque)"));
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                shape(v, &format!("{path}.{key}"), out);
            }
        }
        Value::Array(items) => {
            for item in items {
                shape(item, &format!("{path}[]"), out);
            }
            if items.is_empty() {
                out.insert(format!("{path}: array"));
            }
        }
        Value::Null => {
            out.insert(format!("{path}: null"));
        }
        Value::Bool(_) => {
            out.insert(format!("{path}: boolean"));
        }
        Value::Number(_) => {
            out.insert(format!("{path}: number"));
        }
        Value::String(_) => {
            out.insert(format!("{path}: string"));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_json_contract_has_a_fixed_shape() {
    let (account, dir) = configured().await;
    let dir = dir.path();
    let out = account
        .cli(dir)
        .args(["plan", "--output", "json"])
        .output()
        .unwrap();
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    save(&account, dir, "review.json", &[]);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("review.json")).unwrap()).unwrap();
    let (mut a, mut b) = (Default::default(), Default::default());
    shape(&printed, "", &mut a);
    shape(&saved, "", &mut b);
    let text = format!(
        "plan --output json\n{}\n\nplan --out FILE (saved plan)\n{}\n",
        a.into_iter().collect::<Vec<_>>().join("\n"),
        b.into_iter().collect::<Vec<_>>().join("\n")
    );
    insta::assert_snapshot!(text);
}

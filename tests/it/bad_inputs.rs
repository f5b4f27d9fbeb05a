//! Bad input of every kind (config files, flags, environment) and the exact message each gets, as
//! one snapshot; none may panic. These need no AWS: everything is checked before the first call
//! (the endpoint is a closed port, so a call that escaped would show up as "could not be reached").

use crate::support;

use std::process::Command;

const CONFIG: &str = "region = \"us-east-1\"\n\n[trail]\nname = \"audit-trail\"\n\n[notify]\nemails = [\"secops@example.com\"]\n";
const INIT: [&str; 6] = [
    "init",
    "--yes",
    "--trail",
    "audit-trail",
    "--email",
    "secops@example.com",
];
/// Nothing listens there: a request that escapes validation fails visibly.
const CLOSED: &str = "http://127.0.0.1:9";

/// One bad input: what the directory holds, the command line and the environment.
struct Case {
    name: &'static str,
    config: Option<Vec<u8>>,
    mode: Option<u32>,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    unset: Vec<&'static str>,
    aws_dir: Option<&'static str>,
    /// Only a warning: the command goes on to AWS (and finds the closed port).
    warns: bool,
    /// Another file in the directory (a saved plan), by name.
    file: Option<(&'static str, Vec<u8>)>,
    /// A named pipe in the directory, by name.
    fifo: Option<&'static str>,
}

fn case(name: &'static str) -> Case {
    Case {
        name,
        config: None,
        mode: None,
        args: vec!["plan".into()],
        env: Vec::new(),
        unset: Vec::new(),
        aws_dir: None,
        warns: false,
        file: None,
        fifo: None,
    }
}

impl Case {
    fn config(mut self, text: impl Into<Vec<u8>>) -> Self {
        self.config = Some(text.into());
        self
    }
    fn edit(self, from: &str, to: &str) -> Self {
        self.config(CONFIG.replacen(from, to, 1))
    }
    fn prepend(self, line: &str) -> Self {
        self.config(format!("{line}\n{CONFIG}"))
    }
    fn args(mut self, args: &[&str]) -> Self {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self
    }
    fn init(self, more: &[&str]) -> Self {
        let mut args: Vec<&str> = INIT.to_vec();
        args.extend(more);
        self.args(&args)
    }
    fn env(mut self, key: &'static str, value: &str) -> Self {
        self.env.push((key, value.into()));
        self
    }
    fn unset(mut self, key: &'static str) -> Self {
        self.unset.push(key);
        self
    }
    fn mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode);
        self
    }
    fn warns(mut self) -> Self {
        self.warns = true;
        self
    }
    fn aws_config(mut self, text: &'static str) -> Self {
        self.aws_dir = Some(text);
        self
    }
    fn file(mut self, name: &'static str, bytes: impl Into<Vec<u8>>) -> Self {
        self.file = Some((name, bytes.into()));
        self
    }
    fn fifo(mut self, name: &'static str) -> Self {
        self.fifo = Some(name);
        self
    }
}

fn cases() -> Vec<Case> {
    let webhook = "https://hooks.slack.com/services/T000/B000/SECRETSECRET";
    let mut binary = b"region = \"us-east-1\"\n".to_vec();
    binary.extend([0xff, 0xfe, 0x00, 0x9f]);
    vec![
        // The file itself.
        case("no config file"),
        case("an empty config").config(""),
        case("a value without quotes").config("region = us-east-1\n"),
        case("an unterminated string").config("region = \"us-east-1\n"),
        case("a key given twice").prepend("region = \"us-east-2\""),
        case("a misspelt top-level key").prepend("regoin = \"us-east-1\""),
        case("an unknown key after [notify] belongs to [notify]")
            .config(format!("{CONFIG}colour = \"red\"\n")),
        case("a misspelt key in [trail]").edit("name = ", "nmae = "),
        case("a misspelt key in [notify]").edit("emails = ", "email = "),
        case("a number written as a word").prepend("log_retention_days = \"ninety\""),
        case("a number too large").prepend("log_retention_days = 99999999999"),
        case("emails as a string, not a list")
            .edit("[\"secops@example.com\"]", "\"secops@example.com\""),
        case("trail as a string, not a table")
            .config("region = \"us-east-1\"\ntrail = \"audit-trail\"\n"),
        case("no [trail] table").config("region = \"us-east-1\"\n"),
        case("an unknown scope").prepend("scope = \"everything\""),
        case("a near-miss scope").prepend("scope = \"root_only\""),
        case("a region that does not exist").edit("us-east-1", "us-east-99"),
        case("a region cut short").edit("us-east-1", "us-east"),
        case("a region in capitals").edit("us-east-1", "US-EAST-1"),
        case("a region nowhere near").edit("us-east-1", "mars-north-1"),
        case("a prefix with capitals and _").prepend("name_prefix = \"Login_Alert\""),
        case("a prefix AWS reserves").prepend("name_prefix = \"aws-alerts\""),
        case("a prefix too long")
            .prepend("name_prefix = \"a-very-long-prefix-that-is-too-long\""),
        case("an account name that is not ASCII").prepend("account_name = \"本番\""),
        case("a city, not a time zone").prepend("timezone = \"Tokyo\""),
        case("a retention CloudWatch Logs does not offer").prepend("log_retention_days = 10"),
        case("both name and create in [trail]").edit("[trail]\n", "[trail]\ncreate = true\n"),
        case("neither name nor create in [trail]").edit("name = \"audit-trail\"\n", ""),
        case("an unknown coverage").prepend("coverage = \"organisation\""),
        case("an organizational unit that is not an ID")
            .prepend("coverage = \"organization\"\norganization_units = [\"Workloads\"]"),
        case("organizational units with account coverage")
            .prepend("organization_units = [\"ou-ab12-34cd56ef\"]"),
        case("a trail name with a space").edit("audit-trail", "audit trail"),
        case("a trail ARN of another service").edit("audit-trail", "arn:aws:s3:::audit-bucket"),
        case("a trail ARN in a region that does not exist").edit(
            "audit-trail",
            "arn:aws:cloudtrail:us-east-99:123456789012:trail/audit-trail",
        ),
        case("an email without a domain").edit("secops@example.com", "secops@"),
        case("a webhook over http").edit(
            "[notify]\n",
            "[notify]\nslack_webhook_url = \"http://hooks.slack.com/services/T0/B0/X\"\n",
        ),
        case("a webhook that is not Slack's").edit(
            "[notify]\n",
            "[notify]\nslack_webhook_url = \"https://example.com/services/T0/B0/SECRET\"\n",
        ),
        case("nobody to notify").edit("[\"secops@example.com\"]", "[]"),
        case("three problems at once").config(
            "region = \"eu-wset-1\"\ntimezone = \"Asia/Tokio\"\n[trail]\nname = \"audit-trail\"\n[notify]\nemails = [\"secops@\"]\n",
        ),
        // EventBridge cannot route events between Regions in China and GovCloud: refused before any call.
        case("EventBridge mode in a China region").config(format!(
            "mode = \"eventbridge\"\n{}",
            CONFIG.replacen("us-east-1", "cn-north-1", 1)
        )),
        case("both modes in a GovCloud region, at apply")
            .config(format!(
                "mode = \"both\"\n{}",
                CONFIG.replacen("us-east-1", "us-gov-west-1", 1)
            ))
            .args(&["apply", "--yes"]),
        case("init --mode eventbridge in a China region")
            .init(&["--region", "cn-northwest-1", "--mode", "eventbridge"]),
        case("a config far too large").config(vec![b'#'; 2 << 20]),
        case("a config that never ends").args(&["plan", "--config", "/dev/zero"]),
        case("a binary file").config(binary),
        case("a directory").args(&["plan", "--config", "/"]),
        // A line that holds a webhook URL is never quoted, however it is broken.
        case("a webhook URL without its quotes").edit(
            "[notify]\n",
            "[notify]\nslack_webhook_url = https://hooks.slack.com/services/T0/B0/SECRETSECRET\n",
        ),
        case("a webhook URL in a list").edit(
            "[notify]\n",
            "[notify]\nwebhook_url = [\"https://alerts.example.com/SECRETSECRET\"]\n",
        ),
        case("a webhook URL as a table").config(format!(
            "{CONFIG}\n[notify.teams_webhook_url]\nurl = \"https://x.webhook.office.com/SECRETSECRET\"\n"
        )),
        case("a URL on a line of its own")
            .edit("[notify]\n", "[notify]\nhttps://alerts.example.com/SECRETSECRET\n"),
        case("10,000 account names, past DynamoDB's item size").config(format!(
            "{CONFIG}\n[account_names]\n{}",
            (0..10_000).fold(String::new(), |mut t, i| {
                t.push_str(&format!("\"{:012}\" = \"account-{i:05}-of-the-organization-x\"\n", 100_000_000_000u64 + i));
                t
            })
        )),
        case("a webhook secret others can read")
            .edit("[notify]\n", &format!("[notify]\nslack_webhook_url = \"{webhook}\"\n"))
            .mode(0o644)
            .warns(),
        // Flags.
        case("init with nothing to go on").args(&["init", "--yes"]),
        case("init --email that is not an address").args(&[
            "init",
            "--yes",
            "--trail",
            "audit-trail",
            "--email",
            "not-an-email",
        ]),
        case("init --trail with a space").args(&[
            "init",
            "--yes",
            "--trail",
            "audit trail",
            "--email",
            "secops@example.com",
        ]),
        case("init --timezone unknown").init(&["--timezone", "Mars/Olympus"]),
        case("init --log-retention-days unsupported").init(&["--log-retention-days", "10"]),
        case("init --log-retention-days not a number").init(&["--log-retention-days", "ten"]),
        case("init --name-prefix reserved").init(&["--name-prefix", "aws-alerts"]),
        case("init --account-name not ASCII").init(&["--account-name", "本番"]),
        case("init --scope unknown").init(&["--scope", "everything"]),
        case("init --trail and --create-trail").init(&["--create-trail"]),
        case("init --slack-webhook-url over http")
            .init(&["--slack-webhook-url", "http://hooks.slack.com/services/T0/B0/X"]),
        case("init with several bad flags at once").args(&[
            "init",
            "--yes",
            "--trail",
            "a",
            "--email",
            "x@",
            "--timezone",
            "Nowhere/Land",
        ]),
        case("init --region that does not exist")
            .init(&["--region", "us-east-99"]),
        case("plan --region that does not exist")
            .config(CONFIG)
            .args(&["plan", "--region", "eu-west-9"]),
        case("apply a named pipe")
            .config(CONFIG)
            .fifo("plan.json")
            .args(&["apply", "plan.json"]),
        case("apply a plan file that is not UTF-8")
            .config(CONFIG)
            .file("plan.json", b"{\"format_version\": \"\xff\xfe\"}".to_vec())
            .args(&["apply", "plan.json"]),
        case("plan --output unknown").config(CONFIG).args(&["plan", "--output", "yaml"]),
        case("an unknown command").args(&["deploy"]),
        case("--profile that does not exist")
            .config(CONFIG)
            .args(&["--profile", "nosuch", "plan"]),
        // The environment.
        case("LOGIN_ALERT_CONFIG that never ends").env("LOGIN_ALERT_CONFIG", "/dev/zero"),
        case("LOGIN_ALERT_SLACK_WEBHOOK_URL over http")
            .init(&[])
            .env(
                "LOGIN_ALERT_SLACK_WEBHOOK_URL",
                "http://hooks.slack.com/services/T0/B0/X",
            ),
        case("AWS_PROFILE that does not exist, with other profiles defined")
            .config(CONFIG)
            .env("AWS_PROFILE", "prodd")
            .aws_config("[profile prod]\nregion = eu-west-1\n"),
        case("AWS_REGION that does not exist")
            .args(&["init", "--yes", "--create-trail", "--email", "secops@example.com"])
            .env("AWS_REGION", "us-east-99"),
        case("no region anywhere")
            .args(&["init", "--yes", "--create-trail", "--email", "secops@example.com"])
            .unset("AWS_REGION"),
    ]
}

/// Runs the real binary with a clean environment in a fresh directory; returns what a user sees.
fn run(case: &Case, endpoint: &str) -> (Option<i32>, String, String) {
    let dir = support::workdir();
    let home = dir.path();
    if let Some(config) = &case.config {
        let path = home.join("login-alert.toml");
        std::fs::write(&path, config).unwrap();
        if let Some(mode) = case.mode {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
    if let Some((name, bytes)) = &case.file {
        std::fs::write(home.join(name), bytes).unwrap();
    }
    if let Some(name) = case.fifo {
        let made = Command::new("mkfifo")
            .arg(home.join(name))
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo");
    }
    if let Some(text) = case.aws_dir {
        std::fs::create_dir(home.join(".aws")).unwrap();
        std::fs::write(home.join(".aws/config"), text).unwrap();
    }
    // A read that never stops must fail on the cap, not fill the machine: 4 GB of address space;
    // one that waits forever (a named pipe) is ended after a minute (exit 124).
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -v 4000000 && exec timeout 60 \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_login-alert"))
        .args(&case.args)
        .current_dir(home)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1");
    for key in &case.unset {
        cmd.env_remove(key);
    }
    for (key, value) in &case.env {
        cmd.env(key, value);
    }
    let out = cmd.output().expect("run login-alert");
    let text = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .replace(&home.display().to_string(), "HOME")
            .replace(endpoint, "ENDPOINT")
            .trim_end()
            .to_owned()
    };
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn report(case: &Case, (code, stdout, stderr): &(Option<i32>, String, String)) -> String {
    let args: Vec<String> = case
        .args
        .iter()
        .map(|a| {
            if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            }
        })
        .collect();
    let mut entry = format!("── {}\n$ login-alert {}\n", case.name, args.join(" "));
    for (key, value) in &case.env {
        entry.push_str(&format!("  with {key}={value}\n"));
    }
    for key in &case.unset {
        entry.push_str(&format!("  without {key}\n"));
    }
    entry.push_str(&format!(
        "exit {}\n",
        code.map_or("?".into(), |c| c.to_string())
    ));
    if !stdout.is_empty() {
        entry.push_str(&format!("stdout:\n{stdout}\n"));
    }
    entry.push_str(stderr);
    entry.push_str("\n\n");
    entry
}

fn assert_no_panic(case: &Case, result: &(Option<i32>, String, String)) {
    let (code, _, stderr) = result;
    assert!(
        !stderr.contains("panicked") && *code != Some(101),
        "{} panicked:\n{stderr}",
        case.name
    );
    assert!(code.is_some(), "{} was killed by a signal", case.name);
}

#[test]
fn every_bad_input_gets_a_message_that_names_the_problem_and_the_fix() {
    let cases = cases();
    assert!(cases.len() >= 40, "the table holds {} cases", cases.len());
    let mut all = String::new();
    for case in &cases {
        let result = run(case, CLOSED);
        assert_no_panic(case, &result);
        assert_ne!(result.0, Some(0), "{} succeeded", case.name);
        assert!(
            case.warns || !result.2.contains("could not be reached"),
            "{} reached for AWS before rejecting the input:\n{}",
            case.name,
            result.2
        );
        assert!(
            !result.2.contains("SECRET"),
            "{} showed the webhook secret",
            case.name
        );
        all.push_str(&report(case, &result));
    }
    insta::assert_snapshot!(all);
}

/// An endpoint that answers, but not as AWS does (a wrong --endpoint-url, a captive proxy).
#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_answering_404_is_named_with_its_status() {
    let server = wiremock::MockServer::start().await;
    let case = case("an endpoint that answers 404").config(CONFIG);
    let result = tokio::task::spawn_blocking(move || {
        let result = run(&case, &server.uri());
        assert_no_panic(&case, &result);
        result
    })
    .await
    .unwrap();
    assert_eq!(result.0, Some(1));
    assert_eq!(
        result.2,
        "error: finding the AWS account\n  caused by: the endpoint ENDPOINT answered HTTP 404, which is not an AWS API answer: check --endpoint-url / AWS_ENDPOINT_URL"
    );
}

//! Test support: one moto server per test run, a fresh isolated AWS account per test, and moto's
//! request recorder to count the write calls a command made.
//!
//! The README's test command starts moto (with recording on) and exports its URL as
//! `LOGIN_ALERT_TEST_MOTO`; without it, the first test to ask starts one (`moto_server`, shared with the handler).
//! Each test gets its own account: IAM access keys created in account N make moto serve every
//! request signed with them from account N, so tests sharing one server never see each other.

#![allow(dead_code)]

pub mod cutoff;
#[path = "../../../handler/tests/it/support/moto_server.rs"]
pub mod moto_server;

use std::path::PathBuf;
use std::process::Command as Process;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::Credentials;
use serde_json::Value;

pub struct Moto {
    pub url: String,
    _server: Option<moto_server::Server>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// The moto server for this test run.
pub fn moto() -> &'static Moto {
    MOTO.get_or_init(|| match moto_server::from_env() {
        Some(url) => Moto { url, _server: None },
        None => start_moto(true),
    })
}

static PRIVATE: OnceLock<Moto> = OnceLock::new();

/// A moto server of this test binary's own, recording nothing: for tests that make so many
/// requests (each CreateFunction carries the 3.5 MB handler) that the shared recording, which
/// other tests download to count their writes, would grow by hundreds of megabytes.
pub fn private_moto() -> &'static Moto {
    PRIVATE.get_or_init(|| start_moto(false))
}

fn start_moto(recording: bool) -> Moto {
    let server = moto_server::start(recording);
    Moto {
        url: server.url.clone(),
        _server: Some(server),
    }
}

/// An isolated AWS account in moto, with access keys that select it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub access_key: String,
    pub secret_key: String,
    /// The moto server the account lives in.
    pub url: String,
}

fn unique_account_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let n = nanos
        ^ ((std::process::id() as u64) << 20)
        ^ (COUNTER.fetch_add(1, Ordering::Relaxed) * 7919);
    format!("{:012}", 100_000_000_000 + n % 800_000_000_000)
}

/// Creates a fresh account (an IAM user with an access key in a new account ID).
pub async fn fresh_account() -> Account {
    fresh_account_in(moto()).await
}

/// Creates a fresh account in the given moto server.
pub async fn fresh_account_in(moto: &Moto) -> Account {
    account_with_id(moto, unique_account_id()).await
}

/// Access keys for the account `id` (one moto made, an organization's member say), in `moto`.
pub async fn account_with_id(moto: &Moto, id: String) -> Account {
    let sdk = sdk_with(&moto.url, "testing", "testing", "us-east-1");
    let iam = aws_sdk_iam::Client::new(&sdk);
    let header_id = id.clone();
    let select = move |req: &mut aws_smithy_runtime_api::http::Request| {
        req.headers_mut()
            .insert("x-moto-account-id", header_id.clone());
    };
    iam.create_user()
        .user_name("operator")
        .customize()
        .mutate_request(select.clone())
        .send()
        .await
        .expect("create user");
    let key = iam
        .create_access_key()
        .user_name("operator")
        .customize()
        .mutate_request(select)
        .send()
        .await
        .expect("create access key")
        .access_key
        .expect("access key");
    Account {
        id,
        access_key: key.access_key_id,
        secret_key: key.secret_access_key,
        url: moto.url.clone(),
    }
}

fn sdk_with(url: &str, key: &str, secret: &str, region: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_iam::config::SharedCredentialsProvider::new(
            Credentials::new(key, secret, None, None, "test"),
        ))
        .build()
}

impl Account {
    /// SDK settings for this account in `region`, through moto.
    pub fn sdk(&self, region: &str) -> SdkConfig {
        sdk_with(&self.url, &self.access_key, &self.secret_key, region)
    }

    /// The real `login-alert` binary, pointed at moto as this account, in `dir`.
    pub fn cli(&self, dir: &std::path::Path) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.command(dir))
    }

    /// The same as [`Account::cli`], as a plain process (to run it in the background).
    pub fn command(&self, dir: &std::path::Path) -> Process {
        self.cli_at(dir, &self.url)
    }

    /// The real `login-alert` binary as this account in `dir`, sending its AWS requests to
    /// `endpoint` (moto, or something in front of it), as a process the test may kill.
    pub fn cli_at(&self, dir: &std::path::Path, endpoint: &str) -> Process {
        let mut cmd = Process::new(env!("CARGO_BIN_EXE_login-alert"));
        cmd.current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir)
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", &self.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_key)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1");
        cmd
    }

    /// Every request moto has recorded for this account so far, as operation names in order.
    /// `access_key=` asks the test bed's moto (scripts/moto-fixed.py) for this account's lines only:
    /// the whole run's recording grows to gigabytes.
    pub fn requests(&self) -> Vec<Recorded> {
        let body = ureq::get(format!(
            "{}/moto-api/recorder/download-recording?access_key={}",
            self.url, self.access_key
        ))
        .call()
        .expect("moto recorder (is MOTO_ENABLE_RECORDING=True set on the server?)")
        .body_mut()
        .with_config()
        // Every CreateFunction carries the 3.5 MB handler zip: the recording grows fast.
        .limit(4 << 30)
        .read_to_string()
        .expect("recording");
        body.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|entry| {
                entry["headers"]["Authorization"]
                    .as_str()
                    .is_some_and(|a| a.contains(&self.access_key))
            })
            .map(|entry| Recorded::from_entry(&entry))
            .collect()
    }
}

/// One recorded request: the service and operation, and whether it changes anything; with the
/// region it was signed for and what it sent (to tell the IAM action and resource it needs).
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub service: String,
    pub operation: String,
    pub region: String,
    pub method: String,
    pub url: String,
    /// The body as sent (JSON, a form, or empty).
    pub body: String,
    /// The SDK's user agent (`User-Agent`, else `x-amz-user-agent`).
    pub user_agent: String,
}

impl Recorded {
    fn from_entry(entry: &Value) -> Self {
        let headers = &entry["headers"];
        let auth = headers["Authorization"].as_str().unwrap_or("");
        // Credential=AKID/DATE/REGION/SERVICE/aws4_request
        let scope = |i: usize| {
            auth.split("Credential=")
                .nth(1)
                .and_then(|c| c.split('/').nth(i))
                .unwrap_or("?")
                .to_owned()
        };
        let (region, service) = (scope(2), scope(3));
        let method = entry["method"].as_str().unwrap_or("?");
        let operation = if let Some(target) = headers["X-Amz-Target"].as_str() {
            target.rsplit('.').next().unwrap_or(target).to_owned()
        } else if let Some(action) = form_action(&body_of(entry)) {
            action
        } else {
            let path = entry["url"]
                .as_str()
                .unwrap_or("")
                .split("://")
                .nth(1)
                .unwrap_or("");
            let path = path.find('/').map(|i| &path[i..]).unwrap_or("/");
            format!("{method} {}", path.split('?').next().unwrap_or(path))
        };
        Recorded {
            service,
            operation,
            region,
            method: method.to_owned(),
            url: entry["url"].as_str().unwrap_or("").to_owned(),
            body: body_of(entry),
            user_agent: [
                "User-Agent",
                "user-agent",
                "x-amz-user-agent",
                "X-Amz-User-Agent",
            ]
            .iter()
            .find_map(|h| headers[*h].as_str())
            .unwrap_or("")
            .to_owned(),
        }
    }

    /// Reads: Describe*/List*/Get*/Head*, and REST GET/HEAD.
    pub fn is_write(&self) -> bool {
        let op = self.operation.as_str();
        !(op.starts_with("Describe")
            || op.starts_with("List")
            || op.starts_with("Get")
            || op.starts_with("Head")
            || op.starts_with("GET ")
            || op.starts_with("HEAD ")
            || op == "LookupEvents")
    }
}

/// The recorded body as text (the recorder keeps bytes as base64).
fn body_of(entry: &Value) -> String {
    let body = entry["body"].as_str().unwrap_or("");
    if entry["body_encoded"].as_bool() == Some(true) {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    } else {
        body.to_owned()
    }
}

fn form_action(body: &str) -> Option<String> {
    body.split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .map(str::to_owned)
}

/// A scratch directory that holds the config file for a CLI test.
pub fn workdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

pub fn read_to_string(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

impl Account {
    /// An S3 client as this account in `region` (path-style: moto serves no virtual-hosted names).
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk(region))
                .force_path_style(true)
                .build(),
        )
    }

    /// The user's own set-up before login-alert: a single-region trail `name` in `region`, logging
    /// to their bucket `audit-logs-ACCOUNT`. Returns the bucket's name.
    pub async fn seed_single_region_trail(&self, region: &str, name: &str) -> String {
        let bucket = format!("audit-logs-{}", self.id);
        let mut create = self.s3(region).create_bucket().bucket(&bucket);
        // us-east-1 is the one region S3 takes no location constraint for.
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        create.send().await.expect("create bucket");
        let cloudtrail = aws_sdk_cloudtrail::Client::new(&self.sdk(region));
        cloudtrail
            .create_trail()
            .name(name)
            .s3_bucket_name(&bucket)
            .send()
            .await
            .expect("create trail");
        cloudtrail
            .start_logging()
            .name(name)
            .send()
            .await
            .expect("start logging");
        bucket
    }

    /// Everything in `region` (and IAM) that carries the tag managed-by = login-alert, as
    /// "kind name" lines: what `destroy` must leave empty whatever the trail choice was.
    pub async fn tagged(&self, region: &str) -> Vec<String> {
        let sdk = self.sdk(region);
        let ours = |key: &str, value: &str| key == "managed-by" && value == "login-alert";
        let mut found = Vec::new();

        let cloudtrail = aws_sdk_cloudtrail::Client::new(&sdk);
        let trails = cloudtrail
            .describe_trails()
            .send()
            .await
            .expect("describe trails")
            .trail_list
            .unwrap_or_default();
        for trail in trails {
            let arn = trail.trail_arn.unwrap_or_default();
            let tags = cloudtrail
                .list_tags()
                .resource_id_list(&arn)
                .send()
                .await
                .expect("trail tags");
            if tags
                .resource_tag_list
                .unwrap_or_default()
                .into_iter()
                .flat_map(|r| r.tags_list.unwrap_or_default())
                .any(|t| ours(&t.key, t.value.as_deref().unwrap_or("")))
            {
                found.push(format!("trail {arn}"));
            }
        }

        let s3 = self.s3(region);
        for bucket in s3
            .list_buckets()
            .send()
            .await
            .expect("list buckets")
            .buckets
            .unwrap_or_default()
        {
            let name = bucket.name.unwrap_or_default();
            if let Ok(tags) = s3.get_bucket_tagging().bucket(&name).send().await
                && tags.tag_set.iter().any(|t| ours(&t.key, &t.value))
            {
                found.push(format!("bucket {name}"));
            }
        }

        let iam = aws_sdk_iam::Client::new(&sdk);
        for role in iam.list_roles().send().await.expect("list roles").roles {
            let tags = iam
                .list_role_tags()
                .role_name(&role.role_name)
                .send()
                .await
                .expect("role tags");
            if tags.tags.iter().any(|t| ours(&t.key, &t.value)) {
                found.push(format!("role {}", role.role_name));
            }
        }

        let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
        for group in logs
            .describe_log_groups()
            .send()
            .await
            .expect("log groups")
            .log_groups
            .unwrap_or_default()
        {
            let name = group.log_group_name.unwrap_or_default();
            let arn = format!("arn:aws:logs:{region}:{}:log-group:{name}", self.id);
            let tags = logs
                .list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await
                .expect("log group tags")
                .tags
                .unwrap_or_default();
            if tags.iter().any(|(k, v)| ours(k, v)) {
                found.push(format!("log group {name}"));
            }
        }

        let sns = aws_sdk_sns::Client::new(&sdk);
        for topic in sns
            .list_topics()
            .send()
            .await
            .expect("topics")
            .topics
            .unwrap_or_default()
        {
            let arn = topic.topic_arn.unwrap_or_default();
            let tags = sns
                .list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await
                .expect("topic tags")
                .tags
                .unwrap_or_default();
            if tags.iter().any(|t| ours(&t.key, &t.value)) {
                found.push(format!("topic {arn}"));
            }
        }

        let lambda = aws_sdk_lambda::Client::new(&sdk);
        for function in lambda
            .list_functions()
            .send()
            .await
            .expect("functions")
            .functions
            .unwrap_or_default()
        {
            let name = function.function_name.unwrap_or_default();
            let tags = lambda
                .get_function()
                .function_name(&name)
                .send()
                .await
                .expect("function")
                .tags
                .unwrap_or_default();
            if tags.iter().any(|(k, v)| ours(k, v)) {
                found.push(format!("function {name}"));
            }
        }

        found.extend(self.tagged_rules(region).await);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        for url in sqs
            .list_queues()
            .send()
            .await
            .expect("queues")
            .queue_urls
            .unwrap_or_default()
        {
            let tags = sqs
                .list_queue_tags()
                .queue_url(&url)
                .send()
                .await
                .expect("queue tags")
                .tags
                .unwrap_or_default();
            if tags.iter().any(|(k, v)| ours(k, v)) {
                found.push(format!("queue {}", url.rsplit('/').next().unwrap_or(&url)));
            }
        }

        let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
        for alarm in cloudwatch
            .describe_alarms()
            .send()
            .await
            .expect("alarms")
            .metric_alarms
            .unwrap_or_default()
        {
            let tags = cloudwatch
                .list_tags_for_resource()
                .resource_arn(alarm.alarm_arn().unwrap_or_default())
                .send()
                .await
                .expect("alarm tags")
                .tags
                .unwrap_or_default();
            if tags
                .iter()
                .any(|t| ours(t.key().unwrap_or_default(), t.value().unwrap_or_default()))
            {
                found.push(format!("alarm {}", alarm.alarm_name().unwrap_or_default()));
            }
        }

        let ssm = aws_sdk_ssm::Client::new(&sdk);
        for parameter in ssm
            .describe_parameters()
            .send()
            .await
            .expect("parameters")
            .parameters
            .unwrap_or_default()
        {
            let name = parameter.name.unwrap_or_default();
            let tags = ssm
                .list_tags_for_resource()
                .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
                .resource_id(&name)
                .send()
                .await
                .expect("parameter tags")
                .tag_list
                .unwrap_or_default();
            if tags.iter().any(|t| ours(&t.key, &t.value)) {
                found.push(format!("parameter {name}"));
            }
        }

        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        for table in dynamodb
            .list_tables()
            .send()
            .await
            .expect("tables")
            .table_names
            .unwrap_or_default()
        {
            let arn = format!("arn:aws:dynamodb:{region}:{}:table/{table}", self.id);
            let tags = dynamodb
                .list_tags_of_resource()
                .resource_arn(&arn)
                .send()
                .await
                .expect("table tags")
                .tags
                .unwrap_or_default();
            if tags.iter().any(|t| ours(&t.key, &t.value)) {
                found.push(format!("table {table}"));
            }
        }
        found
    }
}

impl Account {
    /// login-alert's EventBridge rules (tagged managed-by = login-alert) on the default bus of `region`.
    pub async fn tagged_rules(&self, region: &str) -> Vec<String> {
        let events = aws_sdk_eventbridge::Client::new(&self.sdk(region));
        let rules = events
            .list_rules()
            .send()
            .await
            .expect("list rules")
            .rules
            .unwrap_or_default();
        let mut found = Vec::new();
        for rule in rules {
            let arn = rule.arn.unwrap_or_default();
            let tags = events
                .list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await
                .expect("rule tags")
                .tags
                .unwrap_or_default();
            if tagged_ours(&tags, |t| (t.key.as_str(), t.value.as_str())) {
                found.push(format!("rule {}", rule.name.unwrap_or_default()));
            }
        }
        found
    }
}

impl Account {
    /// The write calls recorded for this account since `mark` (a count of [`Account::requests`]).
    pub fn writes_since(&self, mark: usize) -> Vec<String> {
        self.requests()[mark..]
            .iter()
            .filter(|r| r.is_write())
            .map(|r| format!("{}:{}", r.service, r.operation))
            .collect()
    }
}

/// Whether a service's tag list carries login-alert's `managed-by = login-alert` tag, `pair` giving each tag's key
/// and value (every SDK has a tag type of its own).
pub fn tagged_ours<T>(tags: &[T], pair: impl for<'a> Fn(&'a T) -> (&'a str, &'a str)) -> bool {
    tags.iter()
        .map(pair)
        .any(|kv| kv == ("managed-by", "login-alert"))
}

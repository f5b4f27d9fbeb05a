//! The command line: every flag documented here is the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use login_alert_handler::{AlertOn, Language, Scope};

use crate::config::{Coverage, Route};

/// `--version`: the release, and the code hash of the handler it deploys (what `plan` shows as `code_sha256`
/// and Lambda reports as `CodeSha256`), so a deployed function can be matched to the binary that deployed it.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (handler code_sha256 ",
    env!("LOGIN_ALERT_HANDLER_SHA256"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "login-alert",
    version = VERSION,
    about = "Get an alert within minutes whenever anyone signs in to the AWS console or uses the root user, in every region.",
    long_about = None,
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Config file to read (and, for `init`, to write).
    #[arg(
        long,
        global = true,
        env = "LOGIN_ALERT_CONFIG",
        default_value = "login-alert.toml"
    )]
    pub config: PathBuf,

    /// Named profile from ~/.aws/config and ~/.aws/credentials (default: the standard credential chain, AWS_PROFILE).
    #[arg(long, global = true)]
    pub profile: Option<String>,

    /// Region for API calls when the config does not fix it (default: AWS_REGION or the profile's region).
    #[arg(long, global = true)]
    pub region: Option<String>,

    /// Send every AWS API call to this endpoint, e.g. a local emulator (AWS_ENDPOINT_URL works too).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Never colour the output (NO_COLOR works too; colour is also off when stdout is not a terminal).
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Discover the account and write the config file (asks on a terminal; flags answer every question).
    Init(InitArgs),
    /// Show what `apply` would create, change or delete, reading the account only.
    Plan(PlanArgs),
    /// Create or repair the alert pipeline so the account matches the config.
    Apply(ApplyArgs),
    /// Remove everything login-alert created and restore the trail as it was found.
    Destroy(DestroyArgs),
    /// Show exactly what the handler would send for CloudTrail records in FILE.
    Preview(PreviewArgs),
    /// Check every link of an alert's path, reading only (exit 0 ok, 2 needs attention, 3 broken).
    Status(StatusArgs),
    /// Send a test alert through the live pipeline and wait for proof of its delivery.
    Test(TestArgs),
    /// Print the IAM policy the operator needs for the config (its region, name prefix and mode).
    Policy(PolicyArgs),
    /// Print the shell completion script for SHELL (see the README's "Install").
    Completions(CompletionsArgs),
}

#[derive(Debug, Clone, Default, Args)]
pub struct InitArgs {
    /// Ask nothing: take the flags, the existing config and the discovered defaults.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Start from defaults when the existing config cannot be read (it is kept as FILE.bak).
    #[arg(long)]
    pub force: bool,

    /// Name or ARN of the existing trail to adopt (it is made multi-region and sent to CloudWatch Logs).
    #[arg(long, value_name = "NAME", conflicts_with = "create_trail")]
    pub trail: Option<String>,

    /// Create a new multi-region trail (and its S3 bucket) instead of adopting one.
    #[arg(long)]
    pub create_trail: bool,

    /// Email address to notify (repeat the flag for several); each must confirm the SNS subscription.
    #[arg(long = "email", value_name = "ADDRESS")]
    pub emails: Vec<String>,

    /// Slack incoming-webhook URL (https://hooks.slack.com/...); stored encrypted in SSM Parameter Store.
    #[arg(
        long,
        value_name = "URL",
        env = "LOGIN_ALERT_SLACK_WEBHOOK_URL",
        hide_env_values = true
    )]
    pub slack_webhook_url: Option<String>,

    /// Name shown in alerts for this account (default: the account alias, else the account ID).
    #[arg(long, value_name = "NAME")]
    pub account_name: Option<String>,

    /// IANA time zone for times in alerts, e.g. Asia/Tokyo (default: the system's, else UTC).
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,

    /// Which events alert.
    #[arg(long, value_enum)]
    pub scope: Option<ScopeArg>,

    /// Prefix of every resource name login-alert creates.
    #[arg(long, value_name = "PREFIX")]
    pub name_prefix: Option<String>,

    /// Days CloudWatch Logs keeps the trail's events in the log group login-alert creates.
    #[arg(long, value_name = "DAYS")]
    pub log_retention_days: Option<i32>,

    /// How events reach the alert function (default: cloudwatch-logs).
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,

    /// Language of the alerts: en or ja (default: the existing config's, else en). Email subjects stay English.
    #[arg(long, value_name = "LANG")]
    pub language: Option<Language>,

    /// Which sign-ins send a message: all, or unusual (a successful non-root sign-in with MFA from a network
    /// and browser the identity used before is recorded, not sent). Default: the existing config's, else all.
    #[arg(long, value_name = "WHICH")]
    pub alert_on: Option<AlertOn>,
    /// Also set up the CIS monitoring controls Security Hub checks (CloudWatch.1-14): 14 metric
    /// filters on the trail's log group and 14 alarms (about $1.40 a month). Not in eventbridge mode.
    #[arg(long)]
    pub cis: bool,
    /// Which accounts alerts come from: this one (the default), or every account of its
    /// organization (from the management account or a delegated administrator for StackSets).
    #[arg(long, value_enum)]
    pub coverage: Option<CoverageArg>,
}

/// Which accounts alerts come from, as a flag value (the config uses [`Coverage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CoverageArg {
    /// The account login-alert runs in.
    Account,
    /// Every account of the organization: CloudFormation StackSets put a forwarding rule in each
    /// member account and region (EventBridge modes), or the organization trail's log group.
    Organization,
}

impl From<CoverageArg> for Coverage {
    fn from(arg: CoverageArg) -> Self {
        match arg {
            CoverageArg::Account => Coverage::Account,
            CoverageArg::Organization => Coverage::Organization,
        }
    }
}

/// How events reach the function, as a flag value (the config uses [`Route`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Trail → CloudWatch Logs → subscription filter: alerts in about 5 minutes, durable; every
    /// management event is also kept (and billed) in a log group.
    CloudwatchLogs,
    /// EventBridge rules in every enabled region: alerts within seconds, no log ingestion cost;
    /// AWS delivers CloudTrail events to EventBridge on a best-effort basis.
    Eventbridge,
    /// Both: EventBridge for speed, CloudWatch Logs as the durable backstop; each event alerts once.
    Both,
}

impl From<ModeArg> for Route {
    fn from(arg: ModeArg) -> Self {
        match arg {
            ModeArg::CloudwatchLogs => Route::CloudwatchLogs,
            ModeArg::Eventbridge => Route::Eventbridge,
            ModeArg::Both => Route::Both,
        }
    }
}

/// The alert scope as a flag value (the config and the handler use [`Scope`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    /// All console sign-ins (success and failure), SwitchRole and root activity.
    All,
    /// Failed sign-ins and root activity.
    FailuresAndRoot,
    /// Root activity only.
    RootOnly,
}

impl From<ScopeArg> for Scope {
    fn from(arg: ScopeArg) -> Self {
        match arg {
            ScopeArg::All => Scope::All,
            ScopeArg::FailuresAndRoot => Scope::FailuresAndRoot,
            ScopeArg::RootOnly => Scope::RootOnly,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// For people (a plan as a Terraform-style diff).
    #[default]
    Text,
    /// JSON on stdout, for scripts (a plan's contract is in the README).
    Json,
    /// The plan as Markdown, for a pull-request comment or a CI summary.
    Markdown,
}

#[derive(Debug, Clone, Default, Args)]
pub struct PlanArgs {
    /// Exit 0 when there is nothing to do, 2 when changes are pending, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// How to print the plan.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Plan the removal that `destroy` would do instead.
    #[arg(long)]
    pub destroy: bool,

    /// Also save the plan to FILE (owner-readable only, no secrets), for review and `login-alert apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct ApplyArgs {
    /// Apply without asking (required when stdin is not a terminal).
    #[arg(long, short = 'y', alias = "auto-approve")]
    pub yes: bool,

    /// A plan saved by `login-alert plan --out FILE`: apply exactly it, asking nothing, or refuse it
    /// (changing nothing) when the config, the binary or the account changed since.
    #[arg(value_name = "FILE")]
    pub plan_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct DestroyArgs {
    /// Destroy without asking (required when stdin is not a terminal).
    #[arg(long, short = 'y', alias = "auto-approve")]
    pub yes: bool,
}

#[derive(Debug, Clone, Default, Args)]
pub struct StatusArgs {
    /// How to print the checks (`json`: {"checks": [{"name", "status", "detail", "fix"}]}).
    #[arg(long, value_enum, default_value_t = StatusFormat::Text)]
    pub output: StatusFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum StatusFormat {
    /// One line per check, for people.
    #[default]
    Text,
    /// JSON on stdout, for scripts.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct TestArgs {
    /// Seconds to wait for the function to confirm delivery before the test fails.
    #[arg(long, value_name = "SECONDS", default_value_t = 180)]
    pub timeout: u64,
}

#[derive(Debug, Clone, Default, Args)]
pub struct PolicyArgs {
    /// How to print it (`json`: the policy documents by name; with --document, that document alone,
    /// for `aws iam create-policy --policy-document`).
    #[arg(long, value_enum, default_value_t = PolicyFormat::Text)]
    pub output: PolicyFormat,

    /// Print only this one of the two managed policies (default: both).
    #[arg(long, value_enum)]
    pub document: Option<PolicyDocument>,

    /// The 12-digit account the policy is for, or `*` for any (default: the credentials' account).
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub account: Option<String>,

    /// Prefix of the resource names (default: the config's, else login-alert).
    #[arg(long, value_name = "PREFIX")]
    pub name_prefix: Option<String>,

    /// How events reach the function (default: the config's, else cloudwatch-logs).
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum PolicyFormat {
    /// Each statement's actions and resources, for people.
    #[default]
    Text,
    /// The IAM policy document.
    Json,
}

/// The operator's two managed policies, split by service (each must fit in 6,144 characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyDocument {
    /// CloudTrail, CloudWatch Logs, S3, EventBridge, Account Management: where events come from and how they travel.
    Trail,
    /// Every other service: Lambda, IAM, SNS, SSM, SQS, DynamoDB, CloudWatch, STS.
    Function,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum PreviewFormat {
    /// A short human summary per record.
    #[default]
    Text,
    /// The SNS email (subject and body) per message.
    Email,
    /// The Slack webhook JSON per message, one per line.
    Slack,
    /// The Microsoft Teams (Workflows webhook) Adaptive Card JSON per message, one per line.
    Teams,
    /// The generic JSON webhook body per message, one per line.
    Webhook,
    /// The classification of every record as a JSON array.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct PreviewArgs {
    /// CloudWatch Logs subscription event, EventBridge event, CloudTrail log file or single record (`-` = stdin).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// What to print.
    #[arg(long, value_enum, default_value_t = PreviewFormat::Text)]
    pub output: PreviewFormat,

    /// Alert scope to apply (default: the config's, else all).
    #[arg(long, value_enum)]
    pub scope: Option<ScopeArg>,

    /// Account name shown in messages (default: the config's, else the record's account ID).
    #[arg(long, value_name = "NAME")]
    pub account_name: Option<String>,

    /// IANA time zone for times (default: the config's, else UTC).
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,

    /// Language of the messages: en or ja (default: the config's, else en). Email subjects stay English.
    #[arg(long, value_name = "LANG")]
    pub language: Option<Language>,

    /// Which sign-ins send a message: all, or unusual (default: the config's, else all). The file is judged
    /// in time order from an empty state, so its first sign-in of each identity is new.
    #[arg(long, value_name = "WHICH")]
    pub alert_on: Option<AlertOn>,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}

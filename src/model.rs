//! The provisioner's shared vocabulary: the desired state ([`Target`]), secrets, the context every
//! AWS operation gets ([`Ctx`]), and what the parts of the pipeline learn of each other ([`Facts`]).

use std::collections::BTreeMap;
use std::fmt;

use login_alert_handler::{Language, Scope};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::aws::Clients;
use crate::config::{Config, Coverage, Route, RouteConfig};
use crate::names::{Arns, Names, WebhookKind};
use crate::plan::SENSITIVE;
use crate::printer::Printer;
use crate::retry::Bound;

/// A value that must never be printed: Debug, Display and JSON show a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SENSITIVE)
    }
}

impl Secret {
    /// For `serialize_with`: the value as `sha256:…`, for a fingerprint that changes with it.
    pub fn serialize_digest<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!(
            "sha256:{}",
            hex::encode(Sha256::digest(self.0.as_bytes()))
        ))
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(SENSITIVE)
    }
}

/// A secret read back from a saved plan holds only the placeholder: whoever applies the plan puts
/// the value back from the config (see [`Target::secret_of`]).
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Which trail carries the events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrailChoice {
    /// The user's existing trail (name or ARN): changed, never deleted.
    Adopt(String),
    /// A trail login-alert creates (with its S3 bucket).
    Create,
}

/// The desired state: the validated config plus what only the account can tell (its ID).
#[derive(Debug, Clone)]
pub struct Target {
    pub arns: Arns,
    pub names: Names,
    pub trail: TrailChoice,
    pub emails: Vec<String>,
    pub slack_webhook_url: Option<Secret>,
    pub teams_webhook_url: Option<Secret>,
    pub webhook_url: Option<Secret>,
    /// Shown in messages; the account ID when the config names none.
    pub account_name: String,
    /// Other accounts' names (`[account_names]`), for events an organization trail brings in.
    pub account_names: BTreeMap<String, String>,
    pub language: Language,
    pub group_window_minutes: u32,
    /// Which sign-ins send a message (`alert_on`), and how long a baseline remembers (`baseline_days`).
    pub alert_on: login_alert_handler::AlertOn,
    pub baseline_days: u32,
    pub timezone: String,
    pub scope: Scope,
    pub log_retention_days: i32,
    /// How events reach the function.
    pub route: Route,
    /// The CIS monitoring controls Security Hub checks (`cis = true`; CloudWatch Logs modes only).
    pub cis: bool,
    /// This account, or every account of the organization (`coverage`).
    pub coverage: Coverage,
    /// The organizational units covered (`organization_units`); empty: the root.
    pub organization_units: Vec<String>,
    /// `[[route]]`: accounts whose alerts go to destinations of their own (the rest: the default above).
    pub routes: Vec<RouteTarget>,
}

impl Target {
    pub fn new(config: &Config, account_id: &str) -> Self {
        Target {
            arns: Arns::new(account_id, &config.region),
            names: Names::new(&config.name_prefix),
            trail: match &config.trail.name {
                Some(name) if !config.trail.create => TrailChoice::Adopt(name.clone()),
                _ => TrailChoice::Create,
            },
            emails: config.notify.emails.clone(),
            slack_webhook_url: config.notify.slack_webhook_url.clone().map(Secret::new),
            teams_webhook_url: config.notify.teams_webhook_url.clone().map(Secret::new),
            webhook_url: config.notify.webhook_url.clone().map(Secret::new),
            account_name: config
                .account_name
                .clone()
                .unwrap_or_else(|| account_id.to_owned()),
            account_names: config.account_names.clone(),
            language: config.language,
            group_window_minutes: config.group_window_minutes,
            alert_on: config.alert_on,
            baseline_days: config.baseline_days,
            timezone: config.timezone.clone(),
            scope: config.scope,
            log_retention_days: config.log_retention_days,
            route: config.mode,
            cis: config.cis,
            coverage: config.coverage,
            organization_units: config.organization_units.clone(),
            routes: config.routes.iter().map(RouteTarget::new).collect(),
        }
    }

    /// Whether alerts are to come from every account of the organization.
    pub fn organization_wide(&self) -> bool {
        self.coverage == Coverage::Organization
    }

    /// Whether member accounts forward their events through EventBridge (the central bus and the
    /// StackSet): organization coverage in the EventBridge modes.
    pub fn organization_events(&self) -> bool {
        self.organization_wide() && self.route.uses_eventbridge()
    }

    pub fn account_id(&self) -> &str {
        &self.arns.account_id
    }

    pub fn region(&self) -> &str {
        &self.arns.region
    }

    /// The name of the trail the pipeline reads: the adopted one (an ARN's last part), else login-alert's own.
    pub fn trail_name(&self) -> String {
        match &self.trail {
            TrailChoice::Adopt(name) => crate::arn::Arn::parse(name)
                .and_then(|arn| arn.resource_of("trail"))
                .unwrap_or(name)
                .to_owned(),
            TrailChoice::Create => self.names.trail(),
        }
    }

    /// The topic exists only when someone is notified by email.
    pub fn topic_arn(&self) -> Option<String> {
        (!self.emails.is_empty()).then(|| self.arns.topic(&self.names.topic()))
    }

    /// The ARN of login-alert's function (the destination of every route to it).
    pub fn function_arn(&self) -> String {
        self.arns.function(&self.names.function())
    }

    /// The secret the config holds for the SSM parameter `name` (a saved plan carries none).
    pub fn secret_of(&self, parameter: &str) -> Option<&Secret> {
        WebhookKind::ALL
            .into_iter()
            .find(|kind| self.names.webhook_parameter(*kind) == parameter)
            .and_then(|kind| self.webhook_url(kind))
            .or_else(|| {
                self.routes.iter().find_map(|route| {
                    WebhookKind::ALL
                        .into_iter()
                        .find(|kind| self.names.route_parameter(&route.name, *kind) == parameter)
                        .and_then(|kind| route.webhook_url(kind))
                })
            })
    }

    /// The configured URL of one kind of webhook.
    pub fn webhook_url(&self, kind: WebhookKind) -> Option<&Secret> {
        match kind {
            WebhookKind::Slack => self.slack_webhook_url.as_ref(),
            WebhookKind::Teams => self.teams_webhook_url.as_ref(),
            WebhookKind::Json => self.webhook_url.as_ref(),
        }
    }

    /// The SSM parameter of a kind of webhook: it exists only while that webhook is configured.
    pub fn webhook_parameter(&self, kind: WebhookKind) -> Option<String> {
        self.webhook_url(kind)
            .map(|_| self.names.webhook_parameter(kind))
    }

    /// The SSM parameter holding the Slack webhook URL, when one is configured.
    pub fn slack_parameter(&self) -> Option<String> {
        self.webhook_parameter(WebhookKind::Slack)
    }

    /// The names the state table's `config#account-names` item should hold: `[account_names]`, plus the
    /// home account's name when the config gives one (the account ID alone names nothing).
    pub fn state_account_names(&self) -> BTreeMap<String, String> {
        let mut names = self.account_names.clone();
        if self.account_name != self.account_id() {
            names
                .entry(self.account_id().to_owned())
                .or_insert_with(|| self.account_name.clone());
        }
        names
    }
}

/// Everything an operation needs: clients in the pipeline's region, the target, output, retry bounds.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub clients: Clients,
    pub target: Target,
    pub printer: Printer,
    pub iam_bound: Bound,
    pub lambda_bound: Bound,
    /// The organization's accounts, walked at most once a command: the StackSet's coverage and the
    /// state table's account names both read them.
    organization_accounts: tokio::sync::OnceCell<Vec<crate::org_tree::Placed>>,
}

impl Ctx {
    pub fn new(clients: Clients, target: Target, printer: Printer) -> Self {
        Ctx {
            clients,
            target,
            printer,
            iam_bound: Bound::IAM_PROPAGATION,
            lambda_bound: Bound::LAMBDA_READY,
            organization_accounts: tokio::sync::OnceCell::new(),
        }
    }

    /// Every account of the organization below its root `root`, with the units above it: walked
    /// on the first call, the same answer after (see `org_tree`).
    pub async fn organization_accounts(
        &self,
        root: &str,
    ) -> anyhow::Result<&[crate::org_tree::Placed]> {
        let placed = self
            .organization_accounts
            .get_or_try_init(|| crate::org_tree::walk(&self.clients.organizations, root))
            .await?;
        Ok(placed)
    }
}

/// Which log group the trail delivers to, and whether login-alert provides it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub log_group_name: String,
    /// `true`: login-alert's own group and CloudTrail role; `false`: the group the trail already used.
    pub ours: bool,
}

impl Delivery {
    /// login-alert's own log group (and the CloudTrail role writing to it).
    pub fn ours(t: &Target) -> Self {
        Delivery {
            log_group_name: t.names.log_group(),
            ours: true,
        }
    }
}

/// What some parts, once read, tell the others (see [`crate::part::Part::TEACHES`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// Where the trail delivers: the log group the subscription filter and the invoke permission name.
    pub delivery: Delivery,
    /// Whether login-alert's function exists (`Some`) and carries the managed-by tag (`true`): its
    /// resource policy is login-alert's to change only then.
    pub function_managed: Option<bool>,
    /// Where EventBridge rules go: read in EventBridge mode, or while login-alert's rules remain
    /// from it (so a switch back or `destroy` finds them); `None` otherwise.
    pub regions: Option<Regions>,
    /// The adopted trail is an organization trail (of this account: another's is refused), so every
    /// member account's events arrive and their names are worth reading from Organizations.
    pub organization_trail: bool,
    /// With `coverage = "organization"`: the organization and the caller's place in it, as read
    /// (`None` also when the account is in no organization; the plan is then refused).
    pub organization: Option<crate::organization::Organization>,
}

/// The account's regions, as EventBridge mode sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Regions {
    /// Enabled (by default or opted in), home region included.
    pub enabled: Vec<String>,
    /// The partition's other regions: not enabled, so no rule can be placed or reached there.
    pub skipped: Vec<String>,
}

impl Facts {
    /// Before anything is read: login-alert's own log group, no function.
    pub fn new(t: &Target) -> Self {
        Facts {
            delivery: Delivery::ours(t),
            function_managed: None,
            regions: None,
            organization_trail: false,
            organization: None,
        }
    }
    /// login-alert's own log group and CloudTrail role are wanted: the trail delivers to CloudWatch
    /// Logs, and into login-alert's group. Not when it delivers to the user's own group with the
    /// user's role, nor in EventBridge mode: ours, from an earlier config, goes.
    pub fn delivers_to_ours(&self, t: &Target) -> bool {
        t.route.uses_logs() && self.delivery.ours
    }
}

/// One `[[route]]` (accounts or units whose alerts go to destinations of their own), as `Target::routes`
/// holds it; `[notify]` is the default route.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteTarget {
    pub name: String,
    pub accounts: Vec<String>,
    pub units: Vec<String>,
    pub emails: Vec<String>,
    pub slack_webhook_url: Option<Secret>,
    pub teams_webhook_url: Option<Secret>,
    pub webhook_url: Option<Secret>,
}

impl RouteTarget {
    pub fn new(config: &RouteConfig) -> Self {
        RouteTarget {
            name: config.name.clone(),
            accounts: config.accounts.clone(),
            units: config.units.clone(),
            emails: config.notify.emails.clone(),
            slack_webhook_url: config.notify.slack_webhook_url.clone().map(Secret::new),
            teams_webhook_url: config.notify.teams_webhook_url.clone().map(Secret::new),
            webhook_url: config.notify.webhook_url.clone().map(Secret::new),
        }
    }

    /// The configured URL of one kind of webhook.
    pub fn webhook_url(&self, kind: WebhookKind) -> Option<&Secret> {
        match kind {
            WebhookKind::Slack => self.slack_webhook_url.as_ref(),
            WebhookKind::Teams => self.teams_webhook_url.as_ref(),
            WebhookKind::Json => self.webhook_url.as_ref(),
        }
    }

    /// The route's topic, while it has email addresses.
    pub fn topic(&self, names: &Names) -> Option<String> {
        (!self.emails.is_empty()).then(|| names.route_topic(&self.name))
    }

    /// The route's parameter of a kind of webhook, while that webhook is configured.
    pub fn parameter(&self, names: &Names, kind: WebhookKind) -> Option<String> {
        self.webhook_url(kind)
            .map(|_| names.route_parameter(&self.name, kind))
    }

    /// The destinations as the plan shows them (webhooks never shown).
    pub fn destinations(&self) -> String {
        let mut parts: Vec<String> = self.emails.clone();
        for (kind, label) in [
            (WebhookKind::Slack, "Slack"),
            (WebhookKind::Teams, "Teams"),
            (WebhookKind::Json, "JSON webhook"),
        ] {
            if self.webhook_url(kind).is_some() {
                parts.push(format!("{label} (sensitive)"));
            }
        }
        parts.join(", ")
    }
}

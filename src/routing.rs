//! The routes (`[[route]]`) as the desired state holds them: each route's accounts, units and destinations, with
//! the names of its resources. `[notify]` is the default route (see `config::route`).

use crate::config::RouteConfig;
use crate::model::Secret;
use crate::names::{Names, WebhookKind};

/// One route, as `Target::routes` holds it.
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

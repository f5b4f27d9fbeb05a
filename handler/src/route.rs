//! Per-account destinations (`[[route]]` in the CLI's config): which route each account's alerts take, and the
//! destinations of every route. The CLI writes them at `apply` into one state-table item, `config#routes` (units
//! already resolved to their accounts); the function reads it once per container. An account the item does not
//! name, tamper alerts and the test record take the default route: the destinations of the environment.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::deliver::{AwsDelivery, Channel, Deliver, Payload, SdkEnv, Webhook};
use crate::error::DeliveryError;

/// The state-table item holding the [`RouteTable`] (as JSON in its `table` attribute).
pub const ROUTES_KEY: &str = "config#routes";
/// The attribute of [`ROUTES_KEY`] holding the table.
pub const ROUTES_ATTRIBUTE: &str = "table";

/// One route's destinations, as the function reaches them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destinations {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_parameter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teams_parameter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_parameter: Option<String>,
}

/// Every route: account ID -> route name, and route name -> destinations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    pub accounts: BTreeMap<String, String>,
    pub routes: BTreeMap<String, Destinations>,
}

impl RouteTable {
    /// The route an alert about `account` takes; `None`: the default.
    pub fn route_of(&self, account: Option<&str>) -> Option<&str> {
        let name = self.accounts.get(account?)?;
        self.routes.contains_key(name).then_some(name.as_str())
    }

    /// The table as stored, and back; an unreadable table is no table (every alert takes the default route).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
    pub fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

/// The real destinations of every route, built from a [`RouteTable`] once per container (webhook URLs are then
/// read from SSM on first use, like the default's).
#[derive(Default)]
pub struct RouteSet {
    /// Account ID -> index in `routes`.
    accounts: BTreeMap<String, usize>,
    routes: Vec<AwsDelivery>,
}

impl RouteSet {
    pub fn new(table: &RouteTable, sdk: &SdkEnv) -> Result<Self, DeliveryError> {
        let mut routes = Vec::new();
        let mut index = BTreeMap::new();
        for (name, d) in &table.routes {
            let mut webhooks = Vec::new();
            for (channel, parameter) in [
                (Channel::Slack, &d.slack_parameter),
                (Channel::Teams, &d.teams_parameter),
                (Channel::Webhook, &d.webhook_parameter),
            ] {
                if let Some(parameter) = parameter {
                    webhooks.push(Webhook::new(channel, parameter.clone(), sdk.ssm())?);
                }
            }
            let sns = d.topic_arn.clone().map(|topic| (sdk.sns(), topic));
            index.insert(name.clone(), routes.len());
            routes.push(AwsDelivery::new(sns, webhooks));
        }
        let accounts = table
            .accounts
            .iter()
            .filter_map(|(account, name)| Some((account.clone(), *index.get(name)?)))
            .collect();
        Ok(RouteSet { accounts, routes })
    }

    /// These routes over `default`, as a [`Deliver`].
    pub fn over<'a>(&'a self, default: &'a AwsDelivery) -> Routed<'a, AwsDelivery> {
        Routed {
            default,
            accounts: &self.accounts,
            routes: &self.routes,
        }
    }
}

/// Delivery by route over any destinations: tests and `preview` route without AWS.
pub struct Routed<'a, D> {
    pub default: &'a D,
    /// Account ID -> index in `routes`.
    pub accounts: &'a BTreeMap<String, usize>,
    pub routes: &'a [D],
}

impl<D: Deliver> Routed<'_, D> {
    fn pick(&self, account: Option<&str>) -> &D {
        account
            .and_then(|a| self.accounts.get(a))
            .and_then(|&i| self.routes.get(i))
            .unwrap_or(self.default)
    }
}

impl<D: Deliver> Deliver for Routed<'_, D> {
    /// Every route's destinations: messages are rendered once for all of them.
    fn channels(&self) -> Vec<Channel> {
        let all: BTreeSet<Channel> = std::iter::once(self.default)
            .chain(self.routes.iter())
            .flat_map(|d| d.channels())
            .collect();
        Channel::ALL
            .into_iter()
            .filter(|c| all.contains(c))
            .collect()
    }

    async fn send(
        &self,
        channel: Channel,
        payload: Payload<'_>,
        deadline: Option<Instant>,
    ) -> Result<(), DeliveryError> {
        self.default.send(channel, payload, deadline).await
    }

    fn channels_about(&self, account: Option<&str>) -> Vec<Channel> {
        self.pick(account).channels()
    }

    async fn send_about(
        &self,
        account: Option<&str>,
        channel: Channel,
        payload: Payload<'_>,
        deadline: Option<Instant>,
    ) -> Result<(), DeliveryError> {
        self.pick(account).send(channel, payload, deadline).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_takes_its_route_and_any_other_the_default() {
        let table = RouteTable {
            accounts: BTreeMap::from([
                ("111111111111".into(), "payments".into()),
                ("222222222222".into(), "gone".into()),
            ]),
            routes: BTreeMap::from([("payments".into(), Destinations::default())]),
        };
        assert_eq!(table.route_of(Some("111111111111")), Some("payments"));
        // A route the table does not describe, an unknown account and no account: the default, never nowhere.
        assert_eq!(table.route_of(Some("222222222222")), None);
        assert_eq!(table.route_of(Some("333333333333")), None);
        assert_eq!(table.route_of(None), None);
        assert_eq!(RouteTable::from_json(&table.to_json()), Some(table));
        assert_eq!(RouteTable::from_json("{not json"), None);
    }
}

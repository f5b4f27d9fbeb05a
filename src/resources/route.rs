//! `[[route]]`: each route's own destinations (an SNS topic with its email subscriptions, a SecureString per
//! webhook), built from the topic and parameter kinds, one instance per route; and the state table's
//! `config#routes` item, which tells the function which route each account takes (units resolved to their
//! accounts here, at plan time) and where each route's destinations are.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::try_join_all;
use login_alert_handler::route::{Destinations, ROUTES_ATTRIBUTE, ROUTES_KEY, RouteTable};
use serde::{Deserialize, Serialize};

use super::parameter::{self, Webhook};
use super::policies::topic_access;
use super::state_table::PARTITION_KEY;
use super::topic::{self, Topic};
use crate::aws::SdkResultExt;
use crate::model::{Ctx, Facts, RouteTarget, Target};
use crate::names::WebhookKind;
use crate::organization;
use crate::part::{Kind, Part};
use crate::plan::{Attr, Change, Plan};
use crate::policy::Grant;

const ITEM: &str = "DynamoDB item";

/// What one route's resources are, as read.
#[derive(Debug, Default, Serialize)]
pub struct RouteSeen {
    pub topic: Option<topic::Current>,
    /// In the order of `WebhookKind::ALL`.
    pub parameters: Vec<Option<parameter::Current>>,
}

/// Every route's resources (the configured routes and those the last apply recorded), the routes item, and the
/// accounts below each configured unit.
#[derive(Debug, Default, Serialize)]
pub struct Seen {
    pub routes: BTreeMap<String, RouteSeen>,
    /// `None`: no item (or no table yet).
    pub table: Option<RouteTable>,
    /// Unit -> the accounts below it, at any depth; `None`: the organization has no such unit.
    pub units: BTreeMap<String, Option<Vec<String>>>,
}

/// What `apply` does to the routes item; the topics' and parameters' operations are their kinds' own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum TableOp {
    Write { table: String, routes: RouteTable },
}

/// One operation on a route: its topic's, a parameter's, or the routes item's.
#[derive(Debug, Clone, PartialEq, derive_more::From)]
pub enum Op {
    Topic(topic::Op),
    Parameter(parameter::Op),
    Table(TableOp),
}

/// Every `[[route]]`: a set of instances of the topic and parameter kinds, named from each route's name.
pub struct Routes;

fn topic_desired(t: &Target, route: &str, emails: &[String]) -> topic::Desired {
    let name = t.names.route_topic(route);
    let arn = t.arns.topic(&name);
    topic::Desired {
        policy: topic_access(t.account_id(), &arn),
        arn,
        name,
        emails: emails.to_vec(),
    }
}

fn parameter_desired(t: &Target, route: &RouteTarget, kind: WebhookKind) -> parameter::Desired {
    parameter::Desired {
        kind,
        name: t.names.route_parameter(&route.name, kind),
        value: route.webhook_url(kind).cloned(),
    }
}

/// The routes item `t` wants, from the units as read. An account listed by ID takes its route; an account below
/// the units of several routes takes the first of them in the config (with a notice from `plan_apply`).
pub fn desired_table(t: &Target, units: &BTreeMap<String, Option<Vec<String>>>) -> RouteTable {
    let mut table = RouteTable::default();
    for route in &t.routes {
        for account in &route.accounts {
            table.accounts.insert(account.clone(), route.name.clone());
        }
    }
    for route in &t.routes {
        for unit in &route.units {
            for account in units.get(unit).cloned().flatten().unwrap_or_default() {
                table
                    .accounts
                    .entry(account)
                    .or_insert_with(|| route.name.clone());
            }
        }
        let parameter = |kind| route.parameter(&t.names, kind);
        table.routes.insert(
            route.name.clone(),
            Destinations {
                topic_arn: route.topic(&t.names).map(|name| t.arns.topic(&name)),
                slack_parameter: parameter(WebhookKind::Slack),
                teams_parameter: parameter(WebhookKind::Teams),
                webhook_parameter: parameter(WebhookKind::Json),
            },
        );
    }
    table
}

/// What differs between two route tables, account by account and route by route.
fn table_diff(before: &RouteTable, after: &RouteTable) -> Vec<Attr> {
    fn diff<V: Serialize + PartialEq>(
        prefix: &str,
        before: &BTreeMap<String, V>,
        after: &BTreeMap<String, V>,
    ) -> Vec<Attr> {
        let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
        keys.into_iter()
            .filter(|k| before.get(*k) != after.get(*k))
            .map(|k| {
                let value = |v: Option<&V>| v.map(|v| serde_json::to_value(v).unwrap_or_default());
                Attr::new(
                    &format!("{prefix}.{k}"),
                    value(before.get(k)),
                    value(after.get(k)),
                )
            })
            .collect()
    }
    let mut attrs = diff("routes", &before.routes, &after.routes);
    attrs.extend(diff("accounts", &before.accounts, &after.accounts));
    attrs
}

/// What the plan says of each route: its accounts and units, and where their alerts go.
fn notices(t: &Target, units: &BTreeMap<String, Option<Vec<String>>>, plan: &mut Plan<Op>) {
    if t.routes.is_empty() {
        return;
    }
    for route in &t.routes {
        let mut who: Vec<String> = Vec::new();
        if !route.accounts.is_empty() {
            who.push(format!("accounts {}", route.accounts.join(", ")));
        }
        for unit in &route.units {
            match units.get(unit).cloned().flatten() {
                Some(accounts) => {
                    who.push(format!("unit {unit} ({} accounts now)", accounts.len()))
                }
                None => who.push(format!("unit {unit}")),
            }
        }
        plan.notice(format!(
            "route {}: {} -> {}",
            route.name,
            who.join(", "),
            route.destinations()
        ));
    }
    plan.notice(
        "route default ([notify]): every other account, tamper alerts, the test record and the alarms. An account that \
         joins a routed unit after this apply takes the default route until the next apply (plan shows it)",
    );
}

impl Part for Routes {
    const NAME: &'static str = "the routes";
    type Current = Seen;
    type Op = Op;

    async fn read(&self, ctx: &Ctx, _: &Facts) -> Result<Seen> {
        let t = &ctx.target;
        let (table, units) = tokio::try_join!(read_table(ctx), read_units(ctx))?;
        let mut names: BTreeSet<String> = t.routes.iter().map(|r| r.name.clone()).collect();
        names.extend(table.iter().flat_map(|table| table.routes.keys().cloned()));
        let routes = try_join_all(names.into_iter().map(|name| async move {
            let topic_name = t.names.route_topic(&name);
            let parameter_names: Vec<String> = WebhookKind::ALL
                .into_iter()
                .map(|kind| t.names.route_parameter(&name, kind))
                .collect();
            let (topic, parameters) = tokio::try_join!(
                <Topic as Kind>::read(ctx, &topic_name),
                try_join_all(
                    parameter_names
                        .iter()
                        .map(|parameter| <Webhook as Kind>::read(ctx, parameter))
                ),
            )?;
            anyhow::Ok((name, RouteSeen { topic, parameters }))
        }))
        .await?;
        Ok(Seen {
            routes: routes.into_iter().collect(),
            table,
            units,
        })
    }

    fn permissions(&self, t: &Target) -> Vec<Grant> {
        if t.routes.is_empty() {
            return Vec::new();
        }
        // The topic and parameter kinds' own grants, on the route topics' names; the routes item is in the state
        // table, whose grant already has GetItem and PutItem; the units' reads are the organization's.
        let mut grants = <Topic as Kind>::permissions(t, &t.names.route_topics(), true);
        grants.extend(<Webhook as Kind>::permissions(t, "", true));
        grants.push(Grant::new(
            "StateTable",
            ["dynamodb:GetItem", "dynamodb:PutItem"],
            [t.arns.table(&t.names.state_table())],
        ));
        if t.routes.iter().any(|r| !r.units.is_empty()) {
            grants.extend(organization::permissions());
        }
        grants
    }

    fn plan_apply(&self, current: &Seen, t: &Target, _: &Facts, plan: &mut Plan<Op>) {
        let none = RouteSeen::default();
        for route in &t.routes {
            let seen = current.routes.get(&route.name).unwrap_or(&none);
            topic::plan_apply(
                seen.topic.as_ref(),
                &topic_desired(t, &route.name, &route.emails),
                plan,
            );
            for (i, kind) in WebhookKind::ALL.into_iter().enumerate() {
                let found = seen.parameters.get(i).and_then(Option::as_ref);
                parameter::plan_apply(found, &parameter_desired(t, route, kind), plan);
            }
            for unit in &route.units {
                if current.units.get(unit).is_some_and(Option::is_none) {
                    plan.block(format!(
                        "route {}: unit {unit} does not exist in the organization: correct the ID (`aws organizations \
                         list-organizational-units-for-parent --parent-id ROOT`) or remove it from the route",
                        route.name
                    ));
                }
            }
        }
        // A route no longer configured: what login-alert made for it goes.
        for (name, seen) in &current.routes {
            if !t.routes.iter().any(|r| &r.name == name) {
                remove(seen, plan);
            }
        }
        let wanted = desired_table(t, &current.units);
        let before = current.table.clone().unwrap_or_default();
        if wanted != before {
            let name = format!("{} {ROUTES_KEY}", t.names.state_table());
            let op = Op::Table(TableOp::Write {
                table: t.names.state_table(),
                routes: wanted.clone(),
            });
            let change = match current.table {
                None => Change::create(ITEM, name, op),
                Some(_) => Change::update(ITEM, name, op),
            };
            plan.push(Some(change.attrs(table_diff(&before, &wanted)).note(
                "which route each account's alerts take (units resolved to their accounts now)",
            )));
        }
        notices(t, &current.units, plan);
    }

    fn plan_destroy(&self, current: &Seen, _: &Target, _: &Facts, plan: &mut Plan<Op>) {
        // The routes item goes with the state table.
        for seen in current.routes.values() {
            remove(seen, plan);
        }
    }
}

/// Removes a route's topic and parameters, if they are login-alert's.
fn remove(seen: &RouteSeen, plan: &mut Plan<Op>) {
    topic::plan_destroy(seen.topic.as_ref(), plan);
    for found in &seen.parameters {
        parameter::plan_destroy(found.as_ref(), plan);
    }
}

/// The routes item, if the state table and the item exist.
async fn read_table(ctx: &Ctx) -> Result<Option<RouteTable>> {
    let table = ctx.target.names.state_table();
    let out = ctx
        .clients
        .dynamodb
        .get_item()
        .table_name(&table)
        .key(PARTITION_KEY, AttributeValue::S(ROUTES_KEY.into()))
        .consistent_read(true)
        .send()
        .await
        .found(&["ResourceNotFoundException"])
        .with_context(|| format!("reading the routes ({ROUTES_KEY}) in DynamoDB table {table}"))?;
    Ok(out.and_then(|out| out.item).map(|item| {
        item.get(ROUTES_ATTRIBUTE)
            .and_then(|v| v.as_s().ok())
            .and_then(|text| RouteTable::from_json(text))
            // An item the function cannot read is rewritten.
            .unwrap_or_default()
    }))
}

/// Every configured unit's accounts (organization coverage only: the config refuses units without it).
async fn read_units(ctx: &Ctx) -> Result<BTreeMap<String, Option<Vec<String>>>> {
    let t = &ctx.target;
    let units: BTreeSet<&String> = t.routes.iter().flat_map(|r| &r.units).collect();
    if units.is_empty() || !t.organization_wide() {
        return Ok(BTreeMap::new());
    }
    let organizations = &ctx.clients.organizations;
    let found = try_join_all(units.into_iter().map(|unit| async move {
        if !organization::unit_exists(organizations, unit).await? {
            return anyhow::Ok((unit.clone(), None));
        }
        // Every account below it, the management account included (its alerts are routed like any other's).
        let accounts = crate::org_tree::walk(organizations, unit).await?;
        Ok((
            unit.clone(),
            Some(accounts.into_iter().map(|p| p.account.id).collect()),
        ))
    }))
    .await?;
    Ok(found.into_iter().collect())
}

pub async fn execute(ctx: &Ctx, op: &TableOp) -> Result<()> {
    match op {
        TableOp::Write { table, routes } => {
            ctx.clients
                .dynamodb
                .put_item()
                .table_name(table)
                .item(PARTITION_KEY, AttributeValue::S(ROUTES_KEY.into()))
                .item(ROUTES_ATTRIBUTE, AttributeValue::S(routes.to_json()))
                .send()
                .await
                .explained()
                .with_context(|| {
                    format!("writing the routes ({ROUTES_KEY}) in DynamoDB table {table}")
                })?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{NotifyConfig, RouteConfig};
    use crate::plan::Action;
    use crate::testing::{self, REGION, notifying};

    fn routed() -> Target {
        let mut config = notifying(REGION, &["secops@example.com"], false);
        config.coverage = crate::config::Coverage::Organization;
        config.routes = vec![
            RouteConfig {
                name: "payments".into(),
                accounts: vec!["111111111111".into()],
                units: vec!["ou-ab12-34cd56ef".into()],
                notify: NotifyConfig {
                    emails: vec!["pay@example.com".into()],
                    slack_webhook_url: Some("https://hooks.slack.com/services/T0/B0/SECRET".into()),
                    ..NotifyConfig::default()
                },
            },
            RouteConfig {
                name: "data".into(),
                accounts: vec!["222222222222".into()],
                units: vec![],
                notify: NotifyConfig {
                    webhook_url: Some("https://alerts.example.com/SECRET".into()),
                    ..NotifyConfig::default()
                },
            },
        ];
        testing::target(&config)
    }

    fn units() -> BTreeMap<String, Option<Vec<String>>> {
        // 222222222222 is below the unit too, but listed by ID in `data`: the ID wins.
        BTreeMap::from([(
            "ou-ab12-34cd56ef".into(),
            Some(vec!["333333333333".into(), "222222222222".into()]),
        )])
    }

    fn planned(seen: &Seen, t: &Target) -> Plan<Op> {
        let mut plan = testing::test_plan(crate::plan::Mode::Apply);
        Routes.plan_apply(seen, t, &Facts::new(t), &mut plan);
        plan
    }

    #[test]
    fn a_new_route_gets_its_topic_subscriptions_parameters_and_the_item() {
        let t = routed();
        let seen = Seen {
            units: units(),
            ..Seen::default()
        };
        let plan = planned(&seen, &t);
        let made: Vec<(Action, &str, &str)> = plan
            .changes
            .iter()
            .map(|c| (c.action, c.kind.as_str(), c.name.as_str()))
            .collect();
        assert_eq!(
            made,
            [
                (Action::Create, "SNS topic", "login-alert-route-payments"),
                (Action::Create, "email subscription", "pay@example.com"),
                (
                    Action::Create,
                    "SSM parameter",
                    "/login-alert/route/payments/slack-webhook-url"
                ),
                (
                    Action::Create,
                    "SSM parameter",
                    "/login-alert/route/data/webhook-url"
                ),
                (Action::Create, ITEM, "login-alert-state config#routes"),
            ]
        );
        let Op::Table(TableOp::Write { routes, .. }) = &plan.changes[4].op else {
            panic!("{:?}", plan.changes[4].op)
        };
        assert_eq!(
            routes.accounts,
            BTreeMap::from([
                ("111111111111".into(), "payments".into()),
                ("222222222222".into(), "data".into()),
                ("333333333333".into(), "payments".into()),
            ])
        );
        let payments = &routes.routes["payments"];
        assert_eq!(
            payments.topic_arn.clone(),
            Some(format!(
                "arn:aws:sns:{REGION}:123456789012:login-alert-route-payments"
            ))
        );
        assert_eq!(
            payments.slack_parameter.as_deref(),
            Some("/login-alert/route/payments/slack-webhook-url")
        );
        assert_eq!(routes.routes["data"].topic_arn, None);
        // The plan shows each route and where it goes, never a webhook URL.
        let text = plan.notices.join("\n");
        assert!(
            text.contains(
                "route payments: accounts 111111111111, unit ou-ab12-34cd56ef (2 accounts now) -> pay@example.com, Slack (sensitive)"
            ),
            "{text}"
        );
        assert!(
            text.contains("route data: accounts 222222222222 -> JSON webhook (sensitive)"),
            "{text}"
        );
        assert!(
            text.contains("route default ([notify]): every other account"),
            "{text}"
        );
        assert!(!format!("{plan:?}").contains("SECRET"));
    }

    #[test]
    fn a_missing_unit_blocks_and_a_removed_route_goes() {
        let t = routed();
        let seen = Seen {
            units: BTreeMap::from([("ou-ab12-34cd56ef".into(), None)]),
            routes: BTreeMap::from([(
                "old".into(),
                RouteSeen {
                    topic: Some(topic::Current {
                        name: "login-alert-route-old".into(),
                        arn: format!("arn:aws:sns:{REGION}:123456789012:login-alert-route-old"),
                        managed: true,
                        policy: None,
                        subscriptions: vec![],
                    }),
                    parameters: vec![None, None, None],
                },
            )]),
            table: Some(RouteTable {
                accounts: BTreeMap::from([("444444444444".into(), "old".into())]),
                routes: BTreeMap::from([("old".into(), Destinations::default())]),
            }),
        };
        let plan = planned(&seen, &t);
        assert!(
            plan.blockers.iter().any(|b| b.contains(
                "route payments: unit ou-ab12-34cd56ef does not exist in the organization: correct the ID"
            )),
            "{:?}",
            plan.blockers
        );
        assert!(plan.changes.iter().any(|c| c.action == Action::Delete
            && c.kind == "SNS topic"
            && c.name == "login-alert-route-old"));
        let item = plan.changes.iter().find(|c| c.kind == ITEM).unwrap();
        assert_eq!(item.action, Action::Update);
        let attrs: Vec<&str> = item.attrs.iter().map(|a| a.name.as_str()).collect();
        assert!(attrs.contains(&"accounts.444444444444"), "{attrs:?}");
        assert!(attrs.contains(&"routes.old"), "{attrs:?}");
    }

    #[test]
    fn routes_as_built_need_nothing_and_no_route_needs_no_item() {
        let t = routed();
        let wanted = desired_table(&t, &units());
        let seen = Seen {
            units: units(),
            table: Some(wanted),
            ..Seen::default()
        };
        // Only the resources themselves (read as missing here) are planned: the item matches.
        assert!(!planned(&seen, &t).changes.iter().any(|c| c.kind == ITEM));
        let plain = testing::target(&notifying(REGION, &["secops@example.com"], false));
        let plan = planned(&Seen::default(), &plain);
        assert!(
            plan.changes.is_empty() && plan.notices.is_empty(),
            "{plan:?}"
        );
        assert!(Routes.permissions(&plain).is_empty());
        let grants = format!("{:?}", Routes.permissions(&t));
        assert!(grants.contains("login-alert-route-*"), "{grants}");
    }
}

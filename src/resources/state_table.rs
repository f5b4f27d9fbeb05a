//! The DynamoDB table of the handler's state (on demand, key `pk`, TTL on `expires_at`) and the
//! account-names item the CLI writes in it: the config's names over those AWS Organizations gives.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, Tag, TimeToLiveSpecification, TimeToLiveStatus,
};
use login_alert_handler::store::ACCOUNT_NAMES_KEY;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::{SdkResultExt, error_code, explain};
use crate::check::{Check, Link};
use crate::config::{MAX_NAMES_ITEM_BYTES, names_item_bytes};
use crate::model::{Ctx, Facts, Target};
use crate::names::MANAGED_BY;
use crate::part::Part;
use crate::plan::lifecycle::{Owned, not_ours, owned_when_managed};
use crate::plan::{Action, Attr, Change, Plan};
use crate::policy::Grant;
use crate::tags;

const KIND: &str = "DynamoDB table";
const ITEM_KIND: &str = "DynamoDB item";
/// The handler's key attribute (handler/src/dynamo.rs).
pub const PARTITION_KEY: &str = "pk";
/// The attribute DynamoDB's TTL deletes items by (epoch seconds, handler/src/dynamo.rs).
pub const TTL_ATTRIBUTE: &str = "expires_at";
/// The account-names item's map attribute (handler/src/dynamo.rs).
pub const NAMES_ATTRIBUTE: &str = "names";
pub const BILLING_MODE: &str = "PAY_PER_REQUEST";
const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
/// A table becomes ACTIVE within seconds; the bound covers a slow region.
const ACTIVE_WAIT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Current {
    pub name: String,
    pub arn: String,
    /// `PAY_PER_REQUEST` or `PROVISIONED` (a table created before billing modes says none: provisioned).
    pub billing_mode: String,
    /// The key schema as `name:HASH:S` entries, in the table's order.
    pub key_schema: Vec<String>,
    /// The attribute TTL deletes by, while TTL is enabled (or being enabled).
    pub ttl_attribute: Option<String>,
    /// A TTL change is still in progress (`ENABLING` or `DISABLING`): DynamoDB takes no other
    /// TTL change on the table until it is done, which can take up to an hour.
    pub ttl_changing: bool,
    pub managed: bool,
    /// The `config#account-names` item's names (`None`: no item, or the table's key is not ours to read by).
    pub account_names: Option<BTreeMap<String, String>>,
}

/// The names of the organization's accounts, read when the adopted trail is an organization trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Members {
    /// Not an organization trail: only the config names accounts.
    NotRead,
    Named(BTreeMap<String, String>),
    /// Organizations refused (this account is neither the management account nor a delegated
    /// administrator, or the credentials lack `organizations:ListAccounts`): why.
    Unreadable(String),
}

/// What the state-table part reads: the table (with its names item) and the organization's names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Seen {
    pub table: Option<Current>,
    pub members: Members,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub name: String,
    /// Empty: no account names to write (an item already there is emptied).
    pub account_names: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// Create on demand, keyed by `pk`, tagged; wait until active; enable TTL.
    Create {
        name: String,
    },
    /// Put back on-demand billing.
    SetOnDemand {
        name: String,
    },
    /// Enable TTL on `expires_at`.
    EnableTtl {
        name: String,
    },
    /// Disable TTL on `attribute`, the attribute it is on: the first of two steps to `expires_at`,
    /// since DynamoDB allows one TTL change per table per hour (the enable is a later apply's).
    DisableTtl {
        name: String,
        attribute: String,
    },
    /// The key cannot change in place: delete, wait until gone, create again (the state is short-lived).
    Replace {
        name: String,
    },
    /// Write the `config#account-names` item.
    WriteAccountNames {
        table: String,
        names: BTreeMap<String, String>,
    },
    Delete {
        name: String,
    },
}

/// The state table.
pub struct StateTable;

impl Part for StateTable {
    const NAME: &'static str = "the state table";
    type Current = Seen;
    type Op = Op;
    /// Whether the adopted trail is an organization trail decides whether Organizations is asked.
    const NEEDS_FACTS: bool = true;

    fn permissions(&self, t: &Target) -> Vec<Grant> {
        let mut grants = vec![Grant::new(
            "StateTable",
            [
                "dynamodb:DescribeTable",
                "dynamodb:DescribeTimeToLive",
                "dynamodb:ListTagsOfResource",
                "dynamodb:GetItem",
                // CreateTable with tags needs dynamodb:TagResource as well.
                "dynamodb:CreateTable",
                "dynamodb:TagResource",
                "dynamodb:UpdateTable",
                "dynamodb:UpdateTimeToLive",
                "dynamodb:PutItem",
                "dynamodb:DeleteTable",
            ],
            [t.arns.table(&t.names.state_table())],
        )];
        // Only an adopted trail can be an organization trail; ListAccounts supports no resource type.
        // (`login-alert policy` plans for a created trail, so its documents leave this out: they are
        // within 20 characters of a customer managed policy's 6,144.)
        if matches!(t.trail, crate::model::TrailChoice::Adopt(_)) {
            grants.push(Grant::anywhere(["organizations:ListAccounts"]));
        }
        grants
    }

    async fn read(&self, ctx: &Ctx, facts: &Facts) -> Result<Seen> {
        let name = ctx.target.names.state_table();
        let (table, members) = tokio::join!(read(ctx, &name), read_members(ctx, facts));
        Ok(Seen {
            table: table?,
            members: members?,
        })
    }

    fn plan_apply(&self, current: &Seen, t: &Target, _: &Facts, plan: &mut Plan<Op>) {
        let members = match &current.members {
            Members::Named(names) => names.clone(),
            Members::NotRead => BTreeMap::new(),
            Members::Unreadable(why) => {
                plan.notice(format!(
                    "the member accounts' names were not read from AWS Organizations ({why}): alerts name them by `[account_names]` or their ID. \
                     Run login-alert in the management account with organizations:ListAccounts to store them"
                ));
                BTreeMap::new()
            }
        };
        let members = within_item(members, &t.state_account_names(), plan);
        plan_apply(current.table.as_ref(), &desired_with(t, members), plan);
    }

    fn plan_destroy(&self, current: &Seen, _: &Target, _: &Facts, plan: &mut Plan<Op>) {
        plan_destroy(current.table.as_ref(), plan);
    }

    async fn checks(&self, ctx: &Ctx, current: &Seen, _: &Facts) -> Result<Vec<Check>> {
        Ok(vec![check(
            current.table.as_ref(),
            &ctx.target.names.state_table(),
        )])
    }
}

/// What `status` says of the table: alerts arrive without it, but ungrouped and perhaps twice.
pub fn check(current: Option<&Current>, name: &str) -> Check {
    const NAME: &str = "state table";
    const WITHOUT: &str = "the function runs without its state: alerts are not grouped (each sign-in alerts on its own, \
         no digest) and an event delivered twice alerts twice";
    let problem = match current {
        None => format!("DynamoDB table {name} does not exist: {WITHOUT}"),
        Some(c) if !c.ours() => format!("{}: {WITHOUT}", not_ours(KIND, name)),
        Some(c) if c.key_schema != wanted_key_schema() => format!(
            "DynamoDB table {name} is keyed by {}, not {}: {WITHOUT}",
            c.key_schema.join(", "),
            wanted_key_schema().join(", ")
        ),
        Some(_) => {
            return Check::ok(
                Link::Function,
                NAME,
                format!("DynamoDB table {name} holds the alert state (grouping, exactly-once)"),
            );
        }
    };
    Check::warning(
        Link::Function,
        NAME,
        problem,
        "run `login-alert apply` to put it back (see `login-alert plan` first)",
    )
}

/// The organization's names that fit in the item beside the config's (which always fit: the
/// config refuses more), in account-ID order; the plan says how many did not.
fn within_item(
    members: BTreeMap<String, String>,
    configured: &BTreeMap<String, String>,
    plan: &mut Plan<Op>,
) -> BTreeMap<String, String> {
    let mut used = names_item_bytes(
        configured
            .iter()
            .map(|(id, name)| (id.as_str(), name.as_str())),
    );
    let total = members.len();
    let named_by_config = members
        .keys()
        .filter(|id| configured.contains_key(*id))
        .count();
    let kept: BTreeMap<String, String> = members
        .into_iter()
        .filter(|(id, _)| !configured.contains_key(id))
        .take_while(|(id, name)| {
            used += names_item_bytes([(id.as_str(), name.as_str())]) - names_item_bytes([]);
            used <= MAX_NAMES_ITEM_BYTES
        })
        .collect();
    let left = total - named_by_config - kept.len();
    if left > 0 {
        plan.notice(format!(
            "{left} of the organization's {total} account names do not fit in the account-names item (DynamoDB stores \
             {} KB in one item): alerts show those accounts by ID unless `[account_names]` names them",
            MAX_NAMES_ITEM_BYTES / 1024
        ));
    }
    kept
}

pub fn desired(t: &Target) -> Desired {
    desired_with(t, BTreeMap::new())
}

/// The table, its names item holding `members` (from Organizations) with the config's names over them.
pub fn desired_with(t: &Target, mut members: BTreeMap<String, String>) -> Desired {
    members.extend(t.state_account_names());
    Desired {
        name: t.names.state_table(),
        account_names: members,
    }
}

/// Every account of the organization and its name, when the adopted trail is an organization trail.
pub async fn read_members(ctx: &Ctx, facts: &Facts) -> Result<Members> {
    if !facts.organization_trail {
        return Ok(Members::NotRead);
    }
    // With organization coverage the organization's tree is walked anyway (the StackSet's coverage):
    // its accounts are the same, and the walk's requests in a row do not grow with the whole
    // organization's size as ListAccounts' pages of 20 do.
    if let Some(root) = facts.organization.as_ref().and_then(|o| o.root.as_deref()) {
        let placed = ctx
            .organization_accounts(root)
            .await
            .context("listing the organization's accounts")?;
        return Ok(Members::Named(
            placed
                .iter()
                .map(|p| (p.account.id.clone(), p.account.name.clone()))
                .collect(),
        ));
    }
    let mut names = BTreeMap::new();
    let mut pages = ctx
        .clients
        .organizations
        .list_accounts()
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => names.extend(page.accounts().iter().filter_map(|account| {
                Some((account.id()?.to_owned(), account.name()?.to_owned()))
            })),
            Err(err)
                if matches!(
                    error_code(&err),
                    Some("AccessDeniedException" | "AWSOrganizationsNotInUseException")
                ) =>
            {
                return Ok(Members::Unreadable(explain(err).to_string()));
            }
            Err(err) => {
                return Err(explain(err)).context("listing the organization's accounts");
            }
        }
    }
    Ok(Members::Named(names))
}

/// The key schema login-alert's table has.
fn wanted_key_schema() -> Vec<String> {
    vec![format!("{PARTITION_KEY}:HASH:S")]
}

/// The table, then its tags, TTL and the account-names item at the same time.
pub async fn read(ctx: &Ctx, name: &str) -> Result<Option<Current>> {
    let db = &ctx.clients.dynamodb;
    let Some(described) = db
        .describe_table()
        .table_name(name)
        .send()
        .await
        .found_doing(NOT_FOUND, || format!("reading DynamoDB table {name}"))?
    else {
        return Ok(None);
    };
    let Some(table) = described.table else {
        return Ok(None);
    };
    let arn = table
        .table_arn
        .clone()
        .unwrap_or_else(|| ctx.target.arns.table(name));
    let types: HashMap<&str, &str> = table
        .attribute_definitions()
        .iter()
        .map(|d| (d.attribute_name(), d.attribute_type().as_str()))
        .collect();
    let key_schema: Vec<String> = table
        .key_schema()
        .iter()
        .map(|k| {
            format!(
                "{}:{}:{}",
                k.attribute_name(),
                k.key_type().as_str(),
                types.get(k.attribute_name()).copied().unwrap_or("?")
            )
        })
        .collect();
    let billing_mode = table
        .billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .map_or("PROVISIONED", |m| m.as_str())
        .to_owned();
    let keyed_as_ours = key_schema == wanted_key_schema();
    let (tags, ttl, item) = tokio::join!(
        db.list_tags_of_resource().resource_arn(&arn).send(),
        db.describe_time_to_live().table_name(name).send(),
        async {
            if !keyed_as_ours {
                return Ok(None);
            }
            db.get_item()
                .table_name(name)
                .key(PARTITION_KEY, AttributeValue::S(ACCOUNT_NAMES_KEY.into()))
                .consistent_read(true)
                .send()
                .await
                .found(NOT_FOUND)
        },
    );
    let Some(tags) = tags.found_doing(NOT_FOUND, || {
        format!("reading the tags of DynamoDB table {name}")
    })?
    else {
        return Ok(None);
    };
    let Some(ttl) = ttl.found_doing(NOT_FOUND, || {
        format!("reading the TTL of DynamoDB table {name}")
    })?
    else {
        return Ok(None);
    };
    let item = item.with_context(|| {
        format!("reading the account names ({ACCOUNT_NAMES_KEY}) in DynamoDB table {name}")
    })?;
    let description = ttl.time_to_live_description;
    let status = description
        .as_ref()
        .and_then(|d| d.time_to_live_status.clone());
    let ttl_changing = matches!(
        status,
        Some(TimeToLiveStatus::Enabling | TimeToLiveStatus::Disabling)
    );
    let ttl_attribute = description.and_then(|d| {
        matches!(
            status,
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        )
        .then_some(d.attribute_name)
        .flatten()
    });
    let account_names = item
        .and_then(|out| out.item)
        .map(|item| match item.get(NAMES_ATTRIBUTE) {
            Some(AttributeValue::M(names)) => names
                .iter()
                .filter_map(|(id, name)| Some((id.clone(), name.as_s().ok()?.clone())))
                .collect(),
            _ => BTreeMap::new(),
        });
    Ok(Some(Current {
        name: name.to_owned(),
        arn,
        billing_mode,
        key_schema,
        ttl_attribute,
        ttl_changing,
        managed: tags::ours_among(tags.tags.unwrap_or_default(), |t| (t.key, t.value)),
        account_names,
    }))
}

/// One attribute per account whose name is added, changed or removed.
fn names_diff(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<Attr> {
    let ids: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    ids.into_iter()
        .filter(|id| before.get(*id) != after.get(*id))
        .map(|id| {
            Attr::new(
                &format!("{NAMES_ATTRIBUTE}.{id}"),
                before.get(id).cloned().map(Value::String),
                after.get(id).cloned().map(Value::String),
            )
        })
        .collect()
}

pub fn plan_apply(current: Option<&Current>, desired: &Desired, plan: &mut Plan<impl From<Op>>) {
    let name = &desired.name;
    // The account-names item once the table change (if any) is applied: `None` when there is none.
    let item = match current {
        None => {
            plan.push(Some(
                Change::create(KIND, name, Op::Create { name: name.clone() })
                    .attr(Attr::set("billing_mode", BILLING_MODE))
                    .attr(Attr::set("partition_key", format!("{PARTITION_KEY} (S)")))
                    .attr(Attr::set("time_to_live_attribute", TTL_ATTRIBUTE))
                    .note("the function's alert state: groups, sent messages, account names; items expire by TTL"),
            ));
            None
        }
        Some(c) if !c.ours() => return plan.refuse_foreign(KIND, name),
        Some(c) if c.key_schema != wanted_key_schema() => {
            plan.push(Some(
                Change::new(KIND, name, Action::Replace, Op::Replace { name: name.clone() })
                    .attr(Attr::change(
                        "key_schema",
                        c.key_schema.join(", "),
                        wanted_key_schema().join(", "),
                    ))
                    .note("a table's key cannot change in place: the short-lived alert state is lost, so the next alerts are not grouped with earlier ones"),
            ));
            None
        }
        Some(c) => {
            if c.billing_mode != BILLING_MODE {
                plan.push(Some(
                    Change::update(KIND, name, Op::SetOnDemand { name: name.clone() }).attr(
                        Attr::change("billing_mode", c.billing_mode.clone(), BILLING_MODE),
                    ),
                ));
            }
            // ENABLING on `expires_at` is as good as done: nothing to write.
            if c.ttl_attribute.as_deref() != Some(TTL_ATTRIBUTE) {
                plan_ttl(c, plan);
            }
            c.account_names.clone()
        }
    };
    let bytes = names_item_bytes(
        desired
            .account_names
            .iter()
            .map(|(id, name)| (id.as_str(), name.as_str())),
    );
    if bytes > MAX_NAMES_ITEM_BYTES {
        // The config refuses this many names before any call; this guards any other way in.
        plan.block(format!(
            "the account names take {} KB, more than the {} KB DynamoDB stores in one item: shorten `[account_names]`",
            bytes.div_ceil(1024),
            MAX_NAMES_ITEM_BYTES / 1024
        ));
        return;
    }
    let before = item.clone().unwrap_or_default();
    if before != desired.account_names {
        plan.push(Some(
            Change::new(
                ITEM_KIND,
                format!("{name} {ACCOUNT_NAMES_KEY}"),
                if item.is_some() { Action::Update } else { Action::Create },
                Op::WriteAccountNames {
                    table: name.clone(),
                    names: desired.account_names.clone(),
                },
            )
            .attrs(names_diff(&before, &desired.account_names))
            .note("the account names alerts show (`account_name` for this account, `[account_names]` for others)"),
        ));
    }
}

/// TTL onto `expires_at`, one UpdateTimeToLive per apply: DynamoDB allows one TTL change per table
/// per hour (another is a ValidationException), so moving it from another attribute takes two applies.
fn plan_ttl(c: &Current, plan: &mut Plan<impl From<Op>>) {
    let name = &c.name;
    match (&c.ttl_attribute, c.ttl_changing) {
        // ENABLING another attribute, or DISABLING: DynamoDB refuses any change until it is done.
        (_, true) => plan.notice(format!(
            "the TTL of {KIND} {name} is still changing ({}): DynamoDB accepts the next TTL change only when that is done, \
             which can take up to an hour. Run `login-alert apply` again after that to enable TTL on `{TTL_ATTRIBUTE}`",
            match &c.ttl_attribute {
                Some(other) => format!("being enabled on `{other}`"),
                None => "being disabled".to_owned(),
            }
        )),
        (Some(other), false) => plan.push(Some(
            Change::update(KIND, name, Op::DisableTtl {
                    name: name.clone(),
                    attribute: other.clone(),
                },
            )
            .attr(Attr::unset("time_to_live_attribute", other.clone()))
            .note(format!(
                "step 1 of 2: DynamoDB allows one TTL change per table per hour, so this apply disables TTL on `{other}`; \
                 a later `login-alert apply`, once the change is done (up to an hour), enables it on `{TTL_ATTRIBUTE}`"
            )),
        )),
        (None, false) => plan.push(Some(
            Change::update(KIND, name, Op::EnableTtl { name: name.clone() },
            )
            .attr(Attr::set("time_to_live_attribute", TTL_ATTRIBUTE))
            .note("without TTL the alert state is never deleted"),
        )),
    }
}

pub fn plan_destroy(current: Option<&Current>, plan: &mut Plan<impl From<Op>>) {
    plan.remove_ours(current, |current| {
        Change::delete_named(KIND, &current.name, |name| Op::Delete { name })
            .note("with the alert state and the account names in it")
    });
}

owned_when_managed!(Current);

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    match op {
        Op::Create { name } => create(ctx, name).await,
        Op::SetOnDemand { name } => {
            ctx.clients
                .dynamodb
                .update_table()
                .table_name(name)
                .billing_mode(BillingMode::PayPerRequest)
                .send()
                .await
                .doing(|| format!("switching DynamoDB table {name} to on-demand billing"))?;
            wait_active(ctx, name).await
        }
        Op::EnableTtl { name } => set_ttl(ctx, name, TTL_ATTRIBUTE, true).await,
        Op::DisableTtl { name, attribute } => set_ttl(ctx, name, attribute, false).await,
        Op::Replace { name } => {
            delete(ctx, name).await?;
            ctx.clients
                .dynamodb
                .wait_until_table_not_exists()
                .table_name(name)
                .wait(ACTIVE_WAIT)
                .await
                .map_err(|e| anyhow::anyhow!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))
                .with_context(|| format!("waiting for DynamoDB table {name} to be deleted"))?;
            create(ctx, name).await
        }
        Op::WriteAccountNames { table, names } => {
            let map = names
                .iter()
                .map(|(id, name)| (id.clone(), AttributeValue::S(name.clone())))
                .collect();
            ctx.clients
                .dynamodb
                .put_item()
                .table_name(table)
                .item(PARTITION_KEY, AttributeValue::S(ACCOUNT_NAMES_KEY.into()))
                .item(NAMES_ATTRIBUTE, AttributeValue::M(map))
                .send()
                .await
                .doing(|| {
                    format!(
                        "writing the account names ({ACCOUNT_NAMES_KEY}) in DynamoDB table {table}"
                    )
                })?;
            Ok(())
        }
        Op::Delete { name } => delete(ctx, name).await,
    }
}

async fn create(ctx: &Ctx, name: &str) -> Result<()> {
    let db = &ctx.clients.dynamodb;
    let created = db
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(PARTITION_KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(PARTITION_KEY)
                .key_type(KeyType::Hash)
                .build()?,
        )
        .tags(
            Tag::builder()
                .key(MANAGED_BY.0)
                .value(MANAGED_BY.1)
                .build()?,
        )
        .send()
        .await;
    match created {
        Ok(_) => {}
        // Left by an interrupted run: go on to what it did not finish.
        Err(err) if crate::aws::error_code(&err) == Some("ResourceInUseException") => {}
        Err(err) => {
            return Err(crate::aws::explain(err))
                .with_context(|| format!("creating DynamoDB table {name}"));
        }
    }
    // TTL can be set only once the table is active.
    wait_active(ctx, name).await?;
    set_ttl(ctx, name, TTL_ATTRIBUTE, true).await
}

async fn wait_active(ctx: &Ctx, name: &str) -> Result<()> {
    ctx.clients
        .dynamodb
        .wait_until_table_exists()
        .table_name(name)
        .wait(ACTIVE_WAIT)
        .await
        .map_err(|e| anyhow::anyhow!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))
        .with_context(|| {
            format!(
                "DynamoDB table {name} did not become active within {}s: run `login-alert apply` again, which continues from here",
                ACTIVE_WAIT.as_secs()
            )
        })?;
    Ok(())
}

/// DynamoDB's answer to a second TTL change within the hour (or one while the last is in progress).
fn is_ttl_too_soon<E: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> bool {
    error_code(err) == Some("ValidationException")
        && crate::aws::error_message(err).is_some_and(|m| {
            let m = m.to_ascii_lowercase();
            m.contains("time to live") || m.contains("ttl")
        })
}

async fn set_ttl(ctx: &Ctx, name: &str, attribute: &str, enabled: bool) -> Result<()> {
    let doing = if enabled { "enabling" } else { "disabling" };
    let sent = ctx
        .clients
        .dynamodb
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(attribute)
                .enabled(enabled)
                .build()?,
        )
        .send()
        .await;
    match sent {
        Ok(_) => Ok(()),
        Err(err) if is_ttl_too_soon(&err) => bail!(
            "DynamoDB refused {doing} TTL on `{attribute}` of table {name} ({}): it allows one TTL change per table per hour, \
             and the table's TTL was changed less than an hour ago (or the change is still in progress). \
             Wait up to an hour, then run `login-alert apply` again: it goes on from here",
            crate::aws::error_message(&err).unwrap_or("ValidationException")
        ),
        Err(err) => Err(explain(err))
            .with_context(|| format!("{doing} TTL on `{attribute}` of DynamoDB table {name}")),
    }
}

async fn delete(ctx: &Ctx, name: &str) -> Result<()> {
    ctx.clients
        .dynamodb
        .delete_table()
        .table_name(name)
        .send()
        .await
        .gone_doing(NOT_FOUND, || format!("deleting DynamoDB table {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Mode;
    use crate::testing::{first, planned, test_plan};

    const TABLE: &str = "login-alert-state";

    fn names(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(id, name)| (id.to_string(), name.to_string()))
            .collect()
    }

    fn desired(pairs: &[(&str, &str)]) -> Desired {
        Desired {
            name: TABLE.into(),
            account_names: names(pairs),
        }
    }

    fn current() -> Current {
        Current {
            name: TABLE.into(),
            arn: format!("arn:aws:dynamodb:eu-west-1:123456789012:table/{TABLE}"),
            billing_mode: BILLING_MODE.into(),
            key_schema: wanted_key_schema(),
            ttl_attribute: Some(TTL_ATTRIBUTE.into()),
            ttl_changing: false,
            managed: true,
            account_names: Some(names(&[("123456789012", "prod")])),
        }
    }

    fn apply_plan(current: Option<&Current>, desired: &Desired) -> Plan<Op> {
        planned(Mode::Apply, |plan| plan_apply(current, desired, plan))
    }

    #[test]
    fn a_missing_table_is_created_then_the_names_written() {
        let plan = apply_plan(None, &desired(&[("123456789012", "prod")]));
        let ops: Vec<&Op> = plan.changes.iter().map(|c| &c.op).collect();
        assert_eq!(
            ops,
            [
                &Op::Create { name: TABLE.into() },
                &Op::WriteAccountNames {
                    table: TABLE.into(),
                    names: names(&[("123456789012", "prod")])
                }
            ]
        );
        assert_eq!(
            plan.changes[0].attrs,
            [
                Attr::set("billing_mode", "PAY_PER_REQUEST"),
                Attr::set("partition_key", "pk (S)"),
                Attr::set("time_to_live_attribute", "expires_at"),
            ]
        );
        assert_eq!(
            plan.changes[1].attrs,
            [Attr::set("names.123456789012", "prod")]
        );
        // No names at all: a new table needs no item.
        assert_eq!(apply_plan(None, &desired(&[])).changes.len(), 1);
    }

    #[test]
    fn a_matching_table_needs_nothing_and_each_drift_is_put_back() {
        let wanted = desired(&[("123456789012", "prod")]);
        assert!(!apply_plan(Some(&current()), &wanted).has_changes());

        let mut drifted = current();
        drifted.ttl_attribute = None;
        drifted.billing_mode = "PROVISIONED".into();
        drifted.account_names = Some(names(&[("123456789012", "staging"), ("1", "x")]));
        let plan = apply_plan(Some(&drifted), &wanted);
        let ops: Vec<&Op> = plan.changes.iter().map(|c| &c.op).collect();
        assert_eq!(
            ops,
            [
                &Op::SetOnDemand { name: TABLE.into() },
                &Op::EnableTtl { name: TABLE.into() },
                &Op::WriteAccountNames {
                    table: TABLE.into(),
                    names: wanted.account_names.clone()
                },
            ]
        );
        assert!(plan.changes.iter().all(|c| c.action == Action::Update));
        assert_eq!(
            plan.changes[2].attrs,
            [
                Attr::unset("names.1", "x"),
                Attr::change("names.123456789012", "staging", "prod"),
            ]
        );

        // Names removed from the config empty the item; no item and no names is nothing to do.
        let plan = apply_plan(Some(&current()), &desired(&[]));
        assert_eq!(
            plan.changes[0].attrs,
            [Attr::unset("names.123456789012", "prod")]
        );
        let mut empty = current();
        empty.account_names = None;
        assert!(!apply_plan(Some(&empty), &desired(&[])).has_changes());
        assert_eq!(
            apply_plan(Some(&empty), &wanted).changes[0].action,
            Action::Create
        );
    }

    /// DynamoDB allows one UpdateTimeToLive per table per hour: TTL on another attribute moves to
    /// `expires_at` over two applies, and a change still in progress (ENABLING, DISABLING) is waited for.
    #[test]
    fn ttl_moves_to_our_attribute_one_change_per_apply() {
        let wanted = desired(&[("123456789012", "prod")]);
        // Step 1: only the disable, and the plan says the enable follows.
        let mut elsewhere = current();
        elsewhere.ttl_attribute = Some("ttl".into());
        let plan = apply_plan(Some(&elsewhere), &wanted);
        let ttl: Vec<&Op> = plan.changes.iter().map(|c| &c.op).collect();
        assert_eq!(
            ttl,
            [&Op::DisableTtl {
                name: TABLE.into(),
                attribute: "ttl".into()
            }],
            "one TTL change in this apply"
        );
        assert!(
            plan.changes[0].notes[0].contains("step 1 of 2")
                && plan.changes[0].notes[0].contains("up to an hour"),
            "{:?}",
            plan.changes[0].notes
        );
        // Meanwhile, DISABLING: nothing can be changed yet; the plan says to wait.
        let mut disabling = current();
        disabling.ttl_attribute = None;
        disabling.ttl_changing = true;
        let plan = apply_plan(Some(&disabling), &wanted);
        assert!(!plan.has_changes(), "{:?}", plan.changes);
        assert!(
            plan.notices[0].contains("being disabled") && plan.notices[0].contains("up to an hour"),
            "{:?}",
            plan.notices
        );
        assert!(plan.blockers.is_empty(), "the rest of the pipeline goes on");
        // Step 2, once DISABLED: the enable.
        let mut disabled = disabling.clone();
        disabled.ttl_changing = false;
        assert_eq!(
            apply_plan(Some(&disabled), &wanted).changes[0].op,
            Op::EnableTtl { name: TABLE.into() }
        );
        // ENABLING on our attribute is done as far as apply is concerned.
        let mut enabling = current();
        enabling.ttl_changing = true;
        assert!(!apply_plan(Some(&enabling), &wanted).has_changes());
        // ENABLING on another attribute: wait for it as well.
        let mut enabling_other = elsewhere.clone();
        enabling_other.ttl_changing = true;
        let plan = apply_plan(Some(&enabling_other), &wanted);
        assert!(!plan.has_changes());
        assert!(plan.notices[0].contains("being enabled on `ttl`"));
    }

    #[test]
    fn another_key_replaces_the_table_and_rewrites_the_names() {
        let mut keyed = current();
        keyed.key_schema = vec!["id:HASH:S".into()];
        keyed.account_names = None;
        let plan = apply_plan(Some(&keyed), &desired(&[("123456789012", "prod")]));
        first(&plan, Action::Replace);
        assert_eq!(plan.changes[1].action, Action::Create);
    }

    #[test]
    fn status_warns_without_the_table_naming_what_is_off() {
        use crate::check::Status;
        assert_eq!(check(Some(&current()), TABLE).status, Status::Ok);
        let missing = check(None, TABLE);
        assert_eq!(missing.status, Status::Warning);
        assert!(
            missing
                .detail
                .contains("DynamoDB table login-alert-state does not exist")
                && missing.detail.contains("alerts are not grouped")
                && missing.detail.contains("alerts twice"),
            "{}",
            missing.detail
        );
        let mut theirs = current();
        theirs.managed = false;
        assert_eq!(check(Some(&theirs), TABLE).status, Status::Warning);
    }

    #[test]
    fn the_organizations_names_are_cut_to_the_item_and_the_plan_says_how_many() {
        let configured = names(&[("000000000001", "named-by-config")]);
        // 50-character names (the longest Organizations allows): 8,000 do not fit in 400 KB.
        let members: BTreeMap<String, String> = (1..=8000u64)
            .map(|i| (format!("{i:012}"), format!("{i:050}")))
            .collect();
        let mut plan = test_plan(Mode::Apply);
        let kept = within_item(members, &configured, &mut plan);
        let mut all = configured.clone();
        all.extend(kept.clone());
        let bytes = names_item_bytes(all.iter().map(|(i, n)| (i.as_str(), n.as_str())));
        assert!(bytes <= MAX_NAMES_ITEM_BYTES, "{bytes}");
        assert!(
            bytes > MAX_NAMES_ITEM_BYTES - 100,
            "as many as fit: {bytes}"
        );
        assert!(
            !kept.contains_key("000000000001"),
            "the config's name stays the config's"
        );
        let left = 8000 - 1 - kept.len();
        assert_eq!(
            plan.notices,
            [format!(
                "{left} of the organization's 8000 account names do not fit in the account-names item (DynamoDB stores \
                 400 KB in one item): alerts show those accounts by ID unless `[account_names]` names them"
            )]
        );
        // Past the bound by any way in: blocked, nothing written.
        let plan = apply_plan(
            Some(&current()),
            &Desired {
                name: TABLE.into(),
                account_names: {
                    let mut too_many = all;
                    too_many.insert("999999999999".into(), "x".repeat(50));
                    too_many
                },
            },
        );
        assert!(plan.changes.is_empty());
        assert!(
            plan.blockers[0].contains("more than the 400 KB DynamoDB stores in one item"),
            "{:?}",
            plan.blockers
        );
    }

    #[test]
    fn a_foreign_table_blocks_and_survives_destroy() {
        let mut theirs = current();
        theirs.managed = false;
        let plan = apply_plan(Some(&theirs), &desired(&[("123456789012", "prod")]));
        assert!(!plan.has_changes());
        assert!(plan.blockers[0].contains("not created by login-alert"));
        let mut plan: Plan<Op> = planned(Mode::Destroy, |plan| plan_destroy(Some(&theirs), plan));
        assert!(!plan.has_changes());
        plan_destroy(Some(&current()), &mut plan);
        assert_eq!(plan.changes[0].op, Op::Delete { name: TABLE.into() });
    }

    #[test]
    fn the_organizations_names_are_stored_under_the_configs_and_a_refusal_is_a_notice() {
        let config = crate::config::Config::read_str(
            "region = \"eu-west-1\"\naccount_name = \"prod\"\n[trail]\nname = \"org\"\n\
             [account_names]\n\"210987654321\" = \"sandbox-dev\"\n",
        );
        let t = Target::new(&config, "123456789012");
        let seen = |members| Seen {
            table: Some(current()),
            members,
        };
        let mut plan: Plan<Op> = test_plan(Mode::Apply);
        let organization = names(&[
            ("123456789012", "management"),
            ("210987654321", "sandbox"),
            ("333333333333", "shared"),
        ]);
        StateTable.plan_apply(
            &seen(Members::Named(organization)),
            &t,
            &Facts::new(&t),
            &mut plan,
        );
        let Op::WriteAccountNames { names: written, .. } = &plan.changes[0].op else {
            panic!("the names are written: {:?}", plan.changes);
        };
        assert_eq!(
            written,
            &names(&[
                ("123456789012", "prod"),
                ("210987654321", "sandbox-dev"),
                ("333333333333", "shared"),
            ])
        );
        assert!(plan.notices.is_empty());

        let mut plan: Plan<Op> = test_plan(Mode::Apply);
        StateTable.plan_apply(
            &seen(Members::Unreadable("AccessDeniedException: no".into())),
            &t,
            &Facts::new(&t),
            &mut plan,
        );
        assert!(
            plan.notices[0].contains("organizations:ListAccounts"),
            "{:?}",
            plan.notices
        );
        // Only the config's names then.
        let Op::WriteAccountNames { names: written, .. } = &plan.changes[0].op else {
            panic!("the names are written: {:?}", plan.changes);
        };
        assert_eq!(written.len(), 2);
        assert!(
            StateTable
                .permissions(&t)
                .iter()
                .any(|g| g.actions == ["organizations:ListAccounts"])
        );
    }

    #[test]
    fn the_config_names_and_the_home_accounts_name_make_the_item() {
        let mut config = crate::config::Config::read_str(
            "region = \"eu-west-1\"\naccount_name = \"prod\"\n[trail]\ncreate = true\n\
             [account_names]\n\"210987654321\" = \"sandbox\"\n",
        );
        let t = Target::new(&config, "123456789012");
        assert_eq!(
            super::desired(&t).account_names,
            names(&[("123456789012", "prod"), ("210987654321", "sandbox")])
        );
        // `[account_names]` wins for the home account too; no account_name adds nothing.
        config.account_name = None;
        config
            .account_names
            .insert("123456789012".into(), "main".into());
        let t = Target::new(&config, "123456789012");
        assert_eq!(super::desired(&t).name, "login-alert-state");
        assert_eq!(
            super::desired(&t).account_names,
            names(&[("123456789012", "main"), ("210987654321", "sandbox")])
        );
    }
}

//! An EventBridge rule and its targets, wherever it is: the home and forwarding rules on a region's
//! default bus (`rule`) and the rule on the central bus (`central_bus`) are read, put and deleted by
//! the same calls.

use std::collections::HashMap;

use anyhow::{Context, Result, bail};
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::{RuleState, Tag, Target};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::SdkResultExt;
use crate::names::MANAGED_BY;
use crate::tags;

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];

/// One target of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleTarget {
    pub id: String,
    pub arn: String,
    /// EventBridge assumes it to deliver (needed to put events on another region's bus).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

/// A rule as EventBridge reports it, as far as login-alert compares it.
pub struct FoundRule {
    /// Parsed, so that key order and spacing do not count as a change.
    pub pattern: Option<Value>,
    pub schedule: Option<String>,
    pub state: String,
    pub managed: bool,
    pub targets: Vec<RuleTarget>,
}

/// What a rule matches: an event pattern (compact JSON) or a schedule, and the state it is put in.
pub struct Trigger<'a> {
    pub pattern: &'a str,
    pub schedule: Option<&'a str>,
    pub state: &'a str,
}

/// A rule by its name on a bus (`None`: the default bus of the client's region).
pub struct Rule<'a> {
    pub events: &'a Client,
    pub bus: Option<&'a str>,
    pub name: &'a str,
    /// How messages name it ("EventBridge rule x in eu-west-1").
    pub label: &'a str,
}

/// The tags of the EventBridge resource `arn` (`None`: it is gone), as a map.
pub async fn read_tags(
    events: &Client,
    arn: &str,
    label: &str,
) -> Result<Option<HashMap<String, String>>> {
    let found = events
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .found_doing(NOT_FOUND, || format!("reading the tags of {label}"))?;
    Ok(found.map(|out| {
        tags::to_map(
            out.tags
                .unwrap_or_default()
                .into_iter()
                .map(|t| (t.key, t.value)),
        )
    }))
}

/// login-alert's tag, set on what it creates.
pub fn managed_tag() -> Result<Tag> {
    Ok(Tag::builder()
        .key(MANAGED_BY.0)
        .value(MANAGED_BY.1)
        .build()?)
}

impl Rule<'_> {
    fn bus(&self) -> Option<String> {
        self.bus.map(str::to_owned)
    }

    /// The rule, its targets and whether it carries login-alert's tag (`arn` is the rule's).
    /// A rule deleted between the calls is as good as not there.
    pub async fn read(&self, arn: &str) -> Result<Option<FoundRule>> {
        let label = self.label;
        let (found, targets, tags) = tokio::join!(
            self.events
                .describe_rule()
                .name(self.name)
                .set_event_bus_name(self.bus())
                .send(),
            self.targets(),
            read_tags(self.events, arn, label),
        );
        let (Some(found), Some(targets), Some(tags)) = (
            found.found_doing(NOT_FOUND, || format!("reading {label}"))?,
            targets?,
            tags?,
        ) else {
            return Ok(None);
        };
        let pattern = found
            .event_pattern()
            .map(serde_json::from_str)
            .transpose()
            .with_context(|| {
                format!("EventBridge returned a pattern for {label} that is not JSON")
            })?;
        Ok(Some(FoundRule {
            pattern,
            schedule: found.schedule_expression().map(str::to_owned),
            state: found
                .state()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            managed: tags::is_managed(&tags),
            targets,
        }))
    }

    /// The rule's targets (`None`: the rule is gone).
    async fn targets(&self) -> Result<Option<Vec<RuleTarget>>> {
        let found = self
            .events
            .list_targets_by_rule()
            .rule(self.name)
            .set_event_bus_name(self.bus())
            .send()
            .await
            .found_doing(NOT_FOUND, || {
                format!("reading the targets of {}", self.label)
            })?;
        Ok(found.map(|out| {
            out.targets
                .unwrap_or_default()
                .into_iter()
                .map(|t| RuleTarget {
                    id: t.id,
                    arn: t.arn,
                    role_arn: t.role_arn,
                })
                .collect()
        }))
    }

    /// PutRule (tagged when it `create`s the rule), PutTargets with the one `target`, then
    /// RemoveTargets for the targets in `remove`.
    pub async fn put(
        &self,
        description: &str,
        trigger: Trigger<'_>,
        create: bool,
        target: &RuleTarget,
        remove: &[String],
    ) -> Result<()> {
        let label = self.label;
        let rule = self
            .events
            .put_rule()
            .name(self.name)
            .set_event_bus_name(self.bus())
            .description(description)
            .state(RuleState::from(trigger.state));
        let rule = match trigger.schedule {
            Some(schedule) => rule.schedule_expression(schedule),
            None => rule.event_pattern(trigger.pattern),
        };
        let rule = if create {
            rule.tags(managed_tag()?)
        } else {
            rule
        };
        rule.send().await.doing(|| format!("putting {label}"))?;
        let put = self
            .events
            .put_targets()
            .rule(self.name)
            .set_event_bus_name(self.bus())
            .targets(
                Target::builder()
                    .id(&target.id)
                    .arn(&target.arn)
                    .set_role_arn(target.role_arn.clone())
                    .build()?,
            )
            .send()
            .await
            .doing(|| format!("setting the target of {label}"))?;
        if put.failed_entry_count > 0 {
            let why: Vec<String> = put
                .failed_entries
                .unwrap_or_default()
                .into_iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.error_code.unwrap_or_default(),
                        e.error_message.unwrap_or_default()
                    )
                })
                .collect();
            bail!(
                "EventBridge refused target {} of {label} ({}): run `login-alert apply` again",
                target.arn,
                why.join("; ")
            );
        }
        self.remove_targets(remove).await
    }

    /// Removes the targets `ids` (none: no call).
    async fn remove_targets(&self, ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.events
            .remove_targets()
            .rule(self.name)
            .set_event_bus_name(self.bus())
            .set_ids(Some(ids.to_vec()))
            .send()
            .await
            .gone_doing(NOT_FOUND, || {
                format!("removing targets from {}", self.label)
            })
    }

    /// Removes every target, then the rule (already gone: done).
    pub async fn delete(&self) -> Result<()> {
        let Some(targets) = self.targets().await? else {
            return Ok(());
        };
        let ids: Vec<String> = targets.into_iter().map(|t| t.id).collect();
        self.remove_targets(&ids).await?;
        self.events
            .delete_rule()
            .name(self.name)
            .set_event_bus_name(self.bus())
            .send()
            .await
            .gone_doing(NOT_FOUND, || format!("deleting {}", self.label))
    }
}

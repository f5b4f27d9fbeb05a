//! The SNS topic alerts are published to: its access policy and every subscription on it.

use std::collections::{HashMap, HashSet};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::policies::{statement_diff, topic_access};
use crate::arn::Arn;
use crate::aws::{SdkResultExt, found_pages};
use crate::check::{Check, Link};
use crate::model::{Ctx, Target};
use crate::names::MANAGED_BY;
use crate::part::{Named, kind};
use crate::plan::lifecycle::{Found, not_ours, owned_when_managed};
use crate::plan::{Attr, Change, Plan};
use crate::policy::Grant;
use crate::tags;

const KIND: &str = "SNS topic";
const SUBSCRIPTION: &str = "email subscription";
/// A subscription of any other protocol (https, sqs, lambda, sms, …): never login-alert's.
const OTHER_SUBSCRIPTION: &str = "SNS subscription";
const EMAIL: &str = "email";
/// What SNS puts in place of the ARN until the recipient clicks the confirmation link.
const PENDING: &str = "PendingConfirmation";
/// AWS quota "Subscriptions per topic" of a standard topic (AWS General Reference, Amazon SNS
/// endpoints and quotas): one subscription per configured address must fit.
pub const MAX_SUBSCRIPTIONS: usize = 12_500_000;

/// One subscription on the topic as SNS lists it, whatever its protocol.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subscription {
    pub protocol: String,
    /// The address, URL, phone number or ARN that receives what the topic publishes.
    pub endpoint: String,
    /// `None` while the subscription awaits confirmation (SNS cannot delete it then, and drops
    /// it after 3 days).
    pub arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Current {
    pub name: String,
    pub arn: String,
    pub managed: bool,
    /// The topic's access policy (`None`: SNS returned none).
    pub policy: Option<Value>,
    pub subscriptions: Vec<Subscription>,
}

owned_when_managed!(Current);

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub name: String,
    pub arn: String,
    /// Empty: nobody is notified by email, so the topic should not exist.
    pub emails: Vec<String>,
    pub policy: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// Creates the topic with its tag and its access policy in one call.
    Create {
        name: String,
        policy: Value,
    },
    SetPolicy {
        arn: String,
        policy: Value,
    },
    Subscribe {
        topic_arn: String,
        email: String,
    },
    Unsubscribe {
        subscription_arn: String,
        endpoint: String,
    },
    Delete {
        arn: String,
    },
}

/// The form of an address subscriptions are matched by: SNS keeps one subscription per address.
fn key(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

/// The configured addresses, each once, in the config's order.
fn unique(emails: &[String]) -> Vec<&str> {
    let mut seen = HashSet::with_capacity(emails.len());
    emails
        .iter()
        .filter(|email| seen.insert(key(email)))
        .map(String::as_str)
        .collect()
}

/// The blocker when the configured addresses cannot all be subscribed to one topic.
fn over_quota(addresses: usize) -> Option<String> {
    (addresses > MAX_SUBSCRIPTIONS).then(|| {
        format!(
            "notify.emails lists {addresses} distinct addresses, more than the {MAX_SUBSCRIPTIONS} subscriptions an SNS standard \
             topic can hold (AWS quota \"Subscriptions per topic\"): send alerts to a mailing list address instead of to each person"
        )
    })
}

/// The topic alerts are published to, with its email subscriptions (only while someone gets email).
pub struct Topic;

kind!(Topic, read_named);

/// The topic called `name` in the home region.
async fn read_named(ctx: &Ctx, name: &str) -> Result<Option<Current>> {
    read(ctx, &ctx.target.arns.topic(name)).await
}

/// What the topic `name` and its subscriptions need of IAM; every mode uses them.
fn permissions(t: &Target, name: &str, _: bool) -> Vec<Grant> {
    vec![
        Grant::new(
            "Topic",
            [
                "sns:GetTopicAttributes",
                "sns:ListSubscriptionsByTopic",
                "sns:ListTagsForResource",
                // CreateTopic with tags needs sns:TagResource as well.
                "sns:CreateTopic",
                "sns:TagResource",
                "sns:Subscribe",
                "sns:DeleteTopic",
            ],
            [t.arns.topic(name)],
        ),
        // IAM matches Unsubscribe on no resource type, so a topic ARN would deny it.
        Grant::anywhere(["sns:Unsubscribe"]),
    ]
}

impl Named for Topic {
    const NAME: &'static str = "the SNS topic";
    type Kind = Topic;

    fn desired(&self, t: &Target) -> Desired {
        desired(t)
    }

    async fn checks(&self, ctx: &Ctx, current: Option<&Current>) -> Result<Vec<Check>> {
        Ok(check(current, &ctx.target).into_iter().collect())
    }
}

/// What `status` says of email delivery (nothing when no address is configured): every address
/// confirmed, or which still wait for a click.
pub fn check(current: Option<&Current>, t: &Target) -> Option<Check> {
    const NAME: &str = "email subscriptions";
    if t.emails.is_empty() {
        return None;
    }
    let topic = t.names.topic();
    let Some(current) = current.filter(|c| c.managed) else {
        let detail = match current {
            None => format!("SNS topic {topic} does not exist: no email alert can be sent"),
            Some(_) => not_ours(KIND, &topic),
        };
        return Some(Check::failing(
            Link::Destinations,
            NAME,
            detail,
            "run `login-alert apply` (see `login-alert plan` first if the topic is someone else's)",
        ));
    };
    let strangers = foreign_subscriptions(current, &t.emails);
    let (mut confirmed, mut pending, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    for email in unique(&t.emails) {
        match current
            .subscriptions
            .iter()
            .find(|s| s.protocol == "email" && key(&s.endpoint) == key(email))
        {
            Some(Subscription { arn: Some(_), .. }) => confirmed.push(email),
            Some(Subscription { arn: None, .. }) => pending.push(email),
            None => missing.push(email),
        }
    }
    if pending.is_empty() && missing.is_empty() && strangers.is_empty() {
        return Some(Check::ok(
            Link::Destinations,
            NAME,
            format!("confirmed: {}", confirmed.join(", ")),
        ));
    }
    let mut detail = Vec::new();
    let mut fix = Vec::new();
    if !pending.is_empty() {
        detail.push(format!(
            "pending confirmation (no alert reaches them yet): {}",
            pending.join(", ")
        ));
        fix.push(
            "click the link in the email from AWS Notifications (subject \"AWS Notification - Subscription Confirmation\"); \
             after 3 days the link expires: run `login-alert apply` then for a new one"
                .to_owned(),
        );
    }
    if !missing.is_empty() {
        detail.push(format!("not subscribed: {}", missing.join(", ")));
        fix.push("run `login-alert apply` to subscribe them".to_owned());
    }
    if !strangers.is_empty() {
        detail.push(format!(
            "not login-alert's, every alert is copied to them: {}",
            strangers.join(", ")
        ));
        fix.push(
            "run `login-alert apply` to remove them (`login-alert plan` lists them)".to_owned(),
        );
    }
    if !confirmed.is_empty() {
        detail.push(format!("confirmed: {}", confirmed.join(", ")));
    }
    Some(Check::warning(
        Link::Destinations,
        NAME,
        detail.join("; "),
        fix.join("; "),
    ))
}

/// The subscriptions login-alert did not make (another protocol, an address not configured), each
/// as its protocol and where it goes: a URL only up to its host (its path may hold someone's token).
fn foreign_subscriptions(current: &Current, emails: &[String]) -> Vec<String> {
    let wanted: HashSet<String> = emails.iter().map(|e| key(e)).collect();
    current
        .subscriptions
        .iter()
        .filter(|s| s.protocol != EMAIL || !wanted.contains(&key(&s.endpoint)))
        .map(|s| {
            let endpoint = match s.endpoint.split_once("://") {
                Some((scheme, rest)) => {
                    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
                    let host = host.rsplit('@').next().unwrap_or_default();
                    let more = if rest.len() > host.len() { "/…" } else { "" };
                    format!("{scheme}://{host}{more}")
                }
                None => s.endpoint.clone(),
            };
            let pending = if s.arn.is_none() {
                " (pending confirmation)"
            } else {
                ""
            };
            format!("{} {endpoint}{pending}", s.protocol)
        })
        .collect()
}

/// The topic (with its access policy), then its tags and its subscriptions at the same time.
pub async fn read(ctx: &Ctx, topic_arn: &str) -> Result<Option<Current>> {
    let sns = &ctx.clients.sns;
    let Some(attributes) = sns
        .get_topic_attributes()
        .topic_arn(topic_arn)
        .send()
        .await
        .found_doing(NOT_FOUND, || format!("reading SNS topic {topic_arn}"))?
    else {
        return Ok(None);
    };
    let policy = match attributes.attributes.as_ref().and_then(|a| a.get("Policy")) {
        Some(text) if !text.trim().is_empty() => {
            Some(serde_json::from_str(text).with_context(|| {
                format!("SNS returned an access policy for topic {topic_arn} that is not JSON")
            })?)
        }
        _ => None,
    };
    let (tags, subscriptions) = tokio::join!(
        sns.list_tags_for_resource().resource_arn(topic_arn).send(),
        list_subscriptions(ctx, topic_arn),
    );
    // Deleted between the calls: as good as not there.
    let Some(tags) = tags.found_doing(NOT_FOUND, || {
        format!("reading the tags of SNS topic {topic_arn}")
    })?
    else {
        return Ok(None);
    };
    let Some(subscriptions) = subscriptions? else {
        return Ok(None);
    };
    let name = Arn::parse(topic_arn)
        .map_or(topic_arn, |a| a.last_name())
        .to_owned();
    let managed = tags::ours_among(tags.tags.unwrap_or_default(), |t| (t.key, t.value));
    Ok(Some(Current {
        name,
        arn: topic_arn.to_owned(),
        managed,
        policy,
        subscriptions,
    }))
}

/// Every subscription of every protocol, every page; `None` when the topic is gone.
async fn list_subscriptions(ctx: &Ctx, topic_arn: &str) -> Result<Option<Vec<Subscription>>> {
    let list = ctx.clients.sns.list_subscriptions_by_topic();
    let pages = found_pages(
        list.topic_arn(topic_arn).into_paginator().send(),
        NOT_FOUND,
        || format!("listing the subscriptions of SNS topic {topic_arn}"),
    )
    .await?;
    let Some(pages) = pages else { return Ok(None) };
    let subscriptions = pages
        .into_iter()
        .flat_map(|page| page.subscriptions.unwrap_or_default());
    Ok(Some(
        subscriptions
            .filter_map(|s| {
                let arn = match s.subscription_arn? {
                    arn if arn == PENDING => None,
                    // Being removed already: as good as gone.
                    arn if arn == "Deleted" => return None,
                    arn => Some(arn),
                };
                Some(Subscription {
                    protocol: s.protocol.unwrap_or_default(),
                    endpoint: s.endpoint.unwrap_or_default(),
                    arn,
                })
            })
            .collect(),
    ))
}

/// How SNS says a topic or subscription does not exist.
const NOT_FOUND: &[&str] = &[
    "NotFound",
    "NotFoundException",
    "ResourceNotFound",
    "ResourceNotFoundException",
];

pub fn desired(t: &Target) -> Desired {
    let name = t.names.topic();
    let arn = t.arns.topic(&name);
    Desired {
        policy: topic_access(t.account_id(), &arn),
        arn,
        name,
        emails: t.emails.clone(),
    }
}

fn pending_notice(email: &str) -> String {
    format!(
        "email {email}: subscription pending confirmation — click the link AWS sent to {email} (subject \"AWS Notification - \
         Subscription Confirmation\"); alerts reach it only after that. An unconfirmed subscription expires after 3 days: \
         run apply again then to send a new link"
    )
}

fn subscribe_change(topic_arn: &str, email: &str) -> Change<Op> {
    Change::create(
        SUBSCRIPTION,
        email,
        Op::Subscribe {
            topic_arn: topic_arn.to_owned(),
            email: email.to_owned(),
        },
    )
    .attr(Attr::set("topic", topic_arn))
    .note("AWS emails a confirmation link: alerts reach this address only after it is clicked")
}

pub fn plan_apply(current: Option<&Current>, desired: &Desired, plan: &mut Plan<impl From<Op>>) {
    let emails = unique(&desired.emails);
    if let Some(blocker) = over_quota(emails.len()) {
        plan.block(blocker);
        return;
    }
    if emails.is_empty() {
        // Email was removed from the config: our topic (and its subscriptions) goes; anyone else's stays.
        return plan_destroy(current, plan);
    }
    let current = match plan.claim(KIND, &desired.name, current) {
        Found::Ours(current) => current,
        Found::Refused => return,
        Found::Missing => {
            plan.push(Some(
                Change::create(
                    KIND,
                    &desired.name,
                    Op::Create {
                        name: desired.name.clone(),
                        policy: desired.policy.clone(),
                    },
                )
                .attr(Attr::set("arn", desired.arn.clone())),
            ));
            for email in emails {
                plan.push(Some(subscribe_change(&desired.arn, email)));
            }
            return;
        }
    };
    let policy = statement_diff("access_policy", current.policy.as_ref(), &desired.policy);
    if !policy.is_empty() {
        plan.push(Some(
            Change::update(
                KIND,
                &current.name,
                Op::SetPolicy {
                    arn: current.arn.clone(),
                    policy: desired.policy.clone(),
                },
            )
            .attrs(policy)
            .note(
                "the access policy is put back to the one SNS gives a topic: its own account only",
            ),
        ));
    }
    plan_subscriptions(current, &emails, plan);
}

/// One subscription per configured address stays (a confirmed one, in the configured spelling if
/// there are several); every other subscription on the topic, of any protocol, goes.
fn plan_subscriptions(current: &Current, emails: &[&str], plan: &mut Plan<impl From<Op>>) {
    let wanted: HashMap<String, &str> = emails.iter().map(|e| (key(e), *e)).collect();
    let rank = |s: &Subscription, configured: &str| (s.arn.is_some(), s.endpoint == configured);
    let mut kept: HashMap<String, usize> = HashMap::with_capacity(wanted.len());
    for (i, s) in current.subscriptions.iter().enumerate() {
        if s.protocol != EMAIL {
            continue;
        }
        let k = key(&s.endpoint);
        let Some(configured) = wanted.get(&k) else {
            continue;
        };
        let better = match kept.get(&k) {
            Some(&j) => rank(s, configured) > rank(&current.subscriptions[j], configured),
            None => true,
        };
        if better {
            kept.insert(k, i);
        }
    }
    for email in emails {
        match kept.get(&key(email)).map(|&i| &current.subscriptions[i]) {
            Some(Subscription { arn: Some(_), .. }) => {}
            // Subscribing again would only send another link; the first one is still valid.
            Some(Subscription { arn: None, .. }) => plan.notice(pending_notice(email)),
            None => plan.push(Some(subscribe_change(&current.arn, email))),
        }
    }
    let mut keep = vec![false; current.subscriptions.len()];
    for &i in kept.values() {
        keep[i] = true;
    }
    for (sub, _) in current.subscriptions.iter().zip(keep).filter(|(_, k)| !k) {
        let duplicate = sub.protocol == EMAIL && wanted.contains_key(&key(&sub.endpoint));
        match &sub.arn {
            Some(arn) => plan.push(Some(unsubscribe_change(sub, arn, duplicate))),
            None => plan.notice(format!(
                "{} {}: not in the configuration, but its subscription is still pending confirmation; SNS cannot delete it \
                 and drops it after 3 days (if it gets confirmed first, the next apply removes it)",
                sub.protocol, sub.endpoint
            )),
        }
    }
}

fn unsubscribe_change(sub: &Subscription, arn: &str, duplicate: bool) -> Change<Op> {
    let op = Op::Unsubscribe {
        subscription_arn: arn.to_owned(),
        endpoint: sub.endpoint.clone(),
    };
    if sub.protocol == EMAIL {
        let change = Change::delete(SUBSCRIPTION, &sub.endpoint, op);
        return if duplicate {
            change.note("a second subscription of a configured address: alerts would arrive twice")
        } else {
            change
        };
    }
    Change::delete(OTHER_SUBSCRIPTION, &sub.endpoint, op)
        .attr(Attr::unset("protocol", sub.protocol.clone()))
        .note("not in the configuration: whatever subscribes to the topic receives every alert")
}

pub fn plan_destroy(current: Option<&Current>, plan: &mut Plan<impl From<Op>>) {
    plan.remove_ours(current, |current| {
        let change = Change::delete(
            KIND,
            &current.name,
            Op::Delete {
                arn: current.arn.clone(),
            },
        );
        if current.subscriptions.is_empty() {
            return change;
        }
        let endpoints: Vec<&str> = current
            .subscriptions
            .iter()
            .map(|s| s.endpoint.as_str())
            .collect();
        change.note(format!(
            "its subscriptions go with it: {}",
            endpoints.join(", ")
        ))
    });
}

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    let sns = &ctx.clients.sns;
    match op {
        Op::Create { name, policy } => {
            let tag = aws_sdk_sns::types::Tag::builder()
                .key(MANAGED_BY.0)
                .value(MANAGED_BY.1)
                .build()?;
            // CreateTopic returns the existing topic when name, tags and attributes match, so a re-run is harmless.
            sns.create_topic()
                .name(name)
                .tags(tag)
                .attributes("Policy", policy.to_string())
                .send()
                .await
                .doing(|| format!("creating SNS topic {name}"))?;
            Ok(())
        }
        Op::SetPolicy { arn, policy } => {
            sns.set_topic_attributes()
                .topic_arn(arn)
                .attribute_name("Policy")
                .attribute_value(policy.to_string())
                .send()
                .await
                .doing(|| format!("putting back the access policy of SNS topic {arn}"))?;
            Ok(())
        }
        Op::Subscribe { topic_arn, email } => {
            let out = sns
                .subscribe()
                .topic_arn(topic_arn)
                .protocol(EMAIL)
                .endpoint(email)
                .send()
                .await
                .doing(|| format!("subscribing {email} to SNS topic {topic_arn}"))?;
            // AWS answers "pending confirmation" instead of an ARN until the link is clicked.
            let confirmed = out
                .subscription_arn
                .as_deref()
                .is_some_and(|arn| arn.starts_with("arn:"));
            if !confirmed {
                ctx.printer.info(pending_notice(email));
            }
            Ok(())
        }
        Op::Unsubscribe {
            subscription_arn,
            endpoint,
        } => sns
            .unsubscribe()
            .subscription_arn(subscription_arn)
            .send()
            .await
            .gone_doing(NOT_FOUND, || {
                format!("unsubscribing {endpoint} ({subscription_arn})")
            }),
        Op::Delete { arn } => sns
            .delete_topic()
            .topic_arn(arn)
            .send()
            .await
            .gone_doing(NOT_FOUND, || format!("deleting SNS topic {arn}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Mode};
    use crate::testing::{self, assert_refused, notifying, planned, test_plan};

    const ARN: &str = "arn:aws:sns:us-east-1:123456789012:login-alert-alerts";

    fn desired(emails: &[&str]) -> Desired {
        Desired {
            name: "login-alert-alerts".into(),
            arn: ARN.into(),
            emails: emails.iter().map(|e| e.to_string()).collect(),
            policy: topic_access("123456789012", ARN),
        }
    }

    fn subscription(protocol: &str, endpoint: &str, arn: Option<String>) -> Subscription {
        Subscription {
            protocol: protocol.into(),
            endpoint: endpoint.into(),
            arn,
        }
    }

    fn confirmed(email: &str) -> Subscription {
        subscription(EMAIL, email, Some(format!("{ARN}:{email}")))
    }

    fn pending(email: &str) -> Subscription {
        subscription(EMAIL, email, None)
    }

    fn current(subscriptions: Vec<Subscription>, managed: bool) -> Current {
        Current {
            name: "login-alert-alerts".into(),
            arn: ARN.into(),
            managed,
            policy: Some(topic_access("123456789012", ARN)),
            subscriptions,
        }
    }

    /// The plan for login-alert's topic with `subscriptions`, when the config notifies `emails`.
    fn ours_with(subscriptions: Vec<Subscription>, emails: &[&str]) -> Plan<Op> {
        apply_plan(Some(&current(subscriptions, true)), &desired(emails))
    }

    fn apply_plan(current: Option<&Current>, desired: &Desired) -> Plan<Op> {
        planned(Mode::Apply, |plan| plan_apply(current, desired, plan))
    }

    fn target(emails: &[&str]) -> Target {
        testing::target(&notifying("us-east-1", emails, false))
    }

    #[test]
    fn status_names_a_strangers_subscription_without_its_path() {
        use crate::check::Status;
        let t = target(&["a@example.com"]);
        let c = current(
            vec![
                confirmed("a@example.com"),
                subscription(
                    "https",
                    "https://collector.example.net/hook/TOKEN123",
                    Some(format!("{ARN}:x")),
                ),
                confirmed("stranger@example.net"),
            ],
            true,
        );
        let check = check(Some(&c), &t).unwrap();
        assert_eq!(check.status, Status::Warning);
        assert_eq!(
            check.detail,
            "not login-alert's, every alert is copied to them: https https://collector.example.net/…, \
             email stranger@example.net; confirmed: a@example.com"
        );
        assert!(!check.detail.contains("TOKEN123"));
        assert!(check.fix.as_deref().unwrap().contains("login-alert apply"));
    }

    #[test]
    fn status_names_pending_and_missing_addresses_and_fails_without_the_topic() {
        use crate::check::Status;
        let t = target(&["a@example.com", "b@example.com", "c@example.com"]);
        let c = current(
            vec![confirmed("a@example.com"), pending("B@example.com")],
            true,
        );
        let check = check(Some(&c), &t).unwrap();
        assert_eq!(check.status, Status::Warning);
        assert_eq!(
            check.detail,
            "pending confirmation (no alert reaches them yet): b@example.com; not subscribed: c@example.com; confirmed: a@example.com"
        );
        assert!(
            check
                .fix
                .as_deref()
                .unwrap()
                .contains("run `login-alert apply` to subscribe them")
        );
        let all = current(
            vec![
                confirmed("a@example.com"),
                confirmed("b@example.com"),
                confirmed("c@example.com"),
            ],
            true,
        );
        assert_eq!(check_status(Some(&all), &t), Status::Ok);
        assert_eq!(check_status(None, &t), Status::Failing);
        assert_eq!(
            check_status(Some(&current(vec![], false)), &t),
            Status::Failing
        );
        assert!(
            super::check(None, &target(&[])).is_none(),
            "no email, no check"
        );
    }

    fn check_status(c: Option<&Current>, t: &Target) -> crate::check::Status {
        super::check(c, t).unwrap().status
    }

    #[test]
    fn missing_topic_is_created_with_one_subscription_per_email() {
        let plan = apply_plan(None, &desired(&["a@example.com", "b@example.com"]));
        assert_eq!(
            testing::kinds(&plan),
            [
                (KIND, Action::Create),
                (SUBSCRIPTION, Action::Create),
                (SUBSCRIPTION, Action::Create)
            ]
        );
        assert_eq!(plan.changes[2].name, "b@example.com");
        assert!(plan.changes[1].notes[0].contains("confirmation link"));
    }

    #[test]
    fn an_address_listed_twice_is_subscribed_once() {
        let plan = apply_plan(None, &desired(&["a@example.com", "A@example.com"]));
        assert_eq!(plan.changes.len(), 2);
    }

    #[test]
    fn no_emails_and_no_topic_needs_nothing() {
        assert!(!apply_plan(None, &desired(&[])).has_changes());
    }

    #[test]
    fn all_confirmed_needs_nothing_and_email_case_does_not_matter() {
        let plan = ours_with(vec![confirmed("A@Example.com")], &["a@example.com"]);
        assert!(!plan.has_changes());
        assert!(plan.notices.is_empty());
    }

    #[test]
    fn a_removed_subscription_is_subscribed_again() {
        let plan = ours_with(
            vec![confirmed("a@example.com")],
            &["a@example.com", "b@example.com"],
        );
        assert_eq!(plan.changes.len(), 1);
        assert!(
            matches!(&plan.changes[0].op, Op::Subscribe { email, .. } if email == "b@example.com")
        );
    }

    #[test]
    fn a_pending_subscription_is_a_notice_not_a_new_subscribe() {
        let plan = ours_with(vec![pending("a@example.com")], &["a@example.com"]);
        assert!(!plan.has_changes());
        assert_eq!(plan.notices.len(), 1);
        assert!(
            plan.notices[0].starts_with("email a@example.com: subscription pending confirmation")
        );
    }

    #[test]
    fn an_email_no_longer_configured_is_unsubscribed_unless_pending() {
        let plan = apply_plan(
            Some(&current(
                vec![
                    confirmed("a@example.com"),
                    confirmed("old@example.com"),
                    pending("gone@example.com"),
                ],
                true,
            )),
            &desired(&["a@example.com"]),
        );
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].action, Action::Delete);
        assert!(
            matches!(&plan.changes[0].op, Op::Unsubscribe { endpoint, .. } if endpoint == "old@example.com")
        );
        assert_eq!(plan.notices.len(), 1);
        assert!(plan.notices[0].contains("gone@example.com") && plan.notices[0].contains("3 days"));
    }

    #[test]
    fn removing_every_email_deletes_our_topic_only() {
        let plan = ours_with(vec![confirmed("a@example.com")], &[]);
        assert_eq!(plan.changes.len(), 1);
        assert!(matches!(&plan.changes[0].op, Op::Delete { .. }));
        assert!(!apply_plan(Some(&current(vec![], false)), &desired(&[])).has_changes());
    }

    #[test]
    fn a_topic_that_is_not_ours_blocks_apply_and_survives_destroy() {
        let theirs = current(vec![confirmed("x@example.com")], false);
        let plan = apply_plan(Some(&theirs), &desired(&["a@example.com"]));
        assert_refused(&plan);
        let mut plan: Plan<Op> = test_plan(Mode::Destroy);
        plan_destroy(Some(&theirs), &mut plan);
        plan_destroy(None, &mut plan);
        assert!(!plan.has_changes());
        assert_eq!(plan.notices.len(), 1);
    }

    #[test]
    fn destroy_deletes_our_topic() {
        let mut plan: Plan<Op> = test_plan(Mode::Destroy);
        plan_destroy(
            Some(&current(vec![confirmed("a@example.com")], true)),
            &mut plan,
        );
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].action, Action::Delete);
        assert!(plan.changes[0].notes[0].contains("a@example.com"));
    }

    #[test]
    fn a_subscription_of_any_other_protocol_is_removed_and_named() {
        let hook = "https://collector.example.net/sns";
        let plan = apply_plan(
            Some(&current(
                vec![
                    confirmed("a@example.com"),
                    subscription("https", hook, Some(format!("{ARN}:hook"))),
                    subscription("email-json", "a@example.com", Some(format!("{ARN}:json"))),
                ],
                true,
            )),
            &desired(&["a@example.com"]),
        );
        let removed: Vec<(&str, &str, Action)> = plan
            .changes
            .iter()
            .map(|c| (c.kind.as_str(), c.name.as_str(), c.action))
            .collect();
        assert_eq!(
            removed,
            [
                (OTHER_SUBSCRIPTION, hook, Action::Delete),
                (OTHER_SUBSCRIPTION, "a@example.com", Action::Delete)
            ]
        );
        assert_eq!(plan.changes[0].attrs, [Attr::unset("protocol", "https")]);
        assert!(
            matches!(&plan.changes[0].op, Op::Unsubscribe { subscription_arn, .. } if subscription_arn.ends_with(":hook"))
        );
    }

    #[test]
    fn an_unconfirmed_outside_subscription_cannot_be_deleted_and_says_so() {
        let plan = apply_plan(
            Some(&current(
                vec![
                    confirmed("a@example.com"),
                    subscription("https", "https://collector.example.net/sns", None),
                ],
                true,
            )),
            &desired(&["a@example.com"]),
        );
        assert!(!plan.has_changes());
        assert_eq!(plan.notices.len(), 1);
        assert!(
            plan.notices[0]
                .starts_with("https https://collector.example.net/sns: not in the configuration")
                && plan.notices[0].contains("SNS cannot delete it"),
            "{}",
            plan.notices[0]
        );
    }

    #[test]
    fn a_second_subscription_of_one_address_goes_and_the_confirmed_one_stays() {
        let plan = apply_plan(
            Some(&current(
                vec![
                    subscription(EMAIL, "A@example.com", Some(format!("{ARN}:upper"))),
                    pending("a@example.com"),
                    subscription(EMAIL, "a@example.com", Some(format!("{ARN}:lower"))),
                ],
                true,
            )),
            &desired(&["a@example.com"]),
        );
        assert_eq!(plan.changes.len(), 1, "{:?}", plan.changes);
        assert!(
            matches!(&plan.changes[0].op, Op::Unsubscribe { subscription_arn, .. } if subscription_arn.ends_with(":upper"))
        );
        assert!(plan.changes[0].notes[0].contains("arrive twice"));
        // The pending duplicate cannot be deleted: a notice, not a change.
        assert_eq!(plan.notices.len(), 1);
    }

    #[test]
    fn an_opened_access_policy_is_put_back_with_each_statement_shown() {
        let mut open = current(vec![confirmed("a@example.com")], true);
        let policy = open.policy.as_mut().unwrap();
        policy["Statement"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "Sid": "public",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["SNS:Publish", "SNS:Subscribe"],
                "Resource": ARN
            }));
        let plan = apply_plan(Some(&open), &desired(&["a@example.com"]));
        assert_eq!(plan.changes.len(), 1);
        let change = &plan.changes[0];
        assert_eq!(
            (change.kind.as_str(), change.action),
            (KIND, Action::Update)
        );
        assert!(
            matches!(&change.op, Op::SetPolicy { policy, .. } if *policy == topic_access("123456789012", ARN))
        );
        assert_eq!(
            change.attrs,
            [Attr::unset(
                "access_policy",
                format!("[public] Allow * SNS:Publish,SNS:Subscribe on {ARN}")
            )]
        );
        // A policy SNS no longer reports is put back too.
        open.policy = None;
        let plan = apply_plan(Some(&open), &desired(&["a@example.com"]));
        assert!(matches!(&plan.changes[0].op, Op::SetPolicy { .. }));
        assert_eq!(plan.changes[0].attrs[0].before, None);
    }

    #[test]
    fn a_new_topic_carries_its_access_policy_from_the_start() {
        let plan = apply_plan(None, &desired(&["a@example.com"]));
        assert!(
            matches!(&plan.changes[0].op, Op::Create { policy, .. } if policy["Statement"][0]["Condition"]["StringEquals"]["AWS:SourceOwner"] == "123456789012")
        );
    }

    #[test]
    fn more_addresses_than_a_topic_holds_is_a_blocker_naming_the_quota() {
        assert_eq!(over_quota(MAX_SUBSCRIPTIONS), None);
        let blocker = over_quota(MAX_SUBSCRIPTIONS + 1).unwrap();
        assert!(
            blocker.starts_with("notify.emails lists 12500001 distinct addresses")
                && blocker.contains("12500000")
                && blocker.contains("\"Subscriptions per topic\""),
            "{blocker}"
        );
    }

    #[test]
    fn many_addresses_are_matched_one_to_one() {
        let emails: Vec<String> = (0..5000).map(|i| format!("user{i}@example.com")).collect();
        let mut refs: Vec<&str> = emails.iter().map(String::as_str).collect();
        // Every other address already subscribed (some in another case); each listed twice.
        let subscribed = current(
            emails
                .iter()
                .step_by(2)
                .map(|e| confirmed(&e.to_uppercase()))
                .collect(),
            true,
        );
        refs.extend(emails.iter().map(String::as_str));
        let plan = apply_plan(Some(&subscribed), &desired(&refs));
        assert_eq!(plan.changes.len(), 2500);
        assert!(plan.changes.iter().all(|c| c.action == Action::Create));
        assert_eq!(plan.changes[0].name, "user1@example.com");
    }
}

//! The IAM permissions login-alert's calls need, as plain data: each part declares its own beside its
//! calls (`Part::permissions`), each command those of its own calls, and [`document`] makes one policy of them.

use serde::Serialize;
use serde_json::{Value, json};

/// The label of the statement holding the actions IAM authorizes only on `*`.
pub const ANYWHERE: &str = "NoResourceLevelPermission";

/// Some IAM actions on some resources, perhaps under a condition: what one piece of code needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// What the actions are on, PascalCase (how `login-alert policy` labels the statement).
    pub label: &'static str,
    /// `service:Action`, as the Service Authorization Reference spells them.
    pub actions: Vec<&'static str>,
    /// ARNs from `names::Arns` (`*` in place of what is not known in advance), or `*` alone for
    /// actions that support no resource type.
    pub resources: Vec<String>,
    /// A `Condition` block, e.g. `iam:PassedToService`.
    pub condition: Option<Value>,
}

impl Grant {
    pub fn new<R: Into<String>>(
        label: &'static str,
        actions: impl IntoIterator<Item = &'static str>,
        resources: impl IntoIterator<Item = R>,
    ) -> Self {
        Grant {
            label,
            actions: actions.into_iter().collect(),
            resources: resources.into_iter().map(Into::into).collect(),
            condition: None,
        }
    }

    /// Actions whose Service Authorization Reference entry lists no resource type: IAM matches them
    /// only on `*`, so naming an ARN would deny them.
    pub fn anywhere(actions: impl IntoIterator<Item = &'static str>) -> Self {
        Grant::new(ANYWHERE, actions, ["*"])
    }

    /// `iam:PassRole` on `role`, to `service` (`lambda.amazonaws.com`, …) only.
    pub fn pass_role(label: &'static str, role: String, service: &str) -> Self {
        Grant {
            condition: Some(json!({ "StringEquals": { "iam:PassedToService": service } })),
            ..Grant::new(label, ["iam:PassRole"], [role])
        }
    }

    /// The grant of a resource that only some modes use. Every mode reads and deletes it (what an
    /// earlier mode left goes), so those actions are always granted; `creating` joins them only
    /// where the mode `uses` it, and elsewhere the statement is labelled `other` (e.g.
    /// `RoleOfTheOtherMode`) so that the policy says why it is there.
    pub fn unless_unused(
        mut self,
        uses: bool,
        creating: impl IntoIterator<Item = &'static str>,
        other: &'static str,
    ) -> Self {
        if uses {
            self.actions.extend(creating);
        } else {
            self.label = other;
        }
        self
    }
}

/// The service of `service:Action`.
pub fn service(action: &str) -> &str {
    action
        .split_once(':')
        .map_or(action, |(service, _)| service)
}

/// `grants` holding only the actions of the services `keep` accepts; a grant left with none is dropped.
pub fn only(grants: &[Grant], keep: impl Fn(&str) -> bool) -> Vec<Grant> {
    grants
        .iter()
        .filter_map(|grant| {
            let actions: Vec<&'static str> = grant
                .actions
                .iter()
                .copied()
                .filter(|a| keep(service(a)))
                .collect();
            (!actions.is_empty()).then(|| Grant {
                actions,
                ..grant.clone()
            })
        })
        .collect()
}

/// A log group's two ARN forms: IAM checks some CloudWatch Logs actions against `log-group:NAME`
/// and others against `log-group:NAME:*`, so a grant on one group names both.
pub fn log_group_arns(arn: &str) -> [String; 2] {
    [arn.to_owned(), format!("{arn}:*")]
}

/// One statement of a policy: what it allows on what, and the Sid-like label it is shown under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// What the actions are on (from the first grant merged into it); unique within a policy.
    pub label: String,
    pub actions: Vec<&'static str>,
    pub resources: Vec<String>,
    pub condition: Option<Value>,
}

/// The statements allowing exactly `grants`. Grants on the same resources (and condition) share a
/// statement, then statements with the same actions share one, and an action another statement
/// already allows on every resource of this one is left out; nothing is allowed that no grant
/// allows. Statements keep the order of their first grant; actions and resources are sorted.
pub fn statements(grants: &[Grant]) -> Vec<Statement> {
    let mut by_resources: Vec<Statement> = Vec::new();
    for grant in grants {
        let mut resources = grant.resources.clone();
        resources.sort();
        resources.dedup();
        match by_resources
            .iter_mut()
            .find(|s| s.resources == resources && s.condition == grant.condition)
        {
            Some(s) => s.actions.extend(grant.actions.iter().copied()),
            None => by_resources.push(Statement {
                label: grant.label.to_owned(),
                actions: grant.actions.clone(),
                resources,
                condition: grant.condition.clone(),
            }),
        }
    }
    for s in &mut by_resources {
        s.actions.sort_by_key(|a| a.to_ascii_lowercase());
        s.actions.dedup();
    }
    let mut merged: Vec<Statement> = Vec::new();
    for s in by_resources {
        match merged
            .iter_mut()
            .find(|m| m.actions == s.actions && m.condition == s.condition)
        {
            Some(m) => {
                m.resources.extend(s.resources);
                m.resources.sort();
                m.resources.dedup();
            }
            None => merged.push(s),
        }
    }
    drop_covered(&mut merged);
    let mut used: Vec<String> = Vec::new();
    for s in &mut merged {
        let base = s.label.clone();
        let mut n = 2;
        while used.contains(&s.label) {
            s.label = format!("{base}{n}");
            n += 1;
        }
        used.push(s.label.clone());
    }
    merged
}

/// A policy document, serialized with its keys in IAM's usual order whatever serde_json's map does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    #[serde(rename = "Version")]
    version: &'static str,
    #[serde(rename = "Statement")]
    statement: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct Entry {
    #[serde(rename = "Effect")]
    effect: &'static str,
    #[serde(rename = "Action")]
    action: OneOrMany,
    #[serde(rename = "Resource")]
    resource: OneOrMany,
    #[serde(rename = "Condition", skip_serializing_if = "Option::is_none")]
    condition: Option<Value>,
}

/// A lone action or resource is written as a string.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl From<Vec<String>> for OneOrMany {
    fn from(mut items: Vec<String>) -> Self {
        if items.len() == 1 {
            OneOrMany::One(items.remove(0))
        } else {
            OneOrMany::Many(items)
        }
    }
}

impl Document {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a policy document serializes")
    }

    /// Indented, as `login-alert policy --output json` prints it.
    pub fn to_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a policy document serializes")
    }

    /// How many characters IAM counts (whitespace outside strings is not counted).
    pub fn size(&self) -> usize {
        serde_json::to_string(self)
            .expect("a policy document serializes")
            .chars()
            .count()
    }
}

/// The policy document of `statements`. No Sids: a customer managed policy holds at most
/// [`MANAGED_POLICY_LIMIT`] characters, and the labels are for people (`login-alert policy`).
pub fn document(statements: &[Statement]) -> Document {
    Document {
        version: "2012-10-17",
        statement: statements
            .iter()
            .map(|s| Entry {
                effect: "Allow",
                action: s
                    .actions
                    .iter()
                    .map(|a| (*a).to_owned())
                    .collect::<Vec<_>>()
                    .into(),
                resource: s.resources.clone().into(),
                condition: s.condition.clone(),
            })
            .collect(),
    }
}

/// The most characters (whitespace not counted) a customer managed policy may hold.
pub const MANAGED_POLICY_LIMIT: usize = 6144;

/// Removes an action from a statement when another one (without a condition) already allows it on
/// every resource the first names; one statement at a time, so two never drop the same action.
fn drop_covered(statements: &mut Vec<Statement>) {
    for i in 0..statements.len() {
        if statements[i].condition.is_some() {
            continue;
        }
        let covered: Vec<&'static str> = statements[i]
            .actions
            .iter()
            .copied()
            .filter(|action| {
                statements.iter().enumerate().any(|(j, other)| {
                    j != i
                        && other.condition.is_none()
                        && other.actions.contains(action)
                        && statements[i]
                            .resources
                            .iter()
                            .all(|r| other.resources.iter().any(|p| covers(p, r)))
                })
            })
            .collect();
        statements[i].actions.retain(|a| !covered.contains(a));
    }
    statements.retain(|s| !s.actions.is_empty());
}

/// Whether pattern `p` matches everything `r` stands for (`r` itself a pattern only if equal to `p`).
fn covers(p: &str, r: &str) -> bool {
    p == "*" || p == r || (!r.contains(['*', '?']) && matches(p, r))
}

/// IAM's resource matching: `*` any run of characters, `?` any one, case-sensitive.
pub fn matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(grants: &[Grant]) -> Value {
        document(&statements(grants)).to_value()
    }

    #[test]
    fn grants_on_the_same_resources_share_a_statement_and_nothing_crosses_over() {
        let doc = doc(&[
            Grant::new("Topic", ["sns:CreateTopic"], ["arn:t"]),
            Grant::new("Queue", ["sqs:CreateQueue", "sqs:DeleteQueue"], ["arn:q"]),
            Grant::new("TopicReads", ["sns:GetTopicAttributes"], ["arn:t"]),
        ]);
        assert_eq!(
            doc,
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["sns:CreateTopic", "sns:GetTopicAttributes"], "Resource": "arn:t"},
                {"Effect": "Allow", "Action": ["sqs:CreateQueue", "sqs:DeleteQueue"], "Resource": "arn:q"},
            ]})
        );
    }

    #[test]
    fn the_same_actions_on_other_resources_share_a_statement() {
        let doc = doc(&[
            Grant::new("A", ["logs:CreateLogGroup"], ["arn:a"]),
            Grant::new("B", ["logs:CreateLogGroup"], ["arn:b"]),
        ]);
        assert_eq!(doc["Statement"][0]["Resource"], json!(["arn:a", "arn:b"]));
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn an_action_a_wider_statement_allows_is_not_repeated() {
        let doc = doc(&[
            Grant::new("Trails", ["ct:Get", "ct:Update"], ["arn:trail/*"]),
            Grant::new("OwnTrail", ["ct:Get", "ct:Delete"], ["arn:trail/own"]),
            Grant::new("Wild", ["ct:Get"], ["arn:trail/o*"]),
        ]);
        assert_eq!(doc["Statement"][1]["Action"], "ct:Delete");
        // A pattern is covered only by itself or `*`: `arn:trail/o*` keeps its statement.
        assert_eq!(doc["Statement"][2]["Resource"], "arn:trail/o*");
    }

    #[test]
    fn wildcards_match_as_iam_matches_resources() {
        assert!(matches(
            "arn:aws:logs:*:1:log-group:*",
            "arn:aws:logs:us-east-1:1:log-group:/a:*"
        ));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("*", ""));
        assert!(!matches(
            "arn:x:role/login-alert-*",
            "arn:x:role/Login-alert-a"
        ));
        assert!(matches("arn:*:b*b", "arn:x:bab"));
        assert!(!matches("arn:*:b*b", "arn:x:ba"));
    }

    #[test]
    fn a_condition_keeps_its_statement_apart_and_labels_stay_unique() {
        let all = statements(&[
            Grant::pass_role("PassRole", "arn:r1".into(), "lambda.amazonaws.com"),
            Grant::pass_role("PassRole", "arn:r2".into(), "events.amazonaws.com"),
            Grant::new("PassRole", ["iam:PassRole"], ["arn:r3"]),
        ]);
        let labels: Vec<&str> = all.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["PassRole", "PassRole2", "PassRole3"]);
        let doc = document(&all).to_value();
        assert_eq!(
            doc["Statement"][1]["Condition"]["StringEquals"]["iam:PassedToService"],
            "events.amazonaws.com"
        );
        assert!(doc["Statement"][2].get("Condition").is_none());
    }

    #[test]
    fn only_keeps_the_services_asked_for_on_the_same_resources() {
        let grants = [
            Grant::anywhere(["sts:GetCallerIdentity", "logs:DescribeLogGroups"]),
            Grant::new("Topic", ["sns:CreateTopic"], ["arn:t"]),
        ];
        let logs = only(&grants, |s| s == "logs");
        assert_eq!(
            logs,
            [Grant::anywhere(["logs:DescribeLogGroups"])],
            "the grant without logs actions is dropped"
        );
        assert_eq!(only(&grants, |s| s != "logs").len(), 2);
    }

    #[test]
    fn the_size_is_what_iam_counts_and_keys_keep_their_order() {
        let doc = document(&statements(&[Grant::pass_role(
            "PassRole",
            "arn:r".into(),
            "lambda.amazonaws.com",
        )]));
        let compact = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:r","Condition":{"StringEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}}]}"#;
        assert_eq!(serde_json::to_string(&doc).unwrap(), compact);
        assert_eq!(doc.size(), compact.len());
    }
}

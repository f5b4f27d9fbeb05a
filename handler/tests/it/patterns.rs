//! The subscription filter pattern and the EventBridge event pattern let every alerting record through and keep
//! ordinary API calls out, and the filter pattern fits CloudWatch Logs' 1,024 characters.
//!
//! CloudWatch Logs and EventBridge are the real evaluators of these patterns; the two evaluators below implement
//! only the subset the patterns use (JSON paths with `=`, a trailing `*`, a `%literal%` regex, `IS FALSE`, `&&`,
//! `||` and parentheses; EventBridge `$or`, nested objects, literal arrays and `prefix`), and refuse anything else,
//! so a pattern edited beyond that subset fails here instead of being misjudged. The EventBridge pattern is also
//! tested against moto's PutEvents routing by the CLI's tests.

use crate::support::events as common;

use login_alert_handler::patterns::{
    EVENT_PATTERN_TEMPLATE, MAX_EVENT_PATTERN_LEN, MAX_FILTER_PATTERN_LEN, PatternVars,
    event_pattern, filter_pattern,
};
use login_alert_handler::{PreviewFormat, Settings, preview};
use serde_json::Value;

use common::*;

const VARS: PatternVars = PatternVars {
    prefix: "login-alert",
    partition: "aws",
    region: "us-east-1",
    account: "123456789012",
};

// ---- CloudWatch Logs JSON filter pattern (subset) ----

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Path(String),
    Eq,
    Is,
    False,
    Literal(String),
    Regex(String),
}

fn tokenize(pattern: &str) -> Vec<Token> {
    let inner = pattern
        .trim()
        .strip_prefix('{')
        .and_then(|p| p.strip_suffix('}'))
        .expect("a JSON filter pattern is wrapped in { }");
    let chars: Vec<char> = inner.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1
            }
            '&' if chars.get(i + 1) == Some(&'&') => {
                tokens.push(Token::And);
                i += 2
            }
            '|' if chars.get(i + 1) == Some(&'|') => {
                tokens.push(Token::Or);
                i += 2
            }
            '=' => {
                tokens.push(Token::Eq);
                i += 1
            }
            '"' | '%' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|x| *x == c)
                    .expect("closed quote")
                    + i
                    + 1;
                let text: String = chars[i + 1..end].iter().collect();
                tokens.push(if c == '"' {
                    Token::Literal(text)
                } else {
                    Token::Regex(text)
                });
                i = end + 1;
            }
            '$' => {
                let end = chars[i..]
                    .iter()
                    .position(|x| *x == ' ')
                    .map_or(chars.len(), |p| p + i);
                tokens.push(Token::Path(chars[i + 2..end].iter().collect()));
                i = end;
            }
            _ => {
                let end = chars[i..]
                    .iter()
                    .position(|x| *x == ' ' || *x == ')')
                    .map_or(chars.len(), |p| p + i);
                let word: String = chars[i..end].iter().collect();
                tokens.push(match word.as_str() {
                    "IS" => Token::Is,
                    "FALSE" => Token::False,
                    other => panic!("`{other}` is outside the subset this test evaluates"),
                });
                i = end;
            }
        }
    }
    tokens
}

fn lookup<'v>(record: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(record, |v, key| v.get(key))
}

struct Parser<'t> {
    tokens: &'t [Token],
    at: usize,
}

impl Parser<'_> {
    fn next(&mut self) -> Option<&Token> {
        let t = self.tokens.get(self.at);
        self.at += 1;
        t
    }
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }
    fn or(&mut self, record: &Value) -> bool {
        let mut value = self.and(record);
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            value |= self.and(record);
        }
        value
    }
    fn and(&mut self, record: &Value) -> bool {
        let mut value = self.term(record);
        while self.peek() == Some(&Token::And) {
            self.at += 1;
            value &= self.term(record);
        }
        value
    }
    fn term(&mut self, record: &Value) -> bool {
        match self.next().cloned() {
            Some(Token::Open) => {
                let value = self.or(record);
                assert_eq!(self.next(), Some(&Token::Close));
                value
            }
            Some(Token::Path(path)) => {
                let field = lookup(record, &path);
                match self.next().cloned() {
                    Some(Token::Eq) => match self.next().cloned() {
                        Some(Token::Literal(lit)) => {
                            let Some(Value::String(s)) = field else {
                                return false;
                            };
                            match lit.strip_suffix('*') {
                                Some(prefix) => s.starts_with(prefix),
                                None => *s == lit,
                            }
                        }
                        Some(Token::Regex(re)) => {
                            assert!(
                                re.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                                "regex `{re}` is outside the literal subset this test evaluates"
                            );
                            matches!(field, Some(Value::String(s)) if s.contains(&re))
                        }
                        other => panic!("unexpected {other:?}"),
                    },
                    Some(Token::Is) => {
                        assert_eq!(self.next(), Some(&Token::False));
                        field == Some(&Value::Bool(false))
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn cloudwatch_matches(pattern: &str, record: &Value) -> bool {
    let tokens = tokenize(pattern);
    let mut parser = Parser {
        tokens: &tokens,
        at: 0,
    };
    let value = parser.or(record);
    assert_eq!(parser.at, tokens.len(), "the whole pattern was read");
    value
}

// ---- EventBridge event pattern (subset) ----

fn eventbridge_matches(pattern: &Value, event: &Value) -> bool {
    let Value::Object(fields) = pattern else {
        panic!("a pattern level is an object: {pattern}")
    };
    fields
        .iter()
        .all(|(key, expected)| match (key.as_str(), expected) {
            ("$or", Value::Array(alternatives)) => alternatives
                .iter()
                .any(|alt| eventbridge_matches(alt, event)),
            (_, Value::Object(_)) => event
                .get(key)
                .is_some_and(|inner| eventbridge_matches(expected, inner)),
            (_, Value::Array(values)) => {
                let Some(actual) = event.get(key) else {
                    return false;
                };
                values.iter().any(|v| match v {
                    Value::Object(rule) => {
                        match (rule.len(), rule.get("prefix"), rule.get("wildcard")) {
                            (1, Some(Value::String(p)), _) => {
                                actual.as_str().is_some_and(|s| s.starts_with(p.as_str()))
                            }
                            (1, _, Some(Value::String(w))) => {
                                actual.as_str().is_some_and(|s| wildcard_matches(w, s))
                            }
                            _ => panic!("`{v}` is outside the subset this test evaluates"),
                        }
                    }
                    literal => literal == actual,
                })
            }
            _ => panic!("`{key}: {expected}` is outside the subset this test evaluates"),
        })
}

/// EventBridge's `wildcard`: `*` stands for any run of characters (no escapes in our patterns).
fn wildcard_matches(pattern: &str, value: &str) -> bool {
    assert!(
        !pattern.contains('\\'),
        "escapes are outside the subset: {pattern}"
    );
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return value == pattern;
    }
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The EventBridge event CloudTrail would put for `record`: `aws.<service>` from its event source.
fn as_eventbridge(record: &Value) -> Value {
    let event_source = record["eventSource"].as_str().unwrap_or("");
    let source = if event_source == "login-alert.test" {
        event_source.to_owned()
    } else {
        format!("aws.{}", event_source.split('.').next().unwrap_or(""))
    };
    let detail_type = if source == "aws.signin" {
        "AWS Console Sign In via CloudTrail"
    } else {
        "AWS API Call via CloudTrail"
    };
    serde_json::json!({"source": source, "detail-type": detail_type, "detail": record})
}

// ---- the tests ----

fn alerting(name: &str) -> bool {
    let out = preview(
        fixture(name).as_bytes(),
        &Settings::default(),
        PreviewFormat::Json,
    )
    .unwrap();
    out.alerts > 0
}

#[test]
fn the_filter_pattern_fits_cloudwatch_logs_limit_at_the_longest_names() {
    let longest = PatternVars {
        prefix: &"a".repeat(24),
        partition: "aws-us-gov",
        region: "ap-southeast-7",
        account: "123456789012",
    };
    let pattern = filter_pattern(&longest);
    assert!(
        pattern.len() <= MAX_FILTER_PATTERN_LEN,
        "{} characters: {pattern}",
        pattern.len()
    );
    assert!(
        !pattern.contains('\n') && !pattern.contains("${"),
        "{pattern}"
    );
    assert!(filter_pattern(&VARS).len() <= MAX_FILTER_PATTERN_LEN);
    // Two regex terms at most: CloudWatch Logs' limit per pattern.
    assert!(pattern.matches('%').count() <= 4, "{pattern}");
}

#[test]
fn the_event_pattern_is_json_with_every_placeholder_filled() {
    serde_json::from_str::<Value>(EVENT_PATTERN_TEMPLATE).expect("the asset is JSON");
    let pattern = event_pattern(&VARS);
    assert!(!pattern.contains("${"), "{pattern}");
    let value: Value = serde_json::from_str(&pattern).unwrap();
    // The changes to login-alert's own resources share one `readOnly: false` term, its alternatives in a `$or`.
    let top = value["$or"].as_array().unwrap();
    let nested: usize = top
        .iter()
        .filter_map(|alt| alt["detail"]["requestParameters"]["$or"].as_array())
        .map(Vec::len)
        .sum();
    assert!(top.len() + nested >= 18, "{pattern}");
    assert!(pattern.contains("arn:aws:sns:us-east-1:123456789012:login-alert-alerts"));
}

#[test]
fn both_patterns_let_every_alerting_fixture_through() {
    let filter = filter_pattern(&VARS);
    let event: Value = serde_json::from_str(&event_pattern(&VARS)).unwrap();
    let mut checked = 0;
    for name in fixture_names().iter().filter(|n| alerting(n)) {
        for record in fixture_records(name) {
            let record: Value = serde_json::from_str(&record).unwrap();
            assert!(
                cloudwatch_matches(&filter, &record),
                "filter pattern drops {name}"
            );
            assert!(
                eventbridge_matches(&event, &as_eventbridge(&record)),
                "event pattern drops {name}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked} alerting fixtures");
    // The test record, sent by `login-alert test` in either mode.
    let test: Value = serde_json::from_str(&login_alert_handler::test_record(
        "id",
        "PutLogEvents",
        chrono::Utc::now(),
        "123456789012",
        "us-east-1",
    ))
    .unwrap();
    assert!(cloudwatch_matches(&filter, &test));
    assert!(eventbridge_matches(&event, &as_eventbridge(&test)));
}

#[test]
fn both_patterns_keep_ordinary_api_calls_out() {
    let filter = filter_pattern(&VARS);
    let event: Value = serde_json::from_str(&event_pattern(&VARS)).unwrap();
    for name in [
        "elastic-aws-cloudtrail__attach-role-policy",
        "elastic-aws-cloudtrail__delete-rule",
        "elastic-aws-cloudtrail__subscribe-other-topic",
        "elastic-aws-cloudtrail__iam-user-deactivate-own-mfa",
        "panther-lambda-crud__delete-other-function",
        "panther-backdoor-lambda-function__add-permission-other-function",
        "panther-cloudtrail-stopped__start-logging",
        "panther-console-root-login-failed__dynamodb-describe-table",
        "panther-root-activity__iam-user-get-bucket-acl",
        "awslabs-lambda-events__sso-role-invoked-by-service-catalog",
    ] {
        assert!(!alerting(name), "{name} is an ordinary call");
        let record: Value = serde_json::from_str(&fixture_records(name).remove(0)).unwrap();
        assert!(
            !cloudwatch_matches(&filter, &record),
            "filter pattern lets {name} through"
        );
        assert!(
            !eventbridge_matches(&event, &as_eventbridge(&record)),
            "event pattern lets {name} through"
        );
    }
}

#[test]
fn changes_to_the_pipelines_own_resources_get_through_when_named_from_the_prefix() {
    // The published AttachRolePolicy on `cloudtrail-role` is a change to a pipeline whose prefix is `cloudtrail`.
    let vars = PatternVars {
        prefix: "cloudtrail",
        ..VARS
    };
    let record: Value = serde_json::from_str(
        &fixture_records("elastic-aws-cloudtrail__attach-role-policy").remove(0),
    )
    .unwrap();
    assert!(cloudwatch_matches(&filter_pattern(&vars), &record));
    let event: Value = serde_json::from_str(&event_pattern(&vars)).unwrap();
    assert!(eventbridge_matches(&event, &as_eventbridge(&record)));
    // Read-only calls on the same resources stay out.
    let mut read = record.clone();
    read["eventName"] = Value::from("GetRolePolicy");
    read["readOnly"] = Value::from(true);
    assert!(!cloudwatch_matches(&filter_pattern(&vars), &read));
    assert!(!eventbridge_matches(&event, &as_eventbridge(&read)));
}

#[test]
fn changes_to_the_state_table_reach_eventbridge_and_other_tables_stay_out() {
    // The shape of a DeleteTable record (documented request parameters of the DynamoDB API). Only the
    // EventBridge pattern names the table: the filter pattern has no room left under CloudWatch Logs'
    // 1,024 characters at the longest prefix, and losing the table costs duplicates, not alerts.
    let record = |table: &str, read_only: bool| -> Value {
        serde_json::json!({
            "eventSource": "dynamodb.amazonaws.com",
            "eventName": if read_only { "DescribeTable" } else { "DeleteTable" },
            "readOnly": read_only,
            "userIdentity": {"type": "IAMUser"},
            "requestParameters": {"tableName": table}
        })
    };
    let event: Value = serde_json::from_str(&event_pattern(&VARS)).unwrap();
    assert!(eventbridge_matches(
        &event,
        &as_eventbridge(&record("login-alert-state", false))
    ));
    for other in [record("orders", false), record("login-alert-state", true)] {
        assert!(
            !eventbridge_matches(&event, &as_eventbridge(&other)),
            "{other}"
        );
    }
}

#[test]
fn the_event_pattern_fits_eventbridges_limit_at_the_longest_names() {
    let longest = PatternVars {
        prefix: &"a".repeat(24),
        partition: "aws-us-gov",
        region: "ap-southeast-7",
        account: "123456789012",
    };
    let pattern = event_pattern(&longest);
    assert!(
        pattern.len() <= MAX_EVENT_PATTERN_LEN,
        "{} characters: {pattern}",
        pattern.len()
    );
}

#[test]
fn the_wildcard_evaluator_reads_stars_as_any_run() {
    assert!(wildcard_matches(
        "*:stack/StackSet-x-*",
        "arn:aws:cloudformation:us-east-1:1:stack/StackSet-x-1/2"
    ));
    assert!(!wildcard_matches("*:stack/StackSet-x-*", "StackSet-x-1"));
    assert!(wildcard_matches(
        "*:event-bus/x-central",
        "arn:aws:events:eu-west-1:1:event-bus/x-central"
    ));
    assert!(!wildcard_matches(
        "*:event-bus/x-central",
        "arn:aws:events:eu-west-1:1:event-bus/x-central-2"
    ));
}

#[test]
fn changes_to_organization_coverage_reach_eventbridge_and_the_same_calls_elsewhere_stay_out() {
    let event: Value = serde_json::from_str(&event_pattern(&VARS)).unwrap();
    let names = crate::organization::org_fixture_names();
    assert!(names.len() >= 9, "{names:?}");
    for name in &names {
        let record: Value = serde_json::from_str(&crate::organization::org_fixture(name)).unwrap();
        assert!(
            eventbridge_matches(&event, &as_eventbridge(&record)),
            "event pattern drops {name}"
        );
        // By the resource's name, not because a root user made the call.
        let mut not_root = record.clone();
        not_root["userIdentity"]["type"] = Value::from("IAMUser");
        assert!(
            eventbridge_matches(&event, &as_eventbridge(&not_root)),
            "event pattern drops {name} when not made by root"
        );
        // The same call on a resource of another prefix, and the read of ours, stay out (trusted access
        // names no resource of ours).
        let elsewhere: Value = serde_json::from_str(
            &crate::organization::org_fixture(name).replace("login-alert-", "billing-"),
        )
        .unwrap();
        // Not the root user, whose every call gets through anyway.
        let mut elsewhere = elsewhere;
        elsewhere["userIdentity"]["type"] = Value::from("IAMUser");
        assert!(
            name.contains("trusted-access")
                || !eventbridge_matches(&event, &as_eventbridge(&elsewhere)),
            "event pattern lets {name} on another prefix through"
        );
        let mut read = record.clone();
        read["readOnly"] = Value::from(true);
        read["userIdentity"]["type"] = Value::from("IAMUser");
        assert!(
            !eventbridge_matches(&event, &as_eventbridge(&read)),
            "event pattern lets a read through: {name}"
        );
    }
}

//! A small evaluator of identity policies, enough for what login-alert writes: Allow (and Deny)
//! statements with `Action` and `Resource` lists holding `*` and `?` wildcards, and the
//! `StringEquals` / `StringLike` conditions. Anything else in a policy fails the test that reads it.

use serde_json::Value;

use super::needs::Need;

/// Whether `policy` allows `need`: `policy` is one document, or several by name (what `login-alert
/// policy --output json` prints), all attached to the same identity: some Allow statement of any of
/// them matches and no Deny statement of any does.
pub fn allows(policy: &Value, need: &Need) -> bool {
    let documents: Vec<&Value> = if policy.get("Statement").is_some() {
        vec![policy]
    } else {
        policy
            .as_object()
            .expect("a policy document, or documents by name")
            .values()
            .collect()
    };
    let mut allowed = false;
    for document in documents {
        match verdict(document, need) {
            Some("Deny") => return false,
            Some(_) => allowed = true,
            None => {}
        }
    }
    allowed
}

/// `Deny` if a Deny statement of `document` matches `need`, else `Allow` if an Allow one does.
fn verdict(document: &Value, need: &Need) -> Option<&'static str> {
    assert!(
        document.get("Statement").is_some(),
        "not a policy document: {document}"
    );
    let statements = match &document["Statement"] {
        Value::Array(items) => items.clone(),
        single => vec![single.clone()],
    };
    let mut allowed = None;
    for statement in &statements {
        for key in statement
            .as_object()
            .expect("a statement is an object")
            .keys()
        {
            assert!(
                matches!(
                    key.as_str(),
                    "Sid" | "Effect" | "Action" | "Resource" | "Condition"
                ),
                "the evaluator does not know `{key}` (statement {statement})"
            );
        }
        if !applies(statement, need) {
            continue;
        }
        match statement["Effect"].as_str() {
            Some("Allow") => allowed = Some("Allow"),
            Some("Deny") => return Some("Deny"),
            other => panic!("Effect {other:?} in {statement}"),
        }
    }
    allowed
}

fn list(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn applies(statement: &Value, need: &Need) -> bool {
    // Actions are case-insensitive, resources are not.
    list(&statement["Action"])
        .iter()
        .any(|a| glob(&a.to_ascii_lowercase(), &need.action.to_ascii_lowercase()))
        && list(&statement["Resource"])
            .iter()
            .any(|r| glob(r, &need.resource))
        && condition_holds(&statement["Condition"], need)
}

/// Every operator's every key must hold; a key the request does not carry does not hold.
fn condition_holds(condition: &Value, need: &Need) -> bool {
    let Some(operators) = condition.as_object() else {
        return true;
    };
    operators.iter().all(|(operator, keys)| {
        keys.as_object()
            .expect("a condition operator maps keys to values")
            .iter()
            .all(|(key, wanted)| {
                let Some(value) = need
                    .context
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v.as_str())
                else {
                    return false;
                };
                let wanted = list(wanted);
                match operator.as_str() {
                    "StringEquals" => wanted.contains(&value),
                    "StringLike" => wanted.iter().any(|w| glob(w, value)),
                    other => panic!("the evaluator does not know condition operator {other}"),
                }
            })
    })
}

/// `*` matches any run of characters, `?` any one.
pub fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn need(action: &str, resource: &str) -> Need {
        Need {
            action: action.into(),
            resource: resource.into(),
            context: Default::default(),
        }
    }

    #[test]
    fn wildcards_in_actions_and_resources() {
        let policy = json!({"Statement": [{"Effect": "Allow", "Action": ["logs:Describe*"], "Resource": "arn:aws:logs:*:1:log-group:/login-alert/?"}]});
        assert!(allows(
            &policy,
            &need(
                "logs:DescribeLogGroups",
                "arn:aws:logs:eu-west-1:1:log-group:/login-alert/a"
            )
        ));
        assert!(allows(
            &policy,
            &need(
                "LOGS:describeloggroups",
                "arn:aws:logs:eu-west-1:1:log-group:/login-alert/a"
            )
        ));
        assert!(!allows(
            &policy,
            &need(
                "logs:DescribeLogGroups",
                "arn:aws:logs:eu-west-1:1:log-group:/login-alert/ab"
            )
        ));
        assert!(!allows(
            &policy,
            &need(
                "logs:DeleteLogGroup",
                "arn:aws:logs:eu-west-1:1:log-group:/login-alert/a"
            )
        ));
        assert!(!allows(
            &policy,
            &need(
                "logs:DescribeLogGroups",
                "arn:aws:logs:eu-west-1:2:log-group:/login-alert/a"
            )
        ));
    }

    #[test]
    fn conditions_must_hold_and_missing_keys_do_not() {
        let policy = json!({"Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::1:role/r",
            "Condition": {"StringEquals": {"iam:PassedToService": ["lambda.amazonaws.com"]}}}]});
        assert!(allows(
            &policy,
            &Need::pass_role("arn:aws:iam::1:role/r", "lambda.amazonaws.com")
        ));
        assert!(!allows(
            &policy,
            &Need::pass_role("arn:aws:iam::1:role/r", "ec2.amazonaws.com")
        ));
        assert!(!allows(
            &policy,
            &need("iam:PassRole", "arn:aws:iam::1:role/r")
        ));
        let like = json!({"Statement": {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
            "Condition": {"StringLike": {"iam:PassedToService": "*.amazonaws.com"}}}});
        assert!(allows(
            &like,
            &Need::pass_role("arn:aws:iam::1:role/r", "events.amazonaws.com")
        ));
    }

    #[test]
    fn a_deny_wins() {
        let policy = json!({"Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "sns:Unsubscribe", "Resource": "*"}
        ]});
        assert!(!allows(&policy, &need("sns:Unsubscribe", "*")));
        assert!(allows(&policy, &need("sns:Subscribe", "arn:t")));
    }

    #[test]
    fn documents_by_name_allow_what_any_allows_and_a_deny_in_any_wins() {
        let both = json!({
            "trail": {"Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}]},
            "function": {"Statement": [{"Effect": "Allow", "Action": "lambda:ListTags", "Resource": "arn:f"}]},
        });
        assert!(allows(&both, &need("lambda:ListTags", "arn:f")));
        assert!(allows(&both, &need("logs:PutLogEvents", "arn:g")));
        assert!(!allows(&both, &need("lambda:GetFunction", "arn:f")));
        let denied = json!({
            "a": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
            "b": {"Statement": [{"Effect": "Deny", "Action": "lambda:ListTags", "Resource": "*"}]},
        });
        assert!(!allows(&denied, &need("lambda:ListTags", "arn:f")));
    }

    #[test]
    #[should_panic(expected = "NotAction")]
    fn what_it_does_not_know_is_not_guessed() {
        allows(
            &json!({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}),
            &need("sns:Publish", "arn:t"),
        );
    }
}

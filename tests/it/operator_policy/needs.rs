//! What IAM authorizes for one recorded request: its action(s) and the resource(s), read from the
//! request as AWS reads it (the Service Authorization Reference's action and resource for each
//! operation, plus the actions a request needs besides its own: tags at creation, roles handed over).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::Recorded;

/// One action IAM checks on one resource, with the condition keys the request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub action: String,
    pub resource: String,
    pub context: BTreeMap<String, String>,
}

impl Need {
    pub fn new(action: &str, resource: impl Into<String>) -> Self {
        Need {
            action: action.to_owned(),
            resource: resource.into(),
            context: BTreeMap::new(),
        }
    }

    /// `iam:PassRole` of `role` to `service`.
    pub fn pass_role(role: &str, service: &str) -> Self {
        let mut need = Need::new("iam:PassRole", role);
        need.context
            .insert("iam:PassedToService".into(), service.into());
        need
    }
}

impl std::fmt::Display for Need {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {}", self.action, self.resource)?;
        for (k, v) in &self.context {
            write!(f, " ({k} = {v})")?;
        }
        Ok(())
    }
}

/// Where the request went: ARNs are built in this partition, account and region.
struct At<'a> {
    account: &'a str,
    region: &'a str,
}

impl At<'_> {
    fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:{resource}",
            self.region, self.account
        )
    }
    fn log_group(&self, name: &str) -> String {
        self.arn("logs", &format!("log-group:{name}"))
    }
    fn trail(&self, name_or_arn: &str) -> String {
        if name_or_arn.starts_with("arn:") {
            name_or_arn.to_owned()
        } else {
            self.arn("cloudtrail", &format!("trail/{name_or_arn}"))
        }
    }
    fn rule(&self, name: &str) -> String {
        self.arn("events", &format!("rule/{name}"))
    }
    fn role(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:role/{name}", self.account)
    }
    fn function(&self, name_or_arn: &str) -> String {
        if name_or_arn.starts_with("arn:") {
            name_or_arn.to_owned()
        } else {
            self.arn("lambda", &format!("function:{name_or_arn}"))
        }
    }
    fn parameter(&self, name: &str) -> String {
        self.arn(
            "ssm",
            &format!("parameter/{}", name.trim_start_matches('/')),
        )
    }
}

/// The request's parameters: its JSON body, or its form (query protocols), by name.
enum Params {
    Json(Value),
    Form(BTreeMap<String, String>),
}

impl Params {
    fn of(r: &Recorded) -> Self {
        match serde_json::from_str::<Value>(&r.body) {
            Ok(json) if json.is_object() => Params::Json(json),
            _ => Params::Form(
                url::form_urlencoded::parse(r.body.as_bytes())
                    .into_owned()
                    .collect(),
            ),
        }
    }

    fn str(&self, key: &str) -> Option<String> {
        match self {
            Params::Json(json) => json[key].as_str().map(str::to_owned),
            Params::Form(form) => form.get(key).cloned(),
        }
    }

    fn json(&self, key: &str) -> &Value {
        match self {
            Params::Json(json) => &json[key],
            Params::Form(_) => &Value::Null,
        }
    }

    /// `Key.member.1`, `Key.member.2`, … of a query-protocol list.
    fn members(&self, key: &str) -> Vec<String> {
        match self {
            Params::Form(form) => (1..)
                .map_while(|i| form.get(&format!("{key}.member.{i}")).cloned())
                .collect(),
            Params::Json(_) => Vec::new(),
        }
    }

    /// Whether the request carries a non-empty list (or map) under `key` (JSON) or `key.member.1` (form).
    fn has_list(&self, key: &str) -> bool {
        match self {
            Params::Json(json) => match &json[key] {
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !o.is_empty(),
                _ => false,
            },
            Params::Form(form) => form
                .keys()
                .any(|k| k.starts_with(&format!("{key}.member.1"))),
        }
    }

    fn need(&self, key: &str) -> Result<String, String> {
        self.str(key)
            .ok_or_else(|| format!("no {key} in the request"))
    }
}

/// Actions a call needs besides its own, on the same resource, because part of its answer is given
/// only to callers allowed them: without the second action the call still succeeds, but that part
/// is missing (and code reading it would take "missing" for "absent").
///
/// What was checked, for every read login-alert makes (the AWS API references, and the documentation
/// of each answer in the aws-sdk-* models of Cargo.lock, where only GetFunction's names a permission):
/// - lambda:GetFunction: `Tags` only with an explicit allow of lambda:ListTags, else `TagsError`
///   (Lambda API reference, GetFunction): listed here. GetFunctionConfiguration, GetPolicy,
///   GetFunctionEventInvokeConfig: nothing of the kind.
/// - iam:GetRole: returns `Tags` (and `RoleLastUsed`) with iam:GetRole alone; login-alert reads
///   the tags with iam:ListRoleTags anyway. GetRolePolicy, ListRolePolicies, ListAttachedRolePolicies: none.
/// - events:DescribeRule: no tags in the answer (they come from ListTagsForResource, its own call);
///   ListTargetsByRule: none.
/// - sns:GetTopicAttributes: attributes only, no tags (ListTagsForResource); ListSubscriptionsByTopic: none.
/// - dynamodb:DescribeTable: no tags (ListTagsOfResource) and no TTL (DescribeTimeToLive), both own calls.
/// - cloudtrail:DescribeTrails, GetTrail, GetTrailStatus: no tags (ListTags, its own call).
/// - logs:DescribeLogGroups, DescribeSubscriptionFilters: no tags (ListTagsForResource).
///   logs:FilterLogEvents unmasks data only with `unmask` and logs:Unmask: login-alert never asks.
/// - ssm:GetParameter with decryption: the SecureStrings use the AWS managed key aws/ssm, whose key
///   policy lets the account's principals decrypt through SSM; no IAM kms:Decrypt is checked (a
///   customer managed key would need it: login-alert never uses one).
/// - sqs:GetQueueAttributes (ListQueueTags), cloudwatch:DescribeAlarms (ListTagsForResource): no tags.
/// - s3: tags, policy and public access block each come from their own call; none carries another's.
/// - cloudwatch:GetMetricData, account:ListRegions, organizations:ListAccounts, sts:GetCallerIdentity,
///   iam:ListAccountAliases: nothing of the kind.
pub const SECONDARY: [(&str, &str); 1] = [("lambda:GetFunction", "lambda:ListTags")];

/// Every action and resource IAM checks for `r`, a request made in `account` (the secondary
/// actions included); an error names a request this mapping does not know (the test then fails:
/// teach it the operation).
pub fn needs(r: &Recorded, account: &str) -> Result<Vec<Need>, String> {
    let mut found = own_needs(r, account)?;
    let secondary: Vec<Need> = found
        .iter()
        .flat_map(|need| {
            SECONDARY
                .iter()
                .filter(|(action, _)| *action == need.action)
                .map(|(_, also)| Need::new(also, need.resource.clone()))
        })
        .collect();
    found.extend(secondary);
    Ok(found)
}

/// The action(s) of the call itself.
fn own_needs(r: &Recorded, account: &str) -> Result<Vec<Need>, String> {
    let at = At {
        account,
        region: &r.region,
    };
    let p = Params::of(r);
    let op = r.operation.as_str();
    let one = |action: &str, resource: String| Ok(vec![Need::new(action, resource)]);
    let star = |action: &str| Ok(vec![Need::new(action, "*")]);
    match r.service.as_str() {
        "sts" => match op {
            "GetCallerIdentity" => star("sts:GetCallerIdentity"),
            _ => Err(unknown(r)),
        },
        "iam" => {
            let action = format!("iam:{op}");
            match op {
                "ListAccountAliases" => star(&action),
                "CreateRole" => {
                    let role = at.role(&p.need("RoleName")?);
                    let mut needs = vec![Need::new(&action, role.clone())];
                    if p.has_list("Tags") {
                        needs.push(Need::new("iam:TagRole", role));
                    }
                    Ok(needs)
                }
                "GetRole"
                | "GetRolePolicy"
                | "ListRoleTags"
                | "ListRolePolicies"
                | "ListAttachedRolePolicies"
                | "UpdateAssumeRolePolicy"
                | "PutRolePolicy"
                | "DeleteRolePolicy"
                | "DetachRolePolicy"
                | "DeleteRole"
                | "TagRole"
                | "UpdateRole" => one(&action, at.role(&p.need("RoleName")?)),
                _ => Err(unknown(r)),
            }
        }
        "logs" => logs(r, &at, &p),
        "cloudtrail" => cloudtrail(r, &at, &p),
        "events" => events(r, &at, &p),
        "cloudformation" => {
            let action = format!("cloudformation:{op}");
            // A StackSet's ARN ends in the ID CloudFormation gave it, which the request does not carry.
            let stack_set = || {
                p.need("StackSetName")
                    .map(|n| at.arn("cloudformation", &format!("stackset/{n}:*")))
            };
            match op {
                "CreateStackSet" => {
                    let mut needs = vec![Need::new(&action, stack_set()?)];
                    if p.has_list("Tags") {
                        needs.push(Need::new("cloudformation:TagResource", stack_set()?));
                    }
                    Ok(needs)
                }
                "DescribeStackSet"
                | "ListStackInstances"
                | "DescribeStackSetOperation"
                | "ListStackSetOperationResults"
                | "UpdateStackSet"
                | "CreateStackInstances"
                | "DeleteStackInstances"
                | "DeleteStackSet" => one(&action, stack_set()?),
                _ => Err(unknown(r)),
            }
        }
        "organizations" => match op {
            "ListAccounts"
            | "DescribeOrganization"
            | "ListDelegatedAdministrators"
            | "ListAWSServiceAccessForOrganization"
            | "ListRoots"
            | "DescribeOrganizationalUnit"
            | "ListAccountsForParent"
            | "ListOrganizationalUnitsForParent" => {
                one(&format!("organizations:{op}"), "*".to_owned())
            }
            _ => Err(unknown(r)),
        },
        "monitoring" => {
            let action = format!("cloudwatch:{op}");
            match op {
                "GetMetricData" => star(&action),
                "DescribeAlarms" | "DeleteAlarms" => {
                    let names = p.members("AlarmNames");
                    if names.is_empty() {
                        return star(&action);
                    }
                    Ok(names
                        .iter()
                        .map(|n| Need::new(&action, at.arn("cloudwatch", &format!("alarm:{n}"))))
                        .collect())
                }
                "PutMetricAlarm" => {
                    let alarm = at.arn("cloudwatch", &format!("alarm:{}", p.need("AlarmName")?));
                    let mut needs = vec![Need::new(&action, alarm.clone())];
                    if p.has_list("Tags") {
                        needs.push(Need::new("cloudwatch:TagResource", alarm));
                    }
                    Ok(needs)
                }
                "ListTagsForResource" | "TagResource" => one(&action, p.need("ResourceARN")?),
                _ => Err(unknown(r)),
            }
        }
        "sns" => {
            let action = format!("sns:{op}");
            match op {
                // The Service Authorization Reference lists no resource type for Unsubscribe.
                "Unsubscribe" => star(&action),
                "CreateTopic" => {
                    let topic = at.arn("sns", &p.need("Name")?);
                    let mut needs = vec![Need::new(&action, topic.clone())];
                    if p.has_list("Tags") {
                        needs.push(Need::new("sns:TagResource", topic));
                    }
                    Ok(needs)
                }
                "GetTopicAttributes"
                | "SetTopicAttributes"
                | "ListSubscriptionsByTopic"
                | "Subscribe"
                | "DeleteTopic"
                | "Publish" => one(&action, p.need("TopicArn")?),
                "ListTagsForResource" | "TagResource" => one(&action, p.need("ResourceArn")?),
                _ => Err(unknown(r)),
            }
        }
        "ssm" => {
            let action = format!("ssm:{op}");
            match op {
                "GetParameter" | "DeleteParameter" => one(&action, at.parameter(&p.need("Name")?)),
                "PutParameter" => {
                    let parameter = at.parameter(&p.need("Name")?);
                    let mut needs = vec![Need::new(&action, parameter.clone())];
                    if p.has_list("Tags") {
                        needs.push(Need::new("ssm:AddTagsToResource", parameter));
                    }
                    Ok(needs)
                }
                "ListTagsForResource" | "AddTagsToResource" => {
                    one(&action, at.parameter(&p.need("ResourceId")?))
                }
                _ => Err(unknown(r)),
            }
        }
        "sqs" => {
            let action = format!("sqs:{op}");
            let queue = |name: &str| at.arn("sqs", name);
            match op {
                "CreateQueue" => {
                    let arn = queue(&p.need("QueueName")?);
                    let mut needs = vec![Need::new(&action, arn.clone())];
                    if p.has_list("tags") || p.has_list("Tag") {
                        needs.push(Need::new("sqs:TagQueue", arn));
                    }
                    Ok(needs)
                }
                "GetQueueUrl" => one(&action, queue(&p.need("QueueName")?)),
                "GetQueueAttributes" | "SetQueueAttributes" | "ListQueueTags" | "TagQueue"
                | "DeleteQueue" | "SendMessage" => {
                    let url = p.need("QueueUrl")?;
                    one(&action, queue(url.rsplit('/').next().unwrap_or(&url)))
                }
                _ => Err(unknown(r)),
            }
        }
        "lambda" => lambda(r, &at, &p),
        "s3" => s3(r),
        "account" => match path_of(&r.url).as_str() {
            "/listRegions" => one(
                "account:ListRegions",
                format!("arn:aws:account::{account}:account"),
            ),
            _ => Err(unknown(r)),
        },
        "dynamodb" => {
            let action = format!("dynamodb:{op}");
            let table = |name: &str| at.arn("dynamodb", &format!("table/{name}"));
            match op {
                "BatchGetItem" | "BatchWriteItem" => Ok(p
                    .json("RequestItems")
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, _)| Need::new(&action, table(name)))
                    .collect()),
                "ListTagsOfResource" | "TagResource" => one(&action, p.need("ResourceArn")?),
                "CreateTable" => {
                    let arn = table(&p.need("TableName")?);
                    let mut needs = vec![Need::new(&action, arn.clone())];
                    if p.has_list("Tags") {
                        needs.push(Need::new("dynamodb:TagResource", arn));
                    }
                    Ok(needs)
                }
                _ => one(&action, table(&p.need("TableName")?)),
            }
        }
        _ => Err(unknown(r)),
    }
}

fn unknown(r: &Recorded) -> String {
    format!(
        "no IAM mapping for {} {} ({} {})",
        r.service, r.operation, r.method, r.url
    )
}

fn logs(r: &Recorded, at: &At, p: &Params) -> Result<Vec<Need>, String> {
    let op = r.operation.as_str();
    let action = format!("logs:{op}");
    let group = || -> Result<String, String> {
        p.str("logGroupName")
            .or_else(|| p.str("logGroupIdentifier"))
            .ok_or_else(|| "no log group in the request".to_owned())
    };
    // IAM checks some CloudWatch Logs actions against `log-group:NAME` and others against
    // `log-group:NAME:*`: a policy must allow both for the call to pass whichever AWS uses.
    let both = |arn: String| {
        Ok(vec![
            Need::new(&action, arn.clone()),
            Need::new(&action, format!("{arn}:*")),
        ])
    };
    match op {
        "DescribeLogGroups" | "TestMetricFilter" => Ok(vec![Need::new(&action, "*")]),
        "ListTagsForResource" | "TagResource" => {
            let arn = p.need("resourceArn")?;
            both(arn.trim_end_matches(":*").to_owned())
        }
        "CreateLogGroup" => {
            let arn = at.log_group(&group()?);
            let mut needs = both(arn.clone())?;
            if p.has_list("tags") {
                needs.push(Need::new("logs:TagResource", arn.clone()));
                needs.push(Need::new("logs:TagResource", format!("{arn}:*")));
            }
            Ok(needs)
        }
        "PutRetentionPolicy"
        | "DeleteLogGroup"
        | "DescribeSubscriptionFilters"
        | "DescribeMetricFilters"
        | "PutMetricFilter"
        | "DeleteMetricFilter"
        | "PutSubscriptionFilter"
        | "DeleteSubscriptionFilter"
        | "DescribeLogStreams"
        | "FilterLogEvents" => both(at.log_group(&group()?)),
        "CreateLogStream" | "DeleteLogStream" | "PutLogEvents" => Ok(vec![Need::new(
            &action,
            format!(
                "{}:log-stream:{}",
                at.log_group(&group()?),
                p.need("logStreamName")?
            ),
        )]),
        _ => Err(unknown(r)),
    }
}

fn cloudtrail(r: &Recorded, at: &At, p: &Params) -> Result<Vec<Need>, String> {
    let op = r.operation.as_str();
    let action = format!("cloudtrail:{op}");
    match op {
        "DescribeTrails" | "ListTrails" => Ok(vec![Need::new(&action, "*")]),
        "ListTags" => Ok(p
            .json("ResourceIdList")
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|arn| Need::new(&action, at.trail(arn)))
            .collect()),
        "AddTags" | "RemoveTags" => Ok(vec![Need::new(&action, at.trail(&p.need("ResourceId")?))]),
        "CreateTrail" | "UpdateTrail" => {
            let trail = at.trail(&p.need("Name")?);
            let mut needs = vec![Need::new(&action, trail.clone())];
            if op == "CreateTrail" && p.has_list("TagsList") {
                needs.push(Need::new("cloudtrail:AddTags", trail));
            }
            if let Some(role) = p.str("CloudWatchLogsRoleArn").filter(|r| !r.is_empty()) {
                needs.push(Need::pass_role(&role, "cloudtrail.amazonaws.com"));
            }
            Ok(needs)
        }
        "GetTrailStatus" | "GetTrail" | "StartLogging" | "StopLogging" | "DeleteTrail" => {
            Ok(vec![Need::new(&action, at.trail(&p.need("Name")?))])
        }
        _ => Err(unknown(r)),
    }
}

fn events(r: &Recorded, at: &At, p: &Params) -> Result<Vec<Need>, String> {
    let op = r.operation.as_str();
    let action = format!("events:{op}");
    // A rule on a bus other than the default one is `rule/BUS/NAME` (Service Authorization Reference, EventBridge).
    let rule = |name: String| match p.str("EventBusName") {
        Some(bus) if bus != "default" => at.rule(&format!("{bus}/{name}")),
        _ => at.rule(&name),
    };
    let bus = |name: String| at.arn("events", &format!("event-bus/{name}"));
    match op {
        "DescribeRule" | "DeleteRule" => Ok(vec![Need::new(&action, rule(p.need("Name")?))]),
        "PutRule" => {
            let rule = rule(p.need("Name")?);
            let mut needs = vec![Need::new(&action, rule.clone())];
            if p.has_list("Tags") {
                needs.push(Need::new("events:TagResource", rule));
            }
            Ok(needs)
        }
        "ListTargetsByRule" | "RemoveTargets" => {
            Ok(vec![Need::new(&action, rule(p.need("Rule")?))])
        }
        "PutTargets" => {
            let mut needs = vec![Need::new(&action, rule(p.need("Rule")?))];
            for target in p.json("Targets").as_array().into_iter().flatten() {
                if let Some(role) = target["RoleArn"].as_str() {
                    needs.push(Need::pass_role(role, "events.amazonaws.com"));
                }
            }
            Ok(needs)
        }
        "DescribeEventBus" | "DeleteEventBus" => Ok(vec![Need::new(&action, bus(p.need("Name")?))]),
        "CreateEventBus" => {
            let created = bus(p.need("Name")?);
            let mut needs = vec![Need::new(&action, created.clone())];
            if p.has_list("Tags") {
                needs.push(Need::new("events:TagResource", created));
            }
            Ok(needs)
        }
        "PutPermission" => Ok(vec![Need::new(&action, bus(p.need("EventBusName")?))]),
        "ListTagsForResource" | "TagResource" => {
            Ok(vec![Need::new(&action, p.need("ResourceARN")?)])
        }
        "PutEvents" => Ok(p
            .json("Entries")
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| {
                let bus = entry["EventBusName"].as_str().unwrap_or("default");
                let arn = if bus.starts_with("arn:") {
                    bus.to_owned()
                } else {
                    at.arn("events", &format!("event-bus/{bus}"))
                };
                Need::new(&action, arn)
            })
            .collect()),
        _ => Err(unknown(r)),
    }
}

/// The URL's path, percent-decoded, without the query.
fn path_of(url: &str) -> String {
    let after_host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split_once('/')
        .map_or("", |(_, path)| path);
    let path = after_host.split('?').next().unwrap_or("");
    percent_encoding::percent_decode_str(&format!("/{path}"))
        .decode_utf8_lossy()
        .into_owned()
}

/// The URL's query parameter names.
fn query_keys(url: &str) -> Vec<String> {
    url.split_once('?')
        .map(|(_, q)| {
            q.split('&')
                .map(|kv| kv.split('=').next().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn lambda(r: &Recorded, at: &At, p: &Params) -> Result<Vec<Need>, String> {
    let path = path_of(&r.url);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = r.method.as_str();
    let (action, function) = match (method, segments.as_slice()) {
        ("POST", [_, "functions"]) => {
            let function = at.function(&p.need("FunctionName")?);
            let mut needs = vec![Need::new("lambda:CreateFunction", function.clone())];
            if p.has_list("Tags") {
                needs.push(Need::new("lambda:TagResource", function));
            }
            needs.push(Need::pass_role(&p.need("Role")?, "lambda.amazonaws.com"));
            return Ok(needs);
        }
        ("GET", [_, "functions", name]) => ("GetFunction", *name),
        ("DELETE", [_, "functions", name]) => ("DeleteFunction", *name),
        ("GET", [_, "functions", name, "configuration"]) => ("GetFunctionConfiguration", *name),
        ("PUT", [_, "functions", name, "configuration"]) => ("UpdateFunctionConfiguration", *name),
        ("PUT", [_, "functions", name, "code"]) => ("UpdateFunctionCode", *name),
        ("GET", [_, "functions", name, "policy"]) => ("GetPolicy", *name),
        ("POST", [_, "functions", name, "policy"]) => ("AddPermission", *name),
        ("DELETE", [_, "functions", name, "policy", _]) => ("RemovePermission", *name),
        ("GET", [_, "functions", name, "event-invoke-config"]) => {
            ("GetFunctionEventInvokeConfig", *name)
        }
        ("PUT", [_, "functions", name, "event-invoke-config"]) => {
            ("PutFunctionEventInvokeConfig", *name)
        }
        ("POST", [_, "functions", name, "event-invoke-config"]) => {
            ("UpdateFunctionEventInvokeConfig", *name)
        }
        ("DELETE", [_, "functions", name, "event-invoke-config"]) => {
            ("DeleteFunctionEventInvokeConfig", *name)
        }
        ("GET", [_, "tags", ..]) => {
            return Ok(vec![Need::new("lambda:ListTags", segments[2..].join("/"))]);
        }
        ("POST", [_, "tags", ..]) => {
            return Ok(vec![Need::new(
                "lambda:TagResource",
                segments[2..].join("/"),
            )]);
        }
        _ => return Err(unknown(r)),
    };
    Ok(vec![Need::new(
        &format!("lambda:{action}"),
        at.function(function),
    )])
}

fn s3(r: &Recorded) -> Result<Vec<Need>, String> {
    let path = path_of(&r.url);
    let bucket = path.trim_start_matches('/').split('/').next().unwrap_or("");
    let keys = query_keys(&r.url);
    let has = |k: &str| keys.iter().any(|key| key == k);
    let action = match (r.method.as_str(), bucket.is_empty()) {
        ("GET", true) => return Ok(vec![Need::new("s3:ListAllMyBuckets", "*")]),
        // HeadBucket and ListObjects(V2) are authorized as ListBucket.
        ("HEAD", false) => "s3:ListBucket",
        ("GET", false) if has("tagging") => "s3:GetBucketTagging",
        ("PUT", false) if has("tagging") => "s3:PutBucketTagging",
        ("GET", false) if has("policy") => "s3:GetBucketPolicy",
        ("PUT", false) if has("policy") => "s3:PutBucketPolicy",
        ("GET", false) if has("publicAccessBlock") => "s3:GetBucketPublicAccessBlock",
        ("PUT", false) if has("publicAccessBlock") => "s3:PutBucketPublicAccessBlock",
        ("GET", false) if has("list-type") || keys.is_empty() || has("max-keys") => "s3:ListBucket",
        ("PUT", false) if keys.is_empty() => "s3:CreateBucket",
        ("DELETE", false) if keys.is_empty() => "s3:DeleteBucket",
        _ => return Err(unknown(r)),
    };
    Ok(vec![Need::new(action, format!("arn:aws:s3:::{bucket}"))])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(service: &str, operation: &str, method: &str, url: &str, body: &str) -> Recorded {
        Recorded {
            service: service.into(),
            operation: operation.into(),
            region: "eu-west-1".into(),
            method: method.into(),
            url: url.into(),
            body: body.into(),
            user_agent: String::new(),
        }
    }

    fn shown(needs: Vec<Need>) -> Vec<String> {
        needs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_role_created_with_tags_needs_tag_role_too() {
        let r = recorded(
            "iam",
            "CreateRole",
            "POST",
            "http://moto/",
            "Action=CreateRole&RoleName=login-alert-handler&Tags.member.1.Key=managed-by&Tags.member.1.Value=login-alert",
        );
        assert_eq!(
            shown(needs(&r, "123456789012").unwrap()),
            [
                "iam:CreateRole on arn:aws:iam::123456789012:role/login-alert-handler",
                "iam:TagRole on arn:aws:iam::123456789012:role/login-alert-handler"
            ]
        );
    }

    #[test]
    fn create_function_hands_its_role_to_lambda() {
        let r = recorded(
            "lambda",
            "POST /2015-03-31/functions",
            "POST",
            "http://moto/2015-03-31/functions",
            r#"{"FunctionName":"f","Role":"arn:aws:iam::1:role/r","Tags":{"managed-by":"login-alert"}}"#,
        );
        assert_eq!(
            shown(needs(&r, "1").unwrap()),
            [
                "lambda:CreateFunction on arn:aws:lambda:eu-west-1:1:function:f",
                "lambda:TagResource on arn:aws:lambda:eu-west-1:1:function:f",
                "iam:PassRole on arn:aws:iam::1:role/r (iam:PassedToService = lambda.amazonaws.com)"
            ]
        );
    }

    #[test]
    fn get_function_needs_list_tags_too() {
        let r = recorded(
            "lambda",
            "GET /2015-03-31/functions/login-alert-handler",
            "GET",
            "http://moto/2015-03-31/functions/login-alert-handler",
            "",
        );
        assert_eq!(
            shown(needs(&r, "1").unwrap()),
            [
                "lambda:GetFunction on arn:aws:lambda:eu-west-1:1:function:login-alert-handler",
                "lambda:ListTags on arn:aws:lambda:eu-west-1:1:function:login-alert-handler"
            ]
        );
    }

    #[test]
    fn log_group_calls_need_both_arn_forms_and_streams_their_own() {
        let r = recorded(
            "logs",
            "PutSubscriptionFilter",
            "POST",
            "http://moto/",
            r#"{"logGroupName":"/g"}"#,
        );
        assert_eq!(
            shown(needs(&r, "1").unwrap()),
            [
                "logs:PutSubscriptionFilter on arn:aws:logs:eu-west-1:1:log-group:/g",
                "logs:PutSubscriptionFilter on arn:aws:logs:eu-west-1:1:log-group:/g:*"
            ]
        );
        let r = recorded(
            "logs",
            "PutLogEvents",
            "POST",
            "http://moto/",
            r#"{"logGroupName":"/g","logStreamName":"s"}"#,
        );
        assert_eq!(
            shown(needs(&r, "1").unwrap()),
            ["logs:PutLogEvents on arn:aws:logs:eu-west-1:1:log-group:/g:log-stream:s"]
        );
    }

    #[test]
    fn s3_rest_calls_map_to_their_bucket_actions() {
        for (method, url, action) in [
            ("HEAD", "http://moto/b", "s3:ListBucket"),
            (
                "GET",
                "http://moto/b?publicAccessBlock",
                "s3:GetBucketPublicAccessBlock",
            ),
            (
                "GET",
                "http://moto/b?list-type=2&max-keys=2",
                "s3:ListBucket",
            ),
            ("PUT", "http://moto/b", "s3:CreateBucket"),
            ("PUT", "http://moto/b?policy", "s3:PutBucketPolicy"),
        ] {
            let r = recorded("s3", "", method, url, "");
            assert_eq!(
                shown(needs(&r, "1").unwrap()),
                [format!("{action} on arn:aws:s3:::b")],
                "{method} {url}"
            );
        }
    }

    #[test]
    fn an_unknown_operation_is_an_error_not_a_pass() {
        let r = recorded(
            "sns",
            "ConfirmSubscription",
            "POST",
            "http://moto/",
            "Action=ConfirmSubscription",
        );
        assert!(
            needs(&r, "1")
                .unwrap_err()
                .contains("no IAM mapping for sns ConfirmSubscription")
        );
    }
}

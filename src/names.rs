//! Fixed resource names derived from one prefix, and the ARNs built from them.
//!
//! Names never contain random parts: a re-run finds the same resources (a no-op), and `destroy` finds
//! what is ours even after an interrupted `apply`.

use serde::{Deserialize, Serialize};

/// Tag (key, value) carried by everything login-alert creates.
pub const MANAGED_BY: (&str, &str) = ("managed-by", "login-alert");
/// Name of the inline policy login-alert puts on its roles.
pub const INLINE_POLICY: &str = "login-alert";

/// CloudWatch Logs allows at most this many subscription filters per log group (a hard limit).
pub const MAX_FILTERS: usize = 2;

/// The webhooks login-alert delivers to, each with its URL kept as an SSM SecureString.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WebhookKind {
    Slack,
    Teams,
    /// The generic webhook (the classification record as JSON).
    Json,
}

impl WebhookKind {
    pub const ALL: [WebhookKind; 3] = [WebhookKind::Slack, WebhookKind::Teams, WebhookKind::Json];

    /// How the webhook is named in messages.
    pub fn label(self) -> &'static str {
        match self {
            WebhookKind::Slack => "Slack webhook URL",
            WebhookKind::Teams => "Teams webhook URL",
            WebhookKind::Json => "webhook URL",
        }
    }

    /// The config field holding the URL.
    pub fn field(self) -> &'static str {
        match self {
            WebhookKind::Slack => "notify.slack_webhook_url",
            WebhookKind::Teams => "notify.teams_webhook_url",
            WebhookKind::Json => "notify.webhook_url",
        }
    }
}

/// The last part of a webhook parameter's name.
fn webhook_leaf(kind: WebhookKind) -> &'static str {
    match kind {
        WebhookKind::Slack => "slack-webhook-url",
        WebhookKind::Teams => "teams-webhook-url",
        WebhookKind::Json => "webhook-url",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Names {
    pub prefix: String,
}

impl Names {
    pub fn new(prefix: &str) -> Self {
        Names {
            prefix: prefix.to_owned(),
        }
    }
    /// The log group the trail delivers to (when login-alert provides it).
    pub fn log_group(&self) -> String {
        format!("/{}/cloudtrail", self.prefix)
    }
    pub fn cloudtrail_role(&self) -> String {
        format!("{}-cloudtrail-to-logs", self.prefix)
    }
    pub fn topic(&self) -> String {
        format!("{}-alerts", self.prefix)
    }
    pub fn function(&self) -> String {
        format!("{}-handler", self.prefix)
    }
    pub fn function_role(&self) -> String {
        format!("{}-handler", self.prefix)
    }
    /// Lambda writes here; login-alert creates it first so it has a retention and is removed by destroy.
    pub fn function_log_group(&self) -> String {
        format!("/aws/lambda/{}", self.function())
    }
    pub fn permission_statement(&self) -> String {
        format!("{}-cloudwatch-logs", self.prefix)
    }
    pub fn subscription_filter(&self) -> String {
        format!("{}-signin-events", self.prefix)
    }
    /// The EventBridge rule in the home region that sends the events to the function.
    pub fn events_rule(&self) -> String {
        format!("{}-events", self.prefix)
    }
    /// Organization coverage: the event bus every member account forwards to, its rule (the same
    /// name) and that rule's invoke statement on the function.
    pub fn central_bus(&self) -> String {
        format!("{}-central", self.prefix)
    }
    /// Organization coverage: the StackSet, and the rule and role it gives each member account.
    pub fn org_stack_set(&self) -> String {
        format!("{}-org-forward", self.prefix)
    }
    /// The EventBridge rule in every other enabled region that forwards the events home.
    pub fn forward_rule(&self) -> String {
        format!("{}-forward", self.prefix)
    }
    /// The role EventBridge assumes to put forwarded events on the home region's bus.
    pub fn events_role(&self) -> String {
        format!("{}-events-forward", self.prefix)
    }
    /// The invoke permission's statement for EventBridge.
    pub fn events_permission_statement(&self) -> String {
        format!("{}-eventbridge", self.prefix)
    }
    pub fn slack_parameter(&self) -> String {
        self.webhook_parameter(WebhookKind::Slack)
    }
    /// The SSM SecureString holding a webhook's URL.
    pub fn webhook_parameter(&self, kind: WebhookKind) -> String {
        format!("/{}/{}", self.prefix, webhook_leaf(kind))
    }
    /// The SNS topic of a `[[route]]`'s email addresses.
    pub fn route_topic(&self, route: &str) -> String {
        format!("{}-route-{route}", self.prefix)
    }
    /// Every route topic's name matches this (for grants).
    pub fn route_topics(&self) -> String {
        format!("{}-route-*", self.prefix)
    }
    /// The SSM SecureString holding a `[[route]]`'s webhook URL, under login-alert's own path.
    pub fn route_parameter(&self, route: &str, kind: WebhookKind) -> String {
        format!("/{}/route/{route}/{}", self.prefix, webhook_leaf(kind))
    }
    /// The DynamoDB table of the handler's state (groups, sent messages, account names).
    pub fn state_table(&self) -> String {
        format!("{}-state", self.prefix)
    }
    /// The EventBridge rule in the home region that invokes the function for digests.
    pub fn digest_rule(&self) -> String {
        format!("{}-digest", self.prefix)
    }
    /// The invoke permission's statement for the digest rule.
    pub fn digest_permission_statement(&self) -> String {
        format!("{}-digest", self.prefix)
    }
    /// The trail created with `--create-trail`.
    pub fn trail(&self) -> String {
        format!("{}-trail", self.prefix)
    }
    /// The SQS queue the function's failed asynchronous invocations go to.
    pub fn failed_events_queue(&self) -> String {
        format!("{}-failed-events", self.prefix)
    }
    /// The CloudWatch alarm on `what` (`function-errors`, `no-trail-events`, …).
    pub fn alarm(&self, what: &str) -> String {
        format!("{}-{what}", self.prefix)
    }
    /// The metric filter (and its metric) of one CIS control (`cis-root-usage`); its alarm is
    /// [`Names::alarm`] of the same slug.
    pub fn cis(&self, slug: &str) -> String {
        format!("{}-{slug}", self.prefix)
    }
    /// The log stream `login-alert test` writes its record to, in the group the trail delivers to.
    pub fn test_stream(&self) -> String {
        format!("{}-test", self.prefix)
    }
    /// The bucket of the created trail; account and region make it globally unique.
    pub fn bucket(&self, account_id: &str, region: &str) -> String {
        format!("{}-trail-{account_id}-{region}", self.prefix)
    }
}

/// ARNs in one account and region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Arns {
    pub partition: String,
    pub account_id: String,
    pub region: String,
}

/// The partition a region belongs to.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

impl Arns {
    pub fn new(account_id: &str, region: &str) -> Self {
        Arns {
            partition: partition_of(region).to_owned(),
            account_id: account_id.to_owned(),
            region: region.to_owned(),
        }
    }
    /// `arn:…:log-group:NAME` — what `DescribeLogGroups` calls `logGroupArn`.
    pub fn log_group(&self, name: &str) -> String {
        format!(
            "arn:{}:logs:{}:{}:log-group:{name}",
            self.partition, self.region, self.account_id
        )
    }
    /// `arn:…:log-group:NAME:*` — the form CloudTrail and Lambda permissions require.
    pub fn log_group_wildcard(&self, name: &str) -> String {
        format!("{}:*", self.log_group(name))
    }
    pub fn role(&self, name: &str) -> String {
        format!(
            "arn:{}:iam::{}:role/{name}",
            self.partition, self.account_id
        )
    }
    pub fn topic(&self, name: &str) -> String {
        format!(
            "arn:{}:sns:{}:{}:{name}",
            self.partition, self.region, self.account_id
        )
    }
    pub fn function(&self, name: &str) -> String {
        format!(
            "arn:{}:lambda:{}:{}:function:{name}",
            self.partition, self.region, self.account_id
        )
    }
    /// `name` starts with `/`.
    pub fn parameter(&self, name: &str) -> String {
        format!(
            "arn:{}:ssm:{}:{}:parameter{name}",
            self.partition, self.region, self.account_id
        )
    }
    pub fn trail(&self, name: &str) -> String {
        format!(
            "arn:{}:cloudtrail:{}:{}:trail/{name}",
            self.partition, self.region, self.account_id
        )
    }
    pub fn bucket(&self, name: &str) -> String {
        format!("arn:{}:s3:::{name}", self.partition)
    }
    /// A rule on the default event bus of `region`.
    pub fn rule(&self, region: &str, name: &str) -> String {
        format!(
            "arn:{}:events:{region}:{}:rule/{name}",
            self.partition, self.account_id
        )
    }
    /// An event bus of this (the home) region.
    pub fn bus(&self, name: &str) -> String {
        format!(
            "arn:{}:events:{}:{}:event-bus/{name}",
            self.partition, self.region, self.account_id
        )
    }
    /// A rule on the event bus `bus` (not the default one) of the home region.
    pub fn bus_rule(&self, bus: &str, name: &str) -> String {
        format!(
            "arn:{}:events:{}:{}:rule/{bus}/{name}",
            self.partition, self.region, self.account_id
        )
    }
    /// The default event bus of this (the home) region.
    pub fn default_bus(&self) -> String {
        format!(
            "arn:{}:events:{}:{}:event-bus/default",
            self.partition, self.region, self.account_id
        )
    }
    pub fn queue(&self, name: &str) -> String {
        format!(
            "arn:{}:sqs:{}:{}:{name}",
            self.partition, self.region, self.account_id
        )
    }
    pub fn alarm(&self, name: &str) -> String {
        format!(
            "arn:{}:cloudwatch:{}:{}:alarm:{name}",
            self.partition, self.region, self.account_id
        )
    }
    pub fn table(&self, name: &str) -> String {
        format!(
            "arn:{}:dynamodb:{}:{}:table/{name}",
            self.partition, self.region, self.account_id
        )
    }
    /// The account itself (what `account:ListRegions` is authorized on).
    pub fn account(&self) -> String {
        format!(
            "arn:{}:account::{}:account",
            self.partition, self.account_id
        )
    }
    /// The AWS-managed KMS key SSM uses for SecureString parameters by default.
    pub fn ssm_default_key_alias(&self) -> String {
        format!(
            "arn:{}:kms:{}:{}:alias/aws/ssm",
            self.partition, self.region, self.account_id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudtrail_gets_the_log_group_arn_with_the_trailing_wildcard() {
        let arns = Arns::new("123456789012", "eu-west-1");
        assert_eq!(
            arns.log_group_wildcard("/login-alert/cloudtrail"),
            "arn:aws:logs:eu-west-1:123456789012:log-group:/login-alert/cloudtrail:*"
        );
    }

    #[test]
    fn partitions_follow_the_region() {
        assert_eq!(
            Arns::new("123456789012", "cn-north-1").role("r"),
            "arn:aws-cn:iam::123456789012:role/r"
        );
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of("ap-northeast-1"), "aws");
    }

    #[test]
    fn every_name_fits_its_service_limit_at_the_longest_prefix() {
        let names = Names::new(&"a".repeat(24));
        assert!(names.cloudtrail_role().len() <= 64);
        assert!(names.function().len() <= 64);
        assert!(names.topic().len() <= 256);
        assert!(names.bucket("123456789012", "ap-southeast-7").len() <= 63);
        assert!(names.subscription_filter().len() <= 512);
        assert!(names.failed_events_queue().len() <= 80);
        assert!(names.alarm("function-throttles").len() <= 255);
        assert!(names.test_stream().len() <= 512);
        assert!(names.state_table().len() <= 255);
        assert!(names.digest_rule().len() <= 64);
    }
}

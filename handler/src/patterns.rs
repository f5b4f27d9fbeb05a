//! The patterns that decide which CloudTrail records reach the function: the CloudWatch Logs subscription filter
//! and the EventBridge rules' event pattern, filled in for one installation (its prefix, region and account).

/// The subscription filter pattern with `${prefix}` and `${topic_arn}` to fill in (assets/filter-pattern.txt).
pub const FILTER_PATTERN_TEMPLATE: &str = include_str!("../../assets/filter-pattern.txt");
/// The EventBridge event pattern with `${prefix}`, `${function_arn}` and `${topic_arn}` to fill in
/// (assets/event-pattern.json).
pub const EVENT_PATTERN_TEMPLATE: &str = include_str!("../../assets/event-pattern.json");
/// CloudWatch Logs refuses a longer filter pattern.
pub const MAX_FILTER_PATTERN_LEN: usize = 1024;
/// EventBridge's default quota on an event pattern, in characters (adjustable, but not by login-alert).
pub const MAX_EVENT_PATTERN_LEN: usize = 2048;

/// What the patterns name: login-alert's resources are found by the names the prefix gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatternVars<'a> {
    pub prefix: &'a str,
    /// `aws`, `aws-cn`, `aws-us-gov`, …
    pub partition: &'a str,
    /// The home region, where the function and topic live.
    pub region: &'a str,
    pub account: &'a str,
}

impl PatternVars<'_> {
    pub fn function_arn(&self) -> String {
        format!(
            "arn:{}:lambda:{}:{}:function:{}-handler",
            self.partition, self.region, self.account, self.prefix
        )
    }

    pub fn topic_arn(&self) -> String {
        format!(
            "arn:{}:sns:{}:{}:{}-alerts",
            self.partition, self.region, self.account, self.prefix
        )
    }

    fn fill(&self, template: &str) -> String {
        template
            .replace("${function_arn}", &self.function_arn())
            .replace("${topic_arn}", &self.topic_arn())
            .replace("${prefix}", self.prefix)
    }
}

/// The subscription filter pattern for one installation, one line.
pub fn filter_pattern(vars: &PatternVars) -> String {
    vars.fill(FILTER_PATTERN_TEMPLATE.trim())
}

/// The EventBridge event pattern for one installation, as compact JSON.
pub fn event_pattern(vars: &PatternVars) -> String {
    let filled = vars.fill(EVENT_PATTERN_TEMPLATE);
    // The asset is checked to be JSON by the tests; compacting it must not change a valid document.
    match serde_json::from_str::<serde_json::Value>(&filled) {
        Ok(value) => value.to_string(),
        Err(_) => filled,
    }
}

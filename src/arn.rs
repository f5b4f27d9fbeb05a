//! The one parser for AWS ARNs (`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`): every module that takes an ARN apart uses it.

/// An ARN split into its six fields; borrowed from the text it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    /// Empty for global services (IAM, S3).
    pub region: &'a str,
    /// Empty for S3 buckets.
    pub account: &'a str,
    /// Everything after the fifth `:`; it may itself hold `:` and `/` (`log-group:NAME:*`, `role/path/NAME`).
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// `None` unless the text has the `arn:` prefix, six fields, a partition and a service.
    pub fn parse(text: &'a str) -> Option<Arn<'a>> {
        let mut fields = text.splitn(6, ':');
        if fields.next()? != "arn" {
            return None;
        }
        let arn = Arn {
            partition: fields.next()?,
            service: fields.next()?,
            region: fields.next()?,
            account: fields.next()?,
            resource: fields.next()?,
        };
        (!arn.partition.is_empty() && !arn.service.is_empty()).then_some(arn)
    }

    /// Whether the account field is a 12-digit account ID.
    pub fn has_account_id(&self) -> bool {
        is_account_id(self.account)
    }

    /// The resource after its type: `role/NAME` → `NAME` for `"role"`, `function:NAME` → `NAME` for `"function"`.
    pub fn resource_of(&self, kind: &str) -> Option<&'a str> {
        let rest = self.resource.strip_prefix(kind)?;
        rest.strip_prefix('/')
            .or_else(|| rest.strip_prefix(':'))
            .filter(|id| !id.is_empty())
    }

    /// The last segment of the resource: `role/path/NAME` → `NAME`, `trail/NAME` → `NAME`, a topic's `NAME` → `NAME`.
    pub fn last_name(&self) -> &'a str {
        self.resource
            .rsplit(['/', ':'])
            .next()
            .unwrap_or(self.resource)
    }
}

/// The resource of type `kind` that `arn` names, when it is a `service` ARN in a region and a
/// 12-digit account (`arn:P:lambda:R:A:function:NAME` → `NAME:…` after the type); `None` otherwise.
pub fn regional_resource<'a>(arn: &'a str, service: &str, kind: &str) -> Option<&'a str> {
    Arn::parse(arn)
        .filter(|a| a.service == service && !a.region.is_empty() && is_account_id(a.account))
        .and_then(|a| a.resource_of(kind))
}

/// Twelve digits.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The log group name in `arn:…:logs:R:A:log-group:NAME` (with or without CloudTrail's trailing `:*`).
pub fn log_group_name(arn: &str) -> Option<&str> {
    let arn = Arn::parse(arn)?;
    if arn.service != "logs" {
        return None;
    }
    let name = arn.resource_of("log-group")?;
    let name = name.strip_suffix(":*").unwrap_or(name);
    (!name.is_empty()).then_some(name)
}

/// A log group ARN without CloudTrail's trailing `:*`.
pub fn strip_wildcard(arn: &str) -> &str {
    arn.strip_suffix(":*").unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_six_fields_keeping_colons_in_the_resource() {
        let arn =
            Arn::parse("arn:aws:logs:eu-west-1:123456789012:log-group:/login-alert/cloudtrail:*")
                .unwrap();
        assert_eq!(arn.partition, "aws");
        assert_eq!(arn.service, "logs");
        assert_eq!(arn.region, "eu-west-1");
        assert_eq!(arn.account, "123456789012");
        assert_eq!(arn.resource, "log-group:/login-alert/cloudtrail:*");
        assert!(arn.has_account_id());
    }

    #[test]
    fn global_services_have_empty_fields() {
        let role = Arn::parse("arn:aws-cn:iam::123456789012:role/path/to/r").unwrap();
        assert_eq!(role.region, "");
        assert_eq!(role.resource_of("role"), Some("path/to/r"));
        assert_eq!(role.last_name(), "r");
        let bucket = Arn::parse("arn:aws:s3:::my-bucket").unwrap();
        assert_eq!((bucket.account, bucket.resource), ("", "my-bucket"));
    }

    #[test]
    fn anything_else_is_not_an_arn() {
        for text in [
            "",
            "arn",
            "arn:aws:iam",
            "arn::iam::1:role/x",
            "arn:aws::r:a:x",
            "urn:aws:iam::1:role/x",
        ] {
            assert_eq!(Arn::parse(text), None, "{text}");
        }
    }

    #[test]
    fn resource_types_need_their_separator_and_an_id() {
        let f = Arn::parse("arn:aws:lambda:us-east-1:123456789012:function:login-alert-handler")
            .unwrap();
        assert_eq!(f.resource_of("function"), Some("login-alert-handler"));
        assert_eq!(f.resource_of("func"), None);
        let empty = Arn::parse("arn:aws:iam::123456789012:role/").unwrap();
        assert_eq!(empty.resource_of("role"), None);
    }

    #[test]
    fn log_group_names_with_and_without_the_wildcard() {
        let base = "arn:aws:logs:us-east-1:123456789012:log-group:/a/b";
        assert_eq!(log_group_name(base), Some("/a/b"));
        assert_eq!(log_group_name(&format!("{base}:*")), Some("/a/b"));
        assert_eq!(
            log_group_name("arn:aws:logs:us-east-1:123456789012:log-group:"),
            None
        );
        assert_eq!(
            log_group_name("arn:aws:sns:us-east-1:123456789012:log-group:x"),
            None
        );
        assert_eq!(strip_wildcard(&format!("{base}:*")), base);
    }
}

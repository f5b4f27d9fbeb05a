//! The CloudTrail record fields login-alert reads, borrowed from the input and parsed leniently.

use serde::Deserialize;

use crate::lenient::{Object, Pairs, Text};

/// One CloudTrail record. Every field may be missing; unknown fields are skipped without being built.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Record<'a> {
    #[serde(borrow)]
    pub event_time: Text<'a>,
    #[serde(borrow)]
    pub event_source: Text<'a>,
    #[serde(borrow)]
    pub event_name: Text<'a>,
    #[serde(borrow)]
    pub event_type: Text<'a>,
    #[serde(borrow, rename = "eventID")]
    pub event_id: Text<'a>,
    #[serde(borrow)]
    pub aws_region: Text<'a>,
    #[serde(borrow, rename = "sourceIPAddress")]
    pub source_ip: Text<'a>,
    #[serde(borrow)]
    pub user_agent: Text<'a>,
    #[serde(borrow)]
    pub error_code: Text<'a>,
    #[serde(borrow)]
    pub error_message: Text<'a>,
    #[serde(borrow)]
    pub recipient_account_id: Text<'a>,
    #[serde(borrow)]
    pub user_identity: Object<UserIdentity<'a>>,
    #[serde(borrow)]
    pub request_parameters: Pairs<'a>,
    #[serde(borrow)]
    pub response_elements: Pairs<'a>,
    #[serde(borrow)]
    pub additional_event_data: Pairs<'a>,
    #[serde(borrow)]
    pub service_event_details: Pairs<'a>,
    /// `"true"` when the session's credentials came from a console sign-in.
    #[serde(borrow)]
    pub session_credential_from_console: Text<'a>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UserIdentity<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Text<'a>,
    #[serde(borrow)]
    pub principal_id: Text<'a>,
    #[serde(borrow)]
    pub arn: Text<'a>,
    #[serde(borrow)]
    pub account_id: Text<'a>,
    #[serde(borrow)]
    pub user_name: Text<'a>,
    #[serde(borrow)]
    pub access_key_id: Text<'a>,
    #[serde(borrow)]
    pub invoked_by: Text<'a>,
    #[serde(borrow)]
    pub session_context: Object<SessionContext<'a>>,
    #[serde(borrow)]
    pub on_behalf_of: Pairs<'a>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SessionContext<'a> {
    #[serde(borrow)]
    pub attributes: Pairs<'a>,
    #[serde(borrow)]
    pub session_issuer: Pairs<'a>,
    /// `"true"` on the session of a principal that called `sts:AssumeRoot`.
    #[serde(borrow)]
    pub assumed_root: Text<'a>,
}

impl<'a> Record<'a> {
    /// Parses one record from JSON text. Only broken JSON or a non-object fails.
    pub fn parse(json: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    pub fn identity(&self) -> Option<&UserIdentity<'a>> {
        self.user_identity.get()
    }

    /// `userIdentity.type`, or `""` when absent.
    pub fn user_type(&self) -> &str {
        self.identity().and_then(|u| u.kind.get()).unwrap_or("")
    }

    pub fn is_root(&self) -> bool {
        self.user_type().eq_ignore_ascii_case("Root")
    }

    pub fn account_id(&self) -> Option<&str> {
        self.recipient_account_id
            .get()
            .or_else(|| self.identity().and_then(|u| u.account_id.get()))
    }

    pub fn session_attribute(&self, key: &str) -> Option<&str> {
        self.identity()
            .and_then(|u| u.session_context.get())
            .and_then(|s| s.attributes.get(key))
    }

    /// The access key that signed the request: one per session, so it ties a session's records together.
    pub fn access_key(&self) -> Option<&str> {
        self.identity().and_then(|u| u.access_key_id.get())
    }

    pub fn session_issuer(&self, key: &str) -> Option<&str> {
        self.identity()
            .and_then(|u| u.session_context.get())
            .and_then(|s| s.session_issuer.get(key))
    }
}

//! The login-alert Lambda handler as a library: parse, classify, format and deliver sign-in alerts.
//!
//! The CLI shares this crate: `login-alert preview` runs the same code the Lambda runs, and the
//! provisioner uses the `ENV_*` names of [`vocab`] (re-exported here) to configure the function.

pub mod baseline;
pub mod classify;
pub mod collect;
pub mod deliver;
pub mod dynamo;
pub mod engine;
pub mod error;
pub mod group;
pub mod handler;
pub mod history;
pub mod input;
mod lenient;
pub mod limits;
pub mod log;
pub mod message;
pub mod novelty;
pub mod org_tamper;
pub mod parallel;
pub mod patterns;
pub mod preview;
pub mod record;
pub mod render;
pub mod route;
pub mod settings;
pub mod store;
pub mod tamper;
pub mod testevent;
mod text;
pub mod useragent;
pub mod usual;
pub mod verdict;
pub mod vocab;

pub use classify::{Finding, Kind, Severity, Subkind};
pub use deliver::{AwsDelivery, Channel, Deliver, Payload, Webhook};
pub use error::{DeliveryError, HandlerError, InputError, RecordError, SettingsError, StoreError};
pub use handler::{Outcome, handle};
pub use input::{Shape, for_each_record};
pub use preview::{Preview, PreviewError, PreviewFormat, PreviewSummary, preview, preview_to};
pub use record::Record;
pub use settings::Settings;
pub use testevent::{TEST_DELIVERED_PREFIX, test_delivered_line, test_record};
pub use vocab::{
    APP_NAME, AlertOn, ENV_ACCOUNT_NAME, ENV_ALERT_ON, ENV_BASELINE_DAYS, ENV_GROUP_WINDOW_MINUTES,
    ENV_HISTORY_REGIONS, ENV_LANGUAGE, ENV_NAME_PREFIX, ENV_SCOPE, ENV_SLACK_PARAMETER,
    ENV_STATE_TABLE, ENV_TEAMS_PARAMETER, ENV_TIMEZONE, ENV_TOPIC_ARN, ENV_TRAIL_LOG_GROUP,
    ENV_TRAIL_NAME, ENV_WEBHOOK_PARAMETER, Language, Scope,
};

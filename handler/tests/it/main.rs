//! The handler's integration tests: one test binary, one module per area, so the SDK is linked once, not once
//! per file. Run one area with a filter: `scripts/test.sh -p login-alert-handler --test it -- fixtures::`.

mod support;

mod baseline;
mod derived;
mod fixtures;
mod grouping;
mod history;
mod lambda_e2e;
mod malformed;
mod messages;
mod organization;
mod patterns;
mod routing;
mod shapes;
mod slack;
mod state_table;
mod webhooks;

//! The CLI's integration tests: one test binary, one module per area, so the AWS SDK is linked once, not once
//! per file. Tests that need a process of their own live in binaries beside this one (`tests/pty/`).
//! Run one area with a filter: `scripts/test.sh -p login-alert --test it -- lifecycle::`.

mod support;

mod alert_state;
mod bad_inputs;
mod cis;
mod cli_errors;
mod crash;
mod drift;
mod empty_root;
mod eventbridge;
mod hardening;
mod installer_discovery;
mod lifecycle;
mod operator_policy;
mod org_tree;
mod organization;
mod pipeline;
mod pipeline_mocks;
mod preview;
mod release;
mod routes;
mod saved_plan;
mod self_monitoring_mocks;
mod state_table_mocks;
mod status;
mod test_command;
mod trail;
mod trail_mocks;

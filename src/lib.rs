//! login-alert: alert on every AWS console sign-in and root activity, in every region.
//!
//! The CLI converges one account to a config file: a multi-region CloudTrail trail delivering to a
//! CloudWatch Logs group, a subscription filter invoking the bundled Lambda handler, and SNS/Slack delivery.

pub mod arn;
pub mod aws;
pub mod bundle;
pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod discovery;
pub mod engine;
pub mod installer;
pub mod metrics;
pub mod model;
pub mod names;
pub mod org_tree;
pub mod organization;
pub mod pages;
pub mod part;
pub mod plan;
pub mod policy;
pub mod printer;
pub mod prompt;
pub mod reach;
pub mod regions;
pub mod resolve;
pub mod resources;
pub mod retry;
pub mod tags;
#[cfg(test)]
pub mod testing;

pub use commands::main;

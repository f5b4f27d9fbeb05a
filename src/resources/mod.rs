//! The AWS resources login-alert manages, one module per kind.
//!
//! Every module has the same shape: `read` (reads the live resource, never writes), pure
//! `plan_apply` / `plan_destroy` pushing changes (and notices or blockers) onto a plan, `execute`
//! (runs one planned operation idempotently: "already there" / "already gone" is success), and the
//! [`crate::part::Part`] that ties them into the pipeline. The order of the parts lives in the engine.
//! The ownership rule (create what is missing, change and delete only what carries login-alert's
//! tag, refuse someone else's) is `crate::plan::lifecycle`'s: a kind says what its changes are.

pub mod alarm;
pub mod bucket;
pub mod calls;
pub mod central_bus;
pub mod cis;
pub mod digest_rule;
pub mod enabled_regions;
pub mod function;
pub mod invoke_config;
pub mod log_group;
pub mod organization;
pub mod parameter;
pub mod permission;
pub mod policies;
pub mod queue;
pub mod role;
pub mod route;
pub mod rule;
pub mod stackset;
pub mod state_table;
pub mod subscription_filter;
pub mod test_stream;
pub mod topic;
pub mod trail;

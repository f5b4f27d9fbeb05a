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

/// Whether Linux may back this process's memory with transparent huge pages (the allocator asks for them). The
/// binary turns them off first thing (`main.rs`); `preview` turns them on again for a large batch. Elsewhere, or
/// on a kernel without the setting, nothing changes.
pub fn huge_pages(on: bool) {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE sets one flag of this process and reads no memory of ours; a kernel that does
    // not know it refuses it.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, libc::c_ulong::from(!on), 0, 0, 0);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = on;
}

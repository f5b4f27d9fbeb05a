//! The binary in a pseudo-terminal, as a person runs it: a test binary of its own, apart from `tests/it`.
//!
//! Why apart: expectrl starts the child with a bare `fork()` and runs code in the child before `exec`
//! (ptsname, closing every inherited descriptor, building argv and the environment). A fork copies only the
//! calling thread, so a lock another thread holds at that instant (one of Rust's own, which no fork handler
//! resets) stays held forever in the child. In `tests/it` hundreds of tests run beside the fork on busy
//! threads; here only the few pty tests do. They also wait on interactive prompts with timeouts, which the
//! whole suite's load on a small machine would stretch.
//! Run one area with a filter: `scripts/test.sh -p login-alert --test pty -- installer::`.

#[path = "../it/support/mod.rs"]
mod support;

mod confirm;
mod installer;

//! The `login-alert` binary: parse the command line, run the command, map the outcome to an exit code.

/// mimalloc's per-thread heaps: `preview` renders on several threads, and glibc's shared arenas were a fifth of
/// its time (the README's Performance section has the figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    login_alert::pages::huge_pages(false);
    login_alert::main()
}

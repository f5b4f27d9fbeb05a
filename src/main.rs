//! The `login-alert` binary: parse the command line, run the command, map the outcome to an exit code.

use std::io::Write;

/// mimalloc's per-thread heaps: `preview` renders on several threads, and glibc's shared arenas were a fifth of
/// its time (the README's Performance section has the figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    login_alert::pages::huge_pages(false);
    let code = login_alert::main();
    // Everything the command owns is dropped by now (its runtime, its temporary files). What is left is the
    // process's memory, which the kernel takes back at once: exiting through `exit` would first run mimalloc's
    // exit-time collection, which walks every page it holds and hands it back (2-3% of a large preview's time,
    // measured side by side). So the output is flushed and the process ends here.
    let _ = std::io::stdout().flush();
    // SAFETY: `_exit` ends the process without running exit handlers; stdout is flushed above and stderr is unbuffered.
    unsafe { libc::_exit(i32::from(code)) }
}

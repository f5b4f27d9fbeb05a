//! Where output goes: results on stdout, progress and prompts on stderr; colour and spinners only on a terminal.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Clone)]
pub struct Printer {
    /// Spinners redraw in place only on a terminal; elsewhere each step is one plain line.
    stderr_tty: bool,
    quiet: bool,
}

impl Printer {
    /// Colour follows `--no-color`, `NO_COLOR` and whether each stream is a terminal.
    pub fn new(no_color: bool) -> Self {
        if no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            console::set_colors_enabled(false);
            console::set_colors_enabled_stderr(false);
        }
        Printer {
            stderr_tty: std::io::stderr().is_terminal(),
            quiet: false,
        }
    }

    /// A printer that shows no progress (for library use and tests).
    pub fn silent() -> Self {
        Printer {
            stderr_tty: false,
            quiet: true,
        }
    }

    /// A result line: stdout. A reader that went away (`login-alert policy | head`) ends the output, not the
    /// command: an `apply` still finishes its writes. Any other failure to write is said once on stderr.
    pub fn out(&self, text: impl AsRef<str>) {
        static STOPPED: AtomicBool = AtomicBool::new(false);
        if STOPPED.load(Ordering::Relaxed) {
            return;
        }
        if let Err(err) = writeln!(std::io::stdout().lock(), "{}", text.as_ref()) {
            STOPPED.store(true, Ordering::Relaxed);
            if err.kind() != std::io::ErrorKind::BrokenPipe {
                eprintln!(
                    "warning: cannot write to stdout ({err}); the rest of the output is dropped"
                );
            }
        }
    }

    /// A status line: stderr.
    pub fn info(&self, text: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", text.as_ref());
        }
    }

    pub fn warn(&self, text: impl AsRef<str>) {
        if !self.quiet {
            eprintln!(
                "{} {}",
                console::style("warning:").yellow().bold().for_stderr(),
                text.as_ref()
            );
        }
    }

    /// Starts a long step: a spinner on a terminal, a plain line otherwise.
    pub fn step(&self, message: impl Into<String>) -> Step {
        let message = message.into();
        if self.quiet {
            return Step {
                bar: None,
                message,
                quiet: true,
            };
        }
        if self.stderr_tty {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed:.dim}")
                    .expect("valid template"),
            );
            bar.set_message(message.clone());
            bar.enable_steady_tick(Duration::from_millis(100));
            Step {
                bar: Some(bar),
                message,
                quiet: false,
            }
        } else {
            eprintln!("… {message}");
            Step {
                bar: None,
                message,
                quiet: false,
            }
        }
    }
}

/// One step in progress; say how it ended with [`Step::done`] or [`Step::failed`].
pub struct Step {
    bar: Option<ProgressBar>,
    message: String,
    quiet: bool,
}

impl Step {
    /// Updates what the step is waiting for (e.g. "waiting for IAM to propagate (attempt 3)").
    pub fn update(&self, detail: impl AsRef<str>) {
        match &self.bar {
            Some(bar) => bar.set_message(format!("{} — {}", self.message, detail.as_ref())),
            None if !self.quiet => eprintln!("  … {}", detail.as_ref()),
            None => {}
        }
    }

    pub fn done(self) {
        let line = format!(
            "{} {}",
            console::style("✓").green().for_stderr(),
            self.message
        );
        self.finish(line);
    }

    pub fn failed(self) {
        let line = format!(
            "{} {}",
            console::style("✗").red().for_stderr(),
            self.message
        );
        self.finish(line);
    }

    fn finish(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.finish_and_clear(),
            None if self.quiet => return,
            None => {}
        }
        eprintln!("{line}");
    }
}

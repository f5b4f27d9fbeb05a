//! `login-alert completions SHELL`: the shell's completion script, generated from the command line definition.

use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use super::ExitStatus;
use crate::cli::{Cli, CompletionsArgs};

pub fn run(args: &CompletionsArgs) -> Result<ExitStatus> {
    let mut command = Cli::command();
    let name = command.get_name().to_owned();
    // Into a buffer first: clap_complete panics on a write error, and stdout may be a closed pipe.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, &name, &mut script);
    let mut script = String::from_utf8(script).context("the completion script is not UTF-8")?;
    if args.shell == Shell::Bash {
        script = fix_bash_hyphenated_name(&script, &name);
    }
    std::io::stdout()
        .write_all(script.as_bytes())
        .context("writing the completion script to stdout")?;
    Ok(ExitStatus::Success)
}

/// clap_complete's bash script tracks the command as `login__alert__subcmd__plan` but labels the case arms
/// `login__subcmd__alert__subcmd__plan` when the binary's name has a hyphen, so no subcommand's flags ever
/// complete (clap-rs/clap#6421, #6529; still so in clap_complete 4.6.12). Spelling the arms the way the
/// tracking loop does fixes it; once clap_complete does, there is nothing left to replace.
fn fix_bash_hyphenated_name(script: &str, name: &str) -> String {
    script.replace(&name.replace('-', "__subcmd__"), &name.replace('-', "__"))
}

//! The `login-alert` binary: parse the command line, run the command, map the outcome to an exit code.

fn main() -> std::process::ExitCode {
    login_alert::main()
}

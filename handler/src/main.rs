//! The Lambda `bootstrap` binary (runtime provided.al2023).

fn main() {
    eprintln!("login-alert handler: not built yet");
    std::process::exit(1);
}

//! Runs `preview` on a file and prints the output size: a profiling harness for the handler's hot path
//! (`perf record cargo run --release --features bench --example preview_file -- FILE slack`).

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), format) = (args.next(), args.next().unwrap_or_else(|| "slack".into())) else {
        eprintln!("usage: preview_file FILE [text|email|slack|json]");
        std::process::exit(2);
    };
    let input = match std::fs::read(&path) {
        Ok(input) => input,
        Err(err) => {
            eprintln!("cannot read {path}: {err}");
            std::process::exit(1);
        }
    };
    let format = format.parse().unwrap_or_default();
    // As the benchmark calls the CLI: `--account-name prod --timezone Asia/Tokyo`.
    let settings = login_alert_handler::Settings {
        account_name: Some("prod".into()),
        timezone: login_alert_handler::settings::parse_timezone("Asia/Tokyo")
            .expect("a known zone"),
        ..login_alert_handler::Settings::default()
    };
    match login_alert_handler::preview_to(&input, &settings, format, &mut std::io::sink()) {
        Ok(summary) => eprintln!("{} records, {} alerts", summary.records, summary.alerts),
        Err(err) => eprintln!("{err}"),
    }
}

//! The preview's phases on a CloudWatch Logs event, each timed alone on one thread (median of N runs): the
//! floor under the whole `preview --output slack` process (`cargo run --release --features bench --example phases -- FILE [N]`).

use std::io::Read;
use std::time::{Duration, Instant};

use base64::Engine;
use login_alert_handler::{Finding, PreviewFormat, Record, Settings, message, render};
use serde::Deserialize;

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow)]
    awslogs: AwsLogs<'a>,
}

#[derive(Deserialize)]
struct AwsLogs<'a> {
    data: &'a str,
}

#[derive(Deserialize)]
struct Batch {
    #[serde(rename = "logEvents")]
    log_events: Vec<LogEvent>,
}

#[derive(Deserialize)]
struct LogEvent {
    message: String,
}

/// The median of `runs` timings of `f`, and its last result.
fn median<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(f());
        times.push(start.elapsed());
    }
    times.sort();
    let out = last.expect("runs is at least 1");
    (times[times.len() / 2], out)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: phases FILE [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(7).max(1);
    // As the benchmark calls the CLI: `--account-name prod --timezone Asia/Tokyo`.
    let settings = Settings {
        account_name: Some("prod".into()),
        timezone: login_alert_handler::settings::parse_timezone("Asia/Tokyo")
            .expect("a known zone"),
        ..Settings::default()
    };

    let (read, input) = median(runs, || std::fs::read(&path).expect("a readable file"));
    let text = std::str::from_utf8(&input).expect("UTF-8");
    let event: Event = serde_json::from_str(text).expect("a CloudWatch Logs event");
    let engine = base64::engine::general_purpose::STANDARD;
    let (base64, compressed) = median(runs, || {
        engine
            .decode(event.awslogs.data)
            .expect("base64 awslogs.data")
    });
    let (inflate, json) = median(runs, || {
        let mut out = Vec::with_capacity(32 << 20);
        flate2::read::MultiGzDecoder::new(&compressed[..])
            .read_to_end(&mut out)
            .expect("gzip");
        out
    });
    let (outer, batch) = median(runs, || {
        serde_json::from_slice::<Batch>(&json).expect("the CloudWatch Logs JSON")
    });
    let (outer_sonic, _) = median(runs, || {
        sonic_rs::from_slice::<Batch>(&json)
            .expect("the CloudWatch Logs JSON")
            .log_events
            .len()
    });
    let (inner_sonic, _) = median(runs, || {
        batch
            .log_events
            .iter()
            .filter_map(|e| sonic_rs::from_str::<Record>(&e.message).ok())
            .count()
    });
    let (inner, records) = median(runs, || {
        batch
            .log_events
            .iter()
            .filter_map(|e| Record::parse(&e.message).ok())
            .count()
    });
    let (render, (alerts, bytes)) = median(runs, || {
        let (mut alerts, mut bytes) = (0, 0);
        for event in &batch.log_events {
            let Ok(record) = Record::parse(&event.message) else {
                continue;
            };
            let finding = Finding::new(record, &settings, None);
            if finding.alert {
                alerts += 1;
                bytes += render::slack(&message::single(&finding, &settings)).len();
            }
        }
        (alerts, bytes)
    });
    let (whole, _) = median(runs, || {
        login_alert_handler::preview_to(
            &input,
            &settings,
            PreviewFormat::Slack,
            &mut std::io::sink(),
        )
        .expect("a readable event")
    });
    println!(
        "{} records ({:.1} MB decompressed), {alerts} alerts, {:.1} MB of Slack payloads; median of {runs} runs:",
        batch.log_events.len(),
        json.len() as f64 / 1e6,
        bytes as f64 / 1e6,
    );
    println!("  read file              {:7.1} ms", ms(read));
    println!("  base64                 {:7.1} ms", ms(base64));
    println!("  inflate (gzip)         {:7.1} ms", ms(inflate));
    println!("  outer JSON (logEvents) {:7.1} ms", ms(outer));
    println!("  outer JSON, sonic-rs   {:7.1} ms", ms(outer_sonic));
    println!("  inner JSON ({records} records) {:7.1} ms", ms(inner));
    println!("  inner JSON, sonic-rs   {:7.1} ms", ms(inner_sonic));
    println!(
        "  parse + classify + message + Slack JSON {:7.1} ms (render alone ~{:.1} ms)",
        ms(render),
        ms(render.saturating_sub(inner))
    );
    println!(
        "  sum of the phases, one thread {:7.1} ms",
        ms(read + base64 + inflate + outer + render)
    );
    println!("  preview_to (all threads, to a sink) {:7.1} ms", ms(whole));
}

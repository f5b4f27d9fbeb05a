//! Benchmark: plans N email addresses against an in-memory SNS topic, the work `plan` does per address.
//!
//! `cargo run --release --features bench --example plan_emails -- N [new|subscribed|half]`: `new` plans a topic that
//! does not exist yet (N subscribes), `subscribed` one that already holds all N (in another order and
//! spelling: no change), `half` one holding every other address plus as many outside subscriptions
//! (N/2 subscribes, N/2 removals). Time the whole process with any timer; it prints what it planned.

use login_alert::plan::{Mode, Plan};
use login_alert::resources::policies::topic_access;
use login_alert::resources::topic::{self, Current, Desired, Subscription};

const ACCOUNT: &str = "123456789012";
const ARN: &str = "arn:aws:sns:us-east-1:123456789012:login-alert-alerts";

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = match args.next().map(|a| a.parse()) {
        Some(Ok(n)) => n,
        None => 20_000,
        Some(Err(_)) => usage(),
    };
    let scenario = args.next().unwrap_or_else(|| "subscribed".to_owned());
    let emails: Vec<String> = (0..n).map(|i| format!("user{i}@example.com")).collect();
    let subscribed = |email: &str| Subscription {
        protocol: "email".to_owned(),
        endpoint: email.to_uppercase(),
        arn: Some(format!("{ARN}:{email}")),
    };
    let subscriptions: Option<Vec<Subscription>> = match scenario.as_str() {
        "new" => None,
        "subscribed" => Some(emails.iter().rev().map(|e| subscribed(e)).collect()),
        "half" => Some(
            emails
                .iter()
                .step_by(2)
                .map(|e| subscribed(e))
                .chain((0..n / 2).map(|i| Subscription {
                    protocol: "https".to_owned(),
                    endpoint: format!("https://hooks{i}.example.net/sns"),
                    arn: Some(format!("{ARN}:hook{i}")),
                }))
                .collect(),
        ),
        _ => usage(),
    };
    let current = subscriptions.map(|subscriptions| Current {
        name: "login-alert-alerts".to_owned(),
        arn: ARN.to_owned(),
        managed: true,
        policy: Some(topic_access(ACCOUNT, ARN)),
        subscriptions,
    });
    let desired = Desired {
        name: "login-alert-alerts".to_owned(),
        arn: ARN.to_owned(),
        emails,
        policy: topic_access(ACCOUNT, ARN),
    };
    let mut plan: Plan<topic::Op> = Plan::new(Mode::Apply, ACCOUNT, "us-east-1");
    topic::plan_apply(current.as_ref(), &desired, &mut plan);
    println!(
        "{n} addresses ({scenario}): {} changes, {} notices, {} blockers",
        plan.changes.len(),
        plan.notices.len(),
        plan.blockers.len()
    );
}

fn usage() -> ! {
    eprintln!("usage: plan_emails [N] [new|subscribed|half]");
    std::process::exit(2)
}

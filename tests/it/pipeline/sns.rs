//! The SNS topic and its email subscriptions: converge, repair, refuse a topic of someone else's, every page of subscriptions.

use super::*;

async fn topic_plan(ctx: &Ctx, mode: Mode) -> Plan<Op> {
    let d = topic::desired(&ctx.target);
    let current = topic::read(ctx, &d.arn).await.expect("read the topic");
    let mut plan = new_plan(ctx, mode);
    match mode {
        Mode::Apply => topic::plan_apply(current.as_ref(), &d, &mut plan),
        Mode::Destroy => topic::plan_destroy(current.as_ref(), &mut plan),
    }
    plan
}

#[tokio::test(flavor = "multi_thread")]
async fn topic_and_email_subscriptions_converge_and_repair() {
    let (account, ctx) = fixture(&["a@example.com", "b@example.com"], None).await;
    let arn = ctx.target.topic_arn().expect("emails configured");

    let first = topic_plan(&ctx, Mode::Apply).await;
    let summary: Vec<(&str, &str, Action)> = first
        .changes
        .iter()
        .map(|c| (c.kind.as_str(), c.name.as_str(), c.action))
        .collect();
    assert_eq!(
        summary,
        [
            ("SNS topic", "login-alert-alerts", Action::Create),
            ("email subscription", "a@example.com", Action::Create),
            ("email subscription", "b@example.com", Action::Create),
        ]
    );
    apply(&ctx, &first).await;

    let current = topic::read(&ctx, &arn)
        .await
        .unwrap()
        .expect("topic created");
    assert!(current.managed, "tagged managed-by=login-alert");
    let mut emails: Vec<&str> = current
        .subscriptions
        .iter()
        .map(|s| s.endpoint.as_str())
        .collect();
    emails.sort();
    assert_eq!(emails, ["a@example.com", "b@example.com"]);
    let again = topic_plan(&ctx, Mode::Apply).await;
    assert_converged(&again);
    // moto confirms at once; AWS would list both as PendingConfirmation and the plan would say so.
    assert!(again.notices.is_empty(), "{:?}", again.notices);

    // Drift: someone unsubscribes b by hand.
    let b = current
        .subscriptions
        .iter()
        .find(|s| s.endpoint == "b@example.com")
        .and_then(|s| s.arn.clone())
        .unwrap();
    ctx.clients
        .sns
        .unsubscribe()
        .subscription_arn(&b)
        .send()
        .await
        .unwrap();
    let drift = topic_plan(&ctx, Mode::Apply).await;
    assert_eq!(drift.changes.len(), 1);
    assert!(
        matches!(&drift.changes[0].op, Op::Topic(topic::Op::Subscribe { email, .. }) if email == "b@example.com")
    );
    apply(&ctx, &drift).await;
    assert_converged(&topic_plan(&ctx, Mode::Apply).await);

    // The config drops b: its (confirmed) subscription goes, a's stays.
    let ctx_a = ctx_for(&account, &config(&["a@example.com"], None));
    let fewer = topic_plan(&ctx_a, Mode::Apply).await;
    assert_eq!(fewer.changes.len(), 1);
    assert_eq!(
        (fewer.changes[0].action, fewer.changes[0].name.as_str()),
        (Action::Delete, "b@example.com")
    );
    apply(&ctx_a, &fewer).await;
    assert_converged(&topic_plan(&ctx_a, Mode::Apply).await);

    // No emails at all: the topic is no longer wanted.
    let ctx_none = ctx_for(&account, &config(&[], Some(WEBHOOK)));
    let gone = topic_plan(&ctx_none, Mode::Apply).await;
    assert_eq!(gone.changes.len(), 1);
    assert!(matches!(
        &gone.changes[0].op,
        Op::Topic(topic::Op::Delete { .. })
    ));

    // Destroy removes the topic (and its subscriptions), then has nothing left to do.
    let destroy = topic_plan(&ctx, Mode::Destroy).await;
    assert_eq!(destroy.changes.len(), 1);
    apply(&ctx, &destroy).await;
    assert_eq!(topic::read(&ctx, &arn).await.unwrap(), None);
    assert_converged(&topic_plan(&ctx, Mode::Destroy).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_topic_with_our_name_but_not_ours_blocks_apply_and_survives_destroy() {
    let (_account, ctx) = fixture(&["a@example.com"], None).await;
    ctx.clients
        .sns
        .create_topic()
        .name(ctx.target.names.topic())
        .send()
        .await
        .unwrap();

    let plan = topic_plan(&ctx, Mode::Apply).await;
    assert!(!plan.has_changes());
    assert_eq!(plan.blockers.len(), 1, "{:?}", plan.blockers);
    assert!(plan.blockers[0].contains("not created by login-alert"));

    let destroy = topic_plan(&ctx, Mode::Destroy).await;
    assert!(!destroy.has_changes());
    assert_eq!(destroy.notices.len(), 1);
    assert!(
        topic::read(&ctx, &ctx.target.topic_arn().unwrap())
            .await
            .unwrap()
            .is_some()
    );
}

/// Many addresses: every page of ListSubscriptionsByTopic is read (moto pages by 100), an address
/// is matched whatever its case, order or repetition in the config, and only the difference is planned.
#[tokio::test(flavor = "multi_thread")]
async fn many_addresses_are_planned_one_to_one_across_every_page() {
    let emails: Vec<String> = (0..250).map(|i| format!("user{i}@example.com")).collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let (account, ctx) = fixture(&refs, None).await;
    let first = topic_plan(&ctx, Mode::Apply).await;
    assert_eq!(
        first.changes.len(),
        251,
        "the topic and one subscription per address"
    );
    apply(&ctx, &first).await;

    // The same addresses, reversed, in capitals and each listed twice: nothing to do.
    let shuffled: Vec<String> = emails
        .iter()
        .rev()
        .flat_map(|e| [e.to_uppercase(), e.clone()])
        .collect();
    let shuffled: Vec<&str> = shuffled.iter().map(String::as_str).collect();
    let same = ctx_for(&account, &config(&shuffled, None));
    let again = topic_plan(&same, Mode::Apply).await;
    assert_converged(&again);
    assert!(again.notices.is_empty(), "{:?}", again.notices);

    // The first 100 stay: the other 150 go, and nothing is subscribed.
    let fewer = ctx_for(&account, &config(&refs[..100], None));
    let plan = topic_plan(&fewer, Mode::Apply).await;
    assert_eq!(plan.changes.len(), 150);
    assert!(
        plan.changes
            .iter()
            .all(|c| c.action == Action::Delete && c.kind == "email subscription")
    );
    assert!(plan.changes.iter().any(|c| c.name == "user249@example.com"));
    assert!(!plan.changes.iter().any(|c| c.name == "user99@example.com"));
    apply(&fewer, &plan).await;
    assert_converged(&topic_plan(&fewer, Mode::Apply).await);
}

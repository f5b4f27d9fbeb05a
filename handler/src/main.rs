//! The Lambda `bootstrap` binary (runtime provided.al2023): builds settings and clients once, then serves invocations.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Error, LambdaEvent, service_fn};
use login_alert_handler::deliver::SdkEnv;
use login_alert_handler::dynamo::DynamoStore;
use login_alert_handler::handler::handle_with;
use login_alert_handler::history::{self, History};
use login_alert_handler::input::Shape;
use login_alert_handler::route::RouteSet;
use login_alert_handler::store::Store;
use login_alert_handler::{AwsDelivery, ENV_STATE_TABLE, Settings};
use serde_json::value::RawValue;
use tokio::sync::OnceCell;
use tokio::time::Instant;
use tracing::warn;

struct State {
    settings: Settings,
    delivery: AwsDelivery,
    store: Option<DynamoStore>,
    /// EventBridge mode: the regions whose event history the digest run reads.
    history: Option<History>,
    /// Read from the state table once per container, like the webhook URLs.
    account_names: OnceCell<BTreeMap<String, String>>,
    /// The routes (`config#routes`), read once per container; until then, or without a state table, every
    /// alert takes the default route.
    routes: OnceCell<RouteSet>,
    sdk: SdkEnv,
    no_routes: RouteSet,
}

/// The account ID in the function's own ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`).
fn account_of(function_arn: &str) -> Option<String> {
    function_arn
        .split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
}

/// The invocation's deadline (epoch milliseconds from the runtime) as an instant on this clock.
fn deadline_of(deadline_ms: u64) -> Option<Instant> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    Some(Instant::now() + Duration::from_millis(deadline_ms.checked_sub(now_ms)?))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    login_alert_handler::log::init();
    let settings = Settings::from_env()?;
    let sdk = SdkEnv::from_env()?;
    let delivery = AwsDelivery::from_env(&sdk)?;
    let store = std::env::var(ENV_STATE_TABLE)
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .map(|table| DynamoStore::new(sdk.dynamodb(), table));
    // The state lives as long as the container; leaking it gives the handler a plain `&'static` borrow.
    let state: &'static State = Box::leak(Box::new(State {
        settings,
        delivery,
        store,
        history: History::from_env(&sdk),
        account_names: OnceCell::new(),
        routes: OnceCell::new(),
        sdk,
        no_routes: RouteSet::default(),
    }));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            let mut settings = state.settings.clone();
            settings.home_account = account_of(&event.context.invoked_function_arn);
            if let Some(store) = &state.store {
                match state
                    .account_names
                    .get_or_try_init(|| store.account_names())
                    .await
                {
                    Ok(names) => settings.account_names = names.clone(),
                    // Not cached: the next invocation tries again.
                    Err(err) => {
                        warn!(error = %err, "account names unavailable; messages show account IDs")
                    }
                }
            }
            let mut routes = &state.no_routes;
            if let Some(store) = &state.store {
                let read = state
                    .routes
                    .get_or_try_init(|| async {
                        let table = store.route_table().await.map_err(|e| e.to_string())?;
                        RouteSet::new(&table, &state.sdk).map_err(|e| e.to_string())
                    })
                    .await;
                match read {
                    Ok(set) => routes = set,
                    // Not cached: the next invocation tries again. Nothing is dropped: the default route takes all.
                    Err(err) => warn!(error = %err, "routes unavailable; every alert takes the default route"),
                }
            }
            let delivery = routes.over(&state.delivery);
            let deadline = deadline_of(event.context.deadline);
            let outcome = handle_with(
                event.payload.get().as_bytes(),
                &settings,
                &delivery,
                state.store.as_ref(),
                deadline,
                chrono::Utc::now(),
            )
            .await?;
            // After the digests, the events EventBridge may have dropped (only with the state table: without it
            // nothing tells a delivered event from a missed one).
            if outcome.shape == Some(Shape::Schedule)
                && let (Some(history), Some(store)) = (&state.history, &state.store)
            {
                history::backfill(
                    history,
                    &settings,
                    &delivery,
                    store,
                    deadline,
                    chrono::Utc::now(),
                )
                .await?;
            }
            Ok::<_, Error>(serde_json::json!({
                "records": outcome.records,
                "unreadable": outcome.unreadable,
                "alerts": outcome.alerts,
                "messages": outcome.messages,
                "summarised": outcome.summarised,
                "duplicates": outcome.duplicates,
                "deliveries": outcome.deliveries,
            }))
        },
    ))
    .await
}

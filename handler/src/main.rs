//! The Lambda `bootstrap` binary (runtime provided.al2023): builds settings and clients once, then serves invocations.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use login_alert_handler::deliver::SdkEnv;
use login_alert_handler::{AwsDelivery, Settings, handle};
use serde_json::value::RawValue;

struct State {
    settings: Settings,
    delivery: AwsDelivery,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    login_alert_handler::log::init();
    let settings = Settings::from_env()?;
    let delivery = AwsDelivery::from_env(&SdkEnv::from_env()?)?;
    // The state lives as long as the container; leaking it gives the handler a plain `&'static` borrow.
    let state: &'static State = Box::leak(Box::new(State { settings, delivery }));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            let outcome = handle(
                event.payload.get().as_bytes(),
                &state.settings,
                &state.delivery,
            )
            .await?;
            Ok::<_, Error>(serde_json::json!({
                "records": outcome.records,
                "unreadable": outcome.unreadable,
                "alerts": outcome.alerts,
                "deliveries": outcome.deliveries,
            }))
        },
    ))
    .await
}

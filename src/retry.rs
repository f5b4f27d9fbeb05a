//! Bounded, error-driven retries for what the SDK's own retry does not cover: IAM propagation and
//! Lambda readiness. Backoff grows between attempts; the bound is total time, not an attempt count.

use std::future::Future;
use std::time::Duration;

use crate::printer::{Printer, Step};

/// How long to keep trying and how to space the attempts.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    pub total: Duration,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Bound {
    /// IAM changes usually show within seconds; terraform-provider-aws allows minutes.
    pub const IAM_PROPAGATION: Bound = Bound {
        total: Duration::from_secs(120),
        first_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(10),
    };
    /// A function leaves `Pending` / `InProgress` within seconds to a minute.
    pub const LAMBDA_READY: Bound = Bound {
        total: Duration::from_secs(300),
        first_delay: Duration::from_millis(500),
        max_delay: Duration::from_secs(5),
    };
}

/// Why the loop stopped: the call's own final error, or the bound ran out on a retryable error.
#[derive(Debug)]
pub enum Stopped<E> {
    Failed(E),
    TimedOut {
        last: E,
        attempts: u32,
        waited: Duration,
    },
}

/// Calls `op` until it succeeds, fails with an error `retryable` rejects, or `bound` runs out.
pub async fn retry<T, E, F, Fut>(
    bound: Bound,
    step: Option<&Step>,
    what: &str,
    retryable: impl Fn(&E) -> bool,
    mut op: F,
) -> Result<T, Stopped<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let start = tokio::time::Instant::now();
    let mut delay = bound.first_delay;
    let mut attempts = 0;
    loop {
        attempts += 1;
        match op().await {
            Ok(value) => return Ok(value),
            Err(err) if !retryable(&err) => return Err(Stopped::Failed(err)),
            Err(err) => {
                let waited = start.elapsed();
                if waited + delay > bound.total {
                    return Err(Stopped::TimedOut {
                        last: err,
                        attempts,
                        waited,
                    });
                }
                if let Some(step) = step {
                    step.update(format!(
                        "{what} (attempt {attempts}, {}s so far)",
                        waited.as_secs()
                    ));
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(bound.max_delay);
            }
        }
    }
}

/// Calls `op` once; only if it fails with a `retryable` error does a progress line (`waiting`)
/// appear while [`retry`] keeps trying within `bound`, so a call that succeeds at once prints nothing
/// beside apply's own line. `attempts` in a timeout counts the first call too.
pub async fn patiently<T, E, F, Fut>(
    printer: &Printer,
    bound: Bound,
    waiting: String,
    what: &str,
    retryable: impl Fn(&E) -> bool,
    mut op: F,
) -> Result<T, Stopped<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    match op().await {
        Ok(value) => return Ok(value),
        Err(err) if !retryable(&err) => return Err(Stopped::Failed(err)),
        Err(_) => {}
    }
    let step = printer.step(waiting);
    let result = retry(bound, Some(&step), what, &retryable, &mut op).await;
    match result {
        Ok(value) => {
            step.done();
            Ok(value)
        }
        Err(Stopped::TimedOut {
            last,
            attempts,
            waited,
        }) => {
            step.failed();
            Err(Stopped::TimedOut {
                last,
                attempts: attempts + 1,
                waited,
            })
        }
        Err(err) => {
            step.failed();
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    const QUICK: Bound = Bound {
        total: Duration::from_secs(10),
        first_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(4),
    };

    #[tokio::test(start_paused = true)]
    async fn retries_a_retryable_error_until_success() {
        let calls = Cell::new(0);
        let result: Result<u32, Stopped<&str>> = retry(
            QUICK,
            None,
            "waiting",
            |e| *e == "not yet",
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move { if n < 3 { Err("not yet") } else { Ok(n) } }
            },
        )
        .await;
        assert_eq!(result.unwrap(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_final_error_stops_at_once() {
        let calls = Cell::new(0);
        let result: Result<(), Stopped<&str>> = retry(
            QUICK,
            None,
            "waiting",
            |e| *e == "not yet",
            || {
                calls.set(calls.get() + 1);
                async { Err("malformed") }
            },
        )
        .await;
        assert!(matches!(result, Err(Stopped::Failed("malformed"))));
        assert_eq!(calls.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_bound_is_total_time() {
        let result: Result<(), Stopped<&str>> = retry(
            QUICK,
            None,
            "waiting",
            |_| true,
            || async { Err("not yet") },
        )
        .await;
        match result {
            Err(Stopped::TimedOut {
                attempts, waited, ..
            }) => {
                assert!(waited <= QUICK.total);
                assert!((3..=6).contains(&attempts), "{attempts} attempts");
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
    }
}

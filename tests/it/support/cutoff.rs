//! A loopback HTTP proxy in front of moto that forwards the first `k` write requests and holds the
//! next one (and any after it) unanswered: a command sent through it stops inside a step, after
//! exactly `k` writes, where the test kills it.
//!
//! Writes are told from reads the way moto's recorder is read in `support`: by the operation name
//! (the `X-Amz-Target` header, or the form body's `Action=`) or, for REST services (S3, Lambda),
//! by the method.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub struct Cutoff {
    /// Where to point the command (`AWS_ENDPOINT_URL`).
    pub url: String,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

struct State {
    upstream: String,
    allowed: usize,
    writes: AtomicUsize,
    holding: AtomicBool,
    shutdown: Notify,
}

impl Cutoff {
    /// Starts a proxy to `upstream` (`http://HOST:PORT`) that lets `allowed` writes through.
    pub async fn start(upstream: &str, allowed: usize) -> Cutoff {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let state = Arc::new(State {
            upstream: upstream
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_owned(),
            allowed,
            writes: AtomicUsize::new(0),
            holding: AtomicBool::new(false),
            shutdown: Notify::new(),
        });
        let shared = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(&state, req).await) }
                    });
                    // A killed client ends its connection: nothing to report.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Cutoff { url, state, accept }
    }

    /// Whether a write beyond the allowed ones has arrived and is being held.
    pub fn holding(&self) -> bool {
        self.state.holding.load(Ordering::SeqCst)
    }

    /// Write requests seen so far (the held ones included).
    pub fn writes(&self) -> usize {
        self.state.writes.load(Ordering::SeqCst)
    }
}

impl Drop for Cutoff {
    fn drop(&mut self) {
        self.accept.abort();
        // Held requests end (with a 503 no one reads) instead of lingering until the runtime stops.
        self.state.shutdown.notify_waiters();
    }
}

async fn handle(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(err) => return answer(StatusCode::BAD_REQUEST, err.to_string()),
    };
    if is_write(&parts, &body) {
        let seen = state.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if seen > state.allowed {
            let released = state.shutdown.notified();
            state.holding.store(true, Ordering::SeqCst);
            released.await;
            return answer(StatusCode::SERVICE_UNAVAILABLE, "cut off".into());
        }
    }
    match forward(&state.upstream, parts, body).await {
        Ok(response) => response,
        Err(err) => answer(StatusCode::BAD_GATEWAY, err),
    }
}

/// One request to moto on a connection of its own; the whole answer is read before it is relayed.
async fn forward(
    upstream: &str,
    parts: Parts,
    body: Bytes,
) -> Result<Response<Full<Bytes>>, String> {
    let stream = TcpStream::connect(upstream)
        .await
        .map_err(|e| format!("connecting to {upstream}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let response = sender
        .send_request(Request::from_parts(parts, Full::new(body)))
        .await
        .map_err(|e| e.to_string())?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}

fn answer(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response
}

/// Reads: Describe*/List*/Get*/Head*/Lookup*/Test* operations, and GET/HEAD for REST services.
fn is_write(parts: &Parts, body: &[u8]) -> bool {
    let read = |op: &str| {
        ["Describe", "List", "Get", "Head", "Lookup", "Test"]
            .iter()
            .any(|prefix| op.starts_with(prefix))
    };
    if let Some(target) = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        return !read(target.rsplit('.').next().unwrap_or(target));
    }
    let form = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("x-www-form-urlencoded"));
    if form
        && let Some(action) = std::str::from_utf8(body)
            .ok()
            .and_then(|b| b.split('&').find_map(|kv| kv.strip_prefix("Action=")))
    {
        return !read(action);
    }
    !matches!(parts.method.as_str(), "GET" | "HEAD")
}

//! The demo's HTTP server: hyper's HTTP/1 connection with the limits a slow or hostile client
//! must not get around, where `axum::serve` has none.
//!
//! - The request head must arrive within the header timeout (a client sending one byte a
//!   second is cut off), which also bounds how long an idle keep-alive connection stays open.
//! - A response write that makes no progress for the write timeout closes the connection (a
//!   client that never reads its responses holds neither a task nor its buffers for long).
//! - A request (body included) must be answered within the request timeout: 408.
//! - A body longer than the body limit is refused with 413, before it is read when it says its
//!   length (tower-http's `RequestBodyLimit`).
//!
//! Each connection is its own task; shutdown stops accepting, lets requests in flight finish
//! for up to [`DRAIN`], then closes what is left.

use std::{convert::Infallible, future::Future, pin::pin, time::Duration};

use axum::body::Body;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tenantry::problem::{Problem, ProblemCode};
use tokio::net::TcpListener;
use tokio_io_timeout::TimeoutStream;
use tower::{Service, ServiceBuilder, util::MapRequest};
use tower_http::{
    body::Limited,
    limit::{RequestBodyLimit, RequestBodyLimitLayer},
    timeout::{Timeout, TimeoutLayer},
};

/// How long shutdown waits for requests in flight.
pub(crate) const DRAIN: Duration = Duration::from_secs(10);

/// The per-connection and per-request limits (`tenantry serve` flags).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) header_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) body_limit: usize,
}

/// `app` behind the request limits: a body over the limit is 413, a request (body included)
/// that takes longer than the request timeout is 408 (made problem+json by [`as_problem`]).
pub(crate) fn guard<S>(app: S, limits: &Limits) -> Guarded<S> {
    ServiceBuilder::new()
        .layer(RequestBodyLimitLayer::new(limits.body_limit))
        .map_request(unlimit as fn(Request<Limited<Body>>) -> Request<Body>)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .service(app)
}

/// The service [`guard`] makes.
pub(crate) type Guarded<S> =
    RequestBodyLimit<MapRequest<Timeout<S>, fn(Request<Limited<Body>>) -> Request<Body>>>;

/// tower-http's own 413 and 408 (plain text) as the problems every other refusal is, naming
/// the request's path as `instance`; a middleware over [`guard`], inside the request log and the
/// metrics so that they see the code.
pub(crate) async fn as_problem(req: Request<Body>, next: axum::middleware::Next) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let res = next.run(req).await;
    if res.extensions().get::<ProblemCode>().is_some() {
        return res;
    }
    let (code, detail) = match res.status() {
        StatusCode::PAYLOAD_TOO_LARGE => (
            ProblemCode::PayloadTooLarge,
            "the body is larger than this service accepts",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            ProblemCode::RequestTimeout,
            "the request took longer than this service allows",
        ),
        _ => return res,
    };
    Problem::new(code, detail).with_instance(path).to_response()
}

/// How many requests may be in flight at once (`serve --max-in-flight`): one more is answered
/// 503 `unavailable` with `Retry-After: 1` at once, without waiting. Requests never queue
/// behind the cap, so a slow or unreachable database (each request bounded by the pool's
/// acquire timeout) cannot pile up work, memory or latency past that deadline.
#[derive(Debug, Clone)]
pub(crate) struct InFlight(std::sync::Arc<tokio::sync::Semaphore>);

impl InFlight {
    pub(crate) fn new(max: usize) -> Self {
        Self(std::sync::Arc::new(tokio::sync::Semaphore::new(
            max.clamp(1, tokio::sync::Semaphore::MAX_PERMITS),
        )))
    }
}

/// The middleware of [`InFlight`].
pub(crate) async fn shed(
    axum::extract::State(cap): axum::extract::State<InFlight>,
    req: Request<Body>,
    next: axum::middleware::Next,
) -> Response<Body> {
    let Ok(_permit) = cap.0.try_acquire() else {
        let mut res = Problem::new(
            ProblemCode::Unavailable,
            "the service is at its limit of requests in flight; retry shortly",
        )
        .with_instance(req.uri().path())
        .to_response::<Body>();
        res.headers_mut().insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static("1"),
        );
        return res;
    };
    next.run(req).await
}

fn unlimit(req: Request<Limited<Body>>) -> Request<Body> {
    req.map(Body::new)
}

/// Serves `app` on `listener` until `shutdown` completes, then drains. The head and write
/// timeouts of `limits` apply to every connection.
pub(crate) async fn serve<S, B>(
    listener: TcpListener,
    app: S,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let app = ServiceBuilder::new()
        .map_request(|req: Request<Incoming>| req.map(Body::new))
        .service(app);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(target: "tenantry::serve", error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let mut io = TimeoutStream::new(tcp);
        io.set_write_timeout(Some(limits.write_timeout));
        let io = TokioIo::new(Box::pin(io));
        let service = TowerToHyperService::new(app.clone());
        let conn = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(target: "tenantry::serve", %remote, error = %e, "connection closed");
            }
        });
    }
    drop(listener);
    tracing::info!(target: "tenantry::serve", "shutting down: no new connections");
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            target: "tenantry::serve",
            "requests still running after {} s were cut off",
            DRAIN.as_secs()
        );
    }
}

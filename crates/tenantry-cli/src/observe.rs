//! The demo's request log: one `info` line per request (target `tenantry::request`), with the
//! method, path, route, status, latency, tenant and how it was resolved, and the problem code
//! of a refusal. It sits outside the tenancy layer and reads what the inner layers leave in the
//! response's extensions (the tenant context, the problem code, the route template).

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use axum::extract::MatchedPath;
use http::{Method, Request, Response, Uri};
use pin_project_lite::pin_project;
use tenantry::{TenantContext, problem::ProblemCode};
use tower::{Layer, Service};

/// Adds the request log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestLogLayer;

impl<S> Layer<S> for RequestLogLayer {
    type Service = RequestLog<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequestLog { inner }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct RequestLog<S> {
    inner: S,
}

impl<S, B, R> Service<Request<B>> for RequestLog<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = LogFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        LogFuture {
            method: req.method().clone(),
            uri: req.uri().clone(),
            started: Instant::now(),
            inner: self.inner.call(req),
        }
    }
}

pin_project! {
    pub(crate) struct LogFuture<F> {
        #[pin]
        inner: F,
        method: Method,
        uri: Uri,
        started: Instant,
    }
}

impl<F, R, E> Future for LogFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = std::task::ready!(this.inner.poll(cx))?;
        let ext = response.extensions();
        let ctx = ext.get::<TenantContext>();
        tracing::info!(
            target: crate::logformat::REQUEST_TARGET,
            // A field rather than a format string: a string the line's writer copies.
            message = "request",
            method = this.method.as_str(),
            path = this.uri.path(),
            route = ext.get::<MatchedPath>().map(MatchedPath::as_str),
            status = response.status().as_u16(),
            // Whole microseconds, shown in milliseconds: `0.532`, not `0.5325230000000001`.
            latency_ms = this.started.elapsed().as_micros() as f64 / 1000.0,
            tenant = ctx.map(|c| c.tenant().as_str()),
            resolved_by = ctx.map(TenantContext::resolved_by),
            code = ext.get::<ProblemCode>().map(|c| c.as_str()),
        );
        Poll::Ready(Ok(response))
    }
}

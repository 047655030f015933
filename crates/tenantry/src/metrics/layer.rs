//! [`MetricsLayer`]: one set of measurements per request.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use axum::extract::MatchedPath;
use http::{Method, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::{
    RATE_LIMIT_DECISIONS, REFUSALS, REQUEST_DURATION, REQUESTS, TenantLabels, labels::NONE,
};
use crate::{TenantContext, problem::ProblemCode};

/// Records every request's tenant, status, problem code, rate-limit decision and latency
/// (see the [module docs](super)). Put it outside the tenancy layer.
#[derive(Debug, Clone)]
#[must_use]
pub struct MetricsLayer {
    labels: Arc<TenantLabels>,
}

impl MetricsLayer {
    /// Labels tenants with `labels`.
    pub fn new(labels: TenantLabels) -> Self {
        Self {
            labels: Arc::new(labels),
        }
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Metrics<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Metrics {
            inner,
            labels: self.labels.clone(),
        }
    }
}

/// The service of [`MetricsLayer`].
#[derive(Debug, Clone)]
pub struct Metrics<S> {
    inner: S,
    labels: Arc<TenantLabels>,
}

impl<S, B, R> Service<Request<B>> for Metrics<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        ResponseFuture {
            method: method_label(req.method()),
            started: Instant::now(),
            labels: self.labels.clone(),
            inner: self.inner.call(req),
        }
    }
}

pin_project! {
    /// The response future of [`Metrics`]: records when the inner response is ready.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        method: &'static str,
        started: Instant,
        labels: Arc<TenantLabels>,
    }
}

impl<F, R, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = std::task::ready!(this.inner.poll(cx))?;
        record(&response, this.method, *this.started, this.labels);
        Poll::Ready(Ok(response))
    }
}

fn record<R>(
    response: &Response<R>,
    method: &'static str,
    started: Instant,
    labels: &TenantLabels,
) {
    let status = response.status();
    let ext = response.extensions();
    let tenant = match ext.get::<TenantContext>() {
        Some(ctx) => labels.label(ctx.tenant()),
        None => Arc::from(NONE),
    };
    metrics::counter!(REQUESTS, "tenant" => tenant, "status" => status_label(status)).increment(1);
    let code = ext.get::<ProblemCode>().map(|c| c.as_str());
    if let Some(code) = code {
        metrics::counter!(REFUSALS, "code" => code).increment(1);
    }
    if response.headers().contains_key("x-ratelimit-limit") {
        let decision = if code == Some("rate_limited") {
            "limited"
        } else {
            "allowed"
        };
        metrics::counter!(RATE_LIMIT_DECISIONS, "decision" => decision).increment(1);
    }
    let route = ext
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    metrics::histogram!(REQUEST_DURATION, "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The status as a label, without allocating for the usual ones.
fn status_label(status: StatusCode) -> metrics::SharedString {
    match status.as_u16() {
        200 => "200".into(),
        201 => "201".into(),
        204 => "204".into(),
        400 => "400".into(),
        401 => "401".into(),
        403 => "403".into(),
        404 => "404".into(),
        409 => "409".into(),
        422 => "422".into(),
        429 => "429".into(),
        500 => "500".into(),
        503 => "503".into(),
        other => other.to_string().into(),
    }
}

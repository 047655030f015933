//! [`MetricsLayer`]: one set of measurements per request.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use axum::extract::MatchedPath;
use http::{HeaderName, Method, Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::{
    TenantLabels,
    labels::NONE,
    series::{Labels, Series},
};
use crate::{TenantContext, problem::ProblemCode};

/// Records every request's tenant, status, problem code, rate-limit decision and latency
/// (see the [module docs](super)). Put it outside the tenancy layer.
#[derive(Debug, Clone)]
#[must_use]
pub struct MetricsLayer {
    shared: Arc<Shared>,
}

/// What every clone of the layer and its services shares.
#[derive(Debug)]
struct Shared {
    labels: TenantLabels,
    none: Arc<str>,
    series: Series,
}

impl MetricsLayer {
    /// Labels tenants with `labels`.
    pub fn new(labels: TenantLabels) -> Self {
        Self {
            shared: Arc::new(Shared {
                labels,
                none: Arc::from(NONE),
                series: Series::default(),
            }),
        }
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Metrics<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Metrics {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service of [`MetricsLayer`].
#[derive(Debug, Clone)]
pub struct Metrics<S> {
    inner: S,
    shared: Arc<Shared>,
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
            method: method_index(req.method()),
            started: Instant::now(),
            shared: self.shared.clone(),
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
        method: usize,
        started: Instant,
        shared: Arc<Shared>,
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
        record(&response, *this.method, *this.started, this.shared);
        Poll::Ready(Ok(response))
    }
}

fn record<R>(response: &Response<R>, method: usize, started: Instant, shared: &Shared) {
    let ext = response.extensions();
    let tenant = match ext.get::<TenantContext>() {
        Some(ctx) => shared.labels.label(ctx.tenant()),
        None => shared.none.clone(),
    };
    let code = ext.get::<ProblemCode>().map(|c| c.as_str());
    let decision = response
        .headers()
        .contains_key(&RATE_LIMIT_LIMIT)
        .then_some(code == Some("rate_limited"));
    let labels = Labels {
        tenant: &tenant,
        status: response.status().as_u16(),
        code,
        decision,
        method,
        route: ext
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str),
    };
    shared
        .series
        .record(&labels, started.elapsed().as_secs_f64());
}

/// The header that tells a rate-limit decision was made.
static RATE_LIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");

/// The method's index into `series::METHODS`.
fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::POST => 1,
        Method::PUT => 2,
        Method::PATCH => 3,
        Method::DELETE => 4,
        Method::HEAD => 5,
        Method::OPTIONS => 6,
        _ => 7,
    }
}

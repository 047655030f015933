use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::{Rejection, TenantContext};

/// Marks routes tenant-scoped behind an [`optional`](super::TenancyBuilder::optional)
/// [`TenancyLayer`](super::TenancyLayer): a request without an accepted tenant gets
/// 401 `tenant_context_missing` before the handler runs.
///
/// ```
/// use axum::{Router, routing::get};
/// use tenantry::enforce::RequireTenantLayer;
///
/// let api: Router = Router::new()
///     .route("/items", get(|| async { "items" }))
///     .route_layer(RequireTenantLayer::new());
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct RequireTenantLayer;

impl RequireTenantLayer {
    /// The layer.
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for RequireTenantLayer {
    type Service = RequireTenant<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequireTenant { inner }
    }
}

/// The service of [`RequireTenantLayer`].
#[derive(Debug, Clone)]
pub struct RequireTenant<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireTenant<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = RequireFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if req.extensions().get::<TenantContext>().is_some() {
            RequireFuture::Inner {
                future: self.inner.call(req),
            }
        } else {
            let problem = Rejection::TenantContextMissing
                .to_problem()
                .with_instance(req.uri().path());
            RequireFuture::Refused {
                response: Some(problem.to_response()),
            }
        }
    }
}

pin_project! {
    /// The response future of [`RequireTenant`].
    #[project = RequireProj]
    #[allow(missing_docs)]
    pub enum RequireFuture<F, B> {
        Inner { #[pin] future: F },
        Refused { response: Option<Response<B>> },
    }
}

impl<F, B, E> Future for RequireFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            RequireProj::Inner { future } => future.poll(cx),
            RequireProj::Refused { response } => match response.take() {
                Some(r) => Poll::Ready(Ok(r)),
                None => Poll::Pending,
            },
        }
    }
}

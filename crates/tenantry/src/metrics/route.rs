//! [`MatchedPathLayer`]: the route template, copied where layers outside the router see it.

use std::task::{Context, Poll};

use axum::extract::MatchedPath;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

/// Copies axum's [`MatchedPath`] (`/api/v1/items/{id}`) from the request into the response's
/// extensions, so that [`MetricsLayer`](super::MetricsLayer) and request logs outside the
/// router can label by route. Add it with `Router::layer` (it must run after routing). The
/// routes of a [`Crud`](crate::crud::Crud) router do this themselves, so a router of nothing
/// else needs no layer (and routes merged after the layer was added keep their own).
#[derive(Debug, Clone, Copy, Default)]
pub struct MatchedPathLayer;

impl<S> Layer<S> for MatchedPathLayer {
    type Service = KeepMatchedPath<S>;
    fn layer(&self, inner: S) -> Self::Service {
        KeepMatchedPath { inner }
    }
}

/// The service of [`MatchedPathLayer`].
#[derive(Debug, Clone)]
pub struct KeepMatchedPath<S> {
    inner: S,
}

impl<S, B, R> Service<Request<B>> for KeepMatchedPath<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = RouteFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let path = req.extensions().get::<MatchedPath>().cloned();
        RouteFuture {
            inner: self.inner.call(req),
            path,
        }
    }
}

pin_project! {
    /// The response future of [`KeepMatchedPath`].
    #[derive(Debug)]
    pub struct RouteFuture<F> {
        #[pin]
        inner: F,
        path: Option<MatchedPath>,
    }
}

impl<F, R, E> std::future::Future for RouteFuture<F>
where
    F: std::future::Future<Output = Result<Response<R>, E>>,
{
    type Output = F::Output;
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        if let Some(path) = this.path.take() {
            response.extensions_mut().insert(path);
        }
        Poll::Ready(Ok(response))
    }
}

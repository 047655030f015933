//! [`Routed`]: a CRUD handler whose response carries its route template.
//!
//! Request logs and [`MetricsLayer`](crate::metrics::MetricsLayer) sit outside the router and
//! label by route, which they find as axum's [`MatchedPath`] in the response's extensions.
//! `MatchedPathLayer` puts it there for any route, but `Router::layer` wraps every route in one
//! more boxed service (a clone, a boxed future and their allocations on every request); the
//! CRUD routes copy it themselves, in the handler, for the cost of the copy.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use axum::{extract::MatchedPath, extract::Request, handler::Handler, response::Response};
use pin_project_lite::pin_project;

/// `H`, with the request's [`MatchedPath`] copied into its response.
#[derive(Clone)]
pub(super) struct Routed<H>(pub(super) H);

impl<H, T, S> Handler<T, S> for Routed<H>
where
    H: Handler<T, S>,
    S: Send + 'static,
{
    type Future = RoutedFuture<H::Future>;

    fn call(self, req: Request, state: S) -> Self::Future {
        let path = req.extensions().get::<MatchedPath>().cloned();
        RoutedFuture {
            inner: self.0.call(req, state),
            path,
        }
    }
}

pin_project! {
    /// The future of [`Routed`].
    pub(super) struct RoutedFuture<F> {
        #[pin]
        inner: F,
        path: Option<MatchedPath>,
    }
}

impl<F: Future<Output = Response>> Future for RoutedFuture<F> {
    type Output = Response;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx));
        if let Some(path) = this.path.take() {
            response.extensions_mut().insert(path);
        }
        Poll::Ready(response)
    }
}

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use http::{Request, Response};
use tower_service::Service;

use super::{NoTenant, decide::Config};
use crate::context;

/// The service [`TenancyLayer`](super::TenancyLayer) produces.
#[derive(Clone)]
pub struct Tenancy<S> {
    pub(super) inner: S,
    pub(super) config: Arc<Config>,
}

impl<S: fmt::Debug> fmt::Debug for Tenancy<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenancy")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish()
    }
}

/// The response future of [`Tenancy`]: a refusal, or the inner service's response produced
/// inside the tenant's scope.
pub struct ResponseFuture<B, E> {
    inner: Pin<Box<dyn Future<Output = Result<Response<B>, E>> + Send>>,
}

impl<B, E> fmt::Debug for ResponseFuture<B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseFuture(..)")
    }
}

impl<B, E> Future for ResponseFuture<B, E> {
    type Output = Result<Response<B>, E>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Tenancy<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<Bytes> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // The clone is not ready; the one polled ready is taken (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        ResponseFuture {
            inner: Box::pin(async move {
                let (mut head, body) = req.into_parts();
                match config.decide(&mut head).await {
                    Err(rejection) => {
                        tracing::debug!(
                            code = rejection.code(),
                            status = rejection.status().as_u16(),
                            "tenant rejected"
                        );
                        let problem = rejection.to_problem().with_instance(head.uri.path());
                        Ok(problem.to_response())
                    }
                    Ok(None) => {
                        head.extensions.insert(NoTenant);
                        inner.call(Request::from_parts(head, body)).await
                    }
                    Ok(Some((ctx, principal))) => {
                        tracing::Span::current().record("tenant_id", ctx.tenant().as_str());
                        head.extensions.insert(ctx.clone());
                        if let Some(p) = principal {
                            head.extensions.insert(p);
                        }
                        let req = Request::from_parts(head, body);
                        context::scope(ctx, async move { inner.call(req).await }).await
                    }
                }
            }),
        }
    }
}

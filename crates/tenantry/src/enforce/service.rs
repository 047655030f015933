use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use http::{Request, Response, request::Parts};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::{
    NoTenant,
    decide::{Config, Decision},
};
use crate::{Rejection, TenantContext, context, context::Scoped};

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

pin_project! {
    /// The response future of [`Tenancy`]: a refusal, or the inner service's response produced
    /// inside the tenant's scope. An accepted request's response carries its
    /// [`TenantContext`] in its extensions (a refusal carries a
    /// [`ProblemCode`](crate::problem::ProblemCode)), so that logging and metrics layers outside
    /// this one can tell the tenant and how it was resolved.
    ///
    /// When the tenant can be decided without awaiting (built-in resolvers, no membership hook,
    /// the catalog entry cached: the usual case), it is decided in `call` and this future is the
    /// inner one in the tenant's scope, with nothing allocated; otherwise the decision and the
    /// inner call run in one boxed future.
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        state: State<F, B, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B, E> {
        Refused { response: Option<Response<B>> },
        Scoped { #[pin] future: Scoped<F>, ctx: Option<TenantContext> },
        Unscoped { #[pin] future: F },
        Deciding { future: Pin<Box<dyn Future<Output = Result<Response<B>, E>> + Send>> },
    }
}

impl<F, B, E> fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseFuture(..)")
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Refused { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => panic!("ResponseFuture polled after completion"),
            },
            StateProj::Scoped { future, ctx } => match future.poll(cx) {
                Poll::Ready(Ok(mut response)) => {
                    if let Some(ctx) = ctx.take() {
                        response.extensions_mut().insert(ctx);
                    }
                    Poll::Ready(Ok(response))
                }
                other => other,
            },
            StateProj::Unscoped { future } => future.poll(cx),
            StateProj::Deciding { future } => future.as_mut().poll(cx),
        }
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
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let (mut head, body) = req.into_parts();
        if self.config.is_public(head.uri.path()) {
            head.extensions.insert(NoTenant);
            return ResponseFuture {
                state: State::Unscoped {
                    future: self.inner.call(Request::from_parts(head, body)),
                },
            };
        }
        let decided = if self.config.immediate {
            self.config.decide_now(&mut head)
        } else {
            None
        };
        let state = match decided {
            Some(decision) => {
                // The inner service was polled ready: call it now (no clone needed).
                match admit(decision, &mut head) {
                    Err(refusal) => State::Refused {
                        response: Some(refusal),
                    },
                    Ok(None) => State::Unscoped {
                        future: self.inner.call(Request::from_parts(head, body)),
                    },
                    Ok(Some(ctx)) => State::Scoped {
                        future: context::scoped(
                            ctx.clone(),
                            self.inner.call(Request::from_parts(head, body)),
                        ),
                        ctx: Some(ctx),
                    },
                }
            }
            None => {
                // The clone is not ready; the one polled ready is taken (tower's usual swap).
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let config = self.config.clone();
                State::Deciding {
                    future: Box::pin(async move {
                        let decision = config.decide(&mut head).await;
                        match admit(decision, &mut head) {
                            Err(refusal) => Ok(refusal),
                            Ok(None) => inner.call(Request::from_parts(head, body)).await,
                            Ok(Some(ctx)) => {
                                let req = Request::from_parts(head, body);
                                let mut response =
                                    context::scope(ctx.clone(), inner.call(req)).await?;
                                response.extensions_mut().insert(ctx);
                                Ok(response)
                            }
                        }
                    }),
                }
            }
        };
        ResponseFuture { state }
    }
}

/// Applies a decision to the request head: the refusal as problem+json, or the context (and a
/// freshly authenticated principal) put in the extensions. `Ok(None)`: no tenant (optional
/// layer), marked with [`NoTenant`].
fn admit<B: From<Bytes>>(
    decision: Result<Decision, Rejection>,
    head: &mut Parts,
) -> Result<Option<TenantContext>, Response<B>> {
    match decision {
        Err(rejection) => {
            tracing::debug!(
                code = rejection.code().as_str(),
                status = rejection.status().as_u16(),
                "tenant rejected"
            );
            let problem = rejection.to_problem().with_instance(head.uri.path());
            Err(problem.to_response())
        }
        Ok(None) => {
            head.extensions.insert(NoTenant);
            Ok(None)
        }
        Ok(Some((ctx, principal))) => {
            tracing::Span::current().record("tenant_id", ctx.tenant().as_str());
            head.extensions.insert(ctx.clone());
            if let Some(p) = principal {
                head.extensions.insert(p);
            }
            Ok(Some(ctx))
        }
    }
}

//! [`ResponseFuture`]: decide, then refuse or call the inner service and add the headers.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use bytes::Bytes;
use http::{Request, Response, request::Parts};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::{
    Decision, LimitCode, headers,
    layer::{Config, Verdict},
};
use crate::{BoxFuture, Rejection};

pin_project! {
    /// The response future of [`RateLimit`](super::RateLimit): first the decision (resolver and
    /// store), then a refusal or the inner service's response with the rate-limit headers.
    /// The inner service's error passes through untouched.
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S, B>,
    }
}

pin_project! {
    #[project = StateProj]
    #[project_replace = StateOwned]
    enum State<S, B>
    where
        S: Service<Request<B>>,
    {
        Deciding {
            decision: BoxFuture<'static, (Parts, Verdict)>,
            config: Arc<Config>,
            inner: S,
            body: B,
        },
        Calling {
            #[pin]
            future: S::Future,
            decision: Option<Decision>,
        },
        Refused {
            verdict: Verdict,
            code: LimitCode,
            path: String,
        },
        Done,
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    pub(super) fn new(config: Arc<Config>, head: Parts, mut inner: S, body: B) -> Self {
        // Decided on the spot when nothing needs waiting for: no boxed future.
        if let Some(verdict) = config.decide_now(&head) {
            let state = match verdict {
                Verdict::Proceed(decision) => State::Calling {
                    future: inner.call(Request::from_parts(head, body)),
                    decision,
                },
                verdict => State::Refused {
                    verdict,
                    code: config.code,
                    path: head.uri.path().to_owned(),
                },
            };
            return Self { state };
        }
        let deciding = config.clone();
        let decision: BoxFuture<'static, (Parts, Verdict)> = Box::pin(async move {
            let verdict = deciding.decide(&head).await;
            (head, verdict)
        });
        Self {
            state: State::Deciding {
                decision,
                config,
                inner,
                body,
            },
        }
    }
}

impl<S, B> fmt::Debug for ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseFuture(..)")
    }
}

impl<S, B, ResBody> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Deciding { decision, .. } => {
                    let (head, verdict) = ready!(decision.as_mut().poll(cx));
                    let StateOwned::Deciding {
                        config,
                        mut inner,
                        body,
                        ..
                    } = this.state.as_mut().project_replace(State::Done)
                    else {
                        return Poll::Ready(Ok(misuse()));
                    };
                    let path = head.uri.path();
                    match verdict {
                        Verdict::Proceed(decision) => {
                            let future = inner.call(Request::from_parts(head, body));
                            this.state.set(State::Calling { future, decision });
                        }
                        Verdict::Refuse(decision) => {
                            return Poll::Ready(Ok(headers::too_many(
                                config.code,
                                &decision,
                                path,
                            )));
                        }
                        Verdict::Unavailable => {
                            return Poll::Ready(Ok(headers::unavailable(path)));
                        }
                    }
                }
                StateProj::Calling { future, decision } => {
                    let mut res = ready!(future.poll(cx))?;
                    if let Some(decision) = decision {
                        headers::set(res.headers_mut(), decision);
                    }
                    this.state.set(State::Done);
                    return Poll::Ready(Ok(res));
                }
                StateProj::Refused {
                    verdict,
                    code,
                    path,
                } => {
                    let res = match verdict {
                        Verdict::Refuse(decision) => headers::too_many(*code, decision, path),
                        _ => headers::unavailable(path),
                    };
                    this.state.set(State::Done);
                    return Poll::Ready(Ok(res));
                }
                StateProj::Done => return Poll::Ready(Ok(misuse())),
            }
        }
    }
}

/// Polled again after it finished: a caller bug, answered with a 500 rather than a panic.
fn misuse<B: From<Bytes>>() -> Response<B> {
    Rejection::Misconfigured("rate-limit response future polled after completion")
        .to_problem()
        .to_response()
}

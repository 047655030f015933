//! The headers every decision adds, and the refusal responses.

use std::sync::LazyLock;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response, header::RETRY_AFTER};

use super::{Decision, LimitCode};
use crate::problem::{Problem, ProblemCode};

/// `X-RateLimit-Limit`: the bucket's size (the quota's burst).
pub const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
/// `X-RateLimit-Remaining`: requests that may still be made right now.
pub const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
/// `X-RateLimit-Reset`: seconds (rounded up) until the bucket is full again.
pub const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// Header values 0 to 1,023, made once: cloning one costs nothing (static bytes), where
/// formatting a number allocates. Rate-limit numbers are usually small.
static SMALL: LazyLock<Vec<HeaderValue>> = LazyLock::new(|| {
    (0..1024u32)
        .map(|n| HeaderValue::from_static(Box::leak(n.to_string().into_boxed_str())))
        .collect()
});

fn number(n: u64) -> HeaderValue {
    usize::try_from(n)
        .ok()
        .and_then(|i| SMALL.get(i))
        .cloned()
        .unwrap_or_else(|| HeaderValue::from(n))
}

/// Sets the three headers from `decision`, unless the response already reports a lower
/// remaining count (an inner limit closer to refusing): with several layers, the headers
/// describe the limit nearest to refusal.
pub(crate) fn set(headers: &mut HeaderMap, decision: &Decision) {
    let existing = headers
        .get(&X_RATELIMIT_REMAINING)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u32>().ok());
    if existing.is_some_and(|r| r <= decision.remaining()) {
        return;
    }
    headers.reserve(3);
    headers.insert(X_RATELIMIT_LIMIT, number(decision.limit().into()));
    headers.insert(X_RATELIMIT_REMAINING, number(decision.remaining().into()));
    headers.insert(X_RATELIMIT_RESET, number(decision.reset_secs()));
}

/// 429 problem+json with the headers and `Retry-After`.
pub(crate) fn too_many<B: From<Bytes>>(
    code: LimitCode,
    decision: &Decision,
    path: &str,
) -> Response<B> {
    let retry = decision.retry_after_secs().unwrap_or(1);
    let detail = match code {
        LimitCode::RateLimited => format!("too many requests; retry after {retry} s"),
        LimitCode::QuotaExceeded => format!("the request quota is used up; retry after {retry} s"),
    };
    let mut res: Response<B> = Problem::new(code.into(), detail)
        .with_instance(path)
        .to_response();
    set(res.headers_mut(), decision);
    res.headers_mut().insert(RETRY_AFTER, number(retry));
    res.extensions_mut().insert(*decision);
    res
}

/// 503 problem+json `unavailable`: the store failed and the layer fails closed.
pub(crate) fn unavailable<B: From<Bytes>>(path: &str) -> Response<B> {
    let mut res: Response<B> = Problem::new(
        ProblemCode::Unavailable,
        "the rate-limit store is unavailable; try again",
    )
    .with_instance(path)
    .to_response();
    res.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    res
}

#[cfg(test)]
mod tests {
    use std::{num::NonZeroU32, time::Duration};

    use super::*;
    use crate::limit::Rate;

    fn allowed(n: u32, reset: Duration) -> Decision {
        let rate = Rate::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        Decision::from_times(&rate, true, Duration::ZERO, reset)
    }

    #[test]
    fn the_limit_nearest_to_refusal_wins() {
        let mut h = HeaderMap::new();
        // 20 a minute (3 s a request): 44.5 s to full means 15 missing, 5 remaining.
        set(&mut h, &allowed(20, Duration::from_millis(44_500)));
        assert_eq!(h[&X_RATELIMIT_RESET], "45");
        assert_eq!(h[&X_RATELIMIT_REMAINING], "5");
        set(&mut h, &allowed(1000, Duration::from_secs(6)));
        assert_eq!(h[&X_RATELIMIT_LIMIT], "20");
        assert_eq!(h[&X_RATELIMIT_REMAINING], "5");
        set(&mut h, &allowed(3, Duration::from_secs(40)));
        assert_eq!(h[&X_RATELIMIT_LIMIT], "3");
        assert_eq!(h[&X_RATELIMIT_REMAINING], "1");
    }
}

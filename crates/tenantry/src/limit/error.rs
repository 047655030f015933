//! [`LimitConfigError`]: rate-limit configuration mistakes, reported when a layer is built.

use std::time::Duration;

/// A rate-limit configuration mistake, found when the layer (or a quota) is built, never at
/// request time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitConfigError {
    /// The layer has no default quota ([`RateLimitBuilder::quota`](super::RateLimitBuilder::quota)).
    #[error("the rate-limit layer has no default quota; call .quota(..)")]
    MissingQuota,
    /// The route key is empty or uses characters other than `[A-Za-z0-9._-]`.
    #[error("rate-limit name {0:?} must be 1 to 64 characters of [A-Za-z0-9._-]")]
    Name(String),
    /// A client-key header name is not a valid HTTP header name.
    #[error("client-key header {0:?} is not a valid header name")]
    Header(String),
    /// A quota's period is shorter than a microsecond or too long to count in microseconds.
    #[error("quota period {0:?} must be between 1 µs and 2^64 µs")]
    Period(Duration),
}

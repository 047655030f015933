//! Where each key's state lives: [`LimitStore`], with [`MemoryStore`] and (feature `redis`)
//! `RedisStore`. Both pass the same test suite.

mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod redis_batch;

use std::{sync::Arc, time::Duration};

pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::{RedisStore, RedisStoreBuilder, RedisStoreError};

use super::{Decision, Rate};
use crate::BoxFuture;

/// A store could not decide (the request then gets the layer's [`FailMode`](super::FailMode)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store did not answer within its timeout.
    #[error("rate-limit store did not answer within {0:?}")]
    Timeout(Duration),
    /// The store could not be reached or failed.
    #[error("rate-limit store failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store answered something unexpected.
    #[error("rate-limit store answered unexpectedly: {0}")]
    Protocol(String),
}

/// Keeps one theoretical arrival time per key and decides requests against a [`Rate`].
///
/// A decision must be atomic per key: two concurrent requests never both take the last unit of
/// capacity. [`Rate::decide`] is the whole algorithm, for stores other than the built-in ones.
pub trait LimitStore: Send + Sync + 'static {
    /// Decides one request for `key` at `rate`, and records it if allowed.
    fn check<'a>(
        &'a self,
        key: &'a str,
        rate: &'a Rate,
    ) -> BoxFuture<'a, Result<Decision, StoreError>>;

    /// The same decision without waiting, for stores that never wait (in memory): `None` means
    /// "call [`check`](Self::check)". Lets the layer decide inside `call`, with no boxed future.
    fn check_now(&self, key: &str, rate: &Rate) -> Option<Result<Decision, StoreError>> {
        let _ = (key, rate);
        None
    }
}

impl<T: LimitStore + ?Sized> LimitStore for Arc<T> {
    fn check<'a>(
        &'a self,
        key: &'a str,
        rate: &'a Rate,
    ) -> BoxFuture<'a, Result<Decision, StoreError>> {
        (**self).check(key, rate)
    }

    fn check_now(&self, key: &str, rate: &Rate) -> Option<Result<Decision, StoreError>> {
        (**self).check_now(key, rate)
    }
}

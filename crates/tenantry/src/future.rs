//! [`BoxFuture`]: the boxed future trait objects of tenantry's pluggable parts return.

use std::{future::Future, pin::Pin};

/// A boxed, `Send` future, as object-safe traits return (a [`CatalogStore`](crate::catalog::CatalogStore),
/// a [`Membership`](crate::enforce::Membership), a [`LimitStore`](crate::limit::LimitStore)).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

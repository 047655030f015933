//! [`Location`]: where one tenant's statements run, as [`Registry::place`](super::Registry) found it.

use std::sync::Arc;

use crate::{data::Ident, data::pools::TenantPool, driver::AnyPool};

/// Where one tenant's statements run.
pub(crate) struct Location<'a> {
    pub(super) pool: Handle<'a>,
    /// The schema to qualify table names with.
    pub(crate) schema: Option<Ident>,
    /// Shared rows: row-level security applies.
    pub(crate) row: bool,
    /// Statements are prepared once per connection and reused from sqlx's statement cache;
    /// else sent unnamed (schema tenants by default, everything behind a pooler).
    pub(crate) prepare: bool,
    /// Behind a transaction-mode pooler: every operation runs in a transaction of its own, so
    /// that its statements stay on one server connection.
    pub(crate) pooler: bool,
}

pub(super) enum Handle<'a> {
    Shared(&'a AnyPool),
    Own(Arc<TenantPool>),
}

impl<'a> Location<'a> {
    /// Shared rows on `pool`.
    pub(crate) fn shared(pool: &'a AnyPool) -> Self {
        Self {
            pool: Handle::Shared(pool),
            schema: None,
            row: true,
            prepare: true,
            pooler: false,
        }
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        match &self.pool {
            Handle::Shared(pool) => pool,
            Handle::Own(own) => &own.pool,
        }
    }
}

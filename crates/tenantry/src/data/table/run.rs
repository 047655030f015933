//! Running a statement for a tenant: on the pool, or in a transaction with the tenant bound
//! when row-level security is on.

use sqlx::{FromRow, Pool, query::Query, query::QueryScalar};

use super::Placed;
use crate::{
    data::DataError,
    driver::{Args, Driver},
};

/// Where a statement runs: the pool (each statement takes a connection and gives it back), or
/// one connection inside a transaction.
pub(super) struct Exec<'a, D: Driver> {
    on: On<'a, D>,
    /// Whether statements are prepared once and reused on the connection: not behind a
    /// transaction-mode pooler (where the next statement may meet another server connection),
    /// nor by default for schema tenants (whose statements would evict each other from the
    /// connection's cache).
    persistent: bool,
}

enum On<'a, D: Driver> {
    Pool(&'a Pool<D>),
    Tx(&'a mut D::Connection),
}

type Q<D> = Query<'static, D, Args<D>>;

impl<D: Driver> Exec<'_, D> {
    pub(super) async fn fetch_all(&mut self, q: Q<D>) -> Result<Vec<D::Row>, sqlx::Error> {
        let q = q.persistent(self.persistent);
        match &mut self.on {
            On::Pool(p) => q.fetch_all(D::on_pool(p)).await,
            On::Tx(c) => q.fetch_all(D::on_conn(c)).await,
        }
    }

    pub(super) async fn fetch_optional(&mut self, q: Q<D>) -> Result<Option<D::Row>, sqlx::Error> {
        let q = q.persistent(self.persistent);
        match &mut self.on {
            On::Pool(p) => q.fetch_optional(D::on_pool(p)).await,
            On::Tx(c) => q.fetch_optional(D::on_conn(c)).await,
        }
    }

    pub(super) async fn fetch_one(&mut self, q: Q<D>) -> Result<D::Row, sqlx::Error> {
        let q = q.persistent(self.persistent);
        match &mut self.on {
            On::Pool(p) => q.fetch_one(D::on_pool(p)).await,
            On::Tx(c) => q.fetch_one(D::on_conn(c)).await,
        }
    }

    pub(super) async fn execute(&mut self, q: Q<D>) -> Result<D::QueryResult, sqlx::Error> {
        let q = q.persistent(self.persistent);
        match &mut self.on {
            On::Pool(p) => q.execute(D::on_pool(p)).await,
            On::Tx(c) => q.execute(D::on_conn(c)).await,
        }
    }

    pub(super) async fn fetch_scalar<O>(
        &mut self,
        q: QueryScalar<'static, D, O, Args<D>>,
    ) -> Result<O, sqlx::Error>
    where
        O: Send + Unpin,
        (O,): for<'r> FromRow<'r, D::Row>,
    {
        let q = q.persistent(self.persistent);
        match &mut self.on {
            On::Pool(p) => q.fetch_one(D::on_pool(p)).await,
            On::Tx(c) => q.fetch_one(D::on_conn(c)).await,
        }
    }
}

/// Runs `op` on the pool. With row-level security, in a transaction that first binds the
/// tenant (so the table's policies see it) and commits after `op`; behind a transaction-mode
/// pooler, in a transaction too.
pub(super) async fn run<D: Driver, T>(
    pool: &Pool<D>,
    t: &Placed<'_>,
    op: impl AsyncFnOnce(Exec<'_, D>) -> Result<T, DataError> + Send,
) -> Result<T, DataError> {
    // Behind a transaction-mode pooler a statement outside a transaction may be parsed on one
    // server connection and bound on another: each runs in its own transaction there.
    if t.rls() || t.at.pooler {
        in_transaction(pool, t, op).await
    } else {
        op(Exec {
            on: On::Pool(pool),
            persistent: t.at.prepare,
        })
        .await
    }
}

/// Runs `op` in a transaction with the tenant bound (when row-level security is on), committed
/// after it. Boxed: `begin`, `set_config` and `commit` make a future of several kilobytes, and
/// inline it would make every operation's future that large, to be copied around on each call
/// even when no transaction is used.
pub(super) async fn in_transaction<D: Driver, T>(
    pool: &Pool<D>,
    t: &Placed<'_>,
    op: impl AsyncFnOnce(Exec<'_, D>) -> Result<T, DataError> + Send,
) -> Result<T, DataError> {
    Box::pin(async move {
        let mut tx = pool.begin().await?;
        if t.rls() {
            D::bind_tenant(&mut tx, &t.tenant, t.at.prepare).await?;
        }
        let out = op(Exec {
            on: On::Tx(&mut *tx),
            persistent: t.at.prepare,
        })
        .await?;
        tx.commit().await?;
        Ok(out)
    })
    .await
}

//! A tenant-aware CRUD router: a [`Resource`] declared once becomes five routes, every one of
//! which needs a tenant and goes through [`TenantTable`](crate::data::TenantTable).
//!
//! | method, path | success | notes |
//! |---|---|---|
//! | `GET /items` | 200 `{"total","items","limit","offset","next_cursor"}` | `limit` 1..=1000 (50), `offset` ≥ 0, `order_by=-id,name` (sortable fields), `q` + `fields` (searchable fields; `%`, `_`, `\` literal), `field=value` on filterable fields, `after` (a cursor, [below](#keyset-pages)), `count` or `Prefer: count=` ([below](#totals)); anything else is 422 naming the parameter |
//! | `POST /items` | 201 + `Location` | the tenant is set by the server; a body `tenant_id` of another tenant is 403 `tenant_mismatch` |
//! | `GET /items/{id}` | 200 | another tenant's row and a missing row are the same 404 `not_found` |
//! | `PATCH /items/{id}` | 200 | the id and tenant field cannot change (422 / 403); `{}` changes nothing |
//! | `DELETE /items/{id}` | 204 | 404 `not_found` as above |
//!
//! `fields` names where `q` searches (it does not select output columns, and without `q` it
//! changes nothing); `order_by=` (empty) is the default order. Duplicate unique keys within a
//! tenant are 409 `conflict`; missing, null or mistyped fields and unknown fields 422
//! `validation_failed`; a body that is not JSON 400 `invalid_json` (415
//! `unsupported_media_type` without a JSON content type, 413 `payload_too_large` past axum's
//! body limit); a method the path does not take 405 `method_not_allowed` with `Allow`; a
//! database that is down 503 `unavailable`. A trailing slash is tolerated. Every refusal is
//! problem+json with the request's path as `instance` (see [`crate::problem`]), and never
//! contains SQL.
//!
//! # Totals
//!
//! `total` is counted as the request asks, by the query parameter `count=` or PostgREST's
//! `Prefer: count=` (the parameter wins; a `Prefer` value not understood is ignored, RFC 7240).
//! When either asked, the answer says what was done in `Preference-Applied: count=...`.
//!
//! | mode | SQLite | PostgreSQL | MariaDB |
//! |---|---|---|---|
//! | `exact` (the default) | `count(*)` of the matching rows | the same | the same |
//! | `planned` | no estimate exists: `count(*)`, answered `count=exact` | `EXPLAIN`'s `rows` for the list's `WHERE` | `EXPLAIN FORMAT=JSON`'s `rows` × `filtered` |
//! | `estimated` | as `planned` | exact when the estimate is under [`exact_count_below`](Crud::exact_count_below) (1,000), else the estimate | the same |
//! | `none` | no `total` member, no count run | the same | the same |
//!
//! What an estimate means: PostgreSQL's planner multiplies the table's size (`reltuples`, which
//! is the whole table, every tenant's rows) by the selectivity of the `WHERE`: for
//! `tenant_id = $1`, from the column's statistics, which know the tenant's own share when it is
//! among the column's most common values and assume an average share otherwise; other filters
//! and the search multiply in their own guesses. It is as fresh as the last `ANALYZE` and can be
//! off by orders of magnitude for a small tenant beside large ones. In a schema or database of
//! the tenant's own, the table is the tenant's alone. MariaDB's `rows` is what InnoDB expects to
//! read through the chosen index (for the tenant index: a dive into the tenant's own range, so
//! close to the tenant's count), and `filtered` its guess for the rest of the `WHERE` (often
//! 100 %: then the estimate ignores other filters and is an upper bound). Neither is ever more
//! than an estimate: use `exact` where the number must be right.
//!
//! # Keyset pages
//!
//! Every page but the last carries `next_cursor`: pass it as `after=` (with the same `order_by`
//! and filters) for the rows after the page's last one. The cursor holds that row's sort key
//! values and id; the next page is `WHERE (keys) > (values)` on the same order, so page 1,000
//! costs what page 1 does (where an index serves the order: the id order always has one), and
//! rows inserted or deleted meanwhile never make a walk repeat a row, or skip one that was
//! there throughout. The cursor is
//! opaque, signed (HMAC-SHA256, with [`cursor_secret`](Crud::cursor_secret) or a random key),
//! and bound to the tenant, the resource and the order: any other tenant's, altered or made-up
//! cursor is 400 `cursor_invalid`, and whatever one holds can only narrow the tenant's own rows
//! (see `cursor.rs`). `offset` still applies, after the cursor.
//!
//! The router must sit behind a [`TenancyLayer`](crate::TenancyLayer) (without one its
//! handlers answer 500 naming the missing layer). Paths it does not know fall to the
//! application's router: give that one [`problem::not_found`] as
//! its fallback so that they, too, answer problem+json. [`OpenApi`] describes the routes.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use tenantry::{TenancyLayer, crud::Crud, data::{Column, DataStore, Resource}};
//! use tower::{Layer, ServiceExt};
//!
//! let db = DataStore::connect("sqlite::memory:").await.unwrap();
//! let items = Resource::builder("items").integer_id("id").column(Column::text("name"))
//!     .searchable(["name"]).sortable(["id", "name"]).build().unwrap();
//! db.create_table(&items).await.unwrap();
//!
//! let app = TenancyLayer::stub().layer(Crud::new(db, items).at("/api/items").unwrap().router());
//! let req = http::Request::post("/api/items")
//!     .header("x-tenant-id", "acme")
//!     .header("content-type", "application/json")
//!     .body(axum::body::Body::from(r#"{"name": "anvil"}"#))
//!     .unwrap();
//! let res = app.oneshot(req).await.unwrap();
//! assert_eq!(res.status(), 201);
//! assert_eq!(res.headers()["location"], "/api/items/1");
//! # });
//! ```

mod count;
mod cursor;
mod handlers;
mod openapi;
mod params;
mod route;

use std::sync::Arc;

use axum::{Router, routing::get};

pub use openapi::{OpenApi, openapi};

use self::{cursor::CursorKey, route::Routed};
use crate::{
    ConfigError,
    data::{DataStore, Resource},
    problem,
};

pub(crate) struct CrudState {
    store: DataStore,
    resource: Resource,
    prefix: String,
    cursor: CursorKey,
    exact_below: u64,
}

/// A resource mounted as a CRUD router. See the [module docs](self).
#[derive(Clone, Debug)]
#[must_use]
pub struct Crud {
    store: DataStore,
    resource: Resource,
    prefix: String,
    cursor: CursorKey,
    exact_below: u64,
}

impl Crud {
    /// CRUD over `resource` in `store`, mounted at `/{table}` unless [`at`](Self::at) says otherwise.
    pub fn new(store: DataStore, resource: Resource) -> Self {
        let prefix = format!("/{}", resource.table());
        Self {
            store,
            resource,
            prefix,
            cursor: CursorKey::random(),
            exact_below: Self::DEFAULT_EXACT_BELOW,
        }
    }

    /// Below how many rows the planner expects, `count=estimated` counts exactly.
    pub const DEFAULT_EXACT_BELOW: u64 = 1000;

    /// Signs `after` cursors with `secret` (HMAC-SHA256) instead of a key made at random when
    /// the router was built. Give every instance of a service the same secret (at least 32
    /// random bytes, kept like a password), or a cursor one instance issued is refused by the
    /// next one, and by the same one after a restart. A cursor is bound to the tenant, the
    /// resource and the order it was issued for, whatever the key.
    pub fn cursor_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.cursor = CursorKey::new(secret.as_ref());
        self
    }

    /// `count=estimated` counts exactly when the planner expects fewer than `rows` rows, and
    /// takes the planner's estimate otherwise (default [`DEFAULT_EXACT_BELOW`](Self::DEFAULT_EXACT_BELOW)).
    pub fn exact_count_below(mut self, rows: u64) -> Self {
        self.exact_below = rows;
        self
    }

    /// Mounts the routes at `prefix` (`/api/v1/items`): it must start with `/`, and hold no
    /// route parameters (`{`, `}`, `*`) or query.
    pub fn at(mut self, prefix: &str) -> Result<Self, ConfigError> {
        let prefix = prefix.trim_end_matches('/');
        if !prefix.starts_with('/') || prefix.contains(['{', '}', '*', '?', '#']) {
            return Err(ConfigError::CrudPrefix(prefix.to_owned()));
        }
        self.prefix = prefix.to_owned();
        Ok(self)
    }

    /// Where the routes are mounted.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The resource.
    pub fn resource(&self) -> &Resource {
        &self.resource
    }

    /// The routes: `prefix` and `prefix/{id}`, each also with a trailing slash; other methods
    /// on them answer 405 `method_not_allowed`.
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        // Each response carries its route template (see `route`): no `MatchedPathLayer`
        // needed on these routes for logs and metrics outside the router.
        let collection = get(Routed(handlers::list))
            .post(Routed(handlers::create))
            .fallback(Routed(problem::method_not_allowed));
        let member = get(Routed(handlers::get))
            .patch(Routed(handlers::update))
            .delete(Routed(handlers::delete))
            .fallback(Routed(problem::method_not_allowed));
        let p = &self.prefix;
        let state = Arc::new(CrudState {
            store: self.store.clone(),
            resource: self.resource.clone(),
            prefix: self.prefix.clone(),
            cursor: self.cursor.clone(),
            exact_below: self.exact_below,
        });
        Router::new()
            .route(p, collection.clone())
            .route(&format!("{p}/"), collection)
            .route(&format!("{p}/{{id}}"), member.clone())
            .route(&format!("{p}/{{id}}/"), member)
            .with_state(state)
    }
}

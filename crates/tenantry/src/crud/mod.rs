//! A tenant-aware CRUD router: a [`Resource`] declared once becomes five routes, every one of
//! which needs a tenant and goes through [`TenantTable`](crate::data::TenantTable).
//!
//! | method, path | success | notes |
//! |---|---|---|
//! | `GET /items` | 200 `{"total","items","limit","offset"}` | `limit` 1..=1000 (50), `offset` ≥ 0, `order_by=-id,name` (sortable fields), `q` + `fields` (searchable fields; `%`, `_`, `\` literal), `field=value` on filterable fields; anything else is 422 naming the parameter |
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
//! The router must sit behind a [`TenancyLayer`](crate::TenancyLayer) (without one its
//! handlers answer 500 naming the missing layer). Paths it does not know fall to the
//! application's router: give that one [`problem::not_found`](crate::problem::not_found) as
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

mod handlers;
mod openapi;
mod params;

use std::sync::Arc;

use axum::{Router, routing::get};

pub use openapi::{OpenApi, openapi};

use crate::{
    ConfigError,
    data::{DataStore, Resource},
    problem,
};

pub(crate) struct CrudState {
    store: DataStore,
    resource: Resource,
    prefix: String,
}

/// A resource mounted as a CRUD router. See the [module docs](self).
#[derive(Clone, Debug)]
#[must_use]
pub struct Crud {
    store: DataStore,
    resource: Resource,
    prefix: String,
}

impl Crud {
    /// CRUD over `resource` in `store`, mounted at `/{table}` unless [`at`](Self::at) says otherwise.
    pub fn new(store: DataStore, resource: Resource) -> Self {
        let prefix = format!("/{}", resource.table());
        Self {
            store,
            resource,
            prefix,
        }
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
        let collection = get(handlers::list)
            .post(handlers::create)
            .fallback(problem::method_not_allowed);
        let member = get(handlers::get)
            .patch(handlers::update)
            .delete(handlers::delete)
            .fallback(problem::method_not_allowed);
        let p = &self.prefix;
        let state = Arc::new(CrudState {
            store: self.store.clone(),
            resource: self.resource.clone(),
            prefix: self.prefix.clone(),
        });
        Router::new()
            .route(p, collection.clone())
            .route(&format!("{p}/"), collection)
            .route(&format!("{p}/{{id}}"), member.clone())
            .route(&format!("{p}/{{id}}/"), member)
            .with_state(state)
    }
}

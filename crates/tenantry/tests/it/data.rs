//! The data layer on every backend: one suite, run on SQLite, PostgreSQL and MariaDB.

mod adversarial;
mod collation;
#[cfg(feature = "sqlite")]
mod group_commit;
mod ids;
mod model;
mod placement;
mod placement_model;
#[cfg(feature = "postgres")]
mod pooler;
#[cfg(feature = "postgres")]
mod rls;
mod scoped;

use serde_json::{Value, json};
use tenantry::{
    TenantId,
    data::{Column, DataStore, Record, Resource, TenantTable},
};

/// A fresh database of one backend.
pub async fn database(backend: &str) -> DataStore {
    let url = match backend {
        #[cfg(feature = "sqlite")]
        "sqlite" => crate::db::sqlite_url().await,
        #[cfg(feature = "postgres")]
        "postgres" => crate::db::postgres_url().await,
        #[cfg(feature = "mysql")]
        "mysql" => crate::db::mysql_url().await,
        other => panic!("backend {other} is not compiled in (enable its feature)"),
    };
    DataStore::connect(&url).await.unwrap()
}

/// The demo's items table, as a resource.
pub fn items(table: &str) -> Resource {
    Resource::builder(table)
        .integer_id("id")
        .column(Column::text("name"))
        .column(Column::text("sku"))
        .column(Column::integer("price_cents").with_default())
        .column(Column::text("note").nullable())
        .column(Column::timestamp("created_at").with_default())
        .searchable(["name", "sku"])
        .sortable(["id", "name", "price_cents", "created_at"])
        .filterable(["sku"])
        .unique_per_tenant(["sku"])
        .build()
        .unwrap()
}

pub fn tenant(id: &str) -> TenantId {
    TenantId::parse(id).unwrap()
}

pub fn row(v: Value) -> Record {
    v.as_object().cloned().expect("an object")
}

pub struct Fixture {
    pub db: DataStore,
    pub resource: Resource,
}

impl Fixture {
    pub async fn new(db: DataStore, table: &str) -> Self {
        let resource = items(table);
        db.create_table(&resource).await.unwrap();
        Self { db, resource }
    }

    pub fn service(&self, t: &str) -> TenantTable {
        TenantTable::new(self.db.clone(), self.resource.clone(), tenant(t))
    }

    /// Every row `t` holds, read through `t` itself: a refused cross-tenant attempt must leave
    /// it equal, row for row and value for value, to what it was before.
    pub async fn snapshot(&self, t: &str) -> Vec<Record> {
        self.service(t)
            .list(tenantry::data::Page::new(1000, 0).unwrap(), &[])
            .await
            .unwrap()
    }

    /// Creates an item for `t`, returning its id.
    pub async fn item(&self, t: &str, name: &str, sku: &str) -> i64 {
        let r = self
            .service(t)
            .create(row(json!({"name": name, "sku": sku})))
            .await
            .unwrap();
        r["id"].as_i64().unwrap()
    }
}

/// Runs `suite` once per backend, each on its own fresh database.
macro_rules! on_every_backend {
    ($suite:path) => {
        #[cfg(feature = "sqlite")]
        #[tokio::test]
        async fn sqlite() {
            $suite(crate::data::database("sqlite").await).await
        }
        #[cfg(feature = "postgres")]
        #[tokio::test]
        async fn postgres() {
            $suite(crate::data::database("postgres").await).await
        }
        #[cfg(feature = "mysql")]
        #[tokio::test]
        async fn mysql() {
            $suite(crate::data::database("mysql").await).await
        }
    };
}
pub(crate) use on_every_backend;

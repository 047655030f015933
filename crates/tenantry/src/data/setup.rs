//! What a tenant's own schema or database gets when it is provisioned: the tables of
//! resources, then the application's migrations.

use std::sync::Arc;

use sqlx::migrate::Migrator;

use super::Resource;

/// The tables and migrations a new placement gets, in that order (see
/// [`Registry::provision`](super::Registry::provision)).
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use tenantry::data::{Column, Resource, TenantSetup};
///
/// let notes = Resource::builder("notes").integer_id("id").column(Column::text("body")).build()?;
/// let migrations = sqlx::migrate::Migrator::new(std::path::Path::new("migrations")).await?;
/// let setup = TenantSetup::new().table(notes).migrations(migrations);
/// # let _ = setup; Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct TenantSetup {
    pub(crate) tables: Vec<Resource>,
    pub(crate) migrations: Option<Arc<Migrator>>,
}

impl TenantSetup {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The tables of `resources`.
    pub fn tables(resources: impl IntoIterator<Item = Resource>) -> Self {
        Self {
            tables: resources.into_iter().collect(),
            migrations: None,
        }
    }

    /// Also `resource`'s table (made as [`DataStore::create_table`](super::DataStore::create_table)
    /// makes it: tenant columns that compare exactly).
    pub fn table(mut self, resource: Resource) -> Self {
        self.tables.push(resource);
        self
    }

    /// Also runs `migrations` (a sqlx migrations directory) in the new schema or database,
    /// after the tables. Its `_sqlx_migrations` ledger lives there too, so each placement
    /// knows which migrations it has.
    pub fn migrations(mut self, migrations: Migrator) -> Self {
        self.migrations = Some(Arc::new(migrations));
        self
    }
}

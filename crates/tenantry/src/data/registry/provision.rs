//! Making and dropping placements: [`Registry::provision`], [`Registry::provision_tenant`],
//! [`Registry::admin_store`] and the schema or database each placement owns.

use serde_json::Value;

use super::{Registry, connect_error, object_ident, schemas_on};
use crate::{
    ConfigError, TenantId,
    catalog::{
        CatalogError, LifecycleEvent, Placement, PlacementKind, ServerName, TenantRecord,
        TenantStatus,
    },
    data::{DataError, DataStore, Ident, TenantSetup, ddl},
    driver::{AnyPool, Backend, dispatch, open},
};

impl Registry {
    /// Creates the schema or database `placement` names, on its server (nothing for shared
    /// rows). One that exists already is [`DataError::PlacementExists`] and is left alone: it
    /// may hold someone else's data.
    pub async fn create_placement(&self, placement: &Placement) -> Result<(), DataError> {
        let Some((i, container)) = self.container(placement)? else {
            return Ok(());
        };
        let spec = &self.0.servers.specs[i];
        open::create_container(&spec.url, container.as_container())
            .await
            .map_err(container_error)
    }

    /// Drops the schema or database `placement` names, with everything in it (nothing for
    /// shared rows; nothing if it is not there). Its pool is closed first.
    pub async fn drop_placement(&self, placement: &Placement) -> Result<(), DataError> {
        let Some((i, container)) = self.container(placement)? else {
            return Ok(());
        };
        self.forget_pool(placement);
        let spec = &self.0.servers.specs[i];
        open::drop_container(&spec.url, container.as_container())
            .await
            .map_err(container_error)?;
        crate::data::fleet::forget_placement(self, placement).await;
        Ok(())
    }

    fn container(&self, placement: &Placement) -> Result<Option<(usize, Owned)>, DataError> {
        let i = self.index(placement.server())?;
        Ok(match placement {
            Placement::Row { .. } => None,
            Placement::Schema { schema, .. } => Some((i, Owned::Schema(object_ident(schema)?))),
            Placement::Database { database, .. } => {
                Some((i, Owned::Database(object_ident(database)?)))
            }
        })
    }

    /// A placement of `kind` for `tenant` on `server` (`None`: the default), its name generated
    /// (see [`Placement::generated`]): databases on a PostgreSQL or MariaDB server are prefixed
    /// with the server's own database name. A kind the server's backend cannot hold (a schema
    /// on MariaDB or SQLite) or an unknown server is a [`ConfigError`].
    pub fn generate(
        &self,
        tenant: &TenantId,
        kind: PlacementKind,
        server: Option<ServerName>,
    ) -> Result<Placement, ConfigError> {
        let i = self.index(server.as_ref()).map_err(|_| {
            ConfigError::Servers(format!(
                "server {} is not configured",
                server.as_ref().map_or("(default)", |s| s.as_str())
            ))
        })?;
        let spec = &self.0.servers.specs[i];
        if kind == PlacementKind::Schema {
            schemas_on(spec).map_err(ConfigError::Servers)?;
        }
        let prefix = match spec.backend {
            Backend::Sqlite => None,
            _ => own_database(&spec.url.url),
        };
        let placement = Placement::generated(kind, tenant, prefix);
        Ok(match server {
            Some(server) => placement.on(server),
            None => placement,
        })
    }

    /// Makes `placement` ready to serve: creates its schema or database (refused with
    /// [`DataError::PlacementExists`] if one is there already, which is left alone), then
    /// `setup`'s tables and migrations in it. A failure at any step drops what this call
    /// created, so nothing half-made is left behind; the caller marks the tenant active only on
    /// success (as [`provision_tenant`](Self::provision_tenant) does).
    ///
    /// For shared rows it only creates the shared tables if missing, and runs no migrations
    /// (the shared tables' migrations are the application's own business).
    pub async fn provision(
        &self,
        placement: &Placement,
        setup: &TenantSetup,
    ) -> Result<(), DataError> {
        self.create_placement(placement).await?;
        let made = async {
            let at = self.place(placement).await?;
            for resource in &setup.tables {
                let schema: Option<&Ident> = at.schema.as_ref();
                dispatch!(at.pool(), |pool| ddl::create_table(pool, resource, schema)
                    .await)?;
            }
            if let Some(migrations) = setup.migrations.as_deref()
                && !placement.is_row()
            {
                // Through the fleet's ledgers, so `tenantry migrate` later knows what ran here.
                crate::data::fleet::provision_migrations(self, placement, migrations).await?;
            }
            Ok::<_, DataError>(())
        }
        .await;
        if let Err(e) = made {
            if let Err(cleanup) = self.drop_placement(placement).await {
                tracing::error!(
                    target: "tenantry::registry",
                    placement = %placement,
                    error = %cleanup,
                    "could not drop a placement whose provisioning failed"
                );
            }
            return Err(e);
        }
        Ok(())
    }

    /// A store on which `placement`'s tables are the unqualified names, for administration
    /// (export, import, migrations): shared rows, the server's own store; its own database, a
    /// pool of that database; its own schema (PostgreSQL), a pool of its own whose connections
    /// start with `search_path` set to the schema, so they are never shared with anyone else.
    /// Not for the request path, which needs none of this ([`store`](Self::store) places each
    /// statement). The store's pools close when it is dropped.
    pub async fn admin_store(&self, placement: &Placement) -> Result<DataStore, DataError> {
        let i = self.index(placement.server())?;
        let spec = &self.0.servers.specs[i];
        let mut settings = spec.tenant_pool;
        settings.create = false;
        let pool = match placement {
            Placement::Row { .. } => self.shared(i)?.clone(),
            Placement::Schema { schema, .. } => {
                object_ident(schema)?;
                schemas_on(spec).map_err(DataError::Placement)?;
                let mut url = spec.url.clone();
                let joint = if url.url.contains('?') { '&' } else { '?' };
                url.url = format!("{}{joint}options[search_path]={schema}", url.url);
                AnyPool::open(&url, None, &settings).map_err(connect_error)?
            }
            Placement::Database { database, .. } => {
                object_ident(database)?;
                AnyPool::open(&spec.url, Some(database), &settings).map_err(connect_error)?
            }
        };
        Ok(DataStore::from_any(pool))
    }

    /// The whole of a tenant's provisioning, through the registry's catalog: the record is
    /// stored as [`Provisioning`](TenantStatus::Provisioning) (refused with 423 meanwhile; one
    /// left [`ProvisioningFailed`](TenantStatus::ProvisioningFailed) is taken again), its
    /// placement is [provisioned](Self::provision) with `setup`, and only then is
    /// it given the status `record` asks for. If provisioning fails, what was made is dropped
    /// and the record stays `provisioning_failed`, with the error in its settings under
    /// `tenantry.provisioning_error`. The catalog's lifecycle subscriber is told
    /// [`Provisioned`](LifecycleEvent::Provisioned) or
    /// [`ProvisioningFailed`](LifecycleEvent::ProvisioningFailed), then the status change.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use tenantry::{TenantId, catalog::{Catalog, MemoryCatalog, PlacementKind, TenantRecord, TenantStatus}};
    /// use tenantry::data::{Column, Registry, Resource, Servers, TenantSetup};
    ///
    /// let dir = std::env::temp_dir().join(format!("tenantry-provision-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let servers = Servers::single(format!("sqlite://{}/main.db", dir.display())).unwrap();
    /// let registry = Registry::connect(servers, Catalog::new(MemoryCatalog::new())).await.unwrap();
    /// let notes = Resource::builder("notes").integer_id("id").column(Column::text("body")).build().unwrap();
    ///
    /// let hooli = TenantId::parse("hooli").unwrap();
    /// let placement = registry.generate(&hooli, PlacementKind::Database, None).unwrap();
    /// let record = TenantRecord::new(hooli.clone(), "Hooli").with_placement(placement);
    /// let made = registry.provision_tenant(record, &TenantSetup::tables([notes])).await.unwrap();
    /// assert_eq!(made.status, TenantStatus::Active);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # });
    /// ```
    pub async fn provision_tenant(
        &self,
        record: TenantRecord,
        setup: &TenantSetup,
    ) -> Result<TenantRecord, ProvisionError> {
        let catalog = &self.0.catalog;
        let wanted = record.status;
        let mut record = record.with_status(TenantStatus::Provisioning);
        if let Value::Object(settings) = &mut record.settings {
            settings.remove(PROVISIONING_ERROR);
        }
        record = match catalog.create(record.clone()).await {
            Ok(made) => made,
            Err(CatalogError::AlreadyExists(_))
                if catalog.store().get(&record.id).await?.map(|r| r.status)
                    == Some(TenantStatus::ProvisioningFailed) =>
            {
                catalog.update(record).await?
            }
            Err(e) => return Err(e.into()),
        };
        match self.provision(&record.placement, setup).await {
            Ok(()) => {
                catalog.emit(
                    &record,
                    LifecycleEvent::Provisioned(record.placement.clone()),
                );
                record.status = wanted;
                Ok(catalog.update(record).await?)
            }
            Err(e) => {
                let why = match &e {
                    DataError::Placement(why) => why.clone(),
                    e => e.to_string(),
                };
                record.status = TenantStatus::ProvisioningFailed;
                if let Value::Object(settings) = &mut record.settings {
                    settings.insert(PROVISIONING_ERROR.into(), Value::String(why.clone()));
                }
                catalog.emit(&record, LifecycleEvent::ProvisioningFailed(why.clone()));
                let kept = catalog.update(record).await;
                Err(ProvisionError::Failed {
                    why,
                    source: e,
                    recorded: kept.is_ok(),
                })
            }
        }
    }
}

/// Where a failed provisioning's error is kept, in the tenant's settings.
pub const PROVISIONING_ERROR: &str = "tenantry.provisioning_error";

/// Why [`Registry::provision_tenant`] did not make a tenant active.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// The catalog refused the record (the id is taken by a tenant that did not fail
    /// provisioning, or differs from one only in case) or could not be reached.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Making the placement failed; what was made was dropped. `recorded`: the tenant's record
    /// says `provisioning_failed` with `why` (false if the catalog could not be written).
    #[error("{why}")]
    Failed {
        /// What failed, for people (names the schema or database, not the server's URL).
        why: String,
        /// The error itself.
        #[source]
        source: DataError,
        /// Whether the failure was written to the tenant's record.
        recorded: bool,
    },
}

/// The database a PostgreSQL or MariaDB URL names (`…/NAME?…`), if any.
fn own_database(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let path = rest.split_once('/')?.1;
    let name = path.split(['?', '#']).next()?;
    (!name.is_empty()).then_some(name)
}

/// A container's name, owned.
enum Owned {
    Schema(Ident),
    Database(Ident),
}

impl Owned {
    fn as_container(&self) -> open::Container<'_> {
        match self {
            Self::Schema(name) => open::Container::Schema(name),
            Self::Database(name) => open::Container::Database(name),
        }
    }
}

fn container_error(e: open::ContainerError) -> DataError {
    match e {
        open::ContainerError::Exists(what) => DataError::PlacementExists(what),
        open::ContainerError::Server { source, .. } if is_unreachable(&source) => {
            DataError::Unavailable(source)
        }
        other => DataError::Placement(other.to_string()),
    }
}

fn is_unreachable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
    )
}

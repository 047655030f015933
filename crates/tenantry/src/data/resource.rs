//! [`Resource`]: what tenantry needs to know about a tenant table, and its builder.

use std::{
    fmt,
    sync::{Arc, OnceLock},
};

use super::{Backend, Column, ColumnDef, ColumnType, IdKind, Ident, column::Role};
use crate::ConfigError;

/// A tenant table: its name, id column, tenant field, columns, and which of them may be
/// searched, sorted and filtered. Cheap to clone.
///
/// ```
/// use tenantry::data::{Column, Resource};
///
/// let items = Resource::builder("items")
///     .integer_id("id")
///     .column(Column::text("name"))
///     .column(Column::text("sku"))
///     .column(Column::integer("price_cents").with_default())
///     .column(Column::timestamp("created_at").with_default())
///     .searchable(["name", "sku"])
///     .sortable(["id", "name", "price_cents", "created_at"])
///     .filterable(["sku"])
///     .build()
///     .unwrap();
/// assert_eq!(items.tenant_field().as_str(), "tenant_id");
///
/// // The tenant field is never searchable; names must be plain identifiers.
/// assert!(Resource::builder("items").integer_id("id").searchable(["tenant_id"]).build().is_err());
/// assert!(Resource::builder("items; drop table x").integer_id("id").build().is_err());
/// ```
#[derive(Clone)]
pub struct Resource(Arc<Inner>);

struct Inner {
    table: Ident,
    id: Ident,
    id_kind: IdKind,
    tenant: Ident,
    columns: Vec<ColumnDef>,
    searchable: Vec<Ident>,
    sortable: Vec<Ident>,
    filterable: Vec<Ident>,
    unique_per_tenant: Vec<Vec<Ident>>,
    /// The by-id `SELECT`'s text per backend, built by sea-query on first use (the text depends
    /// only on the resource and the backend; the tenant and the id are bound parameters).
    select_by_id: [OnceLock<Arc<str>>; 3],
    /// The same for tenants in schemas of their own, keyed by backend and schema: bounded
    /// (least used texts go first), made on first use.
    select_by_id_in: OnceLock<moka::sync::Cache<(Backend, Ident), Arc<str>>>,
}

/// How many schema-qualified by-id texts a resource keeps (about 200 bytes each).
const SCHEMA_STATEMENTS: u64 = 10_000;

impl fmt::Debug for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("table", &self.0.table)
            .field("id", &self.0.id)
            .field("tenant", &self.0.tenant)
            .field("columns", &self.0.columns.len())
            .finish_non_exhaustive()
    }
}

impl Resource {
    /// Starts describing table `table`.
    pub fn builder(table: &str) -> ResourceBuilder {
        ResourceBuilder {
            table: table.to_owned(),
            id: None,
            tenant: "tenant_id".to_owned(),
            columns: Vec::new(),
            searchable: Vec::new(),
            sortable: Vec::new(),
            filterable: Vec::new(),
            unique_per_tenant: Vec::new(),
        }
    }

    /// The table.
    pub fn table(&self) -> &Ident {
        &self.0.table
    }

    /// The id column.
    pub fn id(&self) -> &Ident {
        &self.0.id
    }

    /// How ids are made.
    pub fn id_kind(&self) -> IdKind {
        self.0.id_kind
    }

    /// The tenant column.
    pub fn tenant_field(&self) -> &Ident {
        &self.0.tenant
    }

    /// Every column, the id first and the tenant field second.
    pub fn columns(&self) -> &[ColumnDef] {
        &self.0.columns
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.0.columns.iter().find(|c| c.name.as_str() == name)
    }

    /// Columns a search may look in.
    pub fn searchable(&self) -> &[Ident] {
        &self.0.searchable
    }

    /// Columns a list may be ordered by.
    pub fn sortable(&self) -> &[Ident] {
        &self.0.sortable
    }

    /// Columns a list may be filtered on by equality.
    pub fn filterable(&self) -> &[Ident] {
        &self.0.filterable
    }

    /// Column sets unique within a tenant (the tenant field is prepended in the index).
    pub fn unique_per_tenant(&self) -> &[Vec<Ident>] {
        &self.0.unique_per_tenant
    }

    /// The text of the by-id `SELECT` on `backend`, made by `build` the first time.
    pub(crate) fn select_by_id_sql(
        &self,
        backend: Backend,
        schema: Option<&Ident>,
        build: impl FnOnce() -> String,
    ) -> Arc<str> {
        if let Some(schema) = schema {
            let cache = self
                .0
                .select_by_id_in
                .get_or_init(|| moka::sync::Cache::new(SCHEMA_STATEMENTS));
            let key = (backend, schema.clone());
            if let Some(sql) = cache.get(&key) {
                return sql;
            }
            let sql: Arc<str> = build().into();
            cache.insert(key, Arc::clone(&sql));
            return sql;
        }
        let slot = match backend {
            Backend::Sqlite => 0,
            Backend::Postgres => 1,
            Backend::MySql => 2,
        };
        Arc::clone(self.0.select_by_id[slot].get_or_init(|| build().into()))
    }
}

/// Builds a [`Resource`]; every name is checked in [`build`](ResourceBuilder::build).
#[derive(Debug)]
#[must_use]
pub struct ResourceBuilder {
    table: String,
    id: Option<(String, IdKind)>,
    tenant: String,
    columns: Vec<Column>,
    searchable: Vec<String>,
    sortable: Vec<String>,
    filterable: Vec<String>,
    unique_per_tenant: Vec<Vec<String>>,
}

fn names<I: IntoIterator<Item = S>, S: AsRef<str>>(it: I) -> Vec<String> {
    it.into_iter().map(|s| s.as_ref().to_owned()).collect()
}

impl ResourceBuilder {
    /// The id is an integer the database generates.
    pub fn integer_id(mut self, name: &str) -> Self {
        self.id = Some((name.to_owned(), IdKind::Integer));
        self
    }

    /// The id is a UUID, a UUIDv7 when create does not give one: ids that do not reveal
    /// other tenants' insert rates (see [`IdKind::Uuid`] for the trade-off).
    ///
    /// ```
    /// use tenantry::data::{IdKind, Resource};
    ///
    /// let notes = Resource::builder("notes").uuid_id("id").build().unwrap();
    /// assert_eq!(notes.id_kind(), IdKind::Uuid);
    /// ```
    pub fn uuid_id(mut self, name: &str) -> Self {
        self.id = Some((name.to_owned(), IdKind::Uuid));
        self
    }

    /// The id is text the client gives.
    pub fn text_id(mut self, name: &str) -> Self {
        self.id = Some((name.to_owned(), IdKind::Text));
        self
    }

    /// The tenant column (default `tenant_id`).
    pub fn tenant_field(mut self, name: &str) -> Self {
        self.tenant = name.to_owned();
        self
    }

    /// Adds a column. A column named `created_at` is always immutable.
    pub fn column(mut self, column: Column) -> Self {
        self.columns.push(column);
        self
    }

    /// Text columns a search may look in.
    pub fn searchable<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, cols: I) -> Self {
        self.searchable = names(cols);
        self
    }

    /// Columns a list may be ordered by.
    pub fn sortable<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, cols: I) -> Self {
        self.sortable = names(cols);
        self
    }

    /// Columns a list may be filtered on.
    pub fn filterable<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, cols: I) -> Self {
        self.filterable = names(cols);
        self
    }

    /// Declares `cols` unique within each tenant (the same values may repeat across tenants).
    /// [`DataStore::create_table`](super::DataStore::create_table) creates the matching index on
    /// (tenant field, cols...).
    pub fn unique_per_tenant<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, cols: I) -> Self {
        self.unique_per_tenant.push(names(cols));
        self
    }

    /// Checks every name and rule.
    pub fn build(self) -> Result<Resource, ConfigError> {
        let ident = |n: &str| Ident::new(n).map_err(|e| ConfigError::Resource(e.to_string()));
        let table = ident(&self.table)?;
        let (id_name, id_kind) = self
            .id
            .ok_or_else(|| ConfigError::Resource("the resource has no id column".into()))?;
        let id = ident(&id_name)?;
        let tenant = ident(&self.tenant)?;
        if id == tenant {
            return Err(ConfigError::Resource(
                "the id and the tenant field are one column".into(),
            ));
        }
        let id_ty = match id_kind {
            IdKind::Integer => ColumnType::Integer,
            IdKind::Uuid => ColumnType::Uuid,
            IdKind::Text => ColumnType::Text,
        };
        let mut columns = vec![
            ColumnDef {
                name: id.clone(),
                ty: id_ty,
                nullable: false,
                has_default: id_kind == IdKind::Integer,
                immutable: true,
                role: Role::Id,
            },
            ColumnDef {
                name: tenant.clone(),
                ty: ColumnType::Text,
                nullable: false,
                has_default: false,
                immutable: true,
                role: Role::Tenant,
            },
        ];
        for c in self.columns {
            let name = ident(&c.name)?;
            if columns.iter().any(|d| d.name == name) {
                return Err(ConfigError::Resource(format!(
                    "column `{name}` is declared twice"
                )));
            }
            columns.push(ColumnDef {
                immutable: c.immutable || name.as_str() == "created_at",
                name,
                ty: c.ty,
                nullable: c.nullable,
                has_default: c.has_default,
                role: Role::Data,
            });
        }
        let known = |list: Vec<String>, what: &str| -> Result<Vec<Ident>, ConfigError> {
            list.iter()
                .map(|n| {
                    let i = ident(n)?;
                    if i == tenant {
                        return Err(ConfigError::Resource(format!(
                            "the tenant field cannot be {what}"
                        )));
                    }
                    if !columns.iter().any(|c| c.name == i) {
                        return Err(ConfigError::Resource(format!(
                            "{what} column `{i}` is not declared"
                        )));
                    }
                    Ok(i)
                })
                .collect()
        };
        let searchable = known(self.searchable, "searchable")?;
        if let Some(c) = searchable.iter().find(|s| {
            columns
                .iter()
                .any(|c| &c.name == *s && c.ty != ColumnType::Text)
        }) {
            return Err(ConfigError::Resource(format!(
                "searchable column `{c}` is not text"
            )));
        }
        let sortable = known(self.sortable, "sortable")?;
        let filterable = known(self.filterable, "filterable")?;
        let unique_per_tenant = self
            .unique_per_tenant
            .into_iter()
            .map(|set| known(set, "unique"))
            .collect::<Result<_, _>>()?;
        Ok(Resource(Arc::new(Inner {
            table,
            id,
            id_kind,
            tenant,
            columns,
            searchable,
            sortable,
            filterable,
            unique_per_tenant,
            select_by_id: Default::default(),
            select_by_id_in: OnceLock::new(),
        })))
    }
}

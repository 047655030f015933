//! [`Typed`]: the scoped service with rows as your own structs (serde) instead of JSON maps.

use std::marker::PhantomData;

use serde::{Serialize, de::DeserializeOwned};

use super::{DataError, IdValue, ListQuery, Row, TenantScopedService, value::JsonRow};

/// A [`TenantScopedService`] whose rows are `T`: read rows deserialize into `T`, and
/// `create`/`update` take any `Serialize` value (a struct without the id, a patch struct with
/// `Option` fields skipped when `None`, ...). Every guarantee of the scoped service holds.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use serde::{Deserialize, Serialize};
/// use tenantry::{TenantId, data::{Column, Database, Resource, TenantScopedService}};
///
/// #[derive(Debug, Deserialize)]
/// struct Note { id: i64, tenant_id: String, body: String }
///
/// #[derive(Serialize)]
/// struct NewNote<'a> { body: &'a str }
///
/// let db = Database::connect("sqlite::memory:").await.unwrap();
/// let notes = Resource::builder("notes").integer_id("id").column(Column::text("body")).build().unwrap();
/// db.create_table(&notes).await.unwrap();
///
/// let svc = TenantScopedService::new(db, notes, TenantId::parse("acme").unwrap()).typed::<Note>();
/// let note = svc.create(&NewNote { body: "hello" }).await.unwrap();
/// assert_eq!((note.tenant_id.as_str(), note.body.as_str()), ("acme", "hello"));
/// assert_eq!(svc.get(note.id).await.unwrap().unwrap().body, "hello");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct Typed<T> {
    inner: TenantScopedService,
    _row: PhantomData<fn() -> T>,
}

impl TenantScopedService {
    /// This service with rows as `T`.
    pub fn typed<T: DeserializeOwned>(self) -> Typed<T> {
        Typed {
            inner: self,
            _row: PhantomData,
        }
    }
}

fn to_row<V: Serialize + ?Sized>(values: &V) -> Result<Row, DataError> {
    match serde_json::to_value(values) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(DataError::Validation(
            "the values must serialize to an object".into(),
        )),
        Err(e) => Err(DataError::Validation(format!(
            "the values do not serialize: {e}"
        ))),
    }
}

/// Rows come as JSON text straight from the database row (no intermediate map).
fn from_row<T: DeserializeOwned>(row: JsonRow) -> Result<T, DataError> {
    serde_json::from_slice(row.as_bytes())
        .map_err(|e| DataError::Config(format!("a row does not fit the Rust type: {e}")))
}

impl<T: DeserializeOwned> Typed<T> {
    /// The untyped service.
    pub fn untyped(&self) -> &TenantScopedService {
        &self.inner
    }

    /// See [`TenantScopedService::get`].
    pub async fn get(&self, id: impl Into<IdValue>) -> Result<Option<T>, DataError> {
        self.inner
            .get_json(id.into())
            .await?
            .map(from_row)
            .transpose()
    }

    /// See [`TenantScopedService::find`].
    pub async fn find(&self, query: &ListQuery) -> Result<Vec<T>, DataError> {
        self.inner
            .find_json(query)
            .await?
            .into_iter()
            .map(from_row)
            .collect()
    }

    /// See [`TenantScopedService::create`].
    pub async fn create<V: Serialize + ?Sized>(&self, values: &V) -> Result<T, DataError> {
        from_row(self.inner.create_json(to_row(values)?).await?)
    }

    /// See [`TenantScopedService::update`].
    pub async fn update<V: Serialize + ?Sized>(
        &self,
        id: impl Into<IdValue>,
        patch: &V,
    ) -> Result<T, DataError> {
        from_row(self.inner.update_json(id.into(), to_row(patch)?).await?)
    }

    /// See [`TenantScopedService::delete`].
    pub async fn delete(&self, id: impl Into<IdValue>) -> Result<(), DataError> {
        self.inner.delete(id).await
    }
}

//! [`Typed`]: the tenant table with rows as your own structs (serde) instead of JSON maps.

use std::marker::PhantomData;

use serde::{Serialize, de::DeserializeOwned};

use super::{DataError, IdValue, JsonRow, ListQuery, Record, TenantTable};

/// A [`TenantTable`] whose rows are `T`: read rows deserialize into `T`, and
/// `create`/`update` take any `Serialize` value (a struct without the id, a patch struct with
/// `Option` fields skipped when `None`, ...). Every guarantee of the tenant table holds.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use serde::{Deserialize, Serialize};
/// use tenantry::{TenantId, data::{Column, DataStore, Resource, TenantTable}};
///
/// #[derive(Debug, Deserialize)]
/// struct Note { id: i64, tenant_id: String, body: String }
///
/// #[derive(Serialize)]
/// struct NewNote<'a> { body: &'a str }
///
/// let db = DataStore::connect("sqlite::memory:").await.unwrap();
/// let notes = Resource::builder("notes").integer_id("id").column(Column::text("body")).build().unwrap();
/// db.create_table(&notes).await.unwrap();
///
/// let svc = TenantTable::new(db, notes, TenantId::parse("acme").unwrap()).typed::<Note>();
/// let note = svc.create(&NewNote { body: "hello" }).await.unwrap();
/// assert_eq!((note.tenant_id.as_str(), note.body.as_str()), ("acme", "hello"));
/// assert_eq!(svc.get(note.id).await.unwrap().unwrap().body, "hello");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct Typed<T> {
    inner: TenantTable,
    _row: PhantomData<fn() -> T>,
}

impl TenantTable {
    /// This table with rows as `T`.
    pub fn typed<T: DeserializeOwned>(self) -> Typed<T> {
        Typed {
            inner: self,
            _row: PhantomData,
        }
    }
}

fn to_row<V: Serialize + ?Sized>(values: &V) -> Result<Record, DataError> {
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
        .map_err(|e| DataError::Decode(format!("a row does not fit the Rust type: {e}")))
}

impl<T: DeserializeOwned> Typed<T> {
    /// The untyped table.
    pub fn untyped(&self) -> &TenantTable {
        &self.inner
    }

    /// See [`TenantTable::get`].
    pub async fn get(&self, id: impl Into<IdValue>) -> Result<Option<T>, DataError> {
        self.inner
            .get_json(id.into())
            .await?
            .map(from_row)
            .transpose()
    }

    /// See [`TenantTable::find`].
    pub async fn find(&self, query: &ListQuery) -> Result<Vec<T>, DataError> {
        self.inner
            .find_json(query)
            .await?
            .into_iter()
            .map(from_row)
            .collect()
    }

    /// See [`TenantTable::create`].
    pub async fn create<V: Serialize + ?Sized>(&self, values: &V) -> Result<T, DataError> {
        from_row(self.inner.create_json(to_row(values)?).await?)
    }

    /// See [`TenantTable::update`].
    pub async fn update<V: Serialize + ?Sized>(
        &self,
        id: impl Into<IdValue>,
        patch: &V,
    ) -> Result<T, DataError> {
        from_row(self.inner.update_json(id.into(), to_row(patch)?).await?)
    }

    /// See [`TenantTable::delete`].
    pub async fn delete(&self, id: impl Into<IdValue>) -> Result<(), DataError> {
        self.inner.delete(id).await
    }
}

//! [`IdValue`]: an id as a caller gives it, checked against the resource's id kind.

use serde_json::Value as Json;

use crate::{
    data::{IdKind, Resource},
    driver::Driver,
};

/// An id as given by a caller (a path segment, a number in code); checked against the
/// resource's [`IdKind`]. An id that cannot be valid answers
/// [`DataError::NotFound`](crate::data::DataError::NotFound), like any other id the tenant
/// does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdValue {
    /// A number.
    Int(i64),
    /// Text (also a number or UUID written as text).
    Text(String),
}

impl From<i64> for IdValue {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<&str> for IdValue {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}
impl From<String> for IdValue {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}
impl From<uuid::Uuid> for IdValue {
    fn from(v: uuid::Uuid) -> Self {
        Self::Text(v.to_string())
    }
}

impl IdValue {
    /// The id as bound on `D` and as JSON (for comparing with a patch). `None`: it cannot be a
    /// valid id of `resource`.
    pub(crate) fn bound<D: Driver>(&self, resource: &Resource) -> Option<(sea_query::Value, Json)> {
        use sea_query::Value as V;
        match (resource.id_kind(), self) {
            (IdKind::Integer, IdValue::Int(i)) => Some((V::BigInt(Some(*i)), Json::from(*i))),
            (IdKind::Integer, IdValue::Text(s)) => {
                let i: i64 = s.trim().parse().ok()?;
                Some((V::BigInt(Some(i)), Json::from(i)))
            }
            (IdKind::Uuid, IdValue::Text(s)) => {
                let u = uuid::Uuid::parse_str(s.trim()).ok()?;
                Some((D::uuid_value(u), Json::String(u.hyphenated().to_string())))
            }
            (IdKind::Text, IdValue::Text(s)) => {
                Some((V::String(Some(s.clone())), Json::String(s.clone())))
            }
            (IdKind::Text, IdValue::Int(i)) => {
                Some((V::String(Some(i.to_string())), Json::String(i.to_string())))
            }
            (IdKind::Uuid, IdValue::Int(_)) => None,
        }
    }
}

//! [`TenantId`] binds directly in sqlx queries, as text, on every backend.

use sqlx::{Database, Decode, Encode, Type, encode::IsNull, error::BoxDynError};

use crate::TenantId;

impl<DB: Database> Type<DB> for TenantId
where
    str: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <str as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <str as Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: Database> Encode<'q, DB> for TenantId
where
    for<'a> &'a str: Encode<'q, DB>,
{
    fn encode_by_ref(&self, buf: &mut DB::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<'q, DB>>::encode_by_ref(&self.as_str(), buf)
    }
}

/// A stored id is read back through the standard rule, so a row can never smuggle an invalid
/// tenant id into code that trusts the type.
impl<'r, DB: Database> Decode<'r, DB> for TenantId
where
    &'r str: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&'r str as Decode<'r, DB>>::decode(value)?;
        let id = TenantId::parse(text)?;
        if id.as_str() != text {
            return Err("a stored tenant id has surrounding white space".into());
        }
        Ok(id)
    }
}

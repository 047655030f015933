//! SQLite column types and defaults. Timestamps, UUIDs and JSON are text, declared as what
//! they hold.

use sqlx::{Pool, Sqlite};

use crate::{
    data::{ColumnType, DataError},
    driver::sealed::Ddl,
    export::{
        PortableType,
        create::{IdentitySql, Spelling, SpellingArg},
    },
};

impl Ddl for Sqlite {
    const GENERATED_ID: &'static str = " PRIMARY KEY AUTOINCREMENT";

    /// `INTEGER PRIMARY KEY` (exactly that type) is the rowid, assigned when left out.
    const IDENTITY: IdentitySql = IdentitySql::WholeKey("integer", " PRIMARY KEY AUTOINCREMENT");

    const TRANSACTIONAL_DDL: bool = true;

    /// Declared types that keep what they hold and say what it is: decimals are
    /// `decimal_text` (text affinity: SQLite would make `12.50` the float 12.5 under a
    /// `numeric` one), 32-bit integers `int4` and 32-bit floats `float4` (SQLite's `integer`
    /// and `real` are 64-bit, and read back as `bigint` and `double`).
    fn spell(ty: PortableType, _key: bool) -> Result<Spelling, &'static str> {
        use SpellingArg::{First, Second};
        Ok(match ty {
            PortableType::Text => Spelling::text("text"),
            PortableType::Varchar(_) => Spelling::text("varchar").with(&[First]),
            PortableType::Char(_) => Spelling::text("char").with(&[First]),
            PortableType::SmallInt => Spelling::plain("smallint"),
            PortableType::Integer => Spelling::plain("int4"),
            PortableType::BigInt => Spelling::plain("bigint"),
            PortableType::BigIntUnsigned => {
                return Err("SQLite's integers are signed 64-bit");
            }
            PortableType::Real => Spelling::plain("float4"),
            PortableType::Double => Spelling::plain("real"),
            PortableType::Numeric(None) => Spelling::plain("decimal_text"),
            PortableType::Numeric(Some(_)) => {
                Spelling::plain("decimal_text").with(&[First, Second])
            }
            PortableType::Boolean => Spelling::plain("boolean"),
            PortableType::Timestamptz => Spelling::plain("timestamptz"),
            PortableType::Timestamp => Spelling::plain("timestamp"),
            PortableType::Date => Spelling::plain("date"),
            PortableType::Time => Spelling::plain("time"),
            PortableType::Uuid => Spelling::plain("uuid"),
            PortableType::Json => Spelling::plain("json"),
            PortableType::Jsonb => Spelling::plain("jsonb"),
            PortableType::Bytes => Spelling::plain("blob"),
            PortableType::Unsupported => return Err("its type has no portable name"),
        })
    }

    /// BINARY, SQLite's default, compares exactly.
    async fn exact_collation(_: &Pool<Self>) -> Result<Option<&'static str>, DataError> {
        Ok(None)
    }

    /// Timestamps, UUIDs and JSON are stored as text, under declared types that say what they
    /// are, so that an export writes them as what they are and an import checks them
    /// (`"yesterday"` is no timestamp). SQLite gives these names NUMERIC affinity, which
    /// leaves their text alone (none of it reads as a number) except a JSON document that
    /// is a bare number, stored as one.
    fn column_type(ty: ColumnType, _key: bool) -> &'static str {
        match ty {
            ColumnType::Integer => "integer",
            ColumnType::Float => "real",
            ColumnType::Bool => "boolean",
            ColumnType::Text => "text",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Uuid => "uuid",
            ColumnType::Json => "json",
        }
    }

    fn default_expr(ty: ColumnType) -> Option<&'static str> {
        Some(match ty {
            ColumnType::Integer | ColumnType::Float => "0",
            ColumnType::Bool => "false",
            ColumnType::Text => "''",
            // Millisecond RFC 3339, as the data layer writes timestamps.
            ColumnType::Timestamp => "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            ColumnType::Json => "'{}'",
            _ => return None,
        })
    }
}

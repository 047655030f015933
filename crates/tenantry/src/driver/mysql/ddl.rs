//! MariaDB / MySQL column types, defaults, and the exact collation of text columns.

use sqlx::{MySql, MySqlPool, Pool};

use crate::{
    data::{ColumnType, DataError},
    driver::sealed::Ddl,
    export::{
        PortableType,
        create::{IdentitySql, Spelling, SpellingArg},
    },
};

impl Ddl for MySql {
    const GENERATED_ID: &'static str = " AUTO_INCREMENT PRIMARY KEY";

    const IDENTITY: IdentitySql = IdentitySql::FirstKeyColumn(" AUTO_INCREMENT");

    /// `CREATE TABLE` commits the transaction it is in.
    const TRANSACTIONAL_DDL: bool = false;

    /// Key columns (which InnoDB indexes whole) of unbounded text or bytes get 255
    /// characters or bytes; timestamps are `datetime(6)`, as the data layer makes them
    /// (`TIMESTAMP` ends in 2038); UUIDs `char(36)`.
    fn spell(ty: PortableType, key: bool) -> Result<Spelling, &'static str> {
        use SpellingArg::{First, Fixed, Second};
        Ok(match ty {
            PortableType::Text if key => Spelling::text("varchar").with(&[Fixed(255)]),
            PortableType::Text => Spelling::text("longtext"),
            // `CHAR` drops trailing spaces on MariaDB: PostgreSQL's padding would be lost.
            PortableType::Varchar(_) | PortableType::Char(_) => {
                Spelling::text("varchar").with(&[First])
            }
            PortableType::SmallInt => Spelling::plain("smallint"),
            PortableType::Integer => Spelling::plain("int"),
            PortableType::BigInt => Spelling::plain("bigint"),
            PortableType::BigIntUnsigned => Spelling::plain("bigint unsigned"),
            PortableType::Real => Spelling::plain("float"),
            PortableType::Double => Spelling::plain("double"),
            PortableType::Numeric(None) => {
                return Err(
                    "its decimals have a fixed precision and scale; give the source column \
                     one (numeric(P,S))",
                );
            }
            PortableType::Numeric(Some((p, s))) if p > 65 || s > 38 || s > p => {
                return Err("its decimals have at most 65 digits, 38 after the point");
            }
            PortableType::Numeric(Some(_)) => Spelling::plain("decimal").with(&[First, Second]),
            PortableType::Boolean => Spelling::plain("boolean"),
            PortableType::Timestamptz | PortableType::Timestamp => {
                Spelling::plain("datetime").with(&[Fixed(6)])
            }
            PortableType::Date => Spelling::plain("date"),
            PortableType::Time => Spelling::plain("time").with(&[Fixed(6)]),
            PortableType::Uuid => Spelling::text("char").with(&[Fixed(36)]),
            PortableType::Json | PortableType::Jsonb => Spelling::plain("json"),
            PortableType::Bytes if key => Spelling::plain("varbinary").with(&[Fixed(255)]),
            PortableType::Bytes => Spelling::plain("longblob"),
            PortableType::Unsupported => return Err("its type has no portable name"),
        })
    }

    /// The server's default collation (`utf8mb4_general_ci`) ignores case: text columns get a
    /// binary no-pad one.
    async fn exact_collation(pool: &Pool<Self>) -> Result<Option<&'static str>, DataError> {
        exact_collation(pool).await.map(Some)
    }

    fn column_type(ty: ColumnType, key: bool) -> &'static str {
        match ty {
            ColumnType::Integer => "bigint",
            ColumnType::Float => "double",
            // TEXT cannot be indexed without a prefix length: keys and searchable text are varchar.
            ColumnType::Text if key => "varchar(64)",
            ColumnType::Text => "varchar(255)",
            ColumnType::Bool => "boolean",
            ColumnType::Timestamp => "datetime(6)",
            ColumnType::Uuid => "char(36)",
            ColumnType::Json => "json",
        }
    }

    fn default_expr(ty: ColumnType) -> Option<&'static str> {
        Some(match ty {
            ColumnType::Integer | ColumnType::Float => "0",
            ColumnType::Bool => "false",
            ColumnType::Text => "''",
            ColumnType::Timestamp => "CURRENT_TIMESTAMP(6)",
            ColumnType::Json => "(json_object())",
            ColumnType::Uuid => return None,
        })
    }
}

/// Binary, no-pad collations, most preferred first: MariaDB's `utf8mb4_nopad_bin` (10.2 and
/// later), MySQL 8's `utf8mb4_0900_bin`.
const EXACT: &[&str] = &["utf8mb4_nopad_bin", "utf8mb4_0900_bin"];

/// The exact collation this server offers, for the text columns tenantry creates.
async fn exact_collation(pool: &MySqlPool) -> Result<&'static str, DataError> {
    let found: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(collation_name AS CHAR) FROM information_schema.collations \
         WHERE collation_name IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')",
    )
    .fetch_all(pool)
    .await?;
    EXACT
        .iter()
        .find(|c| found.iter().any(|f| f == *c))
        .copied()
        .ok_or_else(|| {
            DataError::Unsupported(
                "this MariaDB / MySQL server has no binary no-pad utf8mb4 collation \
                 (utf8mb4_nopad_bin or utf8mb4_0900_bin); MariaDB 10.2 or MySQL 8 is needed"
                    .into(),
            )
        })
}

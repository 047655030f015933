//! A table's definition as a directory export's manifest carries it: columns, their types in
//! one vocabulary every backend can read, NOT NULL, the primary key and the database-assigned id.
//! `import-tenant --create-tables` creates a missing table from it, on any backend.
//!
//! The mapping between backends is documented on [`TableDefinition`].

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::schema::{Generated, TableInfo};
use crate::driver::Driver;

/// A column type in the vocabulary every backend reads and creates (see [`TableDefinition`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PortableType {
    /// Text of any length.
    Text,
    /// Text of at most this many characters.
    Varchar(u32),
    /// Text of this many characters, blank-padded (PostgreSQL).
    Char(u32),
    /// A 16-bit integer.
    SmallInt,
    /// A 32-bit integer.
    Integer,
    /// A 64-bit integer.
    BigInt,
    /// An unsigned 64-bit integer (MariaDB / MySQL only).
    BigIntUnsigned,
    /// A 32-bit float.
    Real,
    /// A 64-bit float.
    Double,
    /// An exact decimal, with its precision and scale (`None`: any, PostgreSQL's `numeric`).
    Numeric(Option<(u32, u32)>),
    /// `true` or `false`.
    Boolean,
    /// An instant (a timestamp with a time zone).
    Timestamptz,
    /// A timestamp without a zone (read and written as UTC).
    Timestamp,
    /// A date.
    Date,
    /// A time of day.
    Time,
    /// A UUID.
    Uuid,
    /// JSON, its text kept as stored.
    Json,
    /// JSON normalised by the database (PostgreSQL `jsonb`, MySQL 8 `JSON`).
    Jsonb,
    /// Bytes.
    Bytes,
    /// A type that has no portable name: the column's values travel, its table cannot be
    /// created elsewhere.
    Unsupported,
}

impl PortableType {
    /// Whether this is an integer type (one a database-assigned id can have).
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            Self::SmallInt | Self::Integer | Self::BigInt | Self::BigIntUnsigned
        )
    }

    /// The type `declared` names, from its modifiers (`varchar(10)`, `numeric(12, 2)`): the
    /// numbers between parentheses, if any; `None` if they do not parse.
    pub(crate) fn modifiers(declared: &str) -> Option<Vec<u32>> {
        let Some(open) = declared.find('(') else {
            return Some(Vec::new());
        };
        let close = open + declared[open..].find(')')?;
        declared[open + 1..close]
            .split(',')
            .map(|n| n.trim().parse().ok())
            .collect()
    }

    /// `numeric` with the modifiers of `declared`: none, a precision, or precision and scale.
    pub(crate) fn numeric(declared: &str) -> Self {
        match Self::modifiers(declared).as_deref() {
            Some([]) => Self::Numeric(None),
            Some([p]) => Self::Numeric(Some((*p, 0))),
            Some([p, s]) => Self::Numeric(Some((*p, *s))),
            _ => Self::Unsupported,
        }
    }

    /// `with` its length from `declared`, or `without` one when it has none.
    pub(crate) fn sized(declared: &str, with: fn(u32) -> Self, without: Self) -> Self {
        match Self::modifiers(declared).as_deref() {
            Some([n]) => with(*n),
            Some([]) => without,
            _ => Self::Unsupported,
        }
    }
}

impl fmt::Display for PortableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text => f.write_str("text"),
            Self::Varchar(n) => write!(f, "varchar({n})"),
            Self::Char(n) => write!(f, "char({n})"),
            Self::SmallInt => f.write_str("smallint"),
            Self::Integer => f.write_str("integer"),
            Self::BigInt => f.write_str("bigint"),
            Self::BigIntUnsigned => f.write_str("bigint unsigned"),
            Self::Real => f.write_str("real"),
            Self::Double => f.write_str("double"),
            Self::Numeric(None) => f.write_str("numeric"),
            Self::Numeric(Some((p, s))) => write!(f, "numeric({p},{s})"),
            Self::Boolean => f.write_str("boolean"),
            Self::Timestamptz => f.write_str("timestamptz"),
            Self::Timestamp => f.write_str("timestamp"),
            Self::Date => f.write_str("date"),
            Self::Time => f.write_str("time"),
            Self::Uuid => f.write_str("uuid"),
            Self::Json => f.write_str("json"),
            Self::Jsonb => f.write_str("jsonb"),
            Self::Bytes => f.write_str("bytes"),
            Self::Unsupported => f.write_str("unsupported"),
        }
    }
}

impl FromStr for PortableType {
    type Err = std::convert::Infallible;

    /// The type a manifest names; a name this version does not know is
    /// [`Unsupported`](Self::Unsupported) (the manifest still imports, without
    /// `--create-tables`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let base = s.split('(').next().unwrap_or_default().trim();
        Ok(match base {
            "text" => Self::Text,
            "varchar" => Self::sized(s, Self::Varchar, Self::Unsupported),
            "char" => Self::sized(s, Self::Char, Self::Unsupported),
            "smallint" => Self::SmallInt,
            "integer" => Self::Integer,
            "bigint" => Self::BigInt,
            "bigint unsigned" => Self::BigIntUnsigned,
            "real" => Self::Real,
            "double" => Self::Double,
            "numeric" => Self::numeric(s),
            "boolean" => Self::Boolean,
            "timestamptz" => Self::Timestamptz,
            "timestamp" => Self::Timestamp,
            "date" => Self::Date,
            "time" => Self::Time,
            "uuid" => Self::Uuid,
            "json" => Self::Json,
            "jsonb" => Self::Jsonb,
            "bytes" => Self::Bytes,
            _ => Self::Unsupported,
        })
    }
}

impl Serialize for PortableType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PortableType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(text.parse().unwrap_or(Self::Unsupported))
    }
}

/// One column of a [`TableDefinition`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ColumnDefinition {
    /// The column's name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: PortableType,
    /// For an [`Unsupported`](PortableType::Unsupported) type: the source's own spelling
    /// (`integer[]`, `interval`, `enum('a','b')`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<String>,
    /// Whether it takes SQL `NULL`.
    pub nullable: bool,
    /// Whether the database assigns it (an identity, `AUTO_INCREMENT`, SQLite's rowid).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub identity: bool,
    /// Its default, where it is one every backend can spell.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_default"
    )]
    pub default: Option<PortableDefault>,
}

/// A column default every backend can spell: the ones the data layer gives the tables it
/// creates. Any other default is not carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PortableDefault {
    /// The current time (`now()`, `CURRENT_TIMESTAMP`, SQLite's `strftime(..., 'now')`).
    Now,
    /// An integer.
    Integer(i64),
    /// `true` or `false`.
    Bool(bool),
    /// The empty string.
    EmptyText,
    /// The empty JSON object.
    EmptyObject,
}

impl PortableDefault {
    /// The default a catalog's expression (any backend's dialect) stands for, if portable.
    pub(crate) fn parse(expr: &str) -> Option<Self> {
        let mut e = expr.trim().to_ascii_lowercase();
        while e.starts_with('(') && e.ends_with(')') {
            e = e[1..e.len() - 1].trim().to_owned();
        }
        // PostgreSQL's casts: `''::text`, `'{}'::jsonb`, `0::bigint`.
        if let Some((value, _cast)) = e.split_once("::") {
            e = value.trim().to_owned();
        }
        let now = e.starts_with("current_timestamp")
            || matches!(
                e.as_str(),
                "now" | "now()" | "transaction_timestamp()" | "localtimestamp"
            )
            || (e.starts_with("strftime(") && e.ends_with("'now')"));
        Some(match e.as_str() {
            _ if now => Self::Now,
            "true" => Self::Bool(true),
            "false" => Self::Bool(false),
            "''" => Self::EmptyText,
            "'{}'" | "json_object()" => Self::EmptyObject,
            _ => Self::Integer(e.parse().ok()?),
        })
    }

    /// Whether a column of `ty` can have this default (MariaDB's booleans default to `0`,
    /// which is `false` elsewhere).
    fn fit(self, ty: PortableType) -> Option<Self> {
        use PortableType as T;
        match (self, ty) {
            (Self::Now, T::Timestamptz | T::Timestamp) => Some(self),
            (Self::Integer(n @ (0 | 1)), T::Boolean) => Some(Self::Bool(n == 1)),
            (Self::Bool(_), T::Boolean) => Some(self),
            (Self::Integer(_), t) if t.is_integer() => Some(self),
            (Self::Integer(_), T::Real | T::Double | T::Numeric(_)) => Some(self),
            (Self::EmptyText, T::Text | T::Varchar(_) | T::Char(_)) => Some(self),
            (Self::EmptyObject, T::Json | T::Jsonb) => Some(self),
            _ => None,
        }
    }
}

impl fmt::Display for PortableDefault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Now => f.write_str("now"),
            Self::Integer(n) => write!(f, "{n}"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::EmptyText => f.write_str("''"),
            Self::EmptyObject => f.write_str("'{}'"),
        }
    }
}

impl Serialize for PortableDefault {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PortableDefault {
    /// A default this version does not know is an error only here; [`ColumnDefinition`]
    /// reads it as none.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::custom("not a portable default"))
    }
}

/// A manifest's default, or none where this version cannot read it.
fn lenient_default<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PortableDefault>, D::Error> {
    let text = Option::<String>::deserialize(d)?;
    Ok(text.as_deref().and_then(PortableDefault::parse))
}

/// A table as a directory export's manifest records it, for `--create-tables`
/// ([`ImportOptions::create_tables`](super::ImportOptions::create_tables)).
///
/// # Types across backends
///
/// Each backend's catalog type is read as one [`PortableType`] and created as that backend's
/// spelling of it:
///
/// | portable | PostgreSQL reads / creates | MariaDB / MySQL reads / creates | SQLite reads / creates |
/// |---|---|---|---|
/// | `text` | `text`, `varchar`, `bpchar` without a length / `text` | `tinytext` … `longtext` / `longtext` (a key column: `varchar(255)`) | `text`, `clob`, any `char` type without a length / `text` |
/// | `varchar(N)` | `varchar(N)` / same | `varchar(N)` / same | `varchar(N)` / same |
/// | `char(N)` | `char(N)` / same | `char(N)` / `varchar(N)` (MariaDB's `CHAR` drops trailing spaces) | `char(N)` / same |
/// | `smallint` | `int2` / `smallint` | `tinyint` (not `tinyint(1)`), `smallint`, `tinyint unsigned` / `smallint` | `smallint`, `int2`, `tinyint` / `smallint` |
/// | `integer` | `int4` / `integer` | `mediumint`, `int`, `smallint unsigned`, `mediumint unsigned` / `int` | `int4`, `mediumint` / `int4` |
/// | `bigint` | `int8` / `bigint` | `bigint`, `int unsigned` / `bigint` | any other type with `int` (`integer`, `bigint`: SQLite's integers are 64-bit) / `bigint` |
/// | `bigint unsigned` | — / refused | `bigint unsigned` / same | — / refused |
/// | `real` | `float4` / `real` | `float` / `float` | `float4` / `float4` |
/// | `double` | `float8` / `double precision` | `double` / `double` | `real`, `double`, `float` / `real` |
/// | `numeric(P,S)` | `numeric(P,S)` / same | `decimal(P,S)` / same (P ≤ 65, S ≤ 38) | `decimal_text(P,S)`, `decimal(P,S)`, `numeric(P,S)` / `decimal_text(P,S)` (text affinity: the exact text is kept) |
/// | `numeric` | `numeric` / same | — / refused (MariaDB decimals have a fixed precision and scale) | `decimal_text`, `decimal`, `numeric` / `decimal_text` |
/// | `boolean` | `bool` / `boolean` | `tinyint(1)` / `boolean` | `boolean` / same |
/// | `timestamptz` | `timestamptz` / same | `timestamp` / `datetime(6)`, holding UTC (as the data layer does; `TIMESTAMP` ends in 2038) | `timestamptz` / same |
/// | `timestamp` | `timestamp` / same | `datetime` / `datetime(6)` | `timestamp`, `datetime` / `timestamp` |
/// | `date` | `date` / same | `date` / same | `date` / same |
/// | `time` | `time` / same | `time` / `time(6)` | `time` / same |
/// | `uuid` | `uuid` / same | `uuid` / `char(36)` | `uuid` / same |
/// | `json` (text kept as stored) | `json` / same | MariaDB `JSON` / `json` | `json` / same |
/// | `jsonb` (normalised) | `jsonb` / same | MySQL 8 `JSON` / `json` | `jsonb` / same |
/// | `bytes` | `bytea` / same | `binary`, `varbinary`, `blob` types / `longblob` (a key column: `varbinary(255)`) | `blob` / same |
///
/// Anything else (PostgreSQL arrays, intervals, enums, domains; MariaDB `ENUM`, `SET`, `YEAR`,
/// `BIT`; a SQLite column without a type) is recorded as `unsupported` with the source's own
/// spelling in `declared`: the export still carries its values, but `--create-tables` refuses
/// the table, naming the table and the column. So does a type the target cannot hold (above:
/// "refused").
///
/// A table is created with its columns in order, NOT NULL where the source had it (and on
/// every primary key column), its primary key, an index on the tenant column followed by the
/// key (unless the key starts with it), and its database-assigned id: PostgreSQL `GENERATED BY
/// DEFAULT AS IDENTITY`; MariaDB `AUTO_INCREMENT` when the id is the key's first column; SQLite
/// `INTEGER PRIMARY KEY AUTOINCREMENT` when it is the whole key. On MariaDB text columns get the
/// exact collation the data layer uses (`utf8mb4_nopad_bin`). Defaults every backend can spell
/// ([`PortableDefault`]: the current time, an integer, a boolean, `''`, `'{}'`) are kept; other
/// defaults, other indexes and unique constraints, checks, foreign keys and generated
/// expressions are not carried: a generated column becomes an ordinary column holding the
/// exported values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TableDefinition {
    /// The columns, in order.
    pub columns: Vec<ColumnDefinition>,
    /// The primary key's columns, in key order (empty: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub primary_key: Vec<String>,
}

impl TableDefinition {
    /// The definition of `table`, as `D`'s catalog describes it.
    pub(crate) fn of<D: Driver>(table: &TableInfo) -> Self {
        Self {
            columns: table
                .columns
                .iter()
                .map(|c| {
                    let ty = D::portable_type(c);
                    ColumnDefinition {
                        name: c.name.to_string(),
                        ty,
                        declared: (ty == PortableType::Unsupported).then(|| c.declared.clone()),
                        nullable: c.nullable,
                        identity: matches!(c.generated, Generated::Id { .. }),
                        default: match c.generated {
                            Generated::No => c
                                .default
                                .as_deref()
                                .and_then(PortableDefault::parse)
                                .and_then(|d| d.fit(ty)),
                            _ => None,
                        },
                    }
                })
                .collect(),
            primary_key: table.primary_key.iter().map(ToString::to_string).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_read_back_as_written() {
        use PortableType::*;
        for ty in [
            Text,
            Varchar(10),
            Char(3),
            SmallInt,
            Integer,
            BigInt,
            BigIntUnsigned,
            Real,
            Double,
            Numeric(None),
            Numeric(Some((12, 2))),
            Boolean,
            Timestamptz,
            Timestamp,
            Date,
            Time,
            Uuid,
            Json,
            Jsonb,
            Bytes,
            Unsupported,
        ] {
            assert_eq!(ty.to_string().parse::<PortableType>().unwrap(), ty, "{ty}");
        }
        assert_eq!("interval".parse::<PortableType>().unwrap(), Unsupported);
        assert_eq!("varchar".parse::<PortableType>().unwrap(), Unsupported);
        assert_eq!("numeric(x)".parse::<PortableType>().unwrap(), Unsupported);
        assert_eq!(
            "numeric(12, 2)".parse::<PortableType>().unwrap(),
            Numeric(Some((12, 2)))
        );
    }

    #[test]
    fn defaults_of_every_dialect() {
        use PortableDefault::*;
        for (expr, want) in [
            ("now()", Some(Now)),
            ("CURRENT_TIMESTAMP", Some(Now)),
            ("current_timestamp(6)", Some(Now)),
            ("(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))", Some(Now)),
            ("0", Some(Integer(0))),
            ("'-5'::integer", None),
            ("(-5)", Some(Integer(-5))),
            ("false", Some(Bool(false))),
            ("''::text", Some(EmptyText)),
            ("''", Some(EmptyText)),
            ("'{}'::jsonb", Some(EmptyObject)),
            ("(json_object())", Some(EmptyObject)),
            ("'abc'::text", None),
            ("nextval('items_id_seq'::regclass)", None),
            ("NULL", None),
        ] {
            assert_eq!(PortableDefault::parse(expr), want, "{expr}");
        }
        assert_eq!(
            Integer(0).fit(PortableType::Boolean),
            Some(Bool(false)),
            "MariaDB's boolean default"
        );
        assert_eq!(EmptyText.fit(PortableType::BigInt), None);
        let def: ColumnDefinition = serde_json::from_str(
            r#"{"name":"x","type":"text","nullable":true,"default":"gen_random_uuid()"}"#,
        )
        .unwrap();
        assert_eq!(
            def.default, None,
            "an unknown default is none, not an error"
        );
    }

    #[test]
    fn modifiers_of_catalog_spellings() {
        assert_eq!(
            PortableType::modifiers("character varying(10)"),
            Some(vec![10])
        );
        assert_eq!(
            PortableType::modifiers("decimal(12, 2) unsigned"),
            Some(vec![12, 2])
        );
        assert_eq!(PortableType::modifiers("text"), Some(vec![]));
        assert_eq!(PortableType::modifiers("numeric(3,-2)"), None);
        assert_eq!(PortableType::modifiers("numeric(3"), None);
    }

    #[test]
    fn a_definition_serializes_compactly() {
        let def = TableDefinition {
            columns: vec![
                ColumnDefinition {
                    name: "id".into(),
                    ty: PortableType::BigInt,
                    declared: None,
                    nullable: false,
                    identity: true,
                    default: None,
                },
                ColumnDefinition {
                    name: "arr".into(),
                    ty: PortableType::Unsupported,
                    declared: Some("integer[]".into()),
                    nullable: true,
                    identity: false,
                    default: None,
                },
                ColumnDefinition {
                    name: "at".into(),
                    ty: PortableType::Timestamptz,
                    declared: None,
                    nullable: false,
                    identity: false,
                    default: Some(PortableDefault::Now),
                },
            ],
            primary_key: vec!["id".into()],
        };
        let text = serde_json::to_string(&def).unwrap();
        assert_eq!(
            text,
            r#"{"columns":[{"name":"id","type":"bigint","nullable":false,"identity":true},{"name":"arr","type":"unsupported","declared":"integer[]","nullable":true},{"name":"at","type":"timestamptz","nullable":false,"default":"now"}],"primary_key":["id"]}"#
        );
        assert_eq!(serde_json::from_str::<TableDefinition>(&text).unwrap(), def);
    }
}

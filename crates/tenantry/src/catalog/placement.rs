//! [`Placement`]: where a tenant's rows live, as the catalog stores it, and [`ServerName`], the
//! configured server it lives on.

use std::{fmt, str::FromStr, sync::Arc};

use serde::{Deserialize, Serialize};

use super::CatalogError;
use crate::TenantId;

/// The name of a configured database server (`main`, `eu-1`): 1 to 63 characters, lowercase
/// ASCII letters, digits, `-` and `_`, starting with a letter. Servers are named in
/// configuration (see `data::Servers`); the catalog stores only the name, never a URL or a
/// password.
///
/// ```
/// use tenantry::catalog::ServerName;
///
/// assert_eq!(ServerName::new("eu-1").unwrap().as_str(), "eu-1");
/// assert!(ServerName::new("EU").is_err());
/// assert!(ServerName::new("db@host").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerName(Arc<str>);

/// A server name that breaks [`ServerName`]'s rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "server name {0:?} must be 1 to 63 lowercase letters, digits, `-` or `_`, starting with a letter"
)]
pub struct InvalidServerName(pub String);

impl ServerName {
    /// Checks `name` against the rule.
    pub fn new(name: &str) -> Result<Self, InvalidServerName> {
        let ok = (1..=63).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(name.into()))
        } else {
            Err(InvalidServerName(name.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ServerName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ServerName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

/// Where a tenant's rows live. `server` is `None` for the default server (the one the catalog
/// is on).
///
/// Stored as text: `row`, `schema:NAME`, `database:NAME`, each optionally followed by
/// `@SERVER`: `row@eu-1`, `schema:t_globex_4c1f0a9e2b7d@eu-1`. Schema and database names are
/// generated when the tenant is provisioned (see `data::Registry::provision`): 1 to 63
/// lowercase letters, digits and `_`, starting with a letter or `_`, so they are valid,
/// unquoted-equal identifiers on every backend and file names on every system.
///
/// ```
/// use tenantry::catalog::{Placement, ServerName};
///
/// let p: Placement = "schema:t_globex@eu-1".parse().unwrap();
/// assert_eq!(p, Placement::schema("t_globex").unwrap().on(ServerName::new("eu-1").unwrap()));
/// assert_eq!(p.to_string(), "schema:t_globex@eu-1");
/// assert_eq!("row".parse::<Placement>().unwrap(), Placement::row());
/// assert!("schema:Robert'); DROP".parse::<Placement>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Placement {
    /// Shared tables, rows told apart by the tenant column.
    Row {
        /// The server; `None`: the default one.
        server: Option<ServerName>,
    },
    /// A schema of its own (PostgreSQL), holding the same tables.
    Schema {
        /// The server; `None`: the default one.
        server: Option<ServerName>,
        /// The schema's name.
        schema: String,
    },
    /// A database of its own: a SQLite file in the server's directory, or a PostgreSQL or
    /// MariaDB / MySQL database on the server.
    Database {
        /// The server; `None`: the default one.
        server: Option<ServerName>,
        /// The database's name (a SQLite file's name without `.db`).
        database: String,
    },
}

impl Default for Placement {
    fn default() -> Self {
        Self::row()
    }
}

/// Whether `name` may be a generated schema or database name.
pub(crate) fn is_object_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn object_name(what: &str, name: &str) -> Result<String, CatalogError> {
    if is_object_name(name) {
        Ok(name.to_owned())
    } else {
        Err(CatalogError::Corrupt(format!(
            "{what} name {name:?} must be 1 to 63 lowercase letters, digits or `_`, \
             starting with a letter or `_`"
        )))
    }
}

/// A kind of placement, without names: what `tenantry tenants create --placement` takes, the
/// names being [generated](Placement::generated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlacementKind {
    /// Shared tables.
    Row,
    /// A schema of its own (PostgreSQL).
    Schema,
    /// A database of its own.
    Database,
}

impl FromStr for PlacementKind {
    type Err = CatalogError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "row" => Ok(Self::Row),
            "schema" => Ok(Self::Schema),
            "database" => Ok(Self::Database),
            _ => Err(CatalogError::Corrupt(format!(
                "placement kind {s:?} is not row, schema or database"
            ))),
        }
    }
}

/// The longest schema or database name PostgreSQL keeps (MariaDB allows 64).
const MAX_OBJECT_NAME: usize = 63;

/// `t_` + the id folded to `[a-z0-9_]` (truncated) + `_` + 12 hex digits of a hash of the exact
/// id, with `prefix_` in front when given (truncated first, so the hash always fits).
///
/// The readable part lets an operator see whose schema it is; the hash keeps ids that fold to
/// the same text (`a-b`, `a_b`, `a.b`, `A-B`) apart. The hash is FNV-1a (64 bits), so a name
/// can be recomputed by anyone, on any machine.
fn generated_name(tenant: &TenantId, prefix: Option<&str>) -> String {
    let hash = tenant
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    let tail = format!("_{:012x}", hash >> 16);
    let fold = |text: &str| -> String {
        text.chars()
            .map(|c| match c.to_ascii_lowercase() {
                c @ ('a'..='z' | '0'..='9') => c,
                _ => '_',
            })
            .collect()
    };
    let mut head = String::new();
    if let Some(prefix) = prefix.map(fold).filter(|p| !p.is_empty()) {
        // Room for the prefix: everything but `_t_x` and the hash.
        let room = MAX_OBJECT_NAME - tail.len() - 5;
        if prefix.starts_with(|c: char| c.is_ascii_digit()) {
            head.push('_');
        }
        head.push_str(&prefix[..prefix.len().min(room)]);
        head.push('_');
    }
    head.push_str("t_");
    let room = MAX_OBJECT_NAME - tail.len() - head.len();
    let id = fold(tenant.as_str());
    head.push_str(&id[..id.len().min(room)]);
    head + &tail
}

impl Placement {
    /// A placement of `kind` for `tenant` with a generated name (see [`PlacementKind`]): valid
    /// for every allowed tenant id, within PostgreSQL's 63-byte limit, and distinct for ids
    /// that a plain mapping would make the same. Databases on a PostgreSQL or MariaDB server
    /// are prefixed with `prefix` (the server's own database name, so that several services
    /// sharing one server do not collide). The registry uses it when provisioning.
    ///
    /// ```
    /// use tenantry::{TenantId, catalog::{Placement, PlacementKind}};
    ///
    /// let id = |s| TenantId::parse(s).unwrap();
    /// let a = Placement::generated(PlacementKind::Schema, &id("a-b"), None);
    /// let b = Placement::generated(PlacementKind::Schema, &id("a_b"), None);
    /// assert!(a.to_string().starts_with("schema:t_a_b_"));
    /// assert_ne!(a, b);
    /// let long = Placement::generated(PlacementKind::Database, &id(&"x".repeat(64)), Some("app"));
    /// assert!(long.to_string().starts_with("database:app_t_xxx"));
    /// assert_eq!(long.to_string().len(), "database:".len() + 63);
    /// ```
    pub fn generated(kind: PlacementKind, tenant: &TenantId, prefix: Option<&str>) -> Self {
        match kind {
            PlacementKind::Row => Self::row(),
            PlacementKind::Schema => Self::Schema {
                server: None,
                schema: generated_name(tenant, None),
            },
            PlacementKind::Database => Self::Database {
                server: None,
                database: generated_name(tenant, prefix),
            },
        }
    }

    /// Shared rows on the default server.
    pub fn row() -> Self {
        Self::Row { server: None }
    }

    /// A schema of its own on the default server; the name is checked.
    pub fn schema(name: &str) -> Result<Self, CatalogError> {
        Ok(Self::Schema {
            server: None,
            schema: object_name("schema", name)?,
        })
    }

    /// A database of its own on the default server; the name is checked.
    pub fn database(name: &str) -> Result<Self, CatalogError> {
        Ok(Self::Database {
            server: None,
            database: object_name("database", name)?,
        })
    }

    /// The same placement on `server`.
    pub fn on(mut self, to: ServerName) -> Self {
        match &mut self {
            Self::Row { server } | Self::Schema { server, .. } | Self::Database { server, .. } => {
                *server = Some(to)
            }
        }
        self
    }

    /// The server it names; `None`: the default one.
    pub fn server(&self) -> Option<&ServerName> {
        match self {
            Self::Row { server } | Self::Schema { server, .. } | Self::Database { server, .. } => {
                server.as_ref()
            }
        }
    }

    /// `row`, `schema` or `database`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Row { .. } => "row",
            Self::Schema { .. } => "schema",
            Self::Database { .. } => "database",
        }
    }

    /// Which wall keeps the tenant's rows from others', for people (audits, `tenants show`).
    pub fn isolation(&self) -> &'static str {
        match self {
            Self::Row { .. } => {
                "shared tables: the tenant column on every statement \
                 (and row-level security where it is enabled)"
            }
            Self::Schema { .. } => {
                "its own schema: every table name qualified by it, and the tenant column"
            }
            Self::Database { .. } => "its own database: a pool of its own, and the tenant column",
        }
    }

    /// Whether the tenant shares tables with others.
    pub fn is_row(&self) -> bool {
        matches!(self, Self::Row { .. })
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Row { .. } => f.write_str("row")?,
            Self::Schema { schema, .. } => write!(f, "schema:{schema}")?,
            Self::Database { database, .. } => write!(f, "database:{database}")?,
        }
        match self.server() {
            Some(server) => write!(f, "@{server}"),
            None => Ok(()),
        }
    }
}

impl FromStr for Placement {
    type Err = CatalogError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            CatalogError::Corrupt(format!(
                "placement {s:?} is not row, schema:NAME or database:NAME, \
                 optionally followed by @SERVER"
            ))
        };
        let (place, server) = match s.rsplit_once('@') {
            Some((place, server)) => (place, Some(ServerName::new(server).map_err(|_| bad())?)),
            None => (s, None),
        };
        let placement = match place.split_once(':') {
            None if place == "row" => Self::row(),
            Some(("schema", name)) => Self::schema(name)?,
            Some(("database", name)) => Self::database(name)?,
            _ => return Err(bad()),
        };
        Ok(match server {
            Some(server) => placement.on(server),
            None => placement,
        })
    }
}

impl Serialize for Placement {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Placement {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placements_round_trip_as_text() {
        for text in [
            "row",
            "row@eu-1",
            "schema:t_acme_0123456789ab",
            "schema:_x@main",
            "database:t_globex",
            "database:t_globex@files",
        ] {
            let p: Placement = text.parse().unwrap();
            assert_eq!(p.to_string(), text);
        }
        for bad in [
            "",
            "rows",
            "row@",
            "row@EU",
            "schema:",
            "schema:A",
            "schema:a-b",
            "schema:a.b",
            "schema:1a",
            "database:x y",
            "database:../etc",
            "schema:a@b@c",
            &format!("schema:{}", "a".repeat(64)),
        ] {
            assert!(bad.parse::<Placement>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn generated_names_are_valid_and_apart_for_every_kind_of_id() {
        let ids = [
            "a-b".to_owned(),
            "a_b".to_owned(),
            "a.b".to_owned(),
            "A-B".to_owned(),
            "0199a3b2-7c4e-7d1a-9f00-0123456789ab".to_owned(),
            "x".repeat(64),
            format!("{}y", "x".repeat(63)),
            "9lives".to_owned(),
        ];
        for prefix in [None, Some("app"), Some("9-Main.DB"), Some(&*"p".repeat(80))] {
            for kind in [PlacementKind::Schema, PlacementKind::Database] {
                let names: std::collections::HashSet<String> = ids
                    .iter()
                    .map(|id| {
                        let p = Placement::generated(kind, &TenantId::parse(id).unwrap(), prefix);
                        let text = p.to_string();
                        assert_eq!(text.parse::<Placement>().unwrap(), p, "{text}");
                        let name = text.split_once(':').unwrap().1.to_owned();
                        assert!(is_object_name(&name) && name.len() <= 63, "{name}");
                        name
                    })
                    .collect();
                assert_eq!(names.len(), ids.len(), "{prefix:?} {kind:?}: {names:?}");
            }
        }
        // Stable across runs and machines: the name is a function of the id.
        assert_eq!(
            Placement::generated(
                PlacementKind::Schema,
                &TenantId::parse("globex").unwrap(),
                None
            ),
            Placement::generated(
                PlacementKind::Schema,
                &TenantId::parse("globex").unwrap(),
                None
            ),
        );
        assert_eq!(
            Placement::generated(
                PlacementKind::Row,
                &TenantId::parse("globex").unwrap(),
                None
            ),
            Placement::row()
        );
    }
}

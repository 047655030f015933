//! [`Placement`]: where a tenant's rows live, as the catalog stores it, and [`ServerName`], the
//! configured server it lives on.

use std::{fmt, str::FromStr, sync::Arc};

use serde::{Deserialize, Serialize};

use super::CatalogError;

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

impl Placement {
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
}

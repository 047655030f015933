//! [`ConfigError`]: mistakes in how tenantry is set up, reported when a layer, a resource or a
//! router is built, never at request time.

/// A configuration mistake, found when a resolver, layer, resource or router is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The subdomain resolver's base domain is not a domain name.
    #[error("base domain {0:?} is not a valid domain name")]
    BaseDomain(String),
    /// The path template is unusable.
    #[error("path template {template:?} is invalid: {why}")]
    PathTemplate {
        /// The template given.
        template: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A JWT key could not be read.
    #[error("JWT key is invalid: {0}")]
    JwtKey(String),
    /// A resource definition is unusable (a name that is not an identifier, a column declared
    /// twice, a searchable column that is not text, ...).
    #[error("invalid resource definition: {0}")]
    Resource(String),
    /// A CRUD router's prefix is unusable.
    #[error("CRUD prefix {0:?} must start with '/' and hold no parameters")]
    CrudPrefix(String),
    /// Row-level security was asked of a store that is not on PostgreSQL.
    #[error("row-level security needs PostgreSQL")]
    RowLevelSecurity,
    /// The servers' configuration is unusable (a bad name, a URL of a backend that is not
    /// compiled in, an environment variable that is not set, no default). The message never
    /// holds a URL or a password.
    #[error("servers: {0}")]
    Servers(String),
}

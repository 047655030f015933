//! [`ConfigError`]: mistakes in how tenantry is set up, reported when a layer is built, never at
//! request time.

/// A configuration mistake, found when a resolver or layer is built.
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
}

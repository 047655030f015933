//! [`Ident`]: a SQL identifier that has been checked, the only door for names into SQL.

use std::{fmt, sync::Arc};

/// A table, column or schema name that is safe to put in SQL: 1 to 63 ASCII letters, digits and
/// `_`, not starting with a digit. tenantry quotes it as well, but the check alone already rules
/// out quotes, semicolons, spaces and comments, so a name can never change a statement's shape.
///
/// ```
/// use tenantry::data::Ident;
///
/// assert!(Ident::new("items").is_ok());
/// assert!(Ident::new("tenant_id").is_ok());
/// assert!(Ident::new("items; drop table x").is_err());
/// assert!(Ident::new("\"items\"").is_err());
/// assert!(Ident::new("1items").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ident(Arc<str>);

/// A name that is not a plain SQL identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{shown} is not a plain SQL identifier (1 to 63 letters, digits or '_', not starting with a digit)"
)]
pub struct InvalidIdent {
    shown: String,
}

impl Ident {
    /// Longest identifier accepted (PostgreSQL's limit).
    pub const MAX_LEN: usize = 63;

    /// Checks `name`.
    pub fn new(name: &str) -> Result<Self, InvalidIdent> {
        let ok = !name.is_empty()
            && name.len() <= Self::MAX_LEN
            && !name.as_bytes()[0].is_ascii_digit()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if ok {
            Ok(Self(Arc::from(name)))
        } else {
            // Show the offending name escaped and bounded: it may be hostile.
            let mut shown: String = format!("{name:?}").chars().take(80).collect();
            if name.len() > 60 {
                shown.push('…');
            }
            Err(InvalidIdent { shown })
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as a sea-query identifier (quoted by the query builder).
    pub(crate) fn iden(&self) -> sea_query::Alias {
        sea_query::Alias::new(self.as_str())
    }
}

impl fmt::Debug for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ident({})", self.0)
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Ident {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_identifiers_pass() {
        for ok in ["a", "_x", "Items", "tenant_id", "t1", &"a".repeat(63)] {
            assert!(Ident::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1a",
            "a-b",
            "a b",
            "a;b",
            "a\"b",
            "a'b",
            "a.b",
            "a--",
            "ä",
            "a\0",
            &"a".repeat(64),
            "items; drop table x",
            "items/*",
            "items`",
        ] {
            assert!(Ident::new(bad).is_err(), "{bad}");
        }
        let e = Ident::new("x'; drop table t; --").unwrap_err().to_string();
        assert!(e.starts_with("\"x'; drop"), "{e}");
    }
}

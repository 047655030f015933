//! [`TenantId`], a validated tenant identifier, and the [`TenantIdRule`] that validates it.

use std::{borrow::Borrow, fmt, sync::Arc};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A tenant identifier that has passed validation.
///
/// The standard rule (DESIGN §2): after trimming surrounding white space, 1 to 64 characters of
/// `[A-Za-z0-9._-]`, starting with a letter or a digit. Anything else never reaches a catalog
/// lookup or a query; it is refused with 400 `tenant_invalid`.
///
/// Cloning is cheap (a reference count).
///
/// ```
/// use tenantry::TenantId;
///
/// let id = TenantId::parse("  acme ").unwrap();
/// assert_eq!(id.as_str(), "acme");
/// assert!(TenantId::parse("").is_err());
/// assert!(TenantId::parse("'; drop table items").is_err());
/// assert!(TenantId::parse(&"a".repeat(65)).is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(Arc<str>);

impl TenantId {
    /// Longest id the standard rule accepts.
    pub const MAX_LEN: usize = 64;

    /// Validates `raw` with the standard rule.
    pub fn parse(raw: &str) -> Result<Self, InvalidTenantId> {
        TenantIdRule::standard().parse(raw)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({:?})", &*self.0)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TenantId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for TenantId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for TenantId {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for TenantId {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl std::str::FromStr for TenantId {
    type Err = InvalidTenantId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for TenantId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        TenantId::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Why a string is not a tenant id. The message never repeats the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidTenantId {
    /// Empty, or only white space.
    #[error("tenant id is empty")]
    Empty,
    /// Longer than the rule allows.
    #[error("tenant id is longer than {max} characters")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Contains a character outside `[A-Za-z0-9._-]`, or does not start with a letter or digit.
    #[error("tenant id must be letters, digits, '.', '_' or '-', starting with a letter or digit")]
    BadCharacters,
    /// Several different values were given for one source (for example two `X-Tenant-Id` headers).
    #[error("more than one tenant id was given")]
    Ambiguous,
    /// Refused by an application-supplied rule.
    #[error("tenant id is not allowed: {0}")]
    Custom(&'static str),
}

type CustomCheck = Arc<dyn Fn(&str) -> Result<(), &'static str> + Send + Sync>;

/// The rule a [`TenantId`] must satisfy; the standard one unless the application says otherwise.
///
/// Trimming, non-emptiness and the length limit always apply. [`TenantIdRule::custom`] replaces
/// the character check.
///
/// ```
/// use tenantry::TenantIdRule;
///
/// // Lower-case ids only, at most 32 characters.
/// let rule = TenantIdRule::standard().max_len(32).custom(|id| {
///     if id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
///         Ok(())
///     } else {
///         Err("lower-case letters, digits and '-' only")
///     }
/// });
/// assert!(rule.parse("acme-1").is_ok());
/// assert!(rule.parse("Acme").is_err());
/// ```
#[derive(Clone)]
pub struct TenantIdRule {
    max_len: usize,
    custom: Option<CustomCheck>,
}

impl Default for TenantIdRule {
    fn default() -> Self {
        Self::standard()
    }
}

impl fmt::Debug for TenantIdRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantIdRule")
            .field("max_len", &self.max_len)
            .field("custom", &self.custom.is_some())
            .finish()
    }
}

impl TenantIdRule {
    /// DESIGN §2: 1 to 64 characters of `[A-Za-z0-9._-]`, starting with a letter or digit.
    pub fn standard() -> Self {
        Self {
            max_len: TenantId::MAX_LEN,
            custom: None,
        }
    }

    /// Sets the length limit (in bytes; ids are ASCII under the standard rule).
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len.max(1);
        self
    }

    /// Replaces the character check with `check`.
    pub fn custom<F>(mut self, check: F) -> Self
    where
        F: Fn(&str) -> Result<(), &'static str> + Send + Sync + 'static,
    {
        self.custom = Some(Arc::new(check));
        self
    }

    /// Validates `raw`.
    pub fn parse(&self, raw: &str) -> Result<TenantId, InvalidTenantId> {
        let id = raw.trim();
        if id.is_empty() {
            return Err(InvalidTenantId::Empty);
        }
        if id.len() > self.max_len {
            return Err(InvalidTenantId::TooLong { max: self.max_len });
        }
        match &self.custom {
            Some(check) => check(id).map_err(InvalidTenantId::Custom)?,
            None => standard_chars(id)?,
        }
        Ok(TenantId(Arc::from(id)))
    }
}

fn standard_chars(id: &str) -> Result<(), InvalidTenantId> {
    let bytes = id.as_bytes();
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    if !bytes[0].is_ascii_alphanumeric() || !bytes.iter().all(|&b| allowed(b)) {
        return Err(InvalidTenantId::BadCharacters);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_rule() {
        for ok in ["a", "acme", "ACME-1", "t.1_x", "9lives", &"z".repeat(64)] {
            assert!(TenantId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "   ",
            "-a",
            ".a",
            "_a",
            "a b",
            "a/b",
            "ácme",
            "a;b",
            "a'",
            &"z".repeat(65),
        ] {
            assert!(TenantId::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(TenantId::parse("\t acme \n").unwrap().as_str(), "acme");
    }

    #[test]
    fn serde_validates() {
        let id: TenantId = serde_json::from_str("\"acme\"").unwrap();
        assert_eq!(id, "acme");
        assert!(serde_json::from_str::<TenantId>("\"a b\"").is_err());
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"acme\"");
    }
}

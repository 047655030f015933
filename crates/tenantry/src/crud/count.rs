//! How a list counts its total: PostgREST's `Prefer: count=exact|planned|estimated`, plus
//! `none`, also as the query parameter `count=` (which wins over the header).

use axum::http::{HeaderMap, header::HeaderName};

/// The `Prefer` request header (RFC 7240).
pub(crate) static PREFER: HeaderName = HeaderName::from_static("prefer");
/// The `Preference-Applied` response header (RFC 7240).
pub(crate) static PREFERENCE_APPLIED: HeaderName = HeaderName::from_static("preference-applied");

/// How the total of a list is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Count {
    /// `count(*)` of the matching rows (the default).
    Exact,
    /// The query planner's estimate (exact where the backend has none).
    Planned,
    /// Exact when the planner expects few rows, else the planner's estimate.
    Estimated,
    /// No total.
    None,
}

impl Count {
    /// Every mode's name, as the query parameter and `Prefer` take them.
    pub(crate) const NAMES: [&'static str; 4] = ["exact", "planned", "estimated", "none"];

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "exact" => Self::Exact,
            "planned" => Self::Planned,
            "estimated" => Self::Estimated,
            "none" => Self::None,
            _ => return None,
        })
    }

    /// `count=exact`, as `Preference-Applied` says it.
    pub(crate) fn applied(self) -> &'static str {
        match self {
            Self::Exact => "count=exact",
            Self::Planned => "count=planned",
            Self::Estimated => "count=estimated",
            Self::None => "count=none",
        }
    }

    /// The first `count` preference of the request's `Prefer` headers that names a mode
    /// (RFC 7240: the first instance of a preference counts; one not understood is ignored).
    pub(crate) fn preferred(headers: &HeaderMap) -> Option<Self> {
        headers
            .get_all(&PREFER)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .find_map(|pref| {
                // `count=exact; param=x`: the preference's own value is before any `;`.
                let pref = pref.split(';').next()?.trim();
                let (name, value) = pref.split_once('=')?;
                if !name.trim().eq_ignore_ascii_case("count") {
                    return None;
                }
                Some(Self::parse(value.trim().trim_matches('"')))
            })
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn prefer(values: &[&str]) -> Option<Count> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(&PREFER, HeaderValue::from_str(v).unwrap());
        }
        Count::preferred(&h)
    }

    #[test]
    fn prefer_header() {
        assert_eq!(prefer(&[]), None);
        assert_eq!(prefer(&["count=planned"]), Some(Count::Planned));
        assert_eq!(
            prefer(&["return=minimal, Count = \"none\""]),
            Some(Count::None)
        );
        assert_eq!(
            prefer(&["count=estimated; x=1", "count=exact"]),
            Some(Count::Estimated)
        );
        assert_eq!(
            prefer(&["respond-async", "count=exact"]),
            Some(Count::Exact)
        );
        // The first count preference wins, even when it is not understood.
        assert_eq!(prefer(&["count=many, count=exact"]), None);
        assert_eq!(prefer(&["counting=exact"]), None);
    }
}

//! [`ClientKey`]: who the caller is when no accepted tenant keys the bucket.

use std::{fmt, net::SocketAddr, sync::Arc};

use http::{HeaderName, request::Parts};

use super::LimitConfigError;

/// Longest client identifier kept in a key; longer values are cut (on a character boundary).
const MAX_CLIENT_LEN: usize = 256;

/// How a caller is told apart when the bucket is not keyed by an accepted tenant: sources tried
/// in order, the first that yields a value wins.
///
/// The default is [`peer_ip`](Self::peer_ip). A request for which no source yields a value
/// shares one `anonymous` bucket per layer with every other such request: strict rather than
/// unlimited. With axum, which puts the peer address in its own `ConnectInfo` extension, key by
/// it with [`extension`](Self::extension):
///
/// ```
/// use std::net::SocketAddr;
/// use axum::extract::ConnectInfo;
/// use tenantry::limit::ClientKey;
///
/// let by_api_key_then_peer = ClientKey::header("x-api-key")
///     .or(ClientKey::extension(|c: &ConnectInfo<SocketAddr>| c.0.ip()));
/// # let _ = by_api_key_then_peer;
/// // serve with `app.into_make_service_with_connect_info::<SocketAddr>()`.
/// ```
///
/// **Caveat**: a header is written by the client. Keying by an API-key header before the key is
/// verified lets a client make up new keys, and so new buckets; key by it only behind a layer
/// that rejects unknown keys, or put the peer address first. The value also appears in store
/// keys (Redis key names).
#[derive(Clone)]
pub struct ClientKey {
    sources: Arc<[Source]>,
}

/// A user function from the request head to a client identifier.
type IdentifyFn = Arc<dyn Fn(&Parts) -> Option<String> + Send + Sync>;

#[derive(Clone)]
enum Source {
    PeerIp,
    Header(HeaderName),
    BadHeader(String),
    Fn(IdentifyFn),
}

impl ClientKey {
    fn one(source: Source) -> Self {
        Self {
            sources: Arc::from([source]),
        }
    }

    /// The peer's IP address (not its port), from a [`SocketAddr`] request extension.
    pub fn peer_ip() -> Self {
        Self::one(Source::PeerIp)
    }

    /// The value of header `name` (an API key, a client id). An invalid header name is
    /// reported when the layer is built.
    pub fn header(name: &str) -> Self {
        match HeaderName::try_from(name) {
            Ok(name) => Self::one(Source::Header(name)),
            Err(_) => Self::one(Source::BadHeader(name.to_owned())),
        }
    }

    /// A value computed from request extension `T`, when present.
    pub fn extension<T, K>(f: impl Fn(&T) -> K + Send + Sync + 'static) -> Self
    where
        T: Send + Sync + 'static,
        K: fmt::Display,
    {
        Self::one(Source::Fn(Arc::new(move |parts: &Parts| {
            parts.extensions.get::<T>().map(|t| f(t).to_string())
        })))
    }

    /// Any function of the request head.
    pub fn from_fn(f: impl Fn(&Parts) -> Option<String> + Send + Sync + 'static) -> Self {
        Self::one(Source::Fn(Arc::new(f)))
    }

    /// Tries `next` when these sources yield nothing.
    #[must_use]
    pub fn or(self, next: ClientKey) -> Self {
        Self {
            sources: self
                .sources
                .iter()
                .chain(next.sources.iter())
                .cloned()
                .collect(),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), LimitConfigError> {
        match self.sources.iter().find_map(|s| match s {
            Source::BadHeader(name) => Some(name),
            _ => None,
        }) {
            Some(name) => Err(LimitConfigError::Header(name.clone())),
            None => Ok(()),
        }
    }

    /// The caller's identifier, if a source yields one.
    pub(crate) fn identify(&self, parts: &Parts) -> Option<String> {
        let mut found = self.sources.iter().find_map(|source| match source {
            Source::PeerIp => parts
                .extensions
                .get::<SocketAddr>()
                .map(|a| a.ip().to_string()),
            Source::Header(name) => parts
                .headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .filter(|v| !v.is_empty()),
            Source::BadHeader(_) => None,
            Source::Fn(f) => f(parts),
        })?;
        if found.len() > MAX_CLIENT_LEN {
            let mut end = MAX_CLIENT_LEN;
            while !found.is_char_boundary(end) {
                end -= 1;
            }
            found.truncate(end);
        }
        Some(found)
    }
}

impl Default for ClientKey {
    fn default() -> Self {
        Self::peer_ip()
    }
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for s in self.sources.iter() {
            match s {
                Source::PeerIp => list.entry(&"peer_ip"),
                Source::Header(h) => list.entry(&format_args!("header({h})")),
                Source::BadHeader(h) => list.entry(&format_args!("header({h:?}, invalid)")),
                Source::Fn(_) => list.entry(&"fn"),
            };
        }
        list.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(req: http::request::Builder) -> Parts {
        req.body(())
            .map(|r| r.into_parts().0)
            .unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn sources_are_tried_in_order() {
        let key = ClientKey::header("x-api-key").or(ClientKey::peer_ip());
        let mut p = parts(http::Request::get("/").header("x-api-key", "k1"));
        p.extensions.insert(SocketAddr::from(([10, 0, 0, 1], 5555)));
        assert_eq!(key.identify(&p).as_deref(), Some("k1"));
        p.headers.clear();
        assert_eq!(key.identify(&p).as_deref(), Some("10.0.0.1"));
        p.extensions.clear();
        assert_eq!(key.identify(&p), None);
    }

    #[test]
    fn long_values_are_cut_and_bad_headers_reported() {
        let key = ClientKey::header("x-api-key");
        let p = parts(http::Request::get("/").header("x-api-key", "é".repeat(200)));
        assert!(key.identify(&p).is_some_and(|k| k.len() == 256));
        assert!(ClientKey::header("bad header").validate().is_err());
    }
}

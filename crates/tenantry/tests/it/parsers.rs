//! Properties of the request parsers the fuzz targets (`fuzz/fuzz_targets/`) exercise for
//! hours, here for a few thousand cases on every CI run: the tenant-id rule, the path, subdomain
//! and JWT resolvers, and the CRUD router's query string. Each finding of the fuzzers is a named
//! case below.

use std::{
    future::Future,
    pin::pin,
    task::{Context, Poll, Waker},
};

use proptest::prelude::*;
use serde_json::{Value, json};
use tenantry::{
    TenantId,
    resolve::{
        JwtResolver, PathResolver, Resolution, ResolveCx, SubdomainResolver, TenantResolver,
    },
};

use crate::support::{SECRET, hs256};

fn ready(f: impl Future<Output = Resolution>) -> Resolution {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => r,
        Poll::Pending => panic!("an immediate resolver was pending"),
    }
}

fn head(uri: &str, header: Option<(http::HeaderName, &str)>) -> Option<http::request::Parts> {
    let mut b = http::Request::builder().uri(uri);
    if let Some((name, value)) = header {
        b = b.header(name, http::HeaderValue::from_str(value).ok()?);
    }
    Some(b.body(()).ok()?.into_parts().0)
}

fn host_tenant(host: &str) -> Option<String> {
    let r = SubdomainResolver::new("app.example.com").unwrap();
    let h = head("/", Some((http::header::HOST, host)))?;
    ready(r.resolve(&mut ResolveCx::new(&h))).unwrap()
}

fn standard(raw: &str) -> Option<&str> {
    let id = raw.trim();
    let b = id.as_bytes();
    (!b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-')))
    .then_some(id)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// The id rule is exactly DESIGN §2, and an accepted id parses to itself.
    #[test]
    fn tenant_id_rule(raw in "[ \t]{0,2}[A-Za-z0-9._\\- '%;/á]{0,70}[ \t\n]{0,2}") {
        let got = TenantId::parse(&raw);
        prop_assert_eq!(got.as_ref().ok().map(|t| t.as_str()), standard(&raw));
        if let Ok(id) = got {
            prop_assert_eq!(TenantId::parse(id.as_str()).unwrap(), id);
        }
    }

    /// A host names at most one lower-case host-name label directly under the base domain.
    #[test]
    fn subdomain_names_only_a_label(host in "[ \t]{0,2}[A-Za-z0-9 _.!%-]{0,12}(\\.[Aa]pp\\.example\\.com)?\\.?(:[0-9]{0,5})?[ \t]{0,2}") {
        if let Some(t) = host_tenant(&host) {
            prop_assert!(!t.is_empty() && t != "www");
            prop_assert!(t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'), "{:?} from {:?}", t, host);
            let full = format!("{t}.app.example.com");
            prop_assert!(host.to_ascii_lowercase().contains(&full), "{:?} from {:?}", t, host);
        }
    }

    /// The path resolver names exactly the segment after its prefix and strips only that.
    #[test]
    fn path_names_one_segment(path in "/(tenants/)?[a-z0-9%. _-]{0,8}(/[a-z/]{0,8})?(\\?[a-z=&]{0,6})?") {
        let Some(mut h) = head(&path, None) else { return Ok(()) };
        let r = PathResolver::default();
        let found = ready(r.resolve(&mut ResolveCx::new(&h))).unwrap();
        let before = h.uri.clone();
        r.rewrite(&mut h);
        match found {
            None => prop_assert_eq!(h.uri, before),
            Some(t) => {
                prop_assert!(!t.contains('/'));
                let rest = &before.path()["/tenants/".len() + t.len()..];
                prop_assert_eq!(h.uri.path(), if rest.is_empty() { "/" } else { rest });
                prop_assert_eq!(h.uri.query(), before.query());
            }
        }
    }

    /// A token names a tenant only through a string `tenant_id` claim, never panics whatever
    /// the claims hold, and answers the same from the token cache.
    #[test]
    fn jwt_claims(sub in prop_oneof![Just(json!("u")), Just(json!(1)), Just(Value::Null)],
                  exp in prop_oneof![Just(json!(4102444800u64)), Just(json!(1)), Just(json!(-1)), Just(json!(1e300)), Just(json!("soon")), Just(json!(u64::MAX))],
                  nbf in prop_oneof![Just(None), Just(Some(json!(0))), Just(Some(json!(4102444800u64))), Just(Some(json!(-5))), Just(Some(json!(1.5)))],
                  tenant in prop_oneof![Just(None), Just(Some(json!("acme"))), Just(Some(json!(7))), Just(Some(Value::Null)), Just(Some(json!(["a"])))],
                  tenants in prop_oneof![Just(None), Just(Some(json!(["acme"]))), Just(Some(json!("acme"))), Just(Some(json!([1])))]) {
        let mut claims = json!({"sub": sub, "exp": exp});
        if let Some(v) = nbf { claims["nbf"] = v; }
        if let Some(v) = tenant { claims["tenant_id"] = v; }
        if let Some(v) = tenants { claims["tenants"] = v; }
        let r = JwtResolver::hs256(SECRET);
        let h = head("/", Some((http::header::AUTHORIZATION, &format!("Bearer {}", hs256(&claims))))).unwrap();
        let first = ready(r.resolve(&mut ResolveCx::new(&h)));
        let second = ready(r.resolve(&mut ResolveCx::new(&h)));
        prop_assert_eq!(first.as_ref().ok(), second.as_ref().ok());
        if let Ok(found) = first {
            prop_assert!(claims["sub"].is_string());
            prop_assert!(claims["exp"].as_u64().is_some_and(|e| e >= 4102444800), "expired: {}", claims);
            match found {
                Some(t) => prop_assert_eq!(&claims["tenant_id"], &json!(t)),
                None => prop_assert!(claims["tenant_id"].is_null()),
            }
        }
    }
}

/// Regressions the subdomain fuzzer found: white space around the host became part of the
/// label, and white space inside it was trimmed away by the id rule, so a malformed host named
/// a tenant.
#[test]
fn subdomain_fuzz_findings() {
    assert_eq!(host_tenant("\t!66.app.example.com"), None);
    assert_eq!(host_tenant("!@J  .app.example.com"), None);
    assert_eq!(host_tenant("acme .app.example.com"), None);
    assert_eq!(
        host_tenant(" acme.app.example.com ").as_deref(),
        Some("acme")
    );
    assert_eq!(
        host_tenant("acme.app.example.com\t").as_deref(),
        Some("acme")
    );
}

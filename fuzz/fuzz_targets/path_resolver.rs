//! The path resolver on arbitrary request targets: it never panics; when it names a tenant, that
//! is exactly the segment after the prefix, and the rewritten target is the rest of the path with
//! the query kept; when it names none, the target is left alone.
#![no_main]

use std::{
    future::Future,
    pin::pin,
    task::{Context, Poll, Waker},
};

use libfuzzer_sys::fuzz_target;
use tenantry::resolve::{PathResolver, Resolution, ResolveCx, TenantResolver};

fn ready(f: impl Future<Output = Resolution>) -> Resolution {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => r,
        Poll::Pending => panic!("the path resolver is immediate"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(target) = http::Uri::try_from(data) else {
        return;
    };
    let Ok(req) = http::Request::builder().uri(target.clone()).body(()) else {
        return;
    };
    let (mut head, ()) = req.into_parts();
    for (resolver, prefix) in [
        (PathResolver::default(), "/tenants/"),
        (PathResolver::template("/t/{tenant_id}").unwrap(), "/t/"),
    ] {
        let found = ready(resolver.resolve(&mut ResolveCx::new(&head))).expect("never refuses");
        let path = target.path();
        let mut rewritten = head.clone();
        resolver.rewrite(&mut rewritten);
        match found {
            None => {
                assert!(!path.starts_with(prefix), "{path:?}");
                assert_eq!(rewritten.uri, target);
            }
            Some(tenant) => {
                let after = path
                    .strip_prefix(prefix)
                    .expect("names a tenant only under the prefix");
                assert!(!tenant.contains('/'));
                assert!(after.starts_with(tenant.as_str()));
                let rest = &after[tenant.len()..];
                let rest = if rest.is_empty() { "/" } else { rest };
                assert_eq!(rewritten.uri.path(), rest, "{target:?}");
                assert_eq!(rewritten.uri.query(), target.query());
                // Rewriting twice strips one prefix only.
                let again = ready(resolver.resolve(&mut ResolveCx::new(&rewritten)));
                if !rest.starts_with(prefix) {
                    assert_eq!(again.unwrap(), None);
                }
            }
        }
        head.uri = target.clone();
    }
});

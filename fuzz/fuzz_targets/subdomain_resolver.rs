//! The subdomain resolver on arbitrary `Host` values: it never panics, and a tenant it names is
//! one lower-case host-name label (`[a-z0-9_-]`) that sits directly under the base domain (not
//! `www`), so the host rebuilt from it names the same tenant.
#![no_main]

use std::{
    future::Future,
    pin::pin,
    task::{Context, Poll, Waker},
};

use libfuzzer_sys::fuzz_target;
use tenantry::resolve::{Resolution, ResolveCx, SubdomainResolver, TenantResolver};

fn ready(f: impl Future<Output = Resolution>) -> Resolution {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => r,
        Poll::Pending => panic!("the subdomain resolver is immediate"),
    }
}

fn resolve(r: &SubdomainResolver, host: http::HeaderValue) -> Option<String> {
    let req = http::Request::builder()
        .uri("/")
        .header(http::header::HOST, host)
        .body(())
        .unwrap();
    let (head, ()) = req.into_parts();
    ready(r.resolve(&mut ResolveCx::new(&head))).expect("never refuses")
}

fuzz_target!(|data: &[u8]| {
    let Ok(host) = http::HeaderValue::from_bytes(data) else {
        return;
    };
    let r = SubdomainResolver::new("app.example.com").unwrap();
    let Some(tenant) = resolve(&r, host.clone()) else {
        return;
    };
    assert!(!tenant.is_empty());
    assert!(!tenant.contains('.'), "{tenant:?} from {host:?}");
    assert_ne!(tenant, "www");
    assert_eq!(tenant, tenant.to_ascii_lowercase());
    assert!(
        tenant
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'),
        "{tenant:?} from {host:?}"
    );
    let lower = String::from_utf8_lossy(data).to_ascii_lowercase();
    assert!(
        lower.contains(&format!("{tenant}.app.example.com")),
        "{tenant:?} from {host:?}"
    );
    let rebuilt = http::HeaderValue::from_str(&format!("{tenant}.app.example.com")).unwrap();
    assert_eq!(resolve(&r, rebuilt).as_deref(), Some(tenant.as_str()));
});

//! The JWT resolver on arbitrary `Authorization` values and on arbitrary claims signed with the
//! right key and with a wrong one. It never panics; a token signed with another key is always
//! refused; a tenant is named only by a string `tenant_id` claim of an unexpired token with a
//! string `sub`; asking twice (the second answer may come from the token cache) answers the same.
#![no_main]

use std::{
    future::Future,
    pin::pin,
    task::{Context, Poll, Waker},
    time::{SystemTime, UNIX_EPOCH},
};

use jsonwebtoken::{EncodingKey, Header, encode};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tenantry::resolve::{JwtResolver, Resolution, ResolveCx, TenantResolver};

const SECRET: &[u8] = b"the fuzzing secret, long enough for HS256";

fn ready(f: impl Future<Output = Resolution>) -> Resolution {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => r,
        Poll::Pending => panic!("the JWT resolver is immediate"),
    }
}

fn resolve(r: &JwtResolver, authorization: &http::HeaderValue) -> (Resolution, bool) {
    let req = http::Request::builder()
        .uri("/")
        .header(http::header::AUTHORIZATION, authorization)
        .body(())
        .unwrap();
    let (head, ()) = req.into_parts();
    let mut cx = ResolveCx::new(&head);
    let res = ready(r.resolve(&mut cx));
    (res, cx.principal().is_some())
}

fn same(a: &Resolution, b: &Resolution) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => x == y,
        (Err(x), Err(y)) => x.code() == y.code(),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let resolver = JwtResolver::hs256(SECRET);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    match mode % 3 {
        0 => {
            let Ok(value) = http::HeaderValue::from_bytes(rest) else {
                return;
            };
            let (first, _) = resolve(&resolver, &value);
            let (second, _) = resolve(&resolver, &value);
            assert!(same(&first, &second), "{first:?} then {second:?}");
        }
        signed => {
            let Ok(claims) = serde_json::from_slice::<Value>(rest) else {
                return;
            };
            let key = if signed == 1 {
                SECRET
            } else {
                b"another secret entirely, also long"
            };
            let token =
                encode(&Header::default(), &claims, &EncodingKey::from_secret(key)).unwrap();
            let value = http::HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
            let (first, authenticated) = resolve(&resolver, &value);
            let (second, _) = resolve(&resolver, &value);
            assert!(same(&first, &second), "{first:?} then {second:?}");
            if signed == 2 {
                assert!(first.is_err(), "a token signed with another key: {first:?}");
                return;
            }
            let exp = claims.get("exp").and_then(Value::as_u64);
            if let Ok(found) = &first {
                assert!(authenticated, "a verified token yields a principal");
                assert!(claims.get("sub").is_some_and(Value::is_string));
                assert!(exp.is_some_and(|e| e + 2 > now), "expired: {claims}");
                match found {
                    Some(t) => assert_eq!(claims.get("tenant_id"), Some(&Value::String(t.clone()))),
                    None => assert!(matches!(claims.get("tenant_id"), None | Some(Value::Null))),
                }
            } else if let Some(obj) = claims.as_object() {
                // A plain, valid token is never refused.
                let plain = obj.len() == 3
                    && obj.get("sub").is_some_and(Value::is_string)
                    && exp.is_some_and(|e| e > now + 2)
                    && obj.get("tenant_id").is_some_and(Value::is_string);
                assert!(!plain, "refused a valid token {claims}: {first:?}");
            }
        }
    }
});

//! Keyset cursors: the position of a page's last row (its sort key values and id), signed and
//! bound to the tenant, the resource and the order it was issued for.
//!
//! A cursor is `base64url(version ‖ tenant tag ‖ order tag ‖ values ‖ MAC)`:
//!
//! - the tenant tag is the first 8 bytes of `HMAC(key, "tenant" ‖ tenant)`: it says which tenant
//!   the cursor is for without naming it;
//! - the order tag, of `HMAC(key, "order" ‖ table ‖ sort keys)`: which resource and order;
//! - the values, a JSON array: one per sort key (the order's columns, then the id);
//! - the MAC, the first 16 bytes of `HMAC-SHA256(key, everything before it)`.
//!
//! A cursor whose MAC does not verify (altered, truncated, made up, signed with another key) is
//! refused before anything in it is read; one that verifies but carries another tenant's tag,
//! or another order's, is refused saying so. All are 400 `cursor_invalid`.
//!
//! What a cursor can do even if its key leaked: its values are bound, one per sort key, each
//! checked against its column's type, into one more condition `AND`ed beside the tenant's
//! (`data/table/statements.rs`, `keyset`); the columns and directions come from the request's
//! `order_by`, checked against the resource, never from the cursor. So a cursor only ever
//! narrows a list within the tenant's own rows.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde_json::Value as Json;
use sha2::Sha256;

use crate::{
    TenantId,
    data::{DataError, Order},
};

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
const TAG: usize = 8;
const MAC: usize = 16;
/// The longest cursor read (encoded); longer is refused without decoding.
const MAX_LEN: usize = 8 * 1024;

/// The key that signs cursors (HMAC-SHA256), keyed once: each use clones the keyed state.
#[derive(Clone)]
pub(crate) struct CursorKey {
    mac: HmacSha256,
}

impl fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

/// What a cursor is bound to: the tenant's tag and the order's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scope {
    tenant: [u8; TAG],
    order: [u8; TAG],
}

impl CursorKey {
    /// A key from `secret` (any length; HMAC hashes a long one).
    pub(crate) fn new(secret: &[u8]) -> Self {
        Self {
            mac: HmacSha256::new_from_slice(secret).unwrap_or_else(|_| {
                // HMAC takes keys of any length; this arm is never taken.
                HmacSha256::new_from_slice(&[0; 32]).expect("a 32-byte key")
            }),
        }
    }

    /// A key of 32 random bytes (two version-4 UUIDs: 244 bits from the OS's generator).
    pub(crate) fn random() -> Self {
        let mut secret = [0u8; 32];
        secret[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        secret[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self::new(&secret)
    }

    fn tag(&self, parts: &[&[u8]]) -> [u8; TAG] {
        let mut mac = self.mac.clone();
        for p in parts {
            // Lengths first, so that no two lists of parts hash alike.
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p);
        }
        let out = mac.finalize().into_bytes();
        let mut tag = [0; TAG];
        tag.copy_from_slice(&out[..TAG]);
        tag
    }

    /// The scope of a list of `table` for `tenant`, sorted by `keys`.
    pub(crate) fn scope(&self, table: &str, tenant: &TenantId, keys: &[Order]) -> Scope {
        let order: String = keys
            .iter()
            .map(|k| {
                format!(
                    "{}{},",
                    if k.is_descending() { "-" } else { "+" },
                    k.column()
                )
            })
            .collect();
        Scope {
            tenant: self.tag(&[b"tenant", tenant.as_str().as_bytes()]),
            order: self.tag(&[b"order", table.as_bytes(), order.as_bytes()]),
        }
    }

    /// The cursor of the position `values` (one per sort key) in `scope`.
    pub(crate) fn encode(&self, scope: &Scope, values: &[Json]) -> String {
        let mut raw = Vec::with_capacity(1 + 2 * TAG + 64 + MAC);
        raw.push(VERSION);
        raw.extend_from_slice(&scope.tenant);
        raw.extend_from_slice(&scope.order);
        // Serializing a slice of JSON values cannot fail.
        let _ = serde_json::to_writer(&mut raw, values);
        let mut mac = self.mac.clone();
        mac.update(&raw);
        raw.extend_from_slice(&mac.finalize().into_bytes()[..MAC]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The position a cursor holds, if this key signed it for `scope`.
    pub(crate) fn decode(&self, scope: &Scope, text: &str) -> Result<Vec<Json>, DataError> {
        const NOT_OURS: &str = "it is not a cursor this service issued (or it was altered)";
        if text.len() > MAX_LEN {
            return Err(DataError::InvalidCursor(NOT_OURS));
        }
        let raw = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| DataError::InvalidCursor(NOT_OURS))?;
        if raw.len() < 1 + 2 * TAG + MAC || raw[0] != VERSION {
            return Err(DataError::InvalidCursor(NOT_OURS));
        }
        let (signed, tag) = raw.split_at(raw.len() - MAC);
        let mut mac = self.mac.clone();
        mac.update(signed);
        mac.verify_truncated_left(tag)
            .map_err(|_| DataError::InvalidCursor(NOT_OURS))?;
        if signed[1..1 + TAG] != scope.tenant {
            return Err(DataError::InvalidCursor("it was issued for another tenant"));
        }
        if signed[1 + TAG..1 + 2 * TAG] != scope.order {
            return Err(DataError::InvalidCursor(
                "it was issued for another resource or `order_by`",
            ));
        }
        serde_json::from_slice(&signed[1 + 2 * TAG..])
            .map_err(|_| DataError::InvalidCursor(NOT_OURS))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn scope(key: &CursorKey, tenant: &str, order: &[Order]) -> Scope {
        key.scope("items", &TenantId::parse(tenant).unwrap(), order)
    }

    #[test]
    fn round_trip_and_refusals() {
        let key = CursorKey::new(b"secret");
        let by_id = [Order::asc("id")];
        let acme = scope(&key, "acme", &by_id);
        let values = vec![json!("anvil"), json!(7)];
        let c = key.encode(&acme, &values);
        assert_eq!(key.decode(&acme, &c).unwrap(), values);

        let err = |r: Result<Vec<Json>, DataError>| match r {
            Err(DataError::InvalidCursor(why)) => why,
            other => panic!("{other:?}"),
        };
        assert!(err(key.decode(&scope(&key, "globex", &by_id), &c)).contains("another tenant"));
        let by_name = [Order::desc("name"), Order::asc("id")];
        assert!(err(key.decode(&scope(&key, "acme", &by_name), &c)).contains("order_by"));
        let other = CursorKey::new(b"other");
        assert!(err(other.decode(&scope(&other, "acme", &by_id), &c)).contains("not a cursor"));
        for bad in ["", "x", "!!!!", &"A".repeat(MAX_LEN + 1)] {
            assert!(err(key.decode(&acme, bad)).contains("not a cursor"));
        }
        // Every single-byte change of the decoded cursor is caught.
        let raw = URL_SAFE_NO_PAD.decode(&c).unwrap();
        for i in 0..raw.len() {
            let mut t = raw.clone();
            t[i] ^= 0x01;
            assert!(
                key.decode(&acme, &URL_SAFE_NO_PAD.encode(&t)).is_err(),
                "byte {i}"
            );
        }
    }
}

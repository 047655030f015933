//! The tenant-id rule against a plain restatement of DESIGN §2: after trimming, 1 to 64 bytes of
//! `[A-Za-z0-9._-]`, starting with a letter or a digit. Also: an accepted id parses to itself,
//! survives a JSON round trip, and `max_len` is honoured.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tenantry::{TenantId, TenantIdRule};

fn expected(raw: &str) -> Option<&str> {
    let id = raw.trim();
    let b = id.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
    ok.then_some(id)
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let got = TenantId::parse(raw);
    assert_eq!(
        got.as_ref().ok().map(|t| t.as_str()),
        expected(raw),
        "{raw:?}"
    );
    if let Ok(id) = got {
        assert_eq!(TenantId::parse(id.as_str()).unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<TenantId>(&json).unwrap(), id);
        let short = TenantIdRule::standard().max_len(8).parse(raw);
        assert_eq!(short.is_ok(), id.as_str().len() <= 8);
    } else {
        // The serde path refuses exactly what `parse` refuses.
        let json = serde_json::to_string(raw).unwrap();
        assert!(serde_json::from_str::<TenantId>(&json).is_err());
    }
});

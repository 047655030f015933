//! Lists that do less: keyset pages (`after=`, `next_cursor`) and optional totals (`count=`,
//! `Prefer: count=`), on every backend.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tenantry::data::DataStore;

use super::{Api, problem};

/// A list request with extra headers; the status, the body and `Preference-Applied`.
async fn list(
    api: &Api,
    query: &str,
    tenant: &str,
    prefer: Option<&str>,
) -> (StatusCode, Value, Option<String>) {
    let mut req = api
        .client
        .request(Method::GET, format!("{}?{query}", api.base))
        .header("x-tenant-id", tenant);
    if let Some(p) = prefer {
        req = req.header("prefer", p);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let applied = res
        .headers()
        .get("preference-applied")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body, applied)
}

async fn seed(api: &Api, tenant: &str, n: usize, tag: &str) {
    for i in 0..n {
        // Few distinct prices, so that ordering by price has ties the id must break.
        let (s, b) = api
            .post(
                tenant,
                json!({"name": format!("{tag} {i:03}"), "sku": format!("{tag}-{i}"), "price_cents": (i % 5) * 100}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }
}

/// Walks every page with `after=`, `limit` rows at a time; the ids, in the order returned.
async fn walk(api: &Api, tenant: &str, extra: &str, limit: u32) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    for _ in 0..10_000 {
        let (s, page, _) = list(
            api,
            &format!("limit={limit}&after={cursor}{extra}"),
            tenant,
            None,
        )
        .await;
        assert_eq!(s, 200, "{page}");
        for row in page["items"].as_array().unwrap() {
            assert_eq!(row["tenant_id"], tenant, "another tenant's row: {row}");
            ids.push(row["id"].as_i64().unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return ids,
        }
    }
    panic!("the walk never ended");
}

/// Keyset pages walk every row of the tenant exactly once, in order, while other rows are
/// inserted concurrently (for the tenant and for another), in the id order, a descending
/// order with ties, and with a filter.
async fn keyset_walk(db: DataStore) {
    let api = Api::start(db).await;
    seed(&api, "acme", 60, "a").await;
    seed(&api, "t1", 10, "t").await;
    let before: Vec<i64> = api.ids("acme").await;
    assert_eq!(before.len(), 60);

    for order in [
        "",
        "&order_by=-price_cents,name",
        "&order_by=name,-id",
        "&order_by=-created_at",
    ] {
        let writer = {
            let client = api.client.clone();
            let base = api.base.clone();
            let tag = format!("w{}", order.len());
            tokio::spawn(async move {
                for i in 0..20 {
                    for t in ["acme", "t1"] {
                        let r = client
                            .post(&base)
                            .header("x-tenant-id", t)
                            .json(&json!({"name": format!("{tag} {i:03}"), "sku": format!("{tag}-{t}-{i}"), "price_cents": (i % 5) * 100}))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status(), 201);
                    }
                }
            })
        };
        let ids = walk(&api, "acme", order, 7).await;
        writer.await.unwrap();
        let unique: HashSet<i64> = ids.iter().copied().collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "a row came twice ({order}): {ids:?}"
        );
        for id in &before {
            assert!(unique.contains(id), "row {id} was skipped ({order})");
        }
        // The pages together are the list in one piece, in the same order.
        let (s, all, _) = list(&api, &format!("limit=1000{order}"), "acme", None).await;
        assert_eq!(s, 200);
        let all: Vec<i64> = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        let seen: Vec<i64> = all
            .iter()
            .copied()
            .filter(|id| unique.contains(id))
            .collect();
        assert_eq!(seen, ids, "pages out of order ({order})");
    }

    // With a filter and a search: the walk is the filtered list.
    let (_, all, _) = list(&api, "limit=1000&q=a%2001", "acme", None).await;
    let want: Vec<i64> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert!(want.len() > 5);
    assert_eq!(walk(&api, "acme", "&q=a%2001", 4).await, want);
    // The last page has no cursor; an exact fit has none either.
    let (_, page, _) = list(&api, "limit=1&sku=a-3", "acme", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page.get("next_cursor").is_none(), "{page}");
}

/// A cursor of one tenant is refused for another (400 `cursor_invalid`), and neither tenant's
/// rows change or show; an altered, truncated or made-up cursor, or one of another order, is
/// refused the same way; an empty one is the first page.
async fn cursors_refused(db: DataStore) {
    let api = Api::start(db).await;
    seed(&api, "acme", 5, "a").await;
    seed(&api, "t1", 5, "t").await;
    let acme_before = api.snapshot("acme").await;
    let t1_before = api.snapshot("t1").await;

    let (_, page, _) = list(&api, "limit=2", "acme", None).await;
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let theirs = list(&api, &format!("limit=2&after={cursor}"), "t1", None).await;
    problem(&(theirs.0, theirs.1.clone()), 400, "cursor_invalid");
    assert!(
        theirs.1["detail"]
            .as_str()
            .unwrap()
            .contains("another tenant"),
        "{}",
        theirs.1
    );
    let other_order = list(
        &api,
        &format!("limit=2&after={cursor}&order_by=-id"),
        "acme",
        None,
    )
    .await;
    problem(
        &(other_order.0, other_order.1.clone()),
        400,
        "cursor_invalid",
    );

    let mut flipped = cursor.clone().into_bytes();
    let mid = flipped.len() / 2;
    flipped[mid] = if flipped[mid] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    for bad in [
        flipped.as_str(),
        &cursor[..cursor.len() - 1],
        &cursor[1..],
        "garbage",
        "%00%01",
        "eyJpZCI6MX0",
        &"A".repeat(20_000),
    ] {
        let r = list(&api, &format!("after={bad}"), "acme", None).await;
        problem(&(r.0, r.1), 400, "cursor_invalid");
    }
    // The same cursor still works for its own tenant and order.
    let (s, page, _) = list(&api, &format!("limit=2&after={cursor}"), "acme", None).await;
    assert_eq!(s, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let (s, first, _) = list(&api, "limit=2&after=", "acme", None).await;
    assert_eq!(s, 200);
    assert_eq!(first["items"][0], acme_before["items"][0]);

    assert_eq!(api.snapshot("acme").await, acme_before);
    assert_eq!(api.snapshot("t1").await, t1_before);
}

/// `count=` and `Prefer: count=`: exact by default with no `Preference-Applied`; `none`
/// without a total; `planned` and `estimated` the planner's estimate on PostgreSQL and
/// MariaDB, and the exact count on SQLite, which says `count=exact`.
async fn count_modes(db: DataStore) {
    let backend = db.backend();
    let api = Api::start(db).await;
    seed(&api, "acme", 12, "a").await;
    seed(&api, "t1", 3, "t").await;

    let (s, page, applied) = list(&api, "limit=5", "acme", None).await;
    assert_eq!(
        (s.as_u16(), &page["total"], applied),
        (200, &json!(12), None)
    );

    for (query, prefer) in [
        ("count=none", None),
        ("", Some("count=none")),
        ("count=none", Some("count=exact")),
    ] {
        let (s, page, applied) = list(&api, &format!("limit=5&{query}"), "acme", prefer).await;
        assert_eq!(s, 200);
        assert!(page.get("total").is_none(), "{page}");
        assert_eq!(page["items"].as_array().unwrap().len(), 5);
        assert_eq!(applied.as_deref(), Some("count=none"));
    }
    let (_, page, applied) = list(&api, "", "acme", Some("return=minimal, count=exact")).await;
    assert_eq!(
        (&page["total"], applied.as_deref()),
        (&json!(12), Some("count=exact"))
    );
    // A preference not understood is ignored: the default, and nothing applied.
    let (s, page, applied) = list(&api, "", "acme", Some("count=lots")).await;
    assert_eq!(
        (s.as_u16(), &page["total"], applied),
        (200, &json!(12), None)
    );
    let bad = list(&api, "count=lots", "acme", None).await;
    problem(&(bad.0, bad.1), 422, "validation_failed");

    let estimating = backend != tenantry::data::Backend::Sqlite;
    for mode in ["planned", "estimated"] {
        for (query, prefer) in [
            (format!("count={mode}"), None),
            (String::new(), Some(format!("count={mode}"))),
        ] {
            let (s, page, applied) = list(&api, &query, "acme", prefer.as_deref()).await;
            assert_eq!(s, 200, "{page}");
            let total = page["total"].as_u64().expect("a total");
            if estimating {
                assert_eq!(applied.as_deref(), Some(format!("count={mode}").as_str()));
                if mode == "estimated" {
                    // Few rows: estimated counts them exactly.
                    assert_eq!(total, 12);
                }
            } else {
                assert_eq!((total, applied.as_deref()), (12, Some("count=exact")));
            }
        }
    }
    // The count ignores the cursor: it is the list's total, not what is left of it.
    let (_, page, _) = list(&api, "limit=5", "acme", None).await;
    let next = page["next_cursor"].as_str().unwrap();
    let (_, page, _) = list(&api, &format!("limit=5&after={next}"), "acme", None).await;
    assert_eq!(page["total"], 12);
}

macro_rules! suites {
    ($($suite:ident),* $(,)?) => {$(
        mod $suite {
            crate::data::on_every_backend!(super::$suite);
        }
    )*};
}

suites!(keyset_walk, cursors_refused, count_modes);

//! Every way one tenant might reach another's rows through the scoped service, each refused,
//! with the other tenant's data checked unchanged afterwards.

use serde_json::json;
use tenantry::data::{Column, DataError, DataStore, ListQuery, Order, Page, Resource};

use super::{Fixture, on_every_backend, row};

mod refused {
    use super::*;
    on_every_backend!(super::refused_suite);
}

async fn refused_suite(db: DataStore) {
    let f = Fixture::new(db, "items").await;
    let (acme, globex) = (f.service("acme"), f.service("globex"));
    let mine = f.item("acme", "mine", "M1").await;
    let theirs = f.item("globex", "theirs", "T1").await;
    let snapshot = globex.list(Page::default(), &[]).await.unwrap();

    // svc-infra plants rows in another tenant through the body: refused, nothing written.
    let planted = acme
        .create(row(
            json!({"name": "planted", "sku": "P", "tenant_id": "globex"}),
        ))
        .await;
    assert!(
        matches!(planted, Err(DataError::TenantMismatch { .. })),
        "{planted:?}"
    );
    assert_eq!(
        f.snapshot("globex").await,
        snapshot,
        "globex's rows changed"
    );
    assert_eq!(acme.count().await.unwrap(), 1);
    // The same tenant named explicitly is accepted.
    acme.create(row(
        json!({"name": "explicit", "sku": "E", "tenant_id": "acme"}),
    ))
    .await
    .unwrap();
    // A client cannot choose a generated id.
    let chosen = acme
        .create(row(json!({"name": "x", "sku": "X", "id": theirs})))
        .await;
    assert!(
        matches!(chosen, Err(DataError::Validation(_))),
        "{chosen:?}"
    );

    // svc-infra moves rows between tenants with PATCH: refused, row unchanged.
    let moved = acme.update(mine, row(json!({"tenant_id": "globex"}))).await;
    assert!(
        matches!(moved, Err(DataError::TenantMismatch { .. })),
        "{moved:?}"
    );
    assert_eq!(
        f.snapshot("globex").await,
        snapshot,
        "globex's rows changed"
    );
    let renumbered = acme.update(mine, row(json!({"id": theirs}))).await;
    assert!(
        matches!(&renumbered, Err(DataError::ImmutableField(f)) if f == "id"),
        "{renumbered:?}"
    );
    let backdated = acme
        .update(mine, row(json!({"created_at": "2000-01-01T00:00:00Z"})))
        .await;
    assert!(
        matches!(backdated, Err(DataError::ImmutableField(_))),
        "{backdated:?}"
    );
    // Repeating the current id and tenant is harmless.
    acme.update(
        mine,
        row(json!({"id": mine, "tenant_id": "acme", "name": "mine2"})),
    )
    .await
    .unwrap();
    let after = acme.get(mine).await.unwrap().unwrap();
    assert_eq!(
        (after["tenant_id"].clone(), after["name"].clone()),
        (json!("acme"), json!("mine2"))
    );

    // Another tenant's id: not found on every path, and untouched.
    assert!(acme.get(theirs).await.unwrap().is_none());
    assert!(matches!(
        acme.update(theirs, row(json!({"name": "pwned"}))).await,
        Err(DataError::NotFound)
    ));
    assert_eq!(
        f.snapshot("globex").await,
        snapshot,
        "globex's rows changed"
    );
    assert!(matches!(
        acme.delete(theirs).await,
        Err(DataError::NotFound)
    ));
    assert_eq!(
        f.snapshot("globex").await,
        snapshot,
        "globex's rows changed"
    );
    // Ids that cannot exist are not found either (no type error leaks the id scheme).
    for bogus in ["abc", "1 OR 1=1", "1; DROP TABLE items", ""] {
        assert!(acme.get(bogus).await.unwrap().is_none());
        assert!(matches!(acme.delete(bogus).await, Err(DataError::NotFound)));
    }
    assert_eq!(
        globex.list(Page::default(), &[]).await.unwrap(),
        snapshot,
        "globex's rows changed"
    );

    // Unknown fields are refused, not silently dropped.
    let extra = acme
        .create(row(json!({"name": "x", "sku": "Y", "is_admin": true})))
        .await;
    assert!(matches!(extra, Err(DataError::UnknownField(f)) if f == "is_admin"));
}

mod search_is_literal {
    use super::*;
    on_every_backend!(super::search_suite);
}

async fn search_suite(db: DataStore) {
    let f = Fixture::new(db, "items").await;
    let t = f.service("acme");
    for (i, name) in [
        "100% cotton",
        "snake_case",
        "back\\slash",
        "it's \"quoted\"",
        "plain",
        "a!b",
        "PLAIN caps",
    ]
    .iter()
    .enumerate()
    {
        t.create(row(json!({"name": name, "sku": format!("S{i}")})))
            .await
            .unwrap();
    }
    f.item("other", "100% other", "Z").await;
    let hits = |q: &'static str| {
        let t = t.clone();
        async move {
            let rows = t
                .search(q, Some(&["name"]), Page::default(), &[])
                .await
                .unwrap();
            let n = t.count_search(q, Some(&["name"])).await.unwrap();
            assert_eq!(rows.len() as u64, n, "count_search agrees for {q:?}");
            rows.iter()
                .map(|r| r["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(hits("%").await, ["100% cotton"]);
    assert_eq!(hits("_").await, ["snake_case"]);
    assert_eq!(hits("\\").await, ["back\\slash"]);
    assert_eq!(hits("'").await, ["it's \"quoted\""]);
    assert_eq!(hits("\"").await, ["it's \"quoted\""]);
    assert_eq!(hits("!").await, ["a!b"]);
    assert_eq!(
        hits("plain").await,
        ["plain", "PLAIN caps"],
        "case-insensitive"
    );
    assert_eq!(hits("' OR '1'='1").await, Vec::<String>::new());
    assert_eq!(
        hits("").await.len(),
        7,
        "an empty search matches all of the tenant's rows"
    );
}

mod unknown_and_tenant_columns {
    use super::*;
    on_every_backend!(super::columns_suite);
}

async fn columns_suite(db: DataStore) {
    let f = Fixture::new(db, "items").await;
    let t = f.service("acme");
    f.item("acme", "a", "A").await;
    let bad_query = |r: Result<Vec<tenantry::data::Record>, DataError>, param: &str| match r {
        Err(DataError::InvalidQuery { param: p, .. }) => assert_eq!(p, param),
        other => panic!("expected invalid {param}, got {other:?}"),
    };
    for col in [
        "tenant_id",
        "password",
        "tenant_id; drop table items",
        "name\"",
        "note",
    ] {
        bad_query(
            t.list(Page::default(), &[Order::asc(col)]).await,
            "order_by",
        );
        bad_query(
            t.search("a", Some(&[col]), Page::default(), &[]).await,
            "fields",
        );
        bad_query(t.find(&ListQuery::new().filter(col, "acme")).await, col);
    }
    assert!(t.count_search("a", Some(&["tenant_id"])).await.is_err());
    // The table is still there and intact.
    assert_eq!(t.count().await.unwrap(), 1);
}

#[test]
fn hostile_identifiers_never_build_a_resource() {
    for name in [
        "items; drop table x",
        "it\"ems",
        "it'ems",
        "items--",
        "items/*",
        "",
        "1items",
    ] {
        assert!(
            Resource::builder(name).integer_id("id").build().is_err(),
            "{name}"
        );
        assert!(
            Resource::builder("items").integer_id(name).build().is_err(),
            "{name}"
        );
        assert!(
            Resource::builder("items")
                .integer_id("id")
                .tenant_field(name)
                .build()
                .is_err(),
            "{name}"
        );
        assert!(
            Resource::builder("items")
                .integer_id("id")
                .column(Column::text(name))
                .build()
                .is_err(),
            "{name}"
        );
    }
    // The tenant field can never be searched, sorted or filtered.
    for f in ["searchable", "sortable", "filterable"] {
        let b = Resource::builder("items").integer_id("id");
        let b = match f {
            "searchable" => b.searchable(["tenant_id"]),
            "sortable" => b.sortable(["tenant_id"]),
            _ => b.filterable(["tenant_id"]),
        };
        assert!(b.build().is_err(), "{f}");
    }
}

mod errors_map_to_http {
    use super::*;
    on_every_backend!(super::errors_suite);
}

async fn errors_suite(db: DataStore) {
    let f = Fixture::new(db, "items").await;
    let (acme, globex) = (f.service("acme"), f.service("globex"));
    acme.create(row(json!({"name": "a", "sku": "SKU-1"})))
        .await
        .unwrap();
    // The same sku in another tenant is fine...
    globex
        .create(row(json!({"name": "b", "sku": "SKU-1"})))
        .await
        .unwrap();
    // ...but not twice in one tenant: 409, and the message says nothing about the database.
    let dup = acme
        .create(row(json!({"name": "c", "sku": "SKU-1"})))
        .await
        .unwrap_err();
    assert!(matches!(dup, DataError::Conflict(_)), "{dup:?}");
    assert_eq!(
        (dup.status().as_u16(), dup.code().as_str()),
        (409, "conflict")
    );
    assert!(!dup.to_string().to_lowercase().contains("index"), "{dup}");
    // Also through update.
    let b = acme
        .create(row(json!({"name": "d", "sku": "SKU-2"})))
        .await
        .unwrap();
    let dup = acme
        .update(b["id"].as_i64().unwrap(), row(json!({"sku": "SKU-1"})))
        .await
        .unwrap_err();
    assert!(matches!(dup, DataError::Conflict(_)), "{dup:?}");
    // A required column missing, null, or of the wrong type: 422.
    for bad in [
        json!({"sku": "S"}),
        json!({"name": null, "sku": "S"}),
        json!({"name": "x", "sku": "S", "price_cents": "ten"}),
        json!({"name": "x", "sku": "S", "price_cents": 1.5}),
        json!({"name": 7, "sku": "S"}),
    ] {
        let e = acme.create(row(bad.clone())).await.unwrap_err();
        assert_eq!(
            (e.status().as_u16(), e.code().as_str()),
            (422, "validation_failed"),
            "{bad}: {e:?}"
        );
    }
    // Nullable columns take null.
    let n = acme
        .create(row(json!({"name": "n", "sku": "N", "note": null})))
        .await
        .unwrap();
    assert!(n["note"].is_null());
    let page = Page::new(0, 0).unwrap_err();
    assert_eq!(
        (page.status().as_u16(), page.code().as_str()),
        (422, "validation_failed")
    );
}

#[cfg(feature = "postgres")]
mod database_down {
    use super::*;
    #[tokio::test]
    async fn an_unreachable_database_is_unavailable() {
        let e = DataStore::connect("postgres://nobody@127.0.0.1:1/x")
            .await
            .unwrap_err();
        assert!(matches!(e, DataError::Unavailable(_)), "{e:?}");
        assert_eq!(
            (e.status().as_u16(), e.code().as_str()),
            (503, "unavailable")
        );
    }
}

//! The CRUD router's query string (paging, ordering, search, filters) and item ids, through the
//! whole router on SQLite: every answer is a 200 page of the caller's own rows or a 4xx
//! problem+json, never a 5xx or a dropped connection (a panic), whatever the parameters.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use tenantry::{
    TenancyLayer, TenantId,
    crud::Crud,
    data::{Column, DataStore, Resource, TenantTable},
};
use tower::{Layer, ServiceExt, util::BoxCloneSyncService};

type App = BoxCloneSyncService<http::Request<Body>, http::Response<Body>, std::convert::Infallible>;

struct Setup {
    rt: tokio::runtime::Runtime,
    app: App,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let app = rt.block_on(async {
            let db = DataStore::connect("sqlite::memory:").await.unwrap();
            let items = Resource::builder("items")
                .integer_id("id")
                .column(Column::text("name"))
                .column(Column::text("sku"))
                .column(Column::integer("price_cents").with_default())
                .column(Column::timestamp("created_at").with_default())
                .searchable(["name", "sku"])
                .sortable(["id", "name", "price_cents", "created_at"])
                .filterable(["sku", "price_cents"])
                .build()
                .unwrap();
            db.create_table(&items).await.unwrap();
            for (tenant, n) in [("acme", 5), ("globex", 3)] {
                let t = TenantTable::new(db.clone(), items.clone(), TenantId::parse(tenant).unwrap());
                for i in 0..n {
                    let row = json!({"name": format!("{tenant} {i}%_"), "sku": format!("S{i}"), "price_cents": i * 100});
                    t.create(row.as_object().cloned().unwrap()).await.unwrap();
                }
            }
            let router = Crud::new(db, items).at("/items").unwrap().router();
            BoxCloneSyncService::new(TenancyLayer::stub().layer(router))
        });
        Setup { rt, app }
    })
}

/// `raw` as a request target suffix: bytes a URI cannot hold are percent-encoded.
fn target(raw: &[u8]) -> String {
    let mut s = String::new();
    for &b in raw {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let uri = match mode % 2 {
        0 => format!("/items?{}", target(rest)),
        _ => format!("/items/{}", target(rest).replace(['/', '?'], "%2F")),
    };
    let Ok(req) = http::Request::builder()
        .uri(&uri)
        .header("x-tenant-id", "acme")
        .body(Body::empty())
    else {
        return;
    };
    let s = setup();
    let (status, content_type, body) = s.rt.block_on(async {
        let res = s.app.clone().oneshot(req).await.unwrap();
        let ct = res
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 1 << 24)
            .await
            .unwrap();
        (status, ct, body)
    });
    let body: Value =
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{uri}: {status} {e}"));
    if status.is_success() {
        assert_eq!(status, 200, "{uri}");
        // `/items/` (no id) is the list too.
        let rows = if body.get("items").is_some() {
            let limit = body["limit"].as_u64().expect("limit");
            let items = body["items"].as_array().expect("items");
            assert!(items.len() as u64 <= limit);
            items.clone()
        } else {
            vec![body]
        };
        for row in rows {
            assert_eq!(
                row["tenant_id"], "acme",
                "{uri} answered another tenant's row"
            );
        }
    } else {
        assert!(status.is_client_error(), "{uri}: {status} {body}");
        assert_eq!(
            content_type.as_deref(),
            Some("application/problem+json"),
            "{uri}"
        );
        assert!(body["code"].is_string(), "{uri}: {body}");
        assert_eq!(body["status"], status.as_u16(), "{uri}");
    }
});

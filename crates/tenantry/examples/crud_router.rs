//! The CRUD router: a table declared once becomes five tenant-scoped REST routes. Serves on
//! 127.0.0.1:3000 with `serve`; without it, makes a few requests and prints the answers.
//!
//!     cargo run -p tenantry --example crud_router --features sqlite,crud
//!     cargo run -p tenantry --example crud_router --features sqlite,crud -- serve
//!     curl -s -H 'X-Tenant-Id: acme' -H 'Content-Type: application/json' \
//!          -d '{"name":"Anvil","price_cents":1999}' http://127.0.0.1:3000/api/items

use axum::body::Body;
use tenantry::{
    TenancyLayer,
    crud::Crud,
    data::{Column, DataStore, Resource},
};
use tower::{Layer, ServiceExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = DataStore::connect("sqlite::memory:").await?;
    let items = Resource::builder("items")
        .integer_id("id")
        .column(Column::text("name"))
        .column(Column::integer("price_cents").with_default())
        .searchable(["name"])
        .sortable(["id", "name", "price_cents"])
        .build()?;
    db.create_table(&items).await?;
    let router = Crud::new(db, items).at("/api/items")?.router();
    // The stub trusts X-Tenant-Id alone: for examples and tests. A service uses
    // TenancyLayer::builder() with a JWT resolver and a catalog.
    let app = TenancyLayer::stub().layer(router);

    if std::env::args().nth(1).as_deref() == Some("serve") {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
        println!("listening on http://127.0.0.1:3000/api/items");
        axum::serve(
            listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service(app),
        )
        .await?;
        return Ok(());
    }
    let requests = [
        (
            "POST",
            "/api/items",
            "acme",
            r#"{"name":"Anvil","price_cents":1999}"#,
        ),
        (
            "POST",
            "/api/items",
            "acme",
            r#"{"name":"Rocket skates","price_cents":4999}"#,
        ),
        ("GET", "/api/items?order_by=-price_cents", "acme", ""),
        ("GET", "/api/items/1", "globex", ""),
        ("PATCH", "/api/items/1", "acme", r#"{"price_cents":1799}"#),
        ("DELETE", "/api/items/2", "acme", ""),
        ("GET", "/api/items", "acme", ""),
    ];
    for (method, path, tenant, body) in requests {
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("x-tenant-id", tenant)
            .header("content-type", "application/json")
            .body(Body::from(body))?;
        let res = app.clone().oneshot(req).await?;
        let status = res.status();
        let text = axum::body::to_bytes(res.into_body(), 1 << 20).await?;
        println!(
            "{method} {path} as {tenant}: {status} {}",
            String::from_utf8_lossy(&text)
        );
    }
    Ok(())
}

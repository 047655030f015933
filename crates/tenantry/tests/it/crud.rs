//! The CRUD router over real HTTP, against a real server and database, on every backend:
//! svc-infra's own cases, ported, and each case svc-infra gets wrong, with our answer.

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use tenantry::{
    TenancyLayer, TenantId,
    catalog::{Catalog, MemoryCatalog, Placement, PlacementKind, TenantRecord},
    crud::Crud,
    data::{DataStore, Registry, Servers, TenantSetup},
    resolve::{HeaderResolver, JwtResolver, PathResolver},
};
use tower::Layer;

mod lists;

#[cfg(feature = "sqlite")]
use crate::support::{claims, hs256};
use crate::{data::items, support::SECRET};

/// A server on a free port: tenancy (JWT + header + path) around the items router.
struct Api {
    base: String,
    client: Client,
    db: DataStore,
}

impl Api {
    async fn start(db: DataStore) -> Self {
        let resource = items("items");
        db.create_table(&resource).await.unwrap();
        // Placed tenants: the registry's catalog says where; otherwise all in shared rows.
        let router = Crud::new(db.clone(), resource)
            .at("/api/items")
            .unwrap()
            .router()
            .fallback(tenantry::problem::not_found);
        let catalog = match db.registry() {
            Some(registry) => registry.catalog().clone(),
            None => Catalog::new(MemoryCatalog::with_active(
                TENANTS.map(|t| TenantId::parse(t).unwrap()),
            )),
        };
        let app = TenancyLayer::builder()
            .resolver(JwtResolver::hs256(SECRET))
            .resolver(HeaderResolver::x_tenant_id())
            .resolver(PathResolver::default())
            .catalog(catalog)
            .trusted_gateway(true) // svc-infra's soft tenancy, so its cases port as they are
            .build()
            .layer(router);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, axum::Router::new().fallback_service(app)).await
        });
        Self {
            base: format!("http://{addr}/api/items"),
            client: Client::new(),
            db,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        tenant: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = tenant {
            req = req.header("x-tenant-id", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(
            !text.to_lowercase().contains("select ") && !text.contains("INSERT"),
            "SQL leaked: {text}"
        );
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, t: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(t), None).await
    }

    async fn post(&self, t: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, "", Some(t), Some(body)).await
    }

    /// Every row `owner` holds, read through `owner` (by header), in id order: a refused
    /// cross-tenant attempt must leave it exactly as it was, not only answer a refusal.
    async fn snapshot(&self, owner: &str) -> Value {
        let (s, page) = self.get("?limit=1000&order_by=id", owner).await;
        assert_eq!(s, 200, "{page}");
        page
    }

    /// [`snapshot`](Self::snapshot) through the owner's bearer token.
    async fn snapshot_by_token(&self, token: &str) -> Value {
        let req = self
            .client
            .get(format!("{}?limit=1000&order_by=id", self.base))
            .bearer_auth(token);
        let (s, page) = self.send(req).await;
        assert_eq!(s, 200, "{page}");
        page
    }

    async fn ids(&self, t: &str) -> Vec<i64> {
        let (s, page) = self.get("?limit=1000", t).await;
        assert_eq!(s, 200, "{page}");
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect()
    }
}

#[track_caller]
fn problem(r: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(
        (r.0.as_u16(), r.1["code"].as_str()),
        (status, Some(code)),
        "{}",
        r.1
    );
}

/// The tenants every suite uses.
const TENANTS: [&str; 3] = ["t1", "t2", "acme"];

/// A store on a fresh database of `backend` where `t1` keeps shared rows and `t2` and `acme`
/// are placed at `kind` (their schema or database made, with the items table): the router
/// serves both side by side, the suites unchanged.
async fn placed(backend: &str, kind: PlacementKind) -> DataStore {
    let url = match backend {
        #[cfg(feature = "sqlite")]
        "sqlite" => crate::db::sqlite_url().await,
        #[cfg(feature = "postgres")]
        "postgres" => crate::db::postgres_url().await,
        #[cfg(feature = "mysql")]
        "mysql" => crate::db::mysql_url().await,
        other => panic!("backend {other} is not compiled in (enable its feature)"),
    };
    // Databases carry the test database's name in front, so the test sweep finds them.
    let own = url
        .rsplit_once('/')
        .map(|(_, db)| db.split('?').next().unwrap_or(db).trim_end_matches(".db"))
        .filter(|_| backend != "sqlite");
    let mut catalog = MemoryCatalog::new();
    let mut placements = Vec::new();
    for t in TENANTS {
        let id = TenantId::parse(t).unwrap();
        let placement = if t == "t1" {
            Placement::row()
        } else {
            Placement::generated(kind, &id, own)
        };
        placements.push(placement.clone());
        catalog = catalog.with(TenantRecord::new(id, t).with_placement(placement));
    }
    let registry = Registry::connect(Servers::single(url).unwrap(), Catalog::new(catalog))
        .await
        .unwrap();
    for placement in &placements {
        registry
            .provision(placement, &TenantSetup::tables([items("items")]))
            .await
            .unwrap();
    }
    registry.store()
}

/// Each suite on every backend, in every placement the backend offers: shared rows (`sqlite`,
/// `postgres`, `mysql`), and tenants in their own database (`*_database`) or schema
/// (`postgres_schema`) beside a shared-rows tenant.
macro_rules! router_suite {
    ($($suite:ident),* $(,)?) => {$(
        mod $suite {
            crate::data::on_every_backend!(super::$suite);

            #[cfg(feature = "sqlite")]
            #[tokio::test]
            async fn sqlite_database() {
                super::$suite(super::placed("sqlite", super::PlacementKind::Database).await).await
            }
            #[cfg(feature = "postgres")]
            #[tokio::test]
            async fn postgres_schema() {
                super::$suite(super::placed("postgres", super::PlacementKind::Schema).await).await
            }
            #[cfg(feature = "postgres")]
            #[tokio::test]
            async fn postgres_database() {
                super::$suite(super::placed("postgres", super::PlacementKind::Database).await)
                    .await
            }
            #[cfg(feature = "mysql")]
            #[tokio::test]
            async fn mysql_database() {
                super::$suite(super::placed("mysql", super::PlacementKind::Database).await).await
            }
        }
    )*};
}

router_suite!(
    svc_infra_cases,
    svc_infra_gets_wrong,
    contract,
    rejects_bad_input,
    refuses_in_problem_json,
);

async fn svc_infra_cases(db: DataStore) {
    let api = Api::start(db).await;
    // Create injects the tenant; another tenant's list is empty.
    let (s, a) = api.post("t1", json!({"name": "alpha", "sku": "A"})).await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(a["tenant_id"], "t1");
    let (_, page) = api.get("", "t2").await;
    assert_eq!(
        page,
        json!({"total": 0, "items": [], "limit": 50, "offset": 0})
    );
    let id = a["id"].as_i64().unwrap();
    // Cross-tenant GET, PATCH, DELETE: 404, and the row, read back through its owner, exactly
    // as it was (a hijack that wrote the row and still answered 404 must fail here); the
    // owner's PATCH 200 and DELETE 204.
    let before = api.snapshot("t1").await;
    let (s, row_before) = api.get(&format!("/{id}"), "t1").await;
    assert_eq!(s, 200);
    problem(&api.get(&format!("/{id}"), "t2").await, 404, "not_found");
    assert_eq!(api.snapshot("t1").await, before);
    problem(
        &api.call(
            Method::PATCH,
            &format!("/{id}"),
            Some("t2"),
            Some(json!({"name": "hijack", "sku": "H", "price_cents": 1})),
        )
        .await,
        404,
        "not_found",
    );
    assert_eq!(api.snapshot("t1").await, before);
    assert_eq!(
        api.get(&format!("/{id}"), "t1").await,
        (s, row_before.clone())
    );
    problem(
        &api.call(Method::DELETE, &format!("/{id}"), Some("t2"), None)
            .await,
        404,
        "not_found",
    );
    assert_eq!(api.snapshot("t1").await, before);
    assert_eq!(api.get(&format!("/{id}"), "t1").await, (s, row_before));
    // The same sku in t2 is no conflict (and so says nothing about t1's skus).
    assert_eq!(
        api.post("t2", json!({"name": "alpha", "sku": "A"})).await.0,
        201
    );
    assert_eq!(api.snapshot("t1").await, before);
    let (s, row) = api
        .call(
            Method::PATCH,
            &format!("/{id}"),
            Some("t1"),
            Some(json!({"name": "alpha2"})),
        )
        .await;
    assert_eq!((s.as_u16(), row["name"].clone()), (200, json!("alpha2")));
    let (s, _) = api
        .call(Method::DELETE, &format!("/{id}"), Some("t1"), None)
        .await;
    assert_eq!(s, 204);
    // The per-tenant list holds only that tenant's ids.
    let mut mine = Vec::new();
    for (t, n) in [("t1", "a"), ("t2", "b"), ("t1", "c"), ("t2", "d")] {
        let (_, r) = api.post(t, json!({"name": n, "sku": n})).await;
        if t == "t1" {
            mine.push(r["id"].as_i64().unwrap());
        }
    }
    assert_eq!(api.ids("t1").await, mine);
}

async fn svc_infra_gets_wrong(db: DataStore) {
    let api = Api::start(db).await;
    let (_, theirs) = api.post("t2", json!({"name": "theirs", "sku": "T"})).await;
    let before = api.get("", "t2").await;
    // A body naming another tenant: 403, nothing written anywhere.
    problem(
        &api.post(
            "t1",
            json!({"name": "planted", "sku": "P", "tenant_id": "t2"}),
        )
        .await,
        403,
        "tenant_mismatch",
    );
    assert_eq!(api.get("", "t2").await, before);
    assert!(api.ids("t1").await.is_empty());
    // PATCH moving a row to another tenant: refused, the row still the owner's.
    let (_, mine) = api.post("t1", json!({"name": "mine", "sku": "M"})).await;
    let id = mine["id"].as_i64().unwrap();
    let mine_before = api.snapshot("t1").await;
    let theirs_before = api.snapshot("t2").await;
    problem(
        &api.call(
            Method::PATCH,
            &format!("/{id}"),
            Some("t1"),
            Some(json!({"tenant_id": "t2"})),
        )
        .await,
        403,
        "tenant_mismatch",
    );
    problem(
        &api.call(
            Method::PATCH,
            &format!("/{id}"),
            Some("t1"),
            Some(json!({"id": id + 1000})),
        )
        .await,
        422,
        "validation_failed",
    );
    assert_eq!(api.get(&format!("/{id}"), "t1").await.1["tenant_id"], "t1");
    assert_eq!(api.snapshot("t1").await, mine_before);
    assert_eq!(api.snapshot("t2").await, theirs_before);
    assert_eq!(api.ids("t2").await, [theirs["id"].as_i64().unwrap()]);
    // Query parameters never switch the tenant: they are refused.
    for q in ["?tenant_header=t2", "?tenant_id=t2"] {
        let r = api.get(q, "t1").await;
        assert_eq!(api.snapshot("t2").await, theirs_before);
        problem(&r, 422, "validation_failed");
        assert!(
            r.1["detail"]
                .as_str()
                .unwrap()
                .contains(&q[1..q.find('=').unwrap()]),
            "{}",
            r.1
        );
    }
    problem(
        &api.call(Method::GET, "?tenant_id=t2", None, None).await,
        401,
        "tenant_context_missing",
    );
    // LIKE wildcards match themselves.
    api.post("t1", json!({"name": "100% wool", "sku": "W"}))
        .await;
    api.post("t1", json!({"name": "under_score", "sku": "U"}))
        .await;
    let names = |r: (StatusCode, Value)| -> Vec<String> {
        r.1["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(api.get("?q=%25", "t1").await), ["100% wool"]);
    assert_eq!(names(api.get("?q=_", "t1").await), ["under_score"]);
    // Sorting only on declared columns.
    for q in [
        "?order_by=password",
        "?order_by=tenant_id;%20drop%20table%20items",
        "?order_by=tenant_id",
    ] {
        problem(&api.get(q, "t1").await, 422, "validation_failed");
    }
    assert_eq!(api.ids("t1").await.len(), 3, "the table is still there");
    // Page bounds.
    // Offsets past i64::MAX once panicked inside the SQL binder and dropped the connection
    // (issue 11, item 2): every numeric parameter is range-checked and answers 422.
    let (status, far) = api.get("?offset=9223372036854775807", "t1").await;
    assert_eq!((status.as_u16(), far["items"].clone()), (200, json!([])));
    for q in [
        "?limit=0",
        "?limit=1001",
        "?offset=-1",
        "?limit=abc",
        "?offset=9223372036854775808",
        "?offset=18446744073709551615",
        "?offset=18446744073709551616",
        "?limit=4294967297",
    ] {
        let r = api.get(q, "t1").await;
        problem(&r, 422, "validation_failed");
        let param = &q[1..q.find('=').unwrap()];
        assert!(
            r.1["detail"].as_str().unwrap().contains(param),
            "{} should name {param}",
            r.1
        );
    }
}

async fn contract(db: DataStore) {
    let api = Api::start(db).await;
    // 201 with Location, trailing slashes tolerated, the path form works too.
    let res = api
        .client
        .post(format!("{}/", api.base))
        .header("x-tenant-id", "acme")
        .json(&json!({"name": "anvil", "sku": "A1", "price_cents": 1999}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let row: Value = res.json().await.unwrap();
    assert_eq!(location, format!("/api/items/{}", row["id"]));
    let (s, got) = api.get(&format!("/{}/", row["id"]), "acme").await;
    assert_eq!((s.as_u16(), got.clone()), (200, row.clone()));
    let path_form = api.base.replace(
        "/api/items",
        &format!("/tenants/acme/api/items/{}", row["id"]),
    );
    let via_path: Value = api
        .client
        .get(path_form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(via_path, row);
    // {} PATCH is a no-op 200.
    let (s, same) = api
        .call(
            Method::PATCH,
            &format!("/{}", row["id"]),
            Some("acme"),
            Some(json!({})),
        )
        .await;
    assert_eq!((s.as_u16(), same), (200, row.clone()));
    // Listing: order, search with fields, filters, pages, totals.
    for (n, sku, p) in [
        ("bolt", "B1", 5),
        ("crate", "C1", 700),
        ("dynamite", "D1", 50),
    ] {
        api.post("acme", json!({"name": n, "sku": sku, "price_cents": p}))
            .await;
    }
    let (_, page) = api
        .get("?order_by=-price_cents&limit=2&offset=1", "acme")
        .await;
    assert_eq!(
        (
            page["total"].clone(),
            page["limit"].clone(),
            page["offset"].clone()
        ),
        (json!(4), json!(2), json!(1))
    );
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["crate", "dynamite"]);
    let (_, page) = api.get("?q=1&fields=sku", "acme").await;
    assert_eq!(page["total"], 4);
    let (_, page) = api.get("?q=1&fields=name", "acme").await;
    assert_eq!(page["total"], 0);
    let (_, page) = api.get("?sku=C1", "acme").await;
    assert_eq!(
        (page["total"].clone(), page["items"][0]["name"].clone()),
        (json!(1), json!("crate"))
    );
    // Duplicate sku within the tenant: 409; in another tenant: fine.
    problem(
        &api.post("acme", json!({"name": "again", "sku": "A1"}))
            .await,
        409,
        "conflict",
    );
    assert_eq!(
        api.post("t1", json!({"name": "again", "sku": "A1"}))
            .await
            .0,
        201
    );
    // No tenant: 401 before anything runs.
    problem(
        &api.call(
            Method::POST,
            "",
            None,
            Some(json!({"name": "x", "sku": "X"})),
        )
        .await,
        401,
        "tenant_context_missing",
    );
}

async fn rejects_bad_input(db: DataStore) {
    let api = Api::start(db).await;
    let raw = |body: &'static str, ct: &'static str| {
        api.client
            .post(&api.base)
            .header("x-tenant-id", "acme")
            .header("content-type", ct)
            .body(body)
            .send()
    };
    assert_eq!(
        raw("{\"name\":", "application/json")
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        raw("not json", "application/json").await.unwrap().status(),
        400
    );
    assert_eq!(
        raw("{\"name\":\"x\",\"sku\":\"s\"}", "text/plain")
            .await
            .unwrap()
            .status(),
        415
    );
    for bad in [
        json!([1, 2]),
        json!("x"),
        json!({"name": 5, "sku": "S"}),
        json!({"sku": "S"}),
        json!({"name": "x", "sku": "S", "price_cents": "free"}),
        json!({"name": "x", "sku": "S", "is_admin": true}),
        json!({"name": null, "sku": "S"}),
        json!({"name": "x", "sku": "S", "id": 7}),
    ] {
        problem(&api.post("acme", bad).await, 422, "validation_failed");
    }
    assert_eq!(api.ids("acme").await.len(), 0, "nothing was written");
    for q in [
        "?bogus=1",
        "?q=a&fields=tenant_id",
        "?q=a&fields=password",
        "?fields=password",
        "?fields=name,",
        "?order_by=name,",
        "?limit=5&limit=6",
        "?sku=a&sku=b",
    ] {
        problem(&api.get(q, "acme").await, 422, "validation_failed");
    }
    // What the OpenAPI document allows is accepted: `fields` without `q` (it changes
    // nothing), an empty `order_by` (the default order).
    for q in [
        "?fields=name",
        "?fields=name,sku",
        "?order_by=",
        "?order_by=&q=",
    ] {
        let (s, page) = api.get(q, "acme").await;
        assert_eq!(s, 200, "{q}: {page}");
    }
    problem(&api.get("/not-a-number", "acme").await, 404, "not_found");
    // A database that is down is 503, never 500.
    close(&api.db).await;
    problem(&api.get("", "acme").await, 503, "unavailable");
    problem(
        &api.post("acme", json!({"name": "x", "sku": "S"})).await,
        503,
        "unavailable",
    );
}

/// Every refusal, also those axum would answer in plain text or with an empty body, is
/// problem+json naming the request's path; and what the document calls an integer is one.
async fn refuses_in_problem_json(db: DataStore) {
    let api = Api::start(db).await;
    let send = |method: Method, path: &str| {
        api.client
            .request(method, format!("{}{path}", api.base))
            .header("x-tenant-id", "acme")
    };
    #[track_caller]
    fn is_problem(status: u16, code: &str, instance: &str, text: &str) {
        let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        assert_eq!(body["status"], status, "{text}");
        assert_eq!(body["code"], code, "{text}");
        assert_eq!(body["type"], "about:blank", "{text}");
        assert_eq!(body["instance"], instance, "{text}");
    }
    async fn check(
        req: reqwest::RequestBuilder,
        status: u16,
        code: &str,
        instance: &str,
    ) -> reqwest::header::HeaderMap {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let headers = res.headers().clone();
        is_problem(status, code, instance, &res.text().await.unwrap());
        headers
    }

    // Methods a path does not take: 405 with `Allow`.
    let h = check(
        send(Method::PUT, ""),
        405,
        "method_not_allowed",
        "/api/items",
    )
    .await;
    assert_eq!(h["allow"], "GET,HEAD,POST");
    let h = check(
        send(Method::POST, "/7"),
        405,
        "method_not_allowed",
        "/api/items/7",
    )
    .await;
    assert_eq!(h["allow"], "GET,HEAD,PATCH,DELETE");
    // A path no route takes: the application's fallback.
    check(
        send(Method::GET, "/7/nested"),
        404,
        "not_found",
        "/api/items/7/nested",
    )
    .await;
    // A body past axum's limit (2 MiB), and the usual body refusals, with the path.
    let big = format!("{{\"name\":\"{}\",\"sku\":\"B\"}}", "x".repeat(3 << 20));
    let req = send(Method::POST, "")
        .header("content-type", "application/json")
        .body(big);
    check(req, 413, "payload_too_large", "/api/items").await;
    let req = send(Method::POST, "")
        .header("content-type", "text/plain")
        .body("{}");
    check(req, 415, "unsupported_media_type", "/api/items").await;
    let req = send(Method::PATCH, "/1")
        .header("content-type", "application/json")
        .body("{");
    check(req, 400, "invalid_json", "/api/items/1").await;
    check(
        send(Method::GET, "/999"),
        404,
        "not_found",
        "/api/items/999",
    )
    .await;
    // A path segment that is not UTF-8 names no row.
    check(
        send(Method::DELETE, "/%FF"),
        404,
        "not_found",
        "/api/items/%FF",
    )
    .await;
    check(
        send(Method::GET, "?limit=0"),
        422,
        "validation_failed",
        "/api/items",
    )
    .await;
    assert_eq!(api.ids("acme").await.len(), 0, "nothing was written");

    // JSON Schema counts 662.0 as an integer, so the server does too (up to 2^53).
    let (s, row) = api
        .post(
            "acme",
            json!({"name": "n", "sku": "F", "price_cents": 662.0}),
        )
        .await;
    assert_eq!(s, 201, "{row}");
    assert_eq!(row["price_cents"], 662);
    for bad in [
        json!(662.5),
        json!(1e300),
        json!(9_007_199_254_740_994.0_f64),
    ] {
        let r = api
            .post("acme", json!({"name": "n", "sku": "G", "price_cents": bad}))
            .await;
        problem(&r, 422, "validation_failed");
    }
    assert_eq!(
        api.ids("acme").await.len(),
        1,
        "only the whole number was written"
    );
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn jwt_tenants_cannot_reach_each_other_either() {
    // The same router behind tokens, not a trusted header: bob (t1) tries every way into
    // alice's (acme) row, and after each refusal alice reads her rows back unchanged.
    let db = crate::data::database("sqlite").await;
    let api = Api::start(db).await;
    let alice = hs256(&claims("alice", Some("acme"), &[]));
    let bob = hs256(&claims("bob", Some("t1"), &[]));
    let as_bob = |method: Method, path: &str| {
        api.client
            .request(method, format!("{}{path}", api.base))
            .bearer_auth(&bob)
    };
    let (s, row) = api
        .send(
            api.client
                .post(&api.base)
                .bearer_auth(&alice)
                .json(&json!({"name": "a", "sku": "A", "price_cents": 5})),
        )
        .await;
    assert_eq!(s, 201, "{row}");
    let id = row["id"].as_i64().unwrap();
    let before = api.snapshot_by_token(&alice).await;
    assert_eq!(before["items"], json!([row]));

    let attempts: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        (
            "GET",
            as_bob(Method::GET, &format!("/{id}")),
            404,
            "not_found",
        ),
        (
            "PATCH",
            as_bob(Method::PATCH, &format!("/{id}")).json(&json!({"name": "hijack"})),
            404,
            "not_found",
        ),
        (
            "DELETE",
            as_bob(Method::DELETE, &format!("/{id}")),
            404,
            "not_found",
        ),
        (
            "POST naming acme",
            as_bob(Method::POST, "").json(&json!({"name": "p", "sku": "P", "tenant_id": "acme"})),
            403,
            "tenant_mismatch",
        ),
        (
            "list with a header naming acme",
            as_bob(Method::GET, "").header("x-tenant-id", "acme"),
            403,
            "tenant_mismatch",
        ),
        (
            "PATCH with a header naming acme",
            as_bob(Method::PATCH, &format!("/{id}"))
                .header("x-tenant-id", "acme")
                .json(&json!({"name": "hijack"})),
            403,
            "tenant_mismatch",
        ),
        (
            "DELETE by the path form naming acme",
            api.client
                .delete(
                    api.base
                        .replace("/api/items", &format!("/tenants/acme/api/items/{id}")),
                )
                .bearer_auth(&bob),
            403,
            "tenant_mismatch",
        ),
    ];
    for (what, req, status, code) in attempts {
        problem(&api.send(req).await, status, code);
        assert_eq!(
            api.snapshot_by_token(&alice).await,
            before,
            "alice's rows after bob's {what}"
        );
    }
    // Bob's own list and search see nothing of alice's; the same sku is no conflict for him.
    let (s, page) = api.send(as_bob(Method::GET, "?q=a")).await;
    assert_eq!((s.as_u16(), page["total"].clone()), (200, json!(0)));
    let (s, _) = api
        .send(as_bob(Method::POST, "").json(&json!({"name": "b", "sku": "A"})))
        .await;
    assert_eq!(s, 201);
    // alice, with a header naming t1 beside her token: refused, and bob's row untouched too.
    let bobs = api.snapshot_by_token(&bob).await;
    let req = api
        .client
        .get(&api.base)
        .bearer_auth(&alice)
        .header("x-tenant-id", "t1");
    assert_eq!(
        api.send(req).await.0,
        403,
        "token for acme with a header naming t1"
    );
    assert_eq!(api.snapshot_by_token(&bob).await, bobs);
    assert_eq!(api.snapshot_by_token(&alice).await, before);
}

/// Closes the database's pools, as if the server went away.
async fn close(db: &DataStore) {
    db.close().await;
}

/// The OpenAPI document lists, on every operation, each status the server can answer with, the
/// codes of each, and the parameters' constraints.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn openapi_document_says_what_the_server_does() {
    use tenantry::problem::ProblemCode;

    let db = crate::data::database("sqlite").await;
    let crud = Crud::new(db, items("items")).at("/api/items").unwrap();
    let doc = tenantry::crud::openapi("test", "1", &[&crud]);
    assert_eq!(doc["security"], json!([{"bearer": []}]));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["bearerFormat"],
        "JWT"
    );
    let ops = [
        ("/api/items", "get", &["200", "422"][..]),
        (
            "/api/items",
            "post",
            &["201", "400", "409", "413", "415", "422"],
        ),
        ("/api/items/{id}", "get", &["200", "404"]),
        (
            "/api/items/{id}",
            "patch",
            &["200", "400", "404", "409", "413", "415", "422"],
        ),
        ("/api/items/{id}", "delete", &["204", "404"]),
    ];
    for (path, method, own) in ops {
        let op = &doc["paths"][path][method];
        let responses = op["responses"].as_object().unwrap();
        let mut statuses: Vec<&str> = responses.keys().map(String::as_str).collect();
        statuses.sort();
        let mut expected = [own, &["400", "401", "403", "423", "429", "500", "503"]].concat();
        expected.sort();
        expected.dedup();
        assert_eq!(statuses, expected, "{method} {path}");
        for (status, response) in responses {
            let Some(schema) =
                response["content"]["application/problem+json"]["schema"].get("allOf")
            else {
                assert!(
                    status.starts_with('2'),
                    "{method} {path} {status} is not a problem"
                );
                continue;
            };
            for code in schema[1]["properties"]["code"]["enum"].as_array().unwrap() {
                let code = ProblemCode::ALL
                    .iter()
                    .find(|c| **c == code.as_str().unwrap())
                    .unwrap();
                assert_eq!(code.status().as_str(), status, "{code} under {status}");
            }
        }
        assert_eq!(
            responses["401"]["headers"]["WWW-Authenticate"]["required"],
            true
        );
        assert_eq!(responses["429"]["headers"]["Retry-After"]["required"], true);
        let header = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "X-Tenant-Id");
        assert_eq!(header.unwrap()["in"], "header", "{method} {path}");
    }
    let codes = |path: &str, method: &str, status: &str| {
        doc["paths"][path][method]["responses"][status]["content"]["application/problem+json"]["schema"]
            ["allOf"][1]["properties"]["code"]["enum"]
            .clone()
    };
    assert_eq!(
        codes("/api/items", "get", "400"),
        json!(["tenant_invalid", "tenant_unresolvable", "cursor_invalid"])
    );
    assert_eq!(
        codes("/api/items", "post", "400"),
        json!(["tenant_invalid", "tenant_unresolvable", "invalid_json"])
    );
    assert_eq!(
        codes("/api/items", "get", "403"),
        json!(["tenant_forbidden", "tenant_suspended", "tenant_mismatch"])
    );
    let member = &doc["paths"]["/api/items/{id}"]["parameters"][0];
    assert_eq!(member["schema"]["type"], "integer");
    let list = doc["paths"]["/api/items"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let param = |n: &str| list.iter().find(|p| p["name"] == n).unwrap().clone();
    assert_eq!(param("limit")["schema"]["maximum"], 1000);
    assert_eq!(param("offset")["schema"]["maximum"], i64::MAX);
    assert_eq!(param("order_by")["explode"], false);
    assert_eq!(
        param("count")["schema"]["enum"],
        json!(["exact", "planned", "estimated", "none"])
    );
    assert_eq!(param("Prefer")["in"], "header");
    assert_eq!(param("after")["schema"]["type"], "string");
    let page = &doc["components"]["schemas"]["ItemsPage"];
    assert_eq!(page["required"], json!(["items", "limit", "offset"]));
    assert!(page["properties"]["next_cursor"].is_object());
    let orders = param("order_by")["schema"]["items"]["enum"].clone();
    assert!(
        orders.as_array().unwrap().contains(&json!("-price_cents")),
        "{orders}"
    );
    assert_eq!(
        param("fields")["schema"]["items"]["enum"],
        json!(["name", "sku"])
    );
    assert!(
        param("fields")["description"]
            .as_str()
            .unwrap()
            .contains("not a selection")
    );
    let create = &doc["components"]["schemas"]["ItemsCreate"];
    assert_eq!(create["required"], json!(["name", "sku"]));
    assert_eq!(create["additionalProperties"], false);
    assert!(
        create["properties"].get("id").is_none(),
        "the database assigns ids"
    );
}

/// Property: whatever a client puts in the query string of the list route, or in the id of
/// the item routes (every method), the answer is a 2xx with the caller's own rows or a 4xx
/// problem+json: never a 5xx, never a dropped connection.
async fn arbitrary_parameters_get_an_answer(db: DataStore) {
    use proptest::{
        prelude::*,
        test_runner::{Config, TestRunner},
    };
    let api = Api::start(db).await;
    for i in 0..3 {
        let (s, _) = api
            .post(
                "acme",
                json!({"name": format!("n{i}"), "sku": format!("S{i}")}),
            )
            .await;
        assert_eq!(s, 201);
    }
    let key = prop_oneof![
        Just("limit".to_owned()),
        Just("offset".to_owned()),
        Just("order_by".to_owned()),
        Just("q".to_owned()),
        Just("fields".to_owned()),
        Just("after".to_owned()),
        Just("count".to_owned()),
        Just("sku".to_owned()),
        Just("name".to_owned()),
        Just("tenant_id".to_owned()),
        "[a-z_]{1,8}",
    ];
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        Just("9223372036854775808".to_owned()),
        Just("-0".to_owned()),
        Just("1e9".to_owned()),
        "[-+a-zA-Z0-9_,.%!' ]{0,12}",
        "\\PC{0,8}",
    ];
    let query = proptest::collection::vec((key, value), 0..5);
    let id = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        "[a-zA-Z0-9%._~-]{1,24}",
    ];
    let method = prop_oneof![Just(Method::GET), Just(Method::PATCH), Just(Method::DELETE)];
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    let handle = tokio::runtime::Handle::current();
    let check = |res: reqwest::Response| async move {
        let status = res.status().as_u16();
        let kind = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = res.text().await.map_err(|e| e.to_string())?;
        match status {
            200..=299 => {}
            400..=499 if kind == "application/problem+json" => {
                let v: Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
                if v["code"].as_str().is_none() {
                    return Err(format!("{status} without a code: {body}"));
                }
            }
            _ => return Err(format!("{status} {kind}: {body}")),
        }
        Ok::<_, String>(body)
    };
    let outcome = tokio::task::block_in_place(|| {
        runner.run(&(query, id, method), |(pairs, id, method)| {
            let result: Result<(), String> = handle.block_on(async {
                let qs: String = pairs
                    .iter()
                    .map(|(k, v)| {
                        format!(
                            "{}={}",
                            k,
                            v.bytes()
                                .map(|b| {
                                    if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                                        (b as char).to_string()
                                    } else {
                                        format!("%{b:02X}")
                                    }
                                })
                                .collect::<String>()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("&");
                let list = api
                    .client
                    .get(format!("{}?{qs}", api.base))
                    .header("x-tenant-id", "acme")
                    .send()
                    .await
                    .map_err(|e| format!("list ?{qs}: {e}"))?;
                let body = check(list).await.map_err(|e| format!("list ?{qs}: {e}"))?;
                if let Ok(page) = serde_json::from_str::<Value>(&body)
                    && let Some(rows) = page["items"].as_array()
                    && rows.iter().any(|r| r["tenant_id"] != "acme")
                {
                    return Err(format!("list ?{qs} returned another tenant's rows"));
                }
                let mut req = api
                    .client
                    .request(method.clone(), format!("{}/{id}", api.base))
                    .header("x-tenant-id", "t1");
                if method == Method::PATCH {
                    req = req.json(&json!({"name": "x"}));
                }
                let res = req
                    .send()
                    .await
                    .map_err(|e| format!("{method} /{id}: {e}"))?;
                check(res)
                    .await
                    .map_err(|e| format!("{method} /{id}: {e}"))?;
                Ok(())
            });
            prop_assert!(result.is_ok(), "{}", result.unwrap_err());
            Ok(())
        })
    });
    outcome.unwrap();
    // t1 never touched acme's rows: acme still holds its three, unchanged.
    let (s, page) = api.get("", "acme").await;
    assert_eq!(s, 200);
    assert_eq!(page["total"], 3);
}

mod arbitrary_parameters {
    #[cfg(feature = "sqlite")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::arbitrary_parameters_get_an_answer(crate::data::database("sqlite").await).await
    }
    #[cfg(feature = "postgres")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::arbitrary_parameters_get_an_answer(crate::data::database("postgres").await).await
    }
    #[cfg(feature = "mysql")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql() {
        super::arbitrary_parameters_get_an_answer(crate::data::database("mysql").await).await
    }
}

/// Every CRUD response, refusals and 405s included, carries its route template for logs and
/// metrics outside the router, without `MatchedPathLayer`.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn responses_carry_their_route_template() {
    use axum::extract::MatchedPath;
    use tower::ServiceExt;

    let db = crate::data::database("sqlite").await;
    let resource = items("items");
    db.create_table(&resource).await.unwrap();
    let router = Crud::new(db, resource)
        .at("/api/items")
        .unwrap()
        .router::<()>();
    let app = TenancyLayer::stub().layer(router);
    for (method, path, route, status) in [
        ("GET", "/api/items", "/api/items", 200),
        ("GET", "/api/items/", "/api/items/", 200),
        ("GET", "/api/items/1", "/api/items/{id}", 404),
        ("GET", "/api/items/x", "/api/items/{id}", 404),
        ("PUT", "/api/items/1", "/api/items/{id}", 405),
        ("POST", "/api/items", "/api/items", 415),
    ] {
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("x-tenant-id", "acme")
            .body(axum::body::Body::empty())
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{method} {path}");
        assert_eq!(
            res.extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str),
            Some(route),
            "{method} {path}"
        );
    }
}

//! The demo's items API through the real `tenantry serve` process: what the README shows.

use reqwest::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn the_demo_serves_tenant_scoped_items() {
    let dir = TempDir::new();
    let server = Server::start(&dir.sqlite_url(), &[], &[]);
    let (alice, bob) = (server.token("ALICE"), server.token("BOB"));
    let items = server.url("/api/v1/items");

    // Seeded: three items for acme, two for globex, each tenant sees only its own.
    let acme = get(&items, Some(&alice), &[]).await;
    assert_eq!(
        (acme.status, acme.body["total"].clone()),
        (200, json!(3)),
        "{}",
        acme.body
    );
    assert!(
        acme.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["tenant_id"] == "acme")
    );
    let globex = get(&items, Some(&bob), &[]).await;
    assert_eq!(globex.body["total"], 2);

    // Create, then read it back under both URL forms.
    let created = send(
        Method::POST,
        &items,
        Some(&alice),
        Some(json!({"name": "Dynamite", "sku": "DY-4", "price_cents": 500})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["tenant_id"], "acme");
    let id = created.body["id"].as_i64().unwrap();
    let one = get(&format!("{items}/{id}"), Some(&alice), &[]).await;
    assert_eq!(
        (one.status, one.body["name"].clone()),
        (200, json!("Dynamite"))
    );
    let path_form = get(
        &server.url(&format!("/tenants/acme/api/v1/items/{id}")),
        Some(&alice),
        &[],
    )
    .await;
    assert_eq!(path_form.body, one.body);

    // Search and sort.
    let found = get(&format!("{items}?q=dyna"), Some(&alice), &[]).await;
    assert_eq!(found.body["total"], 1);
    let sorted = get(
        &format!("{items}?order_by=-price_cents&limit=1"),
        Some(&alice),
        &[],
    )
    .await;
    assert_eq!(sorted.body["items"][0]["sku"], "RS-2");

    // Another tenant: 404 on read, update and delete; a body naming another tenant, or a PATCH
    // moving a row: 403. After each, both tenants read back their rows, whole, as they were.
    let all = format!("{items}?limit=1000&order_by=id");
    let alices = get(&all, Some(&alice), &[]).await.body;
    let bobs = get(&all, Some(&bob), &[]).await.body;
    let unchanged = || async {
        assert_eq!(
            get(&all, Some(&alice), &[]).await.body,
            alices,
            "alice's rows changed"
        );
        assert_eq!(
            get(&all, Some(&bob), &[]).await.body,
            bobs,
            "bob's rows changed"
        );
    };
    get(&format!("{items}/{id}"), Some(&bob), &[])
        .await
        .assert_problem(404, "not_found");
    unchanged().await;
    send(
        Method::PATCH,
        &format!("{items}/{id}"),
        Some(&bob),
        Some(json!({"name": "mine now"})),
    )
    .await
    .assert_problem(404, "not_found");
    unchanged().await;
    send(Method::DELETE, &format!("{items}/{id}"), Some(&bob), None)
        .await
        .assert_problem(404, "not_found");
    unchanged().await;
    assert_eq!(
        get(&format!("{items}/{id}"), Some(&alice), &[]).await.body["name"],
        "Dynamite"
    );
    send(
        Method::POST,
        &items,
        Some(&alice),
        Some(json!({"name": "x", "sku": "X-1", "tenant_id": "globex"})),
    )
    .await
    .assert_problem(403, "tenant_mismatch");
    unchanged().await;
    send(
        Method::PATCH,
        &format!("{items}/{id}"),
        Some(&alice),
        Some(json!({"tenant_id": "globex"})),
    )
    .await
    .assert_problem(403, "tenant_mismatch");
    unchanged().await;

    // The query string never switches the tenant.
    get(&format!("{items}?tenant_id=globex"), Some(&alice), &[])
        .await
        .assert_problem(422, "validation_failed");
    unchanged().await;

    // Delete for real.
    let gone = send(Method::DELETE, &format!("{items}/{id}"), Some(&alice), None).await;
    assert_eq!(gone.status, 204);

    // The OpenAPI document describes the mounted resource and the demo's own routes.
    let doc = get(&server.url("/openapi.json"), None, &[]).await;
    assert_eq!(doc.body["openapi"], "3.1.0");
    let paths = &doc.body["paths"];
    assert!(paths["/api/v1/items/{id}"]["patch"].is_object());
    assert_eq!(
        paths["/api/v1/items/{id}"]["parameters"][0]["schema"]["type"],
        "integer"
    );
    assert!(paths["/api/v1/whoami"]["get"]["responses"]["403"].is_object());
    assert_eq!(paths["/healthz"]["get"]["security"], json!([]));
    assert_eq!(doc.body["security"], json!([{"bearer": []}]));
}

/// Unknown paths, wrong methods and oversized bodies answer problem+json too, with the path.
#[tokio::test]
async fn the_demo_refuses_unknown_paths_and_methods_in_problem_json() {
    let dir = TempDir::new();
    let server = Server::start(&dir.sqlite_url(), &[], &[]);
    let alice = server.token("ALICE");
    let client = reqwest::Client::new();
    let call =
        |method: Method, path: &str| client.request(method, server.url(path)).bearer_auth(&alice);
    let cases = [
        (call(Method::GET, "/nope"), 404, "not_found", "/nope", None),
        (
            call(Method::GET, "/api/v1/items/1/x"),
            404,
            "not_found",
            "/api/v1/items/1/x",
            None,
        ),
        (
            call(Method::POST, "/api/v1/whoami"),
            405,
            "method_not_allowed",
            "/api/v1/whoami",
            Some("GET,HEAD"),
        ),
        (
            call(Method::PUT, "/api/v1/items"),
            405,
            "method_not_allowed",
            "/api/v1/items",
            Some("GET,HEAD,POST"),
        ),
        (
            call(Method::DELETE, "/healthz"),
            405,
            "method_not_allowed",
            "/healthz",
            Some("GET,HEAD"),
        ),
    ];
    for (req, status, code, instance, allow) in cases {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "{instance}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        assert_eq!(
            res.headers().get("allow").map(|v| v.to_str().unwrap()),
            allow,
            "{instance}"
        );
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(
            (body["code"].as_str(), body["instance"].as_str()),
            (Some(code), Some(instance))
        );
        assert_eq!(body["type"], "about:blank");
    }
    // A body over the limit is refused from its declared length, before it is read. (A client
    // that went on writing 3 MiB would race the server's close, so this one says and waits.)
    let mut stream = std::net::TcpStream::connect(addr(&server)).unwrap();
    std::io::Write::write_all(
        &mut stream,
        format!(
            "POST /api/v1/items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {alice}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            3 << 20
        )
        .as_bytes(),
    )
    .unwrap();
    let answer = read_until_closed(&mut stream, std::time::Duration::from_secs(5))
        .expect("the server closes after refusing the body");
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{head}"
    );
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        (body["code"].as_str(), body["instance"].as_str()),
        (Some("payload_too_large"), Some("/api/v1/items"))
    );

    // Without a token an unknown path is refused before routing, as every path but the public
    // ones is tenant-scoped.
    get(&server.url("/nope"), None, &[])
        .await
        .assert_problem(401, "tenant_context_missing");
    assert_eq!(
        get(&server.url("/api/v1/items"), Some(&alice), &[])
            .await
            .body["total"],
        3
    );
}

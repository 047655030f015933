//! `tenantry serve` as a process, driven over HTTP: every DESIGN §3 row the demo can show.

use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;

use crate::support::*;

const WHOAMI: &str = "/api/v1/whoami";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn token_cmd(args: &[&str]) -> String {
    let mut full = vec!["token"];
    full.extend_from_slice(args);
    let out = run(&mut tenantry(&full));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn the_demo_enforces_every_rule() {
    let dir = TempDir::new();
    let server = Server::start(&dir.sqlite_url(), &[], &[]);
    let (alice, carol, dave) = (
        server.token("ALICE"),
        server.token("CAROL"),
        server.token("DAVE"),
    );
    let url = server.url(WHOAMI);

    let health = get(&server.url("/healthz"), None, &[]).await;
    assert_eq!(
        (health.status, health.body.clone()),
        (200, json!({"status": "ok"}))
    );

    // Accepted: the token names the tenant; the path form serves the same route.
    get(&url, Some(&alice), &[])
        .await
        .assert_whoami("acme", "jwt", Some("alice"));
    get(
        &server.url("/tenants/acme/api/v1/whoami"),
        Some(&alice),
        &[],
    )
    .await
    .assert_whoami("acme", "jwt", Some("alice"));
    // A member of two tenants chooses by header or by path.
    for t in ["acme", "globex"] {
        get(&url, Some(&carol), &[("x-tenant-id", t)])
            .await
            .assert_whoami(t, "header", Some("carol"));
        get(
            &server.url(&format!("/tenants/{t}{WHOAMI}")),
            Some(&carol),
            &[],
        )
        .await
        .assert_whoami(t, "path", Some("carol"));
    }
    // Query parameters never switch the tenant.
    let q = format!("{url}?tenant_id=globex&tenant_header=globex");
    get(&q, Some(&alice), &[])
        .await
        .assert_whoami("acme", "jwt", Some("alice"));
    get(&q, None, &[])
        .await
        .assert_problem(401, "tenant_context_missing");

    // 401s.
    get(&url, None, &[])
        .await
        .assert_problem(401, "tenant_context_missing");
    get(&url, None, &[("x-tenant-id", "acme")])
        .await
        .assert_problem(401, "unauthenticated");
    let expired = encode(
        &Header::default(),
        &json!({"sub": "alice", "tenant_id": "acme", "exp": now() - 10}),
        &EncodingKey::from_secret(b"tenantry-dev-secret-not-for-production"),
    )
    .unwrap();
    get(&url, Some(&expired), &[])
        .await
        .assert_problem(401, "unauthenticated");
    let other_key = token_cmd(&[
        "--sub",
        "alice",
        "--tenant",
        "acme",
        "--jwt-secret",
        "not-the-server-secret",
    ]);
    get(&url, Some(&other_key), &[])
        .await
        .assert_problem(401, "unauthenticated");
    get(&url, Some("not.a.token"), &[])
        .await
        .assert_problem(401, "unauthenticated");

    // 400 before any lookup.
    let long = "x".repeat(65);
    for bad in [
        "   ",
        long.as_str(),
        "'; drop table tenantry_tenants; --",
        "a/b",
    ] {
        get(&url, Some(&carol), &[("x-tenant-id", bad)])
            .await
            .assert_problem(400, "tenant_invalid");
    }

    // 403s.
    get(&url, Some(&alice), &[("x-tenant-id", "globex")])
        .await
        .assert_problem(403, "tenant_mismatch");
    get(
        &server.url("/tenants/globex/api/v1/whoami"),
        Some(&alice),
        &[],
    )
    .await
    .assert_problem(403, "tenant_mismatch");
    let non_member = get(&url, Some(&carol), &[("x-tenant-id", "initech")]).await;
    non_member.assert_problem(403, "tenant_forbidden");
    let eve = token_cmd(&["--sub", "eve", "--tenant", "nosuch"]);
    let unknown = get(&url, Some(&eve), &[]).await;
    unknown.assert_problem(403, "tenant_forbidden");
    assert_eq!(
        non_member.body, unknown.body,
        "unknown and non-member must look the same"
    );
    get(&url, Some(&dave), &[])
        .await
        .assert_problem(403, "tenant_suspended");

    // The catalog table lives in the demo database.
    assert!(dir.0.join("demo.db").exists());
}

#[tokio::test]
async fn trusted_gateway_mode_and_secret_from_the_environment() {
    let dir = TempDir::new();
    let server = Server::start(
        &dir.sqlite_url(),
        &["--trust-tenant-header"],
        &[("TENANTRY_JWT_SECRET", "gateway-secret")],
    );
    assert!(server.banner.contains("--trust-tenant-header"));
    assert!(!server.banner.contains("development JWT secret"));
    let url = server.url(WHOAMI);
    get(&url, None, &[("x-tenant-id", "globex")])
        .await
        .assert_whoami("globex", "header", None);
    get(&url, None, &[("x-tenant-id", "initech")])
        .await
        .assert_problem(403, "tenant_suspended");
    get(&url, None, &[("x-tenant-id", "nosuch")])
        .await
        .assert_problem(403, "tenant_forbidden");
    // Tokens signed with the environment's secret are accepted; dev-secret ones are not.
    let good = token_cmd(&[
        "--sub",
        "bob",
        "--tenant",
        "globex",
        "--jwt-secret",
        "gateway-secret",
    ]);
    get(&url, Some(&good), &[])
        .await
        .assert_whoami("globex", "jwt", Some("bob"));
    let dev = token_cmd(&["--sub", "bob", "--tenant", "globex"]);
    get(&url, Some(&dev), &[])
        .await
        .assert_problem(401, "unauthenticated");
}

#[tokio::test]
async fn a_restart_keeps_the_catalog_and_seeds_once() {
    let dir = TempDir::new();
    let first = Server::start(&dir.sqlite_url(), &[], &[]);
    let alice = first.token("ALICE");
    get(&first.url(WHOAMI), Some(&alice), &[])
        .await
        .assert_whoami("acme", "jwt", Some("alice"));
    drop(first);
    let second = Server::start(&dir.sqlite_url(), &[], &[]);
    get(&second.url(WHOAMI), Some(&alice), &[])
        .await
        .assert_whoami("acme", "jwt", Some("alice"));
}

/// Runs `tenantry serve EXTRA...` with stdout and stderr in files, calls `traffic` with the base
/// URL, stops the server with SIGTERM and returns (stdout, stderr).
async fn logged_run<F, Fut>(extra: &[&str], envs: &[(&str, &str)], traffic: F) -> (String, String)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = TempDir::new();
    let (out_path, err_path) = (dir.0.join("out"), dir.0.join("err"));
    let url = dir.sqlite_url();
    let mut args = vec!["serve", "--bind", "127.0.0.1:0", "--database-url", &url];
    args.extend_from_slice(extra);
    let mut cmd = tenantry(&args);
    cmd.envs(envs.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let mut child = cmd.spawn().unwrap();
    let started = std::time::Instant::now();
    let base = loop {
        let out = std::fs::read_to_string(&out_path).unwrap();
        if let Some(line) = out
            .lines()
            .find(|l| l.starts_with("tenantry demo listening on "))
        {
            break line["tenantry demo listening on ".len()..].to_owned();
        }
        assert!(started.elapsed().as_secs() < 60, "no banner");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    traffic(base).await;
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(child.wait().unwrap().success(), "SIGTERM is a clean stop");
    (
        std::fs::read_to_string(&out_path).unwrap(),
        std::fs::read_to_string(&err_path).unwrap(),
    )
}

#[tokio::test]
async fn logs_say_start_each_request_and_stop() {
    let (_, err) = logged_run(&[], &[], |base| async move {
        let alice = token_cmd(&["--sub", "alice", "--tenant", "acme"]);
        get(&format!("{base}/api/v1/items/1"), Some(&alice), &[])
            .await
            .assert_status(200);
        get(&format!("{base}{WHOAMI}"), None, &[])
            .await
            .assert_status(401);
    })
    .await;
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines[0].contains("INFO tenantry::serve: listening addr=127.0.0.1:")
            && lines[0].contains(r#"database="sqlite""#)
            && lines[0].contains("tenants=3"),
        "{err}"
    );
    assert!(
        lines.iter().any(|l| l.contains(
            "INFO tenantry::request: request method=\"GET\" \
             path=\"/api/v1/items/1\" route=\"/api/v1/items/{id}\" status=200"
        ) && l.contains(r#"tenant="acme" resolved_by="jwt""#)),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("status=401") && l.contains(r#"code="tenant_context_missing""#)),
        "{err}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .contains("INFO tenantry::serve: stopped"),
        "{err}"
    );
}

#[tokio::test]
async fn json_logs_and_the_metrics_endpoint() {
    let (_, err) = logged_run(&["--log-format", "json"], &[], |base| async move {
        let alice = token_cmd(&["--sub", "alice", "--tenant", "acme"]);
        get(&format!("{base}{WHOAMI}"), Some(&alice), &[])
            .await
            .assert_status(200);
        let text = reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for needle in [
            r#"tenantry_requests_total{tenant="acme",status="200"} 1"#,
            r#"tenantry_rate_limit_decisions_total{decision="allowed"} 1"#,
            r#"tenantry_db_pool_connections{state="idle"}"#,
            r#"tenantry_request_duration_seconds_bucket{method="GET",route="/api/v1/whoami",le="0.005"}"#,
        ] {
            assert!(text.contains(needle), "{needle} not in\n{text}");
        }
    })
    .await;
    let objects: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let request = objects
        .iter()
        .find(|o| o["target"] == "tenantry::request" && o["path"] == WHOAMI)
        .unwrap_or_else(|| panic!("{err}"));
    assert_eq!(request["level"], "INFO");
    assert_eq!(request["status"], 200);
    assert_eq!(request["tenant"], "acme");
    assert_eq!(request["resolved_by"], "jwt");
    assert_eq!(request["route"], WHOAMI);
    assert!(request["latency_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(objects[0]["message"], "listening");
    assert_eq!(objects[0]["tenants"], 3);
}

/// A tenant column that compares without case makes `serve` refuse to start, naming the table
/// (issue 11, item 1); `--allow-inexact-tenant-columns` starts it with a warning.
#[test]
fn serve_refuses_inexact_tenant_columns() {
    let dir = TempDir::new();
    let url = format!("{}?mode=rwc", dir.sqlite_url());
    crate::dbs::exec(
        &url,
        "CREATE TABLE notes (id integer PRIMARY KEY, tenant_id text COLLATE NOCASE, body text)",
    );
    let out = run(&mut tenantry(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        &dir.sqlite_url(),
    ]));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refusing to start"), "{stderr}");
    assert!(
        stderr.contains("main.notes.tenant_id: COLLATE NOCASE"),
        "{stderr}"
    );
    let server = Server::start(&dir.sqlite_url(), &["--allow-inexact-tenant-columns"], &[]);
    assert!(server.banner.contains("listening"), "{}", server.banner);
}

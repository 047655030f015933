//! `tenantry tenants create --placement schema|database` provisions a tenant apart, a running
//! `serve` serves it from there through the same router, and `tenants delete --purge
//! --confirm` drops it again. On SQLite (a file beside the catalog), PostgreSQL (a schema, a
//! database) and MariaDB (a database).

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    dbs::*,
    support::{Server, TempDir, get, run, send, tenantry},
};

fn tenants(url: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["tenants"];
    all.extend_from_slice(args);
    let mut cmd = tenantry(&all);
    cmd.env("TENANTRY_DATABASE_URL", url);
    run(&mut cmd)
}

fn token(tenant: &str) -> String {
    let out = run(&mut tenantry(&[
        "token", "--sub", "ops", "--tenant", tenant,
    ]));
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Acme's three seeded items, as acme reads them.
async fn acme_items(server: &Server) -> Value {
    let alice = server.token("ALICE");
    let got = get(&server.url("/api/v1/items"), Some(&alice), &[]).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["total"], 3);
    got.body["items"].clone()
}

async fn placed(url: &str, kinds: &[&str]) {
    let server = Server::start(url, &[], &[]);
    let acme_before = acme_items(&server).await;
    let items = server.url("/api/v1/items");
    for kind in kinds {
        let id = format!("p-{kind}");
        let made = assert_ok(&tenants(
            url,
            &["create", &id, "--placement", kind, "--json"],
        ));
        let made: Value = serde_json::from_str(&made).unwrap();
        assert_eq!(made["status"], "active");
        let placement = made["placement"].as_str().unwrap();
        assert!(placement.starts_with(&format!("{kind}:")), "{placement}");

        // Served from its placement by the running service (the catalog change reaches it).
        let t = token(&id);
        let mut created = None;
        for _ in 0..50 {
            let res = send(
                Method::POST,
                &items,
                Some(&t),
                Some(json!({"name": format!("{id}'s"), "sku": "ANV-1"})),
            )
            .await;
            if res.status == 201 {
                created = Some(res.body);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let created = created.unwrap_or_else(|| panic!("{id} was never served"));
        assert_eq!(created["tenant_id"], id.as_str());
        // The same sku as acme's anvil: no conflict, the tables are apart.
        let own = get(&items, Some(&t), &[]).await;
        assert_eq!(own.body["total"], 1, "{id}: {:?}", own.body);
        // Acme's ids are not this tenant's: any id it can read is its own row.
        for acme_row in acme_before.as_array().unwrap() {
            let path = format!("{items}/{}", acme_row["id"]);
            let got = get(&path, Some(&t), &[]).await;
            assert!(
                got.status == 404 || got.body["tenant_id"] == id.as_str(),
                "{id} read {path}: {:?}",
                got.body
            );
            let res = send(Method::PATCH, &path, Some(&t), Some(json!({"name": "x"}))).await;
            assert!(res.status == 404 || res.body["tenant_id"] == id.as_str());
            let res = send(Method::DELETE, &path, Some(&t), None).await;
            assert!(res.status == 404 || res.status == 204);
        }
        // Acme reads its rows back unchanged.
        assert_eq!(acme_items(&server).await, acme_before, "after {id}");
    }

    // Purging drops the placement: only with --confirm, only once suspended.
    let id = format!("p-{}", kinds[0]);
    assert_fails(&tenants(url, &["delete", &id, "--purge"]), 2, "--confirm");
    assert_fails(
        &tenants(url, &["delete", &id, "--purge", "--confirm", &id]),
        1,
        "suspend it first",
    );
    assert_ok(&tenants(url, &["suspend", &id]));
    let out = assert_ok(&tenants(url, &["delete", &id, "--purge", "--confirm", &id]));
    let _ = out;
    assert_fails(&tenants(url, &["show", &id]), 1, "does not exist");
    assert_eq!(acme_items(&server).await, acme_before);
    // Re-created with the same id, it starts empty: the old data went with the placement.
    assert_ok(&tenants(url, &["create", &id, "--placement", kinds[0]]));
    let t = token(&id);
    let mut total = None;
    for _ in 0..50 {
        let got = get(&items, Some(&t), &[]).await;
        if got.status == 200 {
            total = Some(got.body["total"].clone());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(total, Some(json!(0)));
}

#[test]
fn placed_tenants_on_sqlite() {
    let dir = TempDir::new();
    let url = sqlite_url(&dir);
    block_on(placed(&url, &["database"]));
    // Its own file, beside the catalog's.
    let files: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files
            .iter()
            .any(|f| f.starts_with("t_p_database_") && f.ends_with(".db")),
        "{files:?}"
    );
    // A schema needs PostgreSQL: refused as usage, nothing created.
    assert_fails(
        &tenants(&url, &["create", "s", "--placement", "schema"]),
        2,
        "schema placement needs PostgreSQL",
    );
    assert_fails(&tenants(&url, &["show", "s"]), 1, "does not exist");
}

#[test]
fn placed_tenants_on_postgres() {
    let url = postgres_url();
    block_on(placed(&url, &["schema", "database"]));
}

#[test]
fn placed_tenants_on_mariadb() {
    let url = mysql_url();
    block_on(placed(&url, &["database"]));
}

/// A placement that exists already (someone else's data, perhaps) is refused and left alone;
/// the tenant is left `provisioning_failed` with the error (refused 423), never active, and
/// creating it again retries.
#[test]
fn provisioning_never_takes_over_an_existing_schema() {
    let url = postgres_url();
    let server = Server::start(&url, &[], &[]);
    exec(
        &url,
        "CREATE SCHEMA taken;\nCREATE TABLE taken.items (id int);\nINSERT INTO taken.items VALUES (7)",
    );
    assert_fails(
        &tenants(&url, &["create", "intruder", "--placement", "schema:taken"]),
        1,
        "exists already",
    );
    let shown = assert_ok(&tenants(&url, &["show", "intruder", "--json"]));
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["status"], "provisioning_failed");
    assert!(
        shown["settings"]["tenantry.provisioning_error"]
            .as_str()
            .unwrap()
            .contains("exists already"),
        "{shown}"
    );
    assert_eq!(scalar(&url, "SELECT count(*) FROM taken.items"), 1);
    let t = token("intruder");
    block_on(async {
        let mut refused = None;
        for _ in 0..50 {
            let got = get(&server.url("/api/v1/items"), Some(&t), &[]).await;
            if got.status != 403 {
                refused = Some(got);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let refused = refused.expect("the catalog change reached serve");
        assert_eq!(refused.status, 423, "{:?}", refused.body);
        assert_eq!(refused.body["code"], "tenant_locked");
    });
    // The other schema is still there, untouched; a free name succeeds on retry.
    assert_eq!(scalar(&url, "SELECT count(*) FROM taken.items"), 1);
    let retried = assert_ok(&tenants(
        &url,
        &["create", "intruder", "--placement", "schema", "--json"],
    ));
    let retried: Value = serde_json::from_str(&retried).unwrap();
    assert_eq!(retried["status"], "active");
    assert!(
        retried["settings"]
            .get("tenantry.provisioning_error")
            .is_none()
    );
}

/// The demo keeps `acme` in shared rows and puts `globex` apart: its own schema on
/// PostgreSQL, its own database on SQLite (a file) and MariaDB; each sees only its own items.
async fn the_demo_places_globex_apart(url: &str, kind: &str) {
    let server = Server::start(url, &[], &[]);
    let listed = assert_ok(&tenants(url, &["list", "--json"]));
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let placement = |id: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .map(|t| t["placement"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(placement("acme"), "row");
    assert!(
        placement("globex").starts_with(&format!("{kind}:t_globex_"))
            || placement("globex").contains("_t_globex_"),
        "{}",
        placement("globex")
    );
    assert!(placement("globex").starts_with(kind));
    let acme = acme_items(&server).await;
    let globex = get(
        &server.url("/api/v1/items"),
        Some(&server.token("BOB")),
        &[],
    )
    .await;
    assert_eq!(globex.body["total"], 2);
    assert!(
        globex.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["tenant_id"] == "globex")
    );
    // Apart: globex's ids start again at 1, and acme reads its rows back unchanged.
    assert_eq!(globex.body["items"][0]["id"], 1);
    assert_eq!(acme_items(&server).await, acme);
    // The gauges count the tenant pools (databases only; a schema shares the server's pool).
    let metrics = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let open = if kind == "database" { 1 } else { 0 };
    assert!(
        metrics.contains(&format!("tenantry_db_tenant_pools {open}")),
        "{metrics}"
    );
    // Its export reads its own database or schema.
    let out = crate::dbs::sql_on(
        url,
        &["sql", "export-tenant", "items", "--tenant-id", "globex"],
    );
    let exported: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(exported.as_array().unwrap().len(), 2, "{exported}");
}

#[test]
fn the_demo_places_globex_apart_on_sqlite() {
    let dir = TempDir::new();
    block_on(the_demo_places_globex_apart(&sqlite_url(&dir), "database"));
}

#[test]
fn the_demo_places_globex_apart_on_postgres() {
    let url = postgres_url();
    block_on(the_demo_places_globex_apart(&url, "schema"));
}

#[test]
fn the_demo_places_globex_apart_on_mariadb() {
    let url = mysql_url();
    block_on(the_demo_places_globex_apart(&url, "database"));
}

/// Two PostgreSQL servers: the test's own second cluster beside the shared test server. Tenants
/// on both (shared rows and a schema on `main`, a schema and a database on `eu`) are served
/// through the same router, each reading only its own rows.
#[test]
fn tenants_on_two_postgres_servers_share_one_router() {
    use crate::own::{Kind, OwnDatabase};
    let url = postgres_url();
    let dir = TempDir::new();
    let eu = block_on(OwnDatabase::start(Kind::Postgres));
    let servers = dir.0.join("servers.toml");
    std::fs::write(&servers, format!("[servers.eu]\nurl = \"{}\"\n", eu.url())).unwrap();
    let servers = servers.display().to_string();
    fn with<'a>(args: &[&'a str], servers: &'a str) -> Vec<&'a str> {
        let mut all = args.to_vec();
        all.extend(["--servers", servers]);
        all
    }
    let server = Server::start(&url, &["--servers", &servers], &[]);
    for (id, kind, on) in [
        ("m-schema", "schema", None),
        ("eu-schema", "schema", Some("eu")),
        ("eu-db", "database", Some("eu")),
    ] {
        let mut args = vec!["create", id, "--placement", kind];
        if let Some(on) = on {
            args.extend(["--server", on]);
        }
        let out = tenants(&url, &with(&args, &servers));
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_ok(&out);
        if let Some(on) = on {
            assert!(said.contains(&format!("@{on})")), "{said}");
        }
    }
    block_on(async {
        let acme = acme_items(&server).await;
        for id in ["m-schema", "eu-schema", "eu-db"] {
            let t = token(id);
            let mut made = None;
            for _ in 0..50 {
                let res = send(
                    Method::POST,
                    &server.url("/api/v1/items"),
                    Some(&t),
                    Some(json!({"name": id, "sku": "ANV-1"})),
                )
                .await;
                if res.status == 201 {
                    made = Some(res.body);
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert_eq!(made.expect("served")["tenant_id"], id);
        }
        for id in ["m-schema", "eu-schema", "eu-db"] {
            let got = get(&server.url("/api/v1/items"), Some(&token(id)), &[]).await;
            assert_eq!(got.body["total"], 1, "{id}: {:?}", got.body);
            assert_eq!(got.body["items"][0]["name"], id);
        }
        assert_eq!(acme_items(&server).await, acme);
    });
    // The eu tenants' rows are on the second cluster, not on the shared server.
    let eu_schema = assert_ok(&tenants(
        &url,
        &with(&["show", "eu-schema", "--json"], &servers),
    ));
    let eu_schema: Value = serde_json::from_str(&eu_schema).unwrap();
    let name = eu_schema["placement"]
        .as_str()
        .unwrap()
        .trim_start_matches("schema:")
        .trim_end_matches("@eu")
        .to_owned();
    assert_eq!(
        scalar(&eu.url(), &format!("SELECT count(*) FROM \"{name}\".items")),
        1
    );
    assert_eq!(
        scalar(
            &url,
            &format!("SELECT count(*) FROM pg_namespace WHERE nspname = '{name}'")
        ),
        0
    );
}

/// A demo tenant whose own database file is gone fails only its own requests: `serve` still
/// starts (it does not seed what it cannot read), acme reads its items, globex is answered 503,
/// and the missing file is not made again empty.
#[test]
fn serve_starts_when_a_placed_demo_tenants_file_is_missing() {
    let dir = TempDir::new();
    let url = sqlite_url(&dir);
    drop(Server::start(&url, &[], &[]));
    let globex_files = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&dir.0)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("t_globex_")
            })
            .collect()
    };
    let files = globex_files();
    assert!(
        !files.is_empty(),
        "the demo placed globex in a file of its own"
    );
    for f in files {
        std::fs::remove_file(f).unwrap();
    }
    block_on(async {
        let server = Server::start(&url, &[], &[]);
        acme_items(&server).await;
        let items = server.url("/api/v1/items");
        let globex = get(&items, Some(&token("globex")), &[]).await;
        assert_eq!(globex.status, 503, "{:?}", globex.body);
        assert_eq!(globex.body["code"], "unavailable", "{:?}", globex.body);
        // Acme again, after globex's refusal: unchanged.
        acme_items(&server).await;
    });
    assert!(
        globex_files().is_empty(),
        "a missing tenant file is not made again"
    );
}

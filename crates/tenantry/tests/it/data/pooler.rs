//! Schema tenants behind PgBouncer in transaction mode, where a session-wide `SET search_path`
//! would follow a server connection to whichever client gets it next. tenantry qualifies every
//! table by its schema and sets `search_path` only `LOCAL`ly in a raw scoped transaction, so
//! concurrent requests for many schema tenants over a handful of shared server connections
//! never see another tenant's rows.
//!
//! A named prepared statement does not survive such a pooler either: it is prepared on one
//! server connection, and the next transaction looks for it on another (or prepares its own
//! under the same name there). So the SQL catalog (read on every request, uncached here) and
//! row-level security's `set_config` go through the bouncer too, concurrently: were either
//! statement named, the test would fail with "prepared statement ... does not exist" or
//! "... already exists".
//!
//! The test starts its own PgBouncer (Debian's `pgbouncer`; `scripts/services` installs it) on
//! a free loopback port in front of the test PostgreSQL server, and stops it at the end.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::json;
use tenantry::{
    catalog::{Catalog, Placement, SqlCatalog, TenantRecord},
    data::{Page, Registry, ServerConfig, Servers, ServersConfig, TenantSetup, TenantTable},
};

use super::{items, row, tenant};

/// A PgBouncer in transaction mode with two server connections per database, killed on drop.
struct Bouncer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        // `runuser` does not pass a kill on: stop PgBouncer itself, by its pid file.
        // `runuser` then reaps it and exits.
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("pgbouncer.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn binary() -> PathBuf {
    let path = std::env::var_os("TENANTRY_TEST_PGBOUNCER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/pgbouncer"));
    assert!(
        path.exists(),
        "no PgBouncer at {}: install Debian's `pgbouncer` (scripts/services does) or set \
         TENANTRY_TEST_PGBOUNCER to its binary",
        path.display()
    );
    path
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|ids| ids.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false)
}

impl Bouncer {
    /// In front of the server `postgres_url` points at (host and port from it).
    fn start(postgres_url: &str) -> Self {
        let binary = binary();
        let hostport = postgres_url
            .split_once('@')
            .and_then(|(_, rest)| rest.split_once('/'))
            .map(|(hp, _)| hp)
            .unwrap_or("127.0.0.1:5432");
        let (host, pg_port) = hostport.rsplit_once(':').unwrap_or((hostport, "5432"));
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(crate::db::unique_name());
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.as_path();
        std::fs::write(d.join("users.txt"), "\"postgres\" \"\"\n").unwrap();
        std::fs::write(
            d.join("pgbouncer.ini"),
            format!(
                "[databases]\n* = host={host} port={pg_port}\n\n[pgbouncer]\n\
                 listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 auth_type = trust\nauth_file = {users}\npool_mode = transaction\n\
                 default_pool_size = 2\nmax_client_conn = 500\n\
                 ignore_startup_parameters = extra_float_digits,options\n\
                 logfile = {log}\npidfile = {pid}\n",
                users = d.join("users.txt").display(),
                log = d.join("pgbouncer.log").display(),
                pid = d.join("pgbouncer.pid").display(),
            ),
        )
        .unwrap();
        let ini = d.join("pgbouncer.ini");
        // PgBouncer refuses to run as root: run it as the `postgres` user then.
        let mut cmd = if is_root() {
            let _ = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(d)
                .status();
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&binary).arg(&ini);
            c
        } else {
            let mut c = Command::new(&binary);
            c.arg(&ini);
            c
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pgbouncer");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "PgBouncer did not listen on {port}: {}",
                std::fs::read_to_string(d.join("pgbouncer.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port, dir }
    }

    /// `url` (a database on the bounced server) through the bouncer.
    fn url(&self, url: &str) -> String {
        let database = url.rsplit_once('/').unwrap().1;
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_tenants_behind_a_transaction_mode_pooler_stay_apart() {
    let direct = crate::db::postgres_url().await;
    let bouncer = Bouncer::start(&direct);
    let bounced = bouncer.url(&direct);
    let names: Vec<String> = (0..24).map(|i| format!("s{i:02}")).collect();
    let placements: Vec<Placement> = names
        .iter()
        .map(|n| Placement::schema(&format!("t_{n}")).unwrap())
        .collect();
    // Two tenants in shared rows served with row-level security: each operation sets
    // `app.tenant_id` in its transaction.
    let guarded = ["r1", "r2"];

    // The catalog itself is read and written through the bouncer, uncached, so that every
    // lookup on the request path is a statement through it.
    let sql = SqlCatalog::connect(&bounced)
        .await
        .unwrap()
        .behind_transaction_pooler();
    sql.migrate().await.unwrap();
    let catalog = Catalog::new(sql).ttl(Duration::ZERO);
    catalog
        .create(TenantRecord::new(tenant("acme"), "Acme"))
        .await
        .unwrap();
    for r in guarded {
        catalog
            .create(TenantRecord::new(tenant(r), r))
            .await
            .unwrap();
    }
    for (n, p) in names.iter().zip(&placements) {
        catalog
            .create(TenantRecord::new(tenant(n), n).with_placement(p.clone()))
            .await
            .unwrap();
    }
    let resource = items("items");

    // Provisioned directly, served through the bouncer.
    let admin = Registry::connect(Servers::single(&direct).unwrap(), catalog.clone())
        .await
        .unwrap();
    admin.store().create_table(&resource).await.unwrap();
    for p in &placements {
        admin
            .provision(p, &TenantSetup::tables([resource.clone()]))
            .await
            .unwrap();
    }
    let mut config = ServersConfig::default();
    config.servers.insert(
        "main".into(),
        ServerConfig::url(bounced.clone()).behind_transaction_pooler(),
    );
    let registry = Registry::connect(Servers::from_config(config).unwrap(), catalog.clone())
        .await
        .unwrap();
    let rls = registry.store().with_row_level_security().unwrap();
    let table = |t: &str| TenantTable::new(registry.store(), resource.clone(), tenant(t));
    let acme_row = table("acme")
        .create(row(json!({"name": "acme's", "sku": "A"})))
        .await
        .unwrap();

    // Every schema tenant writes, lists, reads by id and opens raw transactions with its
    // search_path set, and each guarded tenant does the same six times, all at once, over two
    // server connections; four rounds, one after the other, so that a loaded machine does not
    // queue a hundred tasks past the 750 ms acquire timeout.
    for round in 0..4 {
        let mut tasks = Vec::new();
        for n in names.clone() {
            let registry = registry.clone();
            let resource = resource.clone();
            tasks.push(tokio::spawn(async move {
                let own = TenantTable::new(registry.store(), resource, tenant(&n));
                let made = own
                    .create(row(
                        json!({"name": format!("{n}-{round}"), "sku": format!("K{round}")}),
                    ))
                    .await
                    .unwrap();
                assert_eq!(made["tenant_id"], n.as_str());
                let rows = own.list(Page::default(), &[]).await.unwrap();
                assert!(
                    rows.iter().all(|r| r["tenant_id"] == n.as_str()),
                    "{n} listed {rows:?}"
                );
                let got = own
                    .get(made["id"].as_i64().unwrap())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(got["name"], format!("{n}-{round}"));
                // A raw scoped transaction: unqualified names are this tenant's tables.
                let mut tx = registry
                    .store()
                    .begin_for::<sqlx::Postgres>(&tenant(&n))
                    .await
                    .unwrap();
                let seen: Vec<String> = sqlx::query_scalar("SELECT DISTINCT tenant_id FROM items")
                    // Unnamed, as every statement behind a transaction-mode pooler must be.
                    .persistent(false)
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap();
                assert_eq!(
                    seen,
                    std::slice::from_ref(&n),
                    "{n}'s raw transaction saw {seen:?}"
                );
                tx.commit().await.unwrap();
                // After it, an unqualified query on the next transaction (perhaps on the same
                // server connection) is back on the shared table: the search_path did not stick.
                let mut tx = registry
                    .store()
                    .begin_for::<sqlx::Postgres>(&tenant("acme"))
                    .await
                    .unwrap();
                let shared: Vec<String> = sqlx::query_scalar(
                    "SELECT DISTINCT tenant_id FROM items WHERE tenant_id = 'acme'",
                )
                .persistent(false)
                .fetch_all(&mut *tx)
                .await
                .unwrap();
                assert_eq!(
                    shared,
                    ["acme"],
                    "search_path leaked after {n}'s transaction"
                );
                tx.commit().await.unwrap();
            }));
        }
        for r in guarded {
            for k in 0..6 {
                let rls = rls.clone();
                let resource = resource.clone();
                tasks.push(tokio::spawn(async move {
                    let own = TenantTable::new(rls.clone(), resource, tenant(r));
                    let made = own
                        .create(row(json!({"name": format!("{r}-{round}-{k}"), "sku": format!("K{round}-{k}")})))
                        .await
                        .unwrap();
                    assert_eq!(made["tenant_id"], r);
                    let got = own
                        .get(made["id"].as_i64().unwrap())
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(got["name"], format!("{r}-{round}-{k}"));
                    let rows = own.list(Page::default(), &[]).await.unwrap();
                    assert!(rows.iter().all(|x| x["tenant_id"] == r), "{r} listed {rows:?}");
                    // A raw transaction with the tenant bound: `app.tenant_id` is this one.
                    let mut tx = rls.begin_for::<sqlx::Postgres>(&tenant(r)).await.unwrap();
                    let bound: Option<String> =
                        sqlx::query_scalar("SELECT current_setting('app.tenant_id', true)")
                            .persistent(false)
                            .fetch_one(&mut *tx)
                            .await
                            .unwrap();
                    assert_eq!(bound.as_deref(), Some(r));
                    tx.commit().await.unwrap();
                }));
            }
        }
        for t in tasks {
            t.await.unwrap();
        }
    }

    // Each schema tenant has exactly its four rows, each guarded tenant its 24; acme reads its
    // row back unchanged.
    for n in &names {
        let own = table(n);
        assert_eq!(own.count().await.unwrap(), 4, "{n}");
        let rows = own.list(Page::default(), &[]).await.unwrap();
        assert!(rows.iter().all(|r| r["tenant_id"] == n.as_str()));
    }
    for r in guarded {
        let own = TenantTable::new(rls.clone(), resource.clone(), tenant(r));
        assert_eq!(own.count().await.unwrap(), 24, "{r}");
    }
    let acme = table("acme");
    assert_eq!(acme.count().await.unwrap(), 1);
    assert_eq!(
        acme.get(acme_row["id"].as_i64().unwrap()).await.unwrap(),
        Some(acme_row)
    );
    drop(registry);
    drop(bouncer);
}

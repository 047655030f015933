//! `tenantry migrate` at the scale and in the accidents of a real deploy: 220 tenants on three
//! servers (PostgreSQL schemas, SQLite files, MariaDB databases) with one failing tenant; two
//! runs at once; a run killed midway. The tenants are provisioned in process through the
//! library (220 CLI processes would be most of the test's time); the runs are the real binary.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;
use sqlx::{AssertSqlSafe, Connection};
use tenantry::{
    TenantId,
    catalog::{Catalog, PlacementKind, ServerName, TenantRecord},
    data::{DataStore, Registry, ServerConfig, Servers, ServersConfig, TenantSetup},
};

use crate::{
    dbs::*,
    support::{TempDir, tenantry},
};

/// A catalog on `url` (server `main`) with the extra servers of `others`, and the tenants of
/// the test, provisioned through the library.
struct Fleet {
    url: String,
    /// `--servers FILE`, listing `others`.
    servers_file: Option<String>,
    others: Vec<(String, String)>,
    dir: TempDir,
    /// tenant → placement, as the catalog says.
    placements: BTreeMap<String, String>,
}

impl Fleet {
    fn new(url: &str, others: &[(&str, &str)]) -> Self {
        let dir = TempDir::new();
        let others: Vec<(String, String)> = others
            .iter()
            .map(|(n, u)| ((*n).to_owned(), (*u).to_owned()))
            .collect();
        let servers_file = (!others.is_empty()).then(|| {
            let path = dir.0.join("servers.toml");
            let text: String = others
                .iter()
                .map(|(name, url)| format!("[servers.{name}]\nurl = \"{url}\"\n"))
                .collect();
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        });
        std::fs::create_dir_all(dir.0.join("migrations")).unwrap();
        Self {
            url: url.to_owned(),
            servers_file,
            others,
            dir,
            placements: BTreeMap::new(),
        }
    }

    fn source(&self) -> PathBuf {
        self.dir.0.join("migrations")
    }

    fn write_migration(&self, name: &str, sql: &str) {
        std::fs::write(self.source().join(name), sql).unwrap();
    }

    /// Provisions `tenants` (id, kind, server) with no tables, eight at a time.
    fn provision(&mut self, tenants: &[(String, PlacementKind, Option<&str>)]) {
        let mut config = ServersConfig::default();
        config
            .servers
            .insert("main".into(), ServerConfig::url(self.url.clone()));
        for (name, url) in &self.others {
            config
                .servers
                .insert(name.clone(), ServerConfig::url(url.clone()));
        }
        config.default = Some("main".into());
        let wanted: Vec<(String, PlacementKind, Option<String>)> = tenants
            .iter()
            .map(|(id, kind, on)| (id.clone(), *kind, on.map(str::to_owned)))
            .collect();
        let url = self.url.clone();
        let made = multi_thread(async move {
            let db = DataStore::connect(&url).await.unwrap();
            let sql = db.catalog();
            sql.migrate().await.unwrap();
            let registry = Registry::with_store(
                Servers::from_config(config).unwrap(),
                Catalog::new(sql),
                &db,
            );
            let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
            let mut tasks = tokio::task::JoinSet::new();
            for (id, kind, on) in wanted {
                let (registry, limit) = (registry.clone(), limit.clone());
                tasks.spawn(async move {
                    let _permit = limit.acquire_owned().await.unwrap();
                    let tenant = TenantId::parse(&id).unwrap();
                    let server = on.as_deref().map(|s| ServerName::new(s).unwrap());
                    let placement = registry.generate(&tenant, kind, server).unwrap();
                    let record = TenantRecord::new(tenant, id.clone()).with_placement(placement);
                    let made = registry
                        .provision_tenant(record, &TenantSetup::new())
                        .await
                        .unwrap_or_else(|e| panic!("provisioning {id}: {e}"));
                    // As the report names it: the server always said.
                    let placement = made.placement.to_string();
                    match placement.contains('@') {
                        true => (id, placement),
                        false => (id, format!("{placement}@main")),
                    }
                });
            }
            let mut made = Vec::new();
            while let Some(done) = tasks.join_next().await {
                made.push(done.unwrap());
            }
            db.close().await;
            made
        });
        self.placements.extend(made);
    }

    fn command(&self, args: &[&str]) -> Command {
        let source = self.source().display().to_string();
        let mut all = vec!["migrate", "--source", &source];
        all.extend_from_slice(args);
        if let Some(file) = &self.servers_file {
            all.extend(["--servers", file]);
        }
        let mut cmd = tenantry(&all);
        cmd.env("TENANTRY_DATABASE_URL", &self.url);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).spawn().expect("spawn tenantry migrate")
    }

    /// Runs `tenantry migrate ARGS --json`, failing the test after 120 s.
    fn migrate_json(&self, args: &[&str]) -> (Output, Report) {
        let mut all = args.to_vec();
        all.push("--json");
        let out = finish(self.spawn(&all), Duration::from_secs(120));
        let report = Report::parse(&out);
        (out, report)
    }

    /// The URL on which `placement`'s own ledger is `_tenantry_migrations` unqualified, or
    /// (schemas) the catalog's URL and the schema.
    fn ledger_rows(&self, placement: &str) -> i64 {
        let (place, server) = placement.rsplit_once('@').unwrap_or((placement, "main"));
        let server_url = if server == "main" {
            self.url.clone()
        } else {
            self.others
                .iter()
                .find(|(n, _)| n == server)
                .map(|(_, u)| u.clone())
                .unwrap()
        };
        let (kind, name) = place.split_once(':').unwrap_or((place, ""));
        match kind {
            "schema" => {
                let probe = format!(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = '{name}' \
                     AND tablename = '_tenantry_migrations'"
                );
                if scalar(&server_url, &probe) == 0 {
                    return -1;
                }
                scalar(
                    &server_url,
                    &format!("SELECT count(*) FROM \"{name}\"._tenantry_migrations"),
                )
            }
            "database" => {
                let url = database_url(&server_url, name);
                local_rows(&url)
            }
            _ => local_rows(&server_url),
        }
    }

    /// [`ledger_rows`](Self::ledger_rows) of every tenant's placement, with one query per
    /// PostgreSQL or MariaDB server (every placement's ledger table must exist).
    fn ledger_counts(&self) -> BTreeMap<String, i64> {
        let mut counts = BTreeMap::new();
        let mut unions: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for placement in self.placements.values() {
            let (place, server) = placement.rsplit_once('@').unwrap();
            let url = if server == "main" {
                self.url.clone()
            } else {
                self.others
                    .iter()
                    .find(|(n, _)| n == server)
                    .unwrap()
                    .1
                    .clone()
            };
            let (kind, name) = place.split_once(':').unwrap();
            if url.starts_with("sqlite:") || kind == "row" {
                counts.insert(placement.clone(), self.ledger_rows(placement));
                continue;
            }
            let table = match url.starts_with("postgres") {
                true => format!("\"{name}\"._tenantry_migrations"),
                false => format!("`{name}`._tenantry_migrations"),
            };
            unions.entry(url).or_default().push(format!(
                "SELECT '{placement}' AS p, count(*) AS n FROM {table}"
            ));
        }
        for (url, selects) in unions {
            counts.extend(pairs(&url, &selects.join(" UNION ALL ")));
        }
        counts
    }

    /// The central ledger, every row as text, in order.
    fn central(&self) -> Vec<String> {
        rows_as_text(
            &self.url,
            "SELECT placement, version, checksum, applied_at FROM tenantry_migrations \
             ORDER BY placement, version",
        )
    }

    fn schemas(&self) -> Vec<String> {
        self.placements
            .values()
            .filter_map(|p| p.strip_prefix("schema:"))
            .filter_map(|s| s.strip_suffix("@main"))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Fleet {
    /// The schemas go (DROP SCHEMA is quick; the databases of the test stay, as elsewhere), and
    /// the MariaDB tenant databases.
    fn drop(&mut self) {
        let schemas = self.schemas();
        if !schemas.is_empty() && self.url.starts_with("postgres") {
            let sql = schemas
                .iter()
                .map(|s| format!("DROP SCHEMA IF EXISTS \"{s}\" CASCADE;"))
                .collect::<String>();
            let url = self.url.clone();
            let _ = std::panic::catch_unwind(|| exec(&url, &sql));
        }
        for (name, url) in &self.others {
            if !url.starts_with("mysql") {
                continue;
            }
            let dbs: Vec<String> = self
                .placements
                .values()
                .filter_map(|p| p.strip_prefix("database:"))
                .filter_map(|p| p.strip_suffix(&format!("@{name}")))
                .map(|d| format!("DROP DATABASE IF EXISTS `{d}`;"))
                .collect();
            if !dbs.is_empty() {
                let (url, sql) = (url.clone(), dbs.concat());
                let _ = std::panic::catch_unwind(|| exec(&url, &sql));
            }
        }
    }
}

/// `server_url` with its database replaced by `name` (SQLite: the file `name.db` beside it).
fn database_url(server_url: &str, name: &str) -> String {
    if server_url.starts_with("sqlite:") {
        let path = server_url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap();
        let dir = Path::new(path).parent().unwrap();
        format!("sqlite://{}/{name}.db", dir.display())
    } else {
        format!("{}/{name}", server_url.rsplit_once('/').unwrap().0)
    }
}

/// Rows of `_tenantry_migrations` at `url` (-1: no ledger table).
fn local_rows(url: &str) -> i64 {
    let probe = if url.starts_with("sqlite:") {
        "SELECT count(*) FROM sqlite_master WHERE name = '_tenantry_migrations'"
    } else if url.starts_with("postgres") {
        "SELECT count(*) FROM pg_tables WHERE tablename = '_tenantry_migrations' \
         AND schemaname = current_schema()"
    } else {
        "SELECT count(*) FROM information_schema.tables WHERE table_name = '_tenantry_migrations' \
         AND table_schema = DATABASE()"
    };
    if scalar(url, probe) == 0 {
        return -1;
    }
    scalar(url, "SELECT count(*) FROM _tenantry_migrations")
}

/// Every row of `query` (all columns cast to text by the query's caller) joined with `|`.
fn rows_as_text(url: &str, query: &str) -> Vec<String> {
    use sqlx::Row;
    let sql = AssertSqlSafe(query.to_owned());
    block_on(async {
        macro_rules! collect {
            ($conn:ty) => {{
                let mut c = <$conn>::connect(url).await.unwrap();
                let rows = sqlx::query(sql).fetch_all(&mut c).await.unwrap();
                rows.iter()
                    .map(|r| {
                        let placement: String = r.get(0);
                        let version: i64 = r.get(1);
                        let checksum: String = r.get(2);
                        let at: String = r.get(3);
                        format!("{placement}|{version}|{checksum}|{at}")
                    })
                    .collect::<Vec<_>>()
            }};
        }
        if url.starts_with("sqlite:") {
            collect!(sqlx::SqliteConnection)
        } else if url.starts_with("postgres") {
            collect!(sqlx::PgConnection)
        } else {
            collect!(sqlx::MySqlConnection)
        }
    })
}

/// The (text, count) rows of `query` on a PostgreSQL or MariaDB server.
fn pairs(url: &str, query: &str) -> Vec<(String, i64)> {
    let sql = AssertSqlSafe(query.to_owned());
    block_on(async {
        if url.starts_with("postgres") {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
        } else {
            let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
        }
    })
}

fn multi_thread<F: std::future::Future + Send>(f: F) -> F::Output
where
    F::Output: Send,
{
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Waits for `child`, killing it and failing the test after `limit`.
fn finish(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "tenantry migrate did not finish within {limit:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `--json` report: placement → (outcome, versions, the line).
struct Report(BTreeMap<String, (String, Vec<i64>, Value)>);

impl Report {
    fn parse(out: &Output) -> Self {
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON report ({e}); exit {:?}, stderr: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let lines = report["placements"].as_array().unwrap();
        Self(
            lines
                .iter()
                .map(|p| {
                    let versions = p["versions"]
                        .as_array()
                        .map(|v| v.iter().map(|v| v.as_i64().unwrap()).collect())
                        .unwrap_or_default();
                    (
                        p["placement"].as_str().unwrap().to_owned(),
                        (
                            p["outcome"].as_str().unwrap().to_owned(),
                            versions,
                            p.clone(),
                        ),
                    )
                })
                .collect(),
        )
    }

    fn with(&self, outcome: &str) -> BTreeSet<String> {
        self.0
            .iter()
            .filter(|(_, (o, _, _))| o == outcome)
            .map(|(p, _)| p.clone())
            .collect()
    }
}

fn ids(
    prefix: &str,
    n: usize,
    kind: PlacementKind,
    on: Option<&'static str>,
) -> Vec<(String, PlacementKind, Option<&'static str>)> {
    (0..n)
        .map(|i| (format!("{prefix}{i:03}"), kind, on))
        .collect()
}

/// 200 schema tenants (PostgreSQL) and 20 database tenants (10 SQLite files, 10 MariaDB
/// databases), one of which cannot take the second migration: the 219 others and the three
/// servers' shared tables are migrated, the report names the failure, the exit status is 1;
/// fixed, a re-run applies that tenant's migration alone; a last run changes nothing and says so.
#[test]
fn two_hundred_and_twenty_tenants_on_three_servers_with_one_failure() {
    let pg = postgres_url();
    let maria = mysql_url();
    let files_dir = TempDir::new();
    let files = format!("sqlite://{}/files.db?mode=rwc", files_dir.0.display());
    let mut fleet = Fleet::new(&pg, &[("files", &files), ("maria", &maria)]);
    let started = Instant::now();
    let mut tenants = ids("s", 200, PlacementKind::Schema, None);
    tenants.extend(ids("f", 10, PlacementKind::Database, Some("files")));
    tenants.extend(ids("m", 10, PlacementKind::Database, Some("maria")));
    fleet.provision(&tenants);
    eprintln!("220 tenants provisioned in {:?}", started.elapsed());
    assert_eq!(fleet.placements.len(), 220);

    fleet.write_migration(
        "0001_notes.sql",
        "CREATE TABLE notes (id bigint PRIMARY KEY, body varchar(200) NOT NULL);",
    );
    fleet.write_migration(
        "0002_tags.sql",
        "CREATE TABLE tags (id bigint PRIMARY KEY, name varchar(40) NOT NULL);\n\
         CREATE INDEX tags_name ON tags (name);",
    );
    // s137's schema already has a `tags` table: its second migration fails there.
    let victim = fleet.placements["s137"].clone();
    let victim_schema = victim
        .strip_prefix("schema:")
        .and_then(|s| s.strip_suffix("@main"))
        .unwrap()
        .to_owned();
    exec(
        &pg,
        &format!("CREATE TABLE \"{victim_schema}\".tags (clash int)"),
    );

    let started = Instant::now();
    let (out, report) = fleet.migrate_json(&["--all-tenants"]);
    eprintln!("first run: {:?}", started.elapsed());
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The shared tables of the three servers, and the 220 tenants' own placements.
    assert_eq!(report.0.len(), 223);
    assert_eq!(report.with("failed"), BTreeSet::from([victim.clone()]));
    let (_, _, line) = &report.0[&victim];
    assert_eq!(line["tenants"], serde_json::json!(["s137"]));
    assert_eq!(line["version"], 2);
    let error = line["error"].as_str().unwrap();
    assert!(
        error.contains("tags") && error.contains("exists"),
        "{error}"
    );
    let applied = report.with("applied");
    assert_eq!(applied.len(), 222);
    for p in &applied {
        assert_eq!(report.0[p].1, vec![1, 2], "{p}");
    }
    for shared in ["row@main", "row@files", "row@maria"] {
        assert!(applied.contains(shared), "{shared}");
    }
    // What the placements' own ledgers say: both versions everywhere, one at the victim (its
    // failed migration rolled back with its ledger row).
    let counts = fleet.ledger_counts();
    for (tenant, placement) in &fleet.placements {
        let want = if tenant == "s137" { 1 } else { 2 };
        assert_eq!(counts[placement], want, "{placement}");
    }
    assert_eq!(fleet.central().len(), 222 * 2 + 1);

    // Fixed, the re-run applies the victim's second migration and nothing else.
    exec(&pg, &format!("DROP TABLE \"{victim_schema}\".tags"));
    let out = finish(fleet.spawn(&["--all-tenants"]), Duration::from_secs(120));
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!("{victim} (s137): applied 2")),
        "{said}"
    );
    assert!(
        said.contains("223 placements: 1 applied, 222 already current, 0 failed"),
        "{said}"
    );
    assert_eq!(fleet.ledger_rows(&victim), 2);
    assert_eq!(fleet.central().len(), 223 * 2);

    // Nothing to do: nothing changes, and the run says so.
    let before = fleet.central();
    let started = Instant::now();
    let (out, report) = fleet.migrate_json(&["--all-tenants"]);
    eprintln!("no-op run: {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(report.with("current").len(), 223);
    assert_eq!(fleet.central(), before);
    let out = finish(fleet.spawn(&["--all-tenants"]), Duration::from_secs(60));
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("nothing to apply"), "{said}");
    assert_eq!(fleet.central(), before);
    let counts = fleet.ledger_counts();
    for placement in fleet.placements.values() {
        assert_eq!(counts[placement], 2, "{placement}");
    }
}

/// The statement that makes a migration last a while, per catalog backend.
fn pause(url: &str, seconds: f64) -> String {
    if url.starts_with("postgres") {
        format!("SELECT pg_sleep({seconds});")
    } else if url.starts_with("mysql") {
        format!("DO SLEEP({seconds});")
    } else {
        // No sleep in SQLite: a count over a long generated series.
        let n = (seconds * 2_000_000.0) as u64;
        format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) \
             SELECT count(*) FROM c;"
        )
    }
}

fn kind_on(url: &str) -> PlacementKind {
    if url.starts_with("postgres") {
        PlacementKind::Schema
    } else {
        PlacementKind::Database
    }
}

/// Two runs started at once: one waits for the other's lock, then finds the work done; every
/// placement's migrations ran once.
fn concurrent_runs(url: &str) {
    let mut fleet = Fleet::new(url, &[]);
    fleet.provision(&ids("c", 24, kind_on(url), None));
    fleet.write_migration(
        "0001_notes.sql",
        &format!(
            "{}\nCREATE TABLE notes (id bigint PRIMARY KEY, body varchar(200));",
            pause(url, 0.05)
        ),
    );
    fleet.write_migration(
        "0002_tag.sql",
        "ALTER TABLE notes ADD COLUMN tag varchar(40);\nCREATE INDEX notes_tag ON notes (tag);",
    );
    let a = fleet.spawn(&["--all-tenants", "--json", "--concurrency", "2"]);
    let b = fleet.spawn(&["--all-tenants", "--json", "--concurrency", "2"]);
    let (a, b) = (
        finish(a, Duration::from_secs(120)),
        finish(b, Duration::from_secs(120)),
    );
    for out in [&a, &b] {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (a, b) = (Report::parse(&a), Report::parse(&b));
    assert_eq!(a.0.len(), 25);
    assert_eq!(b.0.len(), 25);
    for placement in a.0.keys() {
        let runs: Vec<&str> = [&a, &b].iter().map(|r| r.0[placement].0.as_str()).collect();
        let applied = runs.iter().filter(|o| **o == "applied").count();
        assert_eq!(applied, 1, "{placement}: {runs:?}");
        assert!(runs.contains(&"current"), "{placement}: {runs:?}");
    }
    for placement in fleet.placements.values() {
        assert_eq!(fleet.ledger_rows(placement), 2, "{placement}");
    }
    assert_eq!(fleet.central().len(), 25 * 2);
}

#[test]
fn concurrent_runs_apply_each_migration_once_on_postgres() {
    concurrent_runs(&postgres_url());
}

#[test]
fn concurrent_runs_apply_each_migration_once_on_mariadb() {
    concurrent_runs(&mysql_url());
}

#[test]
fn concurrent_runs_apply_each_migration_once_on_sqlite() {
    let dir = TempDir::new();
    concurrent_runs(&sqlite_url(&dir));
}

/// A run killed (SIGKILL) midway: its lock goes with it, and the next run applies exactly what
/// the placements' own ledgers lack, once.
fn killed_run_resumes(url: &str) {
    let mut fleet = Fleet::new(url, &[]);
    fleet.provision(&ids("k", 30, kind_on(url), None));
    fleet.write_migration(
        "0001_notes.sql",
        &format!(
            "{}\nCREATE TABLE notes (id bigint PRIMARY KEY, body varchar(200));",
            pause(url, 0.15)
        ),
    );
    let mut child = fleet.spawn(&["--all-tenants", "--concurrency", "2"]);
    // Killed once a few placements are done, well before the 31st.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = fleet.central_count();
        if done >= 6 {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        assert!(Instant::now() < deadline, "the run made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    let killed = child.wait_with_output().unwrap();
    assert!(killed.status.code().is_none(), "killed by a signal");

    // What the placements' own ledgers hold now (a migration that ran but was not yet
    // recorded centrally is there).
    let mut all: Vec<String> = fleet.placements.values().cloned().collect();
    all.push("row@main".into());
    let missing: BTreeSet<String> = all
        .iter()
        .filter(|p| fleet.ledger_rows(p) < 1)
        .cloned()
        .collect();
    assert!(!missing.is_empty(), "the run was not killed midway");
    assert!(missing.len() < all.len() - 5, "{missing:?}");

    // The lock died with the process: the re-run does not wait for it.
    let started = Instant::now();
    let (out, report) = fleet.migrate_json(&["--all-tenants", "--concurrency", "4"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(report.with("applied"), missing);
    assert_eq!(report.with("current").len(), all.len() - missing.len());
    for p in &all {
        assert_eq!(fleet.ledger_rows(p), 1, "{p}");
    }
    assert_eq!(fleet.central().len(), all.len());
}

impl Fleet {
    fn central_count(&self) -> i64 {
        let probe = if self.url.starts_with("sqlite:") {
            "SELECT count(*) FROM sqlite_master WHERE name = 'tenantry_migrations'"
        } else if self.url.starts_with("postgres") {
            "SELECT count(*) FROM pg_tables WHERE tablename = 'tenantry_migrations' \
             AND schemaname = current_schema()"
        } else {
            "SELECT count(*) FROM information_schema.tables WHERE \
             table_name = 'tenantry_migrations' AND table_schema = DATABASE()"
        };
        if scalar(&self.url, probe) == 0 {
            return 0;
        }
        scalar(&self.url, "SELECT count(*) FROM tenantry_migrations")
    }
}

#[test]
fn a_killed_run_resumes_on_postgres() {
    killed_run_resumes(&postgres_url());
}

#[test]
fn a_killed_run_resumes_on_sqlite() {
    let dir = TempDir::new();
    killed_run_resumes(&sqlite_url(&dir));
}

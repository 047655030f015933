//! Fresh databases for the `sql` and `tenants` tests (the library's `tests/it/db.rs`, trimmed):
//! every call makes a new, empty, uniquely named database and returns its URL.
//!
//! PostgreSQL and MariaDB are reached through `TENANTRY_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and `TENANTRY_TEST_MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306/mysql`). Databases are named `tenantry_t_<pid>_<n>_<nanos>`, like
//! the library tests', which drop the ones more than a day old.

use std::{
    process::{Command, Output},
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use sqlx::{AssertSqlSafe, Connection};

use crate::support::{TempDir, run, tenantry};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("tenantry_t_{}_{n}_{nanos}", std::process::id())
}

/// Runs `f` on a fresh current-thread runtime (the tests themselves are synchronous).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn admin_url(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// `url` with its path replaced by `/<database>`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[host_start..].find('/') {
        Some(slash) => &base[..host_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// A fresh SQLite file URL in `dir` (the file is created by the first connection).
pub fn sqlite_url(dir: &TempDir) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        dir.0.join(format!("{}.db", unique_name())).display()
    )
}

/// A fresh, empty PostgreSQL database.
pub fn postgres_url() -> String {
    let admin = admin_url(
        "TENANTRY_TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    let name = unique_name();
    block_on(async {
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the PostgreSQL test server: {e}"));
        // `name` is `[a-z0-9_]` only.
        sqlx::raw_sql(AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .execute(&mut conn)
            .await
            .unwrap();
    });
    with_database(&admin, &name)
}

/// A fresh, empty MariaDB / MySQL database.
pub fn mysql_url() -> String {
    let admin = admin_url(
        "TENANTRY_TEST_MYSQL_URL",
        "mysql://root@127.0.0.1:3306/mysql",
    );
    let name = unique_name();
    block_on(async {
        let mut conn = sqlx::MySqlConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the MariaDB test server: {e}"));
        sqlx::raw_sql(AssertSqlSafe(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
    });
    with_database(&admin, &name)
}

/// Runs `statements` (separated by `;` lines, no values from outside) on `url`.
pub fn exec(url: &str, statements: &str) {
    let sql = AssertSqlSafe(statements.to_owned());
    block_on(async {
        if url.starts_with("sqlite:") {
            let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        } else if url.starts_with("postgres") {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        } else {
            let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        }
    });
}

/// The single integer `query` returns on `url`.
pub fn scalar(url: &str, query: &str) -> i64 {
    let sql = AssertSqlSafe(query.to_owned());
    block_on(async {
        if url.starts_with("sqlite:") {
            let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&mut c)
                .await
                .unwrap()
        } else if url.starts_with("postgres") {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&mut c)
                .await
                .unwrap()
        } else {
            let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&mut c)
                .await
                .unwrap()
        }
    })
}

/// `tenantry ARGS` without `SQL_URL` from the environment.
pub fn sql(args: &[&str]) -> Command {
    let mut cmd = tenantry(args);
    cmd.env_remove("SQL_URL");
    cmd
}

/// Runs `tenantry ARGS --database-url URL`.
pub fn sql_on(url: &str, args: &[&str]) -> Output {
    let mut cmd = sql(args);
    cmd.args(["--database-url", url]);
    run(&mut cmd)
}

/// The stderr lines that are not the audit log of `unscoped_admin`.
pub fn messages(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.contains("tenantry::admin"))
        .map(str::to_owned)
        .collect()
}

/// Asserts exit `code` and exactly one stderr line, `error: ...` containing `needle`.
#[track_caller]
pub fn assert_fails(out: &Output, code: i32, needle: &str) {
    let lines = messages(out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr: {lines:?}, stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(lines.len(), 1, "one line expected: {lines:?}");
    assert!(lines[0].starts_with("error: "), "{lines:?}");
    assert!(lines[0].contains(needle), "{needle:?} not in {lines:?}");
}

/// Asserts success and returns stdout.
#[track_caller]
pub fn assert_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

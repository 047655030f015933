//! Real databases for tests: every call makes a fresh, empty database and returns its URL.
//!
//! SQLite needs nothing. PostgreSQL and MariaDB / MySQL are reached through an admin URL from
//! `TENANTRY_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) and
//! `TENANTRY_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/mysql`); `scripts/services`
//! starts local servers. Databases are named `tenantry_t_<pid>_<counter>_<nanos>` and left behind;
//! the first call in a process drops the ones more than a day old.

#![cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]

#[cfg(any(feature = "postgres", feature = "mysql"))]
use std::{sync::atomic::AtomicBool, time::Duration};
use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

#[cfg(any(feature = "postgres", feature = "mysql"))]
use sqlx::{AssertSqlSafe, Connection};

const PREFIX: &str = "tenantry_t_";
/// Databases older than this are dropped by the first call in a process.
#[cfg(any(feature = "postgres", feature = "mysql"))]
const STALE_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

/// `tenantry_t_<pid>_<counter>_<nanos>`: unique across processes and calls, and dated.
pub fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{PREFIX}{}_{n}_{}", std::process::id(), now_nanos())
}

/// A fresh SQLite database file (not yet created) in a directory of its own.
#[cfg(feature = "sqlite")]
pub async fn sqlite_url() -> String {
    let dir = std::env::temp_dir().join(unique_name());
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    format!("sqlite://{}", dir.join("catalog.db").display())
}

/// A fresh, empty PostgreSQL database on the server of `TENANTRY_TEST_POSTGRES_URL`.
#[cfg(feature = "postgres")]
pub async fn postgres_url() -> String {
    const VAR: &str = "TENANTRY_TEST_POSTGRES_URL";
    let admin = admin_url(VAR, "postgres://postgres@127.0.0.1:5432/postgres");
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| unreachable_server("PostgreSQL", VAR, &admin, e));
    if first_call(&SWEPT_POSTGRES) {
        let names =
            sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'tenantry%'")
                .fetch_all(&mut conn)
                .await
                .unwrap_or_default();
        for name in stale(names) {
            let drop = format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#);
            let _ = sqlx::raw_sql(AssertSqlSafe(drop)).execute(&mut conn).await;
        }
    }
    let name = unique_name();
    // `name` is `[a-z0-9_]` only (unique_name), so it is safe to quote into the statement.
    let create = format!(r#"CREATE DATABASE "{name}""#);
    sqlx::raw_sql(AssertSqlSafe(create))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("creating PostgreSQL database {name}: {e}"));
    with_database(&admin, &name)
}

/// A fresh, empty MariaDB / MySQL database on the server of `TENANTRY_TEST_MYSQL_URL`.
#[cfg(feature = "mysql")]
pub async fn mysql_url() -> String {
    const VAR: &str = "TENANTRY_TEST_MYSQL_URL";
    let admin = admin_url(VAR, "mysql://root@127.0.0.1:3306/mysql");
    let mut conn = sqlx::MySqlConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| unreachable_server("MariaDB / MySQL", VAR, &admin, e));
    if first_call(&SWEPT_MYSQL) {
        let names = sqlx::query_scalar(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'tenantry%'",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap_or_default();
        for name in stale(names) {
            let drop = format!("DROP DATABASE IF EXISTS `{name}`");
            let _ = sqlx::raw_sql(AssertSqlSafe(drop)).execute(&mut conn).await;
        }
    }
    let name = unique_name();
    // `name` is `[a-z0-9_]` only (unique_name), so it is safe to quote into the statement.
    let create = format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4");
    sqlx::raw_sql(AssertSqlSafe(create))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("creating MariaDB / MySQL database {name}: {e}"));
    with_database(&admin, &name)
}

#[cfg(feature = "postgres")]
static SWEPT_POSTGRES: AtomicBool = AtomicBool::new(false);
#[cfg(feature = "mysql")]
static SWEPT_MYSQL: AtomicBool = AtomicBool::new(false);

/// True the first time it is called with `flag` in this process.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn first_call(flag: &AtomicBool) -> bool {
    !flag.swap(true, Ordering::Relaxed)
}

/// The names that are exactly `tenantry_t_<pid>_<counter>_<nanos>` with `nanos` over a day ago.
/// Only such names (digits and `_`) are ever put into a `DROP DATABASE`.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn stale(names: Vec<String>) -> Vec<String> {
    let cutoff = now_nanos().saturating_sub(STALE_AFTER.as_nanos());
    names
        .into_iter()
        .filter(|name| {
            let Some(rest) = name.strip_prefix(PREFIX) else {
                return false;
            };
            let parts: Vec<&str> = rest.split('_').collect();
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                && parts[2].parse::<u128>().is_ok_and(|nanos| nanos < cutoff)
        })
        .collect()
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
fn admin_url(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
fn unreachable_server(what: &str, var: &str, url: &str, cause: sqlx::Error) -> ! {
    panic!(
        "cannot reach the {what} test server at {} (set {var} to an admin URL of a running \
         server, or run scripts/services): {cause}",
        redact(url)
    )
}

/// `url` with its path replaced by `/<database>` (the query string is kept).
#[cfg(any(feature = "postgres", feature = "mysql"))]
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
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// `url` with any password replaced by `***`.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn redact(url: &str) -> String {
    let host_start = url.find("://").map_or(0, |i| i + 3);
    let authority_end = url[host_start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| host_start + i);
    let authority = &url[host_start..authority_end];
    match authority
        .rfind('@')
        .and_then(|at| authority[..at].find(':').map(|colon| (colon, at)))
    {
        Some((colon, at)) => format!(
            "{}:***{}",
            &url[..host_start + colon],
            &url[host_start + at..]
        ),
        None => url.to_owned(),
    }
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
#[test]
fn urls_are_rewritten_and_redacted() {
    assert_eq!(
        with_database("postgres://u:pw@h:5432/postgres?sslmode=disable", "x"),
        "postgres://u:pw@h:5432/x?sslmode=disable"
    );
    assert_eq!(
        with_database("mysql://root@127.0.0.1:3306", "x"),
        "mysql://root@127.0.0.1:3306/x"
    );
    assert_eq!(redact("postgres://u:s3cr:t@h/db"), "postgres://u:***@h/db");
    assert_eq!(
        redact("mysql://root@h:3306/mysql"),
        "mysql://root@h:3306/mysql"
    );
    assert_eq!(
        stale(vec!["tenantry_t_1_2_3".into(), "tenantry_t_1_2".into()]),
        ["tenantry_t_1_2_3"]
    );
    assert!(stale(vec![unique_name(), r#"tenantry_t_1_2_3"; drop"#.into()]).is_empty());
}

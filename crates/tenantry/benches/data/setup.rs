//! The bench database: loaded once and reused, the application role, and a check that every
//! side of a comparison answers the same.

use super::*;
use crate::support::{with_database, with_user};

pub(crate) struct Env {
    /// Superuser pool on the bench database (setup and the hand-written side).
    pub(crate) admin: DataStore,
    pub(crate) admin_pool: PgPool,
    /// The application role, no `with_row_level_security`.
    pub(crate) app: DataStore,
    pub(crate) items: Resource,
    pub(crate) items_rls: Resource,
    pub(crate) tenants: Arc<Vec<TenantId>>,
}

pub(crate) fn admin_url() -> String {
    std::env::var("TENANTRY_BENCH_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub(crate) async fn exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Whether the bench database already holds the complete data set in both tables.
pub(crate) async fn is_loaded(url: &str) -> bool {
    let Ok(mut conn) = sqlx::PgConnection::connect(url).await else {
        return false;
    };
    for table in [TABLE, TABLE_RLS] {
        let marker: Result<Option<String>, _> =
            sqlx::query_scalar("SELECT obj_description(to_regclass('public.' || $1), 'pg_class')")
                .bind(table)
                .fetch_one(&mut conn)
                .await;
        if marker.ok().flatten().as_deref() != Some(MARKER) {
            return false;
        }
        let n: Result<i64, _> =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(&mut conn)
                .await;
        if n.ok() != Some(ROWS as i64) {
            return false;
        }
    }
    true
}

pub(crate) async fn setup() -> Env {
    let admin_url = admin_url();
    let url = with_database(&admin_url, DB_NAME);
    let mut conn = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL (TENANTRY_BENCH_POSTGRES_URL): {e}"));
    let reuse = is_loaded(&url).await;
    if !reuse {
        for sql in [
            format!("DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"),
            format!("CREATE DATABASE {DB_NAME}"),
        ] {
            sqlx::raw_sql(AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN \
         CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let admin = DataStore::connect(&url).await.unwrap();
    let (items, items_rls) = (items(TABLE), items(TABLE_RLS));
    admin.create_table(&items).await.unwrap();
    admin.create_table(&items_rls).await.unwrap();
    let admin_pool = admin
        .unscoped_admin("bench: load data, hand-written side")
        .pool::<sqlx::Postgres>()
        .unwrap()
        .clone();
    if reuse {
        println!("data: reusing {DB_NAME} ({ROWS} rows in {TABLE} and in {TABLE_RLS})");
    } else {
        let started = Instant::now();
        exec(
            &admin_pool,
            &format!(
                "INSERT INTO {TABLE} ({COLUMNS}) \
                 SELECT g, 't' || lpad(((g - 1) % {TENANTS})::text, 3, '0'), \
                        'item ' || g, 'SKU-' || lpad(g::text, 7, '0'), (g * 7919) % 100000, \
                        CASE WHEN g % 4 = 0 THEN NULL ELSE 'note for item ' || g END, \
                        timestamptz '2026-01-01 00:00:00.123456+00' + g * interval '1.000271 second' \
                 FROM generate_series(1::bigint, {ROWS}) AS g"
            ),
        )
        .await;
        exec(
            &admin_pool,
            &format!("INSERT INTO {TABLE_RLS} SELECT * FROM {TABLE} ORDER BY id"),
        )
        .await;
        for table in [TABLE, TABLE_RLS] {
            exec(
                &admin_pool,
                &format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), {ROWS})"),
            )
            .await;
            exec(&admin_pool, &format!("VACUUM (ANALYZE) {table}")).await;
            exec(
                &admin_pool,
                &format!("COMMENT ON TABLE {table} IS '{MARKER}'"),
            )
            .await;
        }
        println!(
            "data: loaded {ROWS} rows into {TABLE} and copied them to {TABLE_RLS} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    for table in [TABLE, TABLE_RLS] {
        exec(
            &admin_pool,
            &format!("GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}"),
        )
        .await;
    }
    exec(
        &admin_pool,
        &format!("ALTER TABLE {TABLE} DISABLE ROW LEVEL SECURITY"),
    )
    .await;
    rls::enable(&admin, &items_rls).await.unwrap();

    let app = DataStore::connect(&with_user(&url, APP_ROLE))
        .await
        .unwrap();
    let audit = rls::audit(&app, "tenant_id").await.unwrap();
    assert!(
        !audit.role_bypasses_rls,
        "{APP_ROLE} must not bypass RLS: {:?}",
        audit.problems()
    );
    // RLS binds the app role on items_rls (no rows without app.tenant_id) and not on items.
    let app_pool = app
        .unscoped_admin("bench: check RLS")
        .pool::<sqlx::Postgres>()
        .unwrap()
        .clone();
    for (table, want) in [(TABLE, 10_000), (TABLE_RLS, 0)] {
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE tenant_id = 't001'"
        )))
        .fetch_one(&app_pool)
        .await
        .unwrap();
        assert_eq!(
            n, want,
            "{table}: rows the app role sees without app.tenant_id"
        );
    }
    let tenants = (0..TENANTS)
        .map(|k| TenantId::parse(&tenant_name(k)).unwrap())
        .collect();
    Env {
        admin,
        admin_pool,
        app,
        items,
        items_rls,
        tenants: Arc::new(tenants),
    }
}

/// Prints what the report needs: server version, sizes, plans.
pub(crate) async fn describe(env: &Env) {
    let pool = &env.admin_pool;
    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(pool)
        .await
        .unwrap();
    println!("data: server: {version}");
    for table in [TABLE, TABLE_RLS] {
        let (rows, tenants, size): (i64, i64, String) = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT count(*), count(DISTINCT tenant_id), \
                    pg_size_pretty(pg_total_relation_size('{table}')) FROM {table}"
        )))
        .fetch_one(pool)
        .await
        .unwrap();
        println!("data: {table}: {rows} rows, {tenants} tenants, {size} with indexes");
    }
    let sql = Stmts::on(TABLE);
    for (what, sql) in [
        ("get", sql.get.replace("$1", "'t042'").replace("$2", "4243")),
        (
            "list50",
            sql.list.replace("$1", "'t042'").replace("$2", "450"),
        ),
    ] {
        let plan: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!("EXPLAIN {sql}")))
            .fetch_all(pool)
            .await
            .unwrap();
        println!("data: plan ({what}): {}", plan.join(" | "));
    }
}

/// Checks, for the first requests of the sequence, that the hand-written JSON equals the
/// service's rows and that every side finds what it should.
pub(crate) async fn check_same(env: &Env, sides: &[(&str, &Side)]) {
    let sql = Stmts::on(TABLE);
    let mut pick = Pick::new(0);
    for _ in 0..20 {
        let (k, id) = pick.get();
        let (_, offset) = pick.list();
        let t = &env.tenants[k];
        let svc = TenantTable::new(env.admin.clone(), env.items.clone(), t.clone());
        let want_get = svc.get(id).await.unwrap().expect("the row exists");
        assert_eq!(want_get["tenant_id"], t.as_str());
        let want_list = svc
            .list(Page::new(PAGE, offset).unwrap(), &[])
            .await
            .unwrap();
        assert_eq!(want_list.len(), PAGE as usize);
        let hand = &env.admin_pool;
        let got_get = json_row(
            &sqlx::query(sql.get)
                .bind(t.as_str())
                .bind(id)
                .fetch_one(hand)
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(got_get, want_get, "get: hand-written JSON differs");
        let got_list: Vec<Record> = sqlx::query(sql.list)
            .bind(t.as_str())
            .bind(offset as i64)
            .fetch_all(hand)
            .await
            .unwrap()
            .iter()
            .map(|r| json_row(r).unwrap())
            .collect();
        assert_eq!(got_list, want_list, "list: hand-written JSON differs");
        for (name, side) in sides {
            assert_eq!(side.get(t, id).await, 1, "{name}: get");
            assert_eq!(side.list(t, offset).await, PAGE as usize, "{name}: list");
        }
    }
}

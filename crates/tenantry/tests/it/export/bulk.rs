//! Imports into PostgreSQL go through `COPY ... FROM STDIN` (issue 16, item 5), still one
//! transaction and still every row checked: a row refused in the middle of a large `COPY`, by
//! the import's checks or by the server, leaves the table as it was; a table under row-level
//! security (where PostgreSQL refuses `COPY FROM`) is imported with `INSERT`s instead.

use std::fmt::Write as _;

use tenantry::{
    data::{DataStore, Ident},
    export::{self, ExportError, ExportRequest, ImportOptions, ImportSource, NoProgress},
};

use super::fidelity::exec;
use crate::data::database;

const ROWS: u64 = 50_000;

/// `ROWS` rows of `t1` as NDJSON, ids from 100, timestamps with 6 fraction digits (as the export
/// writes them); row `bad_at` (1-based), if any, gets `n: bad`.
fn rows(bad_at: Option<(u64, &str)>) -> String {
    let mut text = String::new();
    for i in 1..=ROWS {
        let n = match bad_at {
            Some((at, bad)) if at == i => bad.to_owned(),
            _ => (i % 1000).to_string(),
        };
        writeln!(
            text,
            r#"{{"id":{},"tenant_id":"t1","name":"row\t{i} \\ \"q\"\nnext","n":{n},"at":"2024-05-06T07:08:09.{:06}Z"}}"#,
            99 + i,
            (i * 1000 + 1) % 1_000_000
        )
        .unwrap();
    }
    text
}

async fn import(db: &DataStore, text: &str) -> Result<u64, ExportError> {
    let dir = std::env::temp_dir().join(crate::db::unique_name());
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("items.ndjson");
    std::fs::write(&file, text).unwrap();
    let admin = db.unscoped_admin("bulk test: import");
    let source = ImportSource::Table {
        table: Ident::new("items").unwrap(),
        tenant_field: Ident::new("tenant_id").unwrap(),
        input: Some(file),
    };
    let done = export::import(&admin, source, &ImportOptions::new("t1"), &NoProgress).await;
    std::fs::remove_dir_all(&dir).unwrap();
    done.map(|s| s.rows)
}

async fn count(db: &DataStore) -> i64 {
    let admin = db.unscoped_admin("bulk test: count");
    sqlx::query_scalar("SELECT count(*) FROM items")
        .fetch_one(admin.pool::<sqlx::Postgres>().unwrap())
        .await
        .unwrap()
}

const TABLE: &str = "CREATE TABLE items (id bigint PRIMARY KEY, tenant_id text NOT NULL,
    name text, n integer, at timestamptz);
    INSERT INTO items VALUES (1, 't1', 'kept', 1, now()), (2, 't2', 'kept', 2, now());";

#[tokio::test]
async fn a_bad_row_in_the_middle_of_a_large_copy_leaves_the_table_untouched() {
    let db = database("postgres").await;
    exec(&db, TABLE).await;
    // Refused by the import's own check, after 12 batches went to the server.
    let err = import(&db, &rows(Some((ROWS / 2, "\"not a number\""))))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("row 25000 of ")
            && err.ends_with(
                "is refused: column `n` must be an integer, not \"not a number\"; nothing was \
                 imported"
            ),
        "{err}"
    );
    assert_eq!(count(&db).await, 2);
    // Refused by the server (an integer beyond `integer`), found only when the COPY ends.
    let err = import(&db, &rows(Some((ROWS / 2, "3000000000"))))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("out of range for type integer"), "{err}");
    assert_eq!(count(&db).await, 2);
    // A row of another tenant near the end.
    let text = rows(None).replacen(
        &format!("\"id\":{},\"tenant_id\":\"t1\"", 99 + ROWS - 3),
        &format!("\"id\":{},\"tenant_id\":\"t2\"", 99 + ROWS - 3),
        1,
    );
    let err = import(&db, &text).await.unwrap_err().to_string();
    assert!(
        err.contains("belongs to tenant \"t2\", not \"t1\""),
        "{err}"
    );
    assert_eq!(count(&db).await, 2);

    // The good file goes in whole, and exports what it holds (text escapes, timestamps).
    assert_eq!(import(&db, &rows(None)).await.unwrap(), ROWS);
    assert_eq!(count(&db).await, 2 + ROWS as i64);
    let admin = db.unscoped_admin("bulk test: export");
    let mut req = ExportRequest::new(Ident::new("items").unwrap(), "t1");
    req.format = export::Format::Ndjson;
    let mut out = Vec::new();
    export::export_table(&admin, &req, &mut out, &NoProgress)
        .await
        .unwrap();
    let out = String::from_utf8(out).unwrap();
    let mut lines = out.lines();
    assert!(lines.next().unwrap().contains("\"name\":\"kept\""));
    let want = rows(None);
    for (n, (got, want)) in lines.zip(want.lines()).enumerate() {
        assert_eq!(got, want, "line {}", n + 2);
    }
    assert_eq!(out.lines().count() as u64, 1 + ROWS);
}

/// PostgreSQL refuses `COPY FROM` into a table whose row-level security applies to the role
/// importing: those rows go in with `INSERT`s, in the same transaction.
#[tokio::test]
async fn a_table_under_row_level_security_is_imported_with_inserts() {
    const ROLE: &str = "tenantry_test_rls_importer";
    let db = database("postgres").await;
    exec(
        &db,
        &format!(
            "DO $$ BEGIN CREATE ROLE {ROLE} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
             {TABLE}
             ALTER TABLE items OWNER TO {ROLE};
             ALTER TABLE items ENABLE ROW LEVEL SECURITY;
             ALTER TABLE items FORCE ROW LEVEL SECURITY;
             CREATE POLICY everything ON items USING (true) WITH CHECK (true);"
        ),
    )
    .await;
    let admin = db.unscoped_admin("bulk test: url");
    let name: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(admin.pool::<sqlx::Postgres>().unwrap())
        .await
        .unwrap();
    let admin_url = std::env::var("TENANTRY_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let (scheme, rest) = admin_url.split_once("://").unwrap();
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = host.split('/').next().unwrap();
    let as_owner = DataStore::connect(&format!("{scheme}://{ROLE}@{host}/{name}"))
        .await
        .unwrap();
    assert_eq!(import(&as_owner, &rows(None)).await.unwrap(), ROWS);
    assert_eq!(count(&db).await, 2 + ROWS as i64);
}

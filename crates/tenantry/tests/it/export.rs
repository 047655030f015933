//! `tenantry::export` through its API (the command line has its own tests): streaming into any
//! writer, progress through a `Reporter`, and an import that refuses another tenant's rows.

#![cfg(feature = "sqlite")]

use std::sync::{
    Mutex,
    atomic::{AtomicU64, Ordering},
};

use serde_json::{Value, json};
use tenantry::{
    data::{DataStore, Ident},
    export::{self, ExportError, ExportRequest, Format, ImportOptions, ImportSource, Reporter},
};

use crate::db::sqlite_url;

#[derive(Default)]
struct Recorder {
    started: Mutex<Vec<String>>,
    last_rows: AtomicU64,
    finished: AtomicU64,
}

impl Reporter for Recorder {
    fn start(&self, table: &str) {
        self.started.lock().unwrap().push(table.to_owned());
    }
    fn rows(&self, done: u64) {
        self.last_rows.store(done, Ordering::Relaxed);
    }
    fn finish(&self, _table: &str, rows: u64) {
        self.finished.store(rows, Ordering::Relaxed);
    }
}

async fn items(rows: u32) -> DataStore {
    let db = DataStore::connect(&sqlite_url().await).await.unwrap();
    let admin = db.unscoped_admin("test setup");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT, price REAL);
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {rows})
         INSERT INTO items (tenant_id, name, price)
         SELECT CASE i % 2 WHEN 0 THEN 't1' ELSE 't2' END, 'n' || i, i / 4.0 FROM c;"
    )))
    .execute(admin.pool::<sqlx::Sqlite>().unwrap())
    .await
    .unwrap();
    db
}

#[tokio::test]
async fn exports_into_any_writer_with_progress() {
    let db = items(10_000).await;
    let admin = db.unscoped_admin("export test");
    let recorder = Recorder::default();
    let mut out = Vec::new();
    let req = ExportRequest::new(Ident::new("items").unwrap(), "t1");
    let done = export::export_table(&admin, &req, &mut out, &recorder)
        .await
        .unwrap();
    assert_eq!(done.rows, 5_000);
    assert_eq!(done.bytes as usize, out.len());
    assert_eq!(done.order_by, ["id"]);
    assert_eq!(*recorder.started.lock().unwrap(), ["items"]);
    assert_eq!(recorder.last_rows.load(Ordering::Relaxed), 4096);
    assert_eq!(recorder.finished.load(Ordering::Relaxed), 5_000);
    let rows: Vec<Value> = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        rows[0],
        json!({"id": 2, "tenant_id": "t1", "name": "n2", "price": 0.5})
    );

    let mut req = req;
    req.format = Format::Ndjson;
    req.limit = Some(2);
    let mut out = Vec::new();
    export::export_table(&admin, &req, &mut out, &export::NoProgress)
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "{\"id\":2,\"tenant_id\":\"t1\",\"name\":\"n2\",\"price\":0.5}\n\
         {\"id\":4,\"tenant_id\":\"t1\",\"name\":\"n4\",\"price\":1.0}\n"
    );

    let req = ExportRequest::new(Ident::new("nosuch").unwrap(), "t1");
    let err = export::export_table(&admin, &req, Vec::new(), &export::NoProgress)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExportError::UnknownTable(ref t) if t == "nosuch"),
        "{err}"
    );
}

#[tokio::test]
async fn imports_a_clone_and_refuses_foreign_rows() {
    let db = items(10).await;
    let admin = db.unscoped_admin("import test");
    let dir = std::env::temp_dir().join(format!("tenantry-export-lib-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("t1.json");
    let req = ExportRequest::new(Ident::new("items").unwrap(), "t1");
    export::export_table_to_path(&admin, &req, &file, &export::NoProgress)
        .await
        .unwrap();

    let source = ImportSource::Table {
        table: Ident::new("items").unwrap(),
        tenant_field: Ident::new("tenant_id").unwrap(),
        input: Some(file.clone()),
    };
    let mut opts = ImportOptions::new("t1");
    opts.as_tenant = Some("t9".into());
    let summary = export::import(&admin, source.clone(), &opts, &export::NoProgress)
        .await
        .unwrap();
    assert_eq!(summary.rows, 5);
    assert_eq!(summary.tables[0].ids, Some(export::IdPolicy::New));

    // Claiming the rows are t2's: every row is refused, none is written.
    let err = export::import(
        &admin,
        source,
        &ImportOptions::new("t2"),
        &export::NoProgress,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ExportError::Refused(_)), "{err}");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM items")
        .fetch_one(admin.pool::<sqlx::Sqlite>().unwrap())
        .await
        .unwrap();
    assert_eq!(count, 15);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Rows are matched to columns by key, whatever their order or spelling: keys in another order
/// than the first row's, an escaped key, a repeated key (its last value counts, as in a map),
/// an escaped tenant; a row with other keys than the first is refused.
#[tokio::test]
async fn rows_are_read_by_key_in_any_order() {
    let db = items(0).await;
    let admin = db.unscoped_admin("import test");
    let dir = std::env::temp_dir().join(format!("tenantry-import-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let import = |text: &str, opts: ImportOptions| {
        let file = dir.join("rows.ndjson");
        std::fs::write(&file, text).unwrap();
        let source = ImportSource::Table {
            table: Ident::new("items").unwrap(),
            tenant_field: Ident::new("tenant_id").unwrap(),
            input: Some(file),
        };
        let admin = admin.clone();
        async move { export::import(&admin, source, &opts, &export::NoProgress).await }
    };
    let rows = r#"{"id": 100, "tenant_id": "t1", "name": "a", "price": 1.5}
{"price": 2.5, "name": "b", "tenant_id": "t1", "id": 101}
{"t\u0065nant_id": "t1", "id": 102, "name": "c\"q", "price": 3}
{"id": 103, "tenant_id": "t1", "name": "x", "price": 4, "name": "d"}
{"id": 104, "tenant_id": "t\u0031", "name": "e", "price": 5}
"#;
    assert_eq!(
        import(rows, ImportOptions::new("t1")).await.unwrap().rows,
        5
    );
    let mut clone = ImportOptions::new("t1");
    clone.as_tenant = Some("t9".into());
    assert_eq!(import(rows, clone).await.unwrap().rows, 5);
    let read: Vec<(String, String, f64)> =
        sqlx::query_as("SELECT tenant_id, name, price FROM items WHERE tenant_id IN ('t1', 't9') ORDER BY tenant_id, name")
            .fetch_all(admin.pool::<sqlx::Sqlite>().unwrap())
            .await
            .unwrap();
    let expected: Vec<(String, String, f64)> = ["t1", "t9"]
        .iter()
        .flat_map(|t| {
            [
                ("a", 1.5),
                ("b", 2.5),
                ("c\"q", 3.0),
                ("d", 4.0),
                ("e", 5.0),
            ]
            .map(|(n, p)| ((*t).to_owned(), n.to_owned(), p))
        })
        .collect();
    assert_eq!(read, expected);

    for other in [
        r#"{"id": 201, "tenant_id": "t1", "name": "f"}"#,
        r#"{"id": 201, "tenant_id": "t1", "name": "f", "cost": 6}"#,
        r#"{"id": 201, "tenant_id": "t1", "name": "f", "price": 6, "cost": 6}"#,
    ] {
        let text = format!(
            "{{\"id\": 200, \"tenant_id\": \"t1\", \"name\": \"z\", \"price\": 1}}\n{other}\n"
        );
        let err = import(&text, ImportOptions::new("t1")).await.unwrap_err();
        assert!(
            err.to_string()
                .ends_with("rows.ndjson: row 2 does not have the same columns as row 1"),
            "{other}: {err}"
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM items WHERE tenant_id = 't1'")
        .fetch_one(admin.pool::<sqlx::Sqlite>().unwrap())
        .await
        .unwrap();
    assert_eq!(count, 5);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "postgres")]
mod bulk;
mod fidelity;
mod restore;

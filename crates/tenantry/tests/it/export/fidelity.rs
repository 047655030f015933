//! What goes out comes back (issue 11, items 5 and 6): export → import → export is byte for byte
//! the same on each backend and between every pair of backends, for every column type the
//! export documents; a value that does not fit its column is refused naming its row and column,
//! on every backend, before anything is written; and a stored value that the data layer cannot
//! read answers a problem naming the column, not a bare 500.

use serde_json::json;
use tenantry::{
    data::{Backend, DataError, DataStore, Ident, Page},
    export::{self, ExportError, ExportRequest, ImportOptions, ImportSource, NoProgress},
};

use crate::data::{Fixture, database, on_every_backend, row};

/// The backends compiled in.
pub(super) fn backends() -> Vec<&'static str> {
    let mut out = Vec::new();
    if cfg!(feature = "sqlite") {
        out.push("sqlite");
    }
    if cfg!(feature = "postgres") {
        out.push("postgres");
    }
    if cfg!(feature = "mysql") {
        out.push("mysql");
    }
    out
}

/// Runs `sql` (several statements) as the administrator.
pub(super) async fn exec(db: &DataStore, sql: &str) {
    let admin = db.unscoped_admin("fidelity test: setup");
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match db.backend() {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => {
            sqlx::raw_sql(sql)
                .execute(admin.pool::<sqlx::Sqlite>().unwrap())
                .await
                .unwrap();
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            sqlx::raw_sql(sql)
                .execute(admin.pool::<sqlx::Postgres>().unwrap())
                .await
                .unwrap();
        }
        #[cfg(feature = "mysql")]
        Backend::MySql => {
            sqlx::raw_sql(sql)
                .execute(admin.pool::<sqlx::MySql>().unwrap())
                .await
                .unwrap();
        }
        #[allow(unreachable_patterns)]
        other => panic!("{other} is not compiled in"),
    }
}

pub(super) async fn export_of(db: &DataStore, table: &str, tenant: &str) -> String {
    let admin = db.unscoped_admin("fidelity test: export");
    let mut out = Vec::new();
    let req = ExportRequest::new(Ident::new(table).unwrap(), tenant);
    export::export_table(&admin, &req, &mut out, &NoProgress)
        .await
        .unwrap();
    String::from_utf8(out).unwrap()
}

/// Imports `text` (one table's export) into `table` for tenant `t1`.
pub(super) async fn import_text(
    db: &DataStore,
    table: &str,
    text: &str,
) -> Result<u64, ExportError> {
    let dir = std::env::temp_dir().join(crate::db::unique_name());
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{table}.json"));
    std::fs::write(&file, text).unwrap();
    let admin = db.unscoped_admin("fidelity test: import");
    let source = ImportSource::Table {
        table: Ident::new(table).unwrap(),
        tenant_field: Ident::new("tenant_id").unwrap(),
        input: Some(file),
    };
    let done = export::import(&admin, source, &ImportOptions::new("t1"), &NoProgress).await;
    std::fs::remove_dir_all(&dir).unwrap();
    done.map(|s| s.rows)
}

/// One column of every type the export documents, in each backend's spelling.
pub(super) fn kinds_table(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => {
            "CREATE TABLE kinds (id bigint PRIMARY KEY, tenant_id text NOT NULL, i bigint,
             f double precision, flag boolean, note text, amount numeric(20, 4), u uuid,
             at timestamptz, naive timestamp, d date, t time, b bytea, j jsonb, js json)"
        }
        Backend::MySql => {
            "CREATE TABLE kinds (id BIGINT PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL, i BIGINT,
             f DOUBLE, flag BOOLEAN, note TEXT, amount DECIMAL(20, 4), u CHAR(36),
             at TIMESTAMP(6) NULL, naive DATETIME(6), d DATE, t TIME(6), b VARBINARY(64),
             j JSON, js JSON) CHARACTER SET utf8mb4"
        }
        // SQLite holds decimals exactly only as text.
        _ => {
            "CREATE TABLE kinds (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, i INTEGER,
             f REAL, flag BOOLEAN, note TEXT, amount TEXT, u UUID, at TIMESTAMP, naive DATETIME,
             d DATE, t TIME, b BLOB, j JSON, js JSON)"
        }
    }
}

/// The export every backend writes for the rows it imported from this very text: JSON as
/// stored (a `json` column's key order and spacing), a JSON `null` (`{"$json":null}`) apart
/// from SQL `NULL`, an object whose only key is `$json` wrapped likewise, timestamps in RFC
/// 3339 (zone-less ones too), bytes in base64, decimals as their exact text.
pub(super) const KINDS: &str = concat!(
    "[\n",
    r#"{"id":1,"tenant_id":"t1","i":-9223372036854775808,"f":0.1,"flag":true,"#,
    r#""note":"multi\nline \"q\" \\ é ✓","amount":"12345.6789","#,
    r#""u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","at":"2024-05-06T07:08:09.123456Z","#,
    r#""naive":"2024-05-06T07:08:09.500Z","d":"2024-05-06","t":"23:59:59.250","b":"AP8Q","#,
    r#""j":{"a": [1, 2, {"b": null}], "z": "é\"x"},"js":{"z":1,  "a" : [ 2,1 ],"b":{}}},"#,
    "\n",
    r#"{"id":2,"tenant_id":"t1","i":9223372036854775807,"f":-2.5,"flag":false,"note":"","#,
    r#""amount":"-0.5000","u":"00000000-0000-0000-0000-000000000000","#,
    r#""at":"1999-12-31T23:59:59Z","naive":"2038-01-19T03:14:07.000001Z","d":"1000-01-01","#,
    r#""t":"00:00:00","b":"","j":{"$json":null},"js":{"$json":{"$json": 1}}},"#,
    "\n",
    r#"{"id":3,"tenant_id":"t1","i":null,"f":null,"flag":null,"note":null,"amount":null,"#,
    r#""u":null,"at":null,"naive":null,"d":null,"t":null,"b":null,"j":null,"js":null}"#,
    "\n]\n"
);

/// Every backend exports [`KINDS`] exactly after importing it; and each one's export, imported
/// into every backend (itself included), exports the same bytes again.
#[tokio::test]
async fn every_type_round_trips_byte_for_byte_between_every_pair_of_backends() {
    for from in backends() {
        let source = database(from).await;
        exec(&source, kinds_table(source.backend())).await;
        assert_eq!(
            import_text(&source, "kinds", KINDS).await.unwrap(),
            3,
            "{from}"
        );
        let out = export_of(&source, "kinds", "t1").await;
        assert_eq!(out, KINDS, "{from} does not export what it imported");
        for to in backends() {
            let target = database(to).await;
            exec(&target, kinds_table(target.backend())).await;
            import_text(&target, "kinds", &out)
                .await
                .unwrap_or_else(|e| panic!("{from} -> {to}: {e}"));
            assert_eq!(
                export_of(&target, "kinds", "t1").await,
                out,
                "{from} -> {to}"
            );
        }
    }
}

/// The demo's items (integer ids, text, a timestamp written by the data layer) move between
/// every pair of backends unchanged; MariaDB wrote its `datetime` without an offset and
/// refused an RFC 3339 timestamp.
#[tokio::test]
async fn data_layer_rows_move_between_every_pair_of_backends() {
    for from in backends() {
        let f = Fixture::new(database(from).await, "items").await;
        f.item("t1", "Anvil", "ANV-1").await;
        f.service("t1")
            .create(row(
                json!({"name": "Rope", "sku": "R-2", "price_cents": 250, "note": "ø"}),
            ))
            .await
            .unwrap();
        let out = export_of(&f.db, "items", "t1").await;
        assert!(out.contains("Z\"}"), "{from}: RFC 3339 timestamps: {out}");
        for to in backends() {
            let g = Fixture::new(database(to).await, "items").await;
            import_text(&g.db, "items", &out)
                .await
                .unwrap_or_else(|e| panic!("{from} -> {to}: {e}"));
            assert_eq!(export_of(&g.db, "items", "t1").await, out, "{from} -> {to}");
            // And the data layer reads what came in.
            let rows = g.service("t1").list(Page::default(), &[]).await.unwrap();
            assert_eq!(rows.len(), 2, "{from} -> {to}");
        }
    }
}

/// A SQLite column declared BLOB that holds text: exported as base64 of its bytes (it was a
/// string that import then refused, naming no row), so it comes back, on SQLite and elsewhere.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_text_in_a_blob_column_round_trips() {
    let db = database("sqlite").await;
    exec(
        &db,
        "CREATE TABLE blobs (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, b BLOB);
         INSERT INTO blobs VALUES (1, 't1', 'text in a blob'), (2, 't1', x'00ff');",
    )
    .await;
    let out = export_of(&db, "blobs", "t1").await;
    assert_eq!(
        out,
        "[\n{\"id\":1,\"tenant_id\":\"t1\",\"b\":\"dGV4dCBpbiBhIGJsb2I=\"},\n\
         {\"id\":2,\"tenant_id\":\"t1\",\"b\":\"AP8=\"}\n]\n"
    );
    for to in backends() {
        let target = database(to).await;
        let ddl = match target.backend() {
            Backend::Postgres => {
                "CREATE TABLE blobs (id bigint PRIMARY KEY, tenant_id text, b bytea)"
            }
            Backend::MySql => {
                "CREATE TABLE blobs (id BIGINT PRIMARY KEY, tenant_id VARCHAR(64), b BLOB)"
            }
            _ => "CREATE TABLE blobs (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, b BLOB)",
        };
        exec(&target, ddl).await;
        import_text(&target, "blobs", &out).await.unwrap();
        assert_eq!(
            export_of(&target, "blobs", "t1").await,
            out,
            "sqlite -> {to}"
        );
    }
}

mod mistyped_values_are_refused_naming_row_and_column {
    use super::*;
    on_every_backend!(super::mistyped_suite);
}

/// `"not a number"` for an integer, `"yesterday"` for a timestamp, and the rest of the
/// checks: each refused with its row and column, nothing written, on every backend.
async fn mistyped_suite(db: DataStore) {
    let f = Fixture::new(db.clone(), "items").await;
    let good = r#"{"id":1,"tenant_id":"t1","name":"Anvil","sku":"A","price_cents":100,"note":null,"created_at":"2024-05-06T07:08:09Z"}"#;
    let cases = [
        (
            r#""price_cents":"not a number""#,
            "column `price_cents` must be an integer, not \"not a number\"",
        ),
        (
            r#""created_at":"yesterday""#,
            "column `created_at` must be an RFC 3339 timestamp, not \"yesterday\"",
        ),
        (r#""name":42"#, "column `name` must be a string, not 42"),
        (
            r#""price_cents":1.5"#,
            "column `price_cents` must be an integer, not 1.5",
        ),
    ];
    for (bad, why) in cases {
        let key = &bad[..bad.find(':').unwrap()];
        let second = good
            .replace("\"id\":1", "\"id\":2")
            .replace("\"sku\":\"A\"", "\"sku\":\"B\"");
        let start = second.find(key).unwrap();
        let end = start + second[start..].find([',', '}']).unwrap();
        let second = format!("{}{bad}{}", &second[..start], &second[end..]);
        let text = format!("[\n{good},\n{second}\n]\n");
        let err = import_text(&db, "items", &text).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ExportError::Refused(_)), "{msg}");
        assert!(msg.starts_with("row 2 of "), "{msg}");
        assert!(msg.contains(why), "{msg}");
        assert!(msg.ends_with("nothing was imported"), "{msg}");
        assert_eq!(f.service("t1").count().await.unwrap(), 0, "{bad}");
    }
    // The good row alone goes in, and reads back.
    let text = format!("[\n{good}\n]\n");
    assert_eq!(import_text(&db, "items", &text).await.unwrap(), 1);
    let got = f.service("t1").get(1).await.unwrap().unwrap();
    assert_eq!(got["created_at"], "2024-05-06T07:08:09Z");
    assert_eq!(got["price_cents"], 100);
}

/// A row stored before import checked values (an older table on SQLite, which keeps whatever
/// it is given): the list and the get answer `stored_value_invalid` naming the column, the
/// other operations still work, and the router answers a problem+json saying the same.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_stored_value_that_does_not_decode_names_its_column() {
    let db = database("sqlite").await;
    let f = Fixture::new(db.clone(), "items").await;
    let id = f.item("t1", "Anvil", "A").await;
    exec(
        &db,
        "INSERT INTO items (tenant_id, name, sku, price_cents, created_at)
         VALUES ('t1', 'Bad', 'B', 'not a number', '2024-05-06T07:08:09Z'),
                ('t2', 'Late', 'C', 1, 'yesterday')",
    )
    .await;
    let err = f
        .service("t1")
        .list(Page::default(), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DataError::StoredValueInvalid { column, .. } if column == "price_cents"),
        "{err:?}"
    );
    assert_eq!(err.status(), 500);
    assert_eq!(err.code().as_str(), "stored_value_invalid");
    assert_eq!(
        err.to_string(),
        "a stored value in column `price_cents` is not a valid integer; the row needs repair"
    );
    let err = f.service("t2").get(3).await.unwrap_err();
    assert!(
        matches!(&err, DataError::StoredValueInvalid { column, expected: "timestamp" } if column == "created_at"),
        "{err:?}"
    );
    // The good row still reads; the bad one can still be deleted.
    assert_eq!(
        f.service("t1").get(id).await.unwrap().unwrap()["name"],
        "Anvil"
    );
    f.service("t1").delete(id + 1).await.unwrap();
    assert_eq!(
        f.service("t1")
            .list(Page::default(), &[])
            .await
            .unwrap()
            .len(),
        1
    );

    #[cfg(feature = "crud")]
    {
        use http_body_util::BodyExt as _;
        use tower::{Layer as _, ServiceExt as _};

        let router = tenantry::crud::Crud::new(db.clone(), f.resource.clone())
            .at("/items")
            .unwrap()
            .router();
        let catalog = tenantry::catalog::MemoryCatalog::with_active(
            ["t2"].map(|t| tenantry::TenantId::parse(t).unwrap()),
        );
        let app = tenantry::TenancyLayer::builder()
            .resolver(tenantry::resolve::HeaderResolver::x_tenant_id())
            .catalog(tenantry::catalog::Catalog::new(catalog))
            .trusted_gateway(true)
            .build()
            .layer(router);
        let req = http::Request::get("/items")
            .header("x-tenant-id", "t2")
            .body(axum::body::Body::empty())
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), 500);
        assert_eq!(
            res.headers()["content-type"],
            tenantry::problem::PROBLEM_JSON
        );
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "stored_value_invalid", "{body}");
        assert_eq!(body["status"], 500);
        assert_eq!(
            body["detail"],
            "a stored value in column `created_at` is not a valid timestamp; the row needs repair"
        );
        assert_eq!(body["instance"], "/items");
    }
}

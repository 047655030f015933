//! `tenantry sql import-tenant`: export, import under `--as-tenant`, export again, compare; and
//! every refusal leaves the tables as they were.

use serde_json::{Value, json};

use crate::{
    dbs::*,
    support::{TempDir, run},
};

fn parse(text: &str) -> Vec<Value> {
    match serde_json::from_str(text) {
        Ok(Value::Array(rows)) => rows,
        other => panic!("not a JSON array ({other:?}): {text}"),
    }
}

/// Rows without the fields that differ between a tenant and its clone.
fn strip(rows: Vec<Value>, fields: &[&str]) -> Vec<Value> {
    rows.into_iter()
        .map(|mut r| {
            for f in fields {
                r.as_object_mut().unwrap().remove(*f);
            }
            r
        })
        .collect()
}

/// Exports `table` of `from`, imports it as `to`, exports `to`: same rows but ids and tenant.
/// Returns the first export.
fn round_trip(url: &str, dir: &TempDir, table: &str, from: &str, to: &str) -> Vec<Value> {
    let file = dir.0.join(format!("{table}-{from}.json"));
    let file = file.to_str().unwrap();
    assert_ok(&sql_on(
        url,
        &[
            "sql",
            "export-tenant",
            table,
            "--tenant-id",
            from,
            "-o",
            file,
        ],
    ));
    let out = sql_on(
        url,
        &[
            "sql",
            "import-tenant",
            table,
            "--tenant-id",
            from,
            "--as-tenant",
            to,
            "-i",
            file,
            "--json",
        ],
    );
    let summary: Value = serde_json::from_str(&assert_ok(&out)).unwrap();
    let exported = parse(&std::fs::read_to_string(file).unwrap());
    assert_eq!(summary["rows"], exported.len(), "{summary}");
    assert_eq!(summary["imported_as"], to);
    let again = parse(&assert_ok(&sql_on(
        url,
        &["sql", "export-tenant", table, "--tenant-id", to],
    )));
    assert_eq!(
        strip(again.clone(), &["id", "tenant_id"]),
        strip(exported.clone(), &["id", "tenant_id"]),
        "{table} on {url}"
    );
    assert!(again.iter().all(|r| r["tenant_id"] == to));
    exported
}

const PG_TABLE: &str = r#"
CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE TABLE things (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL,
    at timestamptz, naive timestamp, d date, t time,
    amount numeric(30, 10), huge numeric, u uuid, j jsonb, js json, b bytea, flag boolean,
    i2 smallint, i4 integer, f4 real, f8 double precision, note text, c char(3), vc varchar(10),
    arr integer[], iv interval, m mood, twice integer GENERATED ALWAYS AS (i4 * 2) STORED
);
INSERT INTO things (tenant_id, at, naive, d, t, amount, huge, u, j, js, b, flag, i2, i4, f4, f8, note, c, vc, arr, iv, m) VALUES
 ('t1', '2024-05-06 07:08:09.123456+02', '2024-05-06 07:08:09.5', '2024-05-06', '23:59:59.999999',
  12345678901234567890.0123456789, 'NaN', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"a": [1, 2, {"b": null}], "z": "é\"x"}', '{"k": 1}', '\x00ff10', true, -32768, 1000000000,
  0.1, 1e308, E'multi\nline "quoted" \\ text', 'ab', 'xyz', '{1,2,3}', '1 day 02:03:04', 'sad'),
 ('t1', NULL, NULL, NULL, NULL, 0.5, '-1e-30', NULL, '[]', 'null', '', false, NULL, NULL,
  'Infinity', '-Infinity', '', NULL, NULL, '{}', NULL, NULL),
 ('t1', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 ('t2', now(), NULL, NULL, NULL, 1, 2, NULL, '{}', NULL, NULL, NULL, 1, 1, 1, 1, 'other', 'x', 'y', NULL, NULL, 'ok');
"#;

/// Every type of the issue on PostgreSQL (timestamptz, numeric, uuid, jsonb, bytea, bool, nulls,
/// and more) survives export and import under `--as-tenant`.
#[test]
fn postgres_all_types_round_trip_as_another_tenant() {
    let dir = TempDir::new();
    let url = postgres_url();
    exec(&url, PG_TABLE);
    let rows = round_trip(&url, &dir, "things", "t1", "t3");
    assert_eq!(rows.len(), 3);
    let r = &rows[0];
    assert_eq!(r["at"], "2024-05-06T05:08:09.123456Z");
    // Zone-less timestamps in RFC 3339 too, read as UTC (issue 11, item 6).
    assert_eq!(r["naive"], "2024-05-06T07:08:09.500Z");
    assert_eq!(r["d"], "2024-05-06");
    assert_eq!(r["t"], "23:59:59.999999");
    assert_eq!(r["amount"], "12345678901234567890.0123456789");
    assert_eq!(r["huge"], "NaN");
    assert_eq!(r["u"], "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    assert_eq!(r["j"], json!({"a": [1, 2, {"b": null}], "z": "é\"x"}));
    assert_eq!(r["b"], "AP8Q");
    assert_eq!(r["flag"], true);
    assert_eq!(r["i2"], -32768);
    assert_eq!(r["f4"], json!(0.1));
    assert_eq!(r["f8"], json!(1e308));
    assert_eq!(r["note"], "multi\nline \"quoted\" \\ text");
    assert_eq!(r["c"], "ab ");
    assert_eq!(r["arr"], "{1,2,3}");
    assert_eq!(r["iv"], "1 day 02:03:04");
    assert_eq!(r["m"], "sad");
    assert_eq!(r["twice"], 2_000_000_000);
    assert_eq!(rows[1]["f4"], "Infinity");
    assert_eq!(rows[1]["huge"], "-0.000000000000000000000000000001");
    assert_eq!(rows[1]["amount"], "0.5000000000");
    assert_eq!(rows[1]["b"], "");
    assert_eq!(rows[1]["arr"], "{}");
    // A JSON null is not SQL NULL, and survives the clone as one (issue 11, item 6).
    assert_eq!(rows[1]["js"], json!({"$json": null}));
    assert_eq!(
        scalar(
            &url,
            "SELECT count(*) FROM things WHERE tenant_id = 't3' AND js IS NOT NULL AND js::text = 'null'"
        ),
        1
    );
    assert!(
        rows[2]
            .as_object()
            .unwrap()
            .iter()
            .all(|(k, v)| ["id", "tenant_id"].contains(&k.as_str()) || v.is_null())
    );
    // New ids for the clone, after the originals'.
    assert_eq!(
        scalar(
            &url,
            "SELECT count(*) FROM things WHERE tenant_id = 't3' AND id > 4"
        ),
        3
    );
    assert_eq!(scalar(&url, "SELECT count(*) FROM things"), 7);
}

/// Ids kept (a restore into another database): the id sequence moves past them, so the next
/// insert does not collide.
#[test]
fn postgres_restore_keeps_ids_and_moves_the_sequence() {
    let dir = TempDir::new();
    let (from, to) = (postgres_url(), postgres_url());
    exec(&from, PG_TABLE);
    exec(&to, PG_TABLE.split("INSERT").next().unwrap());
    let file = dir.0.join("t1.json");
    let file = file.to_str().unwrap();
    assert_ok(&sql_on(
        &from,
        &[
            "sql",
            "export-tenant",
            "things",
            "--tenant-id",
            "t1",
            "-o",
            file,
        ],
    ));
    let out = sql_on(
        &to,
        &[
            "sql",
            "import-tenant",
            "things",
            "--tenant-id",
            "t1",
            "-i",
            file,
        ],
    );
    assert_ok(&out);
    let said = messages(&out).join("\n");
    assert!(
        said.contains("imported 3 rows into things for tenant t1, ids kept"),
        "{said}"
    );
    assert_eq!(
        assert_ok(&sql_on(
            &to,
            &["sql", "export-tenant", "things", "--tenant-id", "t1"]
        )),
        std::fs::read_to_string(file).unwrap()
    );
    exec(&to, "INSERT INTO things (tenant_id) VALUES ('t1')");
    assert_eq!(scalar(&to, "SELECT max(id) FROM things"), 4);

    // The same again collides on the ids: refused, nothing imported.
    let out = sql_on(
        &to,
        &[
            "sql",
            "import-tenant",
            "things",
            "--tenant-id",
            "t1",
            "-i",
            file,
        ],
    );
    assert_fails(&out, 1, "duplicate key");
    assert_eq!(scalar(&to, "SELECT count(*) FROM things"), 4);

    // --keep-ids with --as-tenant keeps them even for a clone (here: into yet another database).
    let third = postgres_url();
    exec(&third, PG_TABLE.split("INSERT").next().unwrap());
    let out = sql_on(
        &third,
        &[
            "sql",
            "import-tenant",
            "things",
            "--tenant-id",
            "t1",
            "--as-tenant",
            "t9",
            "--keep-ids",
            "-i",
            file,
        ],
    );
    assert_ok(&out);
    assert_eq!(
        scalar(
            &third,
            "SELECT CAST(sum(id) AS BIGINT) FROM things WHERE tenant_id = 't9'"
        ),
        1 + 2 + 3
    );
}

const SQLITE_TABLE: &str = r#"
CREATE TABLE things (
    id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, n INTEGER, r REAL, price NUMERIC,
    flag BOOLEAN, data BLOB, meta JSON, at DATETIME, note TEXT, anything
);
INSERT INTO things (tenant_id, n, r, price, flag, data, meta, at, note, anything) VALUES
 ('t1', 9223372036854775807, 0.1, 12.5, 1, x'00ff10', '{"k": [1, {"x": null}]}', '2024-05-06T07:08:09.5Z', 'é "q" \ x', 42),
 ('t1', -1, 1e300, 3, 0, x'', '[]', '2024-05-06', '', 'text'),
 ('t1', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 ('t2', 1, 1, 1, 1, NULL, NULL, NULL, 'other', NULL);
"#;

#[test]
fn sqlite_types_round_trip_as_another_tenant() {
    let dir = TempDir::new();
    let url = sqlite_url(&dir);
    exec(&url, SQLITE_TABLE);
    let rows = round_trip(&url, &dir, "things", "t1", "t3");
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0],
        json!({
            "id": 1, "tenant_id": "t1", "n": 9223372036854775807_i64, "r": 0.1, "price": 12.5,
            "flag": true, "data": "AP8Q", "meta": {"k": [1, {"x": null}]},
            "at": "2024-05-06T07:08:09.500Z", "note": "é \"q\" \\ x", "anything": 42
        })
    );
    assert_eq!(rows[1]["flag"], false);
    assert_eq!(rows[1]["data"], "");
    assert_eq!(rows[1]["meta"], json!([]));
    assert_eq!(scalar(&url, "SELECT count(*) FROM things"), 7);
    assert_eq!(
        scalar(&url, "SELECT min(id) FROM things WHERE tenant_id = 't3'"),
        5,
        "new ids"
    );
}

const MARIADB_TABLE: &str = r#"
CREATE TABLE things (
    id BIGINT AUTO_INCREMENT PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL,
    at TIMESTAMP(6) NULL, naive DATETIME(6), d DATE, t TIME(6), y YEAR,
    amount DECIMAL(30, 10), u CHAR(36), j JSON, b VARBINARY(16), bl BLOB, flag BOOLEAN,
    i8 TINYINT, u4 INT UNSIGNED, ub BIGINT UNSIGNED, f4 FLOAT, f8 DOUBLE, note TEXT,
    e ENUM('x', 'y'), s SET('a', 'b'), twice INT AS (i8 * 2) STORED
);
INSERT INTO things (tenant_id, at, naive, d, t, y, amount, u, j, b, bl, flag, i8, u4, ub, f4, f8, note, e, s) VALUES
 ('t1', '2024-05-06 07:08:09.123456', '2024-05-06 07:08:09.5', '2024-05-06', '-838:59:59', 2024,
  12345678901234567890.0123456789, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2, {"b": null}]}',
  x'00ff10', x'', true, -128, 4294967295, 18446744073709551615, 0.1, 1e308, 'multi\nline "q"', 'y', 'a,b'),
 ('t1', NULL, NULL, NULL, '12:00:00', NULL, -0.5, NULL, '"just a string"', NULL, NULL, false, NULL, NULL, NULL, NULL, NULL, '', NULL, ''),
 ('t1', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 ('t2', NULL, NULL, NULL, NULL, NULL, 1, NULL, '[]', NULL, NULL, false, 1, 1, 1, 1, 1, 'other', 'x', '');
"#;

#[test]
fn mariadb_types_round_trip_as_another_tenant() {
    let dir = TempDir::new();
    let url = mysql_url();
    exec(&url, MARIADB_TABLE);
    let rows = round_trip(&url, &dir, "things", "t1", "t3");
    assert_eq!(rows.len(), 3);
    let r = &rows[0];
    assert_eq!(r["at"], "2024-05-06T07:08:09.123456Z");
    assert_eq!(r["naive"], "2024-05-06T07:08:09.500Z");
    assert_eq!(r["t"], "-838:59:59");
    assert_eq!(r["y"], 2024);
    assert_eq!(r["amount"], "12345678901234567890.0123456789");
    assert_eq!(r["j"], json!({"a": [1, 2, {"b": null}]}));
    assert_eq!(r["b"], "AP8Q");
    assert_eq!(r["flag"], true);
    assert_eq!(r["ub"], json!(18446744073709551615_u64));
    assert_eq!(r["e"], "y");
    assert_eq!(r["s"], "a,b");
    assert_eq!(r["twice"], -256);
    assert_eq!(rows[1]["j"], "just a string");
    assert_eq!(scalar(&url, "SELECT count(*) FROM things"), 7);
}

/// A directory export goes back in as a whole, with its manifest checked.
#[test]
fn a_directory_imports_in_one_transaction_and_is_checked() {
    let dir = TempDir::new();
    let url = postgres_url();
    exec(
        &url,
        "CREATE TABLE items (id serial PRIMARY KEY, tenant_id text NOT NULL, name text);
         CREATE TABLE notes (tenant_id text NOT NULL, body text);
         INSERT INTO items (tenant_id, name) VALUES ('t1', 'a'), ('t2', 'b'), ('t1', 'c');
         INSERT INTO notes VALUES ('t1', 'n1'), ('t2', 'n2');",
    );
    let out_dir = dir.0.join("export");
    let d = out_dir.to_str().unwrap();
    assert_ok(&sql_on(
        &url,
        &[
            "sql",
            "export-tenant",
            "--all-tables",
            "--tenant-id",
            "t1",
            "-o",
            d,
        ],
    ));

    let out = sql_on(
        &url,
        &[
            "sql",
            "import-tenant",
            d,
            "--tenant-id",
            "t1",
            "--as-tenant",
            "t5",
            "--json",
        ],
    );
    let summary: Value = serde_json::from_str(&assert_ok(&out)).unwrap();
    assert_eq!(summary["rows"], 3);
    assert_eq!(summary["tables"][0]["table"], "items");
    assert_eq!(summary["tables"][0]["ids"], "new");
    assert_eq!(summary["tables"][1]["ids"], Value::Null);
    assert_eq!(
        scalar(&url, "SELECT count(*) FROM items WHERE tenant_id = 't5'"),
        2
    );
    assert_eq!(
        scalar(&url, "SELECT count(*) FROM notes WHERE tenant_id = 't5'"),
        1
    );

    // The wrong tenant, a changed file, a wrong count: refused, nothing imported.
    let out = sql_on(
        &url,
        &[
            "sql",
            "import-tenant",
            d,
            "--tenant-id",
            "t2",
            "--as-tenant",
            "t6",
        ],
    );
    assert_fails(&out, 1, "holds tenant \"t1\", not \"t2\"");
    let notes = out_dir.join("notes.json");
    let original = std::fs::read_to_string(&notes).unwrap();
    std::fs::write(&notes, original.replace("n1", "N1")).unwrap();
    let out = sql_on(
        &url,
        &[
            "sql",
            "import-tenant",
            d,
            "--tenant-id",
            "t1",
            "--as-tenant",
            "t6",
        ],
    );
    assert_fails(&out, 1, "does not match its SHA-256");
    let manifest_path = out_dir.join("manifest.json");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap();
    std::fs::write(&notes, &original).unwrap();
    std::fs::write(
        &manifest_path,
        manifest.replacen("\"rows\": 1", "\"rows\": 2", 1),
    )
    .unwrap();
    let out = sql_on(
        &url,
        &[
            "sql",
            "import-tenant",
            d,
            "--tenant-id",
            "t1",
            "--as-tenant",
            "t6",
        ],
    );
    assert_fails(&out, 1, "the manifest says 2");
    // items (first in the manifest) had gone in before notes failed: rolled back with it.
    assert_eq!(
        scalar(&url, "SELECT count(*) FROM items WHERE tenant_id = 't6'"),
        0
    );
    assert_eq!(
        scalar(&url, "SELECT count(*) FROM notes WHERE tenant_id = 't6'"),
        0
    );
}

#[test]
fn refusals_import_nothing() {
    let dir = TempDir::new();
    let url = sqlite_url(&dir);
    exec(
        &url,
        "CREATE TABLE items (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT);
         INSERT INTO items (tenant_id, name) VALUES ('t1', 'a');",
    );
    let write = |name: &str, text: &str| {
        let p = dir.0.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let count = || scalar(&url, "SELECT count(*) FROM items");
    // `sql import-tenant items --tenant-id t1 -i FILE`: each refusal below is of this call.
    let import_t1 = |file: &str| {
        sql_on(
            &url,
            &[
                "sql",
                "import-tenant",
                "items",
                "--tenant-id",
                "t1",
                "-i",
                file,
            ],
        )
    };

    // A row of another tenant, after rows that went in: refused, all rolled back.
    let mixed = write(
        "mixed.ndjson",
        "{\"id\": 10, \"tenant_id\": \"t1\", \"name\": \"x\"}\n{\"id\": 11, \"tenant_id\": \"t2\", \"name\": \"y\"}\n",
    );
    let out = import_t1(&mixed);
    assert_fails(&out, 1, "row 2 of");
    assert!(
        messages(&out)[0].contains("belongs to tenant \"t2\", not \"t1\"; nothing was imported")
    );
    assert_eq!(count(), 1);

    // A value of the wrong type (SQLite would have stored it): refused, naming the row and
    // the column (issue 11, item 5).
    let mistyped = write(
        "mistyped.json",
        r#"[{"id": 12, "tenant_id": "t1", "name": "ok"}, {"id": 13, "tenant_id": "t1", "name": "ok"},
            {"id": "thirteen", "tenant_id": "t1", "name": "z"}]"#,
    );
    let out = import_t1(&mistyped);
    assert_fails(&out, 1, "row 3 of");
    assert!(
        messages(&out)[0].contains(
            "is refused: column `id` must be an integer, not \"thirteen\"; nothing was imported"
        ),
        "{:?}",
        messages(&out)
    );
    assert_eq!(count(), 1);

    let unknown = write(
        "unknown.json",
        r#"[{"id": 12, "tenant_id": "t1", "colour": "red"}]"#,
    );
    let out = import_t1(&unknown);
    assert_fails(&out, 1, "table `items` has no column `colour`");

    let broken = write(
        "broken.json",
        r#"[{"id": 12, "tenant_id": "t1", "name": "z"}, {"id": "#,
    );
    let out = import_t1(&broken);
    assert_fails(&out, 1, "broken.json");
    assert_eq!(count(), 1);

    let dup = write(
        "dup.json",
        r#"[{"id": 1, "tenant_id": "t1", "name": "again"}]"#,
    );
    let out = import_t1(&dup);
    assert_fails(&out, 1, "UNIQUE constraint failed");
    assert_eq!(count(), 1);

    // Usage: a file name where the table goes, a hostile table name, no URL.
    let out = sql_on(&url, &["sql", "import-tenant", &dup, "--tenant-id", "t1"]);
    assert_fails(&out, 2, "--input");
    let out = sql_on(
        &url,
        &[
            "sql",
            "import-tenant",
            "items; drop table items",
            "--tenant-id",
            "t1",
            "-i",
            &dup,
        ],
    );
    assert_fails(&out, 2, "not a plain SQL identifier");
    // No URL: the demo's database, which is not in this directory (and is not created).
    let out = run(sql(&[
        "sql",
        "import-tenant",
        "items",
        "--tenant-id",
        "t1",
        "-i",
        &dup,
    ])
    .current_dir(&dir.0));
    assert_fails(&out, 1, "the file tenantry-demo.db does not exist");
    assert!(!dir.0.join("tenantry-demo.db").exists());
    assert_eq!(count(), 1);
}

/// NDJSON on standard input, into a table whose ids are text (always kept).
#[test]
fn ndjson_from_standard_input() {
    use std::io::Write as _;
    use std::process::Stdio;

    let dir = TempDir::new();
    let url = sqlite_url(&dir);
    exec(
        &url,
        "CREATE TABLE kv (tenant_id TEXT, k TEXT, v TEXT, PRIMARY KEY (tenant_id, k));",
    );
    let mut child = sql(&[
        "sql",
        "import-tenant",
        "kv",
        "--tenant-id",
        "t1",
        "--as-tenant",
        "t2",
        "--database-url",
        &url,
        "--json",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"tenant_id\":\"t1\",\"k\":\"a\",\"v\":\"1\"}\n\n{\"tenant_id\":\"t1\",\"k\":\"b\",\"v\":null}\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let summary: Value = serde_json::from_str(&assert_ok(&out)).unwrap();
    assert_eq!(summary["rows"], 2);
    assert_eq!(summary["tables"][0]["file"], Value::Null);
    let text = assert_ok(&sql_on(
        &url,
        &["sql", "export-tenant", "kv", "--tenant-id", "t2"],
    ));
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!([{"tenant_id": "t2", "k": "a", "v": "1"}, {"tenant_id": "t2", "k": "b", "v": null}])
    );
}

//! Restore into a fresh database (issue 15, item 4): a tenant exported from PostgreSQL with
//! `--all-tables` goes into an empty SQLite file and an empty MariaDB database with
//! `import-tenant --create-tables`; exported again, every data file is the same bytes.

use serde_json::Value;

use crate::{dbs::*, support::TempDir};

const PG_TABLES: &str = r#"
CREATE TABLE things (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(), naive timestamp, d date, t time,
    amount numeric(30, 10), u uuid, j jsonb, js json, b bytea, flag boolean NOT NULL DEFAULT false,
    i2 smallint, i4 integer DEFAULT 0, f4 real, f8 double precision, note text, vc varchar(10),
    twice integer GENERATED ALWAYS AS (i4 * 2) STORED
);
INSERT INTO things (tenant_id, at, naive, d, t, amount, u, j, js, b, flag, i2, i4, f4, f8, note, vc) VALUES
 ('t1', '2024-05-06 07:08:09.123456+02', '2024-05-06 07:08:09.5', '2024-05-06', '23:59:59.999999',
  12345678901234567890.0123456789, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"a": [1, 2, {"b": null}], "z": "é\"x"}', '{"k":  1}', '\x00ff10', true, -32768, 1000000000,
  0.1, 1e308, E'multi\nline "quoted" \\ text', 'xyz'),
 ('t1', '1999-12-31 23:59:59+00', NULL, NULL, NULL, 0.5, NULL, '[]', 'null', '', false, NULL, NULL,
  -2.5, 0, '', NULL),
 ('t1', '2024-01-01 00:00:00+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL,
  NULL, NULL, NULL, NULL),
 ('t2', now(), NULL, NULL, NULL, 1, NULL, '{}', NULL, NULL, true, 1, 1, 1, 1, 'other', 'y');
CREATE TABLE tags (tenant_id varchar(64) NOT NULL, name text NOT NULL, PRIMARY KEY (tenant_id, name));
INSERT INTO tags VALUES ('t1', 'red'), ('t1', 'blue'), ('t2', 'green');
"#;

fn export_all(url: &str, dir: &str) {
    assert_ok(&sql_on(
        url,
        &[
            "sql",
            "export-tenant",
            "--all-tables",
            "--tenant-id",
            "t1",
            "-o",
            dir,
        ],
    ));
}

fn manifest(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn a_postgres_tenant_restores_into_empty_sqlite_and_mariadb_byte_for_byte() {
    let dir = TempDir::new();
    let pg = postgres_url();
    exec(&pg, PG_TABLES);
    let first = dir.0.join("from-postgres");
    export_all(&pg, first.to_str().unwrap());
    let original = manifest(&first);
    let things = &original["tables"][1];
    assert_eq!(things["table"], "things");
    assert_eq!(
        things["definition"]["primary_key"],
        serde_json::json!(["id"])
    );
    assert_eq!(things["definition"]["columns"][0]["identity"], true);
    assert_eq!(things["definition"]["columns"][2]["default"], "now");

    // An empty SQLite file (as `touch` makes it) and an empty MariaDB database.
    let sqlite_file = dir.0.join("restored.db");
    std::fs::write(&sqlite_file, b"").unwrap();
    let targets = [format!("sqlite://{}", sqlite_file.display()), mysql_url()];
    for (i, url) in targets.iter().enumerate() {
        let out = sql_on(
            url,
            &[
                "sql",
                "import-tenant",
                first.to_str().unwrap(),
                "--tenant-id",
                "t1",
                "--create-tables",
            ],
        );
        assert_ok(&out);
        assert_eq!(
            messages(&out),
            [
                "imported 2 rows into tags for tenant t1",
                "imported 3 rows into things for tenant t1, ids kept"
            ],
            "{url}"
        );
        let again = dir.0.join(format!("again-{i}"));
        export_all(url, again.to_str().unwrap());
        let second = manifest(&again);
        for (a, b) in original["tables"]
            .as_array()
            .unwrap()
            .iter()
            .zip(second["tables"].as_array().unwrap())
        {
            let file = a["file"].as_str().unwrap();
            assert_eq!(b["file"], file);
            assert_eq!(
                std::fs::read_to_string(again.join(file)).unwrap(),
                std::fs::read_to_string(first.join(file)).unwrap(),
                "{file} from {url}"
            );
            assert_eq!(a["sha256"], b["sha256"], "{file} from {url}");
        }
        // Ids continue past the restored ones; the defaults fill what the insert leaves out.
        exec(url, "INSERT INTO things (tenant_id) VALUES ('t1')");
        assert_eq!(
            scalar(url, "SELECT max(id) FROM things WHERE tenant_id = 't1'"),
            scalar(url, "SELECT count(*) FROM things"),
            "{url}"
        );
    }
}

#[test]
fn create_tables_needs_a_directory_and_a_manifest_with_definitions() {
    let dir = TempDir::new();
    let url = format!("sqlite://{}", dir.0.join("t.db").display());
    std::fs::write(dir.0.join("t.db"), b"").unwrap();
    let file = dir.0.join("items.json");
    std::fs::write(&file, "[]\n").unwrap();
    let out = sql_on(
        &url,
        &[
            "sql",
            "import-tenant",
            "items",
            "--tenant-id",
            "t1",
            "-i",
            file.to_str().unwrap(),
            "--create-tables",
        ],
    );
    assert_fails(
        &out,
        2,
        "--create-tables needs an export directory (`export-tenant --all-tables`), whose \
         manifest carries the table definitions; one table's file has none",
    );

    // A manifest from before definitions: refused with --create-tables, saying why.
    exec(
        &url,
        "CREATE TABLE notes (tenant_id text NOT NULL, body text);
         INSERT INTO notes VALUES ('t1', 'n1');",
    );
    let export = dir.0.join("export");
    export_all(&url, export.to_str().unwrap());
    let mut old = manifest(&export);
    old["tables"][0]
        .as_object_mut()
        .unwrap()
        .remove("definition");
    old["tool"] = "tenantry 0.1.0".into();
    std::fs::write(
        export.join("manifest.json"),
        serde_json::to_string_pretty(&old).unwrap(),
    )
    .unwrap();
    let fresh = format!("sqlite://{}", dir.0.join("fresh.db").display());
    std::fs::write(dir.0.join("fresh.db"), b"").unwrap();
    let args = [
        "sql",
        "import-tenant",
        export.to_str().unwrap(),
        "--tenant-id",
        "t1",
    ];
    let out = sql_on(&fresh, &[&args[..], &["--create-tables"]].concat());
    assert_fails(
        &out,
        1,
        "has no definition of table `notes` (it was written by tenantry 0.1.0, before \
         exports carried table definitions); create the tables first and import without \
         --create-tables, or export the tenant again",
    );
    // Into the table, without the flag: imported as before.
    exec(
        &fresh,
        "CREATE TABLE notes (tenant_id text NOT NULL, body text)",
    );
    assert_ok(&sql_on(&fresh, &args));
    assert_eq!(scalar(&fresh, "SELECT count(*) FROM notes"), 1);
}

//! `tenantry sql export-tenant`, through the binary, on SQLite, PostgreSQL and MariaDB.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::{
    dbs::*,
    support::{TempDir, run},
};

const ITEMS: &str = "CREATE TABLE items (id INTEGER PRIMARY KEY, tenant_id TEXT, name TEXT);
    INSERT INTO items (tenant_id, name) VALUES ('t1', 'a'), ('t2', 'b'), ('t1', 'c');";

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// svc-infra's CLI test, ported: a SQLite file with `items(id, tenant_id, name)`, `SQL_URL` set,
/// `export-tenant items --tenant-id t1 --output out.json` writes a JSON list of the 2 rows of t1.
#[test]
fn svc_infra_cli_test_ported() {
    let dir = TempDir::new();
    let url = sqlite_url(&dir);
    exec(&url, ITEMS);
    let out_json = dir.0.join("out.json");
    let out = run(sql(&[
        "sql",
        "export-tenant",
        "items",
        "--tenant-id",
        "t1",
        "--output",
        out_json.to_str().unwrap(),
    ])
    .env("SQL_URL", &url));
    assert_eq!(assert_ok(&out), "", "nothing on stdout with --output");
    let text = std::fs::read_to_string(&out_json).unwrap();
    assert!(text.ends_with("\n"));
    let rows = parse(&text);
    let rows = rows.as_array().expect("a JSON list");
    assert_eq!(rows.len(), 2);
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "c"]);
    assert_eq!(rows[0], json!({"id": 1, "tenant_id": "t1", "name": "a"}));
}

#[test]
fn stdout_ndjson_limit_and_a_tenant_id_that_tries_to_inject() {
    let dir = TempDir::new();
    let url = sqlite_url(&dir);
    exec(&url, ITEMS);
    let text = assert_ok(&sql_on(
        &url,
        &["sql", "export-tenant", "items", "--tenant-id", "t1"],
    ));
    assert!(
        text.starts_with("[\n{") && text.ends_with("}\n]\n"),
        "{text}"
    );
    assert_eq!(parse(&text).as_array().unwrap().len(), 2);

    let text = assert_ok(&sql_on(
        &url,
        &[
            "sql",
            "export-tenant",
            "items",
            "--tenant-id",
            "t1",
            "--format",
            "ndjson",
        ],
    ));
    let lines: Vec<Value> = text.lines().map(parse).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["name"], "c");
    assert!(text.ends_with("}\n"));

    let text = assert_ok(&sql_on(
        &url,
        &[
            "sql",
            "export-tenant",
            "items",
            "--tenant-id",
            "t1",
            "--limit",
            "1",
        ],
    ));
    assert_eq!(
        parse(&text),
        json!([{"id": 1, "tenant_id": "t1", "name": "a"}])
    );
    let text = assert_ok(&sql_on(
        &url,
        &[
            "sql",
            "export-tenant",
            "items",
            "--tenant-id",
            "t1",
            "--limit",
            "0",
        ],
    ));
    assert_eq!(
        parse(&text).as_array().unwrap().len(),
        2,
        "--limit 0 means all"
    );

    // A tenant id that is not one is a usage error, before any SQL.
    let out = sql_on(
        &url,
        &[
            "sql",
            "export-tenant",
            "items",
            "--tenant-id",
            "t1' OR '1'='1",
        ],
    );
    assert_fails(
        &out,
        2,
        "--tenant-id \"t1' OR '1'='1\" is not a valid tenant id",
    );
    // A valid id without rows, in a database without a tenant catalog: `[]`, and a warning.
    let out = sql_on(
        &url,
        &["sql", "export-tenant", "items", "--tenant-id", "t9"],
    );
    assert_eq!(assert_ok(&out), "[]\n");
    assert_eq!(
        messages(&out),
        [
            "warning: no rows of tenant t9; this database has no tenant catalog to tell an \
          unknown tenant from an empty one"
        ]
    );
}

#[test]
fn usage_errors_exit_2_before_any_sql() {
    let dir = TempDir::new();
    let url = sqlite_url(&dir);
    exec(&url, &format!("{ITEMS} CREATE TABLE x (id INTEGER);"));

    // No URL: the demo's database, which is not in this directory (and is not created).
    let out = run(sql(&["sql", "export-tenant", "items", "--tenant-id", "t1"]).current_dir(&dir.0));
    assert_fails(&out, 1, "the file tenantry-demo.db does not exist");
    assert!(!dir.0.join("tenantry-demo.db").exists());

    let out = sql_on(&url, &["sql", "export-tenant", "items"]);
    assert_eq!(out.status.code(), Some(2), "missing --tenant-id");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tenant-id"));

    for hostile in [
        "items; drop table x",
        "x; DROP TABLE items",
        "items\"",
        "items--",
        "1items",
    ] {
        let out = sql_on(
            &url,
            &["sql", "export-tenant", hostile, "--tenant-id", "t1"],
        );
        assert_fails(&out, 2, "not a plain SQL identifier");
        let out = sql_on(
            &url,
            &[
                "sql",
                "export-tenant",
                "items",
                "--tenant-id",
                "t1",
                "--tenant-field",
                hostile,
            ],
        );
        assert_fails(&out, 2, "--tenant-field");
    }
    // Nothing ran: both tables are still there, with their rows.
    assert_eq!(scalar(&url, "SELECT count(*) FROM items"), 3);
    assert_eq!(scalar(&url, "SELECT count(*) FROM x"), 0);

    // Nothing connected either: a bad name with an unreachable database is still a usage error.
    let out = sql_on(
        "postgres://nobody@127.0.0.1:1/none",
        &[
            "sql",
            "export-tenant",
            "items; drop table x",
            "--tenant-id",
            "t1",
        ],
    );
    assert_fails(&out, 2, "not a plain SQL identifier");

    let out = sql_on(
        &url,
        &["sql", "export-tenant", "--all-tables", "--tenant-id", "t1"],
    );
    assert_eq!(out.status.code(), Some(2), "--all-tables needs --output");
}

#[test]
fn runtime_errors_exit_1_with_one_line() {
    let dir = TempDir::new();
    let url = sqlite_url(&dir);
    exec(&url, ITEMS);
    let out = sql_on(
        &url,
        &["sql", "export-tenant", "nosuch", "--tenant-id", "t1"],
    );
    assert_fails(&out, 1, "table `nosuch` does not exist");
    let out = sql_on(
        &url,
        &[
            "sql",
            "export-tenant",
            "items",
            "--tenant-id",
            "t1",
            "--tenant-field",
            "owner",
        ],
    );
    assert_fails(&out, 1, "table `items` has no column `owner`");

    let missing = format!("sqlite://{}", dir.0.join("missing.db").display());
    let out = sql_on(
        &missing,
        &["sql", "export-tenant", "items", "--tenant-id", "t1"],
    );
    assert_fails(&out, 1, "does not exist");
    assert!(
        !dir.0.join("missing.db").exists(),
        "no empty database was created"
    );

    let out = sql_on(
        "postgres://postgres@127.0.0.1:1/none",
        &["sql", "export-tenant", "items", "--tenant-id", "t1"],
    );
    assert_fails(&out, 1, "Connection refused");

    let pg = postgres_url();
    let out = sql_on(
        &pg,
        &["sql", "export-tenant", "nosuch", "--tenant-id", "t1"],
    );
    assert_fails(&out, 1, "table `nosuch` does not exist");
    let my = mysql_url();
    let out = sql_on(
        &my,
        &["sql", "export-tenant", "nosuch", "--tenant-id", "t1"],
    );
    assert_fails(&out, 1, "table `nosuch` does not exist");

    // A failed export leaves no file.
    let target = dir.0.join("out.json");
    let out = sql_on(
        &url,
        &[
            "sql",
            "export-tenant",
            "nosuch",
            "--tenant-id",
            "t1",
            "-o",
            target.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!target.exists());
    assert_eq!(leftovers(&dir), Vec::<String>::new());
}

/// Temporary files in `dir`.
fn leftovers(dir: &TempDir) -> Vec<String> {
    std::fs::read_dir(&dir.0)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains(".tenantry-tmp-"))
        .collect()
}

/// A SQLite table big enough that exporting it takes a while (about a second in a debug build).
fn big_sqlite(dir: &TempDir) -> String {
    let url = sqlite_url(dir);
    exec(
        &url,
        "CREATE TABLE big (id INTEGER PRIMARY KEY, tenant_id TEXT, body TEXT, n REAL);
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 600000)
         INSERT INTO big (tenant_id, body, n) SELECT 't1', printf('row %d of the big table', i), i * 0.5 FROM c;",
    );
    url
}

/// Starts an export of `big` to `target` (named `out.json`) and returns once its temporary
/// file has data.
fn start_export(url: &str, target: &std::path::Path, dir: &TempDir) -> std::process::Child {
    let mut cmd: Command = sql(&[
        "sql",
        "export-tenant",
        "big",
        "--tenant-id",
        "t1",
        "--database-url",
        url,
        "--output",
        target.to_str().unwrap(),
    ]);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let temp = dir.0.join(format!(".out.json.tenantry-tmp-{}", child.id()));
    loop {
        if std::fs::metadata(&temp).is_ok_and(|m| m.len() > 64 * 1024) {
            return child;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the export ended before it could be killed"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no temporary file appeared"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn killing_an_export_midway_leaves_no_file_at_the_target() {
    let dir = TempDir::new();
    let url = big_sqlite(&dir);
    let target = dir.0.join("out.json");

    // SIGKILL: nothing can clean up, but nothing appears at the target either; the leftover
    // has a recognizable name and the next export to the same path removes it.
    let mut child = start_export(&url, &target, &dir);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !target.exists(),
        "a killed export must not leave a file at the target"
    );
    let left = leftovers(&dir);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with(".out.json.tenantry-tmp-"), "{left:?}");

    // SIGTERM: the export stops, removes its temporary file and fails.
    let mut child = start_export(&url, &target, &dir);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "terminated");
    assert!(!target.exists());
    assert_eq!(
        leftovers(&dir),
        Vec::<String>::new(),
        "SIGTERM cleans up, and the SIGKILL leftover went too"
    );

    // Completed: the file is whole.
    let out = sql_on(
        &url,
        &[
            "sql",
            "export-tenant",
            "big",
            "--tenant-id",
            "t1",
            "--format",
            "ndjson",
            "-o",
            target.to_str().unwrap(),
        ],
    );
    assert_ok(&out);
    let text = std::fs::read_to_string(&target).unwrap();
    assert_eq!(text.lines().count(), 600_000);
    assert_eq!(leftovers(&dir), Vec::<String>::new());
}

/// `--all-tables` writes one file per table that has the tenant field and a manifest.
#[test]
fn all_tables_with_a_manifest() {
    let dir = TempDir::new();
    let url = sqlite_url(&dir);
    exec(
        &url,
        &format!(
            "{ITEMS} CREATE TABLE notes (tenant_id TEXT, body TEXT);
             INSERT INTO notes VALUES ('t2', 'n0'), ('t1', 'n1');
             CREATE TABLE unrelated (x INTEGER);"
        ),
    );
    let out_dir = dir.0.join("export");
    assert_ok(&sql_on(
        &url,
        &[
            "sql",
            "export-tenant",
            "--all-tables",
            "--tenant-id",
            "t1",
            "-o",
            out_dir.to_str().unwrap(),
        ],
    ));
    let manifest = parse(&std::fs::read_to_string(out_dir.join("manifest.json")).unwrap());
    assert_eq!(manifest["kind"], "tenantry-export");
    assert_eq!(manifest["tenant_id"], "t1");
    assert!(manifest["tool"].as_str().unwrap().starts_with("tenantry "));
    assert!(manifest["created_at"].as_str().unwrap().ends_with('Z'));
    let tables = manifest["tables"].as_array().unwrap();
    let names: Vec<&str> = tables
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["items", "notes"]);
    assert_eq!(tables[0]["rows"], 2);
    assert_eq!(tables[1]["rows"], 1);
    assert_eq!(tables[1]["order_by"], json!(["rowid"]));
    for t in tables {
        let file = out_dir.join(t["file"].as_str().unwrap());
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(t["bytes"], bytes.len());
        assert_eq!(t["sha256"].as_str().unwrap().len(), 64);
    }
    let notes = parse(&std::fs::read_to_string(out_dir.join("notes.json")).unwrap());
    assert_eq!(notes, json!([{"tenant_id": "t1", "body": "n1"}]));

    // Again over the earlier export (the command can be re-run): replaced whole, no leftovers.
    std::fs::write(out_dir.join("stray.txt"), b"from the earlier run").unwrap();
    let again = |target: &std::path::Path| {
        sql_on(
            &url,
            &[
                "sql",
                "export-tenant",
                "--all-tables",
                "--tenant-id",
                "t1",
                "-o",
                target.to_str().unwrap(),
            ],
        )
    };
    assert_ok(&again(&out_dir));
    assert!(
        !out_dir.join("stray.txt").exists(),
        "the old export is gone"
    );
    assert!(out_dir.join("manifest.json").exists());
    assert_eq!(leftovers(&dir), Vec::<String>::new());
    // Never over a directory that is not an export.
    let other = dir.0.join("not-an-export");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("keep.txt"), b"mine").unwrap();
    assert_fails(&again(&other), 1, "holds no tenantry export");
    assert_eq!(std::fs::read(other.join("keep.txt")).unwrap(), b"mine");
    let out = sql_on(
        &url,
        &[
            "sql",
            "export-tenant",
            "--all-tables",
            "--tenant-id",
            "t1",
            "--tenant-field",
            "owner",
            "-o",
            dir.0.join("e2").to_str().unwrap(),
        ],
    );
    assert_fails(&out, 1, "no table in this database has a column `owner`");
    assert!(!dir.0.join("e2").exists());
}

/// The same table shape on PostgreSQL and MariaDB: ordered by key, typed values.
#[test]
fn postgres_and_mariadb_export_the_same_rows() {
    for url in [postgres_url(), mysql_url()] {
        exec(
            &url,
            "CREATE TABLE items (id BIGINT PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL, name TEXT, price DECIMAL(20,2));
             INSERT INTO items VALUES (3, 't1', 'c', 0.10), (1, 't1', 'a', 12345678901.99), (2, 't2', 'b', 1)",
        );
        let text = assert_ok(&sql_on(
            &url,
            &["sql", "export-tenant", "items", "--tenant-id", "t1"],
        ));
        assert_eq!(
            parse(&text),
            json!([
                {"id": 1, "tenant_id": "t1", "name": "a", "price": "12345678901.99"},
                {"id": 3, "tenant_id": "t1", "name": "c", "price": "0.10"},
            ]),
            "{url}"
        );
    }
}

/// An integer tenant column on PostgreSQL is compared as an integer (and a non-integer id is
/// refused with a message, not a database error).
#[test]
fn postgres_integer_tenant_field() {
    let url = postgres_url();
    exec(
        &url,
        "CREATE TABLE acc (id INT PRIMARY KEY, org BIGINT NOT NULL); INSERT INTO acc VALUES (1, 7), (2, 8)",
    );
    let text = assert_ok(&sql_on(
        &url,
        &[
            "sql",
            "export-tenant",
            "acc",
            "--tenant-id",
            "7",
            "--tenant-field",
            "org",
        ],
    ));
    assert_eq!(parse(&text), json!([{"id": 1, "org": 7}]));
    let out = sql_on(
        &url,
        &[
            "sql",
            "export-tenant",
            "acc",
            "--tenant-id",
            "x",
            "--tenant-field",
            "org",
        ],
    );
    assert_fails(&out, 1, "is not an integer");
}

/// `--output` never replaces what is not a regular file: a character device and a FIFO are
/// written into (as `cp` does), a directory and a socket are refused, and stay what they were.
#[cfg(unix)]
#[test]
fn output_to_devices_and_fifos_writes_into_them() {
    use std::os::unix::fs::FileTypeExt as _;

    let dir = TempDir::new();
    let url = sqlite_url(&dir);
    exec(&url, ITEMS);
    let export = |target: &std::path::Path| {
        sql_on(
            &url,
            &[
                "sql",
                "export-tenant",
                "items",
                "--tenant-id",
                "t1",
                "-o",
                target.to_str().unwrap(),
            ],
        )
    };
    // A FIFO, read by another process.
    let fifo = dir.0.join("rows.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = Command::new("cat")
        .arg(&fifo)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    assert_ok(&export(&fifo));
    let read = reader.wait_with_output().unwrap();
    assert_eq!(
        parse(&String::from_utf8(read.stdout).unwrap())
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    // A character device: a private null device where mknod is allowed, else /dev/null.
    let null = dir.0.join("null");
    let made = Command::new("mknod")
        .arg(&null)
        .args(["c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success());
    let device = if made {
        null
    } else {
        std::path::PathBuf::from("/dev/null")
    };
    assert_ok(&export(&device));
    assert!(
        std::fs::metadata(&device)
            .unwrap()
            .file_type()
            .is_char_device()
    );
    assert_eq!(leftovers(&dir), Vec::<String>::new());
    // A directory and a socket: refused, left as they are.
    assert_fails(
        &export(&dir.0),
        1,
        &format!(
            "output {} is a directory; an export is written to a file, a character device or a \
             FIFO",
            dir.0.display()
        ),
    );
    let socket = dir.0.join("s.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    assert_fails(&export(&socket), 1, "is a socket");
    assert!(std::fs::metadata(&socket).unwrap().file_type().is_socket());
}

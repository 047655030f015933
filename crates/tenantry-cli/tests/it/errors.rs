//! Every refused input of a new user's first hour: the exit status and the exact first line of
//! the message, with its root cause said once, and nothing created by accident.

use std::time::{Duration, Instant};

use crate::{
    dbs::*,
    support::{Server, TempDir, run, tenantry},
};

/// The first stderr line that is not a log line of the library's audit target.
fn first_line(out: &std::process::Output) -> String {
    messages(out).into_iter().next().unwrap_or_default()
}

#[track_caller]
fn assert_refused(out: &std::process::Output, code: i32, line: &str) {
    assert_eq!(
        (out.status.code(), first_line(out).as_str()),
        (Some(code), line),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `tenantry ARGS` in `dir` (where there is no demo database).
fn in_dir(dir: &TempDir, args: &[&str]) -> std::process::Output {
    run(tenantry(args).current_dir(&dir.0))
}

const NO_DEMO_DB: &str = "error: cannot open sqlite://tenantry-demo.db: the file tenantry-demo.db \
    does not exist (`tenantry serve` creates the demo's here; or pass --database-url or set \
    TENANTRY_DATABASE_URL)";

#[test]
fn commands_in_the_wrong_directory_create_no_database() {
    let dir = TempDir::new();
    for args in [
        &["tenants", "list"][..],
        &["tenants", "create", "acme"],
        &["tenants", "suspend", "acme"],
        &["sql", "export-tenant", "items", "--tenant-id", "acme"],
        &[
            "sql",
            "import-tenant",
            "items",
            "--tenant-id",
            "acme",
            "-i",
            "x.json",
        ],
    ] {
        assert_refused(&in_dir(&dir, args), 1, NO_DEMO_DB);
    }
    let other = format!("sqlite://{}", dir.0.join("other.db").display());
    assert_refused(
        &in_dir(&dir, &["tenants", "list", "--database-url", &other]),
        1,
        &format!(
            "error: cannot open {other}: the file {} does not exist (only `tenantry serve` \
             creates a database, or a URL ending in ?mode=rwc)",
            dir.0.join("other.db").display()
        ),
    );
    assert_eq!(
        std::fs::read_dir(&dir.0).unwrap().count(),
        0,
        "nothing was created"
    );
}

#[test]
fn one_variable_names_the_database_everywhere() {
    let dir = TempDir::new();
    let url = sqlite_url(&dir);
    exec(
        &url,
        "CREATE TABLE items (id INTEGER PRIMARY KEY, tenant_id TEXT, name TEXT);
         INSERT INTO items (tenant_id, name) VALUES ('acme', 'a');",
    );
    let mut create = tenantry(&["tenants", "create", "acme"]);
    create.env("TENANTRY_DATABASE_URL", &url);
    assert_ok(&run(&mut create));
    // The sql commands read TENANTRY_DATABASE_URL too, and SQL_URL when it is not set.
    for var in ["TENANTRY_DATABASE_URL", "SQL_URL"] {
        let mut cmd = tenantry(&["sql", "export-tenant", "items", "--tenant-id", "acme"]);
        cmd.env(var, &url);
        assert!(assert_ok(&run(&mut cmd)).contains(r#""name":"a""#), "{var}");
    }
    // tenants commands do not read SQL_URL (it is the sql commands' svc-infra name).
    let mut cmd = tenantry(&["tenants", "list"]);
    cmd.env("SQL_URL", &url).current_dir(&dir.0);
    assert_refused(&run(&mut cmd), 1, NO_DEMO_DB);
}

#[test]
fn urls_that_name_no_database_are_usage_errors() {
    let dir = TempDir::new();
    for url in ["sqlite:", "sqlite://"] {
        let line = format!(
            "error: database URL {url:?} names no file; give sqlite://FILE (the demo's is \
             sqlite://tenantry-demo.db)"
        );
        for args in [
            &["tenants", "list", "--database-url", url][..],
            &["serve", "--bind", "127.0.0.1:0", "--database-url", url],
            &[
                "sql",
                "export-tenant",
                "items",
                "--tenant-id",
                "a",
                "--database-url",
                url,
            ],
        ] {
            assert_refused(&in_dir(&dir, args), 2, &line);
        }
    }
    assert_refused(
        &in_dir(&dir, &["tenants", "list", "--database-url", "oracle://x"]),
        2,
        "error: unsupported database URL oracle://x: scheme oracle: is not one of sqlite:, \
         postgres:, mysql:",
    );
}

#[test]
fn sqlite_files_that_cannot_be_used_name_the_cause() {
    let dir = TempDir::new();
    let missing_dir = dir.0.join("no/such/dir/demo.db");
    let url = format!("sqlite://{}", missing_dir.display());
    assert_refused(
        &in_dir(
            &dir,
            &["serve", "--bind", "127.0.0.1:0", "--database-url", &url],
        ),
        1,
        &format!(
            "error: cannot create {url}: the directory {} does not exist",
            dir.0.join("no/such/dir").display()
        ),
    );
    let as_dir = format!("sqlite://{}", dir.0.display());
    assert_refused(
        &in_dir(&dir, &["tenants", "list", "--database-url", &as_dir]),
        1,
        &format!(
            "error: cannot open {as_dir}: {} is a directory",
            dir.0.display()
        ),
    );
    // Not writable (even for root: sysfs refuses).
    assert_refused(
        &in_dir(
            &dir,
            &[
                "tenants",
                "list",
                "--database-url",
                "sqlite:///sys/kernel/notes",
            ],
        ),
        1,
        "error: cannot open sqlite:///sys/kernel/notes: /sys/kernel/notes is not writable: \
         Permission denied (os error 13)",
    );
    // A database without a catalog: said once, with the way to get one.
    let plain = sqlite_url(&dir);
    exec(&plain, "CREATE TABLE x (id INTEGER)");
    assert_refused(
        &in_dir(&dir, &["tenants", "list", "--database-url", &plain]),
        1,
        &format!(
            "error: {plain} has no tenant catalog (table tenantry_tenants); `tenantry tenants \
             create ID` makes one, `tenantry serve` makes the demo's"
        ),
    );
}

#[test]
fn servers_that_refuse_give_the_cause_at_once() {
    let dir = TempDir::new();
    let started = Instant::now();
    assert_refused(
        &in_dir(
            &dir,
            &[
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--database-url",
                "postgres://nobody:hunter2@127.0.0.1:1/x",
            ],
        ),
        1,
        "error: cannot connect to postgres://nobody:***@127.0.0.1:1/x: Connection refused (os \
         error 111)",
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    // Authentication failed (MariaDB's root has no password here, so any password is wrong).
    let my = mysql_url();
    let wrong = my.replacen("root@", "root:wrong-password@", 1);
    let shown = my.replacen("root@", "root:***@", 1);
    let out = in_dir(&dir, &["tenants", "list", "--database-url", &wrong]);
    assert_eq!(out.status.code(), Some(1));
    let line = first_line(&out);
    assert!(
        line.starts_with(&format!(
            "error: cannot connect to {shown}: Access denied for user 'root'@"
        )) && line.ends_with("(using password: YES)"),
        "{line}"
    );
    // No such database.
    let pg = postgres_url();
    let gone = format!("{}/no_such_database_here", &pg[..pg.rfind('/').unwrap()]);
    assert_refused(
        &in_dir(&dir, &["tenants", "list", "--database-url", &gone]),
        1,
        &format!(
            "error: cannot connect to {gone}: database \"no_such_database_here\" does not exist"
        ),
    );
}

#[test]
fn tenant_ids_are_checked_like_requests_and_against_the_catalog() {
    let dir = TempDir::new();
    let url = dir.sqlite_url();
    // The demo database: a catalog with acme, globex, initech, and items.
    drop(Server::start(&url, &[], &[]));
    let sql = |args: &[&str]| sql_on(&url, args);

    assert_refused(
        &sql(&["sql", "export-tenant", "items", "--tenant-id", "bad id"]),
        2,
        "error: --tenant-id \"bad id\" is not a valid tenant id: tenant id must be letters, \
         digits, '.', '_' or '-', starting with a letter or digit",
    );
    let out = sql(&["sql", "export-tenant", "items", "--tenant-id", "ghost"]);
    assert_refused(
        &out,
        1,
        "error: tenant ghost is not in the catalog of this database (`tenantry tenants list` \
         shows its tenants)",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "", "no `[]`");
    let export = dir.0.join("acme.json");
    let export = export.to_str().unwrap();
    assert_ok(&sql(&[
        "sql",
        "export-tenant",
        "items",
        "--tenant-id",
        "acme",
        "-o",
        export,
    ]));

    let import = |extra: &[&str]| {
        let mut args = vec![
            "sql",
            "import-tenant",
            "items",
            "--tenant-id",
            "acme",
            "-i",
            export,
        ];
        args.extend_from_slice(extra);
        sql(&args)
    };
    assert_refused(
        &import(&["--as-tenant", "bad id'; --"]),
        2,
        "error: --as-tenant \"bad id'; --\" is not a valid tenant id: tenant id must be \
         letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
    assert_refused(
        &import(&["--as-tenant", "ghost"]),
        1,
        "error: tenant ghost is not in the catalog of this database; create it first \
         (`tenantry tenants create ghost`) or pass --create-tenant",
    );
    assert_eq!(
        scalar(&url, "SELECT count(*) FROM items WHERE tenant_id = 'ghost'"),
        0
    );
    let out = import(&["--as-tenant", "ghost", "--create-tenant"]);
    assert_ok(&out);
    assert_eq!(
        first_line(&out),
        "created tenant ghost (active, plan free) in the catalog"
    );
    assert_eq!(
        scalar(&url, "SELECT count(*) FROM items WHERE tenant_id = 'ghost'"),
        3
    );
    assert_eq!(
        scalar(
            &url,
            "SELECT count(*) FROM tenantry_tenants WHERE id = 'ghost' AND status = 'active'"
        ),
        1
    );
}

#[test]
fn token_and_bind_values_are_checked() {
    let out = run(&mut tenantry(&["token", "--sub", ""]));
    assert_refused(
        &out,
        2,
        "error: invalid value '' for '--sub <SUB>': must not be empty",
    );
    let out = run(&mut tenantry(&["token", "--sub", "  ", "--tenant", "acme"]));
    assert_eq!(out.status.code(), Some(2));
    let out = run(&mut tenantry(&["serve", "--bind", "localhost"]));
    assert_refused(
        &out,
        2,
        "error: invalid value 'localhost' for '--bind <BIND>': \"localhost\" is not HOST:PORT \
         (for example 127.0.0.1:8080, localhost:8080 or :8080)",
    );
    // HOST:PORT and :PORT are accepted.
    let dir = TempDir::new();
    for bind in ["localhost:0", ":0"] {
        let server = Server::start(&dir.sqlite_url(), &["--bind", bind], &[]);
        assert!(
            server.base.starts_with("http://127.0.0.1:"),
            "{}",
            server.base
        );
    }
}

#[test]
fn the_banner_lists_the_catalog_as_it_is() {
    let dir = TempDir::new();
    let url = dir.sqlite_url();
    let first = Server::start(&url, &[], &[]);
    assert!(
        first.banner.contains(
            "tenants: acme (active, plan pro), globex (active, plan free), initech (suspended)\n"
        ),
        "{}",
        first.banner
    );
    drop(first);
    let mut suspend = tenantry(&["tenants", "suspend", "acme"]);
    suspend.env("TENANTRY_DATABASE_URL", &url);
    assert_ok(&run(&mut suspend));
    let second = Server::start(&url, &[], &[]);
    assert!(
        second.banner.contains(
            "tenants: acme (suspended), globex (active, plan free), initech (suspended)\n"
        ),
        "{}",
        second.banner
    );
}

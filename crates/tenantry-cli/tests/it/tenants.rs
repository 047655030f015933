//! `tenantry tenants ...` against the catalog table, on SQLite and PostgreSQL.

use serde_json::Value;

use crate::{
    dbs::*,
    support::{TempDir, run, tenantry},
};

fn tenants(url: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["tenants"];
    all.extend_from_slice(args);
    let mut cmd = tenantry(&all);
    cmd.env("TENANTRY_DATABASE_URL", url);
    run(&mut cmd)
}

fn json(url: &str, args: &[&str]) -> Value {
    let mut with = args.to_vec();
    with.push("--json");
    let text = assert_ok(&tenants(url, &with));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn lifecycle(url: &str) {
    // A placement of its own (on PostgreSQL a schema: dropping a database forces a checkpoint,
    // which a loaded server can take tens of seconds over; placements.rs drops databases).
    let kind = if url.starts_with("postgres") {
        "schema"
    } else {
        "database"
    };
    // No catalog yet: listing says how to get one, and creates nothing.
    assert_fails(&tenants(url, &["list"]), 1, "has no tenant catalog");
    assert_fails(
        &tenants(url, &["suspend", "acme"]),
        1,
        "has no tenant catalog",
    );

    let acme = json(
        url,
        &["create", "acme", "--name", "Acme Corp", "--plan", "pro"],
    );
    assert_eq!(acme["id"], "acme");
    assert_eq!(acme["status"], "active");
    assert_eq!(acme["plan"], "pro");
    let out = tenants(
        url,
        &[
            "create",
            "globex",
            "--settings",
            r#"{"seats": 5}"#,
            "--placement",
            kind,
        ],
    );
    assert_eq!(assert_ok(&out), "", "human output goes to stderr");
    let said = messages(&out).join("");
    assert!(
        said.contains(&format!("created tenant globex (active, {kind}:")),
        "{said}"
    );

    let list = json(url, &["list"]);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["acme", "globex"]);
    let human = assert_ok(&tenants(url, &["list"]));
    let lines: Vec<&str> = human.lines().collect();
    assert!(lines[0].starts_with("ID "), "{human}");
    assert!(
        lines[1].starts_with("acme    Acme Corp  active  pro "),
        "{human}"
    );
    assert!(lines[2].contains(&format!(" {kind}:")), "{human}");
    assert!(lines[2].contains("t_globex_"), "{human}");

    let globex = json(url, &["show", "globex"]);
    assert_eq!(globex["settings"]["seats"], 5);
    assert_eq!(globex["name"], "globex", "the name defaults to the id");
    let shown = assert_ok(&tenants(url, &["show", "acme"]));
    assert!(shown.contains("status:     active\n"), "{shown}");

    assert_eq!(json(url, &["suspend", "acme"])["status"], "suspended");
    assert_eq!(
        json(url, &["list", "--status", "suspended"])[0]["id"],
        "acme"
    );
    let out = tenants(url, &["suspend", "acme"]);
    assert!(messages(&out).join("").contains("already suspended"));
    assert_eq!(json(url, &["resume", "acme"])["status"], "active");

    // Soft delete keeps the record; resume restores it; --purge removes it.
    assert_eq!(json(url, &["delete", "acme"])["status"], "deleted");
    assert_eq!(json(url, &["show", "acme"])["status"], "deleted");
    assert_fails(&tenants(url, &["suspend", "acme"]), 1, "is deleted");
    assert_eq!(json(url, &["resume", "acme"])["status"], "active");
    // Its own database goes with it: suspended first, the id confirmed.
    assert_ok(&tenants(url, &["suspend", "globex"]));
    assert_eq!(
        json(url, &["delete", "globex", "--purge", "--confirm", "globex"])["purged"],
        true
    );
    assert_fails(
        &tenants(url, &["show", "globex"]),
        1,
        "tenant globex does not exist",
    );

    // Errors: unknown tenants exit 1, invalid ids and values exit 2, duplicates exit 1.
    for verb in ["show", "suspend", "resume", "delete"] {
        assert_fails(
            &tenants(url, &[verb, "nobody"]),
            1,
            "tenant nobody does not exist",
        );
        assert_fails(&tenants(url, &[verb, "no body"]), 2, "invalid tenant id");
    }
    assert_fails(
        &tenants(url, &["delete", "nobody", "--purge"]),
        1,
        "does not exist",
    );
    assert_fails(
        &tenants(url, &["create", "acme"]),
        1,
        "tenant acme exists already",
    );
    // Ids differing only in case would be one tenant to a host name or a case-insensitive
    // collation: refused, naming the one that exists.
    assert_fails(
        &tenants(url, &["create", "ACME"]),
        1,
        "tenant ACME differs from the existing tenant acme only in case",
    );
    assert_fails(&tenants(url, &["show", "ACME"]), 1, "does not exist");
    assert_fails(
        &tenants(url, &["create", "'; drop table x"]),
        2,
        "invalid tenant id",
    );
    assert_fails(
        &tenants(url, &["create", "x1", "--settings", "[1]"]),
        2,
        "JSON object",
    );
    assert_fails(
        &tenants(url, &["create", "x1", "--placement", "moon"]),
        2,
        "--placement",
    );
    assert_eq!(
        tenants(url, &["create", "x1", "--status", "bogus"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(json(url, &["list"]).as_array().unwrap().len(), 1);
}

#[test]
fn tenants_lifecycle_on_sqlite() {
    let dir = TempDir::new();
    lifecycle(&sqlite_url(&dir));
}

#[test]
fn tenants_lifecycle_on_postgres() {
    lifecycle(&postgres_url());
}

#[test]
fn tenants_lifecycle_on_mariadb() {
    lifecycle(&mysql_url());
}

#[test]
fn the_database_url_flag_wins_over_the_environment() {
    let dir = TempDir::new();
    let (a, b) = (sqlite_url(&dir), sqlite_url(&dir));
    assert_ok(&tenants(&a, &["create", "acme"]));
    assert_ok(&tenants(&b, &["create", "globex"]));
    let mut cmd = tenantry(&["tenants", "list", "--json", "--database-url", &b]);
    cmd.env("TENANTRY_DATABASE_URL", &a);
    let listed: Value = serde_json::from_str(&assert_ok(&run(&mut cmd))).unwrap();
    assert_eq!(listed[0]["id"], "globex");
    let out = tenants("postgres://postgres@127.0.0.1:1/none", &["list"]);
    assert_eq!(out.status.code(), Some(1));
    assert_fails(
        &out,
        1,
        "cannot connect to postgres://postgres@127.0.0.1:1/none",
    );
}

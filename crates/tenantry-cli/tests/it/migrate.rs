//! `tenantry migrate`: a migrations directory applied to every placement, resumably; one
//! failing placement does not stop the others; a changed file is refused; a no-op run says so.

use std::path::Path;

use serde_json::Value;

use crate::{
    dbs::*,
    support::{TempDir, run, tenantry},
};

fn on(url: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = tenantry(args);
    cmd.env("TENANTRY_DATABASE_URL", url);
    run(&mut cmd)
}

fn migrate(url: &str, source: &Path, extra: &[&str]) -> (std::process::Output, Value) {
    let source = source.display().to_string();
    let mut args = vec!["migrate", "--source", &source, "--json"];
    args.extend_from_slice(extra);
    let out = on(url, &args);
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, report)
}

/// placement → outcome, from a `--json` report.
fn outcomes(report: &Value) -> Vec<(String, String)> {
    report["placements"]
        .as_array()
        .unwrap_or_else(|| panic!("no report: {report}"))
        .iter()
        .map(|p| {
            (
                p["placement"].as_str().unwrap().to_owned(),
                p["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn fleet(url: &str, kind: &str, dir: &TempDir) {
    // The catalog, and tenants in shared rows and in placements of their own.
    assert_ok(&on(url, &["tenants", "create", "acme"]));
    let placed: Vec<String> = (0..6).map(|i| format!("p{i}")).collect();
    for id in &placed {
        assert_ok(&on(url, &["tenants", "create", id, "--placement", kind]));
    }
    let source = dir.0.join("migrations");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(
        source.join("0001_notes.sql"),
        "CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL);",
    )
    .unwrap();

    // Dry run: everything would be applied, nothing is.
    let (out, report) = migrate(url, &source, &["--all-tenants", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(
        outcomes(&report).iter().all(|(_, o)| o == "would_apply"),
        "{report}"
    );

    // First run: the shared tables once and each placement.
    let (out, report) = migrate(url, &source, &["--all-tenants"]);
    assert_eq!(out.status.code(), Some(0), "{report}");
    let first = outcomes(&report);
    assert_eq!(first.len(), placed.len() + 1, "{report}");
    assert!(first.iter().all(|(_, o)| o == "applied"), "{report}");
    assert!(first[0].0.starts_with("row"), "{report}");

    // A no-op run changes nothing and says so.
    let (out, report) = migrate(url, &source, &["--all-tenants"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        outcomes(&report).iter().all(|(_, o)| o == "current"),
        "{report}"
    );

    // A migration that fails in one placement only: the others are migrated, the report names
    // the failure, the exit status is 1; fixed, a re-run applies only there.
    let victim = &placed[2];
    let victim_url = placement_url(url, victim);
    exec(&victim_url, "CREATE TABLE tags (clash int)");
    std::fs::write(
        source.join("0002_tags.sql"),
        "CREATE TABLE tags (id bigint PRIMARY KEY, name text NOT NULL);",
    )
    .unwrap();
    let (out, report) = migrate(url, &source, &["--all-tenants"]);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let second = outcomes(&report);
    let failed: Vec<&(String, String)> = second.iter().filter(|(_, o)| o == "failed").collect();
    assert_eq!(failed.len(), 1, "{report}");
    let line = report["placements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["outcome"] == "failed")
        .unwrap();
    assert_eq!(line["tenants"][0], victim.as_str(), "{report}");
    assert_eq!(line["version"], 2);
    assert_eq!(
        second.iter().filter(|(_, o)| o == "applied").count(),
        placed.len(),
        "{report}"
    );
    exec(&victim_url, "DROP TABLE tags");
    let (out, report) = migrate(url, &source, &["--all-tenants"]);
    assert_eq!(out.status.code(), Some(0), "{report}");
    let third = outcomes(&report);
    assert_eq!(
        third.iter().filter(|(_, o)| o == "applied").count(),
        1,
        "{report}"
    );

    // A tenant provisioned with the migrations already has them: the next run finds it done.
    let src = source.display().to_string();
    assert_ok(&on(
        url,
        &[
            "tenants",
            "create",
            "late",
            "--placement",
            kind,
            "--migrations",
            &src,
        ],
    ));
    let (out, report) = migrate(url, &source, &["--all-tenants"]);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(
        outcomes(&report).iter().all(|(_, o)| o == "current"),
        "{report}"
    );
    assert_eq!(outcomes(&report).len(), placed.len() + 2, "{report}");

    // A file changed after it ran is refused before anything runs, naming where it ran.
    std::fs::write(
        source.join("0001_notes.sql"),
        "CREATE TABLE notes (id bigint PRIMARY KEY, body text);",
    )
    .unwrap();
    let out = on(
        url,
        &[
            "migrate",
            "--source",
            &source.display().to_string(),
            "--all-tenants",
        ],
    );
    assert_fails(&out, 1, "changed after it was applied");
    // --tenants picks placements; a bad id is usage.
    let out = on(
        url,
        &[
            "migrate",
            "--source",
            &source.display().to_string(),
            "--tenants",
            "no body",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
}

/// A URL on which `tenant`'s own tables are the unqualified names.
fn placement_url(url: &str, tenant: &str) -> String {
    let shown = assert_ok(&on(url, &["tenants", "show", tenant, "--json"]));
    let record: Value = serde_json::from_str(&shown).unwrap();
    let placement = record["placement"].as_str().unwrap();
    let (kind, name) = placement.split_once(':').unwrap();
    match kind {
        "database" if url.starts_with("sqlite:") => {
            let dir = url
                .trim_start_matches("sqlite://")
                .rsplit_once('/')
                .unwrap()
                .0
                .to_owned();
            format!("sqlite://{dir}/{name}.db")
        }
        "database" => format!("{}/{name}", url.rsplit_once('/').unwrap().0),
        _ => format!("{url}?options[search_path]={name}"),
    }
}

#[test]
fn migrate_every_placement_on_sqlite() {
    let dir = TempDir::new();
    fleet(&sqlite_url(&dir), "database", &dir);
}

#[test]
fn migrate_every_placement_on_postgres() {
    let dir = TempDir::new();
    fleet(&postgres_url(), "schema", &dir);
}

#[test]
fn migrate_every_placement_on_mariadb() {
    let dir = TempDir::new();
    fleet(&mysql_url(), "database", &dir);
}

//! Restore into a fresh database (issue 15, item 4): a directory export carries each table's
//! definition, and an import with `create_tables` creates what the target lacks, on every
//! backend from every backend; exported again, the data files are the same bytes. What cannot
//! be created is refused naming the table and the column, and leaves nothing behind; a
//! manifest without definitions still imports, and says why it cannot create tables.

use std::path::{Path, PathBuf};

use tenantry::{
    data::{Backend, DataStore, Ident, Page},
    export::{
        self, ExportError, ExportRequest, ImportOptions, ImportSource, ImportSummary, Manifest,
        NoProgress, PortableType,
    },
};

use super::fidelity::{KINDS, backends, exec, import_text, kinds_table};
use crate::data::{Fixture, database, row};

/// A path for an export directory (not created: the export makes it).
fn scratch() -> PathBuf {
    std::env::temp_dir().join(crate::db::unique_name())
}

async fn export_dir(db: &DataStore, dir: &Path) -> Manifest {
    let admin = db.unscoped_admin("restore test: export");
    let req = ExportRequest::new(Ident::new("unused").unwrap(), "t1");
    export::export_all_tables(&admin, &req, dir, &NoProgress)
        .await
        .unwrap()
}

async fn restore(db: &DataStore, dir: &Path, create: bool) -> Result<ImportSummary, ExportError> {
    let admin = db.unscoped_admin("restore test: import");
    let mut opts = ImportOptions::new("t1");
    opts.create_tables = create;
    export::import(
        &admin,
        ImportSource::Directory(dir.to_path_buf()),
        &opts,
        &NoProgress,
    )
    .await
}

/// The tables of the database's current schema.
async fn tables(db: &DataStore) -> Vec<String> {
    let admin = db.unscoped_admin("restore test: tables");
    match db.backend() {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite%' ORDER BY name",
        )
        .fetch_all(admin.pool::<sqlx::Sqlite>().unwrap())
        .await
        .unwrap(),
        #[cfg(feature = "postgres")]
        Backend::Postgres => sqlx::query_scalar(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() \
             ORDER BY 1",
        )
        .fetch_all(admin.pool::<sqlx::Postgres>().unwrap())
        .await
        .unwrap(),
        #[cfg(feature = "mysql")]
        Backend::MySql => sqlx::query_scalar(
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
             WHERE table_schema = DATABASE() ORDER BY 1",
        )
        .fetch_all(admin.pool::<sqlx::MySql>().unwrap())
        .await
        .unwrap(),
        #[allow(unreachable_patterns)]
        other => panic!("{other} is not compiled in"),
    }
}

/// A source database of `backend` with the kinds table (every documented type) and the data
/// layer's items, rows of `t1` and `t2` in both.
async fn source(backend: &str) -> DataStore {
    let db = database(backend).await;
    exec(&db, kinds_table(db.backend())).await;
    assert_eq!(import_text(&db, "kinds", KINDS).await.unwrap(), 3);
    let f = Fixture::new(db.clone(), "items").await;
    f.item("t1", "Anvil", "ANV-1").await;
    f.item("t2", "Other", "OTH-1").await;
    f.service("t1")
        .create(row(
            serde_json::json!({"name": "Rope", "sku": "R-2", "price_cents": 250}),
        ))
        .await
        .unwrap();
    db
}

/// Every backend's export restores into a fresh database of every backend (itself included),
/// and exports the same bytes again; the definitions read back the same, except where
/// MariaDB has no type of its own (text keys are `varchar(255)`, UUIDs `char(36)`,
/// instants `datetime(6)`, `jsonb` is `json`); and the data layer works on what was created
/// (ids continue past the imported ones, defaults fill what a create leaves out).
#[tokio::test]
async fn a_tenant_restores_into_a_fresh_database_of_every_backend() {
    for from in backends() {
        let db = source(from).await;
        let first = scratch();
        let manifest = export_dir(&db, &first).await;
        let names: Vec<&str> = manifest.tables.iter().map(|t| t.table.as_str()).collect();
        assert_eq!(names, ["items", "kinds"], "{from}");
        let items = &manifest.tables[0].definition.as_ref().unwrap();
        let created_at = items
            .columns
            .iter()
            .find(|c| c.name == "created_at")
            .unwrap();
        // The data layer's timestamps: `timestamptz` on PostgreSQL, zone-less elsewhere.
        assert!(
            matches!(
                created_at.ty,
                PortableType::Timestamptz | PortableType::Timestamp
            ),
            "{from}: {created_at:?}"
        );
        assert!(!created_at.nullable, "{from}");
        assert!(created_at.default.is_some(), "{from}: {created_at:?}");
        assert!(items.columns[0].identity, "{from}: {:?}", items.columns[0]);
        for to in backends() {
            let target = database(to).await;
            assert!(tables(&target).await.is_empty());
            let done = restore(&target, &first, true)
                .await
                .unwrap_or_else(|e| panic!("{from} -> {to}: {e}"));
            assert_eq!(done.rows, 5, "{from} -> {to}");
            let again = scratch();
            let second = export_dir(&target, &again).await;
            for (a, b) in manifest.tables.iter().zip(&second.tables) {
                assert_eq!(
                    std::fs::read_to_string(again.join(&b.file)).unwrap(),
                    std::fs::read_to_string(first.join(&a.file)).unwrap(),
                    "{from} -> {to}: {}",
                    a.table
                );
                assert_eq!((a.rows, &a.sha256), (b.rows, &b.sha256));
                let (da, db) = (
                    a.definition.as_ref().unwrap(),
                    b.definition.as_ref().unwrap(),
                );
                assert_eq!(da.primary_key, db.primary_key, "{from} -> {to}");
                let shape = |d: &export::TableDefinition| {
                    d.columns
                        .iter()
                        .map(|c| (c.name.clone(), c.nullable, c.identity, c.default))
                        .collect::<Vec<_>>()
                };
                assert_eq!(shape(da), shape(db), "{from} -> {to}: {}", a.table);
                if from != "mysql" && to != "mysql" {
                    assert_eq!(da, db, "{from} -> {to}: {}", a.table);
                }
            }
            // The data layer on the restored table: a new row gets the next id and the
            // defaults; the tenant's rows read back.
            let f = Fixture::new(target.clone(), "items").await;
            let id = f.item("t1", "New", "NEW-1").await;
            assert_eq!(id, 4, "{from} -> {to}");
            let rows = f.service("t1").list(Page::default(), &[]).await.unwrap();
            assert_eq!(rows.len(), 3, "{from} -> {to}");
            std::fs::remove_dir_all(&again).unwrap();
        }
        std::fs::remove_dir_all(&first).unwrap();
    }
}

/// A PostgreSQL array cannot be created elsewhere: refused naming table and column, nothing
/// created (SQLite: the transaction; MariaDB: the tables made before it dropped again).
#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_type_that_cannot_be_created_is_refused_naming_table_and_column() {
    let db = database("postgres").await;
    exec(
        &db,
        "CREATE TABLE aaa (id bigint PRIMARY KEY, tenant_id text NOT NULL);
         INSERT INTO aaa VALUES (1, 't1');
         CREATE TABLE tagged (id bigint PRIMARY KEY, tenant_id text NOT NULL, tags integer[]);
         INSERT INTO tagged VALUES (1, 't1', '{1,2}');",
    )
    .await;
    let dir = scratch();
    export_dir(&db, &dir).await;
    for to in backends().into_iter().filter(|b| *b != "postgres") {
        let target = database(to).await;
        let err = restore(&target, &dir, true).await.unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "cannot create table `tagged` on {to}: column `tags` has type unsupported \
                 (integer[] on postgres), which tenantry cannot create on another database; \
                 create the table first; nothing was imported"
            )
        );
        assert!(
            tables(&target).await.is_empty(),
            "{to}: {:?}",
            tables(&target).await
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An import that fails after its tables were created leaves none of them behind, on every
/// backend (MariaDB's `CREATE TABLE` commits: they are dropped again).
#[tokio::test]
async fn a_failed_restore_leaves_no_table_behind() {
    let db = source("sqlite").await;
    let dir = scratch();
    let manifest = export_dir(&db, &dir).await;
    // The second table's file no longer matches its checksum: found after its rows went in.
    let kinds = dir.join(&manifest.tables[1].file);
    let text = std::fs::read_to_string(&kinds).unwrap();
    std::fs::write(&kinds, text.replace("multi", "MULTI")).unwrap();
    for to in backends() {
        let target = database(to).await;
        let err = restore(&target, &dir, true).await.unwrap_err();
        assert!(
            err.to_string().contains("does not match its SHA-256"),
            "{to}: {err}"
        );
        assert!(
            tables(&target).await.is_empty(),
            "{to}: {:?}",
            tables(&target).await
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A manifest written before exports carried definitions imports into existing tables as it
/// always did; with `create_tables` it is refused, saying why, before anything is touched.
#[tokio::test]
async fn a_manifest_without_definitions_imports_but_cannot_create() {
    let db = source("sqlite").await;
    let dir = scratch();
    export_dir(&db, &dir).await;
    let path = dir.join(export::MANIFEST_FILE);
    let mut old: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for t in old["tables"].as_array_mut().unwrap() {
        t.as_object_mut().unwrap().remove("definition");
    }
    old["tool"] = "tenantry 0.1.0".into();
    std::fs::write(&path, serde_json::to_string_pretty(&old).unwrap()).unwrap();

    let target = database("sqlite").await;
    let err = restore(&target, &dir, true).await.unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "--create-tables: {} has no definition of table `items` (it was written by \
             tenantry 0.1.0, before exports carried table definitions); create the tables \
             first and import without --create-tables, or export the tenant again",
            path.display()
        )
    );
    assert!(tables(&target).await.is_empty());
    // Without the tables, the plain import says they are missing.
    let err = restore(&target, &dir, false).await.unwrap_err().to_string();
    assert_eq!(err, "table `items` does not exist");
    // Into tables that exist, it imports.
    exec(&target, kinds_table(Backend::Sqlite)).await;
    Fixture::new(target.clone(), "items").await;
    assert_eq!(restore(&target, &dir, false).await.unwrap().rows, 5);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A directory with definitions, into a database without its tables and no `create_tables`:
/// the refusal says how to create them.
#[tokio::test]
async fn a_missing_table_names_the_option_that_creates_it() {
    let db = source("sqlite").await;
    let dir = scratch();
    export_dir(&db, &dir).await;
    let target = database("sqlite").await;
    let err = restore(&target, &dir, false).await.unwrap_err().to_string();
    assert_eq!(
        err,
        "table `items` does not exist (--create-tables creates it from the export's \
         manifest); nothing was imported"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

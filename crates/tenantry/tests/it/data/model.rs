//! Property test: random sequences of operations by several tenants, against an in-memory model.
//! Every operation's answer is checked against the model; after every cross-tenant attempt the
//! victim (the owner of the row aimed at, or the tenant a body named) reads back exactly the
//! model's rows, and at the end of each sequence every tenant does, rows and count.
//!
//! Each backend runs at least [`OPS_PER_RUN`] operations over [`TENANTS`] tenants per run. Failing
//! sequences are persisted (proptest's seed, in `proptest-regressions/it/data/model.txt`, which
//! is checked in) and replayed first on every later run.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use proptest::{
    prelude::*,
    test_runner::{Config, FileFailurePersistence, TestRunner},
};
use serde_json::json;
use tenantry::data::{DataError, DataStore, Page};

use super::{Fixture, row};

/// Tenants per sequence; each sequence has five fresh ones (`c<n>t<i>`) in one shared table, so
/// a sequence starts from nothing without a table of its own.
const TENANTS: usize = 5;

/// Operations each backend runs (at least) per run.
const OPS_PER_RUN: u64 = 10_000;

/// Operations per generated sequence; sequences per run follow from [`OPS_PER_RUN`].
const OPS_PER_CASE: usize = 100;

#[derive(Debug, Clone)]
enum Op {
    Create {
        by: usize,
        name: String,
        sku: u8,
    },
    /// Create with the body naming another tenant.
    Plant {
        by: usize,
        other: usize,
        name: String,
    },
    Update {
        by: usize,
        target: usize,
        name: String,
    },
    /// Update that tries to move the row to another tenant.
    Move {
        by: usize,
        target: usize,
        other: usize,
    },
    Delete {
        by: usize,
        target: usize,
    },
    Get {
        by: usize,
        target: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let by = 0..TENANTS;
    let name = "[a-z%_!'\\\\]{0,6}";
    prop_oneof![
        3 => (by.clone(), name, 0u8..6).prop_map(|(by, name, sku)| Op::Create { by, name, sku }),
        1 => (by.clone(), 1..TENANTS, name).prop_map(|(by, d, name)| Op::Plant { by, other: (by + d) % TENANTS, name }),
        2 => (by.clone(), 0usize..64, name).prop_map(|(by, target, name)| Op::Update { by, target, name }),
        1 => (by.clone(), 0usize..64, 1..TENANTS).prop_map(|(by, target, d)| Op::Move { by, target, other: (by + d) % TENANTS }),
        1 => (by.clone(), 0usize..64).prop_map(|(by, target)| Op::Delete { by, target }),
        1 => (by, 0usize..64).prop_map(|(by, target)| Op::Get { by, target }),
    ]
}

#[derive(Debug, Clone, PartialEq)]
struct Item {
    id: i64,
    tenant: usize,
    name: String,
    sku: u8,
    live: bool,
}

/// What `tenants` read back equals the model's rows for them (full rows: id, tenant, name, sku),
/// and, with `count`, so does their count.
async fn check(f: &Fixture, names: &[String], model: &[Item], tenants: &[usize], count: bool) {
    for &t in tenants {
        let name = &names[t];
        let svc = f.service(name);
        let seen: Vec<(i64, String, String)> = svc
            .list(Page::new(1000, 0).unwrap(), &[])
            .await
            .unwrap()
            .iter()
            .map(|r| {
                assert_eq!(r["tenant_id"], *name);
                (
                    r["id"].as_i64().unwrap(),
                    r["name"].as_str().unwrap().to_owned(),
                    r["sku"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let expected: Vec<(i64, String, String)> = model
            .iter()
            .filter(|i| i.live && i.tenant == t)
            .map(|i| (i.id, i.name.clone(), format!("S{}", i.sku)))
            .collect();
        assert_eq!(
            seen, expected,
            "tenant {name} sees something else than the model"
        );
        if count {
            assert_eq!(svc.count().await.unwrap(), expected.len() as u64);
        }
    }
}

/// Runs `ops`, returning how many were carried out (an operation on a row when there is none
/// yet is skipped).
async fn run(f: &Fixture, names: &[String], ops: Vec<Op>) -> u64 {
    let mut model: Vec<Item> = Vec::new();
    let mut done = 0;
    for op in ops {
        // The victims of a cross-tenant attempt: the owner of the row aimed at, or the tenant
        // a body named.
        let mut touched: Vec<usize> = Vec::new();
        match op {
            Op::Create { by, name, sku } => {
                let r = f
                    .service(&names[by])
                    .create(row(json!({"name": name, "sku": format!("S{sku}")})))
                    .await;
                let taken = model
                    .iter()
                    .any(|i| i.live && i.tenant == by && i.sku == sku);
                match r {
                    Ok(r) if !taken => model.push(Item {
                        id: r["id"].as_i64().unwrap(),
                        tenant: by,
                        name,
                        sku,
                        live: true,
                    }),
                    Err(DataError::Conflict(_)) if taken => {}
                    other => panic!("create by {by} (sku taken: {taken}): {other:?}"),
                }
            }
            Op::Plant { by, other, name } => {
                touched.push(other);
                let body = json!({"name": name, "sku": "S9", "tenant_id": &names[other]});
                let r = f.service(&names[by]).create(row(body)).await;
                assert!(
                    matches!(r, Err(DataError::TenantMismatch { .. })),
                    "plant: {r:?}"
                );
            }
            Op::Update { by, target, name } => {
                let Some(item) = pick(&mut model, target) else {
                    continue;
                };
                if item.tenant != by {
                    touched.push(item.tenant);
                }
                let r = f
                    .service(&names[by])
                    .update(item.id, row(json!({"name": name})))
                    .await;
                if item.live && item.tenant == by {
                    assert_eq!(r.unwrap()["name"], json!(name));
                    item.name = name;
                } else {
                    assert!(
                        matches!(r, Err(DataError::NotFound)),
                        "update of {item:?} by {by}: {r:?}"
                    );
                }
            }
            Op::Move { by, target, other } => {
                let Some(item) = pick(&mut model, target) else {
                    continue;
                };
                touched.extend([item.tenant, other]);
                let r = f
                    .service(&names[by])
                    .update(item.id, row(json!({"tenant_id": &names[other]})))
                    .await;
                assert!(
                    matches!(r, Err(DataError::TenantMismatch { .. })),
                    "move: {r:?}"
                );
            }
            Op::Delete { by, target } => {
                let Some(item) = pick(&mut model, target) else {
                    continue;
                };
                if item.tenant != by {
                    touched.push(item.tenant);
                }
                let r = f.service(&names[by]).delete(item.id).await;
                if item.live && item.tenant == by {
                    r.unwrap();
                    item.live = false;
                } else {
                    assert!(
                        matches!(r, Err(DataError::NotFound)),
                        "delete of {item:?} by {by}: {r:?}"
                    );
                }
            }
            Op::Get { by, target } => {
                let Some(item) = pick(&mut model, target) else {
                    continue;
                };
                if item.tenant != by {
                    touched.push(item.tenant);
                }
                let r = f.service(&names[by]).get(item.id).await.unwrap();
                if item.live && item.tenant == by {
                    assert_eq!(r.unwrap()["name"], json!(item.name));
                } else {
                    assert!(r.is_none(), "get of {item:?} by {by} saw {r:?}");
                }
            }
        }
        done += 1;
        touched.sort_unstable();
        touched.dedup();
        check(f, names, &model, &touched, false).await;
    }
    let all: Vec<usize> = (0..TENANTS).collect();
    check(f, names, &model, &all, true).await;
    done
}

fn pick(model: &mut [Item], target: usize) -> Option<&mut Item> {
    let n = model.len();
    (n > 0).then(|| &mut model[target % n])
}

/// Runs random sequences on `backend`, each with fresh tenants in one table, until at least
/// [`OPS_PER_RUN`] operations were carried out.
fn property(backend: &'static str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let db: DataStore = rt.block_on(super::database(backend));
    static TABLE: AtomicU32 = AtomicU32::new(0);
    let table = format!("model_{}", TABLE.fetch_add(1, Ordering::Relaxed));
    let f = rt.block_on(Fixture::new(db, &table));
    let case = AtomicU32::new(0);
    let done = AtomicU64::new(0);
    // A tenth more sequences than strictly needed: early operations on rows can be skipped.
    let cases = (OPS_PER_RUN as usize / OPS_PER_CASE) as u32 * 11 / 10;
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/it/data/model.txt"
        )))),
        ..Config::default()
    });
    runner
        .run(
            &proptest::collection::vec(op(), OPS_PER_CASE..=OPS_PER_CASE),
            |ops| {
                let c = case.fetch_add(1, Ordering::Relaxed);
                let names: Vec<String> = (0..TENANTS).map(|i| format!("c{c}t{i}")).collect();
                let n = rt.block_on(run(&f, &names, ops));
                done.fetch_add(n, Ordering::Relaxed);
                Ok(())
            },
        )
        .unwrap();
    rt.block_on(drop_table(&f.db, &table));
    let done = done.into_inner();
    assert!(
        done >= OPS_PER_RUN,
        "{backend}: only {done} operations ran, fewer than {OPS_PER_RUN}"
    );
    eprintln!("{backend}: {done} operations, {TENANTS} tenants per sequence");
}

/// Drops the run's table, so a run leaves a backend as it found it.
async fn drop_table(db: &DataStore, table: &str) {
    let admin = db.unscoped_admin("test: drop the model's table");
    let sql = format!("DROP TABLE {table}");
    #[cfg(feature = "sqlite")]
    if let Some(p) = admin.pool::<sqlx::Sqlite>() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .execute(p)
            .await
            .unwrap();
    }
    #[cfg(feature = "postgres")]
    if let Some(p) = admin.pool::<sqlx::Postgres>() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .execute(p)
            .await
            .unwrap();
    }
    #[cfg(feature = "mysql")]
    if let Some(p) = admin.pool::<sqlx::MySql>() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .execute(p)
            .await
            .unwrap();
    }
}

#[cfg(feature = "sqlite")]
#[test]
fn model_sqlite() {
    property("sqlite");
}

#[cfg(feature = "postgres")]
#[test]
fn model_postgres() {
    property("postgres");
}

#[cfg(feature = "mysql")]
#[test]
fn model_mysql() {
    property("mysql");
}

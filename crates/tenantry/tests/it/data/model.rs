//! Property test: random sequences of operations by several tenants, against an in-memory model.
//! After every step, what each tenant can see equals the model's rows for that tenant.

use std::sync::atomic::{AtomicU32, Ordering};

use proptest::{
    prelude::*,
    test_runner::{Config, TestRunner},
};
use serde_json::json;
use tenantry::data::{DataError, DataStore, Page};

use super::{Fixture, row};

const TENANTS: [&str; 3] = ["t0", "t1", "t2"];

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
    let by = 0..TENANTS.len();
    let name = "[a-z%_!'\\\\]{0,6}";
    prop_oneof![
        3 => (by.clone(), name, 0u8..4).prop_map(|(by, name, sku)| Op::Create { by, name, sku }),
        1 => (by.clone(), 1..TENANTS.len(), name).prop_map(|(by, d, name)| Op::Plant { by, other: (by + d) % TENANTS.len(), name }),
        2 => (by.clone(), 0usize..64, name).prop_map(|(by, target, name)| Op::Update { by, target, name }),
        1 => (by.clone(), 0usize..64, 1..TENANTS.len()).prop_map(|(by, target, d)| Op::Move { by, target, other: (by + d) % TENANTS.len() }),
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

async fn check(f: &Fixture, model: &[Item]) {
    for (t, name) in TENANTS.iter().enumerate() {
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
        assert_eq!(svc.count().await.unwrap(), expected.len() as u64);
    }
}

async fn run(f: &Fixture, ops: Vec<Op>) {
    let mut model: Vec<Item> = Vec::new();
    for op in ops {
        match op {
            Op::Create { by, name, sku } => {
                let r = f
                    .service(TENANTS[by])
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
                let body = json!({"name": name, "sku": "S9", "tenant_id": TENANTS[other]});
                let r = f.service(TENANTS[by]).create(row(body)).await;
                assert!(
                    matches!(r, Err(DataError::TenantMismatch { .. })),
                    "plant: {r:?}"
                );
            }
            Op::Update { by, target, name } => {
                let Some(item) = pick(&mut model, target) else {
                    continue;
                };
                let r = f
                    .service(TENANTS[by])
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
                let r = f
                    .service(TENANTS[by])
                    .update(item.id, row(json!({"tenant_id": TENANTS[other]})))
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
                let r = f.service(TENANTS[by]).delete(item.id).await;
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
                let r = f.service(TENANTS[by]).get(item.id).await.unwrap();
                if item.live && item.tenant == by {
                    assert_eq!(r.unwrap()["name"], json!(item.name));
                } else {
                    assert!(r.is_none(), "get of {item:?} by {by} saw {r:?}");
                }
            }
        }
        check(f, &model).await;
    }
}

fn pick(model: &mut [Item], target: usize) -> Option<&mut Item> {
    let n = model.len();
    (n > 0).then(|| &mut model[target % n])
}

/// Runs `cases` random sequences on `backend`, each on a table of its own.
fn property(backend: &'static str, cases: u32) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let db: DataStore = rt.block_on(super::database(backend));
    static TABLE: AtomicU32 = AtomicU32::new(0);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 1..24), |ops| {
            let table = format!("model_{}", TABLE.fetch_add(1, Ordering::Relaxed));
            rt.block_on(async {
                let f = Fixture::new(db.clone(), &table).await;
                run(&f, ops).await;
            });
            Ok(())
        })
        .unwrap();
}

#[cfg(feature = "sqlite")]
#[test]
fn model_sqlite() {
    property("sqlite", 64);
}

#[cfg(feature = "postgres")]
#[test]
fn model_postgres() {
    property("postgres", 48);
}

#[cfg(feature = "mysql")]
#[test]
fn model_mysql() {
    property("mysql", 32);
}

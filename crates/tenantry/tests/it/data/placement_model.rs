//! Property test: random operations by 60 tenants in mixed placements (shared rows, their own
//! database, and on PostgreSQL their own schema), every tenant's operations running at the
//! same time as all the others' over one registry, each answer checked against a model.
//!
//! Each case seeds two rows per tenant, then every tenant runs its own random sequence of
//! creates, reads, updates and deletes aimed at any seeded id, its own or another tenant's
//! (ids coincide across databases: what the tenant owns is what the model says it owns).
//! Afterwards each tenant's rows equal the model's, so no concurrent request ever reached
//! another tenant's placement, including pools evicted and reopened mid-case (the pool cap is
//! below the number of database tenants).

use std::collections::BTreeMap;

use proptest::{
    prelude::*,
    test_runner::{Config, TestRunner},
};
use serde_json::json;
use tenantry::{
    catalog::{Catalog, MemoryCatalog, Placement, PlacementKind, TenantRecord},
    data::{
        DataError, Page, Registry, ServerConfig, Servers, ServersConfig, TenantSetup, TenantTable,
    },
};

use super::{items, row, tenant};

const TENANTS: usize = 60;

#[derive(Debug, Clone)]
enum Op {
    Create(String),
    Get(usize),
    Update(usize, String),
    Delete(usize),
}

fn op(ids: usize) -> impl Strategy<Value = Op> {
    let name = "[a-z]{1,6}";
    prop_oneof![
        2 => name.prop_map(Op::Create),
        2 => (0..ids).prop_map(Op::Get),
        2 => (0..ids, name).prop_map(|(i, n)| Op::Update(i, n)),
        1 => (0..ids).prop_map(Op::Delete),
    ]
}

/// A registry over `TENANTS` tenants placed round-robin over `kinds`.
async fn registry(url: String, kinds: &[PlacementKind]) -> (Registry, Vec<String>) {
    let own = (!url.starts_with("sqlite:"))
        .then(|| url.rsplit_once('/').map(|(_, db)| db.to_owned()))
        .flatten();
    let names: Vec<String> = (0..TENANTS).map(|i| format!("m{i:02}")).collect();
    let mut catalog = MemoryCatalog::new();
    let mut placements = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let p = Placement::generated(kinds[i % kinds.len()], &tenant(n), own.as_deref());
        placements.push(p.clone());
        catalog = catalog.with(TenantRecord::new(tenant(n), n).with_placement(p));
    }
    let mut config = ServersConfig::default();
    // Fewer pools than database tenants: pools are evicted and reopened during the test.
    config
        .servers
        .insert("main".into(), ServerConfig::url(url).tenant_pools(8, 2));
    let registry = Registry::connect(Servers::from_config(config).unwrap(), Catalog::new(catalog))
        .await
        .unwrap();
    let setup = TenantSetup::tables([items("items")]);
    registry
        .store()
        .create_table(&items("items"))
        .await
        .unwrap();
    for p in &placements {
        registry.provision(p, &setup).await.unwrap();
    }
    (registry, names)
}

/// One tenant's run: its ops in order, each answer checked against its model. `seeded`: every
/// seeded (owner, id); `model`: this tenant's rows, id → name.
async fn run_tenant(
    registry: Registry,
    me: String,
    ops: Vec<Op>,
    seeded: Vec<(String, i64)>,
    mut model: BTreeMap<i64, String>,
) -> Result<BTreeMap<i64, String>, String> {
    let t = TenantTable::new(registry.store(), items("items"), tenant(&me));
    for (n, op) in ops.into_iter().enumerate() {
        match op {
            Op::Create(name) => {
                let made = t
                    .create(row(json!({"name": name, "sku": format!("{me}-{n}")})))
                    .await
                    .map_err(|e| format!("{me} create: {e:?}"))?;
                if made["tenant_id"] != me.as_str() {
                    return Err(format!("{me} created {made:?}"));
                }
                model.insert(made["id"].as_i64().unwrap(), name);
            }
            Op::Get(i) => {
                let id = seeded[i].1;
                let got = t.get(id).await.map_err(|e| format!("{me} get: {e:?}"))?;
                let want = model.get(&id);
                match (got, want) {
                    (None, None) => {}
                    (Some(r), Some(name))
                        if r["name"] == name.as_str() && r["tenant_id"] == me.as_str() => {}
                    (got, want) => {
                        return Err(format!(
                            "{me} get {id} (seeded by {}): {got:?}, model {want:?}",
                            seeded[i].0
                        ));
                    }
                }
            }
            Op::Update(i, name) => {
                let id = seeded[i].1;
                match (
                    t.update(id, row(json!({"name": name}))).await,
                    model.contains_key(&id),
                ) {
                    (Ok(r), true) if r["tenant_id"] == me.as_str() => {
                        model.insert(id, name);
                    }
                    (Err(DataError::NotFound), false) => {}
                    (got, owned) => {
                        return Err(format!("{me} update {id}: {got:?}, owned {owned}"));
                    }
                }
            }
            Op::Delete(i) => {
                let id = seeded[i].1;
                match (t.delete(id).await, model.remove(&id).is_some()) {
                    (Ok(()), true) | (Err(DataError::NotFound), false) => {}
                    (got, owned) => {
                        return Err(format!("{me} delete {id}: {got:?}, owned {owned}"));
                    }
                }
            }
        }
    }
    // What the tenant sees at the end is exactly its model.
    let rows = t
        .list(Page::new(1000, 0).unwrap(), &[])
        .await
        .map_err(|e| format!("{e:?}"))?;
    let seen: BTreeMap<i64, String> = rows
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap(),
                r["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    if seen != model {
        return Err(format!("{me} sees {seen:?}, model {model:?}"));
    }
    Ok(model)
}

fn property(url: String, kinds: &'static [PlacementKind], cases: u32) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (registry, names) = rt.block_on(registry(url, kinds));
    let ids = TENANTS * 2;
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = proptest::collection::vec(proptest::collection::vec(op(ids), 0..10), TENANTS);
    runner
        .run(&strategy, |per_tenant| {
            let result: Result<(), String> = rt.block_on(async {
                // Every tenant empties its table and seeds two rows, all at once.
                let mut seeding = tokio::task::JoinSet::new();
                for (i, n) in names.iter().enumerate() {
                    let (registry, n) = (registry.clone(), n.clone());
                    seeding.spawn(async move {
                        let t = TenantTable::new(registry.store(), items("items"), tenant(&n));
                        for r in t.list(Page::new(1000, 0).unwrap(), &[]).await.unwrap() {
                            t.delete(r["id"].as_i64().unwrap()).await.unwrap();
                        }
                        let mut model = BTreeMap::new();
                        for k in 0..2 {
                            let made = t
                                .create(row(
                                    json!({"name": format!("{n}{k}"), "sku": format!("seed{k}")}),
                                ))
                                .await
                                .unwrap();
                            model.insert(made["id"].as_i64().unwrap(), format!("{n}{k}"));
                        }
                        (i, model)
                    });
                }
                let mut models = vec![BTreeMap::new(); names.len()];
                while let Some(done) = seeding.join_next().await {
                    let (i, model) = done.unwrap();
                    models[i] = model;
                }
                let seeded: Vec<(String, i64)> = names
                    .iter()
                    .zip(&models)
                    .flat_map(|(n, m)| m.keys().map(move |id| (n.clone(), *id)))
                    .collect();
                let mut runs = tokio::task::JoinSet::new();
                for ((n, ops), model) in names.iter().zip(per_tenant).zip(models) {
                    runs.spawn(run_tenant(
                        registry.clone(),
                        n.clone(),
                        ops,
                        seeded.clone(),
                        model,
                    ));
                }
                while let Some(outcome) = runs.join_next().await {
                    outcome.map_err(|e| e.to_string())??;
                }
                Ok(())
            });
            prop_assert!(result.is_ok(), "{}", result.unwrap_err());
            Ok(())
        })
        .unwrap();
}

#[cfg(feature = "sqlite")]
#[test]
fn sixty_tenants_in_rows_and_databases_sqlite() {
    let url = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(crate::db::sqlite_url());
    property(url, &[PlacementKind::Row, PlacementKind::Database], 4);
}

#[cfg(feature = "postgres")]
#[test]
fn sixty_tenants_in_rows_schemas_and_databases_postgres() {
    let url = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(crate::db::postgres_url());
    property(
        url,
        &[
            PlacementKind::Row,
            PlacementKind::Schema,
            PlacementKind::Database,
        ],
        6,
    );
}

#[cfg(feature = "mysql")]
#[test]
fn sixty_tenants_in_rows_and_databases_mysql() {
    let url = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(crate::db::mysql_url());
    property(url, &[PlacementKind::Row, PlacementKind::Database], 4);
}

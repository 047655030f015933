//! svc-infra's TenantSqlService cases, ported, and every operation shown to be scoped by the
//! rows it returns.

use serde_json::json;
use tenantry::data::{DataError, ListQuery, Order, Page};

use super::{Fixture, on_every_backend, row};

mod svc_infra_cases {
    use super::*;
    on_every_backend!(super::svc_infra_cases_suite);
}

async fn svc_infra_cases_suite(db: tenantry::data::DataStore) {
    let f = Fixture::new(db, "items").await;
    let (t1, t2) = (f.service("t1"), f.service("t2"));

    // Create injects the tenant; the other tenant's list stays empty.
    let created = t1
        .create(row(json!({"name": "alpha", "sku": "A"})))
        .await
        .unwrap();
    assert_eq!(created["tenant_id"], "t1");
    assert_eq!(created["name"], "alpha");
    assert_eq!(created["price_cents"], 0, "database default applied");
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(t2.list(Page::default(), &[]).await.unwrap().is_empty());
    assert_eq!(t2.count().await.unwrap(), 0);

    let beta = f.item("t1", "beta", "B").await;
    let gamma = f.item("t2", "gamma", "C").await;

    // list / count
    let names = |rows: Vec<tenantry::data::Record>| -> Vec<String> {
        rows.iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(t1.list(Page::default(), &[]).await.unwrap()),
        ["alpha", "beta"]
    );
    assert_eq!(
        names(t2.list(Page::default(), &[]).await.unwrap()),
        ["gamma"]
    );
    assert_eq!(t1.count().await.unwrap(), 2);
    // get
    assert_eq!(t1.get(beta).await.unwrap().unwrap()["name"], "beta");
    assert!(t1.get(gamma).await.unwrap().is_none());
    assert!(t2.get(beta).await.unwrap().is_none());
    // search / count_search
    assert_eq!(
        names(t1.search("ET", None, Page::default(), &[]).await.unwrap()),
        ["beta"]
    );
    assert!(
        t2.search("beta", None, Page::default(), &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(t1.count_search("a", None).await.unwrap(), 2);
    assert_eq!(t2.count_search("a", None).await.unwrap(), 1);
    assert_eq!(
        t1.count_search("c", Some(&["sku"])).await.unwrap(),
        0,
        "t2's sku C is invisible"
    );
    // update: cross-tenant is not found and changes nothing; the owner's works.
    let t1_before = f.snapshot("t1").await;
    assert!(matches!(
        t2.update(beta, row(json!({"name": "hijack"}))).await,
        Err(DataError::NotFound)
    ));
    assert_eq!(f.snapshot("t1").await, t1_before);
    let updated = t1
        .update(beta, row(json!({"name": "beta2", "price_cents": 250})))
        .await
        .unwrap();
    assert_eq!(
        (updated["name"].clone(), updated["price_cents"].clone()),
        (json!("beta2"), json!(250))
    );
    // An empty patch is a no-op that returns the row.
    assert_eq!(
        t1.update(beta, row(json!({}))).await.unwrap()["name"],
        "beta2"
    );
    let t1_before = f.snapshot("t1").await;
    assert!(matches!(
        t2.update(beta, row(json!({}))).await,
        Err(DataError::NotFound)
    ));
    assert_eq!(f.snapshot("t1").await, t1_before);
    // delete: cross-tenant is not found and deletes nothing; the owner's works.
    assert!(matches!(t2.delete(beta).await, Err(DataError::NotFound)));
    assert_eq!(f.snapshot("t1").await, t1_before);
    t1.delete(beta).await.unwrap();
    assert!(t1.get(beta).await.unwrap().is_none());
    assert!(matches!(t1.delete(beta).await, Err(DataError::NotFound)));
    // The per-tenant list contains only that tenant's ids.
    let ids: Vec<i64> = t2
        .list(Page::default(), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [gamma]);
}

mod listing {
    use super::*;
    on_every_backend!(super::listing_suite);
}

async fn listing_suite(db: tenantry::data::DataStore) {
    let f = Fixture::new(db, "items").await;
    let t = f.service("acme");
    for (i, name) in ["pear", "apple", "fig", "banana", "cherry"]
        .iter()
        .enumerate()
    {
        t.create(row(
            json!({"name": name, "sku": format!("S{i}"), "price_cents": (i as i64 % 2) * 100}),
        ))
        .await
        .unwrap();
    }
    f.item("other", "apple", "S0").await;
    let names = |rows: &[tenantry::data::Record]| {
        rows.iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let by_name = t
        .list(Page::default(), &[Order::asc("name")])
        .await
        .unwrap();
    assert_eq!(
        names(&by_name),
        ["apple", "banana", "cherry", "fig", "pear"]
    );
    let desc = t
        .list(Page::default(), &Order::parse_list("-name").unwrap())
        .await
        .unwrap();
    assert_eq!(names(&desc), ["pear", "fig", "cherry", "banana", "apple"]);
    // Ties broken by id: price 0 = pear, fig, cherry (ids 1, 3, 5); price 100 = apple, banana.
    let by_price = t
        .list(Page::default(), &Order::parse_list("-price_cents").unwrap())
        .await
        .unwrap();
    assert_eq!(
        names(&by_price),
        ["apple", "banana", "pear", "fig", "cherry"]
    );
    // Pages.
    let p = |l, o| Page::new(l, o).unwrap();
    assert_eq!(
        names(&t.list(p(2, 0), &[Order::asc("name")]).await.unwrap()),
        ["apple", "banana"]
    );
    assert_eq!(
        names(&t.list(p(2, 4), &[Order::asc("name")]).await.unwrap()),
        ["pear"]
    );
    assert!(t.list(p(2, 10), &[]).await.unwrap().is_empty());
    // Filters and search together, with counts.
    let q = ListQuery::new().filter("sku", "S1");
    assert_eq!(names(&t.find(&q).await.unwrap()), ["apple"]);
    assert_eq!(t.count_where(&q).await.unwrap(), 1);
    let q = ListQuery::new()
        .search("AN", None)
        .order(vec![Order::desc("id")]);
    assert_eq!(names(&t.find(&q).await.unwrap()), ["banana"]);
    let q = ListQuery::new().search("e", Some(vec!["name".into()]));
    assert_eq!(t.count_where(&q).await.unwrap(), 3); // pear, apple, cherry
}

/// Every operation's future stays small: the transaction paths (row-level security, MariaDB's
/// read-back) are boxed, so a handler awaiting `get` does not carry (and copy) kilobytes of
/// state for paths it does not take. Measured with every backend compiled in.
#[tokio::test]
async fn operation_futures_stay_small() {
    use tenantry::{
        TenantId,
        data::{DataStore, Record, TenantTable},
    };
    const MAX: usize = 2048;
    let db = DataStore::connect("sqlite::memory:").await.unwrap();
    let svc = TenantTable::new(db, super::items("items"), TenantId::parse("acme").unwrap());
    let q = ListQuery::new();
    let sizes = [
        ("get", std::mem::size_of_val(&svc.get(1))),
        ("find", std::mem::size_of_val(&svc.find(&q))),
        ("count_where", std::mem::size_of_val(&svc.count_where(&q))),
        ("create", std::mem::size_of_val(&svc.create(Record::new()))),
        (
            "update",
            std::mem::size_of_val(&svc.update(1, Record::new())),
        ),
        ("delete", std::mem::size_of_val(&svc.delete(1))),
    ];
    for (op, size) in sizes {
        assert!(
            size <= MAX,
            "{op}'s future is {size} bytes (at most {MAX} expected)"
        );
    }
}

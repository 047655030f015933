//! Each way of doing a request: the service (JSON rows or typed) and hand-written sqlx.

use super::*;

/// The hand-written statements on one table.
#[derive(Clone, Copy)]
pub(crate) struct Stmts {
    pub(crate) get: &'static str,
    pub(crate) list: &'static str,
}

impl Stmts {
    /// `SELECT .. WHERE tenant_id = $1 AND id = $2` and `.. ORDER BY id LIMIT 50 OFFSET $2`,
    /// as an application would write them (leaked once: static strings, like literals).
    pub(crate) fn on(table: &str) -> Self {
        let get = format!("SELECT {COLUMNS} FROM {table} WHERE tenant_id = $1 AND id = $2");
        let list = format!(
            "SELECT {COLUMNS} FROM {table} WHERE tenant_id = $1 ORDER BY id LIMIT 50 OFFSET $2"
        );
        Self {
            get: Box::leak(get.into_boxed_str()),
            list: Box::leak(list.into_boxed_str()),
        }
    }
}

/// The tests' `items` resource (tests/it/data.rs), on `table`.
pub(crate) fn items(table: &str) -> Resource {
    Resource::builder(table)
        .integer_id("id")
        .column(Column::text("name"))
        .column(Column::text("sku"))
        .column(Column::integer("price_cents").with_default())
        .column(Column::text("note").nullable())
        .column(Column::timestamp("created_at").with_default())
        .searchable(["name", "sku"])
        .sortable(["id", "name", "price_cents", "created_at"])
        .filterable(["sku"])
        .unique_per_tenant(["sku"])
        .build()
        .unwrap()
}

pub(crate) fn tenant_name(k: u64) -> String {
    format!("t{k:03}")
}

/// splitmix64 from a fixed seed: the requests every case makes, in order.
pub(crate) struct Pick(u64);

impl Pick {
    pub(crate) fn new(stream: u64) -> Self {
        Self(SEED ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A tenant and one of its ids.
    pub(crate) fn get(&mut self) -> (usize, i64) {
        let r = self.next();
        let k = r % TENANTS;
        let j = (r / TENANTS) % ROWS_PER_TENANT;
        (k as usize, (j * TENANTS + k + 1) as i64)
    }

    /// A tenant and the offset of one of its first pages.
    pub(crate) fn list(&mut self) -> (usize, u64) {
        let r = self.next();
        let k = r % TENANTS;
        (k as usize, u64::from(PAGE) * ((r / TENANTS) % LIST_PAGES))
    }
}

/// The row as the service returns it, decoded by hand.
pub(crate) fn json_row(r: &PgRow) -> Result<Record, sqlx::Error> {
    let mut out = Record::new();
    out.insert("id".to_owned(), Json::from(r.try_get::<i64, _>("id")?));
    out.insert(
        "tenant_id".to_owned(),
        Json::from(r.try_get::<String, _>("tenant_id")?),
    );
    out.insert(
        "name".to_owned(),
        Json::from(r.try_get::<String, _>("name")?),
    );
    out.insert("sku".to_owned(), Json::from(r.try_get::<String, _>("sku")?));
    out.insert(
        "price_cents".to_owned(),
        Json::from(r.try_get::<i64, _>("price_cents")?),
    );
    out.insert(
        "note".to_owned(),
        r.try_get::<Option<String>, _>("note")?
            .map_or(Json::Null, Json::from),
    );
    let at: DateTime<Utc> = r.try_get("created_at")?;
    out.insert(
        "created_at".to_owned(),
        Json::String(at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    );
    Ok(out)
}

/// The row as a plain struct (what a `FromRow` derive would produce, and what
/// `TenantTable::typed` deserializes into).
#[derive(Debug, Deserialize)]
#[allow(dead_code, reason = "read through black_box and Debug only")]
pub(crate) struct Item {
    pub(crate) id: i64,
    pub(crate) tenant_id: String,
    pub(crate) name: String,
    pub(crate) sku: String,
    pub(crate) price_cents: i64,
    pub(crate) note: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
}

pub(crate) fn typed_row(r: &PgRow) -> Result<Item, sqlx::Error> {
    Ok(Item {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        sku: r.try_get("sku")?,
        price_cents: r.try_get("price_cents")?,
        note: r.try_get("note")?,
        created_at: r.try_get("created_at")?,
    })
}

/// One way of doing a request.
#[derive(Clone)]
pub(crate) enum Side {
    /// `TenantTable`, built per request.
    Service(DataStore, Resource),
    /// `TenantTable::typed::<Item>()`, built per request.
    ServiceTyped(DataStore, Resource),
    /// Hand-written sqlx, rows decoded into the service's JSON shape.
    SqlxJson(PgPool, Stmts),
    /// Hand-written sqlx, rows decoded into [`Item`].
    SqlxTyped(PgPool, Stmts),
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Op {
    Get,
    List50,
}

impl Side {
    /// Rows returned (1 for a get that found its row).
    pub(crate) async fn get(&self, tenant: &TenantId, id: i64) -> usize {
        match self {
            Side::Service(db, resource) => {
                let svc = TenantTable::new(db.clone(), resource.clone(), tenant.clone());
                let row = svc.get(id).await.unwrap();
                usize::from(black_box(row).is_some())
            }
            Side::ServiceTyped(db, resource) => {
                let svc =
                    TenantTable::new(db.clone(), resource.clone(), tenant.clone()).typed::<Item>();
                let row = svc.get(id).await.unwrap();
                usize::from(black_box(row).is_some())
            }
            Side::SqlxJson(pool, sql) => {
                let row = sqlx::query(sql.get)
                    .bind(tenant.as_str())
                    .bind(id)
                    .fetch_optional(pool)
                    .await
                    .unwrap();
                let row = row.map(|r| json_row(&r).unwrap());
                usize::from(black_box(row).is_some())
            }
            Side::SqlxTyped(pool, sql) => {
                let row = sqlx::query(sql.get)
                    .bind(tenant.as_str())
                    .bind(id)
                    .fetch_optional(pool)
                    .await
                    .unwrap();
                let row = row.map(|r| typed_row(&r).unwrap());
                usize::from(black_box(row).is_some())
            }
        }
    }

    pub(crate) async fn list(&self, tenant: &TenantId, offset: u64) -> usize {
        match self {
            Side::Service(db, resource) => {
                let svc = TenantTable::new(db.clone(), resource.clone(), tenant.clone());
                let rows = svc
                    .list(Page::new(PAGE, offset).unwrap(), &[])
                    .await
                    .unwrap();
                black_box(rows).len()
            }
            Side::ServiceTyped(db, resource) => {
                let svc =
                    TenantTable::new(db.clone(), resource.clone(), tenant.clone()).typed::<Item>();
                let page = Page::new(PAGE, offset).unwrap();
                let rows = svc.find(&ListQuery::new().page(page)).await.unwrap();
                black_box(rows).len()
            }
            Side::SqlxJson(pool, sql) => {
                let rows = sqlx::query(sql.list)
                    .bind(tenant.as_str())
                    .bind(offset as i64)
                    .fetch_all(pool)
                    .await
                    .unwrap();
                let rows: Vec<Record> = rows.iter().map(|r| json_row(r).unwrap()).collect();
                black_box(rows).len()
            }
            Side::SqlxTyped(pool, sql) => {
                let rows = sqlx::query(sql.list)
                    .bind(tenant.as_str())
                    .bind(offset as i64)
                    .fetch_all(pool)
                    .await
                    .unwrap();
                let rows: Vec<Item> = rows.iter().map(|r| typed_row(r).unwrap()).collect();
                black_box(rows).len()
            }
        }
    }

    pub(crate) async fn run(&self, op: Op, tenants: &[TenantId], pick: &mut Pick) -> usize {
        match op {
            Op::Get => {
                let (k, id) = pick.get();
                self.get(&tenants[k], id).await
            }
            Op::List50 => {
                let (k, offset) = pick.list();
                self.list(&tenants[k], offset).await
            }
        }
    }
}

/// Every side of every comparison.
pub(crate) struct Sides {
    pub(crate) sqlx: Side,
    pub(crate) sqlx_typed: Side,
    pub(crate) service: Side,
    pub(crate) service_typed: Side,
    pub(crate) app: Side,
    pub(crate) app_tx: Side,
    pub(crate) app_rls: Side,
    pub(crate) sqlx_rls_table: Side,
}

pub(crate) fn sides(env: &Env) -> Sides {
    let with_rls = env.app.clone().with_row_level_security().unwrap();
    let (sql, sql_rls) = (Stmts::on(TABLE), Stmts::on(TABLE_RLS));
    Sides {
        sqlx: Side::SqlxJson(env.admin_pool.clone(), sql),
        sqlx_typed: Side::SqlxTyped(env.admin_pool.clone(), sql),
        service: Side::Service(env.admin.clone(), env.items.clone()),
        service_typed: Side::ServiceTyped(env.admin.clone(), env.items.clone()),
        app: Side::Service(env.app.clone(), env.items.clone()),
        app_tx: Side::Service(with_rls.clone(), env.items.clone()),
        app_rls: Side::Service(with_rls, env.items_rls.clone()),
        sqlx_rls_table: Side::SqlxJson(env.admin_pool.clone(), sql_rls),
    }
}

impl Sides {
    /// The comparisons: the library against hand-written sqlx, and RLS on against off; each
    /// with the pairs `(base, case)` whose ratio is reported.
    pub(crate) fn groups(&self) -> [Group<'_>; 2] {
        [
            (
                vec![
                    ("sqlx", &self.sqlx),
                    ("service", &self.service),
                    ("sqlx-typed", &self.sqlx_typed),
                    ("service-typed", &self.service_typed),
                ],
                vec![(0, 1), (2, 3), (0, 2)],
            ),
            (
                vec![
                    ("service (app role, no rls)", &self.app),
                    (
                        "service (app role, tx+set_config, table rls off)",
                        &self.app_tx,
                    ),
                    ("service+rls", &self.app_rls),
                    ("sqlx", &self.sqlx),
                    ("sqlx (items_rls, superuser)", &self.sqlx_rls_table),
                ],
                vec![(0, 1), (0, 2), (1, 2), (3, 4)],
            ),
        ]
    }
}

//! Table definitions from a [`Resource`], written once for every driver. Identifiers come only
//! from [`Ident`]s (already checked), through [`SqlText`]; no value is ever part of DDL.

use sqlx::Pool;

use super::{ColumnType, DataError, IdKind, Ident, Resource, column::Role};
use crate::driver::{Driver, SqlText};

/// An index name from the table and columns, within the 63-byte limit.
pub(crate) fn index_name(table: &Ident, cols: &[&Ident], suffix: &str) -> Result<Ident, DataError> {
    let mut name = table.as_str().to_owned();
    for c in cols {
        name.push('_');
        name.push_str(c.as_str());
    }
    let room = Ident::MAX_LEN - suffix.len() - 1;
    if name.len() > room {
        // Keep it unique: a short hash of the full name.
        let h = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        name.truncate(room - 9);
        name.push_str(&format!("_{:08x}", h as u32));
    }
    Ident::new(&format!("{name}_{suffix}")).map_err(|e| DataError::Unsupported(e.to_string()))
}

/// `CREATE TABLE IF NOT EXISTS` and its indexes, in that order.
///
/// `exact_collation` is the collation every text column gets so that `tenant_id = ?` (and
/// every other text comparison) compares exactly; MariaDB / MySQL need one (under the server's
/// default, `utf8mb4_general_ci`, `ACME` and `acme` would be one tenant), the others do not.
pub(crate) fn create_table_sql<D: Driver>(
    r: &Resource,
    schema: Option<&Ident>,
    exact_collation: Option<&'static str>,
) -> Result<Vec<String>, DataError> {
    let mut sql = SqlText::<D>::new("CREATE TABLE IF NOT EXISTS ")
        .table(schema, r.table())
        .push(" (");
    // Ids a client may choose (text, and UUIDs given on create) are keyed with the tenant.
    let composite_key = matches!(r.id_kind(), IdKind::Text | IdKind::Uuid);
    for (i, c) in r.columns().iter().enumerate() {
        if i > 0 {
            sql = sql.push(", ");
        }
        let key = matches!(c.role, Role::Id | Role::Tenant);
        sql = sql
            .ident(&c.name)
            .push(" ")
            .keyword(D::column_type(c.ty, key));
        if c.ty == ColumnType::Text
            && let Some(collation) = exact_collation
        {
            sql = sql
                .push(" CHARACTER SET utf8mb4 COLLATE ")
                .keyword(collation);
        }
        match (c.role, r.id_kind()) {
            (Role::Id, IdKind::Integer) => sql = sql.keyword(D::GENERATED_ID),
            _ => {
                if !c.nullable {
                    sql = sql.push(" NOT NULL");
                }
                if c.has_default && c.role == Role::Data {
                    let default = D::default_expr(c.ty).ok_or_else(|| {
                        DataError::Unsupported(format!(
                            "no database default for {:?} column `{}` on {}",
                            c.ty,
                            c.name,
                            D::BACKEND
                        ))
                    })?;
                    sql = sql.push(" DEFAULT ").keyword(default);
                }
            }
        }
    }
    if composite_key {
        // Client-chosen ids are unique per tenant, so one tenant's choice never collides with
        // (and so never reveals) another's: a UUID given on create that another tenant holds
        // is a new row of this tenant, not a 409 that tells it the id exists.
        sql = sql
            .push(", PRIMARY KEY (")
            .idents([r.tenant_field(), r.id()])
            .push(")");
    }
    let mut out = vec![sql.push(")").into_string()];
    let tenant_idx = index_name(r.table(), &[r.tenant_field()], "tenant_idx")?;
    out.push(
        SqlText::<D>::new("CREATE INDEX IF NOT EXISTS ")
            .ident(&tenant_idx)
            .push(" ON ")
            .table(schema, r.table())
            .push(" (")
            .idents([r.tenant_field(), r.id()])
            .push(")")
            .into_string(),
    );
    for set in r.unique_per_tenant() {
        let refs: Vec<&Ident> = set.iter().collect();
        let name = index_name(r.table(), &refs, "tenant_key")?;
        out.push(
            SqlText::<D>::new("CREATE UNIQUE INDEX IF NOT EXISTS ")
                .ident(&name)
                .push(" ON ")
                .table(schema, r.table())
                .push(" (")
                .idents(std::iter::once(r.tenant_field()).chain(set))
                .push(")")
                .into_string(),
        );
    }
    Ok(out)
}

/// Creates `r`'s table and indexes on `pool`, in `schema` if given (see
/// [`DataStore::create_table`](super::DataStore::create_table)).
pub(crate) async fn create_table<D: Driver>(
    pool: &Pool<D>,
    r: &Resource,
    schema: Option<&Ident>,
) -> Result<(), DataError> {
    let collation = D::exact_collation(pool).await?;
    for statement in create_table_sql::<D>(r, schema, collation)? {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(D::on_pool(pool))
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Column;

    fn items() -> Resource {
        Resource::builder("items")
            .integer_id("id")
            .column(Column::text("sku"))
            .column(Column::timestamp("created_at").with_default())
            .unique_per_tenant(["sku"])
            .build()
            .unwrap()
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn items_ddl_postgres() {
        let pg = create_table_sql::<sqlx::Postgres>(&items(), None, None).unwrap();
        assert_eq!(
            pg[0],
            "CREATE TABLE IF NOT EXISTS \"items\" (\"id\" bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, \
             \"tenant_id\" text NOT NULL, \"sku\" text NOT NULL, \"created_at\" timestamptz NOT NULL DEFAULT now())"
        );
        assert_eq!(
            pg[2],
            "CREATE UNIQUE INDEX IF NOT EXISTS \"items_sku_tenant_key\" ON \"items\" (\"tenant_id\", \"sku\")"
        );
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn items_ddl_mysql() {
        let my =
            create_table_sql::<sqlx::MySql>(&items(), None, Some("utf8mb4_nopad_bin")).unwrap();
        assert!(
            my[0].contains(
                "`tenant_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL"
            ),
            "{}",
            my[0]
        );
    }

    #[test]
    fn long_index_names_fit() {
        let long = "c".repeat(60);
        let n = index_name(
            items().table(),
            &[&Ident::new(&long).unwrap()],
            "tenant_key",
        )
        .unwrap();
        assert!(n.as_str().len() <= 63);
    }
}

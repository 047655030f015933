//! Imported rows into PostgreSQL: each batch as one `jsonb` array through
//! `jsonb_populate_recordset`, which converts each value with the column type's own input
//! function (numeric from its exact text, timestamps from RFC 3339, arrays, intervals and enums
//! from their text form). Only bytes need help: base64 becomes `bytea`'s hex input.

use base64::Engine as _;
use sea_query::Value as Sql;
use sea_query_sqlx::SqlxValues;
use serde_json::{Map, Value};
use sqlx::{PgConnection, Postgres};

use crate::{
    driver::{SqlText, query, sealed::ImportRows, sealed::Sealed},
    export::{ExportError, import::Feed, schema::Generated},
};

impl ImportRows for Postgres {
    fn import_batch(_width: usize) -> usize {
        1000
    }

    async fn insert_batch(
        conn: &mut PgConnection,
        feed: &Feed<'_>,
        batch: Vec<Map<String, Value>>,
    ) -> Result<u64, ExportError> {
        let bytea: Vec<&str> = feed
            .targets
            .iter()
            .filter(|(_, c)| c.type_name == "bytea")
            .map(|(k, _)| k.as_str())
            .collect();
        let mut rows = Vec::with_capacity(batch.len());
        for mut row in batch {
            for key in &bytea {
                if let Some(Value::String(s)) = row.get(*key) {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(s.as_bytes())
                        .map_err(|e| {
                            ExportError::Input(format!("column `{key}`: not base64: {e}"))
                        })?;
                    let mut hex = String::with_capacity(2 + 2 * bytes.len());
                    hex.push_str("\\x");
                    for b in bytes {
                        hex.push_str(&format!("{b:02x}"));
                    }
                    row.insert((*key).to_owned(), Value::String(hex));
                }
            }
            rows.push(Value::Object(row));
        }
        let columns = || feed.targets.iter().map(|(_, c)| &c.name);
        let always = feed
            .targets
            .iter()
            .any(|(_, c)| c.generated == Generated::Id { always: true });
        let sql = SqlText::<Postgres>::new("INSERT INTO ")
            .ident(&feed.info.name)
            .push(" (")
            .idents(columns())
            .push(") ")
            .push(if always {
                "OVERRIDING SYSTEM VALUE "
            } else {
                ""
            })
            .push("SELECT ")
            .idents(columns())
            .push(" FROM jsonb_populate_recordset(NULL::")
            .ident(&feed.info.name)
            .push(", $1)");
        let values = SqlxValues(sea_query::Values(vec![Sql::Json(Some(Box::new(
            Value::Array(rows),
        )))]));
        let done = query::<Postgres, _>(sql.into_string(), values)
            .execute(Postgres::on_conn(conn))
            .await?;
        Ok(done.rows_affected())
    }

    /// After ids were inserted as they were, moves each id sequence past the largest id, so the
    /// next row the application inserts does not collide.
    async fn after_import(conn: &mut PgConnection, feed: &Feed<'_>) -> Result<(), ExportError> {
        for (_, c) in &feed.targets {
            if !matches!(c.generated, Generated::Id { .. }) {
                continue;
            }
            let sql = SqlText::<Postgres>::new(
                "SELECT setval(s, GREATEST(m, COALESCE(pg_sequence_last_value(s), 1))) \
                 FROM (SELECT pg_get_serial_sequence($1, $2)::regclass AS s, (SELECT max(",
            )
            .ident(&c.name)
            .push(") FROM ")
            .ident(&feed.info.name)
            .push(")::bigint AS m) AS x WHERE s IS NOT NULL AND m IS NOT NULL");
            let values = SqlxValues(sea_query::Values(vec![
                Postgres::quote(&feed.info.name).into(),
                c.name.as_str().into(),
            ]));
            query::<Postgres, _>(sql.into_string(), values)
                .execute(Postgres::on_conn(conn))
                .await?;
        }
        Ok(())
    }
}

//! Imported rows into PostgreSQL: each batch as one `jsonb` array, each element turned into a
//! row by `jsonb_populate_record`, which converts each value with the column type's own input
//! function (numeric from its exact text, timestamps from RFC 3339, arrays, intervals and enums
//! from their text form). Every value was checked against its column first; bytes become
//! `bytea`'s hex input, and `json`/`jsonb` columns take their exact text (`CAST(text AS json)`),
//! so a `json` column keeps its key order and spacing and a JSON `null` stays one.

use chrono::SecondsFormat;
use sea_query::Value as Sql;
use sea_query_sqlx::SqlxValues;
use serde_json::{Map, Value};
use sqlx::{PgConnection, Postgres};

use crate::{
    driver::{SqlText, query, sealed::ImportRows, sealed::Sealed},
    export::{
        ExportError,
        encode::non_finite,
        import::{
            Feed,
            check::{Cell, Kind},
        },
        schema::{ColumnInfo, Generated},
    },
};

impl ImportRows for Postgres {
    fn import_batch(_width: usize) -> usize {
        1000
    }

    fn import_kind(c: &ColumnInfo) -> Kind {
        match c.type_name.as_str() {
            "bool" => Kind::Bool,
            "int2" | "int4" | "int8" => Kind::Int,
            "float4" | "float8" => Kind::Float,
            "numeric" => Kind::Decimal,
            "text" | "varchar" | "bpchar" | "name" => Kind::Text,
            "bytea" => Kind::Bytes,
            "json" | "jsonb" => Kind::Json,
            "uuid" => Kind::Uuid,
            "timestamptz" => Kind::Timestamptz,
            "timestamp" => Kind::Timestamp,
            "date" => Kind::Date,
            "time" => Kind::Time,
            // Arrays, intervals, enums, domains, ...: their input functions check them.
            _ => Kind::Any,
        }
    }

    async fn insert_batch(
        conn: &mut PgConnection,
        feed: &Feed<'_>,
        batch: Vec<Vec<Cell>>,
    ) -> Result<u64, ExportError> {
        let mut rows = Vec::with_capacity(batch.len());
        for row in batch {
            let mut element = Map::new();
            for (cell, ((_, col), kind)) in
                row.into_iter().zip(feed.targets.iter().zip(&feed.kinds))
            {
                element.insert(col.name.to_string(), json(cell, *kind));
            }
            rows.push(Value::Object(element));
        }
        let always = feed
            .targets
            .iter()
            .any(|(_, c)| c.generated == Generated::Id { always: true });
        let mut sql = SqlText::<Postgres>::new("INSERT INTO ")
            .ident(&feed.info.name)
            .push(" (")
            .idents(feed.targets.iter().map(|(_, c)| &c.name))
            .push(") ")
            .push(if always {
                "OVERRIDING SYSTEM VALUE "
            } else {
                ""
            })
            .push("SELECT ");
        let mut values = vec![Sql::Json(Some(Box::new(Value::Array(rows))))];
        for (i, ((_, c), kind)) in feed.targets.iter().zip(&feed.kinds).enumerate() {
            if i > 0 {
                sql = sql.push(", ");
            }
            if *kind == Kind::Json {
                // The exact text, from the element's string (`->>`: SQL NULL for null).
                values.push(c.name.as_str().into());
                sql = sql.push("CAST(e.value ->> ").param(values.len()).push(
                    if c.type_name == "json" {
                        " AS json)"
                    } else {
                        " AS jsonb)"
                    },
                );
            } else {
                sql = sql.push("r.").ident(&c.name);
            }
        }
        let sql = sql
            .push(" FROM jsonb_array_elements($1) AS e, jsonb_populate_record(NULL::")
            .ident(&feed.info.name)
            .push(", e.value) AS r");
        let done = query::<Postgres, _>(sql.into_string(), SqlxValues(sea_query::Values(values)))
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

/// A checked cell as the element's JSON: what the column type's input function reads.
fn json(cell: Cell, kind: Kind) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Bool(v) => Value::Bool(v),
        Cell::I64(v) => Value::from(v),
        Cell::U64(v) => Value::from(v),
        Cell::F64(v) if v.is_finite() => Value::from(v),
        Cell::F64(v) => Value::String(non_finite(v).to_owned()),
        Cell::Text(v) | Cell::Json(v) => Value::String(v),
        Cell::Bytes(v) => {
            let mut hex = String::with_capacity(2 + 2 * v.len());
            hex.push_str("\\x");
            for b in v {
                hex.push_str(&format!("{b:02x}"));
            }
            Value::String(hex)
        }
        // In UTC: `timestamp` input ignores an offset, so the zone-less one gets none.
        Cell::At(utc, _) => Value::String(match kind {
            Kind::Timestamptz => utc.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true),
            _ => utc.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
        }),
    }
}

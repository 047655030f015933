//! `CREATE TABLE` from a manifest's [`TableDefinition`], written once for every driver: the
//! names are checked as [`Ident`]s (a manifest is input like any other), each type is spelled
//! by the driver's `ddl.rs` ([`Spelling`]) or refused naming the table and the column, and the
//! text is assembled through [`SqlText`] only.

use super::{
    ExportError,
    definition::{ColumnDefinition, PortableDefault, PortableType, TableDefinition},
};
use crate::{
    data::{ColumnType, Ident, index_name},
    driver::{Driver, SqlText},
};

/// How a driver spells a [`PortableType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Spelling {
    /// The type's name.
    pub(crate) name: &'static str,
    /// Its modifiers: `varchar(N)`, `numeric(P, S)`.
    pub(crate) args: &'static [SpellingArg],
    /// A character type (MariaDB: gets the exact collation).
    pub(crate) text: bool,
}

/// A modifier of a [`Spelling`]: a fixed number, or one of the portable type's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpellingArg {
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    Fixed(u32),
    /// The type's length or precision.
    First,
    /// The type's scale.
    Second,
}

impl Spelling {
    /// A type without modifiers.
    pub(crate) const fn plain(name: &'static str) -> Self {
        Self {
            name,
            args: &[],
            text: false,
        }
    }

    /// A character type without modifiers.
    pub(crate) const fn text(name: &'static str) -> Self {
        Self {
            name,
            args: &[],
            text: true,
        }
    }

    /// With modifiers.
    pub(crate) const fn with(self, args: &'static [SpellingArg]) -> Self {
        Self { args, ..self }
    }
}

/// How a driver makes a column an id the database assigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdentitySql {
    /// After the column's type and NOT NULL, anywhere (PostgreSQL).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Column(&'static str),
    /// After the type and NOT NULL, when the column is the primary key's first (MariaDB).
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    FirstKeyColumn(&'static str),
    /// The column declared with this type and clause instead of a table primary key, when it
    /// is the whole key (SQLite's rowid).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    WholeKey(&'static str, &'static str),
}

/// The statements that create `table` as `def` says on `D`, its tenant column `tenant_field`:
/// the table, then the tenant index. `from` names the backend the definition was read on (for
/// messages); `collation` is the exact collation of text columns, where the backend needs one.
pub(crate) fn create_table_sql<D: Driver>(
    table: &Ident,
    tenant_field: &Ident,
    def: &TableDefinition,
    from: &str,
    collation: Option<&'static str>,
) -> Result<Vec<String>, ExportError> {
    let refuse = |why: String| {
        ExportError::Unsupported(format!(
            "cannot create table `{table}` on {}: {why}; nothing was imported",
            D::BACKEND
        ))
    };
    let mut columns: Vec<(Ident, &ColumnDefinition)> = Vec::with_capacity(def.columns.len());
    for c in &def.columns {
        let name = Ident::new(&c.name)
            .map_err(|e| refuse(format!("column name {:?} in the manifest: {e}", c.name)))?;
        if columns
            .iter()
            .any(|(n, _)| n.as_str().eq_ignore_ascii_case(name.as_str()))
        {
            return Err(refuse(format!("the manifest names column `{name}` twice")));
        }
        columns.push((name, c));
    }
    let column = |name: &str| columns.iter().find(|(n, _)| n.as_str() == name);
    let mut key = Vec::with_capacity(def.primary_key.len());
    for k in &def.primary_key {
        let Some((name, _)) = column(k) else {
            return Err(refuse(format!(
                "the manifest's primary key names {k:?}, which is not one of its columns"
            )));
        };
        key.push(name.clone());
    }
    let Some((tenant, _)) = column(tenant_field.as_str()) else {
        return Err(refuse(format!(
            "the manifest's definition has no tenant column `{tenant_field}`"
        )));
    };
    let is_key = |name: &Ident| key.contains(name) || name == tenant;

    let mut sql = SqlText::<D>::new("CREATE TABLE ").ident(table).push(" (");
    let mut whole_key_inline = false;
    for (i, (name, c)) in columns.iter().enumerate() {
        if i > 0 {
            sql = sql.push(", ");
        }
        let unsupported = |why: &str| {
            let declared = match (&c.declared, c.ty) {
                (Some(d), PortableType::Unsupported) => format!(" ({d} on {from})"),
                _ => String::new(),
            };
            refuse(format!(
                "column `{name}` has type {}{declared}, {why}",
                c.ty
            ))
        };
        if c.ty == PortableType::Unsupported {
            return Err(unsupported(
                "which tenantry cannot create on another database; create the table first",
            ));
        }
        let identity = c.identity && c.ty.is_integer();
        let sole_key = key.len() == 1 && &key[0] == name;
        let inline = match D::IDENTITY {
            IdentitySql::WholeKey(ty, clause) if identity && sole_key => Some((ty, clause)),
            _ => None,
        };
        sql = sql.ident(name).push(" ");
        match inline {
            Some((ty, _)) => sql = sql.keyword(ty),
            None => {
                let spelled = D::spell(c.ty, is_key(name)).map_err(|why| {
                    unsupported(&format!("which {} cannot hold: {why}", D::BACKEND))
                })?;
                sql = sql.keyword(spelled.name);
                if !spelled.args.is_empty() {
                    let (first, second) = modifiers(c.ty);
                    sql = sql.push("(");
                    for (j, arg) in spelled.args.iter().enumerate() {
                        if j > 0 {
                            sql = sql.push(", ");
                        }
                        sql = sql.number(match arg {
                            SpellingArg::Fixed(n) => *n,
                            SpellingArg::First => first,
                            SpellingArg::Second => second,
                        });
                    }
                    sql = sql.push(")");
                }
                if spelled.text
                    && let Some(collation) = collation
                {
                    sql = sql
                        .push(" CHARACTER SET utf8mb4 COLLATE ")
                        .keyword(collation);
                }
            }
        }
        if !c.nullable || key.contains(name) {
            sql = sql.push(" NOT NULL");
        }
        if let Some(default) = c.default
            && !identity
        {
            sql = sql.push(" DEFAULT ");
            sql = match default {
                PortableDefault::Now => sql
                    .keyword(D::default_expr(ColumnType::Timestamp).unwrap_or("CURRENT_TIMESTAMP")),
                PortableDefault::EmptyObject => {
                    sql.keyword(D::default_expr(ColumnType::Json).unwrap_or("'{}'"))
                }
                PortableDefault::EmptyText => sql.push("''"),
                PortableDefault::Bool(true) => sql.push("true"),
                PortableDefault::Bool(false) => sql.push("false"),
                PortableDefault::Integer(n) => sql.integer(n),
            };
        }
        match (D::IDENTITY, inline) {
            (_, Some((_, clause))) => {
                sql = sql.keyword(clause);
                whole_key_inline = true;
            }
            (IdentitySql::Column(clause), None) if identity => sql = sql.keyword(clause),
            (IdentitySql::FirstKeyColumn(clause), None)
                if identity && key.first() == Some(name) =>
            {
                sql = sql.keyword(clause)
            }
            _ => {}
        }
    }
    if !key.is_empty() && !whole_key_inline {
        sql = sql.push(", PRIMARY KEY (").idents(&key).push(")");
    }
    let mut out = vec![sql.push(")").into_string()];
    if key.first() != Some(tenant) {
        let cols: Vec<&Ident> = std::iter::once(tenant)
            .chain(key.iter().filter(|k| *k != tenant))
            .collect();
        let name = index_name(table, &[tenant], "tenant_idx").map_err(|e| refuse(e.to_string()))?;
        out.push(
            SqlText::<D>::new("CREATE INDEX ")
                .ident(&name)
                .push(" ON ")
                .ident(table)
                .push(" (")
                .idents(cols)
                .push(")")
                .into_string(),
        );
    }
    Ok(out)
}

/// A type's length or precision, and its scale.
fn modifiers(ty: PortableType) -> (u32, u32) {
    match ty {
        PortableType::Varchar(n) | PortableType::Char(n) => (n, 0),
        PortableType::Numeric(Some((p, s))) => (p, s),
        _ => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::definition::ColumnDefinition;

    fn column(name: &str, ty: PortableType, nullable: bool, identity: bool) -> ColumnDefinition {
        ColumnDefinition {
            name: name.into(),
            ty,
            declared: None,
            nullable,
            identity,
            default: None,
        }
    }

    fn items() -> TableDefinition {
        TableDefinition {
            columns: vec![
                column("id", PortableType::BigInt, false, true),
                column("tenant_id", PortableType::Text, false, false),
                column("price", PortableType::Numeric(Some((12, 2))), true, false),
                column("name", PortableType::Varchar(40), true, false),
            ],
            primary_key: vec!["id".into()],
        }
    }

    fn sql<D: Driver>(def: &TableDefinition, collation: Option<&'static str>) -> Vec<String> {
        let ident = |s| Ident::new(s).unwrap();
        create_table_sql::<D>(
            &ident("items"),
            &ident("tenant_id"),
            def,
            "postgres",
            collation,
        )
        .unwrap()
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_ddl() {
        assert_eq!(
            sql::<sqlx::Postgres>(&items(), None),
            [
                "CREATE TABLE \"items\" (\"id\" bigint NOT NULL GENERATED BY DEFAULT AS IDENTITY, \
                 \"tenant_id\" text NOT NULL, \"price\" numeric(12, 2), \"name\" varchar(40), \
                 PRIMARY KEY (\"id\"))",
                "CREATE INDEX \"items_tenant_id_tenant_idx\" ON \"items\" (\"tenant_id\", \"id\")"
            ]
        );
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn sqlite_ddl_makes_a_sole_integer_id_the_rowid() {
        assert_eq!(
            sql::<sqlx::Sqlite>(&items(), None)[0],
            "CREATE TABLE \"items\" (\"id\" integer NOT NULL PRIMARY KEY AUTOINCREMENT, \
             \"tenant_id\" text NOT NULL, \"price\" decimal_text(12, 2), \"name\" varchar(40))"
        );
        // Not the whole key: an ordinary column and a table key.
        let mut def = items();
        def.primary_key = vec!["tenant_id".into(), "id".into()];
        let out = sql::<sqlx::Sqlite>(&def, None);
        assert!(
            out[0].starts_with("CREATE TABLE \"items\" (\"id\" bigint NOT NULL, ")
                && out[0].ends_with(", PRIMARY KEY (\"tenant_id\", \"id\"))"),
            "{out:?}"
        );
        assert_eq!(out.len(), 1, "the key starts with the tenant: no index");
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn mysql_ddl_keys_text_and_collates_it() {
        let out = sql::<sqlx::MySql>(&items(), Some("utf8mb4_nopad_bin"));
        assert_eq!(
            out[0],
            "CREATE TABLE `items` (`id` bigint NOT NULL AUTO_INCREMENT, `tenant_id` \
             varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL, `price` \
             decimal(12, 2), `name` varchar(40) CHARACTER SET utf8mb4 COLLATE \
             utf8mb4_nopad_bin, PRIMARY KEY (`id`))"
        );
        let mut def = items();
        def.columns[2].ty = PortableType::Numeric(None);
        let err = create_table_sql::<sqlx::MySql>(
            &Ident::new("items").unwrap(),
            &Ident::new("tenant_id").unwrap(),
            &def,
            "postgres",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with(
                "cannot create table `items` on mysql: column `price` has type numeric, which \
                 mysql cannot hold: its decimals have a fixed precision and scale"
            ),
            "{err}"
        );
    }

    #[test]
    fn what_cannot_be_created_is_refused_naming_table_and_column() {
        let mut def = items();
        def.columns[3] = ColumnDefinition {
            declared: Some("integer[]".into()),
            ..column("tags", PortableType::Unsupported, true, false)
        };
        fn err<D: Driver>(def: &TableDefinition) -> String {
            let ident = |s| Ident::new(s).unwrap();
            create_table_sql::<D>(&ident("items"), &ident("tenant_id"), def, "postgres", None)
                .unwrap_err()
                .to_string()
        }
        #[allow(clippy::vec_init_then_push)] // each push is behind its feature
        let refused = |def: &TableDefinition| {
            let mut out = Vec::new();
            #[cfg(feature = "sqlite")]
            out.push(err::<sqlx::Sqlite>(def));
            #[cfg(feature = "postgres")]
            out.push(err::<sqlx::Postgres>(def));
            #[cfg(feature = "mysql")]
            out.push(err::<sqlx::MySql>(def));
            out
        };
        for err in refused(&def) {
            assert!(
                err.contains(
                    "column `tags` has type unsupported (integer[] on postgres), which tenantry \
                     cannot create on another database"
                ),
                "{err}"
            );
        }
        let mut def = items();
        def.columns[2].name = "x; drop table items".into();
        for err in refused(&def) {
            assert!(err.contains("column name \"x; drop table items\""), "{err}");
        }
        let mut def = items();
        def.primary_key = vec!["nosuch".into()];
        for err in refused(&def) {
            assert!(err.contains("primary key names \"nosuch\""), "{err}");
        }
    }
}

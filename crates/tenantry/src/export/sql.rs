//! Statement text from checked names. The only names that reach these functions are [`Ident`]s
//! (checked: ASCII letters, digits and `_`), so quoting never has anything to escape; everything
//! else is a fixed fragment, and values are bound.

use sqlx::AssertSqlSafe;

use crate::data::{Backend, Ident};

/// `ident` quoted for `backend`.
pub(crate) fn q(backend: Backend, ident: &Ident) -> String {
    match backend {
        Backend::MySql => format!("`{ident}`"),
        _ => ident.quoted(),
    }
}

/// The `n`th (1-based) bind placeholder.
pub(crate) fn param(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Postgres => format!("${n}"),
        Backend::Sqlite => format!("?{n}"),
        _ => "?".to_owned(),
    }
}

/// Marks text assembled only from fixed fragments, [`q`] and [`param`] as SQL.
pub(crate) fn safe(sql: String) -> AssertSqlSafe<String> {
    AssertSqlSafe(sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_per_backend() {
        let t = Ident::new("items").unwrap();
        assert_eq!(q(Backend::Postgres, &t), "\"items\"");
        assert_eq!(q(Backend::Sqlite, &t), "\"items\"");
        assert_eq!(q(Backend::MySql, &t), "`items`");
        assert_eq!(param(Backend::Postgres, 2), "$2");
        assert_eq!(param(Backend::MySql, 2), "?");
    }
}

//! [`SqlText`]: the one door for SQL text that sea-query cannot build (DDL, `COPY`, policies,
//! a sequence's `setval`).

use std::marker::PhantomData;

use super::Driver;
use crate::data::Ident;

/// SQL text assembled only from `&'static str` fragments (bind placeholders among them) and
/// checked [`Ident`]s (quoted for the driver): nothing a caller supplies can change a
/// statement's shape.
/// Values are never written into it; they are bound.
///
/// Everything else in tenantry that runs SQL uses sea-query (from checked identifiers, every
/// value bound) or a fixed `&'static str`.
#[derive(Debug, Clone)]
pub(crate) struct SqlText<D> {
    text: String,
    _driver: PhantomData<fn() -> D>,
}

impl<D: Driver> SqlText<D> {
    /// Starts with a fixed fragment.
    pub(crate) fn new(fragment: &'static str) -> Self {
        Self {
            text: fragment.to_owned(),
            _driver: PhantomData,
        }
    }

    /// Appends a fixed fragment.
    pub(crate) fn push(mut self, fragment: &'static str) -> Self {
        self.text.push_str(fragment);
        self
    }

    /// Appends a checked identifier, quoted for the driver.
    pub(crate) fn ident(mut self, ident: &Ident) -> Self {
        self.text.push_str(&D::quote(ident));
        self
    }

    /// Appends a table name, qualified by `schema` when there is one (`"t_globex"."items"`).
    pub(crate) fn table(self, schema: Option<&Ident>, table: &Ident) -> Self {
        match schema {
            Some(schema) => self.ident(schema).push(".").ident(table),
            None => self.ident(table),
        }
    }

    /// Appends identifiers separated by `, `.
    pub(crate) fn idents<'a>(mut self, idents: impl IntoIterator<Item = &'a Ident>) -> Self {
        for (i, ident) in idents.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.text.push_str(&D::quote(ident));
        }
        self
    }

    /// Appends the numbered placeholder `$n` (PostgreSQL's): a value bound, never text.
    #[cfg(feature = "postgres")]
    pub(crate) fn param(mut self, n: usize) -> Self {
        use std::fmt::Write as _;
        write!(self.text, "${n}").expect("writing to a String cannot fail");
        self
    }

    /// Appends a number (a type's length, precision or scale): digits only, so it cannot
    /// change a statement's shape.
    pub(crate) fn number(mut self, n: u32) -> Self {
        use std::fmt::Write as _;
        write!(self.text, "{n}").expect("writing to a String cannot fail");
        self
    }

    /// Appends an integer literal (a column's default): a sign and digits only.
    pub(crate) fn integer(mut self, n: i64) -> Self {
        use std::fmt::Write as _;
        write!(self.text, "{n}").expect("writing to a String cannot fail");
        self
    }

    /// Appends a name chosen among fixed ones (a collation, a type name).
    pub(crate) fn keyword(self, fixed: &'static str) -> Self {
        self.push(fixed)
    }

    /// The text, for running.
    pub(crate) fn into_string(self) -> String {
        self.text
    }
}

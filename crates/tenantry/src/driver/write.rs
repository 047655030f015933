//! [`Write`]: one write statement of the data layer, as it is handed to a group-commit writer
//! (SQLite: `sqlite/group_commit.rs`), and [`Written`], what came of it.
//!
//! A backend without a writer gives the write back ([`Sealed::group_write`]), and the data
//! layer runs it on the pool as before.
//!
//! [`Sealed::group_write`]: super::sealed::Sealed::group_write

use sea_query_sqlx::SqlxValues;

use crate::data::DataError;

/// One write statement: its text (built by sea-query from checked names) and bound values,
/// and whether its rows (`RETURNING`) or only its count of changed rows is wanted.
#[derive(Debug)]
pub(crate) struct Write {
    sql: String,
    values: SqlxValues,
    returning: bool,
}

impl Write {
    /// An `INSERT` / `UPDATE ... RETURNING`: the first row it returns is wanted.
    pub(crate) fn returning(sql: String, values: SqlxValues) -> Self {
        Self {
            sql,
            values,
            returning: true,
        }
    }

    /// A statement whose count of changed rows is wanted (`DELETE`).
    pub(crate) fn counting(sql: String, values: SqlxValues) -> Self {
        Self {
            sql,
            values,
            returning: false,
        }
    }

    /// The text and values, to run the statement elsewhere.
    pub(crate) fn into_parts(self) -> (String, SqlxValues) {
        (self.sql, self.values)
    }

    /// Whether its first row is wanted (else its count of changed rows).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn is_returning(&self) -> bool {
        self.returning
    }
}

/// What a [`Write`] did, once the transaction holding it committed.
#[derive(Debug)]
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) enum Written<D: sqlx::Database> {
    /// The first row a `RETURNING` statement gave, if any.
    Row(Option<D::Row>),
    /// How many rows the statement changed.
    Changed(u64),
}

impl<D: sqlx::Database> Written<D> {
    /// The row, if the statement gave one.
    pub(crate) fn row(self) -> Option<D::Row> {
        match self {
            Self::Row(row) => row,
            Self::Changed(_) => None,
        }
    }

    /// The row; [`DataError::NotFound`] if there is none (as `fetch_one` answers).
    pub(crate) fn one_row(self) -> Result<D::Row, DataError> {
        self.row().ok_or(DataError::NotFound)
    }

    /// How many rows the statement changed (a `RETURNING` statement: whether it gave a row).
    pub(crate) fn changed(&self) -> u64 {
        match self {
            Self::Row(row) => u64::from(row.is_some()),
            Self::Changed(n) => *n,
        }
    }
}

/// What a database's group-commit writer did so far (SQLite; see
/// [`DataStore::group_commit_stats`](crate::data::DataStore::group_commit_stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupCommitStats {
    /// Transactions the writer committed (a write that ran alone counts as one).
    pub batches: u64,
    /// Writes those transactions committed.
    pub writes: u64,
    /// Most writes one committed transaction held (those that failed on their own and were
    /// rolled back to their savepoint included).
    pub largest_batch: u64,
}

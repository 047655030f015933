//! [`DataError`]: what a data operation can answer, each with its HTTP status and code.

use http::StatusCode;

use crate::problem::ProblemCode;

/// What went wrong in a data operation. Each variant maps to one HTTP status and stable code;
/// the database's own message is kept as the error's `source` for logs and never shown in the
/// `Display` text (no SQL, no constraint names, no other tenant's values).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// No row with that id for this tenant (another tenant's row looks exactly the same).
    #[error("no such row")]
    NotFound,
    /// The values name another tenant.
    #[error("the row's `{field}` names another tenant than the one acting")]
    TenantMismatch {
        /// The tenant field.
        field: String,
    },
    /// An update tried to change a field that never changes (id, tenant, creation time, ...).
    #[error("field `{0}` cannot be changed")]
    ImmutableField(String),
    /// The values hold a field the resource does not declare.
    #[error("unknown field `{0}`")]
    UnknownField(String),
    /// A value is missing, null where it may not be, of the wrong type or out of range.
    #[error("{0}")]
    Validation(String),
    /// A list, search, sort or filter asked for something not allowed (unknown or undeclared
    /// field, the tenant field, a page out of range).
    #[error("invalid `{param}`: {detail}")]
    InvalidQuery {
        /// The query parameter at fault (`order_by`, `fields`, `limit`, a filter's name...).
        param: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A list's `after` cursor is not one this resource issued for this tenant and order
    /// (malformed, altered, signed with another key, or issued for another tenant or order):
    /// answered 400 `cursor_invalid`, saying which.
    #[error("invalid `after` cursor: {0}")]
    InvalidCursor(&'static str),
    /// A unique key already holds these values (for this tenant).
    #[error("a row with the same unique values already exists")]
    Conflict(#[source] sqlx::Error),
    /// The database could not be reached (connection, pool, timeout).
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Any other database failure (a bug or a schema that does not match the resource).
    #[error("the database failed")]
    Database(#[source] sqlx::Error),
    /// A stored value cannot be read as its column's declared type (`"yesterday"` in a
    /// timestamp column, text in an integer column of SQLite, which stores what it is given).
    /// Answered 500 `stored_value_invalid`, naming the column: the row needs repair, which no
    /// request can do, and no retry helps. A tenant's every list that includes the row
    /// answers this, so it is logged (table, column, cause) at `error`.
    #[error("a stored value in column `{column}` is not a valid {expected}; the row needs repair")]
    StoredValueInvalid {
        /// The column.
        column: String,
        /// What the column's type expects (`integer`, `timestamp`, ...).
        expected: &'static str,
    },
    /// A stored row does not fit what reads it (a column of another type than the resource
    /// declares, a row that does not deserialize into your type).
    #[error("a stored row does not fit: {0}")]
    Decode(String),
    /// What was asked cannot be done here: a URL of a backend that is not compiled in, a
    /// server without an exact collation, a column default the backend cannot give.
    #[error("{0}")]
    Unsupported(String),
    /// The tenant's placement cannot be served here: a server that is not configured, a
    /// schema on a backend without schemas, a placement on a store without a
    /// [`Registry`](super::Registry), a catalog that cannot be read. Answered 503: the
    /// deployment, not the request, is at fault. The reason is for logs (`Debug`); the
    /// message a client sees does not name servers or schemas.
    #[error("this tenant's data cannot be reached")]
    Placement(String),
    /// The schema or database a placement names exists already (and is left alone).
    #[error("{0} exists already")]
    PlacementExists(String),
    /// A typed pool or transaction of one backend was asked of a store on another.
    #[error("the store is on {found}, not {wanted}")]
    WrongBackend {
        /// What was asked for.
        wanted: crate::driver::Backend,
        /// What the store is on.
        found: crate::driver::Backend,
    },
}

impl DataError {
    /// The HTTP status this error should answer with (its [code](Self::code)'s).
    pub fn status(&self) -> StatusCode {
        self.code().status()
    }

    /// The stable problem code.
    pub fn code(&self) -> ProblemCode {
        match self {
            Self::NotFound => ProblemCode::NotFound,
            Self::InvalidCursor(_) => ProblemCode::CursorInvalid,
            Self::TenantMismatch { .. } => ProblemCode::TenantMismatch,
            Self::ImmutableField(_)
            | Self::UnknownField(_)
            | Self::Validation(_)
            | Self::InvalidQuery { .. } => ProblemCode::ValidationFailed,
            Self::Conflict(_) | Self::PlacementExists(_) => ProblemCode::Conflict,
            Self::Unavailable(_) | Self::Placement(_) => ProblemCode::Unavailable,
            Self::Database(_)
            | Self::Decode(_)
            | Self::Unsupported(_)
            | Self::WrongBackend { .. } => ProblemCode::Internal,
            Self::StoredValueInvalid { .. } => ProblemCode::StoredValueInvalid,
        }
    }

    pub(crate) fn query(param: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::InvalidQuery {
            param: param.into(),
            detail: detail.into(),
        }
    }
}

impl From<sqlx::Error> for DataError {
    /// Classifies a driver error once, by kind, with no per-call-site branches.
    fn from(e: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => Self::Unavailable(e),
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => Self::Conflict(e),
                ErrorKind::NotNullViolation => {
                    Self::Validation("a required field is missing or null".into())
                }
                ErrorKind::CheckViolation | ErrorKind::ForeignKeyViolation => {
                    Self::Validation("a value breaks a rule of the table".into())
                }
                _ => {
                    let code = db.code().map(|c| c.into_owned());
                    classify_other(code.as_deref(), e)
                }
            },
            _ => Self::Database(e),
        }
    }
}

/// Codes that `ErrorKind` leaves as `Other` but that are the client's mistake, the tenant
/// boundary or the server going away: SQLSTATE class 22 (data exceptions: PostgreSQL and
/// MySQL), PostgreSQL 42501 (row-level security refused the row), SQLite's datatype mismatch
/// and too-big; and [`is_unavailable_code`].
fn classify_other(code: Option<&str>, e: sqlx::Error) -> DataError {
    match code {
        Some(c) if is_unavailable_code(c) || is_sqlite_file_failure(c) => DataError::Unavailable(e),
        Some(c) if c.starts_with("22") && c.len() == 5 => {
            DataError::Validation("a value has the wrong type or is out of range".into())
        }
        Some("42501") => DataError::TenantMismatch {
            field: "tenant".into(),
        },
        // SQLite: SQLITE_MISMATCH (20), SQLITE_TOOBIG (18).
        Some("20" | "18") => DataError::Validation("a value has the wrong type".into()),
        _ => DataError::Database(e),
    }
}

/// SQLSTATEs that say the server, not the statement, failed, so that a retry may succeed:
/// class 08 (connection exception: MariaDB's "server shutdown in progress" is 08S01), 53
/// (insufficient resources: too many connections, out of memory or disk), 57 (operator
/// intervention: PostgreSQL's "terminating connection due to administrator command", "the
/// database system is starting up" or "shutting down", a cancelled statement), PostgreSQL's
/// 3D000 (the database does not exist: a tenant's database dropped or not yet made, as a
/// missing SQLite tenant file), and MariaDB's 70100 (the connection was killed).
pub(crate) fn is_unavailable_code(code: &str) -> bool {
    code.len() == 5 && (code.starts_with("08") || code.starts_with("53") || code.starts_with("57"))
        || code == "3D000"
        || code == "70100"
}

/// SQLite result codes (numbers, extended codes keeping the primary one in the low byte; never
/// five characters, as SQLSTATEs are) that say the database file, not the statement, failed:
/// `SQLITE_IOERR` (10), `SQLITE_FULL` (13), `SQLITE_CANTOPEN` (14: a tenant's file missing or
/// unreadable). As with a server that went away, the tenant's requests are 503 and a retry
/// may succeed once the file is back.
fn is_sqlite_file_failure(code: &str) -> bool {
    code.len() < 5
        && code
            .parse::<u32>()
            .is_ok_and(|n| matches!(n & 0xff, 10 | 13 | 14))
}

#[cfg(test)]
mod tests {
    use super::{is_sqlite_file_failure, is_unavailable_code};

    #[test]
    fn sqlite_file_failures_are_unavailable_and_statement_failures_are_not() {
        // CANTOPEN, CANTOPEN_ISDIR (526), IOERR, IOERR_READ (266), FULL.
        for code in ["14", "526", "10", "266", "13"] {
            assert!(is_sqlite_file_failure(code), "{code}");
        }
        // CONSTRAINT, MISMATCH, ERROR, BUSY, and SQLSTATEs.
        for code in ["19", "20", "1", "5", "23505", "08006", "", "x"] {
            assert!(!is_sqlite_file_failure(code), "{code}");
        }
    }

    #[test]
    fn server_failures_are_unavailable_and_statement_failures_are_not() {
        for code in [
            "08006", "08S01", "08P01", "53300", "57P01", "57P03", "57014", "3D000", "70100",
        ] {
            assert!(is_unavailable_code(code), "{code}");
        }
        for code in [
            "23505", "22001", "42P01", "3F000", "42501", "HY000", "08", "5", "",
        ] {
            assert!(!is_unavailable_code(code), "{code}");
        }
    }
}

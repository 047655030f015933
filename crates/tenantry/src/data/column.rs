//! [`Column`]: how a resource declares its columns, and [`ColumnDef`], a checked one.

use super::Ident;

/// The type of a column, as the data layer reads and writes it (JSON on the outside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ColumnType {
    /// A 64-bit integer (JSON number without fraction).
    Integer,
    /// A double (JSON number).
    Float,
    /// Text (JSON string).
    Text,
    /// A boolean (JSON `true`/`false`).
    Bool,
    /// A UTC timestamp (JSON string, RFC 3339).
    Timestamp,
    /// A UUID (JSON string).
    Uuid,
    /// Any JSON value.
    Json,
}

/// How a row's id comes to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdKind {
    /// An integer the database generates (autoincrement / identity). A client cannot choose it.
    Integer,
    /// A UUID; generated when the values on create do not give one, as a UUIDv7: 48 bits
    /// of milliseconds since 1970 then 74 random bits. Not guessable and shared by no one, so
    /// unlike [`Integer`](Self::Integer) ids (one sequence for every tenant of a table) they
    /// say nothing about how fast other tenants insert; time-ordered, so ordering by id is
    /// ordering by creation and inserts stay at the end of the index. The trade-off: an id
    /// tells whoever sees it when its row was made (to the millisecond), and takes 16 bytes
    /// (PostgreSQL `uuid`) or 36 (text elsewhere) instead of 8. A UUID given on create is
    /// unique within the tenant only (the key is the tenant and the id), so another tenant's
    /// id never answers 409.
    Uuid,
    /// Text the client must give on create.
    Text,
}

/// A column of a [`Resource`](super::Resource), declared in code.
///
/// ```
/// use tenantry::data::Column;
///
/// let price = Column::integer("price_cents").with_default();
/// let note = Column::text("note").nullable();
/// let created = Column::timestamp("created_at").with_default().immutable();
/// ```
#[derive(Debug, Clone)]
pub struct Column {
    pub(super) name: String,
    pub(super) ty: ColumnType,
    pub(super) nullable: bool,
    pub(super) has_default: bool,
    pub(super) immutable: bool,
}

macro_rules! column_ctor {
    ($($(#[$m:meta])* $fn:ident => $ty:ident),* $(,)?) => {
        $( $(#[$m])* pub fn $fn(name: &str) -> Self { Self::new(name, ColumnType::$ty) } )*
    };
}

impl Column {
    /// A required, mutable column without a database default.
    pub fn new(name: &str, ty: ColumnType) -> Self {
        Self {
            name: name.to_owned(),
            ty,
            nullable: false,
            has_default: false,
            immutable: false,
        }
    }

    column_ctor! {
        /// An integer column.
        integer => Integer,
        /// A floating-point column.
        float => Float,
        /// A text column.
        text => Text,
        /// A boolean column.
        bool => Bool,
        /// A timestamp column.
        timestamp => Timestamp,
        /// A UUID column.
        uuid => Uuid,
        /// A JSON column.
        json => Json,
    }

    /// May be null (and may be omitted on create).
    pub fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }

    /// The database fills it when create omits it.
    pub fn with_default(mut self) -> Self {
        self.has_default = true;
        self
    }

    /// Set on create, never changed by update.
    pub fn immutable(mut self) -> Self {
        self.immutable = true;
        self
    }
}

/// A validated column of a built [`Resource`](super::Resource).
#[derive(Debug, Clone)]
pub struct ColumnDef {
    /// Name.
    pub name: Ident,
    /// Type.
    pub ty: ColumnType,
    /// May be null.
    pub nullable: bool,
    /// The database fills it when omitted.
    pub has_default: bool,
    /// Never changed by update (always true for the id, the tenant field and `created_at`).
    pub immutable: bool,
    pub(crate) role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Id,
    Tenant,
    Data,
}

//! What a list asks for: a page, an order, equality filters, a search, and where a keyset
//! page starts.

use serde_json::Value as Json;

use super::DataError;

/// A page of a list: at most `limit` rows (1 to 1000, default 50) after skipping `offset`
/// (0 to [`Page::MAX_OFFSET`], the largest offset every backend can bind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    limit: u32,
    offset: u64,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: Self::DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

impl Page {
    /// Default page size.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// Largest page size.
    pub const MAX_LIMIT: u32 = 1000;
    /// Largest offset: SQL binds `OFFSET` as a signed 64-bit integer on every backend.
    pub const MAX_OFFSET: u64 = i64::MAX as u64;

    /// A page; `limit` must be 1 to 1000 and `offset` at most [`Page::MAX_OFFSET`].
    ///
    /// ```
    /// use tenantry::data::Page;
    /// assert!(Page::new(50, 0).is_ok());
    /// assert!(Page::new(0, 0).is_err());
    /// assert!(Page::new(1001, 0).is_err());
    /// assert!(Page::new(50, Page::MAX_OFFSET).is_ok());
    /// assert!(Page::new(50, Page::MAX_OFFSET + 1).is_err());
    /// ```
    pub fn new(limit: u32, offset: u64) -> Result<Self, DataError> {
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(DataError::query("limit", "must be between 1 and 1000"));
        }
        if offset > Self::MAX_OFFSET {
            return Err(DataError::query(
                "offset",
                "must be an integer from 0 to 9223372036854775807",
            ));
        }
        Ok(Self { limit, offset })
    }

    /// Rows at most.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Rows skipped.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

/// Ordering by one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    column: String,
    descending: bool,
}

impl Order {
    /// Ascending by `column`.
    pub fn asc(column: impl Into<String>) -> Self {
        Self {
            column: column.into(),
            descending: false,
        }
    }

    /// Descending by `column`.
    pub fn desc(column: impl Into<String>) -> Self {
        Self {
            column: column.into(),
            descending: true,
        }
    }

    /// Parses `-created_at,name` (a `-` means descending). Whether the columns may be sorted on
    /// is checked against the resource when the list runs.
    ///
    /// ```
    /// use tenantry::data::Order;
    /// assert_eq!(Order::parse_list("-id,name").unwrap(), vec![Order::desc("id"), Order::asc("name")]);
    /// assert!(Order::parse_list("id,,name").is_err());
    /// ```
    pub fn parse_list(spec: &str) -> Result<Vec<Self>, DataError> {
        spec.split(',')
            .map(|part| {
                let part = part.trim();
                let (column, descending) = match part.strip_prefix('-') {
                    Some(c) => (c, true),
                    None => (part.strip_prefix('+').unwrap_or(part), false),
                };
                if column.is_empty() {
                    return Err(DataError::query("order_by", "has an empty column name"));
                }
                Ok(Self {
                    column: column.to_owned(),
                    descending,
                })
            })
            .collect()
    }

    /// The column.
    pub fn column(&self) -> &str {
        &self.column
    }

    /// Whether it is descending.
    pub fn is_descending(&self) -> bool {
        self.descending
    }
}

/// A case-insensitive substring search: `q` in any of `fields` (all searchable fields when
/// `None`). `%`, `_` and `\` in `q` match themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// The text looked for.
    pub q: String,
    /// Where to look; every searchable field when `None`.
    pub fields: Option<Vec<String>>,
}

/// Everything a list can ask for. Built up from [`ListQuery::new`].
///
/// ```
/// use tenantry::data::{ListQuery, Order, Page};
///
/// let q = ListQuery::new()
///     .page(Page::new(20, 40).unwrap())
///     .order(vec![Order::desc("price_cents")])
///     .filter("sku", "A-1")
///     .search("widget", None);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    /// The page.
    pub page: Page,
    /// The order (the id ascending when empty; the id is always the last tie-breaker).
    pub order: Vec<Order>,
    /// Equality filters on filterable fields.
    pub filters: Vec<(String, Json)>,
    /// A search.
    pub search: Option<Search>,
    /// Keyset pagination: only rows strictly after this position in the order, one value per
    /// [sort key](Self::sort_keys) (the values of the last row of the previous page). It
    /// narrows the filters, never widens them, and the page's offset still applies after it;
    /// counts ignore it.
    pub after: Option<Vec<Json>>,
}

impl ListQuery {
    /// The first page of everything, by id.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the page.
    pub fn page(mut self, page: Page) -> Self {
        self.page = page;
        self
    }

    /// Sets the order.
    pub fn order(mut self, order: Vec<Order>) -> Self {
        self.order = order;
        self
    }

    /// Adds an equality filter.
    pub fn filter(mut self, field: impl Into<String>, value: impl Into<Json>) -> Self {
        self.filters.push((field.into(), value.into()));
        self
    }

    /// Starts the page after the row whose sort keys hold `values` (see [`after`](Self#structfield.after)).
    ///
    /// ```
    /// use serde_json::json;
    /// use tenantry::data::{ListQuery, Order};
    ///
    /// // The page after the row {"name": "anvil", "id": 7} in `name` order:
    /// let q = ListQuery::new().order(vec![Order::asc("name")]).after(vec![json!("anvil"), json!(7)]);
    /// assert_eq!(q.sort_keys("id"), vec![Order::asc("name"), Order::asc("id")]);
    /// ```
    pub fn after(mut self, values: Vec<Json>) -> Self {
        self.after = Some(values);
        self
    }

    /// The keys rows are sorted by: the order, then the id column `id` ascending unless the
    /// order names it (it breaks ties, so every row has one position).
    pub fn sort_keys(&self, id: &str) -> Vec<Order> {
        let mut keys = self.order.clone();
        if !keys.iter().any(|o| o.column() == id) {
            keys.push(Order::asc(id));
        }
        keys
    }

    /// Sets the search.
    pub fn search(mut self, q: impl Into<String>, fields: Option<Vec<String>>) -> Self {
        self.search = Some(Search {
            q: q.into(),
            fields,
        });
        self
    }
}

/// Escapes `q` for `LIKE .. ESCAPE '!'` and wraps it in `%`: every character matches itself.
/// `!` is the escape character because `\` is itself special inside MySQL string literals.
pub(crate) fn like_pattern(q: &str) -> String {
    let mut p = String::with_capacity(q.len() + 2);
    p.push('%');
    for ch in q.to_lowercase().chars() {
        if matches!(ch, '!' | '%' | '_') {
            p.push('!');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_escapes() {
        assert_eq!(like_pattern("a%b_c!d\\e"), "%a!%b!_c!!d\\e%");
        assert_eq!(like_pattern("ABC"), "%abc%");
    }
}

//! Export from code: one tenant's rows as JSON, streamed in constant memory into any writer,
//! with values that keep their types; the same work as `tenantry sql export-tenant`.
//!
//!     cargo run -p tenantry --example export_tenant --features sqlite

use tenantry::{
    data::{DataStore, Ident},
    export::{self, ExportRequest, Format, NoProgress},
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = DataStore::connect("sqlite::memory:").await?;
    // Cross-tenant work (an export reads one tenant's rows of any table) goes through the
    // explicit, logged door.
    let admin = db.unscoped_admin("example: export one tenant");
    let pool = admin.pool::<sqlx::Sqlite>().expect("a SQLite pool");
    sqlx::raw_sql(
        "CREATE TABLE invoices (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, \
         total NUMERIC, paid BOOLEAN, issued_at TEXT);
         INSERT INTO invoices (tenant_id, total, paid, issued_at) VALUES
           ('acme', 120.5, 1, '2026-11-02T10:00:00Z'),
           ('globex', 99, 0, '2026-11-03T11:00:00Z'),
           ('acme', 75, 0, '2026-11-04T12:00:00Z');",
    )
    .execute(pool)
    .await?;

    let mut req = ExportRequest::new(Ident::new("invoices")?, "acme");
    req.format = Format::Ndjson;
    let stdout = std::io::stdout();
    let done = export::export_table(&admin, &req, stdout.lock(), &NoProgress).await?;
    eprintln!("{} rows of acme from {}", done.rows, done.table);
    Ok(())
}

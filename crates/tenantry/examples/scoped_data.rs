//! Scoped data: a tenant table cannot be built without a tenant, puts the tenant in
//! every statement, and never lets one tenant see, change or claim another's rows.
//!
//!     cargo run -p tenantry --example scoped_data --features sqlite

use serde_json::json;
use tenantry::{
    TenantId,
    data::{Column, DataStore, Record, Resource, TenantTable},
};

fn row(value: serde_json::Value) -> Record {
    value.as_object().cloned().unwrap_or_default()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = DataStore::connect("sqlite::memory:").await?;
    let notes = Resource::builder("notes")
        .integer_id("id")
        .column(Column::text("body"))
        .build()?;
    db.create_table(&notes).await?;

    let acme = TenantTable::new(db.clone(), notes.clone(), TenantId::parse("acme").unwrap());
    let globex = TenantTable::new(db, notes, TenantId::parse("globex").unwrap());

    let mine = acme.create(row(json!({"body": "acme's secret"}))).await?;
    globex.create(row(json!({"body": "globex's note"}))).await?;
    println!("acme created {}", serde_json::Value::Object(mine.clone()));

    let id = mine["id"].as_i64().expect("an integer id");
    println!(
        "acme counts {} row(s), globex {}",
        acme.count().await?,
        globex.count().await?
    );
    // Another tenant's row is not there for globex: reading, changing, deleting.
    println!("globex reads acme's row: {:?}", globex.get(id).await?);
    let patch = globex.update(id, row(json!({"body": "hijacked"}))).await;
    println!("globex changes acme's row: {:?}", patch.map(|_| ()));
    // A row that names another tenant is refused.
    let planted = globex
        .create(row(json!({"body": "planted", "tenant_id": "acme"})))
        .await;
    println!("globex plants a row for acme: {:?}", planted.map(|_| ()));
    // And acme's row is unchanged.
    let back = acme.get(id).await?.expect("still there");
    println!("acme reads it back: {}", serde_json::Value::Object(back));
    Ok(())
}

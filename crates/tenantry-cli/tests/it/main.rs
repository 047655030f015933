//! Tests of the `tenantry` binary: one test binary, one module per verb.

#![allow(unreachable_pub, missing_debug_implementations)]

mod catalog_changes;
mod dbs;
mod errors;
mod export;
mod import;
mod items;
mod limits;
mod migrate;
mod migrate_fleet;
mod outage;
mod own;
mod placements;
mod restore;
mod secrets;
mod serve;
mod slow;
mod support;
mod tenants;
mod token;

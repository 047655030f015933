//! Integration tests of the tenantry library: one binary, one module per topic.

mod catalog_sql;
mod context;
mod db;
mod enforce;
mod resolve;
mod support;

//! Integration tests of the tenantry library: one binary, one module per topic.

#![allow(unreachable_pub, missing_debug_implementations)]

mod catalog_sql;
mod context;
#[cfg(feature = "crud")]
mod crud;
mod data;
mod db;
mod enforce;
mod resolve;
mod support;

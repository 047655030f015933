//! Integration tests of the tenantry library: one binary, one module per topic.

#![cfg(all(feature = "axum", feature = "jwt"))]
#![allow(unreachable_pub, missing_debug_implementations)]

#[cfg(feature = "_sql")]
mod catalog_sql;
mod context;
#[cfg(all(feature = "crud", feature = "_sql"))]
mod crud;
#[cfg(feature = "_sql")]
mod data;
#[cfg(feature = "_sql")]
mod db;
mod enforce;
mod export;
mod limit;
#[cfg(feature = "metrics")]
mod metrics;
mod parsers;
mod resolve;
mod support;

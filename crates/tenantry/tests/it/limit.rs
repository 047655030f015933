//! Rate limits (DESIGN §7): one scenario suite run on both stores, then what only one store
//! has (Redis outages, several instances, decisions identical to the in-memory store).

#[macro_use]
mod suite;

mod common;
mod memory;
#[cfg(feature = "redis")]
mod redis;

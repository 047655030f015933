//! Tests of the `tenantry` binary: one test binary, one module per verb.

#![allow(unreachable_pub, missing_debug_implementations)]

mod serve;
mod support;
mod token;

//! axum extractors: [`TenantId`], `Option<TenantId>`, [`OptionalTenantId`], [`TenantContext`].
//!
//! | extractor | no tenant | layer missing |
//! |---|---|---|
//! | `TenantId`, `TenantContext` | 401 `tenant_context_missing` | 500 `internal` naming the fix |
//! | `Option<TenantId>`, `OptionalTenantId` | `None` | 500 `internal` |
//!
//! Malformed, forbidden or suspended tenants never reach an extractor: the layer has already
//! refused them.

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::{Rejection, TenantContext, TenantId, enforce::NoTenant};

const NO_LAYER: &str =
    "tenantry's TenancyLayer is not installed around this route; wrap the router with it";

fn context(parts: &Parts) -> Result<Option<&TenantContext>, Rejection> {
    match parts.extensions.get::<TenantContext>() {
        Some(ctx) => Ok(Some(ctx)),
        None if parts.extensions.get::<NoTenant>().is_some() => Ok(None),
        None => Err(Rejection::Misconfigured(NO_LAYER)),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for TenantContext {
    type Rejection = Rejection;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Rejection> {
        context(parts)?
            .cloned()
            .ok_or(Rejection::TenantContextMissing)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for TenantId {
    type Rejection = Rejection;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Rejection> {
        context(parts)?
            .map(|c| c.tenant().clone())
            .ok_or(Rejection::TenantContextMissing)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for TenantId {
    type Rejection = Rejection;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Rejection> {
        Ok(context(parts)?.map(|c| c.tenant().clone()))
    }
}

/// The tenant if the request names one: for routes that work with or without a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionalTenantId(pub Option<TenantId>);

impl<S: Send + Sync> FromRequestParts<S> for OptionalTenantId {
    type Rejection = Rejection;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Rejection> {
        Ok(Self(context(parts)?.map(|c| c.tenant().clone())))
    }
}

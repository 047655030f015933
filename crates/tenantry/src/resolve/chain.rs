//! [`Chain`]: the configured resolvers asked in order, first match wins, disagreeing sources
//! refused.

use std::{borrow::Cow, fmt};

use http::request::Parts;

use super::{Resolution, ResolveCx, ResolveFuture, TenantResolver};
use crate::{Rejection, TenantId, TenantIdRule};

/// What to do when two resolvers name different tenants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Disagreement {
    /// Refuse with 403 `tenant_mismatch` (the default). Every resolver is consulted.
    #[default]
    Refuse,
    /// The first match wins and later resolvers are not consulted.
    FirstWins,
}

/// The resolvers of a tenancy layer, in order, with the id rule their answers must pass.
pub(crate) struct Chain {
    resolvers: Vec<Box<dyn TenantResolver>>,
    rule: TenantIdRule,
    disagreement: Disagreement,
}

/// The chain's answer: the tenant, and the resolver that named it first.
pub(crate) struct Winner<'c> {
    pub(crate) tenant: TenantId,
    pub(crate) by: &'c dyn TenantResolver,
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chain")
            .field("resolvers", &self.resolvers)
            .field("rule", &self.rule)
            .field("disagreement", &self.disagreement)
            .finish()
    }
}

impl Chain {
    pub(crate) fn new(
        resolvers: Vec<Box<dyn TenantResolver>>,
        rule: TenantIdRule,
        disagreement: Disagreement,
    ) -> Self {
        Self {
            resolvers,
            rule,
            disagreement,
        }
    }

    /// Whether [`resolve_now`](Self::resolve_now) can ever answer: every resolver answers at
    /// once.
    pub(crate) fn is_immediate(&self) -> bool {
        self.resolvers.iter().all(|r| r.is_immediate())
    }

    /// Asks each resolver in turn; each id is checked with the rule.
    pub(crate) async fn resolve<'c>(
        &'c self,
        cx: &mut ResolveCx<'_>,
    ) -> Result<Option<Winner<'c>>, Rejection> {
        let mut winner = None;
        for resolver in &self.resolvers {
            let resolution = resolver.resolve(cx).await;
            if self.accept(&mut winner, resolver.as_ref(), resolution)? {
                break;
            }
        }
        Ok(winner)
    }

    /// [`resolve`](Self::resolve) without awaiting: `None` when a resolver needs awaiting
    /// (nothing was started then, so `resolve` can ask again).
    pub(crate) fn resolve_now<'c>(
        &'c self,
        cx: &mut ResolveCx<'_>,
    ) -> Option<Result<Option<Winner<'c>>, Rejection>> {
        let mut winner = None;
        for resolver in &self.resolvers {
            let resolution = match resolver.resolve(cx) {
                ResolveFuture::Ready(r) => r.unwrap_or(Ok(None)),
                // Not polled yet, so not started.
                ResolveFuture::Boxed(_) => return None,
            };
            match self.accept(&mut winner, resolver.as_ref(), resolution) {
                Ok(false) => {}
                Ok(true) => break,
                Err(rejection) => return Some(Err(rejection)),
            }
        }
        Some(Ok(winner))
    }

    /// Lets every resolver rewrite the accepted request's head (the path resolver strips its
    /// prefix).
    pub(crate) fn rewrite(&self, head: &mut Parts) {
        for resolver in &self.resolvers {
            resolver.rewrite(head);
        }
    }

    /// Takes one resolver's answer: a tenant becomes the winner (or must agree with it).
    /// `Ok(true)`: stop asking (first match wins).
    fn accept<'c>(
        &self,
        winner: &mut Option<Winner<'c>>,
        resolver: &'c dyn TenantResolver,
        resolution: Resolution,
    ) -> Result<bool, Rejection> {
        let Some(raw) = resolution? else {
            return Ok(false);
        };
        let id = self.rule.parse(&raw)?;
        match winner {
            None => {
                *winner = Some(Winner {
                    tenant: id,
                    by: resolver,
                });
                Ok(self.disagreement == Disagreement::FirstWins)
            }
            Some(first) if first.tenant != id => {
                Err(Rejection::TenantMismatch(Cow::Owned(format!(
                    "the {} and the {} name different tenants",
                    source_noun(first.by.name()),
                    source_noun(resolver.name())
                ))))
            }
            Some(_) => Ok(false),
        }
    }
}

fn source_noun(name: &str) -> Cow<'_, str> {
    match name {
        "jwt" => "bearer token".into(),
        "identity" => "authenticated identity".into(),
        "header" => "tenant header".into(),
        "path" => "path".into(),
        "subdomain" => "host name".into(),
        "extension" => "request extension".into(),
        other => format!("{other} resolver").into(),
    }
}

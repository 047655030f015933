use std::{fmt, sync::Arc};

use tower_layer::Layer;

use super::{Membership, Tenancy, decide::Config};
use crate::{
    TenantIdRule,
    catalog::{Catalog, MemoryCatalog},
    resolve::{
        Chain, Disagreement, ExtensionResolver, HeaderResolver, IdentityResolver, TenantResolver,
    },
};

/// Builds a [`TenancyLayer`].
#[must_use]
pub struct TenancyBuilder {
    resolvers: Vec<Box<dyn TenantResolver>>,
    rule: TenantIdRule,
    catalog: Option<Catalog>,
    membership: Option<Arc<dyn Membership>>,
    trusted_gateway: bool,
    disagreement: Disagreement,
    required: bool,
    public: Vec<Box<str>>,
}

impl fmt::Debug for TenancyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenancyBuilder")
            .field("resolvers", &self.resolvers)
            .field("trusted_gateway", &self.trusted_gateway)
            .field("disagreement", &self.disagreement)
            .field("required", &self.required)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl TenancyBuilder {
    /// Adds a resolver after those already added. With none added, the default order is used:
    /// identity, header (`X-Tenant-Id`), request extension.
    pub fn resolver(mut self, resolver: impl TenantResolver) -> Self {
        self.resolvers.push(Box::new(resolver));
        self
    }

    /// Validates tenant ids with `rule` instead of the standard one.
    pub fn tenant_id_rule(mut self, rule: TenantIdRule) -> Self {
        self.rule = rule;
        self
    }

    /// Checks every tenant against `catalog` (unknown: 403, suspended: 403, locked: 423).
    /// Without a catalog every well-formed tenant id is accepted.
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// Decides membership with `membership` instead of the principal's claims.
    pub fn membership(mut self, membership: impl Membership) -> Self {
        self.membership = Some(Arc::new(membership));
        self
    }

    /// **Risky**: trusts tenants named by headers, hosts and paths without an authenticated
    /// principal (svc-infra's "soft tenancy"). Only behind a gateway that authenticates callers
    /// and overwrites the tenant header. Off by default.
    pub fn trusted_gateway(mut self, trusted: bool) -> Self {
        self.trusted_gateway = trusted;
        self
    }

    /// What to do when resolvers disagree (default: refuse with 403 `tenant_mismatch`).
    pub fn on_disagreement(mut self, policy: Disagreement) -> Self {
        self.disagreement = policy;
        self
    }

    /// Lets requests for exactly `path` (`/healthz`, `/metrics`, `/openapi.json`) through without
    /// a tenant: nothing is resolved or refused, and the inner service sees a request marked
    /// [`NoTenant`](super::NoTenant) (a `TenantId` extractor on it answers 401). The path is
    /// compared as the request has it, before any rewrite, without its query; a path that does
    /// not start with `/` never matches.
    ///
    /// This keeps tenant-free routes in the same router as the tenant routes, with no second
    /// router in front of the layer to pay for on every request.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use axum::{Router, routing::get};
    /// use tenantry::{TenantId, TenancyLayer, resolve::HeaderResolver};
    /// use tower::{Layer, ServiceExt};
    ///
    /// let app = Router::new()
    ///     .route("/healthz", get(|| async { "ok" }))
    ///     .route("/whoami", get(|t: TenantId| async move { t.to_string() }));
    /// let app = TenancyLayer::builder()
    ///     .resolver(HeaderResolver::x_tenant_id())
    ///     .trusted_gateway(true)
    ///     .public_path("/healthz")
    ///     .build()
    ///     .layer(app);
    ///
    /// let get = |path| http::Request::get(path).body(axum::body::Body::empty()).unwrap();
    /// assert_eq!(app.clone().oneshot(get("/healthz")).await.unwrap().status(), 200);
    /// assert_eq!(app.oneshot(get("/whoami")).await.unwrap().status(), 401);
    /// # });
    /// ```
    pub fn public_path(mut self, path: impl Into<String>) -> Self {
        self.public.push(path.into().into_boxed_str());
        self
    }

    /// Lets requests that name no tenant through (handlers then use `OptionalTenantId`, and
    /// [`RequireTenantLayer`](super::RequireTenantLayer) marks the routes that need one).
    /// Requests that name a tenant are still fully checked.
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    /// Finishes the layer.
    pub fn build(self) -> TenancyLayer {
        let resolvers = if self.resolvers.is_empty() {
            default_resolvers()
        } else {
            self.resolvers
        };
        let chain = Chain::new(resolvers, self.rule, self.disagreement);
        let immediate = Config::immediate(&chain, self.membership.as_ref());
        TenancyLayer {
            config: Arc::new(Config {
                immediate,
                public: self.public,
                chain,
                catalog: self.catalog,
                membership: self.membership,
                trusted_gateway: self.trusted_gateway,
                required: self.required,
            }),
        }
    }
}

fn default_resolvers() -> Vec<Box<dyn TenantResolver>> {
    vec![
        Box::new(IdentityResolver),
        Box::new(HeaderResolver::x_tenant_id()),
        Box::new(ExtensionResolver),
    ]
}

/// The tower layer that resolves, checks and scopes the tenant of every request.
/// See the [module docs](super) for what it refuses and how.
#[derive(Clone, Debug)]
#[must_use]
pub struct TenancyLayer {
    pub(super) config: Arc<Config>,
}

impl TenancyLayer {
    /// Starts a configuration.
    pub fn builder() -> TenancyBuilder {
        TenancyBuilder {
            resolvers: Vec::new(),
            rule: TenantIdRule::standard(),
            catalog: None,
            membership: None,
            trusted_gateway: false,
            disagreement: Disagreement::Refuse,
            required: true,
            public: Vec::new(),
        }
    }

    /// For your own tests: the tenant comes from `X-Tenant-Id` alone, trusted without a
    /// principal, and every well-formed id is an active tenant. Never use it in production.
    pub fn stub() -> Self {
        Self::builder()
            .resolver(HeaderResolver::x_tenant_id())
            .trusted_gateway(true)
            .build()
    }

    /// Like [`stub`](Self::stub), but only the tenants in `catalog` exist.
    pub fn stub_with(catalog: MemoryCatalog) -> Self {
        Self::builder()
            .resolver(HeaderResolver::x_tenant_id())
            .trusted_gateway(true)
            .catalog(Catalog::new(catalog))
            .build()
    }
}

impl<S> Layer<S> for TenancyLayer {
    type Service = Tenancy<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Tenancy {
            inner,
            config: self.config.clone(),
        }
    }
}

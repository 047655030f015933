//! `tenantry serve`: the demo service.

use std::process::ExitCode;

use anyhow::Context as _;
use axum::{Json, Router, routing::get};
use serde_json::{Value, json};
use tenantry::{
    RateLimit, Tenancy, TenancyLayer, TenantContext, TenantId,
    catalog::{Catalog, Placement, PlacementKind, TenantRecord, TenantStatus},
    crud::Crud,
    data::{
        Backend, DataError, OnInexact, Registry, ServerConfig, TenantJournal, audit_tenant_columns,
    },
    resolve::{HeaderResolver, JwtResolver, PathResolver},
};

use tenantry::metrics::MatchedPathLayer;
use tower::{ServiceBuilder, util::Either};

use super::token::mint;
use crate::{
    cli::{DEV_JWT_SECRET, JournalArg, ServeArgs},
    database::{self, Create},
};

/// The demo's tenants: id, name, plan, status.
const TENANTS: &[(&str, &str, &str, TenantStatus)] = &[
    ("acme", "Acme Corp", "pro", TenantStatus::Active),
    ("globex", "Globex", "free", TenantStatus::Active),
    ("initech", "Initech", "free", TenantStatus::Suspended),
];

/// The demo's users: subject, own tenant, memberships.
const USERS: &[(&str, Option<&str>, &[&str])] = &[
    ("alice", Some("acme"), &[]),
    ("bob", Some("globex"), &[]),
    ("carol", None, &["acme", "globex"]),
    ("dave", Some("initech"), &[]),
];

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let url = args.db.resolve(false);
    let mut db = database::open_as(&url, Create::Yes, database::Use::Serving).await?;
    let mut main = ServerConfig::url(url.clone());
    main.max_tenant_pools = args.max_tenant_pools.map(|n| n as usize);
    main.tenant_pool_connections = args.tenant_pool_connections;
    main.schema_pools = args.schema_pools;
    main.tenant_journal_mode = args.tenant_journal_mode.map(|mode| match mode {
        JournalArg::Wal => TenantJournal::Wal,
        JournalArg::Truncate => TenantJournal::Truncate,
        JournalArg::Delete => TenantJournal::Delete,
    });
    if args.prepare_schema_statements {
        main = main.with_prepared_schema_statements();
    }
    let mut servers = database::servers_with(&args.db, main)?;
    if args.no_group_commit {
        db = db.without_group_commit();
        servers = servers.without_group_commit();
    }
    let store = db.catalog();
    store
        .migrate()
        .await
        .context("cannot create the catalog table")?;
    let catalog = Catalog::new(store);
    // Every tenant is served where the catalog places it: shared rows, its own schema or its
    // own database on this server (`tenantry tenants create ID --placement schema|database`).
    let registry = Registry::with_store(servers, catalog.clone(), &db);
    seed(&catalog, &registry, &url).await?;
    let catalog_for_banner = catalog.clone();
    let items = crate::demo::prepare(&registry).await?;
    // Every tenant column must compare exactly, or tenants differing only in case share rows.
    let policy = if args.allow_inexact_tenant_columns {
        OnInexact::Warn
    } else {
        OnInexact::Refuse
    };
    audit_tenant_columns(&db, "tenant_id")
        .await
        .context("cannot audit the tenant columns")?
        .check(policy)
        .context("refusing to start")?;

    let secret = args.secret.secret();
    let metrics = if args.no_metrics {
        None
    } else {
        Some(crate::metrics::install(registry.store())?)
    };
    let mut tenancy = TenancyLayer::builder()
        .resolver(JwtResolver::hs256(secret.as_bytes()))
        .resolver(HeaderResolver::x_tenant_id())
        .resolver(PathResolver::default())
        .catalog(catalog_for_banner)
        .trusted_gateway(args.trust_tenant_header)
        .public_path(HEALTHZ)
        .public_path(OPENAPI);
    if metrics.is_some() {
        tenancy = tenancy.public_path(crate::metrics::PATH);
    }
    let tenancy = tenancy.build();
    let limits = crate::limits::layer(&args.limits).await?;
    let c = &args.connections;
    let conn_limits = crate::server::Limits {
        header_timeout: c.header_timeout,
        write_timeout: c.write_timeout,
        request_timeout: c.request_timeout,
        body_limit: c.body_limit,
    };
    // Outside in: the request log, the metrics, the request limits (so their 413 and 408 are
    // logged and counted), then the tenancy layer. A log the filter turns off costs nothing.
    let log = tracing::enabled!(target: crate::logformat::REQUEST_TARGET, tracing::Level::INFO)
        .then_some(crate::observe::RequestLogLayer);
    let app = app(tenancy, limits, items, metrics.as_ref(), log.is_some());
    let app = ServiceBuilder::new()
        .option_layer(log)
        .option_layer(metrics.as_ref().map(|m| m.layer.clone()))
        .layer(axum::middleware::from_fn(crate::server::as_problem))
        .layer(axum::middleware::from_fn_with_state(
            crate::server::InFlight::new(c.max_in_flight as usize),
            crate::server::shed,
        ))
        .service(crate::server::guard(app, &conn_limits));

    let listener = tokio::net::TcpListener::bind(args.bind.as_str())
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr().context("no local address")?;
    let tenants = catalog.list().await.context("cannot read the catalog")?;
    tracing::info!(
        target: "tenantry::serve",
        addr = %addr,
        database = database::kind(&url),
        url = %database::redact(&url),
        tenants = tenants.len(),
        metrics = metrics.is_some(),
        group_commit = db.group_commit_stats().is_some(),
        "listening"
    );
    banner(&format!("http://{addr}"), secret, &args, &url, &tenants)?;
    crate::server::serve(listener, app, conn_limits, shutdown()).await;
    tracing::info!(target: "tenantry::serve", "stopped");
    Ok(ExitCode::SUCCESS)
}

/// The demo's tenant-free routes: the tenancy layer lets them through without a tenant.
const HEALTHZ: &str = "/healthz";
const OPENAPI: &str = "/openapi.json";

/// The demo's service: one router behind the tenancy layer (which strips `/tenants/{id}` before
/// routing), `/healthz` and `/openapi.json` being its public paths, and the limit layer in
/// between when rate limits are on.
fn app(
    tenancy: TenancyLayer,
    limits: Option<tenantry::RateLimitLayer>,
    items: Crud,
    metrics: Option<&crate::metrics::Installed>,
    log: bool,
) -> Tenancy<Either<RateLimit<Router>, Router>> {
    let doc = crate::demo::openapi(&items);
    let mut router = Router::new()
        .route(HEALTHZ, get(|| async { Json(json!({"status": "ok"})) }))
        .route(OPENAPI, get(move || async move { Json(doc) }))
        .route("/api/v1/whoami", get(whoami));
    if let Some(m) = metrics {
        router = router.route(crate::metrics::PATH, m.route());
    }
    if log || metrics.is_some() {
        // The route template, for the request log and the metrics outside the router: a layer
        // on each of these routes, only when one of them reads it. The CRUD routes, merged
        // after it, copy theirs themselves.
        router = router.layer(MatchedPathLayer);
    }
    let router = router
        .merge(items.router())
        .fallback(tenantry::problem::not_found)
        .method_not_allowed_fallback(tenantry::problem::method_not_allowed);
    crate::limits::mount(&tenancy, router, limits)
}

async fn whoami(ctx: TenantContext) -> Json<Value> {
    Json(json!({
        "tenant_id": ctx.tenant(),
        "resolved_by": ctx.resolved_by(),
        "subject": ctx.principal().map(|p| p.subject()),
    }))
}

/// Creates the demo tenants on first start (an empty catalog).
async fn seed(catalog: &Catalog, registry: &Registry, url: &str) -> anyhow::Result<()> {
    if !catalog
        .list()
        .await
        .context("cannot read the catalog")?
        .is_empty()
    {
        return Ok(());
    }
    for &(id, name, plan, status) in TENANTS {
        let id = TenantId::parse(id).context("demo tenant id")?;
        let placement = if id.as_str() == PLACED {
            demo_placement(registry, &id, url).await?
        } else {
            Placement::row()
        };
        let record = TenantRecord::new(id, name)
            .with_plan(plan)
            .with_status(status)
            .with_placement(placement);
        catalog
            .create(record)
            .await
            .context("cannot seed the catalog")?;
    }
    Ok(())
}

/// The demo tenant placed apart from the shared tables.
const PLACED: &str = "globex";

/// Where the demo puts `globex`: its own schema on PostgreSQL, its own database file beside a
/// SQLite one, its own database on MariaDB; shared rows on an in-memory SQLite database.
async fn demo_placement(
    registry: &Registry,
    id: &TenantId,
    url: &str,
) -> anyhow::Result<Placement> {
    let servers = registry.servers();
    let kind = match servers.backend(servers.default_server()) {
        Some(Backend::Postgres) => PlacementKind::Schema,
        Some(Backend::Sqlite) if url.contains(":memory:") || url.contains("mode=memory") => {
            return Ok(Placement::row());
        }
        _ => PlacementKind::Database,
    };
    let placement = registry.generate(id, kind, None)?;
    match registry.create_placement(&placement).await {
        Ok(()) => {}
        // Left from an earlier demo whose catalog is gone: the demo's own name, reused.
        Err(DataError::PlacementExists(what)) => tracing::warn!(
            target: "tenantry::serve",
            tenant = %id,
            placement = %placement,
            "{what} exists already; the demo uses it as it is"
        ),
        Err(DataError::Placement(why)) => anyhow::bail!("cannot place {id}: {why}"),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("cannot place {id}"))),
    }
    Ok(placement)
}

/// The banner's tenants line lists at most this many.
const BANNER_TENANTS: usize = 8;

fn banner(
    base: &str,
    secret: &str,
    args: &ServeArgs,
    url: &str,
    tenants: &[TenantRecord],
) -> anyhow::Result<()> {
    let mut out = format!("tenantry demo listening on {base}\n");
    out += &format!("database: {}\n", database::redact(url));
    out += &format!("tenants: {}\n", describe_tenants(tenants));
    out += &crate::limits::describe(&args.limits);
    if secret == DEV_JWT_SECRET {
        out +=
            "warning: using the development JWT secret; set --jwt-secret or TENANTRY_JWT_SECRET\n";
    }
    if args.trust_tenant_header {
        out += "warning: --trust-tenant-header: X-Tenant-Id is trusted without a token\n";
    }
    out += "\nTokens for the demo users (valid 24 h):\n";
    for &(sub, tenant, tenants) in USERS {
        let tenants: Vec<String> = tenants.iter().map(|t| (*t).to_owned()).collect();
        let token = mint(secret, sub, tenant, &tenants, 86_400)?;
        out += &format!("  export {}={token}\n", sub.to_uppercase());
    }
    out += &format!(
        "\nTry:\n  curl -s {base}/healthz\n  curl -s -H \"Authorization: Bearer $ALICE\" {base}/api/v1/whoami\n  \
         curl -s -H \"Authorization: Bearer $CAROL\" -H 'X-Tenant-Id: globex' {base}/api/v1/whoami\n  \
         curl -s -H \"Authorization: Bearer $ALICE\" {base}/tenants/acme/api/v1/whoami\n"
    );
    print!("{out}");
    use std::io::Write as _;
    std::io::stdout().flush().ok();
    Ok(())
}

/// `acme (active, plan pro), initech (suspended), ...`, as the catalog has them now.
fn describe_tenants(tenants: &[TenantRecord]) -> String {
    if tenants.is_empty() {
        return "none (`tenantry tenants create ID` adds one)".to_owned();
    }
    let mut parts: Vec<String> = tenants
        .iter()
        .take(BANNER_TENANTS)
        .map(|t| match t.status {
            TenantStatus::Active => format!("{} (active, plan {})", t.id, t.plan),
            other => format!("{} ({other})", t.id),
        })
        .collect();
    if tenants.len() > BANNER_TENANTS {
        parts.push(format!("and {} more", tenants.len() - BANNER_TENANTS));
    }
    parts.join(", ")
}

async fn shutdown() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

//! Command-line definitions (clap types only; the work lives in `commands`).

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

/// The development secret `serve` and `token` share when none is given. Never use it in
/// production: anyone can mint tokens with it.
pub(crate) const DEV_JWT_SECRET: &str = "tenantry-dev-secret-not-for-production";

/// Default database of the demo: an SQLite file in the working directory.
pub(crate) const DEFAULT_DATABASE_URL: &str = "sqlite://tenantry-demo.db";

/// tenantry: multi-tenancy for Rust services.
#[derive(Debug, Parser)]
#[command(name = "tenantry", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the demo service (tenant-scoped API on an embedded SQLite database by default).
    Serve(ServeArgs),
    /// Print a signed development token (HS256) for the demo service and tests.
    Token(TokenArgs),
}

/// The JWT secret, shared by `serve` and `token`.
#[derive(Debug, Args)]
pub(crate) struct SecretArgs {
    /// HS256 secret for bearer tokens [default: a fixed development secret].
    #[arg(long, env = "TENANTRY_JWT_SECRET", hide_env_values = true)]
    pub(crate) jwt_secret: Option<String>,
}

impl SecretArgs {
    pub(crate) fn secret(&self) -> &str {
        self.jwt_secret.as_deref().unwrap_or(DEV_JWT_SECRET)
    }
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) bind: SocketAddr,
    /// Database for the catalog: sqlite://FILE, postgres://..., mysql://...
    #[arg(long, env = "TENANTRY_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub(crate) database_url: String,
    #[command(flatten)]
    pub(crate) secret: SecretArgs,
    /// Accept a tenant named only by the X-Tenant-Id header, with no bearer token (trusted
    /// gateway mode). Only behind a gateway that authenticates callers.
    #[arg(long)]
    pub(crate) trust_tenant_header: bool,
}

#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// Subject (`sub` claim).
    #[arg(long)]
    pub(crate) sub: String,
    /// The principal's tenant (`tenant_id` claim).
    #[arg(long)]
    pub(crate) tenant: Option<String>,
    /// Tenants the principal belongs to (`tenants` claim), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub(crate) tenants: Vec<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    pub(crate) ttl: u64,
    #[command(flatten)]
    pub(crate) secret: SecretArgs,
}

//! Command-line definitions (clap types only; the work lives in `commands`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// Export and import one tenant's rows of SQL tables (SQLite, PostgreSQL, MariaDB/MySQL).
    #[command(subcommand)]
    Sql(SqlCommand),
    /// The tenant catalog (table `tenantry_tenants`): list, show, create, suspend, resume, delete.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Apply a sqlx migrations directory to every placement: each server's shared tables, each
    /// tenant's schema and database. Resumable; a failing placement does not stop the others.
    Migrate(MigrateArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["all_tenants", "tenants"])))]
pub(crate) struct MigrateArgs {
    /// The migrations directory (`0001_name.sql`, ..., as `sqlx migrate` reads it).
    #[arg(long, value_name = "DIR")]
    pub(crate) source: std::path::PathBuf,
    /// Every placement: each server's shared tables and every tenant's own schema or database.
    #[arg(long)]
    pub(crate) all_tenants: bool,
    /// Only these tenants' placements (comma-separated ids).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub(crate) tenants: Option<Vec<String>>,
    /// Placements migrated at once [default: from the servers' connection limits: for each
    /// server with work, the smaller of its pool's max_connections (10 unless the --servers
    /// file says) and a quarter of the connections the server has free (PostgreSQL, MariaDB;
    /// SQLite: the pool's size); the smallest over the servers, from 1 to 32].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) concurrency: Option<u16>,
    /// Say what would be applied where; apply nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    #[command(flatten)]
    pub(crate) catalog: CatalogArgs,
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
    /// Address to listen on: IP:PORT, HOST:PORT (`localhost:8080`) or :PORT (on 127.0.0.1);
    /// port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080", value_parser = parse_bind)]
    pub(crate) bind: String,
    #[command(flatten)]
    pub(crate) db: DatabaseArgs,
    #[command(flatten)]
    pub(crate) secret: SecretArgs,
    /// Accept a tenant named only by the X-Tenant-Id header, with no bearer token (trusted
    /// gateway mode). Only behind a gateway that authenticates callers.
    #[arg(long)]
    pub(crate) trust_tenant_header: bool,
    /// Start even if a table's tenant_id column compares without case or padding (then tenants
    /// whose ids differ only in case share its rows): warn instead of refusing. Only while
    /// fixing such a column.
    #[arg(long)]
    pub(crate) allow_inexact_tenant_columns: bool,
    #[command(flatten)]
    pub(crate) limits: crate::limits::LimitArgs,
    #[command(flatten)]
    pub(crate) connections: ConnectionArgs,
    /// Log lines as text or as JSON objects (one per line). RUST_LOG filters them; the default
    /// shows start-up, one line per request and shutdown.
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) log_format: LogFormat,
    /// Serve no /metrics and record none.
    #[arg(long)]
    pub(crate) no_metrics: bool,
    /// SQLite: run each write in its own transaction. By default the writes waiting at one
    /// moment for a database file are committed together in one transaction (a savepoint
    /// each, so a failing write fails alone), each answered only after that commit.
    #[arg(long)]
    pub(crate) no_group_commit: bool,
    /// Tenants placed in databases of their own (`tenants create --placement database`) whose
    /// pools stay open at once on the database URL's server; a request for one more closes the
    /// least recently used [default: 128 on SQLite, 64 on PostgreSQL and MariaDB] (a
    /// `--servers` file sets `max_tenant_pools` for its own servers).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Placements")]
    pub(crate) max_tenant_pools: Option<u32>,
    /// Connections of each of those pools [default: 1 on SQLite, 2 elsewhere]. At most
    /// `--max-tenant-pools` times this many connections are open for tenant databases.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Placements")]
    pub(crate) tenant_pool_connections: Option<u32>,
    /// SQLite: the journal of tenant database files. `wal` (the default) is the fastest for
    /// tenants whose pools stay open; `truncate` costs less each time a pool opens and closes,
    /// which is most requests when far more tenants than --max-tenant-pools are active, but
    /// flushes twice per commit and blocks the file's readers while it commits.
    #[arg(long, value_enum, value_name = "MODE", help_heading = "Placements")]
    pub(crate) tenant_journal_mode: Option<JournalArg>,
    /// PostgreSQL: prepare the statements of tenants placed in schemas and keep them in each
    /// connection's statement cache, as shared rows' are. By default they are sent unnamed:
    /// every schema has statements of its own, and with many schemas they would evict each
    /// other from the cache (100 per connection; `?statement-cache-capacity=N` in the URL
    /// raises it). Worth it for a few schemas, or a cache that holds them all.
    #[arg(long, help_heading = "Placements")]
    pub(crate) prepare_schema_statements: bool,
    /// PostgreSQL: serve the tenants placed in schemas from N pools of their own, each schema
    /// always from the same one, instead of the server's own pool: each connection meets only
    /// its share of the schemas, so their statements stay prepared and planned. About as many
    /// connections again as the server's own pool; implies --prepare-schema-statements.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Placements")]
    pub(crate) schema_pools: Option<u32>,
}

/// `serve --tenant-journal-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum JournalArg {
    Wal,
    Truncate,
    Delete,
}

/// `serve --log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

/// What a slow or hostile client may hold (`tenantry serve`).
#[derive(Debug, Args)]
pub(crate) struct ConnectionArgs {
    /// Seconds a client has to send a request's head; also how long an idle keep-alive
    /// connection stays open.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = seconds, help_heading = "Connections")]
    pub(crate) header_timeout: std::time::Duration,
    /// Seconds a response write may make no progress (a client that stops reading) before the
    /// connection is closed.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = seconds, help_heading = "Connections")]
    pub(crate) write_timeout: std::time::Duration,
    /// Seconds a request may take, its body included, before it is answered 408.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = seconds, help_heading = "Connections")]
    pub(crate) request_timeout: std::time::Duration,
    /// Largest request body in bytes; a longer one is answered 413.
    #[arg(
        long,
        value_name = "BYTES",
        default_value = "1048576",
        help_heading = "Connections"
    )]
    pub(crate) body_limit: usize,
    /// Most requests in flight at once; one more is answered 503 at once (never queued), so
    /// that an outage or overload cannot pile up requests past the database's 750 ms deadline.
    #[arg(
        long,
        value_name = "N",
        default_value = "1024",
        value_parser = clap::value_parser!(u32).range(1..),
        help_heading = "Connections"
    )]
    pub(crate) max_in_flight: u32,
}

/// Seconds, possibly fractional (`0.5`), more than zero.
fn seconds(raw: &str) -> Result<std::time::Duration, String> {
    match raw.parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() && s < 1e9 => Ok(std::time::Duration::from_secs_f64(s)),
        _ => Err(format!("{raw:?} is not a number of seconds above 0")),
    }
}

#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// Subject (`sub` claim), not empty.
    #[arg(long, value_parser = non_empty)]
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

fn non_empty(raw: &str) -> Result<String, String> {
    if raw.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(raw.to_owned())
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum SqlCommand {
    /// Write one tenant's rows of a table as JSON, streamed, to standard output or a file.
    ///
    /// Values keep their types: numbers stay numbers, decimals are exact strings, timestamps
    /// RFC 3339 in UTC (zone-less ones read as UTC), dates ISO 8601, UUIDs strings, bytes
    /// base64, JSON as JSON as stored (a JSON null as {"$json":null}, apart from SQL NULL).
    /// An import of the file gives the same export again, on any backend. Rows are ordered by
    /// primary key. With --output the file appears only when complete (a temporary
    /// `.NAME.tenantry-tmp-PID` next to it is renamed; on failure or Ctrl-C it is removed, and a
    /// leftover of a killed run is removed by the next export to the same path).
    ///
    /// Exit status: 0 done, 1 failed (unknown table or column, database error), 2 usage.
    #[command(verbatim_doc_comment)]
    ExportTenant(ExportTenantArgs),
    /// Load an export back into its table, in one transaction.
    ///
    /// Every row must belong to --tenant-id, and every value must fit its column's type (a
    /// refusal names the row and the column), or nothing is imported. Row counts (and for a
    /// directory the SHA-256 of each file, from its manifest.json) are checked before the
    /// commit.
    ///
    /// Ids: without --as-tenant rows keep their ids (restoring into a table that still holds
    /// them fails on the duplicate key, and nothing is imported). With --as-tenant, ids the
    /// database assigns (PostgreSQL identity/serial, MariaDB AUTO_INCREMENT, SQLite INTEGER
    /// PRIMARY KEY) are left out so the clone gets new ones; --keep-ids keeps them (for a
    /// clone into another database). New ids are not rewritten in other tables that refer to
    /// them. Other keys (text or UUID ids) are always kept.
    ///
    /// Tables: with --create-tables, a directory's tables that do not exist are created from
    /// its manifest (columns, types mapped between backends, NOT NULL, primary key, the
    /// database-assigned id, simple defaults, an index on the tenant column): a restore into a
    /// fresh database. A type the target cannot hold is refused naming the table and the
    /// column. Other defaults, indexes, unique and foreign keys are not carried. Manifests written before
    /// exports carried definitions import as before, without --create-tables.
    ///
    /// Exit status: 0 done, 1 failed or refused (nothing imported), 2 usage.
    #[command(verbatim_doc_comment)]
    ImportTenant(ImportTenantArgs),
}

/// The database of every command. One variable names it everywhere, `TENANTRY_DATABASE_URL`;
/// the `sql` commands also read `SQL_URL` (as svc-infra's CLI does); the default is the demo's.
#[derive(Debug, Args)]
pub(crate) struct DatabaseArgs {
    /// Database URL: sqlite://FILE, postgres://USER@HOST/DB, mysql://USER@HOST/DB [default:
    /// sqlite://tenantry-demo.db; the `sql` commands also read SQL_URL]. Only `serve` creates
    /// a missing SQLite file.
    #[arg(long, env = "TENANTRY_DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: Option<String>,
    /// More servers to place tenants on, beside `main` (the database URL, which holds the
    /// catalog): a TOML file of `[servers.NAME]` tables with `url` or `url_env`, optional
    /// `password_env` and pool limits. Tenants go there with `tenants create --server NAME`.
    #[arg(long, value_name = "FILE", env = "TENANTRY_SERVERS")]
    pub(crate) servers: Option<std::path::PathBuf>,
}

/// `--bind`: `IP:PORT`, `HOST:PORT` or `:PORT` (the host defaults to 127.0.0.1); the host name
/// is resolved when the server binds.
fn parse_bind(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let (host, port) = match raw.rsplit_once(':') {
        Some((host, port)) => (host, port),
        None => ("", raw),
    };
    if port.parse::<u16>().is_err() {
        return Err(format!(
            "{raw:?} is not HOST:PORT (for example 127.0.0.1:8080, localhost:8080 or :8080)"
        ));
    }
    let host = match host {
        "" => "127.0.0.1",
        h => h,
    };
    if host.starts_with('[') != host.ends_with(']') || host.contains(char::is_whitespace) {
        return Err(format!(
            "{raw:?}: {host:?} is not a host name or IP address"
        ));
    }
    Ok(format!("{host}:{port}"))
}

/// Output layout of `sql export-tenant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    /// One JSON array, one row object per line.
    Json,
    /// One JSON object per line.
    Ndjson,
}

#[derive(Debug, Args)]
pub(crate) struct ExportTenantArgs {
    /// The table (a plain SQL identifier: letters, digits, `_`).
    #[arg(
        value_name = "TABLE",
        required_unless_present = "all_tables",
        conflicts_with = "all_tables"
    )]
    pub(crate) table: Option<String>,
    /// Export every table that has the tenant field into the directory --output: one file per
    /// table and a manifest.json (row counts, SHA-256, tool version, time).
    #[arg(long, requires = "output")]
    pub(crate) all_tables: bool,
    /// The tenant whose rows are exported.
    #[arg(long)]
    pub(crate) tenant_id: String,
    /// The column holding the tenant.
    #[arg(long, value_name = "COLUMN", default_value = "tenant_id")]
    pub(crate) tenant_field: String,
    /// At most N rows per table, by primary key (0: all).
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<u64>,
    #[command(flatten)]
    pub(crate) db: DatabaseArgs,
    /// Write to this file (a directory with --all-tables) instead of standard output.
    #[arg(long, short, value_name = "PATH")]
    pub(crate) output: Option<PathBuf>,
    /// Output layout.
    #[arg(long, value_enum, default_value = "json")]
    pub(crate) format: FormatArg,
}

#[derive(Debug, Args)]
pub(crate) struct ImportTenantArgs {
    /// A table (its rows read from --input, or standard input), or a directory written by
    /// `export-tenant --all-tables`.
    #[arg(value_name = "TABLE|DIR")]
    pub(crate) target: String,
    /// The tenant the exported rows belong to.
    #[arg(long)]
    pub(crate) tenant_id: String,
    /// Write the rows under this tenant instead (clone a tenant); see Ids above.
    #[arg(long, value_name = "TENANT")]
    pub(crate) as_tenant: Option<String>,
    /// With --as-tenant, keep database-assigned ids instead of letting the database assign new
    /// ones.
    #[arg(long, requires = "as_tenant")]
    pub(crate) keep_ids: bool,
    /// With --as-tenant, add that tenant to the catalog (active, plan free, shared rows) when
    /// it is not there; without this flag an --as-tenant unknown to the catalog is refused.
    #[arg(long, requires = "as_tenant")]
    pub(crate) create_tenant: bool,
    /// Create the tables of DIR that the database lacks, from the definitions in its
    /// manifest.json (any backend to any other: SQLite, PostgreSQL, MariaDB); see Tables above.
    #[arg(long)]
    pub(crate) create_tables: bool,
    /// The column holding the tenant (a directory's manifest names its own).
    #[arg(long, value_name = "COLUMN", default_value = "tenant_id")]
    pub(crate) tenant_field: String,
    /// The export file of TABLE [default: standard input].
    #[arg(long, short, value_name = "FILE")]
    pub(crate) input: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) db: DatabaseArgs,
    /// Print what was imported as JSON on standard output.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TenantsCommand {
    /// List tenants, ordered by id.
    List(TenantsListArgs),
    /// Show one tenant.
    Show(TenantArgs),
    /// Add a tenant (active, plan `free`, shared rows, unless told otherwise).
    Create(TenantsCreateArgs),
    /// Suspend a tenant: its requests are refused with 403 `tenant_suspended`.
    Suspend(TenantArgs),
    /// Make a tenant active again (from suspended, or deleted without --purge).
    Resume(TenantArgs),
    /// Mark a tenant deleted (its requests are refused like an unknown tenant's). Its record
    /// stays and `resume` restores it; --purge removes the record for good. Rows in data
    /// tables are never touched.
    Delete(TenantsDeleteArgs),
}

/// The catalog database and output style of the `tenants` commands.
#[derive(Debug, Args)]
pub(crate) struct CatalogArgs {
    #[command(flatten)]
    pub(crate) db: DatabaseArgs,
    /// Print JSON on standard output (for scripts).
    #[arg(long)]
    pub(crate) json: bool,
}

/// Tenant status, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StatusArg {
    Active,
    Suspended,
    Provisioning,
    #[value(name = "provisioning_failed")]
    ProvisioningFailed,
    Moving,
    Deleted,
}

#[derive(Debug, Args)]
pub(crate) struct TenantsListArgs {
    /// Only tenants with this status.
    #[arg(long, value_enum)]
    pub(crate) status: Option<StatusArg>,
    #[command(flatten)]
    pub(crate) catalog: CatalogArgs,
}

#[derive(Debug, Args)]
pub(crate) struct TenantArgs {
    /// The tenant id.
    #[arg(value_name = "ID")]
    pub(crate) id: String,
    #[command(flatten)]
    pub(crate) catalog: CatalogArgs,
}

#[derive(Debug, Args)]
pub(crate) struct TenantsCreateArgs {
    /// The tenant id: 1 to 64 of `A-Z a-z 0-9 . _ -`, starting with a letter or digit.
    #[arg(value_name = "ID")]
    pub(crate) id: String,
    /// Display name [default: the id].
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Plan name.
    #[arg(long, default_value = "free")]
    pub(crate) plan: String,
    /// Initial status.
    #[arg(long, value_enum, default_value = "active")]
    pub(crate) status: StatusArg,
    /// Where its rows live: `row` (shared tables), `schema` (its own PostgreSQL schema) or
    /// `database` (its own database: a file beside a SQLite catalog), the name generated; or
    /// an exact `schema:NAME` / `database:NAME`. A schema or database is created with the
    /// demo's tables before the tenant turns active; if that fails nothing is left behind.
    #[arg(long, default_value = "row")]
    pub(crate) placement: String,
    /// The server to place it on [default: the one at the database URL, named `main`].
    #[arg(long, value_name = "NAME")]
    pub(crate) server: Option<String>,
    /// A sqlx migrations directory to run in its new schema or database, after the demo's
    /// tables (its ledger `_sqlx_migrations` lives there too).
    #[arg(long, value_name = "DIR")]
    pub(crate) migrations: Option<std::path::PathBuf>,
    /// Settings, a JSON object.
    #[arg(long, value_name = "JSON", default_value = "{}")]
    pub(crate) settings: String,
    #[command(flatten)]
    pub(crate) catalog: CatalogArgs,
}

#[derive(Debug, Args)]
pub(crate) struct TenantsDeleteArgs {
    /// The tenant id.
    #[arg(value_name = "ID")]
    pub(crate) id: String,
    /// Remove the catalog record for good instead of marking it deleted. For a tenant in its
    /// own schema or database this drops it with all its data: the tenant must be suspended
    /// (or deleted) first, and `--confirm ID` must repeat its id.
    #[arg(long)]
    pub(crate) purge: bool,
    /// The tenant's id again, confirming that `--purge` drops its schema or database.
    #[arg(long, value_name = "ID")]
    pub(crate) confirm: Option<String>,
    #[command(flatten)]
    pub(crate) catalog: CatalogArgs,
}

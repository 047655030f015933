//! The demo's rate limits: per tenant by plan, in memory or on Redis (`tenantry serve` flags).

use std::num::NonZeroU32;

use anyhow::Context as _;
use axum::Router;
use clap::Args;
use tenantry::{
    RateLimit, Tenancy, TenancyLayer,
    limit::{FailMode, PlanQuotas, Quota, RateLimitLayer, RedisStore},
};
use tower::Layer as _;
use tower::util::{Either, option_layer};

/// Rate limits of `tenantry serve`.
#[derive(Debug, Args)]
pub(crate) struct LimitArgs {
    /// Requests per second for tenants on plan free (and on plans not listed here).
    #[arg(long, default_value = "10", help_heading = "Rate limits")]
    pub(crate) rate_free: NonZeroU32,
    /// Requests at once for plan free.
    #[arg(long, default_value = "20", help_heading = "Rate limits")]
    pub(crate) burst_free: NonZeroU32,
    /// Requests per second for tenants on plan pro.
    #[arg(long, default_value = "100", help_heading = "Rate limits")]
    pub(crate) rate_pro: NonZeroU32,
    /// Requests at once for plan pro.
    #[arg(long, default_value = "200", help_heading = "Rate limits")]
    pub(crate) burst_pro: NonZeroU32,
    /// Turn rate limits off.
    #[arg(long, help_heading = "Rate limits")]
    pub(crate) no_rate_limit: bool,
    /// Keep the buckets on Redis (shared by every instance) instead of in memory.
    #[arg(
        long,
        env = "TENANTRY_REDIS_URL",
        hide_env_values = true,
        help_heading = "Rate limits"
    )]
    pub(crate) redis_url: Option<String>,
    /// Prefix of the rate-limit keys on Redis.
    #[arg(long, default_value = "tenantry:rl:", help_heading = "Rate limits")]
    pub(crate) redis_prefix: String,
    /// How long a decision waits for Redis before the request goes through without one (fail
    /// open; refused with --redis-fail-closed), in milliseconds.
    #[arg(
        long,
        value_name = "MS",
        default_value = "50",
        help_heading = "Rate limits"
    )]
    pub(crate) redis_timeout_ms: u64,
    /// When Redis does not answer within --redis-timeout-ms, refuse the request (503
    /// `unavailable`, `Retry-After: 1`) instead of letting it through without a decision.
    #[arg(long, requires = "redis_url", help_heading = "Rate limits")]
    pub(crate) redis_fail_closed: bool,
}

impl LimitArgs {
    fn free(&self) -> Quota {
        Quota::per_second(self.rate_free).allow_burst(self.burst_free)
    }

    fn pro(&self) -> Quota {
        Quota::per_second(self.rate_pro).allow_burst(self.burst_pro)
    }
}

/// The `/api` limit layer, or `None` with `--no-rate-limit`. With `--redis-url`, Redis must
/// answer at start-up; afterwards an outage lets requests through (fail open), or refuses them
/// with `--redis-fail-closed`, logged either way.
pub(crate) async fn layer(args: &LimitArgs) -> anyhow::Result<Option<RateLimitLayer>> {
    if args.no_rate_limit {
        return Ok(None);
    }
    let builder = RateLimitLayer::builder()
        .name("api")
        .quota(args.free())
        .resolver(
            PlanQuotas::new()
                .plan("pro", args.pro())
                .without_tenant(Quota::unlimited()),
        );
    let builder = if args.redis_fail_closed {
        builder.fail_mode(FailMode::Closed)
    } else {
        builder.fail_mode(FailMode::Open)
    };
    let builder = match &args.redis_url {
        Some(url) => builder.store(
            RedisStore::builder(url)
                .prefix(&args.redis_prefix)
                .timeout(std::time::Duration::from_millis(args.redis_timeout_ms))
                .connect()
                .await
                .context("cannot use Redis for rate limits (--redis-url, TENANTRY_REDIS_URL)")?,
        ),
        None => builder,
    };
    Ok(Some(builder.build()?))
}

/// The demo's router behind its tenancy layer: the public routes and the tenant routes `api` in
/// one router, wrapped by the limit layer when `limits` is set (inside the tenancy layer, so the
/// accepted tenant and its plan key the buckets; requests on the public paths carry no tenant
/// and are not limited: `PlanQuotas::without_tenant`).
///
/// The limit layer wraps the router as one service rather than through `Router::layer`, which
/// would wrap every route (and the 404 fallback) separately: one decision per request either
/// way, but a layer around the router costs less per request (docs/PERFORMANCE.md, "Rate
/// limits"). Unknown paths under tenancy are limited too, like any other tenant request.
pub(crate) fn mount(
    tenancy: &TenancyLayer,
    router: Router,
    limits: Option<RateLimitLayer>,
) -> Tenancy<Either<RateLimit<Router>, Router>> {
    tenancy.layer(option_layer(limits).layer(router))
}

/// One banner line.
pub(crate) fn describe(args: &LimitArgs) -> String {
    if args.no_rate_limit {
        return "rate limits: off (--no-rate-limit)\n".to_owned();
    }
    let place = if args.redis_url.is_some() {
        "on Redis"
    } else {
        "in memory"
    };
    format!(
        "rate limits ({place}): plan free {}/s burst {}, plan pro {}/s burst {}\n",
        args.rate_free, args.burst_free, args.rate_pro, args.burst_pro
    )
}

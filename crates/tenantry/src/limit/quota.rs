//! [`Quota`]: how many requests a key may make, and [`Rate`], its limited form.

use std::{
    fmt,
    num::{NonZeroU32, NonZeroU64},
    time::Duration,
};

use super::{Decision, LimitConfigError, gcra};

const MICROS_PER_SECOND: u64 = 1_000_000;

/// How many requests a key may make: a [`Rate`], or explicitly none at all.
///
/// ```
/// use std::{num::NonZeroU32, time::Duration};
/// use tenantry::limit::Quota;
///
/// let nz = |n| NonZeroU32::new(n).unwrap();
/// // 10 requests a second, up to 20 at once.
/// let free = Quota::per_second(nz(10)).allow_burst(nz(20));
/// assert_eq!(free.rate().unwrap().burst().get(), 20);
/// assert_eq!(free.to_string(), "10 per 1s, burst 20");
/// // 1,000 requests a day (a "quota"): the same machinery over a longer period.
/// let daily = Quota::per_day(nz(1000));
/// assert_eq!(daily.rate().unwrap().emission_interval(), Duration::from_millis(86_400));
/// // No limit at all is its own value, never a missing one.
/// assert!(Quota::unlimited().is_unlimited());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quota {
    /// No limit: requests are neither counted nor refused, and get no rate-limit headers.
    Unlimited,
    /// At most this rate.
    Limited(Rate),
}

impl Quota {
    /// No limit (see [`Quota::Unlimited`]).
    pub const fn unlimited() -> Self {
        Self::Unlimited
    }

    /// `n` requests a second, `n` at once.
    pub const fn per_second(n: NonZeroU32) -> Self {
        Self::Limited(Rate::per_second(n))
    }

    /// `n` requests a minute, `n` at once.
    pub const fn per_minute(n: NonZeroU32) -> Self {
        Self::Limited(Rate::per_minute(n))
    }

    /// `n` requests an hour, `n` at once.
    pub const fn per_hour(n: NonZeroU32) -> Self {
        Self::Limited(Rate::per_hour(n))
    }

    /// `n` requests a day, `n` at once.
    pub const fn per_day(n: NonZeroU32) -> Self {
        Self::Limited(Rate::per_day(n))
    }

    /// `n` requests per `period`, `n` at once. See [`Rate::new`].
    pub fn new(n: NonZeroU32, period: Duration) -> Result<Self, LimitConfigError> {
        Rate::new(n, period).map(Self::Limited)
    }

    /// Sets how many requests may be made at once (the bucket's size). No effect on
    /// [`Quota::Unlimited`].
    #[must_use]
    pub const fn allow_burst(self, burst: NonZeroU32) -> Self {
        match self {
            Self::Limited(rate) => Self::Limited(rate.allow_burst(burst)),
            Self::Unlimited => Self::Unlimited,
        }
    }

    /// Whether this is [`Quota::Unlimited`].
    pub const fn is_unlimited(&self) -> bool {
        matches!(self, Self::Unlimited)
    }

    /// The rate, unless unlimited.
    pub const fn rate(&self) -> Option<Rate> {
        match self {
            Self::Limited(rate) => Some(*rate),
            Self::Unlimited => None,
        }
    }
}

impl From<Rate> for Quota {
    fn from(rate: Rate) -> Self {
        Self::Limited(rate)
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unlimited => f.write_str("unlimited"),
            Self::Limited(rate) => rate.fmt(f),
        }
    }
}

/// A limited quota: `count` requests per `period`, refilled smoothly (one every
/// `period / count`), with up to `burst` at once.
///
/// Time is kept in whole microseconds: the emission interval `period / count` is rounded down
/// and is at least 1 µs, so no key gets more than 1,000,000 requests a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    count: NonZeroU32,
    period_us: NonZeroU64,
    burst: NonZeroU32,
    /// `period / count`, at least 1 (µs); computed once, used by every decision.
    t_us: u64,
    /// `t * (burst - 1)` (µs), saturating.
    tau_us: u64,
}

impl Rate {
    const fn over(count: NonZeroU32, period_us: u64) -> Self {
        // Callers pass a non-zero constant period.
        let period_us = match NonZeroU64::new(period_us) {
            Some(p) => p,
            None => NonZeroU64::MIN,
        };
        let t_us = match period_us.get() / count.get() as u64 {
            0 => 1,
            t => t,
        };
        Self {
            count,
            period_us,
            burst: count,
            t_us,
            tau_us: t_us.saturating_mul(count.get() as u64 - 1),
        }
    }

    /// `n` per second, burst `n`.
    pub const fn per_second(n: NonZeroU32) -> Self {
        Self::over(n, MICROS_PER_SECOND)
    }

    /// `n` per minute, burst `n`.
    pub const fn per_minute(n: NonZeroU32) -> Self {
        Self::over(n, 60 * MICROS_PER_SECOND)
    }

    /// `n` per hour, burst `n`.
    pub const fn per_hour(n: NonZeroU32) -> Self {
        Self::over(n, 3_600 * MICROS_PER_SECOND)
    }

    /// `n` per day, burst `n`.
    pub const fn per_day(n: NonZeroU32) -> Self {
        Self::over(n, 86_400 * MICROS_PER_SECOND)
    }

    /// `n` per `period`, burst `n`. The period must be at least one microsecond and at most
    /// about 292,000 years.
    pub fn new(n: NonZeroU32, period: Duration) -> Result<Self, LimitConfigError> {
        let micros = u64::try_from(period.as_micros())
            .ok()
            .filter(|&m| m > 0)
            .ok_or(LimitConfigError::Period(period))?;
        Ok(Self::over(n, micros))
    }

    /// Sets the burst: how many requests may be made at once.
    #[must_use]
    pub const fn allow_burst(mut self, burst: NonZeroU32) -> Self {
        self.burst = burst;
        self.tau_us = self.t_us.saturating_mul(burst.get() as u64 - 1);
        self
    }

    /// Requests per [`period`](Self::period).
    pub const fn count(&self) -> NonZeroU32 {
        self.count
    }

    /// The period over which [`count`](Self::count) requests are allowed.
    pub const fn period(&self) -> Duration {
        Duration::from_micros(self.period_us.get())
    }

    /// How many requests may be made at once; what `X-RateLimit-Limit` reports.
    pub const fn burst(&self) -> NonZeroU32 {
        self.burst
    }

    /// The time one request's capacity takes to come back (`period / count`, at least 1 µs).
    pub const fn emission_interval(&self) -> Duration {
        Duration::from_micros(self.interval_us())
    }

    #[inline]
    pub(crate) const fn interval_us(&self) -> u64 {
        self.t_us
    }

    /// The delay tolerance: how far ahead of now the theoretical arrival time may run.
    #[inline]
    pub(crate) const fn tau_us(&self) -> u64 {
        self.tau_us
    }

    /// The whole GCRA decision, for stores other than the built-in ones: given the key's stored
    /// theoretical arrival time (`None` if it has none) and the current time, both in
    /// microseconds on the store's clock, returns the decision and, when the request is
    /// allowed, the arrival time to store.
    pub fn decide(&self, tat: Option<u64>, now_us: u64) -> (Decision, Option<u64>) {
        gcra::decide(self, tat, now_us)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} per {:?}, burst {}",
            self.count,
            self.period(),
            self.burst
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    #[test]
    fn intervals_are_whole_microseconds() {
        assert_eq!(Rate::per_second(nz(10)).interval_us(), 100_000);
        assert_eq!(Rate::per_second(nz(3)).interval_us(), 333_333);
        assert_eq!(Rate::per_second(nz(u32::MAX)).interval_us(), 1);
        assert_eq!(Rate::per_day(nz(1)).interval_us(), 86_400_000_000);
        assert_eq!(
            Rate::per_second(nz(10)).allow_burst(nz(20)).tau_us(),
            1_900_000
        );
        assert_eq!(Rate::per_second(nz(1)).tau_us(), 0);
    }

    #[test]
    fn zero_and_huge_periods_are_config_errors() {
        assert!(Rate::new(nz(1), Duration::ZERO).is_err());
        assert!(Rate::new(nz(1), Duration::from_nanos(999)).is_err());
        assert!(Rate::new(nz(1), Duration::MAX).is_err());
        assert_eq!(
            Rate::new(nz(5), Duration::from_secs(60)).unwrap(),
            Rate::per_minute(nz(5))
        );
    }

    #[test]
    fn unlimited_ignores_burst() {
        assert_eq!(Quota::unlimited().allow_burst(nz(3)), Quota::Unlimited);
        assert_eq!(Quota::unlimited().to_string(), "unlimited");
    }
}

//! The generic cell rate algorithm: the whole decision, apart from where the state lives.
//!
//! Each key keeps one number, its theoretical arrival time (TAT), in microseconds on the
//! store's clock. A request at `now` is refused if `now < tat - tau` (it would come earlier
//! than the burst allows); otherwise it is allowed and the key stores `max(tat, now) + t`,
//! where `t` is the emission interval (`period / count`) and `tau = t * (burst - 1)`. The TAT
//! does not depend on the quota, so a tenant that changes plan keeps its history, and a TAT in
//! the past means a full bucket: such keys can be dropped without changing any decision.
//!
//! Unlike a fixed window, capacity comes back smoothly, so a client cannot send twice the limit
//! across a window edge. The Redis script (`store/redis.lua`) is this same function in Lua.

use std::time::Duration;

use super::Rate;

/// One rate-limit decision: allowed or not, with what the response headers report.
///
/// Made by [`Rate::decide`] (the in-memory store) or from what a remote store answered
/// ([`Decision::from_times`]). The remaining count is derived on demand, like governor's
/// `StateSnapshot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decision {
    allowed: bool,
    limit: u32,
    t_us: u64,
    reset_after_us: u64,
    retry_after_us: u64,
}

impl Decision {
    /// A decision for `rate` from its timings, as a store that runs the algorithm elsewhere
    /// (Redis) reports them: allowed or not, how long until the next request may come (zero when
    /// allowed), and how long until the bucket is full again.
    pub fn from_times(
        rate: &Rate,
        allowed: bool,
        retry_after: Duration,
        reset_after: Duration,
    ) -> Self {
        Self {
            allowed,
            limit: rate.burst().get(),
            t_us: rate.interval_us(),
            reset_after_us: micros(reset_after),
            retry_after_us: if allowed { 0 } else { micros(retry_after) },
        }
    }

    /// Whether the request may go ahead.
    pub fn is_allowed(&self) -> bool {
        self.allowed
    }

    /// The bucket's size (the rate's burst): `X-RateLimit-Limit`.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// How many more requests may be made right now: `X-RateLimit-Remaining`.
    pub fn remaining(&self) -> u32 {
        if !self.allowed {
            return 0;
        }
        // After an allowed request the bucket lacks ceil(reset_after / t) units of `limit`.
        let missing = self.reset_after_us.div_ceil(self.t_us.max(1));
        u32::try_from(u64::from(self.limit).saturating_sub(missing)).unwrap_or(0)
    }

    /// How long until the bucket is full again.
    pub fn reset_after(&self) -> Duration {
        Duration::from_micros(self.reset_after_us)
    }

    /// `X-RateLimit-Reset`: [`reset_after`](Self::reset_after) in whole seconds, rounded up.
    pub fn reset_secs(&self) -> u64 {
        self.reset_after_us.div_ceil(1_000_000)
    }

    /// For a refused request, how long until the next one would be allowed.
    pub fn retry_after(&self) -> Option<Duration> {
        (!self.allowed).then(|| Duration::from_micros(self.retry_after_us))
    }

    /// `Retry-After` for a refused request: whole seconds, rounded up, at least 1.
    pub fn retry_after_secs(&self) -> Option<u64> {
        (!self.allowed).then(|| self.retry_after_us.div_ceil(1_000_000).max(1))
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Decides one request of `rate` for a key whose stored TAT is `tat`, at `now` (microseconds).
/// Returns the decision and the TAT to store (`None` when refused: nothing changes).
#[inline]
pub(crate) fn decide(rate: &Rate, tat: Option<u64>, now: u64) -> (Decision, Option<u64>) {
    let t = rate.interval_us();
    let tau = rate.tau_us();
    let tat = tat.map_or(now, |tat| tat.max(now));
    let earliest = tat.saturating_sub(tau);
    let mut decision = Decision {
        allowed: false,
        limit: rate.burst().get(),
        t_us: t,
        reset_after_us: tat - now,
        retry_after_us: 0,
    };
    if now < earliest {
        decision.retry_after_us = earliest - now;
        return (decision, None);
    }
    let new_tat = tat.saturating_add(t);
    decision.allowed = true;
    decision.reset_after_us = new_tat - now;
    (decision, Some(new_tat))
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    /// Runs `times` requests at `now`, threading the TAT through.
    fn run(rate: &Rate, tat: &mut Option<u64>, now: u64, times: usize) -> Vec<Decision> {
        (0..times)
            .map(|_| {
                let (d, next) = decide(rate, *tat, now);
                if let Some(n) = next {
                    *tat = Some(n);
                }
                d
            })
            .collect()
    }

    #[test]
    fn burst_then_refusal_then_one_per_interval() {
        let rate = Rate::per_minute(nz(3)); // t = 20 s, burst 3
        let mut tat = None;
        let ds = run(&rate, &mut tat, 0, 4);
        let remaining: Vec<_> = ds.iter().map(Decision::remaining).collect();
        assert_eq!(remaining, [2, 1, 0, 0]);
        assert!(ds[..3].iter().all(Decision::is_allowed));
        assert_eq!(ds[3].retry_after(), Some(Duration::from_secs(20)));
        assert_eq!(ds[3].retry_after_secs(), Some(20));
        assert_eq!(ds[2].reset_secs(), 60);
        // One interval later exactly one more.
        let ds = run(&rate, &mut tat, 20_000_000, 2);
        assert!(ds[0].is_allowed() && !ds[1].is_allowed());
        // After the full reset, the whole burst again.
        let ds = run(&rate, &mut tat, 100_000_000, 4);
        assert_eq!(ds.iter().filter(|d| d.is_allowed()).count(), 3);
    }

    #[test]
    fn no_double_burst_across_any_edge() {
        // 10 per second, burst 10: in any window of length w, at most 10 + w / 100 ms requests,
        // wherever the window starts. (A fixed window of 1 s lets 20 through in 20 ms.)
        let rate = Rate::per_second(nz(10));
        let mut tat = None;
        let mut allowed_at = Vec::new();
        for step in 0..3_000u64 {
            let now = step * 1_000; // a request every millisecond for 3 s
            let (d, next) = decide(&rate, tat, now);
            if d.is_allowed() {
                tat = next;
                allowed_at.push(now);
            }
        }
        for window_ms in [20u64, 500, 1_000] {
            for (i, &start) in allowed_at.iter().enumerate() {
                let in_window = allowed_at[i..]
                    .iter()
                    .take_while(|&&t| t < start + window_ms * 1_000)
                    .count() as u64;
                assert!(
                    in_window <= 10 + window_ms.div_ceil(100),
                    "{in_window} allowed in {window_ms} ms from {start} µs"
                );
            }
        }
        assert_eq!(allowed_at.len(), 10 + 29);
    }

    #[test]
    fn a_past_tat_is_a_full_bucket() {
        let rate = Rate::per_second(nz(5));
        assert_eq!(
            decide(&rate, Some(10), 1_000_000),
            decide(&rate, None, 1_000_000)
        );
    }

    #[test]
    fn extreme_quotas_saturate_instead_of_overflowing() {
        let rate = Rate::per_day(nz(1)).allow_burst(nz(u32::MAX));
        let (d, tat) = decide(&rate, None, u64::MAX - 5);
        assert!(d.is_allowed());
        assert_eq!(tat, Some(u64::MAX));
    }
}

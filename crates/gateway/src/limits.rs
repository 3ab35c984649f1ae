//! Rate limits and budgets: requests and tokens per minute per token, user and provider
//! (GCRA, through `governor`), concurrent streams per user, and monthly token budgets per user
//! and provider (read from the usage the vault commits with each call's audit event). A
//! refusal says which limit and when to retry.
//!
//! The per-minute limits are held per process; with several nodes behind a load balancer each
//! node enforces them on its own share. Monthly budgets live in the database.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::{GatewayConfig, LimitsConfig};
use crate::error::GatewayError;

struct Limiter {
    limiter: DefaultKeyedRateLimiter<String>,
    per_minute: u32,
}

impl Limiter {
    fn new(per_minute: Option<u32>) -> Option<Limiter> {
        let n = NonZeroU32::new(per_minute?)?;
        Some(Limiter {
            limiter: RateLimiter::keyed(Quota::per_minute(n)),
            per_minute: n.get(),
        })
    }

    /// Takes `n` cells for `key`; the wait in seconds if refused.
    fn take(&self, key: &str, n: u32) -> Result<(), u64> {
        let n = n.clamp(1, self.per_minute);
        let Some(cells) = NonZeroU32::new(n) else {
            return Ok(());
        };
        match self.limiter.check_key_n(&key.to_owned(), cells) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(wait.as_secs() + 1)
            }
            Err(_) => Err(60),
        }
    }
}

/// All limiters of a gateway.
pub struct Limits {
    config: LimitsConfig,
    per_token: Option<Limiter>,
    tokens_per_token: Option<Limiter>,
    per_user: Option<Limiter>,
    tokens_per_user: Option<Limiter>,
    per_provider: HashMap<String, Limiter>,
    tokens_per_provider: HashMap<String, Limiter>,
    streams: Mutex<HashMap<String, Arc<AtomicU32>>>,
}

/// A held stream slot; released on drop.
pub struct StreamSlot(Option<Arc<AtomicU32>>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Some(c) = &self.0 {
            c.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Limits {
    pub fn new(config: &GatewayConfig) -> Limits {
        let l = &config.limits;
        let mut per_provider = HashMap::new();
        let mut tokens_per_provider = HashMap::new();
        for p in &config.providers {
            if let Some(lim) = Limiter::new(p.requests_per_minute) {
                per_provider.insert(p.name.clone(), lim);
            }
            if let Some(lim) = Limiter::new(p.tokens_per_minute) {
                tokens_per_provider.insert(p.name.clone(), lim);
            }
        }
        Limits {
            config: l.clone(),
            per_token: Limiter::new(l.requests_per_minute_per_token),
            tokens_per_token: Limiter::new(l.tokens_per_minute_per_token),
            per_user: Limiter::new(l.requests_per_minute_per_user),
            tokens_per_user: Limiter::new(l.tokens_per_minute_per_user),
            per_provider,
            tokens_per_provider,
            streams: Mutex::new(HashMap::new()),
        }
    }

    pub fn monthly_tokens_per_user(&self) -> Option<u64> {
        self.config.monthly_tokens_per_user
    }

    /// Counts one request (and its estimated input tokens) against every per-minute limit.
    pub fn admit(
        &self,
        token: Option<&str>,
        user: &str,
        provider: &str,
        estimated_tokens: u32,
    ) -> Result<(), GatewayError> {
        let refuse = |what: &str, wait: u64| {
            GatewayError::rate_limited(format!("{what} exceeded; retry in {wait} s"), wait)
        };
        if let (Some(lim), Some(token)) = (&self.per_token, token) {
            lim.take(token, 1)
                .map_err(|w| refuse("requests per minute for this token", w))?;
        }
        if let Some(lim) = &self.per_user {
            lim.take(user, 1)
                .map_err(|w| refuse("requests per minute for this user", w))?;
        }
        if let Some(lim) = self.per_provider.get(provider) {
            lim.take(provider, 1)
                .map_err(|w| refuse("requests per minute for this provider", w))?;
        }
        if let (Some(lim), Some(token)) = (&self.tokens_per_token, token) {
            lim.take(token, estimated_tokens)
                .map_err(|w| refuse("tokens per minute for this token", w))?;
        }
        if let Some(lim) = &self.tokens_per_user {
            lim.take(user, estimated_tokens)
                .map_err(|w| refuse("tokens per minute for this user", w))?;
        }
        if let Some(lim) = self.tokens_per_provider.get(provider) {
            lim.take(provider, estimated_tokens)
                .map_err(|w| refuse("tokens per minute for this provider", w))?;
        }
        Ok(())
    }

    /// Charges tokens learned after the call (the answer's); never refuses.
    pub fn charge(&self, user: &str, provider: &str, tokens: u64) {
        let n = u32::try_from(tokens).unwrap_or(u32::MAX);
        if n == 0 {
            return;
        }
        if let Some(lim) = &self.tokens_per_user {
            let _ = lim.take(user, n);
        }
        if let Some(lim) = self.tokens_per_provider.get(provider) {
            let _ = lim.take(provider, n);
        }
    }

    /// A slot for one concurrent stream of `user`.
    pub fn stream_slot(&self, user: &str) -> Result<StreamSlot, GatewayError> {
        let Some(max) = self.config.concurrent_streams_per_user else {
            return Ok(StreamSlot(None));
        };
        let counter = {
            let mut map = self
                .streams
                .lock()
                .map_err(|_| GatewayError::new(crate::error::Problem::Internal, "limits lock"))?;
            if map.len() > 10_000 {
                map.retain(|_, c| c.load(Ordering::Acquire) > 0);
            }
            Arc::clone(map.entry(user.to_owned()).or_default())
        };
        let now = counter.fetch_add(1, Ordering::AcqRel);
        if now >= max {
            counter.fetch_sub(1, Ordering::AcqRel);
            return Err(GatewayError::rate_limited(
                format!("{max} concurrent streams for this user are open; retry when one ends"),
                1,
            ));
        }
        Ok(StreamSlot(Some(counter)))
    }
}

/// Seconds from `now_ms` to the start of the next UTC month (when budgets reset).
pub fn seconds_to_next_month(now_ms: i64) -> u64 {
    let days = now_ms.div_euclid(86_400_000);
    // Civil-from-days (Howard Hinnant's algorithm), then the first day of the next month.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let y = if nm <= 2 { ny - 1 } else { ny };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = nm;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let next_days = era * 146_097 + doe - 719_468;
    let secs = (next_days * 86_400_000 - now_ms) / 1000;
    u64::try_from(secs.max(1)).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_month() {
        // 2026-12-02T00:00:00Z → 2027-01-01: 30 days.
        let t = 1_796_169_600_000;
        assert_eq!(seconds_to_next_month(t), 30 * 86_400);
        // 2024-02-10 (leap year) → 2024-03-01: 20 days.
        assert_eq!(seconds_to_next_month(1_707_523_200_000), 20 * 86_400);
    }
}

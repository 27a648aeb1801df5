//! Per-key rate limits: a token bucket per API key and process, refilled at the key's
//! rate (its override, else the defaults), holding at most its burst.
//!
//! **Across processes**, approximately: each process gives a key `rate / n` and
//! `burst / n`, where `n` is the number of live server processes (the permission
//! cache's nodes, counted every few seconds). Behind a load balancer that spreads
//! requests evenly, the processes together allow about the key's limit, without a
//! round trip per request. A key whose requests all reach one process gets `1/n` of its
//! limit there; with one process (the common case) the limit is exact.
//!
//! Buckets are independent, and a check is a few nanoseconds under a short lock per
//! key shard: a burst from one key never slows another key's requests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

/// Requests per second a key gets unless it has an override.
pub const DEFAULT_RATE_PER_SECOND: u32 = 1_000;
/// The burst a key gets unless it has an override.
pub const DEFAULT_BURST: u32 = 2_000;
const SHARDS: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// What a check answers: whether the request may go ahead, and the headers' figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until a token is available (0 when one is).
    pub retry_after_secs: u64,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
}

#[derive(Debug)]
pub struct Limiter {
    shards: Vec<Mutex<HashMap<Uuid, Bucket>>>,
    /// Live server processes sharing the limits (at least 1).
    processes: AtomicU64,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            processes: AtomicU64::new(1),
        }
    }
}

impl Limiter {
    pub fn new() -> Arc<Self> {
        Arc::new(Limiter::default())
    }

    pub fn set_processes(&self, processes: u64) {
        self.processes.store(processes.max(1), Ordering::Relaxed);
    }

    /// Takes a token from the key's bucket if it has one.
    pub fn check(&self, key_id: Uuid, rate: Option<i32>, burst: Option<i32>) -> Verdict {
        self.check_at(key_id, rate, burst, Instant::now())
    }

    fn check_at(
        &self,
        key_id: Uuid,
        rate: Option<i32>,
        burst: Option<i32>,
        now: Instant,
    ) -> Verdict {
        let share = self.processes.load(Ordering::Relaxed) as f64;
        let limit = rate.map_or(DEFAULT_RATE_PER_SECOND, |r| r.unsigned_abs());
        let burst = burst.map_or(DEFAULT_BURST, |b| b.unsigned_abs()).max(1);
        let rate = (f64::from(limit) / share).max(0.001);
        let capacity = (f64::from(burst) / share).max(1.0);
        let shard = &self.shards[(key_id.as_u128() % SHARDS as u128) as usize];
        let mut buckets = shard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(key_id).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.at = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        let missing = (1.0 - bucket.tokens).max(0.0);
        Verdict {
            allowed,
            limit,
            remaining: bucket.tokens.floor() as u32,
            retry_after_secs: if allowed {
                0
            } else {
                (missing / rate).ceil() as u64
            },
            reset_secs: ((capacity - bucket.tokens) / rate).ceil() as u64,
        }
    }

    /// Forgets buckets that are full again (keys not used for a while).
    pub fn sweep(&self, idle: Duration) {
        let now = Instant::now();
        for shard in &self.shards {
            shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .retain(|_, bucket| now.saturating_duration_since(bucket.at) < idle);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let limiter = Limiter::default();
        let key = Uuid::new_v4();
        let start = Instant::now();
        for _ in 0..5 {
            assert!(limiter.check_at(key, Some(2), Some(5), start).allowed);
        }
        let refused = limiter.check_at(key, Some(2), Some(5), start);
        assert!(!refused.allowed);
        assert_eq!((refused.retry_after_secs, refused.limit), (1, 2));
        // Half a second later one token (2 per second) is back.
        let later = start + Duration::from_millis(500);
        assert!(limiter.check_at(key, Some(2), Some(5), later).allowed);
        assert!(!limiter.check_at(key, Some(2), Some(5), later).allowed);
        // Another key is untouched.
        assert!(
            limiter
                .check_at(Uuid::new_v4(), Some(2), Some(5), later)
                .allowed
        );
    }

    #[test]
    fn processes_share_a_limit() {
        let limiter = Limiter::default();
        limiter.set_processes(2);
        let key = Uuid::new_v4();
        let now = Instant::now();
        let allowed = (0..10)
            .filter(|_| limiter.check_at(key, Some(10), Some(10), now).allowed)
            .count();
        assert_eq!(allowed, 5);
    }
}

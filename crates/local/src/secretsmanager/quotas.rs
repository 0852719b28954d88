//! Secrets Manager's per-second API quotas, enforced when the endpoint is started with `--quotas aws`, so a run
//! over a fleet meets throttling as it would in AWS.

use std::sync::Mutex;
use std::time::Instant;

/// The documented quotas (AWS Secrets Manager User Guide, "Secrets Manager quotas"; per Region, not adjustable):
/// each group of operations shares one rate, in requests per second. Operations in no group are not limited.
pub const AWS_QUOTAS: &[(&[&str], f64)] = &[
    (&["GetSecretValue"], 10_000.0),
    (&["DescribeSecret"], 40_000.0),
    (
        &[
            "PutSecretValue",
            "RemoveRegionsFromReplication",
            "ReplicateSecretToRegions",
            "StopReplicationToReplica",
            "UpdateSecret",
            "UpdateSecretVersionStage",
        ],
        50.0,
    ),
    (&["RotateSecret", "CancelRotateSecret"], 50.0),
    (&["TagResource", "UntagResource"], 50.0),
    (&["RestoreSecret"], 50.0),
    (&["DeleteResourcePolicy", "GetResourcePolicy", "PutResourcePolicy", "ValidateResourcePolicy"], 50.0),
    (&["BatchGetSecretValue"], 100.0),
];

/// Token buckets, one per quota group: each holds up to one second of requests and refills at the group's rate.
#[derive(Debug)]
pub struct Quotas {
    groups: Vec<(&'static [&'static str], f64, Mutex<Bucket>)>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Quotas {
    /// Buckets for `quotas`, each full.
    pub fn new(quotas: &[(&'static [&'static str], f64)]) -> Self {
        let now = Instant::now();
        let groups = quotas.iter().map(|&(ops, rate)| (ops, rate, Mutex::new(Bucket { tokens: rate, at: now })));
        Self { groups: groups.collect() }
    }

    /// AWS's quotas, each rate multiplied by `scale` (1.0 for AWS's own; less to meet throttling sooner).
    pub fn aws(scale: f64) -> Self {
        let scaled: Vec<_> = AWS_QUOTAS.iter().map(|&(ops, rate)| (ops, (rate * scale).max(1.0))).collect();
        Self::new(&scaled)
    }

    /// Whether `operation` may run now (and takes its token); `false` means AWS would answer
    /// `ThrottlingException`.
    pub fn admit(&self, operation: &str) -> bool {
        let Some((_, rate, bucket)) = self.groups.iter().find(|(ops, _, _)| ops.contains(&operation)) else {
            return true;
        };
        let mut bucket = bucket.lock().expect("quota lock");
        let now = Instant::now();
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(*rate);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_admits_its_rate_then_throttles_and_refills() {
        let quotas = Quotas::new(&[(&["PutSecretValue", "UpdateSecretVersionStage"], 10.0)]);
        let admitted = (0..30)
            .filter(|i| quotas.admit(if i % 2 == 0 { "PutSecretValue" } else { "UpdateSecretVersionStage" }))
            .count();
        assert_eq!(admitted, 10, "one second's worth, shared by the group");
        assert!(quotas.admit("GetSecretValue"), "operations outside every group are not limited");
        std::thread::sleep(std::time::Duration::from_millis(250));
        assert!(quotas.admit("PutSecretValue"), "tokens come back at the rate");
    }
}

//! `make bench`: a generated-secret rotation through the local endpoint and cargo-lambda's Runtime API, on the
//! release build. Prints the median and p95 time of a full rotation (RotateSecret until AWSPENDING is gone), the
//! median of each step inside the function, the cold start of `rotate-custom` (process spawn to its first
//! handled event), its peak RSS, and Secrets Manager calls per rotation (from the endpoint's audit log).

#[allow(dead_code)]
#[path = "../tests/e2e/harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use harness::{Function, Harness, unique};
use serde_json::{Value, json};

const ROTATIONS: usize = 50;
const COLD_STARTS: usize = 15;

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn wait_done(h: &Harness, arn: &str, token: &str) {
    loop {
        let record = h.last_rotation(arn).await;
        if record["token"] == token && record["state"] != "running" {
            assert_eq!(record["state"], "succeeded", "{record}");
            return;
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list; this is a benchmark, not a test.
    }
    let mut h = Harness::start(vec![]).await;
    let pid = h.start_function(Function::new("rotate-custom"));
    let arn = h.create_secret(&unique("bench"), r#"{"password":"initial","service":"bench"}"#).await;
    h.configure_rotation(&arn, "rotate-custom").await;
    let audit_before = std::fs::read_to_string(h.dir.path().join("state/audit.jsonl")).unwrap().lines().count();

    let mut totals = Vec::new();
    for _ in 0..ROTATIONS {
        let started = Instant::now();
        let token = h.client.rotate_secret().secret_id(&arn).send().await.unwrap().version_id().unwrap().to_owned();
        wait_done(&h, &arn, &token).await;
        totals.push(ms(started.elapsed()));
    }
    let rss = peak_rss_kib(pid);

    let audit = std::fs::read_to_string(h.dir.path().join("state/audit.jsonl")).unwrap();
    let api_calls = audit
        .lines()
        .skip(audit_before)
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        // The function's own calls: the benchmark's RotateSecret and the endpoint's step records are not counted.
        .filter(|l| {
            let operation = l["operation"].as_str().unwrap();
            l["secret"] == arn.as_str() && !operation.starts_with("Rotat")
        })
        .count();

    let log = std::fs::read_to_string(h.dir.path().join("rotate-custom.log")).unwrap();
    let mut steps: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for line in log.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
        if line["message"] == "step succeeded" {
            steps
                .entry(line["step"].as_str().unwrap().to_owned())
                .or_default()
                .push(line["duration_ms"].as_f64().unwrap());
        }
    }

    // Cold start: a fresh process, its first event answered (a testSecret of the current version).
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..COLD_STARTS {
        let mut fresh = Harness::start(vec![]).await;
        let arn = fresh.create_secret(&unique("cold"), r#"{"password":"abcdefghijklmnopqrstuvwxyzABCD1!"}"#).await;
        let current = fresh.holding(&arn, "AWSCURRENT").await.unwrap();
        let event = json!({"Step": "testSecret", "SecretId": arn, "ClientRequestToken": current});
        let started = Instant::now();
        fresh.start_function(Function::new("rotate-custom"));
        fresh.invoke("rotate-custom", &event).await.expect("the first event is handled");
        cold.push(ms(started.elapsed()));
        let started = Instant::now();
        fresh.invoke("rotate-custom", &event).await.expect("the second event is handled");
        warm.push(ms(started.elapsed()));
    }

    println!("rotor benchmark: generated-secret rotation (release build, local endpoint, cargo-lambda runtime API)");
    println!(
        "  full rotation ({ROTATIONS} runs): median {:.2} ms, p95 {:.2} ms",
        percentile(&mut totals.clone(), 0.5),
        percentile(&mut totals, 0.95)
    );
    for (step, mut samples) in steps {
        println!(
            "  step {step:<13} median {:.2} ms (inside the function, {} samples)",
            percentile(&mut samples, 0.5),
            samples.len()
        );
    }
    println!(
        "  cold start of rotate-custom to its first handled event ({COLD_STARTS} runs): median {:.2} ms, p95 {:.2} ms (a warm invocation: median {:.2} ms)",
        percentile(&mut cold.clone(), 0.5),
        percentile(&mut cold, 0.95),
        percentile(&mut warm, 0.5)
    );
    println!("  peak RSS of rotate-custom after {ROTATIONS} rotations: {:.1} MiB", rss as f64 / 1024.0);
    println!("  Secrets Manager calls per rotation (by the function): {:.1}", api_calls as f64 / ROTATIONS as f64);
}

//! The local endpoint speaks to boto3 as it does to the Rust SDK.

use std::process::Command;

use crate::harness::{Function, Harness, repo_root};

#[tokio::test]
async fn boto3_drives_every_operation_and_a_rotation() {
    let h = Harness::start(vec![Function::new("rotate-custom")]).await;
    let venv = repo_root().join(".venv/bin/python");
    let python = if venv.exists() { venv } else { "python3".into() };
    let output = Command::new(python)
        .arg(repo_root().join("tests/python/boto3_endpoint.py"))
        .args([&h.endpoint_url, "rotate-custom"])
        .output()
        .expect("python with boto3 runs (make test installs it into .venv)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("boto3: 18 checks passed"), "{stdout}");
}

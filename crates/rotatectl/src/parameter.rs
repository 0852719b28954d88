//! `ssm:<name>`: `status` and `rotate` of a Parameter Store parameter (the book, Parameter Store). Values are never
//! printed: versions, labels, the rotation holding the lock, and (against rotor's endpoint) the schedule.

use std::process::ExitCode;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_ssm::Client;
use rotation_core::{CURRENT_LABEL, LockHolder, PENDING_SUFFIX, PREVIOUS_LABEL, ParameterStore, Timeouts, with_causes};
use serde_json::{Value, json};

use crate::client::{SecretArgs, describe_error};

/// The parameter an `ssm:` name names.
pub fn name_of(id: &str) -> Option<&str> {
    id.strip_prefix("ssm:")
}

/// The core's Parameter Store client, for reads only: rotatectl writes no parameter, so it tags none with a
/// function.
pub fn reader(config: &aws_config::SdkConfig) -> ParameterStore {
    ParameterStore::from_sdk_config(config, "")
}

/// Prints the parameter's versions and labels, a rotation in flight, and the local schedule's last run.
pub async fn status(args: &SecretArgs, name: &str) -> Result<ExitCode, String> {
    let config = args.sdk_config().await;
    let client = Client::new(&config);
    let described = client
        .describe_parameters()
        .parameter_filters(
            aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .option("Equals")
                .values(name)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|e| describe_error(&e))?;
    let Some(meta) = described.parameters().first() else {
        return Err(format!("{name}: no such parameter"));
    };
    println!("Parameter  {name}");
    println!("Type       {}", meta.r#type().map_or("-", |t| t.as_str()));
    println!("Tier       {}", meta.tier().map_or("-", |t| t.as_str()));
    println!("Key        {}", meta.key_id().unwrap_or("-"));
    let mut versions = Vec::new();
    let mut pages = client.get_parameter_history().name(name).into_paginator().send();
    while let Some(page) = pages.next().await {
        versions.extend(page.map_err(|e| describe_error(&e))?.parameters().to_vec());
    }
    println!();
    println!("{:<9}  {:<40}  MODIFIED", "VERSION", "LABELS");
    for version in versions.iter().rev().take(10) {
        println!(
            "{:<9}  {:<40}  {}",
            version.version(),
            version.labels().join(","),
            crate::status::time(version.last_modified_date())
        );
    }
    let newest = versions.last().map(|v| v.version());
    let current = versions.iter().find(|v| v.labels().iter().any(|l| l == CURRENT_LABEL)).map(|v| v.version());
    if newest.is_some() && current.is_some() && newest != current {
        println!("\n! the newest version is not labelled {CURRENT_LABEL}: it was written outside a rotation");
    }
    if versions.iter().any(|v| v.labels().iter().any(|l| l == PREVIOUS_LABEL)) {
        println!("\nThe credential before the current one is readable as {name}:{PREVIOUS_LABEL}.");
    }
    if let Some(LockHolder { rotation, base }) = reader(&config).lock_holder(name).await.map_err(|e| with_causes(&e))? {
        println!();
        println!(
            "! rotation {rotation:?} holds {name}{PENDING_SUFFIX} (from version {base}): new rotations are refused."
        );
        println!("  Resume it with `rotatectl rotate ssm:{name} --function <its function> --rotation-id {rotation}`,");
        println!("  or, once you know which credential logs in, delete {name}{PENDING_SUFFIX}.");
    }
    if let Some(schedule) = local_schedule(args, name).await {
        println!();
        println!(
            "Schedule   {} on {}",
            schedule["expression"].as_str().unwrap_or("-"),
            schedule["function"].as_str().unwrap_or("-")
        );
        println!("Next       {}", schedule["next"].as_str().unwrap_or("-"));
        let last = &schedule["last"];
        if !last.is_null() {
            let field = |name: &str| last[name].as_str().map(str::to_owned).unwrap_or_else(|| last[name].to_string());
            println!(
                "Last       {} {} ({} attempts){}",
                field("rotation_id"),
                field("state"),
                field("attempts"),
                match last["error_message"].as_str() {
                    Some(message) => format!(": {}: {message}", field("error_type")),
                    None => String::new(),
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The local endpoint's schedule of the parameter, when the endpoint is rotor's.
async fn local_schedule(args: &SecretArgs, name: &str) -> Option<Value> {
    let base = args.custom_endpoint()?;
    let response = reqwest::get(format!("{}/_rotor/schedules{name}", base.trim_end_matches('/'))).await.ok()?;
    response.status().is_success().then_some(())?;
    response.json().await.ok()
}

/// Invokes `function` with the parameter's event and reports the outcome: the function runs the four steps.
pub async fn rotate(
    args: &SecretArgs,
    name: &str,
    function: &str,
    rotation_id: Option<&str>,
) -> Result<ExitCode, String> {
    let config = args.sdk_config().await;
    let id = rotation_id
        .map(str::to_owned)
        .unwrap_or_else(|| chrono::Utc::now().format("manual-%Y%m%dT%H%M%SZ").to_string());
    let event = json!({"ParameterName": name, "RotationId": id});
    println!("rotating ssm:{name} with {function} (RotationId {id})");
    let out = aws_sdk_lambda::Client::from_conf(lambda_config(&config))
        .invoke()
        .function_name(function)
        .payload(Blob::new(event.to_string()))
        .send()
        .await
        .map_err(|e| describe_error(&e))?;
    if out.function_error().is_some() {
        let body: Value = out.payload().and_then(|p| serde_json::from_slice(p.as_ref()).ok()).unwrap_or_default();
        println!(
            "rotation failed: {}: {}",
            body["errorType"].as_str().unwrap_or("?"),
            body["errorMessage"].as_str().unwrap_or("?")
        );
        println!("the parameter is unchanged; run again with --rotation-id {id} to resume this rotation");
        return Ok(ExitCode::FAILURE);
    }
    let client = Client::new(&config);
    let version = client.get_parameter().name(name).send().await.ok().and_then(|o| o.parameter().map(|p| p.version()));
    println!(
        "rotation succeeded: ssm:{name} version {} is {CURRENT_LABEL}",
        version.map_or("?".into(), |v| v.to_string())
    );
    Ok(ExitCode::SUCCESS)
}

/// The Lambda client's configuration: the invocation runs the parameter's four steps before it answers, so it
/// may take as long as the function's own time-out (at most 15 minutes), far longer than one API call.
fn lambda_config(config: &aws_config::SdkConfig) -> aws_sdk_lambda::Config {
    let timeouts = Timeouts::default();
    let invocation = Duration::from_secs(15 * 60);
    aws_sdk_lambda::config::Builder::from(config)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeouts.connect)
                .operation_attempt_timeout(invocation)
                .operation_timeout(invocation)
                .build(),
        )
        .build()
}

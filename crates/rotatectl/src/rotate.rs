//! `rotatectl rotate`: RotateSecret, then (with --wait) follow the rotation to success or failure.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::client::{SecretArgs, describe_error};

/// Options of `rotate`.
#[derive(clap::Args)]
pub struct RotateArgs {
    #[command(flatten)]
    secret: SecretArgs,
    /// Follow the rotation until it succeeds or fails.
    #[arg(long)]
    wait: bool,
    /// Seconds to wait with --wait.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// For ssm:<name>: the rotation function to invoke (its name or ARN).
    #[arg(long)]
    function: Option<String>,
    /// For ssm:<name>: the RotationId (a failed rotation's, to resume it); default a new one.
    #[arg(long)]
    rotation_id: Option<String>,
}

/// Starts the rotation and, with `--wait`, follows it.
pub async fn run(args: &RotateArgs) -> Result<ExitCode, String> {
    if let Some(name) = crate::parameter::name_of(&args.secret.secret_id) {
        let function =
            args.function.as_deref().ok_or("a parameter's rotation needs --function (no service knows it)")?;
        return crate::parameter::rotate(&args.secret, name, function, args.rotation_id.as_deref()).await;
    }
    let client = args.secret.client().await;
    let started =
        client.rotate_secret().secret_id(&args.secret.secret_id).send().await.map_err(|e| describe_error(&e))?;
    let arn = started.arn().unwrap_or(&args.secret.secret_id).to_owned();
    let token = started.version_id().unwrap_or_default().to_owned();
    println!("rotation started: {arn} version {token}");
    if !args.wait {
        return Ok(ExitCode::SUCCESS);
    }
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    loop {
        let secret = client.describe_secret().secret_id(&arn).send().await.map_err(|e| describe_error(&e))?;
        let stages = secret.version_ids_to_stages().and_then(|m| m.get(&token)).cloned().unwrap_or_default();
        let current = stages.iter().any(|s| s == "AWSCURRENT");
        let pending = stages.iter().any(|s| s == "AWSPENDING");
        if current && !pending {
            println!("rotation succeeded: version {token} is AWSCURRENT");
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(record) = args.secret.local_rotation(&arn).await.and_then(|r| r.get("LastRotation").cloned())
            && record.get("token").and_then(|t| t.as_str()) == Some(token.as_str())
            && record.get("state").and_then(|s| s.as_str()) == Some("failed")
        {
            let field = |name: &str| record.get(name).and_then(|v| v.as_str()).unwrap_or("-").to_owned();
            println!("rotation failed at {}: {}: {}", field("step"), field("error_type"), field("error_message"));
            println!("AWSCURRENT is unchanged; AWSPENDING stays on {token} until the rotation is retried or cleared");
            return Ok(ExitCode::FAILURE);
        }
        if Instant::now() > deadline {
            println!(
                "rotation not finished after {}s: version {token} has {:?}; check the rotation function's logs",
                args.timeout, stages
            );
            return Ok(ExitCode::FAILURE);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

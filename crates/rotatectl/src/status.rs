//! `rotatectl status`: versions with labels, rotation settings, and a stuck AWSPENDING pointed out.

use std::process::ExitCode;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use crate::client::{SecretArgs, describe_error, versions_of};

/// A time as RFC 3339, or `-`.
pub fn time(value: Option<&DateTime>) -> String {
    value.and_then(|t| t.fmt(Format::DateTime).ok()).unwrap_or_else(|| "-".into())
}

/// Prints the status; fails only when the secret cannot be read.
pub async fn run(args: &SecretArgs) -> Result<ExitCode, String> {
    let client = args.client().await;
    let secret = client.describe_secret().secret_id(&args.secret_id).send().await.map_err(|e| describe_error(&e))?;
    let arn = secret.arn().unwrap_or(&args.secret_id).to_owned();
    println!("Secret     {}", secret.name().unwrap_or("-"));
    println!("ARN        {arn}");
    let rotation = match secret.rotation_enabled() {
        Some(true) => "enabled",
        Some(false) => "disabled",
        None => "not configured",
    };
    println!("Rotation   {rotation}");
    if let Some(function) = secret.rotation_lambda_arn() {
        println!("Function   {function}");
    }
    if let Some(rules) = secret.rotation_rules() {
        let schedule = match (rules.schedule_expression(), rules.automatically_after_days()) {
            (Some(expression), _) => expression.to_owned(),
            (None, Some(days)) => format!("every {days} days"),
            (None, None) => "-".into(),
        };
        println!("Schedule   {schedule}{}", rules.duration().map(|d| format!(" (window {d})")).unwrap_or_default());
    }
    println!("Last       {}", time(secret.last_rotated_date()));
    println!("Next       {}", time(secret.next_rotation_date()));
    if let Some(deleted) = secret.deleted_date() {
        println!("Deletion   scheduled for {}", time(Some(deleted)));
    }

    let versions = client.list_secret_version_ids().secret_id(&arn).send().await.map_err(|e| describe_error(&e))?;
    println!();
    println!("{:<38}  {:<26}  CREATED", "VERSION", "STAGES");
    for version in versions.versions() {
        println!(
            "{:<38}  {:<26}  {}",
            version.version_id().unwrap_or("-"),
            version.version_stages().join(","),
            time(version.created_date())
        );
    }

    let versions = versions_of(&secret);
    if let Some(pending) = versions.stuck_pending() {
        println!();
        println!("! AWSPENDING is stuck on version {pending}: it is not AWSCURRENT, so new rotations are refused.");
        if let Some(record) = args.local_rotation(&arn).await.and_then(|r| r.get("LastRotation").cloned()) {
            let field = |name: &str| record.get(name).and_then(|v| v.as_str()).unwrap_or("-").to_owned();
            println!(
                "  last rotation: {} at {} ({}: {})",
                field("state"),
                field("step"),
                field("error_type"),
                field("error_message")
            );
        }
        println!("  Fix the cause and let the service retry it, or stop it: CancelRotateSecret, then");
        println!("  UpdateSecretVersionStage --version-stage AWSPENDING --remove-from-version-id {pending}.");
    }
    Ok(ExitCode::SUCCESS)
}

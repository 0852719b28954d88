//! `rotatectl unstick`: clears a stuck AWSPENDING (CancelRotateSecret, then the label removed), never touching
//! AWSCURRENT.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use crate::client::{SecretArgs, describe_error, versions_of};

/// Options of `unstick`.
#[derive(clap::Args)]
pub struct UnstickArgs {
    #[command(flatten)]
    secret: SecretArgs,
    /// Do not ask for confirmation.
    #[arg(long)]
    yes: bool,
}

/// Shows the stuck version and, once confirmed, cancels the rotation and removes its AWSPENDING label.
pub async fn run(args: &UnstickArgs) -> Result<ExitCode, String> {
    let client = args.secret.client().await;
    let secret =
        client.describe_secret().secret_id(&args.secret.secret_id).send().await.map_err(|e| describe_error(&e))?;
    let arn = secret.arn().unwrap_or(&args.secret.secret_id).to_owned();
    let versions = versions_of(&secret);
    let current = versions.current();
    let Some(pending) = versions.stuck_pending() else {
        println!("{arn}: no stuck rotation (AWSPENDING is not on a version other than AWSCURRENT); nothing to do");
        return Ok(ExitCode::SUCCESS);
    };
    println!("{arn}: AWSPENDING is stuck on version {pending}; AWSCURRENT is {}", current.unwrap_or("-"));
    if let Some(record) = args.secret.local_rotation(&arn).await.and_then(|r| r.get("LastRotation").cloned()) {
        let field = |name: &str| record.get(name).and_then(|v| v.as_str()).unwrap_or("-").to_owned();
        println!(
            "last rotation: {} at {} ({}: {})",
            field("state"),
            field("step"),
            field("error_type"),
            field("error_message")
        );
    }
    println!("This turns automatic rotation off (CancelRotateSecret) and removes AWSPENDING from {pending}.");
    if !args.yes {
        print!("Type yes to go on: ");
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).map_err(|e| e.to_string())?;
        if answer.trim() != "yes" {
            println!("left as it was");
            return Ok(ExitCode::FAILURE);
        }
    }
    client.cancel_rotate_secret().secret_id(&arn).send().await.map_err(|e| describe_error(&e))?;
    client
        .update_secret_version_stage()
        .secret_id(&arn)
        .version_stage("AWSPENDING")
        .remove_from_version_id(pending)
        .send()
        .await
        .map_err(|e| describe_error(&e))?;
    let after = client.describe_secret().secret_id(&arn).send().await.map_err(|e| describe_error(&e))?;
    let still_current = after
        .version_ids_to_stages()
        .and_then(|m| current.and_then(|c| m.get(c)))
        .is_some_and(|s| s.iter().any(|x| x == "AWSCURRENT"));
    println!(
        "cleared: rotation is off and AWSPENDING removed; AWSCURRENT {} on {}. Rotate again with `rotatectl rotate` (RotateSecret turns rotation back on).",
        if still_current { "is still" } else { "is NOT" },
        current.unwrap_or("-")
    );
    Ok(ExitCode::SUCCESS)
}

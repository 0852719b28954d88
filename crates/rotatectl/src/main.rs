//! `rotatectl`: the operator CLI. `serve` runs the local Secrets Manager endpoint; `status`, `rotate`,
//! `doctor` and `unstick` work against it or against real AWS through the standard AWS configuration.

mod checklist;
mod client;
mod credential;
mod doctor;
mod parameter;
mod report;
mod rotate;
mod serve;
mod status;
mod unstick;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "rotatectl", version, about = "Operate rotor: the local endpoint, rotations, their status")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the local Secrets Manager endpoint (rotation, schedules, persistence).
    Serve(serve::ServeArgs),
    /// Show a secret's (or, as ssm:<name>, a parameter's) versions and labels, its rotation settings, and a
    /// rotation stuck in flight.
    Status(client::SecretArgs),
    /// Start a rotation (RotateSecret) and, with --wait, follow it to success or failure; for ssm:<name>, invoke
    /// --function with the parameter's event.
    Rotate(rotate::RotateArgs),
    /// Check a secret and a function's settings before turning rotation on: each check, pass or fail, and the fix.
    Doctor(doctor::DoctorArgs),
    /// Every secret (and rotated parameter) against the rotation policy: a table or --json; fails on a violation.
    Report(report::ReportArgs),
    /// Clear a stuck AWSPENDING after confirmation: cancel the rotation, remove the label, keep AWSCURRENT.
    Unstick(unstick::UnstickArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .init();
    let cli = Cli::parse();
    // As the functions at cold start: an AWS_USE_FIPS_ENDPOINT the SDK would ignore is refused, the FIPS build
    // checks its module, and ROTOR_REQUIRE_FIPS=true refuses a build without it.
    if let Err(error) = rotation_core::enter_fips_mode(&rotation_core::Env::from_process()) {
        eprintln!("rotatectl: {error}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Status(args) => match parameter::name_of(&args.secret_id) {
            Some(name) => parameter::status(&args, name).await,
            None => status::run(&args).await,
        },
        Command::Rotate(args) => rotate::run(&args).await,
        Command::Unstick(args) => unstick::run(&args).await,
        Command::Report(args) => report::run(&args).await,
        Command::Doctor(args) => doctor::run(&args).await,
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("rotatectl: {message}");
            ExitCode::FAILURE
        }
    }
}

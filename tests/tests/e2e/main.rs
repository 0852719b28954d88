//! End-to-end tests: real processes, real HTTP, the AWS SDK against rotor's local endpoint, rotation functions
//! through cargo-lambda's Runtime API emulator.

mod api;
mod boto3;
mod crosscheck;
mod generated;
mod harness;
mod rotatectl;
mod schedule;

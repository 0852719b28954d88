//! End-to-end tests: real processes, real HTTP, the AWS SDK against rotor's local endpoint, rotation functions
//! through cargo-lambda's Runtime API emulator.

mod api;
mod boto3;
mod bounds;
mod certificates;
mod crosscheck;
mod elasticache;
mod generated;
mod harness;
mod iam;
mod iam_trust;
mod identity;
mod mariadb_server;
mod moto;
mod mysql;
mod mysql_security;
mod mysql_trust;
mod notifications;
mod parameters;
mod postgres;
mod postgres_security;
mod postgres_server;
mod postgres_trust;
mod quotas;
mod races;
mod redis_acl;
mod redis_server;
mod redis_trust;
mod replicas;
mod rotatectl;
mod runtime;
mod schedule;
mod sdk_tls;
mod settings;
mod templates;
mod webhook;

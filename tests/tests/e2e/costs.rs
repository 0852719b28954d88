//! What a rotation costs its stores and its servers, by engine and strategy: Secrets Manager calls (each one
//! latency and a share of the account's quota) and logins (each a TCP connection, a TLS handshake, an
//! authentication and a server backend), counted from the function's own step records (`secrets_manager_calls`,
//! `logins`) of a warm function's second rotation. The README states these counts; the benchmark measures what
//! they cost in time.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::harness::{Harness, unique};

/// Each step's (Secrets Manager calls, logins) in `function`'s log for the rotation `token`.
fn costs(h: &Harness, function: &str, token: &str) -> BTreeMap<String, (u64, u64)> {
    let log = std::fs::read_to_string(h.dir.path().join(format!("{function}.log"))).unwrap();
    let mut steps = BTreeMap::new();
    for record in log.lines().filter_map(|line| serde_json::from_str::<Value>(line).ok()) {
        if record["message"] == "step succeeded" && record["version"] == token {
            let counts = (record["secrets_manager_calls"].as_u64().unwrap(), record["logins"].as_u64().unwrap());
            assert!(steps.insert(record["step"].as_str().unwrap().to_owned(), counts).is_none(), "{record}");
        }
    }
    steps
}

/// Asserts a succeeded rotation's costs: `expected` is (step, Secrets Manager calls, logins) for the four steps.
fn assert_costs(h: &Harness, function: &str, record: &Value, expected: [(&str, u64, u64); 4]) {
    assert_eq!(record["state"], "succeeded", "{record}");
    let token = record["token"].as_str().unwrap();
    let expected: BTreeMap<String, (u64, u64)> =
        expected.iter().map(|(step, calls, logins)| ((*step).to_owned(), (*calls, *logins))).collect();
    assert_eq!(costs(h, function, token), expected, "(Secrets Manager calls, logins) by step");
}

#[tokio::test]
async fn postgresql_rotations_make_eleven_or_twelve_secrets_manager_calls_and_one_login_per_step() {
    for strategy in ["single-user", "admin", "alternating-users"] {
        let case = crate::postgres::setup(strategy, &unique("app"), vec![]).await;
        crate::postgres::configure(&case).await;
        // A warm function, which already knows which settings this server takes.
        assert_eq!(case.rotate().await["state"], "succeeded", "{strategy}");
        for _ in 0..2 {
            let record = case.rotate().await;
            // setSecret: the pending value, AWSCURRENT's and the guard's read, the admin secret (admin strategies),
            // and the guard after; one login as the user, or the admin's and a proof of AWSCURRENT side by side
            // (SCRAM with channel binding: one login). When the clone is active, the base user is proven with
            // AWSPREVIOUS, read for it.
            let set = match (strategy, record_names_clone(&case).await) {
                ("single-user", _) => (4, 1),
                ("alternating-users", true) => (6, 2),
                _ => (5, 2),
            };
            let expected =
                [("createSecret", 3, 0), ("setSecret", set.0, set.1), ("testSecret", 1, 1), ("finishSecret", 3, 1)];
            assert_costs(&case.h, "rotate-postgres", &record, expected);
        }
    }
}

/// Whether the rotation just finished started from the clone (AWSPREVIOUS names `<user>_clone`).
async fn record_names_clone(case: &crate::postgres::Case) -> bool {
    case.secret("AWSPREVIOUS").await["username"].as_str().unwrap().ends_with("_clone")
}

#[tokio::test]
async fn mariadb_alternating_users_read_the_admin_secret_once_per_rotation() {
    let case = crate::mysql::setup("alternating-users", &unique("app"), "%", vec![]).await;
    case.configure().await;
    assert_eq!(case.rotate().await["state"], "succeeded");
    for _ in 0..2 {
        let record = case.rotate().await;
        let from_clone = case.secret("AWSPREVIOUS").await["username"].as_str().unwrap().ends_with("_clone");
        // createSecret needs no admin for a name every supported server takes (32 characters or fewer).
        // setSecret: the admin's login and the proof side by side (MySQL checks CURRENT_USER(), which also names
        // the user's account); when the clone is active, AWSPREVIOUS proves the base user and the clone's account
        // is asked for with one more login.
        let set = if from_clone { (6, 3) } else { (5, 2) };
        let expected =
            [("createSecret", 3, 0), ("setSecret", set.0, set.1), ("testSecret", 1, 1), ("finishSecret", 3, 1)];
        assert_costs(&case.h, "rotate-mysql", &record, expected);
    }
}

//! Racing tokens, tried as an operator would: while a rotation runs, they cancel it, take `AWSPENDING` off its
//! version and start a new rotation, 0 to 500 ms after the first began. Two instances of the function poll the
//! runtime API, so the abandoned rotation's in-flight step really overlaps the new rotation's steps. However the
//! two interleave, AWSCURRENT must log in afterwards.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use crate::harness::{Function, Harness, lambda_arn, unique};

/// Starts rotation A, and after `delay` abandons it for a new rotation B; waits for B and for A's last step.
async fn race(h: &Harness, arn: &str, function: &str, delay: Duration) -> Value {
    // Versions get their CreatedDate from the endpoint's manual clock: a minute passes between rounds.
    h.advance_clock(60).await;
    h.client.rotate_secret().secret_id(arn).send().await.unwrap();
    tokio::time::sleep(delay).await;
    h.client.cancel_rotate_secret().secret_id(arn).send().await.unwrap();
    // A createSecret of A still in flight may put AWSPENDING back on A's version: then the operator removes it
    // again, as a person would when RotateSecret says a previous rotation isn't complete.
    let mut tries = 0;
    loop {
        h.unstick(arn).await;
        match h.client.rotate_secret().secret_id(arn).rotation_lambda_arn(lambda_arn(function)).send().await {
            Ok(_) => break,
            Err(error) if tries < 5 => {
                tries += 1;
                eprintln!("RotateSecret refused ({error:?}); removing AWSPENDING again");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("{error:?}"),
        }
    }
    let record = h.wait_rotation(arn).await;
    // A's step still in flight ends (and repairs what it changed) within its bounds.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    h.unstick(arn).await;
    record
}

const ROUNDS: u64 = 8;

fn delay(round: u64) -> Duration {
    Duration::from_millis(round * 500 / (ROUNDS - 1))
}

#[tokio::test]
async fn postgres_rotations_racing_on_one_secret_always_leave_a_current_that_logs_in() {
    for strategy in ["single-user", "alternating-users"] {
        let mut case = crate::postgres::setup(strategy, &unique("app"), vec![]).await;
        case.h.start_function(Function { name: "rotate-postgres", env: case.env.clone() });
        crate::postgres::configure(&case).await;
        for round in 0..ROUNDS {
            let record = race(&case.h, &case.arn, "rotate-postgres", delay(round)).await;
            let current = case.secret("AWSCURRENT").await;
            assert!(
                case.logs_in(&current).await,
                "{strategy} round {round} ({:?}): AWSCURRENT logs in; B: {record}\n{}",
                delay(round),
                case.h.all_logs()
            );
        }
        case.assert_no_password_leaks().await;
    }
}

#[tokio::test]
async fn mysql_rotations_racing_on_one_secret_always_leave_a_current_that_logs_in() {
    let mut case = crate::mysql::setup("single-user", &unique("app"), "%", vec![]).await;
    case.h.start_function(Function { name: "rotate-mysql", env: case.env.clone() });
    case.configure().await;
    for round in 0..ROUNDS {
        let record = race(&case.h, &case.arn, "rotate-mysql", delay(round)).await;
        let current = case.secret("AWSCURRENT").await;
        assert!(case.logs_in(&current).await, "round {round}: AWSCURRENT logs in; B: {record}");
    }
    case.assert_no_password_leaks().await;
}

/// A plaintext PostgreSQL proxy that holds the first password change any client sends through it (a simple query
/// naming `PASSWORD`) until `release` is notified, and notifies `held` when it holds it; everything else, and every
/// later password change, passes at once. A rotation's change that reaches the server late, deterministically.
struct HoldingProxy {
    port: u16,
    held: Arc<Notify>,
    release: Arc<Notify>,
}

impl HoldingProxy {
    async fn start(server_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (held, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let first = Arc::new(AtomicBool::new(true));
        let (on_hold, on_release) = (held.clone(), release.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (held, release, first) = (on_hold.clone(), on_release.clone(), first.clone());
                tokio::spawn(async move {
                    let server = TcpStream::connect(("127.0.0.1", server_port)).await.unwrap();
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    tokio::spawn(async move { tokio::io::copy(&mut server_read, &mut client_write).await.ok() });
                    // Whole messages: the startup message (length first), then type, length, body.
                    let (mut buffer, mut chunk, mut startup) = (Vec::new(), [0u8; 8192], true);
                    while let Ok(n @ 1..) = client_read.read(&mut chunk).await {
                        buffer.extend_from_slice(&chunk[..n]);
                        loop {
                            let start = usize::from(!startup);
                            if buffer.len() < start + 4 {
                                break;
                            }
                            let length = u32::from_be_bytes(buffer[start..start + 4].try_into().unwrap()) as usize;
                            if buffer.len() < start + length {
                                break;
                            }
                            let message: Vec<u8> = buffer.drain(..start + length).collect();
                            let changes_password =
                                !startup && message[0] == b'Q' && message.windows(8).any(|w| w == b"PASSWORD");
                            startup = false;
                            if changes_password && first.swap(false, Ordering::SeqCst) {
                                held.notify_one();
                                release.notified().await;
                            }
                            if server_write.write_all(&message).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        Self { port, held, release }
    }
}

fn step(step: &str, arn: &str, token: &str) -> Value {
    json!({"Step": step, "SecretId": arn, "ClientRequestToken": token})
}

/// The race finishSecret's login before the promotion is for (README, "Why finishSecret logs in again"): rotation
/// A passes its guard and sends its password change, which reaches the server only after a newer rotation B took
/// `AWSPENDING`, set its own password and passed testSecret. A finds it lost `AWSPENDING`, waits for B, then sets
/// the target back to AWSCURRENT's credential; B's finishSecret then finds B's credential refused and promotes
/// nothing, so AWSCURRENT still logs in. Without that login B would promote a password the server no longer takes.
#[tokio::test]
async fn a_postgres_change_landing_after_a_newer_rotation_tested_never_leaves_a_current_that_is_refused() {
    let plaintext = vec![("TLS_MIN_MODE".to_string(), "disable".to_string())];
    let mut case = crate::postgres::setup("single-user", &unique("app"), plaintext).await;
    case.h.start_function(Function { name: "rotate-postgres", env: case.env.clone() });
    let proxy = HoldingProxy::start(case.pg.port).await;
    let mut original = case.secret("AWSCURRENT").await;
    original["port"] = json!(proxy.port.to_string());
    original["ssl"] = json!(false);
    case.put(&original).await;
    crate::postgres::configure(&case).await;
    let current_version = case.h.holding(&case.arn, "AWSCURRENT").await;
    let with_password = |password: &str| {
        let mut secret = original.clone();
        secret["password"] = json!(password);
        secret.to_string()
    };
    let store_pending = |token: String, value: String| {
        let put = case.h.client.put_secret_value().secret_id(&case.arn).client_request_token(token);
        async move { put.secret_string(value).version_stages("AWSPENDING").send().await.unwrap() }
    };
    // Versions get their CreatedDate from the endpoint's manual clock: A's is after AWSCURRENT's.
    case.h.advance_clock(60).await;
    let (a, b) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
    store_pending(a.clone(), with_password(&uuid::Uuid::new_v4().to_string())).await;

    let set_a_event = step("setSecret", &case.arn, &a);
    let set_a = case.h.invoke("rotate-postgres", &set_a_event);
    let rotation_b = async {
        tokio::time::timeout(Duration::from_secs(30), proxy.held.notified())
            .await
            .expect("A's change reached the proxy");
        // B takes over (what its createSecret stores), sets its password and tests it while A's change waits.
        store_pending(b.clone(), with_password(&uuid::Uuid::new_v4().to_string())).await;
        for name in ["setSecret", "testSecret"] {
            let result = case.h.invoke("rotate-postgres", &step(name, &case.arn, &b)).await;
            result.unwrap_or_else(|e| panic!("B's {name}: {e:?}"));
        }
        proxy.release.notify_one();
    };
    let (set_a, ()) = tokio::join!(set_a, rotation_b);
    let (error_type, message) = set_a.expect_err("A lost AWSPENDING: its setSecret fails");
    assert_eq!(error_type, "VersionState", "{message}");
    let logs = case.h.all_logs();
    assert!(logs.contains("the target was set back to AWSCURRENT's credential"), "A repaired the target: {logs}");

    let (error_type, message) = case
        .h
        .invoke("rotate-postgres", &step("finishSecret", &case.arn, &b))
        .await
        .expect_err("B's credential no longer logs in: nothing is promoted");
    assert_eq!(error_type, "TargetAuthenticationFailed", "{message}");
    assert_eq!(case.h.holding(&case.arn, "AWSCURRENT").await, current_version, "AWSCURRENT did not move");
    assert!(case.logs_in(&case.secret("AWSCURRENT").await).await, "AWSCURRENT still logs in");
    case.assert_no_password_leaks().await;
}

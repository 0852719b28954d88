//! Every database call is bounded: a server that accepts and never answers, and one that stops answering right
//! after the login, fail the step with a message naming the host and what timed out, long before the
//! function's deadline.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::unique;

/// A listener that accepts connections and never sends a byte; connections stay open until the test ends.
pub async fn silent_listener() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

/// A plaintext PostgreSQL proxy that forwards the login, then swallows everything the server sends after its
/// first ReadyForQuery: the server "stalls" right after the login.
async fn stalling_postgres_proxy(server_port: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let server = TcpStream::connect(("127.0.0.1", server_port)).await.unwrap();
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                tokio::spawn(async move { tokio::io::copy(&mut client_read, &mut server_write).await.ok() });
                // Forward whole messages (type, length, body) until ReadyForQuery ('Z'), then forward nothing.
                let mut ready = false;
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 8192];
                while let Ok(n) = server_read.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                    if ready {
                        continue;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    let mut forward = 0;
                    while buffer.len() >= forward + 5 {
                        let length = u32::from_be_bytes(buffer[forward + 1..forward + 5].try_into().unwrap()) as usize;
                        if buffer.len() < forward + 1 + length {
                            break;
                        }
                        let kind = buffer[forward];
                        forward += 1 + length;
                        if kind == b'Z' {
                            ready = true;
                            break;
                        }
                    }
                    client_write.write_all(&buffer[..forward]).await.ok();
                    buffer.drain(..forward);
                }
                // Keep the client's side open: a stalled server does not close the connection.
                std::future::pending::<()>().await;
            });
        }
    });
    port
}

#[tokio::test]
async fn postgres_never_answering_or_stalling_after_login_fails_the_step_naming_host_and_cause() {
    let fast =
        vec![("STATEMENT_TIMEOUT_SECONDS".to_string(), "1".to_string()), ("TLS_MIN_MODE".into(), "disable".into())];
    let case = crate::postgres::setup("single-user", &unique("app"), fast).await;
    let good = case.secret("AWSCURRENT").await;

    let silent = silent_listener().await;
    let mut secret = good.clone();
    secret["port"] = json!(silent);
    case.put(&secret).await;
    let started = Instant::now();
    let record = case.h.configure_rotation(&case.arn, "rotate-postgres").await;
    assert_eq!(record["error_type"], "TargetUnreachable", "{record}");
    let message = record["error_message"].as_str().unwrap();
    assert!(message.contains(&format!("127.0.0.1:{silent}")) && message.contains("the login as"), "{message}");
    assert!(message.contains("got no answer within 2s"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(20), "two bounded tries, not the function's time-out");

    let proxy = stalling_postgres_proxy(case.pg.port).await;
    let mut secret = good.clone();
    secret["port"] = json!(proxy);
    secret["ssl"] = json!(false);
    case.put(&secret).await;
    let record = case.h.configure_rotation(&case.arn, "rotate-postgres").await;
    assert_eq!(record["error_type"], "TargetUnreachable", "{record}");
    let message = record["error_message"].as_str().unwrap();
    assert!(message.contains(&format!("127.0.0.1:{proxy}")), "{message}");
    assert!(message.contains("the test query as") && message.contains("got no answer within 2s"), "{message}");

    case.put(&good).await;
    assert!(case.logs_in(&good).await);
}

#[tokio::test]
async fn mysql_never_answering_fails_the_step_naming_host_and_cause() {
    let case = crate::mysql::setup("single-user", &unique("app"), "%", vec![]).await;
    let good = case.secret("AWSCURRENT").await;
    let silent = silent_listener().await;
    let mut secret = good.clone();
    secret["port"] = json!(silent);
    case.put(&secret).await;
    let record = case.h.configure_rotation(&case.arn, "rotate-mysql").await;
    assert_eq!(record["error_type"], "TargetUnreachable", "{record}");
    let message = record["error_message"].as_str().unwrap();
    assert!(message.contains(&format!("127.0.0.1:{silent}")) && message.contains("the login as"), "{message}");
    assert!(message.contains("got no answer within 2s"), "{message}");
    case.put(&good).await;
    assert!(case.logs_in(&good).await);
}

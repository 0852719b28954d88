//! The local endpoint's perimeter, attacked as a web page in the developer's browser would: through DNS
//! rebinding (a foreign `Host`), and with the requests a page sends to any address without a CORS preflight (a
//! form POST, a `text/plain` body), or with its `Origin`. Every route the endpoint serves is tried; each attempt
//! is refused with 403 and changes nothing: no cache user on the real Redis, no secret, no schedule, no
//! invocation, no clock moved.

use serde_json::{Value, json};

use crate::harness::{Function, Harness, unique};
use crate::redis_server::RedisServer;

/// A SigV4 `Authorization` header as the SDKs send it (the endpoint checks its form, not its signature).
const SIGV4: &str = "AWS4-HMAC-SHA256 Credential=AKIDROTORTEST/20260101/us-east-1/elasticache/aws4_request, \
                     SignedHeaders=content-type;host;x-amz-date, Signature=0000";

/// The ElastiCache `CreateUser` a page would send as a form: a `+@all` user with a password of its choosing.
fn create_user_form(user: &str) -> String {
    format!(
        "Action=CreateUser&Version=2015-02-02&UserId={user}&UserName={user}&Engine=redis\
         &AccessString=on+~*+%26*+%2B%40all&Passwords.member.1=chosen-by-the-page-0123"
    )
}

/// One request: the route's path, its body, and the headers that make it legitimate (its content type, and
/// for the JSON protocol its target).
struct Route {
    path: String,
    body: String,
    headers: Vec<(&'static str, &'static str)>,
}

impl Route {
    fn new(path: impl Into<String>, body: impl Into<String>, headers: &[(&'static str, &'static str)]) -> Self {
        Self { path: path.into(), body: body.into(), headers: headers.to_vec() }
    }
}

/// Sends `route`'s body to its path with `headers` (and nothing else a browser would not send).
async fn post(h: &Harness, route: &Route, headers: &[(&str, &str)]) -> (u16, String) {
    let mut request = reqwest::Client::new().post(format!("{}{}", h.endpoint_url, route.path)).body(route.body.clone());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn get(h: &Harness, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{}{path}", h.endpoint_url)).await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

fn audit_lines(h: &Harness) -> Vec<Value> {
    let audit = std::fs::read_to_string(h.dir.path().join("state/audit.jsonl")).unwrap_or_default();
    audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test]
async fn a_web_page_cannot_change_anything_through_any_route() {
    let redis = RedisServer::get().await;
    let (args, _password) = crate::elasticache::endpoint_args(&redis, 200);
    let h = Harness::start_with(vec![Function::new("rotate-custom")], args).await;
    let (secret, parameter, evil_user) =
        (unique("perimeter"), format!("/rotor/{}", unique("perimeter")), unique("page-user"));
    let json_11 = [("content-type", "application/x-amz-json-1.1"), ("x-amz-target", "secretsmanager.CreateSecret")];
    let schedule =
        json!({"ParameterName": parameter, "FunctionName": "rotate-custom", "ScheduleExpression": "rate(1 day)"});
    // Every route of the endpoint's router, each with what a legitimate client sends it.
    let routes = [
        Route::new("/", create_user_form(&evil_user), &[("content-type", "application/x-www-form-urlencoded")]),
        Route::new("/", json!({"Name": secret, "SecretString": "planted"}).to_string(), &json_11),
        Route::new("/_rotor/health", "", &[]),
        Route::new(
            "/_rotor/clock",
            json!({"seconds": 86_400, "wait": true}).to_string(),
            &[("content-type", "application/json")],
        ),
        Route::new(format!("/_rotor/rotations/{secret}"), "", &[]),
        Route::new("/_rotor/schedules", schedule.to_string(), &[("content-type", "application/json")]),
        Route::new("/_rotor/events", "", &[]),
        Route::new(
            "/2015-03-31/functions/rotate-custom/invocations",
            json!({"ParameterName": parameter, "RotationId": "from-a-page"}).to_string(),
            &[("content-type", "application/octet-stream")],
        ),
        Route::new(format!("/_rotor/schedules{parameter}"), "", &[]),
    ];
    let (_, clock) = get(&h, "/_rotor/clock").await;
    let audited = audit_lines(&h).len();

    for route in &routes {
        let mut cross_origin = route.headers.clone();
        cross_origin.push(("origin", "https://evil.example"));
        for (attack, headers) in [
            ("a form POST", vec![("content-type", "application/x-www-form-urlencoded")]),
            ("a text/plain POST", vec![("content-type", "text/plain;charset=UTF-8")]),
            ("a cross-origin POST", cross_origin),
            ("a same-site fetch", [route.headers.as_slice(), &[("sec-fetch-site", "same-site")]].concat()),
        ] {
            let (status, body) = post(&h, route, &headers).await;
            assert_eq!(status, 403, "{attack} to {}: {body}", route.path);
            assert!(body.contains("AccessDeniedException"), "{attack} to {}: {body}", route.path);
        }
    }

    // Nothing changed: nothing was served (the endpoint audits every operation and invocation), no user on the
    // cache (the Redis server nor the endpoint's state), no secret, no schedule, the clock where it was.
    let audit = audit_lines(&h);
    assert_eq!(audit.len(), audited, "no operation was served: {audit:?}");
    assert_eq!(redis.run(&["ACL", "GETUSER", &evil_user]).await, redis::Value::Nil, "no user on the real Redis");
    let describe = format!("Action=DescribeUsers&Version=2015-02-02&UserId={evil_user}");
    let signed = Route::new("/", describe, &[]);
    let (status, body) =
        post(&h, &signed, &[("content-type", "application/x-www-form-urlencoded"), ("authorization", SIGV4)]).await;
    assert!(status == 404 && body.contains("UserNotFound"), "{status}: {body}");
    let missing = h.client.describe_secret().secret_id(&secret).send().await.unwrap_err();
    assert!(missing.into_service_error().is_resource_not_found_exception(), "no secret was created");
    let (_, answer) = get(&h, &format!("/_rotor/schedules{parameter}")).await;
    assert_eq!(answer["__type"], "ResourceNotFoundException", "no schedule was put: {answer}");
    assert_eq!(get(&h, "/_rotor/clock").await.1, clock, "the clock did not move");

    // The same form, signed as an SDK signs it, is served: the header a page cannot send is the whole difference.
    let sdk_user = unique("sdk-user");
    let form = Route::new("/", create_user_form(&sdk_user).replace("%2B%40all", "%2Bping"), &[]);
    let (status, body) = post(
        &h,
        &form,
        &[("content-type", "application/x-www-form-urlencoded; charset=utf-8"), ("authorization", SIGV4)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(redis.run(&["ACL", "GETUSER", &sdk_user]).await, redis::Value::Nil, "the signed form created the user");
    redis.run(&["ACL", "DELUSER", &sdk_user]).await;
}

/// Sends a raw HTTP request with the given `Host` and returns the status line and the body.
async fn raw_request(endpoint_url: &str, host: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = endpoint_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let body = r#"{"Filters":[]}"#;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nX-Amz-Target: secretsmanager.ListSecrets\r\n\
         Content-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn the_endpoint_answers_loopback_hosts_only_and_keeps_its_state_private() {
    use std::os::unix::fs::PermissionsExt;
    let h = Harness::start(vec![]).await;
    h.create_secret(&unique("private"), r#"{"password":"a-value-nobody-else-reads"}"#).await;
    let port = h.endpoint_url.rsplit(':').next().unwrap().to_owned();
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}")] {
        let response = raw_request(&h.endpoint_url, &host).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{host}: {response}");
    }
    // What a web page reaches through DNS rebinding: its own name, or the right address on another port.
    for host in [format!("evil.example:{port}"), "127.0.0.1:1".to_owned(), "127.0.0.1".to_owned()] {
        let response = raw_request(&h.endpoint_url, &host).await;
        assert!(response.starts_with("HTTP/1.1 403"), "{host:?}: {response}");
        assert!(response.contains("AccessDeniedException") && !response.contains("SecretList"), "{response}");
    }
    let state = h.dir.path().join("state");
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700, "the state directory is its owner's alone");
    for file in ["state.json", "audit.jsonl"] {
        assert_eq!(mode(&state.join(file)), 0o600, "{file} is its owner's alone");
    }
}

#[test]
fn the_cache_password_is_refused_on_the_command_line_and_in_a_file_others_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let serve = |args: &[&str]| {
        let out = std::process::Command::new(crate::harness::binary("rotatectl"))
            .args(["serve", "--port", "0", "--elasticache-endpoint", "127.0.0.1:6380", "--state-dir"])
            .arg(dir.path().join("state"))
            .args(args)
            .env_remove("ROTOR_ELASTICACHE_REDIS")
            .env_remove("ROTOR_ELASTICACHE_REDIS_PASSWORD")
            .output()
            .unwrap();
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    let (ok, out) = serve(&["--elasticache-redis", "redis://admin:on-the-command-line-42@127.0.0.1:6379"]);
    assert!(!ok && out.contains("--elasticache-redis carries a password, which every local user can read"), "{out}");
    assert!(!out.contains("on-the-command-line-42"), "the error does not repeat it: {out}");

    let file = dir.path().join("password");
    std::fs::write(&file, "in-a-shared-file-42\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let path = file.display().to_string();
    let (ok, out) =
        serve(&["--elasticache-redis", "redis://admin@127.0.0.1:6379", "--elasticache-redis-password-file", &path]);
    assert!(!ok && out.contains("is mode 644, readable by others: `chmod 600"), "{out}");
    assert!(!out.contains("in-a-shared-file-42"), "{out}");
    assert!(!dir.path().join("state").exists(), "refused before the state was opened");
}

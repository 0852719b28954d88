//! `rotatectl report --html FILE`, opened in a real browser: Debian's Chromium, driven headless through its
//! WebDriver (chromedriver) over plain HTTP, reads the table as rendered.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Function, Harness, free_port, unique};
use crate::rotatectl::rotatectl;

/// A headless Chromium session through chromedriver, ended (and chromedriver stopped) on drop.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Self {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (Debian's chromium-driver; infra/local/packages.sh installs it)");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not answer on {port}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        // As this machine's Chromium runs headless: no sandbox (root), and none of the background requests its closed
        // network refuses.
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
        }}});
        let answer: Value =
            http.post(format!("{base}/session")).json(&capabilities).send().await.unwrap().json().await.unwrap();
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver started no session: {answer}"))
            .to_owned();
        Self { driver, base, session, http, _profile: profile }
    }

    async fn command(&self, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}/{path}", self.base, self.session);
        let answer: Value = self.http.post(url).json(&body).send().await.unwrap().json().await.unwrap();
        assert!(answer["value"].get("error").is_none(), "{path}: {answer}");
        answer["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.command("url", json!({"url": url})).await;
    }

    async fn run(&self, script: &str) -> Value {
        self.command("execute/sync", json!({"script": script, "args": []})).await
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// What the page shows, read in the browser: the table's rows as rendered text, their classes, the chart's bars,
/// and what the page loaded or ran.
const READ_PAGE: &str = r#"
const table = document.getElementById('fleet');
const rows = [...table.tBodies[0].rows];
return {
  title: document.title,
  summary: document.getElementById('summary').innerText,
  headers: [...table.tHead.rows[0].cells].map(c => c.innerText),
  rows: rows.map(r => [...r.cells].map(c => c.innerText)),
  classes: rows.map(r => r.className),
  tableShown: getComputedStyle(table).display === 'table' && table.getBoundingClientRect().height > 0,
  bars: [...document.querySelectorAll('#ages rect')].map(r => [r.getAttribute('fill'), r.getBBox().width]),
  images: document.images.length,
  scripts: document.scripts.length,
  fetched: performance.getEntriesByType('resource').length,
};
"#;

#[tokio::test]
async fn the_html_report_shows_overdue_secrets_first_in_a_real_browser_with_nothing_fetched_and_names_as_text() {
    let h = Harness::start(vec![Function::new("rotate-custom")]).await;
    let fresh = unique("html-fresh");
    h.create_scheduled_secret(&fresh, "rotate-custom", 30).await;
    let overdue = unique("html-overdue");
    h.create_scheduled_secret(&overdue, "rotate-custom", 365).await;
    // Whoever creates a secret chooses its name: markup in it must stay text (the endpoint takes any name).
    let hostile = format!("{}<img src=x onerror=\"document.title='owned'\">", unique("html-off"));
    h.create_secret(&hostile, r#"{"password":"x"}"#).await;
    h.advance_clock(100 * 86_400).await;

    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("fleet.html");
    let (ok, out) = rotatectl(&h, &["report", "--html", page.to_str().unwrap()]);
    assert!(!ok, "violations still fail the report: {out}");
    assert!(out.contains(&format!("wrote the HTML report to {}", page.display())), "{out}");

    let browser = Browser::start().await;
    browser.open(&format!("file://{}", page.display())).await;
    let shown = browser.run(READ_PAGE).await;
    assert_eq!(shown["title"], "rotor fleet report", "no script of a name ran");
    assert_eq!((&shown["images"], &shown["scripts"], &shown["fetched"]), (&json!(0), &json!(0), &json!(0)));
    assert!(shown["tableShown"].as_bool().unwrap(), "the table is rendered");
    assert!(shown["summary"].as_str().unwrap().starts_with("3 checked, 2 violating the policy"), "{shown}");
    assert_eq!(shown["headers"][0], "Name");

    let rows = shown["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str().unwrap()).collect();
    // Violations first, the oldest first among them (the secret never rotated is as old as the clock moved).
    assert_eq!(shown["classes"], json!(["violating", "violating", "ok"]), "{shown}");
    assert_eq!(names[2], fresh, "the compliant secret last");
    assert!(names[..2].contains(&overdue.as_str()) && names[..2].contains(&hostile.as_str()), "{names:?}");
    let overdue_row = rows.iter().find(|r| r[0] == overdue.as_str()).unwrap();
    assert_eq!(overdue_row[6], "100", "its age in days");
    assert!(overdue_row[7].as_str().unwrap().contains("not rotated for 100 days (over 90)"), "{overdue_row:?}");
    let hostile_row = rows.iter().find(|r| r[0] == hostile.as_str()).unwrap();
    assert_eq!(hostile_row[2], "off");
    assert!(hostile_row[7].as_str().unwrap().contains("rotation is not enabled"));
    let fresh_row = rows.iter().find(|r| r[0] == fresh.as_str()).unwrap();
    assert!(fresh_row[6].as_str().unwrap().parse::<i64>().unwrap() <= 30);
    assert_eq!(fresh_row[7], "-");

    // The chart: one bar per secret with an age, red past the policy, the longest the oldest.
    let bars = shown["bars"].as_array().unwrap();
    assert_eq!(bars.len(), 3, "{shown}");
    let red: Vec<&Value> = bars.iter().filter(|b| b[0] == "#c62828").collect();
    assert_eq!(red.len(), 2, "the two secrets over 90 days");
    assert!(bars[0][1].as_f64().unwrap() >= bars[2][1].as_f64().unwrap());
}

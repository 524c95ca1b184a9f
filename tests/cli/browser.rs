//! A real headless Chromium, driven over WebDriver by Debian's `chromedriver`, for the
//! dashboard's tests: load a page, read the DOM it rendered, run a line of script, and turn
//! the page's scripts off through the DevTools protocol (`Emulation.setScriptExecutionDisabled`;
//! on this Chromium `--blink-settings=scriptEnabled=false` renders an empty DOM).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A chromedriver and one browser session of it; both end on drop.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn call(method: &str, url: &str, body: Option<&Value>) -> Result<Value, String> {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build(),
    );
    let response = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        (_, body) => agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body.cloned().unwrap_or_else(|| json!({})).to_string()),
    };
    let mut response = response.map_err(|e| format!("{method} {url}: {e}"))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("{method} {url}: reading: {e}"))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| format!("{method} {url}: {e}: {text}"))?;
    if status >= 400 {
        return Err(format!("{method} {url}: {status} {}", value["value"]));
    }
    Ok(value["value"].clone())
}

impl Browser {
    /// Starts chromedriver and a headless Chromium `width`×`height`, with the flags this
    /// machine's closed network needs. Panics, saying what to install, when either is missing.
    pub fn start(width: u32, height: u32) -> Browser {
        for program in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(program).exists(),
                "{program} is missing: install Debian's chromium and chromium-driver \
                 (.ci/run does: apt-get install -y chromium chromium-driver)"
            );
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while call("GET", &format!("{base}/status"), None)
            .map(|s| s["ready"] != json!(true))
            .unwrap_or(true)
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not get ready on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().expect("a browser profile directory");
        let args = [
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}});
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            _profile: profile,
        };
        let session = call(
            "POST",
            &format!("{}/session", browser.base),
            Some(&capabilities),
        )
        .unwrap_or_else(|e| panic!("starting a Chromium session: {e}"));
        browser.session = session["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        browser
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    /// Loads `url` and waits for it (its `load` event).
    pub fn open(&self, url: &str) {
        call("POST", &self.url("/url"), Some(&json!({ "url": url })))
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// Runs `script` (a function body; `return` gives the value) in the page.
    pub fn run(&self, script: &str) -> Value {
        call(
            "POST",
            &self.url("/execute/sync"),
            Some(&json!({ "script": script, "args": [] })),
        )
        .unwrap_or_else(|e| panic!("running {script:?}: {e}"))
    }

    /// A DevTools protocol command.
    pub fn devtools(&self, cmd: &str, params: Value) -> Value {
        call(
            "POST",
            &self.url("/goog/cdp/execute"),
            Some(&json!({ "cmd": cmd, "params": params })),
        )
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

    /// Turns the pages' scripts off (or on again), from the next page loaded on.
    pub fn scripts(&self, enabled: bool) {
        self.devtools(
            "Emulation.setScriptExecutionDisabled",
            json!({ "value": !enabled }),
        );
    }

    /// The DOM as it stands, serialized (read through the DevTools protocol, so it works with
    /// the page's scripts off).
    pub fn dom(&self) -> String {
        let document = self.devtools("DOM.getDocument", json!({ "depth": 0 }));
        let node = document["root"]["nodeId"].clone();
        let html = self.devtools("DOM.getOuterHTML", json!({ "nodeId": node }));
        html["outerHTML"]
            .as_str()
            .expect("the DOM's HTML")
            .to_string()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = call("DELETE", &self.url(""), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

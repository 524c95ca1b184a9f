//! The dashboard (`GET /` of `ledger serve`) in a real headless Chromium: the page over a
//! ledger of the fixtures, read as the browser rendered it, with its scripts on and off; the
//! raw notification, the security headers, the sign-in on an exposed address, and the live
//! reload when an event commits.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::browser::Browser;
use crate::harness::{Sandbox, fixture};
use crate::serve::{Server, request};

/// 2010-05-18 12:00 in Berlin (10:00 UTC): example.com's auto-NACK at 2010-05-22 00:43:53 UTC
/// is 3 d 14 h 43 min 53 s away; müller.de's at 2010-10-31 00:30 UTC much later.
const BEFORE: &str = "/?at=2010-05-18%2012:00";
/// 2010-05-23 12:00 in Berlin: example.com's deadline passed 1 d 9 h 16 min 7 s ago.
const AFTER: &str = "/?at=2010-05-23%2012:00";

/// A failed create whose status text and registry answer are markup (XML-escaped, so the
/// notification carries the characters `<script>…`).
fn hostile_notification() -> Vec<u8> {
    let xml = std::fs::read_to_string(fixture("autodns/xml/0101-failed-poll.xml"))
        .expect("the 0101 fixture");
    xml.replace("<id>21602</id>", "<id>99001</id>")
        .replace(
            "Domain could not be registered.",
            "&lt;script&gt;window.__pwned=1&lt;/script&gt;&lt;img src=x onerror=\"window.__pwned=2\"&gt;",
        )
        .replace("<ctid>201005061621</ctid>", "<ctid>xss-0101</ctid>")
        .replace("example-fail.net", "evil-example.net")
        .into_bytes()
}

/// A ledger of every fixture and the hostile notification.
fn ledger_of_the_fixtures() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox
        .ledger()
        .arg("ingest")
        .arg(crate::harness::fixtures())
        .arg("--no-progress")
        .run();
    let hostile = sandbox.write("hostile.xml", hostile_notification());
    sandbox
        .ledger()
        .args(["ingest", "--no-progress"])
        .arg(hostile)
        .run()
        .success();
    sandbox
}

/// The pending-transfer rows of a rendered DOM, in page order: (domain, row class, countdown).
fn transfer_rows(dom: &str) -> Vec<(String, String, String)> {
    dom.split("<tr class=\"transfer ")
        .skip(1)
        .map(|row| {
            let class = row.split('"').next().unwrap_or_default().to_string();
            let domain = between(row, "<a href=\"/?q=", "</a>")
                .and_then(|a| a.split_once('>'))
                .map(|(_, text)| text.to_string())
                .unwrap_or_default();
            let countdown = between(row, "<td class=\"countdown\"", "</td>")
                .and_then(|td| td.split_once('>'))
                .map(|(_, text)| text.to_string())
                .unwrap_or_default();
            (domain, class, countdown)
        })
        .collect()
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

/// What both the scripted and the script-less page must show at the two fixed instants.
fn check_transfers(browser: &Browser, base: &str) -> (String, String) {
    browser.open(&format!("{base}{BEFORE}"));
    let before = browser.dom();
    assert!(
        before.contains("Pending outgoing transfers") && before.len() > 5_000,
        "the page is empty or cut short: {before}"
    );
    let rows = transfer_rows(&before);
    assert_eq!(
        rows,
        [
            (
                "example.com".to_string(),
                "later".to_string(),
                "in 3 d 14 h 43 min".to_string()
            ),
            (
                "müller.de".to_string(),
                "later".to_string(),
                "in 165 d 14 h 30 min".to_string()
            ),
        ],
        "soonest deadline first, countdowns as of the page's instant"
    );
    assert!(before.contains("2010-05-22 00:43:53 UTC"));
    assert!(before.contains("(02:43:53 CEST)"), "the source zone");

    browser.open(&format!("{base}{AFTER}"));
    let after = browser.dom();
    let rows = transfer_rows(&after);
    assert_eq!(rows.len(), 2, "{after}");
    assert_eq!(
        rows[0],
        (
            "example.com".to_string(),
            "overdue".to_string(),
            "1 d 9 h 16 min ago".to_string()
        )
    );
    let overdue_row = between(&after, "<tr class=\"transfer overdue\"", "</tr>").unwrap_or("");
    assert!(
        overdue_row.contains("<strong class=\"badge\">OVERDUE</strong>"),
        "{overdue_row}"
    );
    assert!(after.contains("id=\"count-overdue\">1<"));
    (before, after)
}

/// The search for the hostile order: its history with the markup shown as text.
fn check_search(browser: &Browser, base: &str) -> String {
    browser.open(&format!("{base}/?q=xss-0101&at=2010-05-18%2012:00"));
    let dom = browser.dom();
    assert!(dom.contains("Order xss-0101"), "{dom}");
    assert!(dom.contains("domain_create_failed"), "{dom}");
    assert!(
        dom.contains("E0101 &lt;script&gt;window.__pwned=1&lt;/script&gt;&lt;img src=\"x\" onerror=\"window.__pwned=2\"&gt;")
            || dom.contains("E0101 &lt;script&gt;window.__pwned=1&lt;/script&gt;&lt;img src=x onerror=\"window.__pwned=2\"&gt;"),
        "the status text shown as text: {dom}"
    );
    assert!(!dom.contains("<script>window.__pwned"), "{dom}");
    assert!(!dom.contains("<img src=\"x\""), "{dom}");
    assert!(
        dom.contains("href=\"/raw/"),
        "a link to the raw notification"
    );
    dom
}

#[test]
fn the_dashboard_in_chromium_with_scripts_on_and_off() {
    let sandbox = ledger_of_the_fixtures();
    let server = Server::start(&sandbox, &[]);
    let base = format!("http://{}", server.addr);
    let browser = Browser::start(1280, 900);

    // Scripts on: the viewer's own zone is filled in, nothing of the notification runs.
    let (before, _) = check_transfers(&browser, &base);
    assert!(
        before.contains("class=\"viewer\" data-utc=\"2010-05-22T00:43:53Z\">")
            && !before.contains("class=\"viewer\" data-utc=\"2010-05-22T00:43:53Z\"></span>"),
        "the script shows the viewer's zone"
    );
    check_search(&browser, &base);
    assert_eq!(
        browser.run("return typeof window.__pwned"),
        serde_json::json!("undefined")
    );

    // Scripts off: the same page, without the viewer's zone.
    browser.scripts(false);
    let (before, after) = check_transfers(&browser, &base);
    for dom in [&before, &after] {
        assert!(
            dom.contains("class=\"viewer\" data-utc=\"2010-05-22T00:43:53Z\"></span>"),
            "no script ran"
        );
    }
    check_search(&browser, &base);
    drop(browser);
    server.stop();
}

#[test]
fn raw_notifications_are_plain_text_and_every_response_has_the_security_headers() {
    let sandbox = ledger_of_the_fixtures();
    let server = Server::start(&sandbox, &[]);
    let history = sandbox.ok_json(["show", "--ctid", "xss-0101", "--json"]);
    let seq = history["events"][0]["seq"].as_u64().expect("a seq");

    let raw = request(server.addr, "GET", &format!("/raw/{seq}"), &[], b"");
    assert_eq!(raw.status, 200);
    assert_eq!(
        raw.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        raw.header("content-security-policy"),
        Some("sandbox; default-src 'none'")
    );
    assert_eq!(raw.body.as_bytes(), hostile_notification().as_slice());
    assert_eq!(
        request(server.addr, "GET", "/raw/999999", &[], b"").status,
        404
    );
    assert_eq!(request(server.addr, "GET", "/raw/x", &[], b"").status, 400);

    for path in [
        "/",
        BEFORE,
        "/?q=nothing-here.example",
        "/static/dashboard.css",
        "/static/dashboard.js",
        "/api/v1/stats",
        "/healthz",
        "/no-such-path",
    ] {
        let reply = request(server.addr, "GET", path, &[], b"");
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        let csp = reply.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
    }
    let page = request(server.addr, "GET", BEFORE, &[], b"");
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<script>") && !page.body.contains("style="));
    assert!(
        page.body
            .contains("<script src=\"/static/dashboard.js\" defer></script>")
    );
    let nothing = request(server.addr, "GET", "/?q=nothing-here.example", &[], b"");
    assert!(
        nothing
            .body
            .contains("Nothing found for nothing-here.example")
    );
    // Far instants and pages are answered, not a panic.
    let far = request(server.addr, "GET", "/?at=%2B262142-12-31", &[], b"");
    assert_eq!(far.status, 400, "{}", far.body);
    let past_the_end = request(server.addr, "GET", "/?from=18446744073709551615", &[], b"");
    assert_eq!(past_the_end.status, 200, "{}", past_the_end.body);
    let bad = request(server.addr, "GET", "/?at=yesterday-ish", &[], b"");
    assert_eq!(bad.status, 400);
    assert!(
        bad.body.contains("at=\\\"yesterday-ish\\\""),
        "{}",
        bad.body
    );
    server.stop();
}

#[test]
fn on_an_exposed_address_the_page_asks_for_the_token_once_and_keeps_it_in_a_cookie() {
    let sandbox = ledger_of_the_fixtures();
    let push = sandbox.write("push-token", "push-secret\n");
    let api = sandbox.write("api-token", "api secret/+=\n");
    for file in [&push, &api] {
        let mut perms = std::fs::metadata(file).expect("meta").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o600);
        std::fs::set_permissions(file, perms).expect("chmod");
    }
    let server = Server::start_at(
        &sandbox,
        "0.0.0.0:0",
        &[
            "--push-token-file",
            push.to_str().expect("a path"),
            "--api-token-file",
            api.to_str().expect("a path"),
        ],
    );
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], server.addr.port()));

    let asked = request(addr, "GET", "/?q=xss-0101", &[], b"");
    assert_eq!(asked.status, 401);
    assert!(asked.body.contains("action=\"/login\""), "{}", asked.body);
    assert!(asked.body.contains("value=\"/?q=xss-0101\""));
    for path in ["/raw/1", "/live", "/api/v1/stats"] {
        assert_eq!(request(addr, "GET", path, &[], b"").status, 401, "{path}");
    }

    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let wrong = request(addr, "POST", "/login", &form, b"token=guess&next=%2F");
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("not the server"));
    assert!(wrong.header("set-cookie").is_none());

    let right = request(
        addr,
        "POST",
        "/login",
        &form,
        b"token=api+secret%2F%2B%3D&next=%2F%3Fq%3Dxss-0101",
    );
    assert_eq!(right.status, 303, "{}", right.body);
    assert_eq!(right.header("location"), Some("/?q=xss-0101"));
    let cookie = right
        .header("set-cookie")
        .expect("a session cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("api secret") && !cookie.contains("api+secret"));
    let session = cookie.split(';').next().expect("name=value").to_string();

    // The cookie opens the page, the raw notifications, the live stream and the API.
    let page = request(addr, "GET", "/?q=xss-0101", &[("Cookie", &session)], b"");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Order xss-0101"));
    let seq = sandbox.ok_json(["show", "--ctid", "xss-0101", "--json"])["events"][0]["seq"]
        .as_u64()
        .expect("a seq");
    for path in [
        "/api/v1/stats".to_string(),
        format!("/raw/{seq}"),
        "/metrics".to_string(),
    ] {
        assert_eq!(
            request(addr, "GET", &path, &[("Cookie", &session)], b"").status,
            200,
            "{path} with the cookie"
        );
        assert_eq!(
            request(addr, "GET", &path, &[], b"").status,
            401,
            "{path} without"
        );
    }
    // The live stream: its head says 200 and an event stream (the body never ends).
    let mut live = TcpStream::connect(addr).expect("connecting");
    live.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        live,
        "GET /live HTTP/1.1\r\nHost: {addr}\r\nCookie: {session}\r\n\r\n"
    )
    .expect("asking for the stream");
    let mut head = String::new();
    BufReader::new(live)
        .read_line(&mut head)
        .expect("its status line");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // A forged cookie does not; nor does a redirect elsewhere.
    let forged = request(addr, "GET", "/", &[("Cookie", "ledger_session=00ff")], b"");
    assert_eq!(forged.status, 401);
    let away = request(
        addr,
        "POST",
        "/login",
        &form,
        b"token=api+secret%2F%2B%3D&next=%2F%2Fevil.example",
    );
    assert_eq!(away.header("location"), Some("/"));
    for next in [
        "%2F%09%2Fevil.example",
        "%2F%5Cevil.example",
        "https%3A%2F%2Fevil.example",
    ] {
        let body = format!("token=api+secret%2F%2B%3D&next={next}");
        let away = request(addr, "POST", "/login", &form, body.as_bytes());
        assert_eq!(away.header("location"), Some("/"), "next={next}");
    }
    assert!(cookie.contains("Max-Age="), "{cookie}");
    server.stop();
}

/// Reads a server-sent-events stream until a `commit` event or the deadline.
fn wait_for_commit(stream: &mut BufReader<TcpStream>, within: Duration) -> bool {
    let started = Instant::now();
    let mut line = String::new();
    while started.elapsed() < within {
        line.clear();
        match stream.read_line(&mut line) {
            Ok(0) => return false,
            Ok(_) if line.trim() == "event: commit" => return true,
            Ok(_) => {}
            Err(_) => {}
        }
    }
    false
}

#[test]
fn a_new_event_reaches_the_live_stream_and_the_open_page_reloads() {
    let sandbox = ledger_of_the_fixtures();
    let server = Server::start(&sandbox, &[]);
    let base = format!("http://{}", server.addr);

    // The stream itself.
    let mut stream = TcpStream::connect(server.addr).expect("connecting");
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    write!(
        stream,
        "GET /live HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
        server.addr
    )
    .expect("asking for the stream");
    let mut stream = BufReader::new(stream);

    // The page, as a wall screen shows it (now, not a fixed instant): scripts on.
    let browser = Browser::start(1280, 900);
    browser.open(&format!("{base}/"));
    let events = |browser: &Browser| {
        browser.run("return document.getElementById('count-events').textContent")
    };
    let before = events(&browser);
    let live_shown = Instant::now();
    while browser.run("return document.getElementById('live').hidden") != serde_json::json!(false) {
        assert!(
            live_shown.elapsed() < Duration::from_secs(10),
            "the page never went live"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let pushed = request(
        server.addr,
        "POST",
        "/push/autodns",
        &[("Content-Type", "application/json")],
        &std::fs::read(fixture("autodns/json/N0102-realtime-json.json")).expect("fixture"),
    );
    assert_eq!(pushed.status, 200, "{}", pushed.body);
    let outcome = pushed.json();
    assert!(
        outcome["outcome"] == "ingested" || outcome["outcome"] == "duplicate",
        "{outcome}"
    );
    assert!(
        wait_for_commit(&mut stream, Duration::from_secs(5)),
        "no commit event"
    );

    // A fresh notification, so the count changes.
    let hostile = hostile_notification();
    let new = String::from_utf8(hostile)
        .expect("utf-8")
        .replace("<id>99001</id>", "<id>99002</id>")
        .replace("xss-0101", "live-reload-1");
    let pushed = request(
        server.addr,
        "POST",
        "/push/autodns",
        &[("Content-Type", "application/xml")],
        new.as_bytes(),
    );
    assert_eq!(pushed.json()["outcome"], "ingested", "{}", pushed.body);
    let reloaded = Instant::now();
    loop {
        let now = events(&browser);
        if now != before {
            let (old, new) = (
                before.as_str().and_then(|s| s.parse::<u64>().ok()),
                now.as_str().and_then(|s| s.parse::<u64>().ok()),
            );
            assert!(new > old, "{before} → {now}");
            break;
        }
        assert!(
            reloaded.elapsed() < Duration::from_secs(10),
            "the page did not reload after the commit"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(browser);
    server.stop();
}

/// A ledger that lost the closing mails of 205 transfers still renders: the 200 soonest, how
/// many more there are, and a link to them; a domain is found by its punycode too.
#[test]
fn two_hundred_transfers_a_page_with_a_link_to_the_rest() {
    let sandbox = Sandbox::new();
    // müller.de's transfer (deadline 2010-10-31) is pending and overdue: it comes first.
    sandbox
        .ledger()
        .args(["ingest", "--no-progress"])
        .arg(fixture("autodns/text/idn-1403-dst.txt"))
        .run()
        .success();
    let template = std::fs::read_to_string(fixture("autodns/json/transfer_start-push-bare.json"))
        .expect("the transfer_start fixture");
    for n in 0..205u32 {
        // Deadlines a minute apart, in order of n.
        let end = format!("2022-01-24T{:02}:{:02}:00.000+0100", 10 + n / 60, n % 60);
        let body = template
            .replace("1012054052", &(1_900_000_000 + n).to_string())
            .replace("example.org", &format!("lost-{n:03}.example"))
            .replace("2022-01-24T10:54:42.000+0100", &end);
        sandbox.write(&format!("lost/{n:03}.json"), body);
    }
    sandbox
        .ledger()
        .args(["ingest", "--no-progress"])
        .arg(sandbox.path("lost"))
        .run()
        .success();
    let server = Server::start(&sandbox, &[]);
    let at = "at=2022-01-20%2012:00";
    let first = request(server.addr, "GET", &format!("/?{at}"), &[], b"");
    assert_eq!(first.status, 200);
    let rows = transfer_rows(&first.body);
    assert_eq!(rows.len(), 200, "{}", first.body.len());
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str()),
        ("müller.de", "overdue")
    );
    assert_eq!(rows[1].0, "lost-000.example");
    assert_eq!(rows[199].0, "lost-198.example");
    assert!(
        first
            .body
            .contains("<a id=\"more\" href=\"/?from=200&#38;at=2022-01-20%2012:00\">6 more</a>"),
        "{}",
        first.body
    );
    let next = request(server.addr, "GET", &format!("/?from=200&{at}"), &[], b"");
    let rows = transfer_rows(&next.body);
    let domains: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        domains,
        [
            "lost-199.example",
            "lost-200.example",
            "lost-201.example",
            "lost-202.example",
            "lost-203.example",
            "lost-204.example"
        ]
    );
    assert!(next.body.contains("206 pending"), "{}", next.body);
    assert!(next.body.contains("showing 201–206"), "{}", next.body);

    let puny = request(server.addr, "GET", "/?q=xn--mller-kva.de", &[], b"");
    assert!(puny.body.contains("Domain müller.de"), "{}", puny.body);
    assert!(puny.body.contains("transfer_out_started"));
    server.stop();
}

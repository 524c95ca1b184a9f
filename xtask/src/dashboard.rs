//! The dashboard's tasks:
//!
//! * `cargo xtask screenshots [--out docs/screenshots]`: PNGs of the page over a ledger of the
//!   fixtures (the main page and a search result, at desktop and phone widths) in Debian's
//!   headless Chromium, for a reviewer and the README.
//! * `cargo xtask page-bench [--events 1000000]`: how long `ledger serve` (release) takes to
//!   answer `GET /` and a search over a ledger of the deterministic corpus, over one
//!   keep-alive connection, as `BENCHMARKS.md` reports it.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::push_bench::{Server, percentile, read_response, started};

/// The instant the screenshots show (2010-05-21 12:00 Berlin, as a query value): example.com's
/// auto-NACK is then due within 24 h.
const SHOT_AT: &str = "2010-05-21%2012:00";

fn workspace_root() -> Result<PathBuf, String> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| "the workspace root".to_string())
}

/// Starts `BINARY --db DB serve --listen 127.0.0.1:0`.
fn serve(binary: &Path, db: &Path) -> Result<Server, String> {
    let mut child = Command::new(binary)
        .arg("--db")
        .arg(db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", binary.display()))?;
    let stderr = child.stderr.take().ok_or("serve's stderr")?;
    started(child, Box::new(stderr))
}

/// `cargo xtask screenshots`.
pub fn screenshots(out: &Path) -> Result<(), String> {
    let root = workspace_root()?;
    let status = Command::new(env!("CARGO"))
        .args(["build", "--bin", "ledger"])
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err("cargo build --bin ledger failed".into());
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let binary = target.join("debug/ledger");
    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        return Err("/usr/bin/chromium is missing: apt-get install -y chromium".into());
    }
    let work = tempdir("ledger-screenshots")?;
    let db = work.join("ledger");
    let ingested = Command::new(&binary)
        .arg("--db")
        .arg(&db)
        .arg("ingest")
        .arg(root.join("fixtures"))
        .arg("--no-progress")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("ledger ingest: {e}"))?;
    // Exit 3: some fixtures are rejects on purpose.
    if !matches!(ingested.code(), Some(0 | 3)) {
        return Err(format!("ledger ingest fixtures/ failed: {ingested}"));
    }
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let server = serve(&binary, &db)?;
    let at = SHOT_AT;
    let shots = [
        ("main-desktop.png", format!("/?at={at}"), (1440, 2000)),
        ("main-phone.png", format!("/?at={at}"), (390, 3200)),
        (
            "search-desktop.png",
            format!("/?q=example.com&at={at}"),
            (1440, 1400),
        ),
        (
            "search-phone.png",
            format!("/?q=example.com&at={at}"),
            (390, 2400),
        ),
    ];
    let mut result = Ok(());
    for (name, path, (width, height)) in shots {
        let file = out.join(name);
        let profile = work.join(format!("profile-{name}"));
        let shot = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--virtual-time-budget=3000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("--screenshot={}", file.display()))
            .arg(format!("http://{}{path}", server.addr))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("chromium: {e}"));
        match shot {
            Ok(status) if status.success() && file.metadata().is_ok_and(|m| m.len() > 10_000) => {
                eprintln!("wrote {} ({width}×{height}, {path})", file.display());
            }
            Ok(status) => {
                result = Err(format!("chromium wrote no screenshot {name} ({status})"));
                break;
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    server.stop()?;
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn tempdir(name: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// Sends `GET path` on a keep-alive connection and reads the answer; the time it took.
fn timed_get(
    stream: &mut TcpStream,
    reader: &mut BufReader<TcpStream>,
    path: &str,
) -> Result<(Duration, Vec<u8>), String> {
    let started = Instant::now();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").map_err(|e| e.to_string())?;
    let response = read_response(reader).map_err(|e| format!("GET {path}: {e}"))?;
    let took = started.elapsed();
    if response.status != 200 {
        return Err(format!(
            "GET {path}: {} {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        ));
    }
    Ok((took, response.body))
}

/// `cargo xtask page-bench`.
pub fn page_bench(events: u64, requests: usize, work: Option<PathBuf>) -> Result<(), String> {
    let (binary, _) = crate::build_release_ledger()?;
    let work = match work {
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            dir
        }
        None => tempdir("ledger-page-bench")?,
    };
    let db = work.join(format!("ledger-{events}"));
    if !db.exists() {
        let mbox = work.join(format!("corpus-{events}.mbox"));
        if !mbox.exists() {
            eprintln!("writing a corpus of {events} mails");
            crate::corpus::write(
                &mbox,
                events,
                42,
                crate::Layout::Mbox,
                crate::corpus::Shape::FIXED,
            )?;
        }
        eprintln!("ingesting it");
        let status = Command::new(&binary)
            .arg("--db")
            .arg(&db)
            .arg("ingest")
            .arg(&mbox)
            .arg("--no-progress")
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("ledger ingest: {e}"))?;
        if !matches!(status.code(), Some(0 | 3)) {
            return Err(format!("ledger ingest {} failed: {status}", mbox.display()));
        }
    }
    let server = serve(&binary, &db)?;
    let mut stream = TcpStream::connect(server.addr).map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
    let (_, page) = timed_get(&mut stream, &mut reader, "/")?;
    let page = String::from_utf8_lossy(&page).into_owned();
    // A ctid the page links to (an order of a state list) and a domain of a pending transfer.
    let link = |marker: &str| {
        page.split(marker)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(str::to_string)
    };
    let search_ctid = link("<li><a href=\"/?q=").ok_or("no order linked on the page")?;
    let search_domain = link("<td class=\"domain\"><a href=\"/?q=")
        .or_else(|| link("<a href=\"/?q="))
        .ok_or("no domain linked on the page")?;
    let mut rows = Vec::new();
    for (name, path) in [
        ("`GET /` (now)", "/".to_string()),
        ("`GET /?q=CTID`", format!("/?q={search_ctid}")),
        ("`GET /?q=DOMAIN`", format!("/?q={search_domain}")),
        ("`GET /?from=200` (the next page)", "/?from=200".to_string()),
    ] {
        for _ in 0..3 {
            timed_get(&mut stream, &mut reader, &path)?;
        }
        let mut times = Vec::with_capacity(requests);
        let mut size = 0;
        for _ in 0..requests {
            let (took, body) = timed_get(&mut stream, &mut reader, &path)?;
            size = body.len();
            times.push(took.as_micros() as u64);
        }
        times.sort();
        rows.push(format!(
            "| {name} | {:.1} ms | {:.1} ms | {:.1} ms | {} KB |",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.95).as_secs_f64() * 1e3,
            percentile(&times, 1.0).as_secs_f64() * 1e3,
            size / 1024
        ));
    }
    drop(reader);
    drop(stream);
    server.stop()?;
    println!(
        "Dashboard at {events} events, {requests} requests each, one keep-alive connection:\n"
    );
    println!("| request | median | p95 | max | page |");
    println!("|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    Ok(())
}

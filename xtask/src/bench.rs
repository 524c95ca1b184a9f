//! End-to-end figures of the real `ledger` binary (release build) at several corpus sizes:
//! ingest throughput and peak memory, disk per event, query latency with process start
//! included, rebuild and verify time. Prints the Markdown table kept in `BENCHMARKS.md`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Layout;

/// One measured run of a command.
struct Measured {
    wall: Duration,
    peak_rss_kb: i64,
    status: i32,
    stdout: String,
}

/// Runs a command to completion, measuring wall time and the child's peak RSS.
fn measure(command: &mut Command) -> Result<Measured, String> {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("starting {command:?}: {e}"))?;
    let mut stdout = String::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            stdout.push_str(&line.map_err(|e| e.to_string())?);
            stdout.push('\n');
        }
    }
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, not yet reaped; the pointers are to live locals.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r != pid {
        return Err(format!("wait4 failed for {command:?}"));
    }
    let wall = started.elapsed();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Ok(Measured {
        wall,
        peak_rss_kb: usage.ru_maxrss,
        status: code,
        stdout,
    })
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs.get(xs.len() / 2).copied().unwrap_or_default()
}

fn dir_size(path: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&p) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                total += meta.len();
            }
        }
    }
    total
}

/// How often the commit log is looked at while an ingest runs.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// Throughput over the first and the last tenth of the items, from (elapsed, items committed)
/// samples; `None` when the tenth took fewer than 20 sampling periods (the rate would be mostly
/// the sampling step: a tenth seen in two samples 100 ms apart reads as 10 × its size per
/// second, whatever the speed).
fn decile_rates(samples: &[(Duration, u64)], n: u64) -> (Option<f64>, Option<f64>) {
    let at = |items: u64| {
        samples
            .iter()
            .find(|(_, k)| *k >= items)
            .map(|(t, _)| t.as_secs_f64())
    };
    let rate = |from: u64, to: u64| match (at(from), at(to)) {
        (Some(a), Some(b)) if b - a >= 20.0 * SAMPLE_EVERY.as_secs_f64() => {
            Some((to - from) as f64 / (b - a))
        }
        _ => None,
    };
    (rate(1, n / 10), rate(n - n / 10, n))
}

/// Builds the release binary and measures each size.
pub fn run(sizes: &[u64], work: Option<PathBuf>, repeat: usize) -> Result<(), String> {
    let (binary, target) = crate::build_release_ledger()?;
    let work = work.unwrap_or_else(|| target.join("bench-e2e"));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;

    println!(
        "| notifications | ingest /s | first 10% /s | last 10% /s | ingest peak RSS | disk / event | `stats` (open) | `show --ctid` | `show --domain` | `pending-transfers` | `rebuild` | `verify` |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        let corpus = work.join(format!("corpus-{n}.mbox"));
        if !corpus.exists() {
            crate::corpus::write(&corpus, n, 42, Layout::Mbox)?;
        }
        let db = work.join(format!("ledger-{n}"));
        let _ = std::fs::remove_dir_all(&db);
        let ledger = |args: &[&str]| {
            let mut c = Command::new(&binary);
            c.arg("--db").arg(&db).args(args);
            c
        };
        // Watch the commit log grow to see whether ingest stays flat from first to last.
        let log = work.join(format!("commits-{n}.jsonl"));
        let _ = std::fs::remove_file(&log);
        let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let watcher = {
            let (log, watching) = (log.clone(), watching.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut samples = Vec::new();
                let (mut file, mut lines, mut buf) = (None, 0u64, Vec::new());
                while watching.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(SAMPLE_EVERY);
                    if file.is_none() {
                        file = std::fs::File::open(&log).ok();
                    }
                    if let Some(f) = file.as_mut() {
                        buf.clear();
                        // Only the bytes appended since the last look.
                        let _ = std::io::Read::read_to_end(f, &mut buf);
                        lines += buf.iter().filter(|&&c| c == b'\n').count() as u64;
                    }
                    samples.push((started.elapsed(), lines));
                }
                samples
            })
        };
        let ingest = measure(
            ledger(&["ingest", "--no-progress", "--commit-log"])
                .arg(&log)
                .arg(&corpus),
        )?;
        watching.store(false, std::sync::atomic::Ordering::Relaxed);
        let samples = watcher.join().map_err(|_| "watcher thread")?;
        let (first, last) = decile_rates(&samples, n);
        let rate =
            |r: Option<f64>| r.map_or_else(|| "(too fast to sample)".into(), |r| format!("{r:.0}"));
        let (first, last) = (rate(first), rate(last));
        if ingest.status != 0 && ingest.status != 3 {
            return Err(format!("ingest exited {}", ingest.status));
        }
        let events = {
            let m = measure(&mut ledger(&["--json", "stats"]))?;
            let v: serde_json::Value =
                serde_json::from_str(&m.stdout).map_err(|e| e.to_string())?;
            v["events"].as_u64().unwrap_or(0)
        };
        // A ctid and a domain from the middle of the log.
        let (ctid, domain) = {
            let mut child = ledger(&["export", "--since", &(events / 2).max(1).to_string()])
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| e.to_string())?;
            let mut found = (String::new(), String::new());
            if let Some(out) = child.stdout.take() {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let v: serde_json::Value =
                        serde_json::from_str(&line).map_err(|e| e.to_string())?;
                    if let (Some(c), Some(d)) = (v["ctid"].as_str(), v["domain"].as_str()) {
                        found = (c.to_string(), d.to_string());
                        break;
                    }
                }
            }
            let _ = child.kill();
            let _ = child.wait();
            found
        };
        let time = |args: &[&str]| -> Result<Duration, String> {
            let mut runs = Vec::new();
            for _ in 0..repeat.max(1) {
                let m = measure(&mut ledger(args))?;
                if m.status != 0 {
                    return Err(format!("{args:?} exited {}", m.status));
                }
                runs.push(m.wall);
            }
            Ok(median(runs))
        };
        let open = time(&["stats"])?;
        let show_ctid = time(&["show", "--ctid", &ctid])?;
        let show_domain = time(&["show", "--domain", &domain])?;
        let pending = time(&["pending-transfers"])?;
        let rebuild = measure(&mut ledger(&["rebuild"]))?.wall;
        let verify = measure(&mut ledger(&["verify"]))?;
        let disk = dir_size(&db);
        let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
        println!(
            "| {n} | {:.0} | {first} | {last} | {} MB | {} B | {} | {} | {} | {} | {} | {}{} |",
            n as f64 / ingest.wall.as_secs_f64(),
            ingest.peak_rss_kb / 1024,
            disk / events.max(1),
            ms(open),
            ms(show_ctid),
            ms(show_domain),
            ms(pending),
            ms(rebuild),
            ms(verify.wall),
            if verify.status == 0 {
                ""
            } else {
                " (NOT CLEAN)"
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ingest committing 1,000 items per 10 ms sample: 100,000 items/s.
    fn steady(n: u64) -> Vec<(Duration, u64)> {
        (1..=n / 1_000)
            .map(|k| (SAMPLE_EVERY * k as u32, k * 1_000))
            .collect()
    }

    #[test]
    fn a_tenth_long_enough_to_sample_gives_its_rate() {
        let (first, last) = decile_rates(&steady(1_000_000), 1_000_000);
        for rate in [first, last] {
            let rate = rate.expect("a tenth of 1 s is sampled");
            assert!((rate - 100_000.0).abs() < 2_000.0, "{rate}");
        }
    }

    #[test]
    fn a_tenth_over_in_a_few_samples_is_too_fast_to_sample() {
        assert_eq!(decile_rates(&steady(100_000), 100_000), (None, None));
    }
}

//! End-to-end figures of the real `ledger` binary (release build) at several corpus sizes:
//! ingest throughput per tenth and peak memory, disk per event with its split, the open cost of
//! a command, query latency with process start included, rebuild and verify time and memory.
//! Prints them as Markdown, one column per size, so that 1M and 10M stand side by side as in
//! `BENCHMARKS.md`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

use crate::Layout;
use crate::corpus::{Shape, Span};

/// What `cargo xtask bench` runs.
pub struct Config {
    /// Corpus sizes (mails), each measured in turn.
    pub sizes: Vec<u64>,
    /// Scratch directory (corpora, ledgers, commit logs); default: `target/bench-e2e`.
    pub work: Option<PathBuf>,
    /// How many times each query is timed (the median is reported).
    pub repeat: usize,
    /// The corpus's shape (seed 42).
    pub shape: Shape,
}

/// The seed of every bench corpus.
const SEED: u64 = 42;

/// One measured run of a command.
struct Measured {
    wall: Duration,
    /// User and system CPU time of the child: on a shared machine, steadier than `wall`.
    cpu: Duration,
    peak_rss_kb: i64,
    status: i32,
    stdout: String,
    stderr: String,
}

/// Runs a command to completion, measuring wall time and the child's peak RSS (its `wait4`
/// rusage).
fn measure(command: &mut Command) -> Result<Measured, String> {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("starting {command:?}: {e}"))?;
    // Drained on a thread of its own, so a child writing much to stderr cannot block on it.
    let stderr = child.stderr.take().map(|mut err| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        })
    });
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
    let stderr = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    Ok(Measured {
        wall,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        peak_rss_kb: usage.ru_maxrss,
        status: code,
        stdout,
        stderr,
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

/// A ledger's bytes on disk by part.
#[derive(Default)]
struct Disk {
    /// `raw/`: the packs (each item's raw bytes and its event's stored form, compressed).
    raw: u64,
    /// `log/`: the log's sled database (locators, indexes, dedup keys, quarantine, meta).
    log: u64,
    /// `views/`: the projections' sled database.
    views: u64,
    /// Anything else (the layout marker, a trust policy, a store this split does not know).
    other: u64,
}

impl Disk {
    fn of(db: &Path) -> Disk {
        let mut disk = Disk::default();
        let Ok(entries) = std::fs::read_dir(db) else {
            return disk;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let size = if path.is_dir() {
                dir_size(&path)
            } else {
                entry.metadata().map_or(0, |m| m.len())
            };
            match entry.file_name().to_str() {
                Some("raw") => disk.raw += size,
                Some("log") => disk.log += size,
                Some("views") => disk.views += size,
                _ => disk.other += size,
            }
        }
        disk
    }

    fn total(&self) -> u64 {
        self.raw + self.log + self.views + self.other
    }
}

/// How often the commit log is looked at while an ingest runs.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// Throughput over each tenth of the items, from (elapsed, items committed) samples; `None`
/// for a tenth that took fewer than 20 sampling periods (the rate would be mostly the sampling
/// step: a tenth seen in two samples 100 ms apart reads as 10 × its size per second, whatever
/// the speed).
fn tenth_rates(samples: &[(Duration, u64)], n: u64) -> [Option<f64>; 10] {
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
    std::array::from_fn(|k| {
        let k = k as u64;
        rate((k * n / 10).max(1), (k + 1) * n / 10)
    })
}

/// When the first and the last mail of an mbox the corpus generator wrote were delivered
/// (their `From ` lines).
fn mbox_span(path: &Path) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
    let io = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut file = File::open(path).map_err(io)?;
    let mut head = String::new();
    BufReader::new(&mut file).read_line(&mut head).map_err(io)?;
    let first = from_line_date(&head)
        .ok_or_else(|| format!("{}: no From line at the start", path.display()))?;
    let len = file.metadata().map_err(io)?.len();
    let tail_from = len.saturating_sub(1 << 20);
    file.seek(SeekFrom::Start(tail_from)).map_err(io)?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).map_err(io)?;
    let tail = String::from_utf8_lossy(&tail);
    let last = tail
        .lines()
        .filter(|l| l.starts_with("From "))
        .filter_map(from_line_date)
        .next_back()
        .ok_or_else(|| format!("{}: no From line in its last MiB", path.display()))?;
    Ok((first, last))
}

/// The date of an mbox `From sender Www Mmm dd hh:mm:ss yyyy` line.
fn from_line_date(line: &str) -> Option<DateTime<Utc>> {
    let rest = line.strip_prefix("From ")?;
    let (_, date) = rest.split_once(' ')?;
    NaiveDateTime::parse_from_str(date.trim(), "%a %b %e %H:%M:%S %Y")
        .ok()
        .map(|t| t.and_utc())
}

/// What one size measured.
struct Figures {
    n: u64,
    events: u64,
    corpus: String,
    /// The corpus's first and last delivery.
    span: (DateTime<Utc>, DateTime<Utc>),
    ingest: Measured,
    tenths: [Option<f64>; 10],
    disk: Disk,
    /// Median wall and CPU time of `stats`.
    open: (Duration, Duration),
    show_ctid: Duration,
    show_domain: Duration,
    /// (time, rows) of `pending-transfers` now (every transfer still open).
    pending_now: (Duration, usize),
    /// (time, rows) of `pending-transfers --at END --due-within 48h`.
    due_48h: (Duration, usize),
    /// (time, rows) of `pending-transfers --at MIDDLE`: the transfers open at an instant.
    pending_middle: (Duration, usize),
    rebuild: Measured,
    verify: Measured,
    wall: Duration,
    /// The machine's 1-minute load average before and after the size ran.
    load: (String, String),
}

/// The 1-minute load average (`/proc/loadavg`): the machine is shared, so every figure is
/// read beside it.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Free bytes on the file system holding `path`.
fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: an all-zero statvfs is a valid value; statvfs fills it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a NUL-terminated path, st a live local.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some(st.f_bavail as u64 * st.f_frsize as u64)
}

/// Bytes a size needs on disk, with headroom: the corpus (about 1.1 KB a mail, unless it is
/// there already), the ledger (1.4 KB an event at 1M), its commit log (about 0.2 KB a mail)
/// and what `rebuild` writes before sled reclaims the old views.
fn disk_needed(n: u64, corpus_exists: bool) -> u64 {
    let per_mail = if corpus_exists { 2_400 } else { 3_500 };
    n * per_mail
}

/// Builds the release binary and measures each size; prints the tables.
pub fn run(config: &Config) -> Result<(), String> {
    let (binary, target) = crate::build_release_ledger()?;
    let work = config
        .work
        .clone()
        .unwrap_or_else(|| target.join("bench-e2e"));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let mut all = Vec::new();
    for &n in &config.sizes {
        let figures = measure_size(&binary, &work, n, config)?;
        eprintln!("{n}: measured in {:.0} s", figures.wall.as_secs_f64());
        all.push(figures);
    }
    print_tables(&all, config.shape);
    Ok(())
}

fn span_name(shape: Shape) -> String {
    let span = match shape.span {
        Span::Fixed => "fixed".into(),
        Span::Proportional => format!("proportional-lost{}", shape.lost),
    };
    match shape.domains {
        Some(n) => format!("{span}-domains{n}"),
        None => span,
    }
}

fn measure_size(binary: &Path, work: &Path, n: u64, config: &Config) -> Result<Figures, String> {
    let started = Instant::now();
    let load_before = load_average();
    let corpus = work.join(format!("corpus-{n}-{}.mbox", span_name(config.shape)));
    let db = work.join(format!("ledger-{n}"));
    let log = work.join(format!("commits-{n}.jsonl"));
    let _ = std::fs::remove_dir_all(&db);
    let _ = std::fs::remove_file(&log);
    let needed = disk_needed(n, corpus.exists());
    if let Some(free) = free_bytes(work)
        && free < needed
    {
        return Err(format!(
            "{n} mails need about {} GB free in {}, there are {} GB",
            needed >> 30,
            work.display(),
            free >> 30
        ));
    }
    let corpus_note = if corpus.exists() {
        "reused".to_string()
    } else {
        eprintln!("{n}: writing the corpus");
        let t = Instant::now();
        let summary = crate::corpus::write(&corpus, n, SEED, Layout::Mbox, config.shape)?;
        eprintln!("{n}: {summary}");
        format!("written in {:.0} s", t.elapsed().as_secs_f64())
    };
    let span = mbox_span(&corpus)?;
    let ledger = |args: &[&str]| {
        let mut c = Command::new(binary);
        c.arg("--db").arg(&db).args(args);
        c
    };

    // Watch the commit log grow to see whether ingest stays flat from first to last.
    eprintln!("{n}: ingesting");
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
                    file = File::open(&log).ok();
                }
                if let Some(f) = file.as_mut() {
                    buf.clear();
                    // Only the bytes appended since the last look.
                    let _ = f.read_to_end(&mut buf);
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
    if ingest.status != 0 && ingest.status != 3 {
        return Err(format!(
            "ingest exited {}: {}",
            ingest.status,
            ingest.stderr.trim()
        ));
    }
    // The tenths of what the commit log holds (every item the ingest committed).
    let committed = samples.last().map_or(n, |&(_, k)| k);
    let tenths = tenth_rates(&samples, committed);
    // The commit log is only there to be sampled; at 10M it is about 2 GB.
    let _ = std::fs::remove_file(&log);

    let events = {
        let m = measure(&mut ledger(&["--json", "stats"]))?;
        let v: serde_json::Value = serde_json::from_str(&m.stdout).map_err(|e| e.to_string())?;
        v["events"].as_u64().unwrap_or(0)
    };
    // A ctid and a domain from the middle of the log.
    let (ctid, domain) = {
        let mut child = ledger(&["export", "--since", &(events / 2).max(1).to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
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
    eprintln!("{n}: timing the queries");
    // The median wall and CPU time of a command.
    let time = |args: &[&str]| -> Result<(Duration, Duration), String> {
        let (mut walls, mut cpus) = (Vec::new(), Vec::new());
        for _ in 0..config.repeat.max(1) {
            let m = measure(&mut ledger(args))?;
            if m.status != 0 {
                return Err(format!("{args:?} exited {}: {}", m.status, m.stderr.trim()));
            }
            walls.push(m.wall);
            cpus.push(m.cpu);
        }
        Ok((median(walls), median(cpus)))
    };
    // The rows of a `--json pending-transfers` answer.
    let rows = |stdout: &str| -> usize {
        serde_json::from_str::<serde_json::Value>(stdout)
            .ok()
            .and_then(|v| v.as_array().map(Vec::len))
            .unwrap_or(0)
    };
    let instant = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let (end, middle) = (instant(span.1), instant(span.0 + (span.1 - span.0) / 2));
    let open = time(&["stats"])?;
    let show_ctid = time(&["show", "--ctid", &ctid])?.0;
    let show_domain = time(&["show", "--domain", &domain])?.0;
    let pending = |args: &[&str]| -> Result<(Duration, usize), String> {
        let (wall, _) = time(args)?;
        let mut json = vec!["--json"];
        json.extend_from_slice(args);
        let answer = measure(&mut ledger(&json))?;
        Ok((wall, rows(&answer.stdout)))
    };
    let pending_now = pending(&["pending-transfers"])?;
    let due_48h = pending(&["pending-transfers", "--at", &end, "--due-within", "48h"])?;
    let pending_middle = pending(&["pending-transfers", "--at", &middle])?;
    let disk = Disk::of(&db);
    eprintln!("{n}: rebuild");
    let rebuild = measure(&mut ledger(&["rebuild"]))?;
    if rebuild.status != 0 {
        return Err(format!(
            "rebuild exited {}: {}",
            rebuild.status,
            rebuild.stderr.trim()
        ));
    }
    eprintln!("{n}: verify");
    let verify = measure(&mut ledger(&["verify"]))?;
    Ok(Figures {
        n,
        events,
        corpus: corpus_note,
        span,
        ingest,
        tenths,
        disk,
        open,
        show_ctid,
        show_domain,
        pending_now,
        due_48h,
        pending_middle,
        rebuild,
        verify,
        wall: started.elapsed(),
        load: (load_before, load_average()),
    })
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

fn mb(kb: i64) -> String {
    format!("{} MB", kb / 1024)
}

fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "(too fast to sample)".into(), |r| thousands(r as u64))
}

/// Prints the figures, one row per figure and one column per size, then the ingest's rate
/// tenth by tenth.
fn print_tables(all: &[Figures], shape: Shape) {
    let span = match (shape.span, shape.domains) {
        (Span::Fixed, None) => "`--span fixed`".to_string(),
        (Span::Fixed, Some(n)) => format!("`--span fixed --domains {n}`"),
        (Span::Proportional, None) => format!("`--span proportional --lost {}`", shape.lost),
        (Span::Proportional, Some(n)) => {
            format!("`--span proportional --lost {} --domains {n}`", shape.lost)
        }
    };
    println!("Corpus: seed {SEED}, {span}.\n");
    let header: Vec<String> = all.iter().map(|f| thousands(f.n)).collect();
    println!("| notifications | {} |", header.join(" | "));
    println!("|---|{}", "---:|".repeat(all.len()));
    let row = |name: &str, cell: &dyn Fn(&Figures) -> String| {
        let cells: Vec<String> = all.iter().map(cell).collect();
        println!("| {name} | {} |", cells.join(" | "));
    };
    let per_event = |f: &Figures, bytes: u64| thousands(bytes / f.events.max(1));
    row("corpus", &|f| f.corpus.clone());
    row("corpus delivered", &|f| {
        format!(
            "{} → {} ({:.2} years)",
            f.span.0.format("%Y-%m-%d"),
            f.span.1.format("%Y-%m-%d"),
            (f.span.1 - f.span.0).num_seconds() as f64 / (365.25 * 86_400.0)
        )
    });
    row("events", &|f| thousands(f.events));
    row("ingest /s", &|f| {
        thousands((f.n as f64 / f.ingest.wall.as_secs_f64()) as u64)
    });
    row("first 10 % /s", &|f| rate(f.tenths[0]));
    row(
        "last 10 % /s (÷ first)",
        &|f| match (f.tenths[0], f.tenths[9]) {
            (Some(a), Some(b)) => format!("{} ({:.2})", rate(Some(b)), b / a),
            (_, b) => rate(b),
        },
    );
    row("ingest CPU (user + system)", &|f| {
        format!("{:.0} s", f.ingest.cpu.as_secs_f64())
    });
    row("ingest peak RSS", &|f| mb(f.ingest.peak_rss_kb));
    row("disk / event", &|f| {
        format!("{} B", per_event(f, f.disk.total()))
    });
    row("… raw packs / log / views / other", &|f| {
        format!(
            "{} / {} / {} / {} B",
            per_event(f, f.disk.raw),
            per_event(f, f.disk.log),
            per_event(f, f.disk.views),
            per_event(f, f.disk.other)
        )
    });
    row("`stats` (the open; its CPU)", &|f| {
        format!("{} ({})", ms(f.open.0), ms(f.open.1))
    });
    row("`show --ctid`", &|f| ms(f.show_ctid));
    row("`show --domain`", &|f| ms(f.show_domain));
    let pending =
        |(t, rows): (Duration, usize)| format!("{} ({} rows)", ms(t), thousands(rows as u64));
    row("`pending-transfers` (now: all open)", &|f| {
        pending(f.pending_now)
    });
    row("`pending-transfers --at END --due-within 48h`", &|f| {
        pending(f.due_48h)
    });
    row("`pending-transfers --at MIDDLE`", &|f| {
        pending(f.pending_middle)
    });
    row("`rebuild`", &|f| {
        format!(
            "{} ({} k/s)",
            ms(f.rebuild.wall),
            thousands((f.events as f64 / f.rebuild.wall.as_secs_f64() / 1000.0) as u64)
        )
    });
    row("`rebuild` CPU (user + system)", &|f| {
        format!("{:.1} s", f.rebuild.cpu.as_secs_f64())
    });
    row("`rebuild` peak RSS", &|f| mb(f.rebuild.peak_rss_kb));
    row("`verify`", &|f| {
        format!(
            "{}{}",
            ms(f.verify.wall),
            if f.verify.status == 0 {
                ""
            } else {
                " (NOT CLEAN)"
            }
        )
    });
    row("`verify` CPU (user + system)", &|f| {
        format!("{:.1} s", f.verify.cpu.as_secs_f64())
    });
    row("`verify` peak RSS", &|f| mb(f.verify.peak_rss_kb));
    row("the whole size (corpus to verify)", &|f| {
        format!("{:.1} min", f.wall.as_secs_f64() / 60.0)
    });
    row("load average (1 min) before → after", &|f| {
        format!("{} → {}", f.load.0, f.load.1)
    });
    println!();
    println!("Ingest rate by tenth of the items committed (/s):\n");
    println!("| tenth | {} |", header.join(" | "));
    println!("|---:|{}", "---:|".repeat(all.len()));
    for k in 0..10 {
        let cells: Vec<String> = all.iter().map(|f| rate(f.tenths[k])).collect();
        println!("| {} | {} |", k + 1, cells.join(" | "));
    }
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
        for rate in tenth_rates(&steady(1_000_000), 1_000_000) {
            let rate = rate.expect("a tenth of 1 s is sampled");
            assert!((rate - 100_000.0).abs() < 2_000.0, "{rate}");
        }
    }

    #[test]
    fn a_slowing_ingest_shows_in_its_last_tenth() {
        // 100,000/s for the first half of the items, 50,000/s for the second.
        let mut samples = steady(500_000);
        let half = samples.last().map_or(Duration::ZERO, |s| s.0);
        samples
            .extend((1..=500).map(|k| (half + SAMPLE_EVERY * 2 * k, 500_000 + k as u64 * 1_000)));
        let tenths = tenth_rates(&samples, 1_000_000);
        let (first, last) = (tenths[0].expect("sampled"), tenths[9].expect("sampled"));
        assert!((first - 100_000.0).abs() < 2_000.0, "{first}");
        assert!((last - 50_000.0).abs() < 1_000.0, "{last}");
    }

    #[test]
    fn a_tenth_over_in_a_few_samples_is_too_fast_to_sample() {
        assert_eq!(tenth_rates(&steady(100_000), 100_000), [None; 10]);
    }

    #[test]
    fn the_corpus_span_is_read_from_its_first_and_last_from_lines() {
        let dir = std::env::temp_dir().join(format!("xtask-span-{}", std::process::id()));
        let mbox = dir.join("c.mbox");
        let shape = Shape {
            span: Span::Proportional,
            lost: crate::corpus::DEFAULT_LOST,
            domains: None,
        };
        crate::corpus::write(&mbox, 3_000, 1, Layout::Mbox, shape).expect("corpus");
        let (first, last) = mbox_span(&mbox).expect("span");
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(first.format("%Y-%m-%d").to_string(), "2023-01-02");
        // 3,000 mails at a million a year: about a day, and the first day's slower start.
        let hours = (last - first).num_hours();
        assert!((18..=60).contains(&hours), "{hours} h");
    }

    #[test]
    fn a_from_line_gives_its_date() {
        let date = from_line_date("From noreply@notify.autodns.example Mon Jan  2 08:00:05 2023\n");
        assert_eq!(
            date.map(|d| d.to_rfc3339()),
            Some("2023-01-02T08:00:05+00:00".into())
        );
        assert_eq!(from_line_date("Subject: From here"), None);
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(10_000_000), "10,000,000");
    }
}

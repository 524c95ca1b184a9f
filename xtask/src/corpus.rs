//! A deterministic corpus of AutoDNS notification mails with realistic lifecycles: creates that
//! succeed and fail (and are retried), updates (AuthInfo deleted, AUTOUPDATE with OwnerC import),
//! incoming transfers, outgoing transfers that are answered, reminded, auto-acked and
//! auto-nacked, deletes; parent-notify duplicates, late deliveries and some bad input.
//!
//! Events are streamed through a small heap ordered by delivery time, so a million mails need
//! only the few thousand that are "in flight" in memory. Every lifecycle has a domain and
//! order ids of its own, so nothing is kept per domain once its lifecycle's mails are out.
//!
//! How the corpus spans time is its [`Span`]: [`Span::Fixed`] is the shape every figure in
//! `BENCHMARKS.md` before issue 15 was taken on (the same bytes for a seed and count as then);
//! [`Span::Proportional`] is a reseller's mail (about a million notifications a year, so ten
//! million span ten years with as many transfers open at any instant as one year has), where
//! every transfer closes and only a lost closing mail (a thousandth by default) leaves one
//! open.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use clap::ValueEnum;

use crate::Layout;
use crate::mime::{self, Dress};

/// How a corpus spans time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Span {
    /// The same span whatever the count (lifecycle starts spread as if over two years at three
    /// mails each; there are 1.59, so about 3.8 years of mail: ten million mails are ten times
    /// as dense as one million), and 5 % of outgoing transfers never answered, so they pile up
    /// with the count: the corpus of every `BENCHMARKS.md` figure before issue 15, byte for
    /// byte.
    Fixed,
    /// About a year per million notifications, as a real reseller's mail: the rate of mail
    /// and the transfers open at any instant do not grow with the count, and a corpus is the
    /// beginning of every longer one of the same seed. Every transfer gets its closing mail
    /// (an answer, an auto-ack or auto-nack), except the lost ones (`lost`).
    Proportional,
}

/// The shape of a corpus beyond its seed and count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// How the corpus spans time.
    pub span: Span,
    /// With [`Span::Proportional`]: the share of transfers' closing mails (incoming ACK or
    /// NACK, outgoing answer, auto-ack or auto-nack) that are never delivered, leaving the
    /// transfer open forever. Not used by [`Span::Fixed`].
    pub lost: f64,
    /// A pool of this many domains that the lifecycles take in turn (a reseller's half a
    /// million domains see an order every year or two each), instead of a new domain for every
    /// lifecycle (`None`: the bytes of every figure taken before). The lifecycle `id` takes slot
    /// `(id - 1) % domains`, whose name (and TLD) is the same every time it comes round, so one
    /// domain's lifecycles start `domains` lifecycles apart; with a small pool they may still
    /// overlap (a late delivery, a transfer whose closing mail was lost stays open), as a real
    /// domain's orders sometimes do.
    pub domains: Option<u64>,
}

impl Shape {
    /// The shape of the figures taken before issue 15.
    pub const FIXED: Shape = Shape {
        span: Span::Fixed,
        lost: 0.0,
        domains: None,
    };
}

/// Mixed into a pool slot's number to seed the draw of its name (any constant: the names only
/// have to be the same each time a slot comes round).
const POOL_SEED: u64 = 0x646f_6d61_696e_706f;

/// The share of closing mails lost by default with [`Span::Proportional`]: a thousandth.
pub const DEFAULT_LOST: f64 = 0.001;

/// Notifications per year with [`Span::Proportional`].
const MAILS_PER_YEAR: f64 = 1_000_000.0;

/// Mails per lifecycle with [`Span::Proportional`] (the mix of [`lifecycle`]: 1.56, and 2 %
/// parent-notify duplicates), measured on seed 42 at 1M: 1.59.
const MAILS_PER_LIFECYCLE: f64 = 1.59;

/// One notification to deliver.
struct Note {
    /// When it happened (the mail's Date).
    at: DateTime<Utc>,
    subject: String,
    body: Body,
}

enum Body {
    Text(String),
    /// Bytes that are not a notification at all.
    Bad(Vec<u8>),
}

/// A note in flight: ordered by delivery time, then by creation order.
struct InFlight {
    deliver: DateTime<Utc>,
    order: u64,
    note: Note,
    duplicate: bool,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        (self.deliver, self.order) == (other.deliver, other.order)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.deliver, self.order).cmp(&(other.deliver, other.order))
    }
}

/// What a corpus holds, by kind of lifecycle.
#[derive(Default)]
pub struct Summary {
    mails: u64,
    duplicates: u64,
    bad: u64,
    lifecycles: u64,
    bytes: u64,
    /// Closing mails left out (`Shape::lost`), counting only lifecycles that started.
    lost: u64,
    /// The most mails waiting in the heap at once: what the generator holds in memory.
    peak_in_flight: usize,
    /// When the first and the last mail were delivered.
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} mails ({} duplicates, {} bad) from {} lifecycles, {} bytes",
            self.mails, self.duplicates, self.bad, self.lifecycles, self.bytes
        )?;
        if let (Some(first), Some(last)) = (self.first, self.last) {
            write!(
                f,
                "; delivered {} to {} ({:.2} years)",
                first.format("%Y-%m-%d"),
                last.format("%Y-%m-%d"),
                (last - first).num_seconds() as f64 / (365.25 * 86_400.0)
            )?;
        }
        write!(
            f,
            "; {} closing mails lost; at most {} mails in flight",
            self.lost, self.peak_in_flight
        )
    }
}

/// Writes `count` mails generated from `seed` in `shape` to `out`.
pub fn write(
    out: &Path,
    count: u64,
    seed: u64,
    layout: Layout,
    shape: Shape,
) -> Result<Summary, String> {
    if !(0.0..=1.0).contains(&shape.lost) {
        return Err(format!("lost share {} is not within 0..=1", shape.lost));
    }
    if shape.domains == Some(0) {
        return Err("a pool of 0 domains: give at least 1 (or leave --domains out)".into());
    }
    let mut sink = Sink::create(out, layout)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut heap: BinaryHeap<Reverse<InFlight>> = BinaryHeap::new();
    let mut summary = Summary::default();
    let mut order = 0u64;
    let start = Utc
        .with_ymd_and_hms(2023, 1, 2, 8, 0, 0)
        .single()
        .ok_or("start time")?;
    let (step_ms, closings) = match shape.span {
        // "About 3 mails per lifecycle; spread the lifecycles over about two years": there are
        // 1.59, so any count spans about 3.8 years. Kept as it was for the old figures.
        Span::Fixed => (
            (2 * 365 * 86_400_000i64 / (count as i64 / 3).max(1)).max(1),
            Closings::SomeNeverAnswered,
        ),
        Span::Proportional => (
            (365.25 * 86_400_000.0 * MAILS_PER_LIFECYCLE / MAILS_PER_YEAR) as i64,
            Closings::Lost(shape.lost),
        ),
    };
    let mut clock = start;
    let mut id = 0u64;
    while summary.mails < count {
        // Deliver everything due before the next lifecycle starts.
        while let Some(Reverse(next)) = heap.peek() {
            if next.deliver > clock || summary.mails >= count {
                break;
            }
            let Some(Reverse(item)) = heap.pop() else {
                break;
            };
            sink.deliver(&item, &mut rng, &mut summary)?;
        }
        if summary.mails >= count {
            break;
        }
        id += 1;
        summary.lifecycles += 1;
        for note in lifecycle(
            &mut rng,
            id,
            clock,
            closings,
            shape.domains,
            &mut summary.lost,
        ) {
            order += 1;
            let late = rng.random_bool(0.02);
            let delay = if late {
                Duration::hours(rng.random_range(1..150))
            } else {
                Duration::seconds(rng.random_range(5..90))
            };
            if rng.random_bool(0.02) {
                let copy = Note {
                    at: note.at,
                    subject: note.subject.clone(),
                    body: match &note.body {
                        Body::Text(t) => Body::Text(t.clone()),
                        Body::Bad(b) => Body::Bad(b.clone()),
                    },
                };
                order += 1;
                let deliver = note.at + delay + Duration::minutes(rng.random_range(1..30));
                heap.push(Reverse(InFlight {
                    deliver,
                    order,
                    note: copy,
                    duplicate: true,
                }));
            }
            heap.push(Reverse(InFlight {
                deliver: note.at + delay,
                order,
                note,
                duplicate: false,
            }));
        }
        summary.peak_in_flight = summary.peak_in_flight.max(heap.len());
        clock += Duration::milliseconds(rng.random_range(step_ms / 2..=step_ms * 3 / 2).max(1));
    }
    sink.finish()?;
    Ok(summary)
}

/// Which transfers get no closing mail.
#[derive(Clone, Copy)]
enum Closings {
    /// 5 % of outgoing transfers are never answered nor auto-answered ([`Span::Fixed`]).
    SomeNeverAnswered,
    /// Every transfer closes, but each closing mail is lost with this probability.
    Lost(f64),
}

impl Closings {
    /// Whether a closing mail is lost (one draw, only with [`Closings::Lost`], so the fixed
    /// shape draws what it always drew).
    fn lose(self, rng: &mut ChaCha8Rng, lost: &mut u64) -> bool {
        match self {
            Closings::SomeNeverAnswered => false,
            Closings::Lost(p) => {
                let gone = rng.random_bool(p);
                *lost += u64::from(gone);
                gone
            }
        }
    }
}

/// The generic TLDs the corpus uses; the others are countries' (`de`, `at`, `eu`, `nl`, `ch`).
const GTLDS: [&str; 4] = ["com", "net", "org", "info"];

/// A domain's second-level label and TLD, drawn from `rng`, numbered `n`.
fn domain_name(rng: &mut ChaCha8Rng, n: u64) -> (String, &'static str) {
    let gtld = rng.random_bool(0.6);
    let tld = if gtld {
        GTLDS[rng.random_range(0..4)]
    } else {
        ["de", "at", "eu", "nl", "ch"][rng.random_range(0..5)]
    };
    let sld = if rng.random_bool(0.03) {
        format!("müller-{}{n}", mime::word(rng))
    } else {
        format!("{}{n}", mime::word(rng))
    };
    (sld, tld)
}

/// The notes of one lifecycle starting at `t0`, on its own domain or on slot
/// `(id - 1) % pool` of a pool of domains ([`Shape::domains`]); closing mails lost are counted
/// in `lost`.
fn lifecycle(
    rng: &mut ChaCha8Rng,
    id: u64,
    t0: DateTime<Utc>,
    closings: Closings,
    pool: Option<u64>,
    lost: &mut u64,
) -> Vec<Note> {
    let german = rng.random_bool(0.2);
    // The draws of a domain of its own are made either way, so everything else a lifecycle
    // draws is the same with a pool as without.
    let own = domain_name(rng, id);
    let (sld, tld) = match pool {
        None => own,
        Some(size) => {
            let slot = (id - 1) % size + 1;
            domain_name(&mut ChaCha8Rng::seed_from_u64(slot ^ POOL_SEED), slot)
        }
    };
    let domain = format!("{sld}.{tld}");
    // A generic TLD (its outgoing transfers are auto-acked) or a country's (auto-nacked).
    let gtld = GTLDS.contains(&tld);
    let ctid = format!("c{id:07}{:04x}", rng.random::<u16>());
    let mins = |n: i64| Duration::minutes(n);
    let mut notes = Vec::new();
    let roll = rng.random_range(0..1000);
    if roll < 3 {
        notes.push(bad(rng, t0, &domain));
        return notes;
    }
    match roll {
        // Create, maybe in progress first, maybe failed and retried.
        3..400 => {
            if rng.random_bool(0.3) {
                notes.push(text(
                    t0,
                    "0101",
                    "N0101",
                    if german {
                        "Die Domainregistrierung wurde gestartet."
                    } else {
                        "The domain registration was started successfully."
                    },
                    &ctid,
                    &sld,
                    tld,
                    &[],
                    None,
                ));
            }
            let t1 = t0 + mins(rng.random_range(1..240));
            if rng.random_bool(0.12) {
                let error = format!(
                    "{:011}",
                    rng.random_range(10_000_000_000u64..99_999_999_999)
                );
                let nic = "<nic_response>\n2302 Object exists\n</nic_response>\n";
                notes.push(text(
                    t1,
                    "0101",
                    "E0101",
                    if german {
                        "Die Domain konnte nicht registriert werden."
                    } else {
                        "Domain could not be registered."
                    },
                    &ctid,
                    &sld,
                    tld,
                    &[("error", error)],
                    Some(nic),
                ));
                if rng.random_bool(0.5) {
                    let retry = format!("{ctid}r");
                    notes.push(text(
                        t1 + Duration::hours(rng.random_range(1..48)),
                        "0101",
                        "S0101",
                        "Domain has been registered successfully.",
                        &retry,
                        &sld,
                        tld,
                        &[],
                        None,
                    ));
                }
            } else {
                notes.push(text(
                    t1,
                    "0101",
                    "S0101",
                    if german {
                        "Die Domain wurde erfolgreich registriert."
                    } else {
                        "Domain has been registered successfully."
                    },
                    &ctid,
                    &sld,
                    tld,
                    &[],
                    None,
                ));
            }
        }
        // Update, with its variants.
        400..650 => {
            let t1 = t0 + mins(rng.random_range(1..60));
            let v = rng.random_range(0..100);
            if v < 8 {
                notes.push(text(
                    t1,
                    "0102",
                    "E0102",
                    "Domain could not be updated",
                    &ctid,
                    &sld,
                    tld,
                    &[("error", format!("{:x}", rng.random::<u64>() >> 16))],
                    None,
                ));
            } else if v < 14 {
                notes.push(text(
                    t1,
                    "0102",
                    "S0102",
                    "The domain has been updated successfully",
                    &ctid,
                    &sld,
                    tld,
                    &[(
                        "notice",
                        "MSG011304 [The existing AuthInfo was deleted by the request.]".into(),
                    )],
                    None,
                ));
            } else if v < 20 {
                let owner = format!("{}", rng.random_range(10_000_000..99_999_999));
                notes.push(text_with_owner(t1, &ctid, &sld, tld, &owner));
            } else {
                notes.push(text(
                    t1,
                    "0102",
                    "S0102",
                    if german {
                        "Domain-Aktualisierung für die Domain wurde durchgeführt."
                    } else {
                        "Domain has been updated successfully."
                    },
                    &ctid,
                    &sld,
                    tld,
                    &[],
                    None,
                ));
            }
        }
        // Incoming transfer.
        650..760 => {
            notes.push(text(
                t0,
                "0104",
                "S0104",
                "Domain transfer has been started successfully.",
                &ctid,
                &sld,
                tld,
                &[],
                None,
            ));
            let t1 = t0 + Duration::hours(rng.random_range(2..120));
            let close = if rng.random_bool(0.85) {
                let extra: Vec<(&str, String)> = if rng.random_bool(0.2) {
                    vec![("notice", "MSG01050 [OwnerC has been imported]".into())]
                } else {
                    vec![]
                };
                text(
                    t1,
                    "0104001",
                    "S0104001",
                    "The incoming domain transfer (ACK) has been completed successfully.",
                    &ctid,
                    &sld,
                    tld,
                    &extra,
                    None,
                )
            } else {
                text(
                    t1,
                    "0104001",
                    "E0104001",
                    "Incoming domain transfer (NACK) could not be completed successfully.",
                    &ctid,
                    &sld,
                    tld,
                    &[(
                        "error",
                        format!("{}", rng.random_range(10_000_000_000u64..99_999_999_999)),
                    )],
                    None,
                )
            };
            if !closings.lose(rng, lost) {
                notes.push(close);
            }
        }
        // Outgoing transfer.
        760..940 => {
            let place = Place {
                id,
                domain: &domain,
                sld: &sld,
                tld,
                gtld,
            };
            transfer_out(rng, &place, t0, closings, lost, &mut notes);
        }
        // Delete.
        _ => {
            notes.push(text(
                t0 + mins(rng.random_range(1..30)),
                "0103",
                "S0103",
                "Domain has been deleted successfully.",
                &ctid,
                &sld,
                tld,
                &[],
                None,
            ));
        }
    }
    notes
}

/// The domain an outgoing transfer is about.
struct Place<'a> {
    /// The lifecycle's number (the transaction id is made of it).
    id: u64,
    domain: &'a str,
    sld: &'a str,
    tld: &'a str,
    gtld: bool,
}

fn transfer_out(
    rng: &mut ChaCha8Rng,
    place: &Place<'_>,
    t0: DateTime<Utc>,
    closings: Closings,
    lost: &mut u64,
    notes: &mut Vec<Note>,
) {
    let &Place {
        id,
        domain,
        sld,
        tld,
        gtld,
    } = place;
    let transaction = format!("{}", 1_200_000_000 + id);
    let naive = |t: DateTime<Utc>| {
        t.with_timezone(&chrono_tz::Europe::Berlin)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let reminder = t0 + Duration::days(3);
    let end = t0 + Duration::days(5);
    let (deadline_key, deadline) = if gtld {
        ("kk_autoack", end)
    } else {
        ("kk_autonack", end - Duration::hours(6))
    };
    let body = format!(
        "<system>\nuser: reseller\ntask: 1403\nstatus: S1403 [Outgoing domain transfer has been started\nsuccessfully.]\nsuccess_value: domain: {domain}\ntransaction: {transaction}\n</system>\n<reply>\nkk_new: {}\nkk_start: {}\nkk_reminder: {}\n{deadline_key}: {}\nkk_end: {}\n</reply>\n",
        rng.random_range(10..999),
        naive(t0),
        naive(reminder),
        naive(deadline),
        naive(end)
    );
    notes.push(Note {
        at: t0,
        subject: format!("Transfer-Out {domain}"),
        body: Body::Text(body),
    });
    if rng.random_bool(0.7) {
        let body = format!(
            "<system>\nuser: reseller\ntask: 1403006\nstatus: S1403006 [Reminder! Outgoing transfer was started.]\nsuccess_value: domain: {domain}\ntransaction: {transaction}\n</system>\n"
        );
        notes.push(Note {
            at: reminder,
            subject: format!("Reminder Transfer-Out {domain}"),
            body: Body::Text(body),
        });
    }
    let close = rng.random_range(0..100);
    let answered = match closings {
        Closings::SomeNeverAnswered => close < 95,
        Closings::Lost(_) => true,
    };
    if !answered {
        // Nobody answered and no auto answer arrived (yet): the transfer stays pending.
        return;
    }
    let note = if close < 40 {
        let ack = rng.random_bool(0.5);
        let at = t0 + Duration::hours(rng.random_range(1..100));
        let notice = if ack {
            "notice: MSG010409 [The registry removed the domain from your\ninventory. You are no longer the OwnerC of the domain.]\n"
        } else {
            ""
        };
        let body = format!(
            "<system>\nuser: reseller\ntask: 0106\nstatus: S0106 [Outgoing domain transfer has been answered\nsuccessfully.]\n{notice}kk_answer: {}\n</system>\n<reply>\nsld: {sld}\ntld: {tld}\n</reply>\n",
            if ack { "ACK" } else { "NACK" }
        );
        Note {
            at,
            subject: format!("Transfer-Out answered {domain}"),
            body: Body::Text(body),
        }
    } else {
        let (task, answer, text) = if gtld {
            ("1403008", "AUTOACK", "AUTO-ACK")
        } else {
            ("1403005", "NACK", "AUTO-NACK")
        };
        let body = format!(
            "<system>\nuser: reseller\ntask: {task}\nstatus: S{task} [The request was not answered in time. {text}\nwas processed.]\nsuccess_value: domain: {domain}\ntransaction: {transaction}\nkk_answer: {answer}\n</system>\n<reply>\nkk_start: {}\nkk_end: {}\n</reply>\n",
            naive(t0),
            naive(end)
        );
        Note {
            at: deadline + Duration::minutes(rng.random_range(1..20)),
            subject: format!("Transfer-Out {text} {domain}"),
            body: Body::Text(body),
        }
    };
    if !closings.lose(rng, lost) {
        notes.push(note);
    }
}

#[allow(clippy::too_many_arguments)]
fn text(
    at: DateTime<Utc>,
    task: &str,
    status: &str,
    status_text: &str,
    ctid: &str,
    sld: &str,
    tld: &str,
    extra: &[(&str, String)],
    nic: Option<&str>,
) -> Note {
    let mut body =
        format!("<system>\nuser: reseller\ntask: {task}\nstatus: {status} [{status_text}]\n");
    for (k, v) in extra {
        body.push_str(&format!("{k}: {v}\n"));
    }
    body.push_str(&format!("transaction: {ctid}\n"));
    if status.starts_with('S') {
        body.push_str(&format!("last_transaction: {ctid}\n"));
    }
    body.push_str(&format!("</system>\n<reply>\nsld: {sld}\ntld: {tld}\nowner-c: 1043116\nadmin-c: 1043116\ntech-c: 1043116\nzone-c: 1043116\nnserver: ns1.reseller-dns.example\nnserver: ns2.reseller-dns.example\nperiod: 1\nauthinfo:\n</reply>\n"));
    if let Some(nic) = nic {
        body.push_str(nic);
    }
    body.push_str("<notify></notify>\n");
    Note {
        at,
        subject: format!("{status} {sld}.{tld}"),
        body: Body::Text(body),
    }
}

fn text_with_owner(at: DateTime<Utc>, ctid: &str, sld: &str, tld: &str, owner: &str) -> Note {
    let body = format!(
        "<system>\nuser: reseller\ntask: 0102\nstatus: S0102 [Domain has been updated successfully.]\nnotice: MSG01050 [Ownerc has been imported]\ntransaction: {ctid}\nlast_transaction: {ctid}\nautoupdate: true\n</system>\n<reply>\ntld: {tld}\nsld: {sld}\nowner: reseller\nowner_context: 4\nowner-c: {owner}\n</reply>\n"
    );
    Note {
        at,
        subject: format!("S0102 {sld}.{tld}"),
        body: Body::Text(body),
    }
}

fn bad(rng: &mut ChaCha8Rng, at: DateTime<Utc>, domain: &str) -> Note {
    let bytes = match rng.random_range(0..3) {
        0 => format!("Hello,\n\nthis is an out-of-office reply about {domain}.\n").into_bytes(),
        1 => format!("<system>\nuser: reseller\ntask: 0101\nstatus: S0101 [Domain has been registered successfully.]\ntransaction: cut{domain}\n").into_bytes(),
        _ => (0..rng.random_range(20..400)).map(|_| rng.random::<u8>()).collect(),
    };
    Note {
        at,
        subject: format!("Re: {domain}"),
        body: Body::Bad(bytes),
    }
}

/// Where mails go.
enum Sink {
    Mbox(BufWriter<File>),
    Maildir(std::path::PathBuf, u64),
    Files(std::path::PathBuf, u64),
}

impl Sink {
    fn create(out: &Path, layout: Layout) -> Result<Sink, String> {
        let io = |e: std::io::Error| format!("{}: {e}", out.display());
        Ok(match layout {
            Layout::Mbox => {
                if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
                    fs::create_dir_all(parent).map_err(io)?;
                }
                Sink::Mbox(BufWriter::with_capacity(
                    1 << 20,
                    File::create(out).map_err(io)?,
                ))
            }
            Layout::Maildir => {
                for d in ["cur", "new", "tmp"] {
                    fs::create_dir_all(out.join(d)).map_err(io)?;
                }
                Sink::Maildir(out.to_path_buf(), 0)
            }
            Layout::Files => {
                fs::create_dir_all(out).map_err(io)?;
                Sink::Files(out.to_path_buf(), 0)
            }
        })
    }

    fn deliver(
        &mut self,
        item: &InFlight,
        rng: &mut ChaCha8Rng,
        summary: &mut Summary,
    ) -> Result<(), String> {
        let n = summary.mails + 1;
        let message_id = format!("{n}.{}", rng.random::<u32>());
        let relay = rng.random_range(1..5);
        let bytes = match &item.note.body {
            Body::Text(body) => mime::mail(
                body,
                &item.note.subject,
                item.note.at,
                &message_id,
                Dress::pick(rng),
                rng.random_bool(0.1),
                relay,
            ),
            Body::Bad(raw) => {
                summary.bad += 1;
                let mut mail = mime::mail(
                    "",
                    &item.note.subject,
                    item.note.at,
                    &message_id,
                    Dress::SevenBit,
                    false,
                    relay,
                );
                mail.extend_from_slice(raw);
                mail
            }
        };
        if item.duplicate {
            summary.duplicates += 1;
        }
        summary.mails = n;
        summary.bytes += bytes.len() as u64;
        summary.first.get_or_insert(item.deliver);
        summary.last = Some(item.deliver);
        let io = |e: std::io::Error| format!("writing mail {n}: {e}");
        match self {
            Sink::Mbox(w) => {
                let date = item.deliver.format("%a %b %e %H:%M:%S %Y");
                writeln!(w, "From noreply@notify.autodns.example {date}").map_err(io)?;
                for line in bytes.split_inclusive(|&b| b == b'\n') {
                    let body = line
                        .iter()
                        .position(|&b| b != b'>')
                        .map_or(&line[..0], |i| &line[i..]);
                    if body.starts_with(b"From ") {
                        w.write_all(b">").map_err(io)?;
                    }
                    w.write_all(line).map_err(io)?;
                }
                if !bytes.ends_with(b"\n") {
                    w.write_all(b"\n").map_err(io)?;
                }
                w.write_all(b"\n").map_err(io)?;
            }
            Sink::Maildir(dir, k) => {
                *k += 1;
                let sub = if *k % 10 == 0 { "new" } else { "cur" };
                let name = if sub == "cur" {
                    format!("{}.{k:08}.corpus:2,S", item.deliver.timestamp())
                } else {
                    format!("{}.{k:08}.corpus", item.deliver.timestamp())
                };
                fs::write(dir.join(sub).join(name), &bytes).map_err(io)?;
            }
            Sink::Files(dir, k) => {
                *k += 1;
                let sub = dir.join(format!("{:04}", *k / 1000));
                if *k % 1000 == 0 || *k == 1 {
                    fs::create_dir_all(&sub).map_err(io)?;
                }
                fs::create_dir_all(&sub).map_err(io)?;
                fs::write(sub.join(format!("{k:07}.eml")), &bytes).map_err(io)?;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<(), String> {
        if let Sink::Mbox(mut w) = self {
            w.flush().map_err(|e| format!("flushing mbox: {e}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a, 64 bits: a fingerprint of a corpus's bytes that does not change with the
    /// toolchain.
    fn fnv(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    fn mbox(name: &str, count: u64, seed: u64, shape: Shape) -> (Vec<u8>, Summary) {
        let dir = std::env::temp_dir().join(format!("xtask-corpus-{}-{name}", std::process::id()));
        let path = dir.join("c.mbox");
        let summary = write(&path, count, seed, Layout::Mbox, shape).expect("corpus");
        let bytes = fs::read(&path).expect("read back");
        let _ = fs::remove_dir_all(&dir);
        (bytes, summary)
    }

    fn proportional(lost: f64) -> Shape {
        Shape {
            domains: None,
            span: Span::Proportional,
            lost,
        }
    }

    #[test]
    fn the_fixed_span_writes_the_bytes_the_old_figures_were_taken_on() {
        // The fingerprints of what the generator wrote before it had a span (commit 29fb0aa),
        // for `--count 20000 --seed 42` and `--count 5000 --seed 7`.
        let (bytes, _) = mbox("fixed-42", 20_000, 42, Shape::FIXED);
        assert_eq!((bytes.len(), fnv(&bytes)), FIXED_20000_SEED_42);
        let (bytes, _) = mbox("fixed-7", 5_000, 7, Shape::FIXED);
        assert_eq!((bytes.len(), fnv(&bytes)), FIXED_5000_SEED_7);
    }

    #[test]
    fn a_proportional_corpus_is_the_beginning_of_every_longer_one() {
        let (short, _) = mbox("prefix-short", 3_000, 42, proportional(DEFAULT_LOST));
        let (long, _) = mbox("prefix-long", 8_000, 42, proportional(DEFAULT_LOST));
        assert!(long.len() > short.len());
        assert!(
            long.starts_with(&short),
            "the 3,000 mails are not the first of the 8,000"
        );
        let (again, _) = mbox("prefix-again", 3_000, 42, proportional(DEFAULT_LOST));
        assert_eq!(again, short, "the same seed and count gave other bytes");
    }

    #[test]
    fn a_proportional_corpus_spans_a_year_per_million_mails() {
        let years = |count: u64| {
            let (_, s) = mbox(&format!("span-{count}"), count, 42, proportional(0.0));
            s.first.zip(s.last).map_or(0.0, |(a, b)| {
                (b - a).num_seconds() as f64 / (365.25 * 86_400.0)
            })
        };
        // The first day delivers less (the mails of earlier lifecycles are not in flight yet),
        // so the rate is read between two counts.
        let (short, long) = (years(10_000), years(40_000));
        let expected = 30_000.0 / MAILS_PER_YEAR;
        assert!(
            ((long - short) / expected - 1.0).abs() < 0.05,
            "30,000 more mails span {:.4} more years, not about {expected}",
            long - short
        );
    }

    #[test]
    fn the_fixed_span_does_not_grow_with_the_count() {
        let days = |count| {
            let (_, s) = mbox(&format!("fixed-days-{count}"), count, 42, Shape::FIXED);
            s.first.zip(s.last).map_or(0, |(a, b)| (b - a).num_days())
        };
        // "Two years" of lifecycle starts at 3 mails each; there are 1.59: 3.8 years of mail.
        for count in [10_000, 40_000] {
            let d = days(count);
            assert!((1_330..1_430).contains(&d), "{count} mails span {d} days");
        }
    }

    /// The domains an mbox's plain `Subject:` lines end with (`Transfer-Out example.com`,
    /// `S0104 example.org`; the bodies are encoded, and so are subjects with an umlaut).
    fn domains_named(mbox: &[u8]) -> std::collections::BTreeSet<String> {
        String::from_utf8_lossy(mbox)
            .lines()
            .filter_map(|line| line.strip_prefix("Subject: "))
            .filter_map(|subject| subject.split_whitespace().last())
            .filter(|word| word.contains('.') && !word.starts_with("=?"))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn a_pool_of_domains_is_taken_in_turn_and_changes_nothing_else() {
        let (own, _) = mbox("own", 6_000, 7, proportional(0.001));
        let pooled_shape = Shape {
            domains: Some(50),
            ..proportional(0.001)
        };
        let (pooled, _) = mbox("pooled", 6_000, 7, pooled_shape);
        let (again, _) = mbox("again", 6_000, 7, pooled_shape);
        assert_eq!(pooled, again, "a pool corpus is deterministic too");
        let (own_names, pooled_names) = (domains_named(&own), domains_named(&pooled));
        assert!(
            own_names.len() > 500,
            "{} domains of their own",
            own_names.len()
        );
        assert!(
            (40..=50).contains(&pooled_names.len()),
            "a pool of 50 named {} domains: {pooled_names:?}",
            pooled_names.len()
        );
        // The same mails, lines and times: only the domains' names (and so the lengths) differ.
        let count = |m: &[u8]| String::from_utf8_lossy(m).matches("\nFrom ").count();
        assert!(count(&own) > 5_000);
        assert_eq!(count(&own), count(&pooled));
    }

    #[test]
    fn lost_closing_mails_are_the_share_asked_for() {
        let (none, s0) = mbox("lost-0", 20_000, 42, proportional(0.0));
        assert_eq!(s0.lost, 0);
        let (some, s) = mbox("lost-tenth", 20_000, 42, proportional(0.1));
        // About 0.29 transfers per lifecycle, one closing mail each: a tenth of them lost.
        let closings = s.lifecycles as f64 * 0.29;
        let share = s.lost as f64 / closings;
        assert!(
            (0.07..0.13).contains(&share),
            "{} of ~{closings:.0} lost",
            s.lost
        );
        // A lost mail is one fewer mail of its lifecycle, so the same count reaches further.
        assert!(s.lifecycles > s0.lifecycles);
        assert_ne!(none, some);
    }

    #[test]
    fn in_flight_mail_does_not_grow_with_a_proportional_count() {
        let (_, small) = mbox("flight-small", 20_000, 42, proportional(DEFAULT_LOST));
        let (_, large) = mbox("flight-large", 80_000, 42, proportional(DEFAULT_LOST));
        // Both windows of days hold the same rate of mail; the larger may meet a rarer burst.
        assert!(
            large.peak_in_flight < small.peak_in_flight * 13 / 10,
            "{} in flight at 80k against {} at 20k",
            large.peak_in_flight,
            small.peak_in_flight
        );
    }

    const FIXED_20000_SEED_42: (usize, u64) = (20_546_891, 0x482f_c2b9_0384_64ab);
    const FIXED_5000_SEED_7: (usize, u64) = (5_107_016, 0x3c7a_aa20_58f8_3a5d);
}

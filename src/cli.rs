//! The command line: every flag is documented where it is defined, so `--help` and the docs
//! cannot drift apart.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

/// An event-sourced order ledger for domain resellers.
///
/// `ledger` reads the notifications registrars send back (AutoDNS mails in text, XML or JSON;
/// CentralNic Reseller command responses), keeps each as an immutable event keyed by order id
/// (ctid) and by domain, and answers from projections of that log: pending outgoing transfers
/// and their deadlines, failed creates, the state of every order.
#[derive(Debug, Parser)]
#[command(name = "ledger", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes. They are listed once, in `ledger --help`; a command's own help
/// names them in one line ([`command`]).
#[derive(Debug, Args)]
pub struct Global {
    /// The ledger's directory. Created by `ledger init` or the first write (`ingest`).
    ///
    /// Default: `$XDG_DATA_HOME/ledger`, else `$HOME/.local/share/ledger`.
    #[arg(long, global = true, env = "LEDGER_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// The time zone the providers' naive times are written in (an IANA name).
    ///
    /// AutoDNS writes `kk_start: 2010-05-17 08:43:53` in its server's wall-clock time,
    /// Europe/Berlin. Times are shown in UTC and in this zone.
    #[arg(
        long,
        global = true,
        value_name = "ZONE",
        default_value = "Europe/Berlin"
    )]
    pub source_tz: String,

    /// Print machine-readable JSON instead of a table (the contract is in the README).
    #[arg(long, global = true)]
    pub json: bool,

    /// A trusted-senders policy: only mail from these senders becomes events; other mail is
    /// kept in the rejects as untrusted until `ledger release` vouches for it. One directive a
    /// line: `sender robot@autodns.example` or `sender autodns.example` (a domain and its
    /// subdomains), `require-authentication` (a passing DKIM or SPF result for a trusted domain
    /// in `Authentication-Results`), `authserv-id mail.reseller.example` (only your own
    /// server's results count). Default: `trust.conf` in the ledger's directory if it exists;
    /// otherwise every sender is accepted. A fault in the policy stops `ingest`, `reparse` and
    /// `release`; other commands warn and go on.
    #[arg(long, global = true, env = "LEDGER_TRUST_POLICY", value_name = "FILE")]
    pub trust_policy: Option<PathBuf>,

    /// How long to wait for a ledger held by another running `ledger` before giving up: a
    /// duration such as `0s`, `30s`, `5m` (units `s`, `m`, `h`, `d`; `1h 30m` works too).
    #[arg(long, global = true, value_name = "DURATION", default_value = "0s")]
    pub wait: String,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an empty ledger at --db (LEDGER_DB), before the first ingest; with
    /// `--trust-policy FILE` (or LEDGER_TRUST_POLICY), check the policy and copy it into the
    /// ledger as `trust.conf`, so that no mail is ever read without it.
    ///
    /// A policy with a fault is refused (line and column) and nothing is created. Running it on
    /// an existing ledger is fine: it says so and changes nothing, except adding a policy the
    /// ledger does not have yet (it never replaces a different one).
    Init,
    /// Read notifications into the ledger: files (one mail each), directories (recursively),
    /// mbox files (detected by content), Maildir folders (`cur/` and `new/`), `-` for stdin.
    ///
    /// Exit status: 0 when everything was ingested or was a duplicate, 3 when some input was
    /// rejected (it is kept: see `ledger rejects`), 1 on an operational error, 130 when Ctrl-C
    /// stopped it (after committing what it had read; rerun the same command to go on).
    Ingest(IngestArgs),
    /// Record a CentralNic Reseller command response (`[RESPONSE] code = …`) for an order.
    RecordResponse(RecordResponseArgs),
    /// The whole history of an order or a domain, oldest first, and its current state.
    Show(ShowArgs),
    /// Outgoing transfers that are still open, sorted by deadline; overdue ones are marked.
    PendingTransfers(PendingTransfersArgs),
    /// Domain creates that failed (E0101, CentralNic AddDomain 5xx).
    FailedCreates(FailedCreatesArgs),
    /// Every order (ctid) and where it stands.
    Orders(OrdersArgs),
    /// Domains that left the inventory and OwnerC imports.
    Inventory,
    /// Input that could not be read as a notification, kept with the reason.
    Rejects(RejectsArgs),
    /// Re-read every rejected item with this build's parser (and the current trust policy);
    /// those that now pass become events. Dismissed items are not re-read.
    Reparse(ReparseArgs),
    /// Vouch for rejected items (by id, see `ledger rejects`): they are ingested without the
    /// trust check, if they parse.
    Release(ReleaseArgs),
    /// Print events as JSON Lines, oldest first.
    Export(ExportArgs),
    /// Re-fold every projection from the log.
    Rebuild,
    /// Check the indexes and projections against a fresh fold of the log. Exit 4 if any differ.
    Verify,
    /// Hold the ledger open and serve it over HTTP: AutoDNS push, the read API (the JSON
    /// documents the read commands print), metrics and health checks. Runs until SIGTERM or Ctrl-C, then answers what
    /// is in flight and exits 0.
    Serve(Box<ServeArgs>),
    /// Counts and sizes.
    Stats,
    /// Fetch the notifications waiting in a provider's queue, commit each, and only then
    /// acknowledge it.
    #[command(subcommand)]
    Poll(PollCommand),
    /// Fetch the notification mails waiting in an IMAP mailbox: each message not yet committed
    /// is ingested, and only once committed marked on the server (`--after`). The ledger
    /// remembers the mailbox's UIDVALIDITY and the last UID it committed (`imap-state.json` in
    /// its directory), so a rerun fetches only what is new, and a rerun after a crash first
    /// marks what was committed but not marked. Password login only (no OAuth2); the password
    /// comes from `--password-file` or LEDGER_IMAP_PASSWORD, never a flag.
    ///
    /// Exit status: 0, or 3 when some message was rejected (it is kept, see `ledger
    /// rejects`, and marked), 1 on an error (a refused login, no such mailbox, a TLS failure),
    /// 130 when Ctrl-C stopped it after the message in hand was committed and marked.
    Fetch(FetchArgs),
}

/// `ledger fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The mailbox: `imap://USER@HOST[:PORT]/MAILBOX` (STARTTLS when the server offers it;
    /// plain text only to this machine) or `imaps://…` (TLS from the start). User and mailbox
    /// are percent-encoded (`user%40example.com`, `Notifications%2FAutoDNS` or
    /// `Notifications/AutoDNS`). Default ports 143 and 993.
    #[arg(value_name = "URL")]
    pub url: String,

    /// A file holding the password (one line; it must not be readable by others); else
    /// LEDGER_IMAP_PASSWORD.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// What becomes of a message on the server once it is committed: `none` (nothing: the
    /// mailbox is opened read-only), `seen` (the \Seen flag is set) or `move:FOLDER` (moved
    /// there, the folder created if missing).
    #[arg(long, value_name = "WHAT", default_value = "none")]
    pub after: String,

    /// A PEM file of CA certificates to trust beside the public ones (a private CA, a
    /// self-signed server certificate).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// How many messages to fetch with one request.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub batch: usize,

    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// `ledger poll`.
#[derive(Debug, Subcommand)]
pub enum PollCommand {
    /// AutoDNS's JSON API message queue: `GET /poll` fetches the oldest message, which is
    /// ingested (its raw JSON kept) and only once committed confirmed with `PUT /poll/ID`,
    /// until the queue is empty. A message fetched again after a crash is a duplicate. At
    /// most 2.5 requests per second (AutoDNS allows 3). The password comes from
    /// `--password-file` or LEDGER_AUTODNS_PASSWORD, never a flag.
    ///
    /// Exit status: 0, or 3 when some message was rejected (it is kept, see `ledger
    /// rejects`, and confirmed), 1 on an error (a 401 says the login was refused), 130 when
    /// Ctrl-C stopped it after the message in hand was committed and confirmed.
    Autodns(PollAutodnsArgs),
}

/// `ledger poll autodns`.
#[derive(Debug, Args)]
pub struct PollAutodnsArgs {
    /// The JSON API's base URL (`https://api.demo.autodns.com/v1` is the demo system).
    #[arg(long, value_name = "URL", default_value = ledger_poll::DEFAULT_ENDPOINT)]
    pub endpoint: String,

    /// The AutoDNS user.
    #[arg(long, value_name = "USER")]
    pub user: String,

    /// The `X-Domainrobot-Context` (4 on the live system, 1 on the demo system).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub context: u32,

    /// A file holding the password (one line; it must not be readable by others); else
    /// LEDGER_AUTODNS_PASSWORD.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// `ledger ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files, directories, mbox files, Maildir folders, or `-` for standard input.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// The largest single item accepted, in bytes; larger ones are rejected and kept whole
    /// (`ledger reparse --max-size` admits them later).
    #[arg(long, value_name = "BYTES", default_value_t = ledger_parser::DEFAULT_MAX_SIZE)]
    pub max_size: usize,

    /// How many items to commit with one write and one flush.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub batch: usize,

    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,

    /// Append one JSON line per item to this file as soon as its batch is committed (flushed),
    /// in the form of the `items` of `--json`: a run that is killed leaves a record of exactly
    /// what it committed.
    #[arg(long, value_name = "FILE")]
    pub commit_log: Option<PathBuf>,
}

/// `ledger record-response`.
#[derive(Debug, Args)]
pub struct RecordResponseArgs {
    /// The order id the command was sent with.
    #[arg(long, value_name = "ID")]
    pub ctid: String,
    /// The command that was answered (`AddDomain`, `ModifyDomain`, `DeleteDomain`,
    /// `TransferDomain`, …): it decides what the response means.
    #[arg(long, value_name = "NAME")]
    pub command: Option<String>,
    /// The domain the command was about.
    #[arg(long, value_name = "NAME")]
    pub domain: Option<String>,
    /// The response file; `-` or nothing for standard input.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// `ledger show`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ShowArgs {
    /// An order id (the `transaction` of AutoDNS mails).
    #[arg(long, value_name = "ID", group = "target")]
    pub ctid: Option<String>,
    /// A domain name (any case; Unicode or punycode).
    #[arg(long, value_name = "NAME", group = "target")]
    pub domain: Option<String>,
}

/// `ledger pending-transfers`.
#[derive(Debug, Args)]
pub struct PendingTransfersArgs {
    /// The instant to judge at: RFC 3339 (`2010-05-20T12:00:00Z`) or `YYYY-MM-DD HH:MM[:SS]`
    /// in the source zone. Default: now.
    #[arg(long, value_name = "INSTANT")]
    pub at: Option<String>,
    /// Only transfers whose deadline is within this long of `--at` (overdue ones included):
    /// a duration such as `90m`, `48h`, `2d` (units `s`, `m`, `h`, `d`; never negative).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub due_within: Option<String>,
    /// Exit 2 when any deadline is within this long of `--at` (or overdue), for cron and
    /// monitoring: a duration such as `90m`, `48h`, `2d` (units `s`, `m`, `h`, `d`; never
    /// negative).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub fail_if_due_within: Option<String>,
}

/// `ledger failed-creates`.
#[derive(Debug, Args)]
pub struct FailedCreatesArgs {
    /// Include failures a later successful create resolved.
    #[arg(long)]
    pub all: bool,
}

/// An order state, for `--status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrderStatusArg {
    /// Accepted and still running (`in_progress`, as `orders` shows the state, is accepted too).
    #[value(alias = "in_progress")]
    InProgress,
    /// Done.
    Succeeded,
    /// Failed.
    Failed,
    /// Failed for now: resubmit later.
    Resubmit,
}

/// `ledger orders`.
#[derive(Debug, Args)]
pub struct OrdersArgs {
    /// Only orders in these states (repeat or separate with commas).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "STATE")]
    pub status: Vec<OrderStatusArg>,
}

/// `ledger release`.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The ids of the rejects to release.
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<u64>,
}

/// `ledger rejects`.
#[derive(Debug, Args)]
pub struct RejectsArgs {
    /// Dismiss this reject: a person has looked at it and sets it aside. It stays, with its
    /// bytes and the reason given, but `reparse` no longer re-reads it (nor exits 3 for it).
    #[arg(long, value_name = "ID", requires = "reason")]
    pub dismiss: Option<u64>,

    /// Why it is dismissed (with --dismiss).
    #[arg(long, value_name = "TEXT", requires = "dismiss")]
    pub reason: Option<String>,

    /// List dismissed rejects too.
    #[arg(long)]
    pub all: bool,
}

/// `ledger reparse`.
#[derive(Debug, Args)]
pub struct ReparseArgs {
    /// The largest single item accepted, in bytes: a reject over the limit it was ingested
    /// with is admitted by a larger one.
    #[arg(long, value_name = "BYTES", default_value_t = ledger_parser::DEFAULT_MAX_SIZE)]
    pub max_size: usize,
}

/// `ledger serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// An address to listen on (repeatable).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8440")]
    pub listen: Vec<std::net::SocketAddr>,

    /// A file holding the push token: pushes go to /push/autodns/TOKEN, any other path is 404.
    /// Without one (nor LEDGER_PUSH_TOKEN) the path is /push/autodns and only loopback
    /// addresses may be listened on. The file must not be readable by others.
    #[arg(long, value_name = "FILE")]
    pub push_token_file: Option<PathBuf>,

    /// A file holding the token the read API and /metrics need on a non-loopback address
    /// (`Authorization: Bearer TOKEN`); else LEDGER_API_TOKEN.
    #[arg(long, value_name = "FILE")]
    pub api_token_file: Option<PathBuf>,

    /// Only these peers may push (repeatable; AutoDNS pushes from 62.116.129.216); others get
    /// 403.
    #[arg(long, value_name = "CIDR")]
    pub push_allow: Vec<String>,

    /// Behind a reverse proxy: take the peer from the rightmost X-Forwarded-For entry (the
    /// hop the proxy appended).
    #[arg(long)]
    pub trust_forwarded_for: bool,

    /// Also fetch this IMAP mailbox (`imap://USER@HOST[:PORT]/MAILBOX` or `imaps://…`, as
    /// `ledger fetch` takes it) and keep watching it: a connection waits in IDLE (or checks
    /// every --imap-every where the server has no IDLE) and new mail is ingested as it
    /// arrives, each message marked (--imap-after) only once committed.
    #[arg(long, value_name = "URL")]
    pub imap: Option<String>,

    /// A file holding the --imap password (one line; not readable by others); else
    /// LEDGER_IMAP_PASSWORD.
    #[arg(long, value_name = "FILE", requires = "imap")]
    pub imap_password_file: Option<PathBuf>,

    /// What becomes of an --imap message once committed: `none`, `seen` or `move:FOLDER`
    /// (as `ledger fetch --after`).
    #[arg(long, value_name = "WHAT", default_value = "none", requires = "imap")]
    pub imap_after: String,

    /// A PEM file of CA certificates the --imap server's certificate may be signed by,
    /// beside the public ones.
    #[arg(long, value_name = "FILE", requires = "imap")]
    pub imap_ca_file: Option<PathBuf>,

    /// How long one IDLE lasts before it is renewed with a check, and how often a server
    /// without IDLE is checked: `5m`, `90s` (units `s`, `m`, `h`).
    #[arg(long, value_name = "DURATION", default_value = "5m", requires = "imap")]
    pub imap_every: String,

    /// The largest item over the size limit another `ledger ingest` may hand this server
    /// through the ledger's socket, in bytes (413 above; default 4 GiB).
    #[arg(long, value_name = "BYTES", default_value_t = ledger_server::OVERSIZE_LIMIT)]
    pub socket_item_limit: u64,

    /// How long such an item may take to arrive through the socket, whole (408 after):
    /// `10m`, `90s` (units `s`, `m`, `h`).
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub socket_item_timeout: String,

    /// The fetchers run inside the server.
    #[command(flatten)]
    pub fetchers: ServeFetcherArgs,
}

/// `ledger serve`'s fetchers: the AutoDNS poll queue and a Maildir, drained inside the server.
#[derive(Debug, Args)]
pub struct ServeFetcherArgs {
    /// Drain the AutoDNS poll queue of this user inside the server (as `ledger poll autodns`
    /// does): each message committed, then confirmed.
    #[arg(long, value_name = "USER")]
    pub poll_autodns_user: Option<String>,

    /// How long to wait between two drains of the poll queue (`60s`, `5m`).
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub poll_autodns_every: String,

    /// The AutoDNS JSON API's base URL (`https://api.demo.autodns.com/v1` is the demo system).
    #[arg(long, value_name = "URL", default_value = ledger_poll::DEFAULT_ENDPOINT)]
    pub poll_autodns_endpoint: String,

    /// The poll's `X-Domainrobot-Context` (4 on the live system, 1 on the demo system).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub poll_autodns_context: u32,

    /// A file holding the AutoDNS password (one line; it must not be readable by others);
    /// else LEDGER_AUTODNS_PASSWORD.
    #[arg(long, value_name = "FILE")]
    pub autodns_password_file: Option<PathBuf>,

    /// Ingest the mail delivered into this Maildir: DIR/new is watched (and rescanned every
    /// 30 s); each file, once committed, is moved to DIR/cur marked seen (`:2,S`).
    #[arg(long, value_name = "DIR")]
    pub maildir: Option<PathBuf>,
}

/// `ledger export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Start at this position (inclusive).
    #[arg(long, value_name = "SEQ", default_value_t = 0)]
    pub since: u64,
}

/// The ids of the [`Global`] flags, hidden from each command's own help.
const GLOBAL_FLAGS: [&str; 5] = ["db", "source_tz", "json", "trust_policy", "wait"];

/// A command's own help, for `ledger COMMAND --help` (`long`) or `-h`: its flags only, and one
/// line naming the global ones, which `ledger --help` lists once. `None` when `name` is not a
/// command. (Only for showing help: the command line is parsed with [`Cli`] as defined, where
/// the global flags are accepted after a command's name too.)
pub fn command_help(name: &str, long: bool) -> Option<String> {
    let mut cmd = Cli::command();
    // Propagate the global flags into the commands, then hide them there.
    cmd.build();
    let sub = cmd.find_subcommand_mut(name)?;
    let mut sub = GLOBAL_FLAGS
        .iter()
        .fold(sub.clone(), |sub, id| {
            // `init` is where a policy is set once and for all: its help shows the flag.
            let own = name == "init" && *id == "trust_policy";
            if !own && sub.get_arguments().any(|arg| arg.get_id() == *id) {
                sub.mut_arg(*id, |arg| arg.hide(true))
            } else {
                sub
            }
        })
        .after_help(
            "Global options (--db, --json, --source-tz, --trust-policy, --wait): see \
             `ledger --help`.",
        );
    Some(if long {
        sub.render_long_help().to_string()
    } else {
        sub.render_help().to_string()
    })
}

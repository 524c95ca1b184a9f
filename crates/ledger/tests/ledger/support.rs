//! Helpers: open a ledger in a temp dir, read fixtures, dress notification bodies as mails.

use std::path::{Path, PathBuf};

use ledger::{Ledger, Options};

/// A file under the workspace's `fixtures/`.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures")).join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("reading {}: {e}", full.display()))
}

/// Every seed-003 mail, by file name, in file order.
pub fn seed_mails() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/autodns/seed"
    ));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| (n.clone(), fixture(&format!("autodns/seed/{n}"))))
        .collect()
}

/// Opens (creating) a ledger at `dir/ledger` with default options.
pub fn open(dir: &Path) -> Ledger {
    Ledger::open(Options::new(dir.join("ledger"))).expect("opening a ledger")
}

/// An AutoDNS notification mail with a `Date` (RFC 2822) and a `Message-ID`.
pub fn mail(date: &str, message_id: &str, body: &str) -> Vec<u8> {
    format!(
        "Return-Path: <robot@autodns.example>\n\
         From: AutoDNS Robot <robot@autodns.example>\n\
         To: hostmaster@reseller.example\n\
         Subject: AutoDNS notification\n\
         Date: {date}\n\
         Message-ID: <{message_id}>\n\
         MIME-Version: 1.0\n\
         Content-Type: text/plain; charset=utf-8\n\
         Content-Transfer-Encoding: 7bit\n\
         \n\
         {body}"
    )
    .into_bytes()
}

/// An S1403 transfer-out start with its timetable (Berlin wall-clock times).
pub fn transfer_start(domain: &str, transaction: &str, start: &str, autonack: &str) -> String {
    format!(
        "<system>\nuser: ExampleUser\ntask: 1403\n\
         status: S1403 [Outgoing domain transfer has been started successfully.]\n\
         success_value: domain: {domain}\ntransaction: {transaction}\n</system>\n\
         <reply>\nkk_new: 99\nkk_start: {start}\nkk_autonack: {autonack}\nkk_end: {autonack}\n</reply>\n"
    )
}

/// An S1403006 reminder.
pub fn transfer_reminder(domain: &str, transaction: &str) -> String {
    format!(
        "<system>\nuser: ExampleUser\ntask: 1403006\n\
         status: S1403006 [Reminder! Outgoing transfer was started.]\n\
         success_value: domain: {domain}\ntransaction: {transaction}\n</system>\n"
    )
}

/// An S0101 / E0101 create result.
pub fn create(success: bool, transaction: &str) -> String {
    let status = if success {
        "S0101 [Domain has been registered successfully.]"
    } else {
        "E0101 [Domain could not be registered.]"
    };
    format!(
        "<system>\nuser: ExampleUser\ntask: 0101\nstatus: {status}\ntransaction: {transaction}\n</system>\n"
    )
}

/// An N0102 / S0102 update result.
pub fn update(status: &str, transaction: &str) -> String {
    format!(
        "<system>\nuser: ExampleUser\ntask: 0102\nstatus: {status} [Domain update]\n\
         transaction: {transaction}\n</system>\n"
    )
}

/// Opens the sled database at `path` directly (to make what a crash or a damaged disk leaves).
/// sled releases its file lock from a background thread after the last handle is dropped, so
/// an open right after a close may find it still held for a moment: this waits (10 s at most),
/// as `Ledger::open` does.
pub fn open_sled(path: &Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match sled::open(path) {
            Ok(db) => return db,
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("opening {}: {e}", path.display()),
        }
    }
}

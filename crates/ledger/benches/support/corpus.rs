//! The bench corpus: generated AutoDNS text mails (creates, updates, transfer-outs over 5,000
//! domains), shared by `benches/ledger.rs` and `examples/ingest_rounds.rs`.

use ledger_event::Origin;

/// A realistic AutoDNS text mail, number `i`: creates, updates, transfer-outs over 5,000 domains.
fn notification(i: usize) -> Vec<u8> {
    let domain = format!("domain-{}.example.com", i % 5_000);
    let ctid = format!("ctid-{i:08}");
    let body = match i % 6 {
        0 => format!(
            "task: 0101\nstatus: S0101 [Domain has been registered successfully.]\ntransaction: {ctid}\nsuccess_value: domain: {domain}\n"
        ),
        1 => format!(
            "task: 0101\nstatus: E0101 [Domain could not be registered.]\ntransaction: {ctid}\nsuccess_value: domain: {domain}\n"
        ),
        2 => {
            format!("task: 0102\nstatus: N0102 [Domain update is running.]\ntransaction: {ctid}\n")
        }
        3 => format!(
            "task: 0102\nstatus: S0102 [Domain has been updated successfully.]\ntransaction: {ctid}\nlast_transaction: {ctid}\n"
        ),
        4 => format!(
            "task: 1403\nstatus: S1403 [Outgoing domain transfer has been started successfully.]\nsuccess_value: domain: {domain}\ntransaction: {ctid}\n</system>\n<reply>\nkk_start: 2024-03-01 10:00:00\nkk_reminder: 2024-03-04 10:00:00\nkk_autoack: 2024-03-06 10:00:00\nkk_end: 2024-03-06 10:00:00\n</reply>\n<system>\n"
        ),
        _ => format!(
            "task: 1403008\nstatus: S1403008 [The request was not answered in time. AUTO-ACK was processed.]\nsuccess_value: domain: {domain}\nlast_transaction: {ctid}\nkk_answer: AUTOACK\n"
        ),
    };
    let seconds = i % 60;
    let minutes = (i / 60) % 60;
    let hours = (i / 3600) % 24;
    let day = 1 + (i / 86_400) % 28;
    format!(
        "From: AutoDNS Robot <robot@autodns.example>\nTo: hostmaster@reseller.example\n\
         Subject: AutoDNS notification {ctid}\nDate: Fri, {day:02} Mar 2024 {hours:02}:{minutes:02}:{seconds:02} +0100\n\
         Message-ID: <{ctid}.{i}@autodns.example>\nMIME-Version: 1.0\n\
         Content-Type: text/plain; charset=utf-8\n\n<system>\nuser: ExampleUser\n{body}</system>\n"
    )
    .replace("<system>\n</system>\n", "")
    .into_bytes()
}

/// The first `n` mails of the corpus, each with its origin (`bench/i`).
pub fn corpus(n: usize) -> Vec<(Vec<u8>, Origin)> {
    (0..n)
        .map(|i| (notification(i), Origin::new(format!("bench/{i}"))))
        .collect()
}

//! How long one notification takes to read: a whole mail (MIME + AutoDNS text body) and a bare
//! text body. Targets: a mail under 10 µs, a bare text body under 2 µs.
//!
//! `cargo bench -p ledger-parser --bench parse -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ledger_parser::{ParseOptions, parse, parse_body, split_mail};

fn fixture(path: &str) -> Vec<u8> {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn bench(c: &mut Criterion) {
    let options = ParseOptions::default();
    let mail = fixture("autodns/seed/05-1403-transfer-out-start.eml");
    let qp_mail = fixture("autodns/seed/02-0106-transfer-out-ack-at.eml");
    let (_, body) = split_mail(&mail).expect("fixture is a mail");
    assert!(parse(&mail, &options).is_ok() && parse(&qp_mail, &options).is_ok());

    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(mail.len() as u64));
    group.bench_function("mail_1403_start", |b| {
        b.iter(|| parse(black_box(&mail), &options))
    });
    group.throughput(Throughput::Bytes(qp_mail.len() as u64));
    group.bench_function("mail_0106_qp_crlf", |b| {
        b.iter(|| parse(black_box(&qp_mail), &options))
    });
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("bare_text_1403_start", |b| {
        b.iter(|| parse_body(black_box(&body), &options))
    });
    group.bench_function("split_mail_only", |b| {
        b.iter(|| split_mail(black_box(&mail)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Trusted senders: a policy quarantines forged and unauthenticated mail; `release` vouches for
//! an item; `reparse` re-checks with the current policy; `record_response` is not checked.

use std::path::Path;

use chrono::Utc;
use ledger::{IngestOutcome, Ledger, LedgerError, Options, QuarantineReason, TrustPolicy};
use ledger_event::Origin;

use crate::support::{fixture, seed_mails};

const START: &str = "autodns/seed/05-1403-transfer-out-start.eml";

fn policy(text: &str) -> TrustPolicy {
    TrustPolicy::parse(text).unwrap()
}

/// The seed mails come from `Robot@AutoDNS.example`, authenticated by
/// `mail.reseller.example` (spf and dkim pass for autodns.example).
fn strict() -> TrustPolicy {
    policy("sender autodns.example\nrequire-authentication\nauthserv-id mail.reseller.example\n")
}

fn open_with(path: &Path, trust: Option<TrustPolicy>) -> Ledger {
    let mut options = Options::new(path);
    options.trust = trust;
    Ledger::open(options).unwrap()
}

/// A copy of a seed mail with another From and Return-Path, headers otherwise kept.
fn forged(mail: &[u8]) -> Vec<u8> {
    String::from_utf8(mail.to_vec())
        .unwrap()
        .replace("Robot@AutoDNS.example", "robot@evil.example")
        .replace("robot@autodns.example", "robot@evil.example")
        .into_bytes()
}

/// A copy without its Authentication-Results header (and its folded lines).
fn unauthenticated(mail: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(mail.to_vec()).unwrap();
    let mut out = String::new();
    let mut skipping = false;
    for line in text.split_inclusive('\n') {
        if line.starts_with("Authentication-Results:") {
            skipping = true;
            continue;
        }
        if skipping && (line.starts_with('\t') || line.starts_with(' ')) {
            continue;
        }
        skipping = false;
        out.push_str(line);
    }
    out.into_bytes()
}

fn untrusted_id(outcome: &IngestOutcome) -> u64 {
    match outcome {
        IngestOutcome::Rejected { id, reason } if reason.starts_with("untrusted sender") => *id,
        other => panic!("not rejected as untrusted: {other:?}"),
    }
}

#[test]
fn the_seed_mails_pass_a_strict_policy_and_forged_copies_are_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open_with(&dir.path().join("ledger"), Some(strict()));
    for (name, bytes) in seed_mails() {
        let outcome = ledger.ingest(&bytes, Origin::new(name.clone())).unwrap();
        assert!(
            matches!(outcome, IngestOutcome::Appended { .. }),
            "{name}: {outcome:?}"
        );
    }
    let events = ledger.stats().unwrap().events;
    let pending = ledger.pending_transfers(Utc::now()).unwrap();

    // A forged copy of a new notification: the start of a transfer of another domain.
    let start = String::from_utf8(fixture(START))
        .unwrap()
        .replace("example.com", "victim.example")
        .into_bytes();
    let outcome = ledger
        .ingest(&forged(&start), Origin::new("forged"))
        .unwrap();
    let id = untrusted_id(&outcome);
    let quarantine = ledger.quarantine().unwrap();
    assert_eq!(quarantine.len(), 1);
    assert_eq!(quarantine[0].id, id);
    assert_eq!(
        quarantine[0].reason,
        QuarantineReason::Untrusted("sender robot@evil.example is not trusted".into())
    );
    // The right From without authentication, and a bare body, are refused too.
    let outcome = ledger
        .ingest(&unauthenticated(&start), Origin::new("unauthenticated"))
        .unwrap();
    untrusted_id(&outcome);
    let bare = fixture("autodns/text/ref-1403-start-text.txt");
    let outcome = ledger.ingest(&bare, Origin::new("bare")).unwrap();
    untrusted_id(&outcome);
    assert!(matches!(
        &ledger.quarantine().unwrap()[2].reason,
        QuarantineReason::Untrusted(why) if why.contains("bare body")
    ));

    // No event, no projection change; the raw bytes are kept.
    assert_eq!(ledger.stats().unwrap().events, events);
    assert_eq!(ledger.pending_transfers(Utc::now()).unwrap(), pending);
    assert!(
        ledger
            .events_by_domain("victim.example")
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ledger.quarantine().unwrap()[0].size,
        forged(&start).len() as u64
    );
    assert!(ledger.verify().unwrap().is_clean());
}

#[test]
fn release_ingests_a_vouched_item_bypassing_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open_with(&dir.path().join("ledger"), Some(strict()));
    let start = fixture(START);
    let id = untrusted_id(
        &ledger
            .ingest(&forged(&start), Origin::new("forged"))
            .unwrap(),
    );
    let outcome = ledger.release(id).unwrap();
    let IngestOutcome::Appended { seq, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(ledger.quarantine().unwrap().is_empty());
    let event = &ledger.events_by_domain("example.com").unwrap()[0];
    assert_eq!(event.seq, seq);
    assert_eq!(event.source.origin, Origin::new("forged"));
    assert_eq!(ledger.raw(event).unwrap(), forged(&start));
    assert_eq!(ledger.pending_transfers(Utc::now()).unwrap().len(), 1);
    // The genuine mail is now a duplicate; a second forged copy released is one too.
    assert_eq!(
        ledger.ingest(&start, Origin::new("genuine")).unwrap(),
        IngestOutcome::Duplicate { of: seq }
    );
    let again = unauthenticated(&start);
    let id = untrusted_id(&ledger.ingest(&again, Origin::new("again")).unwrap());
    assert_eq!(
        ledger.release(id).unwrap(),
        IngestOutcome::Duplicate { of: seq }
    );
    assert!(ledger.quarantine().unwrap().is_empty());

    // Unknown ids are refused; an unparsable item stays.
    assert!(matches!(
        ledger.release(999),
        Err(LedgerError::InvalidArgument(_))
    ));
    let garbage = fixture("bad/garbage.bin");
    let IngestOutcome::Rejected { id, .. } =
        ledger.ingest(&garbage, Origin::new("garbage")).unwrap()
    else {
        panic!("garbage was accepted")
    };
    let outcome = ledger.release(id).unwrap();
    assert!(
        matches!(&outcome, IngestOutcome::Rejected { id: same, reason } if *same == id && !reason.starts_with("untrusted")),
        "{outcome:?}"
    );
    assert!(matches!(
        &ledger.quarantine().unwrap()[0].reason,
        QuarantineReason::Unparsable(_)
    ));
    assert!(ledger.verify().unwrap().is_clean());
}

#[test]
fn reparse_rechecks_trust_with_the_current_policy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    let start = fixture(START);
    let create = fixture("autodns/seed/06-0101-create-success.eml");
    {
        let ledger = open_with(&path, Some(policy("sender robot@autodns.example")));
        untrusted_id(
            &ledger
                .ingest(&forged(&start), Origin::new("forged start"))
                .unwrap(),
        );
        untrusted_id(
            &ledger
                .ingest(&forged(&create), Origin::new("forged create"))
                .unwrap(),
        );
        // Same policy: both stay.
        let report = ledger.reparse().unwrap();
        assert_eq!(
            (report.tried, report.still_rejected, report.appended),
            (2, 2, 0)
        );
        assert_eq!(ledger.quarantine().unwrap().len(), 2);
    }
    // The reseller learns AutoDNS also sends from evil.example (say): widened, they pass.
    let ledger = open_with(
        &path,
        Some(policy("sender robot@autodns.example\nsender evil.example")),
    );
    let report = ledger.reparse().unwrap();
    assert_eq!(
        (report.tried, report.appended, report.still_rejected),
        (2, 2, 0)
    );
    assert!(ledger.quarantine().unwrap().is_empty());
    assert_eq!(ledger.pending_transfers(Utc::now()).unwrap().len(), 1);
    assert!(ledger.verify().unwrap().is_clean());
}

#[test]
fn record_response_is_not_checked_and_without_a_policy_nothing_is() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open_with(&dir.path().join("ledger"), Some(strict()));
    // The reseller's own CentralNic answer has no mail headers at all.
    let response = fixture("centralnic/own_adddomain_200_domain.txt");
    let outcome = ledger
        .record_response(
            &response,
            "order-1",
            Some("AddDomain"),
            None,
            Origin::new("api"),
        )
        .unwrap();
    assert!(
        matches!(outcome, IngestOutcome::Appended { .. }),
        "{outcome:?}"
    );
    // Without a policy, a forged mail is an event as before.
    let open = open_with(&dir.path().join("open"), None);
    assert!(matches!(
        open.ingest(&forged(&fixture(START)), Origin::new("forged"))
            .unwrap(),
        IngestOutcome::Appended { .. }
    ));
}

/// An untrusted mail delivered again (another call, the same batch, a re-run after reopening)
/// is one quarantine entry; every delivery is reported with its id.
#[test]
fn an_untrusted_mail_delivered_twice_is_kept_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    let forged = forged(&fixture(START));
    let other = unauthenticated(&fixture(START));
    let id = {
        let ledger = open_with(&path, Some(strict()));
        let first = ledger.ingest(&forged, Origin::new("1")).unwrap();
        let id = untrusted_id(&first);
        assert_eq!(ledger.ingest(&forged, Origin::new("2")).unwrap(), first);
        let outcomes = ledger
            .ingest_batch(vec![
                (other.clone(), Origin::new("3")),
                (forged.clone(), Origin::new("4")),
                (other.clone(), Origin::new("5")),
            ])
            .unwrap();
        let other_id = untrusted_id(&outcomes[0]);
        assert_ne!(other_id, id);
        assert_eq!(outcomes[1], first);
        assert_eq!(outcomes[2], outcomes[0]);
        let quarantine = ledger.quarantine().unwrap();
        assert_eq!(quarantine.len(), 2, "{quarantine:?}");
        assert_eq!(quarantine[0].origin, Origin::new("1"));
        assert!(ledger.verify().unwrap().is_clean());
        id
    };
    let ledger = open_with(&path, Some(strict()));
    assert_eq!(
        untrusted_id(&ledger.ingest(&forged, Origin::new("6")).unwrap()),
        id
    );
    assert_eq!(ledger.quarantine().unwrap().len(), 2);
    // Released, it leaves the index: the next forged copy is quarantined anew (the policy is
    // checked before de-duplication), under a new id.
    assert!(matches!(
        ledger.release(id).unwrap(),
        IngestOutcome::Appended { .. }
    ));
    let again = untrusted_id(&ledger.ingest(&forged, Origin::new("7")).unwrap());
    assert!(again > id);
    assert_eq!(ledger.quarantine().unwrap().len(), 2);
    assert!(ledger.verify().unwrap().is_clean());
}

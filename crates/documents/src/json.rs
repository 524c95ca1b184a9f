//! One function per JSON document, as the README's "JSON contract" describes them. The CLI
//! prints these with `--json`; `ledger serve` answers with the same.

use chrono::{DateTime, SecondsFormat, Utc};
use ledger::{
    DefaultAction, DomainState, FailedCreate, IngestOutcome, Inventory, Order, PendingTransfer,
    QuarantineEntry, QuarantineReason, Stats,
};
use ledger_event::Event;
use ledger_parser::{DstFlag, Status};
use serde_json::{Value, json};

/// An RFC 3339 UTC instant, as in the JSON contract (`2010-05-22T00:43:53Z`).
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An optional instant (`null` when unknown).
pub fn time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(rfc3339(t)))
}

/// A status: `{"code", "class", "text"}`, or `null`.
pub fn status(status: Option<&Status>) -> Value {
    match status {
        Some(s) => json!({ "code": s.code, "class": s.class.name(), "text": s.text }),
        None => Value::Null,
    }
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    ledger_event::to_hex(bytes)
}

/// The flags of an event: `dst_gap` / `dst_overlap` when a time of its transfer timetable fell
/// in a DST gap or overlap of the source zone, `time_recorded` when it has no time of its own
/// (a mail without `Date`, no `created`) and is ordered by when it was recorded.
pub fn event_flags(event: &Event) -> Vec<&'static str> {
    let tt = &event.notification.timetable;
    let readings = [&tt.start, &tt.reminder, &tt.autoack, &tt.autonack, &tt.end];
    let has = |flag: DstFlag| {
        readings
            .iter()
            .filter_map(|r| r.as_ref())
            .any(|r| r.dst == flag)
    };
    let mut flags = Vec::new();
    if has(DstFlag::Gap) {
        flags.push("dst_gap");
    }
    if has(DstFlag::Overlap) {
        flags.push("dst_overlap");
    }
    if event.occurred_at.is_none() {
        flags.push("time_recorded");
    }
    flags
}

/// Where an event's time comes from: `notification` (the mail's `Date`, else the provider's
/// `created`), or `recorded` (neither: when the ledger recorded it).
pub fn time_source(event: &Event) -> &'static str {
    if event.occurred_at.is_some() {
        "notification"
    } else {
        "recorded"
    }
}

/// An event (and a few more keys than the contract promises).
pub fn event(event: &Event) -> Value {
    let n = &event.notification;
    let at = |r: &Option<ledger_parser::TimeReading>| time(r.as_ref().and_then(|t| t.utc));
    json!({
        "seq": event.seq,
        "kind": event.kind.name(),
        "provider": n.provider,
        "format": n.format.name(),
        "ctid": event.ctid,
        "domain": event.domain,
        "task": n.task,
        "command": event.command,
        "status": status(n.status.as_ref()),
        "notices": n.notices.iter().map(|x| json!({"code": x.code, "text": x.text})).collect::<Vec<_>>(),
        "error": n.error,
        "kk_answer": n.kk_answer,
        "owner_c": n.owner_c,
        "nic_response": n.nic_response,
        "event_type": n.event_type,
        "timetable": {
            "start": at(&n.timetable.start),
            "reminder": at(&n.timetable.reminder),
            "autoack": at(&n.timetable.autoack),
            "autonack": at(&n.timetable.autonack),
            "end": at(&n.timetable.end),
        },
        "occurred_at": time(event.occurred_at),
        "recorded_at": rfc3339(event.recorded_at),
        "time_source": time_source(event),
        "flags": event_flags(event),
        "source": {
            "sha256": hex(&event.source.sha256),
            "message_id": event.source.message_id,
            "origin": event.source.origin.0,
        },
        "diagnostics": n.diagnostics.iter().map(|d| d.message.clone()).collect::<Vec<_>>(),
    })
}

/// Events in the order they happened (their own time, else when recorded), then by position:
/// the order of a history.
pub fn oldest_first(mut events: Vec<Event>) -> Vec<Event> {
    events.sort_by_key(|e| (e.effective_time(), e.seq));
    events
}

/// True when a pending transfer needs acting on by `by`: its deadline is at or before `by`, or
/// it is unknown (a reseller must act on a transfer whose deadline nobody can tell).
pub fn due_by(t: &PendingTransfer, by: DateTime<Utc>) -> bool {
    t.deadline_at.is_none_or(|d| d <= by)
}

/// The flags of a pending transfer: `deadline_unknown`, `dst_gap` / `dst_overlap` (a time of
/// its timetable in a DST gap or overlap), `time_recorded` (its start has no time of its own).
pub fn transfer_flags(t: &PendingTransfer) -> Vec<&'static str> {
    [
        (t.deadline_at.is_none(), "deadline_unknown"),
        (t.dst_gap, "dst_gap"),
        (t.dst_overlap, "dst_overlap"),
        (t.time_recorded, "time_recorded"),
    ]
    .into_iter()
    .filter_map(|(set, flag)| set.then_some(flag))
    .collect()
}

/// A pending transfer as of `at`.
pub fn transfer(t: &PendingTransfer, at: DateTime<Utc>) -> Value {
    json!({
        "domain": t.domain,
        "transaction": t.transaction,
        "started_at": time(t.started_at),
        "reminder_at": time(t.reminder_at),
        "deadline_at": time(t.deadline_at),
        "default_action": t.default_action.map(|a| match a { DefaultAction::Ack => "ack", DefaultAction::Nack => "nack" }),
        "end_at": time(t.end_at),
        "overdue": t.overdue(at),
        "flags": transfer_flags(t),
        "time_source": if t.time_recorded { "recorded" } else { "notification" },
        "seq": t.seq,
    })
}

/// The pending transfers as of `at` (`pending-transfers`).
pub fn transfers(list: &[PendingTransfer], at: DateTime<Utc>) -> Value {
    Value::Array(list.iter().map(|t| transfer(t, at)).collect())
}

/// An order's history (`show --ctid`): its state from the projections (`None`: the ctid is
/// not an order's, as AutoDNS's own transaction on a transfer out) and its events, oldest
/// first.
pub fn order_history(ctid: &str, order: Option<&Order>, events: &[Event]) -> Value {
    let state = match order {
        Some(o) => json!({
            "state": o.state.name(),
            "last_status": status(o.last_status.as_ref()),
            "domain": o.domain,
            "events": o.events,
            "last_seq": o.seq,
        }),
        None => {
            json!({"state": null, "note": "not an order: transfer-out notifications carry AutoDNS's own transaction"})
        }
    };
    json!({
        "ctid": ctid,
        "state": state,
        "events": events.iter().map(event).collect::<Vec<_>>(),
    })
}

/// What the projections say of a domain now (the `state` of `show --domain`).
pub fn domain_state(state: &DomainState, events: &[Event], now: DateTime<Utc>) -> Value {
    let owner_c = state
        .owner_c_import
        .as_ref()
        .and_then(|o| o.owner_c.clone());
    let failed: Vec<u64> = state
        .failed_creates
        .iter()
        .filter(|f| f.resolved_by.is_none())
        .map(|f| f.seq)
        .collect();
    let departed = state.departure.as_ref();
    let last = events.iter().max_by_key(|e| (e.effective_time(), e.seq));
    json!({
        "in_inventory": departed.is_none(),
        "departed": departed.map(|d| json!({"reason": d.reason, "at": rfc3339(d.at), "seq": d.seq})),
        "pending_transfer": state.pending_transfer.as_ref().map(|t| transfer(t, now)),
        "owner_c": owner_c,
        "open_failed_creates": failed,
        "last_event": last.map(|e| json!({"seq": e.seq, "kind": e.kind.name(), "status": status(e.status())})),
    })
}

/// A domain's history (`show --domain`): its name (Unicode and ASCII), its state, its events
/// oldest first.
pub fn domain_history(
    domain: &ledger_parser::DomainName,
    state: &DomainState,
    events: &[Event],
    now: DateTime<Utc>,
) -> Value {
    json!({
        "domain": domain.as_str(),
        "ascii": domain.ascii(),
        "state": domain_state(state, events, now),
        "events": events.iter().map(event).collect::<Vec<_>>(),
    })
}

/// Failed creates (`failed-creates`).
pub fn failed_creates(list: &[FailedCreate]) -> Value {
    Value::Array(
        list.iter()
            .map(|f| {
                json!({
                    "ctid": f.ctid,
                    "domain": f.domain,
                    "status": status(f.status.as_ref()),
                    "error": f.error,
                    "nic_response": f.nic_response,
                    "seq": f.seq,
                    "failed_at": rfc3339(f.failed_at),
                    "resolved_by": f.resolved_by,
                })
            })
            .collect(),
    )
}

/// Orders (`orders`).
pub fn orders(list: &[Order]) -> Value {
    Value::Array(
        list.iter()
            .map(|o| {
                json!({
                    "ctid": o.ctid,
                    "state": o.state.name(),
                    "last_status": status(o.last_status.as_ref()),
                    "domain": o.domain,
                    "events": o.events,
                    "seq": o.seq,
                })
            })
            .collect(),
    )
}

/// Departures and OwnerC imports (`inventory`).
pub fn inventory(inventory: &Inventory) -> Value {
    json!({
        "departed": inventory.departed.iter().map(|d| json!({
            "domain": d.domain,
            "reason": d.reason,
            "at": rfc3339(d.at),
            "seq": d.seq,
        })).collect::<Vec<_>>(),
        "owner_c_imports": inventory.owner_c_imports.iter().map(|o| json!({
            "domain": o.domain,
            "ctid": o.ctid,
            "owner_c": o.owner_c,
            "at": rfc3339(o.at),
            "seq": o.seq,
        })).collect::<Vec<_>>(),
    })
}

/// Why a reject is kept, as one line (an untrusted one says how to vouch for it).
pub fn reject_reason(reason: &QuarantineReason) -> String {
    match reason {
        QuarantineReason::Unparsable(text) => text.clone(),
        QuarantineReason::Untrusted(why) => {
            format!("untrusted: {why} (`ledger release ID` vouches for it)")
        }
    }
}

/// One reject.
pub fn reject(e: &QuarantineEntry) -> Value {
    json!({
        "id": e.id,
        "origin": e.origin.0,
        "reason": reject_reason(&e.reason),
        "received_at": rfc3339(e.received_at),
        "sha256": e.sha256,
        "size": e.size,
        "dismissed": e.dismissed.as_ref().map(|d| json!({"reason": d.reason, "at": rfc3339(d.at)})),
    })
}

/// Rejects (`rejects`).
pub fn rejects(list: &[QuarantineEntry]) -> Value {
    Value::Array(list.iter().map(reject).collect())
}

/// Counts and sizes (`stats`).
pub fn stats(stats: &Stats) -> Value {
    json!({
        "events": stats.events,
        "quarantined": stats.quarantined,
        "orders": stats.orders,
        "pending_transfers": stats.pending_transfers,
        "failed_creates": stats.failed_creates,
        "disk_bytes": stats.disk_bytes,
        "kinds": stats.kinds,
    })
}

/// What became of one ingested item (an `ingest --json` item without its `path`, a push's
/// answer): `{"outcome": "ingested"|"duplicate"|"rejected", "seq", "kind", "duplicate_of",
/// "reject_id", "reason"}`, the keys that do not apply `null`.
pub fn outcome(outcome: &IngestOutcome) -> Value {
    let (name, seq, kind, duplicate_of, reject_id, reason) = match outcome {
        IngestOutcome::Appended { seq, kind } => {
            ("ingested", Some(*seq), Some(kind.name()), None, None, None)
        }
        IngestOutcome::Duplicate { of } => ("duplicate", None, None, Some(*of), None, None),
        IngestOutcome::Rejected { id, reason } => (
            "rejected",
            None,
            None,
            None,
            Some(*id),
            Some(reason.as_str()),
        ),
    };
    json!({
        "outcome": name,
        "seq": seq,
        "kind": kind,
        "duplicate_of": duplicate_of,
        "reject_id": reject_id,
        "reason": reason,
    })
}

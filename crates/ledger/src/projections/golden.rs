//! Golden bytes of every projection record: a record of each tree with every field set,
//! encoded, must equal the bytes in `tests/golden/views/<tree>.bin` and decode back to itself.
//! A change of a record's layout fails here: it needs a new views version (the views are
//! rebuilt when it changes) and new golden files, written deliberately with
//! `cargo test -p ledger --lib -- --ignored write_views_golden`.

use std::fmt::Debug;

use super::{ProjectionId, failed_creates, inventory, orders, transfers};
use crate::codec::{decode, encode};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/views");

/// Checks that golden bytes decode back to a sample (the error says how not).
type DecodesBack = Box<dyn Fn(&[u8]) -> Result<(), String>>;

/// One sample per tree, with how to check that the golden bytes decode back to it.
struct Sample {
    id: ProjectionId,
    bytes: Vec<u8>,
    decodes_back: DecodesBack,
}

fn sample<R>(id: ProjectionId, record: R) -> Sample
where
    R: bincode::Encode + bincode::Decode<()> + PartialEq + Debug + 'static,
{
    let bytes = encode(&record, id.name()).expect("a sample encodes");
    Sample {
        id,
        bytes,
        decodes_back: Box::new(move |golden| match decode::<R>(golden, id.name()) {
            Ok(decoded) if decoded == record => Ok(()),
            Ok(decoded) => Err(format!("decodes to {decoded:?}, not {record:?}")),
            Err(e) => Err(e.to_string()),
        }),
    }
}

fn samples() -> Vec<Sample> {
    let samples = vec![
        sample(
            ProjectionId::Transfers,
            transfers::samples::transfer_record(),
        ),
        sample(ProjectionId::Orders, orders::sample()),
        sample(
            ProjectionId::FailedCreates,
            failed_creates::samples::failure(),
        ),
        sample(ProjectionId::CreateMarks, failed_creates::samples::marks()),
        sample(ProjectionId::Departures, inventory::samples::departure()),
        sample(ProjectionId::OwnerCImports, inventory::samples::import()),
        sample(ProjectionId::KindCounts, 70_000u64),
        sample(
            ProjectionId::TransfersOpen,
            transfers::samples::open_transfer(),
        ),
        sample(ProjectionId::TransfersByWeek, ()),
        sample(ProjectionId::TransfersLatest, -1_717_027_200_000_000i64),
        sample(ProjectionId::Counts, 250u64),
        sample(ProjectionId::OrdersByState, ()),
        sample(
            ProjectionId::TransfersByDeadline,
            transfers::samples::open_transfer(),
        ),
        sample(ProjectionId::TransferSpans, ()),
    ];
    let ids: Vec<ProjectionId> = samples.iter().map(|s| s.id).collect();
    assert_eq!(ids, ProjectionId::ALL, "one sample per tree");
    samples
}

fn path(id: ProjectionId) -> String {
    format!("{GOLDEN}/{}.bin", id.name())
}

#[test]
fn every_projection_record_encodes_as_its_golden_bytes() {
    for sample in samples() {
        let path = path(sample.id);
        let golden = std::fs::read(&path).unwrap_or_else(|e| {
            panic!("{path}: {e}; write it once with `cargo test -p ledger --lib -- --ignored write_views_golden`")
        });
        assert!(
            sample.bytes == golden,
            "{}: the encoding changed (a new views version needs new golden files)",
            sample.id.name()
        );
        if let Err(why) = (sample.decodes_back)(&golden) {
            panic!("{}: the golden bytes {why}", sample.id.name());
        }
    }
}

/// The bare-key trees (indexes) store empty values.
#[test]
fn index_trees_store_empty_values() {
    for id in [
        ProjectionId::TransfersByWeek,
        ProjectionId::OrdersByState,
        ProjectionId::TransferSpans,
    ] {
        let sample = samples()
            .into_iter()
            .find(|s| s.id == id)
            .expect("a sample");
        assert!(sample.bytes.is_empty(), "{}", id.name());
    }
}

/// Writes the golden files. Run deliberately, once per change of a record's layout (with a
/// new views version), and commit the files.
#[test]
#[ignore = "writes tests/golden/views/*.bin; run only when a record layout changes on purpose"]
fn write_views_golden() {
    std::fs::create_dir_all(GOLDEN).expect("create the golden folder");
    for sample in samples() {
        std::fs::write(path(sample.id), &sample.bytes).expect("write a golden file");
    }
}

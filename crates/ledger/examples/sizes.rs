//! Sums key and value bytes per key prefix of a ledger's `log` and `views` trees (layout 2):
//! `cargo run -p ledger --release --example sizes -- LEDGER`.

use std::collections::BTreeMap;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::path::PathBuf::from(std::env::args().nth(1).ok_or("usage: sizes LEDGER")?);
    for (db, tree) in [("log", "log"), ("views", "views")] {
        let db = sled::open(path.join(db))?;
        let tree = db.open_tree(tree)?;
        let mut sums: BTreeMap<u8, (u64, u64, u64)> = BTreeMap::new();
        for entry in tree.iter() {
            let (k, v) = entry?;
            let slot = sums.entry(k.first().copied().unwrap_or(0)).or_default();
            slot.0 += 1;
            slot.1 += k.len() as u64;
            slot.2 += v.len() as u64;
        }
        for (prefix, (n, k, v)) in sums {
            println!(
                "{prefix:>3} {:?}: {n} entries, keys {k} B, values {v} B, {:.0} B/entry",
                prefix as char,
                (k + v) as f64 / n as f64
            );
        }
    }
    Ok(())
}

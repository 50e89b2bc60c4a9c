//! Household CSV importer (`gridmap import x.csv`). Invariants: each update's origin is
//! `fuzz.csv:LINE` with lines after the header, increasing; never more updates than lines.
#![no_main]
mod common;

use gridmap_import::{read_household_csv_from, NoProgress};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match read_household_csv_from(data, data.len() as u64, "fuzz.csv", "fuzz.csv", &NoProgress) {
        Ok(updates) => {
            let lines = data.iter().filter(|&&b| b == b'\n' || b == b'\r').count() + 1;
            assert!(
                updates.len() < lines.max(2),
                "{} updates from {lines} lines",
                updates.len()
            );
            let mut last = 1u64;
            for u in &updates {
                let line: u64 = u
                    .origin
                    .strip_prefix("fuzz.csv:")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or_else(|| panic!("origin {:?}", u.origin));
                assert!(
                    line > last,
                    "origin lines not increasing: {} after {last}",
                    u.origin
                );
                last = line;
            }
        }
        Err(e) => common::render(&e),
    }
});

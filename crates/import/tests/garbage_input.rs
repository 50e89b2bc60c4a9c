//! Garbage in, error out: never a panic.
use gridmap_import::{import_file, ImportError, ImportOptions, NoProgress};

fn write(name: &str, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    (dir, p)
}

fn garbage(n: usize) -> Vec<u8> {
    // Deterministic pseudo-random bytes (xorshift).
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x & 0xFF) as u8
        })
        .collect()
}

#[test]
fn garbage_bytes_are_an_error_for_every_format() {
    for name in ["x.osm.pbf", "x.osm", "x.geojson", "x.osm.gz", "x.bin"] {
        let (_d, p) = write(name, &garbage(4096));
        let e = import_file(&p, &ImportOptions::default(), &NoProgress).unwrap_err();
        assert!(e.to_string().contains(name), "{name}: {e}");
    }
}

#[test]
fn an_empty_pbf_is_an_error() {
    let (_d, p) = write("empty.osm.pbf", b"");
    assert!(matches!(
        import_file(&p, &ImportOptions::default(), &NoProgress),
        Err(ImportError::Pbf { .. })
    ));
}

#[test]
fn xml_that_is_not_osm_is_an_error() {
    let (_d, p) = write("x.osm", b"<?xml version='1.0'?><html><body/></html>");
    let e = import_file(&p, &ImportOptions::default(), &NoProgress).unwrap_err();
    assert!(e.to_string().contains("expected <osm>"), "{e}");
    let (_d, p) = write("y.osm", b"<osm><node id='1' lat='x' lon='2'/></osm>");
    let e = import_file(&p, &ImportOptions::default(), &NoProgress).unwrap_err();
    assert!(
        e.to_string().contains("lat") && e.to_string().contains(":1:"),
        "{e}"
    );
    let (_d, p) = write("z.osm", b"<osm>\n<way id='1'>\n</node>\n</osm>");
    let e = import_file(&p, &ImportOptions::default(), &NoProgress).unwrap_err();
    assert!(matches!(e, ImportError::Xml { line: 3, .. }), "{e}");
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let e = import_file(
        std::path::Path::new("/nonexistent/city.osm.pbf"),
        &ImportOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        matches!(e, ImportError::Io { .. }) && e.to_string().contains("city.osm.pbf"),
        "{e}"
    );
}

/// Found by the osm_pbf_import fuzz target: a relation member type outside node/way/relation
/// (here 96) made the osmpbf decoder unwrap and panic; it is a corrupt-PBF error naming the file.
#[test]
fn a_pbf_relation_member_of_unknown_type_is_an_error() {
    let p = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/bad_member_type.osm.pbf"
    ));
    match gridmap_import::read_osm_pbf(p, &ImportOptions::default(), &NoProgress) {
        Err(e @ ImportError::Pbf { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("bad_member_type.osm.pbf") && msg.contains("malformed data block"),
                "{msg}"
            );
        }
        other => panic!(
            "expected a PBF error, got {:?}",
            other.map(|(_, r)| r.counts)
        ),
    }
}

//! `If-Match` / `If-None-Match` headers of edits. Invariants: `*` is Any; every version read
//! from a list matches itself under `check`; the ETag the server sends for version N reads
//! back as exactly [N].
#![no_main]

use axum::http::header::{IF_MATCH, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue};
use gridmap_server::etag::{etag, none_match, IfMatch};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = HeaderValue::from_bytes(data) {
        let mut h = HeaderMap::new();
        h.insert(IF_MATCH, v.clone());
        h.insert(IF_NONE_MATCH, v);
        match IfMatch::from_headers(&h) {
            Ok(Some(IfMatch::Any)) => assert_eq!(std::str::from_utf8(data).map(str::trim), Ok("*")),
            Ok(Some(m @ IfMatch::Versions(_))) => {
                let IfMatch::Versions(vs) = &m else {
                    unreachable!()
                };
                for &n in vs {
                    assert_eq!(m.check("grid", "g", n).ok(), Some(n));
                }
            }
            Ok(None) => panic!("If-Match present but read as absent"),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
        let _ = none_match(&h, "\"1\"");
    }
    // Our own ETag for any version reads back as that version, alone or in a list.
    let mut b = [0u8; 8];
    let n = data.len().min(8);
    b[..n].copy_from_slice(&data[..n]);
    let version = i64::from_le_bytes(b);
    let tag = etag(version);
    for header in [
        tag.clone(),
        format!("W/\"x\", {tag}"),
        format!("{tag},\"other\""),
    ] {
        let mut h = HeaderMap::new();
        h.insert(
            IF_MATCH,
            HeaderValue::from_str(&header).expect("etag is a header value"),
        );
        assert_eq!(
            IfMatch::from_headers(&h).ok().flatten(),
            Some(IfMatch::Versions(vec![version])),
            "{header}"
        );
        let mut h = HeaderMap::new();
        h.insert(
            IF_NONE_MATCH,
            HeaderValue::from_str(&header).expect("etag is a header value"),
        );
        assert!(none_match(&h, &tag), "{header}");
    }
});

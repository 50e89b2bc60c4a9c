//! Query strings of the feature endpoints, decoded as the server decodes them (axum `Query`
//! into pairs) and parsed by `ItemsQuery::parse` for every collection, with and without the
//! OGC-only parameters; every value also goes through the single-value parsers (`limit`,
//! `crs`, `bbox` in each supported CRS). Invariants: limit in 1..=MAX_LIMIT; bbox boxes are
//! ordered (min <= max, so no NaN) and at most two; a parsed CRS parses again from its URI and
//! its `Content-Crs` header; paging links (`with_paging`) decode back to the same parameters.
#![no_main]

use axum::extract::Query;
use axum::http::Uri;
use gridmap_server::crs::{ApiCrs, SUPPORTED};
use gridmap_server::query::{parse_bbox, parse_count, with_paging, ItemsQuery, MAX_LIMIT};
use gridmap_server::snapshot::Collection;
use libfuzzer_sys::fuzz_target;

fn decode(query: &str) -> Option<Vec<(String, String)>> {
    let uri: Uri = format!("/collections/buildings/items?{query}")
        .parse()
        .ok()?;
    Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .ok()
        .map(|q| q.0)
}

fn check_boxes(boxes: &[[f64; 4]], input: &str) {
    assert!(boxes.len() <= 2, "{input:?} gave {} boxes", boxes.len());
    for b in boxes {
        assert!(
            b[0] <= b[2] && b[1] <= b[3],
            "bbox {input:?} gave an unordered or NaN box {b:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Some(pairs) = decode(s) else { return };
    for c in Collection::ALL {
        for ogc in [true, false] {
            match ItemsQuery::parse(c, pairs.clone(), ogc) {
                Ok(q) => {
                    assert!((1..=MAX_LIMIT).contains(&q.limit), "limit {}", q.limit);
                    if let Some(b) = &q.bbox {
                        check_boxes(b, s);
                    }
                }
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
    }
    for (_, v) in &pairs {
        if let Ok(n) = parse_count("limit", v, 1) {
            assert!(n >= 1);
        }
        if let Ok(c) = ApiCrs::parse("crs", v) {
            assert_eq!(ApiCrs::parse("crs", c.uri).ok(), Some(c));
            assert_eq!(ApiCrs::parse("crs", &c.header()).ok(), Some(c));
        }
        for uri in SUPPORTED {
            let crs = ApiCrs::parse("bbox-crs", uri).expect("supported CRS parses");
            if let Ok(boxes) = parse_bbox(v, &crs) {
                check_boxes(&boxes, v);
            }
        }
    }
    let link = with_paging(&pairs, 20, 10);
    let back = decode(&link).unwrap_or_else(|| panic!("paging link {link:?} does not decode"));
    let mut want: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "offset" && k != "limit")
        .cloned()
        .collect();
    want.push(("limit".into(), "10".into()));
    want.push(("offset".into(), "20".into()));
    assert_eq!(back, want, "paging link {link:?}");
});

//! The small lattice city the service's integration tests share: a 10×10 lattice of streets
//! 120 m apart, 81 buildings between them, 2 canteens in one corner.
#![allow(dead_code)]
use geo_types::{polygon, LineString, MultiPolygon, Point};
use gridmap_model::*;

pub const LON0: f64 = 7.42;
pub const LAT0: f64 = 43.73;
pub const M: f64 = 1.0 / 111_195.0;

pub fn pos(x: f64, y: f64) -> (f64, f64) {
    (LON0 + x * M * 1.38, LAT0 + y * M)
}

/// A 10×10 lattice of streets 120 m apart, 81 buildings, 2 canteens in one corner.
pub fn city() -> Dataset {
    let mut ways = Vec::new();
    for i in 0..10 {
        for j in 0..9 {
            let (a, b) = (
                pos(f64::from(i) * 120.0, f64::from(j) * 120.0),
                pos(f64::from(i) * 120.0, f64::from(j + 1) * 120.0),
            );
            let (c, d) = (
                pos(f64::from(j) * 120.0, f64::from(i) * 120.0),
                pos(f64::from(j + 1) * 120.0, f64::from(i) * 120.0),
            );
            for (n, (p, q)) in [(a, b), (c, d)].into_iter().enumerate() {
                ways.push(NetworkWay {
                    id: WayId::new(format!("w{i}-{j}-{n}")),
                    geometry: LineString::from(vec![p, q]),
                    tags: Default::default(),
                    length_m: None,
                });
            }
        }
    }
    let buildings: Vec<Building> = (0..81)
        .map(|i| {
            let (lon, lat) = pos(60.0 + f64::from(i % 9) * 120.0, 60.0 + f64::from(i / 9) * 120.0);
            let d = 5.0 * M;
            Building {
                id: BuildingId::new(format!("b{i:02}")),
                name: None,
                building_type: None,
                address: None,
                footprint: MultiPolygon(vec![polygon![
                    (x: lon - d, y: lat - d), (x: lon + d, y: lat - d), (x: lon + d, y: lat + d), (x: lon - d, y: lat + d), (x: lon - d, y: lat - d)
                ]]),
                entrance: None,
                levels: None,
                households: 10 + (i as u32 * 7) % 40,
                households_source: HouseholdSource::Estimated,
                elderly: Some(i as u32 % 5),
                steward: None,
                compound: None,
                community: None,
            }
        })
        .collect();
    let facilities = (0..2)
        .map(|i| {
            facility(
                &format!("f{i}"),
                FacilityKind::Canteen,
                0.0,
                120.0 * f64::from(i),
            )
        })
        .collect();
    Dataset {
        buildings: buildings.into(),
        facilities: SharedVec::new(facilities),
        ways: ways.into(),
        ..Dataset::default()
    }
}

pub fn facility(id: &str, kind: FacilityKind, x: f64, y: f64) -> Facility {
    let (lon, lat) = pos(x, y);
    Facility {
        id: FacilityId::new(id),
        kind,
        name: None,
        location: Point::new(lon, lat),
        capacity: None,
        opening_hours: None,
    }
}

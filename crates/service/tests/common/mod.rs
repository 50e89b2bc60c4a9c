//! What the service's integration tests build their small cities of: a street lattice, square
//! buildings and facilities placed in metres from one origin, and the shared 10×10 city.
#![allow(dead_code)]
use geo_types::{polygon, LineString, MultiPolygon, Point};
use gridmap_model::*;

pub const LON0: f64 = 7.42;
pub const LAT0: f64 = 43.73;
pub const M: f64 = 1.0 / 111_195.0;

pub fn pos(x: f64, y: f64) -> (f64, f64) {
    (LON0 + x * M * 1.38, LAT0 + y * M)
}

/// The streets of an `n`×`n` lattice `spacing` metres apart, one way per block side.
pub fn lattice(n: u32, spacing: f64) -> Vec<NetworkWay> {
    let mut ways = Vec::new();
    for i in 0..n {
        for j in 0..n - 1 {
            let (a, b) = (
                pos(f64::from(i) * spacing, f64::from(j) * spacing),
                pos(f64::from(i) * spacing, f64::from(j + 1) * spacing),
            );
            let (c, d) = (
                pos(f64::from(j) * spacing, f64::from(i) * spacing),
                pos(f64::from(j + 1) * spacing, f64::from(i) * spacing),
            );
            for (k, (p, q)) in [(a, b), (c, d)].into_iter().enumerate() {
                ways.push(NetworkWay {
                    id: WayId::new(format!("w{i}-{j}-{k}")),
                    geometry: LineString::from(vec![p, q]),
                    tags: Default::default(),
                    length_m: None,
                });
            }
        }
    }
    ways
}

/// A 10 m square building at (x, y) metres from the origin, its households estimated.
pub fn building(id: String, x: f64, y: f64, households: u32, elderly: u32) -> Building {
    let (lon, lat) = pos(x, y);
    let d = 5.0 * M;
    Building {
        id: BuildingId::new(id),
        name: None,
        building_type: None,
        address: None,
        footprint: MultiPolygon(vec![polygon![
            (x: lon - d, y: lat - d), (x: lon + d, y: lat - d), (x: lon + d, y: lat + d), (x: lon - d, y: lat + d), (x: lon - d, y: lat - d)
        ]]),
        entrance: None,
        levels: None,
        households,
        households_source: HouseholdSource::Estimated,
        elderly: Some(elderly),
        steward: None,
        compound: None,
        community: None,
    }
}

/// A 10×10 lattice of streets 120 m apart, 81 buildings, 2 canteens in one corner.
pub fn city() -> Dataset {
    let buildings: Vec<Building> = (0..81u32)
        .map(|i| {
            building(
                format!("b{i:02}"),
                60.0 + f64::from(i % 9) * 120.0,
                60.0 + f64::from(i / 9) * 120.0,
                10 + (i * 7) % 40,
                i % 5,
            )
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
        ways: lattice(10, 120.0).into(),
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

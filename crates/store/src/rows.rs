//! Row decoders shared by both backends. They are macros because sqlx rows of different
//! databases share method names but not a convenient trait bound; both backends select the
//! same column names (PostGIS geometries as `ST_AsBinary(..) AS <name>`).

/// `(Building, version)` from a row with the building columns.
macro_rules! decode_building {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        (|| -> Result<(gridmap_model::Building, i64), $crate::error::StoreError> {
            let ctx = |e| $crate::error::StoreError::db("decoding a building row", e);
            let id: String = r.try_get("id").map_err(ctx)?;
            let footprint: Vec<u8> = r.try_get("footprint").map_err(ctx)?;
            let entrance: Option<Vec<u8>> = r.try_get("entrance").map_err(ctx)?;
            let source: String = r.try_get("households_source").map_err(ctx)?;
            let b = gridmap_model::Building {
                footprint: $crate::codec::multipolygon("building", &id, "footprint", &footprint)?,
                entrance: entrance
                    .map(|e| $crate::codec::point("building", &id, "entrance", &e))
                    .transpose()?,
                name: r.try_get("name").map_err(ctx)?,
                building_type: r.try_get("building_type").map_err(ctx)?,
                address: r.try_get("address").map_err(ctx)?,
                levels: r.try_get("levels").map_err(ctx)?,
                households: $crate::codec::count(
                    "building",
                    &id,
                    "households",
                    r.try_get("households").map_err(ctx)?,
                )?,
                households_source: $crate::codec::household_source(&id, &source)?,
                elderly: $crate::codec::opt_count(
                    "building",
                    &id,
                    "elderly",
                    r.try_get("elderly").map_err(ctx)?,
                )?,
                steward: r.try_get("steward").map_err(ctx)?,
                compound: r
                    .try_get::<Option<String>, _>("compound")
                    .map_err(ctx)?
                    .map(gridmap_model::CompoundId),
                community: r
                    .try_get::<Option<String>, _>("community")
                    .map_err(ctx)?
                    .map(gridmap_model::CommunityId),
                id: gridmap_model::BuildingId(id),
            };
            Ok((b, r.try_get("version").map_err(ctx)?))
        })()
    }};
}

/// `(Facility, version)`.
macro_rules! decode_facility {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        (|| -> Result<(gridmap_model::Facility, i64), $crate::error::StoreError> {
            let ctx = |e| $crate::error::StoreError::db("decoding a facility row", e);
            let id: String = r.try_get("id").map_err(ctx)?;
            let kind: String = r.try_get("kind").map_err(ctx)?;
            let location: Vec<u8> = r.try_get("location").map_err(ctx)?;
            let f = gridmap_model::Facility {
                kind: $crate::codec::facility_kind(&id, &kind)?,
                name: r.try_get("name").map_err(ctx)?,
                location: $crate::codec::point("facility", &id, "location", &location)?,
                capacity: $crate::codec::opt_count(
                    "facility",
                    &id,
                    "capacity",
                    r.try_get("capacity").map_err(ctx)?,
                )?,
                opening_hours: r.try_get("opening_hours").map_err(ctx)?,
                id: gridmap_model::FacilityId(id),
            };
            Ok((f, r.try_get("version").map_err(ctx)?))
        })()
    }};
}

/// `(Grid, version)` with an empty building list (filled from grid_buildings by the caller).
/// `leads` is selected as text.
macro_rules! decode_grid {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        (|| -> Result<(gridmap_model::Grid, i64), $crate::error::StoreError> {
            let ctx = |e| $crate::error::StoreError::db("decoding a grid row", e);
            let id: String = r.try_get("id").map_err(ctx)?;
            let leads: String = r.try_get("leads").map_err(ctx)?;
            let version: i64 = r.try_get("version").map_err(ctx)?;
            let g = gridmap_model::Grid {
                code: r.try_get("code").map_err(ctx)?,
                name: r.try_get("name").map_err(ctx)?,
                community: r
                    .try_get::<Option<String>, _>("community")
                    .map_err(ctx)?
                    .map(gridmap_model::CommunityId),
                buildings: Vec::new(),
                leads: $crate::codec::leads(&id, &leads)?,
                boundary: $crate::codec::opt_multipolygon(
                    "grid",
                    &id,
                    "boundary",
                    r.try_get("boundary").map_err(ctx)?,
                )?,
                version,
                id: gridmap_model::GridId(id),
            };
            Ok((g, version))
        })()
    }};
}

/// `(Compound, 0)`.
macro_rules! decode_compound {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        (|| -> Result<(gridmap_model::Compound, i64), $crate::error::StoreError> {
            let ctx = |e| $crate::error::StoreError::db("decoding a compound row", e);
            let id: String = r.try_get("id").map_err(ctx)?;
            let kind: String = r.try_get("kind").map_err(ctx)?;
            let c = gridmap_model::Compound {
                name: r.try_get("name").map_err(ctx)?,
                kind: $crate::codec::compound_kind(&id, &kind)?,
                community: r
                    .try_get::<Option<String>, _>("community")
                    .map_err(ctx)?
                    .map(gridmap_model::CommunityId),
                boundary: $crate::codec::opt_multipolygon(
                    "compound",
                    &id,
                    "boundary",
                    r.try_get("boundary").map_err(ctx)?,
                )?,
                id: gridmap_model::CompoundId(id),
            };
            Ok((c, 0))
        })()
    }};
}

/// `(Community, 0)`.
macro_rules! decode_community {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        (|| -> Result<(gridmap_model::Community, i64), $crate::error::StoreError> {
            let ctx = |e| $crate::error::StoreError::db("decoding a community row", e);
            let id: String = r.try_get("id").map_err(ctx)?;
            let c = gridmap_model::Community {
                name: r.try_get("name").map_err(ctx)?,
                street: r
                    .try_get::<Option<String>, _>("street")
                    .map_err(ctx)?
                    .map(gridmap_model::StreetId),
                boundary: $crate::codec::opt_multipolygon(
                    "community",
                    &id,
                    "boundary",
                    r.try_get("boundary").map_err(ctx)?,
                )?,
                id: gridmap_model::CommunityId(id),
            };
            Ok((c, 0))
        })()
    }};
}

/// `Street`.
macro_rules! decode_street {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        (|| -> Result<gridmap_model::Street, $crate::error::StoreError> {
            let ctx = |e| $crate::error::StoreError::db("decoding a street row", e);
            let id: String = r.try_get("id").map_err(ctx)?;
            Ok(gridmap_model::Street {
                name: r.try_get("name").map_err(ctx)?,
                boundary: $crate::codec::opt_multipolygon(
                    "street",
                    &id,
                    "boundary",
                    r.try_get("boundary").map_err(ctx)?,
                )?,
                id: gridmap_model::StreetId(id),
            })
        })()
    }};
}

/// `NetworkWay`; `tags` is selected as text.
macro_rules! decode_way {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        (|| -> Result<gridmap_model::NetworkWay, $crate::error::StoreError> {
            let ctx = |e| $crate::error::StoreError::db("decoding a network way row", e);
            let id: String = r.try_get("id").map_err(ctx)?;
            let geometry: Vec<u8> = r.try_get("geometry").map_err(ctx)?;
            let tags: String = r.try_get("tags").map_err(ctx)?;
            Ok(gridmap_model::NetworkWay {
                geometry: $crate::codec::linestring("network way", &id, "geometry", &geometry)?,
                tags: $crate::codec::tags(&id, &tags)?,
                length_m: r.try_get("length_m").map_err(ctx)?,
                id: gridmap_model::WayId(id),
            })
        })()
    }};
}

//! How each of gridmap's four CRS is written down in files: an EPSG code where there is one,
//! OGC WKT for GeoPackage, ESRI WKT for a shapefile's `.prj`. GCJ-02 and BD-09 have no code:
//! they are WGS 84 / GCJ-02 lon/lat shifted by a published obfuscation, so they are written as
//! a geographic CRS on the WGS 84 datum under their own name.
use gridmap_model::crs::Crs;

/// The GeoPackage `srs_id` (the EPSG code, or gridmap's own above 990000).
pub(crate) fn srs_id(crs: Crs) -> i32 {
    match crs {
        Crs::Wgs84 => 4326,
        Crs::Cgcs2000 => 4490,
        Crs::Gcj02 => 990_002,
        Crs::Bd09 => 990_009,
    }
}

/// (srs_name, organization, organization_coordsys_id, OGC WKT definition).
pub(crate) fn gpkg_row(crs: Crs) -> (&'static str, &'static str, i32, String) {
    const DEG: &str = r#"PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]]"#;
    const WGS84_DATUM: &str = r#"DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]]"#;
    match crs {
        Crs::Wgs84 => (
            "WGS 84",
            "EPSG",
            4326,
            format!(r#"GEOGCS["WGS 84",{WGS84_DATUM},{DEG},AUTHORITY["EPSG","4326"]]"#),
        ),
        Crs::Cgcs2000 => (
            "China Geodetic Coordinate System 2000",
            "EPSG",
            4490,
            format!(
                r#"GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101,AUTHORITY["EPSG","1024"]],AUTHORITY["EPSG","1043"]],{DEG},AUTHORITY["EPSG","4490"]]"#
            ),
        ),
        Crs::Gcj02 => (
            "GCJ-02",
            "gridmap",
            990_002,
            format!(r#"GEOGCS["GCJ-02",{WGS84_DATUM},{DEG}]"#),
        ),
        Crs::Bd09 => (
            "BD-09",
            "gridmap",
            990_009,
            format!(r#"GEOGCS["BD-09",{WGS84_DATUM},{DEG}]"#),
        ),
    }
}

/// A shapefile's `.prj` (ESRI WKT, as ArcGIS and older desktop GIS expect it).
pub(crate) fn prj(crs: Crs) -> String {
    const WGS84: &str = r#"DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]"#;
    match crs {
        Crs::Wgs84 => format!(r#"GEOGCS["GCS_WGS_1984",{WGS84}]"#),
        Crs::Cgcs2000 => r#"GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#.to_owned(),
        Crs::Gcj02 => format!(r#"GEOGCS["GCJ-02",{WGS84}]"#),
        Crs::Bd09 => format!(r#"GEOGCS["BD-09",{WGS84}]"#),
    }
}

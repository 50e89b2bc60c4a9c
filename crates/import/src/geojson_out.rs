//! GeoJSON export of one layer: the inverse of the GeoJSON reader (round trip is lossless).
//! `None` fields are left out; `households_source` is written so estimated counts stay
//! estimated when read back.
use geo_types::{LineString, MultiPolygon, Point};
use geojson::{Feature, FeatureCollection, Geometry, GeometryValue, JsonObject};
use gridmap_model::crs::Crs;
use gridmap_model::{Dataset, Layer, OSM_ATTRIBUTION};
use serde_json::{json, Value};

fn mp(g: &MultiPolygon<f64>, crs: Crs) -> Geometry {
    let g = if crs.is_wgs84_equivalent() {
        g.clone()
    } else {
        crs.geometry_from_wgs84(g)
    };
    Geometry::new(GeometryValue::from(&g))
}

fn line(g: &LineString<f64>, crs: Crs) -> Geometry {
    let g = if crs.is_wgs84_equivalent() {
        g.clone()
    } else {
        crs.geometry_from_wgs84(g)
    };
    Geometry::new(GeometryValue::from(&g))
}

fn point(p: &Point<f64>, crs: Crs) -> Geometry {
    let (x, y) = crs.from_wgs84(p.x(), p.y());
    Geometry::new(GeometryValue::new_point([x, y]))
}

struct Props(JsonObject);

impl Props {
    fn new(id: &str) -> Self {
        let mut m = JsonObject::new();
        m.insert("id".into(), Value::String(id.to_owned()));
        Self(m)
    }
    fn set(mut self, k: &str, v: impl Into<Value>) -> Self {
        self.0.insert(k.to_owned(), v.into());
        self
    }
    fn opt<V: Into<Value>>(self, k: &str, v: Option<V>) -> Self {
        match v {
            Some(v) => self.set(k, v),
            None => self,
        }
    }
}

fn feature(geometry: Option<Geometry>, p: Props) -> Feature {
    Feature {
        bbox: None,
        geometry,
        id: None,
        properties: Some(p.0),
        foreign_members: None,
    }
}

/// Exports one layer of a dataset as a FeatureCollection, coordinates converted to `crs`.
/// Non-WGS84 output carries a legacy `crs` member naming its system, which the reader honours.
pub fn to_geojson(ds: &Dataset, layer: Layer, crs: Crs) -> FeatureCollection {
    let features: Vec<Feature> = match layer {
        Layer::Buildings => ds
            .buildings
            .iter()
            .map(|b| {
                let p = Props::new(b.id.as_str())
                    .opt("name", b.name.clone())
                    .opt("building", b.building_type.clone())
                    .opt("address", b.address.clone())
                    .opt("levels", b.levels)
                    .set("households", b.households)
                    .set("households_source", b.households_source.as_str())
                    .opt("elderly", b.elderly)
                    .opt("steward", b.steward.clone())
                    .opt("compound", b.compound.as_ref().map(|c| c.0.clone()))
                    .opt("community", b.community.as_ref().map(|c| c.0.clone()))
                    .opt(
                        "entrance",
                        b.entrance.map(|e| {
                            let (x, y) = crs.from_wgs84(e.x(), e.y());
                            json!([x, y])
                        }),
                    )
                    .set("area_m2", (b.area_m2() * 10.0).round() / 10.0);
                feature(Some(mp(&b.footprint, crs)), p)
            })
            .collect(),
        Layer::Facilities => ds
            .facilities
            .iter()
            .map(|f| {
                let p = Props::new(f.id.as_str())
                    .set("kind", f.kind.as_str())
                    .opt("name", f.name.clone())
                    .opt("capacity", f.capacity)
                    .opt("opening_hours", f.opening_hours.clone());
                feature(Some(point(&f.location, crs)), p)
            })
            .collect(),
        Layer::Compounds => ds
            .compounds
            .iter()
            .map(|c| {
                let p = Props::new(c.id.as_str())
                    .opt("name", c.name.clone())
                    .set("kind", c.kind.as_str())
                    .opt("community", c.community.as_ref().map(|x| x.0.clone()));
                feature(c.boundary.as_ref().map(|b| mp(b, crs)), p)
            })
            .collect(),
        Layer::Communities => ds
            .communities
            .iter()
            .map(|c| {
                let p = Props::new(c.id.as_str())
                    .set("name", c.name.clone())
                    .opt("street", c.street.as_ref().map(|s| s.0.clone()));
                feature(c.boundary.as_ref().map(|b| mp(b, crs)), p)
            })
            .collect(),
        Layer::Streets => ds
            .streets
            .iter()
            .map(|s| {
                feature(
                    s.boundary.as_ref().map(|b| mp(b, crs)),
                    Props::new(s.id.as_str()).set("name", s.name.clone()),
                )
            })
            .collect(),
        Layer::Grids => ds
            .grids
            .iter()
            .map(|g| {
                let p = Props::new(g.id.as_str())
                    .set("code", g.code.clone())
                    .opt("name", g.name.clone())
                    .opt("community", g.community.as_ref().map(|c| c.0.clone()))
                    .set(
                        "buildings",
                        g.buildings.iter().map(|b| b.0.clone()).collect::<Vec<_>>(),
                    )
                    .set(
                        "leads",
                        g.leads.iter().map(|u| u.0.clone()).collect::<Vec<_>>(),
                    )
                    .set("version", g.version);
                feature(g.boundary.as_ref().map(|b| mp(b, crs)), p)
            })
            .collect(),
        Layer::Network => ds
            .ways
            .iter()
            .map(|w| {
                let mut p = Props::new(w.id.as_str());
                for (k, v) in &w.tags {
                    if k != "id" && k != "length_m" {
                        p = p.set(k, v.clone());
                    }
                }
                feature(Some(line(&w.geometry, crs)), p.opt("length_m", w.length_m))
            })
            .collect(),
    };
    let mut fc = FeatureCollection {
        bbox: None,
        features,
        foreign_members: None,
    };
    let mut members = JsonObject::new();
    members.insert(
        "attribution".into(),
        Value::String(OSM_ATTRIBUTION.to_owned()),
    );
    let crs_name = match crs {
        Crs::Wgs84 => None,
        Crs::Cgcs2000 => Some("urn:ogc:def:crs:EPSG::4490"),
        Crs::Gcj02 => Some("GCJ02"),
        Crs::Bd09 => Some("BD09"),
    };
    if let Some(name) = crs_name {
        members.insert(
            "crs".into(),
            json!({"type": "name", "properties": {"name": name}}),
        );
    }
    fc.foreign_members = Some(members);
    fc
}

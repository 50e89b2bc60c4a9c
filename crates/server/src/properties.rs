//! The property table: one list of (name, type, description) per collection. It is the single
//! declaration every client-facing description is derived from, so they cannot disagree:
//! the GeoJSON features (every declared property on every feature, `null` where unknown —
//! clients such as QGIS build their field list from the features they read), the OGC API
//! Part 5 schema (`/collections/{id}/schema`), the typed queryables, and the fields of the
//! TileJSON `vector_layers` (the scalar properties, carried by the tiles).
use crate::snapshot::Collection;
use serde_json::{json, Map, Value};

/// JSON type of a property's values (besides `null`, which every property may be).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropType {
    String,
    Integer,
    Number,
    /// An array of strings (ids): in GeoJSON, not in tiles.
    StringList,
}

impl PropType {
    /// JSON Schema of a (nullable) value of this type.
    pub fn json_schema(self) -> Value {
        match self {
            Self::String => json!({"type": ["string", "null"]}),
            Self::Integer => json!({"type": ["integer", "null"]}),
            Self::Number => json!({"type": ["number", "null"]}),
            Self::StringList => json!({"type": ["array", "null"], "items": {"type": "string"}}),
        }
    }
    /// TileJSON field type (`None`: not carried in tiles).
    pub fn tilejson(self) -> Option<&'static str> {
        match self {
            Self::String => Some("String"),
            Self::Integer | Self::Number => Some("Number"),
            Self::StringList => None,
        }
    }
}

/// One declared property of a collection's features.
#[derive(Clone, Copy, Debug)]
pub struct Property {
    pub name: &'static str,
    pub ty: PropType,
    pub description: &'static str,
    /// Computed by the server: sent back in an edit it is ignored.
    pub read_only: bool,
}

const fn p(name: &'static str, ty: PropType, description: &'static str) -> Property {
    Property {
        name,
        ty,
        description,
        read_only: false,
    }
}

const fn ro(name: &'static str, ty: PropType, description: &'static str) -> Property {
    Property {
        name,
        ty,
        description,
        read_only: true,
    }
}

use PropType::{Integer, Number, String as Str, StringList};

const BUILDINGS: &[Property] = &[
    p("name", Str, "Building name, when mapped"),
    p(
        "building_type",
        Str,
        "OSM building=* value (apartments, residential, yes, ...)",
    ),
    p("address", Str, "Street address, when mapped"),
    p(
        "levels",
        Number,
        "Number of storeys (OSM building:levels); null when not mapped",
    ),
    p("households", Integer, "Households living in the building"),
    p(
        "households_source",
        Str,
        "Where the household count came from: estimated, imported or edited",
    ),
    p(
        "elderly",
        Integer,
        "Residents aged 65 or more; null when not known",
    ),
    p(
        "steward",
        Str,
        "The building's steward (楼长), when recorded",
    ),
    p(
        "compound",
        Str,
        "Id of the residential compound (小区) the building is in",
    ),
    p(
        "community",
        Str,
        "Id of the community (社区) the building is in",
    ),
    p(
        "grid",
        Str,
        "Id of the grid (网格) the building is in; null when in none",
    ),
    p("area_m2", Number, "Footprint area in square metres"),
];

const COMPOUNDS: &[Property] = &[
    p("name", Str, "Compound name"),
    p(
        "kind",
        Str,
        "commercial, resettlement, handed_over, old, work_unit, village or mixed",
    ),
    p("community", Str, "Id of the community the compound is in"),
    ro("buildings", Integer, "Number of its buildings"),
    ro("households", Integer, "Households in its buildings"),
    ro(
        "elderly",
        Integer,
        "Known elderly residents in its buildings",
    ),
    ro(
        "geometry_source",
        Str,
        "boundary (mapped) or buildings_hull (the hull of its buildings)",
    ),
];

const COMMUNITIES: &[Property] = &[
    p("name", Str, "Community name"),
    p(
        "street",
        Str,
        "Id of the street office (街道) the community belongs to",
    ),
    ro("buildings", Integer, "Number of its buildings"),
    ro("households", Integer, "Households in its buildings"),
    ro(
        "elderly",
        Integer,
        "Known elderly residents in its buildings",
    ),
    ro("grids", Integer, "Number of grids cut in it"),
    ro(
        "geometry_source",
        Str,
        "boundary (mapped) or buildings_hull (the hull of its buildings)",
    ),
];

const GRIDS: &[Property] = &[
    p("code", Str, "Stable grid code, e.g. MC-03"),
    p("name", Str, "Grid name"),
    p("community", Str, "Id of the community the grid is cut in"),
    p("buildings", StringList, "Ids of its member buildings"),
    p("leads", StringList, "User ids of its grid leads"),
    ro("building_count", Integer, "Number of member buildings"),
    ro("households", Integer, "Households in its buildings"),
    ro(
        "elderly",
        Integer,
        "Known elderly residents in its buildings",
    ),
    ro(
        "version",
        Integer,
        "Edit version (the ETag); bumped by every edit",
    ),
    ro(
        "geometry_source",
        Str,
        "boundary (drawn), buildings (its member footprints) or none",
    ),
];

const FACILITIES: &[Property] = &[
    p(
        "kind",
        Str,
        "service_station, canteen, reading_room, outreach_point, other, or a free-form kind",
    ),
    ro("kind_label", Str, "Chinese label of a known kind"),
    p("name", Str, "Facility name"),
    p("capacity", Integer, "Places or seats; null when not known"),
    p("opening_hours", Str, "OSM opening_hours syntax"),
];

impl Collection {
    /// Every property a feature of this collection carries, in the documented order.
    pub fn properties(self) -> &'static [Property] {
        match self {
            Self::Buildings => BUILDINGS,
            Self::Compounds => COMPOUNDS,
            Self::Communities => COMMUNITIES,
            Self::Grids => GRIDS,
            Self::Facilities => FACILITIES,
        }
    }

    /// A declared property by name.
    pub fn property(self, name: &str) -> Option<&'static Property> {
        self.properties().iter().find(|p| p.name == name)
    }

    /// The properties carried in vector tiles (the scalar ones), with their TileJSON types.
    pub fn tile_fields(self) -> impl Iterator<Item = (&'static str, &'static str)> {
        self.properties()
            .iter()
            .filter_map(|p| p.ty.tilejson().map(|t| (p.name, t)))
    }

    /// Fills in every declared property missing from `props` as `null` and drops undeclared
    /// ones, so every feature of the collection has the same fields.
    pub fn complete(self, props: &mut Map<String, Value>) {
        let decl = self.properties();
        props.retain(|k, _| decl.iter().any(|p| p.name == k));
        for p in decl {
            props.entry(p.name).or_insert(Value::Null);
        }
    }

    /// The JSON Schema (2020-12) of a feature's properties object plus its id and geometry
    /// roles: the OGC API - Features Part 5 schema of the collection.
    pub fn schema(self, id_url: &str) -> Value {
        let mut props = Map::new();
        props.insert(
            "id".into(),
            json!({"type": "string", "title": "id", "description": "Feature id", "x-ogc-role": "id"}),
        );
        props.insert(
            "geometry".into(),
            json!({"title": "geometry", "x-ogc-role": "primary-geometry",
                   "format": format!("geometry-{}", self.geometry_type().to_ascii_lowercase())}),
        );
        for p in self.properties() {
            let mut s = p.ty.json_schema();
            s["title"] = json!(p.name);
            s["description"] = json!(p.description);
            if p.read_only {
                s["readOnly"] = json!(true);
            }
            props.insert(p.name.into(), s);
        }
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": id_url,
            "type": "object",
            "title": self.title(),
            "description": self.description(),
            "properties": props,
            "additionalProperties": false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filter_is_a_declared_string_property() {
        for c in Collection::ALL {
            for f in c.filters() {
                let p = c.property(f.name()).expect("filter is declared");
                assert_eq!(p.ty, PropType::String, "{} {}", c.id(), f.name());
            }
        }
    }

    #[test]
    fn complete_adds_nulls_and_keeps_values() {
        let mut m = Map::new();
        m.insert("households".into(), json!(12));
        m.insert("stray".into(), json!(1));
        Collection::Buildings.complete(&mut m);
        assert_eq!(m.len(), Collection::Buildings.properties().len());
        assert_eq!(m["households"], 12);
        assert!(m["levels"].is_null());
        assert!(!m.contains_key("stray"));
    }
}

//! The OpenAPI 3.1 document: operations come from the handlers' `#[utoipa::path]`; GeoJSON and
//! OGC schemas are hand-written JSON Schema (2020-12) injected here, and the well-known OGC
//! parameters (limit, bbox, crs, ...) get their precise schemas in one place.
use crate::crs::SUPPORTED;
use crate::snapshot::Collection;
use serde_json::{json, Value};
use utoipa::openapi::{InfoBuilder, LicenseBuilder, OpenApi, OpenApiBuilder};

/// Named schemas whose JSON Schema is written by hand in [`hand_written`].
pub mod schemas {
    use std::borrow::Cow;
    use utoipa::openapi::schema::{Object, Schema};
    use utoipa::openapi::RefOr;

    macro_rules! hand_schema {
        ($($t:ident),* $(,)?) => {$(
            #[doc = concat!("OpenAPI schema `", stringify!($t), "` (JSON Schema written in `openapi::hand_written`).")]
            pub struct $t;
            impl utoipa::PartialSchema for $t {
                fn schema() -> RefOr<Schema> {
                    RefOr::T(Schema::Object(Object::new()))
                }
            }
            impl utoipa::ToSchema for $t {
                fn name() -> Cow<'static, str> {
                    Cow::Borrowed(stringify!($t))
                }
            }
        )*};
    }
    hand_schema!(
        LandingPage,
        Conformance,
        Collections,
        CollectionDoc,
        FeatureCollection,
        Feature,
        Queryables,
        GridInput,
        GridPatch,
        FacilityInput,
        FacilityPatch,
        Health,
        Stats,
        Kinds,
        GridDetail,
        TileJson,
        MapStyle,
        FeatureSchema,
        CoverageSummary,
        WhatIfRequest,
        WhatIfSummary,
        PartitionRequest,
        PartitionProposal,
        AcceptResult,
        ValidateRequest,
        ValidationReport,
        RebalanceRequest,
        RebalanceResult,
    );
}

/// The document's fixed parts.
pub fn base() -> OpenApi {
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("gridmap API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(format!(
                    "Grid mapping (网格) and 15-minute coverage analysis. OGC API - Features (Parts 1-4, Part 5 schemas) at the root, \
                     REST GeoJSON under /api/, vector tiles under /tiles/ (MapLibre style: /styles/gridmap.json). Errors are RFC 9457 problem documents. \
                     Map data {}.",
                    gridmap_model::OSM_ATTRIBUTION
                )))
                .license(Some(LicenseBuilder::new().name("Apache-2.0").build()))
                .build(),
        )
        .build()
}

/// JSON Schema `pattern` of a non-blank string: at least one character that is whitespace
/// neither for ECMA-262 `\s`, Python `\s` nor Rust `char::is_whitespace` (see [`nonblank`]).
pub const NONBLANK: &str = "[^\\s\\u0085\\ufeff\\u001c-\\u001f]";

/// Whether `s` matches [`NONBLANK`]: the server's test for required names, codes and kinds.
pub fn nonblank(s: &str) -> bool {
    s.chars()
        .any(|c| !c.is_whitespace() && !matches!(c, '\u{feff}' | '\u{85}' | '\u{1c}'..='\u{1f}'))
}

fn position() -> Value {
    json!({"type": "array", "minItems": 2, "maxItems": 3,
           "prefixItems": [{"type": "number", "minimum": -180, "maximum": 180}, {"type": "number", "minimum": -90, "maximum": 90}],
           "items": {"type": "number"}})
}

fn ring() -> Value {
    json!({"type": "array", "minItems": 4, "items": position()})
}

fn links() -> Value {
    json!({"type": "array", "items": {"type": "object", "required": ["href"],
        "properties": {"href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"}, "title": {"type": "string"}}}})
}

fn nullable(t: &str) -> Value {
    json!({"type": [t, "null"]})
}

fn hand_written() -> Vec<(&'static str, Value)> {
    let geometry_out = json!({"oneOf": [
        {"type": "null"},
        {"type": "object", "required": ["type"], "properties": {
            "type": {"enum": ["Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon", "GeometryCollection"]},
            "coordinates": {"type": "array"}, "geometries": {"type": "array"}}}
    ]});
    let polygon_in = json!({"type": "object", "required": ["type", "coordinates"], "additionalProperties": false,
        "properties": {"type": {"const": "Polygon"}, "coordinates": {"type": "array", "minItems": 1, "items": ring()}}});
    let multipolygon_in = json!({"type": "object", "required": ["type", "coordinates"], "additionalProperties": false,
        "properties": {"type": {"const": "MultiPolygon"}, "coordinates": {"type": "array", "minItems": 1,
            "items": {"type": "array", "minItems": 1, "items": ring()}}}});
    let point_in = json!({"type": "object", "required": ["type", "coordinates"], "additionalProperties": false,
        "properties": {"type": {"const": "Point"}, "coordinates": position()}});
    let id_in = json!({"type": ["string", "number", "null"], "minLength": 1, "pattern": NONBLANK,
        "description": "Informative only: the path (or the server, on create) names the feature"});
    let bbox_in = json!({"type": "array", "items": {"type": "number"}});
    let string_list = json!({"type": "array", "uniqueItems": true, "items": {"type": "string"}});
    let grid_props = |required: bool| {
        let mut p = json!({"type": "object", "additionalProperties": false, "properties": {
            "code": {"type": "string", "minLength": 1, "pattern": NONBLANK, "description": "Stable grid code, e.g. MC-03"},
            "name": nullable("string"), "community": nullable("string"),
            "buildings": string_list.clone(), "leads": string_list.clone(),
            "building_count": {"type": "integer", "readOnly": true}, "households": {"type": "integer", "readOnly": true},
            "elderly": {"type": "integer", "readOnly": true}, "version": {"type": "integer", "readOnly": true},
            "geometry_source": {"type": "string", "readOnly": true}}});
        if required {
            p["required"] = json!(["code"]);
        }
        p
    };
    let facility_props = |required: bool| {
        let mut p = json!({"type": "object", "additionalProperties": false, "properties": {
            "kind": {"type": "string", "minLength": 1, "pattern": NONBLANK,
                     "description": "service_station, canteen, reading_room, outreach_point, other, or a free-form kind"},
            "name": nullable("string"),
            "capacity": {"type": ["integer", "null"], "minimum": 0, "maximum": 4294967295u64},
            "opening_hours": nullable("string"),
            "kind_label": {"type": ["string", "null"], "readOnly": true}}});
        if required {
            p["required"] = json!(["kind"]);
        }
        p
    };
    let grid_geometry = json!({"oneOf": [{"type": "null"}, polygon_in, multipolygon_in]});
    vec![
        (
            "LandingPage",
            json!({"type": "object", "required": ["links"], "properties": {
            "title": {"type": "string"}, "description": {"type": "string"}, "attribution": {"type": "string"}, "links": links()}}),
        ),
        (
            "Conformance",
            json!({"type": "object", "required": ["conformsTo"], "properties": {
            "conformsTo": {"type": "array", "items": {"type": "string"}}}}),
        ),
        (
            "CollectionDoc",
            json!({"type": "object", "required": ["id", "links"], "properties": {
            "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"}, "links": links(),
            "extent": {"type": "object"}, "crs": {"type": "array", "items": {"type": "string"}},
            "storageCrs": {"type": "string"}, "attribution": {"type": "string"}, "itemType": {"type": "string"}}}),
        ),
        (
            "Collections",
            json!({"type": "object", "required": ["links", "collections"], "properties": {
            "links": links(), "crs": {"type": "array", "items": {"type": "string"}},
            "collections": {"type": "array", "items": {"$ref": "#/components/schemas/CollectionDoc"}}}}),
        ),
        (
            "Feature",
            json!({"type": "object", "required": ["type", "geometry", "properties"], "properties": {
            "type": {"const": "Feature"}, "id": {"type": ["string", "integer"]}, "geometry": geometry_out,
            "properties": {"type": ["object", "null"]}, "links": links()}}),
        ),
        (
            "FeatureCollection",
            json!({"type": "object", "required": ["type", "features"], "properties": {
            "type": {"const": "FeatureCollection"},
            "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
            "numberMatched": {"type": "integer", "minimum": 0}, "numberReturned": {"type": "integer", "minimum": 0},
            "timeStamp": {"type": "string", "format": "date-time"}, "links": links()}}),
        ),
        (
            "Queryables",
            json!({"type": "object", "required": ["type", "properties"], "properties": {
            "type": {"const": "object"}, "properties": {"type": "object"}, "$id": {"type": "string"}}}),
        ),
        (
            "GridInput",
            json!({"type": "object", "required": ["type", "geometry", "properties"], "additionalProperties": false, "properties": {
            "type": {"const": "Feature"}, "id": id_in, "geometry": grid_geometry, "properties": grid_props(true), "links": links(), "bbox": bbox_in}}),
        ),
        (
            "GridPatch",
            json!({"type": "object", "additionalProperties": false, "properties": {
            "type": {"const": "Feature"}, "id": id_in, "geometry": grid_geometry, "properties": grid_props(false), "links": links(), "bbox": bbox_in}}),
        ),
        (
            "FacilityInput",
            json!({"type": "object", "required": ["type", "geometry", "properties"], "additionalProperties": false, "properties": {
            "type": {"const": "Feature"}, "id": id_in, "geometry": point_in, "properties": facility_props(true), "links": links(), "bbox": bbox_in}}),
        ),
        (
            "FacilityPatch",
            json!({"type": "object", "additionalProperties": false, "properties": {
            "type": {"const": "Feature"}, "id": id_in, "geometry": point_in, "properties": facility_props(false), "links": links(), "bbox": bbox_in}}),
        ),
        (
            "Health",
            json!({"type": "object", "required": ["status", "backend", "counts"], "properties": {
            "status": {"const": "ok"}, "backend": {"type": "string"},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}}}}),
        ),
        (
            "Stats",
            json!({"type": "object", "required": ["counts", "households"], "properties": {
            "counts": {"type": "object"}, "households": {"type": "object"}, "elderly": {"type": "integer"},
            "facilities_by_kind": {"type": "object"}, "facility_profile": {"type": "string"},
            "facility_label": {"type": ["string", "null"]}, "grids": {"type": "object"}, "attribution": {"type": "string"}}}),
        ),
        (
            "Kinds",
            json!({"type": "object", "required": ["profile", "kinds"], "properties": {
            "profile": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"}, "label": {"type": "string"},
                "substitutions": {"type": "array", "items": {"type": "string"}}}},
            "label": {"type": ["string", "null"]},
            "kinds": {"type": "array", "items": {"type": "object",
                "required": ["code", "zh", "en", "colour", "minutes", "facilities"], "properties": {
                "code": {"type": "string"}, "zh": {"type": "string"}, "en": {"type": "string"},
                "colour": {"type": "string"}, "minutes": {"type": "number"}, "facilities": {"type": "integer"}}}}}}),
        ),
        (
            "GridDetail",
            json!({"type": "object", "required": ["grid", "buildings", "statistics"], "properties": {
            "grid": {"$ref": "#/components/schemas/Feature"},
            "buildings": {"$ref": "#/components/schemas/FeatureCollection"},
            "statistics": {"type": "object"}}}),
        ),
        (
            "TileJson",
            json!({"type": "object", "required": ["tilejson", "tiles", "minzoom", "maxzoom", "vector_layers"], "properties": {
            "tilejson": {"type": "string"}, "tiles": {"type": "array", "items": {"type": "string"}},
            "minzoom": {"type": "integer", "minimum": 0}, "maxzoom": {"type": "integer", "minimum": 0},
            "bounds": {"type": "array", "items": {"type": "number"}}, "attribution": {"type": "string"},
            "vector_layers": {"type": "array", "items": {"type": "object", "required": ["id", "fields"], "properties": {
                "id": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"enum": ["String", "Number", "Boolean"]}},
                "minzoom": {"type": "integer", "minimum": 0}, "maxzoom": {"type": "integer", "minimum": 0}}}}}}),
        ),
        (
            "MapStyle",
            json!({"type": "object", "required": ["version", "sources", "layers"], "properties": {
            "version": {"const": 8}, "name": {"type": "string"}, "metadata": {"type": "object"},
            "sources": {"type": "object", "additionalProperties": {"type": "object", "required": ["type"], "properties": {
                "type": {"type": "string"}, "url": {"type": "string"}}}},
            "layers": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["id", "type"], "properties": {
                "id": {"type": "string"}, "type": {"type": "string"}, "source": {"type": "string"},
                "source-layer": {"type": "string"}, "minzoom": {"type": "number"}, "maxzoom": {"type": "number"},
                "paint": {"type": "object"}, "layout": {"type": "object"}}}}}}),
        ),
        (
            "FeatureSchema",
            json!({"type": "object", "required": ["$schema", "type", "properties"], "properties": {
            "$schema": {"type": "string"}, "$id": {"type": "string"}, "type": {"const": "object"},
            "title": {"type": "string"}, "description": {"type": "string"},
            "properties": {"type": "object", "additionalProperties": {"type": "object"}},
            "additionalProperties": {"type": "boolean"}}}),
        ),
    ]
}

/// Precise schema of a well-known parameter, by name and path.
fn parameter_schema(name: &str, path: &str) -> Option<Value> {
    let collections: Vec<&str> = Collection::ALL.iter().map(|c| c.id()).collect();
    Some(match name {
        "limit"
            if path.starts_with("/api/audit")
                || path.ends_with("/history")
                || path.ends_with("/corrections") =>
        {
            json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100})
        }
        "limit" => json!({"type": "integer", "minimum": 1, "default": 10}),
        "offset" => json!({"type": "integer", "minimum": 0, "default": 0}),
        "bbox" => {
            json!({"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}})
        }
        "crs" | "bbox-crs" | "Content-Crs" => json!({"type": "string", "enum": SUPPORTED}),
        // Grids and facilities items have their own documented paths (with the Part 4 methods):
        // the generic item path documents the read-only collections, so a client (or fuzzer)
        // following it meets exactly the methods it lists.
        "collectionId" if path.ends_with("/items/{featureId}") => {
            let read_only: Vec<&str> = Collection::ALL
                .iter()
                .filter(|c| !c.editable())
                .map(|c| c.id())
                .collect();
            json!({"type": "string", "enum": read_only})
        }
        "collectionId" => json!({"type": "string", "enum": collections}),
        "featureId" => json!({"type": "string", "minLength": 1}),
        "f" if path == "/" => json!({"type": "string", "enum": ["json", "html"]}),
        "f" if path.ends_with("/items") => {
            json!({"type": "string", "enum": ["json", "geojson", "fgb", "gpkg", "shp", "csv", "xlsx"]})
        }
        "f" if path.contains("/items") => json!({"type": "string", "enum": ["json", "geojson"]}),
        "f" => json!({"type": "string", "enum": ["json"]}),
        "z" => json!({"type": "integer", "minimum": 0, "maximum": crate::tiles::MAX_ZOOM}),
        "x" | "y" => json!({"type": "integer", "minimum": 0}),
        "If-Match" => {
            json!({"type": "string", "pattern": "^(\\*|(W/)?\"[^\"]*\"(\\s*,\\s*(W/)?\"[^\"]*\")*)$"})
        }
        _ => return None,
    })
}

/// Final document as JSON: hand-written schemas injected, parameters made precise.
pub fn finish(doc: &OpenApi) -> Value {
    let mut v = serde_json::to_value(doc).unwrap_or_else(|_| json!({}));
    for (name, schema) in hand_written() {
        v["components"]["schemas"][name] = schema;
    }
    if let Some(paths) = v.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for op in item.values_mut() {
                let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                    continue;
                };
                for p in params.iter_mut() {
                    let name = p
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned();
                    if let Some(s) = parameter_schema(&name, path) {
                        p["schema"] = s;
                        if name == "bbox" {
                            p["style"] = json!("form");
                            p["explode"] = json!(false);
                        }
                    }
                }
            }
        }
    }
    crate::routes::analysis::document(&mut v);
    add_edit_links(&mut v);
    add_security(&mut v);
    v
}

/// Security schemes (session cookie, Bearer API token) and, per operation, the requirement and
/// the 401/403 answers that [`crate::auth`]'s policy gives it: derived from the same table the
/// server enforces, so the document cannot drift from the behaviour.
fn add_security(v: &mut Value) {
    use crate::auth::{action, Action};
    v["components"]["securitySchemes"] = json!({
        "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE,
                    "description": "Login session from POST /api/login (HttpOnly, SameSite=Strict)."},
        "token": {"type": "http", "scheme": "bearer",
                  "description": "API token from `gridmap user token NAME` (sent as `Authorization: Bearer gm_…`)."},
    });
    let problem = |d: &str| json!({"description": d, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}});
    let Some(paths) = v.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            let Ok(m) = method.to_uppercase().parse::<axum::http::Method>() else {
                continue;
            };
            let Some(op) = op.as_object_mut() else {
                continue;
            };
            let a = action(&m, path);
            let mut responses = op.remove("responses").unwrap_or_else(|| json!({}));
            match a {
                Action::Public => {
                    op.insert("security".into(), json!([{}]));
                }
                Action::Read => {
                    op.insert(
                        "security".into(),
                        json!([{}, {"session": []}, {"token": []}]),
                    );
                    responses["401"] = problem("Credentials that name no active user, or a server that lets no anonymous callers read (`--anonymous none`)");
                }
                _ => {
                    op.insert("security".into(), json!([{"session": []}, {"token": []}]));
                    responses["401"] = problem(
                        "Not logged in (no session cookie or API token, or an expired one)",
                    );
                    responses["403"] = problem(&format!(
                        "The caller's role may not do this (open to: {})",
                        a.roles().join(", ")
                    ));
                    if let Some(desc) = op
                        .get("description")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                    {
                        op.insert(
                            "description".into(),
                            json!(format!("{desc}\n\nRoles: {}.", a.roles().join(", "))),
                        );
                    }
                }
            }
            op.insert("responses".into(), responses);
        }
    }
}

/// OpenAPI links that chain a feature's edits: the id comes from the created body (or the
/// request path) and `If-Match` from the response's `ETag`, as a client must do.
fn add_edit_links(v: &mut Value) {
    for name in ["grids", "facilities"] {
        let item = format!("/collections/{name}/items/{{featureId}}");
        let list = format!("/collections/{name}/items");
        let links = |id: &str| {
            let mut m = serde_json::Map::new();
            for (label, op) in [
                ("replace", "replace"),
                ("update", "update"),
                ("delete", "delete"),
                ("get", "get"),
            ] {
                let mut params = json!({"featureId": id});
                if label != "get" {
                    params["If-Match"] = json!("$response.header.ETag");
                }
                m.insert(
                    format!("{label}_{name}_item"),
                    json!({"operationId": format!("{op}_{name}_item"), "parameters": params}),
                );
            }
            Value::Object(m)
        };
        if let Some(r) = v.pointer_mut(&format!(
            "/paths/{}/post/responses/201",
            list.replace('/', "~1")
        )) {
            r["links"] = links("$response.body#/id");
        }
        for method in ["get", "put", "patch"] {
            if let Some(r) = v.pointer_mut(&format!(
                "/paths/{}/{method}/responses/200",
                item.replace('/', "~1")
            )) {
                r["links"] = links("$request.path.featureId");
            }
        }
    }
}

//! GeoJSON input: one FeatureCollection per file, one layer per file (see README for the
//! properties of each layer). Coordinates are parsed exactly (serde_json `float_roundtrip`)
//! and kept bit-for-bit for WGS84/CGCS2000 input; other CRSs are converted to WGS84.
use crate::error::{file_name, IdSuffix, ImportError};
use crate::input::read_all;
use crate::repair::{clean_ring, make_valid, Footprint, Unrepairable};
use crate::report::ImportReport;
use crate::{ImportOptions, Progress};
use geo_types::{coord, Coord, LineString, MultiPolygon, Point, Polygon};
use gridmap_model::crs::Crs;
use gridmap_model::households::parse_levels;
use gridmap_model::{
    Building, BuildingId, Community, CommunityId, Compound, CompoundId, CompoundKind, Dataset,
    Facility, FacilityId, FacilityKind, Grid, GridId, HouseholdSource, Layer, NetworkWay, Street,
    StreetId, UserId, WayId,
};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

type Props = Map<String, Value>;

/// Where we are, for error messages.
struct At<'a> {
    file: &'a str,
    index: usize,
    id: Option<String>,
}

impl At<'_> {
    fn id(&self) -> IdSuffix {
        IdSuffix(self.id.clone())
    }
    fn prop(&self, field: &str, message: impl Into<String>) -> ImportError {
        ImportError::Property {
            file: self.file.to_owned(),
            index: self.index,
            id: self.id(),
            field: field.to_owned(),
            message: message.into(),
        }
    }
    fn invalid(&self, e: Unrepairable) -> ImportError {
        ImportError::InvalidGeometry {
            file: self.file.to_owned(),
            index: self.index,
            id: self.id(),
            reason: e.0,
        }
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ---- typed property access -------------------------------------------------------------

fn opt_string(p: &Props, field: &str, at: &At<'_>) -> Result<Option<String>, ImportError> {
    match p.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(v) => Err(at.prop(field, format!("expected a string, found {}", json_type(v)))),
    }
}

fn opt_u32(p: &Props, field: &str, at: &At<'_>) -> Result<Option<u32>, ImportError> {
    match p.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let ok = n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    .map(|f| f as u64)
            });
            match ok.and_then(|v| u32::try_from(v).ok()) {
                Some(v) => Ok(Some(v)),
                None => Err(at.prop(field, format!("expected an integer >= 0, found {n}"))),
            }
        }
        Some(v) => Err(at.prop(
            field,
            format!("expected an integer >= 0, found {}", json_type(v)),
        )),
    }
}

fn opt_f64(p: &Props, field: &str, at: &At<'_>) -> Result<Option<f64>, ImportError> {
    match p.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| at.prop(field, "not a finite number")),
        Some(v) => Err(at.prop(field, format!("expected a number, found {}", json_type(v)))),
    }
}

fn string_list(p: &Props, field: &str, at: &At<'_>) -> Result<Vec<String>, ImportError> {
    match p.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(at.prop(
                    field,
                    format!("element {i}: expected a string, found {}", json_type(other)),
                )),
            })
            .collect(),
        Some(v) => Err(at.prop(
            field,
            format!("expected an array of strings, found {}", json_type(v)),
        )),
    }
}

fn required_id(p: &Props, feature_id: Option<&Value>, at: &At<'_>) -> Result<String, ImportError> {
    let from_props = opt_string(p, "id", at)?;
    let from_feature = match feature_id {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    match from_props.or(from_feature) {
        Some(s) if !s.trim().is_empty() => Ok(s),
        Some(_) => Err(at.prop("id", "is empty")),
        None => Err(at.prop("id", "missing (required, unique string)")),
    }
}

// ---- geometry -------------------------------------------------------------------------

/// Parsed GeoJSON geometry, coordinates already in WGS84.
enum Geom {
    Point(Coord<f64>),
    Lines(Vec<Vec<Coord<f64>>>, bool),
    Polygons(Vec<Vec<Vec<Coord<f64>>>>, bool),
    Other(String),
}

impl Geom {
    fn type_name(&self) -> String {
        match self {
            Geom::Point(_) => "Point".into(),
            Geom::Lines(_, multi) => if *multi {
                "MultiLineString"
            } else {
                "LineString"
            }
            .into(),
            Geom::Polygons(_, multi) => if *multi { "MultiPolygon" } else { "Polygon" }.into(),
            Geom::Other(t) => t.clone(),
        }
    }
}

fn position(v: &Value, crs: Crs, at: &At<'_>) -> Result<Coord<f64>, ImportError> {
    let bad = || ImportError::InvalidGeometry {
        file: at.file.to_owned(),
        index: at.index,
        id: at.id(),
        reason: format!("position {v} is not [lon, lat]"),
    };
    let a = v.as_array().filter(|a| a.len() >= 2).ok_or_else(bad)?;
    let (x, y) = (
        a[0].as_f64().ok_or_else(bad)?,
        a[1].as_f64().ok_or_else(bad)?,
    );
    if crs.is_wgs84_equivalent() {
        Ok(coord! { x: x, y: y })
    } else {
        let (x, y) = crs.to_wgs84(x, y);
        Ok(coord! { x: x, y: y })
    }
}

fn positions(v: &Value, crs: Crs, at: &At<'_>) -> Result<Vec<Coord<f64>>, ImportError> {
    v.as_array()
        .ok_or_else(|| {
            at.invalid(Unrepairable(format!(
                "expected an array of positions, found {}",
                json_type(v)
            )))
        })?
        .iter()
        .map(|p| position(p, crs, at))
        .collect()
}

fn rings(v: &Value, crs: Crs, at: &At<'_>) -> Result<Vec<Vec<Coord<f64>>>, ImportError> {
    v.as_array()
        .ok_or_else(|| {
            at.invalid(Unrepairable(format!(
                "expected an array of rings, found {}",
                json_type(v)
            )))
        })?
        .iter()
        .map(|r| positions(r, crs, at))
        .collect()
}

fn geometry(g: &Value, crs: Crs, at: &At<'_>) -> Result<Option<Geom>, ImportError> {
    let Some(obj) = g.as_object() else {
        return if g.is_null() {
            Ok(None)
        } else {
            Err(at.invalid(Unrepairable(format!("geometry is {}", json_type(g)))))
        };
    };
    let ty = obj.get("type").and_then(Value::as_str).unwrap_or("");
    let c = obj.get("coordinates").unwrap_or(&Value::Null);
    Ok(Some(match ty {
        "Point" => Geom::Point(position(c, crs, at)?),
        "LineString" => Geom::Lines(vec![positions(c, crs, at)?], false),
        "MultiLineString" => Geom::Lines(
            c.as_array().map_or_else(
                || Ok(Vec::new()),
                |a| a.iter().map(|l| positions(l, crs, at)).collect(),
            )?,
            true,
        ),
        "Polygon" => Geom::Polygons(vec![rings(c, crs, at)?], false),
        "MultiPolygon" => Geom::Polygons(
            c.as_array().map_or_else(
                || Ok(Vec::new()),
                |a| a.iter().map(|p| rings(p, crs, at)).collect(),
            )?,
            true,
        ),
        other => Geom::Other(if other.is_empty() {
            "a geometry without type".into()
        } else {
            other.to_owned()
        }),
    }))
}

/// Cleans and validates polygons into one footprint (degenerate parts and holes dropped).
fn footprint(polys: &[Vec<Vec<Coord<f64>>>]) -> Result<Footprint, Unrepairable> {
    let mut repaired = false;
    let mut out = Vec::new();
    let mut first_err = None;
    for rings in polys {
        let Some(shell) = rings.first() else { continue };
        let shell = match clean_ring(shell) {
            Ok(s) => s,
            Err(e) => {
                repaired = true;
                first_err.get_or_insert(e);
                continue;
            }
        };
        repaired |= shell.repaired;
        let mut holes = Vec::new();
        for h in &rings[1..] {
            match clean_ring(h) {
                Ok(h) => {
                    repaired |= h.repaired;
                    holes.push(h.ring);
                }
                Err(_) => repaired = true,
            }
        }
        out.push(Polygon::new(shell.ring, holes));
    }
    if out.is_empty() {
        return Err(first_err.unwrap_or_else(|| Unrepairable("empty polygon".to_owned())));
    }
    let mut fp = make_valid(MultiPolygon::new(out))?;
    fp.repaired |= repaired;
    Ok(fp)
}

// ---- layer inference --------------------------------------------------------------------

const BUILDING_KEYS: [&str; 9] = [
    "households",
    "levels",
    "building:levels",
    "building",
    "area_m2",
    "elderly",
    "steward",
    "households_source",
    "entrance",
];
const GRID_KEYS: [&str; 3] = ["code", "buildings", "leads"];

fn infer(features: &[Value]) -> Result<Layer, (String, String)> {
    let (mut points, mut lines, mut polys) = (0usize, 0usize, 0usize);
    let mut keys: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for f in features {
        match f
            .get("geometry")
            .and_then(|g| g.get("type"))
            .and_then(Value::as_str)
        {
            Some("Point" | "MultiPoint") => points += 1,
            Some("LineString" | "MultiLineString") => lines += 1,
            Some("Polygon" | "MultiPolygon") => polys += 1,
            _ => {}
        }
        if let Some(p) = f.get("properties").and_then(Value::as_object) {
            keys.extend(p.keys().map(String::as_str));
        }
    }
    let kinds = [points, lines, polys].iter().filter(|&&n| n > 0).count();
    if kinds > 1 {
        return Err((
            format!("mixed geometry types: {points} points, {lines} lines, {polys} polygons"),
            "buildings, facilities, network, compounds, communities, streets, grids".into(),
        ));
    }
    let has = |k: &[&str]| k.iter().any(|k| keys.contains(k));
    if points > 0 {
        return Ok(Layer::Facilities);
    }
    if lines > 0 {
        return Ok(Layer::Network);
    }
    if has(&BUILDING_KEYS) {
        return Ok(Layer::Buildings);
    }
    if has(&GRID_KEYS) {
        return Ok(Layer::Grids);
    }
    if has(&["kind", "community"]) {
        return Ok(Layer::Compounds);
    }
    if has(&["street"]) {
        return Ok(Layer::Communities);
    }
    Err((
        "polygons with only id/name properties fit several layers".into(),
        "compounds, communities, streets, buildings, grids".into(),
    ))
}

// ---- the reader -------------------------------------------------------------------------

pub(crate) fn read(
    path: &Path,
    opts: &ImportOptions,
    progress: &dyn Progress,
) -> Result<(Dataset, ImportReport), ImportError> {
    let bytes = read_all(path)?;
    read_bytes(&bytes, file_name(path), opts, progress)
}

/// Reads a GeoJSON document held in memory (not gzipped); `file` names it in errors.
pub(crate) fn read_bytes(
    bytes: &[u8],
    file: String,
    opts: &ImportOptions,
    progress: &dyn Progress,
) -> Result<(Dataset, ImportReport), ImportError> {
    progress.set_message("parsing GeoJSON");
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(bytes);
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| ImportError::Json {
        file: file.clone(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let Some(root) = doc.as_object() else {
        return Err(ImportError::NotFeatureCollection {
            file,
            found: json_type(&doc).to_owned(),
        });
    };
    match root.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => {}
        Some(t) => {
            return Err(ImportError::NotFeatureCollection {
                file,
                found: format!("a GeoJSON {t}"),
            })
        }
        None => {
            return Err(ImportError::NotFeatureCollection {
                file,
                found: "an object without \"type\"".into(),
            })
        }
    }
    let crs = effective_crs(root, opts.crs, &file)?;
    let Some(features) = root.get("features").and_then(Value::as_array) else {
        return Err(ImportError::NotFeatureCollection {
            file,
            found: "a FeatureCollection without a \"features\" array".into(),
        });
    };
    let layer = match opts.layer {
        Some(l) => l,
        None if features.is_empty() => Layer::Buildings,
        None => infer(features).map_err(|(reason, candidates)| ImportError::AmbiguousLayer {
            file: file.clone(),
            reason,
            candidates,
        })?,
    };
    let mut report = ImportReport::new(file.clone(), "geojson");
    report.format = format!("geojson ({})", layer.as_str());
    progress.set_len(features.len() as u64);
    progress.set_message(&format!("reading {}", layer.as_str()));
    let mut ds = Dataset::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, f) in features.iter().enumerate() {
        if index % 1024 == 1023 {
            progress.inc(1024);
        }
        let mut at = At {
            file: &file,
            index,
            id: None,
        };
        let Some(fo) = f
            .as_object()
            .filter(|o| o.get("type").and_then(Value::as_str) == Some("Feature"))
        else {
            return Err(ImportError::NotFeatureCollection {
                file: file.clone(),
                found: format!("features[{index}] is not a Feature"),
            });
        };
        let empty = Map::new();
        let props = match fo.get("properties") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(p)) => p,
            Some(v) => {
                return Err(at.prop(
                    "properties",
                    format!("expected an object, found {}", json_type(v)),
                ))
            }
        };
        let id = if layer == Layer::Network {
            opt_string(props, "id", &at)?.or_else(|| {
                fo.get("id").and_then(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .or_else(|| v.as_u64().map(|n| n.to_string()))
                })
            })
        } else {
            Some(required_id(props, fo.get("id"), &at)?)
        };
        at.id.clone_from(&id);
        if let Some(id) = &id {
            if let Some(first) = seen.insert(id.clone(), index) {
                return Err(ImportError::DuplicateId {
                    file: file.clone(),
                    id: id.clone(),
                    first,
                    second: index,
                });
            }
        }
        let geom = geometry(fo.get("geometry").unwrap_or(&Value::Null), crs, &at)?;
        let wrong = |expected: &'static str, g: &Option<Geom>| ImportError::WrongGeometry {
            file: file.clone(),
            index,
            id: at.id(),
            layer: layer.as_str(),
            expected,
            found: g
                .as_ref()
                .map_or_else(|| "null".to_owned(), Geom::type_name),
        };
        let area = |g: Option<Geom>,
                    optional: bool,
                    report: &mut ImportReport|
         -> Result<Option<MultiPolygon<f64>>, ImportError> {
            match g {
                Some(Geom::Polygons(p, _)) => {
                    let fp = footprint(&p).map_err(|e| at.invalid(e))?;
                    if fp.repaired {
                        report.repaired_geometries += 1;
                    }
                    Ok(Some(fp.geometry))
                }
                None if optional => Ok(None),
                other => Err(wrong("Polygon or MultiPolygon", &other)),
            }
        };
        let id_s = id.clone().unwrap_or_default();
        match layer {
            Layer::Buildings => {
                let footprint = area(geom, false, &mut report)?
                    .unwrap_or_else(|| MultiPolygon::new(Vec::new()));
                ds.buildings
                    .push(building(id_s, footprint, props, opts, crs, &at)?);
            }
            Layer::Facilities => {
                let location = match geom {
                    Some(Geom::Point(c)) => Point::from(c),
                    other => return Err(wrong("Point", &other)),
                };
                let kind_s = opt_string(props, "kind", &at)?.ok_or_else(|| at.prop("kind", "missing (service_station, canteen, reading_room, outreach_point, other, …)"))?;
                let kind =
                    FacilityKind::parse(&kind_s).map_err(|e| at.prop("kind", e.to_string()))?;
                ds.facilities.push(Facility {
                    id: FacilityId::new(id_s),
                    kind,
                    name: opt_string(props, "name", &at)?,
                    location,
                    capacity: opt_u32(props, "capacity", &at)?,
                    opening_hours: opt_string(props, "opening_hours", &at)?,
                });
            }
            Layer::Compounds => {
                let boundary = area(geom, false, &mut report)?;
                let kind = match opt_string(props, "kind", &at)? {
                    Some(k) => k
                        .parse::<CompoundKind>()
                        .map_err(|e| at.prop("kind", e.to_string()))?,
                    None => CompoundKind::Unknown,
                };
                ds.compounds.push(Compound {
                    id: CompoundId::new(id_s),
                    name: opt_string(props, "name", &at)?,
                    kind,
                    community: opt_string(props, "community", &at)?.map(CommunityId::new),
                    boundary,
                });
            }
            Layer::Communities => {
                let boundary = area(geom, true, &mut report)?;
                ds.communities.push(Community {
                    name: opt_string(props, "name", &at)?.unwrap_or_else(|| id_s.clone()),
                    id: CommunityId::new(id_s),
                    street: opt_string(props, "street", &at)?.map(StreetId::new),
                    boundary,
                });
            }
            Layer::Streets => {
                let boundary = area(geom, true, &mut report)?;
                ds.streets.push(Street {
                    name: opt_string(props, "name", &at)?.unwrap_or_else(|| id_s.clone()),
                    id: StreetId::new(id_s),
                    boundary,
                });
            }
            Layer::Grids => {
                let boundary = area(geom, true, &mut report)?;
                let version = match props.get("version") {
                    None | Some(Value::Null) => 0,
                    Some(v) => v.as_i64().ok_or_else(|| {
                        at.prop("version", format!("expected an integer, found {v}"))
                    })?,
                };
                ds.grids.push(Grid {
                    code: opt_string(props, "code", &at)?.unwrap_or_else(|| id_s.clone()),
                    id: GridId::new(id_s),
                    name: opt_string(props, "name", &at)?,
                    community: opt_string(props, "community", &at)?.map(CommunityId::new),
                    buildings: string_list(props, "buildings", &at)?
                        .into_iter()
                        .map(BuildingId::new)
                        .collect(),
                    leads: string_list(props, "leads", &at)?
                        .into_iter()
                        .map(UserId::new)
                        .collect(),
                    boundary,
                    version,
                });
            }
            Layer::Network => {
                let lines = match geom {
                    Some(Geom::Lines(l, _)) => l,
                    other => return Err(wrong("LineString or MultiLineString", &other)),
                };
                let base = id.unwrap_or_else(|| format!("l{index}"));
                let length_m = opt_f64(props, "length_m", &at)?;
                let tags = tags_of(props);
                for (k, line) in lines.into_iter().enumerate() {
                    if line.len() < 2 {
                        return Err(at.invalid(Unrepairable(format!(
                            "line {k} has {} position(s), need 2",
                            line.len()
                        ))));
                    }
                    let wid = if k == 0 {
                        base.clone()
                    } else {
                        format!("{base}#{k}")
                    };
                    ds.ways.push(NetworkWay {
                        id: WayId::new(wid),
                        geometry: LineString::new(line),
                        tags: tags.clone(),
                        length_m,
                    });
                }
            }
        }
    }
    progress.inc(features.len() as u64 % 1024);
    Ok((ds, report))
}

/// Properties other than `id` and `length_m`, as strings.
fn tags_of(props: &Props) -> BTreeMap<String, String> {
    props
        .iter()
        .filter(|(k, _)| k.as_str() != "id" && k.as_str() != "length_m")
        .filter_map(|(k, v)| {
            let s = match v {
                Value::Null => return None,
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some((k.clone(), s))
        })
        .collect()
}

fn building(
    id: String,
    footprint: MultiPolygon<f64>,
    p: &Props,
    opts: &ImportOptions,
    crs: Crs,
    at: &At<'_>,
) -> Result<Building, ImportError> {
    let building_type = match opt_string(p, "building", at)? {
        Some(t) => Some(t),
        None => opt_string(p, "type", at)?,
    };
    let levels = match opt_f64(p, "levels", at)? {
        Some(l) => Some(l),
        None => opt_string(p, "building:levels", at)?
            .as_deref()
            .and_then(parse_levels),
    };
    let entrance = match p.get("entrance") {
        None | Some(Value::Null) => None,
        Some(v) => Some(Point::from(
            position(v, crs, at).map_err(|_| at.prop("entrance", "expected [lon, lat]"))?,
        )),
    };
    let mut b = Building {
        id: BuildingId::new(id),
        name: opt_string(p, "name", at)?,
        building_type,
        address: opt_string(p, "address", at)?,
        footprint,
        entrance,
        levels,
        households: 0,
        households_source: HouseholdSource::Estimated,
        elderly: opt_u32(p, "elderly", at)?,
        steward: opt_string(p, "steward", at)?,
        compound: opt_string(p, "compound", at)?.map(CompoundId::new),
        community: opt_string(p, "community", at)?.map(CommunityId::new),
    };
    let source = match opt_string(p, "households_source", at)? {
        Some(s) => Some(
            s.parse::<HouseholdSource>()
                .map_err(|e| at.prop("households_source", e.to_string()))?,
        ),
        None => None,
    };
    if let Some(n) = opt_u32(p, "households", at)? {
        b.households = n;
        b.households_source = source.unwrap_or(HouseholdSource::Imported);
    } else {
        b.households =
            opts.household_rule
                .estimate(b.area_m2(), levels, b.building_type.as_deref());
        b.households_source = HouseholdSource::Estimated;
    }
    Ok(b)
}

/// The CRS of the coordinates: `--crs` and the legacy `crs` member must agree when both given.
fn effective_crs(root: &Props, option: Crs, file: &str) -> Result<Crs, ImportError> {
    let Some(member) = root.get("crs").filter(|v| !v.is_null()) else {
        return Ok(option);
    };
    let name = member
        .get("properties")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .map_or_else(|| member.to_string(), str::to_owned);
    let parsed: Crs = name.parse().map_err(|_| ImportError::UnknownCrs {
        file: file.to_owned(),
        where_: "member 'crs'".into(),
        name: name.clone(),
    })?;
    if option == Crs::Wgs84 || option == parsed {
        Ok(parsed)
    } else {
        Err(ImportError::ConflictingCrs {
            file: file.to_owned(),
            option: option.name().into(),
            member: name,
        })
    }
}

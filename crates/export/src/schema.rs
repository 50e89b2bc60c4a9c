//! The attribute table of a feature collection, read off its features once: a column per
//! property name in the order features hold them (serde_json's, by name) (the feature id first, as `id`, when features have ids
//! and no property is called that), each typed by every value it takes.
use crate::{ExportError, Result};
use geojson::{feature::Id, Feature, FeatureCollection};
use serde_json::Value;

/// A column's type, the narrowest that holds every non-null value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    Integer,
    Real,
    Boolean,
    /// Strings, and anything else written as JSON text.
    Text,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
    /// The longest text in characters (for fixed-width formats).
    pub max_chars: usize,
}

/// A cell's value, typed as its column.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Boolean(bool),
    Text(String),
}

/// The geometry the features share, as the formats that need one type name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeometryKind {
    None,
    Point,
    LineString,
    Polygon,
    MultiPoint,
    MultiLineString,
    MultiPolygon,
    Mixed,
}

#[derive(Clone, Debug)]
pub struct Schema {
    pub fields: Vec<Field>,
    /// Whether the first field is the feature id rather than a property.
    pub id_field: bool,
    pub geometry: GeometryKind,
    pub warnings: Vec<String>,
}

impl Schema {
    /// Reads the schema of `fc`. Errors only on a feature whose geometry is not one geometry
    /// (a GeometryCollection), naming it.
    pub fn of(fc: &FeatureCollection) -> Result<Schema> {
        let mut fields: Vec<Field> = Vec::new();
        let has_prop_id = fc
            .features
            .iter()
            .any(|f| f.properties.as_ref().is_some_and(|p| p.contains_key("id")));
        let id_field = !has_prop_id && fc.features.iter().any(|f| f.id.is_some());
        if id_field {
            let ints = fc
                .features
                .iter()
                .all(|f| matches!(&f.id, Some(Id::Number(n)) if n.is_i64()) || f.id.is_none());
            fields.push(Field {
                name: "id".into(),
                ty: if ints {
                    FieldType::Integer
                } else {
                    FieldType::Text
                },
                max_chars: fc
                    .features
                    .iter()
                    .map(|f| id_text(f).chars().count())
                    .max()
                    .unwrap_or(0),
            });
        }
        let mut seen: Vec<(String, Option<FieldType>, usize)> = Vec::new();
        let mut geometry = None;
        for (i, f) in fc.features.iter().enumerate() {
            let kind = match f.geometry.as_ref().map(|g| &g.value) {
                None => GeometryKind::None,
                Some(geojson::GeometryValue::Point { .. }) => GeometryKind::Point,
                Some(geojson::GeometryValue::LineString { .. }) => GeometryKind::LineString,
                Some(geojson::GeometryValue::Polygon { .. }) => GeometryKind::Polygon,
                Some(geojson::GeometryValue::MultiPoint { .. }) => GeometryKind::MultiPoint,
                Some(geojson::GeometryValue::MultiLineString { .. }) => {
                    GeometryKind::MultiLineString
                }
                Some(geojson::GeometryValue::MultiPolygon { .. }) => GeometryKind::MultiPolygon,
                Some(geojson::GeometryValue::GeometryCollection { .. }) => {
                    return Err(ExportError::Geometry {
                        feature: label(i, f),
                        reason: "a GeometryCollection cannot be exported; split it into features"
                            .into(),
                    })
                }
            };
            geometry = Some(match (geometry, kind) {
                (_, GeometryKind::None) => geometry.unwrap_or(GeometryKind::None),
                (None | Some(GeometryKind::None), k) => k,
                (Some(a), k) if a == k => a,
                (Some(a), k) => widen(a, k),
            });
            let Some(props) = &f.properties else { continue };
            for (k, v) in props {
                let ty = value_type(v);
                let chars = match v {
                    Value::Null => 0,
                    Value::String(s) => s.chars().count(),
                    other => other.to_string().chars().count(),
                };
                match seen.iter_mut().find(|x| &x.0 == k) {
                    Some(field) => {
                        field.1 = match (field.1, ty) {
                            (Some(a), Some(b)) => Some(merge(a, b)),
                            (a, b) => a.or(b),
                        };
                        field.2 = field.2.max(chars);
                    }
                    None => seen.push((k.clone(), ty, chars)),
                }
            }
        }
        // A column only ever null is text.
        fields.extend(seen.into_iter().map(|(name, ty, max_chars)| Field {
            name,
            ty: ty.unwrap_or(FieldType::Text),
            max_chars,
        }));
        Ok(Schema {
            fields,
            id_field,
            geometry: geometry.unwrap_or(GeometryKind::None),
            warnings: Vec::new(),
        })
    }

    /// The cells of one feature, a cell per field, typed as the field.
    pub fn cells(&self, f: &Feature) -> Vec<Cell> {
        self.fields
            .iter()
            .enumerate()
            .map(|(i, field)| {
                if i == 0 && self.id_field {
                    return match &f.id {
                        None => Cell::Null,
                        Some(Id::Number(n)) if field.ty == FieldType::Integer => {
                            n.as_i64().map_or(Cell::Null, Cell::Integer)
                        }
                        Some(_) => Cell::Text(id_text(f)),
                    };
                }
                let v = f.properties.as_ref().and_then(|p| p.get(&field.name));
                cell(v, field.ty)
            })
            .collect()
    }
}

/// How a feature is named in an error: its id, else its position.
pub fn label(index: usize, f: &Feature) -> String {
    match &f.id {
        Some(_) => format!("'{}'", id_text(f)),
        None => match f
            .properties
            .as_ref()
            .and_then(|p| p.get("id"))
            .and_then(Value::as_str)
        {
            Some(id) => format!("'{id}'"),
            None => format!("#{index}"),
        },
    }
}

/// A feature's geometry as geo-types (`None` for a feature without one).
pub(crate) fn geometry(index: usize, f: &Feature) -> Result<Option<geo_types::Geometry<f64>>> {
    f.geometry
        .as_ref()
        .map(|g| {
            geo_types::Geometry::<f64>::try_from(&g.value).map_err(|e| ExportError::Geometry {
                feature: label(index, f),
                reason: e.to_string(),
            })
        })
        .transpose()
}

fn id_text(f: &Feature) -> String {
    match &f.id {
        Some(Id::String(s)) => s.clone(),
        Some(Id::Number(n)) => n.to_string(),
        None => String::new(),
    }
}

fn value_type(v: &Value) -> Option<FieldType> {
    match v {
        Value::Null => None,
        Value::Bool(_) => Some(FieldType::Boolean),
        Value::Number(n) if n.is_i64() => Some(FieldType::Integer),
        Value::Number(n) if n.is_u64() => Some(FieldType::Real),
        Value::Number(_) => Some(FieldType::Real),
        _ => Some(FieldType::Text),
    }
}

fn merge(a: FieldType, b: FieldType) -> FieldType {
    use FieldType::{Integer, Real, Text};
    match (a, b) {
        (x, y) if x == y => x,
        (Integer, Real) | (Real, Integer) => Real,
        _ => Text,
    }
}

fn widen(a: GeometryKind, b: GeometryKind) -> GeometryKind {
    use GeometryKind::{
        LineString, Mixed, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon,
    };
    match (a, b) {
        (Point | MultiPoint, Point | MultiPoint) => MultiPoint,
        (LineString | MultiLineString, LineString | MultiLineString) => MultiLineString,
        (Polygon | MultiPolygon, Polygon | MultiPolygon) => MultiPolygon,
        _ => Mixed,
    }
}

fn cell(v: Option<&Value>, ty: FieldType) -> Cell {
    match (v, ty) {
        (None | Some(Value::Null), _) => Cell::Null,
        (Some(Value::Number(n)), FieldType::Integer) => {
            n.as_i64().map_or(Cell::Null, Cell::Integer)
        }
        (Some(Value::Number(n)), FieldType::Real) => n.as_f64().map_or(Cell::Null, Cell::Real),
        (Some(Value::Bool(b)), FieldType::Boolean) => Cell::Boolean(*b),
        (Some(Value::String(s)), _) => Cell::Text(s.clone()),
        (Some(other), _) => Cell::Text(other.to_string()),
    }
}

impl Cell {
    /// The cell as text (CSV, and shapefile fields).
    pub fn text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Integer(i) => i.to_string(),
            Cell::Real(x) => x.to_string(),
            Cell::Boolean(b) => b.to_string(),
            Cell::Text(s) => s.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fc(text: &str) -> FeatureCollection {
        text.parse::<geojson::GeoJson>()
            .ok()
            .and_then(|g| FeatureCollection::try_from(g).ok())
            .expect("a feature collection")
    }

    #[test]
    fn columns_are_typed_by_every_value_they_take() {
        let c = fc(r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","id":"b1","geometry":{"type":"Point","coordinates":[1,2]},
             "properties":{"n":1,"x":1,"ok":true,"name":"王","tags":{"a":1},"late":null}},
            {"type":"Feature","id":"b2","geometry":{"type":"MultiPoint","coordinates":[[1,2]]},
             "properties":{"n":2,"x":1.5,"ok":false,"name":"李四","late":3}}]}"#);
        let s = Schema::of(&c).unwrap();
        let t: Vec<(&str, FieldType)> = s.fields.iter().map(|f| (f.name.as_str(), f.ty)).collect();
        assert_eq!(
            t,
            vec![
                ("id", FieldType::Text),
                ("late", FieldType::Integer),
                ("n", FieldType::Integer),
                ("name", FieldType::Text),
                ("ok", FieldType::Boolean),
                ("tags", FieldType::Text),
                ("x", FieldType::Real),
            ]
        );
        assert_eq!(s.geometry, GeometryKind::MultiPoint);
        let cells = s.cells(&c.features[0]);
        assert_eq!(cells[0], Cell::Text("b1".into()));
        assert_eq!(cells[5], Cell::Text(r#"{"a":1}"#.into()));
        assert_eq!(cells[1], Cell::Null);
        assert_eq!(s.fields[3].max_chars, 2);
    }

    #[test]
    fn a_geometry_collection_is_refused_naming_the_feature() {
        let c = fc(r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","id":"g7","properties":{},"geometry":{"type":"GeometryCollection","geometries":[]}}]}"#);
        let e = Schema::of(&c).unwrap_err().to_string();
        assert!(e.contains("'g7'"), "{e}");
    }
}

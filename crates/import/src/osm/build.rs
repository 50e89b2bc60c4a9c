//! From raw OSM objects to a [`Dataset`]: areas (buildings, compounds, administrative
//! boundaries, facility areas) from closed ways and multipolygon/boundary relations, facility
//! nodes, and the raw network ways; then compound and community membership by centroid.
use super::raw::{tag, to_coord, MemberType, OsmRaw, RawWay, Tags};
use super::rings::join_segments;
use crate::repair::{clean_ring, polygons_from_rings, CleanRing, Footprint};
use crate::report::ImportReport;
use crate::spatial::AreaIndex;
use crate::{ImportOptions, Progress};
use geo::{Area, Centroid, InteriorPoint};
use geo_types::{Coord, LineString, MultiPolygon, Point};
use gridmap_model::households::parse_levels;
use gridmap_model::{
    Building, BuildingId, Community, CommunityId, Compound, CompoundId, CompoundKind, Dataset,
    Facility, FacilityId, FacilityKind, HouseholdSource, NetworkWay, Street, StreetId, WayId,
};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Barrier values kept in the network (physical edges grids should follow).
const NETWORK_BARRIERS: [&str; 4] = ["wall", "fence", "city_wall", "retaining_wall"];

/// What an area-forming object is, by its tags.
#[derive(Default)]
struct Roles {
    building: bool,
    compound: bool,
    admin_level: Option<i64>,
    /// Index of the facility rule that matched.
    facility: Option<usize>,
}

impl Roles {
    fn of(tags: &Tags, opts: &ImportOptions, closed_area: bool) -> Self {
        let t = |k| tag(tags, k);
        let compound = (t("landuse") == Some("residential") && t("name").is_some())
            || t("place") == Some("neighbourhood");
        let admin_level = (t("boundary") == Some("administrative"))
            .then(|| t("admin_level").and_then(|l| l.trim().parse::<i64>().ok()))
            .flatten()
            .filter(|&l| l >= i64::from(opts.community_admin_level) - 2);
        let facility = if closed_area {
            opts.facility_tags
                .rule_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        } else {
            None
        };
        Self {
            building: t("building").is_some(),
            compound,
            admin_level,
            facility,
        }
    }
    fn any(&self) -> bool {
        self.building || self.compound || self.admin_level.is_some() || self.facility.is_some()
    }
}

/// One assembled area and the tags it came with.
struct Area_<'a> {
    obj: String,
    tags: &'a Tags,
    roles: Roles,
    footprint: MultiPolygon<f64>,
    /// Node ids on its boundary ways, in order (for entrances).
    boundary_nodes: Vec<i64>,
}

pub(crate) fn build(
    raw: &OsmRaw,
    opts: &ImportOptions,
    report: &mut ImportReport,
    progress: &dyn Progress,
) -> Dataset {
    progress.set_message("assembling areas");
    let coords = &raw.coords;
    let way_index: HashMap<i64, &RawWay> = raw.ways.iter().map(|w| (w.id, w)).collect();
    let way_coords = |w: &RawWay| -> Result<Vec<Coord<f64>>, usize> {
        let mut out = Vec::with_capacity(w.refs.len());
        let mut missing = 0;
        for r in &w.refs {
            match coords.get(r) {
                Some(&c) => out.push(to_coord(c)),
                None => missing += 1,
            }
        }
        if missing > 0 {
            Err(missing)
        } else {
            Ok(out)
        }
    };
    let mut partial_areas = 0u64;
    let mut areas: Vec<Area_<'_>> = Vec::new();

    // Closed ways (and open building ways, closed as a repair).
    for w in &raw.ways {
        let closed = w.refs.len() >= 4 && w.refs.first() == w.refs.last();
        let roles = Roles::of(&w.tags, opts, closed);
        if !roles.any() || !(closed || roles.building) {
            continue;
        }
        let obj = format!("w{}", w.id);
        let what = describe(&roles);
        let pts = match way_coords(w) {
            Ok(p) => p,
            Err(missing) => {
                report.skip(
                    obj,
                    format!(
                        "{what}: {missing} of {} nodes missing from the extract",
                        w.refs.len()
                    ),
                );
                continue;
            }
        };
        match clean_ring(&pts).and_then(|r| polygons_from_rings(vec![r], vec![])) {
            Ok(Footprint { geometry, repaired }) => {
                if repaired {
                    report.repaired_geometries += 1;
                }
                areas.push(Area_ {
                    obj,
                    tags: &w.tags,
                    roles,
                    footprint: geometry,
                    boundary_nodes: w.refs.clone(),
                });
            }
            Err(e) => report.skip(obj, format!("{what}: {}", e.0)),
        }
    }

    // Multipolygon and boundary relations.
    for r in &raw.relations {
        let rtype = tag(&r.tags, "type");
        let roles = Roles::of(&r.tags, opts, true);
        if !roles.any() {
            continue;
        }
        let obj = format!("r{}", r.id);
        if !matches!(rtype, Some("multipolygon" | "boundary")) {
            if roles.building {
                report.skip(
                    obj,
                    format!(
                        "building relation of type '{}' is not a multipolygon",
                        rtype.unwrap_or("")
                    ),
                );
            }
            continue;
        }
        let what = describe(&roles);
        let (mut outer_segs, mut inner_segs) = (Vec::new(), Vec::new());
        let mut missing = 0usize;
        let mut total = 0usize;
        let mut boundary_nodes = Vec::new();
        for m in r.members.iter().filter(|m| m.kind == MemberType::Way) {
            let inner = match m.role.as_str() {
                "inner" => true,
                "outer" | "" => false,
                _ => continue,
            };
            total += 1;
            let Some(w) = way_index.get(&m.id) else {
                missing += 1;
                continue;
            };
            if w.refs.iter().any(|n| !coords.contains_key(n)) {
                missing += 1;
                continue;
            }
            if !inner {
                boundary_nodes.extend_from_slice(&w.refs);
            }
            if inner {
                inner_segs.push(w.refs.clone());
            } else {
                outer_segs.push(w.refs.clone());
            }
        }
        let outer = join_segments(outer_segs);
        let inner = join_segments(inner_segs);
        let to_rings = |rings: Vec<Vec<i64>>| -> Vec<CleanRing> {
            rings
                .into_iter()
                .filter_map(|ids| {
                    let pts: Vec<Coord<f64>> = ids
                        .iter()
                        .filter_map(|n| coords.get(n).map(|&c| to_coord(c)))
                        .collect();
                    clean_ring(&pts).ok()
                })
                .collect()
        };
        let (outers, inners) = (to_rings(outer.rings), to_rings(inner.rings));
        let incomplete = missing > 0 || outer.open_segments > 0 || inner.open_segments > 0;
        match polygons_from_rings(outers, inners) {
            Ok(Footprint { geometry, repaired }) => {
                if repaired {
                    report.repaired_geometries += 1;
                }
                if incomplete {
                    partial_areas += 1;
                }
                areas.push(Area_ { obj, tags: &r.tags, roles, footprint: geometry, boundary_nodes });
            }
            Err(e) => report.skip(
                obj,
                format!(
                    "{what}: {} ({missing} of {total} member ways missing or incomplete, {} segments left open)",
                    e.0,
                    outer.open_segments + inner.open_segments
                ),
            ),
        }
    }
    report.counts.insert("partial_areas".into(), partial_areas);

    progress.set_message("buildings, compounds, communities");
    let entrances: HashMap<i64, Point<f64>> = raw
        .tagged_nodes
        .iter()
        .filter(|n| tag(&n.tags, "entrance").is_some())
        .map(|n| (n.id, Point::from(to_coord(n.at))))
        .collect();

    let mut ds = Dataset::default();
    for a in areas.iter().filter(|a| a.roles.building) {
        ds.buildings.push(building(a, opts, &entrances));
    }

    // Compounds.
    let compound_areas: Vec<&Area_<'_>> = areas.iter().filter(|a| a.roles.compound).collect();
    for a in &compound_areas {
        let kind = tag(a.tags, "residential").map_or(CompoundKind::Unknown, compound_kind);
        ds.compounds.push(Compound {
            id: CompoundId::new(a.obj.clone()),
            name: tag(a.tags, "name").map(str::to_owned),
            kind,
            community: None,
            boundary: Some(a.footprint.clone()),
        });
    }

    // Administrative areas: communities (>= community level) and streets (up to two levels above).
    let level = i64::from(opts.community_admin_level);
    let admin: Vec<(&Area_<'_>, i64)> = areas
        .iter()
        .filter_map(|a| a.roles.admin_level.map(|l| (a, l)))
        .collect();
    let community_areas: Vec<(&Area_<'_>, i64)> =
        admin.iter().copied().filter(|(_, l)| *l >= level).collect();
    let community_index = AreaIndex::new(
        community_areas
            .iter()
            .map(|(a, l)| (&a.footprint, (-l, a.footprint.unsigned_area())))
            .collect(),
    );
    let compound_index = AreaIndex::new(
        compound_areas
            .iter()
            .map(|a| (&a.footprint, (0, a.footprint.unsigned_area())))
            .collect(),
    );
    let mut used_communities: HashSet<usize> = HashSet::new();
    for b in &mut ds.buildings {
        let Some(c) = b.footprint.centroid() else {
            continue;
        };
        if let Some(i) = compound_index.best_containing(c) {
            b.compound = Some(CompoundId::new(compound_areas[i].obj.clone()));
        }
        if let Some(i) = community_index.best_containing(c) {
            used_communities.insert(i);
            b.community = Some(CommunityId::new(community_areas[i].0.obj.clone()));
        }
    }
    for c in &mut ds.compounds {
        let p = c.boundary.as_ref().and_then(InteriorPoint::interior_point);
        if let Some(i) = p.and_then(|p| community_index.best_containing(p)) {
            used_communities.insert(i);
            c.community = Some(CommunityId::new(community_areas[i].0.obj.clone()));
        }
    }
    // A community area is kept when something lies in it or when no deeper community area sits
    // inside it (an empty leaf community is still a community).
    let interior: Vec<Option<Point<f64>>> = community_areas
        .iter()
        .map(|(a, _)| a.footprint.interior_point())
        .collect();
    let street_areas: Vec<(&Area_<'_>, i64)> = admin.clone();
    let mut used_streets: std::collections::BTreeSet<usize> = std::collections::BTreeSet::new();
    for (i, (a, l)) in community_areas.iter().enumerate() {
        let has_deeper_child = community_areas.iter().enumerate().any(|(j, (_, lj))| {
            j != i
                && *lj > *l
                && interior[j].is_some_and(|p| geo::Contains::contains(&a.footprint, &p))
        });
        if !used_communities.contains(&i) && has_deeper_child {
            continue;
        }
        // Street: the deepest admin area shallower than this community containing its interior point.
        let street = interior[i].and_then(|p| {
            street_areas
                .iter()
                .enumerate()
                .filter(|(_, (_, sl))| *sl < *l)
                .filter(|(_, (s, _))| geo::Contains::contains(&s.footprint, &p))
                .max_by(|x, y| {
                    x.1 .1.cmp(&y.1 .1).then(
                        y.1 .0
                            .footprint
                            .unsigned_area()
                            .total_cmp(&x.1 .0.footprint.unsigned_area()),
                    )
                })
                .map(|(j, _)| j)
        });
        if let Some(j) = street {
            used_streets.insert(j);
        }
        ds.communities.push(Community {
            id: CommunityId::new(a.obj.clone()),
            name: tag(a.tags, "name").map_or_else(|| a.obj.clone(), str::to_owned),
            street: street.map(|j| StreetId::new(street_areas[j].0.obj.clone())),
            boundary: Some(a.footprint.clone()),
        });
    }
    for j in &used_streets {
        let (a, _) = street_areas[*j];
        ds.streets.push(Street {
            id: StreetId::new(a.obj.clone()),
            name: tag(a.tags, "name").map_or_else(|| a.obj.clone(), str::to_owned),
            boundary: Some(a.footprint.clone()),
        });
    }

    // Facilities: nodes first, then areas (their centroid). The report counts the matches per
    // kind and rule, and the unmatched amenity/office/social_facility values near homes.
    progress.set_message("facilities and network");
    let rules = &opts.facility_tags;
    let mut matched: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut count_match = |i: usize| {
        let r = &rules.rules[i];
        *matched
            .entry(r.kind.to_string())
            .or_default()
            .entry(format!("#{} {}", i + 1, r.label()))
            .or_default() += 1;
    };
    let homes = HomeIndex::new(&ds.buildings);
    let mut unmatched: HashMap<String, u64> = HashMap::new();
    let mut count_unmatched = |tags: &Tags, at: Option<Point<f64>>| {
        let Some(at) = at else { return };
        let keys: Vec<String> = UNMATCHED_KEYS
            .iter()
            .filter_map(|k| tag(tags, k).map(|v| format!("{k}={v}")))
            .collect();
        if !keys.is_empty() && homes.near(at) {
            for k in keys {
                *unmatched.entry(k).or_default() += 1;
            }
        }
    };
    for n in &raw.tagged_nodes {
        let at = Point::from(to_coord(n.at));
        match rules.rule_of(n.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            Some(i) => {
                count_match(i);
                ds.facilities.push(facility(
                    format!("n{}", n.id),
                    rules.rules[i].kind.clone(),
                    &n.tags,
                    at,
                ));
            }
            None => count_unmatched(&n.tags, Some(at)),
        }
    }
    for a in &areas {
        match (a.roles.facility, a.footprint.centroid()) {
            (Some(i), Some(c)) => {
                count_match(i);
                ds.facilities.push(facility(
                    a.obj.clone(),
                    rules.rules[i].kind.clone(),
                    a.tags,
                    c,
                ));
            }
            (None, c) => count_unmatched(a.tags, c),
            (Some(_), None) => {}
        }
    }
    let mut unmatched: Vec<(String, u64)> = unmatched.into_iter().collect();
    unmatched.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    unmatched.truncate(UNMATCHED_LIST_CAP);
    report.facility_tags = Some(crate::report::FacilityTagsReport {
        profile: rules.profile.clone(),
        matched,
        unmatched_near_homes: unmatched
            .into_iter()
            .map(|(tag, count)| crate::report::TagCount { tag, count })
            .collect(),
        near_m: NEAR_HOME_M,
    });

    // Network ways, cut where nodes are missing.
    let mut partial_ways = 0u64;
    for w in raw.ways.iter().filter(|w| is_network(&w.tags)) {
        let mut pieces: Vec<Vec<Coord<f64>>> = vec![Vec::new()];
        for r in &w.refs {
            match coords.get(r) {
                Some(&c) => pieces
                    .last_mut()
                    .into_iter()
                    .for_each(|p| p.push(to_coord(c))),
                None => pieces.push(Vec::new()),
            }
        }
        let cut = pieces.len() > 1;
        let pieces: Vec<Vec<Coord<f64>>> = pieces.into_iter().filter(|p| p.len() >= 2).collect();
        if pieces.is_empty() {
            report.skip(
                format!("w{}", w.id),
                "network way: fewer than two consecutive nodes in the extract",
            );
            continue;
        }
        if cut {
            partial_ways += 1;
        }
        let tags: BTreeMap<String, String> = w.tags.iter().cloned().collect();
        for (k, p) in pieces.into_iter().enumerate() {
            let id = if k == 0 {
                format!("w{}", w.id)
            } else {
                format!("w{}#{k}", w.id)
            };
            ds.ways.push(NetworkWay {
                id: WayId::new(id),
                geometry: LineString::new(p),
                tags: tags.clone(),
                length_m: None,
            });
        }
    }
    report
        .counts
        .insert("partial_network_ways".into(), partial_ways);
    ds
}

/// Tags whose unmatched values the import report lists.
const UNMATCHED_KEYS: [&str; 3] = ["amenity", "office", "social_facility"];
/// How many unmatched values the report lists.
pub(crate) const UNMATCHED_LIST_CAP: usize = 20;
/// "Near residential buildings": within this many metres of a building with households.
pub(crate) const NEAR_HOME_M: f64 = 300.0;

/// Centroids of the buildings with households, on a local equirectangular plane (degrees of
/// latitude), for "is this object near a home?".
struct HomeIndex {
    tree: rstar::RTree<[f64; 2]>,
    cos_lat: f64,
}

impl HomeIndex {
    fn new(buildings: &[Building]) -> Self {
        let pts: Vec<Point<f64>> = buildings
            .iter()
            .filter(|b| b.households > 0)
            .filter_map(Building::centroid)
            .collect();
        let lat = if pts.is_empty() {
            0.0
        } else {
            pts.iter().map(|p| p.y()).sum::<f64>() / pts.len() as f64
        };
        let cos_lat = lat.to_radians().cos();
        let tree = rstar::RTree::bulk_load(pts.iter().map(|p| [p.x() * cos_lat, p.y()]).collect());
        Self { tree, cos_lat }
    }
    fn near(&self, p: Point<f64>) -> bool {
        let r = NEAR_HOME_M / 111_320.0;
        self.tree
            .locate_within_distance([p.x() * self.cos_lat, p.y()], r * r)
            .next()
            .is_some()
    }
}

fn describe(r: &Roles) -> &'static str {
    if r.building {
        "building"
    } else if r.compound {
        "compound"
    } else if r.admin_level.is_some() {
        "administrative boundary"
    } else {
        "facility area"
    }
}

fn is_network(tags: &Tags) -> bool {
    tags.iter().any(|(k, v)| match k.as_str() {
        "highway" | "railway" | "waterway" => true,
        "barrier" => NETWORK_BARRIERS.contains(&v.as_str()),
        _ => false,
    })
}

/// `residential=*` → compound kind: the kind's own name, plus OSM's `rural` as a village.
fn compound_kind(v: &str) -> CompoundKind {
    match v {
        "rural" => CompoundKind::Village,
        other => other.parse().unwrap_or(CompoundKind::Unknown),
    }
}

fn parse_count(v: Option<&str>) -> Option<u32> {
    v.and_then(|s| s.trim().parse::<u32>().ok())
}

/// Joins street and house number; no space after a CJK street name (学院路17号).
fn address(tags: &Tags) -> Option<String> {
    if let Some(full) = tag(tags, "addr:full") {
        return Some(full.to_owned());
    }
    match (tag(tags, "addr:street"), tag(tags, "addr:housenumber")) {
        (Some(s), Some(n)) => {
            let cjk = s.chars().last().is_some_and(|c| c as u32 >= 0x2E80);
            Some(if cjk {
                format!("{s}{n}")
            } else {
                format!("{s} {n}")
            })
        }
        (Some(s), None) => Some(s.to_owned()),
        (None, Some(n)) => Some(n.to_owned()),
        (None, None) => None,
    }
}

fn building(a: &Area_<'_>, opts: &ImportOptions, entrances: &HashMap<i64, Point<f64>>) -> Building {
    let t = |k| tag(a.tags, k);
    let building_type = t("building").map(str::to_owned);
    let levels = t("building:levels").and_then(parse_levels);
    let mut b = Building {
        id: BuildingId::new(a.obj.clone()),
        name: t("name").map(str::to_owned),
        building_type,
        address: address(a.tags),
        footprint: a.footprint.clone(),
        entrance: a
            .boundary_nodes
            .iter()
            .find_map(|n| entrances.get(n).copied()),
        levels,
        households: 0,
        households_source: HouseholdSource::Estimated,
        elderly: None,
        steward: None,
        compound: None,
        community: None,
    };
    // building:flats is the mapped dwelling count; `households` a direct count.
    match parse_count(t("households")).or_else(|| parse_count(t("building:flats"))) {
        Some(n) => {
            b.households = n;
            b.households_source = HouseholdSource::Imported;
        }
        None => {
            b.households =
                opts.household_rule
                    .estimate(b.area_m2(), levels, b.building_type.as_deref());
        }
    }
    b
}

fn facility(id: String, kind: FacilityKind, tags: &Tags, at: Point<f64>) -> Facility {
    Facility {
        id: FacilityId::new(id),
        kind,
        name: tag(tags, "name").map(str::to_owned),
        location: at,
        capacity: parse_count(tag(tags, "capacity")),
        opening_hours: tag(tags, "opening_hours").map(str::to_owned),
    }
}

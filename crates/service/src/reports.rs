//! Printable reports (issue 17): the grid atlas and the coverage report, built from an analysis
//! session as [`gridmap_report::Report`]s and rendered to PDF. What a page shows is decided here;
//! how it is laid out and written is `gridmap-report`'s business.
use crate::coverage::CoverageQuery;
use crate::grids::resolve_community;
use crate::siting::{CandidateSource, SitingRequest};
use crate::{facility_kind, Analysis, Result, ServiceError};
use geo::{BoundingRect, ConvexHull, MultiPoint, MultiPolygon, Point, Rect};
use gridmap_algo::coverage::{GapOptions, WalkProfile};
use gridmap_model::KindCatalog;
use gridmap_model::{Building, Dataset, FacilityKind, Grid};
use gridmap_report::{
    Bar, BarChart, Block, Column, Figure, LegendItem, MapLayer, MapSpec, Paper, Report, Rgb,
    Shapes, Style, Table, ATTRIBUTION,
};
use std::collections::{BTreeMap, HashMap};

/// How much of the person data on a building (its steward) a report may show, by the reader's
/// role (the rosters issue's masking): departments see counts only, a grid lead their grid's
/// people, planners masked names, admins everything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PeopleView {
    /// Counts only: the steward column is left out.
    #[default]
    Hidden,
    /// Names masked to their first character ("王**").
    Masked,
    Full,
}

/// What every report says about where it came from.
#[derive(Clone, Debug)]
pub struct ReportContext {
    /// The dataset's name (city or file), on the title page and in every footer.
    pub dataset: String,
    /// When the report was made (the caller's clock), in the footer.
    pub generated: String,
    pub paper: Paper,
    /// The facility kinds (labels, colours) and the profile that assigned them, with its label.
    pub catalog: KindCatalog,
    pub people: PeopleView,
    /// Display names of grid leads by user id (ids are shown for the rest).
    pub lead_names: HashMap<String, String>,
}

/// Options of the grid atlas.
#[derive(Clone, Debug)]
pub struct AtlasOptions {
    /// One community by id or name; `None` = every grid the caller may see.
    pub community: Option<String>,
    /// Only these grids (ids or codes); empty = every grid of the community. An unknown one is
    /// an error naming it.
    pub grids: Vec<String>,
    /// "Facilities within N minutes" on each grid page.
    pub minutes: f64,
    /// Target households per grid and tolerance (the band a grid should lie in).
    pub target: f64,
    pub tolerance: f64,
}

impl Default for AtlasOptions {
    fn default() -> Self {
        Self {
            community: None,
            grids: Vec::new(),
            minutes: 15.0,
            target: 300.0,
            tolerance: 0.15,
        }
    }
}

type Areas = Vec<MultiPolygon<f64>>;
/// Point markers with their labels.
type Markers = Vec<(Point<f64>, Option<String>)>;
/// A facility serving a grid: households served, nearest minutes, location, name.
type Served = (u64, f64, Option<Point<f64>>, String);

/// Options of the coverage report.
#[derive(Clone, Debug)]
pub struct CoverageReportOptions {
    /// How many of the largest gaps to list.
    pub gaps: usize,
    /// Propose this many new sites of the kind (maximal covering, existing sites fixed) and
    /// show where they go and what they add; 0 = no proposal.
    pub add_sites: usize,
    /// Street corners drawn (seed 1) as candidate sites for the proposal.
    pub candidates: usize,
    /// Seconds the exact search may take before the best proposal found is shown with its gap.
    pub time_limit_s: f64,
}

impl Default for CoverageReportOptions {
    fn default() -> Self {
        Self {
            gaps: 20,
            add_sites: 0,
            candidates: 1000,
            time_limit_s: 10.0,
        }
    }
}

const GRID_PALETTE: [Rgb; 8] = [
    Rgb(31, 119, 180),
    Rgb(255, 127, 14),
    Rgb(44, 160, 44),
    Rgb(214, 39, 40),
    Rgb(148, 103, 189),
    Rgb(140, 86, 75),
    Rgb(227, 119, 194),
    Rgb(23, 190, 207),
];
const ROADS: Rgb = Rgb(190, 190, 190);
const CONTEXT: Rgb = Rgb(215, 215, 215);
const GRID_BUILDINGS: Rgb = Rgb(66, 133, 244);
const GRID_OUTLINE: Rgb = Rgb(214, 39, 40);
const NEWLY_COVERED: Rgb = Rgb(253, 174, 97);
const PROPOSED: Rgb = Rgb(117, 40, 160);

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn pct(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        100.0 * a as f64 / b as f64
    }
}

fn mask(name: &str, view: PeopleView) -> String {
    match view {
        PeopleView::Full => name.to_owned(),
        PeopleView::Masked => {
            let mut c = name.chars();
            match c.next() {
                Some(first) => {
                    let rest = c.count().max(1);
                    format!("{first}{}", "*".repeat(rest.min(3)))
                }
                None => String::new(),
            }
        }
        PeopleView::Hidden => String::new(),
    }
}

impl ReportContext {
    /// A context with the given dataset name and kinds, A4 portrait, counts only.
    pub fn new(
        dataset: impl Into<String>,
        generated: impl Into<String>,
        catalog: KindCatalog,
    ) -> Self {
        Self {
            dataset: dataset.into(),
            generated: generated.into(),
            paper: Paper::default(),
            catalog,
            people: PeopleView::Hidden,
            lead_names: HashMap::new(),
        }
    }
}

fn kind_label(catalog: &KindCatalog, k: &FacilityKind) -> String {
    catalog
        .kind(k)
        .map_or_else(|| k.to_string(), |d| format!("{} {}", d.zh, d.en))
}

fn kind_colour(catalog: &KindCatalog, k: &FacilityKind) -> Rgb {
    catalog
        .kind(k)
        .and_then(|d| Rgb::from_hex(&d.colour))
        .unwrap_or(Rgb(80, 80, 80))
}

fn footer(ctx: &ReportContext, what: &str) -> String {
    format!(
        "gridmap · {what} · {} · {} · {ATTRIBUTION}",
        ctx.dataset, ctx.generated
    )
}

/// The extent of some rectangles, padded by `pad` of its size (at least ~30 m).
fn padded(rects: impl IntoIterator<Item = Rect<f64>>, pad: f64) -> Option<Rect<f64>> {
    let mut it = rects.into_iter();
    let first = it.next()?;
    let r = it.fold(first, |a, b| {
        Rect::new(
            (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
            (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
        )
    });
    let dx = (r.width() * pad).max(0.0003);
    let dy = (r.height() * pad).max(0.0003);
    Some(Rect::new(
        (r.min().x - dx, r.min().y - dy),
        (r.max().x + dx, r.max().y + dy),
    ))
}

fn intersects(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

/// The roads of the walking network inside `extent`: the map's basemap.
fn roads(ds: &Dataset, extent: &Rect<f64>) -> Vec<MapLayer> {
    let major = |t: &BTreeMap<String, String>| {
        matches!(
            t.get("highway").map(String::as_str),
            Some("motorway" | "trunk" | "primary" | "secondary" | "tertiary")
        )
    };
    let mut minor_l = Vec::new();
    let mut major_l = Vec::new();
    for w in &ds.ways {
        if !w.tags.contains_key("highway") {
            continue;
        }
        if w.geometry
            .bounding_rect()
            .is_some_and(|r| intersects(&r, extent))
        {
            if major(&w.tags) {
                major_l.push(w.geometry.clone());
            } else {
                minor_l.push(w.geometry.clone());
            }
        }
    }
    vec![
        MapLayer {
            style: Style::line(ROADS, 0.4),
            shapes: Shapes::Lines(minor_l),
        },
        MapLayer {
            style: Style::line(Rgb(170, 170, 170), 1.2),
            shapes: Shapes::Lines(major_l),
        },
    ]
}

/// A grid's outline: its drawn boundary, else the convex hull of its buildings' footprints.
fn outline(grid: &Grid, buildings: &[&Building]) -> Option<MultiPolygon<f64>> {
    if let Some(b) = &grid.boundary {
        return Some(b.clone());
    }
    let pts: Vec<Point<f64>> = buildings
        .iter()
        .flat_map(|b| {
            b.footprint
                .0
                .iter()
                .flat_map(|p| p.exterior().0.iter().map(|c| Point::from(*c)))
        })
        .collect();
    if pts.len() < 3 {
        return None;
    }
    Some(MultiPolygon(vec![MultiPoint(pts).convex_hull()]))
}

struct GridRow<'a> {
    grid: &'a Grid,
    buildings: Vec<(usize, &'a Building)>,
    households: u64,
    elderly: u64,
    community: String,
    outline: Option<MultiPolygon<f64>>,
}

impl Analysis {
    /// The grid atlas: a cover with the map of the grids and a summary table, then one page per
    /// grid with its map, counts, leads, the facilities within `minutes` and its building roster.
    pub fn grid_atlas(&self, ctx: &ReportContext, opts: &AtlasOptions) -> Result<Vec<u8>> {
        let report = self.grid_atlas_report(ctx, opts)?;
        gridmap_report::render(&report).map_err(report_error)
    }

    /// The atlas as a document (for page counts and tests).
    pub fn grid_atlas_report(&self, ctx: &ReportContext, opts: &AtlasOptions) -> Result<Report> {
        crate::check_minutes(&[opts.minutes])?;
        let ds = self.dataset();
        let community = resolve_community(ds, opts.community.as_deref())?;
        let index: HashMap<&gridmap_model::BuildingId, usize> = ds
            .buildings
            .iter()
            .enumerate()
            .map(|(i, b)| (&b.id, i))
            .collect();
        for want in &opts.grids {
            if !ds
                .grids
                .iter()
                .any(|g| g.id.as_str() == want || g.code == *want)
            {
                return Err(ServiceError::NotFound {
                    what: "grid",
                    id: want.clone(),
                });
            }
        }
        let rows: Vec<GridRow<'_>> = ds
            .grids
            .iter()
            .filter(|g| community.is_none() || g.community == community)
            .filter(|g| {
                opts.grids.is_empty()
                    || opts
                        .grids
                        .iter()
                        .any(|w| g.id.as_str() == w || g.code == *w)
            })
            .map(|g| {
                let buildings: Vec<(usize, &Building)> = g
                    .buildings
                    .iter()
                    .filter_map(|id| index.get(id).map(|&i| (i, &ds.buildings[i])))
                    .collect();
                let bs: Vec<&Building> = buildings.iter().map(|(_, b)| *b).collect();
                GridRow {
                    grid: g,
                    households: bs.iter().map(|b| u64::from(b.households)).sum(),
                    elderly: bs.iter().map(|b| u64::from(b.elderly.unwrap_or(0))).sum(),
                    community: g
                        .community
                        .as_ref()
                        .map_or_else(String::new, |c| self.community_name(c.as_str())),
                    outline: outline(g, &bs),
                    buildings,
                }
            })
            .collect();
        if rows.is_empty() {
            return Err(ServiceError::Invalid {
                name: "grids",
                value: opts.community.clone().unwrap_or_else(|| "all".into()),
                reason: "there are no grids to print (propose them with gridmap partition, or draw them)".into(),
            });
        }
        let lo = (opts.target * (1.0 - opts.tolerance)).ceil() as u64;
        let hi = (opts.target * (1.0 + opts.tolerance)).floor() as u64;
        let band = |h: u64| {
            if h < lo {
                "偏少 below"
            } else if h > hi {
                "偏多 above"
            } else {
                "达标 in band"
            }
        };
        let leads = |g: &Grid| {
            g.leads
                .iter()
                .map(|u| {
                    ctx.lead_names
                        .get(u.as_str())
                        .cloned()
                        .unwrap_or_else(|| u.to_string())
                })
                .collect::<Vec<_>>()
                .join("、")
        };

        // facilities within the threshold, per grid: each building's nearest facility of every
        // kind present, within `minutes` (the coverage engine's answer, cached per kind)
        let profile = WalkProfile::standard();
        let limit_m = profile.limit_m(opts.minutes);
        let mut kinds: Vec<FacilityKind> = ds.facilities.iter().map(|f| f.kind.clone()).collect();
        kinds.sort();
        kinds.dedup();
        let mut covs = Vec::new();
        for k in &kinds {
            covs.push((
                k.clone(),
                self.kind_coverage(k.as_str(), profile, opts.minutes)?,
            ));
        }
        let facility_at: HashMap<&gridmap_model::FacilityId, &gridmap_model::Facility> =
            ds.facilities.iter().map(|f| (&f.id, f)).collect();

        let scope = match &community {
            Some(c) => format!("{} · {}", ctx.dataset, self.community_name(c.as_str())),
            None => ctx.dataset.clone(),
        };
        let mut blocks = vec![Block::Title {
            text: "网格图册 Grid atlas".into(),
            subtitle: Some(format!(
                "{scope} · {} 个网格 grids · 每格目标 {lo}–{hi} 户 households per grid",
                rows.len()
            )),
        }];
        if let Some(label) = ctx.catalog.label.as_ref() {
            blocks.push(Block::Notice(format!("设施口径 facility profile: {label}")));
        }
        let total_h: u64 = rows.iter().map(|r| r.households).sum();
        let total_e: u64 = rows.iter().map(|r| r.elderly).sum();
        let nb: usize = rows.iter().map(|r| r.buildings.len()).sum();
        let in_band = rows
            .iter()
            .filter(|r| (lo..=hi).contains(&r.households))
            .count();
        blocks.push(Block::Figures(vec![
            Figure::new("网格 grids", rows.len().to_string()),
            Figure::new("楼栋 buildings", thousands(nb as u64)),
            Figure::new("户数 households", thousands(total_h)),
            Figure::new("65岁以上 elderly 65+", thousands(total_e)),
            Figure::new(
                "达标网格 grids in band",
                format!("{in_band} / {}", rows.len()),
            ),
        ]));
        // cover map: every grid's outline in a palette colour, its buildings filled
        let extent = padded(
            rows.iter()
                .filter_map(|r| r.outline.as_ref()?.bounding_rect()),
            0.04,
        );
        if let Some(extent) = extent {
            let mut layers = roads(ds, &extent);
            // per palette colour: the grids' buildings and their outlines
            let mut by_colour: Vec<(Areas, Areas)> =
                vec![(Vec::new(), Vec::new()); GRID_PALETTE.len()];
            let mut labels = Vec::new();
            for (i, r) in rows.iter().enumerate() {
                let slot = &mut by_colour[i % GRID_PALETTE.len()];
                slot.0
                    .extend(r.buildings.iter().map(|(_, b)| b.footprint.clone()));
                if let Some(o) = &r.outline {
                    slot.1.push(o.clone());
                    if let Some(c) = geo::Centroid::centroid(o) {
                        labels.push((c, Some(r.grid.code.clone())));
                    }
                }
            }
            for (i, (bs, outlines)) in by_colour.into_iter().enumerate() {
                let c = GRID_PALETTE[i];
                layers.push(MapLayer {
                    style: Style::fill(c).opacity(0.55),
                    shapes: Shapes::Polygons(bs),
                });
                layers.push(MapLayer {
                    style: Style::fill(c).opacity(0.08).outlined(c, 1.0),
                    shapes: Shapes::Polygons(outlines),
                });
            }
            if rows.len() <= 200 {
                layers.push(MapLayer {
                    style: Style::invisible(),
                    shapes: Shapes::Points(labels),
                });
            }
            blocks.push(Block::Map(MapSpec {
                extent,
                height: Some(ctx.paper.points().1 * 0.42),
                layers,
                legend: vec![
                    LegendItem {
                        style: Style::fill(GRID_PALETTE[0])
                            .opacity(0.3)
                            .outlined(GRID_PALETTE[0], 1.0),
                        label: "网格 grid (颜色区分相邻网格)".into(),
                        marker: false,
                    },
                    LegendItem {
                        style: Style::line(ROADS, 1.0),
                        label: "道路 roads".into(),
                        marker: false,
                    },
                ],
                caption: Some("网格分布 Grids".into()),
            }));
        }
        blocks.push(Block::Table(Table {
            caption: Some("网格一览 Grids".into()),
            columns: vec![
                Column::text("编码 code", 1.4),
                Column::text("名称 name", 1.6),
                Column::text("社区 community", 1.8),
                Column::number("楼栋 bldgs", 0.8),
                Column::number("户数 hh", 0.8),
                Column::number("老人 65+", 0.8),
                Column::text("规模 band", 1.0),
                Column::text("网格长 lead", 1.4),
            ],
            rows: rows
                .iter()
                .map(|r| {
                    vec![
                        r.grid.code.clone(),
                        r.grid.name.clone().unwrap_or_default(),
                        r.community.clone(),
                        r.buildings.len().to_string(),
                        r.households.to_string(),
                        r.elderly.to_string(),
                        band(r.households).into(),
                        leads(r.grid),
                    ]
                })
                .collect(),
            empty: "无网格 no grids".into(),
        }));

        // one page (or more) per grid
        let page_h = ctx.paper.points().1;
        for r in &rows {
            blocks.push(Block::PageBreak);
            let name = r.grid.name.clone().unwrap_or_default();
            blocks.push(Block::Title {
                text: format!("{} {name}", r.grid.code).trim().to_owned(),
                subtitle: Some(format!(
                    "{} · 网格长 lead: {}",
                    if r.community.is_empty() {
                        "—"
                    } else {
                        &r.community
                    },
                    {
                        let l = leads(r.grid);
                        if l.is_empty() {
                            "未指定 none".to_owned()
                        } else {
                            l
                        }
                    }
                )),
            });
            let compounds = {
                let mut c: Vec<&str> = r
                    .buildings
                    .iter()
                    .filter_map(|(_, b)| b.compound.as_ref().map(gridmap_model::CompoundId::as_str))
                    .collect();
                c.sort_unstable();
                c.dedup();
                c.len()
            };
            blocks.push(Block::Figures(vec![
                Figure::new("户数 households", thousands(r.households)),
                Figure::new("楼栋 buildings", r.buildings.len().to_string()),
                Figure::new("65岁以上 elderly 65+", thousands(r.elderly)),
                Figure::new("小区 compounds", compounds.to_string()),
                Figure::new(format!("规模 band {lo}–{hi}"), band(r.households)),
            ]));
            // facilities serving this grid within the threshold
            let mut served: BTreeMap<(FacilityKind, String), Served> = BTreeMap::new();
            let mut kind_cov: Vec<(FacilityKind, u64)> = Vec::new();
            for (k, cov) in &covs {
                let mut covered = 0u64;
                for &(i, b) in &r.buildings {
                    let d = cov.building_m.get(i).copied().unwrap_or(f64::INFINITY);
                    if d <= limit_m {
                        covered += u64::from(b.households);
                        if let Some(fid) = cov.nearest(i) {
                            let f = facility_at.get(fid);
                            let e = served.entry((k.clone(), fid.to_string())).or_insert((
                                0,
                                f64::INFINITY,
                                f.map(|f| f.location),
                                f.and_then(|f| f.name.clone())
                                    .unwrap_or_else(|| fid.to_string()),
                            ));
                            e.0 += u64::from(b.households);
                            e.1 = e.1.min(profile.minutes(d));
                        }
                    }
                }
                kind_cov.push((k.clone(), covered));
            }
            // the grid's map: its buildings, its neighbours' in grey, roads, the facilities
            let own: Vec<Rect<f64>> = r
                .buildings
                .iter()
                .filter_map(|(_, b)| b.footprint.bounding_rect())
                .collect();
            let fac_rects = served
                .values()
                .filter_map(|v| v.2)
                .map(|p| Rect::new(p.0, p.0));
            let extent = padded(
                own.iter()
                    .copied()
                    .chain(r.outline.as_ref().and_then(BoundingRect::bounding_rect)),
                0.08,
            )
            .map(|e| padded([e].into_iter().chain(fac_rects), 0.02).unwrap_or(e));
            if let Some(extent) = extent {
                let mut layers = roads(ds, &extent);
                let own_ids: std::collections::HashSet<usize> =
                    r.buildings.iter().map(|(i, _)| *i).collect();
                let context: Vec<MultiPolygon<f64>> = ds
                    .buildings
                    .iter()
                    .enumerate()
                    .filter(|(i, b)| {
                        !own_ids.contains(i)
                            && b.footprint
                                .bounding_rect()
                                .is_some_and(|bb| intersects(&bb, &extent))
                    })
                    .map(|(_, b)| b.footprint.clone())
                    .collect();
                layers.push(MapLayer {
                    style: Style::fill(CONTEXT),
                    shapes: Shapes::Polygons(context),
                });
                layers.push(MapLayer {
                    style: Style::fill(GRID_BUILDINGS)
                        .opacity(0.75)
                        .outlined(Rgb(30, 80, 170), 0.3),
                    shapes: Shapes::Polygons(
                        r.buildings
                            .iter()
                            .map(|(_, b)| b.footprint.clone())
                            .collect(),
                    ),
                });
                if let Some(o) = &r.outline {
                    layers.push(MapLayer {
                        style: Style::line(GRID_OUTLINE, 1.4).dashed(),
                        shapes: Shapes::Polygons(vec![o.clone()]),
                    });
                }
                let mut legend = vec![
                    LegendItem {
                        style: Style::fill(GRID_BUILDINGS),
                        label: "本网格楼栋 buildings of the grid".into(),
                        marker: false,
                    },
                    LegendItem {
                        style: Style::line(GRID_OUTLINE, 1.4).dashed(),
                        label: "网格边界 grid outline".into(),
                        marker: false,
                    },
                ];
                let mut by_kind: BTreeMap<FacilityKind, Markers> = BTreeMap::new();
                for (n, ((k, _), v)) in served.iter().enumerate() {
                    if let Some(p) = v.2 {
                        by_kind
                            .entry(k.clone())
                            .or_default()
                            .push((p, Some((n + 1).to_string())));
                    }
                }
                for (k, pts) in by_kind {
                    let c = kind_colour(&ctx.catalog, &k);
                    let style = Style::marker(c, 3.2);
                    legend.push(LegendItem {
                        style,
                        label: kind_label(&ctx.catalog, &k),
                        marker: true,
                    });
                    layers.push(MapLayer {
                        style,
                        shapes: Shapes::Points(pts),
                    });
                }
                blocks.push(Block::Map(MapSpec {
                    extent,
                    height: Some(page_h * 0.36),
                    layers,
                    legend,
                    caption: None,
                }));
            }
            blocks.push(Block::Table(Table {
                caption: Some(format!(
                    "{} 分钟步行可达的设施 Facilities within {} min walk",
                    opts.minutes, opts.minutes
                )),
                columns: vec![
                    Column::number("#", 0.3),
                    Column::text("类型 kind", 1.6),
                    Column::text("设施 facility", 2.4),
                    Column::number("最近 min", 0.8),
                    Column::number("服务户数 hh served", 1.1),
                ],
                rows: served
                    .iter()
                    .enumerate()
                    .map(|(n, ((k, _), v))| {
                        vec![
                            (n + 1).to_string(),
                            kind_label(&ctx.catalog, k),
                            v.3.clone(),
                            format!("{:.1}", v.1),
                            v.0.to_string(),
                        ]
                    })
                    .collect(),
                empty: format!(
                    "{} 分钟内没有设施 no facility within {} min",
                    opts.minutes, opts.minutes
                ),
            }));
            if !kind_cov.is_empty() {
                blocks.push(Block::Text(
                    kind_cov
                        .iter()
                        .map(|(k, c)| format!("{}: {:.1} %", kind_label(&ctx.catalog, k), pct(*c, r.households)))
                        .collect::<Vec<_>>()
                        .join(" · ")
                        + &format!(" — 本网格户数在 {} 分钟内的覆盖率 share of the grid's households within {} min", opts.minutes, opts.minutes),
                ));
            }
            let mut columns = vec![
                Column::text("楼栋 building", 2.2),
                Column::text("地址 address", 2.2),
                Column::text("类型 type", 1.0),
                Column::number("层数 lv", 0.5),
                Column::number("户数 hh", 0.6),
                Column::number("老人 65+", 0.6),
            ];
            if ctx.people != PeopleView::Hidden {
                columns.push(Column::text("楼长 steward", 1.0));
            }
            let mut bs: Vec<&Building> = r.buildings.iter().map(|(_, b)| *b).collect();
            bs.sort_by(|a, b| a.address.cmp(&b.address).then_with(|| a.id.cmp(&b.id)));
            blocks.push(Block::Table(Table {
                caption: Some(format!("楼栋名册 Buildings ({})", bs.len())),
                columns,
                rows: bs
                    .iter()
                    .map(|b| {
                        let mut row = vec![
                            b.name
                                .clone()
                                .map_or_else(|| b.id.to_string(), |n| format!("{n} ({})", b.id)),
                            b.address.clone().unwrap_or_default(),
                            b.building_type.clone().unwrap_or_default(),
                            b.levels.map(|l| format!("{l}")).unwrap_or_default(),
                            b.households.to_string(),
                            b.elderly.map(|e| e.to_string()).unwrap_or_default(),
                        ];
                        if ctx.people != PeopleView::Hidden {
                            row.push(
                                b.steward
                                    .as_deref()
                                    .map(|s| mask(s, ctx.people))
                                    .unwrap_or_default(),
                            );
                        }
                        row
                    })
                    .collect(),
                empty: "无楼栋 no buildings".into(),
            }));
        }
        Ok(Report {
            title: format!("网格图册 Grid atlas — {scope}"),
            paper: ctx.paper,
            footer: footer(ctx, "网格图册 grid atlas"),
            blocks,
        })
    }

    /// The coverage report of one kind: headline figures, a map of buildings by walking minutes
    /// with the isochrones, per-community and per-grid tables and bars, and the ranked gaps.
    pub fn coverage_report(
        &self,
        ctx: &ReportContext,
        q: &CoverageQuery,
        opts: &CoverageReportOptions,
    ) -> Result<Vec<u8>> {
        let report = self.coverage_report_doc(ctx, q, opts)?;
        gridmap_report::render(&report).map_err(report_error)
    }

    /// The coverage report as a document.
    /// The widest circle of `q.minutes` is the headline, whatever their order; the others are
    /// its bands.
    pub fn coverage_report_doc(
        &self,
        ctx: &ReportContext,
        q: &CoverageQuery,
        opts: &CoverageReportOptions,
    ) -> Result<Report> {
        opts.check()?;
        let gaps = opts.gaps;
        let headline = q
            .minutes
            .iter()
            .copied()
            .filter(|m| m.is_finite())
            .fold(f64::NAN, f64::max);
        if headline.is_nan() {
            return Err(ServiceError::Invalid {
                name: "minutes",
                value: format!("{:?}", q.minutes),
                reason: "a report needs at least one walking time in minutes".into(),
            });
        }
        let mut ordered = vec![headline];
        ordered.extend(q.minutes.iter().copied().filter(|m| *m != headline));
        let q = &CoverageQuery {
            minutes: ordered,
            ..q.clone()
        };
        let summary = self.coverage(q)?;
        let ds = self.dataset();
        let kind = facility_kind(&q.kind)?;
        let label = kind.as_ref().map_or_else(
            || "全部设施 all facilities".to_owned(),
            |k| kind_label(&ctx.catalog, k),
        );
        let mut minutes = q.minutes.clone();
        minutes.sort_by(f64::total_cmp);
        let bound = minutes.last().copied().unwrap_or(15.0);
        let cov = self.kind_coverage(&q.kind, q.profile, bound)?;
        let profile_name = if (q.profile.speed_kmh - WalkProfile::elderly().speed_kmh).abs() < 1e-9
        {
            "老年人步速 elderly pace"
        } else {
            "成人步速 adult pace"
        };
        let mins_text = minutes
            .iter()
            .map(|m| format!("{m}"))
            .collect::<Vec<_>>()
            .join(" / ");
        let mut blocks = vec![Block::Title {
            text: format!("{} 分钟生活圈覆盖报告 Coverage report", summary.minutes),
            subtitle: Some(format!(
                "{label} · {} · {mins_text} 分钟 min · {profile_name} {:.1} km/h",
                ctx.dataset, q.profile.speed_kmh
            )),
        }];
        if let Some(l) = ctx.catalog.label.as_ref() {
            blocks.push(Block::Notice(format!("设施口径 facility profile: {l}")));
        }
        if let Some(n) = &summary.note {
            blocks.push(Block::Notice(n.clone()));
        }
        let mut figs = vec![
            Figure::new("设施 facilities", summary.facilities.to_string()),
            Figure::new(
                format!("覆盖率 share ≤ {} min", summary.minutes),
                format!("{:.1} %", summary.pct),
            ),
            Figure::new(
                "覆盖户数 covered",
                format!(
                    "{} / {}",
                    thousands(summary.covered_households),
                    thousands(summary.total_households)
                ),
            ),
            Figure::new(
                "未覆盖户数 left outside",
                thousands(summary.total_households - summary.covered_households),
            ),
        ];
        if summary.total_elderly > 0 {
            figs.push(Figure::new(
                "老人覆盖 elderly covered",
                format!(
                    "{:.1} %",
                    pct(summary.covered_elderly, summary.total_elderly)
                ),
            ));
        }
        for t in &summary.thresholds {
            if t.minutes != summary.minutes {
                figs.push(Figure::new(
                    format!("≤ {} 分钟 min", t.minutes),
                    format!("{:.1} %", t.pct_households),
                ));
            }
        }
        if summary.unreachable_buildings > 0 {
            figs.push(Figure::new(
                "无法到达楼栋 unreachable bldgs",
                thousands(summary.unreachable_buildings as u64),
            ));
        }
        blocks.push(Block::Figures(figs));

        // map: buildings by minutes band, the isochrones' outlines, the facilities
        let band_colours = [
            Rgb(26, 152, 80),
            Rgb(145, 207, 96),
            Rgb(254, 224, 139),
            Rgb(252, 141, 89),
        ];
        let beyond = Rgb(215, 48, 39);
        let extent = padded(
            ds.buildings
                .iter()
                .filter_map(|b| b.footprint.bounding_rect()),
            0.02,
        );
        if let Some(extent) = extent {
            let mut layers = roads(ds, &extent);
            let mut bands: Vec<Vec<MultiPolygon<f64>>> = vec![Vec::new(); minutes.len() + 1];
            for (i, b) in ds.buildings.iter().enumerate() {
                let d = cov.building_m.get(i).copied().unwrap_or(f64::INFINITY);
                let m = q.profile.minutes(d);
                let slot = minutes
                    .iter()
                    .position(|t| m <= *t)
                    .unwrap_or(minutes.len());
                bands[slot].push(b.footprint.clone());
            }
            let mut legend = Vec::new();
            for (slot, polys) in bands.into_iter().enumerate() {
                let c = if slot < minutes.len() {
                    band_colours[slot.min(band_colours.len() - 1)]
                } else {
                    beyond
                };
                let style = Style::fill(c);
                let lab = if slot < minutes.len() {
                    format!("≤ {} 分钟 min", minutes[slot])
                } else {
                    format!("> {bound} 分钟 min / 不可达 unreachable")
                };
                legend.push(LegendItem {
                    style,
                    label: lab,
                    marker: false,
                });
                layers.push(MapLayer {
                    style,
                    shapes: Shapes::Polygons(polys),
                });
            }
            if let Ok(iso) = self.isochrone_for_kind(&q.kind, &minutes, q.profile) {
                for band in iso {
                    let slot = minutes.iter().position(|t| *t == band.minutes).unwrap_or(0);
                    layers.push(MapLayer {
                        style: Style::line(band_colours[slot.min(3)], 0.9).dashed(),
                        shapes: Shapes::Polygons(vec![band.polygon]),
                    });
                }
                legend.push(LegendItem {
                    style: Style::line(band_colours[0], 0.9).dashed(),
                    label: "等时线 isochrones".into(),
                    marker: false,
                });
            }
            let pts: Vec<(Point<f64>, Option<String>)> = ds
                .facilities
                .iter()
                .filter(|f| kind.as_ref().is_none_or(|k| &f.kind == k))
                .map(|f| (f.location, None))
                .collect();
            let fc = kind
                .as_ref()
                .map_or(Rgb(40, 40, 40), |k| kind_colour(&ctx.catalog, k));
            let fstyle = Style::marker(fc, 2.8);
            legend.push(LegendItem {
                style: fstyle,
                label: label.clone(),
                marker: true,
            });
            layers.push(MapLayer {
                style: fstyle,
                shapes: Shapes::Points(pts),
            });
            blocks.push(Block::Map(MapSpec {
                extent,
                height: Some(ctx.paper.points().1 * 0.45),
                layers,
                legend,
                caption: Some(
                    "楼栋步行时间 Buildings by walking minutes to the nearest facility".into(),
                ),
            }));
        }

        let group_rows = |g: &[crate::coverage::GroupCoverage]| {
            g.iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        c.buildings.to_string(),
                        c.total_households.to_string(),
                        c.covered_households.to_string(),
                        format!("{:.1}", c.pct),
                        (c.total_households - c.covered_households).to_string(),
                        if c.total_elderly > 0 {
                            format!("{:.1}", pct(c.covered_elderly, c.total_elderly))
                        } else {
                            "—".into()
                        },
                    ]
                })
                .collect::<Vec<_>>()
        };
        let group_cols = |first: &str| {
            vec![
                Column::text(first, 2.4),
                Column::number("楼栋 bldgs", 0.8),
                Column::number("户数 hh", 0.9),
                Column::number("覆盖 covered", 0.9),
                Column::number("覆盖率 %", 0.8),
                Column::number("未覆盖 outside", 0.9),
                Column::number("老人覆盖 65+ %", 1.0),
            ]
        };
        blocks.push(Block::PageBreak);
        blocks.push(Block::Heading("按社区 By community".into()));
        let mut comms = summary.by_community.clone();
        comms.sort_by(|a, b| a.pct.total_cmp(&b.pct).then_with(|| a.name.cmp(&b.name)));
        blocks.push(Block::Bars(BarChart {
            title: format!(
                "{} 分钟覆盖率，低者在前 Share within {} min, lowest first",
                summary.minutes, summary.minutes
            ),
            bars: comms
                .iter()
                .take(40)
                .map(|c| Bar {
                    label: c.name.clone(),
                    value: c.pct,
                    note: format!(
                        "{:.1} % · {} 户未覆盖",
                        c.pct,
                        c.total_households - c.covered_households
                    ),
                })
                .collect(),
            max: 100.0,
            colour: Rgb(49, 130, 189),
            reference: Some((summary.pct, format!("全域 overall {:.1} %", summary.pct))),
        }));
        blocks.push(Block::Table(Table {
            caption: Some("社区覆盖 Coverage per community".into()),
            columns: group_cols("社区 community"),
            rows: group_rows(&comms),
            empty: "无社区 no communities".into(),
        }));
        if !summary.by_grid.is_empty() {
            let mut grids = summary.by_grid.clone();
            grids.sort_by(|a, b| a.pct.total_cmp(&b.pct).then_with(|| a.name.cmp(&b.name)));
            blocks.push(Block::Heading("按网格 By grid".into()));
            blocks.push(Block::Table(Table {
                caption: Some("网格覆盖，低者在前 Coverage per grid, lowest first".into()),
                columns: group_cols("网格 grid"),
                rows: group_rows(&grids),
                empty: "无网格 no grids".into(),
            }));
        }
        let gap_list = self.gaps(&q.kind, summary.minutes, q.profile, &GapOptions::default())?;
        blocks.push(Block::Heading(format!(
            "覆盖缺口 Gaps (beyond {} min)",
            summary.minutes
        )));
        let bindex: HashMap<&gridmap_model::BuildingId, usize> = ds
            .buildings
            .iter()
            .enumerate()
            .map(|(i, b)| (&b.id, i))
            .collect();
        blocks.push(Block::Table(Table {
            caption: Some(format!(
                "户数最多的缺口 The {} largest gaps by households",
                gaps.min(gap_list.len())
            )),
            columns: vec![
                Column::number("#", 0.3),
                Column::text("社区 community", 2.0),
                Column::number("户数 hh", 0.8),
                Column::number("老人 65+", 0.8),
                Column::number("楼栋 bldgs", 0.8),
                Column::number("面积 m²", 1.0),
                Column::text("中心 centre (lon, lat)", 1.8),
            ],
            rows: gap_list
                .iter()
                .take(gaps)
                .map(|g| {
                    let community = g
                        .buildings
                        .first()
                        .and_then(|id| bindex.get(id))
                        .and_then(|&i| ds.buildings[i].community.as_ref())
                        .map_or_else(String::new, |c| self.community_name(c.as_str()));
                    vec![
                        g.rank.to_string(),
                        community,
                        g.households.to_string(),
                        g.elderly.to_string(),
                        g.buildings.len().to_string(),
                        format!("{:.0}", g.area_m2),
                        format!("{:.5}, {:.5}", g.centre[0], g.centre[1]),
                    ]
                })
                .collect(),
            empty: format!(
                "没有缺口：所有楼栋都在 {} 分钟内 no gaps: every building is within {} min",
                summary.minutes, summary.minutes
            ),
        }));
        if opts.add_sites > 0 {
            self.proposal_blocks(ctx, q, summary.minutes, opts, &mut blocks)?;
        }
        Ok(Report {
            title: format!("{} 覆盖报告 Coverage report — {}", label, ctx.dataset),
            paper: ctx.paper,
            footer: footer(ctx, "覆盖报告 coverage report"),
            blocks,
        })
    }
}

impl CoverageReportOptions {
    /// The most new sites a report proposes, and the range of sampled candidates.
    pub const MAX_ADD_SITES: usize = 50;
    pub const CANDIDATES: std::ops::RangeInclusive<usize> = 10..=20_000;
    pub const MAX_GAPS: usize = 500;

    fn check(&self) -> Result<()> {
        let bad = |name: &'static str, value: usize, reason: String| ServiceError::Invalid {
            name,
            value: value.to_string(),
            reason,
        };
        if self.add_sites > Self::MAX_ADD_SITES {
            return Err(bad(
                "add_sites",
                self.add_sites,
                format!(
                    "a report proposes at most {} new sites",
                    Self::MAX_ADD_SITES
                ),
            ));
        }
        if self.add_sites > 0 && !Self::CANDIDATES.contains(&self.candidates) {
            return Err(bad(
                "candidates",
                self.candidates,
                format!(
                    "draw {}..={} street corners as candidates",
                    Self::CANDIDATES.start(),
                    Self::CANDIDATES.end()
                ),
            ));
        }
        if self.gaps > Self::MAX_GAPS {
            return Err(bad(
                "gaps",
                self.gaps,
                format!("a report lists at most {} gaps", Self::MAX_GAPS),
            ));
        }
        Ok(())
    }
}

impl Analysis {
    /// The coverage report's proposal: `opts.add_sites` new sites by maximal covering over
    /// sampled street corners, existing sites fixed — the figures before and after, a map of the
    /// sites with the buildings they bring inside the circle, and the ranked list.
    fn proposal_blocks(
        &self,
        ctx: &ReportContext,
        q: &CoverageQuery,
        minutes: f64,
        opts: &CoverageReportOptions,
        blocks: &mut Vec<Block>,
    ) -> Result<()> {
        let mut req = SitingRequest::mclp(
            &q.kind,
            opts.add_sites,
            CandidateSource::SampleNodes {
                n: opts.candidates,
                seed: 1,
            },
        );
        req.minutes = minutes;
        req.profile = q.profile;
        req.time_limit_s = opts.time_limit_s;
        let r = self.site(&req, &|_| {}, None)?;
        let ds = self.dataset();
        blocks.push(Block::PageBreak);
        blocks.push(Block::Heading(format!(
            "新增 {} 处设施建议 Where {} new sites help most",
            r.add, r.add
        )));
        let quality = if r.optimal {
            "已证明最优 proven optimal".to_owned()
        } else {
            r.gap.map_or_else(
                || "启发式 heuristic".to_owned(),
                |g| format!("与上界差距 gap to the bound ≤ {:.2} %", 100.0 * g),
            )
        };
        blocks.push(Block::Text(format!(
            "最大覆盖模型（现有设施保持不变），候选点为随机抽取的 {} 个路网节点；求解器 {}，{}。\
             Maximal covering with the existing sites kept, over {} street corners drawn with seed 1; \
             solver {}, {}.",
            opts.candidates, r.solver, quality, opts.candidates, r.solver, quality
        )));
        blocks.push(Block::Figures(vec![
            Figure::new(
                format!("现状 now ≤ {minutes} min"),
                format!("{:.1} %", r.pct_before),
            ),
            Figure::new(
                format!("新增后 after +{}", r.add),
                format!("{:.1} %", r.pct_after),
            ),
            Figure::new(
                "新增覆盖户数 households added",
                thousands(r.households_after.saturating_sub(r.households_before)),
            ),
        ]));
        let newly: std::collections::HashSet<&str> = r
            .sites
            .iter()
            .flat_map(|s| s.newly_covered.iter().map(String::as_str))
            .collect();
        let pts: Vec<Point<f64>> = r.sites.iter().map(|s| Point::new(s.lon, s.lat)).collect();
        let added: Vec<MultiPolygon<f64>> = ds
            .buildings
            .iter()
            .filter(|b| newly.contains(b.id.as_str()))
            .map(|b| b.footprint.clone())
            .collect();
        let extent = padded(
            added
                .iter()
                .filter_map(BoundingRect::bounding_rect)
                .chain(pts.iter().map(|p| Rect::new(p.0, p.0))),
            0.1,
        );
        if let Some(extent) = extent {
            let mut layers = roads(ds, &extent);
            let others: Vec<MultiPolygon<f64>> = ds
                .buildings
                .iter()
                .filter(|b| !newly.contains(b.id.as_str()))
                .filter(|b| {
                    b.footprint
                        .bounding_rect()
                        .is_some_and(|r| intersects(&r, &extent))
                })
                .map(|b| b.footprint.clone())
                .collect();
            layers.push(MapLayer {
                style: Style::fill(CONTEXT),
                shapes: Shapes::Polygons(others),
            });
            layers.push(MapLayer {
                style: Style::fill(NEWLY_COVERED),
                shapes: Shapes::Polygons(added),
            });
            let kind = facility_kind(&q.kind)?;
            let existing: Vec<(Point<f64>, Option<String>)> = ds
                .facilities
                .iter()
                .filter(|f| kind.as_ref().is_none_or(|k| &f.kind == k))
                .map(|f| (f.location, None))
                .collect();
            let fc = kind
                .as_ref()
                .map_or(Rgb(40, 40, 40), |k| kind_colour(&ctx.catalog, k));
            layers.push(MapLayer {
                style: Style::marker(fc, 2.8),
                shapes: Shapes::Points(existing),
            });
            layers.push(MapLayer {
                style: Style::marker(PROPOSED, 4.0),
                shapes: Shapes::Points(
                    r.sites
                        .iter()
                        .map(|s| (Point::new(s.lon, s.lat), Some(s.rank.to_string())))
                        .collect(),
                ),
            });
            blocks.push(Block::Map(MapSpec {
                extent,
                height: Some(ctx.paper.points().1 * 0.4),
                layers,
                legend: vec![
                    LegendItem {
                        style: Style::marker(PROPOSED, 4.0),
                        label: "建议新址 proposed, no. = rank".into(),
                        marker: true,
                    },
                    LegendItem {
                        style: Style::marker(fc, 2.8),
                        label: "现有设施 existing site".into(),
                        marker: true,
                    },
                    LegendItem {
                        style: Style::fill(NEWLY_COVERED),
                        label: format!("新纳入 newly ≤ {minutes} min"),
                        marker: false,
                    },
                ],
                caption: Some("建议新址 Proposed sites".into()),
            }));
        }
        blocks.push(Block::Table(Table {
            caption: Some("按新增覆盖户数排序 Ranked by the households each adds".into()),
            columns: vec![
                Column::number("排名 rank", 0.6),
                Column::text("候选点 candidate", 1.4),
                Column::text("位置 (lon, lat)", 1.8),
                Column::number("新增户数 hh added", 1.0),
                Column::number("新增楼栋 bldgs", 0.9),
            ],
            rows: r
                .sites
                .iter()
                .map(|s| {
                    vec![
                        s.rank.to_string(),
                        s.candidate_id.clone(),
                        format!("{:.5}, {:.5}", s.lon, s.lat),
                        thousands(s.marginal_households),
                        s.newly_covered.len().to_string(),
                    ]
                })
                .collect(),
            empty: "没有能增加覆盖的候选点 no candidate adds coverage".into(),
        }));
        Ok(())
    }
}

fn report_error(e: gridmap_report::ReportError) -> ServiceError {
    ServiceError::Invalid {
        name: "report",
        value: String::new(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked_to_their_first_character() {
        assert_eq!(mask("王建国", PeopleView::Masked), "王**");
        assert_eq!(mask("李", PeopleView::Masked), "李*");
        assert_eq!(mask("王建国", PeopleView::Full), "王建国");
        assert_eq!(mask("王建国", PeopleView::Hidden), "");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}

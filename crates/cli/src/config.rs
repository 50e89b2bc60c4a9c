//! Command-line and environment configuration, parsed once.
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Grid mapping and 15-minute walking coverage for community planners.
///
/// Typical session: `gridmap import city.osm.pbf`, `gridmap partition --target 300`,
/// `gridmap coverage --kind canteen --minutes 15`, `gridmap serve`. Or just `gridmap demo`.
#[derive(Debug, Parser)]
#[command(name = "gridmap", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command understands.
#[derive(Debug, Args, Clone)]
pub struct Global {
    /// Database URL: `sqlite://FILE` (embedded, default) or `postgres://USER@HOST/DB` (PostGIS).
    #[arg(
        long,
        global = true,
        env = "GRIDMAP_DB",
        default_value = "sqlite://gridmap.db"
    )]
    pub db: String,
    /// Print machine-readable JSON (one object on the last line of stdout) instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log filter (tracing syntax), e.g. `info`, `gridmap=debug`.
    #[arg(long, global = true, env = "GRIDMAP_LOG", default_value = "warn")]
    pub log: String,
    /// Log as JSON lines (for servers) instead of human-readable text.
    #[arg(long, global = true, env = "GRIDMAP_LOG_JSON")]
    pub log_json: bool,
    /// Hide progress bars.
    #[arg(long, global = true, env = "GRIDMAP_QUIET")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import an OSM (.osm.pbf/.osm), GeoJSON (.geojson[.gz]) or household CSV file (all or nothing).
    Import(ImportArgs),
    /// Export a layer as GeoJSON.
    Export(ExportArgs),
    /// Walking coverage of one facility kind: covered households at the given minutes.
    Coverage(CoverageArgs),
    /// Buildings beyond N minutes of a facility kind, clustered into gap areas.
    Gaps(GapsArgs),
    /// Walking-time contours around one facility or all facilities of a kind.
    Isochrone(IsochroneArgs),
    /// Facility siting: where P new sites of a kind cover the most households (MCLP, set cover,
    /// p-median, p-center, capacitated), or which existing sites to close (closure); existing
    /// sites fixed open; exact with a time limit, gap reported.
    Site(SiteArgs),
    /// Accessibility scores that count capacity (2SFCA / E2SFCA) per building, grid, community.
    Access(AccessArgs),
    /// Printable PDF reports: the grid atlas and the coverage report (Chinese text selectable).
    #[command(subcommand)]
    Report(ReportCommand),
    /// Cut communities into grids of about N households and store them.
    Partition(PartitionArgs),
    /// Fix grids whose households left the band, moving as few households as possible.
    Rebalance(RebalanceArgs),
    /// Check hand-drawn grid polygons: assignment, overlaps, band, contiguity, borders.
    Validate(ValidateArgs),
    /// Serve the web map, GeoJSON, OGC API - Features, vector tiles and OpenAPI.
    Serve(ServeArgs),
    /// Import the bundled real data into an embedded SQLite file and serve the map.
    Demo(DemoArgs),
    /// Build a large test city by tiling an extract N×N times.
    Synth(SynthArgs),
    /// Counts of what the database holds.
    Stats,
    /// Manage user accounts and API tokens (every change is written to the audit log).
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create (or replace) a user. Without a password option a random one is generated and printed.
    Add(UserAddArgs),
    /// List users (`--json` for one JSON array).
    List,
    /// Delete a user and their sessions and API tokens.
    Remove {
        /// Login name.
        name: String,
    },
    /// Change a user's role and scope.
    SetRole {
        /// Login name.
        name: String,
        /// admin, planner, department or grid_lead.
        role: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Create an API token for a user; it is printed once and only its hash is stored.
    Token {
        /// Login name.
        name: String,
        /// A label for the token (e.g. what uses it).
        #[arg(long = "name", id = "label", value_name = "LABEL")]
        label: Option<String>,
    },
}

#[derive(Debug, Args, Clone, Default)]
pub struct ScopeArgs {
    /// Grids a grid_lead may edit (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub grids: Option<Vec<String>>,
    /// Communities a planner is limited to (comma-separated ids; none = all).
    #[arg(long, value_delimiter = ',')]
    pub communities: Option<Vec<String>>,
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// Login name.
    pub name: String,
    /// admin, planner, department or grid_lead.
    #[arg(long)]
    pub role: String,
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Display name.
    #[arg(long)]
    pub display_name: Option<String>,
    /// Read the password from the first line of stdin.
    #[arg(long, conflicts_with = "password")]
    pub password_stdin: bool,
    /// The password (visible in the process list and shell history: prefer --password-stdin).
    #[arg(long)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LayerArg {
    Buildings,
    Facilities,
    Network,
    Compounds,
    Communities,
    Streets,
    Grids,
    /// Household CSV (building_id|address, households, elderly, steward)
    Households,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// File to import.
    pub file: PathBuf,
    /// What the file holds (GeoJSON and CSV); inferred when omitted.
    #[arg(long, value_enum)]
    pub layer: Option<LayerArg>,
    /// CRS of the input coordinates: EPSG:4326 (WGS84), EPSG:4490 (CGCS2000), GCJ02, BD09.
    #[arg(long, default_value = "EPSG:4326")]
    pub crs: String,
    /// Average dwelling size in m² for the household estimate.
    #[arg(long, default_value_t = 90.0)]
    pub dwelling_m2: f64,
    /// OSM tag/name → facility kind profile: `strict` (default, data/facility_tags.toml: only
    /// features whose tags or names say so), `proxy` (data/facility_tags_proxy.toml: restaurants
    /// counted as canteens, …; figures carry its label), or a TOML file.
    #[arg(long, default_value = "strict")]
    pub facility_tags: String,
    /// Read the file and print the report (facility matches per kind and rule, unmatched values
    /// near homes) without writing anything.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Layer to export.
    #[arg(
        long,
        value_enum,
        required_unless_present = "input",
        conflicts_with = "input"
    )]
    pub layer: Option<LayerArg>,
    /// Or: a GeoJSON file to convert — an analysis result (`gaps --geojson`, `site --geojson`,
    /// `isochrone --geojson`, `coverage --per-building`'s GeoJSON, an API answer).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Output file (`-` for stdout; a GeoPackage or shapefile needs a file name).
    #[arg(long, short, default_value = "-")]
    pub out: PathBuf,
    /// geojson, fgb, gpkg, shp, csv or xlsx; default: from the output file's extension, else geojson.
    #[arg(long)]
    pub format: Option<String>,
    /// CRS of the output coordinates (EPSG:4326, EPSG:4490, GCJ02, BD09). With --input the
    /// file is read as WGS84 and converted.
    #[arg(long, default_value = "EPSG:4326")]
    pub crs: String,
    /// Shapefile attribute text: utf-8 or gbk (said in the .cpg).
    #[arg(long, default_value = "utf-8")]
    pub encoding: String,
}

#[derive(Debug, Args, Clone)]
pub struct WalkArgs {
    /// Facility kind: service_station, canteen, reading_room, outreach_point, other, a free-form kind, or `all`.
    #[arg(long)]
    pub kind: String,
    /// Walking speed in km/h (overrides the profile).
    #[arg(long)]
    pub speed_kmh: Option<f64>,
    /// Speed profile: adult (4.5 km/h) or elderly (3.0 km/h).
    #[arg(long, default_value = "adult")]
    pub profile: String,
}

#[derive(Debug, Args)]
pub struct CoverageArgs {
    #[command(flatten)]
    pub walk: WalkArgs,
    /// Thresholds in minutes (comma-separated); the first is the headline figure. Default: the
    /// kind's default minutes from the facility profile (`[[kind]] minutes`), else 15.
    #[arg(long, value_delimiter = ',')]
    pub minutes: Vec<f64>,
    /// Write `building_id,minutes,facility_id` for every building to this CSV.
    #[arg(long)]
    pub per_building: Option<PathBuf>,
    /// Also print a table per community, grid and/or compound at the headline threshold
    /// (comma-separated: community,grid,compound). `--json` always carries every table.
    #[arg(long, value_delimiter = ',', value_parser = ["community", "grid", "compound"])]
    pub by: Vec<String>,
}

#[derive(Debug, Args)]
pub struct GapsArgs {
    #[command(flatten)]
    pub walk: WalkArgs,
    #[arg(long, default_value_t = 15.0)]
    pub minutes: f64,
    /// Uncovered buildings closer than this (metres) belong to the same gap area.
    #[arg(long, default_value_t = 150.0)]
    pub cluster_m: f64,
    /// Write the gap areas as GeoJSON.
    #[arg(long)]
    pub geojson: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct IsochroneArgs {
    /// One facility id; or give --kind for the union over all facilities of a kind.
    #[arg(long)]
    pub facility: Option<String>,
    #[arg(long)]
    pub kind: Option<String>,
    #[arg(long, default_value = "5,10,15", value_delimiter = ',')]
    pub minutes: Vec<f64>,
    #[arg(long)]
    pub speed_kmh: Option<f64>,
    #[arg(long, default_value = "adult")]
    pub profile: String,
    /// Output GeoJSON file (`-` for stdout).
    #[arg(long, default_value = "-")]
    pub geojson: PathBuf,
}

#[derive(Debug, Args)]
pub struct PartitionArgs {
    /// Only this community (id or name); all communities when omitted.
    #[arg(long)]
    pub community: Option<String>,
    /// Target households per grid.
    #[arg(long, default_value_t = 300.0)]
    pub target: f64,
    /// Allowed relative deviation from the target (0.15 = ±15 %).
    #[arg(long, default_value_t = 0.15)]
    pub tolerance: f64,
    /// Report only; do not store the grids.
    #[arg(long)]
    pub dry_run: bool,
    /// Write `building_id,grid_id` for every building to this CSV.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed of the randomized search (results are deterministic for a seed).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Digits of the grid sequence in codes (default: 2, or 3 from 100 grids in a community).
    #[arg(long)]
    pub code_width: Option<usize>,
    /// Grid code layout with `{community}` and `{seq}` (default: `{community}{seq}` for numeric
    /// community codes, `{community}-{seq}` otherwise).
    #[arg(long)]
    pub code_pattern: Option<String>,
}

#[derive(Debug, Args)]
pub struct RebalanceArgs {
    #[arg(long, default_value_t = 300.0)]
    pub target: f64,
    #[arg(long, default_value_t = 0.15)]
    pub tolerance: f64,
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// GeoJSON of grid polygons (properties: id, code, name, community).
    #[arg(long)]
    pub grids: PathBuf,
    #[arg(long, default_value_t = 300.0)]
    pub target: f64,
    #[arg(long, default_value_t = 0.15)]
    pub tolerance: f64,
    #[arg(long, default_value = "EPSG:4326")]
    pub crs: String,
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "GRIDMAP_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Allowed CORS origins (comma-separated); none by default.
    #[arg(long, env = "GRIDMAP_CORS", value_delimiter = ',')]
    pub cors: Vec<String>,
    /// Largest accepted request body in bytes.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub body_limit: usize,
    /// Request timeout in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout_s: u64,
    /// What callers without a login or token may do: `read` (layers, tiles, coverage; no
    /// what-if, no edits), `none` (only the landing page, OpenAPI, the web app and login), or
    /// `auto`: read when listening on a loopback address, none otherwise.
    #[arg(long, env = "GRIDMAP_ANONYMOUS", default_value = "auto", value_parser = ["auto", "read", "none"])]
    pub anonymous: String,
    /// Lifetime of a login session, hours.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=720))]
    pub session_hours: u64,
    /// Public base URL for absolute links behind a proxy (an https:// URL also marks the session
    /// cookie Secure).
    #[arg(long, env = "GRIDMAP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Event categories (departments, deadline classes, calendars) instead of the embedded
    /// data/event_categories.toml (same shape).
    #[arg(long, env = "GRIDMAP_EVENT_CATEGORIES")]
    pub event_categories: Option<std::path::PathBuf>,
}

impl ServeArgs {
    /// Serving `bind` with the defaults of `gridmap serve`.
    pub fn on(bind: SocketAddr) -> Self {
        ServeArgs {
            bind,
            cors: vec![],
            body_limit: 16 * 1024 * 1024,
            timeout_s: 30,
            anonymous: "auto".into(),
            session_hours: 12,
            public_url: None,
            event_categories: None,
        }
    }
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Bundled city: monaco (default) or haidian (Beijing).
    #[arg(long, default_value = "monaco")]
    pub city: String,
    /// Import and partition, then exit without serving.
    #[arg(long)]
    pub no_serve: bool,
    /// Facility tag profile (strict, proxy or a TOML file). Default: proxy for Monaco (it has no
    /// real canteens or service stations; the map says so on screen), strict for Haidian.
    #[arg(long)]
    pub facility_tags: Option<String>,
}

#[derive(Debug, Args)]
pub struct SiteArgs {
    #[command(flatten)]
    pub walk: WalkArgs,
    /// New sites to open (all models but setcover).
    #[arg(long, default_value_t = 5)]
    pub add: usize,
    /// Walking limit in minutes: a household is covered within it.
    #[arg(long, default_value_t = 15.0)]
    pub minutes: f64,
    /// Candidate sites: a GeoJSON FeatureCollection of points (polygons count by their centroid);
    /// ids from the feature id or properties.id.
    #[arg(long, conflicts_with = "candidates")]
    pub candidates_file: Option<PathBuf>,
    /// Or: this many graph nodes drawn with --seed ("any street corner").
    #[arg(long, conflicts_with_all = ["candidates_buildings", "candidates_facilities"])]
    pub candidates: Option<usize>,
    /// Or: buildings of these `building` types as candidates (comma-separated; `*` = all), at
    /// their entrance or centroid.
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["candidates_file", "candidates_facilities"])]
    pub candidates_buildings: Option<Vec<String>>,
    /// Or: existing facilities of these kinds as candidates (sites that could host the new one).
    #[arg(long, value_delimiter = ',', conflicts_with = "candidates_file")]
    pub candidates_facilities: Option<Vec<String>>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// mclp, setcover, pmedian, pcenter, capacitated (each site serves at most its capacity), or
    /// closure (which --add existing sites lose the fewest covered households; no candidates).
    #[arg(long, default_value = "mclp", value_parser = ["mclp", "setcover", "pmedian", "pcenter", "capacitated", "closure"])]
    pub model: String,
    /// capacitated: households each new site serves (default: the median capacity of the
    /// existing sites of the kind).
    #[arg(long)]
    pub capacity: Option<u64>,
    /// setcover: the share of households to reach, in percent.
    #[arg(long)]
    pub target_pct: Option<f64>,
    /// Seconds for the exact search; when hit, the best selection found comes back with its gap.
    #[arg(long, default_value_t = 30.0)]
    pub time_limit: f64,
    /// Only the heuristic (greedy + vertex substitution), no exact search.
    #[arg(long)]
    pub heuristic: bool,
    /// What a building weighs: households, or elderly people.
    #[arg(long, default_value = "households", value_parser = ["households", "elderly"])]
    pub demand: String,
    /// CSV of the new sites: rank,candidate_id,lon,lat,marginal_households,newly_covered_buildings,snapped_lon,snapped_lat.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// GeoJSON of the new sites.
    #[arg(long)]
    pub geojson: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AccessArgs {
    #[command(flatten)]
    pub walk: WalkArgs,
    /// Catchment: walking minutes.
    #[arg(long, default_value_t = 15.0)]
    pub minutes: f64,
    /// Distance decay inside the catchment: uniform (2SFCA), e2sfca (bands 1 / 0.68 / 0.22),
    /// gaussian, linear.
    #[arg(long, default_value = "e2sfca", value_parser = ["uniform", "2sfca", "e2sfca", "gaussian", "linear"])]
    pub decay: String,
    /// What a building weighs: households, or elderly people.
    #[arg(long, default_value = "households", value_parser = ["households", "elderly"])]
    pub demand: String,
    /// CSV of every building: id,households,score.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Extract to tile (any importable file).
    pub file: PathBuf,
    /// Tile the extract N×N times.
    #[arg(long, short, default_value_t = 2)]
    pub n: u32,
    /// Facility tag profile for an OSM extract (strict, proxy or a TOML file). Proxy by default:
    /// a benchmark city needs facilities of every kind, and the benchmarks compare over time.
    #[arg(long, default_value = "proxy")]
    pub facility_tags: String,
}

/// Sets up tracing once: to stderr, text or JSON, filtered by `--log`.
pub fn init_tracing(g: &Global) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&g.log).unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if g.log_json {
        builder.json().init();
    } else {
        builder.compact().init();
    }
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Grid atlas: a cover with the map and table of the grids, then one page per grid (map,
    /// counts, leads, facilities within --minutes, building roster).
    Grids(AtlasArgs),
    /// Coverage report of one kind: headline figures, a map by walking minutes with
    /// isochrones, per-community and per-grid tables and bars, the ranked gaps.
    Coverage(CoverageReportArgs),
}

#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// Where to write the PDF (`-` = standard output).
    #[arg(short = 'o', long)]
    pub out: PathBuf,
    /// Paper: a4, a3, a4-landscape, a3-landscape.
    #[arg(long, default_value = "a4")]
    pub paper: String,
    /// Title of the dataset on the cover and in the footers (default: the database's name).
    #[arg(long)]
    pub title: Option<String>,
    /// Person data (building stewards): hidden (counts only, the default), masked, or full.
    #[arg(long, default_value = "hidden", value_parser = ["hidden", "masked", "full"])]
    pub people: String,
}

#[derive(Debug, Args)]
pub struct AtlasArgs {
    #[command(flatten)]
    pub report: ReportArgs,
    /// One community (id or name); default every grid.
    #[arg(long)]
    pub community: Option<String>,
    /// Only these grids (ids or codes, comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub grids: Vec<String>,
    /// "Facilities within N minutes" on each grid page.
    #[arg(long, default_value_t = 15.0)]
    pub minutes: f64,
    /// Target households per grid (the band on the pages).
    #[arg(long, default_value_t = 300.0)]
    pub target: f64,
    #[arg(long, default_value_t = 0.15)]
    pub tolerance: f64,
}

#[derive(Debug, Args)]
pub struct CoverageReportArgs {
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub walk: WalkArgs,
    /// Thresholds in minutes (comma-separated); the largest is the headline. Default 5,10,15.
    #[arg(long, value_delimiter = ',')]
    pub minutes: Vec<f64>,
    /// How many of the largest gaps to list.
    #[arg(long, default_value_t = 20)]
    pub gaps: usize,
    /// Also propose this many new sites of the kind (maximal covering, existing sites kept)
    /// and show where they go and what they add.
    #[arg(long, default_value_t = 0)]
    pub add_sites: usize,
    /// Street corners drawn (seed 1) as candidates for --add-sites.
    #[arg(long, default_value_t = 1000)]
    pub candidates: usize,
}

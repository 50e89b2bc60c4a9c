//! `gridmap demo`: import the bundled real OpenStreetMap extract into an embedded SQLite file,
//! cut it into grids, and serve the map. The extracts are compiled into the binary, so the demo
//! works from any folder on a machine with no network.
use crate::config::{DemoArgs, Global, ServeArgs};
use crate::error::{CliError, Result};
use crate::progress::Bar;
use gridmap_import::{FacilityTagConfig, ImportOptions};
use gridmap_model::{Role, User, FACILITY_PROFILE_META};
use std::time::Instant;

/// Bundled cities: name, file name, bytes. © OpenStreetMap contributors, ODbL 1.0 (data/PROVENANCE.md).
const CITIES: [(&str, &str, &[u8]); 2] = [
    (
        "monaco",
        "monaco.osm.pbf",
        include_bytes!("../../../../data/monaco.osm.pbf"),
    ),
    (
        "haidian",
        "haidian.osm.pbf",
        include_bytes!("../../../../data/haidian.osm.pbf"),
    ),
];

/// Demo accounts, one per role, with fixed passwords (role name + `-demo`): for trying the
/// roles on a local demo only. The grid lead is scoped to the grid with the most facilities
/// within 1 km of its buildings (so their view has something to show).
pub const DEMO_USERS: [(&str, Role); 4] = [
    ("admin", Role::Admin),
    ("planner", Role::Planner),
    ("department", Role::Department),
    ("grid_lead", Role::GridLead),
];

/// The grid with the most facilities within 1 km (straight line) of its buildings' centre.
fn lead_grid(ds: &gridmap_model::Dataset) -> Option<gridmap_model::GridId> {
    use geo::Centroid;
    let pos: std::collections::HashMap<&str, &gridmap_model::Building> =
        ds.buildings.iter().map(|b| (b.id.as_str(), b)).collect();
    let near = |g: &gridmap_model::Grid| -> usize {
        let pts: Vec<geo_types::Point<f64>> = g
            .buildings
            .iter()
            .filter_map(|b| pos.get(b.as_str())?.footprint.centroid())
            .collect();
        if pts.is_empty() {
            return 0;
        }
        let (x, y) = pts
            .iter()
            .fold((0.0, 0.0), |(x, y), p| (x + p.x(), y + p.y()));
        let (x, y) = (x / pts.len() as f64, y / pts.len() as f64);
        ds.facilities
            .iter()
            .filter(|f| gridmap_algo::geometry::haversine_m(f.location.x_y(), (x, y)) <= 1000.0)
            .count()
    };
    ds.grids
        .iter()
        .max_by_key(|g| (near(g), std::cmp::Reverse(g.id.clone())))
        .map(|g| g.id.clone())
}

async fn demo_users(store: &dyn gridmap_store::Store) -> Result<()> {
    let first_grid = lead_grid(&store.load().await?);
    eprintln!("  demo logins (local demo only; password = role + \"-demo\"):");
    for (name, role) in DEMO_USERS {
        let mut u = User::new(name, role);
        u.display_name = Some(format!("Demo {role}"));
        if role == Role::GridLead {
            u.grids = first_grid.iter().cloned().collect();
        }
        let password = format!("{role}-demo");
        // A demo into an existing PostgreSQL database may find them from an earlier run: reset.
        if let Some((before, _)) = store.user(&u.id).await? {
            store
                .put_user(&u, Some(&super::user::hash_password(&password)?))
                .await?;
            super::user::audit(
                store,
                "user.reset",
                &format!("user:{name}"),
                Some(serde_json::to_value(&before).unwrap_or_default()),
                Some(serde_json::to_value(&u).unwrap_or_default()),
            )
            .await?;
        } else {
            super::user::create_user(store, &u, &password).await?;
        }
        let scope = if u.grids.is_empty() {
            String::new()
        } else {
            format!(" (grid {})", u.grids[0])
        };
        eprintln!("    {name:<10} / {password:<16} {role}{scope}");
    }
    Ok(())
}

pub async fn run(g: &Global, a: DemoArgs) -> Result<()> {
    let (_, file, bytes) = CITIES
        .iter()
        .find(|(n, _, _)| *n == a.city)
        .ok_or_else(|| {
            CliError::usage(
                "--city",
                format!("unknown city '{}' (bundled: monaco, haidian)", a.city),
            )
        })?;
    let t0 = Instant::now();
    // The demo database is its own file unless --db/GRIDMAP_DB names another.
    let db = if g.db == "sqlite://gridmap.db" {
        format!("sqlite://gridmap-demo-{}.db", a.city)
    } else {
        g.db.clone()
    };
    if let Some(path) = db.strip_prefix("sqlite://") {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
    let dir = std::env::temp_dir().join(format!("gridmap-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| CliError::Write {
        path: dir.clone(),
        source: e,
    })?;
    let src = dir.join(file);
    std::fs::write(&src, bytes).map_err(|e| CliError::Write {
        path: src.clone(),
        source: e,
    })?;
    eprintln!("gridmap demo: importing the bundled {file} (© OpenStreetMap contributors, ODbL 1.0) into {db}");
    // Monaco has no real canteens or service stations: its demo uses the proxy profile by
    // default, and the map and the CLI say so. Haidian's is strict.
    let profile = a.facility_tags.clone().unwrap_or_else(|| {
        if a.city == "monaco" {
            "proxy"
        } else {
            "strict"
        }
        .to_owned()
    });
    let opts = ImportOptions {
        facility_tags: FacilityTagConfig::from_arg(&profile)?,
        ..ImportOptions::default()
    };
    let catalog = opts.facility_tags.catalog();
    let bar = Bar::new(g.quiet, "import");
    let path = src.clone();
    let (dataset, report) =
        tokio::task::spawn_blocking(move || gridmap_import::import_file(&path, &opts, &bar))
            .await
            .map_err(|e| CliError::algo(format!("import task failed: {e}")))??;
    let _ = std::fs::remove_dir_all(&dir);
    let store = gridmap_store::open(&db).await?;
    store.import(&dataset).await?;
    store
        .put_meta(
            FACILITY_PROFILE_META,
            &serde_json::to_value(&catalog).unwrap_or_default(),
        )
        .await?;
    eprintln!(
        "  {} buildings, {} households, {} facilities, {} network ways ({:.1} s)",
        dataset.buildings.len(),
        dataset.households(),
        dataset.facilities.len(),
        dataset.ways.len(),
        report.seconds
    );
    let per_kind = report
        .facility_tags
        .as_ref()
        .map(gridmap_import::FacilityTagsReport::kind_totals)
        .unwrap_or_default();
    eprintln!(
        "  facility kinds: profile {}: {}",
        catalog.profile.name,
        if per_kind.is_empty() {
            "none matched".to_owned()
        } else {
            per_kind
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    if let Some(l) = &catalog.label {
        eprintln!("  {l}");
    }
    let grids = super::partition::partition_and_store(
        &*store,
        &dataset,
        &super::partition::PartitionParams::default(),
    )
    .await?;
    eprintln!(
        "  {} grids of about 300 households proposed and stored ({:.1} s in all)",
        grids,
        t0.elapsed().as_secs_f64()
    );
    demo_users(&*store).await?;
    if a.no_serve {
        return Ok(());
    }
    eprintln!("open http://{}/ in a browser", a.bind);
    let serve = ServeArgs::on(a.bind);
    super::serve::serve_store(store, &serve).await
}

//! Imports a file and prints the report as JSON: `cargo run -p gridmap-import --release
//! --example import_report -- FILE [synth N | export LAYER OUT.geojson]`.
use gridmap_import::{import_file, synth, to_geojson, ImportOptions, NoProgress};
use gridmap_model::{crs::Crs, Layer};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().ok_or("usage: import_report FILE [synth N]")?;
    let (ds, report) = import_file(
        std::path::Path::new(path),
        &ImportOptions::default(),
        &NoProgress,
    )?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    if let (Some("synth"), Some(n)) = (args.get(1).map(String::as_str), args.get(2)) {
        let t = Instant::now();
        let big = synth(&ds, n.parse()?);
        println!(
            "synth {n}x{n}: {} buildings, {} ways, {} facilities in {:.3} s",
            big.buildings.len(),
            big.ways.len(),
            big.facilities.len(),
            t.elapsed().as_secs_f64()
        );
    }
    if let (Some("export"), Some(layer), Some(out)) =
        (args.get(1).map(String::as_str), args.get(2), args.get(3))
    {
        let layer: Layer = layer.parse()?;
        std::fs::write(
            out,
            serde_json::to_string(&to_geojson(&ds, layer, Crs::Wgs84))?,
        )?;
    }
    Ok(())
}

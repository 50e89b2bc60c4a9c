//! `gridmap export --layer L | --input F.geojson`: a layer, or an analysis result saved as
//! GeoJSON, in GeoJSON, FlatGeobuf, GeoPackage, Shapefile, CSV or XLSX, in the chosen CRS,
//! with the ODbL attribution where the format has a place for it. All or nothing: a refused
//! export leaves no file.
use crate::config::{ExportArgs, Global};
use crate::error::{CliError, Result};
use gridmap_export::{ExportOptions, Format, TextEncoding};
use std::io::Write;

pub async fn run(g: &Global, a: ExportArgs) -> Result<()> {
    let crs = super::parse_crs(&a.crs)?;
    let to_stdout = a.out.as_os_str() == "-";
    let format = match &a.format {
        Some(f) => f
            .parse::<Format>()
            .map_err(|e| CliError::usage("--format", e))?,
        None if to_stdout => Format::GeoJson,
        None => Format::from_path(&a.out).ok_or_else(|| {
            CliError::usage(
                "--format",
                format!(
                    "cannot tell the format from '{}': give --format geojson|fgb|gpkg|shp|csv|xlsx",
                    a.out.display()
                ),
            )
        })?,
    };
    let encoding: TextEncoding = a
        .encoding
        .parse()
        .map_err(|e| CliError::usage("--encoding", e))?;
    let (fc, name) = match (&a.layer, &a.input) {
        (Some(l), _) => {
            let layer = super::import::layer_of(*l).ok_or_else(|| {
                CliError::usage(
                    "--layer",
                    "households are exported as part of the buildings layer",
                )
            })?;
            let store = super::open_store(g).await?;
            let ds = store.load().await?;
            (
                gridmap_import::to_geojson(&ds, layer, crs),
                format!("{l:?}").to_lowercase(),
            )
        }
        (None, Some(input)) => {
            let text = std::fs::read_to_string(input).map_err(|e| CliError::Read {
                path: input.clone(),
                detail: e.to_string(),
            })?;
            let mut fc = text
                .parse::<geojson::GeoJson>()
                .map_err(|e| e.to_string())
                .and_then(|g| geojson::FeatureCollection::try_from(g).map_err(|e| e.to_string()))
                .map_err(|e| CliError::Read {
                    path: input.clone(),
                    detail: format!("not a GeoJSON FeatureCollection: {e}"),
                })?;
            gridmap_export::reproject(&mut fc, crs).map_err(|e| CliError::Read {
                path: input.clone(),
                detail: e.to_string(),
            })?;
            let stem = input
                .file_stem()
                .and_then(|s| s.to_str())
                .map_or("layer", |s| s.trim_end_matches(".geojson"));
            (fc, stem.to_owned())
        }
        (None, None) => return Err(CliError::usage("--layer", "give --layer or --input")),
    };
    let opts = ExportOptions {
        layer: name,
        crs,
        encoding,
    };
    let fail = |e: gridmap_export::ExportError| CliError::usage("export", e);
    if to_stdout {
        if matches!(format, Format::GeoPackage | Format::Shapefile) {
            return Err(CliError::usage(
                "--out",
                format!("a {} is written to a file: give -o FILE", format.name()),
            ));
        }
        let bytes = gridmap_export::to_bytes(&fc, format, &opts).map_err(fail)?;
        let mut out = std::io::stdout().lock();
        out.write_all(&bytes)
            .and_then(|()| {
                if format == Format::GeoJson {
                    writeln!(out)
                } else {
                    Ok(())
                }
            })
            .map_err(|e| CliError::Write {
                path: a.out.clone(),
                source: e,
            })?;
        return Ok(());
    }
    let w = gridmap_export::write_file(&fc, format, &a.out, &opts).map_err(fail)?;
    for warning in &w.warnings {
        tracing::info!("{warning}");
        if !g.quiet {
            eprintln!("note: {warning}");
        }
    }
    if !g.quiet {
        let files: Vec<String> = w.files.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "wrote {} features as {} to {}",
            w.features,
            format.name(),
            files.join(", ")
        );
    }
    Ok(())
}

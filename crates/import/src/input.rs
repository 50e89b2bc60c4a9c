//! Opening input files: transparent gzip, format detection by name and content, and mapping a
//! byte offset back to line/column for error messages.
use crate::error::{file_name, io_error, ImportError};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Input formats [`crate::import_file`] understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    OsmPbf,
    OsmXml,
    GeoJson,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::OsmPbf => "osm.pbf",
            Format::OsmXml => "osm.xml",
            Format::GeoJson => "geojson",
        }
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

fn is_gzip(path: &Path) -> Result<bool, ImportError> {
    let mut f = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut f, &mut magic).map_err(|e| io_error(path, e))?;
    Ok(n == 2 && magic == GZIP_MAGIC)
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Uncompressed size from the gzip trailer (ISIZE, modulo 2^32), for progress.
fn gzip_size(path: &Path) -> Option<u64> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    f.seek(SeekFrom::End(-4)).ok()?;
    let mut b = [0u8; 4];
    f.read_exact(&mut b).ok()?;
    Some(u64::from(u32::from_le_bytes(b)))
}

/// Opens a file for streaming, decompressing gzip when the file starts with the gzip magic.
/// Returns the reader and the number of bytes it will yield (for progress; for gzip the
/// trailer's size, so 0 or approximate for huge or multi-member files).
pub(crate) fn open_input(path: &Path) -> Result<(Box<dyn BufRead>, u64), ImportError> {
    let gz = is_gzip(path)?;
    let f = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let disk = f.metadata().map_or(0, |m| m.len());
    let len = if gz {
        gzip_size(path).unwrap_or(0)
    } else {
        disk
    };
    let r: Box<dyn BufRead> = if gz {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(f),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, f))
    };
    Ok((r, len))
}

/// Reads a whole (possibly gzipped) file into memory.
pub(crate) fn read_all(path: &Path) -> Result<Vec<u8>, ImportError> {
    let (mut r, len) = open_input(path)?;
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    r.read_to_end(&mut out).map_err(|e| io_error(path, e))?;
    Ok(out)
}

/// 1-based line and column of a byte offset in the (decompressed) file; (0, 0) if unreadable.
pub(crate) fn line_col_at(path: &Path, byte: u64) -> (u64, u64) {
    let Ok((r, _)) = open_input(path) else {
        return (0, 0);
    };
    line_col_of(r.bytes().map_while(Result::ok), byte)
}

/// 1-based line and column of a byte offset in an in-memory input.
pub(crate) fn line_col_in(bytes: &[u8], byte: u64) -> (u64, u64) {
    line_col_of(bytes.iter().copied(), byte)
}

fn line_col_of(bytes: impl Iterator<Item = u8>, byte: u64) -> (u64, u64) {
    let mut line = 1u64;
    let mut col = 1u64;
    for b in bytes.take(usize::try_from(byte).unwrap_or(usize::MAX)) {
        match b {
            b'\n' => {
                line += 1;
                col = 1;
            }
            // Count characters, not UTF-8 continuation bytes.
            b if b & 0xC0 != 0x80 => col += 1,
            _ => {}
        }
    }
    (line, col)
}

/// Decides the format from the file name, else from the first bytes.
#[allow(clippy::case_sensitive_file_extension_comparisons)] // `name` is lower-cased first
pub fn detect_format(path: &Path) -> Result<Format, ImportError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".pbf") {
        return Ok(Format::OsmPbf);
    }
    if name.ends_with(".osm") || name.ends_with(".xml") {
        return Ok(Format::OsmXml);
    }
    if name.ends_with(".geojson") || name.ends_with(".json") {
        return Ok(Format::GeoJson);
    }
    let (mut r, _) = open_input(path)?;
    let mut head = [0u8; 64];
    let n = read_up_to(&mut r, &mut head).map_err(|e| io_error(path, e))?;
    let head = &head[..n];
    let text = head
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(head);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'<') => return Ok(Format::OsmXml),
        Some(b'{') => return Ok(Format::GeoJson),
        _ => {}
    }
    if head.windows(9).any(|w| w == b"OSMHeader") {
        return Ok(Format::OsmPbf);
    }
    if name.ends_with(".csv") {
        return Err(ImportError::UnknownFormat {
            file: file_name(path),
            detail: "a CSV file is not a dataset; household counts are read with the household CSV import".to_owned(),
        });
    }
    Err(ImportError::UnknownFormat {
        file: file_name(path),
        detail: "neither the name nor the first bytes match a known format".to_owned(),
    })
}

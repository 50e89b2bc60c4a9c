//! Household CSV input: new counts per building, keyed by building id or by address.
//!
//! Header: `building_id` (or `id`) or `address`, and one or more of `households`, `elderly`,
//! `steward`. Empty cells leave a value unchanged. Unknown building ids are found by the store
//! (it knows what exists); each update carries `origin` = `file.csv:LINE` so it can say where.
use crate::error::{file_name, ImportError};
use crate::input::open_input;
use crate::Progress;
use gridmap_model::{BuildingId, BuildingKey, HouseholdUpdate};
use std::cell::RefCell;
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

/// Turns CRLF and lone CR line endings into LF and notes where blank lines are, so that rows
/// are named by their real line. The csv reader counts lines by LF only and takes a row's
/// position before it skips the blank lines in front of it (a CRLF's LF counts as one), so
/// without this every row of a Windows (CRLF) file was named one line early, every row of an old
/// Mac (CR) file line 1, and any row after a blank line one line early per blank line.
struct LineEndings<R> {
    inner: R,
    /// The previous byte read was CR: an LF right after it belongs to it.
    after_cr: bool,
    /// Bytes handed out so far, and whether the last one was a line end (or none was yet).
    out: u64,
    at_line_start: bool,
    /// Offsets (in the output) of the LFs that end blank lines, ascending.
    blank: Rc<RefCell<Vec<u64>>>,
}

impl<R: Read> Read for LineEndings<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.inner.read(buf)?;
            if n == 0 {
                return Ok(0);
            }
            let mut out = 0;
            for i in 0..n {
                let mut b = buf[i];
                if std::mem::take(&mut self.after_cr) && b == b'\n' {
                    continue;
                }
                if b == b'\r' {
                    self.after_cr = true;
                    b = b'\n';
                }
                if b == b'\n' && self.at_line_start {
                    self.blank.borrow_mut().push(self.out + out as u64);
                }
                self.at_line_start = b == b'\n';
                buf[out] = b;
                out += 1;
            }
            self.out += out as u64;
            if out > 0 {
                return Ok(out);
            }
        }
    }
}

/// The line a row really starts on, given the csv reader's position for it (see [`LineEndings`]).
fn row_line(pos: &csv::Position, blank: &[u64]) -> u64 {
    let first = blank.partition_point(|&b| b < pos.byte());
    let skipped = blank[first..]
        .iter()
        .zip(pos.byte()..)
        .take_while(|(b, want)| **b == *want)
        .count();
    pos.line() + skipped as u64
}

fn find(headers: &[String], names: &[&str]) -> Option<usize> {
    headers
        .iter()
        .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
}

/// Reads household updates from a CSV file (comma-separated, UTF-8, optional BOM, optionally
/// gzipped). Errors name the file, line and column.
pub fn read_household_csv(
    path: &Path,
    progress: &dyn Progress,
) -> Result<Vec<HouseholdUpdate>, ImportError> {
    let file = file_name(path);
    let short = path
        .file_name()
        .map_or_else(|| file.clone(), |n| n.to_string_lossy().into_owned());
    let (input, len) = open_input(path)?;
    read_household_csv_from(input, len, &file, &short, progress)
}

/// Reads household updates from any byte stream (plain CSV, not gzipped). `file` names it in
/// errors, `short` in each update's `origin` (`short:LINE`); `len` is its size for progress.
pub fn read_household_csv_from(
    input: impl Read,
    len: u64,
    file: &str,
    short: &str,
    progress: &dyn Progress,
) -> Result<Vec<HouseholdUpdate>, ImportError> {
    let file = file.to_owned();
    let blank = Rc::new(RefCell::new(Vec::new()));
    let input = LineEndings {
        inner: input,
        after_cr: false,
        out: 0,
        at_line_start: true,
        blank: Rc::clone(&blank),
    };
    progress.set_len(len);
    progress.set_message("reading household CSV");
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(input);
    let csv_err = |e: csv::Error, col: &str| {
        let line = e.position().map_or(0, |p| row_line(p, &blank.borrow()));
        ImportError::Csv {
            file: file.clone(),
            line,
            column: col.to_owned(),
            message: e.to_string(),
        }
    };
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| csv_err(e, "(header)"))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
        .collect();
    let id_col = find(&headers, &["building_id", "id"]);
    let addr_col = find(&headers, &["address"]);
    let (key_col, key_name) = match (id_col, addr_col) {
        (Some(i), _) => (i, headers[i].clone()),
        (None, Some(a)) => (a, headers[a].clone()),
        (None, None) => {
            return Err(ImportError::Csv {
                file,
                line: 1,
                column: "building_id".into(),
                message: format!("missing key column: need 'building_id' (or 'id') or 'address'; header is {headers:?}"),
            })
        }
    };
    let hh_col = find(&headers, &["households"]);
    let el_col = find(&headers, &["elderly"]);
    let st_col = find(&headers, &["steward"]);
    if hh_col.is_none() && el_col.is_none() && st_col.is_none() {
        return Err(ImportError::Csv {
            file,
            line: 1,
            column: "households".into(),
            message: format!("no value column: need one or more of 'households', 'elderly', 'steward'; header is {headers:?}"),
        });
    }
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_err(e, "(row)")),
        }
        let line = record
            .position()
            .map_or(0, |p| row_line(p, &blank.borrow()));
        let cell = |c: Option<usize>| c.and_then(|i| record.get(i)).filter(|s| !s.is_empty());
        let count = |c: Option<usize>| -> Result<Option<u32>, ImportError> {
            let Some(s) = cell(c) else { return Ok(None) };
            let name = c.map_or("", |i| headers[i].as_str());
            let msg = if s.starts_with('-')
                && s[1..].chars().all(|ch| ch.is_ascii_digit())
                && s.len() > 1
            {
                format!("'{s}' is negative; counts are integers >= 0")
            } else {
                format!("'{s}' is not an integer >= 0")
            };
            s.parse::<u32>().map(Some).map_err(|_| ImportError::Csv {
                file: file.clone(),
                line,
                column: name.to_owned(),
                message: msg,
            })
        };
        let Some(key) = cell(Some(key_col)) else {
            return Err(ImportError::Csv {
                file: file.clone(),
                line,
                column: key_name.clone(),
                message: "empty key".into(),
            });
        };
        let key = if Some(key_col) == id_col {
            BuildingKey::Id(BuildingId::new(key))
        } else {
            BuildingKey::Address(key.to_owned())
        };
        out.push(HouseholdUpdate {
            key,
            households: count(hh_col)?,
            elderly: count(el_col)?,
            steward: cell(st_col).map(str::to_owned),
            origin: format!("{short}:{line}"),
        });
    }
    progress.inc(len);
    Ok(out)
}

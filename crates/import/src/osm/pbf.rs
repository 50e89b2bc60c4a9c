//! `.osm.pbf` reader (osmpbf, one sequential pass; nodes come first in sorted files but the
//! builder does not rely on order).
use super::raw::{MemberType, OsmRaw, RawMember, RawRelation, RawWay, TaggedNode};
use crate::error::{file_name, io_error, ImportError};
use crate::progress::Progress;
use osmpbf::{Element, ElementReader, RelMemberType};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counts bytes read, for progress.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn tags<'a>(it: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    it.map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

pub(crate) fn read(path: &Path, progress: &dyn Progress) -> Result<OsmRaw, ImportError> {
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let len = file.metadata().map_or(0, |m| m.len());
    read_from(file, len, file_name(path), progress)
}

/// Reads PBF from any byte stream; `len` is its size for progress (0 if unknown) and
/// `file_label` names it in errors.
pub(crate) fn read_from<R: Read + Send>(
    input: R,
    len: u64,
    file_label: String,
    progress: &dyn Progress,
) -> Result<OsmRaw, ImportError> {
    progress.set_len(len);
    progress.set_message("reading OSM PBF");
    let counter = Arc::new(AtomicU64::new(0));
    let reader = ElementReader::new(std::io::BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: input,
            read: Arc::clone(&counter),
        },
    ));
    let mut raw = OsmRaw::default();
    let mut reported = 0u64;
    let mut elements = 0u64;
    let mut bad: Option<ImportError> = None;
    // osmpbf panics on some malformed blocks (it unwraps a relation member type outside
    // node/way/relation); a corrupt file must be an error naming it, not a crash of the import
    // or of the server. Nothing half-read escapes: `raw` is dropped with the error.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        reader.for_each(|el| {
            elements += 1;
            if elements.is_multiple_of(8192) {
                let now = counter.load(Ordering::Relaxed);
                progress.inc(now.saturating_sub(reported));
                reported = now;
            }
            match el {
                Element::DenseNode(n) => {
                    raw.coords
                        .insert(n.id(), (n.decimicro_lon(), n.decimicro_lat()));
                    let t = tags(n.tags());
                    if !t.is_empty() {
                        raw.tagged_nodes.push(TaggedNode {
                            id: n.id(),
                            at: (n.decimicro_lon(), n.decimicro_lat()),
                            tags: t,
                        });
                    }
                }
                Element::Node(n) => {
                    raw.coords
                        .insert(n.id(), (n.decimicro_lon(), n.decimicro_lat()));
                    let t = tags(n.tags());
                    if !t.is_empty() {
                        raw.tagged_nodes.push(TaggedNode {
                            id: n.id(),
                            at: (n.decimicro_lon(), n.decimicro_lat()),
                            tags: t,
                        });
                    }
                }
                Element::Way(w) => {
                    raw.ways.push(RawWay {
                        id: w.id(),
                        refs: w.refs().collect(),
                        tags: tags(w.tags()),
                    });
                }
                Element::Relation(r) => {
                    let mut members = Vec::new();
                    for m in r.members() {
                        let role = match m.role() {
                            Ok(s) => s.to_owned(),
                            Err(e) => {
                                bad.get_or_insert(ImportError::OsmValue {
                                    file: file_label.clone(),
                                    object: format!("relation r{}", r.id()),
                                    field: "member role".to_owned(),
                                    message: e.to_string(),
                                });
                                String::new()
                            }
                        };
                        let kind = match m.member_type {
                            RelMemberType::Node => MemberType::Node,
                            RelMemberType::Way => MemberType::Way,
                            RelMemberType::Relation => MemberType::Relation,
                        };
                        members.push(RawMember {
                            kind,
                            id: m.member_id,
                            role,
                        });
                    }
                    raw.relations.push(RawRelation {
                        id: r.id(),
                        members,
                        tags: tags(r.tags()),
                    });
                }
            }
        })
    }));
    let result = result.map_err(|panic| ImportError::Pbf {
        file: file_label.clone(),
        message: format!(
            "malformed data block (the PBF decoder failed: {})",
            panic_message(panic.as_ref())
        ),
    })?;
    result.map_err(|e| ImportError::Pbf {
        file: file_label.clone(),
        message: e.to_string(),
    })?;
    if let Some(e) = bad {
        return Err(e);
    }
    let now = counter.load(Ordering::Relaxed);
    progress.inc(now.saturating_sub(reported));
    if elements == 0 {
        return Err(ImportError::Pbf {
            file: file_label,
            message: "no OSM data blocks in the file".to_owned(),
        });
    }
    Ok(raw)
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("panic")
}

//! `.osm` XML reader: streams with quick-xml; malformed or truncated XML is an error naming
//! line, column and byte offset.
use super::raw::{to_fixed, MemberType, OsmRaw, RawMember, RawRelation, RawWay, TaggedNode, Tags};
use crate::error::{file_name, ImportError};
use crate::input::{line_col_at, line_col_in, open_input};
use crate::progress::Progress;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::io::BufRead;
use std::path::Path;

enum Current {
    None,
    Node(TaggedNode),
    Way(RawWay),
    Relation(RawRelation),
}

/// Maps a byte offset of the (decompressed) input to its 1-based line and column.
type Locate<'a> = &'a dyn Fn(u64) -> (u64, u64);

struct Ctx<'a> {
    file: &'a str,
    locate: Locate<'a>,
}

impl Ctx<'_> {
    fn err(&self, byte: u64, message: String) -> ImportError {
        let (line, column) = (self.locate)(byte);
        ImportError::Xml {
            file: self.file.to_owned(),
            line,
            column,
            byte,
            message,
        }
    }
}

fn attrs(
    e: &BytesStart<'_>,
    ctx: &Ctx<'_>,
    pos: u64,
) -> Result<Vec<(String, String)>, ImportError> {
    let mut out = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| ctx.err(pos, format!("bad attribute: {err}")))?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a
            .unescape_value()
            .map_err(|err| ctx.err(pos, format!("attribute '{key}': {err}")))?;
        out.push((key, value.into_owned()));
    }
    Ok(out)
}

fn get<'a>(a: &'a [(String, String)], k: &str) -> Option<&'a str> {
    a.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
}

fn parse_id(
    a: &[(String, String)],
    elem: &str,
    ctx: &Ctx<'_>,
    pos: u64,
    key: &str,
) -> Result<i64, ImportError> {
    let v =
        get(a, key).ok_or_else(|| ctx.err(pos, format!("<{elem}> without '{key}' attribute")))?;
    v.trim().parse::<i64>().map_err(|_| {
        ctx.err(
            pos,
            format!("<{elem}> attribute '{key}': '{v}' is not an integer"),
        )
    })
}

fn parse_coord(
    a: &[(String, String)],
    id: i64,
    key: &str,
    limit: f64,
    ctx: &Ctx<'_>,
    pos: u64,
) -> Result<i32, ImportError> {
    let v = get(a, key).ok_or_else(|| ctx.err(pos, format!("node n{id}: missing '{key}'")))?;
    v.trim()
        .parse::<f64>()
        .ok()
        .and_then(|d| to_fixed(d, limit))
        .ok_or_else(|| {
            ctx.err(
                pos,
                format!("node n{id}: '{key}'='{v}' is not a coordinate within ±{limit}"),
            )
        })
}

fn push_tag(
    cur: &mut Current,
    a: &[(String, String)],
    ctx: &Ctx<'_>,
    pos: u64,
) -> Result<(), ImportError> {
    let k = get(a, "k").ok_or_else(|| ctx.err(pos, "<tag> without 'k'".to_owned()))?;
    let v = get(a, "v").unwrap_or("");
    let t: &mut Tags = match cur {
        Current::Node(n) => &mut n.tags,
        Current::Way(w) => &mut w.tags,
        Current::Relation(r) => &mut r.tags,
        Current::None => return Ok(()), // tags of <changeset> and the like
    };
    t.push((k.to_owned(), v.to_owned()));
    Ok(())
}

fn finish(raw: &mut OsmRaw, cur: Current) {
    match cur {
        Current::Node(n) => {
            raw.coords.insert(n.id, n.at);
            if !n.tags.is_empty() {
                raw.tagged_nodes.push(n);
            }
        }
        Current::Way(w) => raw.ways.push(w),
        Current::Relation(r) => raw.relations.push(r),
        Current::None => {}
    }
}

pub(crate) fn read(path: &Path, progress: &dyn Progress) -> Result<OsmRaw, ImportError> {
    let (input, len) = open_input(path)?;
    read_from(
        input,
        len,
        &file_name(path),
        &|byte| line_col_at(path, byte),
        progress,
    )
}

/// Reads OSM XML held in memory; errors are located in `bytes`.
pub(crate) fn read_bytes(
    bytes: &[u8],
    file_label: &str,
    progress: &dyn Progress,
) -> Result<OsmRaw, ImportError> {
    let locate = |byte: u64| line_col_in(bytes, byte);
    read_from(bytes, bytes.len() as u64, file_label, &locate, progress)
}

fn read_from<R: BufRead>(
    input: R,
    len: u64,
    file_label: &str,
    locate: Locate<'_>,
    progress: &dyn Progress,
) -> Result<OsmRaw, ImportError> {
    let ctx = Ctx {
        file: file_label,
        locate,
    };
    progress.set_len(len);
    progress.set_message("reading OSM XML");
    let mut reader = Reader::from_reader(input);
    reader.config_mut().trim_text(true);
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::with_capacity(4096);
    let mut raw = OsmRaw::default();
    let mut cur = Current::None;
    let mut open: Vec<String> = Vec::new();
    let mut saw_root = false;
    let mut reported = 0u64;
    let mut events = 0u64;
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| ctx.err(reader.error_position(), e.to_string()))?;
        events += 1;
        if events.is_multiple_of(16384) {
            let now = reader.buffer_position();
            progress.inc(now.saturating_sub(reported));
            reported = now;
        }
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(ev, Event::Empty(_));
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if open.is_empty() {
                    if name != "osm" {
                        return Err(
                            ctx.err(pos, format!("root element is <{name}>, expected <osm>"))
                        );
                    }
                    saw_root = true;
                }
                match name.as_str() {
                    "node" | "way" | "relation" => {
                        let a = attrs(e, &ctx, pos)?;
                        let id = parse_id(&a, &name, &ctx, pos, "id")?;
                        let deleted = get(&a, "action") == Some("delete")
                            || get(&a, "visible") == Some("false");
                        let next = if deleted {
                            Current::None
                        } else if name == "node" {
                            let lon = parse_coord(&a, id, "lon", 180.0, &ctx, pos)?;
                            let lat = parse_coord(&a, id, "lat", 90.0, &ctx, pos)?;
                            Current::Node(TaggedNode {
                                id,
                                at: (lon, lat),
                                tags: Vec::new(),
                            })
                        } else if name == "way" {
                            Current::Way(RawWay {
                                id,
                                refs: Vec::new(),
                                tags: Vec::new(),
                            })
                        } else {
                            Current::Relation(RawRelation {
                                id,
                                members: Vec::new(),
                                tags: Vec::new(),
                            })
                        };
                        if is_empty {
                            finish(&mut raw, next);
                        } else {
                            cur = next;
                        }
                    }
                    "tag" => push_tag(&mut cur, &attrs(e, &ctx, pos)?, &ctx, pos)?,
                    "nd" => {
                        if let Current::Way(w) = &mut cur {
                            w.refs
                                .push(parse_id(&attrs(e, &ctx, pos)?, "nd", &ctx, pos, "ref")?);
                        }
                    }
                    "member" => {
                        if let Current::Relation(r) = &mut cur {
                            let a = attrs(e, &ctx, pos)?;
                            let id = parse_id(&a, "member", &ctx, pos, "ref")?;
                            let kind = match get(&a, "type") {
                                Some("node") => MemberType::Node,
                                Some("way") => MemberType::Way,
                                Some("relation") => MemberType::Relation,
                                other => {
                                    return Err(ctx.err(pos, format!("relation r{}: member type {other:?} is not node/way/relation", r.id)))
                                }
                            };
                            r.members.push(RawMember {
                                kind,
                                id,
                                role: get(&a, "role").unwrap_or("").to_owned(),
                            });
                        }
                    }
                    _ => {}
                }
                if !is_empty {
                    open.push(name);
                }
            }
            Event::End(ref e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                open.pop();
                if matches!(name.as_str(), "node" | "way" | "relation") {
                    finish(&mut raw, std::mem::replace(&mut cur, Current::None));
                }
            }
            Event::Eof => {
                if let Some(inner) = open.last() {
                    return Err(ctx.err(
                        reader.buffer_position(),
                        format!("unexpected end of file inside <{inner}> (file truncated?)"),
                    ));
                }
                if !saw_root {
                    return Err(ctx.err(0, "no <osm> element: not an OSM XML file".to_owned()));
                }
                break;
            }
            _ => {}
        }
        buf.clear();
    }
    progress.inc(reader.buffer_position().saturating_sub(reported));
    Ok(raw)
}

//! Grid codes and names.
//!
//! A grid code is its community's code followed by a sequence number in reading order (north to
//! south, west to east). When the community id is a numeric administrative code (the 9- or
//! 12-digit 社区 codes of GB/T 2260 + street + community, as the CJ/T 213 / CJ/T 349-2010 unit
//! grid codes build on), the sequence is appended without separator: `110108001001` → `110108001001003`.
//! Other short readable ids (up to 12 letters, digits, `-`, `_`: `LT`, `MC`) get a dash: `LT-03`. A community known only by a raw
//! OpenStreetMap id (`r1155945`) or by a long id gets a short code derived from its name — the
//! initials of a multi-word name (`Monte Carlo` → `MC`), else the first three letters
//! (`Triesen` → `TRI`), else `C` + its index — made unique among all communities of the input
//! by a digit suffix. Buildings without community get `NC`.
//!
//! The width of the sequence is [`PartitionParams::code_width`] (2 or 3 digits; automatic: 2,
//! 3 from 100 grids), and [`PartitionParams::code_pattern`] replaces the whole layout, with
//! `{community}` and `{seq}` as placeholders (e.g. `{community}/{seq}`).
//!
//! A grid's **name** is the community's name and the same sequence number, `Triesen 03`
//! (`No community 03` for buildings without community): readable in any language and matching
//! the code's number.
use super::PartitionParams;
use gridmap_model::{Community, CommunityId};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Prefix and display name of every community, computed once over all communities of an input
/// so a community keeps its code whichever subset is partitioned.
pub(crate) struct CodeBook {
    prefix: HashMap<CommunityId, (String, bool, String)>,
}

/// Whether `id` is a usable code as it is: numeric (administrative code) or short alphanumeric,
/// but not a raw OSM id such as `r1155945` / `w42` / `n7`.
fn usable(id: &str) -> Option<bool> {
    if !id.is_empty() && id.len() <= 15 && id.bytes().all(|b| b.is_ascii_digit()) {
        return Some(true);
    }
    let osm = id.len() > 1
        && matches!(id.as_bytes()[0], b'r' | b'w' | b'n')
        && id[1..].bytes().all(|b| b.is_ascii_digit());
    let short = !id.is_empty()
        && id.len() <= 12
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (short && !osm).then_some(false)
}

/// A short code from a name: initials of a multi-word name, else the first three letters.
fn from_name(name: &str) -> Option<String> {
    let words: Vec<&str> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let ascii = |s: &str| {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_uppercase()
    };
    let code = if words.len() >= 2 {
        ascii(
            &words
                .iter()
                .take(4)
                .filter_map(|w| w.chars().next())
                .collect::<String>(),
        )
    } else {
        ascii(
            &words
                .first()?
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(3)
                .collect::<String>(),
        )
    };
    // Initials of words that start with a non-ASCII letter are lost: need at least two letters.
    (code.len() >= 2).then_some(code)
}

impl CodeBook {
    /// Codes for `communities` plus any further ids only known from buildings (`extra`).
    pub(crate) fn new<'a>(
        communities: &[Community],
        extra: impl IntoIterator<Item = &'a CommunityId>,
    ) -> Self {
        let mut all: BTreeMap<CommunityId, String> = communities
            .iter()
            .map(|c| (c.id.clone(), c.name.clone()))
            .collect();
        for id in extra {
            all.entry(id.clone()).or_insert_with(|| id.to_string());
        }
        let mut taken: HashSet<String> = HashSet::new();
        let mut prefix = HashMap::with_capacity(all.len());
        // Usable ids first, so a derived code never takes an id's own code.
        for (id, name) in &all {
            if let Some(numeric) = usable(id.as_str()) {
                taken.insert(id.to_string());
                prefix.insert(id.clone(), (id.to_string(), numeric, name.clone()));
            }
        }
        taken.insert("NC".into());
        for (n, (id, name)) in all.iter().enumerate() {
            if prefix.contains_key(id) {
                continue;
            }
            let base = from_name(name).unwrap_or_else(|| format!("C{}", n + 1));
            let mut code = base.clone();
            let mut k = 2;
            while !taken.insert(code.clone()) {
                code = format!("{base}{k}");
                k += 1;
            }
            prefix.insert(id.clone(), (code, false, name.clone()));
        }
        Self { prefix }
    }

    /// Code and name of grid number `seq` (1-based) of `community` among `count` grids.
    pub(crate) fn grid(
        &self,
        community: Option<&CommunityId>,
        seq: usize,
        count: usize,
        params: &PartitionParams,
    ) -> (String, String) {
        let (prefix, numeric, name) = match community.and_then(|c| self.prefix.get(c)) {
            Some((p, numeric, name)) => (p.as_str(), *numeric, name.as_str()),
            None => match community {
                Some(c) => (c.as_str(), false, c.as_str()),
                None => ("NC", false, "No community"),
            },
        };
        let width = params
            .code_width
            .unwrap_or(if count >= 100 { 3 } else { 2 });
        let s = format!("{seq:0width$}");
        let code = match &params.code_pattern {
            Some(p) => p.replace("{community}", prefix).replace("{seq}", &s),
            None if numeric => format!("{prefix}{s}"),
            None => format!("{prefix}-{s}"),
        };
        (code, format!("{name} {seq:02}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn community(id: &str, name: &str) -> Community {
        Community {
            id: CommunityId::new(id),
            name: name.into(),
            street: None,
            boundary: None,
        }
    }

    #[test]
    fn numeric_codes_get_the_sequence_appended_and_osm_ids_a_code_from_the_name() {
        let cs = [
            community("110108001001", "燕园社区"),
            community("r1155945", "Triesen"),
            community("r1155946", "Monte Carlo"),
            community("r1155947", "Triesenberg"),
            community("r9", "社区"),
            community("LT", "Lattice town"),
        ];
        let book = CodeBook::new(&cs, []);
        let p = PartitionParams::default();
        let g = |id: &str, seq, count| book.grid(Some(&CommunityId::new(id)), seq, count, &p);
        assert_eq!(
            g("110108001001", 3, 12),
            ("11010800100103".into(), "燕园社区 03".into())
        );
        assert_eq!(g("110108001001", 3, 120).0, "110108001001003");
        assert_eq!(g("r1155945", 5, 9), ("TRI-05".into(), "Triesen 05".into()));
        assert_eq!(g("r1155946", 1, 9).0, "MC-01");
        // Triesenberg would be TRI too: the collision gets a digit, deterministically.
        assert_eq!(g("r1155947", 1, 9).0, "TRI2-01");
        // No ASCII letters in the name: an index code.
        assert!(g("r9", 1, 9).0.starts_with('C'), "{:?}", g("r9", 1, 9));
        assert_eq!(g("LT", 2, 9).0, "LT-02");
        assert_eq!(
            book.grid(None, 4, 9, &p),
            ("NC-04".into(), "No community 04".into())
        );
        // The same community keeps its code when only it is partitioned with the same community list.
        assert_eq!(
            CodeBook::new(&cs, [])
                .grid(Some(&CommunityId::new("r1155947")), 1, 1, &p)
                .0,
            "TRI2-01"
        );
    }

    #[test]
    fn width_and_pattern_are_configurable() {
        let book = CodeBook::new(&[community("110108001001", "X")], []);
        let id = CommunityId::new("110108001001");
        let p = PartitionParams {
            code_width: Some(3),
            ..PartitionParams::default()
        };
        assert_eq!(book.grid(Some(&id), 7, 5, &p).0, "110108001001007");
        let p = PartitionParams {
            code_pattern: Some("{community}/G{seq}".into()),
            code_width: Some(2),
            ..PartitionParams::default()
        };
        assert_eq!(book.grid(Some(&id), 7, 5, &p).0, "110108001001/G07");
        // A community only known from building attributes uses its id when it is short.
        let book = CodeBook::new(&[], [&CommunityId::new("A")]);
        assert_eq!(
            book.grid(
                Some(&CommunityId::new("A")),
                1,
                1,
                &PartitionParams::default()
            )
            .0,
            "A-01"
        );
    }
}

//! Joining the member ways of a multipolygon relation into closed rings of node ids.
use std::collections::HashMap;

/// Rings (closed node-id sequences, first == last) and the number of way segments that could
/// not be closed into a ring.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Joined {
    pub rings: Vec<Vec<i64>>,
    pub open_segments: usize,
}

/// Joins segments by shared end nodes. Closed segments are rings by themselves; open ones are
/// chained end to end (reversing as needed) until they close. Segments that never close are
/// counted in `open_segments`.
pub(crate) fn join_segments(segments: Vec<Vec<i64>>) -> Joined {
    let mut out = Joined::default();
    let mut open: Vec<Option<Vec<i64>>> = Vec::new();
    for s in segments {
        if s.len() < 2 {
            continue;
        }
        if s.first() == s.last() {
            out.rings.push(s);
        } else {
            open.push(Some(s));
        }
    }
    // end node -> segment indices having it as first or last node
    let mut by_end: HashMap<i64, Vec<usize>> = HashMap::new();
    for (i, s) in open.iter().enumerate() {
        if let Some(s) = s {
            by_end.entry(s[0]).or_default().push(i);
            by_end.entry(s[s.len() - 1]).or_default().push(i);
        }
    }
    for start in 0..open.len() {
        let Some(mut chain) = open[start].take() else {
            continue;
        };
        let mut used = 1usize;
        loop {
            if chain.first() == chain.last() {
                out.rings.push(chain);
                break;
            }
            let Some(&end) = chain.last() else { break };
            let next = by_end
                .get(&end)
                .and_then(|c| c.iter().copied().find(|&i| open[i].is_some()));
            if let Some(mut seg) = next.and_then(|i| open[i].take()) {
                used += 1;
                if seg[0] != end {
                    seg.reverse();
                }
                chain.extend_from_slice(&seg[1..]);
            } else {
                out.open_segments += used;
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_ways_in_any_direction_join_into_one_ring() {
        let j = join_segments(vec![vec![1, 2, 3], vec![5, 4, 3], vec![5, 6, 1]]);
        assert_eq!(j.open_segments, 0);
        assert_eq!(j.rings.len(), 1);
        let r = &j.rings[0];
        assert_eq!(r.first(), r.last());
        assert_eq!(r.len(), 7);
    }

    #[test]
    fn a_gap_leaves_the_chain_open_and_counts_it() {
        let j = join_segments(vec![vec![1, 2, 3], vec![3, 4], vec![10, 11, 12, 10]]);
        assert_eq!(j.rings, vec![vec![10, 11, 12, 10]]);
        assert_eq!(j.open_segments, 2);
    }
}

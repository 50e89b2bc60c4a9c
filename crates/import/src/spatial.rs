//! Point-in-area lookups over many polygons (rstar over bounding boxes, exact test after),
//! used to give buildings their compound (smallest containing) and community (deepest, then
//! smallest containing).
use geo::{BoundingRect, Contains};
use geo_types::{MultiPolygon, Point};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// An index of areas; each area carries a rank, lower ranks win when several contain a point.
pub(crate) struct AreaIndex<'a> {
    tree: RTree<Entry>,
    areas: Vec<(&'a MultiPolygon<f64>, (i64, f64))>,
}

impl<'a> AreaIndex<'a> {
    /// `areas` = (polygon, rank) with rank compared as (integer, then float) ascending.
    pub(crate) fn new(areas: Vec<(&'a MultiPolygon<f64>, (i64, f64))>) -> Self {
        let entries = areas
            .iter()
            .enumerate()
            .filter_map(|(i, (mp, _))| {
                let r = mp.bounding_rect()?;
                Some(GeomWithData::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i,
                ))
            })
            .collect();
        Self {
            tree: RTree::bulk_load(entries),
            areas,
        }
    }

    /// Index (into the vector given to `new`) of the best-ranked area containing `p`.
    pub(crate) fn best_containing(&self, p: Point<f64>) -> Option<usize> {
        let mut candidates: Vec<usize> = self
            .tree
            .locate_all_at_point(&[p.x(), p.y()])
            .map(|e| e.data)
            .collect();
        candidates.sort_by(|&a, &b| {
            let (ra, rb) = (self.areas[a].1, self.areas[b].1);
            ra.0.cmp(&rb.0).then(ra.1.total_cmp(&rb.1)).then(a.cmp(&b))
        });
        candidates
            .into_iter()
            .find(|&i| self.areas[i].0.contains(&p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{polygon, MultiPolygon};

    #[test]
    fn the_smallest_containing_area_wins_and_outside_points_get_none() {
        let big = MultiPolygon::new(vec![
            polygon![(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.)],
        ]);
        let small = MultiPolygon::new(vec![
            polygon![(x: 1., y: 1.), (x: 3., y: 1.), (x: 3., y: 3.), (x: 1., y: 3.)],
        ]);
        let idx = AreaIndex::new(vec![(&big, (0, 100.0)), (&small, (0, 4.0))]);
        assert_eq!(idx.best_containing(Point::new(2.0, 2.0)), Some(1));
        assert_eq!(idx.best_containing(Point::new(5.0, 5.0)), Some(0));
        assert_eq!(idx.best_containing(Point::new(50.0, 5.0)), None);
    }
}

//! Small shared geometry helpers: metres on a local equirectangular projection and haversine.

/// Mean Earth radius in metres (the peer kit's R).
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance in metres between two lon/lat points.
pub fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
    let dla = la2 - la1;
    let dlo = (b.0 - a.0).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.min(1.0).sqrt().asin()
}

/// A local equirectangular projection around a reference latitude: lon/lat ↔ metres.
/// Accurate to well under 0.1 % across a city.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LocalProjection {
    pub lon0: f64,
    pub lat0: f64,
    kx: f64,
    ky: f64,
}

impl LocalProjection {
    pub fn new(lon0: f64, lat0: f64) -> Self {
        let ky = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
        Self {
            lon0,
            lat0,
            kx: ky * lat0.to_radians().cos(),
            ky,
        }
    }
    /// lon/lat → (x, y) metres.
    pub fn project(&self, lon: f64, lat: f64) -> (f64, f64) {
        ((lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky)
    }
    /// (x, y) metres → lon/lat.
    pub fn unproject(&self, x: f64, y: f64) -> (f64, f64) {
        (self.lon0 + x / self.kx, self.lat0 + y / self.ky)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_projection_agrees_with_haversine_across_a_city() {
        let p = LocalProjection::new(7.42, 43.73);
        let (a, b) = ((7.40, 43.72), (7.45, 43.75));
        let (ax, ay) = p.project(a.0, a.1);
        let (bx, by) = p.project(b.0, b.1);
        let planar = ((ax - bx).powi(2) + (ay - by).powi(2)).sqrt();
        let h = haversine_m(a, b);
        assert!((planar - h).abs() / h < 1e-3, "{planar} vs {h}");
        let (lon, lat) = p.unproject(ax, ay);
        assert!((lon - a.0).abs() < 1e-12 && (lat - a.1).abs() < 1e-12);
    }
}

//! Chinese map coordinate systems. GCJ-02 (AMap, Tencent, WeChat
//! location) and BD-09 (Baidu) are obfuscated variants of WGS 84; the
//! `coordtransform` crate implements them, with an iterative inverse, and
//! leaves points outside mainland China unshifted.

pub use crate::domain::CoordSys;

impl CoordSys {
    /// Converts a longitude/latitude in this system to WGS 84. GCJ-02 and
    /// BD-09 input must lie in mainland China, where those systems exist.
    ///
    /// # Examples
    /// ```
    /// use hutong::spatial::CoordSys;
    /// // The Bell Tower area as AMap shows it, back to WGS 84.
    /// let (lon, lat) = CoordSys::Gcj02.to_wgs84(116.401347, 39.942604).expect("in China");
    /// assert!((lon - 116.3951).abs() < 1e-5 && (lat - 39.9412).abs() < 1e-5);
    /// ```
    pub fn to_wgs84(self, lon: f64, lat: f64) -> Result<(f64, f64), String> {
        match self {
            CoordSys::Wgs84 => Ok((lon, lat)),
            CoordSys::Gcj02 | CoordSys::Bd09 if !coordtransform::is_in_gcj02_region(lon, lat) => {
                Err(format!(
                    "{} coordinates exist only in mainland China; {lon}, {lat} is outside it (send WGS 84 with coord_sys=wgs84)",
                    self.as_str()
                ))
            }
            CoordSys::Gcj02 => Ok(coordtransform::gcj02_to_wgs84(lon, lat)),
            CoordSys::Bd09 => Ok(coordtransform::bd09_to_wgs84(lon, lat)),
        }
    }

    /// Converts a WGS 84 longitude/latitude into this system (for display
    /// on Chinese base maps). Points outside China are returned unchanged.
    pub fn from_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            CoordSys::Wgs84 => (lon, lat),
            CoordSys::Gcj02 => coordtransform::wgs84_to_gcj02(lon, lat),
            CoordSys::Bd09 => coordtransform::wgs84_to_bd09(lon, lat),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spatial::distance_m;
    use geo::Point;

    type LonLat = (f64, f64);

    /// (WGS 84, GCJ-02, BD-09) from the public-domain `prcoords` 1.0.2
    /// (Python: `wgs_gcj`, `wgs_bd`), computed once and written in here.
    const PRCOORDS: &[(LonLat, LonLat, LonLat)] = &[
        (
            (116.3951, 39.9412),
            (116.401_347_093_573_08, 39.942_604_191_332_656),
            (116.407_712_618_191_9, 39.948_947_398_552_1),
        ),
        (
            (116.33, 40.07),
            (116.336_158_943_260_14, 40.071_322_522_300_17),
            (116.342_768_434_601_06, 40.076_977_689_717_68),
        ),
        (
            (116.4074, 39.9042),
            (116.413_642_253_788_03, 39.905_603_343_165_07),
            (116.420_046_330_298_16, 39.911_865_335_618_99),
        ),
    ];

    fn metres(a: LonLat, b: LonLat) -> f64 {
        distance_m(Point::new(a.0, a.1), Point::new(b.0, b.1))
    }

    #[test]
    fn conversions_match_prcoords_within_half_a_metre() {
        for &(wgs, gcj, bd) in PRCOORDS {
            assert!(metres(CoordSys::Gcj02.from_wgs84(wgs.0, wgs.1), gcj) < 0.5);
            assert!(metres(CoordSys::Bd09.from_wgs84(wgs.0, wgs.1), bd) < 0.5);
            let back = CoordSys::Gcj02.to_wgs84(gcj.0, gcj.1).expect("in China");
            assert!(metres(back, wgs) < 0.5, "gcj02 back {back:?}");
            let back = CoordSys::Bd09.to_wgs84(bd.0, bd.1).expect("in China");
            assert!(metres(back, wgs) < 0.5, "bd09 back {back:?}");
        }
    }

    #[test]
    fn round_trips_stay_under_half_a_metre_across_beijing() {
        let mut worst: f64 = 0.0;
        for i in 0..40 {
            for j in 0..40 {
                let wgs = (115.8 + f64::from(i) * 0.03, 39.5 + f64::from(j) * 0.025);
                for sys in [CoordSys::Gcj02, CoordSys::Bd09] {
                    let shown = sys.from_wgs84(wgs.0, wgs.1);
                    let back = sys.to_wgs84(shown.0, shown.1).expect("in China");
                    worst = worst.max(metres(back, wgs));
                }
            }
        }
        assert!(worst < 0.5, "worst round trip {worst} m");
    }

    #[test]
    fn outside_china_is_not_shifted_and_not_accepted_as_gcj02() {
        assert_eq!(
            CoordSys::Gcj02.from_wgs84(2.3522, 48.8566),
            (2.3522, 48.8566)
        );
        assert!(CoordSys::Gcj02.to_wgs84(2.3522, 48.8566).is_err());
        assert!(CoordSys::Bd09.to_wgs84(-74.0, 40.7).is_err());
        assert_eq!(
            CoordSys::Wgs84.to_wgs84(2.3522, 48.8566),
            Ok((2.3522, 48.8566))
        );
    }

    #[test]
    fn names_parse() {
        assert_eq!("GCJ02".parse::<CoordSys>(), Ok(CoordSys::Gcj02));
        assert_eq!("bd09".parse::<CoordSys>(), Ok(CoordSys::Bd09));
        assert!("utm".parse::<CoordSys>().is_err());
    }
}

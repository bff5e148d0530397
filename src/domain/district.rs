//! The sixteen districts of Beijing, used to scope tokens and to tag
//! assets and complaints.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! districts {
    ($($variant:ident => $id:literal),+ $(,)?) => {
        /// A district of Beijing, identified by its lower-case pinyin name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum District { $($variant),+ }

        impl District {
            pub const ALL: &'static [District] = &[$(District::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(District::$variant => $id),+ }
            }
        }

        impl FromStr for District {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($id => Ok(District::$variant),)+
                    other => Err(format!(
                        "unknown district {other:?}; expected one of: {}",
                        [$($id),+].join(", ")
                    )),
                }
            }
        }
    };
}

districts! {
    Dongcheng => "dongcheng",
    Xicheng => "xicheng",
    Chaoyang => "chaoyang",
    Fengtai => "fengtai",
    Shijingshan => "shijingshan",
    Haidian => "haidian",
    Mentougou => "mentougou",
    Fangshan => "fangshan",
    Tongzhou => "tongzhou",
    Shunyi => "shunyi",
    Changping => "changping",
    Daxing => "daxing",
    Huairou => "huairou",
    Pinggu => "pinggu",
    Miyun => "miyun",
    Yanqing => "yanqing",
}

impl fmt::Display for District {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_district_round_trips_through_its_id() {
        assert_eq!(District::ALL.len(), 16);
        for district in District::ALL {
            assert_eq!(district.as_str().parse::<District>(), Ok(*district));
            let json = serde_json::to_string(district).expect("serializes");
            assert_eq!(json, format!("\"{}\"", district.as_str()));
        }
    }

    #[test]
    fn unknown_district_is_rejected_with_the_choices() {
        let err = "dongchen".parse::<District>().expect_err("typo accepted");
        assert!(err.contains("dongcheng"));
    }
}

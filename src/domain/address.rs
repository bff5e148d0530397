//! Street addresses as a hotline hears them and a gazetteer compares
//! them: 北京市东城区钟楼湾胡同９０号, "Zhonglouwan Hutong No. 90" and
//! "zhonglouwan hutong 90, Dongcheng" are one address.
//!
//! An address becomes an [`AddressKey`]: the way (a lane or street) as
//! its name in lowercase toneless pinyin, with the kind of way (胡同 /
//! Hutong, 街 / Street, …) kept apart, and the house number. On the way:
//! full-width forms become ASCII, the city and district prefixes go,
//! Chinese is written in pinyin (the `pinyin` crate), and spacing and
//! punctuation are dropped.

use pinyin::ToPinyin;

/// The kind of way a name ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WayClass {
    /// 胡同, Hutong.
    Hutong,
    /// 街, 大街, Street.
    Street,
    /// 路, Road.
    Road,
    /// 巷, 条, Lane, Alley.
    Lane,
}

/// An address as compared: the way's name, its class when said, and the
/// house number when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressKey {
    /// The way's name without its class, lowercase pinyin or latin
    /// letters and digits only (e.g. `zhonglouwan`); empty when the text
    /// names no way.
    pub way: String,
    pub class: Option<WayClass>,
    /// The house number as written, digits and an optional letter
    /// (e.g. `90`, `12a`).
    pub house: Option<String>,
}

/// The way classes by the words that end a way's name: Chinese as its
/// pinyin syllables, English as words.
const CLASS_WORDS: &[(&[&str], WayClass)] = &[
    (&["hu", "tong"], WayClass::Hutong),
    (&["hutong"], WayClass::Hutong),
    (&["da", "jie"], WayClass::Street),
    (&["dajie"], WayClass::Street),
    (&["jie"], WayClass::Street),
    (&["street"], WayClass::Street),
    (&["st"], WayClass::Street),
    (&["lu"], WayClass::Road),
    (&["road"], WayClass::Road),
    (&["rd"], WayClass::Road),
    (&["xiang"], WayClass::Lane),
    (&["lane"], WayClass::Lane),
    (&["alley"], WayClass::Lane),
];

/// Class words long enough to be recognised at the end of a name written
/// without spaces (`Zhonglouwanhutong`); shorter ones (`lu`, `st`) would
/// cut real names.
const CLASS_SUFFIXES: &[(&str, WayClass)] = &[
    ("hutong", WayClass::Hutong),
    ("dajie", WayClass::Street),
    ("street", WayClass::Street),
    ("alley", WayClass::Lane),
];

/// Beijing's districts: as pinyin syllables (written in Chinese, always
/// followed by 区) and as one English word (optionally followed by
/// "district").
const DISTRICTS: &[(&[&str], &str)] = &[
    (&["dong", "cheng"], "dongcheng"),
    (&["xi", "cheng"], "xicheng"),
    (&["chao", "yang"], "chaoyang"),
    (&["hai", "dian"], "haidian"),
    (&["feng", "tai"], "fengtai"),
    (&["shi", "jing", "shan"], "shijingshan"),
    (&["chang", "ping"], "changping"),
    (&["tong", "zhou"], "tongzhou"),
    (&["shun", "yi"], "shunyi"),
    (&["da", "xing"], "daxing"),
    (&["fang", "shan"], "fangshan"),
    (&["men", "tou", "gou"], "mentougou"),
    (&["huai", "rou"], "huairou"),
    (&["ping", "gu"], "pinggu"),
    (&["mi", "yun"], "miyun"),
    (&["yan", "qing"], "yanqing"),
];

/// Word sequences that name the city or the country.
const PLACES: &[&[&str]] = &[
    &["bei", "jing", "shi"],
    &["bei", "jing"],
    &["beijing", "city"],
    &["beijing"],
    &["zhong", "guo"],
    &["china"],
    &["prc"],
];

/// How many words at the start (`front`) or end of `words` name the
/// city, the country or a district; 0 when none do.
fn place_words(words: &[String], front: bool) -> usize {
    let matches = |pattern: &[&str]| -> bool {
        pattern.len() <= words.len() && {
            let part = if front {
                &words[..pattern.len()]
            } else {
                &words[words.len() - pattern.len()..]
            };
            part.iter().zip(pattern).all(|(w, p)| w == p)
        }
    };
    PLACE_PATTERNS
        .iter()
        .filter(|c| matches(c))
        .map(Vec::len)
        .max()
        .unwrap_or(0)
}

/// Every word sequence that names a place: [`PLACES`], and each district
/// as 东城区 (`dong cheng qu`), `Dongcheng District`, `Dongcheng Qu` and
/// `Dongcheng`. Made once.
static PLACE_PATTERNS: std::sync::LazyLock<Vec<Vec<&'static str>>> =
    std::sync::LazyLock::new(|| {
        let mut patterns: Vec<Vec<&str>> = PLACES.iter().map(|p| p.to_vec()).collect();
        for (syllables, word) in DISTRICTS {
            let mut chinese = syllables.to_vec();
            chinese.push("qu");
            patterns.push(chinese);
            patterns.push(vec![word, "district"]);
            patterns.push(vec![word, "qu"]);
            patterns.push(vec![word]);
        }
        patterns
    });

impl AddressKey {
    /// The key of an address as written.
    ///
    /// # Examples
    /// ```
    /// use hutong::domain::{AddressKey, WayClass};
    /// let chinese = AddressKey::parse("北京市东城区钟楼湾胡同９０号");
    /// let english = AddressKey::parse("Zhonglouwan Hutong No. 90, Dongcheng District");
    /// assert_eq!(chinese, english);
    /// assert_eq!(chinese.way, "zhonglouwan");
    /// assert_eq!(chinese.class, Some(WayClass::Hutong));
    /// assert_eq!(chinese.house.as_deref(), Some("90"));
    /// ```
    pub fn parse(text: &str) -> Self {
        let latin = to_latin(text);
        let (rest, house) = split_house(&latin);
        let mut words: Vec<String> = rest
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        // City, country and district, before the way or after it, in any
        // order ("Beijing, Dongcheng", "…, Dongcheng District, Beijing").
        loop {
            let n = place_words(&words, true);
            if n == 0 {
                break;
            }
            words.drain(..n);
        }
        loop {
            let n = place_words(&words, false);
            if n == 0 || n == words.len() {
                break;
            }
            words.truncate(words.len() - n);
        }
        let mut class = None;
        if let Some((pattern, c)) = CLASS_WORDS.iter().find(|(p, _)| {
            p.len() < words.len()
                && words[words.len() - p.len()..]
                    .iter()
                    .zip(p.iter())
                    .all(|(w, p)| w == p)
        }) {
            words.truncate(words.len() - pattern.len());
            class = Some(*c);
        }
        let mut way = words.concat();
        if class.is_none() {
            if let Some((suffix, c)) = CLASS_SUFFIXES
                .iter()
                .find(|(s, _)| way.len() > s.len() && way.ends_with(s))
            {
                way.truncate(way.len() - suffix.len());
                class = Some(*c);
            }
        }
        AddressKey { way, class, house }
    }
}

/// Full-width forms as ASCII, Chinese characters as toneless pinyin
/// (one word each), everything lowercase; 号 and 號 stay as `#` so the
/// house number can be found after them.
fn to_latin(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        let c = match c {
            // Full-width ASCII (！ to ～) and the ideographic space.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            other => other,
        };
        match c {
            '号' | '號' => out.push('#'),
            c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            c => match c.to_pinyin() {
                Some(p) => {
                    out.push(' ');
                    out.push_str(p.plain());
                    out.push(' ');
                }
                // Other scripts and symbols separate words.
                None => out.push(' '),
            },
        }
    }
    out
}

/// The house number and the text without it. The number is the one
/// marked as such (`90#` from 90号, `no. 90`, `#90`), else the last
/// number of the text.
fn split_house(text: &str) -> (String, Option<String>) {
    let bytes = text.as_bytes();
    // Runs of digits, with an optional letter right after (12a), and
    // their byte spans.
    let mut numbers: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let letter = i < bytes.len()
                && bytes[i].is_ascii_alphabetic()
                && (i + 1 == bytes.len() || !bytes[i + 1].is_ascii_alphabetic());
            if letter {
                i += 1;
            }
            numbers.push((start, i));
        } else {
            i += 1;
        }
    }
    let marked = numbers.iter().find(|&&(start, end)| {
        let before = text[..start].trim_end();
        let after = text[end..].trim_start();
        after.starts_with('#')
            || before.ends_with('#')
            || before.ends_with("no.")
            || before.ends_with("no")
    });
    let Some(&(start, end)) = marked.or(numbers.last()) else {
        return (text.replace('#', " "), None);
    };
    let house = text[start..end].to_string();
    let mut rest = String::with_capacity(text.len());
    let before = text[..start].trim_end();
    let before = before
        .strip_suffix("no.")
        .or_else(|| before.strip_suffix("no"))
        .unwrap_or(before);
    rest.push_str(before);
    rest.push(' ');
    rest.push_str(&text[end..]);
    (rest.replace('#', " "), Some(house))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(way: &str, class: Option<WayClass>, house: Option<&str>) -> AddressKey {
        AddressKey {
            way: way.into(),
            class,
            house: house.map(str::to_string),
        }
    }

    #[test]
    fn chinese_and_english_forms_are_one_address() {
        let want = key("zhonglouwan", Some(WayClass::Hutong), Some("90"));
        for text in [
            "钟楼湾胡同90号",
            "北京市东城区钟楼湾胡同90号",
            "东城区 钟楼湾胡同 ９０ 号",
            "钟楼湾胡同９０号",
            "Zhonglouwan Hutong 90",
            "Zhonglouwan Hutong No. 90",
            "zhonglouwan hutong no 90",
            "No. 90, Zhonglouwan Hutong, Dongcheng District, Beijing",
            "Beijing Dongcheng Zhonglouwan Hutong #90",
            "ZHONGLOUWAN HUTONG 90",
            "Zhonglouwanhutong90",
        ] {
            assert_eq!(AddressKey::parse(text), want, "{text}");
        }
    }

    #[test]
    fn way_classes_and_house_numbers() {
        assert_eq!(
            AddressKey::parse("旧鼓楼大街12号"),
            key("jiugulou", Some(WayClass::Street), Some("12"))
        );
        assert_eq!(
            AddressKey::parse("Jiugulou Street 12"),
            key("jiugulou", Some(WayClass::Street), Some("12"))
        );
        assert_eq!(
            AddressKey::parse("Doufuchi Hutong 12A"),
            key("doufuchi", Some(WayClass::Hutong), Some("12a"))
        );
        // A lane without a house.
        assert_eq!(
            AddressKey::parse("宝钞胡同"),
            key("baochao", Some(WayClass::Hutong), None)
        );
        // Nothing that names a way.
        assert_eq!(AddressKey::parse("北京市东城区").way, "");
        // A way whose name begins like a district keeps it.
        assert_eq!(
            AddressKey::parse("朝阳门北小街5号"),
            key("chaoyangmenbeixiao", Some(WayClass::Street), Some("5"))
        );
        assert_eq!(AddressKey::parse(""), key("", None, None));
        assert_eq!(AddressKey::parse("？！"), key("", None, None));
    }

    #[test]
    fn any_text_parses_without_panicking() {
        for text in [
            "\u{0}",
            "号号号",
            "No.",
            "#",
            "１２３４５６７８９０１２３４５６７８９０",
            "😀 胡同 😀",
            "a\u{FF5E}b",
            "ñandú 9",
        ] {
            let _ = AddressKey::parse(text);
        }
    }
}

//! SQL `LIKE` patterns (`%` any run, `_` any one character, `\` escapes),
//! compiled once and matched in time linear in the text.
//!
//! Written here because no crate in the tree matches LIKE with bounded
//! cost: `regex` would do (its automata are linear) but is a large
//! dependency for two wildcards, and a dynamic programme over text ×
//! pattern is quadratic, which a hostile pattern of thousands of `%`
//! turned into seconds per request.
//!
//! The pattern splits at its `%`s into fixed-length segments. The first
//! must match at the start of the text and the last at its end; each one
//! between is found leftmost after the one before (leftmost is never
//! worse, since the segments have fixed lengths). Each search is bit-
//! parallel (shift-and, one `u64` state over a segment of at most 64
//! characters), so every text character is looked at a bounded number
//! of times.

/// Longest pattern, characters.
pub const MAX_PATTERN_CHARS: usize = 256;
/// Most `%` wildcards in one pattern.
pub const MAX_ANY_RUNS: usize = 16;
/// Longest run of characters between two `%`s.
pub const MAX_SEGMENT_CHARS: usize = 64;

/// One position of a segment: a character, or `_` (any one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Char(char),
    AnyOne,
}

/// A run of slots between `%`s.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    slots: Vec<Slot>,
    /// For each distinct character in the segment, the bits of the slots
    /// it matches; sorted by character.
    masks: Vec<(char, u64)>,
    /// The bits of the `_` slots (they match any character).
    any: u64,
}

impl Segment {
    fn new(slots: Vec<Slot>) -> Self {
        let mut any = 0u64;
        let mut masks: Vec<(char, u64)> = Vec::new();
        for (i, slot) in slots.iter().enumerate() {
            match slot {
                Slot::AnyOne => any |= 1 << i,
                Slot::Char(c) => match masks.binary_search_by_key(c, |(k, _)| *k) {
                    Ok(at) => masks[at].1 |= 1 << i,
                    Err(at) => masks.insert(at, (*c, 1 << i)),
                },
            }
        }
        Segment { slots, masks, any }
    }

    fn len(&self) -> usize {
        self.slots.len()
    }

    fn mask(&self, c: char) -> u64 {
        match self.masks.binary_search_by_key(&c, |(k, _)| *k) {
            Ok(at) => self.masks[at].1 | self.any,
            Err(_) => self.any,
        }
    }

    /// Whether the segment matches `text` at its start.
    fn matches_at(&self, text: &[char]) -> bool {
        text.len() >= self.len()
            && self.slots.iter().zip(text).all(|(s, c)| match s {
                Slot::AnyOne => true,
                Slot::Char(p) => p == c,
            })
    }

    /// Where the leftmost match in `text` ends (one past its last
    /// character), by shift-and.
    fn find_end(&self, text: &[char]) -> Option<usize> {
        if self.slots.is_empty() {
            return Some(0);
        }
        let done = 1u64 << (self.len() - 1);
        let mut state = 0u64;
        for (i, c) in text.iter().enumerate() {
            state = ((state << 1) | 1) & self.mask(*c);
            if state & done != 0 {
                return Some(i + 1);
            }
        }
        None
    }
}

/// A compiled LIKE pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikePattern {
    /// The segments between `%`s; one segment when there is no `%`.
    segments: Vec<Segment>,
}

impl LikePattern {
    /// Compiles a pattern, refusing one beyond the limits above.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let chars = pattern.chars().count();
        if chars > MAX_PATTERN_CHARS {
            return Err(format!(
                "LIKE pattern is {chars} characters long; at most {MAX_PATTERN_CHARS} are allowed"
            ));
        }
        let mut segments: Vec<Vec<Slot>> = vec![Vec::new()];
        let mut input = pattern.chars();
        while let Some(c) = input.next() {
            let slot = match c {
                '%' => {
                    // `%%` is the same as `%`.
                    if segments.last().is_some_and(|s| !s.is_empty()) || segments.len() == 1 {
                        segments.push(Vec::new());
                    }
                    continue;
                }
                '_' => Slot::AnyOne,
                '\\' => Slot::Char(input.next().unwrap_or('\\')),
                c => Slot::Char(c),
            };
            if let Some(last) = segments.last_mut() {
                last.push(slot);
            }
        }
        if segments.len() - 1 > MAX_ANY_RUNS {
            return Err(format!(
                "LIKE pattern has {} % wildcards; at most {MAX_ANY_RUNS} are allowed",
                segments.len() - 1
            ));
        }
        if let Some(long) = segments.iter().find(|s| s.len() > MAX_SEGMENT_CHARS) {
            return Err(format!(
                "LIKE pattern has a run of {} characters between wildcards; at most {MAX_SEGMENT_CHARS} are allowed",
                long.len()
            ));
        }
        Ok(LikePattern {
            segments: segments.into_iter().map(Segment::new).collect(),
        })
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let Some((first, rest)) = self.segments.split_first() else {
            return text.is_empty();
        };
        let Some((last, middle)) = rest.split_last() else {
            // No `%`: the text is exactly one segment long.
            return text.len() == first.len() && first.matches_at(&text);
        };
        if text.len() < first.len() + last.len() || !first.matches_at(&text) {
            return false;
        }
        let tail = text.len() - last.len();
        if !last.matches_at(&text[tail..]) {
            return false;
        }
        let mut at = first.len();
        for segment in middle {
            match text.get(at..tail).and_then(|t| segment.find_end(t)) {
                Some(end) => at += end,
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(text: &str, pattern: &str) -> bool {
        LikePattern::parse(pattern).expect("pattern").matches(text)
    }

    /// The quadratic reference: LIKE by dynamic programming.
    fn reference(text: &str, pattern: &str) -> bool {
        let t: Vec<char> = text.chars().collect();
        let mut p: Vec<(char, bool)> = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => p.push((chars.next().unwrap_or('\\'), true)),
                c => p.push((c, false)),
            }
        }
        let mut row = vec![false; t.len() + 1];
        row[0] = true;
        for &(c, literal) in &p {
            let mut next = vec![false; t.len() + 1];
            if c == '%' && !literal {
                let mut any = false;
                for i in 0..=t.len() {
                    any |= row[i];
                    next[i] = any;
                }
            } else {
                for i in 1..=t.len() {
                    next[i] = row[i - 1] && ((c == '_' && !literal) || t[i - 1] == c);
                }
            }
            row = next;
        }
        row[t.len()]
    }

    #[test]
    fn wildcards_and_escapes() {
        assert!(like("Zhangwang 12", "Zhang%12"));
        assert!(like("Zhangwang", "_hangwang%"));
        assert!(!like("Zhangwang", "Zhang"));
        assert!(like("100%", "100\\%"));
        assert!(!like("1000", "100\\%"));
        assert!(like("", "%"));
        assert!(like("", ""));
        assert!(!like("a", ""));
        assert!(like("abc", "%%b%%"));
        assert!(like("胡同积水", "%积_"));
        assert!(!like("ab", "a%b%b"));
        assert!(like("abab", "a%b%b"));
    }

    #[test]
    fn agrees_with_the_quadratic_reference() {
        let texts = [
            "",
            "a",
            "ab",
            "aab",
            "abcabc",
            "a_b%c",
            "xxabyyabzz",
            "灯不亮灯",
        ];
        let patterns = [
            "", "%", "_", "a%", "%b", "%a%b%", "a_c%", "%ab%ab%", "__%__", "%\\_%", "a\\%b%",
            "%灯%灯", "_%_", "%c_", "x%y%z",
        ];
        for t in texts {
            for p in patterns {
                assert_eq!(like(t, p), reference(t, p), "{t:?} LIKE {p:?}");
            }
        }
    }

    #[test]
    fn hostile_patterns_are_refused_or_cheap() {
        // 6,000 wildcards: refused before any matching.
        assert!(LikePattern::parse(&format!("{}b", "%a".repeat(6_000))).is_err());
        assert!(LikePattern::parse(&"x".repeat(MAX_PATTERN_CHARS + 1)).is_err());
        assert!(LikePattern::parse(&format!("%{}%", "y".repeat(MAX_SEGMENT_CHARS + 1))).is_err());
        // The longest allowed pattern over a long text: a text × pattern
        // table would fill 200,000 × 255 cells; the segment search looks
        // at each text character a bounded number of times.
        let run = "a".repeat(MAX_SEGMENT_CHARS - 1);
        let text = "a".repeat(200_000);
        let matching = [run.as_str(); 4].join("%");
        let missing = [
            run.as_str(),
            &"b".repeat(MAX_SEGMENT_CHARS - 1),
            run.as_str(),
        ]
        .join("%");
        assert!(matching.chars().count() <= MAX_PATTERN_CHARS);
        let started = std::time::Instant::now();
        assert!(like(&text, &matching));
        assert!(!like(&text, &missing));
        assert!(
            started.elapsed() < std::time::Duration::from_millis(100),
            "{:?}",
            started.elapsed()
        );
    }
}

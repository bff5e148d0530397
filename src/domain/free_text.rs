//! The one rule for text people type (descriptions, names, notes): what
//! characters it may hold. Control characters break logs and exports;
//! bidirectional overrides (U+202E), isolates (U+2066), invisible tags
//! (U+E0041) and zero-width marks can make text read differently on an
//! operator's screen from what is stored, so they are refused too.

/// Why a text is refused, if it is.
pub fn free_text_problem(text: &str) -> Option<String> {
    text.chars().find(|c| is_refused(*c)).map(|c| {
        if c.is_control() {
            "must not contain control characters".to_string()
        } else {
            format!(
                "must not contain invisible formatting characters such as U+{:04X}",
                u32::from(c)
            )
        }
    })
}

/// Whether a character may not appear in free text: controls other than
/// newline and tab, and Unicode format characters that change how text
/// is shown without being seen (general category Cf, less the few that
/// scripts need: the zero-width joiner and non-joiner).
fn is_refused(c: char) -> bool {
    if c.is_control() {
        return c != '\n' && c != '\t';
    }
    matches!(u32::from(c),
        0x00AD            // soft hyphen
        | 0x061C          // Arabic letter mark
        | 0x180E          // Mongolian vowel separator
        | 0x200B          // zero-width space
        | 0x200E..=0x200F // left-to-right / right-to-left marks
        | 0x202A..=0x202E // embeddings and overrides
        | 0x2060..=0x2064 // word joiner, invisible operators
        | 0x2066..=0x206F // isolates and deprecated format controls
        | 0xFEFF          // byte order mark, zero-width no-break space
        | 0xFFF9..=0xFFFB // interlinear annotation
        | 0x1D173..=0x1D17A // musical format controls
        | 0xE0000..=0xE007F // tags
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disguising_characters_are_refused() {
        for bad in [
            "abc\u{202E}fed",
            "x\u{2066}y",
            "tag\u{E0041}",
            "\u{FEFF}BOM",
            "bell\u{0007}",
            "nul\0",
            "zero\u{200B}width",
        ] {
            assert!(free_text_problem(bad).is_some(), "{bad:?}");
        }
        assert!(
            free_text_problem("abc\u{202E}")
                .unwrap_or_default()
                .contains("U+202E")
        );
    }

    #[test]
    fn ordinary_text_passes() {
        for good in [
            "钟楼湾胡同90号门口积水",
            "Line one\nline two\tindented",
            "emoji 🚲 and joiner 👩\u{200D}🔧",
            "Ünïcödé ÅÉÎ",
        ] {
            assert_eq!(free_text_problem(good), None, "{good:?}");
        }
    }
}

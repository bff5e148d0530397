//! Small text encodings shared by the services and the HTTP surface:
//! hexadecimal, and escaping for HTML and XML.

use std::fmt::Write;

/// Lower-case hexadecimal of `bytes`.
///
/// ```
/// assert_eq!(hutong::encoding::hex(&[0x0f, 0xa0]), "0fa0");
/// ```
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Text made safe to place in HTML or XML content and attribute values
/// (`&#39;` for the apostrophe, which both read).
///
/// ```
/// assert_eq!(hutong::encoding::escape_markup("<a href='x'>&</a>"),
///     "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;");
/// ```
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

/// Appends `text` to `out`, escaped as [`escape_markup`] does.
pub fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

//! The caller's personal data: who may see it, how it is masked in lists,
//! and the keyed hash their phone is matched by.

use super::{District, Principal};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The caller's name and phone: shown whole only to operators and admins,
/// on a single case.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Caller {
    pub name: Option<String>,
    pub phone: Option<String>,
}

impl Caller {
    /// The form every list shows: the phone with its middle hidden
    /// (`138****0000`), the name's first character then `*`.
    pub fn masked(&self) -> Caller {
        Caller {
            name: self.name.as_deref().map(mask_name),
            phone: self.phone.as_deref().map(mask_phone),
        }
    }
}

/// A phone with all but its first three and last four digits hidden
/// (fewer kept when it is short): `13800000000` → `138****0000`. Only the
/// national digits are kept, so spacing or a country code cannot leak
/// them.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone_digits(phone).chars().collect();
    let n = digits.len();
    let (head, tail) = match n {
        0..=4 => (0, 0),
        5..=8 => (1, 2),
        _ => (3, 4),
    };
    let mut out: String = digits[..head].iter().collect();
    out.push_str("****");
    out.extend(&digits[n - tail..]);
    out
}

/// A name's first character, then `*`.
pub fn mask_name(name: &str) -> String {
    let mut out: String = name.chars().take(1).collect();
    out.push('*');
    out
}

/// The digits a phone is matched by: everything but digits dropped, and
/// China's country code (`+86`, `0086`) with it, so that
/// `+86 138-0000-0000` and `13800000000` are the same caller.
pub fn phone_digits(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let international = phone.trim_start().starts_with('+') || digits.starts_with("00");
    let rest = digits.trim_start_matches("00");
    match rest.strip_prefix("86") {
        Some(national) if international && national.len() >= 7 => national.to_string(),
        _ => digits,
    }
}

/// HMAC-SHA256 of a phone's digits under the service's key, its first
/// 64 bits in hex: equal for the same caller, and not reversible by
/// trying every number without the key (a plain hash of an 11-digit
/// number is). 64 bits, not 256: the chance that a lookup matches another
/// caller among a hundred million is about 1 in 2^37, and the index of
/// 16-character keys is a quarter of the size (its random-order inserts
/// set the pace of a bulk import once it outgrows the page cache).
pub fn phone_digest(key: &[u8], phone: &str) -> String {
    // `new_from_slice` accepts a key of any length for HMAC.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(phone_digits(phone).as_bytes());
    let digest = mac.finalize().into_bytes();
    crate::encoding::hex(&digest[..8])
}

/// Whether a viewer may see the personal data of a caller whose case is
/// in `district`: hotline operators and admins, and of those with a
/// district-scoped token only inside their district.
pub fn may_see_personal_data(viewer: Option<&Principal>, district: Option<District>) -> bool {
    viewer.is_some_and(|p| p.role.takes_complaints() && p.may_act_in(district))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_masked_to_their_ends() {
        assert_eq!(mask_phone("13800000000"), "138****0000");
        assert_eq!(mask_phone("+86 138-1234-5678"), "138****5678");
        assert_eq!(mask_phone("12345"), "1****45");
        assert_eq!(mask_phone("110"), "****");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name(""), "*");
    }

    #[test]
    fn the_same_phone_written_differently_has_one_digest() {
        let key = b"k";
        let plain = phone_digest(key, "13800000000");
        assert_eq!(plain.len(), 16);
        for same in ["+86 138 0000 0000", "0086-13800000000", "138-0000-0000"] {
            assert_eq!(phone_digest(key, same), plain, "{same}");
        }
        assert_ne!(phone_digest(key, "13800000001"), plain);
        assert_ne!(phone_digest(b"other key", "13800000000"), plain);
        // 86 at the start of a national number is not a country code.
        assert_eq!(phone_digits("8612345"), "8612345");
    }
}

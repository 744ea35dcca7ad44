//! ASCII case-insensitive comparison 8 bytes at a time.
//!
//! Every scanner hit is confirmed by comparing a literal with the
//! haystack; `<[u8]>::eq_ignore_ascii_case` lowercases and compares one
//! byte at a time (about 4 instructions a byte), and the big literal sets
//! confirm long literals (URI paths of 20-40 bytes) several times per
//! request, most of them failing only late, after a shared prefix.

/// Whether `a` and `b` are equal ignoring ASCII case (as
/// `<[u8]>::eq_ignore_ascii_case`).
#[inline]
pub(crate) fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    compare(a, b, lower)
}

/// [`eq_ignore_case`] for a `lit` already lowercase (the literals of the
/// scanners): only `hay` is lowercased.
#[inline(always)]
pub(crate) fn eq_lowercase(hay: &[u8], lit: &[u8]) -> bool {
    debug_assert!(!lit.iter().any(u8::is_ascii_uppercase));
    compare(hay, lit, |x| x)
}

/// Whether `lower(a) == fold_b(b)` word by word (byte by byte below 4).
#[inline(always)]
fn compare(a: &[u8], b: &[u8], fold_b: impl Fn(u64) -> u64) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().expect("8 bytes"));
    let half = |s: &[u8], i: usize| {
        u64::from(u32::from_le_bytes(s[i..i + 4].try_into().expect("4 bytes")))
    };
    match n {
        8.. => {
            let mut i = 0;
            while i + 8 < n {
                if lower(word(a, i)) != fold_b(word(b, i)) {
                    return false;
                }
                i += 8;
            }
            // The last 8 bytes (overlapping the previous word).
            lower(word(a, n - 8)) == fold_b(word(b, n - 8))
        }
        4.. => {
            lower(half(a, 0)) == fold_b(half(b, 0))
                && lower(half(a, n - 4)) == fold_b(half(b, n - 4))
        }
        _ => a.eq_ignore_ascii_case(b),
    }
}

/// The bytes of `x` with `A`-`Z` lowercased (SWAR: a byte is uppercase
/// when its low 7 bits plus 0x3f carry into bit 7, plus 0x25 do not, and
/// its own bit 7 is clear; no sum carries into the next byte).
#[inline(always)]
fn lower(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let h = x & LOW7;
    let at_least_a = h + 0x3f3f_3f3f_3f3f_3f3f;
    let past_z = h + 0x2525_2525_2525_2525;
    let upper = at_least_a & !past_z & !x & HIGH;
    x | (upper >> 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Equal to the standard library's comparison, for every byte value
    /// at every position of every length up to 40.
    #[test]
    fn equals_std() {
        for b in 0..=255u8 {
            for c in 0..=255u8 {
                assert_eq!(
                    lower(u64::from(b) << 40) >> 40,
                    u64::from(b.to_ascii_lowercase())
                );
                let (x, y) = ([b; 1], [c; 1]);
                assert_eq!(eq_ignore_case(&x, &y), x.eq_ignore_ascii_case(&y));
            }
        }
        let mut state = 0x1234_5678_9abc_def1u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for n in 0..40 {
            for _ in 0..500 {
                let a: Vec<u8> = (0..n).map(|_| next() as u8).collect();
                // The same bytes, some case-flipped, some changed.
                let mut b: Vec<u8> = a
                    .iter()
                    .map(|&c| match next() % 4 {
                        0 => c.to_ascii_uppercase(),
                        1 => c.to_ascii_lowercase(),
                        2 => c ^ 0x20,
                        _ => c,
                    })
                    .collect();
                if n > 0 && next() % 3 == 0 {
                    let i = (next() % n as u64) as usize;
                    b[i] = next() as u8;
                }
                assert_eq!(
                    eq_ignore_case(&a, &b),
                    a.eq_ignore_ascii_case(&b),
                    "{a:?} {b:?}"
                );
                let lit = b.to_ascii_lowercase();
                assert_eq!(eq_lowercase(&a, &lit), a.eq_ignore_ascii_case(&lit));
            }
        }
        assert!(!eq_ignore_case(b"abc", b"abcd"));
    }
}

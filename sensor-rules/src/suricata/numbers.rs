//! Numeric option values: `5`, `<5`, `>=5`, `!5`, `1<>5`, `1-5`.

use crate::ir::NumCmp;

/// Parses Suricata's numeric comparison syntax (as in `dsize`, `ttl`,
/// `itype`, `bsize`, `urilen`). `a<>b` and `a-b` are exclusive ranges.
///
/// ```
/// use sensor_rules::ir::NumCmp;
/// use sensor_rules::suricata::parse_num_cmp;
/// assert_eq!(parse_num_cmp(">100"), Ok(NumCmp::Gt(100)));
/// assert_eq!(parse_num_cmp("300<>400"), Ok(NumCmp::Between(300, 400)));
/// assert!(parse_num_cmp("abc").is_err());
/// ```
pub fn parse_num_cmp(s: &str) -> Result<NumCmp, String> {
    let s = s.trim();
    let num = |t: &str| -> Result<u64, String> {
        let t = t.trim();
        let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(h) => u64::from_str_radix(h, 16),
            None => t.parse::<u64>(),
        };
        parsed.map_err(|_| format!("`{t}` is not a number"))
    };
    if let Some((lo, hi)) = s.split_once("<>") {
        let (lo, hi) = (num(lo)?, num(hi)?);
        return if lo < hi {
            Ok(NumCmp::Between(lo, hi))
        } else {
            Err(format!("empty range `{s}`"))
        };
    }
    for (prefix, make) in [
        ("<=", NumCmp::Le as fn(u64) -> NumCmp),
        (">=", NumCmp::Ge),
        ("!=", NumCmp::Ne),
        ("<", NumCmp::Lt),
        (">", NumCmp::Gt),
        ("!", NumCmp::Ne),
        ("=", NumCmp::Eq),
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return Ok(make(num(rest)?));
        }
    }
    if let Some((lo, hi)) = s.split_once('-') {
        let (lo, hi) = (num(lo)?, num(hi)?);
        return if lo < hi {
            Ok(NumCmp::Between(lo, hi))
        } else {
            Err(format!("empty range `{s}`"))
        };
    }
    Ok(NumCmp::Eq(num(s)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons() {
        for (input, expected) in [
            ("5", NumCmp::Eq(5)),
            (" <5", NumCmp::Lt(5)),
            ("<=5", NumCmp::Le(5)),
            (">5", NumCmp::Gt(5)),
            (">=5", NumCmp::Ge(5)),
            ("!5", NumCmp::Ne(5)),
            ("!=5", NumCmp::Ne(5)),
            ("1<>5", NumCmp::Between(1, 5)),
            ("1-5", NumCmp::Between(1, 5)),
            ("0x10", NumCmp::Eq(16)),
        ] {
            assert_eq!(parse_num_cmp(input), Ok(expected), "{input}");
        }
        for bad in ["", "x", "5<>1", "<", "1-"] {
            assert!(parse_num_cmp(bad).is_err(), "{bad}");
        }
        assert!(NumCmp::Between(1, 5).eval(4) && !NumCmp::Between(1, 5).eval(5));
    }
}

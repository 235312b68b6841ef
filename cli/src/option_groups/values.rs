//! The value kinds of option-group keys and their parsers, with the
//! spellings Wasmtime accepts: `y`/`n`/`yes`/`no`/`true`/`false` or nothing
//! for booleans, decimal or `0x` hexadecimal numbers (`_` between digits
//! allowed), and `N`, `Ns`, `Nms`, `Nus`, `Nns` for durations (`N` alone is
//! seconds). Sizes also take the binary units of [`parse_size`]
//! (`64KiB`, `1MiB`, `2GiB`), which Wasmtime does not.
//!
//! Every parser returns the problem in words (without the key, which the
//! caller adds) or the value; none panics on any input.

use crate::size::parse_size;
use std::time::Duration;

/// A boolean switch: a bare key means yes.
pub fn parse_bool(value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("y" | "yes" | "true") => Ok(true),
        Some("n" | "no" | "false") => Ok(false),
        Some(other) => Err(format!(
            "`{other}` is not a boolean: use y, n, yes, no, true or false (the key alone means yes)"
        )),
    }
}

/// The text after `=`, which the key must have.
pub fn required(value: Option<&str>) -> Result<&str, String> {
    value.ok_or_else(|| "it needs a value: write KEY=VALUE".to_owned())
}

/// A whole number, decimal or `0x` hexadecimal, as Wasmtime reads counts.
pub fn parse_count(text: &str) -> Result<u64, String> {
    let (digits, radix) = match text.strip_prefix("0x") {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    let well_formed = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && digits.chars().all(|c| c == '_' || c.is_digit(radix));
    if !well_formed {
        return Err(format!(
            "`{text}` is not a whole number (e.g. 1000, 1_000 or 0x3e8)"
        ));
    }
    u64::from_str_radix(&digits.replace('_', ""), radix)
        .map_err(|_| format!("`{text}` is too large (at most {})", u64::MAX))
}

/// A byte count: a whole number as [`parse_count`] reads it, or a number
/// with a binary unit as [`parse_size`] reads it.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    parse_count(text).or_else(|_| {
        parse_size(text).map_err(|_| {
            format!(
                "`{text}` is not a size: use bytes (65536, 0x10000) or a unit (64KiB, 1MiB, 4GiB)"
            )
        })
    })
}

/// Makes a duration of so many units.
type ToDuration = fn(u64) -> Duration;

/// Units a duration may end with, longest first so `ms` is not read as `s`.
const DURATION_UNITS: [(&str, ToDuration); 4] = [
    ("ms", Duration::from_millis),
    ("us", Duration::from_micros),
    ("ns", Duration::from_nanos),
    ("s", Duration::from_secs),
];

/// A duration: decimal digits, then `s`, `ms`, `us` or `ns`, or no unit
/// for seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    let to_duration = if unit.is_empty() {
        Some(Duration::from_secs as ToDuration)
    } else {
        DURATION_UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, make)| *make)
    };
    match (digits.parse::<u64>(), to_duration) {
        (Ok(number), Some(make)) => Ok(make(number)),
        (Err(_), Some(_)) if !digits.is_empty() => Err(format!("`{text}` is too long a duration")),
        _ => Err(format!(
            "`{text}` is not a duration: use whole seconds (10), or a number with s, ms, us or ns (10s, 500ms)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_take_wasmtimes_spellings() {
        for yes in [None, Some("y"), Some("yes"), Some("true")] {
            assert_eq!(parse_bool(yes), Ok(true), "{yes:?}");
        }
        for no in ["n", "no", "false"] {
            assert_eq!(parse_bool(Some(no)), Ok(false), "{no}");
        }
        for bad in ["", "maybe", "Y", "1", "on"] {
            let err = parse_bool(Some(bad)).unwrap_err();
            assert!(err.contains("not a boolean"), "{err}");
        }
    }

    #[test]
    fn a_value_is_required_where_the_kind_needs_one() {
        assert_eq!(required(Some("x")), Ok("x"));
        assert_eq!(required(Some("")), Ok(""));
        assert!(required(None).unwrap_err().contains("KEY=VALUE"));
    }

    #[test]
    fn counts_are_decimal_or_hex_with_separators() {
        assert_eq!(parse_count("0"), Ok(0));
        assert_eq!(parse_count("1000"), Ok(1000));
        assert_eq!(parse_count("1_000_000"), Ok(1_000_000));
        assert_eq!(parse_count("0x10000"), Ok(65536));
        assert_eq!(parse_count("0xff_ff"), Ok(65535));
        assert_eq!(parse_count("18446744073709551615"), Ok(u64::MAX));
        for bad in ["", "0x", "-1", "1.5", "1k", "_1", "1_", "0xg", "ten", " 1"] {
            assert!(parse_count(bad).is_err(), "{bad}");
        }
        assert!(
            parse_count("18446744073709551616")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn sizes_are_counts_or_sizes_with_units() {
        assert_eq!(parse_bytes("65536"), Ok(65536));
        assert_eq!(parse_bytes("0x10000"), Ok(65536));
        assert_eq!(parse_bytes("64KiB"), Ok(64 << 10));
        assert_eq!(parse_bytes("4GiB"), Ok(4 << 30));
        assert_eq!(parse_bytes("16m"), Ok(16 << 20));
        for bad in ["", "lots", "1.5GiB", "-1", "12 apples"] {
            let err = parse_bytes(bad).unwrap_err();
            assert!(err.contains("not a size"), "{bad}: {err}");
        }
    }

    #[test]
    fn durations_take_seconds_or_a_unit() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(parse_duration("5ns"), Ok(Duration::from_nanos(5)));
        for bad in ["", "s", "1.5s", "1m", "1 s", "1S", "-1s", "10sec", "0x10"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("not a duration"), "{bad}: {err}");
        }
        let err = parse_duration("99999999999999999999s").unwrap_err();
        assert!(err.contains("too long"), "{err}");
    }
}

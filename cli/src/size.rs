//! Byte sizes on the command line: `65536`, `64KiB`, `1MiB`, `2GiB`.

/// Binary units accepted after a number, case-insensitively.
const UNITS: [(&str, u32); 9] = [
    ("kib", 10),
    ("mib", 20),
    ("gib", 30),
    ("tib", 40),
    ("k", 10),
    ("m", 20),
    ("g", 30),
    ("t", 40),
    ("b", 0),
];

/// Parses a byte size: a whole number optionally followed by a binary unit
/// (`B`, `K`/`KiB`, `M`/`MiB`, `G`/`GiB`, `T`/`TiB`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(digits_end);
    if digits.is_empty() {
        return Err(format!(
            "`{text}` is not a size: expected a number of bytes such as 65536, 64KiB, 1MiB or 2GiB"
        ));
    }
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is too large a size"))?;
    let unit = unit.trim().to_ascii_lowercase();
    let shift = if unit.is_empty() {
        0
    } else {
        UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, shift)| *shift)
            .ok_or_else(|| format!("`{text}` has an unknown unit: use B, KiB, MiB, GiB or TiB"))?
    };
    number
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("`{text}` is too large a size"))
}

/// Formats a byte count for people: `1.5 MiB (1572864 bytes)`.
pub fn format_size(bytes: u64) -> String {
    const NAMES: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = None;
    for name in NAMES {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = Some(name);
    }
    match unit {
        Some(name) => format!("{value:.1} {name} ({bytes} bytes)"),
        None => format!("{bytes} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_binary_units() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size("1 TiB"), Ok(1 << 40));
        assert_eq!(parse_size("10B"), Ok(10));
    }

    #[test]
    fn rejects_bad_sizes() {
        for bad in [
            "",
            "MiB",
            "-1",
            "1.5MiB",
            "12 apples",
            "99999999999999999999",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        let overflow = parse_size("17179869184GiB").unwrap_err();
        assert!(overflow.contains("too large"), "{overflow}");
    }

    #[test]
    fn formats_sizes() {
        assert_eq!(format_size(512), "512 bytes");
        assert_eq!(format_size(1536 * 1024), "1.5 MiB (1572864 bytes)");
    }
}

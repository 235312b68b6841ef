//! `--invoke`: turning command-line words into Wasm arguments, and results
//! into the lines Wasmtime prints.

use anyhow::{Result, anyhow, bail};
use remap::{Val, ValType};
use std::num::IntErrorKind;

/// Parses `word` as a value of type `ty`. Integers are signed decimal and
/// must fit the type, as in Wasmtime (`4294967295` is no i32: `-1` is);
/// floats accept `inf` and `nan`.
pub fn parse_argument(word: &str, ty: ValType) -> Result<Val> {
    let value = match ty {
        // In range for i32, so the cast is exact.
        ValType::I32 => Val::I32(parse_integer(word, ty, i32::MIN.into(), i32::MAX.into())? as i32),
        ValType::I64 => Val::I64(parse_integer(word, ty, i64::MIN, i64::MAX)?),
        ValType::F32 => match word.parse::<f32>() {
            Ok(value) => Val::F32(value.to_bits()),
            Err(_) => bail!("`{word}` is not a valid {ty}"),
        },
        ValType::F64 => match word.parse::<f64>() {
            Ok(value) => Val::F64(value.to_bits()),
            Err(_) => bail!("`{word}` is not a valid {ty}"),
        },
        ValType::V128 | ValType::Ref(_) => {
            bail!("parameters of type {ty} cannot be given on the command line")
        }
    };
    Ok(value)
}

/// Parses a signed decimal integer in `min..=max`: a number outside the
/// range is refused, never wrapped into it.
fn parse_integer(word: &str, ty: ValType, min: i64, max: i64) -> Result<i64> {
    let out_of_range = || anyhow!("`{word}` is out of range for {ty} ({min} to {max})");
    match word.parse::<i64>() {
        Ok(value) if (min..=max).contains(&value) => Ok(value),
        Ok(_) => Err(out_of_range()),
        Err(error)
            if matches!(
                error.kind(),
                IntErrorKind::PosOverflow | IntErrorKind::NegOverflow
            ) =>
        {
            Err(out_of_range())
        }
        Err(_) => bail!("`{word}` is not a valid {ty}"),
    }
}

/// Formats a result the way Wasmtime prints it: integers in decimal, floats
/// as Rust prints them, vectors in hex, references by kind.
pub fn format_result(value: &Val) -> String {
    match value {
        Val::I32(value) => value.to_string(),
        Val::I64(value) => value.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        Val::V128(bits) => format!("{bits:#034x}"),
        Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None) => {
            "null".to_owned()
        }
        Val::FuncRef(Some(_)) => "<funcref>".to_owned(),
        Val::ExternRef(Some(_)) => "<externref>".to_owned(),
        Val::ExnRef(Some(_)) => "<exnref>".to_owned(),
        Val::AnyRef(Some(_)) => "<anyref>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_numeric_type() {
        assert_eq!(parse_argument("-7", ValType::I32).unwrap().i32(), Some(-7));
        assert_eq!(
            parse_argument("2147483647", ValType::I32).unwrap().i32(),
            Some(i32::MAX)
        );
        assert_eq!(
            parse_argument("-2147483648", ValType::I32).unwrap().i32(),
            Some(i32::MIN)
        );
        assert_eq!(
            parse_argument("-9000000000", ValType::I64).unwrap().i64(),
            Some(-9_000_000_000)
        );
        assert_eq!(
            parse_argument("1.5", ValType::F32).unwrap().f32(),
            Some(1.5)
        );
        assert_eq!(
            parse_argument("-0.25", ValType::F64).unwrap().f64(),
            Some(-0.25)
        );
        assert!(
            parse_argument("inf", ValType::F64)
                .unwrap()
                .f64()
                .unwrap()
                .is_infinite()
        );
    }

    #[test]
    fn an_i64_parameter_takes_an_address_past_4_gib() {
        assert_eq!(
            parse_argument("4294967296", ValType::I64).unwrap().i64(),
            Some(1 << 32)
        );
        assert_eq!(
            parse_argument("-9223372036854775808", ValType::I64)
                .unwrap()
                .i64(),
            Some(i64::MIN)
        );
    }

    #[test]
    fn integers_outside_the_signed_range_are_refused_not_wrapped() {
        for (word, ty, range) in [
            ("4294967295", ValType::I32, "-2147483648 to 2147483647"),
            ("2147483648", ValType::I32, "-2147483648 to 2147483647"),
            ("-2147483649", ValType::I32, "-2147483648 to 2147483647"),
            (
                "18446744073709551615",
                ValType::I64,
                "-9223372036854775808 to 9223372036854775807",
            ),
            (
                "-9223372036854775809",
                ValType::I64,
                "-9223372036854775808 to 9223372036854775807",
            ),
        ] {
            let err = parse_argument(word, ty).unwrap_err().to_string();
            assert_eq!(err, format!("`{word}` is out of range for {ty} ({range})"));
        }
    }

    #[test]
    fn rejects_words_of_the_wrong_type() {
        let err = parse_argument("1.5", ValType::I32).unwrap_err().to_string();
        assert_eq!(err, "`1.5` is not a valid i32");
        assert!(parse_argument("4294967296", ValType::I32).is_err());
        assert!(parse_argument("x", ValType::F32).is_err());
        let err = parse_argument("0", ValType::FUNCREF)
            .unwrap_err()
            .to_string();
        assert!(err.contains("funcref"), "{err}");
    }

    #[test]
    fn formats_results_like_wasmtime() {
        assert_eq!(format_result(&Val::I32(-1)), "-1");
        assert_eq!(format_result(&Val::I64(1 << 40)), "1099511627776");
        assert_eq!(format_result(&Val::F32(2.5f32.to_bits())), "2.5");
        assert_eq!(format_result(&Val::F64(0.1f64.to_bits())), "0.1");
        assert_eq!(
            format_result(&Val::V128(1)),
            "0x00000000000000000000000000000001"
        );
        assert_eq!(format_result(&Val::FuncRef(None)), "null");
    }
}

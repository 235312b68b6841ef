//! `--invoke`: turning command-line words into Wasm arguments, and results
//! into the lines Wasmtime prints.

use anyhow::{Result, bail};
use remap::{Val, ValType};

/// Parses `word` as a value of type `ty`. Integers may be written signed or
/// unsigned (`4294967295` is the i32 `-1`); floats accept `inf` and `nan`.
pub fn parse_argument(word: &str, ty: ValType) -> Result<Val> {
    let value = match ty {
        ValType::I32 => word
            .parse::<i32>()
            .ok()
            .or_else(|| word.parse::<u32>().ok().map(|bits| bits as i32))
            .map(Val::I32),
        ValType::I64 => word
            .parse::<i64>()
            .ok()
            .or_else(|| word.parse::<u64>().ok().map(|bits| bits as i64))
            .map(Val::I64),
        ValType::F32 => word.parse::<f32>().ok().map(|v| Val::F32(v.to_bits())),
        ValType::F64 => word.parse::<f64>().ok().map(|v| Val::F64(v.to_bits())),
        ValType::V128 | ValType::Ref(_) => {
            bail!("parameters of type {ty} cannot be given on the command line")
        }
    };
    match value {
        Some(value) => Ok(value),
        None => bail!("`{word}` is not a valid {ty}"),
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
        Val::FuncRef(None) | Val::ExternRef(None) => "null".to_owned(),
        Val::FuncRef(Some(_)) => "<funcref>".to_owned(),
        Val::ExternRef(Some(_)) => "<externref>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_numeric_type() {
        assert_eq!(parse_argument("-7", ValType::I32).unwrap().i32(), Some(-7));
        assert_eq!(
            parse_argument("4294967295", ValType::I32).unwrap().i32(),
            Some(-1)
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
            parse_argument("18446744073709551615", ValType::I64)
                .unwrap()
                .i64(),
            Some(-1)
        );
        assert!(parse_argument("18446744073709551616", ValType::I64).is_err());
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

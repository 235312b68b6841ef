//! Conversions between the script's constants and Remap values, and the
//! check of a returned value against an expected result.

use crate::patterns::{
    describe_f32, describe_f32_bits, describe_f64, describe_f64_bits, describe_v128, f32_matches,
    f64_matches, v128_matches,
};
use anyhow::{Result, bail};
use remap::{AnyRef, ExternRef, Store, Val};
use wast::WastArg;
use wast::core::{AbstractHeapType, HeapType, WastArgCore, WastRetCore};

/// The value an `invoke` argument stands for. `ref.extern N` becomes a host
/// reference holding `N`, so results can be compared with `ref.extern N`.
pub fn argument_value<T>(store: &mut Store<T>, arg: &WastArg<'_>) -> Result<Val> {
    let WastArg::Core(arg) = arg else {
        bail!("component-model arguments are not supported");
    };
    Ok(match arg {
        WastArgCore::I32(value) => Val::I32(*value),
        WastArgCore::I64(value) => Val::I64(*value),
        WastArgCore::F32(value) => Val::F32(value.bits),
        WastArgCore::F64(value) => Val::F64(value.bits),
        WastArgCore::V128(value) => Val::V128(u128::from_le_bytes(value.to_le_bytes())),
        WastArgCore::RefNull(heap) => match null_kind(Some(heap)) {
            Some(NullKind::Func) => Val::FuncRef(None),
            Some(NullKind::Extern) => Val::ExternRef(None),
            Some(NullKind::Exn) => Val::ExnRef(None),
            Some(NullKind::Any) => Val::AnyRef(None),
            None => bail!("unsupported null reference type {heap:?}"),
        },
        WastArgCore::RefExtern(value) => Val::ExternRef(Some(ExternRef::new(store, *value))),
        // A host reference of the internal hierarchy: an internalized
        // extern reference holding the number, compared by it.
        WastArgCore::RefHost(value) => {
            let host = ExternRef::new(&mut *store, *value);
            Val::AnyRef(Some(AnyRef::convert_extern(store, &host)?))
        }
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum NullKind {
    Func,
    Extern,
    Exn,
    Any,
}

/// Which null a `ref.null` of this heap type is; `None` for a type Remap has
/// no values of. A concrete type's hierarchy is unknown here: its null is
/// that of the function hierarchy, which the runtime accepts for every
/// concrete type (null is null).
fn null_kind(heap: Option<&HeapType<'_>>) -> Option<NullKind> {
    let Some(heap) = heap else {
        return Some(NullKind::Any);
    };
    match heap {
        HeapType::Abstract { ty, .. } => match ty {
            AbstractHeapType::Func | AbstractHeapType::NoFunc => Some(NullKind::Func),
            AbstractHeapType::Extern | AbstractHeapType::NoExtern => Some(NullKind::Extern),
            AbstractHeapType::Exn | AbstractHeapType::NoExn => Some(NullKind::Exn),
            AbstractHeapType::Any
            | AbstractHeapType::Eq
            | AbstractHeapType::I31
            | AbstractHeapType::Struct
            | AbstractHeapType::Array
            | AbstractHeapType::None => Some(NullKind::Any),
            _ => None,
        },
        HeapType::Concrete(_) | HeapType::Exact(_) => Some(NullKind::Func),
    }
}

/// Whether `value` satisfies the expected result `expected`.
pub fn result_matches<T>(store: &Store<T>, expected: &WastRetCore<'_>, value: &Val) -> bool {
    match (expected, value) {
        (WastRetCore::Either(choices), _) => choices
            .iter()
            .any(|choice| result_matches(store, choice, value)),
        (WastRetCore::I32(expected), Val::I32(got)) => expected == got,
        (WastRetCore::I64(expected), Val::I64(got)) => expected == got,
        (WastRetCore::F32(pattern), Val::F32(bits)) => f32_matches(pattern, *bits),
        (WastRetCore::F64(pattern), Val::F64(bits)) => f64_matches(pattern, *bits),
        (WastRetCore::V128(pattern), Val::V128(bits)) => v128_matches(pattern, *bits),
        (WastRetCore::RefNull(heap), Val::FuncRef(None)) => {
            matches!(
                null_kind(heap.as_ref()),
                Some(NullKind::Func | NullKind::Any)
            )
        }
        (WastRetCore::RefNull(heap), Val::ExternRef(None)) => {
            matches!(
                null_kind(heap.as_ref()),
                Some(NullKind::Extern | NullKind::Any)
            )
        }
        (WastRetCore::RefNull(heap), Val::AnyRef(None)) => {
            matches!(null_kind(heap.as_ref()), Some(NullKind::Any))
                || matches!(heap, Some(HeapType::Concrete(_) | HeapType::Exact(_)))
        }
        (WastRetCore::RefNull(heap), Val::ExnRef(None)) => {
            matches!(
                null_kind(heap.as_ref()),
                Some(NullKind::Exn | NullKind::Any)
            )
        }
        (WastRetCore::RefFunc(_), Val::FuncRef(Some(_))) => true,
        (WastRetCore::RefExtern(None), Val::ExternRef(Some(_))) => true,
        (WastRetCore::RefExtern(Some(expected)), Val::ExternRef(Some(reference))) => reference
            .data(store)
            .and_then(|data| data.downcast_ref::<u32>())
            .is_some_and(|got| got == expected),
        (WastRetCore::RefHost(expected), Val::AnyRef(Some(reference))) => reference
            .as_extern(store)
            .ok()
            .flatten()
            .and_then(|host| host.data(store))
            .and_then(|data| data.downcast_ref::<u32>())
            .is_some_and(|got| got == expected),
        (WastRetCore::RefAny, Val::AnyRef(Some(_))) => true,
        (WastRetCore::RefEq, Val::AnyRef(Some(reference))) => {
            reference.is_eqref(store).unwrap_or(false)
        }
        (WastRetCore::RefI31, Val::AnyRef(Some(reference))) => {
            reference.is_i31(store).unwrap_or(false)
        }
        (WastRetCore::RefStruct, Val::AnyRef(Some(reference))) => {
            reference.is_struct(store).unwrap_or(false)
        }
        (WastRetCore::RefArray, Val::AnyRef(Some(reference))) => {
            reference.is_array(store).unwrap_or(false)
        }
        _ => false,
    }
}

/// Describes an expected result for the report.
pub fn describe_expected(expected: &WastRetCore<'_>) -> String {
    match expected {
        WastRetCore::I32(value) => format!("i32:{value}"),
        WastRetCore::I64(value) => format!("i64:{value}"),
        WastRetCore::F32(pattern) => describe_f32(pattern),
        WastRetCore::F64(pattern) => describe_f64(pattern),
        WastRetCore::V128(pattern) => describe_v128(pattern),
        WastRetCore::RefNull(_) => "ref.null".to_owned(),
        WastRetCore::RefExtern(Some(value)) => format!("ref.extern {value}"),
        WastRetCore::RefExtern(None) => "ref.extern".to_owned(),
        WastRetCore::RefHost(value) => format!("ref.host {value}"),
        WastRetCore::RefFunc(_) => "ref.func".to_owned(),
        WastRetCore::RefAny => "ref.any".to_owned(),
        WastRetCore::RefEq => "ref.eq".to_owned(),
        WastRetCore::RefArray => "ref.array".to_owned(),
        WastRetCore::RefStruct => "ref.struct".to_owned(),
        WastRetCore::RefI31 => "ref.i31".to_owned(),
        WastRetCore::RefI31Shared => "ref.i31_shared".to_owned(),
        WastRetCore::Either(choices) => {
            let choices: Vec<_> = choices.iter().map(describe_expected).collect();
            format!("either({})", choices.join(" | "))
        }
    }
}

/// Describes a value for the report.
pub fn describe_value<T>(store: &Store<T>, value: &Val) -> String {
    match value {
        Val::I32(value) => format!("i32:{value}"),
        Val::I64(value) => format!("i64:{value}"),
        Val::F32(bits) => describe_f32_bits(*bits),
        Val::F64(bits) => describe_f64_bits(*bits),
        Val::V128(bits) => format!("v128:0x{bits:032x}"),
        Val::FuncRef(None) => "ref.null func".to_owned(),
        Val::FuncRef(Some(_)) => "ref.func".to_owned(),
        Val::ExternRef(None) => "ref.null extern".to_owned(),
        Val::ExternRef(Some(reference)) => {
            match reference
                .data(store)
                .and_then(|data| data.downcast_ref::<u32>())
            {
                Some(value) => format!("ref.extern {value}"),
                None => "ref.extern (host value)".to_owned(),
            }
        }
        Val::AnyRef(None) => "ref.null any".to_owned(),
        Val::AnyRef(Some(reference)) => describe_any(store, reference),
        Val::ExnRef(None) => "ref.null exn".to_owned(),
        Val::ExnRef(Some(_)) => "ref.exn".to_owned(),
    }
}

/// Describes a non-null internal reference by what it refers to.
fn describe_any<T>(store: &Store<T>, reference: &AnyRef) -> String {
    if let Ok(Some(value)) = reference.as_i31(store) {
        format!("ref.i31 {}", value.get_i32())
    } else if reference.is_struct(store).unwrap_or(false) {
        "ref.struct".to_owned()
    } else if reference.is_array(store).unwrap_or(false) {
        "ref.array".to_owned()
    } else {
        "ref.host".to_owned()
    }
}

/// Describes a list of descriptions as the report shows results: `[a, b]`.
pub fn describe_list(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    format!("[{}]", items.join(", "))
}

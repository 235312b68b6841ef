//! Issue 19: in the arena layout, where nothing past a memory's bound
//! faults (its slot's neighbours are other memories), every access width
//! at every static offset near the bound is in bounds up to its last byte
//! and traps with MemoryOutOfBounds one byte further, with and without
//! Spectre mitigations.

use remap::{Config, Engine, Instance, MemoryStyle, Module, Store, Trap, TrapKind};

const PAGE: i64 = 65536;
/// Access widths in bytes: 8-, 16-, 32-, 64- and 128-bit loads and stores.
const WIDTHS: [i64; 5] = [1, 2, 4, 8, 16];

/// Static offsets near the one-page bound for an access of `width` bytes.
fn offsets(width: i64) -> [i64; 5] {
    [0, 1, PAGE - width - 1, PAGE - width, PAGE]
}

fn load(width: i64, offset: i64) -> String {
    let access = match width {
        1 => format!("(i64.load8_u offset={offset} (local.get 0))"),
        2 => format!("(i64.load16_u offset={offset} (local.get 0))"),
        4 => format!("(i64.load32_u offset={offset} (local.get 0))"),
        8 => format!("(i64.load offset={offset} (local.get 0))"),
        _ => format!("(i64x2.extract_lane 0 (v128.load offset={offset} (local.get 0)))"),
    };
    format!("(func (export \"load{width}_{offset}\") (param i32) (result i64) {access})")
}

fn store(width: i64, offset: i64) -> String {
    let access = match width {
        1 => format!("(i64.store8 offset={offset} (local.get 0) (i64.const 1))"),
        2 => format!("(i64.store16 offset={offset} (local.get 0) (i64.const 1))"),
        4 => format!("(i64.store32 offset={offset} (local.get 0) (i64.const 1))"),
        8 => format!("(i64.store offset={offset} (local.get 0) (i64.const 1))"),
        _ => format!("(v128.store offset={offset} (local.get 0) (i64x2.splat (i64.const 1)))"),
    };
    format!("(func (export \"store{width}_{offset}\") (param i32) {access})")
}

fn module_text() -> String {
    let mut functions = Vec::new();
    for width in WIDTHS {
        for offset in offsets(width) {
            functions.push(load(width, offset));
            functions.push(store(width, offset));
        }
    }
    format!("(module (memory 1) {})", functions.join("\n"))
}

fn assert_out_of_bounds<R: std::fmt::Debug>(result: anyhow::Result<R>, what: &str) {
    let error = result.expect_err(what);
    let trap = error
        .downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("{what}: not a trap: {error:#}"));
    assert_eq!(trap.kind(), TrapKind::MemoryOutOfBounds, "{what}: {trap}");
}

fn accesses_near_the_bound(spectre_mitigations: bool) {
    let mut config = Config::new();
    config
        .memory_style(MemoryStyle::Arena)
        .spectre_mitigations(spectre_mitigations);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, module_text()).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    assert_eq!(engine.memory_arena_stats().unwrap().slots_in_use, 1);
    for width in WIDTHS {
        for offset in offsets(width) {
            let load = instance
                .get_typed_func::<i32, i64>(&mut store, &format!("load{width}_{offset}"))
                .unwrap();
            let store_func = instance
                .get_typed_func::<i32, ()>(&mut store, &format!("store{width}_{offset}"))
                .unwrap();
            let last = PAGE - width - offset;
            let what = |index: i64| format!("width {width}, offset {offset}, index {index}");
            if last >= 0 {
                store_func.call(&mut store, last as i32).unwrap();
                assert_eq!(
                    load.call(&mut store, last as i32).unwrap(),
                    1,
                    "{}",
                    what(last)
                );
            }
            // Negative indices stand for the largest (`-1` is `u32::MAX`).
            for index in [last + 1, last + 2, PAGE, -1] {
                assert_out_of_bounds(load.call(&mut store, index as i32), &what(index));
                assert_out_of_bounds(store_func.call(&mut store, index as i32), &what(index));
            }
        }
    }
}

#[test]
fn arena_accesses_trap_past_the_bound_with_spectre_mitigations() {
    accesses_near_the_bound(true);
}

#[test]
fn arena_accesses_trap_past_the_bound_without_spectre_mitigations() {
    accesses_near_the_bound(false);
}

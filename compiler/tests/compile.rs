//! Compile-only tests: trap tables, feature rejection, validation errors,
//! module metadata and linking.

use remap_compiler::module_info::{
    ConstOp, DataSegmentKind, ElementItems, ElementSegmentKind, EntityKind, ImportKind,
};
use remap_compiler::types::Mutability;
use remap_compiler::{
    CompileError, CompiledModule, Compiler, FuncType, MemoryStyle, ModuleInfo, RefType, TrapKind,
    Tunables, ValType, compile_entry_trampoline, compile_host_trampoline, compile_module,
};

/// Tunables forcing `style`, with the IR verifier on.
fn verified(style: MemoryStyle) -> Tunables {
    Tunables {
        memory_style: Some(style),
        verify_ir: true,
        ..Tunables::default()
    }
}

/// As [`verified`], with explicit bounds checks that branch to a trap
/// (no Spectre mitigations), so each check is a trap-table entry.
fn trapping_checks(style: MemoryStyle) -> Tunables {
    Tunables {
        spectre_mitigations: false,
        ..verified(style)
    }
}

const STATIC: MemoryStyle = MemoryStyle::Static;
const DYNAMIC: MemoryStyle = MemoryStyle::Dynamic;

fn compile(wat: &str, style: MemoryStyle) -> CompiledModule {
    compile_with(wat, &verified(style))
}

fn compile_with(wat: &str, tunables: &Tunables) -> CompiledModule {
    let wasm = wat::parse_str(wat).expect("valid wat");
    compile_module(&wasm, tunables).expect("compiles")
}

fn trap_kinds_in(module: &CompiledModule, func_index: u32) -> Vec<TrapKind> {
    let loc = module.function(func_index).expect("defined function");
    module
        .trap_table
        .iter()
        .filter(|record| loc.contains(record.offset))
        .map(|record| record.kind)
        .collect()
}

#[test]
fn trap_table_records_each_kind_inside_its_function() {
    let module = compile(
        r#"(module
            (type $t (func (result i32)))
            (table 1 funcref)
            (memory 1)
            (func $unreachable unreachable)
            (func $div (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
            (func $indirect (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
            (func $load (param i32) (result i32) (i32.load (local.get 0)))
            (func $trunc (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
            (func $table (param i32) (result funcref) (table.get 0 (local.get 0)))
        )"#,
        STATIC,
    );
    assert!(trap_kinds_in(&module, 0).contains(&TrapKind::UnreachableCodeReached));
    let div = trap_kinds_in(&module, 1);
    assert!(div.contains(&TrapKind::IntegerDivisionByZero), "{div:?}");
    assert!(div.contains(&TrapKind::IntegerOverflow), "{div:?}");
    let indirect = trap_kinds_in(&module, 2);
    for kind in [
        TrapKind::IndirectCallOutOfBounds,
        TrapKind::IndirectCallToNull,
        TrapKind::BadSignature,
    ] {
        assert!(
            indirect.contains(&kind),
            "{kind:?} missing from {indirect:?}"
        );
    }
    assert!(trap_kinds_in(&module, 3).contains(&TrapKind::MemoryOutOfBounds));
    let trunc = trap_kinds_in(&module, 4);
    assert!(
        trunc.contains(&TrapKind::BadConversionToInteger),
        "{trunc:?}"
    );
    assert!(trunc.contains(&TrapKind::IntegerOverflow), "{trunc:?}");
    assert!(trap_kinds_in(&module, 5).contains(&TrapKind::TableOutOfBounds));
    // Functions that call have a frame and check the stack limit first.
    assert!(trap_kinds_in(&module, 2).contains(&TrapKind::StackOverflow));
    assert!(
        module
            .trap_table
            .windows(2)
            .all(|w| w[0].offset < w[1].offset)
    );
    let first = module.trap_table[0];
    assert_eq!(module.trap_at(first.offset), Some(first.kind));
    assert_eq!(module.trap_at(u32::MAX), None);
}

#[test]
fn static_style_elides_bounds_checks_and_dynamic_style_does_not() {
    let wat = r#"(module (memory 1)
        (func (param i32) (result i32) (i32.load offset=16 (local.get 0))))"#;
    let static_module = compile_with(wat, &trapping_checks(STATIC));
    let dynamic_module = compile_with(wat, &trapping_checks(DYNAMIC));
    let count = |module: &CompiledModule| {
        trap_kinds_in(module, 0)
            .iter()
            .filter(|kind| **kind == TrapKind::MemoryOutOfBounds)
            .count()
    };
    // Static: only the load itself can fault. Dynamic: an explicit check too.
    assert_eq!(count(&static_module), 1);
    assert!(count(&dynamic_module) >= 2);
}

#[test]
fn static_style_checks_offsets_beyond_the_guard() {
    let small_guard = Tunables {
        memory_guard_size: Some(4096),
        ..trapping_checks(STATIC)
    };
    let near = compile_with(
        r#"(module (memory 1) (func (param i32) (result i32) (i32.load offset=8 (local.get 0))))"#,
        &small_guard,
    );
    let far = compile_with(
        r#"(module (memory 1) (func (param i32) (result i32) (i32.load offset=65536 (local.get 0))))"#,
        &small_guard,
    );
    let count = |module: &CompiledModule| {
        trap_kinds_in(module, 0)
            .iter()
            .filter(|kind| **kind == TrapKind::MemoryOutOfBounds)
            .count()
    };
    assert_eq!(count(&near), 1);
    assert!(count(&far) >= 2);
}

#[test]
fn function_lookup_by_code_offset() {
    let module = compile(
        r#"(module (import "env" "f" (func)) (func $a) (func $b (call $a)))"#,
        STATIC,
    );
    assert_eq!(module.functions.len(), 2);
    let a = module.function(1).unwrap();
    let b = module.function(2).unwrap();
    assert_eq!(module.function(0), None);
    assert_eq!(module.function_at(a.offset), Some(1));
    assert_eq!(module.function_at(b.offset + b.len - 1), Some(2));
    assert_eq!(module.function_at(u32::MAX), None);
    assert_eq!(a.offset % 16, 0);
    assert_eq!(b.offset % 16, 0);
    assert!((b.offset + b.len) as usize <= module.code.len());
}

#[test]
fn trampolines_exist_for_every_type() {
    let module = compile(
        r#"(module (type (func)) (type (func (param i32 i64) (result f32 f64 i32))) (func (type 1) unreachable))"#,
        STATIC,
    );
    assert_eq!(module.entry_trampolines.len(), 2);
    assert_eq!(module.host_trampolines.len(), 2);
    for loc in module
        .entry_trampolines
        .iter()
        .chain(&module.host_trampolines)
    {
        let loc = loc.expect("every type is a function type");
        assert!(loc.len > 0);
        assert!((loc.offset + loc.len) as usize <= module.code.len());
    }
}

#[test]
fn standalone_trampolines_compile() {
    let ty = FuncType::new(
        [ValType::I32, ValType::F64, ValType::EXTERNREF],
        [ValType::I64, ValType::FUNCREF],
    );
    assert!(!compile_entry_trampoline(&ty).unwrap().code.is_empty());
    assert!(!compile_host_trampoline(&ty).unwrap().code.is_empty());
    assert_eq!(ty.value_slots(), 3);
}

#[test]
fn compilation_is_deterministic_across_parallel_runs() {
    let mut wat = String::from("(module (memory 1)");
    for index in 0..200 {
        wat.push_str(&format!(
            "(func (param i32) (result i32) (i32.add (i32.load (local.get 0)) (i32.const {index})))"
        ));
    }
    wat.push(')');
    let first = compile(&wat, DYNAMIC);
    let second = compile(&wat, DYNAMIC);
    assert_eq!(first.functions.len(), 200);
    assert_eq!(first.code, second.code);
    assert_eq!(first.trap_table, second.trap_table);
}

fn unsupported_feature(wat: &str) -> String {
    let wasm = wat::parse_str(wat).expect("valid wat");
    match compile_module(&wasm, &Tunables::default()) {
        Err(CompileError::Unsupported { feature, .. }) => feature,
        other => panic!("expected an unsupported-feature error, got {other:?}"),
    }
}

#[test]
fn memory64_table64_and_custom_page_sizes_compile_by_default() {
    let compiled = compile(
        r#"(module (memory i64 1) (memory 1 (pagesize 1)) (table i64 1 funcref)
             (func (param i64) (result i32) (i32.load8_u 1 (i32.wrap_i64 (local.get 0)))))"#,
        MemoryStyle::Static,
    );
    assert!(compiled.info.memories[0].is_64());
    assert_eq!(compiled.info.memories[1].page_size_log2(), 0);
    assert!(compiled.info.tables[0].ty.is_64());
}

#[test]
fn unsupported_features_are_named() {
    assert_eq!(
        unsupported_feature("(module (func (drop (v128.const i64x2 0 0))))"),
        "simd"
    );
    let without_exceptions = Compiler::new(Tunables::default())
        .unwrap()
        .with_exceptions(false)
        .compile_module(&wat::parse_str("(module (tag))").unwrap());
    assert!(
        matches!(&without_exceptions, Err(CompileError::Unsupported { feature, .. }) if feature == "exceptions"),
        "{without_exceptions:?}"
    );
    let error = compile_module(
        &wat::parse_str("(module (func (drop (v128.const i64x2 0 0))))").unwrap(),
        &Tunables::default(),
    )
    .unwrap_err();
    assert!(error.to_string().contains("simd"), "{error}");
    assert!(error.offset().is_some());
}

#[test]
fn invalid_modules_report_the_offset() {
    let wasm = wat::parse_str("(module (func (result i32) (i64.const 0)))").unwrap();
    let error = compile_module(&wasm, &Tunables::default()).unwrap_err();
    let CompileError::Invalid { offset, message } = &error else {
        panic!("expected a validation error, got {error:?}");
    };
    assert!(message.contains("type mismatch"), "{message}");
    // The error points into the code section, past the header and the types.
    assert!(*offset > 8 && *offset < wasm.len(), "{offset}");

    let error = compile_module(b"\0asm\x02\0\0\0", &Tunables::default()).unwrap_err();
    assert!(
        matches!(error, CompileError::Invalid { offset: 4, .. }),
        "{error:?}"
    );
    let error = compile_module(b"not wasm", &Tunables::default()).unwrap_err();
    assert!(
        matches!(error, CompileError::Invalid { offset: 0, .. }),
        "{error:?}"
    );
    let error = compile_module(b"", &Tunables::default()).unwrap_err();
    assert!(matches!(error, CompileError::Invalid { .. }), "{error:?}");
}

#[test]
fn an_invalid_function_among_many_is_reported_without_panicking() {
    let mut wat = String::from("(module");
    for _ in 0..50 {
        wat.push_str("(func (result i32) (i32.const 1))");
    }
    wat.push_str("(func (result i32) (f32.const 1))");
    wat.push(')');
    let wasm = wat::parse_str(&wat).unwrap();
    for _ in 0..3 {
        assert!(matches!(
            compile_module(&wasm, &Tunables::default()),
            Err(CompileError::Invalid { .. })
        ));
    }
}

#[test]
fn module_info_describes_the_module() {
    let wasm = wat::parse_str(
        r#"(module $named
            (import "env" "f" (func $imported (param i32)))
            (import "env" "g" (global $g i32))
            (import "env" "m" (memory 1 2))
            (import "env" "t" (table 3 funcref))
            (type (func (result i32 i64)))
            (global $h (mut i64) (i64.add (i64.const 1) (i64.const 2)))
            (table $t2 5 10 externref)
            (func $local (export "run") (result i32) (global.get $g))
            (elem (i32.const 0) func $local $imported)
            (elem funcref (ref.null func) (ref.func $local))
            (elem declare func $local)
            (data (i32.const 8) "hi")
            (data "passive")
            (start $local2)
            (func $local2)
            (export "mem" (memory 0))
        )"#,
    )
    .unwrap();
    let info = ModuleInfo::from_wasm(&wasm, remap_compiler::supported_features()).unwrap();
    assert_eq!(info.num_imported_functions, 1);
    assert_eq!(info.num_imported_globals, 1);
    assert_eq!(info.num_imported_memories, 1);
    assert_eq!(info.num_imported_tables, 1);
    assert_eq!(info.imports.len(), 4);
    assert_eq!(info.imports[0].module, "env");
    assert!(
        matches!(info.imports[2].kind, ImportKind::Memory(m) if m.minimum() == 1 && m.maximum() == Some(2))
    );
    assert_eq!(info.functions.len(), 3);
    assert_eq!(info.func_type(1).unwrap().results(), [ValType::I32]);
    assert_eq!(info.tables.len(), 2);
    assert_eq!(*info.tables[1].ty.element(), RefType::EXTERNREF);
    assert_eq!(info.tables[1].ty.maximum(), Some(10));
    assert_eq!(
        info.globals[1].init.as_ref().unwrap().ops,
        vec![ConstOp::I64Const(1), ConstOp::I64Const(2), ConstOp::I64Add]
    );
    assert_eq!(info.globals[1].ty.mutability(), Mutability::Var);
    assert_eq!(info.export("run").unwrap().kind, EntityKind::Function);
    assert_eq!(info.export("mem").unwrap().kind, EntityKind::Memory);
    assert_eq!(info.elements.len(), 3);
    assert!(matches!(
        info.elements[0].kind,
        ElementSegmentKind::Active { table: 0, .. }
    ));
    assert_eq!(info.elements[0].items, ElementItems::Functions(vec![1, 0]));
    assert!(matches!(info.elements[1].kind, ElementSegmentKind::Passive));
    assert_eq!(info.elements[1].items.len(), 2);
    assert!(matches!(
        info.elements[2].kind,
        ElementSegmentKind::Declared
    ));
    assert!(matches!(
        info.data[0].kind,
        DataSegmentKind::Active { memory: 0, .. }
    ));
    assert_eq!(info.data[1].data, b"passive");
    assert_eq!(info.start, Some(2));
    assert_eq!(info.names.module.as_deref(), Some("named"));
    assert_eq!(info.function_name(0), Some("imported"));
    assert_eq!(info.function_name(2), Some("local2"));
}

/// Byte offsets of every `unreachable` and `i32.load` in `wasm`.
fn trapping_instruction_offsets(wasm: &[u8]) -> (Vec<u32>, Vec<u32>) {
    let (mut unreachable, mut loads) = (Vec::new(), Vec::new());
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() {
            let mut reader = body.get_operators_reader().unwrap();
            while !reader.eof() {
                let offset = reader.original_position() as u32;
                match reader.read().unwrap() {
                    wasmparser::Operator::Unreachable => unreachable.push(offset),
                    wasmparser::Operator::I32Load { .. } => loads.push(offset),
                    _ => {}
                }
            }
        }
    }
    (unreachable, loads)
}

#[test]
fn address_map_points_traps_at_their_wasm_instruction() {
    let wasm = wat::parse_str(
        r#"(module
            (memory 1)
            (func (param i32) (result i32)
                (i32.add (i32.load offset=4 (local.get 0)) (i32.const 1)))
            (func (nop) (nop) unreachable))"#,
    )
    .unwrap();
    let module = compile_module(&wasm, &verified(STATIC)).unwrap();
    let (unreachable, loads) = trapping_instruction_offsets(&wasm);
    let mapped = |kind: TrapKind| -> Vec<u32> {
        module
            .trap_table
            .iter()
            .filter(|record| record.kind == kind)
            .map(|record| module.wasm_offset_at(record.offset).expect("mapped"))
            .collect()
    };
    assert_eq!(mapped(TrapKind::UnreachableCodeReached), unreachable);
    assert_eq!(mapped(TrapKind::MemoryOutOfBounds), loads);
    assert!(
        module
            .address_map
            .windows(2)
            .all(|w| w[0].code_offset <= w[1].code_offset)
    );
    // Trampolines have no Wasm location.
    let trampoline = module.entry_trampolines[0].unwrap();
    assert_eq!(module.wasm_offset_at(trampoline.offset), None);
}

#[test]
fn simd_is_opt_in() {
    let wasm = wat::parse_str(
        r#"(module (func (param v128 v128) (result v128)
            (i32x4.add (local.get 0) (local.get 1))))"#,
    )
    .unwrap();
    let compiler = remap_compiler::Compiler::new(verified(STATIC)).unwrap();
    assert!(!compiler.features().simd());
    assert!(matches!(
        compiler.compile_module(&wasm),
        Err(CompileError::Unsupported { ref feature, .. }) if feature == "simd"
    ));
    let compiler = compiler.with_simd(true);
    assert!(compiler.features().simd());
    let module = compiler.compile_module(&wasm).unwrap();
    assert_eq!(module.functions.len(), 1);
}

/// Issue 17, malformed target (seed 39 and others): the module parser read
/// with every wasmparser feature on, so an import section in the compact
/// imports encoding (a proposal Remap does not support) was accepted,
/// while the validator with Remap's features refuses it.
#[test]
fn compact_imports_encoding_is_refused() {
    #[rustfmt::skip]
    let wasm = [
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
        // type section: (func)
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
        // import section, one compact group: module "m", field "", 0x7f,
        // then one item: "f" (func 0)
        0x02, 0x0a, 0x01, 0x01, b'm', 0x00, 0x7f, 0x01, 0x01, b'f', 0x00, 0x00,
    ];
    let mut everything = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all());
    everything
        .validate_all(&wasm)
        .expect("valid with the compact imports proposal");
    let mut remap = wasmparser::Validator::new_with_features(remap_compiler::supported_features());
    assert!(remap.validate_all(&wasm).is_err());
    assert!(compile_module(&wasm, &verified(STATIC)).is_err());
    assert!(ModuleInfo::from_wasm(&wasm, remap_compiler::supported_features()).is_err());
}

/// GC operators in constant expressions become constant operations the
/// runtime evaluates at instantiation.
#[test]
fn gc_constant_expressions_become_const_ops() {
    use remap_compiler::module_info::ConstOp;
    let compiled = compile(
        "(module (type $a (array i8)) (global (ref $a) (array.new_default $a (i32.const 1))) \
           (global anyref (any.convert_extern (ref.null extern))) \
           (global i31ref (ref.i31 (i32.const 5))))",
        STATIC,
    );
    let ops: Vec<&[ConstOp]> = compiled
        .info
        .globals
        .iter()
        .map(|global| &global.init.as_ref().expect("defined").ops[..])
        .collect();
    assert_eq!(ops[0][1], ConstOp::ArrayNewDefault(0));
    assert_eq!(ops[1][1], ConstOp::ConvertReference);
    assert_eq!(ops[2][1], ConstOp::RefI31);
}

#[test]
fn exception_tables_list_each_call_sites_handlers_innermost_first() {
    let compiled = compile(
        r#"(module (tag $a) (tag $b) (func $f)
             (func
               (block $outer
                 (try_table (catch $b $outer)
                   (block $inner
                     (try_table (catch $a $inner) (catch_all $inner)
                       (call $f)))))))"#,
        MemoryStyle::Static,
    );
    assert_eq!(compiled.exception_table.len(), 1);
    let site = &compiled.exception_table[0];
    let tags: Vec<Option<u32>> = site.handlers.iter().map(|handler| handler.tag).collect();
    // The outer `catch $b` is unreachable behind the inner catch-all.
    assert_eq!(tags, [Some(0), None]);
    let run = compiled.function(1).unwrap();
    assert!(run.contains(site.return_offset - 1));
    assert!(
        site.handlers
            .iter()
            .all(|handler| run.contains(handler.code_offset))
    );
}

//! The engine type registry: canonicalization across modules by
//! iso-recursive equality, subtyping through declared supertypes,
//! reference-counted unregistration and use from many threads.

use remap_compiler::types::{
    AbstractHeapType, EngineTypeIndex, FuncType, HeapType, ModuleTypeIndex, ModuleTypes, RefType,
    RegisteredTypes, TypeError, TypeIndex, TypeRegistry, ValType,
};
use wasmparser::{Parser, Payload, Validator, WasmFeatures};

/// The types of the module `wat`, validated with every feature on.
fn types_of(wat: &str) -> ModuleTypes {
    let bytes = wat::parse_str(wat).expect("the test module parses");
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(&bytes)
        .expect("the test module is valid");
    for payload in Parser::new(0).parse_all(&bytes) {
        if let Payload::TypeSection(reader) = payload.expect("the test module reads") {
            return ModuleTypes::from_type_section(reader).expect("the types convert");
        }
    }
    ModuleTypes::default()
}

fn register(registry: &TypeRegistry, wat: &str) -> RegisteredTypes {
    registry
        .register_module(&types_of(wat))
        .expect("the types register")
}

fn engine(types: &RegisteredTypes, index: u32) -> EngineTypeIndex {
    types
        .engine_index(ModuleTypeIndex::from_u32(index))
        .expect("the module has the type")
}

fn reference(nullable: bool, index: EngineTypeIndex) -> ValType {
    ValType::Ref(RefType {
        nullable,
        heap_type: HeapType::Concrete(TypeIndex::Engine(index)),
    })
}

#[test]
fn equal_types_in_two_modules_get_equal_indices() {
    let registry = TypeRegistry::new();
    let a = register(
        &registry,
        "(module (type (func (param i32))) (type (struct (field i32))))",
    );
    let b = register(
        &registry,
        "(module (type (struct (field i32))) (type (func (param i32))))",
    );
    assert_eq!(engine(&a, 0), engine(&b, 1));
    assert_eq!(engine(&a, 1), engine(&b, 0));
    assert_ne!(engine(&a, 0), engine(&a, 1));
    assert_eq!(registry.type_count(), 2);
}

#[test]
fn different_types_get_different_indices() {
    let registry = TypeRegistry::new();
    let a = register(
        &registry,
        "(module (type (func (param i32))) (type (struct (field (mut i32)))))",
    );
    let b = register(
        &registry,
        "(module (type (func (param i64))) (type (struct (field i32))))",
    );
    assert_ne!(engine(&a, 0), engine(&b, 0));
    assert_ne!(engine(&a, 1), engine(&b, 1));
}

#[test]
fn a_rec_group_differs_from_separate_types() {
    let registry = TypeRegistry::new();
    let separate = register(&registry, "(module (type (func)) (type (func)))");
    let grouped = register(&registry, "(module (rec (type (func)) (type (func))))");
    assert_eq!(engine(&separate, 0), engine(&separate, 1));
    assert_ne!(engine(&grouped, 0), engine(&grouped, 1));
    assert_ne!(engine(&grouped, 0), engine(&separate, 0));
    assert_ne!(engine(&grouped, 1), engine(&separate, 0));
    // A one-type (rec ...) is the same as a type outside any.
    let single = register(&registry, "(module (rec (type (func))))");
    assert_eq!(engine(&single, 0), engine(&separate, 0));
}

#[test]
fn self_referential_groups_canonicalize() {
    let registry = TypeRegistry::new();
    let list = "(type $list (struct (field i32) (field (ref null $list))))";
    let a = register(&registry, &format!("(module {list})"));
    let b = register(&registry, &format!("(module (type (func)) {list})"));
    assert_eq!(engine(&a, 0), engine(&b, 1));
    let registered = registry.sub_type(engine(&a, 0)).expect("registered");
    let field = registered.composite.as_struct().expect("a struct").fields[1];
    assert_eq!(field.storage.unpacked(), reference(true, engine(&a, 0)));
}

#[test]
fn mutually_recursive_groups_canonicalize_by_position() {
    let registry = TypeRegistry::new();
    let pair = "(module (rec (type $a (struct (field i32) (field (ref null $b))))
                              (type $b (struct (field (ref null $a))))))";
    let swapped = "(module (rec (type $b (struct (field (ref null $a))))
                                 (type $a (struct (field i32) (field (ref null $b))))))";
    let first = register(&registry, pair);
    let again = register(&registry, pair);
    let other = register(&registry, swapped);
    assert_eq!(engine(&first, 0), engine(&again, 0));
    assert_eq!(engine(&first, 1), engine(&again, 1));
    assert_ne!(engine(&first, 0), engine(&other, 1));
    assert_ne!(engine(&first, 1), engine(&other, 0));
}

#[test]
fn references_to_earlier_groups_compare_canonically() {
    let registry = TypeRegistry::new();
    let a = register(
        &registry,
        "(module (type $f (func)) (type (struct (field (ref $f)))))",
    );
    let b = register(
        &registry,
        "(module (type (func (param i32))) (type $f (func)) (type (struct (field (ref $f)))))",
    );
    let c = register(
        &registry,
        "(module (type $f (func (param i32))) (type (struct (field (ref $f)))))",
    );
    assert_eq!(engine(&a, 1), engine(&b, 2));
    assert_ne!(engine(&a, 1), engine(&c, 1));
}

#[test]
fn declared_supertype_chains_decide_subtyping() {
    let registry = TypeRegistry::new();
    let chain = register(
        &registry,
        "(module (type $a (sub (struct)))
                 (type $b (sub $a (struct (field i32))))
                 (type $c (sub $b (struct (field i32) (field i64))))
                 (type $d (sub $a (struct (field f32)))))",
    );
    let (a, b, c, d) = (
        engine(&chain, 0),
        engine(&chain, 1),
        engine(&chain, 2),
        engine(&chain, 3),
    );
    assert!(registry.is_subtype(c, a));
    assert!(registry.is_subtype(c, b));
    assert!(registry.is_subtype(b, a));
    assert!(registry.is_subtype(a, a));
    assert!(!registry.is_subtype(a, c));
    assert!(!registry.is_subtype(d, b));
    assert!(!registry.is_subtype(c, d));
    // The same chain declared by another module is the same chain.
    let other = register(
        &registry,
        "(module (type $a (sub (struct))) (type $e (sub $a (struct (field f64)))))",
    );
    assert!(registry.is_subtype(engine(&other, 1), a));
    assert!(!registry.is_subtype(engine(&other, 1), b));
}

#[test]
fn concrete_references_fit_the_abstract_hierarchy() {
    let registry = TypeRegistry::new();
    let types = register(
        &registry,
        "(module (type $s (sub (struct))) (type $t (sub $s (struct (field i32))))
                 (type $f (func)) (type $arr (array i8)))",
    );
    let (s, t, f, arr) = (
        engine(&types, 0),
        engine(&types, 1),
        engine(&types, 2),
        engine(&types, 3),
    );
    let r = &registry;
    assert!(reference(false, t).is_subtype_of(&reference(true, s), r));
    assert!(!reference(true, t).is_subtype_of(&reference(false, s), r));
    assert!(!reference(false, s).is_subtype_of(&reference(false, t), r));
    for sup in [ValType::STRUCTREF, ValType::EQREF, ValType::ANYREF] {
        assert!(reference(true, t).is_subtype_of(&sup, r));
    }
    assert!(!reference(true, t).is_subtype_of(&ValType::ARRAYREF, r));
    assert!(reference(true, arr).is_subtype_of(&ValType::ARRAYREF, r));
    assert!(reference(false, f).is_subtype_of(&ValType::FUNCREF, r));
    assert!(!reference(false, f).is_subtype_of(&ValType::ANYREF, r));
    assert!(ValType::NULLREF.is_subtype_of(&reference(true, t), r));
    assert!(ValType::NULLFUNCREF.is_subtype_of(&reference(true, f), r));
    assert!(!ValType::NULLFUNCREF.is_subtype_of(&reference(true, t), r));
    assert!(!ValType::NULLREF.is_subtype_of(&reference(false, t), r));
    assert!(!ValType::STRUCTREF.is_subtype_of(&reference(true, s), r));
    let i31 = ValType::Ref(RefType {
        nullable: false,
        heap_type: HeapType::unshared(AbstractHeapType::I31),
    });
    assert!(!i31.is_subtype_of(&reference(true, s), r));
}

#[test]
fn function_subtyping_is_contravariant_in_params() {
    let registry = TypeRegistry::new();
    let types = register(
        &registry,
        "(module (type $s (sub (struct))) (type $t (sub $s (struct (field i32)))))",
    );
    let (s, t) = (engine(&types, 0), engine(&types, 1));
    let takes_s_gives_t = FuncType::new([reference(true, s)], [reference(true, t)]);
    let takes_t_gives_s = FuncType::new([reference(true, t)], [reference(true, s)]);
    assert!(takes_s_gives_t.is_subtype_of(&takes_t_gives_s, &registry));
    assert!(!takes_t_gives_s.is_subtype_of(&takes_s_gives_t, &registry));
    // Declared function supertypes are recorded too.
    let funcs = register(
        &registry,
        "(module (type $s (sub (struct))) (type $t (sub $s (struct (field i32))))
                 (type $g (sub (func (param (ref $t)))))
                 (type $h (sub $g (func (param (ref $s))))))",
    );
    assert!(registry.is_subtype(engine(&funcs, 3), engine(&funcs, 2)));
    assert_eq!(engine(&funcs, 1), t);
}

#[test]
fn dropping_unregisters_and_reregistering_works() {
    let registry = TypeRegistry::new();
    let wat = "(module (rec (type $a (struct (field (ref null $b)))) (type $b (func))) (type (func (param i32))))";
    let first = register(&registry, wat);
    assert_eq!(registry.type_count(), 3);
    let a = engine(&first, 0);
    drop(first);
    assert_eq!(registry.type_count(), 0);
    assert!(registry.sub_type(a).is_none());
    let again = register(&registry, wat);
    assert_eq!(registry.type_count(), 3);
    assert!(registry.sub_type(engine(&again, 0)).is_some());
    let twice = register(&registry, wat);
    drop(again);
    assert_eq!(
        registry.type_count(),
        3,
        "the second registration keeps them"
    );
    drop(twice);
    assert_eq!(registry.type_count(), 0);
}

#[test]
fn a_group_keeps_the_groups_it_mentions_alive() {
    let registry = TypeRegistry::new();
    let func = register(&registry, "(module (type $f (func)))");
    let uses = register(
        &registry,
        "(module (type $f (func)) (type (struct (field (ref $f)))))",
    );
    let f = engine(&func, 0);
    drop(func);
    assert!(
        registry.func_type(f).is_some(),
        "still referenced by the struct"
    );
    assert_eq!(registry.type_count(), 2);
    drop(uses);
    assert_eq!(registry.type_count(), 0);
    // Many modules loaded and dropped do not grow the registry.
    for round in 0..100 {
        let wat = format!(
            "(module (type (func (param i32))) (type (struct (field i32) (field i64))) (global i32 (i32.const {round})))"
        );
        register(&registry, &wat);
    }
    assert_eq!(registry.type_count(), 0);
}

#[test]
fn host_function_types_match_module_function_types() {
    let registry = TypeRegistry::new();
    let module = register(
        &registry,
        "(module (type (func (param i32) (result i64))) (type $s (struct)))",
    );
    let host = registry
        .register_func_type(&FuncType::new([ValType::I32], [ValType::I64]))
        .expect("registers");
    assert_eq!(host.index(), engine(&module, 0));
    let func = registry.func_type(host.index()).expect("a function type");
    assert_eq!(func.to_string(), "(func (param i32) (result i64))");
    let takes_s = registry
        .register_func_type(&FuncType::new([reference(false, engine(&module, 1))], []))
        .expect("registers");
    drop(module);
    assert_eq!(registry.type_count(), 3, "the host types keep theirs alive");
    drop(host);
    drop(takes_s);
    assert_eq!(registry.type_count(), 0);
}

#[test]
fn host_function_types_must_use_engine_indices() {
    let registry = TypeRegistry::new();
    let module_reference = ValType::Ref(RefType {
        nullable: true,
        heap_type: HeapType::Concrete(TypeIndex::Module(ModuleTypeIndex::from_u32(0))),
    });
    let error = registry
        .register_func_type(&FuncType::new([module_reference], []))
        .unwrap_err();
    assert!(matches!(error, TypeError::Unregistered(_)), "{error}");
    let stale = reference(true, EngineTypeIndex::from_u32(12));
    let error = registry
        .register_func_type(&FuncType::new([], [stale]))
        .unwrap_err();
    assert!(matches!(error, TypeError::Unregistered(_)), "{error}");
    assert_eq!(registry.type_count(), 0);
}

#[test]
fn registration_from_many_threads_is_consistent() {
    let registry = TypeRegistry::new();
    let wats = [
        "(module (rec (type $a (struct (field (ref null $b)))) (type $b (sub (func)))) (type (sub $b (func))))",
        "(module (type (func)) (rec (type $a (struct (field (ref null $b)))) (type $b (sub (func)))))",
    ];
    let modules: Vec<ModuleTypes> = wats.iter().map(|wat| types_of(wat)).collect();
    let reference_indices = {
        let a = registry.register_module(&modules[0]).unwrap();
        let b = registry.register_module(&modules[1]).unwrap();
        (engine(&a, 0), engine(&a, 1), engine(&b, 1), engine(&b, 2))
        // Dropped here: the threads register everything from scratch too.
    };
    assert_eq!(reference_indices.0, reference_indices.2);
    assert_eq!(reference_indices.1, reference_indices.3);
    let results: Vec<Vec<bool>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    (0..200)
                        .map(|_| {
                            let a = registry.register_module(&modules[0]).unwrap();
                            let b = registry.register_module(&modules[1]).unwrap();
                            engine(&a, 0) == engine(&b, 1)
                                && engine(&a, 1) == engine(&b, 2)
                                && registry.is_subtype(engine(&a, 2), engine(&b, 2))
                        })
                        .collect()
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| thread.join().unwrap())
            .collect()
    });
    assert!(results.iter().flatten().all(|&consistent| consistent));
    assert_eq!(registry.type_count(), 0);
}

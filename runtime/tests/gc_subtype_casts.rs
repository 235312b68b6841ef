//! Casts to struct types with subtypes follow each object's supertype
//! chain, also for objects another module allocated with an equivalent
//! (canonically equal) type.

use remap::{Engine, Instance, Module, Store, Val};

const TYPES: &str = r#"
  (rec
    (type $a (sub (struct (field i32))))
    (type $b (sub $a (struct (field i32) (field i64))))
    (type $c (sub final $b (struct (field i32) (field i64) (field f32))))
    (type $other (sub $a (struct (field i32) (field f64)))))
"#;

fn module(engine: &Engine, body: &str) -> Module {
    Module::new(engine, format!("(module {TYPES} {body})")).unwrap()
}

#[test]
fn casts_follow_supertype_chains() {
    let engine = Engine::default();
    let maker = module(
        &engine,
        r#"(func (export "make") (param i32) (result anyref)
             (block $c (block $b (block $a (block $other
               (br_table $a $b $c $other (local.get 0)))
               (return (struct.new_default $other)))
               (return (struct.new_default $a)))
               (return (struct.new_default $b)))
             (struct.new_default $c))"#,
    );
    let tester = module(
        &engine,
        r#"(func (export "test") (param anyref) (result i32)
             (i32.or (i32.or
               (ref.test (ref $a) (local.get 0))
               (i32.shl (ref.test (ref $b) (local.get 0)) (i32.const 1)))
               (i32.or
                 (i32.shl (ref.test (ref $c) (local.get 0)) (i32.const 2))
                 (i32.shl (ref.test (ref $other) (local.get 0)) (i32.const 3)))))"#,
    );
    let mut store = Store::new(&engine, ());
    let maker = Instance::new(&mut store, &maker, &[]).unwrap();
    let tester = Instance::new(&mut store, &tester, &[]).unwrap();
    let make = maker.get_func(&mut store, "make").unwrap();
    let test = tester.get_func(&mut store, "test").unwrap();
    // Which casts succeed, as bits a|b|c|other, for objects of a, b, c, other.
    for (kind, expected) in [(0, 0b0001), (1, 0b0011), (2, 0b0111), (3, 0b1001)] {
        let mut object = [Val::I32(0)];
        make.call(&mut store, &[Val::I32(kind)], &mut object)
            .unwrap();
        let mut result = [Val::I32(0)];
        test.call(&mut store, &object, &mut result).unwrap();
        assert!(
            matches!(result[0], Val::I32(bits) if bits == expected),
            "{kind}: {result:?}"
        );
    }
}

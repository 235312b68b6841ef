//! Exceptions thrown at the bottom of deep recursion, close to the stack
//! limit, are caught; recursion past the limit still traps.

use remap::{Engine, Instance, Module, Store, Trap, TrapKind};

const WAT: &str = r#"
(module
  (tag $e (param i32))
  ;; Recurses n deep, then throws its depth; every 1000 levels a try_table
  ;; catches and rethrows, so handlers run deep in the stack too.
  (func $deep (param $n i32) (result i32)
    (if (i32.eqz (local.get $n)) (then (throw $e (i32.const 0))))
    (if (i32.eqz (i32.rem_u (local.get $n) (i32.const 1000)))
      (then
        (block $caught (result i32)
          (try_table (result i32) (catch $e $caught)
            (call $deep (i32.sub (local.get $n) (i32.const 1))))
          (return))
        (throw $e (i32.add (i32.const 1)))))
    (call $deep (i32.sub (local.get $n) (i32.const 1))))
  (func (export "run") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (result i32) (catch $e $caught)
        (call $deep (local.get 0)))
      (return))))
"#;

/// The deepest recursion that fits: found by halving from an overflow.
fn deepest(run: &remap::TypedFunc<i32, i32>, store: &mut Store<()>) -> i32 {
    let (mut fits, mut overflows) = (1, 1 << 24);
    while overflows - fits > 1 {
        let depth = fits + (overflows - fits) / 2;
        match run.call(&mut *store, depth) {
            Ok(_) => fits = depth,
            Err(error) => {
                let trap = error.downcast_ref::<Trap>().expect("a stack overflow trap");
                assert_eq!(trap.kind(), TrapKind::StackOverflow);
                overflows = depth;
            }
        }
    }
    fits
}

#[test]
fn exceptions_are_caught_near_the_stack_limit() {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    let depth = deepest(&run, &mut store);
    assert!(depth > 2000, "only {depth} frames fit");
    // At the limit and just above it, the catches along the way counted.
    assert_eq!(run.call(&mut store, depth).unwrap(), depth / 1000);
    assert!(run.call(&mut store, depth + 1).is_err());
    assert_eq!(run.call(&mut store, 2500).unwrap(), 2);
}

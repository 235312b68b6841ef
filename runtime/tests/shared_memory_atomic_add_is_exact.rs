//! Two to eight host threads, each with its own store and instance, hammer
//! `i32.atomic.rmw.add` on one shared memory: no increment is lost, in
//! either memory style.

use remap::{Config, Engine, Instance, MemoryStyle, MemoryType, Module, SharedMemory, Store};

const ADDER: &str = r#"
(module
  (import "env" "memory" (memory 1 1 shared))
  (func (export "add") (param $times i32)
    (loop $again
      (drop (i32.atomic.rmw.add (i32.const 64) (i32.const 1)))
      (local.set $times (i32.sub (local.get $times) (i32.const 1)))
      (br_if $again (local.get $times))))
  (func (export "total") (result i32) (i32.atomic.load (i32.const 64))))
"#;

const ADDS_PER_THREAD: i32 = 200_000;

#[test]
fn concurrent_atomic_adds_lose_nothing() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let mut config = Config::new();
        config.memory_style(style);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, ADDER).unwrap();
        for threads in 2..=8 {
            let memory = SharedMemory::new(&engine, MemoryType::shared(1, 1)).unwrap();
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    let (engine, module, memory) = (&engine, &module, memory.clone());
                    scope.spawn(move || {
                        let mut store = Store::new(engine, ());
                        let instance = Instance::new(&mut store, module, &[memory.into()]).unwrap();
                        let add = instance
                            .get_typed_func::<i32, ()>(&mut store, "add")
                            .unwrap();
                        add.call(&mut store, ADDS_PER_THREAD).unwrap();
                    });
                }
            });
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &module, &[memory.into()]).unwrap();
            let total = instance
                .get_typed_func::<(), i32>(&mut store, "total")
                .unwrap();
            assert_eq!(
                total.call(&mut store, ()).unwrap(),
                threads * ADDS_PER_THREAD,
                "{style:?}, {threads} threads"
            );
        }
    }
}

//! One thread grows a shared memory page by page while others keep reading
//! and writing their own word just below the bound they see and the first word
//! past the bound they saw before: an access below a bound a thread has
//! seen never traps, the memory never moves, and once growth is over the
//! byte past the maximum traps on every thread.

use remap::{
    Config, Engine, Instance, MemoryStyle, MemoryType, Module, SharedMemory, Store, Trap, TrapKind,
};

const USER: &str = r#"
(module
  (import "env" "memory" (memory 1 32 shared))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  ;; Writes `value` to word `slot` counted back from the current bound (each
  ;; worker has its own, so workers do not overwrite each other's values)
  ;; and reads it back.
  (func (export "touch_end") (param $value i32) (param $slot i32) (result i32)
    (local $end i32)
    (local.set $end
      (i32.sub (i32.shl (memory.size) (i32.const 16))
               (i32.shl (i32.add (local.get $slot) (i32.const 1)) (i32.const 2))))
    (i32.store (local.get $end) (local.get $value))
    (i32.load (local.get $end)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))
"#;

const MAXIMUM_PAGES: i32 = 32;

#[test]
fn accesses_near_the_moving_bound_stay_correct() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let mut config = Config::new();
        config.memory_style(style);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, USER).unwrap();
        let memory = SharedMemory::new(&engine, MemoryType::shared(1, 32)).unwrap();
        let base = memory.data_ptr();
        std::thread::scope(|scope| {
            for worker in 0..3 {
                let (engine, module, memory) = (&engine, &module, memory.clone());
                scope.spawn(move || {
                    let mut store = Store::new(engine, ());
                    let instance = Instance::new(&mut store, module, &[memory.into()]).unwrap();
                    let size = instance
                        .get_typed_func::<(), i32>(&mut store, "size")
                        .unwrap();
                    let touch_end = instance
                        .get_typed_func::<(i32, i32), i32>(&mut store, "touch_end")
                        .unwrap();
                    let load = instance
                        .get_typed_func::<i32, i32>(&mut store, "load")
                        .unwrap();
                    let mut previous_pages = size.call(&mut store, ()).unwrap();
                    while previous_pages < MAXIMUM_PAGES {
                        let value = worker * 1000 + previous_pages;
                        assert_eq!(touch_end.call(&mut store, (value, worker)).unwrap(), value);
                        // The first word past the old bound: in bounds once
                        // the memory has grown past it, a trap before.
                        let pages = size.call(&mut store, ()).unwrap();
                        let past_old_end = load.call(&mut store, previous_pages << 16);
                        if pages > previous_pages {
                            past_old_end.unwrap();
                        }
                        previous_pages = pages;
                    }
                });
            }
            let grower = scope.spawn(|| {
                let mut store = Store::new(&engine, ());
                let instance =
                    Instance::new(&mut store, &module, &[memory.clone().into()]).unwrap();
                let grow = instance
                    .get_typed_func::<i32, i32>(&mut store, "grow")
                    .unwrap();
                for old in 1..MAXIMUM_PAGES {
                    assert_eq!(grow.call(&mut store, 1).unwrap(), old);
                    std::thread::yield_now();
                }
                assert_eq!(grow.call(&mut store, 1).unwrap(), -1, "past the maximum");
            });
            grower.join().unwrap();
        });
        assert_eq!(memory.size(), MAXIMUM_PAGES as u64);
        assert_eq!(memory.data_ptr(), base, "a shared memory never moves");
        assert_eq!(
            memory.stats().committed_bytes,
            u64::from(MAXIMUM_PAGES as u32) << 16,
            "{style:?}: every page committed once"
        );
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[memory.into()]).unwrap();
        let load = instance
            .get_typed_func::<i32, i32>(&mut store, "load")
            .unwrap();
        let trap = load.call(&mut store, MAXIMUM_PAGES << 16).unwrap_err();
        assert_eq!(
            trap.downcast_ref::<Trap>().map(Trap::kind),
            Some(TrapKind::MemoryOutOfBounds)
        );
    }
}

//! The waiters of a shared memory live on the memory, not on a store: the
//! store whose instance defined the memory can be dropped while another
//! thread waits, and a notify from the host (or any other store) still wakes
//! that thread.

use remap::{Engine, Instance, Module, SharedMemory, Store};
use std::time::Duration;

const DEFINER: &str = r#"(module (memory (export "memory") 1 1 shared))"#;
const WAITER: &str = r#"
(module
  (import "env" "memory" (memory 1 1 shared))
  (func (export "wait") (result i32)
    (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
"#;

#[test]
fn dropping_the_defining_store_leaves_waiters_intact() {
    let engine = Engine::default();
    let mut defining_store = Store::new(&engine, ());
    let definer = Module::new(&engine, DEFINER).unwrap();
    let instance = Instance::new(&mut defining_store, &definer, &[]).unwrap();
    let memory: SharedMemory = instance
        .get_shared_memory(&mut defining_store, "memory")
        .unwrap();
    let waiter_module = Module::new(&engine, WAITER).unwrap();
    std::thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            let mut store = Store::new(&engine, ());
            let instance =
                Instance::new(&mut store, &waiter_module, &[memory.clone().into()]).unwrap();
            let wait = instance
                .get_typed_func::<(), i32>(&mut store, "wait")
                .unwrap();
            wait.call(&mut store, ()).unwrap()
        });
        // Most likely the waiter waits by now; the test holds either way.
        std::thread::sleep(Duration::from_millis(50));
        drop(defining_store);
        // Notify until the waiter has been woken (it may not be waiting yet).
        while memory.atomic_notify(0, 1).unwrap() == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(waiter.join().unwrap(), 0, "woken by the notify");
    });
    assert!(memory.atomic_notify(2, 1).is_err(), "unaligned");
    assert!(memory.atomic_notify(1 << 16, 1).is_err(), "out of bounds");
}

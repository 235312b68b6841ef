//! Two threads pass a turn back and forth 100,000 times with
//! `memory.atomic.wait32` and `memory.atomic.notify`. Each waits with a long
//! timeout and counts the waits that timed out: a lost wake-up would show as
//! one (instead of hanging the test).

use remap::{Engine, Instance, MemoryType, Module, SharedMemory, Store};

const PLAYER: &str = r#"
(module
  (import "env" "memory" (memory 1 1 shared))
  ;; Takes `rounds` turns: the turn counter at address 0 is this player's
  ;; when its low bit is `me`. Returns how many waits timed out.
  (func (export "play") (param $rounds i32) (param $me i32) (result i32)
    (local $turn i32) (local $timeouts i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $rounds)))
        (local.set $turn (i32.atomic.load (i32.const 0)))
        (if (i32.eq (i32.and (local.get $turn) (i32.const 1)) (local.get $me))
          (then
            (i32.atomic.store (i32.const 0) (i32.add (local.get $turn) (i32.const 1)))
            (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))
            (local.set $rounds (i32.sub (local.get $rounds) (i32.const 1))))
          (else
            ;; Ten seconds: far beyond any real hand-over.
            (if (i32.eq (i32.const 2)
                  (memory.atomic.wait32 (i32.const 0) (local.get $turn) (i64.const 10_000_000_000)))
              (then (local.set $timeouts (i32.add (local.get $timeouts) (i32.const 1)))))))
        (br $again)))
    (local.get $timeouts))
  (func (export "turn") (result i32) (i32.atomic.load (i32.const 0))))
"#;

const ROUNDS: i32 = 100_000;

#[test]
fn a_hundred_thousand_round_trips_lose_no_wake_up() {
    let engine = Engine::default();
    let module = Module::new(&engine, PLAYER).unwrap();
    let memory = SharedMemory::new(&engine, MemoryType::shared(1, 1)).unwrap();
    let timeouts: Vec<i32> = std::thread::scope(|scope| {
        let players: Vec<_> = (0..2)
            .map(|me| {
                let (engine, module, memory) = (&engine, &module, memory.clone());
                scope.spawn(move || {
                    let mut store = Store::new(engine, ());
                    let instance = Instance::new(&mut store, module, &[memory.into()]).unwrap();
                    let play = instance
                        .get_typed_func::<(i32, i32), i32>(&mut store, "play")
                        .unwrap();
                    play.call(&mut store, (ROUNDS, me)).unwrap()
                })
            })
            .collect();
        players.into_iter().map(|p| p.join().unwrap()).collect()
    });
    assert_eq!(timeouts, [0, 0], "a waiter missed its wake-up");
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[memory.into()]).unwrap();
    let turn = instance
        .get_typed_func::<(), i32>(&mut store, "turn")
        .unwrap();
    assert_eq!(turn.call(&mut store, ()).unwrap(), 2 * ROUNDS);
}

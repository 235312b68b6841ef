//! Threads: a contended `i32.atomic.rmw.add` (two threads adding to one
//! word of a shared memory, reported per add) and a wait/notify round trip
//! (two threads passing a turn back and forth with `memory.atomic.wait32` and
//! `memory.atomic.notify`, reported per round trip). Each measurement
//! includes starting the two scoped threads, which the work per iteration
//! dwarfs. With `--features wasmtime-peer`, the same in Wasmtime.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use remap::{Engine, Instance, MemoryType, Module, SharedMemory, Store, TypedFunc};
use std::time::{Duration, Instant};

/// Adds per thread in one iteration.
const ADDS: i32 = 100_000;
/// Round trips in one iteration.
const ROUND_TRIPS: i32 = 1_000;

const MODULE: &str = r#"
(module
  (import "env" "memory" (memory 1 1 shared))
  (func (export "add") (param $times i32)
    (loop $again
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (local.tee $times (i32.sub (local.get $times) (i32.const 1)))
      (br_if $again)))
  ;; Takes `rounds` turns of the counter at address 64 (this player's when
  ;; its low bit is `me`), waiting for the other player between turns.
  (func (export "play") (param $rounds i32) (param $me i32)
    (local $turn i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $rounds)))
        (local.set $turn (i32.atomic.load (i32.const 64)))
        (if (i32.eq (i32.and (local.get $turn) (i32.const 1)) (local.get $me))
          (then
            (i32.atomic.store (i32.const 64) (i32.add (local.get $turn) (i32.const 1)))
            (drop (memory.atomic.notify (i32.const 64) (i32.const 1)))
            (local.set $rounds (i32.sub (local.get $rounds) (i32.const 1))))
          (else
            (drop (memory.atomic.wait32 (i32.const 64) (local.get $turn) (i64.const -1)))))
        (br $again)))))
"#;

/// One thread's store and the module's two exports in it.
struct Player {
    store: Store<()>,
    add: TypedFunc<i32, ()>,
    play: TypedFunc<(i32, i32), ()>,
}

fn player(engine: &Engine, module: &Module, memory: &SharedMemory) -> Player {
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, module, &[memory.clone().into()])
        .expect("instantiating with the shared memory");
    let add = instance
        .get_typed_func(&mut store, "add")
        .expect("the add export");
    let play = instance
        .get_typed_func(&mut store, "play")
        .expect("the play export");
    Player { store, add, play }
}

/// Runs `work(player index, player)` on two scoped threads, `iterations`
/// times each, and returns the time it took.
fn on_two_threads<P: Send>(
    players: &mut [P; 2],
    iterations: u64,
    work: fn(i32, &mut P),
) -> Duration {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for (index, player) in players.iter_mut().enumerate() {
            scope.spawn(move || {
                for _ in 0..iterations {
                    work(index as i32, player);
                }
            });
        }
    });
    started.elapsed()
}

fn threads(c: &mut Criterion) {
    let engine = Engine::default();
    let module = Module::new(&engine, MODULE).expect("compiling the module");
    let memory = SharedMemory::new(&engine, MemoryType::shared(1, 1)).expect("a shared memory");
    let mut players = [
        player(&engine, &module, &memory),
        player(&engine, &module, &memory),
    ];

    let mut group = c.benchmark_group("threads");
    group.throughput(Throughput::Elements(2 * ADDS as u64));
    group.bench_function("contended_atomic_add_2_threads", |b| {
        b.iter_custom(|iterations| {
            on_two_threads(&mut players, iterations, |_, p| {
                p.add.call(&mut p.store, ADDS).expect("adding")
            })
        })
    });
    group.throughput(Throughput::Elements(ROUND_TRIPS as u64));
    group.bench_function("wait_notify_round_trip", |b| {
        b.iter_custom(|iterations| {
            on_two_threads(&mut players, iterations, |me, p| {
                p.play
                    .call(&mut p.store, (ROUND_TRIPS, me))
                    .expect("playing")
            })
        })
    });
    #[cfg(feature = "wasmtime-peer")]
    wasmtime_rows(&mut group);
    group.finish();
}

#[cfg(feature = "wasmtime-peer")]
struct WasmtimePlayer {
    store: wasmtime::Store<()>,
    add: wasmtime::TypedFunc<i32, ()>,
    play: wasmtime::TypedFunc<(i32, i32), ()>,
}

#[cfg(feature = "wasmtime-peer")]
fn wasmtime_rows(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let mut config = wasmtime::Config::new();
    config.wasm_threads(true);
    config.shared_memory(true);
    let engine = wasmtime::Engine::new(&config).expect("a Wasmtime engine with threads");
    let module = wasmtime::Module::new(&engine, MODULE).expect("compiling in Wasmtime");
    let memory = wasmtime::SharedMemory::new(&engine, wasmtime::MemoryType::shared(1, 1))
        .expect("a Wasmtime shared memory");
    let player = || {
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[memory.clone().into()])
            .expect("instantiating in Wasmtime");
        WasmtimePlayer {
            add: instance
                .get_typed_func(&mut store, "add")
                .expect("the add export"),
            play: instance
                .get_typed_func(&mut store, "play")
                .expect("the play export"),
            store,
        }
    };
    let mut players = [player(), player()];
    group.throughput(Throughput::Elements(2 * ADDS as u64));
    group.bench_function("wasmtime/contended_atomic_add_2_threads", |b| {
        b.iter_custom(|iterations| {
            on_two_threads(&mut players, iterations, |_, p| {
                p.add.call(&mut p.store, ADDS).expect("adding")
            })
        })
    });
    group.throughput(Throughput::Elements(ROUND_TRIPS as u64));
    group.bench_function("wasmtime/wait_notify_round_trip", |b| {
        b.iter_custom(|iterations| {
            on_two_threads(&mut players, iterations, |me, p| {
                p.play
                    .call(&mut p.store, (ROUND_TRIPS, me))
                    .expect("playing")
            })
        })
    });
}

criterion_group!(benches, threads);
criterion_main!(benches);

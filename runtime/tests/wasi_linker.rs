//! The WASI functions seen from Wasm: signatures, errno results for bad pointers,
//! modules without memory, and `proc_exit`, using small hand-written modules.

use remap::wasi::{I32Exit, WasiCtx, WasiCtxBuilder, WritePipe, add_to_linker};
use remap::{Engine, Linker, Module, Store};

/// Every preview 1 import with its witx signature.
const ALL_IMPORTS: &str = r#"
  (import "wasi_snapshot_preview1" "args_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_res_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_advise" (func (param i32 i64 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_allocate" (func (param i32 i64 i64) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_datasync" (func (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_set_flags" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_set_rights" (func (param i32 i64 i64) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_set_size" (func (param i32 i64) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_set_times" (func (param i32 i64 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pread" (func (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pwrite" (func (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir" (func (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_renumber" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_sync" (func (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_tell" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory" (func (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get" (func (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_set_times" (func (param i32 i32 i32 i32 i64 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_link" (func (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_readlink" (func (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_remove_directory" (func (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_rename" (func (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink" (func (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file" (func (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
  (import "wasi_snapshot_preview1" "proc_raise" (func (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_accept" (func (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv" (func (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_send" (func (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_shutdown" (func (param i32 i32) (result i32)))
"#;

struct Host {
    wasi: WasiCtx,
}

fn setup(wat: &str, wasi: WasiCtx) -> (Store<Host>, remap::Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, wat).unwrap();
    let mut linker = Linker::new(&engine);
    add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi).unwrap();
    let mut store = Store::new(&engine, Host { wasi });
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance)
}

#[test]
fn every_preview1_signature_links() {
    let wat = format!("(module {ALL_IMPORTS} (memory (export \"memory\") 1))");
    setup(&wat, WasiCtxBuilder::new().build());
}

#[test]
fn a_wrong_signature_is_an_incompatible_import() {
    let engine = Engine::default();
    let wat = r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32) (result i32))))"#;
    let module = Module::new(&engine, wat).unwrap();
    let mut linker = Linker::new(&engine);
    add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx).unwrap();
    let mut store = Store::new(&engine, WasiCtxBuilder::new().build());
    let err = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(
        format!("{err:#}").contains("incompatible import type"),
        "{err:#}"
    );
}

#[test]
fn adding_twice_is_an_error_not_a_panic() {
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx).unwrap();
    assert!(add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx).is_err());
}

const WRITER: &str = r#"
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi\n")
  (func (export "write") (param $fd i32) (param $iovs i32) (param $count i32) (param $out i32) (result i32)
    ;; iovec at 0: { ptr 16, len 3 }
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 3))
    (call $fd_write (local.get $fd) (local.get $iovs) (local.get $count) (local.get $out)))
  (func (export "bad_iovec") (result i32)
    ;; iovec whose buffer runs past the end of memory
    (i32.store (i32.const 0) (i32.const 65530))
    (i32.store (i32.const 4) (i32.const 100))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "random") (param i32 i32) (result i32)
    (call $random_get (local.get 0) (local.get 1)))
  (func (export "sizes") (param i32 i32) (result i32)
    (call $args_sizes_get (local.get 0) (local.get 1))))
"#;

#[test]
fn guest_pointers_outside_memory_are_efault() {
    let stdout = WritePipe::new_in_memory();
    let (mut store, instance) = setup(WRITER, WasiCtxBuilder::new().stdout(stdout.clone()).build());
    let write = instance
        .get_typed_func::<(i32, i32, i32, i32), i32>(&mut store, "write")
        .unwrap();
    assert_eq!(write.call(&mut store, (1, 0, 1, 8)).unwrap(), 0);
    assert_eq!(stdout.contents(), b"hi\n");
    const EFAULT: i32 = 21;
    const EBADF: i32 = 8;
    assert_eq!(write.call(&mut store, (1, 0, 1, 65533)).unwrap(), EFAULT);
    assert_eq!(write.call(&mut store, (1, 65534, 1, 8)).unwrap(), EFAULT);
    assert_eq!(write.call(&mut store, (1, -1, 1, 8)).unwrap(), EFAULT);
    assert_eq!(write.call(&mut store, (1, 0, -1, 8)).unwrap(), EFAULT);
    assert_eq!(write.call(&mut store, (77, 0, 1, 8)).unwrap(), EBADF);
    let bad = instance
        .get_typed_func::<(), i32>(&mut store, "bad_iovec")
        .unwrap();
    assert_eq!(bad.call(&mut store, ()).unwrap(), EFAULT);
    let random = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "random")
        .unwrap();
    assert_eq!(random.call(&mut store, (65536 - 16, 16)).unwrap(), 0);
    assert_eq!(random.call(&mut store, (65536 - 16, 17)).unwrap(), EFAULT);
    assert_eq!(
        random.call(&mut store, (i32::MAX, i32::MAX)).unwrap(),
        EFAULT
    );
    let sizes = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "sizes")
        .unwrap();
    assert_eq!(sizes.call(&mut store, (65536, 0)).unwrap(), EFAULT);
    // Nothing was written by the failed calls.
    assert_eq!(stdout.contents(), b"hi\n");
}

#[test]
fn a_module_without_memory_gets_efault() {
    let wat = r#"
    (module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
      (func (export "run") (result i32) (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (func (export "yield") (result i32) (call $yield)))
    "#;
    let (mut store, instance) = setup(wat, WasiCtxBuilder::new().build());
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 21);
    let yield_now = instance
        .get_typed_func::<(), i32>(&mut store, "yield")
        .unwrap();
    assert_eq!(yield_now.call(&mut store, ()).unwrap(), 0);
}

#[test]
fn proc_exit_unwinds_with_i32exit() {
    let wat = r#"
    (module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (global $after (mut i32) (i32.const 0))
      (func (export "_start") (call $exit (i32.const 42)) (global.set $after (i32.const 1)))
      (func (export "after") (result i32) (global.get $after)))
    "#;
    let (mut store, instance) = setup(wat, WasiCtxBuilder::new().build());
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    let err = start.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<I32Exit>(), Some(&I32Exit(42)), "{err:?}");
    let after = instance
        .get_typed_func::<(), i32>(&mut store, "after")
        .unwrap();
    assert_eq!(
        after.call(&mut store, ()).unwrap(),
        0,
        "code after proc_exit must not run"
    );
}

//! Host values of extern references nothing refers to any more are
//! dropped by collections; those a table or a live handle holds stay.

use remap::{ExternRef, Module, Ref, RootScope, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts the live values of its kind.
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn unreferenced_externrefs_are_collected() {
    let engine = remap::Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (table (export "t") 1 externref)
             (func (export "id") (param externref) (result externref) (local.get 0)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = remap::Instance::new(&mut store, &module, &[]).unwrap();
    let id = instance
        .get_typed_func::<Option<ExternRef>, Option<ExternRef>>(&mut store, "id")
        .unwrap();
    let table = instance.get_table(&mut store, "t").unwrap();
    let live = Arc::new(AtomicUsize::new(0));
    let make = |store: &mut RootScope<&mut Store<()>>| {
        live.fetch_add(1, Ordering::SeqCst);
        ExternRef::new(store, Tracked(live.clone()))
    };

    let kept = {
        let mut scope = RootScope::new(&mut store);
        let kept = make(&mut scope);
        table.set(&mut scope, 0, Ref::Extern(Some(kept))).unwrap();
        for _ in 0..10_000 {
            let value = make(&mut scope);
            assert_eq!(id.call(&mut scope, Some(value)).unwrap(), Some(value));
        }
        kept
    };
    // Making references collected on the way; the store's own collection
    // leaves only what the table holds.
    store.gc();
    assert_eq!(live.load(Ordering::SeqCst), 1);
    assert_eq!(store.gc_stats().externrefs, 1);
    // `kept`'s scope ended: the handle is refused, the table still works.
    assert!(kept.data(&store).is_none());
    let held = table.get(&mut store, 0).unwrap();
    assert!(
        held.as_extern()
            .unwrap()
            .data(&store)
            .unwrap()
            .is::<Tracked>()
    );
}

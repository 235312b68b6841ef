//! The linker: names host functions and store items, and resolves a module's
//! imports by name when instantiating.

use crate::engine::Engine;
use crate::externals::Extern;
use crate::func::{Caller, Func, TypedHostFn};
use crate::instance::Instance;
use crate::module::Module;
use crate::store::{AsContext, AsContextMut};
use crate::typed::{HostResult, IntoFunc, WasmParams};
use crate::types::{ExternType, FuncType};
use crate::values::{Val, ValRaw};
use anyhow::{Result, anyhow, bail};
use remap_compiler::module_info::ImportKind;
use remap_compiler::types::EngineTypeIndex;
use std::collections::HashMap;
use std::sync::Arc;

/// What a name is bound to.
enum Definition<T> {
    /// An item of a particular store.
    Extern(Extern),
    /// A host function, instantiated into each store that uses it.
    HostFunc(FuncType, TypedHostFn<T>),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Extern(e) => Definition::Extern(e.clone()),
            Definition::HostFunc(ty, f) => Definition::HostFunc(ty.clone(), f.clone()),
        }
    }
}

/// Resolves imports by `module::name`. Host functions defined here work with
/// any store of the engine; items defined with [`Linker::define`] belong to one store.
pub struct Linker<T> {
    engine: Engine,
    definitions: HashMap<(String, String), Definition<T>>,
    allow_shadowing: bool,
}

impl<T> Clone for Linker<T> {
    fn clone(&self) -> Self {
        Linker {
            engine: self.engine.clone(),
            definitions: self.definitions.clone(),
            allow_shadowing: self.allow_shadowing,
        }
    }
}

impl<T: 'static> Linker<T> {
    /// An empty linker for `engine`.
    pub fn new(engine: &Engine) -> Linker<T> {
        Linker {
            engine: engine.clone(),
            definitions: HashMap::new(),
            allow_shadowing: false,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether a later definition may replace an earlier one of the same name.
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    fn insert(&mut self, module: &str, name: &str, definition: Definition<T>) -> Result<&mut Self> {
        let key = (module.to_string(), name.to_string());
        if !self.allow_shadowing && self.definitions.contains_key(&key) {
            bail!("import of `{module}::{name}` defined twice");
        }
        self.definitions.insert(key, definition);
        Ok(self)
    }

    /// Defines `module::name` as a host function from a typed Rust closure.
    pub fn func_wrap<Params, Args>(
        &mut self,
        module: &str,
        name: &str,
        func: impl IntoFunc<T, Params, Args>,
    ) -> Result<&mut Self> {
        let (ty, host) = func.into_host_fn();
        self.insert(module, name, Definition::HostFunc(ty, host))
    }

    /// Defines `module::name` as an async host function: `func` takes the
    /// caller and the parameters as a tuple and returns a boxed future of
    /// the results (or of `Result` of them). While the future is not ready
    /// the guest is suspended and the async call that runs it returns
    /// `Pending`, so the executor's thread is free. Needs
    /// [`Config::async_support`](crate::Config::async_support).
    pub fn func_wrap_async<Params, Results, F>(
        &mut self,
        module: &str,
        name: &str,
        func: F,
    ) -> Result<&mut Self>
    where
        Params: WasmParams,
        Results: HostResult,
        F: for<'a> Fn(Caller<'a, T>, Params) -> Box<dyn Future<Output = Results> + Send + 'a>
            + Send
            + Sync
            + 'static,
    {
        if !self.engine.config().async_support {
            bail!("`func_wrap_async` needs `Config::async_support(true)`");
        }
        let ty = FuncType::new(Params::valtypes(), Results::Results::valtypes());
        let host: TypedHostFn<T> =
            Arc::new(move |mut caller: Caller<'_, T>, values: &mut [ValRaw]| {
                // SAFETY: compiled code passes arguments of the declared types.
                let params = unsafe { Params::load_raw(&caller.store.0.opaque, values) };
                let mut future = Box::into_pin(func(caller.reborrow_caller(), params));
                let results = crate::vm::fiber::block_on(future.as_mut())?;
                // The future borrows the caller, through which the results go.
                drop(future);
                results
                    .into_results()?
                    .store_raw(&caller.store.0.opaque, values)
            });
        self.insert(module, name, Definition::HostFunc(ty, host))
    }

    /// Defines `module::name` as a host function of type `ty` working on `Val`s.
    /// Fails when `ty` names a concrete type that is not registered in the engine.
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<&mut Self> {
        // A type that cannot be registered (naming a concrete type the
        // engine does not hold) is refused here, not when a store needs it.
        drop(self.engine.register_func_type(&ty)?);
        let host = crate::func::val_host_fn(ty.clone(), func);
        self.insert(module, name, Definition::HostFunc(ty, host))
    }

    /// Defines `module::name` as an item of a store.
    pub fn define(
        &mut self,
        ctx: impl AsContext<Data = T>,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self> {
        let item = item.into();
        // Catches an item of another store now rather than at instantiation.
        let _ = item.ty(&ctx);
        self.insert(module, name, Definition::Extern(item))
    }

    /// Defines every export of `instance` under `module_name`.
    pub fn instance(
        &mut self,
        mut ctx: impl AsContextMut<Data = T>,
        module_name: &str,
        instance: Instance,
    ) -> Result<&mut Self> {
        let exports: Vec<(String, Extern)> = instance
            .exports(&mut ctx)
            .map(|export| (export.name().to_owned(), export.into_extern()))
            .collect();
        for (name, item) in exports {
            self.insert(module_name, &name, Definition::Extern(item))?;
        }
        Ok(self)
    }

    /// The item bound to `module::name`, instantiating a host function into the store.
    pub fn get(
        &self,
        mut ctx: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Option<Extern> {
        let definition = self
            .definitions
            .get(&(module.to_string(), name.to_string()))?;
        Some(definition.to_extern(&mut ctx))
    }

    /// The definition of each import of `module`, in import order.
    fn resolve(&self, module: &Module) -> Result<Vec<Definition<T>>> {
        module
            .imports()
            .map(|import| {
                let key = (import.module().to_string(), import.name().to_string());
                self.definitions.get(&key).cloned().ok_or_else(|| {
                    anyhow!(
                        "unknown import: `{}::{}` has not been defined",
                        import.module(),
                        import.name()
                    )
                })
            })
            .collect()
    }

    /// Instantiates `module`, resolving each import by name.
    pub fn instantiate(
        &self,
        mut ctx: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance> {
        let imports: Vec<Extern> = self
            .resolve(module)?
            .iter()
            .map(|definition| definition.to_extern(&mut ctx))
            .collect();
        Instance::new(&mut ctx, module, &imports)
    }

    /// [`Linker::instantiate`] for a store of an engine with
    /// [`Config::async_support`](crate::Config::async_support): the start
    /// function runs on a fiber and may call async host functions.
    pub async fn instantiate_async(
        &self,
        mut ctx: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance>
    where
        T: Send,
    {
        let imports: Vec<Extern> = self
            .resolve(module)?
            .iter()
            .map(|definition| definition.to_extern(&mut ctx))
            .collect();
        Instance::new_async(&mut ctx, module, &imports).await
    }

    /// Resolves `module`'s imports by name and type-checks every host
    /// function among them once, for instantiating it many times
    /// ([`InstancePre::instantiate`]).
    pub fn instantiate_pre(&self, module: &Module) -> Result<InstancePre<T>> {
        if !Engine::same(&self.engine, module.engine()) {
            bail!("the module was compiled for another engine than the linker's");
        }
        let definitions = self.resolve(module)?;
        let mut prechecked = Vec::with_capacity(definitions.len());
        for (index, (definition, import)) in definitions.iter().zip(module.imports()).enumerate() {
            let Definition::HostFunc(ty, _) = definition else {
                // An item of a store is checked when a store is given.
                prechecked.push(false);
                continue;
            };
            let ExternType::Func(expected) = import.ty() else {
                bail!(
                    "incompatible import type for `{}::{}`: a function cannot satisfy it",
                    import.module(),
                    import.name()
                );
            };
            if !self.host_func_matches(ty, module, index)? {
                bail!(
                    "incompatible import type for `{}::{}`: expected {expected}, found {ty}",
                    import.module(),
                    import.name()
                );
            }
            prechecked.push(true);
        }
        Ok(InstancePre {
            module: module.clone(),
            definitions: definitions.into(),
            prechecked: prechecked.into(),
        })
    }

    /// Whether a host function of type `ty` can satisfy import `index` of
    /// `module`: its (final) type must be a subtype of the import's (the
    /// same type for an exact import), by engine index, as `Instance::new`
    /// checks it.
    fn host_func_matches(&self, ty: &FuncType, module: &Module, index: usize) -> Result<bool> {
        let (expected, exact) = match module.info().imports.get(index).map(|import| &import.kind) {
            Some(ImportKind::Function(type_index)) => {
                (module.engine_type_index(*type_index), false)
            }
            Some(ImportKind::ExactFunction(type_index)) => {
                (module.engine_type_index(*type_index), true)
            }
            _ => (None, false),
        };
        let Some(expected) = expected else {
            return Ok(false);
        };
        let actual = self.engine.register_func_type(ty)?.index();
        let expected = EngineTypeIndex::from_u32(expected);
        Ok(if exact {
            actual == expected
        } else {
            self.engine.type_registry().is_subtype(actual, expected)
        })
    }

    /// Defines `module`'s exports under `module_name`, as Wasmtime does. A
    /// *command* (it exports `_start`) gets a fresh instance for every call
    /// of one of its exported functions, which is dropped after the call
    /// (its other exports are not defined); a *reactor* (no `_start`) is
    /// instantiated once, its `_initialize` run, and all its exports defined.
    pub fn module(
        &mut self,
        mut ctx: impl AsContextMut<Data = T>,
        module_name: &str,
        module: &Module,
    ) -> Result<&mut Self> {
        let is_command = module.exports().any(|export| export.name() == "_start");
        if !is_command {
            let instance = self.instantiate(&mut ctx, module)?;
            if let Some(initialize) = instance.get_func(&mut ctx, "_initialize") {
                initialize.call(&mut ctx, &[], &mut [])?;
            }
            return self.instance(&mut ctx, module_name, instance);
        }
        let pre = self.instantiate_pre(module)?;
        for export in module.exports() {
            let ExternType::Func(ty) = export.ty() else {
                continue;
            };
            let pre = pre.clone();
            let name = export.name().to_owned();
            let host = crate::func::val_host_fn(ty.clone(), move |mut caller, params, results| {
                let instance = pre.instantiate(&mut caller)?;
                let func = instance
                    .get_func(&mut caller, &name)
                    .ok_or_else(|| anyhow!("the command module lost its export `{name}`"))?;
                func.call(&mut caller, params, results)
            });
            self.insert(module_name, export.name(), Definition::HostFunc(ty, host))?;
        }
        Ok(self)
    }

    /// The default function of `module_name`: its export named `""`, else
    /// `_start`, else a function that does nothing (as in Wasmtime).
    pub fn get_default(
        &self,
        mut ctx: impl AsContextMut<Data = T>,
        module_name: &str,
    ) -> Result<Func> {
        for name in ["", "_start"] {
            if let Some(item) = self.get(&mut ctx, module_name, name) {
                return item
                    .into_func()
                    .ok_or_else(|| anyhow!("`{module_name}::{name}` is not a function"));
            }
        }
        Ok(Func::wrap(&mut ctx, || {}))
    }

    /// Defines every function import of `module` that has no definition yet
    /// as a host function that fails when called, naming the import. Other
    /// kinds of imports are left undefined.
    pub fn define_unknown_imports_as_traps(&mut self, module: &Module) -> Result<&mut Self> {
        for import in module.imports() {
            let key = (import.module().to_string(), import.name().to_string());
            let ExternType::Func(ty) = import.ty() else {
                continue;
            };
            if self.definitions.contains_key(&key) {
                continue;
            }
            let description = format!("`{}::{}`", import.module(), import.name());
            let host = crate::func::val_host_fn(ty.clone(), move |_, _, _| {
                bail!("unknown import {description} was called (defined as a trap)")
            });
            self.insert(&key.0, &key.1, Definition::HostFunc(ty, host))?;
        }
        Ok(self)
    }
}

impl<T: 'static> Definition<T> {
    /// The item this definition stands for in the store of `ctx`: a host
    /// function is made there once and reused.
    fn to_extern(&self, mut ctx: impl AsContextMut<Data = T>) -> Extern {
        match self {
            Definition::Extern(item) => item.clone(),
            Definition::HostFunc(ty, host) => {
                Extern::Func(Func::from_linker(ctx.as_context_mut().0, ty, host))
            }
        }
    }
}

/// A module whose imports a [`Linker`] has resolved and whose host-function
/// imports are type-checked: instantiating it repeats neither the name
/// lookups nor those checks (items of a store are checked against each
/// store given, which is cheap).
pub struct InstancePre<T> {
    module: Module,
    definitions: Arc<[Definition<T>]>,
    /// Per import: its type was proven at `instantiate_pre`.
    prechecked: Arc<[bool]>,
}

impl<T> Clone for InstancePre<T> {
    fn clone(&self) -> Self {
        InstancePre {
            module: self.module.clone(),
            definitions: Arc::clone(&self.definitions),
            prechecked: Arc::clone(&self.prechecked),
        }
    }
}

impl<T: 'static> InstancePre<T> {
    /// The module.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// A new instance of the module in the store of `ctx`.
    pub fn instantiate(&self, mut ctx: impl AsContextMut<Data = T>) -> Result<Instance> {
        let imports: Vec<Extern> = self
            .definitions
            .iter()
            .map(|definition| definition.to_extern(&mut ctx))
            .collect();
        Instance::new_with_checks(&mut ctx, &self.module, &imports, &self.prechecked)
    }

    /// [`InstancePre::instantiate`] on a fiber, for a store of an engine
    /// with [`Config::async_support`](crate::Config::async_support).
    pub async fn instantiate_async(&self, mut ctx: impl AsContextMut<Data = T>) -> Result<Instance>
    where
        T: Send,
    {
        let imports: Vec<Extern> = self
            .definitions
            .iter()
            .map(|definition| definition.to_extern(&mut ctx))
            .collect();
        Instance::new_async_with_checks(&mut ctx, &self.module, &imports, &self.prechecked).await
    }
}

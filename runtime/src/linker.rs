//! The linker: names host functions and store items, and resolves a module's
//! imports by name when instantiating.

use crate::engine::Engine;
use crate::externals::Extern;
use crate::func::{Caller, Func, TypedHostFn};
use crate::instance::Instance;
use crate::module::Module;
use crate::store::{AsContext, AsContextMut};
use crate::typed::IntoFunc;
use crate::types::FuncType;
use crate::values::Val;
use anyhow::{Result, bail};
use std::collections::HashMap;

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
            Definition::Extern(e) => Definition::Extern(*e),
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
        for (name, item) in instance.exports(&mut ctx) {
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
        Some(match definition {
            Definition::Extern(item) => *item,
            Definition::HostFunc(ty, host) => {
                Extern::Func(Func::from_linker(ctx.as_context_mut().0, ty, host))
            }
        })
    }

    /// Instantiates `module`, resolving each import by name.
    pub fn instantiate(
        &self,
        mut ctx: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance> {
        let mut imports = Vec::with_capacity(module.imports().len());
        for import in module.imports() {
            match self.get(&mut ctx, import.module(), import.name()) {
                Some(item) => imports.push(item),
                None => bail!(
                    "unknown import: `{}::{}` has not been defined",
                    import.module(),
                    import.name()
                ),
            }
        }
        Instance::new(&mut ctx, module, &imports)
    }

    /// Instantiates `module` and defines its exports under `module_name`.
    pub fn module(
        &mut self,
        mut ctx: impl AsContextMut<Data = T>,
        module_name: &str,
        module: &Module,
    ) -> Result<&mut Self> {
        let instance = self.instantiate(&mut ctx, module)?;
        self.instance(&mut ctx, module_name, instance)
    }
}

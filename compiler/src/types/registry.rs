//! The engine-wide type registry: canonical [`EngineTypeIndex`]es for the
//! types of every module and host function an engine uses.
//!
//! Rec groups are canonicalized by iso-recursive equality: a group's key is
//! its [`RecGroup`] canonical form, in which references to its own members
//! are group-relative and references to other types are engine indices
//! (themselves canonical). Equal keys get the same engine indices, so type
//! equality across modules is index equality.
//!
//! Entries are reference counted. A [`RegisteredTypes`] (one module) or
//! [`RegisteredType`] (one host function type) holds one reference to each
//! group it uses, and a group holds one reference to each group its types
//! mention; dropping the handle releases them, and a group with no
//! reference left is removed, freeing its engine indices for reuse. An
//! engine index is therefore meaningful only while a handle that reaches it
//! is alive.
//!
//! Each type records its whole supertype chain, root first, so
//! [`TypeRegistry::is_subtype`] is one comparison (as in Wasmtime).
//!
//! Locking: one `RwLock` over all tables; registration and release write,
//! lookups read, and no other lock is taken while it is held. The tables
//! are only changed by code that cannot panic halfway through an update, so
//! a poisoned lock (a panic elsewhere while reading) still guards
//! consistent tables and is used as it is.

use super::{
    CompositeShape, ConcreteTypes, EngineTypeIndex, FuncType, GlobalType, ModuleTypeIndex,
    ModuleTypes, RecGroup, SubType, TableType, TypeError, TypeIndex, ValType,
};
use cranelift_codegen::entity::{EntityRef, entity_impl};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A rec group registered in the engine.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct EngineRecGroup(u32);
entity_impl!(EngineRecGroup, "engine-rec-group");

/// The canonical types of an engine, shared by all its threads. Cloning
/// gives another handle to the same registry.
#[derive(Clone, Default)]
pub struct TypeRegistry {
    tables: Arc<RwLock<Tables>>,
}

#[derive(Default)]
struct Tables {
    /// By engine index; `None` for a free index.
    types: Vec<Option<TypeEntry>>,
    free_types: Vec<EngineTypeIndex>,
    /// By registered group; `None` for a free slot.
    groups: Vec<Option<GroupEntry>>,
    free_groups: Vec<EngineRecGroup>,
    by_key: HashMap<Arc<RecGroup>, EngineRecGroup>,
}

struct TypeEntry {
    /// The type with every reference an engine index.
    ty: Arc<SubType>,
    /// Its function type, kept apart so lookups hand out an `Arc`.
    func: Option<Arc<FuncType>>,
    /// The group it belongs to.
    group: EngineRecGroup,
    /// Every declared supertype, transitively, root first.
    supertypes: Box<[EngineTypeIndex]>,
}

struct GroupEntry {
    key: Arc<RecGroup>,
    /// The engine index of each member, in order.
    types: Box<[EngineTypeIndex]>,
    /// Handles plus groups that mention one of its types.
    references: usize,
    /// The other groups its types mention (each holding one reference).
    dependencies: Box<[EngineRecGroup]>,
}

impl TypeRegistry {
    /// An empty registry.
    pub fn new() -> TypeRegistry {
        TypeRegistry::default()
    }

    /// Registers a module's types: each rec group is found (or added) by its
    /// canonical form. The result maps every module index to its engine
    /// index and keeps the entries alive until dropped.
    pub fn register_module(&self, module: &ModuleTypes) -> Result<RegisteredTypes, TypeError> {
        let mut tables = self.write();
        let mut engine_types: Vec<EngineTypeIndex> = Vec::with_capacity(module.len());
        let mut groups = Vec::with_capacity(module.rec_group_count());
        for (start, members) in module.rec_groups() {
            // Outer references are earlier types, already mapped.
            let key = RecGroup::canonicalize(members, start, |outer| {
                engine_types
                    .get(outer.index())
                    .map(|&index| TypeIndex::Engine(index))
            });
            match tables.intern(key) {
                Ok((group, indices)) => {
                    engine_types.extend(indices.iter());
                    groups.push(group);
                }
                Err(error) => {
                    tables.release(&groups);
                    return Err(error);
                }
            }
        }
        Ok(RegisteredTypes {
            registry: self.clone(),
            groups: groups.into(),
            types: engine_types.into(),
        })
    }

    /// Registers the type of a host function: a final function type without
    /// supertype in a rec group of its own, the same as a module's
    /// `(type (func ...))`. Concrete references in it must be engine
    /// indices of registered types.
    pub fn register_func_type(&self, ty: &FuncType) -> Result<RegisteredType, TypeError> {
        let member = SubType::func(ty.clone());
        let mut not_engine = None;
        member.visit_indices(&mut |index| {
            if !matches!(index, TypeIndex::Engine(_)) {
                not_engine = not_engine.or(Some(index));
            }
        });
        if let Some(index) = not_engine {
            return Err(TypeError::Unregistered(index));
        }
        let key = RecGroup {
            types: Box::new([member]),
        };
        let (group, indices) = self.write().intern(key)?;
        Ok(RegisteredType {
            registry: self.clone(),
            group,
            // The group has the one member.
            index: indices[0],
        })
    }

    /// The registered type at `index`, every reference an engine index.
    pub fn sub_type(&self, index: EngineTypeIndex) -> Option<Arc<SubType>> {
        self.read().entry(index).map(|entry| Arc::clone(&entry.ty))
    }

    /// The function type at `index`, if it is a registered function type.
    pub fn func_type(&self, index: EngineTypeIndex) -> Option<Arc<FuncType>> {
        self.read().entry(index)?.func.clone()
    }

    /// Whether `sub` is `sup` or declares it as a supertype, directly or
    /// not. False when either is not registered.
    pub fn is_subtype(&self, sub: EngineTypeIndex, sup: EngineTypeIndex) -> bool {
        let tables = self.read();
        let (Some(sub_entry), Some(sup_entry)) = (tables.entry(sub), tables.entry(sup)) else {
            return false;
        };
        // `sup` is in `sub`'s chain exactly at `sup`'s own depth.
        sub == sup || sub_entry.supertypes.get(sup_entry.supertypes.len()) == Some(&sup)
    }

    /// Every declared supertype of `index`, transitively, root first
    /// (empty for a type without one); `None` when not registered.
    pub fn supertypes(&self, index: EngineTypeIndex) -> Option<Box<[EngineTypeIndex]>> {
        self.read()
            .entry(index)
            .map(|entry| entry.supertypes.clone())
    }

    /// The number of types registered now.
    pub fn type_count(&self) -> usize {
        let tables = self.read();
        tables.types.len() - tables.free_types.len()
    }

    fn read(&self) -> RwLockReadGuard<'_, Tables> {
        self.tables.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Tables> {
        self.tables.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for TypeRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypeRegistry")
            .field("types", &self.type_count())
            .finish_non_exhaustive()
    }
}

impl ConcreteTypes for TypeRegistry {
    fn shape(&self, index: TypeIndex) -> Option<CompositeShape> {
        match index {
            TypeIndex::Engine(index) => Some(self.read().entry(index)?.ty.composite.shape()),
            TypeIndex::Module(_) | TypeIndex::RecGroup(_) => None,
        }
    }

    fn is_concrete_subtype(&self, sub: TypeIndex, sup: TypeIndex) -> bool {
        match (sub, sup) {
            (TypeIndex::Engine(sub), TypeIndex::Engine(sup)) => self.is_subtype(sub, sup),
            _ => false,
        }
    }
}

impl Tables {
    fn entry(&self, index: EngineTypeIndex) -> Option<&TypeEntry> {
        self.types.get(index.index())?.as_ref()
    }

    /// The group with canonical form `key`, one more reference taken on it
    /// (added if new), and the engine indices of its members.
    fn intern(
        &mut self,
        key: RecGroup,
    ) -> Result<(EngineRecGroup, Box<[EngineTypeIndex]>), TypeError> {
        if let Some(&group) = self.by_key.get(&key)
            && let Some(entry) = self.groups[group.index()].as_mut()
        {
            entry.references += 1;
            return Ok((group, entry.types.clone()));
        }
        let dependencies = self.check_references(&key)?;
        let members = key.types();
        // u32::MAX is the entity types' reserved value.
        let limit = u32::MAX as usize;
        let free_indices = self.free_types.len() + (limit - self.types.len());
        if members.len() > free_indices
            || (self.free_groups.is_empty() && self.groups.len() >= limit)
        {
            return Err(TypeError::TooManyTypes);
        }
        // From here on nothing fails: the group is added whole.
        let group = match self.free_groups.pop() {
            Some(group) => group,
            None => {
                self.groups.push(None);
                EngineRecGroup::new(self.groups.len() - 1)
            }
        };
        let indices: Box<[EngineTypeIndex]> =
            members.iter().map(|_| self.allocate_type()).collect();
        let mut chains: Vec<Box<[EngineTypeIndex]>> = Vec::with_capacity(members.len());
        for (member, &index) in members.iter().zip(indices.iter()) {
            // `check_references` made every group-relative reference a
            // member, and every supertype registered or an earlier member.
            let ty = member.map_indices(&mut |reference| match reference {
                TypeIndex::RecGroup(position) => TypeIndex::Engine(indices[position as usize]),
                other => other,
            });
            let supertypes: Box<[EngineTypeIndex]> = match member.supertype {
                Some(TypeIndex::RecGroup(position)) => {
                    let position = position as usize;
                    chains[position]
                        .iter()
                        .copied()
                        .chain([indices[position]])
                        .collect()
                }
                Some(TypeIndex::Engine(supertype)) => self
                    .entry(supertype)
                    .map(|entry| {
                        entry
                            .supertypes
                            .iter()
                            .copied()
                            .chain([supertype])
                            .collect()
                    })
                    .unwrap_or_default(),
                Some(TypeIndex::Module(_)) | None => Box::default(),
            };
            chains.push(supertypes.clone());
            self.types[index.index()] = Some(TypeEntry {
                func: ty.composite.as_func().cloned().map(Arc::new),
                ty: Arc::new(ty),
                group,
                supertypes,
            });
        }
        for dependency in dependencies.iter() {
            if let Some(entry) = self.groups[dependency.index()].as_mut() {
                entry.references += 1;
            }
        }
        let key = Arc::new(key);
        self.groups[group.index()] = Some(GroupEntry {
            key: Arc::clone(&key),
            types: indices.clone(),
            references: 1,
            dependencies,
        });
        self.by_key.insert(key, group);
        Ok((group, indices))
    }

    /// Checks that every reference of `key` is a live engine index or a
    /// member of the group (a supertype an earlier member), and returns the
    /// other groups it mentions.
    fn check_references(&self, key: &RecGroup) -> Result<Box<[EngineRecGroup]>, TypeError> {
        let members = key.types();
        let mut dependencies = Vec::new();
        let mut bad_reference = None;
        for (position, member) in (0u32..).zip(members.iter()) {
            if let Some(TypeIndex::RecGroup(supertype)) = member.supertype
                && supertype >= position
            {
                return Err(TypeError::BadSupertype {
                    ty: TypeIndex::RecGroup(position),
                    supertype: TypeIndex::RecGroup(supertype),
                });
            }
            member.visit_indices(&mut |reference| match reference {
                TypeIndex::Engine(index) => match self.entry(index) {
                    Some(entry) => dependencies.push(entry.group),
                    None => bad_reference = bad_reference.or(Some(reference)),
                },
                TypeIndex::RecGroup(position) if (position as usize) < members.len() => {}
                TypeIndex::RecGroup(_) | TypeIndex::Module(_) => {
                    bad_reference = bad_reference.or(Some(reference));
                }
            });
        }
        if let Some(reference) = bad_reference {
            return Err(TypeError::Unregistered(reference));
        }
        dependencies.sort_unstable();
        dependencies.dedup();
        Ok(dependencies.into())
    }

    fn allocate_type(&mut self) -> EngineTypeIndex {
        match self.free_types.pop() {
            Some(index) => index,
            None => {
                self.types.push(None);
                EngineTypeIndex::new(self.types.len() - 1)
            }
        }
    }

    /// Drops one reference on each of `groups`, removing every group left
    /// without one (and, in turn, releasing what it mentions).
    fn release(&mut self, groups: &[EngineRecGroup]) {
        let mut pending = groups.to_vec();
        while let Some(group) = pending.pop() {
            let Some(slot) = self.groups.get_mut(group.index()) else {
                continue;
            };
            let Some(entry) = slot.as_mut() else {
                continue;
            };
            entry.references -= 1;
            if entry.references > 0 {
                continue;
            }
            let Some(entry) = slot.take() else {
                continue;
            };
            self.by_key.remove(&entry.key);
            for &index in entry.types.iter() {
                self.types[index.index()] = None;
                self.free_types.push(index);
            }
            self.free_groups.push(group);
            pending.extend(entry.dependencies.iter().copied());
        }
    }
}

/// A module's types as registered in an engine: the engine index of every
/// module type. Keeps the registry entries alive; dropping it releases them.
pub struct RegisteredTypes {
    registry: TypeRegistry,
    /// One reference per module rec group (a group the module declares
    /// twice is referenced twice).
    groups: Box<[EngineRecGroup]>,
    /// By module index.
    types: Box<[EngineTypeIndex]>,
}

impl RegisteredTypes {
    /// The engine index of module type `index`.
    pub fn engine_index(&self, index: ModuleTypeIndex) -> Option<EngineTypeIndex> {
        self.types.get(index.index()).copied()
    }

    /// Every module index with its engine index, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (ModuleTypeIndex, EngineTypeIndex)> + '_ {
        self.types
            .iter()
            .enumerate()
            .map(|(index, &engine)| (ModuleTypeIndex::new(index), engine))
    }

    /// The registry the types are registered in.
    pub fn registry(&self) -> &TypeRegistry {
        &self.registry
    }

    /// `index` as an engine index when it is one of the module's types;
    /// any other index is kept, and so matches nothing registered.
    fn to_engine(&self, index: TypeIndex) -> TypeIndex {
        match index {
            TypeIndex::Module(module_index) => self
                .engine_index(module_index)
                .map_or(index, TypeIndex::Engine),
            other => other,
        }
    }

    /// A global type of the module with engine indices, comparable with
    /// every other module's and the host's.
    pub fn engine_global_type(&self, ty: GlobalType) -> GlobalType {
        ty.map_indices(&mut |index| self.to_engine(index))
    }

    /// A table type of the module with engine indices.
    pub fn engine_table_type(&self, ty: TableType) -> TableType {
        ty.map_indices(&mut |index| self.to_engine(index))
    }

    /// A value type of the module with engine indices.
    pub fn engine_val_type(&self, ty: ValType) -> ValType {
        ty.map_index(&mut |index| self.to_engine(index))
    }
}

impl fmt::Debug for RegisteredTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisteredTypes")
            .field("types", &self.types)
            .finish_non_exhaustive()
    }
}

impl Drop for RegisteredTypes {
    fn drop(&mut self) {
        self.registry.write().release(&self.groups);
    }
}

/// One registered type (a host function's): its engine index, kept alive
/// until this is dropped.
pub struct RegisteredType {
    registry: TypeRegistry,
    group: EngineRecGroup,
    index: EngineTypeIndex,
}

impl RegisteredType {
    /// The engine index.
    pub fn index(&self) -> EngineTypeIndex {
        self.index
    }
}

impl fmt::Debug for RegisteredType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RegisteredType").field(&self.index).finish()
    }
}

impl Drop for RegisteredType {
    fn drop(&mut self) {
        self.registry.write().release(&[self.group]);
    }
}

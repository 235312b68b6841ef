//! GC object operators: `struct.*`, `array.*`, `ref.i31`, `i31.get_*`,
//! `ref.eq`, `any.convert_extern` and `extern.convert_any`.
//!
//! Objects and references are laid out as `crate::gc_layout` describes.
//! Allocation and the bulk array operators call builtins (the runtime owns
//! the heap); field and element accesses are inline: the heap base (reloaded
//! at every access, since a call may have relocated the heap) plus the
//! object's offset plus the field's offset. A reference of a struct or array
//! type is a valid object offset once its null check passed, so only array
//! indices need a bounds check (against the length in the object).

use super::Translator;
use crate::builtins::Builtin;
use crate::error::CompileError;
use crate::func_environ::FuncEnvironment;
use crate::gc_layout::{self, ARRAY_ELEMENTS, ARRAY_LENGTH, I31_TAG, StructLayout};
use crate::signature::value_type;
use crate::trap::TrapKind;
use crate::types::{ModuleTypeIndex, StorageType, StructType, TypeIndex, ValType};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, Value, types};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

/// How a packed field is widened when read.
#[derive(Clone, Copy)]
enum Extension {
    Signed,
    Unsigned,
}

impl Translator<'_> {
    /// Translates `op` if it is a GC object operator; `false` when it is not.
    pub(super) fn translate_gc(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        match *op {
            O::StructNew { struct_type_index } => {
                self.struct_new(builder, struct_type_index, None)?
            }
            O::StructNewDefault { struct_type_index } => {
                let object = self.allocate(builder, struct_type_index, None);
                self.push(object);
            }
            O::StructGet {
                struct_type_index,
                field_index,
            } => self.struct_get(builder, struct_type_index, field_index, Extension::Unsigned)?,
            O::StructGetS {
                struct_type_index,
                field_index,
            } => self.struct_get(builder, struct_type_index, field_index, Extension::Signed)?,
            O::StructGetU {
                struct_type_index,
                field_index,
            } => self.struct_get(builder, struct_type_index, field_index, Extension::Unsigned)?,
            O::StructSet {
                struct_type_index,
                field_index,
            } => {
                let (object, value) = self.pop2();
                let (ty, layout) = self.struct_type(struct_type_index)?;
                let field = field_of(&ty, &layout, field_index)?;
                let address = self.object_address(builder, object, TrapKind::NullStructReference);
                store_field(builder, field.0, address, field.1 as i32, value);
            }
            O::ArrayNew { array_type_index } => {
                let (value, len) = self.pop2();
                let array = self.allocate(builder, array_type_index, Some(len));
                let zero = builder.ins().iconst(types::I32, 0);
                let storage = self.array_element(array_type_index)?;
                self.fill(builder, storage, array, zero, value, len);
                self.push(array);
            }
            O::ArrayNewDefault { array_type_index } => {
                let len = self.pop();
                let array = self.allocate(builder, array_type_index, Some(len));
                self.push(array);
            }
            O::ArrayNewFixed {
                array_type_index,
                array_size,
            } => self.array_new_fixed(builder, array_type_index, array_size)?,
            O::ArrayNewData {
                array_type_index,
                array_data_index,
            } => self.array_new_from(
                builder,
                Builtin::ArrayNewData,
                array_type_index,
                array_data_index,
            ),
            O::ArrayNewElem {
                array_type_index,
                array_elem_index,
            } => self.array_new_from(
                builder,
                Builtin::ArrayNewElem,
                array_type_index,
                array_elem_index,
            ),
            O::ArrayGet { array_type_index } | O::ArrayGetU { array_type_index } => {
                self.array_get(builder, array_type_index, Extension::Unsigned)?
            }
            O::ArrayGetS { array_type_index } => {
                self.array_get(builder, array_type_index, Extension::Signed)?
            }
            O::ArraySet { array_type_index } => {
                let (array, index, value) = self.pop3();
                let storage = self.array_element(array_type_index)?;
                let address = self.element_address(builder, storage, array, index);
                store_field(builder, storage, address, 0, value);
            }
            O::ArrayLen => {
                let array = self.pop();
                let len = self.array_len(builder, array);
                self.push(len);
            }
            O::ArrayFill { array_type_index } => {
                let (array, index, value, len) = self.pop4();
                let storage = self.array_element(array_type_index)?;
                self.fill(builder, storage, array, index, value, len);
            }
            O::ArrayCopy { .. } => {
                let (src_index, len) = self.pop2();
                let (dst, dst_index, src) = self.pop3();
                self.env.call_builtin(
                    builder,
                    Builtin::ArrayCopy,
                    &[dst, dst_index, src, src_index, len],
                );
            }
            O::ArrayInitData {
                array_data_index, ..
            } => self.array_init_from(builder, Builtin::ArrayInitData, array_data_index),
            O::ArrayInitElem {
                array_elem_index, ..
            } => self.array_init_from(builder, Builtin::ArrayInitElem, array_elem_index),
            O::RefI31 => {
                let value = self.pop();
                let shifted = builder.ins().ishl_imm_u(value, 1);
                let tagged = builder.ins().bor_imm_u(shifted, I31_TAG as i64);
                let reference = builder.ins().uextend(types::I64, tagged);
                self.push(reference);
            }
            O::I31GetS | O::I31GetU => {
                let reference = self.pop();
                builder
                    .ins()
                    .trapz(reference, TrapKind::NullI31Reference.trap_code());
                let bits = builder.ins().ireduce(types::I32, reference);
                let value = if matches!(op, O::I31GetS) {
                    builder.ins().sshr_imm_u(bits, 1)
                } else {
                    builder.ins().ushr_imm_u(bits, 1)
                };
                self.push(value);
            }
            O::RefEq => {
                let (a, b) = self.pop2();
                let equal = builder.ins().icmp(IntCC::Equal, a, b);
                let equal = Self::bool_to_i32(builder, equal);
                self.push(equal);
            }
            // Both hierarchies share one encoding (crate::gc_layout).
            O::AnyConvertExtern | O::ExternConvertAny => {}
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn pop4(&mut self) -> (Value, Value, Value, Value) {
        let d = self.pop();
        let (a, b, c) = self.pop3();
        (a, b, c, d)
    }

    /// Module type `index` as a struct type, with its layout.
    pub(super) fn struct_type(
        &self,
        index: u32,
    ) -> Result<(StructType, StructLayout), CompileError> {
        let sub_type = self
            .env
            .info()
            .types
            .sub_type(ModuleTypeIndex::from_u32(index))
            .ok_or_else(|| invalid(format!("type {index} does not exist")))?;
        let ty = sub_type
            .composite
            .as_struct()
            .cloned()
            .ok_or_else(|| invalid(format!("type {index} is not a struct type")))?;
        let types = &self.env.info().types;
        let position = gc_layout::descriptor_position(sub_type, |index| match index {
            TypeIndex::Module(index) => types.sub_type(index),
            _ => None,
        });
        let layout = StructLayout::of(&ty, position);
        Ok((ty, layout))
    }

    /// The element storage of array type `index`.
    fn array_element(&self, index: u32) -> Result<StorageType, CompileError> {
        self.env
            .info()
            .types
            .sub_type(ModuleTypeIndex::from_u32(index))
            .and_then(|sub_type| sub_type.composite.as_array())
            .map(|array| array.element.storage)
            .ok_or_else(|| invalid(format!("type {index} is not an array type")))
    }

    /// Calls the allocation builtin for module type `type_index` (an array
    /// of `len` elements when given): a zeroed object's reference.
    pub(super) fn allocate(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        type_index: u32,
        len: Option<Value>,
    ) -> Value {
        let type_index = builder.ins().iconst(types::I32, i64::from(type_index));
        let len = len.unwrap_or_else(|| builder.ins().iconst(types::I32, 0));
        self.env
            .call_builtin(builder, Builtin::GcAlloc, &[type_index, len])[0]
    }

    /// The address of the object `reference` (null traps with `null_trap`).
    pub(super) fn object_address(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        reference: Value,
        null_trap: TrapKind,
    ) -> Value {
        builder.ins().trapz(reference, null_trap.trap_code());
        let base = self.env.gc_heap_base(builder);
        builder.ins().iadd(base, reference)
    }

    /// `struct.new` of module type `type_index`, or `struct.new_desc` when
    /// `descriptor` (a non-null reference, popped already) is given.
    pub(super) fn struct_new(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        type_index: u32,
        descriptor: Option<Value>,
    ) -> Result<(), CompileError> {
        let (ty, layout) = self.struct_type(type_index)?;
        // A described struct is never without its descriptor.
        let descriptor = match (descriptor, layout.descriptor_offset) {
            (Some(descriptor), Some(offset)) => Some((descriptor, offset)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(invalid(format!("type {type_index} has no descriptor")));
            }
            (None, Some(_)) => {
                return Err(invalid(format!(
                    "type {type_index} needs its descriptor to be allocated"
                )));
            }
        };
        let values = self.stack.split_off(self.stack.len() - ty.fields.len());
        let object = self.allocate(builder, type_index, None);
        let base = self.env.gc_heap_base(builder);
        let address = builder.ins().iadd(base, object);
        for ((field, &offset), value) in ty.fields.iter().zip(&layout.field_offsets).zip(values) {
            store_field(builder, field.storage, address, offset as i32, value);
        }
        if let Some((descriptor, offset)) = descriptor {
            let flags = FuncEnvironment::gc_object_flags(builder);
            builder
                .ins()
                .store(flags, descriptor, address, offset as i32);
        }
        self.push(object);
        Ok(())
    }

    fn struct_get(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        type_index: u32,
        field_index: u32,
        extension: Extension,
    ) -> Result<(), CompileError> {
        let object = self.pop();
        let (ty, layout) = self.struct_type(type_index)?;
        let (storage, offset) = field_of(&ty, &layout, field_index)?;
        let address = self.object_address(builder, object, TrapKind::NullStructReference);
        let value = load_field(builder, storage, address, offset as i32, extension);
        self.push(value);
        Ok(())
    }

    /// The length of `array` (null traps).
    fn array_len(&mut self, builder: &mut FunctionBuilder<'_>, array: Value) -> Value {
        let address = self.object_address(builder, array, TrapKind::NullArrayReference);
        let flags = FuncEnvironment::gc_object_flags(builder);
        builder.ins().load(types::I32, flags, address, ARRAY_LENGTH)
    }

    /// The address of element `index` of `array` (null and out-of-bounds
    /// indices trap).
    fn element_address(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        storage: StorageType,
        array: Value,
        index: Value,
    ) -> Value {
        let len = self.array_len(builder, array);
        let out_of_bounds = builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        builder
            .ins()
            .trapnz(out_of_bounds, TrapKind::ArrayOutOfBounds.trap_code());
        // The length check dominates: reload the base only now, after no call.
        let base = self.env.gc_heap_base(builder);
        let object = builder.ins().iadd(base, array);
        let index = builder.ins().uextend(types::I64, index);
        let scaled = builder
            .ins()
            .imul_imm_u(index, i64::from(gc_layout::storage_size(storage)));
        let element = builder.ins().iadd(object, scaled);
        builder.ins().iadd_imm_u(element, i64::from(ARRAY_ELEMENTS))
    }

    fn array_get(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        type_index: u32,
        extension: Extension,
    ) -> Result<(), CompileError> {
        let (array, index) = self.pop2();
        let storage = self.array_element(type_index)?;
        let address = self.element_address(builder, storage, array, index);
        let value = load_field(builder, storage, address, 0, extension);
        self.push(value);
        Ok(())
    }

    fn array_new_fixed(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        type_index: u32,
        size: u32,
    ) -> Result<(), CompileError> {
        let storage = self.array_element(type_index)?;
        let values = self.stack.split_off(self.stack.len() - size as usize);
        let len = builder.ins().iconst(types::I32, i64::from(size));
        let array = self.allocate(builder, type_index, Some(len));
        let base = self.env.gc_heap_base(builder);
        let address = builder.ins().iadd(base, array);
        let element_size = gc_layout::storage_size(storage);
        for (index, value) in (0u32..).zip(values) {
            let offset = ARRAY_ELEMENTS + index * element_size;
            store_field(builder, storage, address, offset as i32, value);
        }
        self.push(array);
        Ok(())
    }

    /// `array.new_data` or `array.new_elem` (`builtin`) from `segment`.
    fn array_new_from(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        builtin: Builtin,
        type_index: u32,
        segment: u32,
    ) {
        let (offset, len) = self.pop2();
        let type_index = builder.ins().iconst(types::I32, i64::from(type_index));
        let segment = builder.ins().iconst(types::I32, i64::from(segment));
        let array = self
            .env
            .call_builtin(builder, builtin, &[type_index, segment, offset, len])[0];
        self.push(array);
    }

    /// `array.init_data` or `array.init_elem` (`builtin`) from `segment`.
    fn array_init_from(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        builtin: Builtin,
        segment: u32,
    ) {
        let (array, index, offset, len) = self.pop4();
        let segment = builder.ins().iconst(types::I32, i64::from(segment));
        self.env
            .call_builtin(builder, builtin, &[array, index, segment, offset, len]);
    }

    /// Calls the fill builtin with `value` split into two 64-bit halves.
    fn fill(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        storage: StorageType,
        array: Value,
        index: Value,
        value: Value,
        len: Value,
    ) {
        let (low, high) = match storage {
            StorageType::I8 | StorageType::I16 | StorageType::Val(ValType::I32) => {
                (builder.ins().uextend(types::I64, value), None)
            }
            StorageType::Val(ValType::F32) => {
                let bits = builder
                    .ins()
                    .bitcast(types::I32, MemFlagsData::new(), value);
                (builder.ins().uextend(types::I64, bits), None)
            }
            StorageType::Val(ValType::F64) => (
                builder
                    .ins()
                    .bitcast(types::I64, MemFlagsData::new(), value),
                None,
            ),
            StorageType::Val(ValType::I64 | ValType::Ref(_)) => (value, None),
            StorageType::Val(ValType::V128) => {
                let bits = builder.ins().bitcast(
                    types::I128,
                    MemFlagsData::new().with_endianness(ir::Endianness::Little),
                    value,
                );
                let (low, high) = builder.ins().isplit(bits);
                (low, Some(high))
            }
        };
        let high = high.unwrap_or_else(|| builder.ins().iconst(types::I64, 0));
        self.env
            .call_builtin(builder, Builtin::ArrayFill, &[array, index, low, high, len]);
    }
}

pub(super) fn invalid(message: String) -> CompileError {
    CompileError::Invalid { offset: 0, message }
}

/// The storage and offset of field `index` of `ty`.
fn field_of(
    ty: &StructType,
    layout: &StructLayout,
    index: u32,
) -> Result<(StorageType, u32), CompileError> {
    let field = ty
        .fields
        .get(index as usize)
        .ok_or_else(|| invalid(format!("struct field {index} does not exist")))?;
    Ok((field.storage, layout.field_offsets[index as usize]))
}

/// Reads a field of type `storage` at `address + offset`, widening a packed
/// one by `extension`.
fn load_field(
    builder: &mut FunctionBuilder<'_>,
    storage: StorageType,
    address: Value,
    offset: i32,
    extension: Extension,
) -> Value {
    let flags = FuncEnvironment::gc_object_flags(builder);
    let ins = builder.ins();
    match (storage, extension) {
        (StorageType::I8, Extension::Signed) => ins.sload8(types::I32, flags, address, offset),
        (StorageType::I8, Extension::Unsigned) => ins.uload8(types::I32, flags, address, offset),
        (StorageType::I16, Extension::Signed) => ins.sload16(types::I32, flags, address, offset),
        (StorageType::I16, Extension::Unsigned) => ins.uload16(types::I32, flags, address, offset),
        (StorageType::Val(ty), _) => ins.load(value_type(ty), flags, address, offset),
    }
}

/// Writes `value` to a field of type `storage` at `address + offset`,
/// truncating a packed one.
fn store_field(
    builder: &mut FunctionBuilder<'_>,
    storage: StorageType,
    address: Value,
    offset: i32,
    value: Value,
) {
    let flags = FuncEnvironment::gc_object_flags(builder);
    let ins = builder.ins();
    match storage {
        StorageType::I8 => ins.istore8(flags, value, address, offset),
        StorageType::I16 => ins.istore16(flags, value, address, offset),
        StorageType::Val(_) => ins.store(flags, value, address, offset),
    };
}

#[cfg(test)]
mod tests {
    use crate::MemoryStyle;
    use crate::translate::testing::{count, translate, tunables};
    use cranelift_codegen::ir::Opcode;

    fn translate_one(wat: &str) -> cranelift_codegen::ir::Function {
        translate(wat, &tunables(MemoryStyle::Static, None, true)).remove(0)
    }

    #[test]
    fn field_accesses_are_inline_after_a_null_check() {
        let func = translate_one(
            r#"(module (type $s (struct (field (mut i8)) (field i64)))
                 (func (param (ref null $s)) (result i32)
                   (struct.set $s 0 (local.get 0) (i32.const 300))
                   (struct.get_s $s 0 (local.get 0))))"#,
        );
        assert_eq!(count(&func, Opcode::Trapz), 2);
        assert_eq!(count(&func, Opcode::Istore8), 1);
        assert_eq!(count(&func, Opcode::Sload8), 1);
        assert_eq!(count(&func, Opcode::CallIndirect), 0);
    }

    #[test]
    fn array_elements_are_bounds_checked() {
        let func = translate_one(
            r#"(module (type $a (array (mut f64)))
                 (func (param (ref $a) i32) (result f64)
                   (array.get $a (local.get 0) (local.get 1))))"#,
        );
        assert_eq!(count(&func, Opcode::Trapnz), 1);
        assert_eq!(count(&func, Opcode::CallIndirect), 0);
    }

    #[test]
    fn allocation_calls_the_runtime_once() {
        let func = translate_one(
            r#"(module (type $s (struct (field i32) (field i32)))
                 (func (result (ref $s))
                   (struct.new $s (i32.const 1) (i32.const 2))))"#,
        );
        assert_eq!(count(&func, Opcode::CallIndirect), 1);
        // The two fields, and the exit frame's pc and fp before the call.
        assert_eq!(count(&func, Opcode::Store), 4);
    }

    #[test]
    fn i31_round_trips_without_the_heap() {
        let func = translate_one(
            r#"(module (func (param i32) (result i32)
                 (i31.get_s (ref.i31 (local.get 0)))))"#,
        );
        assert_eq!(count(&func, Opcode::Load), 0);
        assert_eq!(count(&func, Opcode::CallIndirect), 0);
    }
}

//! Custom descriptors' operators: `struct.new_desc`,
//! `struct.new_default_desc`, `ref.get_desc`, `ref.cast_desc_eq`,
//! `br_on_cast_desc_eq` and `br_on_cast_desc_eq_fail`.
//!
//! A struct of a described type holds its descriptor's reference in a
//! hidden field (`crate::gc_layout`), written once when the object is
//! allocated and never null afterwards. A descriptor cast compares that
//! field with the given descriptor, which identifies the object's exact
//! type; it reads the field only after the ordinary cast to the target
//! type succeeded, since every subtype of a described type is described
//! too and has the field at the same offset. A null descriptor operand
//! traps before anything else is looked at.

use super::Translator;
use super::casts::ObjectTest;
use super::gc::invalid;
use crate::error::CompileError;
use crate::func_environ::FuncEnvironment;
use crate::trap::TrapKind;
use crate::types::{HeapType, RefType, TypeIndex};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{BlockArg, InstBuilder, Value, types};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

impl Translator<'_> {
    /// Translates `op` if it is a custom descriptors operator; `false` when
    /// it is not.
    pub(super) fn translate_descriptors(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
        offset: usize,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        match *op {
            O::StructNewDesc { struct_type_index } => {
                let descriptor = self.pop_descriptor(builder);
                self.struct_new(builder, struct_type_index, Some(descriptor))?;
            }
            O::StructNewDefaultDesc { struct_type_index } => {
                let descriptor = self.pop_descriptor(builder);
                let (_, layout) = self.struct_type(struct_type_index)?;
                let descriptor_offset = layout.descriptor_offset.ok_or_else(|| {
                    invalid(format!("type {struct_type_index} has no descriptor"))
                })?;
                let object = self.allocate(builder, struct_type_index, None);
                let base = self.env.gc_heap_base(builder);
                let address = builder.ins().iadd(base, object);
                let flags = FuncEnvironment::gc_object_flags(builder);
                builder
                    .ins()
                    .store(flags, descriptor, address, descriptor_offset as i32);
                self.push(object);
            }
            O::RefGetDesc { type_index } => {
                let (_, layout) = self.struct_type(type_index)?;
                let descriptor_offset = layout
                    .descriptor_offset
                    .ok_or_else(|| invalid(format!("type {type_index} has no descriptor")))?;
                let object = self.pop();
                let address = self.object_address(builder, object, TrapKind::NullReference);
                let flags = FuncEnvironment::gc_object_flags(builder);
                let descriptor =
                    builder
                        .ins()
                        .load(types::I64, flags, address, descriptor_offset as i32);
                self.push(descriptor);
            }
            O::RefCastDescEqNonNull { hty } | O::RefCastDescEqNullable { hty } => {
                let target = RefType {
                    nullable: matches!(op, O::RefCastDescEqNullable { .. }),
                    heap_type: HeapType::from_wasmparser(hty, offset)?,
                };
                let descriptor = self.pop_descriptor(builder);
                let value = *self.stack.last().expect("validated operand stack");
                let matches = self.has_descriptor(builder, value, descriptor, target, offset)?;
                builder
                    .ins()
                    .trapz(matches, TrapKind::DescriptorCastFailure.trap_code());
            }
            O::BrOnCastDescEq {
                relative_depth,
                to_ref_type,
                ..
            } => self.branch_on_descriptor(builder, relative_depth, to_ref_type, true, offset)?,
            O::BrOnCastDescEqFail {
                relative_depth,
                to_ref_type,
                ..
            } => self.branch_on_descriptor(builder, relative_depth, to_ref_type, false, offset)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Pops a descriptor operand, trapping when it is null.
    fn pop_descriptor(&mut self, builder: &mut FunctionBuilder<'_>) -> Value {
        let descriptor = self.pop();
        builder
            .ins()
            .trapz(descriptor, TrapKind::NullDescriptorReference.trap_code());
        descriptor
    }

    /// `br_on_cast_desc_eq` (`on_match`) or `br_on_cast_desc_eq_fail`: the
    /// descriptor is popped, the reference stays on the stack either way
    /// and is the last value the label takes.
    fn branch_on_descriptor(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        relative_depth: u32,
        to: wasmparser::RefType,
        on_match: bool,
        offset: usize,
    ) -> Result<(), CompileError> {
        let target = RefType::from_wasmparser(to, offset)?;
        let descriptor = self.pop_descriptor(builder);
        let value = *self.stack.last().expect("validated operand stack");
        let matches = self.has_descriptor(builder, value, descriptor, target, offset)?;
        self.branch_if(builder, relative_depth, matches, on_match);
        Ok(())
    }

    /// Whether `value` is null (and `target` nullable) or an object of
    /// `target`'s type whose descriptor is the non-null `descriptor`, as an
    /// `i8` truth value.
    fn has_descriptor(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        value: Value,
        descriptor: Value,
        target: RefType,
        offset: usize,
    ) -> Result<Value, CompileError> {
        let (index, exact) = match target.heap_type {
            HeapType::Concrete(TypeIndex::Module(index)) => (index, false),
            HeapType::Exact(TypeIndex::Module(index)) => (index, true),
            other => {
                return Err(CompileError::Invalid {
                    offset,
                    message: format!("a descriptor cast to `{other}` needs a described type"),
                });
            }
        };
        let (_, layout) = self.struct_type(index.as_u32())?;
        let descriptor_offset = layout
            .descriptor_offset
            .ok_or_else(|| invalid(format!("type {index} has no descriptor")))?;
        let non_null = builder.ins().icmp_imm_u(IntCC::NotEqual, value, 0);
        let is_instance = self.object_matches(
            builder,
            value,
            non_null,
            false,
            ObjectTest::Type {
                index: index.as_u32(),
                exact,
            },
        )?;
        let compare = builder.create_block();
        let done = builder.create_block();
        let matches = builder.append_block_param(done, types::I8);
        let otherwise = if target.nullable {
            builder.ins().icmp_imm_u(IntCC::Equal, value, 0)
        } else {
            builder.ins().iconst(types::I8, 0)
        };
        builder.ins().brif(
            is_instance,
            compare,
            &[],
            done,
            &[BlockArg::Value(otherwise)],
        );
        builder.seal_block(compare);
        builder.switch_to_block(compare);
        let base = self.env.gc_heap_base(builder);
        let object = builder.ins().iadd(base, value);
        let flags = FuncEnvironment::gc_object_flags(builder);
        let actual = builder
            .ins()
            .load(types::I64, flags, object, descriptor_offset as i32);
        let same = builder.ins().icmp(IntCC::Equal, actual, descriptor);
        builder.ins().jump(done, &[BlockArg::Value(same)]);
        builder.seal_block(done);
        builder.switch_to_block(done);
        Ok(matches)
    }
}

#[cfg(test)]
mod tests {
    use crate::MemoryStyle;
    use crate::translate::testing::{count, translate, tunables};
    use cranelift_codegen::ir::Opcode;

    const TYPES: &str = r#"(rec
        (type $a (descriptor $b) (struct (field i32)))
        (type $b (describes $a) (struct)))"#;

    fn translate_one(body: &str) -> cranelift_codegen::ir::Function {
        let wat = format!("(module {TYPES} {body})");
        translate(&wat, &tunables(MemoryStyle::Static, None, true)).remove(0)
    }

    #[test]
    fn get_desc_is_a_null_check_and_a_load() {
        let func = translate_one(
            r#"(func (param (ref null $a)) (result (ref $b))
                 (ref.get_desc $a (local.get 0)))"#,
        );
        assert_eq!(count(&func, Opcode::Trapz), 1);
        assert_eq!(count(&func, Opcode::CallIndirect), 0);
    }

    #[test]
    fn new_desc_checks_the_descriptor_then_allocates_once() {
        let func = translate_one(
            r#"(func (param (ref null (exact $b))) (result (ref $a))
                 (struct.new_desc $a (i32.const 7) (local.get 0)))"#,
        );
        assert_eq!(count(&func, Opcode::Trapz), 1);
        assert_eq!(count(&func, Opcode::CallIndirect), 1);
    }

    #[test]
    fn desc_eq_cast_is_inline() {
        let func = translate_one(
            r#"(func (param anyref (ref null (exact $b))) (result (ref (exact $a)))
                 (ref.cast_desc_eq (ref (exact $a)) (local.get 0) (local.get 1)))"#,
        );
        // The null descriptor check and the failed cast.
        assert_eq!(count(&func, Opcode::Trapz), 2);
        assert_eq!(count(&func, Opcode::CallIndirect), 0);
    }
}

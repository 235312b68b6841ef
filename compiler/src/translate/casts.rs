//! Casts of function and external references: `ref.test`, `ref.cast`,
//! `br_on_cast`, `br_on_cast_fail`.
//!
//! These are GC instructions, but on the function and external hierarchies
//! they need no collected heap: a function reference carries its engine
//! type id (`VMFuncRef`), and an external reference is only null or not. A
//! cast into the internal hierarchy (`any`, `eq`, `i31`, `struct`, `array`,
//! `none` and struct or array types) needs GC objects and is refused as
//! unsupported until the collector exists.

use super::{Translator, block_args};
use crate::error::CompileError;
use crate::trap::TrapKind;
use crate::types::{AbstractHeapType, CompositeKind, HeapType, RefType, TypeIndex};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{BlockArg, InstBuilder, Value, types};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

/// The heap types a cast can test today.
enum CastTarget {
    /// `func` or `extern`: every non-null reference of the hierarchy.
    Top,
    /// `nofunc` or `noextern`: no non-null reference.
    Bottom,
    /// A function type of the module: non-null references whose function
    /// has a subtype of it.
    FuncType(u32),
}

impl Translator<'_> {
    /// Translates `op` if it is a cast; `false` when it is not.
    pub(super) fn translate_casts(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
        offset: usize,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        match *op {
            O::RefTestNonNull { hty } | O::RefTestNullable { hty } => {
                let nullable = matches!(op, O::RefTestNullable { .. });
                let target = self.cast_target(HeapType::from_wasmparser(hty, offset)?, offset)?;
                let value = self.pop();
                let matches = self.reference_matches(builder, value, nullable, target)?;
                let matches = Self::bool_to_i32(builder, matches);
                self.push(matches);
            }
            O::RefCastNonNull { hty } | O::RefCastNullable { hty } => {
                let nullable = matches!(op, O::RefCastNullable { .. });
                let target = self.cast_target(HeapType::from_wasmparser(hty, offset)?, offset)?;
                let value = *self.stack.last().expect("validated operand stack");
                let matches = self.reference_matches(builder, value, nullable, target)?;
                builder
                    .ins()
                    .trapz(matches, TrapKind::CastFailure.trap_code());
            }
            O::BrOnCast {
                relative_depth,
                to_ref_type,
                ..
            } => self.branch_on_cast(builder, relative_depth, to_ref_type, true, offset)?,
            O::BrOnCastFail {
                relative_depth,
                to_ref_type,
                ..
            } => self.branch_on_cast(builder, relative_depth, to_ref_type, false, offset)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `br_on_cast` (`on_match`) or `br_on_cast_fail`: the reference stays
    /// on the stack either way and is the last value the label takes.
    fn branch_on_cast(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        relative_depth: u32,
        to: wasmparser::RefType,
        on_match: bool,
        offset: usize,
    ) -> Result<(), CompileError> {
        let to = RefType::from_wasmparser(to, offset)?;
        let target = self.cast_target(to.heap_type, offset)?;
        let value = *self.stack.last().expect("validated operand stack");
        let matches = self.reference_matches(builder, value, to.nullable, target)?;
        let (label, arity) = self.branch_target_and_arity(relative_depth);
        let args = block_args(self.peek_n(arity));
        let fallthrough = builder.create_block();
        if on_match {
            builder.ins().brif(matches, label, &args, fallthrough, &[]);
        } else {
            builder.ins().brif(matches, fallthrough, &[], label, &args);
        }
        builder.seal_block(fallthrough);
        builder.switch_to_block(fallthrough);
        Ok(())
    }

    /// What a cast to `heap_type` tests, or unsupported for the internal
    /// hierarchy.
    fn cast_target(&self, heap_type: HeapType, offset: usize) -> Result<CastTarget, CompileError> {
        let unsupported = || CompileError::Unsupported {
            feature: "gc".into(),
            offset,
            message: format!(
                "a cast to `{heap_type}` needs GC objects, which are not supported yet"
            ),
        };
        match heap_type {
            HeapType::Abstract { shared: false, ty } => match ty {
                AbstractHeapType::Func | AbstractHeapType::Extern => Ok(CastTarget::Top),
                AbstractHeapType::NoFunc | AbstractHeapType::NoExtern => Ok(CastTarget::Bottom),
                _ => Err(unsupported()),
            },
            HeapType::Concrete(TypeIndex::Module(index)) => {
                let is_func = self
                    .env
                    .info()
                    .types
                    .sub_type(index)
                    .is_some_and(|ty| ty.composite.shape().kind == CompositeKind::Func);
                if is_func {
                    Ok(CastTarget::FuncType(index.as_u32()))
                } else {
                    Err(unsupported())
                }
            }
            _ => Err(unsupported()),
        }
    }

    /// Whether `value` is a value of the reference type (`nullable`,
    /// `target`), as an `i8` truth value.
    fn reference_matches(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        value: Value,
        nullable: bool,
        target: CastTarget,
    ) -> Result<Value, CompileError> {
        let non_null = builder.ins().icmp_imm_u(IntCC::NotEqual, value, 0);
        Ok(match (target, nullable) {
            (CastTarget::Top, true) => builder.ins().iconst(types::I8, 1),
            (CastTarget::Top, false) => non_null,
            (CastTarget::Bottom, true) => builder.ins().icmp_imm_u(IntCC::Equal, value, 0),
            (CastTarget::Bottom, false) => builder.ins().iconst(types::I8, 0),
            (CastTarget::FuncType(type_index), nullable) => {
                let test_type = builder.create_block();
                let done = builder.create_block();
                let matches = builder.append_block_param(done, types::I8);
                let null_matches = builder.ins().iconst(types::I8, i64::from(nullable));
                builder.ins().brif(
                    non_null,
                    test_type,
                    &[],
                    done,
                    &[BlockArg::Value(null_matches)],
                );
                builder.seal_block(test_type);
                builder.switch_to_block(test_type);
                let has_subtype = self.func_ref_has_subtype(builder, value, type_index)?;
                builder.ins().jump(done, &[BlockArg::Value(has_subtype)]);
                builder.seal_block(done);
                builder.switch_to_block(done);
                matches
            }
        })
    }
}

//! Casts: `ref.test`, `ref.cast`, `br_on_cast`, `br_on_cast_fail`.
//!
//! A function reference carries its engine type id (`VMFuncRef`); an
//! external reference is only null or not. In the internal hierarchy a
//! reference's tag bits tell an `i31`, an internalized host reference and
//! a GC object apart (`crate::gc_layout`), and an object's header holds its
//! engine type id and whether it is an array. A cast to a concrete type
//! compares the type id with the target's (only that for a final type and
//! for an exact target, `(ref (exact $t))`); when
//! they differ and the target has subtypes, an object's type is looked up
//! in the store's supertype displays (Wasmtime-style: the supertype at the
//! target's depth must be the target), a function's in the runtime's type
//! registry (`Builtin::IsSubtype`).

use super::Translator;
use crate::builtins::Builtin;
use crate::error::CompileError;
use crate::func_environ::FuncEnvironment;
use crate::gc_layout::{EXTERN_TAG, FLAG_ARRAY, HEADER_FLAGS, HEADER_TYPE_ID, I31_TAG, TAG_MASK};
use crate::trap::TrapKind;
use crate::types::{AbstractHeapType, CompositeKind, HeapType, RefType, TypeIndex};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{Block, BlockArg, InstBuilder, Value, types};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

/// What a cast tests.
enum CastTarget {
    /// `func`, `extern` or `any`: every non-null reference of the hierarchy.
    Top,
    /// `nofunc`, `noextern` or `none`: no non-null reference.
    Bottom,
    /// A function type of the module: non-null references whose function
    /// has it or (unless `exact`) a subtype of it.
    FuncType {
        /// The module type index.
        index: u32,
        /// Whether only the type itself matches.
        exact: bool,
    },
    /// `eq`: `i31`s and GC objects.
    Eq,
    /// `i31`.
    I31,
    /// GC objects: any struct, any array, or objects of a subtype of a
    /// struct or array type of the module.
    Object(ObjectTest),
}

/// Which GC objects a cast accepts.
pub(super) enum ObjectTest {
    /// Every struct.
    AnyStruct,
    /// Every array.
    AnyArray,
    /// Objects of this module type or (unless `exact`) a subtype of it.
    Type {
        /// The module type index.
        index: u32,
        /// Whether only the type itself matches.
        exact: bool,
    },
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
        self.branch_if(builder, relative_depth, matches, on_match);
        Ok(())
    }

    /// What a cast to `heap_type` tests, or unsupported for the internal
    /// hierarchy.
    fn cast_target(&self, heap_type: HeapType, offset: usize) -> Result<CastTarget, CompileError> {
        let unsupported = || CompileError::Unsupported {
            feature: "gc".into(),
            offset,
            message: format!("a cast to `{heap_type}` is not supported"),
        };
        match heap_type {
            HeapType::Abstract { shared: false, ty } => match ty {
                AbstractHeapType::Func | AbstractHeapType::Extern | AbstractHeapType::Any => {
                    Ok(CastTarget::Top)
                }
                AbstractHeapType::NoFunc | AbstractHeapType::NoExtern | AbstractHeapType::None => {
                    Ok(CastTarget::Bottom)
                }
                AbstractHeapType::Eq => Ok(CastTarget::Eq),
                AbstractHeapType::I31 => Ok(CastTarget::I31),
                AbstractHeapType::Struct => Ok(CastTarget::Object(ObjectTest::AnyStruct)),
                AbstractHeapType::Array => Ok(CastTarget::Object(ObjectTest::AnyArray)),
                AbstractHeapType::Exn | AbstractHeapType::NoExn => Err(unsupported()),
            },
            HeapType::Concrete(TypeIndex::Module(index))
            | HeapType::Exact(TypeIndex::Module(index)) => {
                let exact = matches!(heap_type, HeapType::Exact(_));
                let kind = self
                    .env
                    .info()
                    .types
                    .sub_type(index)
                    .map(|ty| ty.composite.shape().kind);
                match kind {
                    Some(CompositeKind::Func) => Ok(CastTarget::FuncType {
                        index: index.as_u32(),
                        exact,
                    }),
                    Some(CompositeKind::Struct | CompositeKind::Array) => {
                        Ok(CastTarget::Object(ObjectTest::Type {
                            index: index.as_u32(),
                            exact,
                        }))
                    }
                    _ => Err(unsupported()),
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
            (CastTarget::FuncType { index, exact }, nullable) => {
                let (done, matches) = Self::split_on_null(builder, non_null, nullable);
                let has_subtype = if exact {
                    self.func_ref_has_type(builder, value, index)
                } else {
                    self.func_ref_has_subtype(builder, value, index)?
                };
                builder.ins().jump(done, &[BlockArg::Value(has_subtype)]);
                builder.seal_block(done);
                builder.switch_to_block(done);
                matches
            }
            (CastTarget::I31, nullable) => {
                let is_i31 = builder.ins().band_imm_u(value, I31_TAG as i64);
                let is_i31 = builder.ins().icmp_imm_u(IntCC::NotEqual, is_i31, 0);
                if nullable {
                    let is_null = builder.ins().icmp_imm_u(IntCC::Equal, value, 0);
                    builder.ins().bor(is_i31, is_null)
                } else {
                    is_i31
                }
            }
            (CastTarget::Eq, nullable) => {
                // Null's tag bits are 0 too: only host references are not `eq`.
                let tag = builder.ins().band_imm_u(value, TAG_MASK as i64);
                let not_host = builder
                    .ins()
                    .icmp_imm_u(IntCC::NotEqual, tag, EXTERN_TAG as i64);
                if nullable {
                    not_host
                } else {
                    builder.ins().band(not_host, non_null)
                }
            }
            (CastTarget::Object(test), nullable) => {
                self.object_matches(builder, value, non_null, nullable, test)?
            }
        })
    }

    /// Starts the test of a reference: a null one (`non_null` false) goes
    /// straight to the returned block with `nullable` as the result, and
    /// the builder goes on in a new block for the others. Returns that
    /// `done` block (unsealed) and its `i8` result parameter.
    fn split_on_null(
        builder: &mut FunctionBuilder<'_>,
        non_null: Value,
        nullable: bool,
    ) -> (Block, Value) {
        let test = builder.create_block();
        let done = builder.create_block();
        let matches = builder.append_block_param(done, types::I8);
        let null_matches = builder.ins().iconst(types::I8, i64::from(nullable));
        builder
            .ins()
            .brif(non_null, test, &[], done, &[BlockArg::Value(null_matches)]);
        builder.seal_block(test);
        builder.switch_to_block(test);
        (done, matches)
    }

    /// Whether `value` is null (and `nullable`) or a GC object that passes
    /// `test`, as an `i8` truth value.
    pub(super) fn object_matches(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        value: Value,
        non_null: Value,
        nullable: bool,
        test: ObjectTest,
    ) -> Result<Value, CompileError> {
        let (done, matches) = Self::split_on_null(builder, non_null, nullable);
        let check_header = builder.create_block();
        let tag = builder.ins().band_imm_u(value, TAG_MASK as i64);
        let is_object = builder.ins().icmp_imm_u(IntCC::Equal, tag, 0);
        let no = builder.ins().iconst(types::I8, 0);
        builder
            .ins()
            .brif(is_object, check_header, &[], done, &[BlockArg::Value(no)]);
        builder.seal_block(check_header);
        builder.switch_to_block(check_header);
        let base = self.env.gc_heap_base(builder);
        let object = builder.ins().iadd(base, value);
        let flags = FuncEnvironment::gc_object_flags(builder);
        let result = match test {
            ObjectTest::AnyStruct | ObjectTest::AnyArray => {
                let object_flags = builder.ins().load(types::I32, flags, object, HEADER_FLAGS);
                let is_array = builder
                    .ins()
                    .band_imm_u(object_flags, i64::from(FLAG_ARRAY));
                let wanted = if matches!(test, ObjectTest::AnyArray) {
                    IntCC::NotEqual
                } else {
                    IntCC::Equal
                };
                builder.ins().icmp_imm_u(wanted, is_array, 0)
            }
            ObjectTest::Type { index, exact } => {
                let actual = builder
                    .ins()
                    .load(types::I32, flags, object, HEADER_TYPE_ID);
                if exact {
                    let expected = self.env.type_id(builder, index);
                    builder.ins().icmp(IntCC::Equal, expected, actual)
                } else {
                    self.object_type_has_subtype(builder, actual, index)?
                }
            }
        };
        builder.ins().jump(done, &[BlockArg::Value(result)]);
        builder.seal_block(done);
        builder.switch_to_block(done);
        Ok(matches)
    }

    /// Whether engine type id `actual`, the type of a GC object, is module
    /// type `type_index` or a subtype of it, as an `i8` truth value: equal
    /// ids, else (for a type with subtypes) the supertype at the target's
    /// depth in the object type's display. Every allocated object's type
    /// has a display, so the check needs no call.
    fn object_type_has_subtype(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        actual: Value,
        type_index: u32,
    ) -> Result<Value, CompileError> {
        let expected = self.env.type_id(builder, type_index);
        let equal = builder.ins().icmp(IntCC::Equal, expected, actual);
        if self.env.type_is_final(type_index)? {
            return Ok(equal);
        }
        let depth = self.env.type_depth(type_index);
        let display = builder.create_block();
        let deep_enough = builder.create_block();
        let done = builder.create_block();
        let matches = builder.append_block_param(done, types::I8);
        let no = builder.ins().iconst(types::I8, 0);
        builder
            .ins()
            .brif(equal, done, &[BlockArg::Value(equal)], display, &[]);
        builder.seal_block(display);
        builder.switch_to_block(display);
        let displays = self.env.gc_type_displays(builder);
        let flags = FuncEnvironment::limits_flags(builder);
        let index = builder.ins().uextend(types::I64, actual);
        let entry = builder.ins().ishl_imm_u(index, 3);
        let entry = builder.ins().iadd(displays, entry);
        let chain = builder.ins().load(types::I64, flags, entry, 0);
        let len = builder.ins().load(types::I32, flags, chain, 0);
        let long_enough =
            builder
                .ins()
                .icmp_imm_u(IntCC::UnsignedGreaterThan, len, i64::from(depth));
        builder
            .ins()
            .brif(long_enough, deep_enough, &[], done, &[BlockArg::Value(no)]);
        builder.seal_block(deep_enough);
        builder.switch_to_block(deep_enough);
        let at_depth = builder
            .ins()
            .load(types::I32, flags, chain, (4 + 4 * depth) as i32);
        let is_subtype = builder.ins().icmp(IntCC::Equal, at_depth, expected);
        builder.ins().jump(done, &[BlockArg::Value(is_subtype)]);
        builder.seal_block(done);
        builder.switch_to_block(done);
        Ok(matches)
    }

    /// Whether engine type id `actual`, a function's type, is module type
    /// `type_index` or a subtype of it, as an `i8` truth value (the
    /// registry answers when the ids differ and the type has subtypes).
    pub(super) fn type_id_has_subtype(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        actual: Value,
        type_index: u32,
    ) -> Result<Value, CompileError> {
        let expected = self.env.type_id(builder, type_index);
        let equal = builder.ins().icmp(IntCC::Equal, expected, actual);
        if self.env.type_is_final(type_index)? {
            return Ok(equal);
        }
        let slow = builder.create_block();
        let done = builder.create_block();
        let matches = builder.append_block_param(done, types::I8);
        builder.set_cold_block(slow);
        builder
            .ins()
            .brif(equal, done, &[BlockArg::Value(equal)], slow, &[]);
        builder.seal_block(slow);
        builder.switch_to_block(slow);
        let is_subtype = self
            .env
            .call_builtin(builder, Builtin::IsSubtype, &[actual, expected])[0];
        let is_subtype = builder.ins().icmp_imm_u(IntCC::NotEqual, is_subtype, 0);
        builder.ins().jump(done, &[BlockArg::Value(is_subtype)]);
        builder.seal_block(done);
        builder.switch_to_block(done);
        Ok(matches)
    }
}

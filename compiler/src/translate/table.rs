//! Table operators (`call_indirect` is with the calls).
//!
//! A 64-bit table (table64) takes and returns i64 indices, sizes and
//! lengths; the builtins take u64 and 32-bit callers zero-extend.

use super::Translator;
use crate::bounds_checks;
use crate::builtins::Builtin;
use crate::error::CompileError;
use crate::func_environ::FuncEnvironment;
use crate::translate::memory::{narrow_to, widen_to_u64};
use crate::trap::TrapKind;
use crate::types::IndexType;
use cranelift_codegen::ir::{InstBuilder, types};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

impl Translator<'_> {
    /// Translates `op` if it is a table operator; `false` when it is not.
    pub(super) fn translate_table(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        match *op {
            O::TableGet { table } => {
                let index = self.pop();
                let address = bounds_checks::table_element_address(
                    &self.env,
                    builder,
                    table,
                    index,
                    TrapKind::TableOutOfBounds,
                );
                let flags = FuncEnvironment::table_flags(builder);
                let value = builder.ins().load(types::I64, flags, address, 0);
                self.push(value);
            }
            O::TableSet { table } => {
                let (index, value) = self.pop2();
                let address = bounds_checks::table_element_address(
                    &self.env,
                    builder,
                    table,
                    index,
                    TrapKind::TableOutOfBounds,
                );
                let flags = FuncEnvironment::table_flags(builder);
                builder.ins().store(flags, value, address, 0);
            }
            O::TableSize { table } => {
                let index_type = self.table_index_type(table);
                let definition = self.env.table_definition(builder, table);
                let size = self.env.table_size(builder, table, definition);
                let size = narrow_to(builder, size, index_type);
                self.push(size);
            }
            O::TableGrow { table } => {
                let index_type = self.table_index_type(table);
                let (init, delta) = self.pop2();
                self.bulk_operation_checkpoint(builder, delta);
                let delta = widen_to_u64(builder, delta);
                let table = builder.ins().iconst(types::I32, i64::from(table));
                let old = self
                    .env
                    .call_builtin(builder, Builtin::TableGrow, &[table, delta, init])[0];
                // A refused grow returns `u64::MAX`, whose low half is the
                // 32-bit -1.
                let old = narrow_to(builder, old, index_type);
                self.push(old);
            }
            O::TableFill { table } => {
                let (dst, value, len) = self.pop3();
                self.bulk_operation_checkpoint(builder, len);
                let dst = widen_to_u64(builder, dst);
                let len = widen_to_u64(builder, len);
                let table = builder.ins().iconst(types::I32, i64::from(table));
                self.env
                    .call_builtin(builder, Builtin::TableFill, &[table, dst, value, len]);
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                // Each index has its table's index type; the length is an
                // i64 only when both tables are 64-bit.
                let (dst, src, len) = self.pop3();
                self.bulk_operation_checkpoint(builder, len);
                let dst = widen_to_u64(builder, dst);
                let src = widen_to_u64(builder, src);
                let len = widen_to_u64(builder, len);
                let dst_table = builder.ins().iconst(types::I32, i64::from(dst_table));
                let src_table = builder.ins().iconst(types::I32, i64::from(src_table));
                self.env.call_builtin(
                    builder,
                    Builtin::TableCopy,
                    &[dst_table, src_table, dst, src, len],
                );
            }
            O::TableInit { elem_index, table } => {
                let (dst, src, len) = self.pop3();
                self.bulk_operation_checkpoint(builder, len);
                let dst = widen_to_u64(builder, dst);
                let table = builder.ins().iconst(types::I32, i64::from(table));
                let elem = builder.ins().iconst(types::I32, i64::from(elem_index));
                self.env
                    .call_builtin(builder, Builtin::TableInit, &[table, elem, dst, src, len]);
            }
            O::ElemDrop { elem_index } => {
                let elem = builder.ins().iconst(types::I32, i64::from(elem_index));
                self.env.call_builtin(builder, Builtin::ElemDrop, &[elem]);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The type of table `table`'s indices.
    fn table_index_type(&self, table: u32) -> IndexType {
        self.env.info().tables[table as usize].ty.index_type()
    }
}

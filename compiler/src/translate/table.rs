//! Table operators (`call_indirect` is with the calls).

use super::Translator;
use crate::bounds_checks;
use crate::builtins::Builtin;
use crate::error::CompileError;
use crate::func_environ::FuncEnvironment;
use crate::trap::TrapKind;
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
                let definition = self.env.table_definition(builder, table);
                let size = FuncEnvironment::table_size(builder, definition);
                let size = builder.ins().ireduce(types::I32, size);
                self.push(size);
            }
            O::TableGrow { table } => {
                let (init, delta) = self.pop2();
                let table = builder.ins().iconst(types::I32, i64::from(table));
                let old = self
                    .env
                    .call_builtin(builder, Builtin::TableGrow, &[table, delta, init])[0];
                self.push(old);
            }
            O::TableFill { table } => {
                let (dst, value, len) = self.pop3();
                let table = builder.ins().iconst(types::I32, i64::from(table));
                self.env
                    .call_builtin(builder, Builtin::TableFill, &[table, dst, value, len]);
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                let (dst, src, len) = self.pop3();
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
}

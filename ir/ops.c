/* ops.c — the op table, expanded from ops.def. */
#include <string.h>

#include "ir.h"
#include "ref/ref.h"

const ir_op_info ir_op_table[IR_OP_COUNT] = {
#define IR_OP(id, oname, min_in, max_in, min_out, max_out, flags, parse,       \
              infer, eval)                                                     \
  [IR_OP_##id] = {oname, min_in, max_in, min_out, max_out, flags, parse, infer, \
                  eval},
#include "ops.def"
#undef IR_OP
};

const ir_op_info *ir_op_get(ir_op op) {
  if (op <= IR_OP_INVALID || op >= IR_OP_COUNT) return NULL;
  return &ir_op_table[op];
}

ir_op ir_op_lookup(const char *name) {
  for (int op = 1; op < IR_OP_COUNT; op++)
    if (strcmp(ir_op_table[op].name, name) == 0) return (ir_op)op;
  return IR_OP_INVALID;
}

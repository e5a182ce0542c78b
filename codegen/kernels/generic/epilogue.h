/* epilogue.h — the elementwise epilogue a float32 step may carry: up to
 * KEPI_MAX unary ops applied in place to what the step just wrote, while
 * it is still in cache (codegen/plan.c decides which elementwise nodes a
 * producer absorbs; docs/fusion.md).
 *
 * Each op is a float32 unary formula of k_ew_unary (kew_unary_op, with
 * its alpha/beta, Clip's constant bounds in a/b) or a binary op of
 * k_ew_binary with a constant scalar operand (kew_binary_op; a is the
 * scalar, b != 0 when the scalar is the left operand).  The formulas are
 * the same expressions the unfused steps evaluate (ew_formulas.h), so a
 * fused step gives the unfused steps' result bit for bit.
 *
 * Shared by the templates and by the lowering code; the loops are in
 * epilogue_apply.h (templates only).
 */
#ifndef INGOT_K_EPILOGUE_H
#define INGOT_K_EPILOGUE_H

#include "kabi.h"

#define KEPI_MAX 4

enum { KEPI_UNARY = 0, KEPI_SCALAR = 1 };

typedef struct kepi_op {
  int32_t kind; /* KEPI_UNARY or KEPI_SCALAR */
  int32_t op;   /* kew_unary_op or kew_binary_op */
  float a, b;   /* alpha/beta, Clip bounds, or the scalar and its side */
} kepi_op;

typedef struct kepi {
  int32_t n, pad_;
  kepi_op ops[KEPI_MAX];
} kepi;

#endif /* INGOT_K_EPILOGUE_H */

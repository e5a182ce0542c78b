/* lower_bf16.h — bf16 products (lower_bf16.c): MatMul and Gemm nodes the
 * quantise pass marked ir_node.compute = IR_BF16. */
#ifndef INGOT_CODEGEN_LOWER_BF16_H
#define INGOT_CODEGEN_LOWER_BF16_H

#include "lower.h"

/* Lowers |n| (MatMul or Gemm, compute == IR_BF16) to k_bf16_pack_a +
 * k_mm_bf16_avx512.  A target without AVX512-BF16 is an error naming the
 * node (the quantise pass only marks nodes when the target has it). */
ingot_status cg_lower_bf16_product(cg_lower_ctx *ctx, const ir_node *n);

#endif /* INGOT_CODEGEN_LOWER_BF16_H */

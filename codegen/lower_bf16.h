/* lower_bf16.h — bf16 layers (lower_bf16.c): Conv, MatMul and Gemm nodes
 * the quantise pass marked ir_node.compute = IR_BF16. */
#ifndef INGOT_CODEGEN_LOWER_BF16_H
#define INGOT_CODEGEN_LOWER_BF16_H

#include "generic/conv.h"
#include "lower.h"

/* Lowers |n| (MatMul or Gemm, compute == IR_BF16) to its pack steps and
 * k_mm_bf16_amx / k_mm_bf16_avx512.  A target without AVX512-BF16 is an
 * error naming the node (the quantise pass only marks nodes when the
 * target has it). */
ingot_status cg_lower_bf16_product(cg_lower_ctx *ctx, const ir_node *n);

/* Lowers the Conv |n| (compute == IR_BF16) whose geometry, strides and
 * buffers lower_conv.c put in |cd|: k_bf16_im2col and a bf16 product per
 * group. */
ingot_status cg_lower_bf16_conv(cg_lower_ctx *ctx, const ir_node *n,
                                const k_conv_desc *cd);

#endif /* INGOT_CODEGEN_LOWER_BF16_H */

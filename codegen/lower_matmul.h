/* lower_matmul.h — the part of the matrix-product lowering that
 * lower_conv.c shares: a 1x1 convolution is a product, and goes through
 * the same register-tile choice, B packing and task split. */
#ifndef INGOT_CODEGEN_LOWER_MATMUL_H
#define INGOT_CODEGEN_LOWER_MATMUL_H

#include "generic/matmul.h"
#include "lower.h"

/* The register budget of the float templates on the target: how many
 * kf16 accumulators a block may hold, and at most how many 16-float
 * vectors of output channels/columns it spans. */
void cg_f32_regs(const cg_lower_ctx *ctx, int64_t *budget, int64_t *max_nv);

/* Chooses the register micro-tile (d->mr, d->nv) of a float32 product for
 * the target; call before cg_mm_pack_b (the panel width is nv*16). */
void cg_mm_choose_tile(const cg_lower_ctx *ctx, k_mm_desc *d);

/* Packs |nmat| constant float32 matrices B(p, j) = src[mat*mat_stride +
 * p*rs + j*cs] (p < d->k, j < d->n) into zero-padded panels of d->nv*16
 * columns in the weights; sets d->b, b_panel, b_ps and returns the packed
 * size of one matrix in elements (for the batch strides) in *mat_elems. */
ingot_status cg_mm_pack_b(cg_lower_ctx *ctx, k_mm_desc *d, const float *src,
                          int64_t nmat, int64_t mat_stride, int64_t rs,
                          int64_t cs, int64_t *mat_elems);

/* Splits a float product of |nbatch| matrices into tasks (d->mt, nt,
 * tiles_*) and sets d->kc; after cg_mm_choose_tile and the B packing. */
void cg_mm_split(k_mm_desc *d, int64_t nbatch);

/* Sets |d|'s C operand (y = A·B + C) to float32 tensor |c|: its last dim
 * runs along the columns and, when it has two dims of which the first is
 * not 1, its rows along the rows; a dim of 1 broadcasts (a bias row, a
 * column, a scalar). */
ingot_status cg_mm_set_c(cg_lower_ctx *ctx, k_mm_desc *d, ir_tensor_id c);

/* Splits the product into tasks, picks the template for the target (the
 * AVX-512 one when the operands allow it) and emits the step.  |what|
 * names the op in the step summary ("MatMul", "Gemm", "Conv 1x1"). */
ingot_status cg_mm_emit(cg_lower_ctx *ctx, k_mm_desc *d, const char *what);

#endif /* INGOT_CODEGEN_LOWER_MATMUL_H */

/* lower_q8.h — lowering of int8 products with constant weights and
 * constant quantisation parameters to the packed int8 templates
 * (kernels/generic/qconv.h): QLinearConv, ConvInteger (lower_conv.c),
 * QLinearMatMul, MatMulInteger, com.microsoft QGemm (lower_matmul.c).
 *
 * The caller describes the product (geometry in a k_q8_desc, the
 * quantisation parameters and where the model's weights are in a
 * cg_q8_src); cg_lower_q8 checks that the fast path applies, packs,
 * folds, picks the family and emits the step.  It answers *handled =
 * false (and no error) when the product needs the run-time-parameter
 * templates instead (parameters that are graph inputs, layouts the
 * templates cannot read, a non-finite multiplier), so the caller falls
 * back to k_conv_q8 / k_mm_q8.
 */
#ifndef INGOT_CODEGEN_LOWER_Q8_H
#define INGOT_CODEGEN_LOWER_Q8_H

#include <stdbool.h>

#include "generic/qconv.h"
#include "lower.h"

/* Int8 kernel families, best last.  ORDER: q8_families[] in lower_q8.c.
 * AMX (K2) goes above VNNI: see docs/int8.md "Kernel families". */
typedef enum cg_q8_family {
  CG_Q8_GENERIC = 0, /* k_qconv: plain C */
  CG_Q8_AVX2 = 1,    /* k_qconv_avx2: exact vpmaddwd */
  CG_Q8_VNNI = 2,    /* k_qconv_vnni: AVX-512 vpdpbusd */
  CG_Q8_COUNT
} cg_q8_family;

/* The best int8 family target |t| can run. */
cg_q8_family cg_q8_family_of(const cg_target *t);
/* "generic", "avx2", "vnni". */
const char *cg_q8_family_name(cg_q8_family f);

/* The model-side description of one product: W(g, co, ci, tap) =
 * w[(g*cout_g + co)*w_so + ci*w_si + tap*w_st] (uint8 or int8); zero
 * points and scales as constant tensors (0: absent); |bias| an int32
 * constant tensor or 0. */
typedef struct cg_q8_src {
  ir_tensor_id x, w, y;
  ir_tensor_id x_zp, w_zp, x_scale, w_scale, y_scale, y_zp, bias;
  int64_t w_so, w_si, w_st;
  bool qlinear;  /* requantised output (needs the scales and y_zp) */
  bool qgemm;    /* com.microsoft QGemm: M = (alpha·s_x)·s_w[c] [/ s_y],
                    y_zp optional */
  bool float_out; /* QGemm without y_scale: y = float(acc)·M, float32 */
  float alpha;
} cg_q8_src;

/* |d| has the geometry (batch, group, cin_g, cout_g, in/out/k/s/d/pb, the
 * strides of X and Y and their bufs x, y) set; |xs_c| and |ys_c| are the
 * channel strides of X and Y (the templates need 1).  |what| names the op
 * in the step summary. */
ingot_status cg_lower_q8(cg_lower_ctx *ctx, const ir_node *n, k_q8_desc *d,
                         int64_t xs_c, int64_t ys_c, const cg_q8_src *src,
                         const char *what, bool *handled);

#endif /* INGOT_CODEGEN_LOWER_Q8_H */

/* quant.h — descriptors of the quantisation templates (quant.c):
 * QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear, plus the
 * rounding helper they share.
 *
 * Shared by the templates and by codegen/lower_quant.c.  The arithmetic is
 * DESIGN.md §5 and the reference's (ir/ref/quant.c) step for step:
 *   quantise   q = clamp(rne(x / s) + zp, qmin, qmax), x / s in float32,
 *              NaN -> zp;
 *   dequantise y = float32(q - zp) * s.
 * Scales and zero points are read from buffers at run time (constants sit
 * in the weights; DynamicQuantizeLinear's come from the arena).
 */
#ifndef INGOT_K_QUANT_H
#define INGOT_K_QUANT_H

#include <string.h>

#include "kabi.h"
#include "kmath.h"

enum { KQ_F32 = 1, KQ_U8 = 2, KQ_I8 = 3, KQ_I32 = 6 }; /* ONNX numbering */

/* Elements a task unit handles (per-tensor parameters: one long run). */
#define KQ_CHUNK 4096

/* k_q_quantize (x: F32 or I32 -> y: U8 or I8) and k_q_dequantize
 * (x: U8, I8 or I32 -> y: F32).  The tensor is [outer, ch, inner]; channel
 * c uses scale[c] (float32) and zp[c] (|zdtype|, or 0 without a zero
 * point: has_zp = 0).  Units: outer * ch * ceil(inner / KQ_CHUNK). */
typedef struct kq_linear {
  kbuf x, scale, zp, y;
  int32_t xdtype, ydtype, zdtype, has_zp;
  int64_t outer, ch, inner, units, tasks;
  float qmin, qmax; /* quantise only */
} kq_linear;

/* k_q_dynamic: DynamicQuantizeLinear of |n| float32 elements into uint8,
 * in three steps (tasks of one step run concurrently):
 * phase 0: task t < |parts| finds min and max of its chunk
 *          [kchunk(n, parts, t), kchunk(n, parts, t + 1)) and writes them
 *          to part[2t], part[2t + 1] (float32, scratch memory);
 * phase 1: one task combines the parts into the scale and zero point,
 *          written to |scale| (float32) and |zp| (uint8);
 * phase 2: quantises x with them (units: ceil(n / KQ_CHUNK)). */
typedef struct kq_dynamic {
  kbuf x, y, scale, zp, part;
  int64_t n, parts, units, tasks;
  int32_t phase, pad_;
} kq_dynamic;

/* Lanes of the min/max scan (independent, so it vectorises). */
#define KQ_LANES 16

/* clamp(rne(q) + zp, lo, hi), NaN -> zp (the reference's
 * ref_saturate_rne for values that fit a float). */
static inline float kq_saturate(float q, float zp, float lo, float hi) {
  float r = q != q ? zp : km_rintf(q) + zp;
  r = r < lo ? lo : r;
  return r > hi ? hi : r;
}

#endif /* INGOT_K_QUANT_H */

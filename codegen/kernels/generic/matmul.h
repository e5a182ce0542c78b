/* matmul.h — descriptors of the matrix-product templates (matmul.c and
 * the x86 variants): MatMul, Gemm, MatMulInteger, QLinearMatMul, and the
 * 1x1 convolutions lower_conv.c turns into products.
 *
 * One descriptor serves every product.  Operands are addressed by element
 * strides, so transposes (Gemm's transA/transB), channel-first 1x1
 * convolutions and broadcast batch dims need no copies:
 *   A(i, p) = a[a_batch + i*a_rs + p*a_cs]            i < m, p < k
 *   B(p, j) = b[b_batch + p*b_rs + j*b_cs]            (b_panel == 0)
 *           = b[b_batch + (j / P)*b_ps + p*P + j % P] (b_panel == P > 0)
 *   Y(i, j) = y[y_batch + i*y_rs + j*y_cs]
 * A constant B is prepacked at build time into panels of P columns (P a
 * multiple of 16, zero-padded): each panel is K rows of P contiguous
 * floats, so a kernel's column block streams through memory in order.
 * The batch offsets come from the batch index decomposed over bdims
 * (row-major) with each operand's per-dim strides (0 = broadcast).
 *
 * Tasks: the step has tiles_b * tiles_m * tiles_n tasks; task t computes
 * rows [tm*mt, ..) and columns [tn*nt, ..) of batch tb, where
 * t = (tb * tiles_m + tm) * tiles_n + tn.  The lowering chooses mt and nt
 * (mt a multiple of mr; nt a multiple of the panel width when B is packed)
 * and the register micro-tile (mr, nv) for the target.  Within a task, for
 * each block of nv*16 columns, K is taken kc at a time: that block of B
 * (kc x nv*16 floats) stays in L1 while every row of the tile uses it, and
 * the partial sums wait in Y between passes (the epilogue runs on the
 * last).
 */
#ifndef INGOT_K_MATMUL_H
#define INGOT_K_MATMUL_H

#include <string.h>

#include "generic/epilogue.h"
#include "kabi.h"

#define KMM_MAX_BATCH 6

/* Helpers of the float templates are always inlined: a template is
 * inlined into every step that uses it, and only code inlined with the
 * step's constant descriptor is specialised (a helper left out of line is
 * shared by every step of the engine and keeps run-time loops). */
#define K_INLINE static inline __attribute__((always_inline))

/* How an element of the result is formed. */
enum kmm_kind {
  KMM_F32 = 0,     /* float32: y = alpha * A·B + beta * C */
  KMM_INTEGER = 1, /* MatMulInteger: int32 Σ (a - za)(b - zb), wrapping */
  KMM_QLINEAR = 2, /* QLinearMatMul: requantised per DESIGN.md §5 */
};

/* A quantisation parameter (zero point or scale) of A's rows or B's
 * columns: element (r, matrix) is at buf[r*rs + mat*ms] (rs = ms = 0: per
 * tensor).  present = 0: absent (zero point 0). */
typedef struct k_qparam {
  kbuf buf;
  int32_t dtype; /* IR_U8 / IR_I8 zero points, IR_F32 scales */
  int32_t present;
  int64_t rs, ms;
} k_qparam;

typedef struct k_mm_desc {
  int32_t kind;  /* kmm_kind */
  int32_t atype; /* ONNX dtypes of A and B (f32, or u8/i8 quantised) */
  int32_t btype;
  int32_t ytype; /* f32, i32 (MatMulInteger), u8/i8 (QLinearMatMul) */
  kbuf a, b, y;
  int64_t m, k, n;
  int64_t a_rs, a_cs, b_rs, b_cs, y_rs, y_cs;
  int64_t b_panel, b_ps; /* packed B: panel width and panel stride */

  /* Batch: nbdim dims (0: one matrix); per dim, the operands' strides in
   * elements and A's/B's strides in matrices (for N-D quant params). */
  int32_t nbdim;
  int32_t pad0_;
  int64_t bdims[KMM_MAX_BATCH];
  int64_t a_bs[KMM_MAX_BATCH], b_bs[KMM_MAX_BATCH], y_bs[KMM_MAX_BATCH];
  int64_t a_mat[KMM_MAX_BATCH], b_mat[KMM_MAX_BATCH];

  /* Float epilogue: y = alpha * acc + beta * C(i, j), C(i, j) at
   * c[i*c_rs + j*c_cs] (float32, any broadcast), when has_c. */
  float alpha, beta;
  int32_t has_c;
  int32_t pad1_;
  kbuf c;
  int64_t c_rs, c_cs;

  /* Quantised operands (KMM_INTEGER, KMM_QLINEAR). */
  k_qparam a_zp, b_zp, a_scale, b_scale, y_scale, y_zp;
  int32_t qmin, qmax; /* output range of QLinearMatMul */

  /* Tiling (see above); micro-tiles of mr rows x nv 16-float vectors
   * (mr <= 16, nv <= 4; nv*16 divides b_panel when B is packed). */
  int64_t mt, nt;
  int64_t mr, nv;
  int64_t kc; /* K per pass over a tile's rows (B's block stays in L1) */
  int64_t tiles_b, tiles_m, tiles_n;

  /* Fused elementwise ops applied to Y after the product (float32). */
  kepi epi;
} k_mm_desc;

/*===------------------------------------------------------------------===*/
/* Helpers shared by the float templates of matmul.c, conv.c and pool.c    */
/*===------------------------------------------------------------------===*/

/* Sixteen floats: a zmm register, two ymm or four xmm.  Written with the
 * compiler's vector extension (clang and gcc), so templates keep a block of
 * accumulators in registers on every ISA without target intrinsics; a
 * scalar operand of an arithmetic operator is splatted. */
typedef float kf16 __attribute__((vector_size(64)));

K_INLINE kf16 kf16_load(const float *p) {
  kf16 v;
  memcpy(&v, p, sizeof v);
  return v;
}

K_INLINE void kf16_store(float *p, kf16 v) { memcpy(p, &v, sizeof v); }

/* Lanes [0, n) from p[l * stride], zeros above (n <= 16). */
K_INLINE kf16 kf16_load_part(const float *p, int64_t stride, int64_t n) {
  if (stride == 1 && n >= 16) return kf16_load(p);
  kf16 v = {0};
  for (int64_t l = 0; l < 16; l++)
    if (l < n) v[l] = p[l * stride];
  return v;
}

/* Stores lanes [0, n) to p[l * stride]. */
K_INLINE void kf16_store_part(float *p, int64_t stride, int64_t n, kf16 v) {
  if (stride == 1 && n >= 16) {
    kf16_store(p, v);
    return;
  }
  for (int64_t l = 0; l < 16; l++)
    if (l < n) p[l * stride] = v[l];
}

/* Round half to even without a libm call (the kernels may call nothing):
 * adding and subtracting 2^23 rounds |v| < 2^23 in the current (nearest)
 * mode; larger magnitudes, infinities and NaN are returned unchanged. */
K_INLINE float k_rne(float v) {
  float a = v < 0 ? -v : v;
  if (!(a < 8388608.0f)) return v;
  float r = (a + 8388608.0f) - 8388608.0f;
  return v < 0 ? -r : r;
}

/* DESIGN.md §5: clamp(rne(v) + zp, lo, hi); NaN gives the zero point, as
 * ref_saturate_rne does. */
K_INLINE int32_t k_saturate_rne(float v, int32_t zp, int32_t lo, int32_t hi) {
  double s = v != v ? (double)zp : (double)k_rne(v) + (double)zp;
  if (s < (double)lo) return lo;
  if (s > (double)hi) return hi;
  return (int32_t)s;
}

/* Element |i| of a zero point / integer tensor of ONNX dtype |t|. */
K_INLINE int32_t k_load_int(const void *p, int32_t t, int64_t i) {
  switch (t) {
  case 2: /* uint8 */
    return ((const uint8_t *)p)[i];
  case 3: /* int8 */
    return ((const int8_t *)p)[i];
  case 6: /* int32 */
    return ((const int32_t *)p)[i];
  default:
    return 0;
  }
}

/* A quantisation parameter's element for row/column |r| of matrix |mat|. */
K_INLINE int32_t k_qparam_int(const k_qparam *q, uint8_t *arena,
                              const uint8_t *weights, int64_t r, int64_t mat) {
  if (!q->present) return 0;
  return k_load_int(kptr(q->buf, arena, weights), q->dtype,
                    r * q->rs + mat * q->ms);
}

K_INLINE float k_qparam_float(const k_qparam *q, uint8_t *arena,
                              const uint8_t *weights, int64_t r, int64_t mat) {
  const float *p = kptr(q->buf, arena, weights);
  return p[r * q->rs + mat * q->ms];
}

/*===------------------------------------------------------------------===*/
/* The loops every float product template shares                           */
/*===------------------------------------------------------------------===*/

/* A register micro-tile: rows [i0, i0 + rows) x columns [j0, j0 + cols)
 * (cols <= nv*16; the vectors past |cols| are masked), K range [k0, k1):
 * |bp| is B at (k0, j0), |brs| its row stride (columns at stride 1 when
 * packed, b_cs otherwise).  Starts from zero when |first|, else from the
 * partial sums in Y; applies the epilogue (alpha, beta*C) when |last|. */
typedef void (*kmm_micro_fn)(const k_mm_desc *d, const float *a,
                             const float *bp, int64_t brs, float *y,
                             const float *c, int64_t i0, int64_t rows,
                             int64_t j0, int64_t cols, int64_t k0, int64_t k1,
                             int first, int last);

/* Element offsets of A, B and Y for batch index |bi| (bdims row-major). */
K_INLINE void kmm_batch_offsets(const k_mm_desc *d, int64_t bi, int64_t *ao,
                                int64_t *bo, int64_t *yo) {
  *ao = *bo = *yo = 0;
  for (int32_t q = d->nbdim - 1; q >= 0; q--) {
    int64_t i = bi % d->bdims[q];
    bi /= d->bdims[q];
    *ao += i * d->a_bs[q];
    *bo += i * d->b_bs[q];
    *yo += i * d->y_bs[q];
  }
}

/* Tasks -> tiles -> column blocks -> K passes -> micro-tiles of mr rows,
 * the last with m % mr rows (a constant: mt is a multiple of mr, so only
 * the matrix's last tile has a remainder).  |micro| is a constant at
 * every call, so it inlines. */
K_INLINE void kmm_drive(const k_mm_desc *d, kmm_micro_fn micro,
                        const float *a0, const float *b0, float *y0,
                        const float *c, int64_t task_begin, int64_t task_end) {
  const int64_t mr = d->mr, nw = 16 * d->nv;
  for (int64_t t = task_begin; t < task_end; t++) {
    int64_t tn = t % d->tiles_n, tm = t / d->tiles_n % d->tiles_m;
    int64_t ao, bo, yo;
    kmm_batch_offsets(d, t / d->tiles_n / d->tiles_m, &ao, &bo, &yo);
    const float *a = a0 + ao, *b = b0 + bo;
    float *y = y0 + yo;
    int64_t i_beg = tm * d->mt, j_beg = tn * d->nt;
    int64_t i_end = i_beg + d->mt < d->m ? i_beg + d->mt : d->m;
    int64_t j_end = j_beg + d->nt < d->n ? j_beg + d->nt : d->n;
    for (int64_t j0 = j_beg; j0 < j_end; j0 += nw) {
      int64_t cols = j_end - j0 < nw ? j_end - j0 : nw;
      for (int64_t k0 = 0; k0 == 0 || k0 < d->k; k0 += d->kc) {
        int64_t k1 = k0 + d->kc < d->k ? k0 + d->kc : d->k;
        const float *bp;
        int64_t brs;
        if (d->b_panel) {
          bp = b + j0 / d->b_panel * d->b_ps + k0 * d->b_panel +
               j0 % d->b_panel;
          brs = d->b_panel;
        } else {
          bp = b + k0 * d->b_rs + j0 * d->b_cs;
          brs = d->b_rs;
        }
        int first = k0 == 0, last = k1 == d->k;
        int64_t i0 = i_beg;
        for (; i0 + mr <= i_end; i0 += mr)
          micro(d, a, bp, brs, y, c, i0, mr, j0, cols, k0, k1, first, last);
        if (i0 < i_end)
          micro(d, a, bp, brs, y, c, i0, d->m % mr, j0, cols, k0, k1, first,
                last);
      }
    }
  }
}

#endif /* INGOT_K_MATMUL_H */

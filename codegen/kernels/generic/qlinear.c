/* qlinear.c — templates of the com.microsoft quantised ops (descriptors:
 * qlinear.h): k_ql_binary (QLinearAdd, QLinearMul), k_ql_table
 * (QLinearSigmoid, QLinearLeakyRelu) and k_ql_concat (QLinearConcat).
 *
 * Bit-exact with ir/ref/qlinear_ms.c: the multipliers come from the
 * reference's code through the descriptor, and each float operation here
 * is one of the reference's, in its order, as its own statement.  The
 * rounding is kq_saturate (quant.h): rne(v) + zy clamped, NaN to zy, the
 * reference's ref_saturate_rne for every float (rne(v) + zy is exact in
 * float whenever the result is not clamped anyway).
 *
 * Speed: the loops are branch-free over 8-bit codes and float32, with the
 * descriptor constant, so the engine-time O3 vectorises them for the
 * target (AVX-512: 16 floats a vector); QLinearAdd's residual adds are
 * contiguous in NHWC, the hot case.  Broadcasting walks the output like
 * k_ew_binary: runs along the innermost merged dim, an odometer over the
 * outer dims.  The table ops are a byte lookup.
 */
#include "generic/qlinear.h"
#include "generic/quant.h" /* kq_saturate */

static inline int32_t kql_load(int32_t dt, const uint8_t *p, int64_t i) {
  return dt == KQL_I8 ? (int32_t)(int8_t)p[i] : (int32_t)p[i];
}

/* One run of |n| outputs; a and b step by sa and sb elements. */
static inline void kql_binary_run(const kql_binary *d, const uint8_t *a,
                                  int64_t sa, const uint8_t *b, int64_t sb,
                                  uint8_t *y, int64_t n) {
  const float zy = (float)d->zy, lo = (float)d->lo, hi = (float)d->hi;
  if (d->op == KQL_ADD) {
    for (int64_t i = 0; i < n; i++) {
      float fa = (float)(kql_load(d->dtype, a, i * sa) - d->za) * d->ma;
      float fb = (float)(kql_load(d->dtype, b, i * sb) - d->zb) * d->mb;
      float v = fa + fb;
      y[i] = (uint8_t)(int32_t)kq_saturate(v, zy, lo, hi);
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      int32_t p = (kql_load(d->dtype, a, i * sa) - d->za) *
                  (kql_load(d->dtype, b, i * sb) - d->zb); /* exact */
      float v = (float)p * d->m;
      y[i] = (uint8_t)(int32_t)kq_saturate(v, zy, lo, hi);
    }
  }
}

KSIG(k_ql_binary) {
  const kql_binary *d = desc_;
  int64_t units = (d->n + KQL_BLOCK - 1) / KQL_BLOCK;
  int64_t e0 = kchunk(units, d->tasks, task_begin) * KQL_BLOCK;
  int64_t e1 = kchunk(units, d->tasks, task_end) * KQL_BLOCK;
  if (e1 > d->n) e1 = d->n;
  if (e0 >= e1) return;
  const uint8_t *a = kptr(d->a, arena, weights);
  const uint8_t *b = kptr(d->b, arena, weights);
  uint8_t *y = kptr(d->y, arena, weights);
  int r = d->rank;
  int64_t sa = d->str[0][r - 1], sb = d->str[1][r - 1];
  int64_t len = d->dims[r - 1];
  int64_t row = e0 / len, col = e0 % len;
  int64_t idx[KMAX_RANK], ba = 0, bb = 0;
  for (int dd = r - 2; dd >= 0; dd--) {
    idx[dd] = row % d->dims[dd];
    row /= d->dims[dd];
    ba += idx[dd] * d->str[0][dd];
    bb += idx[dd] * d->str[1][dd];
  }
  for (int64_t e = e0; e < e1;) {
    int64_t cnt = len - col < e1 - e ? len - col : e1 - e;
    kql_binary_run(d, a + ba + col * sa, sa, b + bb + col * sb, sb, y + e,
                   cnt);
    e += cnt;
    col = 0;
    for (int dd = r - 2; dd >= 0; dd--) { /* next row */
      ba += d->str[0][dd];
      bb += d->str[1][dd];
      if (++idx[dd] < d->dims[dd]) break;
      idx[dd] = 0;
      ba -= d->dims[dd] * d->str[0][dd];
      bb -= d->dims[dd] * d->str[1][dd];
    }
  }
}

KSIG(k_ql_table) {
  const kql_table *d = desc_;
  int64_t units = (d->n + KQL_BLOCK - 1) / KQL_BLOCK;
  int64_t e0 = kchunk(units, d->tasks, task_begin) * KQL_BLOCK;
  int64_t e1 = kchunk(units, d->tasks, task_end) * KQL_BLOCK;
  if (e1 > d->n) e1 = d->n;
  const uint8_t *x = kptr(d->x, arena, weights);
  uint8_t *y = kptr(d->y, arena, weights);
  const uint8_t flip = d->dtype == KQL_I8 ? 0x80 : 0; /* x − lo as a byte */
  for (int64_t i = e0; i < e1; i++) y[i] = d->table[(uint8_t)(x[i] ^ flip)];
}

KSIG(k_ql_concat) {
  const kql_concat *d = desc_;
  int64_t units = d->outer * d->parts;
  int64_t u0 = kchunk(units, d->tasks, task_begin);
  int64_t u1 = kchunk(units, d->tasks, task_end);
  const uint8_t *x = kptr(d->x, arena, weights);
  uint8_t *y = kptr(d->y, arena, weights);
  const float zy = (float)d->zy, lo = (float)d->lo, hi = (float)d->hi;
  for (int64_t u = u0; u < u1; u++) {
    int64_t o = u / d->parts, part = u % d->parts;
    int64_t j0 = kchunk(d->len, d->parts, part);
    int64_t j1 = kchunk(d->len, d->parts, part + 1);
    const uint8_t *xr = x + o * d->len;
    uint8_t *yr = y + o * d->ystride + d->yoff;
    if (d->copy) {
      memcpy(yr + j0, xr + j0, (size_t)(j1 - j0));
      continue;
    }
    for (int64_t j = j0; j < j1; j++) {
      float v = (float)(kql_load(d->dtype, xr, j) - d->zx) * d->m;
      yr[j] = (uint8_t)(int32_t)kq_saturate(v, zy, lo, hi);
    }
  }
}

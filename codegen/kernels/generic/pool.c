/* pool.c — the pooling template (descriptor: pool.h).
 *
 * For each output pixel, channels are processed in blocks of KPOOL_CB
 * whose running max (and arg-max) or sum sit in small arrays: the loops
 * over a block's channels are contiguous in NHWC and vectorise once the
 * descriptor is constant.  Every dtype is pooled in float (uint8 and int8
 * values are exact in float), then stored back in the tensor's type.
 *
 * Semantics are the reference's (ir/ref/pool.c): the window's first valid
 * tap initialises the max; a later tap replaces it when it is larger or
 * NaN, unless the max is already NaN (so NaN propagates and ties keep the
 * first tap, whose index goes to Indices).  A window whose taps all miss
 * the input gives -inf (the type's minimum for integers) and index -1; an
 * average over no taps is 0/0 = NaN unless count_include_pad counts pads.
 */
#include <stdbool.h>

#include "generic/matmul.h" /* K_INLINE */
#include "generic/pool.h"
#include "kmath.h"

K_INLINE float pool_load(const void *x, int32_t dtype, int64_t i) {
  switch (dtype) {
  case 2: /* uint8 */
    return ((const uint8_t *)x)[i];
  case 3: /* int8 */
    return ((const int8_t *)x)[i];
  default:
    return ((const float *)x)[i];
  }
}

K_INLINE void pool_store(void *y, int32_t dtype, int64_t i, float v) {
  float lo = dtype == 2 ? 0.0f : -128.0f, hi = dtype == 2 ? 255.0f : 127.0f;
  switch (dtype) {
  case 2: /* uint8: only a max, so integral or -inf */
    ((uint8_t *)y)[i] = (uint8_t)(v < lo ? lo : v > hi ? hi : v);
    break;
  case 3:
    ((int8_t *)y)[i] = (int8_t)(v < lo ? lo : v > hi ? hi : v);
    break;
  default:
    ((float *)y)[i] = v;
    break;
  }
}

/* Taps t in [0, k) with base + t*dil in [0, n): [*lo, *hi). */
K_INLINE void pool_taps(int64_t k, int64_t n, int64_t dil, int64_t base,
                        int64_t *lo, int64_t *hi) {
  int64_t a = 0, b = k;
  if (base < 0) a = (-base + dil - 1) / dil;
  if (base + (k - 1) * dil > n - 1)
    b = n - 1 - base < 0 ? 0 : (n - 1 - base) / dil + 1;
  *lo = a;
  *hi = b < a ? a : b;
}

/* One output pixel, channels [c0, c0 + cn); xp at (n, i = 0, c0), yp and
 * ip at the pixel's channel c0; |ibase| = (n*C + c0) * spatial size. */
K_INLINE int32_t pool_load_q(const void *x, int32_t dtype, int64_t i) {
  return dtype == 3 ? (int32_t)((const int8_t *)x)[i]
                    : (int32_t)((const uint8_t *)x)[i];
}

/* KPOOL_QAVG of one output pixel (see pool.h): integer window sums, then
 * the reference's requantisation (qlinear_ms.c requant_avg). */
K_INLINE void pool_pixel_q(const k_pool_desc *d, const void *x, int64_t xo,
                           void *y, int64_t yo, const int64_t *lo,
                           const int64_t *hi, const int64_t *start,
                           int64_t count, int64_t cn) {
  int32_t acc[KPOOL_CB];
  for (int64_t c = 0; c < cn; c++) acc[c] = 0;
  int32_t taps = 0;
  for (int64_t t0 = lo[0]; t0 < hi[0]; t0++)
    for (int64_t t1 = lo[1]; t1 < hi[1]; t1++)
      for (int64_t t2 = lo[2]; t2 < hi[2]; t2++, taps++) {
        int64_t xt = xo + (start[0] + t0 * d->d[0]) * d->xs[0] +
                     (start[1] + t1 * d->d[1]) * d->xs[1] +
                     (start[2] + t2 * d->d[2]) * d->xs[2];
        for (int64_t c = 0; c < cn; c++)
          acc[c] += pool_load_q(x, d->dtype, xt + c * d->xs_c);
      }
  float t = d->qsy * (float)count;
  float m = d->qsx / t;
  const float zy = (float)d->qzy, qlo = (float)d->qlo, qhi = (float)d->qhi;
  int32_t zsum = taps * d->qzx; /* Σ (x − zx) = Σ x − taps·zx */
  for (int64_t c = 0; c < cn; c++) {
    float v = (float)(acc[c] - zsum) * m;
    float r = v != v ? zy : km_rintf(v) + zy;
    r = r < qlo ? qlo : r > qhi ? qhi : r;
    ((uint8_t *)y)[yo + c * d->ys_c] = (uint8_t)(int32_t)r;
  }
}

/* MaxPool of uint8 (|sgn| 0) or int8 (1) codes without Indices: integer
 * maxima, which the float path computes too (codes are exact in float and
 * never NaN), without its conversions; 4x faster on the sample CNN's
 * 16-channel pool.  No valid tap leaves the type's minimum. */
K_INLINE void pool_pixel_max8(const k_pool_desc *d, const void *x, int64_t xo,
                              void *y, int64_t yo, const int64_t *lo,
                              const int64_t *hi, const int64_t *start,
                              int64_t cn, int sgn) {
  int32_t acc[KPOOL_CB];
  for (int64_t c = 0; c < cn; c++) acc[c] = sgn ? -128 : 0;
  for (int64_t t0 = lo[0]; t0 < hi[0]; t0++)
    for (int64_t t1 = lo[1]; t1 < hi[1]; t1++)
      for (int64_t t2 = lo[2]; t2 < hi[2]; t2++) {
        int64_t xt = xo + (start[0] + t0 * d->d[0]) * d->xs[0] +
                     (start[1] + t1 * d->d[1]) * d->xs[1] +
                     (start[2] + t2 * d->d[2]) * d->xs[2];
        for (int64_t c = 0; c < cn; c++) {
          int32_t v = sgn ? (int32_t)((const int8_t *)x)[xt + c * d->xs_c]
                          : (int32_t)((const uint8_t *)x)[xt + c * d->xs_c];
          acc[c] = v > acc[c] ? v : acc[c];
        }
      }
  for (int64_t c = 0; c < cn; c++) {
    if (sgn) ((int8_t *)y)[yo + c * d->ys_c] = (int8_t)acc[c];
    else ((uint8_t *)y)[yo + c * d->ys_c] = (uint8_t)acc[c];
  }
}

K_INLINE void pool_pixel(const k_pool_desc *d, const void *x, int64_t xo,
                         void *y, int64_t yo, int64_t *idx, int64_t io,
                         const int64_t *start, int64_t cn, int64_t ibase) {
  float acc[KPOOL_CB];
  int64_t best[KPOOL_CB];
  int64_t lo[3], hi[3], padded = 1, count = 1;
  for (int j = 0; j < 3; j++) {
    pool_taps(d->k[j], d->in[j], d->d[j], start[j], &lo[j], &hi[j]);
    count *= hi[j] - lo[j];
    if (d->kind != KPOOL_MAX && d->count_include_pad) {
      int64_t a, b; /* taps inside the pads, not ceil_mode's extension */
      pool_taps(d->k[j], d->in[j] + d->pb[j] + d->pe[j], d->d[j],
                start[j] + d->pb[j], &a, &b);
      padded *= b - a;
    }
  }
  if (d->kind == KPOOL_QAVG) {
    pool_pixel_q(d, x, xo, y, yo, lo, hi, start,
                 d->count_include_pad ? padded : count, cn);
    return;
  }
  if (d->kind == KPOOL_MAX && !idx && (d->dtype == 2 || d->dtype == 3)) {
    pool_pixel_max8(d, x, xo, y, yo, lo, hi, start, cn, d->dtype == 3);
    return;
  }
  const bool is_max = d->kind == KPOOL_MAX;
  for (int64_t c = 0; c < cn; c++) {
    acc[c] = is_max ? -__builtin_inff() : 0.0f;
    best[c] = -1;
  }
  bool first = true;
  for (int64_t t0 = lo[0]; t0 < hi[0]; t0++)
    for (int64_t t1 = lo[1]; t1 < hi[1]; t1++)
      for (int64_t t2 = lo[2]; t2 < hi[2]; t2++) {
        int64_t i0 = start[0] + t0 * d->d[0], i1 = start[1] + t1 * d->d[1];
        int64_t i2 = start[2] + t2 * d->d[2];
        int64_t xt = xo + i0 * d->xs[0] + i1 * d->xs[1] + i2 * d->xs[2];
        int64_t sidx = d->storage_order ? i0 + (i1 + i2 * d->in[1]) * d->in[0]
                                        : (i0 * d->in[1] + i1) * d->in[2] + i2;
        if (!is_max) {
          for (int64_t c = 0; c < cn; c++)
            acc[c] += pool_load(x, d->dtype, xt + c * d->xs_c);
        } else if (first) {
          for (int64_t c = 0; c < cn; c++) {
            acc[c] = pool_load(x, d->dtype, xt + c * d->xs_c);
            best[c] = sidx;
          }
        } else {
          for (int64_t c = 0; c < cn; c++) {
            float v = pool_load(x, d->dtype, xt + c * d->xs_c), a = acc[c];
            bool take = a == a && !(a >= v);
            acc[c] = take ? v : a;
            best[c] = take ? sidx : best[c];
          }
        }
        first = false;
      }
  if (!is_max) {
    float div = (float)(d->count_include_pad ? padded : count);
    for (int64_t c = 0; c < cn; c++) acc[c] = acc[c] / div;
  }
  for (int64_t c = 0; c < cn; c++)
    pool_store(y, d->dtype, yo + c * d->ys_c, acc[c]);
  if (idx) {
    int64_t isz = d->in[0] * d->in[1] * d->in[2];
    for (int64_t c = 0; c < cn; c++)
      idx[io + c * d->is_c] = best[c] < 0 ? -1 : ibase + c * isz + best[c];
  }
}

KSIG(k_pool) {
  const k_pool_desc *d = desc_;
  const void *x = kptr(d->x, arena, weights);
  void *y = kptr(d->y, arena, weights);
  int64_t *idx = d->has_idx ? kptr(d->idx, arena, weights) : NULL;
  const int64_t isz = d->in[0] * d->in[1] * d->in[2];
  for (int64_t t = task_begin; t < task_end; t++) {
    int64_t rt = t / d->csplit, ct = t % d->csplit;
    int64_t r0 = kchunk(d->rows, d->rsplit, rt);
    int64_t r1 = kchunk(d->rows, d->rsplit, rt + 1);
    int64_t cb0 = kchunk(d->cblocks, d->csplit, ct);
    int64_t cb1 = kchunk(d->cblocks, d->csplit, ct + 1);
    for (int64_t r = r0; r < r1; r++) {
      int64_t n = r / (d->out[0] * d->out[1]);
      int64_t o0 = r / d->out[1] % d->out[0], o1 = r % d->out[1];
      for (int64_t o2 = 0; o2 < d->out[2]; o2++) {
        int64_t start[3] = {o0 * d->s[0] - d->pb[0], o1 * d->s[1] - d->pb[1],
                            o2 * d->s[2] - d->pb[2]};
        for (int64_t cb = cb0; cb < cb1; cb++) {
          int64_t c0 = cb * KPOOL_CB;
          int64_t cn = d->c - c0 < KPOOL_CB ? d->c - c0 : KPOOL_CB;
          pool_pixel(d, x, n * d->xs_n + c0 * d->xs_c, y,
                     n * d->ys_n + o0 * d->ys[0] + o1 * d->ys[1] +
                         o2 * d->ys[2] + c0 * d->ys_c,
                     idx,
                     n * d->is_n + o0 * d->is[0] + o1 * d->is[1] +
                         o2 * d->is[2] + c0 * d->is_c,
                     start, cn, (n * d->c + c0) * isz);
        }
      }
    }
  }
}

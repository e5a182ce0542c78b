/* reduce.c — GPU kernels that reduce across the threads of a warp or a
 * block (design: reduce.h): Softmax and LayerNorm rows per warp, global
 * pooling per block.  The per-element arithmetic is generic/norm.c's and
 * generic/pool.c's; only the order of the sums differs. */
#include <math.h>
#include <string.h>

#include "kmath.h"
#include "nvptx/reduce.h"
#include "nvptx/simt.h"

static inline double gr_shfl_xor_f64(double v, uint32_t m) {
  uint64_t b;
  memcpy(&b, &v, 8);
  uint32_t lo = simt_shfl_xor((uint32_t)b, m);
  uint32_t hi = simt_shfl_xor((uint32_t)(b >> 32), m);
  b = (uint64_t)hi << 32 | lo;
  memcpy(&v, &b, 8);
  return v;
}

/* Every lane of the warp gets the sum (max) of the 32 lanes' values. */
static inline double gr_warp_sum(double v) {
  for (uint32_t m = 16; m; m /= 2) v += gr_shfl_xor_f64(v, m);
  return v;
}
static inline double gr_warp_max(double v) {
  for (uint32_t m = 16; m; m /= 2) {
    double o = gr_shfl_xor_f64(v, m);
    v = o > v ? o : v;
  }
  return v;
}

GSIG(g_softmax) {
  const knorm_softmax *d = desc_;
  const float *x = kptr(d->x, arena, weights);
  float *y = kptr(d->y, arena, weights);
  const int64_t row = simt_bid_x(), n = d->len, off = row * n;
  const uint32_t lane = simt_tid();
  double mx = -INFINITY;
  for (int64_t i = lane; i < n; i += SIMT_WARP) {
    double v = x[off + i];
    mx = v > mx ? v : mx;
  }
  mx = gr_warp_max(mx);
  double sum = 0;
  for (int64_t i = lane; i < n; i += SIMT_WARP) {
    double e = (double)kexpf((float)((double)x[off + i] - mx));
    y[off + i] = (float)e;
    sum += e;
  }
  sum = gr_warp_sum(sum);
  for (int64_t i = lane; i < n; i += SIMT_WARP)
    y[off + i] = (float)((double)y[off + i] / sum);
}

GSIG(g_layernorm) {
  const knorm_layer *d = desc_;
  const void *x = kptr(d->x, arena, weights);
  const void *scale = kptr(d->scale, arena, weights);
  const void *bias = kptr(d->bias, arena, weights);
  void *y = kptr(d->y, arena, weights);
  const int dt = d->dtype;
  const int64_t len = d->len, off = (int64_t)simt_bid_x() * len;
  const uint32_t lane = simt_tid();
  double s = 0;
  for (int64_t j = lane; j < len; j += SIMT_WARP) s += kld_f64(dt, x, off + j);
  s = gr_warp_sum(s);
  double mu = len ? s / (double)len : 0.0;
  double q = 0;
  for (int64_t j = lane; j < len; j += SIMT_WARP) {
    double v = kld_f64(dt, x, off + j) - mu;
    q += v * v;
  }
  q = gr_warp_sum(q);
  double var = len ? q / (double)len : 0.0;
  double is = 1.0 / sqrt(var + d->eps);
  for (int64_t j = lane; j < len; j += SIMT_WARP) {
    double v = (kld_f64(dt, x, off + j) - mu) * is * kld_f64(dt, scale, j);
    if (d->has_bias) v = v + kld_f64(dt, bias, j);
    kst_f64(dt, y, off + j, v);
  }
  if (lane == 0 && d->has_mean)
    kst_f64(d->stat_dtype, kptr(d->mean, arena, weights), simt_bid_x(), mu);
  if (lane == 0 && d->has_inv)
    kst_f64(d->stat_dtype, kptr(d->inv, arena, weights), simt_bid_x(), is);
}

static inline float gp_load(const void *x, int32_t dt, int64_t i) {
  return dt == 2 ? (float)((const uint8_t *)x)[i]
         : dt == 3 ? (float)((const int8_t *)x)[i]
                   : ((const float *)x)[i];
}

/* Two partial results of g_gpool (float bits, or int32 sums) combined. */
static inline uint32_t gp_combine(const k_pool_desc *d, uint32_t a,
                                  uint32_t b) {
  if (d->kind != KPOOL_MAX && d->dtype != 1) return a + b;
  float fa, fb;
  memcpy(&fa, &a, 4);
  memcpy(&fb, &b, 4);
  if (d->kind == KPOOL_MAX)
    fa = fa != fa || fb != fb ? NAN : fb > fa ? fb : fa;
  else
    fa = fa + fb;
  memcpy(&a, &fa, 4);
  return a;
}

GSIG(g_gpool) {
  const k_pool_desc *d = desc_;
  SIMT_SHARED(uint32_t, part, GP_THREADS / SIMT_WARP);
  const uint8_t *x = kptr(d->x, arena, weights);
  uint8_t *y = kptr(d->y, arena, weights);
  const int64_t n = simt_bid_x() / d->c, c = simt_bid_x() % d->c;
  const int64_t px = d->in[0] * d->in[1] * d->in[2];
  const int64_t xo = n * d->xs_n + c * d->xs_c, yo = n * d->ys_n + c * d->ys_c;
  const uint32_t tid = simt_tid(), lane = tid % SIMT_WARP;
  const int is_max = d->kind == KPOOL_MAX, is_int = d->dtype != 1;
  /* float sums and maxima travel as float bits, integer sums as int32 */
  uint32_t acc;
  if (is_max) {
    float m = is_int ? (d->dtype == 2 ? 0.0f : -128.0f) : -INFINITY;
    int first = 1, nan = 0;
    for (int64_t p = tid; p < px; p += GP_THREADS) {
      int64_t i = xo + p / (d->in[1] * d->in[2]) * d->xs[0] +
                  p / d->in[2] % d->in[1] * d->xs[1] + p % d->in[2] * d->xs[2];
      float v = gp_load(x, d->dtype, i);
      nan |= v != v;
      m = first || v > m ? v : m;
      first = 0;
    }
    if (nan) m = NAN; /* NaN propagates (pool.c: the max stays NaN) */
    memcpy(&acc, &m, 4);
  } else if (is_int) {
    int32_t s = 0;
    for (int64_t p = tid; p < px; p += GP_THREADS) {
      int64_t i = xo + p / (d->in[1] * d->in[2]) * d->xs[0] +
                  p / d->in[2] % d->in[1] * d->xs[1] + p % d->in[2] * d->xs[2];
      s += d->dtype == 3 ? (int32_t)((const int8_t *)x)[i] : (int32_t)x[i];
    }
    acc = (uint32_t)s;
  } else {
    float s = 0;
    for (int64_t p = tid; p < px; p += GP_THREADS) {
      int64_t i = xo + p / (d->in[1] * d->in[2]) * d->xs[0] +
                  p / d->in[2] % d->in[1] * d->xs[1] + p % d->in[2] * d->xs[2];
      s += ((const float *)x)[i];
    }
    memcpy(&acc, &s, 4);
  }
  for (uint32_t m = 16; m; m /= 2) {
    uint32_t o = simt_shfl_xor(acc, m);
    acc = gp_combine(d, acc, o);
  }
  if (lane == 0) part[tid / SIMT_WARP] = acc;
  simt_sync();
  if (tid != 0) return;
  acc = part[0];
  for (uint32_t w = 1; w < GP_THREADS / SIMT_WARP; w++)
    acc = gp_combine(d, acc, part[w]);
  if (d->kind == KPOOL_QAVG) {
    float t = d->qsy * (float)px;
    float m = d->qsx / t;
    const float zy = (float)d->qzy, qlo = (float)d->qlo, qhi = (float)d->qhi;
    int32_t zsum = (int32_t)px * d->qzx;
    float v = (float)((int32_t)acc - zsum) * m;
    float r = v != v ? zy : km_rintf(v) + zy;
    r = r < qlo ? qlo : r > qhi ? qhi : r;
    y[yo] = (uint8_t)(int32_t)r;
    return;
  }
  float v;
  memcpy(&v, &acc, 4);
  if (d->kind == KPOOL_AVG) {
    ((float *)y)[yo] = v / (float)px;
  } else if (d->dtype == 2) {
    y[yo] = (uint8_t)v;
  } else if (d->dtype == 3) {
    ((int8_t *)y)[yo] = (int8_t)v;
  } else {
    ((float *)y)[yo] = v;
  }
}

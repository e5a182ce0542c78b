/* norm.c — templates of the normalisation ops (descriptors in norm.h):
 * k_norm_softmax, k_norm_layer, k_norm_channel and k_norm_lrn.
 *
 * One code path serves every float type: elements are loaded into double
 * (kld_f64), normalised there like the reference does (two-pass mean and
 * variance, max-subtracted exponentials) and rounded once on the store.
 * Once specialised, the dtype switches fold and a float32 kernel is plain
 * float->double conversions and double arithmetic, which LLVM vectorises
 * (half as wide as float, but these kernels are bound by memory).  Sums
 * run in NM_LANES independent partial sums so the reductions vectorise
 * without reassociation.  Exponentials, logarithms and powers of float32
 * tensors use kmath's float functions, the other types the double ones.
 *
 * Softmax with a fused additive mask (has_mask) reads x + mask wherever
 * it reads x, rounding the sum to float first so that the step equals an
 * Add step followed by a Softmax step bit for bit.
 *
 * Float32 Softmax flushes to 0 every exponential e^t with t = x - max
 * below -87 (e^-87 = 1.6e-38, just above FLT_MIN) instead of computing a
 * subnormal float: subnormal results and operands cost a microcode assist
 * of about a hundred cycles each on x86, and a masked attention row (mask
 * -1e9 or the float minimum on its padded keys) is mostly such elements.
 * A 1x12x128x128 Softmax with half of every row at -3.4e38 took 1270 us
 * before and 440 us after, against 393 and 440 us without masked elements
 * (the select costs 12% there; same invocation, one thread).  An output
 * changes by less than 1.7e-38 in absolute value; the sum changes by less
 * than that against a sum of at least 1, which double cannot represent,
 * so LogSoftmax is unchanged.  Outputs e / sum may still be subnormal
 * where e is just above the threshold and the sum large (rare). 
 *
 * Softmax writes each exp(x - max) to y when y's type holds it exactly
 * (float32, float64) and divides in a last pass; for float16/bfloat16 it
 * recomputes the exponential instead, so the division uses the unrounded
 * value, as the reference does.
 */
#include <string.h>

#include "kmath.h"
#include "norm.h"

#define NM_LANES 8

static double nm_exp(int dt, double v) {
  return dt == KM_F32 ? (double)kexpf((float)v) : kexp(v);
}
static double nm_log(int dt, double v) {
  return dt == KM_F32 ? (double)klogf((float)v) : klog(v);
}
static double nm_pow(int dt, double b, double e) {
  return dt == KM_F32 ? (double)kpowf((float)b, (float)e) : kpow(b, e);
}

/* e^t for a softmax, t = x - max: nm_exp, but 0 for float32 where e^t is
 * below FLT_MIN (the header); kexpf never sees such a t. */
#define NM_SM_FLUSH (-87.0)
static inline double sm_exp(int dt, double t) {
  if (dt != KM_F32) return nm_exp(dt, t);
  double e = nm_exp(dt, t < NM_SM_FLUSH ? 0.0 : t);
  return t < NM_SM_FLUSH ? 0.0 : e;
}

/* Units [*u0, *u1) of tasks [t0, t1). */
static void nm_units(int64_t units, int64_t tasks, int64_t t0, int64_t t1,
                     int64_t *u0, int64_t *u1) {
  *u0 = kchunk(units, tasks, t0);
  *u1 = kchunk(units, tasks, t1);
}

/* Sum of x[off + i], i < n, in double. */
static double nm_sum(int dt, const void *x, int64_t off, int64_t n) {
  double acc[NM_LANES] = {0};
  int64_t i = 0;
  for (; i + NM_LANES <= n; i += NM_LANES)
    for (int j = 0; j < NM_LANES; j++) acc[j] += kld_f64(dt, x, off + i + j);
  double s = 0;
  for (; i < n; i++) s += kld_f64(dt, x, off + i);
  for (int j = 0; j < NM_LANES; j++) s += acc[j];
  return s;
}

/* Sum of (x[off + i] - mu)^2, i < n. */
static double nm_sqdev(int dt, const void *x, int64_t off, int64_t n,
                       double mu) {
  double acc[NM_LANES] = {0};
  int64_t i = 0;
  for (; i + NM_LANES <= n; i += NM_LANES)
    for (int j = 0; j < NM_LANES; j++) {
      double v = kld_f64(dt, x, off + i + j) - mu;
      acc[j] += v * v;
    }
  double s = 0;
  for (; i < n; i++) {
    double v = kld_f64(dt, x, off + i) - mu;
    s += v * v;
  }
  for (int j = 0; j < NM_LANES; j++) s += acc[j];
  return s;
}

/* y[off + i] = (x[off + i] - m) * a + b, i < n. */
static void nm_affine(int dt, const void *x, void *y, int64_t off, int64_t n,
                      double m, double a, double b) {
  for (int64_t i = 0; i < n; i++)
    kst_f64(dt, y, off + i, (kld_f64(dt, x, off + i) - m) * a + b);
}

/*===------------------------------------------------------------------===*/
/* Softmax, LogSoftmax                                                     */
/*===------------------------------------------------------------------===*/

/* Mask offset of index |idx| unravelled over |n| dims. */
static int64_t sm_moff(const int64_t *dims, const int64_t *str, int n,
                       int64_t idx) {
  int64_t off = 0;
  for (int k = n - 1; k >= 0; k--) {
    off += (idx % dims[k]) * str[k];
    idx /= dims[k];
  }
  return off;
}

/* Element |o| of the row: x, plus the mask (rounded to float like the Add
 * step it replaces) when there is one; |mo| is the row's mask offset. */
static inline double sm_ld(const knorm_softmax *d, const void *x,
                           const void *mask, int64_t o, int64_t k,
                           int64_t mo) {
  double v = kld_f64(d->dtype, x, o);
  if (d->has_mask)
    v = (double)(float)(v + kld_f64(KM_F32, mask, mo + k * d->lstr));
  return v;
}

/* With a mask, the first pass stores each x + mask into y when y's type
 * holds it exactly (float32, float64), and the later passes read y
 * instead of adding again: the sums are computed once, as the Add step
 * would, and the rounding is the same.  |staged| says which. */
static inline double sm_again(const knorm_softmax *d, const void *x,
                              const void *mask, const void *y, int staged,
                              int64_t o, int64_t k, int64_t mo) {
  return staged ? kld_f64(d->dtype, y, o) : sm_ld(d, x, mask, o, k, mo);
}

/* A contiguous row of |n| elements at |off|, mask offset |mo|.  x, mask
 * and y are distinct tensors (the planner never runs a Softmax in place;
 * without a mask, |mask| is |x| and only read), so they are restrict: the
 * staging stores then do not keep the loops from vectorising. */
static void sm_row(const knorm_softmax *d, const void *restrict x,
                   const void *restrict mask, void *restrict y, int64_t off,
                   int64_t mo) {
  int dt = d->dtype;
  int64_t n = d->len;
  int keep = dt == KM_F32 || dt == KM_F64; /* y holds exp exactly */
  int staged = keep && d->has_mask;
  double m[NM_LANES];
  for (int j = 0; j < NM_LANES; j++) m[j] = -INFINITY;
  int64_t i = 0;
  for (; i + NM_LANES <= n; i += NM_LANES)
    for (int j = 0; j < NM_LANES; j++) {
      double v = sm_ld(d, x, mask, off + i + j, i + j, mo);
      if (staged) kst_f64(dt, y, off + i + j, v);
      m[j] = v > m[j] ? v : m[j];
    }
  double mx = -INFINITY;
  for (; i < n; i++) {
    double v = sm_ld(d, x, mask, off + i, i, mo);
    if (staged) kst_f64(dt, y, off + i, v);
    mx = v > mx ? v : mx;
  }
  for (int j = 0; j < NM_LANES; j++) mx = m[j] > mx ? m[j] : mx;

  double acc[NM_LANES] = {0};
  i = 0;
  for (; i + NM_LANES <= n; i += NM_LANES)
    for (int j = 0; j < NM_LANES; j++) {
      double e = sm_exp(
          dt, sm_again(d, x, mask, y, staged, off + i + j, i + j, mo) - mx);
      if (keep && !d->log) kst_f64(dt, y, off + i + j, e);
      acc[j] += e;
    }
  double sum = 0;
  for (; i < n; i++) {
    double e = sm_exp(dt, sm_again(d, x, mask, y, staged, off + i, i, mo) - mx);
    if (keep && !d->log) kst_f64(dt, y, off + i, e);
    sum += e;
  }
  for (int j = 0; j < NM_LANES; j++) sum += acc[j];

  if (d->log) {
    double ls = nm_log(dt, sum);
    for (i = 0; i < n; i++)
      kst_f64(dt, y, off + i,
              (sm_again(d, x, mask, y, staged, off + i, i, mo) - mx) - ls);
  } else if (keep) {
    for (i = 0; i < n; i++)
      kst_f64(dt, y, off + i, kld_f64(dt, y, off + i) / sum);
  } else {
    for (i = 0; i < n; i++)
      kst_f64(dt, y, off + i,
              sm_exp(dt, sm_ld(d, x, mask, off + i, i, mo) - mx) / sum);
  }
}

/* |w| <= KNORM_COLS adjacent rows starting at |off|, each |len| elements
 * |inner| apart, mask offsets mo[j]: vectorised across the rows. */
static void sm_cols(const knorm_softmax *d, const void *restrict x,
                    const void *restrict mask, void *restrict y, int64_t off,
                    int64_t w, const int64_t *mo) {
  int dt = d->dtype;
  int64_t len = d->len, st = d->inner;
  int keep = dt == KM_F32 || dt == KM_F64;
  int staged = keep && d->has_mask; /* as in sm_row */
  double m[KNORM_COLS], s[KNORM_COLS];
  for (int64_t j = 0; j < w; j++) m[j] = -INFINITY, s[j] = 0.0;
  for (int64_t k = 0; k < len; k++)
    for (int64_t j = 0; j < w; j++) {
      double v = sm_ld(d, x, mask, off + k * st + j, k, mo[j]);
      if (staged) kst_f64(dt, y, off + k * st + j, v);
      m[j] = v > m[j] ? v : m[j];
    }
  for (int64_t k = 0; k < len; k++)
    for (int64_t j = 0; j < w; j++) {
      double e = sm_exp(dt, sm_again(d, x, mask, y, staged, off + k * st + j,
                                     k, mo[j]) -
                                m[j]);
      if (keep && !d->log) kst_f64(dt, y, off + k * st + j, e);
      s[j] += e;
    }
  if (d->log) {
    for (int64_t j = 0; j < w; j++) s[j] = nm_log(dt, s[j]);
    for (int64_t k = 0; k < len; k++)
      for (int64_t j = 0; j < w; j++) {
        int64_t o = off + k * st + j;
        kst_f64(dt, y, o,
                (sm_again(d, x, mask, y, staged, o, k, mo[j]) - m[j]) - s[j]);
      }
    return;
  }
  for (int64_t k = 0; k < len; k++)
    for (int64_t j = 0; j < w; j++) {
      int64_t o = off + k * st + j;
      double e = keep ? kld_f64(dt, y, o)
                      : sm_exp(dt, sm_ld(d, x, mask, o, k, mo[j]) - m[j]);
      kst_f64(dt, y, o, e / s[j]);
    }
}

KSIG(k_norm_softmax) {
  const knorm_softmax *d = desc_;
  const void *x = kptr(d->x, arena, weights);
  const void *mask = d->has_mask ? kptr(d->mask, arena, weights) : x;
  void *y = kptr(d->y, arena, weights);
  int64_t u0, u1;
  nm_units(d->units, d->tasks, task_begin, task_end, &u0, &u1);
  if (d->inner == 1) {
    for (int64_t u = u0; u < u1; u++)
      sm_row(d, x, mask, y, u * d->len,
             d->has_mask ? sm_moff(d->odims, d->ostr, d->orank, u) : 0);
    return;
  }
  int64_t blocks = (d->inner + KNORM_COLS - 1) / KNORM_COLS;
  for (int64_t u = u0; u < u1; u++) {
    int64_t o = u / blocks, j0 = (u % blocks) * KNORM_COLS;
    int64_t w = d->inner - j0 < KNORM_COLS ? d->inner - j0 : KNORM_COLS;
    int64_t mo[KNORM_COLS] = {0};
    if (d->has_mask) {
      int64_t base = sm_moff(d->odims, d->ostr, d->orank, o);
      for (int64_t j = 0; j < w; j++)
        mo[j] = base + sm_moff(d->idims, d->istr, d->irank, j0 + j);
    }
    sm_cols(d, x, mask, y, o * d->len * d->inner + j0, w, mo);
  }
}

/*===------------------------------------------------------------------===*/
/* LayerNormalization                                                      */
/*===------------------------------------------------------------------===*/

KSIG(k_norm_layer) {
  const knorm_layer *d = desc_;
  const void *x = kptr(d->x, arena, weights);
  const void *scale = kptr(d->scale, arena, weights);
  const void *bias = kptr(d->bias, arena, weights);
  void *y = kptr(d->y, arena, weights);
  void *mean = kptr(d->mean, arena, weights);
  void *inv = kptr(d->inv, arena, weights);
  int dt = d->dtype;
  int64_t len = d->len, r0, r1;
  nm_units(d->outer, d->tasks, task_begin, task_end, &r0, &r1);
  for (int64_t r = r0; r < r1; r++) {
    int64_t off = r * len;
    double mu = len ? nm_sum(dt, x, off, len) / (double)len : 0.0;
    double var = len ? nm_sqdev(dt, x, off, len, mu) / (double)len : 0.0;
    double is = 1.0 / sqrt(var + d->eps);
    if (d->has_bias) {
      for (int64_t j = 0; j < len; j++)
        kst_f64(dt, y, off + j,
                (kld_f64(dt, x, off + j) - mu) * is * kld_f64(dt, scale, j) +
                    kld_f64(dt, bias, j));
    } else {
      for (int64_t j = 0; j < len; j++)
        kst_f64(dt, y, off + j,
                (kld_f64(dt, x, off + j) - mu) * is * kld_f64(dt, scale, j));
    }
    if (d->has_mean) kst_f64(d->stat_dtype, mean, r, mu);
    if (d->has_inv) kst_f64(d->stat_dtype, inv, r, is);
  }
}

/*===------------------------------------------------------------------===*/
/* BatchNormalization, InstanceNormalization                               */
/*===------------------------------------------------------------------===*/

KSIG(k_norm_channel) {
  const knorm_channel *d = desc_;
  const void *x = kptr(d->x, arena, weights);
  void *y = kptr(d->y, arena, weights);
  const void *scale = kptr(d->scale, arena, weights);
  const void *bias = kptr(d->bias, arena, weights);
  const void *mean = kptr(d->mean, arena, weights);
  const void *var = kptr(d->var, arena, weights);
  int dt = d->dtype, pt = d->pdtype, st = d->sdtype;
  int64_t C = d->channels, S = d->spatial, u0, u1;
  nm_units(d->units, d->tasks, task_begin, task_end, &u0, &u1);
  for (int64_t u = u0; u < u1; u++) {
    if (d->mode == KNORM_BATCH_TRAIN) { /* u is a channel */
      int64_t cnt = d->batch * S;
      double s = 0.0, q = 0.0;
      for (int64_t b = 0; b < d->batch; b++) s += nm_sum(dt, x, (b * C + u) * S, S);
      double mu = cnt ? s / (double)cnt : 0.0;
      for (int64_t b = 0; b < d->batch; b++)
        q += nm_sqdev(dt, x, (b * C + u) * S, S, mu);
      double v = cnt ? q / (double)cnt : 0.0;
      double a = kld_f64(pt, scale, u) / sqrt(v + d->eps);
      for (int64_t b = 0; b < d->batch; b++)
        nm_affine(dt, x, y, (b * C + u) * S, S, mu, a, kld_f64(pt, bias, u));
      double mom = d->momentum;
      if (d->has_run_mean)
        kst_f64(st, kptr(d->run_mean, arena, weights), u,
                kld_f64(st, mean, u) * mom + mu * (1.0 - mom));
      if (d->has_run_var)
        kst_f64(st, kptr(d->run_var, arena, weights), u,
                kld_f64(st, var, u) * mom + v * (1.0 - mom));
      continue;
    }
    int64_t c = u % C, off = u * S;
    double mu, v;
    if (d->mode == KNORM_INSTANCE) {
      mu = S ? nm_sum(dt, x, off, S) / (double)S : 0.0;
      v = S ? nm_sqdev(dt, x, off, S, mu) / (double)S : 0.0;
    } else {
      mu = kld_f64(st, mean, c);
      v = kld_f64(st, var, c);
      if (u < C && d->has_run_mean) /* outside training: copies */
        kst_f64(st, kptr(d->run_mean, arena, weights), c, mu);
      if (u < C && d->has_run_var)
        kst_f64(st, kptr(d->run_var, arena, weights), c, v);
    }
    double a = kld_f64(pt, scale, c) / sqrt(v + d->eps);
    nm_affine(dt, x, y, off, S, mu, a, kld_f64(pt, bias, c));
  }
}

/*===------------------------------------------------------------------===*/
/* LRN                                                                     */
/*===------------------------------------------------------------------===*/

#define NM_LRN_CHUNK 64

KSIG(k_norm_lrn) {
  const knorm_lrn *d = desc_;
  const void *x = kptr(d->x, arena, weights);
  void *y = kptr(d->y, arena, weights);
  int dt = d->dtype;
  int64_t C = d->channels, S = d->spatial, u0, u1;
  double scale = d->alpha / (double)d->size;
  nm_units(d->units, d->tasks, task_begin, task_end, &u0, &u1);
  for (int64_t u = u0; u < u1; u++) {
    int64_t b = u / C, c = u % C;
    int64_t lo = c - (d->size - 1) / 2, hi = c + d->size / 2;
    lo = lo < 0 ? 0 : lo;
    hi = hi > C - 1 ? C - 1 : hi;
    for (int64_t s0 = 0; s0 < S; s0 += NM_LRN_CHUNK) {
      int64_t w = S - s0 < NM_LRN_CHUNK ? S - s0 : NM_LRN_CHUNK;
      double acc[NM_LRN_CHUNK];
      for (int64_t i = 0; i < w; i++) acc[i] = 0.0;
      for (int64_t k = lo; k <= hi; k++) {
        int64_t off = (b * C + k) * S + s0;
        for (int64_t i = 0; i < w; i++) {
          double v = kld_f64(dt, x, off + i);
          acc[i] += v * v;
        }
      }
      int64_t off = u * S + s0;
      for (int64_t i = 0; i < w; i++)
        kst_f64(dt, y, off + i,
                kld_f64(dt, x, off + i) /
                    nm_pow(dt, d->bias + scale * acc[i], d->beta));
    }
  }
}

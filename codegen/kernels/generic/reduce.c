/* reduce.c — reduction templates: k_red (ReduceSum, Mean, L1, L2,
 * SumSquare, Prod, Max, Min, LogSumExp over any set of axes) and
 * k_red_arg (ArgMax, ArgMin).
 *
 * The lowering merged the dims and split them into kept dims (one output
 * each) and reduced dims, so one template covers every axis set.  Two
 * walks share the arithmetic:
 *  - row mode (inner == 1: the innermost input dim is reduced): each
 *    output folds its elements into KR_LANES independent accumulators
 *    (lane l takes every KR_LANES-th element of the innermost run), which
 *    the specialiser turns into vector code without reassociating;
 *  - column mode (inner > 1: the innermost input dim is kept): a block of
 *    up to KR_BLOCK neighbouring outputs is reduced together, one
 *    accumulator per output, so the inner loop runs over contiguous
 *    memory.
 * Float dtypes accumulate in double like the reference; the integer
 * accumulator is uint64 (wrapping sums and products).  Max/Min compare
 * "keys": the value itself, or for uint64 the value with its top bit
 * flipped, so one signed compare orders every integer dtype.  NaN makes
 * Max, Min and LogSumExp NaN.  LogSumExp is max m, then m + log(sum
 * exp(x - m)) with kmath's double kexp/klog (a few ulp of double).
 * Element loads and stores are kmath's kld_ and kst_ functions (Cast
 * semantics).
 */
#include <math.h>

#include "generic/reduce.h"
#include "kmath.h"

/* Whether op |op| on dtype |dt| accumulates in double. */
static inline int kr_facc(int32_t op, int32_t dt) {
  return km_is_float(dt) || op == KR_MEAN || op == KR_L2 ||
         op == KR_LOG_SUM_EXP;
}

static inline double kr_init_f(int32_t op) {
  switch (op) {
  case KR_PROD: return 1.0;
  case KR_MAX: return -INFINITY;
  case KR_MIN: return INFINITY;
  default: return 0.0;
  }
}

static inline uint64_t kr_init_i(int32_t op) {
  switch (op) {
  case KR_PROD: return 1;
  case KR_MAX: return (uint64_t)INT64_MIN;
  case KR_MIN: return (uint64_t)INT64_MAX;
  default: return 0;
  }
}

/* Folds element |i| of |x| into one accumulator.  |op| is the pass's op:
 * KR_LOG_SUM_EXP here means the second pass, sum of exp(x - m). */
static inline void kr_step(int32_t op, int32_t dt, int facc, double m,
                           const uint8_t *x, int64_t i, double *af,
                           uint64_t *ai, int *nan) {
  if (facc) {
    double v = kld_f64(dt, x, i);
    switch (op) {
    case KR_SUM: case KR_MEAN: *af += v; break;
    case KR_L1: *af += fabs(v); break;
    case KR_L2: case KR_SUM_SQUARE: *af += v * v; break;
    case KR_PROD: *af *= v; break;
    case KR_MAX: *nan |= v != v; *af = v > *af ? v : *af; break;
    case KR_MIN: *nan |= v != v; *af = v < *af ? v : *af; break;
    case KR_LOG_SUM_EXP: *af += kexp(v - m); break;
    default: break;
    }
    return;
  }
  int64_t v = kld_i64(dt, x, i);
  uint64_t u = (uint64_t)v;
  switch (op) {
  case KR_SUM: *ai += u; break;
  case KR_L1: *ai += (dt != KM_U64 && v < 0) ? 0 - u : u; break;
  case KR_SUM_SQUARE: *ai += u * u; break;
  case KR_PROD: *ai *= u; break;
  case KR_MAX: case KR_MIN: {
    int64_t k = dt == KM_U64 ? (int64_t)(u ^ (UINT64_C(1) << 63)) : v;
    int64_t a = (int64_t)*ai;
    *ai = (uint64_t)((op == KR_MAX ? k > a : k < a) ? k : a);
    break;
  }
  default: break;
  }
}

/* Folds accumulator lane |b| into lane |a|. */
static inline void kr_merge(int32_t op, int facc, double *af, uint64_t *ai,
                            int *nan, int a, int b) {
  nan[a] |= nan[b];
  if (facc) {
    switch (op) {
    case KR_PROD: af[a] *= af[b]; break;
    case KR_MAX: af[a] = af[b] > af[a] ? af[b] : af[a]; break;
    case KR_MIN: af[a] = af[b] < af[a] ? af[b] : af[a]; break;
    default: af[a] += af[b]; break;
    }
    return;
  }
  int64_t x = (int64_t)ai[a], y = (int64_t)ai[b];
  switch (op) {
  case KR_PROD: ai[a] *= ai[b]; break;
  case KR_MAX: ai[a] = (uint64_t)(y > x ? y : x); break;
  case KR_MIN: ai[a] = (uint64_t)(y < x ? y : x); break;
  default: ai[a] += ai[b]; break;
  }
}

/* Writes output |o| from a finished accumulator. */
static inline void kr_finish(const kred *d, int facc, double af, uint64_t ai,
                             int nan, uint8_t *y, int64_t o) {
  if (facc) {
    double r = af;
    switch (d->op) {
    case KR_MAX: case KR_MIN: r = nan ? NAN : af; break;
    case KR_MEAN:
      r = af / (double)d->count; /* integers: the store truncates */
      break;
    case KR_L2: r = sqrt(af); break;
    default: break;
    }
    kst_f64(d->dtype, y, o, r);
    return;
  }
  if ((d->op == KR_MAX || d->op == KR_MIN) && d->dtype == KM_U64)
    ai ^= UINT64_C(1) << 63;
  kst_i64(d->dtype, y, o, (int64_t)ai);
}

/* Row mode: folds every reduced element of the output at input offset
 * |base| into KR_LANES accumulators. */
static inline void kr_row_pass(const kred *d, int32_t op, int facc, double m,
                               const uint8_t *x, int64_t base, double *af,
                               uint64_t *ai, int *nan) {
  const int nr = d->nr;
  const int64_t n = d->rdims[nr - 1], s = d->rstr[nr - 1];
  int64_t idx[KMAX_RANK] = {0}, off = base;
  for (;;) {
    int64_t j = 0;
    for (; j + KR_LANES <= n; j += KR_LANES)
      for (int l = 0; l < KR_LANES; l++)
        kr_step(op, d->dtype, facc, m, x, off + (j + l) * s, &af[l], &ai[l],
                &nan[l]);
    for (; j < n; j++)
      kr_step(op, d->dtype, facc, m, x, off + j * s, &af[0], &ai[0], &nan[0]);
    int k = nr - 2;
    for (; k >= 0; k--) {
      off += d->rstr[k];
      if (++idx[k] < d->rdims[k]) break;
      off -= d->rstr[k] * d->rdims[k];
      idx[k] = 0;
    }
    if (k < 0) return;
  }
}

/* One output in row mode. */
static inline void kr_row(const kred *d, const uint8_t *x, int64_t base,
                          uint8_t *y, int64_t o) {
  const int facc = kr_facc(d->op, d->dtype);
  const int32_t op1 = d->op == KR_LOG_SUM_EXP ? KR_MAX : d->op;
  double af[KR_LANES];
  uint64_t ai[KR_LANES];
  int nan[KR_LANES];
  for (int l = 0; l < KR_LANES; l++) {
    af[l] = kr_init_f(op1);
    ai[l] = kr_init_i(op1);
    nan[l] = 0;
  }
  kr_row_pass(d, op1, facc, 0.0, x, base, af, ai, nan);
  for (int l = 1; l < KR_LANES; l++) kr_merge(op1, facc, af, ai, nan, 0, l);
  if (d->op == KR_LOG_SUM_EXP) {
    double m = af[0];
    if (nan[0] || m == INFINITY || m == -INFINITY) {
      kst_f64(d->dtype, y, o, nan[0] ? NAN : m);
      return;
    }
    for (int l = 0; l < KR_LANES; l++) af[l] = 0.0;
    kr_row_pass(d, KR_LOG_SUM_EXP, facc, m, x, base, af, ai, nan);
    for (int l = 1; l < KR_LANES; l++) af[0] += af[l];
    kst_f64(d->dtype, y, o, m + klog(af[0]));
    return;
  }
  kr_finish(d, facc, af[0], ai[0], nan[0], y, o);
}

/* Column mode: folds every reduced position into |w| accumulators, lane i
 * reading input offset base + i + (reduced offset). */
static inline void kr_col_pass(const kred *d, int32_t op, int facc,
                               const double *m, const uint8_t *x,
                               int64_t base, int64_t w, double *af,
                               uint64_t *ai, int *nan) {
  const int nr = d->nr;
  int64_t idx[KMAX_RANK] = {0}, off = base;
  for (;;) {
    for (int64_t i = 0; i < w; i++)
      kr_step(op, d->dtype, facc, m[i], x, off + i, &af[i], &ai[i], &nan[i]);
    int k = nr - 1;
    for (; k >= 0; k--) {
      off += d->rstr[k];
      if (++idx[k] < d->rdims[k]) break;
      off -= d->rstr[k] * d->rdims[k];
      idx[k] = 0;
    }
    if (k < 0) return;
  }
}

/* Outputs [o, o + w) in column mode. */
static inline void kr_cols(const kred *d, const uint8_t *x, int64_t base,
                           int64_t w, uint8_t *y, int64_t o) {
  const int facc = kr_facc(d->op, d->dtype);
  const int32_t op1 = d->op == KR_LOG_SUM_EXP ? KR_MAX : d->op;
  double af[KR_BLOCK], m[KR_BLOCK];
  uint64_t ai[KR_BLOCK];
  int nan[KR_BLOCK];
  for (int64_t i = 0; i < w; i++) {
    af[i] = kr_init_f(op1);
    ai[i] = kr_init_i(op1);
    nan[i] = 0;
    m[i] = 0.0;
  }
  kr_col_pass(d, op1, facc, m, x, base, w, af, ai, nan);
  if (d->op != KR_LOG_SUM_EXP) {
    for (int64_t i = 0; i < w; i++)
      kr_finish(d, facc, af[i], ai[i], nan[i], y, o + i);
    return;
  }
  /* Second pass: lanes whose result is known (NaN, an infinite max)
   * shift by 0 and are overwritten; the rest sum exp(x - max). */
  double mx[KR_BLOCK];
  int done[KR_BLOCK];
  for (int64_t i = 0; i < w; i++) {
    mx[i] = nan[i] ? NAN : af[i];
    done[i] = nan[i] || af[i] == INFINITY || af[i] == -INFINITY;
    m[i] = done[i] ? 0.0 : af[i];
    af[i] = 0.0;
  }
  kr_col_pass(d, KR_LOG_SUM_EXP, facc, m, x, base, w, af, ai, nan);
  for (int64_t i = 0; i < w; i++)
    kst_f64(d->dtype, y, o + i, done[i] ? mx[i] : mx[i] + klog(af[i]));
}

KSIG(k_red) {
  const kred *d = desc_;
  const uint8_t *x = kptr(d->src, arena, weights);
  uint8_t *y = kptr(d->dst, arena, weights);
  int64_t u0 = kchunk(d->units, d->tasks, task_begin);
  int64_t u1 = kchunk(d->units, d->tasks, task_end);
  if (u0 >= u1) return;
  const int64_t nblk = d->inner > 1 ? (d->inner + KR_BLOCK - 1) / KR_BLOCK : 1;
  int64_t row = u0 / nblk, blk = u0 - row * nblk;
  int64_t idx[KMAX_RANK] = {0}, base = 0;
  for (int64_t k = d->nk - 1, r = row; k >= 0; k--) {
    idx[k] = r % d->kdims[k];
    r /= d->kdims[k];
    base += idx[k] * d->kstr[k];
  }
  for (int64_t u = u0; u < u1; u++) {
    if (d->inner == 1) {
      kr_row(d, x, base, y, row);
    } else {
      int64_t i0 = blk * KR_BLOCK;
      int64_t w = d->inner - i0 < KR_BLOCK ? d->inner - i0 : KR_BLOCK;
      kr_cols(d, x, base + i0, w, y, row * d->inner + i0);
    }
    if (++blk < nblk) continue;
    blk = 0;
    row++;
    for (int k = d->nk - 1; k >= 0; k--) {
      base += d->kstr[k];
      if (++idx[k] < d->kdims[k]) break;
      base -= d->kstr[k] * d->kdims[k];
      idx[k] = 0;
    }
  }
}

/* ArgMax/ArgMin: block of |w| outputs at input offset |base| (stride
 * |inner| along the reduced axis), indices written to |y|. */
static inline void kr_arg_block(const kred_arg *d, const uint8_t *x,
                                int64_t base, int64_t w, int64_t *y) {
  const int is_max = d->is_max, last = d->last;
  int64_t bj[KR_BLOCK];
  if (km_is_float(d->dtype)) {
    double bv[KR_BLOCK];
    for (int64_t i = 0; i < w; i++) {
      bv[i] = kld_f64(d->dtype, x, base + i);
      bj[i] = 0;
    }
    for (int64_t j = 1; j < d->len; j++)
      for (int64_t i = 0; i < w; i++) {
        double v = kld_f64(d->dtype, x, base + j * d->inner + i);
        int take;
        if (bv[i] != bv[i])
          take = last && v != v;
        else if (v != v)
          take = 1;
        else if (is_max)
          take = last ? v >= bv[i] : v > bv[i];
        else
          take = last ? v <= bv[i] : v < bv[i];
        bv[i] = take ? v : bv[i];
        bj[i] = take ? j : bj[i];
      }
  } else {
    const uint64_t flip = d->dtype == KM_U64 ? UINT64_C(1) << 63 : 0;
    int64_t bv[KR_BLOCK];
    for (int64_t i = 0; i < w; i++) {
      bv[i] = (int64_t)((uint64_t)kld_i64(d->dtype, x, base + i) ^ flip);
      bj[i] = 0;
    }
    for (int64_t j = 1; j < d->len; j++)
      for (int64_t i = 0; i < w; i++) {
        int64_t v = (int64_t)((uint64_t)kld_i64(
                                  d->dtype, x, base + j * d->inner + i) ^
                              flip);
        int take = is_max ? (last ? v >= bv[i] : v > bv[i])
                          : (last ? v <= bv[i] : v < bv[i]);
        bv[i] = take ? v : bv[i];
        bj[i] = take ? j : bj[i];
      }
  }
  memcpy(y, bj, (size_t)w * sizeof *y);
}

/* Whether value |v| replaces the best |bv| of a scan in index order
 * (NaN is the extreme: the first NaN wins, or the last with
 * select_last_index; ties likewise). */
static inline int kr_arg_take_f(const kred_arg *d, double v, double bv) {
  int vn = v != v, bn = bv != bv; /* branch-free, so lanes vectorise */
  int cmp = d->is_max ? (d->last ? v >= bv : v > bv)
                      : (d->last ? v <= bv : v < bv); /* 0 with a NaN */
  return (bn & vn & (d->last != 0)) | ((bn ^ 1) & (vn | cmp));
}
static inline int kr_arg_take_i(const kred_arg *d, int64_t v, int64_t bv) {
  if (d->is_max) return d->last ? v >= bv : v > bv;
  return d->last ? v <= bv : v < bv;
}

/* Whether lane candidate (v, j) beats (bv, bj) when lanes merge: their
 * indices interleave, so ties compare indices. */
static inline int kr_arg_beats(const kred_arg *d, int isf, double v,
                               int64_t vi, int64_t j, double bv, int64_t bvi,
                               int64_t bj) {
  int later = d->last ? j > bj : j < bj;
  if (isf) {
    int vn = v != v, bn = bv != bv;
    if (vn || bn) return vn && (!bn || later);
    if (v == bv) return later;
    return d->is_max ? v > bv : v < bv;
  }
  if (vi == bvi) return later;
  return d->is_max ? vi > bvi : vi < bvi;
}

/* Element |j| of a scan into one lane's best (value, index). */
static inline void kr_arg_step(const kred_arg *d, int isf, uint64_t flip,
                               const uint8_t *x, int64_t base, int64_t j,
                               double *bf, int64_t *bi, int64_t *bj) {
  int take;
  if (isf) {
    double v = kld_f64(d->dtype, x, base + j);
    take = kr_arg_take_f(d, v, *bf);
    *bf = take ? v : *bf;
  } else {
    int64_t v = (int64_t)((uint64_t)kld_i64(d->dtype, x, base + j) ^ flip);
    take = kr_arg_take_i(d, v, *bi);
    *bi = take ? v : *bi;
  }
  *bj = take ? j : *bj;
}

/* ArgMax/ArgMin of one output whose |len| >= KR_LANES elements are
 * contiguous: lane l scans l, l + KR_LANES, ... (the tail joins lane 0,
 * still in index order), then the lanes merge.  Floats compare as
 * doubles, integers as keys (uint64 with its top bit flipped). */
static inline int64_t kr_arg_row(const kred_arg *d, const uint8_t *x,
                                 int64_t base) {
  const int isf = km_is_float(d->dtype);
  const uint64_t flip = d->dtype == KM_U64 ? UINT64_C(1) << 63 : 0;
  double bf[KR_LANES];
  int64_t bi[KR_LANES], bj[KR_LANES], j;
  for (int l = 0; l < KR_LANES; l++) {
    bf[l] = isf ? kld_f64(d->dtype, x, base + l) : 0.0;
    uint64_t u = isf ? 0 : (uint64_t)kld_i64(d->dtype, x, base + l);
    bi[l] = (int64_t)(u ^ flip);
    bj[l] = l;
  }
  for (j = KR_LANES; j + KR_LANES <= d->len; j += KR_LANES)
    for (int l = 0; l < KR_LANES; l++)
      kr_arg_step(d, isf, flip, x, base, j + l, &bf[l], &bi[l], &bj[l]);
  for (; j < d->len; j++)
    kr_arg_step(d, isf, flip, x, base, j, &bf[0], &bi[0], &bj[0]);
  for (int l = 1; l < KR_LANES; l++)
    if (kr_arg_beats(d, isf, bf[l], bi[l], bj[l], bf[0], bi[0], bj[0])) {
      bf[0] = bf[l];
      bi[0] = bi[l];
      bj[0] = bj[l];
    }
  return bj[0];
}

KSIG(k_red_arg) {
  const kred_arg *d = desc_;
  const uint8_t *x = kptr(d->src, arena, weights);
  int64_t *y = kptr(d->dst, arena, weights);
  const int64_t nblk = (d->inner + KR_BLOCK - 1) / KR_BLOCK;
  int64_t u0 = kchunk(d->units, d->tasks, task_begin);
  int64_t u1 = kchunk(d->units, d->tasks, task_end);
  for (int64_t u = u0; u < u1; u++) {
    int64_t o = u / nblk, i0 = (u - o * nblk) * KR_BLOCK;
    if (d->inner == 1 && d->len >= KR_LANES) {
      y[o] = kr_arg_row(d, x, o * d->len);
      continue;
    }
    int64_t w = d->inner - i0 < KR_BLOCK ? d->inner - i0 : KR_BLOCK;
    kr_arg_block(d, x, o * d->len * d->inner + i0, w, y + o * d->inner + i0);
  }
}

/* elementwise.c — templates of the elementwise ops (descriptors in
 * elementwise.h): k_ew_unary and k_ew_binary.
 *
 * Each op's float formula is written once, in a table (EW_FLOAT_FORMULAS,
 * EW_BINARY_FLOAT_FORMULAS) over a type T, and expanded twice: into one
 * loop per op for float32 (the switch on the op sits outside the loops, so
 * every case is a plain loop LLVM vectorises once the descriptor is a
 * constant), and into a per-element function in double for float64,
 * float16 and bfloat16, which load through kmath.h's typed accessors and
 * round once on the store — the reference's arithmetic.  Integer and bool
 * ops go element by element through int64/uint64 like the reference;
 * after specialisation their dtype switches fold away too.
 *
 * Broadcasting: k_ew_binary walks the output in order.  A task's range of
 * elements is cut into runs along the innermost (merged) dim; an odometer
 * over the outer dims keeps each input's offset, so the inner loop of a
 * run is `y[i] = a[i*sa] op b[i*sb]` with constant strides (0 or 1 in
 * practice).
 *
 * Sin and Cos on float32 run the branch-free kmath variants and patch the
 * rare elements beyond KM_TRIGF_FAST_MAX afterwards, block by block.
 */
#include <string.h>

#include "elementwise.h"
#include "kmath.h"

#include "ew_formulas.h"
#include "generic/epilogue_apply.h"

static int64_t dt_size(int dt) {
  switch (dt) {
  case KM_U8: case KM_I8: case KM_BOOL: return 1;
  case KM_U16: case KM_I16: case KM_F16: case KM_BF16: return 2;
  case KM_F32: case KM_I32: case KM_U32: return 4;
  default: return 8;
  }
}

static int is_signed_int(int dt) {
  return dt == KM_I8 || dt == KM_I16 || dt == KM_I32 || dt == KM_I64;
}

/* The element range [*e0, *e1) of tasks [t0, t1) of a step over n
 * elements in KEW_BLOCK blocks. */
static void ew_range(int64_t n, int64_t tasks, int64_t t0, int64_t t1,
                     int64_t *e0, int64_t *e1) {
  int64_t blocks = (n + KEW_BLOCK - 1) / KEW_BLOCK;
  *e0 = kchunk(blocks, tasks, t0) * KEW_BLOCK;
  int64_t end = kchunk(blocks, tasks, t1) * KEW_BLOCK;
  *e1 = end < n ? end : n;
}

/* Copies |n| elements of |size| bytes between possibly strided views. */
static void ew_copy(uint8_t *y, const uint8_t *x, int64_t sx, int64_t n,
                    int64_t size) {
  if (sx == 1) {
    memcpy(y, x, (size_t)(n * size));
    return;
  }
  switch (size) {
  case 1: for (int64_t i = 0; i < n; i++) y[i] = x[i * sx]; break;
  case 2:
    for (int64_t i = 0; i < n; i++)
      ((uint16_t *)y)[i] = ((const uint16_t *)x)[i * sx];
    break;
  case 4:
    for (int64_t i = 0; i < n; i++)
      ((uint32_t *)y)[i] = ((const uint32_t *)x)[i * sx];
    break;
  default:
    for (int64_t i = 0; i < n; i++)
      ((uint64_t *)y)[i] = ((const uint64_t *)x)[i * sx];
    break;
  }
}

/*===------------------------------------------------------------------===*/
/* Unary                                                                   */
/*===------------------------------------------------------------------===*/

/* float32 Sin/Cos: the branch-free kmath variant over a block, then the
 * few elements outside its range exactly. */
static void ew_trig_f32(int want_cos, const float *xs, float *ys,
                        int64_t n) {
  for (int64_t b = 0; b < n; b += KEW_BLOCK) {
    int64_t m = n - b < KEW_BLOCK ? n - b : KEW_BLOCK;
    float t[KEW_BLOCK];
    if (want_cos)
      for (int64_t i = 0; i < m; i++) t[i] = kcosf_fast(xs[b + i]);
    else
      for (int64_t i = 0; i < m; i++) t[i] = ksinf_fast(xs[b + i]);
    for (int64_t i = 0; i < m; i++)
      if (!(fabsf(xs[b + i]) <= KM_TRIGF_FAST_MAX))
        t[i] = want_cos ? kcosf(xs[b + i]) : ksinf(xs[b + i]);
    memcpy(ys + b, t, (size_t)m * sizeof *t);
  }
}

static void ew_unary_f32(const kew_unary *d, const float *xs, float *ys,
                         int64_t n) {
  typedef float T;
  const T al = (T)d->alpha, be = (T)d->beta, ga = (T)d->gamma;
  const T ga_al = (T)(d->gamma * d->alpha);
  switch (d->op) {
  case KEW_SIN: ew_trig_f32(0, xs, ys, n); return;
  case KEW_COS: ew_trig_f32(1, xs, ys, n); return;
#define EW_LOOP(op, expr)                                      \
  case op:                                                     \
    for (int64_t i = 0; i < n; i++) {                          \
      T x = xs[i];                                             \
      ys[i] = (expr);                                          \
    }                                                          \
    return;
    EW_FLOAT_FORMULAS(EW_LOOP)
#undef EW_LOOP
  default: return;
  }
}

static double ew_unary_f64(const kew_unary *d, double x) {
  typedef double T;
  const T al = d->alpha, be = d->beta, ga = d->gamma;
  const T ga_al = d->gamma * d->alpha;
  switch (d->op) {
  case KEW_SIN: return ksin(x);
  case KEW_COS: return kcos(x);
#define EW_CASE(op, expr) \
  case op: return (expr);
    EW_FLOAT_FORMULAS(EW_CASE)
#undef EW_CASE
  default: return x;
  }
}

/* Abs, Neg, Sign, Relu on integers (wrapping like numpy); Erf goes
 * through double and truncates back. */
static void ew_unary_int(const kew_unary *d, const void *x, void *y,
                         int64_t n) {
  int dt = d->xdt;
  for (int64_t i = 0; i < n; i++) {
    if (d->op == KEW_ERF) {
      kst_f64(dt, y, i, kerf(kld_f64(dt, x, i)));
    } else if (!is_signed_int(dt) && d->op != KEW_NEG) {
      uint64_t v = kld_u64(dt, x, i);
      kst_u64(dt, y, i, d->op == KEW_SIGN ? (uint64_t)(v != 0) : v);
    } else {
      int64_t v = kld_i64(dt, x, i);
      uint64_t u = (uint64_t)v;
      switch (d->op) {
      case KEW_ABS: v = v < 0 ? (int64_t)(0 - u) : v; break;
      case KEW_NEG: v = (int64_t)(0 - u); break;
      case KEW_SIGN: v = (v > 0) - (v < 0); break;
      case KEW_RELU: v = v < 0 ? 0 : v; break;
      default: break;
      }
      kst_i64(dt, y, i, v);
    }
  }
}

/* Clip: min first, then max (numpy.clip); NaN passes. */
static void ew_clip(const kew_unary *d, uint8_t *arena, const uint8_t *w,
                    const void *x, void *y, int64_t n) {
  int dt = d->xdt;
  const void *lo = kptr(d->lo, arena, w), *hi = kptr(d->hi, arena, w);
  if (km_is_float(dt)) {
    double flo = d->lo_src == KEW_BOUND_BUF ? kld_f64(dt, lo, 0) : d->flo;
    double fhi = d->hi_src == KEW_BOUND_BUF ? kld_f64(dt, hi, 0) : d->fhi;
    if (dt == KM_F32) {
      const float *xs = x;
      float *ys = y, l = (float)flo, h = (float)fhi;
      for (int64_t i = 0; i < n; i++) {
        float v = xs[i] < l ? l : xs[i];
        ys[i] = v > h ? h : v;
      }
      return;
    }
    for (int64_t i = 0; i < n; i++) {
      double v = kld_f64(dt, x, i);
      v = v < flo ? flo : v;
      kst_f64(dt, y, i, v > fhi ? fhi : v);
    }
    return;
  }
  if (dt == KM_U64) {
    uint64_t l = d->lo_src == KEW_BOUND_BUF ? kld_u64(dt, lo, 0)
                                            : (uint64_t)d->ilo;
    uint64_t h = d->hi_src == KEW_BOUND_BUF ? kld_u64(dt, hi, 0)
                                            : (uint64_t)d->ihi;
    for (int64_t i = 0; i < n; i++) {
      uint64_t v = kld_u64(dt, x, i);
      v = v < l ? l : v;
      kst_u64(dt, y, i, v > h ? h : v);
    }
    return;
  }
  int64_t l = d->lo_src == KEW_BOUND_BUF ? kld_i64(dt, lo, 0) : d->ilo;
  int64_t h = d->hi_src == KEW_BOUND_BUF ? kld_i64(dt, hi, 0) : d->ihi;
  for (int64_t i = 0; i < n; i++) {
    int64_t v = kld_i64(dt, x, i);
    v = v < l ? l : v;
    kst_i64(dt, y, i, v > h ? h : v);
  }
}

/* Cast (ONNX Cast as the reference does it, ir/ref/unary.c): to bool is
 * "!= 0"; to bfloat16 truncates a float32 value; float to integer
 * truncates (saturating at the 64-bit range, then keeping the low bits);
 * integers keep their low bits; integers reach floats through double. */
static void ew_cast(int from, int to, const void *x, void *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    if (to == KM_BOOL) {
      ((uint8_t *)y)[i] = km_is_float(from) ? kld_f64(from, x, i) != 0.0
                                            : kld_i64(from, x, i) != 0;
    } else if (to == KM_BF16) {
      float f = km_is_float(from) ? (float)kld_f64(from, x, i)
                : from == KM_U64  ? (float)kld_u64(from, x, i)
                                  : (float)kld_i64(from, x, i);
      ((uint16_t *)y)[i] = kf32_to_bf16_trunc(f);
    } else if (km_is_float(from)) {
      kst_f64(to, y, i, kld_f64(from, x, i));
    } else if (km_is_float(to)) {
      kst_f64(to, y, i,
              from == KM_U64 ? (double)kld_u64(from, x, i)
                             : (double)kld_i64(from, x, i));
    } else if (from == KM_U64) {
      kst_u64(to, y, i, kld_u64(from, x, i));
    } else {
      kst_i64(to, y, i, kld_i64(from, x, i));
    }
  }
}

static void ew_unary_task(const kew_unary *d, uint8_t *arena,
                       const uint8_t *weights, int64_t task_begin,
                       int64_t task_end) {
  int64_t e0, e1;
  ew_range(d->n, d->tasks, task_begin, task_end, &e0, &e1);
  if (e0 >= e1) return;
  int64_t n = e1 - e0, xs = dt_size(d->xdt), ys = dt_size(d->ydt);
  const uint8_t *x = (const uint8_t *)kptr(d->x, arena, weights) + e0 * xs;
  uint8_t *y = (uint8_t *)kptr(d->y, arena, weights) + e0 * ys;
  switch (d->op) {
  case KEW_COPY:
    memcpy(y, x, (size_t)(n * xs));
    return;
  case KEW_ONES:
    for (int64_t i = 0; i < n; i++) kst_f64(d->ydt, y, i, 1.0);
    return;
  case KEW_CAST:
    if (d->xdt == d->ydt)
      memcpy(y, x, (size_t)(n * xs));
    else
      ew_cast(d->xdt, d->ydt, x, y, n);
    return;
  case KEW_NOT:
    for (int64_t i = 0; i < n; i++) y[i] = !x[i];
    return;
  case KEW_CLIP:
    ew_clip(d, arena, weights, x, y, n);
    return;
  default:
    break;
  }
  if (d->xdt == KM_F32) {
    ew_unary_f32(d, (const float *)x, (float *)y, n);
  } else if (km_is_float(d->xdt)) {
    for (int64_t i = 0; i < n; i++)
      kst_f64(d->ydt, y, i, ew_unary_f64(d, kld_f64(d->xdt, x, i)));
  } else {
    ew_unary_int(d, x, y, n);
  }
}

/*===------------------------------------------------------------------===*/
/* Binary                                                                  */
/*===------------------------------------------------------------------===*/

static int ew_is_compare(int op) {
  return op >= KEW_EQUAL && op <= KEW_LESS_EQUAL;
}

static uint8_t ew_compare(int op, int lt, int eq, int gt) {
  switch (op) {
  case KEW_EQUAL: return (uint8_t)eq;
  case KEW_GREATER: return (uint8_t)gt;
  case KEW_GREATER_EQUAL: return (uint8_t)(gt || eq);
  case KEW_LESS: return (uint8_t)lt;
  default: return (uint8_t)(lt || eq);
  }
}

/* base^e modulo 2^64 by squaring. */
static uint64_t ew_upow(uint64_t base, uint64_t e) {
  uint64_t r = 1;
  for (; e; e >>= 1) {
    if (e & 1) r *= base;
    base *= base;
  }
  return r;
}

static double ew_arith_f64(int op, double a, double b) {
  switch (op) {
#define EW_CASE(op, expr) \
  case op: return (expr);
    EW_BINARY_FLOAT_FORMULAS(EW_CASE)
#undef EW_CASE
  default: return 0.0;
  }
}

/* One element of an arithmetic op for every dtype but float32 (which
 * has its own loops); a and b are the two inputs' base pointers. */
static void ew_arith_elem(const kew_binary *d, const void *a, int64_t ia,
                          const void *b, int64_t ib, void *y, int64_t iy) {
  int op = d->op, ta = d->dt[0], tb = d->dt[1], ty = d->ydt;
  if (km_is_float(ta)) {
    kst_f64(ty, y, iy, ew_arith_f64(op, kld_f64(ta, a, ia), kld_f64(tb, b, ib)));
    return;
  }
  if (op == KEW_POW) { /* integer base */
    if (km_is_float(tb)) {
      kst_f64(ty, y, iy, kpow(kld_f64(ta, a, ia), kld_f64(tb, b, ib)));
      return;
    }
    uint64_t base = kld_u64(ta, a, ia), r;
    if (tb != KM_U64 && kld_i64(tb, b, ib) < 0) {
      /* truncated reciprocal: 1 for base 1, +-1 for base -1, else 0 */
      int odd = (int)(kld_i64(tb, b, ib) & 1);
      int minus_one = is_signed_int(ta) && kld_i64(ta, a, ia) == -1;
      r = base == 1 ? 1 : minus_one ? (odd ? UINT64_MAX : 1) : 0;
    } else {
      r = ew_upow(base, kld_u64(tb, b, ib));
    }
    kst_u64(ty, y, iy, r);
    return;
  }
  if (ta == KM_U64) {
    uint64_t x = kld_u64(ta, a, ia), z = kld_u64(tb, b, ib), r;
    switch (op) {
    case KEW_ADD: r = x + z; break;
    case KEW_SUB: r = x - z; break;
    case KEW_MUL: r = x * z; break;
    case KEW_DIV: r = z ? x / z : 0; break;
    case KEW_MAX: r = x > z ? x : z; break;
    case KEW_MIN: r = x < z ? x : z; break;
    default: r = x; break; /* PRelu: never negative */
    }
    kst_u64(ty, y, iy, r);
    return;
  }
  /* int64 arithmetic, wrapping (done in uint64 to stay defined); division
   * by zero gives 0 and INT64_MIN / -1 wraps (docs/decisions.md) */
  int64_t x = kld_i64(ta, a, ia), z = kld_i64(tb, b, ib), r;
  uint64_t ux = (uint64_t)x, uz = (uint64_t)z;
  switch (op) {
  case KEW_ADD: r = (int64_t)(ux + uz); break;
  case KEW_SUB: r = (int64_t)(ux - uz); break;
  case KEW_MUL: r = (int64_t)(ux * uz); break;
  case KEW_DIV:
    r = z == 0 ? 0 : z == -1 ? (int64_t)(0 - ux) : x / z;
    break;
  case KEW_PRELU: r = x < 0 ? (int64_t)(ux * uz) : x; break;
  case KEW_MAX: r = x > z ? x : z; break;
  default: r = x < z ? x : z; break;
  }
  kst_i64(ty, y, iy, r);
}

/* One run of |n| output elements: input k at base in[k] + i * s[k]. */
static void ew_binary_run(const kew_binary *d, const uint8_t *const *in,
                          const int64_t *s, uint8_t *y, int64_t n) {
  int op = d->op;
  if (op == KEW_BCOPY) {
    ew_copy(y, in[0], s[0], n, dt_size(d->ydt));
    return;
  }
  if (op == KEW_WHERE) {
    const uint8_t *c = in[0];
    switch (dt_size(d->ydt)) {
#define EW_WHERE(T)                                                       \
  {                                                                       \
    const T *a = (const T *)in[1], *b = (const T *)in[2];                 \
    for (int64_t i = 0; i < n; i++)                                       \
      ((T *)y)[i] = c[i * s[0]] ? a[i * s[1]] : b[i * s[2]];              \
  }                                                                       \
  break;
    case 1: EW_WHERE(uint8_t)
    case 2: EW_WHERE(uint16_t)
    case 4: EW_WHERE(uint32_t)
    default: EW_WHERE(uint64_t)
#undef EW_WHERE
    }
    return;
  }
  const uint8_t *pa = in[0], *pb = in[1];
  int64_t sa = s[0], sb = s[1];
  if (op == KEW_AND || op == KEW_OR || op == KEW_XOR) {
    for (int64_t i = 0; i < n; i++) {
      int x = pa[i * sa] != 0, z = pb[i * sb] != 0;
      y[i] = (uint8_t)(op == KEW_AND ? (x && z) : op == KEW_OR ? (x || z)
                                                               : x != z);
    }
    return;
  }
  int ta = d->dt[0], tb = d->dt[1];
  if (ew_is_compare(op)) {
    for (int64_t i = 0; i < n; i++) {
      int lt, eq, gt;
      if (km_is_float(ta)) {
        double x = kld_f64(ta, pa, i * sa), z = kld_f64(tb, pb, i * sb);
        lt = x < z, eq = x == z, gt = x > z;
      } else if (ta == KM_U64) {
        uint64_t x = kld_u64(ta, pa, i * sa), z = kld_u64(tb, pb, i * sb);
        lt = x < z, eq = x == z, gt = x > z;
      } else {
        int64_t x = kld_i64(ta, pa, i * sa), z = kld_i64(tb, pb, i * sb);
        lt = x < z, eq = x == z, gt = x > z;
      }
      y[i] = ew_compare(op, lt, eq, gt);
    }
    return;
  }
  if (ta == KM_F32 && tb == KM_F32) { /* the hot path */
    typedef float T;
    const float *fa = (const float *)pa, *fb = (const float *)pb;
    float *fy = (float *)y;
    switch (op) {
#define EW_LOOP(op, expr)                                      \
  case op:                                                     \
    for (int64_t i = 0; i < n; i++) {                          \
      T a = fa[i * sa], b = fb[i * sb];                        \
      fy[i] = (expr);                                          \
    }                                                          \
    return;
      EW_BINARY_FLOAT_FORMULAS(EW_LOOP)
#undef EW_LOOP
    default: return;
    }
  }
  for (int64_t i = 0; i < n; i++)
    ew_arith_elem(d, pa, i * sa, pb, i * sb, y, i);
}

static void ew_binary_task(const kew_binary *d, uint8_t *arena,
                        const uint8_t *weights, int64_t task_begin,
                        int64_t task_end) {
  int64_t e0, e1;
  ew_range(d->n, d->tasks, task_begin, task_end, &e0, &e1);
  if (e0 >= e1) return;
  const uint8_t *in[KEW_MAX_IN];
  int64_t isz[KEW_MAX_IN], s[KEW_MAX_IN];
  int nin = d->nin, r = d->rank;
  for (int k = 0; k < nin; k++) {
    in[k] = kptr(d->in[k], arena, weights);
    isz[k] = dt_size(d->dt[k]);
    s[k] = d->str[k][r - 1];
  }
  int64_t ysz = dt_size(d->ydt);
  uint8_t *y = kptr(d->y, arena, weights);
  /* Where e0 lies: outer index (odometer over dims[0..r-1)) and column. */
  int64_t len = d->dims[r - 1];
  int64_t row = e0 / len, col = e0 % len;
  int64_t idx[KMAX_RANK], base[KEW_MAX_IN];
  for (int k = 0; k < nin; k++) base[k] = 0;
  for (int dd = r - 2; dd >= 0; dd--) {
    idx[dd] = row % d->dims[dd];
    row /= d->dims[dd];
    for (int k = 0; k < nin; k++) base[k] += idx[dd] * d->str[k][dd];
  }
  for (int64_t e = e0; e < e1;) {
    int64_t cnt = len - col < e1 - e ? len - col : e1 - e;
    const uint8_t *p[KEW_MAX_IN];
    for (int k = 0; k < nin; k++)
      p[k] = in[k] + (base[k] + col * s[k]) * isz[k];
    ew_binary_run(d, p, s, y + e * ysz, cnt);
    e += cnt;
    col = 0;
    for (int dd = r - 2; dd >= 0; dd--) { /* next row */
      for (int k = 0; k < nin; k++) base[k] += d->str[k][dd];
      if (++idx[dd] < d->dims[dd]) break;
      idx[dd] = 0;
      for (int k = 0; k < nin; k++) base[k] -= d->dims[dd] * d->str[k][dd];
    }
  }
  if (d->post_div > 0) { /* Mean: the stored sum divided by the count */
    uint8_t *ys = y + e0 * ysz;
    int64_t n = e1 - e0;
    if (d->ydt == KM_F32) {
      float c = (float)d->post_div;
      for (int64_t i = 0; i < n; i++) ((float *)ys)[i] /= c;
    } else {
      for (int64_t i = 0; i < n; i++)
        kst_f64(d->ydt, ys, i, kld_f64(d->ydt, ys, i) / d->post_div);
    }
  }
}

/* The fused epilogue (epilogue.h) on this task's float32 elements. */
static void ew_epilogue(const kepi *e, int32_t ydt, kbuf yb, uint8_t *arena,
                        const uint8_t *weights, int64_t n, int64_t tasks,
                        int64_t task_begin, int64_t task_end) {
  if (e->n == 0 || ydt != KM_F32) return;
  int64_t e0, e1;
  ew_range(n, tasks, task_begin, task_end, &e0, &e1);
  if (e0 < e1) kepi_run(e, (float *)kptr(yb, arena, weights) + e0, e1 - e0);
}

KSIG(k_ew_unary) {
  const kew_unary *d = desc_;
  ew_unary_task(d, arena, weights, task_begin, task_end);
  ew_epilogue(&d->epi, d->ydt, d->y, arena, weights, d->n, d->tasks,
              task_begin, task_end);
}

KSIG(k_ew_binary) {
  const kew_binary *d = desc_;
  ew_binary_task(d, arena, weights, task_begin, task_end);
  ew_epilogue(&d->epi, d->ydt, d->y, arena, weights, d->n, d->tasks,
              task_begin, task_end);
}

/* matmul.c — matrix products of the reference interpreter: MatMul, Gemm,
 * MatMulInteger and QLinearMatMul.
 *
 * Every product goes through one of two kernels, both in i-k-j order with a
 * contiguous inner loop: mm_f64 for the float dtypes (operands are first
 * copied into row-major double scratch, which also absorbs Gemm's
 * transposes, so the accumulation is in double whatever the storage type)
 * and mm_i64 for the integer dtypes (wrapping arithmetic, exact for the
 * quantised ops).  MatMul follows numpy.matmul: a 1-D operand is promoted to
 * a matrix and the added dim removed from the result; leading dims are batch
 * dims and broadcast.
 *
 * Quantised ops follow DESIGN.md §5: the int32 accumulator is exact
 * (Σ (a−za)(b−zb), wrapping like int32), and QLinearMatMul requantises with
 * y = saturate(rne(float(acc) · M) + zy), M = float(float(sa·sb) / sy).
 * Every float step is its own expression so no FMA contraction can merge
 * them.  Zero points and scales are per tensor (one element), per row of A
 * / per column of B (a 1-D vector of M / N values), or for N-D operands of
 * shape [..., M, 1] / [..., 1, N], as the ONNX spec allows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

/*===------------------------------------------------------------------===*/
/* Geometry                                                                */
/*===------------------------------------------------------------------===*/

/* A batched product: |batch| is the broadcast batch shape; a_str/b_str give,
 * per batch dim, the step in whole matrices of A and B (0 = broadcast). */
typedef struct mm_geom {
  int64_t m, k, n;
  int a_rank, b_rank;
  ir_shape batch;
  int64_t str[2][IR_MAX_RANK];
} mm_geom;

static ingot_status mm_geometry(const ir_node *n, const ir_shape *a,
                                const ir_shape *b, mm_geom *g,
                                ir_shape *out) {
  char sa[96], sb[96];
  if (a->rank < 1 || b->rank < 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "matrix product operands must have rank >= 1; "
                         "got %s and %s",
                         ir_shape_str(a, sa, sizeof sa),
                         ir_shape_str(b, sb, sizeof sb));
  memset(g, 0, sizeof *g);
  g->a_rank = a->rank;
  g->b_rank = b->rank;
  g->m = a->rank == 1 ? 1 : a->dims[a->rank - 2];
  int64_t ka = a->dims[a->rank - 1];
  int64_t kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
  g->n = b->rank == 1 ? 1 : b->dims[b->rank - 1];
  if (ka >= 0 && kb >= 0 && ka != kb)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "inner dimensions differ: A is %s, B is %s",
                         ir_shape_str(a, sa, sizeof sa),
                         ir_shape_str(b, sb, sizeof sb));
  g->k = ka >= 0 ? ka : kb;

  ir_shape ab = {0}, bb = {0};
  ab.rank = a->rank > 2 ? a->rank - 2 : 0;
  bb.rank = b->rank > 2 ? b->rank - 2 : 0;
  for (int d = 0; d < ab.rank; d++) ab.dims[d] = a->dims[d];
  for (int d = 0; d < bb.rank; d++) bb.dims[d] = b->dims[d];
  const ir_shape *sh[2] = {&ab, &bb};
  ingot_status s = ref_broadcast(n, sh, 2, &g->batch);
  if (s) {
    ingot_status_free(s);
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "batch dims of A %s and B %s do not broadcast",
                         ir_shape_str(a, sa, sizeof sa),
                         ir_shape_str(b, sb, sizeof sb));
  }
  if (ir_shape_is_static(&g->batch)) {
    ref_bcast_strides(&ab, &g->batch, g->str[0]);
    ref_bcast_strides(&bb, &g->batch, g->str[1]);
  }
  *out = g->batch;
  if (a->rank > 1) out->dims[out->rank++] = g->m;
  if (b->rank > 1) out->dims[out->rank++] = g->n;
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Kernels                                                                 */
/*===------------------------------------------------------------------===*/

/* y[m,n] = a[m,k] · b[k,n], all row-major.  Blocked for the caches, as
 * calibration runs whole transformers through here: a panel of MM_KB rows
 * by MM_NB columns of B (256 KiB) stays in L2 while every row of A passes
 * over it, and each pass over a row of y takes four k steps at once.
 * Every y[i][j] still adds its products one at a time in ascending k,
 * each as `y += a * b` (one fused multiply-add where the compiler
 * contracts, as before), so the result is bit-for-bit the plain i-k-j
 * loop's; only the order in which different elements are visited
 * changed. */
enum { MM_KB = 64, MM_NB = 512 };

static void mm_f64(const double *a, const double *b, double *y, int64_t m,
                   int64_t k, int64_t n) {
  for (int64_t i = 0; i < m * n; i++) y[i] = 0;
  for (int64_t p0 = 0; p0 < k; p0 += MM_KB) {
    int64_t p1 = p0 + MM_KB < k ? p0 + MM_KB : k;
    for (int64_t j0 = 0; j0 < n; j0 += MM_NB) {
      int64_t jn = n - j0 < MM_NB ? n - j0 : MM_NB;
      for (int64_t i = 0; i < m; i++) {
        double *restrict yr = y + i * n + j0;
        const double *ar = a + i * k;
        int64_t p = p0;
        for (; p + 4 <= p1; p += 4) {
          double a0 = ar[p], a1 = ar[p + 1], a2 = ar[p + 2], a3 = ar[p + 3];
          const double *restrict b0 = b + p * n + j0;
          const double *restrict b1 = b0 + n;
          const double *restrict b2 = b1 + n;
          const double *restrict b3 = b2 + n;
          for (int64_t j = 0; j < jn; j++) {
            double t = yr[j];
            t += a0 * b0[j];
            t += a1 * b1[j];
            t += a2 * b2[j];
            t += a3 * b3[j];
            yr[j] = t;
          }
        }
        for (; p < p1; p++) {
          double av = ar[p];
          const double *restrict br = b + p * n + j0;
          for (int64_t j = 0; j < jn; j++) yr[j] += av * br[j];
        }
      }
    }
  }
}

/* Same in wrapping 64-bit integer arithmetic. */
static void mm_i64(const int64_t *a, const int64_t *b, int64_t *y, int64_t m,
                   int64_t k, int64_t n) {
  for (int64_t i = 0; i < m; i++) {
    uint64_t *yr = (uint64_t *)(y + i * n);
    for (int64_t j = 0; j < n; j++) yr[j] = 0;
    for (int64_t p = 0; p < k; p++) {
      uint64_t av = (uint64_t)a[i * k + p];
      const int64_t *br = b + p * n;
      for (int64_t j = 0; j < n; j++) yr[j] += av * (uint64_t)br[j];
    }
  }
}

/* dst[r*cols + c] = base[off + r*rs + c*cs] as double. */
static void load_f64(ir_dtype t, const void *base, int64_t off, int64_t rows,
                     int64_t cols, int64_t rs, int64_t cs, double *dst) {
  if (t == IR_F32) {
    const float *p = (const float *)base + off;
    for (int64_t r = 0; r < rows; r++)
      for (int64_t c = 0; c < cols; c++)
        dst[r * cols + c] = p[r * rs + c * cs];
    return;
  }
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++)
      dst[r * cols + c] =
          ir_load_f64(t, base, (size_t)(off + r * rs + c * cs));
}

static void load_i64(ir_dtype t, const void *base, int64_t off, int64_t rows,
                     int64_t cols, int64_t rs, int64_t cs, int64_t *dst) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++)
      dst[r * cols + c] =
          ir_load_i64(t, base, (size_t)(off + r * rs + c * cs));
}

/* Scratch for one batch: A [m,k], B [k,n], Y [m,n], 8-byte elements. */
typedef struct mm_scratch {
  void *a, *b, *y;
} mm_scratch;

static ingot_status scratch_alloc(const ir_node *n, mm_scratch *s,
                                  int64_t m, int64_t k, int64_t nn) {
  size_t na = (size_t)(m * k), nb = (size_t)(k * nn), ny = (size_t)(m * nn);
  s->a = malloc((na ? na : 1) * 8);
  s->b = malloc((nb ? nb : 1) * 8);
  s->y = malloc((ny ? ny : 1) * 8);
  if (!s->a || !s->b || !s->y) {
    free(s->a);
    free(s->b);
    free(s->y);
    return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED,
                         "out of memory for a %lldx%lldx%lld product",
                         (long long)m, (long long)k, (long long)nn);
  }
  return NULL;
}

static void scratch_free(mm_scratch *s) {
  free(s->a);
  free(s->b);
  free(s->y);
}

/* A node computing in bf16 (ir_node.compute): its operands, already in
 * double scratch, rounded to bfloat16 (nearest even, ir_f32_to_bf16).
 * Products of two bf16 values are exact; they are summed in double as
 * every float product here is. */
static void round_bf16(const ir_node *n, double *v, int64_t count) {
  if (n->compute != IR_BF16) return;
  for (int64_t i = 0; i < count; i++)
    v[i] = ir_bf16_to_f32(ir_f32_to_bf16((float)v[i]));
}

static bool dtype_is_float(ir_dtype t) {
  const ir_dtype_info *d = ir_dtype_get(t);
  return d && d->is_float;
}

/*===------------------------------------------------------------------===*/
/* Quantisation parameters (zero points and scales)                        */
/*===------------------------------------------------------------------===*/

/* How a quantisation parameter of operand A (rows) or B (columns) is laid
 * out: absent, one value, a vector over rows/columns, or N-D per matrix. */
typedef enum qp_mode { QP_NONE, QP_TENSOR, QP_VECTOR, QP_ND } qp_mode;

static ingot_status qp_mode_of(const ir_node *n, const ir_value *in, int nin,
                               int idx, const ir_shape *x, bool rows,
                               const char *what, qp_mode *mode) {
  *mode = QP_NONE;
  if (!ref_has(in, nin, idx)) return NULL;
  const ir_shape *s = &in[idx].shape;
  char buf[96], xb[96];
  if (!ir_shape_is_static(s) || !ir_shape_is_static(x)) {
    *mode = QP_TENSOR; /* checked again at evaluation */
    return NULL;
  }
  int64_t len = rows ? (x->rank == 1 ? 1 : x->dims[x->rank - 2])
                     : (x->rank == 1 ? 1 : x->dims[x->rank - 1]);
  if (ir_shape_numel(s) == 1) {
    *mode = QP_TENSOR;
    return NULL;
  }
  if (s->rank == 1 && s->dims[0] == len) {
    *mode = QP_VECTOR;
    return NULL;
  }
  if (s->rank == x->rank && x->rank >= 2) {
    bool ok = true;
    for (int d = 0; d < x->rank; d++) {
      int64_t want = x->dims[d];
      if (rows && d == x->rank - 1) want = 1;
      if (!rows && d == x->rank - 2) want = 1;
      if (s->dims[d] != want) ok = false;
    }
    if (ok) {
      *mode = QP_ND;
      return NULL;
    }
  }
  return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                       "%s has shape %s; for an operand of shape %s it must "
                       "have one element, %lld elements (one per %s) or the "
                       "operand's shape with the %s dim set to 1",
                       what, ir_shape_str(s, buf, sizeof buf),
                       ir_shape_str(x, xb, sizeof xb), (long long)len,
                       rows ? "row" : "column", rows ? "last" : "row");
}

/* Element index of the parameter for row/column |r| of matrix |mat|. */
static size_t qp_index(qp_mode mode, int64_t mat, int64_t len, int64_t r) {
  switch (mode) {
  case QP_VECTOR:
    return (size_t)r;
  case QP_ND:
    return (size_t)(mat * len + r);
  default:
    return 0;
  }
}

static const ir_dtype q8_types[] = {IR_U8, IR_I8, IR_DT_UNDEF};
static const ir_dtype scale_types[] = {IR_F32, IR_DT_UNDEF};

/* Checks that zero point in[zp] (optional) matches operand in[x]'s dtype. */
static ingot_status check_zp_dtype(const ir_node *n, const ir_value *in,
                                   int nin, int zp, int x) {
  if (!ref_has(in, nin, zp)) return NULL;
  return ref_same_dtype(n, in, x, zp);
}

/*===------------------------------------------------------------------===*/
/* Shape inference (MatMul, MatMulInteger, QLinearMatMul)                  */
/*===------------------------------------------------------------------===*/

static const ir_dtype matmul_types[] = {IR_F32, IR_F64, IR_F16, IR_BF16,
                                        IR_I32, IR_I64, IR_U32, IR_U64,
                                        IR_DT_UNDEF};

ingot_status ref_infer_matmul(const ir_node *n, const ir_value *in, int nin,
                              ir_value *out, int nout) {
  bool qlinear = n->op == IR_OP_QLINEAR_MATMUL;
  int ia = 0, ib = qlinear ? 3 : 1;
  mm_geom g;
  INGOT_RETURN_IF_ERROR(
      mm_geometry(n, &in[ia].shape, &in[ib].shape, &g, &out[0].shape));
  const ir_shape *as = &in[ia].shape, *bs = &in[ib].shape;
  qp_mode mode;
  switch (n->op) {
  case IR_OP_MATMUL:
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, matmul_types));
    INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, 0, 1));
    out[0].dtype = in[0].dtype;
    break;
  case IR_OP_MATMUL_INTEGER:
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, q8_types));
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 1, q8_types));
    INGOT_RETURN_IF_ERROR(check_zp_dtype(n, in, nin, 2, 0));
    INGOT_RETURN_IF_ERROR(check_zp_dtype(n, in, nin, 3, 1));
    INGOT_RETURN_IF_ERROR(
        qp_mode_of(n, in, nin, 2, as, true, "a_zero_point", &mode));
    INGOT_RETURN_IF_ERROR(
        qp_mode_of(n, in, nin, 3, bs, false, "b_zero_point", &mode));
    out[0].dtype = IR_I32;
    break;
  case IR_OP_QLINEAR_MATMUL:
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, q8_types));
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 3, q8_types));
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 1, scale_types));
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 4, scale_types));
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 6, scale_types));
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 7, q8_types));
    INGOT_RETURN_IF_ERROR(check_zp_dtype(n, in, nin, 2, 0));
    INGOT_RETURN_IF_ERROR(check_zp_dtype(n, in, nin, 5, 3));
    INGOT_RETURN_IF_ERROR(qp_mode_of(n, in, nin, 1, as, true, "a_scale", &mode));
    INGOT_RETURN_IF_ERROR(
        qp_mode_of(n, in, nin, 2, as, true, "a_zero_point", &mode));
    INGOT_RETURN_IF_ERROR(
        qp_mode_of(n, in, nin, 4, bs, false, "b_scale", &mode));
    INGOT_RETURN_IF_ERROR(
        qp_mode_of(n, in, nin, 5, bs, false, "b_zero_point", &mode));
    INGOT_RETURN_IF_ERROR(ref_check_scale_values(n, in, nin, 1, "a_scale"));
    INGOT_RETURN_IF_ERROR(ref_check_scale_values(n, in, nin, 4, "b_scale"));
    INGOT_RETURN_IF_ERROR(ref_check_scale_values(n, in, nin, 6, "y_scale"));
    for (int i = 6; i <= 7; i++) {
      const ir_shape *s = &in[i].shape;
      if (ir_shape_is_static(s) && ir_shape_numel(s) != 1)
        return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                             "%s must have exactly one element (per-tensor)",
                             i == 6 ? "y_scale" : "y_zero_point");
    }
    out[0].dtype = in[7].dtype;
    break;
  default:
    return ir_node_error(n, INGOT_INTERNAL, "not a matrix product op");
  }
  for (int i = 1; i < nout; i++) out[i] = out[0];
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Batched evaluation                                                      */
/*===------------------------------------------------------------------===*/

typedef enum mm_kind { MM_FLOAT, MM_INT, MM_INTEGER, MM_QLINEAR } mm_kind;

/* Quantised operand: data, zero point and (QLinear) scale layouts. */
typedef struct mm_qop {
  const ir_value *x, *zp, *scale;
  qp_mode zp_mode, scale_mode;
  int64_t len; /* rows of A or columns of B */
} mm_qop;

static ingot_status qop_init(const ir_node *n, const ir_value *in, int nin,
                             int ix, int iscale, int izp, bool rows,
                             mm_qop *q) {
  memset(q, 0, sizeof *q);
  q->x = &in[ix];
  const ir_shape *xs = &in[ix].shape;
  q->len = rows ? (xs->rank == 1 ? 1 : xs->dims[xs->rank - 2])
                : (xs->rank == 1 ? 1 : xs->dims[xs->rank - 1]);
  INGOT_RETURN_IF_ERROR(qp_mode_of(n, in, nin, izp, xs, rows,
                                   rows ? "a_zero_point" : "b_zero_point",
                                   &q->zp_mode));
  if (q->zp_mode != QP_NONE) q->zp = &in[izp];
  if (iscale >= 0) {
    INGOT_RETURN_IF_ERROR(qp_mode_of(n, in, nin, iscale, xs, rows,
                                     rows ? "a_scale" : "b_scale",
                                     &q->scale_mode));
    q->scale = &in[iscale];
  }
  return NULL;
}

static int64_t qop_zp(const mm_qop *q, int64_t mat, int64_t r) {
  if (q->zp_mode == QP_NONE) return 0;
  return ir_load_i64(q->zp->dtype, q->zp->data,
                     qp_index(q->zp_mode, mat, q->len, r));
}

static float qop_scale(const mm_qop *q, int64_t mat, int64_t r) {
  return (float)ir_load_f64(q->scale->dtype, q->scale->data,
                            qp_index(q->scale_mode, mat, q->len, r));
}

/* Loads matrix |mat| of quantised A [m,k] (rows) or B [k,n] (columns) into
 * int64 scratch with its zero points subtracted. */
static void qop_load(const mm_qop *q, bool rows, int64_t mat, int64_t r,
                     int64_t c, int64_t *dst) {
  load_i64(q->x->dtype, q->x->data, mat * r * c, r, c, c, 1, dst);
  for (int64_t i = 0; i < r; i++)
    for (int64_t j = 0; j < c; j++)
      dst[i * c + j] -= qop_zp(q, mat, rows ? i : j);
}

static ingot_status mm_run(const ir_node *n, mm_kind kind, const ir_value *in,
                           int nin, ir_value *y) {
  int ib = kind == MM_QLINEAR ? 3 : 1;
  mm_geom g;
  ir_shape ys;
  INGOT_RETURN_IF_ERROR(
      mm_geometry(n, &in[0].shape, &in[ib].shape, &g, &ys));
  size_t nbatch = g.batch.rank == 0 ? 1 : ir_shape_numel(&g.batch);
  if (g.m == 0 || g.n == 0 || nbatch == 0) return NULL;

  mm_qop qa = {0}, qb = {0};
  if (kind == MM_INTEGER || kind == MM_QLINEAR) {
    bool ql = kind == MM_QLINEAR;
    INGOT_RETURN_IF_ERROR(qop_init(n, in, nin, 0, ql ? 1 : -1, 2,
                                   true, &qa));
    INGOT_RETURN_IF_ERROR(qop_init(n, in, nin, ib, ql ? 4 : -1, ql ? 5 : 3,
                                   false, &qb));
  }
  float ysc = 0;
  int64_t yzp = 0, lo = 0, hi = 0;
  if (kind == MM_QLINEAR) {
    ysc = (float)ir_load_f64(in[6].dtype, in[6].data, 0);
    yzp = ir_load_i64(in[7].dtype, in[7].data, 0);
    lo = y->dtype == IR_I8 ? -128 : 0;
    hi = y->dtype == IR_I8 ? 127 : 255;
  }

  mm_scratch s;
  INGOT_RETURN_IF_ERROR(scratch_alloc(n, &s, g.m, g.k, g.n));
  ref_iter it;
  ref_iter_init(&it, &g.batch, 2, g.str);
  int64_t m = g.m, k = g.k, nn = g.n;
  for (size_t bi = 0; bi < nbatch; bi++, ref_iter_next(&it)) {
    int64_t am = it.off[0], bm = it.off[1];
    size_t yoff = bi * (size_t)(m * nn);
    if (kind == MM_FLOAT) {
      load_f64(in[0].dtype, in[0].data, am * m * k, m, k, k, 1, s.a);
      load_f64(in[1].dtype, in[1].data, bm * k * nn, k, nn, nn, 1, s.b);
      round_bf16(n, s.a, m * k);
      round_bf16(n, s.b, k * nn);
      mm_f64(s.a, s.b, s.y, m, k, nn);
      const double *r = s.y;
      if (y->dtype == IR_F32) {
        float *yp = (float *)y->data + yoff;
        for (int64_t i = 0; i < m * nn; i++) yp[i] = (float)r[i];
      } else {
        for (int64_t i = 0; i < m * nn; i++)
          ir_store_f64(y->dtype, y->data, yoff + (size_t)i, r[i]);
      }
      continue;
    }
    if (kind == MM_INT) {
      load_i64(in[0].dtype, in[0].data, am * m * k, m, k, k, 1, s.a);
      load_i64(in[1].dtype, in[1].data, bm * k * nn, k, nn, nn, 1, s.b);
    } else {
      qop_load(&qa, true, am, m, k, s.a);
      qop_load(&qb, false, bm, k, nn, s.b);
    }
    mm_i64(s.a, s.b, s.y, m, k, nn);
    const int64_t *acc = s.y;
    for (int64_t i = 0; i < m; i++) {
      for (int64_t j = 0; j < nn; j++) {
        size_t o = yoff + (size_t)(i * nn + j);
        int64_t v = acc[i * nn + j];
        if (kind == MM_INT) {
          ir_store_i64(y->dtype, y->data, o, v);
          continue;
        }
        int32_t a32 = (int32_t)(uint32_t)(uint64_t)v; /* int32 wrap */
        if (kind == MM_INTEGER) {
          ((int32_t *)y->data)[o] = a32;
          continue;
        }
        float mul = qop_scale(&qa, am, i) * qop_scale(&qb, bm, j);
        mul = mul / ysc;
        float prod = (float)a32 * mul;
        ir_store_i64(y->dtype, y->data, o, ref_saturate_rne(prod, yzp, lo, hi));
      }
    }
  }
  scratch_free(&s);
  return NULL;
}

ingot_status ref_eval_matmul(const ir_node *n, const ir_value *in, int nin,
                             ir_value *out, int nout) {
  return mm_run(n, dtype_is_float(in[0].dtype) ? MM_FLOAT : MM_INT, in, nin,
                &out[0]);
}

ingot_status ref_eval_matmul_integer(const ir_node *n, const ir_value *in,
                                     int nin, ir_value *out, int nout) {
  return mm_run(n, MM_INTEGER, in, nin, &out[0]);
}

ingot_status ref_eval_qlinear_matmul(const ir_node *n, const ir_value *in,
                                     int nin, ir_value *out, int nout) {
  return mm_run(n, MM_QLINEAR, in, nin, &out[0]);
}

/*===------------------------------------------------------------------===*/
/* Gemm: Y = alpha · A' · B' + beta · C                                    */
/*===------------------------------------------------------------------===*/

ingot_status ref_parse_gemm(ir_graph *g, ir_node_id nid) {
  /* broadcast: Gemm-6 and older; Gemm-7 always broadcasts C. */
  static const char *const known[] = {"alpha", "beta", "transA", "transB",
                                      "broadcast", NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, known));
  float alpha, beta;
  int64_t ta, tb;
  INGOT_RETURN_IF_ERROR(ir_attr_float(n, "alpha", 1.0f, &alpha));
  INGOT_RETURN_IF_ERROR(ir_attr_float(n, "beta", 1.0f, &beta));
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "transA", 0, &ta));
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "transB", 0, &tb));
  if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1))
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "transA and transB must be 0 or 1 (got %lld, %lld)",
                         (long long)ta, (long long)tb);
  ir_p_gemm *p = ref_params_new(g, nid, sizeof *p);
  if (!p)
    return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  p->alpha = alpha;
  p->beta = beta;
  p->trans_a = ta != 0;
  p->trans_b = tb != 0;
  return NULL;
}

/* Gemm's (and QGemm's) M, K, N after the transposes (ref.h). */
ingot_status ref_gemm_dims(const ir_node *n, const ir_shape *a,
                           const ir_shape *b, int64_t *m, int64_t *k,
                           int64_t *nn) {
  const ir_p_gemm *p = n->params;
  char sa[96], sb[96];
  if (a->rank != 2 || b->rank != 2)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "A and B must be 2-D; got %s and %s",
                         ir_shape_str(a, sa, sizeof sa),
                         ir_shape_str(b, sb, sizeof sb));
  *m = a->dims[p->trans_a ? 1 : 0];
  int64_t ka = a->dims[p->trans_a ? 0 : 1];
  int64_t kb = b->dims[p->trans_b ? 1 : 0];
  *nn = b->dims[p->trans_b ? 0 : 1];
  if (ka >= 0 && kb >= 0 && ka != kb)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "inner dimensions differ: A is %s%s, B is %s%s",
                         ir_shape_str(a, sa, sizeof sa),
                         p->trans_a ? " (transposed)" : "",
                         ir_shape_str(b, sb, sizeof sb),
                         p->trans_b ? " (transposed)" : "");
  *k = ka >= 0 ? ka : kb;
  return NULL;
}

ingot_status ref_infer_gemm(const ir_node *n, const ir_value *in, int nin,
                            ir_value *out, int nout) {
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, matmul_types));
  INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, 0, 1));
  int64_t m, k, nn;
  INGOT_RETURN_IF_ERROR(
      ref_gemm_dims(n, &in[0].shape, &in[1].shape, &m, &k, &nn));
  out[0].dtype = in[0].dtype;
  out[0].shape.rank = 2;
  out[0].shape.dims[0] = m;
  out[0].shape.dims[1] = nn;
  if (ref_has(in, nin, 2)) {
    INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, 0, 2));
    const ir_shape *c = &in[2].shape;
    bool ok = c->rank <= 2;
    for (int d = 0; ok && d < c->rank; d++) {
      int64_t cd = c->dims[d], yd = out[0].shape.dims[2 - c->rank + d];
      if (cd >= 0 && yd >= 0 && cd != 1 && cd != yd) ok = false;
    }
    if (!ok) {
      char sc[96], sy[96];
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "C of shape %s does not broadcast to the %s result",
                           ir_shape_str(c, sc, sizeof sc),
                           ir_shape_str(&out[0].shape, sy, sizeof sy));
    }
  }
  return NULL;
}

ingot_status ref_eval_gemm(const ir_node *n, const ir_value *in, int nin,
                           ir_value *out, int nout) {
  const ir_p_gemm *p = n->params;
  int64_t m, k, nn;
  INGOT_RETURN_IF_ERROR(
      ref_gemm_dims(n, &in[0].shape, &in[1].shape, &m, &k, &nn));
  if (m == 0 || nn == 0) return NULL;
  ir_value *y = &out[0];
  bool is_float = dtype_is_float(in[0].dtype);
  const ir_value *c = ref_has(in, nin, 2) ? &in[2] : NULL;
  int64_t cs[IR_MAX_RANK] = {0};
  if (c) ref_bcast_strides(&c->shape, &y->shape, cs);
  /* Stored A is [M,K] or [K,M]; B is [K,N] or [N,K]. */
  int64_t ars = p->trans_a ? 1 : k, acs = p->trans_a ? m : 1;
  int64_t brs = p->trans_b ? 1 : nn, bcs = p->trans_b ? k : 1;

  mm_scratch s;
  INGOT_RETURN_IF_ERROR(scratch_alloc(n, &s, m, k, nn));
  if (is_float) {
    load_f64(in[0].dtype, in[0].data, 0, m, k, ars, acs, s.a);
    load_f64(in[1].dtype, in[1].data, 0, k, nn, brs, bcs, s.b);
    round_bf16(n, s.a, m * k);
    round_bf16(n, s.b, k * nn);
    mm_f64(s.a, s.b, s.y, m, k, nn);
    const double *acc = s.y;
    double alpha = p->alpha, beta = p->beta;
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < nn; j++) {
        double v = alpha * acc[i * nn + j];
        if (c)
          v += beta * ir_load_f64(c->dtype, c->data,
                                  (size_t)(i * cs[0] + j * cs[1]));
        ir_store_f64(y->dtype, y->data, (size_t)(i * nn + j), v);
      }
  } else {
    load_i64(in[0].dtype, in[0].data, 0, m, k, ars, acs, s.a);
    load_i64(in[1].dtype, in[1].data, 0, k, nn, brs, bcs, s.b);
    mm_i64(s.a, s.b, s.y, m, k, nn);
    const int64_t *acc = s.y;
    /* Integral alpha/beta (the usual 1 and 0) keep integer Gemm exact. */
    bool exact = p->alpha == truncf(p->alpha) && p->beta == truncf(p->beta) &&
                 fabsf(p->alpha) < 1e9f && fabsf(p->beta) < 1e9f;
    uint64_t ia = (uint64_t)(int64_t)p->alpha, ibeta = (uint64_t)(int64_t)p->beta;
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < nn; j++) {
        size_t o = (size_t)(i * nn + j);
        int64_t cv = c ? ir_load_i64(c->dtype, c->data,
                                     (size_t)(i * cs[0] + j * cs[1]))
                       : 0;
        if (exact)
          ir_store_i64(y->dtype, y->data, o,
                       (int64_t)(ia * (uint64_t)acc[o] +
                                 ibeta * (uint64_t)cv));
        else
          ir_store_f64(y->dtype, y->data, o,
                       (double)p->alpha * (double)acc[o] +
                           (double)p->beta * (double)cv);
      }
  }
  scratch_free(&s);
  return NULL;
}

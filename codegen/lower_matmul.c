/* lower_matmul.c — MatMul, Gemm, MatMulInteger and QLinearMatMul to the
 * product templates of kernels/generic/matmul.c (and the AVX-512 SGEMM).
 *
 * Every product becomes one k_mm_desc: operands by element strides (so
 * Gemm's transposes and broadcast batch dims cost nothing), a constant
 * float32 B prepacked into zero-padded panels whose width is the register
 * micro-tile's, and a task split over (batch, row block, column block).
 * A MatMul whose B has no batch dims folds A's batch into its rows: one
 * [batch*m, k] x [k, n] product instead of |batch| small ones.
 *
 * Supported: float32 MatMul/Gemm (any alpha, beta, transposes, C
 * broadcast), and MatMulInteger/QLinearMatMul with uint8/int8 operands.
 * A constant 2-D B with constant per-tensor/per-column parameters goes to
 * the packed int8 templates (lower_q8.c); otherwise k_mm_q8 reads
 * per-tensor, per-row/column or N-D zero points and scales at run time
 * (they may be graph inputs).  Other dtypes are UNIMPLEMENTED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_format.h"
#include "lower_amx.h"
#include "lower_bf16.h"
#include "lower_matmul.h"
#include "lower_q8.h"

/* Work per task below which splitting a product costs more than it saves. */
#define MM_TASK_MACS 32768
#define MM_MAX_TASKS 64
#define MM_KC_BYTES (24 << 10) /* B's block per pass: half of L1 */

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/*===------------------------------------------------------------------===*/
/* Shared with lower_conv.c (lower_matmul.h)                               */
/*===------------------------------------------------------------------===*/

void cg_f32_regs(const cg_lower_ctx *ctx, int64_t *budget, int64_t *max_nv) {
  /* Accumulators (kf16: 16 floats) a register block may hold, leaving
   * room for one block row of B/weight vectors and a broadcast:
   *  - SSE2, 16 xmm, 4 per kf16: 2 accumulators (8) + 1 weight vector (4);
   *  - AVX2, 16 ymm, 2 per kf16: 6 accumulators (12) + 1 weight vector (2)
   *    (two weight vectors would leave room for only 4 accumulators);
   *  - AVX-512, 32 zmm: 24 accumulators + up to 4 weight vectors. */
  switch (cg_target_of(ctx)->isa) {
  case CG_ISA_AVX512:
    *budget = 24, *max_nv = 4;
    break;
  case CG_ISA_AVX2:
    *budget = 6, *max_nv = 1;
    break;
  default:
    *budget = 2, *max_nv = 1;
    break;
  }
}

void cg_mm_choose_tile(const cg_lower_ctx *ctx, k_mm_desc *d) {
  int64_t budget, max_nv;
  cg_f32_regs(ctx, &budget, &max_nv);
  d->nv = max64(1, min64(max_nv, ceil_div(d->n, 16)));
  d->mr = max64(1, min64(min64(16, budget / d->nv), d->m));
}

ingot_status cg_mm_pack_b(cg_lower_ctx *ctx, k_mm_desc *d, const float *src,
                          int64_t nmat, int64_t mat_stride, int64_t rs,
                          int64_t cs, int64_t *mat_elems) {
  int64_t P = 16 * d->nv, panels = ceil_div(d->n, P);
  int64_t per = panels * d->k * P;
  size_t total = (size_t)(nmat * per);
  float *buf = calloc(total ? total : 1, sizeof *buf);
  if (!buf)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                             "out of memory packing a %lldx%lld matrix",
                             (long long)d->k, (long long)d->n);
  for (int64_t q = 0; q < nmat; q++)
    for (int64_t p = 0; p < d->k; p++)
      for (int64_t j = 0; j < d->n; j++)
        buf[q * per + (j / P) * d->k * P + p * P + j % P] =
            src[q * mat_stride + p * rs + j * cs];
  ingot_status s = cg_add_weights(ctx, buf, total * sizeof *buf, &d->b);
  free(buf);
  d->b_panel = P;
  d->b_ps = d->k * P;
  d->b_rs = d->b_cs = 0;
  *mat_elems = per;
  return s;
}

/* Columns first, then rows, until there are about as many tasks as the
 * work deserves (at most MM_MAX_TASKS): a task that owns a band of B's
 * columns reads that band once for all its rows (B is usually the large
 * operand), while A's rows are re-read by every band.  mt is a multiple of
 * mr (kmm_drive relies on it), nt of the panel width. */
void cg_mm_split(k_mm_desc *d, int64_t nbatch) {
  double macs = (double)nbatch * (double)d->m * (double)d->n * (double)d->k;
  int64_t want = (int64_t)(macs / MM_TASK_MACS);
  want = max64(1, min64(MM_MAX_TASKS, want));
  int64_t per = max64(1, ceil_div(want, nbatch));
  int64_t unit = d->b_panel ? d->b_panel : 16 * d->nv;
  int64_t nblocks = ceil_div(d->n, unit);
  int64_t tn = min64(per, nblocks);
  d->nt = ceil_div(nblocks, tn) * unit;
  d->tiles_n = ceil_div(d->n, d->nt);
  int64_t mblocks = ceil_div(d->m, d->mr);
  int64_t tm = min64(max64(1, ceil_div(per, d->tiles_n)), mblocks);
  d->mt = ceil_div(mblocks, tm) * d->mr;
  d->tiles_m = ceil_div(d->m, d->mt);
  d->tiles_b = nbatch;
  /* K per pass: B's block of kc x 16nv floats in half of L1. */
  d->kc = max64(16, MM_KC_BYTES / (16 * d->nv * 4));
}

static bool avx512_fits(const k_mm_desc *d) {
  return d->kind == KMM_F32 && (d->b_panel || d->b_pack || d->b_cs == 1) &&
         d->y_cs == 1 &&
         (!d->has_c || d->c_cs == 0 || d->c_cs == 1);
}

ingot_status cg_mm_set_c(cg_lower_ctx *ctx, k_mm_desc *d, ir_tensor_id c) {
  cg_view vc;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, c, &vc));
  const ir_shape *cs = &cg_graph(ctx)->tensors[c].shape;
  int64_t rows = cs->rank == 2 ? cs->dims[0] : 1;
  int64_t cols = cs->rank >= 1 ? cs->dims[cs->rank - 1] : 1;
  d->has_c = 1;
  d->c = vc.buf;
  d->c_rs = rows == 1 ? 0 : cols;
  d->c_cs = cols == 1 ? 0 : 1;
  return NULL;
}

ingot_status cg_mm_emit(cg_lower_ctx *ctx, k_mm_desc *d, const char *what) {
  if (d->kind == KMM_F32) d->epi = *cg_epilogue(ctx); /* plan_fuse.c */
  int64_t nbatch = 1;
  for (int32_t q = 0; q < d->nbdim; q++) nbatch *= d->bdims[q];
  /* Integer products: k_mm_q8_f (exact on float multiply-adds, matmul.c)
   * where the target has 256-bit vectors or more; the plain k_mm_q8 on
   * the generic target, whose plans the GPU path maps step by step. */
  bool q8f = d->kind != KMM_F32 && cg_target_of(ctx)->isa >= CG_ISA_AVX2;
  if (d->kind != KMM_F32 && !q8f) {
    d->mr = d->nv = 1;
    d->mt = d->m;
    d->nt = d->n;
    d->tiles_m = d->tiles_n = 1;
    d->tiles_b = nbatch;
  } else {
    if (q8f) cg_mm_choose_tile(ctx, d);
    cg_mm_split(d, nbatch);
    if (q8f) {
      /* k_mm_q8_f keeps a task's int32 partials of at most MMQ_MT (64)
       * rows, and sums at most 128 steps of K per float pass. */
      int64_t cap = 64 / d->mr * d->mr;
      if (d->mt > cap) {
        d->mt = cap;
        d->tiles_m = ceil_div(d->m, d->mt);
      }
      d->kc = min64(d->k, 128);
    }
  }
  if (d->b_pack) /* kmm_drive's stack block (matmul.h) */
    d->kc = min64(d->kc, KMM_BPACK / (16 * d->nv));
  const char *kernel = d->kind == KMM_F32 ? "k_mm_f32"
                       : q8f              ? "k_mm_q8_f"
                                          : "k_mm_q8";
  if (cg_target_of(ctx)->isa >= CG_ISA_AVX512 && avx512_fits(d))
    kernel = "k_mm_f32_avx512";
  size_t es = d->kind == KMM_F32 ? 4 : 1;
  uint64_t macs = (uint64_t)(nbatch * d->m * d->n * d->k);
  char summary[128];
  snprintf(summary, sizeof summary, "%s %s%lldx%lldx%lld%s", what,
           nbatch > 1 ? "batched " : "", (long long)d->m, (long long)d->k,
           (long long)d->n, d->b_panel ? " packed" : "");
  cg_step st = {
      .kernel = kernel,
      .desc = d,
      .desc_size = sizeof *d,
      .tasks = d->tiles_b * d->tiles_m * d->tiles_n,
      .ops = 2 * macs,
      .bytes = (uint64_t)nbatch *
               ((uint64_t)(d->m * d->k + d->k * d->n) * es +
                (uint64_t)(d->m * d->n) * (d->kind == KMM_QLINEAR ? 1 : 4)),
      .precision = d->kind == KMM_F32 ? IR_F32 : IR_I32,
      .summary = summary};
  return cg_emit(ctx, &st);
}

/*===------------------------------------------------------------------===*/
/* Operands                                                                */
/*===------------------------------------------------------------------===*/

static size_t numel(const ir_shape *s) { return ir_shape_numel(s); }

static ingot_status need_model_layout(const ir_node *n, const cg_view *v,
                                      const char *what) {
  if (v->layout == INGOT_LAYOUT_AS_MODEL) return NULL;
  return ir_node_error(n, INGOT_INTERNAL,
                       "%s is stored NHWC; matrix products read the "
                       "model's layout",
                       what);
}

/* A zero point or scale of A's rows (|rows|) or B's columns, in one of the
 * reference's three forms: one element, one per row/column, or N-D with
 * one vector per matrix. */
static ingot_status qparam_of(cg_lower_ctx *ctx, const ir_node *n, int idx,
                              int64_t len, k_qparam *q) {
  memset(q, 0, sizeof *q);
  if (idx >= n->n_in || !n->in[idx]) return NULL;
  const ir_tensor *t = &cg_graph(ctx)->tensors[n->in[idx]];
  cg_view v;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[idx], &v));
  if (t->dtype != IR_U8 && t->dtype != IR_I8 && t->dtype != IR_F32)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "input %d of type %s is not supported (uint8, int8 "
                         "zero points and float32 scales)",
                         idx, ir_dtype_name(t->dtype));
  q->buf = v.buf;
  q->dtype = (int32_t)t->dtype;
  q->present = 1;
  if (numel(&t->shape) == 1) return NULL;
  q->rs = 1;
  q->ms = t->shape.rank == 1 ? 0 : len;
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* MatMul, MatMulInteger, QLinearMatMul                                    */
/*===------------------------------------------------------------------===*/

static ir_tensor_id opt_in(const ir_node *n, int i) {
  return i < n->n_in ? n->in[i] : 0;
}

/* A quantised product with a constant 2-D B: a 1x1 convolution over the
 * |nmat|·m rows of A on the packed int8 templates (lower_q8.c);
 * *handled = false leaves it to k_mm_q8 (per-row parameters of A, ...). */
static ingot_status lower_q8_product(cg_lower_ctx *ctx, const ir_node *n,
                                     int kind, const k_mm_desc *md,
                                     int64_t nmat, bool *handled) {
  bool ql = kind == KMM_QLINEAR;
  int64_t rows = nmat * md->m;
  k_q8_desc q;
  memset(&q, 0, sizeof q);
  q.x = md->a;
  q.y = md->y;
  q.batch = q.group = 1;
  q.cin_g = md->k;
  q.cout_g = md->n;
  for (int j = 0; j < 3; j++) {
    q.in[j] = q.out[j] = j == 2 ? rows : 1;
    q.k[j] = q.s[j] = q.d[j] = 1;
  }
  q.xs[2] = md->k;
  q.ys[2] = md->n;
  q.xs[0] = q.xs[1] = q.xs_n = rows * md->k;
  q.ys[0] = q.ys[1] = q.ys_n = rows * md->n;
  cg_q8_src src = {.x = n->in[0],
                   .w = n->in[ql ? 3 : 1],
                   .y = n->out[0],
                   .x_zp = opt_in(n, 2),
                   .w_zp = opt_in(n, ql ? 5 : 3),
                   .x_scale = ql ? opt_in(n, 1) : 0,
                   .w_scale = ql ? opt_in(n, 4) : 0,
                   .y_scale = ql ? opt_in(n, 6) : 0,
                   .y_zp = ql ? opt_in(n, 7) : 0,
                   .w_so = 1,
                   .w_si = md->n,
                   .w_st = 0,
                   .qlinear = ql};
  return cg_lower_q8(ctx, n, &q, 1, 1, &src,
                     ql ? "QLinearMatMul" : "MatMulInteger", handled);
}

static ingot_status lower_product(cg_lower_ctx *ctx, const ir_node *n,
                                  int kind) {
  const ir_graph *g = cg_graph(ctx);
  int ib = kind == KMM_QLINEAR ? 3 : 1;
  const ir_tensor *ta = &g->tensors[n->in[0]], *tb = &g->tensors[n->in[ib]];
  const ir_tensor *ty = &g->tensors[n->out[0]];
  if (kind == KMM_F32 && ta->dtype != IR_F32)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "MatMul of %s is not supported by the engine "
                         "(float32 only)",
                         ir_dtype_name(ta->dtype));
  if (kind != KMM_F32 && ((ta->dtype != IR_U8 && ta->dtype != IR_I8) ||
                          (tb->dtype != IR_U8 && tb->dtype != IR_I8)))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "operands of type %s and %s are not supported "
                         "(uint8 or int8)",
                         ir_dtype_name(ta->dtype), ir_dtype_name(tb->dtype));
  if (numel(&ty->shape) == 0) return NULL;

  const ir_shape *as = &ta->shape, *bs = &tb->shape;
  k_mm_desc d;
  memset(&d, 0, sizeof d);
  d.kind = kind;
  d.atype = (int32_t)ta->dtype;
  d.btype = (int32_t)tb->dtype;
  d.ytype = (int32_t)ty->dtype;
  d.alpha = 1.0f;
  d.beta = 1.0f;
  d.m = as->rank == 1 ? 1 : as->dims[as->rank - 2];
  d.k = as->dims[as->rank - 1];
  d.n = bs->rank == 1 ? 1 : bs->dims[bs->rank - 1];
  d.a_rs = d.k;
  d.a_cs = 1;
  d.b_rs = bs->rank == 1 ? 1 : d.n;
  d.b_cs = 1;
  d.y_rs = d.n;
  d.y_cs = 1;

  /* Batch dims, right-aligned and broadcast. */
  int rab = as->rank > 2 ? as->rank - 2 : 0,
      rbb = bs->rank > 2 ? bs->rank - 2 : 0;
  int R = rab > rbb ? rab : rbb;
  if (R > KMM_MAX_BATCH)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "%d batch dims are more than the kernel's %d", R,
                         KMM_MAX_BATCH);
  int64_t arun = 1, brun = 1, yrun = 1;
  for (int q = R - 1; q >= 0; q--) {
    int qa = q - (R - rab), qb = q - (R - rbb);
    int64_t da = qa >= 0 ? as->dims[qa] : 1, db = qb >= 0 ? bs->dims[qb] : 1;
    d.bdims[q] = da > db ? da : db;
    d.a_mat[q] = da == 1 ? 0 : arun;
    d.b_mat[q] = db == 1 ? 0 : brun;
    d.y_bs[q] = yrun * d.m * d.n;
    arun *= da;
    brun *= db;
    yrun *= d.bdims[q];
  }
  d.nbdim = R;
  for (int q = 0; q < R; q++) {
    d.a_bs[q] = d.a_mat[q] * d.m * d.k;
    d.b_bs[q] = d.b_mat[q] * d.k * d.n;
  }
  /* A folded Transpose (plan_fuse_transpose.c) leaves A, B or Y a
   * permuted view of its place: its rows, columns and batch dims walk
   * other strides.  The planner folds only into operands of rank >= 2. */
  int64_t sa[IR_MAX_RANK], sb[IR_MAX_RANK], sy[IR_MAX_RANK];
  bool stra = cg_tensor_strides(ctx, n->in[0], sa);
  bool strb = cg_tensor_strides(ctx, n->in[ib], sb);
  bool stry = cg_tensor_strides(ctx, n->out[0], sy);
  if ((stra && as->rank < 2) || (strb && bs->rank < 2) ||
      (stry && ty->shape.rank != R + 2))
    return ir_node_error(n, INGOT_INTERNAL,
                         "a strided operand of rank below 2");
  if (stra) {
    d.a_rs = sa[as->rank - 2];
    d.a_cs = sa[as->rank - 1];
    for (int q = R - rab; q < R; q++)
      d.a_bs[q] = d.a_mat[q] ? sa[q - (R - rab)] : 0;
  }
  if (strb) {
    d.b_rs = sb[bs->rank - 2];
    d.b_cs = sb[bs->rank - 1];
    /* Strided columns: vector targets copy B a block at a time. */
    d.b_pack = kind == KMM_F32 && d.b_cs != 1 &&
               cg_target_of(ctx)->isa >= CG_ISA_AVX2;
    for (int q = R - rbb; q < R; q++)
      d.b_bs[q] = d.b_mat[q] ? sb[q - (R - rbb)] : 0;
  }
  if (stry) {
    d.y_rs = sy[R];
    d.y_cs = sy[R + 1];
    for (int q = 0; q < R; q++) d.y_bs[q] = sy[q];
  }
  /* A float product whose B has no batch: A's batch is more rows (when A
   * and Y are contiguous). */
  if (kind == KMM_F32 && rbb == 0 && rab > 0 && !stra && !stry) {
    d.m *= yrun;
    d.nbdim = 0;
  }

  cg_view va, vy;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &va));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &vy));
  INGOT_RETURN_IF_ERROR(need_model_layout(n, &va, "input A"));
  INGOT_RETURN_IF_ERROR(need_model_layout(n, &vy, "the output"));
  d.a = va.buf;
  d.y = vy.buf;
  if (kind != KMM_F32 && bs->rank == 2 && tb->role == IR_ROLE_CONSTANT) {
    if (stra || stry) /* the packed templates read A and Y contiguously */
      return ir_node_error(n, INGOT_INTERNAL,
                           "a strided operand of a packed int8 product");
    bool handled = false;
    INGOT_RETURN_IF_ERROR(lower_q8_product(ctx, n, kind, &d, yrun, &handled));
    if (handled) return NULL;
  }
  if (kind == KMM_F32) cg_mm_choose_tile(ctx, &d);
  if (kind == KMM_F32 && tb->role == IR_ROLE_CONSTANT) {
    int64_t per;
    INGOT_RETURN_IF_ERROR(
        cg_mm_pack_b(ctx, &d, tb->data, brun, d.k * d.n, d.b_rs, d.b_cs, &per));
    for (int q = 0; q < d.nbdim; q++) d.b_bs[q] = d.b_mat[q] * per;
  } else {
    cg_view vb;
    INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[ib], &vb));
    INGOT_RETURN_IF_ERROR(need_model_layout(n, &vb, "input B"));
    d.b = vb.buf;
  }
  ir_tensor_id bias = kind == KMM_F32 ? cg_fused_bias(ctx) : 0;
  if (bias) /* Add of a constant row, fused (plan_fuse.c): y = A·B + C */
    INGOT_RETURN_IF_ERROR(cg_mm_set_c(ctx, &d, bias));

  if (kind != KMM_F32) {
    int64_t rows = as->rank == 1 ? 1 : as->dims[as->rank - 2];
    bool ql = kind == KMM_QLINEAR;
    INGOT_RETURN_IF_ERROR(qparam_of(ctx, n, 2, rows, &d.a_zp));
    INGOT_RETURN_IF_ERROR(qparam_of(ctx, n, ql ? 5 : 3, d.n, &d.b_zp));
    if (ql) {
      INGOT_RETURN_IF_ERROR(qparam_of(ctx, n, 1, rows, &d.a_scale));
      INGOT_RETURN_IF_ERROR(qparam_of(ctx, n, 4, d.n, &d.b_scale));
      INGOT_RETURN_IF_ERROR(qparam_of(ctx, n, 6, 1, &d.y_scale));
      INGOT_RETURN_IF_ERROR(qparam_of(ctx, n, 7, 1, &d.y_zp));
      if (d.a_scale.dtype != IR_F32 || d.b_scale.dtype != IR_F32 ||
          d.y_scale.dtype != IR_F32)
        return ir_node_error(n, INGOT_UNIMPLEMENTED, "scales must be float32");
      d.qmin = ty->dtype == IR_U8 ? 0 : -128;
      d.qmax = ty->dtype == IR_U8 ? 255 : 127;
    }
  }
  const char *what = kind == KMM_F32       ? "MatMul"
                     : kind == KMM_INTEGER ? "MatMulInteger"
                                           : "QLinearMatMul";
  return cg_mm_emit(ctx, &d, what);
}

/*===------------------------------------------------------------------===*/
/* Gemm                                                                    */
/*===------------------------------------------------------------------===*/

static ingot_status lower_gemm(cg_lower_ctx *ctx, const ir_node *n) {
  const ir_graph *g = cg_graph(ctx);
  const ir_p_gemm *p = n->params;
  const ir_tensor *ta = &g->tensors[n->in[0]], *tb = &g->tensors[n->in[1]];
  const ir_tensor *ty = &g->tensors[n->out[0]];
  const ir_tensor *tc = n->n_in > 2 && n->in[2] ? &g->tensors[n->in[2]] : NULL;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "attributes were not parsed");
  if (ta->dtype != IR_F32 || (tc && tc->dtype != IR_F32))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "Gemm of %s is not supported by the engine (float32 "
                         "only)",
                         ir_dtype_name(ta->dtype));
  if (numel(&ty->shape) == 0) return NULL;
  k_mm_desc d;
  memset(&d, 0, sizeof d);
  d.kind = KMM_F32;
  d.atype = d.btype = d.ytype = IR_F32;
  d.m = ty->shape.dims[0];
  d.n = ty->shape.dims[1];
  d.k = ta->shape.dims[p->trans_a ? 0 : 1];
  d.a_rs = p->trans_a ? 1 : d.k;
  d.a_cs = p->trans_a ? d.m : 1;
  d.b_rs = p->trans_b ? 1 : d.n;
  d.b_cs = p->trans_b ? d.k : 1;
  d.y_rs = d.n;
  d.y_cs = 1;
  d.alpha = p->alpha;
  d.beta = p->beta;

  cg_view va, vy;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &va));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &vy));
  d.a = va.buf;
  d.y = vy.buf;
  cg_mm_choose_tile(ctx, &d);
  if (tb->role == IR_ROLE_CONSTANT) {
    int64_t per;
    INGOT_RETURN_IF_ERROR(
        cg_mm_pack_b(ctx, &d, tb->data, 1, 0, d.b_rs, d.b_cs, &per));
  } else {
    cg_view vb;
    INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[1], &vb));
    d.b = vb.buf;
  }
  if (tc) INGOT_RETURN_IF_ERROR(cg_mm_set_c(ctx, &d, n->in[2]));
  return cg_mm_emit(ctx, &d, "Gemm");
}

/*===------------------------------------------------------------------===*/
/* com.microsoft QGemm                                                     */
/*===------------------------------------------------------------------===*/

/* QGemm (ir/ref/qgemm.c) runs only on the packed int8 templates: A read
 * row by row (transA = 0), B, the scales, zero points and C constant, C
 * per column (one value or N). */
static ingot_status lower_qgemm(cg_lower_ctx *ctx, const ir_node *n) {
  const ir_graph *g = cg_graph(ctx);
  const ir_p_gemm *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "attributes were not parsed");
  const ir_tensor *ta = &g->tensors[n->in[0]], *ty = &g->tensors[n->out[0]];
  if (numel(&ty->shape) == 0) return NULL;
  int64_t m = ty->shape.dims[0], nn = ty->shape.dims[1];
  int64_t k = ta->shape.dims[p->trans_a ? 0 : 1];
  ir_tensor_id c = opt_in(n, 6);
  if (c) {
    const ir_shape *cs = &g->tensors[c].shape;
    bool per_col = numel(cs) == 1 ||
                   (cs->dims[cs->rank - 1] == nn &&
                    (cs->rank == 1 || (cs->rank == 2 && cs->dims[0] == 1)));
    if (!per_col)
      return ir_node_error(n, INGOT_UNIMPLEMENTED,
                           "the engine's QGemm takes C per output column (one "
                           "value or %lld), not per element",
                           (long long)nn);
  }
  if (p->trans_a)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "the engine's QGemm reads A row by row (transA = 0)");
  cg_view va, vy;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &va));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &vy));
  INGOT_RETURN_IF_ERROR(need_model_layout(n, &va, "input A"));
  INGOT_RETURN_IF_ERROR(need_model_layout(n, &vy, "the output"));
  k_q8_desc q;
  memset(&q, 0, sizeof q);
  q.x = va.buf;
  q.y = vy.buf;
  q.batch = q.group = 1;
  q.cin_g = k;
  q.cout_g = nn;
  for (int j = 0; j < 3; j++) {
    q.in[j] = q.out[j] = j == 2 ? m : 1;
    q.k[j] = q.s[j] = q.d[j] = 1;
  }
  q.xs[2] = k;
  q.ys[2] = nn;
  q.xs[0] = q.xs[1] = q.xs_n = m * k;
  q.ys[0] = q.ys[1] = q.ys_n = m * nn;
  bool quant_out = opt_in(n, 7) != 0;
  cg_q8_src src = {.x = n->in[0],
                   .w = n->in[3],
                   .y = n->out[0],
                   .x_scale = n->in[1],
                   .x_zp = n->in[2],
                   .w_scale = n->in[4],
                   .w_zp = n->in[5],
                   .bias = c,
                   .y_scale = opt_in(n, 7),
                   .y_zp = opt_in(n, 8),
                   /* B is [K, N], or [N, K] with transB */
                   .w_so = p->trans_b ? k : 1,
                   .w_si = p->trans_b ? 1 : nn,
                   .w_st = 0,
                   .qlinear = quant_out,
                   .qgemm = true,
                   .float_out = !quant_out,
                   .alpha = p->alpha};
  bool handled = false;
  INGOT_RETURN_IF_ERROR(cg_lower_q8(ctx, n, &q, 1, 1, &src, "QGemm", &handled));
  if (!handled)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "the engine's QGemm needs constant B, scales, zero "
                         "points and C, per-tensor A parameters and finite "
                         "multipliers");
  return NULL;
}

ingot_status cg_lower_matmul(cg_lower_ctx *ctx, ir_node_id nid) {
  const ir_node *n = &cg_graph(ctx)->nodes[nid];
  if (n->compute == IR_BF16) return cg_lower_bf16_product(ctx, n);
  switch (n->op) {
  case IR_OP_GEMM:
    return lower_gemm(ctx, n);
  case IR_OP_MATMUL:
    return lower_product(ctx, n, KMM_F32);
  case IR_OP_MATMUL_INTEGER:
  case IR_OP_QLINEAR_MATMUL: {
    bool amx = false; /* AMX hook: lower_amx.c takes what it can */
    int64_t st[IR_MAX_RANK]; /* not a folded Transpose's view (strides) */
    bool strided = cg_tensor_strides(ctx, n->in[0], st) ||
                   cg_tensor_strides(ctx, n->out[0], st);
    if (!strided) INGOT_RETURN_IF_ERROR(cg_amx_lower_matmul(ctx, n, &amx));
    if (amx) return NULL;
    return lower_product(ctx, n,
                         n->op == IR_OP_QLINEAR_MATMUL ? KMM_QLINEAR
                                                       : KMM_INTEGER);
  }
  case IR_OP_QGEMM:
    return lower_qgemm(ctx, n);
  default:
    return ir_node_error(n, INGOT_INTERNAL, "not a matrix product");
  }
}

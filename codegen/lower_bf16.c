/* lower_bf16.c — Conv, MatMul and Gemm in bf16 (docs/accuracy.md "bf16"):
 * the layers `--layer-precision NAME=bf16` asked for on a target with
 * AVX512-BF16 (passes/quantize.c marks them ir_node.compute = IR_BF16,
 * quant_has_bf16_form says which).
 *
 * Semantics (the reference interpreter's, ir/ref/matmul.c and conv.c):
 * both operands are rounded to bfloat16, nearest even; the products
 * (exact in float32) are summed in float32; alpha, beta·C, a bias and
 * fused elementwise ops follow in float32 as for a float32 product.
 *
 * Every bf16 layer is a product of bf16 pair rows (A, in scratch, written
 * by a pack step once per run) and bf16 pair panels (B):
 *  - A: k_bf16_pack_a (a MatMul's or Gemm's A, any strides) or
 *    k_bf16_im2col (a Conv's output pixels x taps·channels, per group,
 *    kernels/x86_avx512/conv_bf16.c);
 *  - B: constant weights rounded and packed at build time (half the bytes
 *    of the float32 engine's; a Conv's as [taps·Cin/g][Cout/g] per group,
 *    tap-major like the im2col rows), or an activation B (attention's
 *    products, a Gemm's B input) rounded and packed at run time by
 *    k_bf16_pack_b into the same panels;
 *  - the product: k_mm_bf16_amx (AMX-BF16 tdpbf16ps, kernels/x86_amx/
 *    amx_bf16.c) when the target has AMX-BF16, A has at least 16 rows and
 *    the product at least 2^16 MACs (every product with --amx always; none
 *    with --amx never), else k_mm_bf16_avx512 (AVX512-BF16 vdpbf16ps,
 *    register-tiled like the float32 SGEMM, whose tiling and task split it
 *    takes with K counted in pairs).  For AMX the panels are 16 columns
 *    wide, K is padded to 16 pairs and the panels to an even count, and
 *    A's scratch rows to whole 32-row blocks (zeroed by the pack step).
 * A Conv's geometry (pads, strides, dilations, groups) is lower_conv.c's
 * (cg_lower_conv calls cg_lower_bf16_conv with it); X and Y are NHWC.
 * Grouped convolutions run one product step per group; depthwise ones
 * stay float32 (quant_has_bf16_form gives the reason).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_format.h"
#include "lower_bf16.h"
#include "lower_matmul.h"
#include "x86_avx512/bf16.h"

#define PACK_ROWS_PER_TASK 64
#define PACK_MAX_TASKS 16

static uint16_t to_bf16(float f) { return ir_f32_to_bf16(f); }
static int64_t round_up(int64_t v, int64_t q) { return (v + q - 1) / q * q; }
static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static int64_t pack_tasks(int64_t units, int64_t per_task) {
  int64_t t = ceil_div(units, per_task);
  return t > PACK_MAX_TASKS ? PACK_MAX_TASKS : t < 1 ? 1 : t;
}

/* AMX-BF16 where the target has it and the policy allows (cg_amx_policy):
 * always with --amx always; by default when A has at least 16 rows (a
 * tile's rows fill; fewer still pay for whole tiles) and the product has
 * at least 2^16 MACs (below, the tile configuration and padding cost more
 * than they save: the sample transformer's 16x32x64 products ran 23 us
 * per inference on AMX against 20 us on AVX512-BF16, docs/accuracy.md). */
static bool use_amx(const cg_lower_ctx *ctx, int64_t m, int64_t k,
                    int64_t n) {
  const cg_target *t = cg_target_of(ctx);
  uint64_t need = INGOT_CPU_AMX_TILE | INGOT_CPU_AMX_BF16;
  if ((t->cpu_features & need) != need || t->amx == CG_AMX_NEVER) return false;
  return t->amx == CG_AMX_ALWAYS ||
         (m >= 16 && (double)m * (double)k * (double)n >= 65536.0);
}

/* B's packed shape for a product of |k| values of K: the register tile
 * (d->nv), pair rows *k2 and panels per matrix. */
static void b_shape(const cg_lower_ctx *ctx, k_mm_desc *d, int64_t k,
                    bool amx, int64_t *k2, int64_t *panels) {
  if (amx) { /* whole tiles: 16-pair K steps, 32-column blocks */
    d->nv = 1;
    *k2 = round_up((k + 1) / 2, 16);
    *panels = round_up(ceil_div(d->n, 16), 2);
  } else {
    cg_mm_choose_tile(ctx, d);
    *k2 = (k + 1) / 2;
    *panels = ceil_div(d->n, 16 * d->nv);
  }
  d->b_panel = 16 * d->nv;
  d->b_ps = *k2 * d->b_panel;
  d->b_rs = d->b_cs = 0;
}

/* Constant B(mat, p, j) = src[mat*ms + p*rs + j*cs] for |nmat| matrices
 * into the panels b_shape chose, zero-padded past K and N, in the
 * weights; d->k becomes k2 (pairs). */
static ingot_status pack_b(cg_lower_ctx *ctx, k_mm_desc *d, const float *src,
                           int64_t nmat, int64_t ms, int64_t k, int64_t rs,
                           int64_t cs, int64_t k2, int64_t panels) {
  int64_t P = d->b_panel, per = panels * k2 * P;
  size_t total = (size_t)(nmat * per);
  uint32_t *buf = calloc(total ? total : 1, sizeof *buf);
  if (!buf)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                             "out of memory packing a %lldx%lld bf16 matrix",
                             (long long)k, (long long)d->n);
  for (int64_t mat = 0; mat < nmat; mat++)
    for (int64_t p = 0; p < k; p++)
      for (int64_t j = 0; j < d->n; j++) {
        uint32_t h = to_bf16(src[mat * ms + p * rs + j * cs]);
        buf[mat * per + (j / P) * k2 * P + (p / 2) * P + j % P] |=
            p % 2 ? h << 16 : h;
      }
  ingot_status s = cg_add_weights(ctx, buf, total * sizeof *buf, &d->b);
  free(buf);
  d->k = k2;
  return s;
}

/* An activation B (|nmat| matrices B(mat, p, j) = x[mat*ms + p*rs +
 * j*cs]) rounded and packed at run time into scratch (k_bf16_pack_b). */
static ingot_status pack_b_step(cg_lower_ctx *ctx, k_mm_desc *d, kbuf x,
                                int64_t nmat, int64_t ms, int64_t k,
                                int64_t rs, int64_t cs, int64_t k2,
                                int64_t panels) {
  k_bf16_pack_b_desc pb = {.x = x, .nmat = nmat, .k = k, .n = d->n,
                            .k2 = k2, .P = d->b_panel, .panels = panels,
                            .x_ms = ms, .x_rs = rs, .x_cs = cs,
                            .tasks = pack_tasks(nmat * panels, 1)};
  INGOT_RETURN_IF_ERROR(
      cg_scratch(ctx, (size_t)(nmat * panels * k2 * pb.P) * 4u, &pb.out));
  cg_step s = {.kernel = "k_bf16_pack_b",
               .desc = &pb,
               .desc_size = sizeof pb,
               .tasks = pb.tasks,
               .ops = 0,
               .bytes = (uint64_t)(nmat * k * d->n) * 4u +
                        (uint64_t)(nmat * panels * k2 * pb.P) * 4u,
               .precision = IR_BF16,
               .summary = "B to bf16 panels"};
  INGOT_RETURN_IF_ERROR(cg_emit(ctx, &s));
  d->b = pb.out;
  d->k = k2;
  return NULL;
}

/* A (rows x k, A(i, p) = x[i*rs + p*cs]) to bf16 pair rows in scratch
 * (k_bf16_pack_a); rows [rows, rows_pad) zeroed.  d->a becomes the
 * scratch with a_rs = d->k (pairs, after B's packing set it). */
static ingot_status pack_a_step(cg_lower_ctx *ctx, k_mm_desc *d, kbuf x,
                                int64_t rows, int64_t rows_pad, int64_t k,
                                int64_t rs, int64_t cs) {
  k_bf16_pack_desc pk = {.x = x, .rows = rows, .k = k, .k2 = d->k,
                         .rows_pad = rows_pad, .x_rs = rs, .x_cs = cs,
                         .tasks = pack_tasks(rows, PACK_ROWS_PER_TASK)};
  INGOT_RETURN_IF_ERROR(
      cg_scratch(ctx, (size_t)(rows_pad * d->k) * 4u, &pk.out));
  cg_step s = {.kernel = "k_bf16_pack_a",
               .desc = &pk,
               .desc_size = sizeof pk,
               .tasks = pk.tasks,
               .ops = 0,
               .bytes = (uint64_t)(rows * k) * 4u + (uint64_t)(rows * d->k) * 4u,
               .precision = IR_BF16,
               .summary = "A to bf16 pairs"};
  INGOT_RETURN_IF_ERROR(cg_emit(ctx, &s));
  d->a = pk.out;
  d->a_rs = d->k;
  d->a_cs = 1;
  return NULL;
}

/* The AMX template's split: blocks of 32 x 32, tasks of whole blocks,
 * |nbatch| matrices. */
static void amx_split(k_mm_desc *d, int64_t k, int64_t nbatch) {
  int64_t bm = (d->m + 31) / 32, bn = (d->n + 31) / 32;
  double macs = (double)d->m * (double)d->n * (double)k;
  int64_t want = (int64_t)(macs / 262144.0);
  want = want < 1 ? 1 : want > 64 ? 64 : want;
  int64_t tn = want < bn ? want : bn;
  int64_t tm = (want + tn - 1) / tn;
  tm = tm < bm ? tm : bm;
  d->nt = (bn + tn - 1) / tn * 32;
  d->mt = (bm + tm - 1) / tm * 32;
  d->tiles_n = (d->n + d->nt - 1) / d->nt;
  d->tiles_m = (d->m + d->mt - 1) / d->mt;
  d->tiles_b = nbatch;
  d->mr = 32;
  d->kc = d->k;
}

/* The product step on the packed operands (d->k in pairs, |k| values). */
static ingot_status emit_product(cg_lower_ctx *ctx, k_mm_desc *d, int64_t k,
                                 bool amx, int64_t nbatch, const char *what) {
  d->epi = *cg_epilogue(ctx);
  if (amx)
    amx_split(d, k, nbatch);
  else
    cg_mm_split(d, nbatch);
  char summary[128];
  snprintf(summary, sizeof summary, "%s bf16 %lldx%lldx%lld%s %s", what,
           (long long)d->m, (long long)k, (long long)d->n,
           nbatch > 1 ? " batched" : "", amx ? "amx" : "packed");
  uint64_t nb = (uint64_t)nbatch;
  cg_step s = {.kernel = amx ? "k_mm_bf16_amx" : "k_mm_bf16_avx512",
               .desc = d,
               .desc_size = sizeof *d,
               .tasks = d->tiles_b * d->tiles_m * d->tiles_n,
               .ops = nb * 2u * (uint64_t)(d->m * d->n * k),
               .bytes = nb * ((uint64_t)(d->m * d->k) * 4u +
                              (uint64_t)(d->k * d->n) * 4u +
                              (uint64_t)(d->m * d->n) * 4u),
               .precision = IR_BF16,
               .summary = summary};
  return cg_emit(ctx, &s);
}

static ingot_status need_bf16_target(const cg_lower_ctx *ctx,
                                     const ir_node *n) {
  if (cg_target_of(ctx)->cpu_features & INGOT_CPU_AVX512BF16) return NULL;
  return ir_node_error(n, INGOT_FAILED_PRECONDITION,
                       "the layer computes in bf16 but the target CPU has "
                       "no AVX512-BF16");
}

static ingot_status model_layout(const ir_node *n, const cg_view *v) {
  if (v->layout == INGOT_LAYOUT_AS_MODEL) return NULL;
  return ir_node_error(n, INGOT_INTERNAL,
                       "a bf16 product reads and writes the model's "
                       "layout, not NHWC");
}

/*===------------------------------------------------------------------===*/
/* MatMul, Gemm                                                            */
/*===------------------------------------------------------------------===*/

/* A MatMul whose B has batch dims (an activation: attention's Q·Kᵀ and
 * P·V): A and B rounded at run time, one product per output matrix, each
 * operand's matrix chosen by its own (broadcast) batch index. */
static ingot_status lower_batched(cg_lower_ctx *ctx, const ir_node *n,
                                  k_mm_desc *d, const cg_view *va,
                                  const cg_view *vb) {
  const ir_graph *g = cg_graph(ctx);
  const ir_shape *as = &g->tensors[n->in[0]].shape;
  const ir_shape *bs = &g->tensors[n->in[1]].shape;
  const ir_shape *ys = &g->tensors[n->out[0]].shape;
  int nb = ys->rank - 2;
  if (nb > KMM_MAX_BATCH)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "%d batch dims are more than the kernel's %d", nb,
                         KMM_MAX_BATCH);
  int64_t k = d->k, nbatch = 1, na = 1, nbm = 1;
  /* Matrix counts of A and B (their own batch dims) and, per output
   * batch dim, each one's stride in matrices (0 where it broadcasts). */
  for (int q = nb - 1; q >= 0; q--) {
    int qa = q - (ys->rank - as->rank), qb = q - (ys->rank - bs->rank);
    int64_t da = qa >= 0 ? as->dims[qa] : 1, db = qb >= 0 ? bs->dims[qb] : 1;
    d->bdims[q] = ys->dims[q];
    d->a_mat[q] = da > 1 ? na : 0;
    d->b_mat[q] = db > 1 ? nbm : 0;
    d->y_bs[q] = nbatch * d->m * d->n;
    na *= da;
    nbm *= db;
    nbatch *= ys->dims[q];
  }
  d->nbdim = nb;
  bool amx = use_amx(ctx, d->m, k, d->n);
  int64_t k2, panels;
  b_shape(ctx, d, k, amx, &k2, &panels);
  INGOT_RETURN_IF_ERROR(pack_b_step(ctx, d, vb->buf, nbm, k * d->n, k, d->n,
                                    1, k2, panels));
  /* A's matrices are consecutive rows; an AMX block of a matrix's last
   * rows reads into the next matrix or the zeroed tail. */
  int64_t rows = na * d->m;
  int64_t rows_pad = amx ? rows - d->m + round_up(d->m, 32) : rows;
  INGOT_RETURN_IF_ERROR(pack_a_step(ctx, d, va->buf, rows, rows_pad, k, k, 1));
  for (int q = 0; q < nb; q++) {
    d->a_bs[q] = d->a_mat[q] * d->m * k2;
    d->b_bs[q] = d->b_mat[q] * panels * k2 * d->b_panel;
  }
  ir_tensor_id bias = cg_fused_bias(ctx);
  if (bias) INGOT_RETURN_IF_ERROR(cg_mm_set_c(ctx, d, bias));
  return emit_product(ctx, d, k, amx, nbatch, "MatMul");
}

ingot_status cg_lower_bf16_product(cg_lower_ctx *ctx, const ir_node *n) {
  const ir_graph *g = cg_graph(ctx);
  INGOT_RETURN_IF_ERROR(need_bf16_target(ctx, n));
  bool gemm = n->op == IR_OP_GEMM;
  const ir_tensor *ta = &g->tensors[n->in[0]], *tb = &g->tensors[n->in[1]];
  const ir_tensor *ty = &g->tensors[n->out[0]];
  const ir_p_gemm *p = gemm ? n->params : NULL;
  bool bconst =
      tb->role == IR_ROLE_CONSTANT && tb->data && tb->shape.rank == 2;
  if ((n->op != IR_OP_MATMUL && !gemm) || (gemm && !p) ||
      ta->dtype != IR_F32 || tb->dtype != IR_F32 || ta->shape.rank < 1 ||
      (!bconst && (ta->shape.rank < 2 || tb->shape.rank < 2)))
    return ir_node_error(n, INGOT_INTERNAL,
                         "marked bf16 but not a float32 product of "
                         "matrices or with a constant 2-D B");
  size_t ny = ir_shape_numel(&ty->shape);
  if (ny == 0) return NULL;

  k_mm_desc d;
  memset(&d, 0, sizeof d);
  d.kind = KMM_F32;
  d.atype = d.btype = d.ytype = IR_F32;
  d.alpha = 1.0f;
  d.beta = 1.0f;
  int64_t k, brs, bcs, ars, acs;
  if (gemm) {
    d.m = ty->shape.dims[0];
    d.n = ty->shape.dims[1];
    k = ta->shape.dims[p->trans_a ? 0 : 1];
    ars = p->trans_a ? 1 : k;
    acs = p->trans_a ? d.m : 1;
    brs = p->trans_b ? 1 : d.n;
    bcs = p->trans_b ? k : 1;
    d.alpha = p->alpha;
    d.beta = p->beta;
  } else {
    k = ta->shape.dims[ta->shape.rank - 1];
    d.n = tb->shape.dims[tb->shape.rank - 1];
    d.m = ta->shape.rank >= 2 ? ta->shape.dims[ta->shape.rank - 2] : 1;
    ars = k;
    acs = 1;
    brs = d.n;
    bcs = 1;
  }
  d.k = k;
  d.y_rs = d.n;
  d.y_cs = 1;

  cg_view va, vy, vb;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &va));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &vy));
  INGOT_RETURN_IF_ERROR(model_layout(n, &va));
  INGOT_RETURN_IF_ERROR(model_layout(n, &vy));
  d.y = vy.buf;
  if (!bconst) {
    INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[1], &vb));
    INGOT_RETURN_IF_ERROR(model_layout(n, &vb));
    if (!gemm && tb->shape.rank > 2)
      return lower_batched(ctx, n, &d, &va, &vb);
  }
  /* One matrix: a MatMul's batch dims of A are more rows. */
  if (!gemm) d.m = k ? (int64_t)(ir_shape_numel(&ta->shape) / (size_t)k) : 0;
  bool amx = use_amx(ctx, d.m, k, d.n);
  int64_t k2, panels;
  b_shape(ctx, &d, k, amx, &k2, &panels);
  if (bconst)
    INGOT_RETURN_IF_ERROR(
        pack_b(ctx, &d, tb->data, 1, 0, k, brs, bcs, k2, panels));
  else
    INGOT_RETURN_IF_ERROR(
        pack_b_step(ctx, &d, vb.buf, 1, 0, k, brs, bcs, k2, panels));
  INGOT_RETURN_IF_ERROR(pack_a_step(ctx, &d, va.buf, d.m,
                                    amx ? round_up(d.m, 32) : d.m, k, ars,
                                    acs));

  /* C: Gemm's input, or a MatMul's fused bias row (plan_fuse.c). */
  if (gemm && n->n_in > 2 && n->in[2]) {
    const ir_tensor *tc = &g->tensors[n->in[2]];
    if (tc->dtype != IR_F32)
      return ir_node_error(n, INGOT_UNIMPLEMENTED, "Gemm's C is %s, not "
                           "float32", ir_dtype_name(tc->dtype));
    INGOT_RETURN_IF_ERROR(cg_mm_set_c(ctx, &d, n->in[2]));
  } else if (!gemm) {
    ir_tensor_id bias = cg_fused_bias(ctx);
    if (bias) INGOT_RETURN_IF_ERROR(cg_mm_set_c(ctx, &d, bias));
  }
  return emit_product(ctx, &d, k, amx, 1, gemm ? "Gemm" : "MatMul");
}

/*===------------------------------------------------------------------===*/
/* Conv                                                                    */
/*===------------------------------------------------------------------===*/

ingot_status cg_lower_bf16_conv(cg_lower_ctx *ctx, const ir_node *n,
                                const k_conv_desc *cd) {
  const ir_graph *g = cg_graph(ctx);
  INGOT_RETURN_IF_ERROR(need_bf16_target(ctx, n));
  const ir_tensor *tw = &g->tensors[n->in[1]];
  const int64_t G = cd->group, cg = cd->cin_g, mg = cd->cout_g;
  const int64_t taps = cd->k[1] * cd->k[2], K = taps * cg;
  const int64_t oh = cd->out[1], ow = cd->out[2];
  /* NHWC X and Y (channel stride 1) with Y's pixels one row apart. */
  if (n->op != IR_OP_CONV || cd->transposed || cd->k[0] != 1 ||
      cd->out[0] != 1 || cd->xs_c != 1 || cd->ys_c != 1 ||
      cd->ys[1] != ow * cd->ys[2] || cd->ys_n != oh * cd->ys[1] ||
      tw->role != IR_ROLE_CONSTANT || !tw->data ||
      g->tensors[n->in[0]].dtype != IR_F32)
    return ir_node_error(n, INGOT_INTERNAL,
                         "marked bf16 but not a float32 2-D Conv with "
                         "constant weights in NHWC");

  k_mm_desc d;
  memset(&d, 0, sizeof d);
  d.kind = KMM_F32;
  d.atype = d.btype = d.ytype = IR_F32;
  d.alpha = d.beta = 1.0f;
  d.m = cd->batch * oh * ow;
  d.n = mg;
  d.k = K;
  d.y_rs = cd->ys[2];
  d.y_cs = 1;
  bool amx = use_amx(ctx, d.m, K, d.n);
  int64_t k2, panels;
  b_shape(ctx, &d, K, amx, &k2, &panels);
  /* W(g*mg + co, ci, tap) as B_g(tap*cg + ci, co). */
  float *wt = malloc((size_t)(G * K * mg) * sizeof *wt + 1);
  if (!wt)
    return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED,
                         "out of memory packing the bf16 weights");
  const float *w = tw->data;
  for (int64_t gi = 0; gi < G; gi++)
    for (int64_t co = 0; co < mg; co++)
      for (int64_t ci = 0; ci < cg; ci++)
        for (int64_t t = 0; t < taps; t++)
          wt[(gi * K + t * cg + ci) * mg + co] =
              w[((gi * mg + co) * cg + ci) * taps + t];
  ingot_status s = pack_b(ctx, &d, wt, G, K * mg, K, mg, 1, k2, panels);
  free(wt);
  INGOT_RETURN_IF_ERROR(s);

  /* Step 1: the im2col rows of every group. */
  int64_t rows_pad = amx ? round_up(d.m, 32) : d.m;
  k_bf16_im2col_desc ic = {.x = cd->x, .batch = cd->batch, .group = G,
                           .cin_g = cg, .xs_n = cd->xs_n, .xs_h = cd->xs[1],
                           .xs_w = cd->xs[2], .rows = d.m,
                           .rows_pad = rows_pad, .k2 = k2,
                           .g_pairs = rows_pad * k2,
                           .tasks = pack_tasks(d.m, PACK_ROWS_PER_TASK)};
  for (int j = 0; j < 2; j++) {
    ic.in[j] = cd->in[1 + j];
    ic.out_hw[j] = cd->out[1 + j];
    ic.k[j] = cd->k[1 + j];
    ic.s[j] = cd->s[1 + j];
    ic.d[j] = cd->d[1 + j];
    ic.pb[j] = cd->pb[1 + j];
  }
  INGOT_RETURN_IF_ERROR(
      cg_scratch(ctx, (size_t)(G * rows_pad * k2) * 4u, &ic.out));
  char summary[96];
  snprintf(summary, sizeof summary, "Conv %lldx%lld/%lld im2col to bf16",
           (long long)cd->k[1], (long long)cd->k[2], (long long)cd->s[2]);
  cg_step st = {.kernel = "k_bf16_im2col",
                .desc = &ic,
                .desc_size = sizeof ic,
                .tasks = ic.tasks,
                .ops = 0,
                .bytes = (uint64_t)ir_shape_numel(&g->tensors[n->in[0]].shape) *
                             4u +
                         (uint64_t)(G * d.m * k2) * 4u,
                .precision = IR_BF16,
                .summary = summary};
  INGOT_RETURN_IF_ERROR(cg_emit(ctx, &st));

  /* Step 2: a product per group, on its rows, weights, columns of Y and
   * bias. */
  d.a_rs = k2;
  d.a_cs = 1;
  cg_view vb;
  bool bias = n->n_in > 2 && n->in[2];
  if (bias) INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[2], &vb));
  kbuf a0 = ic.out, b0 = d.b, y0 = cd->y;
  char what[64];
  snprintf(what, sizeof what, "Conv %lldx%lld/%lld%s", (long long)cd->k[1],
           (long long)cd->k[2], (long long)cd->s[2], G > 1 ? " grouped" : "");
  for (int64_t gi = 0; gi < G; gi++) {
    k_mm_desc dg = d;
    dg.a = a0;
    dg.a.off += gi * ic.g_pairs * 4;
    dg.b = b0;
    dg.b.off += gi * panels * k2 * d.b_panel * 4;
    dg.y = y0;
    dg.y.off += gi * mg * 4;
    if (bias) {
      dg.has_c = 1;
      dg.c = vb.buf;
      dg.c.off += gi * mg * 4;
      dg.c_rs = 0;
      dg.c_cs = 1;
    }
    INGOT_RETURN_IF_ERROR(emit_product(ctx, &dg, K, amx, 1, what));
  }
  return NULL;
}

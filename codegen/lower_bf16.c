/* lower_bf16.c — MatMul and Gemm in bf16 (docs/accuracy.md "bf16"): the
 * layers `--layer-precision NAME=bf16` asked for on a target with
 * AVX512-BF16 (passes/quantize.c marks them ir_node.compute = IR_BF16).
 *
 * Semantics (the reference interpreter's, ir/ref/matmul.c): A and B are
 * rounded to bfloat16, nearest even; the products (exact in float32) are
 * summed in float32; alpha, beta·C, a fused bias and fused elementwise ops
 * follow in float32 as for a float32 product.
 *
 * Two steps (kernels/x86_avx512/bf16.h):
 *  - k_bf16_pack_a: A to bf16 pairs in this node's scratch, once per run
 *    (each pair row is then read by every column block);
 *  - k_mm_bf16_amx (AMX-BF16 tdpbf16ps, kernels/x86_amx/amx_bf16.c) when
 *    the target has AMX-BF16, A has at least 16 rows and the product at
 *    least 2^16 MACs (every product with --amx always; none with --amx
 *    never), else k_mm_bf16_avx512
 *    (AVX512-BF16 vdpbf16ps, register-tiled like the float32 SGEMM, whose
 *    tiling and task split it takes with K counted in pairs).  B is packed
 *    at build time into bf16 pair panels: the weights take half the bytes
 *    of the float32 engine's.  For AMX the panels are 16 columns wide, K is
 *    padded to 16 pairs and the panels to an even count, and A's scratch
 *    to a multiple of 32 rows (zeroed by the pack step).
 * B must be a constant matrix (quant_has_bf16_form); A any float32 view
 * in the model's layout (a MatMul's batch dims become rows, as for
 * float32).
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

/* B(p, j) = src[p*rs + j*cs] into panels of P = 16*nv columns of |k2|
 * pair rows (k2 >= ceil(k/2)) and |panels| panels (>= ceil(n/P)),
 * zero-padded past K and N. */
static ingot_status pack_b(cg_lower_ctx *ctx, k_mm_desc *d, const float *src,
                           int64_t k, int64_t rs, int64_t cs, int64_t k2,
                           int64_t panels) {
  int64_t P = 16 * d->nv;
  size_t total = (size_t)(panels * k2 * P);
  uint32_t *buf = calloc(total ? total : 1, sizeof *buf);
  if (!buf)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                             "out of memory packing a %lldx%lld bf16 matrix",
                             (long long)k, (long long)d->n);
  for (int64_t p = 0; p < k; p++)
    for (int64_t j = 0; j < d->n; j++) {
      uint32_t h = to_bf16(src[p * rs + j * cs]);
      buf[(j / P) * k2 * P + (p / 2) * P + j % P] |= p % 2 ? h << 16 : h;
    }
  ingot_status s = cg_add_weights(ctx, buf, total * sizeof *buf, &d->b);
  free(buf);
  d->k = k2;
  d->b_panel = P;
  d->b_ps = k2 * P;
  d->b_rs = d->b_cs = 0;
  return s;
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

static int64_t round_up(int64_t v, int64_t q) { return (v + q - 1) / q * q; }

/* The AMX template's split: blocks of 32 x 32, tasks of whole blocks. */
static void amx_split(k_mm_desc *d, int64_t k) {
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
  d->tiles_b = 1;
  d->mr = 32;
  d->kc = d->k;
}

ingot_status cg_lower_bf16_product(cg_lower_ctx *ctx, const ir_node *n) {
  const ir_graph *g = cg_graph(ctx);
  if (!(cg_target_of(ctx)->cpu_features & INGOT_CPU_AVX512BF16))
    return ir_node_error(n, INGOT_FAILED_PRECONDITION,
                         "the layer computes in bf16 but the target CPU "
                         "has no AVX512-BF16");
  bool gemm = n->op == IR_OP_GEMM;
  const ir_tensor *ta = &g->tensors[n->in[0]], *tb = &g->tensors[n->in[1]];
  const ir_tensor *ty = &g->tensors[n->out[0]];
  const ir_p_gemm *p = gemm ? n->params : NULL;
  if ((n->op != IR_OP_MATMUL && !gemm) || (gemm && !p) ||
      ta->dtype != IR_F32 || tb->dtype != IR_F32 ||
      tb->role != IR_ROLE_CONSTANT || !tb->data || tb->shape.rank != 2 ||
      ta->shape.rank < 1)
    return ir_node_error(n, INGOT_INTERNAL,
                         "marked bf16 but not a float32 product with a "
                         "constant 2-D B");
  size_t ny = ir_shape_numel(&ty->shape);
  if (ny == 0) return NULL;

  k_mm_desc d;
  memset(&d, 0, sizeof d);
  d.kind = KMM_F32;
  d.atype = d.btype = d.ytype = IR_F32;
  d.alpha = 1.0f;
  d.beta = 1.0f;
  int64_t k, brs, bcs;
  if (gemm) {
    d.m = ty->shape.dims[0];
    d.n = ty->shape.dims[1];
    k = ta->shape.dims[p->trans_a ? 0 : 1];
    d.a_rs = p->trans_a ? 1 : k;
    d.a_cs = p->trans_a ? d.m : 1;
    brs = p->trans_b ? 1 : d.n;
    bcs = p->trans_b ? k : 1;
    d.alpha = p->alpha;
    d.beta = p->beta;
  } else {
    k = ta->shape.dims[ta->shape.rank - 1];
    d.n = tb->shape.dims[1];
    d.m = k ? (int64_t)(ir_shape_numel(&ta->shape) / (size_t)k) : 0;
    d.a_rs = k;
    d.a_cs = 1;
    brs = d.n;
    bcs = 1;
  }
  d.y_rs = d.n;
  d.y_cs = 1;

  cg_view va, vy;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &va));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &vy));
  if (va.layout != INGOT_LAYOUT_AS_MODEL || vy.layout != INGOT_LAYOUT_AS_MODEL)
    return ir_node_error(n, INGOT_INTERNAL,
                         "a bf16 product reads and writes the model's "
                         "layout, not NHWC");
  d.y = vy.buf;
  bool amx = use_amx(ctx, d.m, k, d.n);
  int64_t rows_pad = d.m;
  if (amx) { /* whole tiles: 16-pair K steps, 32-row, 32-column blocks */
    d.nv = 1;
    rows_pad = round_up(d.m, 32);
    INGOT_RETURN_IF_ERROR(pack_b(ctx, &d, tb->data, k, brs, bcs,
                                 round_up((k + 1) / 2, 16),
                                 round_up((d.n + 15) / 16, 2)));
  } else {
    cg_mm_choose_tile(ctx, &d);
    INGOT_RETURN_IF_ERROR(pack_b(ctx, &d, tb->data, k, brs, bcs, (k + 1) / 2,
                                 (d.n + 16 * d.nv - 1) / (16 * d.nv)));
  }

  /* Step 1: A to bf16 pairs in scratch. */
  k_bf16_pack_desc pk;
  memset(&pk, 0, sizeof pk);
  pk.x = va.buf;
  pk.rows = d.m;
  pk.k = k;
  pk.k2 = d.k;
  pk.rows_pad = rows_pad;
  pk.x_rs = d.a_rs;
  pk.x_cs = d.a_cs;
  pk.tasks = (d.m + PACK_ROWS_PER_TASK - 1) / PACK_ROWS_PER_TASK;
  if (pk.tasks > PACK_MAX_TASKS) pk.tasks = PACK_MAX_TASKS;
  if (pk.tasks < 1) pk.tasks = 1;
  INGOT_RETURN_IF_ERROR(
      cg_scratch(ctx, (size_t)(rows_pad * d.k) * 4u, &pk.out));
  cg_step s1 = {.kernel = "k_bf16_pack_a",
                .desc = &pk,
                .desc_size = sizeof pk,
                .tasks = pk.tasks,
                .ops = 0,
                .bytes = (uint64_t)(d.m * k) * 4u + (uint64_t)(d.m * d.k) * 4u,
                .precision = IR_BF16,
                .summary = "A to bf16 pairs"};
  INGOT_RETURN_IF_ERROR(cg_emit(ctx, &s1));
  d.a = pk.out;
  d.a_rs = d.k;
  d.a_cs = 1;

  /* C: Gemm's input, or a MatMul's fused bias row (plan_fuse.c). */
  if (gemm && n->n_in > 2 && n->in[2]) {
    const ir_tensor *tc = &g->tensors[n->in[2]];
    if (tc->dtype != IR_F32)
      return ir_node_error(n, INGOT_UNIMPLEMENTED, "Gemm's C is %s, not "
                           "float32", ir_dtype_name(tc->dtype));
    cg_view vc;
    INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[2], &vc));
    const ir_shape *cs = &tc->shape;
    int64_t rows = cs->rank == 2 ? cs->dims[0] : 1;
    int64_t cols = cs->rank >= 1 ? cs->dims[cs->rank - 1] : 1;
    d.has_c = 1;
    d.c = vc.buf;
    d.c_rs = rows == 1 ? 0 : cols;
    d.c_cs = cols == 1 ? 0 : 1;
  } else if (!gemm) {
    ir_tensor_id bias = cg_fused_bias(ctx);
    if (bias) {
      cg_view vc;
      INGOT_RETURN_IF_ERROR(cg_view_of(ctx, bias, &vc));
      d.has_c = 1;
      d.c = vc.buf;
      d.c_rs = 0;
      d.c_cs = 1;
    }
  }
  d.epi = *cg_epilogue(ctx);
  if (amx)
    amx_split(&d, k);
  else
    cg_mm_split(&d, 1);

  /* Step 2: the product. */
  char summary[128];
  snprintf(summary, sizeof summary, "%s bf16 %lldx%lldx%lld %s",
           gemm ? "Gemm" : "MatMul", (long long)d.m, (long long)k,
           (long long)d.n, amx ? "amx" : "packed");
  cg_step s2 = {.kernel = amx ? "k_mm_bf16_amx" : "k_mm_bf16_avx512",
                .desc = &d,
                .desc_size = sizeof d,
                .tasks = d.tiles_b * d.tiles_m * d.tiles_n,
                .ops = 2u * (uint64_t)(d.m * d.n * k),
                .bytes = (uint64_t)(d.m * d.k) * 4u +
                         (uint64_t)(d.k * d.n) * 4u +
                         (uint64_t)(d.m * d.n) * 4u,
                .precision = IR_BF16,
                .summary = summary};
  return cg_emit(ctx, &s2);
}

/* test_bf16.c — bf16 products and convolutions (codegen/lower_bf16.c,
 * kernels/x86_avx512/matmul_bf16.c and conv_bf16.c, x86_amx/amx_bf16.c)
 * through the planner and the natively compiled templates, against the
 * reference interpreter's bf16 semantics (ir/ref/matmul.c and conv.c:
 * operands rounded to bf16, nearest even; exact products; summed in
 * double).  docs/accuracy.md "bf16".
 *
 *  1. The rounding helper, bit for bit, on hand-picked values: ties to even
 *     both ways, just above/below a tie, overflow to infinity, infinities,
 *     quiet and signalling NaNs (quieted, sign and top payload kept),
 *     denormals (rounded, not flushed), signed zeros — ir_f32_to_bf16,
 *     kmath's kf32_to_bf16 and the template's vector path (k_bf16_pack_a,
 *     with a stride-1 tail and a strided A) must all agree with the table.
 *  2. Randomised MatMul (batch dims folded into rows, fused bias, fused
 *     Relu) and Gemm (transA, transB, alpha, beta, every C shape) with
 *     K, M, N drawn across the register tiles, odd K (the padded pair) and
 *     N tails; activation x activation MatMuls (B a graph input, rounded
 *     and packed at run time: batched, broadcast, a 2-D B) and Gemms with
 *     an activation B; Convs (1x1, 1x1/2, 3x3, 7x7/2 with 3 channels,
 *     dilation 2, unpadded 5x3, groups, batch 2, random shapes), whose K
 *     is taps x Cin/group and whose S runs over the taps inside the
 *     input.  Tolerance, per element: the kernel sums K products in
 *     float32 (one rounding per product added), so
 *        |got - ref| <= (K + 4) * 2^-24 * (|alpha| S + |beta c|) + 2^-60,
 *     S = Σ_p |a'_ip b'_pj| over the bf16-rounded operands (the standard
 *     bound for recursive float summation, with 4 roundings for alpha,
 *     beta·C and the bias).  So that the test can tell bf16 from float32,
 *     every case with K >= 8 must also sit at least 16x closer to the bf16
 *     reference than to the float32 one.
 * Every product runs on both templates: k_mm_bf16_avx512 (--amx never)
 * and, where the CPU has AMX-BF16, k_mm_bf16_amx (--amx always).
 * Needs AVX512-BF16 on this machine (skips with 77 otherwise).
 */
#include <math.h>

#include "engine_format.h"
#include "kmath.h"
#include "kt_graph.h"
#include "x86_avx512/bf16.h"

KSIG(k_bf16_pack_a);

static float f_of(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static const struct {
  uint32_t f;
  uint16_t bf;
  const char *what;
} kRound[] = {
    {0x3f800000u, 0x3f80, "1.0"},
    {0x3f808000u, 0x3f80, "tie, even below"},
    {0x3f818000u, 0x3f82, "tie, even above"},
    {0x3f808001u, 0x3f81, "just above a tie"},
    {0x3f807fffu, 0x3f80, "just below a tie"},
    {0xbf818000u, 0xbf82, "negative tie"},
    {0x7f7fffffu, 0x7f80, "FLT_MAX rounds to +inf"},
    {0x7f7f7fffu, 0x7f7f, "largest that stays finite"},
    {0x7f800000u, 0x7f80, "+inf"},
    {0xff800000u, 0xff80, "-inf"},
    {0x7fc00000u, 0x7fc0, "quiet NaN"},
    {0x7f800001u, 0x7fc0, "signalling NaN, low payload: quieted"},
    {0xff800001u, 0xffc0, "negative signalling NaN"},
    {0x7fffffffu, 0x7fff, "NaN, all payload"},
    {0x7fa12345u, 0x7fe1, "NaN, top payload kept"},
    {0x00000000u, 0x0000, "+0"},
    {0x80000000u, 0x8000, "-0"},
    {0x00000001u, 0x0000, "smallest denormal"},
    {0x00008000u, 0x0000, "denormal tie, even below"},
    {0x00018000u, 0x0002, "denormal tie, even above"},
    {0x80008001u, 0x8001, "negative denormal above a tie"},
    {0x007fffffu, 0x0080, "largest denormal rounds to FLT_MIN"},
    {0x00800000u, 0x0080, "FLT_MIN"},
};
#define NROUND (int)(sizeof kRound / sizeof kRound[0])

static void test_rounding(bool vector) {
  for (int i = 0; i < NROUND; i++) {
    float f = f_of(kRound[i].f);
    uint16_t a = ir_f32_to_bf16(f), b = kf32_to_bf16(f);
    if (a != kRound[i].bf || b != kRound[i].bf) {
      fprintf(stderr, "bf16 of %08x (%s): ir %04x, kmath %04x, want %04x\n",
              kRound[i].f, kRound[i].what, a, b, kRound[i].bf);
      check_failures++;
    }
  }
  if (!vector) return;
  /* The template: rows of K = 37 (two vectors and a masked tail, odd K),
   * stride 1 and stride 3, the table's values then random bits. */
  enum { R = 3, K = 37, K2 = (K + 1) / 2 };
  float x[R * K * 3];
  for (int i = 0; i < R * K * 3; i++)
    x[i] = i < NROUND ? f_of(kRound[i].f) : f_of(kt_rand() * 2u + (i & 1));
  for (int cs = 1; cs <= 3; cs += 2) {
    uint8_t arena[sizeof x + R * K2 * 4];
    memcpy(arena, x, sizeof x);
    memset(arena + sizeof x, 0xa5, R * K2 * 4);
    k_bf16_pack_desc d = {.x = {.off = 0, .space = KB_ARENA},
                          .out = {.off = sizeof x, .space = KB_ARENA},
                          .rows = R, .k = K, .k2 = K2,
                          .x_rs = K * cs, .x_cs = cs, .tasks = 2};
    k_bf16_pack_a(&d, arena, NULL, 0, 2);
    int bad = 0;
    for (int r = 0; r < R; r++)
      for (int p = 0; p < 2 * K2; p++) {
        uint16_t got;
        memcpy(&got, arena + sizeof x + (size_t)(r * 2 * K2 + p) * 2, 2);
        uint16_t want = p < K ? ir_f32_to_bf16(x[r * K * cs + p * cs]) : 0;
        bad += got != want;
      }
    if (bad) fprintf(stderr, "k_bf16_pack_a stride %d: %d mismatches\n", cs, bad);
    CHECK(bad == 0);
  }
}

/*===--- checking ------------------------------------------------------===*/

/* Which templates this machine runs: AVX512-BF16 always (main checks),
 * AMX-BF16 when it has it. */
static bool have_amx;

/* |got| against the bf16 reference |want| within |bnd| per element, and
 * (K >= 8) at least 16x closer to it than to the float32 reference. */
static void compare(const char *label, const ir_value *got,
                    const ir_value *want, const ir_value *want32,
                    const double *bnd, int64_t k) {
  const float *gv = got->data, *wv = want->data, *w32 = want32->data;
  int64_t count = (int64_t)ir_shape_numel(&want->shape);
  double e16 = 0, e32 = 0;
  int bad = 0;
  for (int64_t i = 0; i < count; i++) {
    double d = fabs((double)gv[i] - wv[i]);
    if (!(d <= bnd[i]) && bad++ < 3)
      fprintf(stderr, "%s: element %lld is %.9g, want %.9g (bound %.3g)\n",
              label, (long long)i, gv[i], wv[i], bnd[i]);
    if (d > e16) e16 = d;
    double d32 = fabs((double)gv[i] - w32[i]);
    if (d32 > e32) e32 = d32;
  }
  if (bad) check_failures++;
  if (k >= 8 && !(e16 * 16 <= e32)) {
    fprintf(stderr, "%s: max error %.3g vs the bf16 reference, %.3g vs "
            "float32: not a bf16 product?\n", label, e16, e32);
    check_failures++;
  }
}

typedef ir_graph *(*build_fn)(void *ctx, bool bf16);

/* Builds the case twice (float32 and bf16 reference), then runs the bf16
 * graph on each template with |inputs|, checking that |kern| and |also|
 * ran and the result is within |bnd| (one bound per output element). */
static void run_templates(build_fn build, void *ctx, const ir_value *inputs,
                          const char *also, const double *bnd, int64_t k,
                          const char *what) {
  ir_value want[1] = {0}, want32[1] = {0};
  ir_graph *g = build(ctx, false);
  CHECK_OK(ir_interp_run(g, inputs, want32, NULL));
  ir_graph_destroy(g);
  g = build(ctx, true);
  CHECK_OK(ir_interp_run(g, inputs, want, NULL));
  ir_graph_destroy(g);
  if (!want[0].data || !want32[0].data) {
    check_failures++;
    return;
  }
  for (int pol = 0; pol < 2; pol++) {
    int policy = pol ? CG_AMX_ALWAYS : CG_AMX_NEVER;
    if (pol && !have_amx) break;
    const char *kern = pol ? "k_mm_bf16_amx" : "k_mm_bf16_avx512";
    ir_value got[1] = {0};
    cg_target host;
    CHECK_OK(cg_target_host(&host));
    host.amx = policy;
    g = build(ctx, true);
    char kernels[512] = "";
    ingot_status s = native_run_traced(g, &host, inputs, got, kernels,
                                       sizeof kernels);
    ir_graph_destroy(g);
    char label[700];
    snprintf(label, sizeof label, "%s [%s]", what, kernels);
    if (getenv("KT_VERBOSE")) printf("%s\n", label);
    if (!kt_ok(s, label)) {
      check_failures++;
      continue;
    }
    if (!strstr(kernels, kern) || (also && !strstr(kernels, also))) {
      fprintf(stderr, "%s: %s%s%s did not run\n", label, kern,
              also ? " / " : "", also ? also : "");
      check_failures++;
    }
    compare(label, &got[0], &want[0], &want32[0], bnd, k);
    ir_value_free(&got[0]);
  }
  ir_value_free(&want[0]);
  ir_value_free(&want32[0]);
}

static double bfr(float v) { return ir_bf16_to_f32(ir_f32_to_bf16(v)); }

/* (K + 4) 2^-24 S + 2^-60: the header's bound for a sum S of |products|
 * (plus |beta c| and |bias|). */
static double bound_of(int64_t k, double s) {
  return (double)(k + 4) * ldexp(1.0, -24) * s + ldexp(1.0, -60);
}

/*===--- products ------------------------------------------------------===*/
typedef struct bcase {
  bool gemm, bias, relu;
  bool bact; /* B is a graph input (activation x activation) */
  int ta, tb;
  float alpha, beta;
  int crank; /* -1 none; Gemm C: 0 scalar, 1 [N], 2 [M,N] / [1,N] / [M,1] */
  int64_t c0, c1;
  int64_t batch, bbatch, m, k, n; /* bbatch: B's matrices (1 or batch) */
  ir_value a, b, c, bv;
} bcase;

static ir_graph *build(void *vctx, bool bf16) {
  bcase *bc = vctx;
  ir_graph *g = kt_graph_new();
  ir_tensor_id in[3] = {kt_input(g, "a", &bc->a),
                        bc->bact ? kt_input(g, "b", &bc->b)
                                 : kt_const(g, "b", &bc->b),
                        0};
  int nin = 2;
  if (bc->gemm && bc->crank >= 0) in[nin++] = kt_const(g, "c", &bc->c);
  bool tail = bc->bias || bc->relu;
  ir_tensor_id y = kt_tensor(g, "y", !tail), cur = y;
  ir_node_id nid = kt_node(g, bc->gemm ? IR_OP_GEMM : IR_OP_MATMUL, in, nin,
                           &y, 1);
  if (bc->gemm) {
    kt_attr_float(g, nid, "alpha", bc->alpha);
    kt_attr_float(g, nid, "beta", bc->beta);
    kt_attr_int(g, nid, "transA", bc->ta);
    kt_attr_int(g, nid, "transB", bc->tb);
  }
  if (bc->bias) {
    ir_tensor_id bi[2] = {cur, kt_const(g, "bias", &bc->bv)};
    ir_tensor_id o = kt_tensor(g, "yb", !bc->relu);
    kt_node(g, IR_OP_ADD, bi, 2, &o, 1);
    cur = o;
  }
  if (bc->relu) {
    ir_tensor_id o = kt_tensor(g, "yr", true);
    kt_node(g, IR_OP_RELU, &cur, 1, &o, 1);
  }
  CHECK_OK(kt_finish(g));
  if (bf16) g->nodes[nid].compute = IR_BF16;
  return g;
}

/* The per-element bound of the header, for output (i, j) (before bias /
 * Relu; both only shrink or shift by a value within the bound). */
static double bound(const bcase *bc, int64_t i, int64_t j) {
  const float *a = bc->a.data, *b = bc->b.data;
  int64_t M = bc->batch * bc->m, K = bc->k, N = bc->n;
  b += bc->bbatch > 1 ? i / bc->m * K * N : 0;
  double s = 0;
  for (int64_t p = 0; p < K; p++) {
    double av = bc->ta ? a[p * M + i] : a[i * K + p];
    double bv = bc->tb ? b[j * K + p] : b[p * N + j];
    s += fabs(bfr((float)av) * bfr((float)bv));
  }
  s *= fabs(bc->alpha);
  if (bc->gemm && bc->crank >= 0) {
    const float *c = bc->c.data;
    int64_t r = bc->crank == 2 && bc->c0 > 1 ? i : 0;
    int64_t q = bc->crank >= 1 && (bc->crank == 1 ? bc->c0 : bc->c1) > 1 ? j : 0;
    int64_t cols = bc->crank == 2 ? bc->c1 : bc->crank == 1 ? bc->c0 : 1;
    s += fabs(bc->beta * c[r * cols + q]);
  }
  if (bc->bias) s += fabs(((const float *)bc->bv.data)[j]);
  return bound_of(K, s);
}

static void run_case(bcase *bc, const char *what) {
  int64_t M = bc->batch * bc->m, N = bc->n;
  double *bnd = malloc((size_t)(M * N) * sizeof *bnd);
  for (int64_t i = 0; bnd && i < M; i++)
    for (int64_t j = 0; j < N; j++) bnd[i * N + j] = bound(bc, i, j);
  ir_value in[2] = {bc->a, bc->b};
  if (bnd)
    run_templates(build, bc, in, bc->bact ? "k_bf16_pack_b" : NULL, bnd,
                  bc->k, what);
  else
    check_failures++;
  free(bnd);
  ir_value *v[] = {&bc->a, &bc->b, &bc->c, &bc->bv};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    if (v[i]->data) ir_value_free(v[i]);
}

static void matmul_case(int64_t batch, int64_t m, int64_t k, int64_t n,
                        bool bias, bool relu, const char *what) {
  bcase bc = {.batch = batch, .bbatch = 1, .m = m, .k = k, .n = n,
              .bias = bias, .relu = relu, .alpha = 1, .beta = 1, .crank = -1};
  int64_t ad[3] = {batch, m, k}, bd[2] = {k, n};
  bc.a = batch > 1 ? kt_value(IR_F32, 3, ad) : kt_value(IR_F32, 2, ad + 1);
  bc.b = kt_value(IR_F32, 2, bd);
  if (bias) bc.bv = kt_value(IR_F32, 1, &n);
  run_case(&bc, what);
}

/* Activation x activation: A [batch, m, k] times B [bbatch, k, n] (bbatch
 * 0: a 2-D B [k, n]), both graph inputs. */
static void actact_case(int64_t batch, int64_t bbatch, int64_t m, int64_t k,
                        int64_t n, bool bias, bool relu, const char *what) {
  bcase bc = {.batch = batch, .bbatch = bbatch, .m = m, .k = k, .n = n,
              .bias = bias, .relu = relu, .alpha = 1, .beta = 1, .crank = -1,
              .bact = true};
  int64_t ad[3] = {batch, m, k}, bd[3] = {bbatch, k, n};
  bc.a = kt_value(IR_F32, 3, ad);
  bc.b = bbatch ? kt_value(IR_F32, 3, bd) : kt_value(IR_F32, 2, bd + 1);
  if (bias) bc.bv = kt_value(IR_F32, 1, &n);
  run_case(&bc, what);
}

static void gemm_case_b(int64_t m, int64_t k, int64_t n, int ta, int tb,
                        float alpha, float beta, int crank, int64_t c0,
                        int64_t c1, bool bact, const char *what) {
  bcase bc = {.gemm = true, .batch = 1, .bbatch = 1, .m = m, .k = k, .n = n,
              .ta = ta, .tb = tb, .alpha = alpha, .beta = beta,
              .crank = crank, .c0 = c0, .c1 = c1, .bact = bact};
  int64_t ad[2] = {ta ? k : m, ta ? m : k}, bd[2] = {tb ? n : k, tb ? k : n};
  int64_t cd[2] = {c0, c1};
  bc.a = kt_value(IR_F32, 2, ad);
  bc.b = kt_value(IR_F32, 2, bd);
  if (crank >= 0) bc.c = kt_value(IR_F32, crank, cd);
  run_case(&bc, what);
}

static void gemm_case(int64_t m, int64_t k, int64_t n, int ta, int tb,
                      float alpha, float beta, int crank, int64_t c0,
                      int64_t c1, const char *what) {
  gemm_case_b(m, k, n, ta, tb, alpha, beta, crank, c0, c1, false, what);
}

/*===--- convolutions --------------------------------------------------===*/
typedef struct ccase {
  int64_t n, c, m, h, w, kh, kw, s, d, group;
  int64_t pads[4]; /* top, left, bottom, right */
  bool bias, relu;
  ir_value x, wt, b;
} ccase;

static int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t d,
                        int64_t p0, int64_t p1) {
  return (in + p0 + p1 - ((k - 1) * d + 1)) / s + 1;
}

static ir_graph *build_conv(void *vctx, bool bf16) {
  ccase *cc = vctx;
  ir_graph *g = kt_graph_new();
  ir_tensor_id in[3] = {kt_input(g, "x", &cc->x), kt_const(g, "w", &cc->wt),
                        0};
  int nin = 2;
  if (cc->bias) in[nin++] = kt_const(g, "b", &cc->b);
  ir_tensor_id y = kt_tensor(g, "y", !cc->relu);
  ir_node_id nid = kt_node(g, IR_OP_CONV, in, nin, &y, 1);
  int64_t k[2] = {cc->kh, cc->kw}, s[2] = {cc->s, cc->s}, d[2] = {cc->d, cc->d};
  kt_attr_ints(g, nid, "kernel_shape", k, 2);
  kt_attr_ints(g, nid, "strides", s, 2);
  kt_attr_ints(g, nid, "dilations", d, 2);
  kt_attr_ints(g, nid, "pads", cc->pads, 4);
  kt_attr_int(g, nid, "group", cc->group);
  if (cc->relu) {
    ir_tensor_id o = kt_tensor(g, "yr", true);
    kt_node(g, IR_OP_RELU, &y, 1, &o, 1);
  }
  CHECK_OK(kt_finish(g));
  if (bf16) g->nodes[nid].compute = IR_BF16;
  return g;
}

static void conv_case(int64_t n, int64_t c, int64_t m, int64_t h, int64_t w,
                      int64_t kh, int64_t kw, int64_t s, int64_t d,
                      int64_t pad, int64_t group, bool bias, bool relu,
                      const char *what) {
  ccase cc = {.n = n, .c = c, .m = m, .h = h, .w = w, .kh = kh, .kw = kw,
              .s = s, .d = d, .group = group, .bias = bias, .relu = relu,
              .pads = {pad, pad, pad + (kh > 1), pad}};
  int64_t xd[4] = {n, c, h, w}, wd[4] = {m, c / group, kh, kw};
  cc.x = kt_value(IR_F32, 4, xd);
  cc.wt = kt_value(IR_F32, 4, wd);
  if (bias) cc.b = kt_value(IR_F32, 1, &m);
  int64_t oh = conv_out(h, kh, s, d, cc.pads[0], cc.pads[2]);
  int64_t ow = conv_out(w, kw, s, d, cc.pads[1], cc.pads[3]);
  int64_t cg = c / group, mg = m / group, K = cg * kh * kw;
  double *bnd = malloc((size_t)(n * m * oh * ow) * sizeof *bnd);
  const float *x = cc.x.data, *wt = cc.wt.data, *b = cc.b.data;
  for (int64_t bi = 0; bnd && bi < n; bi++)
    for (int64_t co = 0; co < m; co++)
      for (int64_t i = 0; i < oh; i++)
        for (int64_t j = 0; j < ow; j++) {
          double sum = bias ? fabs(b[co]) : 0;
          for (int64_t ci = 0; ci < cg; ci++)
            for (int64_t u = 0; u < kh; u++)
              for (int64_t v = 0; v < kw; v++) {
                int64_t ih = i * s + u * d - cc.pads[0];
                int64_t iw = j * s + v * d - cc.pads[1];
                if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                float xv = x[((bi * c + co / mg * cg + ci) * h + ih) * w + iw];
                float wv = wt[((co * cg + ci) * kh + u) * kw + v];
                sum += fabs(bfr(xv) * bfr(wv));
              }
          bnd[((bi * m + co) * oh + i) * ow + j] = bound_of(K, sum);
        }
  if (bnd)
    run_templates(build_conv, &cc, &cc.x, "k_bf16_im2col", bnd, K, what);
  else
    check_failures++;
  free(bnd);
  ir_value *vals[] = {&cc.x, &cc.wt, &cc.b};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
    if (vals[i]->data) ir_value_free(vals[i]);
}

int main(void) {
  cg_target host;
  ingot_status s = cg_target_host(&host);
  bool have = !s && (host.cpu_features & INGOT_CPU_AVX512BF16);
  ingot_status_free(s);
  uint64_t amx = INGOT_CPU_AMX_TILE | INGOT_CPU_AMX_BF16;
  have_amx = have && (host.cpu_features & amx) == amx;
  test_rounding(have);
  if (!have) {
    printf("skipped the kernels: this CPU has no AVX512-BF16 (rounding "
           "table checked)\n");
    return check_failures ? 1 : 77;
  }
  if (!have_amx) printf("AMX-BF16 template not tested: this CPU (or OS) has no AMX-BF16\n");
  matmul_case(1, 16, 32, 64, false, false, "MatMul transformer 16x32x64");
  matmul_case(1, 70, 300, 100, true, true, "MatMul 70x300x100 (AMX tails)");
  matmul_case(2, 16, 64, 32, true, false, "MatMul batch folded + bias");
  matmul_case(1, 37, 29, 71, false, true, "MatMul odd K, N tail, Relu");
  matmul_case(1, 1, 300, 1000, true, true, "MatMul fc 1x300x1000");
  matmul_case(1, 9, 1001, 20, false, false, "MatMul deep K (several passes)");
  matmul_case(1, 13, 1, 19, false, false, "MatMul K = 1");
  gemm_case(1, 32, 10, 0, 1, 1, 1, 1, 10, 0, "Gemm cnn fc");
  gemm_case(67, 45, 131, 1, 1, 0.7f, -1.5f, 1, 131, 0, "Gemm odd transposed");
  gemm_case(5, 1100, 40, 1, 0, 0.5f, 2, 2, 5, 40, "Gemm deep K transA, C [M,N]");
  gemm_case(7, 33, 17, 0, 0, 1, 1, 2, 7, 1, "Gemm C [M,1]");
  gemm_case(3, 6, 4, 0, 0, 1, 1, 0, 0, 0, "Gemm scalar C");
  gemm_case(2, 10, 3, 0, 1, 1, 1, -1, 0, 0, "Gemm no C");
  /* Activation x activation (B rounded and packed at run time). */
  actact_case(4, 4, 16, 32, 16, false, false, "act QK^T 4 heads 16x32x16");
  actact_case(3, 3, 37, 45, 50, true, true, "act batched odd, bias, Relu");
  actact_case(2, 2, 70, 64, 70, false, false, "act P.V 2x70x64x70");
  actact_case(3, 0, 9, 21, 33, false, false, "act 2-D B, A batch as rows");
  gemm_case_b(40, 70, 50, 0, 1, 0.5f, 2, 1, 50, 0, true,
              "Gemm activation B, transB, alpha, beta C");
  gemm_case_b(17, 33, 21, 1, 0, 1, 1, -1, 0, 0, true,
              "Gemm activation B, transA");
  /* Convolutions: 1x1 and kxk, strides, pads, dilation, groups. */
  conv_case(1, 64, 64, 14, 14, 3, 3, 1, 1, 1, 1, true, true,
            "Conv 3x3 64->64 pad 1, bias, Relu");
  conv_case(1, 32, 48, 9, 9, 1, 1, 1, 1, 0, 1, true, false,
            "Conv 1x1 pointwise 32->48");
  conv_case(2, 16, 24, 9, 11, 1, 1, 2, 1, 0, 1, false, false,
            "Conv 1x1/2 batch 2");
  conv_case(1, 3, 16, 23, 23, 7, 7, 2, 1, 3, 1, true, true,
            "Conv 7x7/2 stem 3->16");
  conv_case(1, 20, 30, 11, 12, 3, 3, 2, 2, 2, 1, true, false,
            "Conv 3x3/2 dilation 2");
  conv_case(1, 12, 18, 9, 9, 3, 3, 1, 1, 1, 3, true, true,
            "Conv grouped 3");
  conv_case(1, 5, 37, 7, 9, 5, 3, 1, 1, 0, 1, false, false,
            "Conv 5x3 odd channels, no pad");
  for (int r = 0; r < 12; r++) { /* randomised, tails included */
    char what[96];
    int64_t m = kt_irand(1, 40), k = kt_irand(1, 200), n = kt_irand(1, 90);
    if (r % 3 == 2) {
      int64_t g = kt_irand(1, 3), c = g * kt_irand(1, 12),
              co = g * kt_irand(1, 20), kk = kt_irand(1, 3);
      int64_t st = kt_irand(1, 2), dl = kt_irand(1, 2), pd = kt_irand(0, 1);
      int64_t hh = kt_irand(kk * dl + 1, 13), ww = kt_irand(kk * dl + 1, 13);
      snprintf(what, sizeof what,
               "random Conv %lldx%lld g%lld %lld->%lld %lldx%lld s%lld d%lld "
               "p%lld", (long long)hh, (long long)ww, (long long)g,
               (long long)c, (long long)co, (long long)kk, (long long)kk,
               (long long)st, (long long)dl, (long long)pd);
      conv_case(kt_irand(1, 2), c, co, hh, ww, kk, kk, st, dl, pd, g,
                r % 2 == 0, r % 4 == 0, what);
    } else if (r % 3 == 1) {
      int ta = (int)kt_irand(0, 1), tb = (int)kt_irand(0, 1);
      snprintf(what, sizeof what, "random Gemm %lldx%lldx%lld tA%d tB%d",
               (long long)m, (long long)k, (long long)n, ta, tb);
      gemm_case(m, k, n, ta, tb, 1, 1, 2, 1, n, what);
    } else {
      int64_t b = kt_irand(1, 3);
      bool act = r % 2 == 0;
      snprintf(what, sizeof what, "random MatMul%s %lldx%lldx%lldx%lld",
               act ? " act" : "", (long long)b, (long long)m, (long long)k,
               (long long)n);
      if (act)
        actact_case(b, b, m, k, n, r % 4 == 0, r % 3 == 0, what);
      else
        matmul_case(b, m, k, n, r % 4 == 0, r % 3 == 0, what);
    }
  }
  return check_report("test_bf16");
}

/* test_qconv.c — the packed int8 product templates (lower_q8.c,
 * kernels/<family>/qconv*.c) bit-exact against the int8 reference, per family.
 *
 * Each family is forced by naming a CPU that has it and nothing better:
 * x86-64 (generic k_qconv), haswell (k_qconv_avx2), skylake-avx512 (AVX-512
 * without VNNI: k_qconv_avx2 too), cascadelake (k_qconv_vnni); families the machine cannot run are skipped, and a case
 * fails if its step did not use the family's template (so a silent fall
 * back to the run-time-parameter path is caught).  Every case runs through
 * the natively compiled templates; one in ENGINE_EVERY also through an
 * engine built with LLVM for that CPU (the specialised code that ships).
 *
 * Cases (randomised, fixed seed): QLinearConv and ConvInteger (NHWC) with
 * odd channel counts (not multiples of 4/16/64), kernels 1..5, strides,
 * asymmetric padding, dilation, groups, depthwise, batch 1..2; QLinearMatMul
 * and MatMulInteger with batched A, odd M/K/N; com.microsoft QGemm (transB,
 * alpha, C none/scalar/per column, float or quantised output); uint8/int8
 * activations and
 * weights, zero points at the extremes (0, 255, -128, 127) or random, per
 * tensor or per output channel, per-tensor or per-channel scales, with and
 * without bias; and accumulators near 2^24 (all-extreme inputs, K = 576).
 * Three cases write channel-strided outputs (two convs folded into a
 * QLinearConcat's output, codegen/plan_fuse_concat.c).
 *
 * Budget: 203 small cases x 4 CPUs natively plus 5 engines per CPU: about
 * 5 s in a plain build, 30-40 s under ASan on the (loaded) CI machine.
 */
#include "kt_graph.h"
#include "params.h"

#define ENGINE_EVERY 50

typedef struct fam {
  const char *mcpu, *kernel;
  cg_target t;
  bool ok;
} fam;

#ifdef QCONV_GPU
/* test_gpu_qconv (tests/gpu): the same cases through the GPU templates in
 * the SIMT emulator, planned for the generic target whose descriptors and
 * packed weights they read (codegen/gpu.h). */
#include "gpu_exec.h"
#define QCONV_RUN gpu_run_traced
#define QCONV_DW "g_qconv_dw"
#undef ENGINE_EVERY
#define ENGINE_EVERY 1000000 /* engines: test_gpu_ptx */
/* Half the random cases: one fiber per GPU thread is slow under ASan. */
#define NCASES(n) ((n) / 2)
#ifdef QCONV_GPU_MMA /* test_gpu_qconv_mma: every product on mma.sync */
static fam fams[] = {
    {"x86-64", "g_qconv_mma", {0}, false},
};
#define QCONV_GPU_SM 80, 1
/* a third of the random cases (test_gpu_qconv runs half on dp4a) */
#undef NCASES
#define NCASES(n) ((n) / 3)
#else /* test_gpu_qconv: dp4a, as an engine with sm_75 maps it */
static fam fams[] = {
    {"x86-64", "g_qconv", {0}, false},
};
#define QCONV_GPU_SM 75, 0
#endif
#else
#define QCONV_RUN native_run_traced
#define QCONV_DW "k_qconv_dw"
#define NCASES(n) (n)
static fam fams[] = {
    {"x86-64", "k_qconv", {0}, false},
    {"haswell", "k_qconv_avx2", {0}, false},
    /* AVX-512 without VNNI: the AVX2 template, linked into an AVX-512
     * module (llvm.c) */
    {"skylake-avx512", "k_qconv_avx2", {0}, false},
    {"cascadelake", "k_qconv_vnni", {0}, false},
};
#endif
#define NFAM (int)(sizeof fams / sizeof fams[0])

static void fams_init(void) {
  cg_target host;
  ingot_status s = cg_target_host(&host);
  if (s) {
    ingot_status_free(s);
    host.cpu_features = 0;
  }
  for (int i = 0; i < NFAM; i++) {
    s = cg_target_named(fams[i].mcpu, &fams[i].t);
    if (s) {
      ingot_status_free(s);
      continue;
    }
    fams[i].ok = (fams[i].t.cpu_features & host.cpu_features) ==
                 fams[i].t.cpu_features;
    if (!fams[i].ok) printf("skipping %s: this CPU lacks it\n", fams[i].mcpu);
  }
}

/*===--- cases -----------------------------------------------------------===*/
typedef struct qcase {
  bool conv, qlinear, dw, bias, pc_zp, pc_scale, extreme;
  ir_dtype xt, wt, yt;
  /* conv */
  int64_t n, c, m, group, h, w, k[2], s[2], d[2], pads[4];
  /* matmul: A [batch.., M, K] x B [K, N] */
  int64_t batch, rows, kk, nn;
  bool qgemm, trans_b, float_out; /* com.microsoft QGemm */
  int cbias; /* QGemm C: 0 none, 1 scalar, 2 [N], 3 [M, N] */
  float alpha;
  int za, zy; /* activation, output zero points */
  int zwsel;  /* 0 random, 1 low extreme, 2 high extreme, 3 zero */
  /* QLinearConv twice, concatenated over channels by a QLinearConcat with
   * the convs' output parameters: fold-concat makes each conv write a
   * channel-strided slice (pixels 2m channels apart), no concat step. */
  bool cat;
  char what[200];
} qcase;

typedef struct qvals {
  ir_value x, w, b, xzp, wzp, xs, ws, ys, yzp;
} qvals;

static ir_value scalar_of(ir_dtype dt, double v) {
  int64_t one = 1;
  ir_value x = kt_alloc_value(dt, 0, &one);
  if (x.data) ir_store_f64(dt, x.data, 0, v);
  return x;
}

static int dt_lo(ir_dtype t) { return t == IR_U8 ? 0 : -128; }
static int dt_hi(ir_dtype t) { return t == IR_U8 ? 255 : 127; }

static void fill(ir_value *v, ir_dtype dt, int lo, int hi) {
  size_t n = ir_shape_numel(&v->shape);
  for (size_t i = 0; i < n; i++)
    ir_store_i64(dt, v->data, i, kt_irand(lo, hi));
  (void)dt;
}

/* Values for |qc| (random, from the fixed seed). */
static void make_values(const qcase *qc, qvals *v) {
  memset(v, 0, sizeof *v);
  int64_t cout = qc->conv ? qc->m : qc->nn, kred;
  if (qc->conv) {
    int64_t xd[4] = {qc->n, qc->c, qc->h, qc->w};
    int64_t wd[4] = {qc->m, qc->c / qc->group, qc->k[0], qc->k[1]};
    v->x = kt_alloc_value(qc->xt, 4, xd);
    v->w = kt_alloc_value(qc->wt, 4, wd);
    kred = wd[1] * qc->k[0] * qc->k[1];
  } else {
    int64_t ad[4] = {qc->batch, 2, qc->rows, qc->kk}, bd[2] = {qc->kk, qc->nn};
    int ar = qc->batch ? 4 : 2;
    if (qc->trans_b) bd[0] = qc->nn, bd[1] = qc->kk;
    v->x = kt_alloc_value(qc->xt, ar, qc->batch ? ad : ad + 2);
    v->w = kt_alloc_value(qc->wt, 2, bd);
    kred = qc->kk;
  }
  if (qc->extreme) { /* |acc| near 2^24: every product at its largest */
    fill(&v->x, qc->xt, dt_hi(qc->xt), dt_hi(qc->xt));
    fill(&v->w, qc->wt, dt_lo(qc->wt), dt_lo(qc->wt));
  } else {
    fill(&v->x, qc->xt, dt_lo(qc->xt), dt_hi(qc->xt));
    fill(&v->w, qc->wt, dt_lo(qc->wt), dt_hi(qc->wt));
  }
  v->xzp = scalar_of(qc->xt, qc->za);
  int64_t nz = qc->pc_zp ? cout : 1;
  v->wzp = kt_alloc_value(qc->wt, qc->pc_zp ? 1 : 0, &nz);
  for (int64_t i = 0; i < nz; i++) {
    int z = qc->zwsel == 1   ? dt_lo(qc->wt)
            : qc->zwsel == 2 ? dt_hi(qc->wt)
            : qc->zwsel == 3 ? 0
                             : (int)kt_irand(dt_lo(qc->wt), dt_hi(qc->wt));
    ir_store_i64(qc->wt, v->wzp.data, (size_t)i, z);
  }
  if (qc->bias) {
    int64_t one = 1;
    int64_t full[2] = {qc->rows, cout};
    v->b = qc->cbias == 1   ? kt_alloc_value(IR_I32, 1, &one)
           : qc->cbias == 3 ? kt_alloc_value(IR_I32, 2, full)
                            : kt_alloc_value(IR_I32, 1, &cout);
    for (size_t i = 0; i < ir_shape_numel(&v->b.shape); i++)
      ((int32_t *)v->b.data)[i] = (int32_t)kt_irand(-300000, 300000);
  }
  if (qc->qlinear || qc->float_out) {
    int64_t ns = qc->pc_scale ? cout : 1;
    v->xs = scalar_of(IR_F32, 0.0213);
    v->ws = kt_alloc_value(IR_F32, qc->pc_scale ? 1 : 0, &ns);
    for (int64_t i = 0; i < ns; i++)
      ((float *)v->ws.data)[i] = 0.002f + 0.003f * (float)kt_irand(1, 9);
    /* Outputs spread over the range: |acc| ~ 5500·sqrt(K). */
    double ys = 0.0213 * 0.015 * 5500.0 * sqrt((double)kred) / 50.0;
    if (qc->extreme) ys = 0.0213 * 0.015 * 3.7e7 / 100.0;
    v->ys = scalar_of(IR_F32, ys);
    v->yzp = scalar_of(qc->yt, qc->zy);
  }
}

static void free_values(qvals *v) {
  ir_value *all[] = {&v->x, &v->w, &v->b, &v->xzp, &v->wzp,
                     &v->xs, &v->ws, &v->ys, &v->yzp};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    ir_value_free(all[i]);
}

typedef struct build_ctx {
  const qcase *qc;
  const qvals *v;
} build_ctx;

static ir_graph *build(void *vctx) {
  build_ctx *bc = vctx;
  const qcase *qc = bc->qc;
  const qvals *v = bc->v;
  ir_graph *g = kt_graph_new();
  if (!g) return NULL;
  ir_tensor_id in[9] = {0};
  int nin;
  in[0] = kt_input(g, "x", &v->x);
  ir_tensor_id w = kt_const(g, "w", &v->w);
  if (qc->qgemm) {
    in[1] = kt_const(g, "a_scale", &v->xs);
    in[2] = kt_const(g, "a_zp", &v->xzp);
    in[3] = w;
    in[4] = kt_const(g, "b_scale", &v->ws);
    in[5] = kt_const(g, "b_zp", &v->wzp);
    nin = 6;
    if (qc->bias || !qc->float_out)
      in[nin++] = qc->bias ? kt_const(g, "c", &v->b) : 0;
    if (!qc->float_out) {
      in[nin++] = kt_const(g, "y_scale", &v->ys);
      in[nin++] = kt_const(g, "y_zp", &v->yzp);
    }
  } else if (qc->qlinear) {
    in[1] = kt_const(g, "x_scale", &v->xs);
    in[2] = kt_const(g, "x_zp", &v->xzp);
    in[3] = w;
    in[4] = kt_const(g, "w_scale", &v->ws);
    in[5] = kt_const(g, "w_zp", &v->wzp);
    in[6] = kt_const(g, "y_scale", &v->ys);
    in[7] = kt_const(g, "y_zp", &v->yzp);
    nin = 8;
    if (qc->bias && qc->conv) in[nin++] = kt_const(g, "b", &v->b);
  } else {
    in[1] = w;
    in[2] = kt_const(g, "x_zp", &v->xzp);
    in[3] = kt_const(g, "w_zp", &v->wzp);
    nin = 4;
  }
  ir_op op = qc->qgemm ? IR_OP_QGEMM
             : qc->conv ? (qc->qlinear ? IR_OP_QLINEAR_CONV
                                       : IR_OP_CONV_INTEGER)
                        : (qc->qlinear ? IR_OP_QLINEAR_MATMUL
                                       : IR_OP_MATMUL_INTEGER);
  ir_tensor_id out = kt_tensor(g, "y", true);
  bool cat = qc->cat && qc->conv && qc->qlinear;
  ir_tensor_id half[2] = {0, 0};
  for (int c = 0; c < (cat ? 2 : 1); c++) {
    if (cat) half[c] = kt_tensor(g, c ? "y1" : "y0", false);
    ir_node_id nid = kt_node(g, op, in, nin, cat ? &half[c] : &out, 1);
    if (qc->qgemm) {
      g->nodes[nid].domain = "com.microsoft";
      g->nodes[nid].opset = 1;
      kt_attr_int(g, nid, "transB", qc->trans_b);
      kt_attr_float(g, nid, "alpha", qc->alpha);
    }
    if (qc->conv) {
      int64_t k[3] = {1, qc->k[0], qc->k[1]}, s[3] = {1, qc->s[0], qc->s[1]};
      int64_t d[3] = {1, qc->d[0], qc->d[1]};
      int64_t pads[6] = {0, qc->pads[0], qc->pads[1], 0, qc->pads[2],
                         qc->pads[3]};
      kt_attr_window(g, nid, 2, k, s, d, NULL, pads);
      kt_attr_int(g, nid, "group", qc->group);
    }
  }
  if (cat) {
    ir_tensor_id cin[8] = {in[6], in[7], half[0], in[6], in[7],
                           half[1], in[6], in[7]};
    ir_node_id cid = kt_node(g, IR_OP_QLINEAR_CONCAT, cin, 8, &out, 1);
    kt_attr_int(g, cid, "axis", 1);
  }
  CHECK_OK(kt_finish(g));
  return g;
}

static int case_no;

static void run_case(qcase *qc) {
  qvals v;
  make_values(qc, &v);
  build_ctx bc = {qc, &v};
  ir_graph *g = build(&bc);
  ir_value want[1], got[1];
  memset(want, 0, sizeof want);
  ingot_status s = g ? ir_interp_run(g, &v.x, want, NULL) : NULL;
  ir_graph_destroy(g);
  if (!kt_ok(s, qc->what)) {
    check_failures++;
    free_values(&v);
    return;
  }
  bool engine = case_no++ % ENGINE_EVERY == 0;
  for (int f = 0; f < NFAM; f++) {
    if (!fams[f].ok) continue;
    const char *kernel = qc->dw ? QCONV_DW : fams[f].kernel;
    char kernels[256], label[512];
    g = build(&bc);
    if (!g) break;
    memset(got, 0, sizeof got);
    s = QCONV_RUN(g, &fams[f].t, &v.x, got, kernels, sizeof kernels);
    ir_graph_destroy(g);
    snprintf(label, sizeof label, "%s [%s: %s]", qc->what, fams[f].mcpu,
             kernels);
    if (getenv("KT_VERBOSE")) printf("%s\n", label);
    if (!kt_ok(s, label)) {
      check_failures++;
      continue;
    }
    bool used = false;
    for (char *p = kernels; (p = strstr(p, kernel)); p += strlen(kernel))
      if (p[strlen(kernel)] == '\0' || p[strlen(kernel)] == '|') used = true;
    if (!used) {
      fprintf(stderr, "%s: the step did not run %s\n", label, kernel);
      check_failures++;
    }
    if (qc->cat && strstr(kernels, "ql_concat")) {
      fprintf(stderr, "%s: the concat was not folded\n", label);
      check_failures++;
    }
    if (!kt_same(&got[0], &want[0], 0, label)) check_failures++;
    ir_value_free(&got[0]);
    if (!engine) continue;
    g = build(&bc);
    if (!g) break;
    memset(got, 0, sizeof got);
    s = kt_run_engine_mcpu(g, fams[f].mcpu, &v.x, got);
    ir_graph_destroy(g);
    snprintf(label, sizeof label, "%s [engine --mcpu %s]", qc->what,
             fams[f].mcpu);
    if (!kt_ok(s, label)) {
      check_failures++;
      continue;
    }
    if (!kt_same(&got[0], &want[0], 0, label)) check_failures++;
    ir_value_free(&got[0]);
  }
  ir_value_free(&want[0]);
  free_values(&v);
}

static ir_dtype rand_q8(void) { return kt_irand(0, 1) ? IR_U8 : IR_I8; }

/* Zero points: extremes a third of the time. */
static int rand_zp(ir_dtype t) {
  switch (kt_irand(0, 5)) {
  case 0: return dt_lo(t);
  case 1: return dt_hi(t);
  default: return (int)kt_irand(dt_lo(t), dt_hi(t));
  }
}

static void rand_quant(qcase *qc) {
  qc->xt = rand_q8();
  qc->wt = rand_q8();
  qc->yt = qc->qlinear ? rand_q8() : IR_I32;
  qc->za = rand_zp(qc->xt);
  qc->zy = qc->qlinear ? rand_zp(qc->yt) : 0;
  /* Mostly int8 weights with zero point 0 (the common, corr-free case). */
  qc->zwsel = qc->wt == IR_I8 && kt_irand(0, 1) ? 3 : (int)kt_irand(0, 3);
  qc->pc_zp = kt_irand(0, 2) == 0;
  qc->pc_scale = kt_irand(0, 1);
  qc->bias = qc->qlinear && kt_irand(0, 2) != 0;
}

static void conv_case(int i, bool dw, bool grouped) {
  qcase qc;
  memset(&qc, 0, sizeof qc);
  qc.conv = true;
  qc.qlinear = kt_irand(0, 3) != 0;
  rand_quant(&qc);
  qc.n = kt_irand(1, 2);
  if (dw) {
    qc.group = qc.c = qc.m = kt_irand(1, 70);
  } else {
    qc.group = grouped ? kt_irand(2, 4) : 1;
    qc.c = qc.group * kt_irand(1, grouped ? 20 : 70);
    qc.m = qc.group * kt_irand(1, grouped ? 20 : 70);
  }
  qc.dw = qc.c == qc.group && qc.m == qc.group;
  for (int j = 0; j < 2; j++) {
    qc.k[j] = kt_irand(0, 5) == 0 ? 5 : kt_irand(1, 3);
    qc.s[j] = kt_irand(0, 2) == 0 ? kt_irand(2, 3) : 1;
    qc.d[j] = kt_irand(0, 3) == 0 ? 2 : 1;
  }
  for (int j = 0; j < 4; j++) qc.pads[j] = kt_irand(0, 2);
  for (int j = 0; j < 2; j++) {
    int64_t ek = (qc.k[j] - 1) * qc.d[j] + 1;
    int64_t lo = ek - qc.pads[j] - qc.pads[j + 2];
    int64_t in = kt_irand(lo > 1 ? lo : 1, (lo > 1 ? lo : 1) + 8);
    if (j == 0) qc.h = in;
    else qc.w = in;
  }
  snprintf(qc.what, sizeof qc.what,
           "#%d %s%s %s x %s -> %s n%lld c%lld m%lld g%lld %lldx%lld k%lldx%lld "
           "s%lldx%lld d%lldx%lld p%lld,%lld,%lld,%lld za %d zw%s %d%s%s",
           i, qc.qlinear ? "QLinearConv" : "ConvInteger", qc.dw ? " dw" : "",
           ir_dtype_name(qc.xt), ir_dtype_name(qc.wt), ir_dtype_name(qc.yt),
           (long long)qc.n, (long long)qc.c, (long long)qc.m,
           (long long)qc.group, (long long)qc.h, (long long)qc.w,
           (long long)qc.k[0], (long long)qc.k[1], (long long)qc.s[0],
           (long long)qc.s[1], (long long)qc.d[0], (long long)qc.d[1],
           (long long)qc.pads[0], (long long)qc.pads[1],
           (long long)qc.pads[2], (long long)qc.pads[3], qc.za,
           qc.pc_zp ? " per-channel" : "", qc.zwsel,
           qc.pc_scale ? " per-channel scale" : "", qc.bias ? " bias" : "");
  run_case(&qc);
}

static void matmul_case(int i) {
  qcase qc;
  memset(&qc, 0, sizeof qc);
  qc.qlinear = kt_irand(0, 3) != 0;
  rand_quant(&qc);
  qc.bias = false;
  qc.batch = kt_irand(0, 2) == 0 ? kt_irand(1, 2) : 0;
  qc.rows = kt_irand(1, 40);
  qc.kk = kt_irand(1, 150);
  qc.nn = kt_irand(1, 90);
  snprintf(qc.what, sizeof qc.what,
           "#%d %s %s x %s -> %s batch %lld M%lld K%lld N%lld za %d zw%s %d%s",
           i, qc.qlinear ? "QLinearMatMul" : "MatMulInteger",
           ir_dtype_name(qc.xt), ir_dtype_name(qc.wt), ir_dtype_name(qc.yt),
           (long long)qc.batch, (long long)qc.rows, (long long)qc.kk,
           (long long)qc.nn, qc.za, qc.pc_zp ? " per-column" : "", qc.zwsel,
           qc.pc_scale ? " per-column scale" : "");
  run_case(&qc);
}

static void qgemm_case(int i) {
  qcase qc;
  memset(&qc, 0, sizeof qc);
  qc.qgemm = true;
  qc.float_out = kt_irand(0, 3) == 0;
  qc.qlinear = !qc.float_out;
  rand_quant(&qc);
  if (qc.float_out) {
    qc.yt = IR_F32;
    qc.zy = 0;
  }
  qc.cbias = (int)kt_irand(0, 2);
  qc.bias = qc.cbias != 0;
  qc.trans_b = kt_irand(0, 1);
  qc.alpha = kt_irand(0, 1) ? 1.0f : 0.37f;
  qc.rows = kt_irand(1, 40);
  qc.kk = kt_irand(1, 150);
  qc.nn = kt_irand(1, 90);
  snprintf(qc.what, sizeof qc.what,
           "#%d QGemm %s x %s -> %s M%lld K%lld N%lld transB %d alpha %g "
           "C %d za %d zw%s %d%s",
           i, ir_dtype_name(qc.xt), ir_dtype_name(qc.wt),
           ir_dtype_name(qc.yt), (long long)qc.rows, (long long)qc.kk,
           (long long)qc.nn, qc.trans_b, (double)qc.alpha, qc.cbias, qc.za,
           qc.pc_zp ? " per-column" : "", qc.zwsel,
           qc.pc_scale ? " per-column scale" : "");
  run_case(&qc);
}

/* |acc| near 2^24: 3x3 over 64 channels (K = 576) of extreme values. */
static void extreme_cases(void) {
  static const ir_dtype t[2] = {IR_U8, IR_I8};
  for (int xt = 0; xt < 2; xt++)
    for (int wt = 0; wt < 2; wt++) {
      qcase qc;
      memset(&qc, 0, sizeof qc);
      qc.conv = qc.qlinear = qc.extreme = true;
      qc.xt = t[xt];
      qc.wt = t[wt];
      qc.yt = IR_U8;
      qc.za = dt_lo(qc.xt);   /* a - za = 255 */
      qc.zwsel = 2;         /* w - zw = -255 */
      qc.zy = 128;
      qc.n = 1;
      qc.group = 1;
      qc.c = 64;
      qc.m = 19;
      qc.h = qc.w = 5;
      qc.k[0] = qc.k[1] = 3;
      qc.s[0] = qc.s[1] = qc.d[0] = qc.d[1] = 1;
      qc.pads[0] = qc.pads[1] = qc.pads[2] = qc.pads[3] = 1;
      snprintf(qc.what, sizeof qc.what,
               "|acc| near 2^24: QLinearConv %s x %s 3x3 64->19",
               ir_dtype_name(qc.xt), ir_dtype_name(qc.wt));
      run_case(&qc);
      qc.qlinear = false;
      qc.yt = IR_I32;
      snprintf(qc.what, sizeof qc.what,
               "|acc| near 2^24: ConvInteger %s x %s 3x3 64->19",
               ir_dtype_name(qc.xt), ir_dtype_name(qc.wt));
      run_case(&qc);
    }
}

/* Enough work for many tasks: channel blocks, rows and pixel chunks of a
 * row all split (the small random cases run as one task). */
static void split_cases(void) {
  qcase qc;
  memset(&qc, 0, sizeof qc);
  qc.qlinear = true;
  qc.xt = IR_U8;
  qc.wt = IR_I8;
  qc.yt = IR_U8;
  qc.za = 77;
  qc.zy = 128;
  qc.zwsel = 3;
  qc.pc_scale = true;
  qc.rows = 300;
  qc.kk = 200;
  qc.nn = 100;
  snprintf(qc.what, sizeof qc.what, "split: QLinearMatMul 300x200x100");
  run_case(&qc);
  qc.xt = IR_I8;
  qc.wt = IR_U8;
  qc.zwsel = 0;
  qc.pc_zp = true;
  qc.za = -3;
  snprintf(qc.what, sizeof qc.what,
           "split: QLinearMatMul 300x200x100 int8 x uint8 per-column zp");
  run_case(&qc);
  memset(&qc, 0, sizeof qc);
  qc.conv = qc.qlinear = qc.bias = qc.pc_scale = true;
  qc.xt = IR_U8;
  qc.wt = IR_I8;
  qc.yt = IR_I8;
  qc.za = 3;
  qc.zy = -5;
  qc.zwsel = 3;
  qc.n = 2;
  qc.group = 1;
  qc.c = 32;
  qc.m = 80;
  qc.h = qc.w = 20;
  qc.k[0] = qc.k[1] = 3;
  qc.s[0] = qc.s[1] = qc.d[0] = qc.d[1] = 1;
  qc.pads[0] = qc.pads[1] = qc.pads[2] = qc.pads[3] = 1;
  snprintf(qc.what, sizeof qc.what, "split: QLinearConv 3x3 32->80 20x20 n2");
  run_case(&qc);
  qc.group = qc.c = qc.m = 72;
  qc.dw = true;
  snprintf(qc.what, sizeof qc.what, "split: QLinearConv dw 3x3 72 20x20 n2");
  run_case(&qc);
}

/* Channel-strided outputs (fold-concat): a 3x3 conv, a pointwise one and
 * a depthwise one, each twice into a QLinearConcat; channel counts that
 * are not multiples of 16, so the slices start mid-vector. */
static void strided_cases(void) {
  static const int64_t shape[3][4] = {
      /* c, m, group, k */ {24, 40, 1, 3}, {19, 21, 1, 1}, {40, 40, 40, 3}};
  for (int i = 0; i < 3; i++) {
    qcase qc;
    memset(&qc, 0, sizeof qc);
    qc.conv = qc.qlinear = qc.bias = qc.pc_scale = qc.cat = true;
    qc.xt = IR_U8;
    qc.wt = IR_I8;
    qc.yt = i == 1 ? IR_I8 : IR_U8;
    qc.za = 131;
    qc.zy = i == 1 ? -7 : 120;
    qc.zwsel = 3;
    qc.n = 1;
    qc.c = shape[i][0];
    qc.m = shape[i][1];
    qc.group = shape[i][2];
    qc.dw = qc.group > 1;
    qc.h = 9;
    qc.w = 7;
    qc.k[0] = qc.k[1] = shape[i][3];
    qc.s[0] = qc.s[1] = qc.d[0] = qc.d[1] = 1;
    for (int j = 0; j < 4; j++) qc.pads[j] = shape[i][3] / 2;
    snprintf(qc.what, sizeof qc.what,
             "strided: QLinearConv%s %lldx%lld %lld->%lld twice into a "
             "QLinearConcat",
             qc.dw ? " dw" : "", (long long)qc.k[0], (long long)qc.k[1],
             (long long)qc.c, (long long)qc.m);
    run_case(&qc);
  }
}

/* QGemm forms the engine does not take fail the build naming the reason
 * (transA = 1; C per element). */
static void qgemm_refused(void) {
  for (int form = 0; form < 2; form++) {
    qcase qc;
    memset(&qc, 0, sizeof qc);
    qc.qgemm = qc.qlinear = true;
    qc.xt = IR_U8;
    qc.wt = IR_I8;
    qc.yt = IR_U8;
    qc.zwsel = 3;
    qc.rows = 5;
    qc.kk = 5; /* square A: transA = 1 keeps the shapes valid */
    qc.nn = 7;
    qc.alpha = 1.0f;
    qc.bias = form == 1;
    qc.cbias = form == 1 ? 3 : 0; /* C of shape [M, N] */
    qvals v;
    make_values(&qc, &v);
    build_ctx bc = {&qc, &v};
    ir_graph *g = build(&bc);
    if (!g) {
      free_values(&v);
      return;
    }
    if (form == 0) ((ir_p_gemm *)g->nodes[1].params)->trans_a = true;
    const char *want = form == 0 ? "transA = 0" : "per output column";
    ir_value got[1];
    char kernels[128];
    memset(got, 0, sizeof got);
    ingot_status s =
        native_run_traced(g, &fams[0].t, &v.x, got, kernels, sizeof kernels);
    const char *msg = ingot_status_message(s);
    if (!s || ingot_status_code_of(s) != INGOT_UNIMPLEMENTED ||
        !strstr(msg, want) || !strstr(msg, "QGemm")) {
      fprintf(stderr, "QGemm form %d: got '%s', want UNIMPLEMENTED naming "
                      "QGemm and '%s'\n",
              form, s ? msg : "OK", want);
      check_failures++;
    }
    ingot_status_free(s);
    ir_value_free(&got[0]);
    ir_graph_destroy(g);
    free_values(&v);
  }
}

int main(void) {
#ifdef QCONV_GPU
  gpu_exec_set_sm(QCONV_GPU_SM);
#endif
  fams_init();
  extreme_cases();
  split_cases();
  strided_cases();
  qgemm_refused();
  for (int i = 0; i < NCASES(70); i++) conv_case(i, false, false);
  for (int i = 0; i < NCASES(20); i++) conv_case(i, false, true);
  for (int i = 0; i < NCASES(25); i++) conv_case(i, true, false);
  for (int i = 0; i < NCASES(50); i++) matmul_case(i);
  for (int i = 0; i < NCASES(30); i++) qgemm_case(i);
  return check_report("test_qconv");
}

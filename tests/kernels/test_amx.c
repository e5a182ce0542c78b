/* test_amx.c — the AMX int8 family (codegen/lower_amx.c,
 * kernels/x86_amx/amx.c) against the int8 reference interpreter, bit for
 * bit.
 *
 * Randomised QLinearConv / ConvInteger and QLinearMatMul / MatMulInteger
 * cases: odd sizes, channels and K not multiples of 4/16/64 (and some that
 * are), padding (asymmetric), strides, dilations, batches, 1-D convs,
 * uint8 and int8 activations, uint8 weights (zero point 128) and int8
 * weights, per-channel scales,
 * activation and output zero points at their extremes, int8 and uint8
 * outputs, and cases whose accumulators reach past 2^24 (where float32
 * stops holding every integer, so the requantisation's rounding shows).
 * Every case runs natively through the planner (the step kernels must be
 * the AMX ones: a case that silently took another family fails), and every
 * eighth also as a real engine (LLVM specialisation, the runtime's loader
 * and its AMX permission request).
 *
 * One fixed case writes two convs into channel-strided slices of a
 * QLinearConcat's output (fold-concat, codegen/plan_fuse_concat.c).
 *
 * Skipped (77) when the CPU or the OS does not give this process AMX.
 * Budget: 104 cases of at most 4 M MACs: a few seconds plain, about 20 s
 * under ASan on the shared 2-core machine.
 */
#include "engine_format.h" /* INGOT_CPU_* */
#include "kt_graph.h"

#define N_CASES 100
#define MAX_MACS 4000000.0

typedef struct amx_case {
  bool conv, ql;
  ir_dtype xt, wt, yt;
  int64_t n, c, m, h, w, kh, kw, s, dh, dw, pads[4];
  bool conv1d;
  int64_t rows, k, cols, batch3; /* products: A [batch3?, rows, k] */
  ir_value x, wv, b, xs, xzp, ws, wzp, ys, yzp;
  bool bias;
  /* Two copies of the conv concatenated over channels by QLinearConcat
   * with the convs' own output parameters: fold-concat makes each write a
   * channel-strided slice (pixels 2m channels apart), no concat step. */
  bool cat;
} amx_case;

static ir_value scalar_of(ir_dtype dt, double v) {
  int64_t one = 1;
  ir_value x = kt_value(dt, 0, &one);
  if (x.data) ir_store_f64(dt, x.data, 0, v);
  return x;
}

static ir_graph *build(void *vctx) {
  amx_case *ac = vctx;
  ir_graph *g = kt_graph_new();
  if (!g) return NULL;
  ir_tensor_id in[9] = {0};
  int nin;
  in[0] = kt_input(g, "x", &ac->x);
  ir_tensor_id w = kt_const(g, "w", &ac->wv);
  if (ac->ql) {
    in[1] = kt_const(g, "x_scale", &ac->xs);
    in[2] = kt_const(g, "x_zp", &ac->xzp);
    in[3] = w;
    in[4] = kt_const(g, "w_scale", &ac->ws);
    in[5] = kt_const(g, "w_zp", &ac->wzp);
    in[6] = kt_const(g, "y_scale", &ac->ys);
    in[7] = kt_const(g, "y_zp", &ac->yzp);
    nin = 8;
    if (ac->bias) in[nin++] = kt_const(g, "b", &ac->b);
  } else {
    in[1] = w;
    in[2] = kt_const(g, "x_zp", &ac->xzp);
    in[3] = kt_const(g, "w_zp", &ac->wzp);
    nin = 4;
  }
  ir_op op = ac->conv ? (ac->ql ? IR_OP_QLINEAR_CONV : IR_OP_CONV_INTEGER)
                      : (ac->ql ? IR_OP_QLINEAR_MATMUL : IR_OP_MATMUL_INTEGER);
  ir_tensor_id out = kt_tensor(g, "y", true);
  ir_tensor_id half[2] = {kt_tensor(g, "y0", false), kt_tensor(g, "y1", false)};
  for (int c = 0; c < (ac->cat ? 2 : 1); c++) {
    ir_node_id nid = kt_node(g, op, in, nin, ac->cat ? &half[c] : &out, 1);
    if (ac->conv) {
      int nsp = ac->conv1d ? 1 : 2;
      int64_t k[3] = {1, ac->kh, ac->kw}, s[3] = {1, ac->s, ac->s},
              d[3] = {1, ac->dh, ac->dw};
      int64_t pads[6] = {0, ac->pads[0], ac->pads[1], 0, ac->pads[2],
                         ac->pads[3]};
      kt_attr_window(g, nid, nsp, k, s, d, NULL, pads);
      kt_attr_int(g, nid, "group", 1);
    }
  }
  if (ac->cat) {
    ir_tensor_id cin[8] = {in[6], in[7], half[0], in[6], in[7],
                           half[1], in[6], in[7]};
    ir_node_id cid = kt_node(g, IR_OP_QLINEAR_CONCAT, cin, 8, &out, 1);
    kt_attr_int(g, cid, "axis", 1);
  }
  CHECK_OK(kt_finish(g));
  return g;
}

/* Fills a random case |i|; false when it is too large (draw again). */
static bool draw(amx_case *ac, int i) {
  memset(ac, 0, sizeof *ac);
  ac->conv = i % 3 != 2;
  ac->ql = i % 4 != 3;
  ac->xt = kt_irand(0, 3) == 0 ? IR_I8 : IR_U8;
  ac->wt = kt_irand(0, 3) == 0 ? IR_U8 : IR_I8;
  ac->yt = !ac->ql ? IR_I32 : kt_irand(0, 1) ? IR_U8 : IR_I8;
  /* Channels: sometimes exact multiples of 64, mostly odd. */
  static const int64_t chans[] = {64, 128, 3, 17, 63, 65, 100, 130, 1, 200};
  if (ac->conv) {
    ac->conv1d = kt_irand(0, 7) == 0;
    ac->n = kt_irand(1, 2);
    ac->c = kt_irand(0, 1) ? chans[kt_irand(0, 9)] : kt_irand(1, 150);
    ac->m = kt_irand(0, 2) ? kt_irand(1, 80) : 64;
    ac->h = ac->conv1d ? 1 : kt_irand(1, 20);
    ac->w = kt_irand(1, 24);
    ac->kh = ac->conv1d ? 1 : kt_irand(1, 4);
    ac->kw = kt_irand(1, 4);
    ac->s = kt_irand(0, 3) ? 1 : kt_irand(2, 3);
    ac->dh = ac->conv1d ? 1 : kt_irand(0, 4) ? 1 : 2;
    ac->dw = kt_irand(0, 4) ? 1 : 2;
    for (int p = 0; p < 4; p++) ac->pads[p] = kt_irand(0, 2);
    if (ac->conv1d) ac->pads[0] = ac->pads[2] = 0;
    int64_t eh = (ac->kh - 1) * ac->dh + 1, ew = (ac->kw - 1) * ac->dw + 1;
    int64_t oh = (ac->h + ac->pads[0] + ac->pads[2] - eh) / ac->s + 1;
    int64_t ow = (ac->w + ac->pads[1] + ac->pads[3] - ew) / ac->s + 1;
    if (ac->h + ac->pads[0] + ac->pads[2] < eh ||
        ac->w + ac->pads[1] + ac->pads[3] < ew)
      return false;
    double macs = (double)(ac->n * oh * ow * ac->m) * (double)(ac->c * ac->kh * ac->kw);
    if (macs > MAX_MACS) return false;
    int64_t xd[4] = {ac->n, ac->c, ac->h, ac->w};
    int64_t wd[4] = {ac->m, ac->c, ac->kh, ac->kw};
    if (ac->conv1d) {
      xd[2] = ac->w;
      wd[2] = ac->kw;
    }
    ac->x = kt_value(ac->xt, ac->conv1d ? 3 : 4, xd);
    ac->wv = kt_value(ac->wt, ac->conv1d ? 3 : 4, wd);
  } else {
    ac->rows = kt_irand(0, 3) ? kt_irand(1, 200) : 32 * kt_irand(1, 4);
    ac->k = kt_irand(0, 1) ? chans[kt_irand(0, 9)] : kt_irand(1, 300);
    ac->m = kt_irand(1, 90);
    ac->batch3 = kt_irand(0, 3) == 0 ? kt_irand(2, 3) : 0;
    double macs = (double)(ac->rows * ac->m) * (double)ac->k *
                  (double)(ac->batch3 ? ac->batch3 : 1);
    if (macs > MAX_MACS) return false;
    int64_t ad[3] = {ac->batch3, ac->rows, ac->k}, bd[2] = {ac->k, ac->m};
    ac->x = ac->batch3 ? kt_value(ac->xt, 3, ad) : kt_value(ac->xt, 2, ad + 1);
    ac->wv = kt_value(ac->wt, 2, bd);
  }
  return true;
}

/* Values: random, or (|big|) the largest products, so |acc| passes 2^24
 * when K is large enough. */
static void fill(amx_case *ac, bool big) {
  size_t nx = ir_shape_numel(&ac->x.shape), nw = ir_shape_numel(&ac->wv.shape);
  uint8_t *x = ac->x.data;
  /* int8 activations as bytes: 127 is the largest, 0x7f. */
  uint8_t top = ac->xt == IR_I8 ? 127 : 255;
  for (size_t i = 0; i < nx; i++) x[i] = big ? top : (uint8_t)kt_irand(0, 255);
  for (size_t i = 0; i < nw; i++) {
    int64_t v = big ? (kt_irand(0, 7) ? 127 : 100) : kt_irand(-128, 127);
    ir_store_i64(ac->wt, ac->wv.data, i, ac->wt == IR_U8 ? v + 128 : v);
  }
  int64_t m = ac->m;
  bool per_ch = kt_irand(0, 1);
  int64_t nz = per_ch ? m : 1;
  static const int64_t xzps[] = {0, 255, 128, 1, 254},
                       xzps8[] = {-128, 127, 0, 1, -1};
  int64_t xz = ac->xt == IR_I8 ? xzps8[kt_irand(0, 4)] : xzps[kt_irand(0, 4)];
  ac->xzp = scalar_of(ac->xt, big ? (ac->xt == IR_I8 ? -128 : 0) : (double)xz);
  ac->wzp = kt_value(ac->wt, per_ch ? 1 : 0, &nz);
  for (int64_t i = 0; i < nz; i++)
    ir_store_i64(ac->wt, ac->wzp.data, (size_t)i, ac->wt == IR_U8 ? 128 : 0);
  ac->xs = scalar_of(IR_F32, 0.0213);
  ac->ws = kt_value(IR_F32, per_ch ? 1 : 0, &nz);
  for (int64_t i = 0; i < nz; i++)
    ((float *)ac->ws.data)[i] = 0.0005f + 0.003f * (float)kt_irand(1, 9);
  /* Output scale: outputs spread over the range (or, for big cases, the
   * accumulators near 2^24 map inside it). */
  double kk = (double)(ac->conv ? ac->c * ac->kh * ac->kw : ac->k);
  double sy = big ? 0.0213 * 0.03 * kk * 255 * 127 / 200
                  : 0.0213 * 0.015 * sqrt(kk) * 128 * 74 / 100;
  ac->ys = scalar_of(IR_F32, sy);
  bool u8 = ac->yt == IR_U8;
  static const int64_t yzu[] = {0, 255, 128, 3}, yzs[] = {-128, 127, 0, -3};
  int64_t yz = u8 ? yzu[kt_irand(0, 3)] : yzs[kt_irand(0, 3)];
  ac->yzp = scalar_of(ac->ql ? ac->yt : IR_U8, (double)yz);
  ac->bias = ac->conv && ac->ql && kt_irand(0, 2) != 0;
  ac->b = kt_value(IR_I32, 1, &m);
  for (int64_t i = 0; i < m; i++)
    ((int32_t *)ac->b.data)[i] = (int32_t)kt_irand(-20000, 20000);
}

static void free_case(amx_case *ac) {
  ir_value *v[] = {&ac->x, &ac->wv, &ac->b, &ac->xs, &ac->xzp,
                   &ac->ws, &ac->wzp, &ac->ys, &ac->yzp};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) ir_value_free(v[i]);
}

static void describe(const amx_case *ac, char *buf, size_t n) {
  if (ac->conv)
    snprintf(buf, n,
             "%s%s n%lld c%lld->%lld %lldx%lld k%lldx%lld s%lld d%lldx%lld "
             "pads %lld,%lld,%lld,%lld x %s w %s y %s",
             ac->ql ? "QLinearConv" : "ConvInteger", ac->conv1d ? " 1d" : "",
             (long long)ac->n, (long long)ac->c, (long long)ac->m,
             (long long)ac->h, (long long)ac->w, (long long)ac->kh,
             (long long)ac->kw, (long long)ac->s, (long long)ac->dh,
             (long long)ac->dw, (long long)ac->pads[0], (long long)ac->pads[1],
             (long long)ac->pads[2], (long long)ac->pads[3],
             ir_dtype_name(ac->xt), ir_dtype_name(ac->wt),
             ir_dtype_name(ac->yt));
  else
    snprintf(buf, n, "%s %s%lldx%lldx%lld x %s w %s y %s",
             ac->ql ? "QLinearMatMul" : "MatMulInteger",
             ac->batch3 ? "batched " : "", (long long)ac->rows,
             (long long)ac->k, (long long)ac->m, ir_dtype_name(ac->xt),
             ir_dtype_name(ac->wt), ir_dtype_name(ac->yt));
}

/* One case: the reference, then the native plan (must use AMX), and
 * |engine|: also a built engine. */
static void run_case(amx_case *ac, bool engine, const char *tag) {
  char what[320], label[400], kernels[256];
  describe(ac, what, sizeof what);
  snprintf(label, sizeof label, "%s %s", tag, what);
  ir_value want[1], got[1];
  memset(want, 0, sizeof want);
  for (int pass = 0; pass < (engine ? 2 : 1); pass++) {
    memset(got, 0, sizeof got);
    kernels[0] = '\0';
    ir_graph *g = build(ac);
    if (!g) return;
    ingot_status s = kt_run_host(g, &ac->x, want, got, pass == 1, kernels,
                                 sizeof kernels);
    ir_graph_destroy(g);
    if (getenv("KT_VERBOSE"))
      printf("%s [%s]\n", label, pass ? "engine" : kernels);
    if (!kt_ok(s, label)) {
      check_failures++;
    } else {
      if (pass == 0 && !strstr(kernels, "amx")) {
        fprintf(stderr, "%s: ran %s, not the AMX kernels\n", label, kernels);
        check_failures++;
      }
      if (pass == 0 && ac->cat && strstr(kernels, "ql_concat")) {
        fprintf(stderr, "%s: ran %s: the concat was not folded\n", label,
                kernels);
        check_failures++;
      }
      if (!kt_same(&got[0], &want[0], 0, label)) check_failures++;
    }
    ir_value_free(&got[0]);
    ir_value_free(&want[0]);
  }
}

int main(void) {
  kt_amx_policy = CG_AMX_ALWAYS; /* every shape, not only those AMX wins */
  cg_target host;
  ingot_status s = cg_target_host(&host);
  uint64_t need = INGOT_CPU_AMX_TILE | INGOT_CPU_AMX_INT8;
  if (s || (host.cpu_features & need) != need) {
    ingot_status_free(s);
    printf("skipped: this CPU (or the OS, for this process) has no AMX-INT8\n");
    return 77;
  }
  /* The benchmark shapes, scaled down: the 3x3 64->64 conv and a square
   * product, plus accumulators past 2^24 (K = 64*9 = 576, 127*255*576 ≈
   * 1.87e7; K = 1024 for the product). */
  amx_case fixed[5];
  memset(fixed, 0, sizeof fixed);
  fixed[0] = (amx_case){.conv = true, .ql = true, .xt = IR_U8, .wt = IR_I8,
                        .yt = IR_U8, .n = 1, .c = 64, .m = 64, .h = 14,
                        .w = 14, .kh = 3, .kw = 3, .s = 1, .dh = 1, .dw = 1,
                        .pads = {1, 1, 1, 1}};
  fixed[1] = (amx_case){.conv = false, .ql = true, .xt = IR_I8, .wt = IR_I8,
                        .yt = IR_U8, .rows = 64, .k = 256, .m = 96};
  fixed[2] = fixed[0];
  fixed[3] = (amx_case){.conv = false, .ql = true, .xt = IR_U8, .wt = IR_I8,
                        .yt = IR_I8, .rows = 40, .k = 1024, .m = 40};
  /* A channel-strided output: 3x3 stride 2, 40 channels per half (not a
   * multiple of 16), written 80 channels apart. */
  fixed[4] = (amx_case){.conv = true, .ql = true, .xt = IR_U8, .wt = IR_I8,
                        .yt = IR_U8, .n = 1, .c = 24, .m = 40, .h = 13,
                        .w = 11, .kh = 3, .kw = 3, .s = 2, .dh = 1, .dw = 1,
                        .pads = {1, 0, 1, 1}, .cat = true};
  for (int f = 0; f < 5; f++) {
    amx_case *ac = &fixed[f];
    if (ac->conv) {
      int64_t xd[4] = {ac->n, ac->c, ac->h, ac->w},
              wd[4] = {ac->m, ac->c, ac->kh, ac->kw};
      ac->x = kt_value(ac->xt, 4, xd);
      ac->wv = kt_value(ac->wt, 4, wd);
    } else {
      int64_t ad[2] = {ac->rows, ac->k}, bd[2] = {ac->k, ac->m};
      ac->x = kt_value(ac->xt, 2, ad);
      ac->wv = kt_value(ac->wt, 2, bd);
    }
    fill(ac, f == 2 || f == 3);
    run_case(ac, true,
             f == 4     ? "fixed channel-strided (QLinearConcat):"
             : f >= 2 ? "fixed |acc| > 2^24:"
                      : "fixed:");
    free_case(ac);
  }
  int done = 0;
  for (int i = 0; done < N_CASES; i++) {
    amx_case ac;
    if (!draw(&ac, i)) {
      free_case(&ac);
      continue;
    }
    fill(&ac, i % 10 == 9);
    char tag[32];
    snprintf(tag, sizeof tag, "case %d:", done);
    run_case(&ac, done % 8 == 0, tag);
    free_case(&ac);
    done++;
  }
  return check_report("test_amx");
}

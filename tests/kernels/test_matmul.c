/* test_matmul.c — MatMul, Gemm, MatMulInteger and QLinearMatMul through the
 * planner, lower_matmul.c and the natively compiled templates (generic,
 * AVX2 and AVX-512 targets, as the CPU allows), against the reference
 * interpreter.
 *
 * Tolerance: float32 max|got - ref| <= 1e-5 * max(1, max|ref|) over the
 * output (the reference accumulates in double); integer outputs exactly.
 * Cases: the conformance tests' shapes and Gemm attributes, 1-D operands,
 * broadcast batch dims, constant (packed) and graph-input B, C of every
 * broadcastable shape, sizes around the register tiles, per-tensor /
 * per-row-column / N-D zero points and scales, and randomised shapes;
 * quantised products with run-time operands (k_mm_q8_f above the generic
 * target) over random shapes and at their operands' extremes with K up to
 * 550, where a float sum over all of K would no longer be exact.
 */
#include "kt_graph.h"

#define TOL 1e-5

typedef struct mm_case {
  ir_op op;
  ir_value a, b, c;
  bool b_input, c_input, has_c;
  float alpha, beta;
  int trans_a, trans_b;
  bool attrs;
  /* quantised */
  ir_value azp, bzp, as, bs, ys, yzp;
  bool has_azp, has_bzp;
} mm_case;

static ir_graph *build_mm(void *vctx) {
  mm_case *mc = vctx;
  ir_graph *g = kt_graph_new();
  if (!g) return NULL;
  ir_tensor_id in[8] = {0};
  int nin = 2;
  in[0] = kt_input(g, "a", &mc->a);
  ir_tensor_id b =
      mc->b_input ? kt_input(g, "b", &mc->b) : kt_const(g, "b", &mc->b);
  switch (mc->op) {
  case IR_OP_QLINEAR_MATMUL:
    in[1] = kt_const(g, "a_scale", &mc->as);
    in[2] = kt_const(g, "a_zp", &mc->azp);
    in[3] = b;
    in[4] = kt_const(g, "b_scale", &mc->bs);
    in[5] = kt_const(g, "b_zp", &mc->bzp);
    in[6] = kt_const(g, "y_scale", &mc->ys);
    in[7] = kt_const(g, "y_zp", &mc->yzp);
    nin = 8;
    break;
  case IR_OP_MATMUL_INTEGER:
    in[1] = b;
    if (mc->has_azp) in[2] = kt_const(g, "a_zp", &mc->azp);
    if (mc->has_bzp) in[3] = kt_const(g, "b_zp", &mc->bzp);
    nin = mc->has_bzp ? 4 : mc->has_azp ? 3 : 2;
    break;
  default:
    in[1] = b;
    if (mc->has_c) {
      in[2] = mc->c_input ? kt_input(g, "c", &mc->c) : kt_const(g, "c", &mc->c);
      nin = 3;
    }
    break;
  }
  ir_tensor_id out = kt_tensor(g, "y", true);
  ir_node_id nid = kt_node(g, mc->op, in, nin, &out, 1);
  if (mc->op == IR_OP_GEMM && mc->attrs) {
    kt_attr_float(g, nid, "alpha", mc->alpha);
    kt_attr_float(g, nid, "beta", mc->beta);
    kt_attr_int(g, nid, "transA", mc->trans_a);
    kt_attr_int(g, nid, "transB", mc->trans_b);
  }
  CHECK_OK(kt_finish(g));
  return g;
}

static void free_case(mm_case *mc) {
  ir_value *v[] = {&mc->a,  &mc->b,  &mc->c,  &mc->azp, &mc->bzp,
                   &mc->as, &mc->bs, &mc->ys, &mc->yzp};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    if (v[i]->data) ir_value_free(v[i]);
}

static void run_mm(mm_case *mc, const char *what) {
  ir_value in[3];
  int nin = 0;
  in[nin++] = mc->a;
  if (mc->b_input) in[nin++] = mc->b;
  if (mc->has_c && mc->c_input) in[nin++] = mc->c;
  kt_check_case(build_mm, mc, in, TOL, what);
  free_case(mc);
}

static ir_value val(ir_dtype dt, int rank, int64_t d0, int64_t d1, int64_t d2,
                    int64_t d3) {
  int64_t dims[4] = {d0, d1, d2, d3};
  return kt_value(dt, rank, dims);
}

static void matmul(int ra, const int64_t *da, int rb, const int64_t *db,
                   bool b_input, const char *what) {
  mm_case mc = {.op = IR_OP_MATMUL, .b_input = b_input};
  mc.a = kt_value(IR_F32, ra, da);
  mc.b = kt_value(IR_F32, rb, db);
  run_mm(&mc, what);
}

static void matmul_cases(void) {
  for (int bi = 0; bi < 2; bi++) {
    char what[96];
#define MM(ra, rb, name, ...)                                                  \
  do {                                                                         \
    const int64_t dd[2][4] = __VA_ARGS__;                                      \
    snprintf(what, sizeof what, "MatMul %s%s", name, bi ? " B input" : "");    \
    matmul(ra, dd[0], rb, dd[1], bi, what);                                    \
  } while (0)
    MM(2, 2, "2d 3x4x3", {{3, 4}, {4, 3}});
    MM(3, 3, "3d", {{2, 3, 4}, {2, 4, 3}});
    MM(4, 4, "4d", {{1, 2, 3, 4}, {1, 2, 4, 5}});
    MM(3, 2, "transformer 16x32x32", {{1, 16, 32}, {32, 32}});
    MM(3, 2, "transformer 16x32x64", {{1, 16, 32}, {32, 64}});
    MM(4, 4, "attention QK", {{1, 4, 16, 8}, {1, 4, 8, 16}});
    MM(1, 2, "1-d A", {{7}, {7, 5}});
    MM(2, 1, "1-d B", {{5, 7}, {7}});
    MM(1, 1, "1-d both", {{9}, {9}});
    MM(3, 1, "3-d A 1-d B", {{2, 5, 7}, {7}});
    MM(1, 3, "1-d A 3-d B", {{7}, {2, 7, 5}});
    MM(4, 3, "broadcast batch", {{2, 1, 3, 4}, {5, 4, 6}});
    MM(2, 4, "2-d A batched B", {{3, 4}, {2, 3, 4, 6}});
    MM(2, 2, "odd 37x29x71", {{37, 29}, {29, 71}});
    MM(2, 2, "wide 5x17x200", {{5, 17}, {17, 200}});
    MM(2, 2, "fc 1x300x1000", {{1, 300}, {300, 1000}});
    MM(2, 2, "tall 300x20x10", {{300, 20}, {20, 10}});
    MM(2, 2, "k=1", {{13, 1}, {1, 19}});
    MM(2, 2, "deep k (several K passes)", {{9, 1000}, {1000, 20}});
    MM(3, 2, "deep k batch folded", {{2, 7, 900}, {900, 70}});
#undef MM
  }
}

static void gemm_case(int64_t m, int64_t k, int64_t n, int ta, int tb,
                      float alpha, float beta, int crank, int64_t c0,
                      int64_t c1, bool b_input, bool c_input,
                      const char *what) {
  mm_case mc = {.op = IR_OP_GEMM,
                .attrs = true,
                .alpha = alpha,
                .beta = beta,
                .trans_a = ta,
                .trans_b = tb,
                .b_input = b_input,
                .c_input = c_input};
  mc.a = ta ? val(IR_F32, 2, k, m, 0, 0) : val(IR_F32, 2, m, k, 0, 0);
  mc.b = tb ? val(IR_F32, 2, n, k, 0, 0) : val(IR_F32, 2, k, n, 0, 0);
  if (crank >= 0) {
    mc.has_c = true;
    mc.c = val(IR_F32, crank, c0, c1, 0, 0);
  }
  run_mm(&mc, what);
}

static void gemm_cases(void) {
  gemm_case(3, 5, 4, 1, 1, 0.25f, 0.35f, 2, 3, 4, false, false,
            "Gemm all attributes");
  gemm_case(3, 5, 4, 0, 0, 0.5f, 1, 2, 3, 4, true, true, "Gemm alpha");
  gemm_case(2, 7, 4, 0, 0, 1, 0.5f, 2, 2, 4, true, true, "Gemm beta");
  gemm_case(3, 6, 4, 0, 0, 1, 1, 2, 3, 4, false, false, "Gemm matrix bias");
  gemm_case(2, 10, 3, 0, 0, 1, 1, -1, 0, 0, false, false, "Gemm no bias");
  gemm_case(2, 3, 4, 0, 0, 1, 1, 0, 0, 0, false, false, "Gemm scalar bias");
  gemm_case(3, 7, 3, 0, 0, 1, 1, 1, 1, 0, false, false,
            "Gemm 1-elem vector bias");
  gemm_case(2, 7, 4, 0, 0, 1, 1, 2, 1, 4, false, false, "Gemm [1,N] bias");
  gemm_case(2, 7, 4, 0, 0, 1, 1, 2, 2, 1, false, false, "Gemm [M,1] bias");
  gemm_case(3, 6, 4, 0, 0, 1, 1, 1, 4, 0, false, false, "Gemm vector bias");
  gemm_case(3, 6, 4, 1, 0, 1, 1, 2, 3, 4, true, false, "Gemm transA");
  gemm_case(3, 6, 4, 0, 1, 1, 1, 2, 3, 4, true, false, "Gemm transB");
  gemm_case(1, 32, 10, 0, 1, 1, 1, 1, 10, 0, false, false, "Gemm cnn fc");
  gemm_case(1, 64, 10, 0, 1, 1, 1, 1, 10, 0, false, false, "Gemm mobilenet fc");
  gemm_case(3, 3, 4, 0, 0, 1, 0, 2, 3, 4, true, true, "Gemm beta 0 (mm)");
  gemm_case(67, 45, 131, 1, 1, 0.7f, -1.5f, 1, 131, 0, false, false,
            "Gemm odd transposed");
  gemm_case(17, 300, 70, 0, 1, 1, 1, 1, 70, 0, true, false,
            "Gemm B input transB");
  gemm_case(5, 1100, 40, 1, 0, 0.5f, 2, 2, 5, 40, false, false,
            "Gemm deep k, epilogue on the last pass");
  gemm_case(5, 1100, 40, 0, 0, 1, 1, 2, 5, 40, true, false,
            "Gemm deep k, B input");
}

static ir_value qparam(ir_dtype dt, int rank, int64_t d0, int64_t d1,
                       int64_t d2) {
  int64_t dims[3] = {d0, d1, d2};
  ir_value v = kt_value(dt, rank, dims);
  if (dt == IR_F32) {
    size_t n = ir_shape_numel(&v.shape);
    for (size_t i = 0; i < n; i++)
      ((float *)v.data)[i] = 0.002f + 0.003f * (float)kt_irand(0, 9);
  }
  return v;
}

static void quant_cases(void) {
  static const ir_dtype types[2] = {IR_U8, IR_I8};
  for (int at = 0; at < 2; at++)
    for (int bt = 0; bt < 2; bt++)
      for (int zpm = 0; zpm < 4; zpm++) {
        /* zpm: 0 none, 1 per tensor, 2 per row/column, 3 N-D */
        char what[128];
        mm_case mc = {
            .op = IR_OP_MATMUL_INTEGER, .has_azp = zpm > 0, .has_bzp = zpm > 0};
        int64_t B = 2, M = 5, K = 7, N = 6;
        mc.a = val(types[at], 3, B, M, K, 0);
        mc.b = val(types[bt], 3, B, K, N, 0);
        if (zpm == 1) {
          mc.azp = qparam(types[at], 0, 1, 0, 0);
          mc.bzp = qparam(types[bt], 0, 1, 0, 0);
        } else if (zpm == 2) {
          mc.azp = qparam(types[at], 1, M, 0, 0);
          mc.bzp = qparam(types[bt], 1, N, 0, 0);
        } else if (zpm == 3) {
          mc.azp = qparam(types[at], 3, B, M, 1);
          mc.bzp = qparam(types[bt], 3, B, 1, N);
        }
        snprintf(what, sizeof what, "MatMulInteger %s x %s zp mode %d",
                 ir_dtype_name(types[at]), ir_dtype_name(types[bt]), zpm);
        run_mm(&mc, what);
        for (int yt = 0; yt < 2; yt++) {
          mm_case q = {.op = IR_OP_QLINEAR_MATMUL};
          q.a = val(types[at], 3, B, M, K, 0);
          q.b = val(types[bt], 3, B, K, N, 0);
          bool per = zpm >= 2;
          q.as = per ? qparam(IR_F32, 1, M, 0, 0) : qparam(IR_F32, 0, 1, 0, 0);
          q.azp = per ? qparam(types[at], 1, M, 0, 0)
                      : qparam(types[at], 0, 1, 0, 0);
          q.bs = per ? qparam(IR_F32, 1, N, 0, 0) : qparam(IR_F32, 0, 1, 0, 0);
          q.bzp = per ? qparam(types[bt], 1, N, 0, 0)
                      : qparam(types[bt], 0, 1, 0, 0);
          q.ys = qparam(IR_F32, 0, 1, 0, 0);
          ((float *)q.ys.data)[0] = 0.05f;
          q.yzp = qparam(types[yt], 0, 1, 0, 0);
          snprintf(what, sizeof what, "QLinearMatMul %s x %s -> %s%s",
                   ir_dtype_name(types[at]), ir_dtype_name(types[bt]),
                   ir_dtype_name(types[yt]), per ? " per row/column" : "");
          run_mm(&q, what);
        }
      }
  mm_case q2 = {.op = IR_OP_QLINEAR_MATMUL};
  q2.a = val(IR_U8, 2, 2, 4, 0, 0);
  q2.b = val(IR_U8, 2, 4, 3, 0, 0);
  q2.as = qparam(IR_F32, 1, 1, 0, 0);
  q2.azp = qparam(IR_U8, 1, 1, 0, 0);
  q2.bs = qparam(IR_F32, 1, 1, 0, 0);
  q2.bzp = qparam(IR_U8, 1, 1, 0, 0);
  q2.ys = qparam(IR_F32, 1, 1, 0, 0);
  q2.yzp = qparam(IR_U8, 1, 1, 0, 0);
  q2.b_input = true;
  run_mm(&q2, "QLinearMatMul 2D B input");
}

static void random_cases(int count) {
  for (int i = 0; i < count; i++) {
    char what[128];
    int64_t m = kt_irand(1, 70), k = kt_irand(1, 90), n = kt_irand(1, 150);
    if (kt_irand(0, 1)) {
      int ta = (int)kt_irand(0, 1), tb = (int)kt_irand(0, 1);
      int crank = (int)kt_irand(-1, 2);
      int64_t c0 =
          crank == 2 ? (kt_irand(0, 1) ? m : 1) : (kt_irand(0, 1) ? n : 1);
      int64_t c1 = kt_irand(0, 1) ? n : 1;
      snprintf(what, sizeof what,
               "random #%d Gemm %lldx%lldx%lld tA%d tB%d C%d", i, (long long)m,
               (long long)k, (long long)n, ta, tb, crank);
      gemm_case(m, k, n, ta, tb, kt_irand(0, 1) ? 1.0f : 0.5f,
                kt_irand(0, 1) ? 1.0f : -2.0f, crank, c0, c1, kt_irand(0, 1),
                kt_irand(0, 1), what);
    } else {
      int64_t batch = kt_irand(1, 3);
      int ra = (int)kt_irand(1, 3), rb = (int)kt_irand(1, 3);
      int64_t da[3], db[3];
      int p = 0;
      if (ra == 3) da[p++] = batch;
      if (ra >= 2) da[p++] = m;
      da[p++] = k;
      p = 0;
      if (rb == 3) db[p++] = kt_irand(0, 1) ? batch : 1;
      db[p++] = k;
      if (rb >= 2) db[p++] = n;
      snprintf(what, sizeof what,
               "random #%d MatMul rank %d x %d, %lldx%lldx%lld", i, ra, rb,
               (long long)m, (long long)k, (long long)n);
      matmul(ra, da, rb, db, kt_irand(0, 1), what);
    }
  }
}

/* Fills an int8/uint8 value with the extremes of its type: the
 * largest |x - zp| the float-accumulating k_mm_q8_f must keep exact. */
static void extremes(ir_value *v, bool high) {
  size_t n = ir_shape_numel(&v->shape);
  for (size_t i = 0; i < n; i++) {
    if (v->dtype == IR_U8)
      ((uint8_t *)v->data)[i] = high ? 255 : 0;
    else
      ((int8_t *)v->data)[i] = high ? 127 : -128;
  }
}

/* Run-time (graph-input) quantised products of random shapes: the
 * attention-like products k_mm_q8_f computes (tiles, column and row
 * tails, several passes over K, batch dims), and deep products whose
 * operands sit at opposite extremes of their zero points. */
static void quant_random_cases(int count) {
  static const ir_dtype types[2] = {IR_U8, IR_I8};
  for (int i = 0; i < count + 4; i++) {
    bool ext = i >= count;
    ir_dtype at = types[kt_irand(0, 1)], bt = types[kt_irand(0, 1)];
    ir_dtype yt = types[kt_irand(0, 1)];
    int64_t B = kt_irand(1, 3), M = kt_irand(1, 90), K = kt_irand(1, 300),
            N = kt_irand(1, 150);
    if (ext) K = 250 + 100 * (i - count);
    bool ql = ext ? (i - count) % 2 == 0 : kt_irand(0, 1);
    mm_case q = {.op = ql ? IR_OP_QLINEAR_MATMUL : IR_OP_MATMUL_INTEGER,
                 .b_input = true, .has_azp = true, .has_bzp = true};
    q.a = val(at, 3, B, M, K, 0);
    q.b = val(bt, 3, B, K, N, 0);
    bool per = !ext && kt_irand(0, 1);
    q.azp = per ? qparam(at, 1, M, 0, 0) : qparam(at, 0, 1, 0, 0);
    q.bzp = per ? qparam(bt, 1, N, 0, 0) : qparam(bt, 0, 1, 0, 0);
    if (ext) {
      /* a at its top, b at its bottom, zero points at the other ends:
       * every product is +-255*255 and the sum is -K*65025 */
      extremes(&q.a, true);
      extremes(&q.b, false);
      extremes(&q.azp, false);
      extremes(&q.bzp, true);
    }
    if (ql) {
      q.as = per ? qparam(IR_F32, 1, M, 0, 0) : qparam(IR_F32, 0, 1, 0, 0);
      q.bs = per ? qparam(IR_F32, 1, N, 0, 0) : qparam(IR_F32, 0, 1, 0, 0);
      q.ys = qparam(IR_F32, 0, 1, 0, 0);
      ((float *)q.ys.data)[0] = ext ? 4000.0f : 0.05f * (float)K / 8;
      q.yzp = qparam(yt, 0, 1, 0, 0);
    }
    char what[160];
    snprintf(what, sizeof what,
             "random quantised #%d %s %s x %s%s, %lld x %lldx%lldx%lld%s", i,
             ql ? "QLinearMatMul" : "MatMulInteger", ir_dtype_name(at),
             ir_dtype_name(bt), per ? " per row/column" : "", (long long)B,
             (long long)M, (long long)K, (long long)N,
             ext ? " (extremes)" : "");
    run_mm(&q, what);
  }
}

int main(void) {
  matmul_cases();
  quant_random_cases(24);
  gemm_cases();
  quant_cases();
  random_cases(150);
  return check_report("test_matmul");
}

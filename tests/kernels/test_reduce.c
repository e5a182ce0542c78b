/* test_reduce.c — the reduction lowering (codegen/lower_reduce.c) and
 * templates (kernels/generic/reduce.c) against the reference interpreter,
 * through the real planner (native_exec.h).
 *
 * Every Reduce* op and ArgMax/ArgMin on randomised shapes (ranks 0..5,
 * odd sizes) with random axis sets (negative, empty = all, and
 * noop_with_empty_axes), keepdims on and off, axes as attribute (opset 13)
 * and as input (opset 18), empty reductions, NaN, ties with
 * select_last_index, and the dtypes float32, float64, float16, int8,
 * uint8, int16, int32, int64, uint32 and uint64.
 * Tolerances: integers exact; float32/float64 relative 1e-5 (the
 * templates accumulate in double like the reference, only in another
 * order, and LogSumExp uses kmath's exp/log); float16 relative 2e-3 (one
 * half ulp, for a LogSumExp result rounding the other way).
 */
#include "kt_graph.h"
#include "params.h"

/*===------------------------------------------------------------------===*/
/* Tests                                                                   */
/*===------------------------------------------------------------------===*/

static const ir_op kOps[] = {
    IR_OP_REDUCE_SUM,  IR_OP_REDUCE_MEAN, IR_OP_REDUCE_MAX,
    IR_OP_REDUCE_MIN,  IR_OP_REDUCE_PROD, IR_OP_REDUCE_L1,
    IR_OP_REDUCE_L2,   IR_OP_REDUCE_SUM_SQUARE, IR_OP_REDUCE_LOG_SUM_EXP};
static const ir_dtype kTypes[] = {IR_F32, IR_F64, IR_I32, IR_I64, IR_U8,
                                  IR_I8,  IR_F16, IR_U64, IR_I16, IR_U32};
#define NOPS (int)(sizeof kOps / sizeof kOps[0])
#define NTYPES (int)(sizeof kTypes / sizeof kTypes[0])

static double tol_of(ir_dtype dt) {
  return dt == IR_F16 ? 2e-3 : ir_dtype_traits[dt].is_float ? 1e-5 : 0;
}

/* One Reduce node; |mode| picks the axes form. */
static void run_reduce(uint32_t seed, ir_op op, ir_dtype dt, int rank,
                       const int64_t *dims, const int64_t *axes, int k,
                       int keepdims, int mode, bool with_nan) {
  tg t;
  tg_init(&t, seed);
  ir_tensor_id in[2], y;
  in[0] = tg_input(&t, dt, rank, dims);
  if (with_nan && ir_shape_numel(&t.vals[0].shape) > 2)
    ir_store_f64(dt, t.vals[0].data, 1, NAN);
  /* Prod: keep the magnitudes near 1 so float results stay finite. */
  if (op == IR_OP_REDUCE_PROD && ir_dtype_traits[dt].is_float) {
    size_t n = ir_shape_numel(&t.vals[0].shape);
    for (size_t i = 0; i < n; i++)
      ir_store_f64(dt, t.vals[0].data, i,
                   0.75 + (double)(tg_rnd(&t) % 5) / 8.0);
  }
  /* mode 0: opset 18 axes input; 1: opset 13 attribute (ReduceSum: input);
   * 2: opset 18 empty axes input with noop_with_empty_axes. */
  int opset = mode == 1 && op != IR_OP_REDUCE_SUM ? 13 : 18;
  bool as_input = opset == 18 || op == IR_OP_REDUCE_SUM;
  int nin = 1;
  if (as_input && (k > 0 || mode == 2)) {
    ir_value c = {.dtype = IR_I64, .shape = {1, {k}}, .data = (void *)axes};
    in[nin++] = tg_const(&t, &c);
  }
  ir_node_id n = tg_node(&t, op, opset, in, nin, 1, &y);
  kt_attr_int(t.g, n, "keepdims", keepdims);
  if (!as_input && k > 0) kt_attr_ints(t.g, n, "axes", axes, k);
  if (mode == 2) kt_attr_int(t.g, n, "noop_with_empty_axes", 1);
  char what[96];
  snprintf(what, sizeof what, "%s %s rank %d k %d keep %d mode %d",
           ir_op_get(op)->name, ir_dtype_name(dt), rank, k, keepdims, mode);
  tg_run(&t, tol_of(dt), what);
}

static void test_reduce_random(void) {
  for (int it = 0; it < 400; it++) {
    tg r;
    r.seed = 1234u + (uint32_t)it * 7u;
    int rank = (int)tg_rnd_in(&r, 0, 5);
    int64_t dims[8], axes[8];
    int k = 0;
    for (int d = 0; d < rank; d++) {
      dims[d] = tg_rnd_in(&r, 1, it % 10 == 0 ? 70 : 6);
      if (tg_rnd(&r) % 2) axes[k++] = tg_rnd(&r) % 2 ? d : d - rank;
    }
    ir_op op = kOps[it % NOPS];
    ir_dtype dt = kTypes[(it / NOPS) % NTYPES];
    int mode = (int)(tg_rnd(&r) % 3);
    if (mode == 2) k = 0;
    run_reduce(r.seed, op, dt, rank, dims, axes, k, (int)(tg_rnd(&r) % 2),
               mode, false);
  }
}

/* Column mode (innermost dim kept) and row mode (innermost reduced) with
 * long runs, so the lane and block tails are exercised. */
static void test_reduce_long(void) {
  int64_t d1[3] = {3, 150, 67}, a_last[1] = {2}, a_mid[1] = {1};
  int64_t a_first[2] = {0, 1};
  for (int i = 0; i < NOPS; i++) {
    run_reduce(50u + (uint32_t)i, kOps[i], IR_F32, 3, d1, a_last, 1, 1, 0,
               false);
    run_reduce(60u + (uint32_t)i, kOps[i], IR_F32, 3, d1, a_mid, 1, 0, 0,
               false);
    run_reduce(70u + (uint32_t)i, kOps[i], IR_I32, 3, d1, a_first, 2, 0, 0,
               false);
  }
}

static void test_reduce_special(void) {
  /* NaN: Max, Min and LogSumExp give NaN, in row and column mode. */
  int64_t dims[2] = {5, 9}, ax1[1] = {1}, ax0[1] = {0};
  ir_op nan_ops[3] = {IR_OP_REDUCE_MAX, IR_OP_REDUCE_MIN,
                      IR_OP_REDUCE_LOG_SUM_EXP};
  for (int i = 0; i < 3; i++) {
    run_reduce(1u, nan_ops[i], IR_F32, 2, dims, ax1, 1, 1, 0, true);
    run_reduce(2u, nan_ops[i], IR_F32, 2, dims, ax0, 1, 1, 0, true);
  }
  /* Empty reductions: every op's identity, floats and integers. */
  int64_t ed[3] = {3, 0, 2}, eax[1] = {1};
  for (int i = 0; i < NOPS; i++)
    for (int j = 0; j < 4; j++) {
      static const ir_dtype et[4] = {IR_F32, IR_I32, IR_U8, IR_I64};
      run_reduce(3u, kOps[i], et[j], 3, ed, eax, 1, j % 2, 0, false);
    }
}

static void test_argminmax(void) {
  for (int it = 0; it < 160; it++) {
    tg t;
    tg_init(&t, 5000u + (uint32_t)it);
    int rank = (int)tg_rnd_in(&t, 1, 4);
    int64_t dims[8];
    for (int d = 0; d < rank; d++) dims[d] = tg_rnd_in(&t, 1, it % 8 ? 6 : 90);
    ir_dtype dt = kTypes[it % NTYPES];
    ir_tensor_id x = tg_input(&t, dt, rank, dims), y;
    size_t n = ir_shape_numel(&t.vals[0].shape);
    for (size_t i = 0; i < n; i++) /* few distinct values: ties */
      ir_store_i64(dt, t.vals[0].data, i, tg_rnd_in(&t, 0, 3));
    if (it % 5 == 0 && ir_dtype_traits[dt].is_float && n > 3) {
      ir_store_f64(dt, t.vals[0].data, n / 2, NAN);
      ir_store_f64(dt, t.vals[0].data, n - 1, NAN);
    }
    ir_node_id nd = tg_node(&t, it % 2 ? IR_OP_ARGMAX : IR_OP_ARGMIN, 13, &x,
                            1, 1, &y);
    kt_attr_int(t.g, nd, "axis", tg_rnd_in(&t, -rank, rank - 1));
    kt_attr_int(t.g, nd, "keepdims", (it / 2) % 2);
    kt_attr_int(t.g, nd, "select_last_index", (it / 4) % 2);
    tg_run(&t, 0, "ArgMax/ArgMin");
  }
}

int main(void) {
  test_reduce_random();
  test_reduce_long();
  test_reduce_special();
  test_argminmax();
  return check_report("test_reduce");
}

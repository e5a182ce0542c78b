/* test_norm.c — the normalisation lowering (codegen/lower_norm.c) and
 * templates (kernels/generic/norm.c) against the reference interpreter,
 * through the real planner (k2_case.h, kt_graph.h).
 *
 * Covered, on float32, float64, float16 and bfloat16 with random shapes
 * (odd sizes, ranks 1..5): Softmax and LogSoftmax on every axis (negative
 * too), opset 13 and the opset-11 2-D coercion, rows with NaN, +-inf and
 * large values, long contiguous rows and strided axes with a partial
 * column block; LayerNormalization on every axis with Scale/B covering the
 * normalised dims, broadcasting (constants, expanded at build time) or
 * absent, with the Mean/InvStdDev outputs in float32 and float64;
 * InstanceNormalization; BatchNormalization in inference (parameters as
 * constants or graph inputs, float64 statistics with float32 data) and in
 * training mode with the running outputs; LRN with odd and even sizes.
 *
 * Tolerances (k2_case.h): |got - want| <= rtol |want| + atol with rtol
 * float32 4e-6 (the templates compute in double like the reference, only
 * float32 exp/log/pow use kmath's float functions), float64 1e-13,
 * float16 2e-3 and bfloat16 1.6e-2 (two units in the last place), and
 * atol 1e-12 of the largest output for the normalisations (an output near
 * 0 is x - mean, which cancels; the sums run in another order) and 1e-7
 * for Softmax/LRN.
 */
#include "k2_case.h"

static void softmax_case(uint64_t seed, ir_op op, ir_dtype dt, int opset,
                         int big) {
  tc t;
  tc_init(&t, seed);
  ir_shape s = rnd_shape(&t, 1, 5, 6);
  if (big == 1) s = (ir_shape){2, {3, 1001}};   /* long rows */
  if (big == 2) s = (ir_shape){3, {2, 37, 53}}; /* strided, partial block */
  if (big == 3) s = (ir_shape){3, {2, 3, 130}};  /* masked rows */
  ir_value v = rnd_value(&t, dt, &s, V_PLAIN);
  size_t n = ir_shape_numel(&s);
  if (big == 3) { /* a masked tail, and exponents around the float32
                    flush threshold of norm.c (x - max near -87) */
    for (size_t i = 0; i < n; i++) {
      size_t k = i % (size_t)s.dims[s.rank - 1];
      double e = ir_load_f64(dt, v.data, i);
      if (k % 3 == 1) e = -3.4e38;
      else if (k % 3 == 2) e = e - 80.0 - (double)(k % 17);
      ir_store_f64(dt, v.data, i, e);
    }
  }
  if (big != 3 && rnd(&t) % 3 == 0) /* large values: exp would overflow without max */
    for (size_t i = 0; i < n; i++)
      ir_store_f64(dt, v.data, i, ir_load_f64(dt, v.data, i) * 3000.0);
  if (rnd(&t) % 4 == 0 && n > 3) { /* one row gets NaN / inf */
    static const double sp[] = {NAN, INFINITY, -INFINITY};
    ir_store_f64(dt, v.data, rnd(&t) % n, sp[rnd(&t) % 3]);
  }
  ir_tensor_id x = tc_input(&t, v), y;
  int64_t axis = rnd_in(&t, -s.rank, s.rank - 1);
  if (big == 2) axis = 1;
  if (big == 3) axis = 2;
  ir_node_id nid = tc_node(&t, op, opset, &x, 1, 1, &y);
  kt_attr_int(t.g, nid, "axis", axis);
  char what[128];
  snprintf(what, sizeof what, "%s-%d %s axis %lld rank %d (seed %llu)",
           ir_op_get(op)->name, opset, ir_dtype_name(dt), (long long)axis,
           s.rank, (unsigned long long)seed);
  tc_run(&t, false, what);
}

static void test_softmax(void) {
  static const ir_op ops[] = {IR_OP_SOFTMAX, IR_OP_LOG_SOFTMAX};
  uint64_t seed = 1;
  for (int k = 0; k < 2; k++)
    for (int f = 0; f < N_OF(kFloats); f++) {
      for (int rep = 0; rep < 12; rep++)
        softmax_case(seed++, ops[k], kFloats[f], rep % 3 ? 13 : 11, 0);
      softmax_case(seed++, ops[k], kFloats[f], 13, 1);
      softmax_case(seed++, ops[k], kFloats[f], 13, 2);
      softmax_case(seed++, ops[k], kFloats[f], 13, 3);
      softmax_case(seed++, ops[k], kFloats[f], 11, 1);
    }
}

/* |scale_mode|: 0 Scale over all normalised dims, 1 over the last dim only
 * (broadcast, a constant), 2 a graph input over all dims. */
static void layernorm_case(uint64_t seed, ir_dtype dt, int scale_mode,
                           bool bias, int stats, ir_dtype stash) {
  tc t;
  tc_init(&t, seed);
  ir_shape s = rnd_shape(&t, 1, 4, 7);
  if (seed % 7 == 0) s = (ir_shape){2, {5, 771}};
  int64_t axis = rnd_in(&t, -s.rank, s.rank - 1);
  int a = (int)(axis < 0 ? axis + s.rank : axis);
  ir_shape sp = {.rank = s.rank - a};
  for (int d = a; d < s.rank; d++) sp.dims[d - a] = s.dims[d];
  if (scale_mode == 1) {
    sp.rank = 1;
    sp.dims[0] = s.dims[s.rank - 1];
  }
  ir_tensor_id in[3], out[3];
  in[0] = tc_input(&t, rnd_value(&t, dt, &s, V_PLAIN));
  ir_value sv = rnd_value(&t, dt, &sp, V_PLAIN);
  in[1] = scale_mode == 2 ? tc_input(&t, sv) : tc_const(&t, sv);
  int nin = 2;
  if (bias) {
    in[2] = tc_const(&t, rnd_value(&t, dt, &sp, V_PLAIN));
    nin = 3;
  }
  ir_node_id nid = tc_node(&t, IR_OP_LAYER_NORM, 17, in, nin, 1 + stats, out);
  kt_attr_int(t.g, nid, "axis", axis);
  kt_attr_float(t.g, nid, "epsilon", 1e-3f);
  kt_attr_int(t.g, nid, "stash_type", stash);
  t.atol_scale = 1e-12;
  char what[128];
  snprintf(what, sizeof what,
           "LayerNorm %s axis %lld rank %d scale %d bias %d stats %d %s "
           "(seed %llu)",
           ir_dtype_name(dt), (long long)axis, s.rank, scale_mode, bias,
           stats, ir_dtype_name(stash), (unsigned long long)seed);
  tc_run(&t, false, what);
}

static void test_layernorm(void) {
  uint64_t seed = 100;
  for (int f = 0; f < N_OF(kFloats); f++)
    for (int rep = 0; rep < 12; rep++)
      layernorm_case(seed++, kFloats[f], rep % 3, rep % 2, rep % 3,
                     rep % 4 == 3 ? IR_F64 : IR_F32);
  /* A run-time Scale that broadcasts: the engine needs a constant. */
  tc t;
  tc_init(&t, 190);
  ir_shape s = {3, {2, 3, 4}}, sp = {1, {4}};
  ir_tensor_id in[2] = {tc_input(&t, rnd_value(&t, IR_F32, &s, V_PLAIN)), 0};
  in[1] = tc_input(&t, rnd_value(&t, IR_F32, &sp, V_PLAIN));
  ir_tensor_id y;
  ir_node_id nid = tc_node(&t, IR_OP_LAYER_NORM, 17, in, 2, 1, &y);
  kt_attr_int(t.g, nid, "axis", 1);
  tc_expect_unimplemented(&t, "LayerNorm with a broadcast run-time Scale");
}

/* BatchNormalization (mode 0: inference with constant parameters, 1:
 * inference with graph inputs and float64 statistics, 2: training with
 * running outputs) and InstanceNormalization (mode 3). */
static void channel_case(uint64_t seed, ir_dtype dt, int mode) {
  tc t;
  tc_init(&t, seed);
  ir_shape s = rnd_shape(&t, 2, 5, 6);
  if (seed % 5 == 0) s = (ir_shape){3, {2, 3, 700}};
  ir_shape sc = {1, {s.dims[1]}};
  ir_dtype st = mode == 1 && dt == IR_F32 ? IR_F64 : dt;
  ir_tensor_id in[5], out[3];
  in[0] = tc_input(&t, rnd_value(&t, dt, &s, V_PLAIN));
  for (int k = 1; k < (mode == 3 ? 3 : 5); k++) {
    ir_value v = rnd_value(&t, k >= 3 ? st : dt, &sc,
                           k == 4 ? V_POSITIVE : V_PLAIN);
    in[k] = mode == 1 ? tc_input(&t, v) : tc_const(&t, v);
  }
  ir_node_id nid;
  if (mode == 3) {
    nid = tc_node(&t, IR_OP_INSTANCE_NORM, 6, in, 3, 1, out);
  } else {
    nid = tc_node(&t, IR_OP_BATCH_NORM, 15, in, 5, mode == 2 ? 3 : 1, out);
    if (mode == 2) {
      kt_attr_int(t.g, nid, "training_mode", 1);
      kt_attr_float(t.g, nid, "momentum", 0.8f);
    }
  }
  kt_attr_float(t.g, nid, "epsilon", 1e-2f);
  t.atol_scale = 1e-12;
  char what[128];
  snprintf(what, sizeof what, "%s %s mode %d rank %d (seed %llu)",
           mode == 3 ? "InstanceNorm" : "BatchNorm", ir_dtype_name(dt), mode,
           s.rank, (unsigned long long)seed);
  tc_run(&t, false, what);
}

static void test_channel(void) {
  uint64_t seed = 200;
  for (int f = 0; f < N_OF(kFloats); f++)
    for (int mode = 0; mode < 4; mode++)
      for (int rep = 0; rep < 4; rep++) channel_case(seed++, kFloats[f], mode);
  /* BatchNormalization-9 (is_test gone, spatial default): inference */
  tc t;
  tc_init(&t, 290);
  ir_shape s = {4, {2, 3, 4, 5}}, sc = {1, {3}};
  ir_tensor_id in[5], y;
  in[0] = tc_input(&t, rnd_value(&t, IR_F32, &s, V_PLAIN));
  for (int k = 1; k < 5; k++)
    in[k] = tc_const(&t, rnd_value(&t, IR_F32, &sc,
                                   k == 4 ? V_POSITIVE : V_PLAIN));
  tc_node(&t, IR_OP_BATCH_NORM, 9, in, 5, 1, &y);
  tc_run(&t, false, "BatchNorm-9");
}

static void test_lrn(void) {
  uint64_t seed = 300;
  for (int f = 0; f < N_OF(kFloats); f++)
    for (int size = 1; size <= 6; size++) {
      tc t;
      tc_init(&t, seed++);
      ir_shape s = rnd_shape(&t, 3, 5, 7);
      if (size == 5) s = (ir_shape){4, {1, 9, 13, 11}};
      ir_tensor_id x = tc_input(&t, rnd_value(&t, kFloats[f], &s, V_PLAIN));
      ir_tensor_id y;
      ir_node_id nid = tc_node(&t, IR_OP_LRN, 13, &x, 1, 1, &y);
      kt_attr_int(t.g, nid, "size", size);
      kt_attr_float(t.g, nid, "alpha", 0.02f);
      kt_attr_float(t.g, nid, "beta", 0.75f);
      kt_attr_float(t.g, nid, "bias", 1.5f);
      char what[96];
      snprintf(what, sizeof what, "LRN %s size %d rank %d",
               ir_dtype_name(kFloats[f]), size, s.rank);
      tc_run(&t, false, what);
    }
}

int main(void) {
  test_softmax();
  test_layernorm();
  test_channel();
  test_lrn();
  printf("test_norm: %d cases, %d failed\n", cases, failed_cases);
  return check_report("test_norm");
}

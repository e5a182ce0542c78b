/* test_qlinear.c — the com.microsoft quantised ops through the planner,
 * codegen/lower_qlinear.c, lower_pool.c and the natively compiled
 * templates (kernels/generic/qlinear.c, pool.c), every eighth case as an
 * LLVM-built engine, against the reference interpreter
 * (ir/ref/qlinear_ms.c).
 *
 * Tolerance: none — DESIGN.md §5 requires bit-exact agreement.
 * Cases (randomised, fixed seeds): QLinearAdd and QLinearMul on uint8 and
 * int8 with numpy broadcasting, zero points at both ends of the range or
 * absent, scales that saturate and that land on rounding ties;
 * QLinearSigmoid and QLinearLeakyRelu; QLinearConcat on every axis, with
 * inputs already at the output's parameters (copied) and others
 * (requantised); QLinearGlobalAveragePool (rank 3 to 5, channels_last)
 * and QLinearAveragePool (pads, strides, ceil_mode, count_include_pad,
 * auto_pad); and each of them inside an NHWC region (fed by a uint8/int8
 * MaxPool, which the layout pass stores NHWC), plus per-tensor
 * QuantizeLinear and DequantizeLinear there; and the ops QOperator
 * models apply to int8 tensors directly (Relu, Max, Min, Reshape,
 * Transpose, Flatten, Squeeze, Unsqueeze, Slice, Concat, Pad, MaxPool).
 * Budget: about 300 cases, a third of them building an engine with LLVM;
 * 80 s under ASan on the loaded 2-core CI machine before trimming, so
 * about 50 s now (10 s in a release build).
 */
#include "kt_graph.h"
#include "params.h"

static ir_dtype qtype(tg *t) { return tg_rnd(t) % 2 ? IR_U8 : IR_I8; }

static int64_t qlo(ir_dtype dt) { return dt == IR_I8 ? -128 : 0; }
static int64_t qhi(ir_dtype dt) { return dt == IR_I8 ? 127 : 255; }

/* Random codes over the whole range of |dt|. */
static ir_tensor_id q_input(tg *t, ir_dtype dt, int rank, const int64_t *d) {
  ir_value v = kt_alloc_value(dt, rank, d);
  size_t n = ir_shape_numel(&v.shape);
  for (size_t i = 0; i < n; i++)
    ir_store_i64(dt, v.data, i, tg_rnd_in(t, qlo(dt), qhi(dt)));
  return tg_value_input(t, v);
}

static ir_tensor_id q_scale(tg *t, float s) { return tg_floats(t, &s, 1); }

/* A zero point: at an end of the range, or anywhere. */
static ir_tensor_id q_zp(tg *t, ir_dtype dt) {
  int64_t z;
  switch (tg_rnd(t) % 4) {
  case 0: z = qlo(dt); break;
  case 1: z = qhi(dt); break;
  default: z = tg_rnd_in(t, qlo(dt), qhi(dt)); break;
  }
  ir_value c = {.dtype = dt, .shape = {1, {1}}};
  CHECK_OK(ir_value_alloc(&c));
  ir_store_i64(dt, c.data, 0, z);
  ir_tensor_id id = tg_const(t, &c);
  ir_value_free(&c);
  return id;
}

/* A scale: powers of two make ties (x.5 after the multiply) frequent. */
static float rnd_scale(tg *t) {
  static const float s[] = {0.5f, 0.25f, 0.125f, 2.0f, 0.0186584f,
                            0.0502939f, 0.173f, 0.00097596f, 1.0f, 3.0f};
  return s[tg_rnd(t) % 10];
}

/* x, or x through a 1x1 MaxPool so that it (and what consumes it) lives
 * in NHWC; x must have rank 4. */
static ir_tensor_id maybe_nhwc(tg *t, ir_tensor_id x, bool nhwc) {
  if (!nhwc) return x;
  ir_tensor_id y;
  char name[16];
  static int count;
  snprintf(name, sizeof name, "mp%d", count++);
  y = kt_tensor(t->g, name, false);
  ir_node_id n = kt_node(t->g, IR_OP_MAX_POOL, &x, 1, &y, 1);
  int64_t k[2] = {1, 1};
  kt_attr_ints(t->g, n, "kernel_shape", k, 2);
  return y;
}

static void ms_node(tg *t, ir_node_id n) {
  t->g->nodes[n].domain = "com.microsoft";
  t->g->nodes[n].opset = 1;
}

/*===------------------------------------------------------------------===*/

static void test_binary(void) {
  for (int it = 0; it < 96; it++) {
    tg t;
    tg_init(&t, 31000u + (uint32_t)it);
    ir_dtype dt = qtype(&t);
    bool mul = it % 2 == 1, nhwc = it % 5 == 0;
    int rank = nhwc ? 4 : (int)tg_rnd_in(&t, 1, 4);
    int64_t dy[4], da[4], db[4];
    for (int d = 0; d < rank; d++) {
      dy[d] = tg_rnd_in(&t, 1, it % 9 == 0 ? 40 : 7);
      da[d] = tg_rnd(&t) % 4 == 0 ? 1 : dy[d];
      db[d] = tg_rnd(&t) % 4 == 0 ? 1 : dy[d];
    }
    if (nhwc) da[0] = db[0] = dy[0];
    int rb = nhwc ? 4 : (int)tg_rnd_in(&t, 1, rank); /* b right-aligned */
    ir_tensor_id a = maybe_nhwc(&t, q_input(&t, dt, rank, da), nhwc);
    bool b_const = !nhwc && it % 7 == 3;
    ir_tensor_id b;
    if (b_const) {
      ir_value v = kt_alloc_value(dt, rb, db + rank - rb);
      for (size_t i = 0; i < ir_shape_numel(&v.shape); i++)
        ir_store_i64(dt, v.data, i, tg_rnd_in(&t, qlo(dt), qhi(dt)));
      b = tg_const(&t, &v);
      ir_value_free(&v);
    } else {
      b = maybe_nhwc(&t, q_input(&t, dt, rb, db + rank - rb), nhwc);
    }
    bool zps = it % 6 != 5;
    ir_tensor_id in[8] = {a, q_scale(&t, rnd_scale(&t)), zps ? q_zp(&t, dt) : 0,
                          b, q_scale(&t, rnd_scale(&t)), zps ? q_zp(&t, dt) : 0,
                          q_scale(&t, rnd_scale(&t)), zps ? q_zp(&t, dt) : 0};
    ir_tensor_id y;
    ir_node_id n = tg_node(&t, mul ? IR_OP_QLINEAR_MUL : IR_OP_QLINEAR_ADD,
                           1, in, zps ? 8 : 7, 1, &y);
    ms_node(&t, n);
    char what[128];
    snprintf(what, sizeof what, "%s %s rank %d%s%s%s", mul ? "QLinearMul"
             : "QLinearAdd", ir_dtype_name(dt), rank, nhwc ? " NHWC" : "",
             b_const ? " const B" : "", zps ? "" : " no zero points");
    tg_run(&t, 0, what);
  }
}

static void test_table(void) {
  for (int it = 0; it < 40; it++) {
    tg t;
    tg_init(&t, 32000u + (uint32_t)it);
    ir_dtype dt = qtype(&t);
    bool leaky = it % 2 == 1, nhwc = it % 3 == 0;
    int rank = nhwc ? 4 : (int)tg_rnd_in(&t, 1, 4);
    int64_t d[4];
    for (int k = 0; k < rank; k++) d[k] = tg_rnd_in(&t, 1, 9);
    ir_tensor_id x = maybe_nhwc(&t, q_input(&t, dt, rank, d), nhwc);
    ir_tensor_id in[5] = {x, q_scale(&t, rnd_scale(&t) / 4), q_zp(&t, dt),
                          q_scale(&t, leaky ? rnd_scale(&t) : 1.0f / 256),
                          q_zp(&t, dt)};
    ir_tensor_id y;
    ir_node_id n = tg_node(&t, leaky ? IR_OP_QLINEAR_LEAKY_RELU
                                     : IR_OP_QLINEAR_SIGMOID,
                           1, in, it % 4 == 1 ? 4 : 5, 1, &y);
    ms_node(&t, n);
    if (leaky && it % 3 != 1)
      kt_attr_float(t.g, n, "alpha", it % 3 ? 0.1f : -1.7f);
    char what[96];
    snprintf(what, sizeof what, "%s %s%s",
             leaky ? "QLinearLeakyRelu" : "QLinearSigmoid", ir_dtype_name(dt),
             nhwc ? " NHWC" : "");
    tg_run(&t, 0, what);
  }
}

static void test_concat(void) {
  for (int it = 0; it < 40; it++) {
    tg t;
    tg_init(&t, 33000u + (uint32_t)it);
    ir_dtype dt = qtype(&t);
    bool nhwc = it % 3 == 0;
    int rank = nhwc ? 4 : (int)tg_rnd_in(&t, 1, 4);
    int axis = nhwc ? (int)tg_rnd_in(&t, 0, 3) : (int)tg_rnd_in(&t, -rank,
                                                               rank - 1);
    int ax = axis < 0 ? axis + rank : axis;
    int64_t d[4];
    for (int k = 0; k < rank; k++) d[k] = tg_rnd_in(&t, 1, it % 7 ? 6 : 70);
    int k = (int)tg_rnd_in(&t, 1, 4);
    float sy = rnd_scale(&t);
    ir_tensor_id yzp = q_zp(&t, dt);
    ir_tensor_id in[2 + 3 * 4] = {q_scale(&t, sy), yzp};
    int nin = 2;
    for (int i = 0; i < k; i++) {
      int64_t di[4];
      memcpy(di, d, sizeof di);
      di[ax] = tg_rnd_in(&t, 1, 5);
      in[nin++] = maybe_nhwc(&t, q_input(&t, dt, rank, di), nhwc);
      bool same = tg_rnd(&t) % 3 == 0; /* at the output's parameters */
      in[nin++] = q_scale(&t, same ? sy : rnd_scale(&t));
      in[nin++] = same ? yzp : q_zp(&t, dt);
    }
    ir_tensor_id y;
    ir_node_id n = tg_node(&t, IR_OP_QLINEAR_CONCAT, 1, in, nin, 1, &y);
    ms_node(&t, n);
    kt_attr_int(t.g, n, "axis", axis);
    char what[96];
    snprintf(what, sizeof what, "QLinearConcat %s rank %d axis %d x%d%s",
             ir_dtype_name(dt), rank, axis, k, nhwc ? " NHWC" : "");
    tg_run(&t, 0, what);
  }
}

static void test_pools(void) {
  for (int it = 0; it < 60; it++) {
    tg t;
    tg_init(&t, 34000u + (uint32_t)it);
    ir_dtype dt = qtype(&t);
    bool global = it % 2 == 0, cl = it % 5 == 1;
    int nsp = global && !cl ? (int)tg_rnd_in(&t, 1, 3) : 2;
    if (!global) nsp = cl ? 2 : (int)tg_rnd_in(&t, 1, 3);
    int rank = nsp + 2;
    bool nhwc = !cl && rank == 4 && it % 3 == 0;
    int64_t d[5];
    d[0] = tg_rnd_in(&t, 1, 2);
    d[1] = tg_rnd_in(&t, 1, it % 4 ? 9 : 140);
    for (int i = 0; i < nsp; i++) d[2 + i] = tg_rnd_in(&t, 1, it % 7 ? 8 : 30);
    if (cl) { /* N, spatial..., C */
      int64_t c = d[1];
      for (int i = 1; i < rank - 1; i++) d[i] = d[i + 1];
      d[rank - 1] = c;
    }
    ir_tensor_id x = maybe_nhwc(&t, q_input(&t, dt, rank, d), nhwc);
    ir_tensor_id in[5] = {x, q_scale(&t, rnd_scale(&t)), q_zp(&t, dt),
                          q_scale(&t, rnd_scale(&t)), q_zp(&t, dt)};
    ir_tensor_id y;
    ir_node_id n = tg_node(&t, global ? IR_OP_QLINEAR_GLOBAL_AVERAGE_POOL
                                      : IR_OP_QLINEAR_AVERAGE_POOL,
                           1, in, 5, 1, &y);
    ms_node(&t, n);
    if (cl) kt_attr_int(t.g, n, "channels_last", 1);
    char what[160];
    int len = snprintf(what, sizeof what, "%s %s rank %d%s%s",
                       global ? "QLinearGlobalAveragePool"
                              : "QLinearAveragePool",
                       ir_dtype_name(dt), rank, cl ? " channels_last" : "",
                       nhwc ? " NHWC" : "");
    if (!global) {
      int64_t k[3], s[3], p[6];
      for (int i = 0; i < nsp; i++) {
        int64_t in_i = d[cl ? 1 + i : 2 + i];
        k[i] = tg_rnd_in(&t, 1, in_i < 4 ? in_i : 4);
        s[i] = tg_rnd_in(&t, 1, 3);
        p[i] = tg_rnd_in(&t, 0, k[i] - 1);
        p[nsp + i] = tg_rnd_in(&t, 0, k[i] - 1);
      }
      kt_attr_ints(t.g, n, "kernel_shape", k, nsp);
      kt_attr_ints(t.g, n, "strides", s, nsp);
      int mode = (int)(tg_rnd(&t) % 4);
      if (mode == 0) kt_attr_string(t.g, n, "auto_pad", "SAME_UPPER");
      else if (mode == 1) kt_attr_string(t.g, n, "auto_pad", "SAME_LOWER");
      else kt_attr_ints(t.g, n, "pads", p, 2 * nsp);
      bool ceil = tg_rnd(&t) % 2, incl = tg_rnd(&t) % 2;
      if (ceil) kt_attr_int(t.g, n, "ceil_mode", 1);
      if (incl) kt_attr_int(t.g, n, "count_include_pad", 1);
      snprintf(what + len, sizeof what - (size_t)len, " k%lld s%lld%s%s%s",
               (long long)k[0], (long long)s[0],
               mode < 2 ? " same" : " pads", ceil ? " ceil" : "",
               incl ? " include_pad" : "");
    }
    tg_run(&t, 0, what);
  }
}

/* Per-tensor QuantizeLinear / DequantizeLinear between NHWC ops: the
 * layout pass keeps them NHWC. */
static void test_qdq_nhwc(void) {
  for (int it = 0; it < 16; it++) {
    tg t;
    tg_init(&t, 35000u + (uint32_t)it);
    ir_dtype dt = qtype(&t);
    int64_t d[4] = {1, tg_rnd_in(&t, 1, 40), tg_rnd_in(&t, 1, 9),
                    tg_rnd_in(&t, 1, 9)};
    ir_tensor_id x = maybe_nhwc(&t, q_input(&t, dt, 4, d), true);
    ir_tensor_id in[3] = {x, q_scale(&t, rnd_scale(&t)), q_zp(&t, dt)};
    ir_tensor_id f = kt_tensor(t.g, "f", false), y;
    kt_node(t.g, IR_OP_DEQUANTIZE_LINEAR, in, 3, &f, 1);
    if (it % 2) { /* DQ -> Relu (NHWC) -> Q -> MaxPool */
      ir_tensor_id r = kt_tensor(t.g, "r", false), q = kt_tensor(t.g, "q", false);
      kt_node(t.g, IR_OP_RELU, &f, 1, &r, 1);
      ir_tensor_id qin[3] = {r, q_scale(&t, rnd_scale(&t)), q_zp(&t, dt)};
      kt_node(t.g, IR_OP_QUANTIZE_LINEAR, qin, 3, &q, 1);
      q = maybe_nhwc(&t, q, true);
      tg_node(&t, IR_OP_RELU, 14, &q, 1, 1, &y); /* int8 Relu */
    } else { /* DQ -> Conv (float NHWC) */
      ir_value ws = kt_alloc_value(IR_F32, 4, (int64_t[]){d[1], 1, 3, 3});
      for (int64_t k = 0; k < d[1] * 9; k++)
        ((float *)ws.data)[k] = (float)(k % 9 - 4) / 8;
      ir_tensor_id cin[2] = {f, tg_const(&t, &ws)};
      ir_value_free(&ws);
      ir_node_id c = tg_node(&t, IR_OP_CONV, 11, cin, 2, 1, &y);
      kt_attr_int(t.g, c, "group", d[1]);
      int64_t pads[4] = {1, 1, 1, 1};
      kt_attr_ints(t.g, c, "pads", pads, 4);
    }
    char what[96];
    snprintf(what, sizeof what, "DequantizeLinear %s NHWC -> %s",
             ir_dtype_name(dt), it % 2 ? "Relu -> QuantizeLinear" : "Conv");
    /* the float Conv sums in another order than the reference */
    tg_run(&t, it % 2 ? 0 : 1e-5, what);
  }
}

/* The ops a QOperator model runs on int8 tensors directly (docs/int8.md:
 * same scale and zero point in and out) lower for uint8 and int8, in the
 * model's layout and after an NHWC MaxPool. */
static void test_int8_passthrough(void) {
  enum { RELU, MAX, MIN, RESHAPE, TRANSPOSE, FLATTEN, SQUEEZE, UNSQUEEZE,
         SLICE, CONCAT, PAD, MAXPOOL, NOPS };
  static const char *const names[NOPS] = {
      "Relu", "Max", "Min", "Reshape", "Transpose", "Flatten", "Squeeze",
      "Unsqueeze", "Slice", "Concat", "Pad", "MaxPool 3x3/2"};
  for (int it = 0; it < 2 * 2 * NOPS; it++) {
    tg t;
    tg_init(&t, 36000u + (uint32_t)it);
    int op = it % NOPS;
    ir_dtype dt = (it / NOPS) % 2 ? IR_I8 : IR_U8;
    bool nhwc = it / (2 * NOPS) == 1;
    int64_t d[4] = {1, tg_rnd_in(&t, 1, 20), tg_rnd_in(&t, 2, 7), 1};
    d[3] = op == SQUEEZE ? 1 : tg_rnd_in(&t, 2, 7);
    ir_tensor_id x = maybe_nhwc(&t, q_input(&t, dt, 4, d), nhwc), y;
    ir_tensor_id in[5] = {x};
    ir_node_id n;
    switch (op) {
    case RELU: tg_node(&t, IR_OP_RELU, 14, in, 1, 1, &y); break;
    case MAX: case MIN:
      in[1] = maybe_nhwc(&t, q_input(&t, dt, 4, d), nhwc);
      tg_node(&t, op == MAX ? IR_OP_MAX : IR_OP_MIN, 13, in, 2, 1, &y);
      break;
    case RESHAPE: {
      int64_t shape[2] = {d[1], -1};
      in[1] = tg_ints(&t, shape, 2);
      tg_node(&t, IR_OP_RESHAPE, 14, in, 2, 1, &y);
      break;
    }
    case TRANSPOSE: {
      int64_t perm[4] = {0, 2, 3, 1};
      n = tg_node(&t, IR_OP_TRANSPOSE, 13, in, 1, 1, &y);
      kt_attr_ints(t.g, n, "perm", perm, 4);
      break;
    }
    case FLATTEN:
      n = tg_node(&t, IR_OP_FLATTEN, 13, in, 1, 1, &y);
      kt_attr_int(t.g, n, "axis", 1);
      break;
    case SQUEEZE: {
      int64_t ax[1] = {3};
      in[1] = tg_ints(&t, ax, 1);
      tg_node(&t, IR_OP_SQUEEZE, 13, in, 2, 1, &y);
      break;
    }
    case UNSQUEEZE: {
      int64_t ax[1] = {2};
      in[1] = tg_ints(&t, ax, 1);
      tg_node(&t, IR_OP_UNSQUEEZE, 13, in, 2, 1, &y);
      break;
    }
    case SLICE: {
      int64_t st[2] = {1, 0}, en[2] = {100, -1}, axes[2] = {1, 3};
      in[1] = tg_ints(&t, st, 2);
      in[2] = tg_ints(&t, en, 2);
      in[3] = tg_ints(&t, axes, 2);
      tg_node(&t, IR_OP_SLICE, 13, in, 4, 1, &y);
      break;
    }
    case CONCAT:
      in[1] = maybe_nhwc(&t, q_input(&t, dt, 4, d), nhwc);
      n = tg_node(&t, IR_OP_CONCAT, 13, in, 2, 1, &y);
      kt_attr_int(t.g, n, "axis", 1);
      break;
    case PAD: {
      int64_t pads[8] = {0, 0, 1, 2, 0, 1, 0, 3};
      ir_value c = {.dtype = dt, .shape = {0, {0}}};
      CHECK_OK(ir_value_alloc(&c));
      ir_store_i64(dt, c.data, 0, dt == IR_I8 ? -7 : 201);
      in[1] = tg_ints(&t, pads, 8);
      in[2] = tg_const(&t, &c);
      ir_value_free(&c);
      tg_node(&t, IR_OP_PAD, 13, in, 3, 1, &y);
      break;
    }
    default: { /* MAXPOOL */
      int64_t k[2] = {3, 3}, st[2] = {2, 2}, p[4] = {1, 1, 1, 1};
      n = tg_node(&t, IR_OP_MAX_POOL, 12, in, 1, 1, &y);
      kt_attr_ints(t.g, n, "kernel_shape", k, 2);
      kt_attr_ints(t.g, n, "strides", st, 2);
      kt_attr_ints(t.g, n, "pads", p, 4);
      break;
    }
    }
    char what[96];
    snprintf(what, sizeof what, "%s on %s%s", names[op], ir_dtype_name(dt),
             nhwc ? " after an NHWC MaxPool" : "");
    tg_run(&t, 0, what);
  }
}

int main(void) {
  test_binary();
  test_table();
  test_concat();
  test_pools();
  test_qdq_nhwc();
  test_int8_passthrough();
  return check_report("test_qlinear");
}

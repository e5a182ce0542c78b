/* test_quant.c — the quantisation lowering (codegen/lower_quant.c) and
 * templates (kernels/generic/quant.c) against the reference interpreter,
 * through the real planner.
 *
 * QuantizeLinear (float32 and int32 in, uint8/int8 out, with and without a
 * zero point), DequantizeLinear (uint8, int8, int32 in), per tensor and
 * per axis (every axis, negative too), constant and run-time scales and
 * zero points; values on rounding ties, NaN, infinities and far out of
 * range; DynamicQuantizeLinear on random, all-positive, all-negative,
 * all-zero and NaN-holding inputs.
 * Tolerance: none — DESIGN.md §5 requires bit-exact agreement.
 */
#include "build.h"
#include "kt_graph.h"
#include "params.h"

/*===------------------------------------------------------------------===*/
/* Graph building on kt_graph.h, with values every dtype holds exactly     */
/*===------------------------------------------------------------------===*/

typedef struct tg {
  ir_graph *g;
  ir_value vals[KT_MAX_IO]; /* values of the graph inputs, in order */
  int nin, nout;
  uint32_t seed;
} tg;

static uint32_t rnd(tg *t) {
  t->seed = t->seed * 1664525u + 1013904223u;
  return t->seed >> 8;
}
static int64_t rnd_in(tg *t, int64_t lo, int64_t hi) { /* [lo, hi] */
  return lo + (int64_t)(rnd(t) % (uint32_t)(hi - lo + 1));
}

static void tg_init(tg *t, uint32_t seed) {
  memset(t, 0, sizeof *t);
  t->seed = seed;
  t->g = kt_graph_new();
}

/* A graph input of random multiples of 1/4 in [-15, 15] (integers in
 * [-60, 60], wrapped for unsigned types). */
static ir_tensor_id tg_input(tg *t, ir_dtype dt, int rank,
                             const int64_t *dims) {
  ir_value *v = &t->vals[t->nin];
  memset(v, 0, sizeof *v);
  v->dtype = dt;
  v->shape.rank = rank;
  for (int d = 0; d < rank; d++) v->shape.dims[d] = dims[d];
  CHECK_OK(ir_value_alloc(v));
  size_t n = ir_shape_numel(&v->shape);
  for (size_t i = 0; i < n; i++) {
    int64_t k = rnd_in(t, -60, 60);
    if (ir_dtype_traits[dt].is_float)
      ir_store_f64(dt, v->data, i, (double)k / 4.0);
    else
      ir_store_i64(dt, v->data, i, k);
  }
  char name[16];
  snprintf(name, sizeof name, "in%d", t->nin++);
  return kt_input(t->g, name, v);
}

static ir_tensor_id tg_const(tg *t, const ir_value *v) {
  return kt_const(t->g, NULL, v);
}

/* A node with |nout| new outputs, which become graph outputs. */
static ir_node_id tg_node(tg *t, ir_op op, int opset, const ir_tensor_id *in,
                          int nin, int nout, ir_tensor_id *out) {
  for (int i = 0; i < nout; i++) {
    char name[16];
    snprintf(name, sizeof name, "out%d", t->nout++);
    out[i] = kt_tensor(t->g, name, true);
  }
  ir_node_id nid = kt_node(t->g, op, in, nin, out, nout);
  t->g->nodes[nid].opset = opset;
  return nid;
}

/* Builds an engine for |g| (mutated) with LLVM, loads it with the runtime
 * and runs it on |in| (graph inputs in order): the path `ingot build` and
 * `ingot run` take. */
static ingot_status run_engine(ir_graph *g, const ir_value *in,
                               ir_value *out) {
  const char *names[KT_MAX_IO];
  uint32_t n_in = g->n_inputs;
  for (uint32_t i = 0; i < n_in; i++) names[i] = g->tensors[g->inputs[i]].name;
  void *bytes = NULL;
  size_t size = 0;
  ingot_engine *e = NULL;
  ingot_session *ss = NULL;
  ingot_status s = cg_build_engine(g, NULL, &bytes, &size);
  if (!s) s = ingot_engine_load_memory(bytes, size, &e);
  free(bytes);
  if (!s) s = ingot_session_create(e, NULL, &ss);
  for (int i = 0; !s && i < ingot_engine_input_count(e); i++) {
    ingot_tensor_info info;
    s = ingot_engine_input_info(e, i, &info);
    for (uint32_t k = 0; !s && k < n_in; k++)
      if (strcmp(names[k], info.name) == 0)
        s = ingot_session_set_input(ss, i, (ingot_dtype)in[k].dtype,
                                    in[k].data, ir_value_nbytes(&in[k]));
  }
  if (!s) s = ingot_session_run(ss);
  for (int k = 0; !s && k < ingot_engine_output_count(e); k++) {
    ingot_tensor_info info;
    s = ingot_engine_output_info(e, k, &info);
    if (s) break;
    out[k].dtype = (ir_dtype)info.dtype;
    out[k].shape.rank = info.rank;
    for (int r = 0; r < info.rank; r++) out[k].shape.dims[r] = info.dims[r];
    s = ir_value_alloc(&out[k]);
    if (!s)
      s = ingot_session_get_output(ss, k, info.dtype, out[k].data,
                                   ir_value_nbytes(&out[k]));
  }
  ingot_session_destroy(ss);
  ingot_engine_release(e);
  return s;
}

/* Parses, runs the reference and the native plan (host target) — every
 * eighth case the LLVM-built engine instead — and compares every output
 * (kt_same: |got - want| <= tol * max(1, max|want|), integers and tol 0
 * exact).  Destroys the graph. */
static bool tg_run(tg *t, double tol, const char *what) {
  ir_graph *g = t->g;
  uint32_t nout = g->n_outputs;
  ir_value want[KT_MAX_IO], got[KT_MAX_IO];
  memset(want, 0, sizeof want);
  memset(got, 0, sizeof got);
  cg_target host;
  ingot_status s = kt_finish(g);
  if (!s) s = ir_interp_run(g, t->vals, want, NULL);
  if (!s) s = cg_target_host(&host);
  char kernels[256] = "engine", shape[96] = "";
  static int cases;
  bool engine = cases++ % 8 == 7;
  if (!s && engine)
    s = run_engine(g, t->vals, got);
  else if (!s)
    s = kt_run_native(g, &host, t->vals, got, kernels, sizeof kernels);
  if (getenv("K3_VERBOSE")) /* which steps ran, for test maintenance */
    fprintf(stderr, "%s -> %s: %s\n", what,
            ir_shape_str(&want[0].shape, shape, sizeof shape), kernels);
  bool ok = s == NULL;
  if (s) {
    fprintf(stderr, "%s: %s\n", what, ingot_status_message(s));
    ingot_status_free(s);
  }
  for (uint32_t i = 0; ok && i < nout; i++)
    ok = kt_same(&got[i], &want[i], tol, what);
  for (uint32_t i = 0; i < KT_MAX_IO; i++) {
    ir_value_free(&want[i]);
    ir_value_free(&got[i]);
  }
  for (int i = 0; i < t->nin; i++) ir_value_free(&t->vals[i]);
  ir_graph_destroy(g);
  CHECK(ok);
  return ok;
}


/* A float32 tensor value (rank 0 or 1) as a constant, or as a graph input
 * when |runtime|. */
static ir_tensor_id tg_param(tg *t, ir_dtype dt, int rank, int64_t n,
                             const double *v, bool runtime) {
  ir_value c = {.dtype = dt, .shape = {rank, {n}}};
  CHECK_OK(ir_value_alloc(&c));
  for (int64_t i = 0; i < n; i++) {
    if (ir_dtype_traits[dt].is_float)
      ir_store_f64(dt, c.data, (size_t)i, v[i]);
    else
      ir_store_i64(dt, c.data, (size_t)i, (int64_t)v[i]);
  }
  ir_tensor_id id;
  if (runtime) {
    char name[16];
    snprintf(name, sizeof name, "in%d", t->nin);
    t->vals[t->nin++] = c;
    id = kt_input(t->g, name, &c);
  } else {
    id = tg_const(t, &c);
    ir_value_free(&c);
  }
  return id;
}

/* Mixes special values into a float32 input. */
static void spice(tg *t, ir_value *v) {
  static const float special[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f,
                                  0.0f, -0.0f, 2.5f, -2.5f, 1e-30f};
  float *x = v->data;
  size_t n = ir_shape_numel(&v->shape);
  for (size_t i = 0; i < n; i++) {
    uint32_t r = rnd(t) % 16;
    if (r < 10) x[i] = special[r];
    else if (r < 13) x[i] = (float)((int32_t)rnd(t) % 100000) / 137.0f;
  }
}

/*===------------------------------------------------------------------===*/
/* Tests                                                                   */
/*===------------------------------------------------------------------===*/

static void test_linear(void) {
  for (int it = 0; it < 240; it++) {
    tg t;
    tg_init(&t, 11000u + (uint32_t)it);
    bool quant = it % 2 == 0;
    int rank = (int)rnd_in(&t, 1, 4);
    int64_t dims[8];
    for (int d = 0; d < rank; d++) dims[d] = rnd_in(&t, 1, 6);
    if (it % 7 == 0) dims[rank - 1] = rnd_in(&t, 600, 9000); /* chunks */
    int axis = (int)rnd_in(&t, -rank, rank - 1);
    int a = axis < 0 ? axis + rank : axis;
    bool per_axis = (it / 2) % 3 == 1, scalar = (it / 2) % 3 == 0;
    int64_t ch = per_axis ? dims[a] : 1;
    static const ir_dtype qt[3] = {IR_U8, IR_I8, IR_I32};
    ir_dtype xt = quant ? ((it / 6) % 3 == 2 ? IR_I32 : IR_F32)
                        : qt[(it / 6) % 3];
    ir_dtype zt = quant ? qt[(it / 6) % 2] : xt;
    bool has_zp = (it / 4) % 4 != 0;
    bool runtime = (it / 8) % 3 == 0;
    static double scale[10000], zp[10000];
    for (int64_t c = 0; c < ch; c++) {
      static const double sv[] = {0.5, 0.25, 0.1, 3.0, 0.0078125, 1e-3};
      scale[c] = sv[rnd(&t) % 6];
      zp[c] = zt == IR_U8 ? (double)rnd_in(&t, 0, 255)
              : zt == IR_I8 ? (double)rnd_in(&t, -128, 127)
                            : (double)rnd_in(&t, -1000, 1000);
    }
    ir_tensor_id in[3], y;
    in[0] = tg_input(&t, xt, rank, dims);
    if (xt == IR_F32 && it % 3 == 0) spice(&t, &t.vals[0]);
    if (xt != IR_F32) { /* integers over the type's range */
      size_t n = ir_shape_numel(&t.vals[0].shape);
      for (size_t i = 0; i < n; i++)
        ir_store_i64(xt, t.vals[0].data, i,
                     xt == IR_I32 ? rnd_in(&t, -100000, 100000)
                                  : (int64_t)(rnd(&t) & 0xff));
    }
    int srank = scalar ? 0 : 1;
    in[1] = tg_param(&t, IR_F32, srank, ch, scale, runtime);
    int nin = 2;
    if (has_zp) in[nin++] = tg_param(&t, zt, srank, ch, zp, runtime);
    ir_node_id n = tg_node(&t, quant ? IR_OP_QUANTIZE_LINEAR
                                     : IR_OP_DEQUANTIZE_LINEAR,
                           13, in, nin, 1, &y);
    kt_attr_int(t.g, n, "axis", axis);
    char what[128];
    snprintf(what, sizeof what, "%s %s rank %d axis %d ch %lld%s%s",
             quant ? "QuantizeLinear" : "DequantizeLinear",
             ir_dtype_name(xt), rank, axis, (long long)ch,
             has_zp ? " zp" : "", runtime ? " run-time params" : "");
    tg_run(&t, 0, what);
  }
}

static void test_dynamic(void) {
  for (int it = 0; it < 40; it++) {
    tg t;
    tg_init(&t, 12000u + (uint32_t)it);
    int rank = (int)rnd_in(&t, 1, 3);
    int64_t dims[8];
    for (int d = 0; d < rank; d++) dims[d] = rnd_in(&t, 1, it % 5 ? 9 : 300);
    ir_tensor_id x = tg_input(&t, IR_F32, rank, dims), y[3];
    float *v = t.vals[0].data;
    size_t n = ir_shape_numel(&t.vals[0].shape);
    for (size_t i = 0; i < n; i++) {
      switch (it % 5) {
      case 0: break; /* multiples of 1/4 around 0 */
      case 1: v[i] = fabsf(v[i]) + 1.0f; break;
      case 2: v[i] = -fabsf(v[i]) - 0.5f; break;
      case 3: v[i] = 0.0f; break;
      default: if (i % 7 == 3) v[i] = NAN; break;
      }
    }
    tg_node(&t, IR_OP_DYNAMIC_QUANTIZE_LINEAR, 13, &x, 1, 3, y);
    tg_run(&t, 0, "DynamicQuantizeLinear");
  }
}

int main(void) {
  test_linear();
  test_dynamic();
  return check_report("test_quant");
}

/* test_resize.c — the Resize/Upsample lowering (codegen/lower_resize.c)
 * and templates (kernels/generic/resize.c) against the reference
 * interpreter, through the real planner.
 *
 * Random ranks 2..5 and sizes, resizing random subsets of dims up and
 * down, from scales and from sizes, in every mode (nearest, linear,
 * cubic), every coordinate transformation (half_pixel, asymmetric,
 * pytorch_half_pixel, tf_half_pixel_for_nn, align_corners,
 * tf_crop_and_resize with a roi and an extrapolation value), every
 * nearest_mode, cubic_coeff_a and exclude_outside, plus Resize-10 and
 * Upsample-7/9 (legacy rules), in float32, float64, float16, uint8, int32
 * and (nearest) bool.
 * Tolerance: none.  The tap tables are the reference's, computed with the
 * same double arithmetic, and the template sums the taps in the order of
 * the reference's separable passes, so every dtype must match exactly.
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


static ir_tensor_id tg_ints(tg *t, const int64_t *v, int n) {
  ir_value c = {.dtype = IR_I64, .shape = {1, {n}}, .data = (void *)v};
  return tg_const(t, &c);
}

static ir_tensor_id tg_floats(tg *t, const float *v, int n) {
  ir_value c = {.dtype = IR_F32, .shape = {1, {n}}, .data = (void *)v};
  return tg_const(t, &c);
}

/*===------------------------------------------------------------------===*/
/* Tests                                                                   */
/*===------------------------------------------------------------------===*/

static const char *const kModes[] = {"nearest", "linear", "cubic"};
static const char *const kCoords[] = {
    "half_pixel", "asymmetric", "pytorch_half_pixel", "tf_half_pixel_for_nn",
    "align_corners", "tf_crop_and_resize"};
static const char *const kNearest[] = {"round_prefer_floor",
                                       "round_prefer_ceil", "floor", "ceil"};
static const ir_dtype kTypes[] = {IR_F32, IR_U8, IR_F64, IR_I32, IR_F16,
                                  IR_BOOL};

/* Scale factors that give interesting coordinates. */
static const float kScales[] = {0.5f, 0.6f, 0.75f, 1.0f, 1.5f, 1.7f, 2.0f,
                                3.0f, 0.34f};

static void test_resize_random(void) {
  for (int it = 0; it < 400; it++) {
    tg t;
    tg_init(&t, 7000u + (uint32_t)it);
    int rank = (int)rnd_in(&t, 2, it % 10 == 0 ? 5 : 4);
    int mode = it % 3, coord = (it / 3) % 6;
    ir_dtype dt = kTypes[(it / 18) % 6];
    if (dt == IR_BOOL) mode = 0;
    int64_t dims[8], sizes[8];
    float scales[8], roi[16];
    bool use_sizes = rnd(&t) % 2;
    for (int d = 0; d < rank; d++) {
      dims[d] = rnd_in(&t, 1, d < rank - 2 ? 3 : 9);
      bool resized = d >= rank - 2 ? rnd(&t) % 4 != 0 : rnd(&t) % 4 == 0;
      scales[d] = resized ? kScales[rnd(&t) % 9] : 1.0f;
      sizes[d] = resized ? rnd_in(&t, 1, 12) : dims[d];
      roi[d] = resized ? (float)rnd_in(&t, -2, 4) / 10.0f : 0.0f;
      roi[rank + d] = resized ? (float)rnd_in(&t, 6, 12) / 10.0f : 1.0f;
    }
    ir_tensor_id in[4] = {0, 0, 0, 0}, y;
    in[0] = tg_input(&t, dt, rank, dims);
    if (coord == 5) in[1] = tg_floats(&t, roi, 2 * rank);
    if (use_sizes)
      in[3] = tg_ints(&t, sizes, rank);
    else
      in[2] = tg_floats(&t, scales, rank);
    ir_node_id n = tg_node(&t, IR_OP_RESIZE, 13, in, 4, 1, &y);
    kt_attr_string(t.g, n, "mode", kModes[mode]);
    kt_attr_string(t.g, n, "coordinate_transformation_mode", kCoords[coord]);
    if (mode == 0)
      kt_attr_string(t.g, n, "nearest_mode", kNearest[rnd(&t) % 4]);
    if (mode == 2) {
      kt_attr_float(t.g, n, "cubic_coeff_a", rnd(&t) % 2 ? -0.5f : -0.75f);
      kt_attr_int(t.g, n, "exclude_outside", (int64_t)(rnd(&t) % 2));
    }
    if (coord == 5) kt_attr_float(t.g, n, "extrapolation_value", 7.5f);
    char what[160];
    snprintf(what, sizeof what, "Resize %s %s %s rank %d %s",
             kModes[mode], kCoords[coord], ir_dtype_name(dt), rank,
             use_sizes ? "sizes" : "scales");
    tg_run(&t, 0, what);
  }
}

/* Channels-last style: only middle dims resized, a long kept inner run
 * (the template's vector path, blocks of KRS_BLOCK plus a tail). */
static void test_resize_inner(void) {
  for (int mode = 0; mode < 3; mode++) {
    tg t;
    tg_init(&t, 8000u + (uint32_t)mode);
    int64_t dims[4] = {2, 5, 4, 70};
    float scales[4] = {1.0f, 1.6f, 0.75f, 1.0f};
    ir_tensor_id in[4] = {0, 0, 0, 0}, y;
    in[0] = tg_input(&t, IR_F32, 4, dims);
    in[2] = tg_floats(&t, scales, 4);
    ir_node_id n = tg_node(&t, IR_OP_RESIZE, 13, in, 4, 1, &y);
    kt_attr_string(t.g, n, "mode", kModes[mode]);
    tg_run(&t, 0, "Resize with an inner run");
  }
}

/* The pre-opset-11 forms: Upsample-7 (scales attribute), Upsample-9 and
 * Resize-10 (scales input), asymmetric coordinates. */
static void test_legacy(void) {
  for (int it = 0; it < 24; it++) {
    tg t;
    tg_init(&t, 9000u + (uint32_t)it);
    int64_t dims[4] = {1, 2, rnd_in(&t, 1, 6), rnd_in(&t, 1, 6)};
    float scales[4] = {1.0f, 1.0f, kScales[rnd(&t) % 9],
                       kScales[rnd(&t) % 9]};
    ir_tensor_id in[2], y;
    in[0] = tg_input(&t, it % 2 ? IR_F32 : IR_U8, 4, dims);
    int form = it % 3;
    ir_op op = form == 2 ? IR_OP_RESIZE : IR_OP_UPSAMPLE;
    int opset = form == 0 ? 7 : form == 1 ? 9 : 10;
    ir_node_id n;
    if (form == 0) {
      n = tg_node(&t, op, opset, in, 1, 1, &y);
      ir_attr *a = kt_attr(t.g, n, "scales", IR_ATTR_FLOATS);
      a->n = 4;
      a->floats = ir_arena_memdup(&t.g->arena, scales, sizeof scales);
    } else {
      in[1] = tg_floats(&t, scales, 4);
      n = tg_node(&t, op, opset, in, 2, 1, &y);
    }
    kt_attr_string(t.g, n, "mode", (it / 3) % 2 ? "linear" : "nearest");
    tg_run(&t, 0, "Upsample / Resize-10");
  }
}

int main(void) {
  test_resize_random();
  test_resize_inner();
  test_legacy();
  return check_report("test_resize");
}

/* test_movement.c — the data-movement lowering (codegen/lower_movement.c)
 * and templates (kernels/generic/movement.c) against the reference
 * interpreter, through the real planner (native_exec.h).
 *
 * Randomised shapes (odd sizes, ranks 0..5), every element size (bool,
 * uint8, int16/float16, float32/int32, int64/float64), and for each op
 * the attribute corners: Transpose of every rank and permutation, Concat
 * with empty inputs, Split with zero-size parts, Slice with negative and
 * out-of-range starts/ends and negative steps, Gather with negative and
 * run-time indices (and the documented clamp of out-of-range ones), Tile
 * with zero repeats, Expand, Pad in all three modes with negative pads,
 * and the reshape family.  Data movement is exact: results must equal
 * the reference byte for byte.
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

static ir_tensor_id tg_ints(tg *t, const int64_t *v, int n) {
  ir_value c = {.dtype = IR_I64, .shape = {1, {n}}, .data = (void *)v};
  return tg_const(t, &c);
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

static void rand_shape(tg *t, int rank, int64_t lo, int64_t hi,
                       int64_t *dims) {
  for (int d = 0; d < rank; d++) dims[d] = rnd_in(t, lo, hi);
}

/*===------------------------------------------------------------------===*/
/* Tests                                                                   */
/*===------------------------------------------------------------------===*/

static const ir_dtype kTypes[] = {IR_F32, IR_U8, IR_I16, IR_I64, IR_BOOL,
                                  IR_F16, IR_F64, IR_I32};
#define NTYPES (int)(sizeof kTypes / sizeof kTypes[0])

static void test_transpose(void) {
  for (int it = 0; it < 60; it++) {
    tg t;
    tg_init(&t, 100u + (uint32_t)it);
    int rank = (int)rnd_in(&t, 1, 5);
    int64_t dims[8], perm[8];
    rand_shape(&t, rank, 1, it < 50 ? 7 : 40, dims);
    for (int d = 0; d < rank; d++) perm[d] = d;
    for (int d = rank - 1; d > 0; d--) {
      int j = (int)rnd_in(&t, 0, d);
      int64_t x = perm[d];
      perm[d] = perm[j];
      perm[j] = x;
    }
    ir_tensor_id x = tg_input(&t, kTypes[it % NTYPES], rank, dims), y;
    ir_node_id n = tg_node(&t, IR_OP_TRANSPOSE, 13, &x, 1, 1, &y);
    if (it % 7 != 3) kt_attr_ints(t.g, n, "perm", perm, rank);
    tg_run(&t, 0, "Transpose");
  }
}

static void test_concat_split(void) {
  for (int it = 0; it < 40; it++) {
    tg t;
    tg_init(&t, 200u + (uint32_t)it);
    int rank = (int)rnd_in(&t, 1, 4), axis = (int)rnd_in(&t, 0, rank - 1);
    int k = (int)rnd_in(&t, 1, 4);
    int64_t dims[8];
    rand_shape(&t, rank, 1, 6, dims);
    ir_dtype dt = kTypes[it % NTYPES];
    ir_tensor_id in[4], y;
    for (int i = 0; i < k; i++) {
      dims[axis] = rnd_in(&t, it % 5 == 0 ? 0 : 1, 5);
      in[i] = tg_input(&t, dt, rank, dims);
    }
    ir_node_id n = tg_node(&t, IR_OP_CONCAT, 13, in, k, 1, &y);
    kt_attr_int(t.g, n, "axis", it % 2 ? axis - rank : axis);
    tg_run(&t, 0, "Concat");
  }
  for (int it = 0; it < 40; it++) {
    tg t;
    tg_init(&t, 300u + (uint32_t)it);
    int rank = (int)rnd_in(&t, 1, 4), axis = (int)rnd_in(&t, 0, rank - 1);
    int k = (int)rnd_in(&t, 1, 4);
    int64_t dims[8], sizes[4], total = 0;
    rand_shape(&t, rank, 1, 6, dims);
    for (int i = 0; i < k; i++) total += sizes[i] = rnd_in(&t, 0, 4);
    bool equal = it % 3 == 0;
    dims[axis] = equal ? k * rnd_in(&t, 1, 3) : total;
    ir_tensor_id in[2], y[4];
    in[0] = tg_input(&t, kTypes[it % NTYPES], rank, dims);
    if (!equal) in[1] = tg_ints(&t, sizes, k);
    ir_node_id n = tg_node(&t, IR_OP_SPLIT, 13, in, equal ? 1 : 2, k, y);
    kt_attr_int(t.g, n, "axis", axis);
    tg_run(&t, 0, "Split");
  }
}

static void test_slice(void) {
  for (int it = 0; it < 80; it++) {
    tg t;
    tg_init(&t, 400u + (uint32_t)it);
    int rank = (int)rnd_in(&t, 1, 5);
    int64_t dims[8], starts[8], ends[8], axes[8], steps[8];
    rand_shape(&t, rank, 1, 9, dims);
    int k = (int)rnd_in(&t, 1, rank);
    int order[8];
    for (int d = 0; d < rank; d++) order[d] = d;
    for (int d = rank - 1; d > 0; d--) {
      int j = (int)rnd_in(&t, 0, d), x = order[d];
      order[d] = order[j];
      order[j] = x;
    }
    bool all_inputs = it % 4 != 0; /* else: axes 0..k-1, steps 1 */
    for (int i = 0; i < k; i++) {
      int a = all_inputs ? order[i] : i;
      int64_t dim = dims[a];
      axes[i] = rnd(&t) % 2 ? a : a - rank;
      starts[i] = rnd_in(&t, -dim - 2, dim + 2);
      ends[i] = rnd_in(&t, -dim - 2, dim + 2);
      steps[i] = all_inputs ? rnd_in(&t, 1, 3) * (rnd(&t) % 2 ? 1 : -1) : 1;
      if (rnd(&t) % 4 != 0) { /* mostly non-empty slices */
        int64_t b = rnd_in(&t, 0, dim - 1), e;
        if (steps[i] > 0)
          e = rnd_in(&t, b + 1, dim + 2);
        else
          e = b == 0 ? -dim - 1 : rnd_in(&t, -1, b - 1);
        if (e == -1) e = -dim - 1; /* before element 0 */
        starts[i] = rnd(&t) % 2 ? b : b - dim;
        ends[i] = e >= 0 && e < dim && rnd(&t) % 2 ? e - dim : e;
      }
      if (it % 9 == 0) ends[i] = steps[i] > 0 ? INT64_MAX : INT64_MIN;
    }
    ir_tensor_id in[5], y;
    in[0] = tg_input(&t, kTypes[it % NTYPES], rank, dims);
    in[1] = tg_ints(&t, starts, k);
    in[2] = tg_ints(&t, ends, k);
    in[3] = tg_ints(&t, axes, k);
    in[4] = tg_ints(&t, steps, k);
    tg_node(&t, IR_OP_SLICE, 13, in, all_inputs ? 5 : 3, 1, &y);
    tg_run(&t, 0, "Slice");
  }
}

static void test_gather(void) {
  for (int it = 0; it < 40; it++) {
    tg t;
    tg_init(&t, 500u + (uint32_t)it);
    int rank = (int)rnd_in(&t, 1, 4), axis = (int)rnd_in(&t, 0, rank - 1);
    int irank = (int)rnd_in(&t, 0, 2);
    int64_t dims[8], idims[8];
    rand_shape(&t, rank, 1, 6, dims);
    rand_shape(&t, irank, 1, 4, idims);
    ir_tensor_id in[2], y;
    in[0] = tg_input(&t, kTypes[it % NTYPES], rank, dims);
    ir_dtype it_dt = it % 2 ? IR_I32 : IR_I64;
    in[1] = tg_input(&t, it_dt, irank, idims);
    ir_value *iv = &t.vals[1];
    size_t n = ir_shape_numel(&iv->shape);
    for (size_t i = 0; i < n; i++) /* valid indices, negatives included */
      ir_store_i64(it_dt, iv->data, i,
                   rnd_in(&t, -dims[axis], dims[axis] - 1));
    ir_node_id nd = tg_node(&t, IR_OP_GATHER, 13, in, 2, 1, &y);
    kt_attr_int(t.g, nd, "axis", axis);
    tg_run(&t, 0, "Gather");
  }
}

/* Out-of-range run-time indices: the reference rejects them; the engine
 * wraps a negative index once and clamps what is still outside. */
static void test_gather_clamp(void) {
  tg t;
  tg_init(&t, 77);
  int64_t dims[2] = {5, 3}, idims[1] = {6};
  ir_tensor_id in[2], y;
  in[0] = tg_input(&t, IR_F32, 2, dims);
  in[1] = tg_input(&t, IR_I64, 1, idims);
  int64_t idx[6] = {-1, -5, -6, -100, 5, 1000};
  int64_t want[6] = {4, 0, 0, 0, 4, 4};
  memcpy(t.vals[1].data, idx, sizeof idx);
  tg_node(&t, IR_OP_GATHER, 13, in, 2, 1, &y);
  ir_graph *g = t.g;
  cg_target host;
  ir_value got = {0};
  CHECK_OK(kt_finish(g));
  CHECK_OK(cg_target_host(&host));
  CHECK_OK(kt_run_native(g, &host, t.vals, &got, NULL, 0));
  const float *x = t.vals[0].data, *o = got.data;
  for (int i = 0; o && i < 6; i++)
    for (int j = 0; j < 3; j++) CHECK(o[i * 3 + j] == x[want[i] * 3 + j]);
  ir_value_free(&got);
  for (int i = 0; i < t.nin; i++) ir_value_free(&t.vals[i]);
  ir_graph_destroy(g);
}

static void test_tile_expand(void) {
  for (int it = 0; it < 30; it++) {
    tg t;
    tg_init(&t, 600u + (uint32_t)it);
    int rank = (int)rnd_in(&t, 1, 4);
    int64_t dims[8], rep[8];
    rand_shape(&t, rank, 1, 5, dims);
    for (int d = 0; d < rank; d++) rep[d] = rnd_in(&t, it % 6 ? 1 : 0, 3);
    ir_tensor_id in[2], y;
    in[0] = tg_input(&t, kTypes[it % NTYPES], rank, dims);
    in[1] = tg_ints(&t, rep, rank);
    tg_node(&t, IR_OP_TILE, 13, in, 2, 1, &y);
    tg_run(&t, 0, "Tile");
  }
  for (int it = 0; it < 30; it++) {
    tg t;
    tg_init(&t, 700u + (uint32_t)it);
    int rank = (int)rnd_in(&t, 1, 4), orank = rank + (int)rnd_in(&t, 0, 2);
    int64_t dims[8], shape[8];
    rand_shape(&t, orank, 1, 5, shape);
    for (int d = 0; d < rank; d++) {
      int64_t o = shape[orank - rank + d];
      dims[d] = rnd(&t) % 2 ? 1 : o;
    }
    for (int d = 0; d < orank; d++) /* the shape may hold 1 where x has n */
      if (d >= orank - rank && rnd(&t) % 4 == 0) shape[d] = 1;
    ir_tensor_id in[2], y;
    in[0] = tg_input(&t, kTypes[it % NTYPES], rank, dims);
    in[1] = tg_ints(&t, shape, orank);
    tg_node(&t, IR_OP_EXPAND, 13, in, 2, 1, &y);
    tg_run(&t, 0, "Expand");
  }
}

static void test_pad(void) {
  static const char *const modes[] = {"constant", "reflect", "edge"};
  for (int it = 0; it < 60; it++) {
    tg t;
    tg_init(&t, 800u + (uint32_t)it);
    int rank = (int)rnd_in(&t, 1, 4), mode = it % 3;
    int64_t dims[8], pads[16];
    rand_shape(&t, rank, 1, 6, dims);
    for (int d = 0; d < rank; d++) {
      /* reflect needs pads below the dim; crops keep at least one */
      int64_t hi = mode == 1 ? dims[d] - 1 : 4;
      pads[d] = rnd_in(&t, mode == 0 ? -1 : 0, hi);
      pads[rank + d] = rnd_in(&t, mode == 0 ? -1 : 0, hi);
      if (dims[d] + pads[d] + pads[rank + d] < 1) pads[d] = pads[rank + d] = 0;
    }
    ir_dtype dt = kTypes[it % NTYPES];
    ir_tensor_id in[3], y;
    in[0] = tg_input(&t, dt, rank, dims);
    in[1] = tg_ints(&t, pads, 2 * rank);
    int nin = 2;
    if (mode == 0 && it % 2) { /* an explicit constant */
      unsigned char v[8] = {0};
      ir_store_f64(dt, v, 0, 3.0);
      ir_value c = {.dtype = dt, .shape = {0, {0}}, .data = v};
      in[2] = tg_const(&t, &c);
      nin = 3;
    }
    ir_node_id n = tg_node(&t, IR_OP_PAD, 13, in, nin, 1, &y);
    kt_attr_string(t.g, n, "mode", modes[mode]);
    tg_run(&t, 0, "Pad");
  }
}

static void test_reshapes(void) {
  for (int it = 0; it < 24; it++) {
    tg t;
    tg_init(&t, 900u + (uint32_t)it);
    int64_t dims[4] = {2, 3, 1, 5};
    ir_tensor_id in[2], y;
    in[0] = tg_input(&t, kTypes[it % NTYPES], 4, dims);
    ir_node_id n;
    switch (it % 4) {
    case 0: {
      int64_t shape[3] = {3, -1, 5};
      in[1] = tg_ints(&t, shape, 3);
      tg_node(&t, IR_OP_RESHAPE, 13, in, 2, 1, &y);
      break;
    }
    case 1:
      n = tg_node(&t, IR_OP_FLATTEN, 13, in, 1, 1, &y);
      kt_attr_int(t.g, n, "axis", it % 3);
      break;
    case 2: {
      int64_t axes[1] = {2};
      in[1] = tg_ints(&t, axes, 1);
      tg_node(&t, IR_OP_SQUEEZE, 13, in, 2, 1, &y);
      break;
    }
    default: {
      int64_t axes[2] = {0, -1};
      in[1] = tg_ints(&t, axes, 2);
      tg_node(&t, IR_OP_UNSQUEEZE, 13, in, 2, 1, &y);
      break;
    }
    }
    tg_run(&t, 0, "Reshape family");
  }
}

/* Chains: a transpose feeding a slice feeding a concat, so operands come
 * from other steps' outputs rather than graph inputs. */
static void test_chain(void) {
  tg t;
  tg_init(&t, 1000);
  int64_t dims[3] = {4, 7, 6};
  int64_t perm[3] = {2, 0, 1};
  int64_t st[1] = {1}, en[1] = {-1}, ax[1] = {2}, sp[1] = {2};
  ir_tensor_id x = tg_input(&t, IR_F32, 3, dims), a, b, c;
  ir_node_id n = tg_node(&t, IR_OP_TRANSPOSE, 13, &x, 1, 1, &a);
  kt_attr_ints(t.g, n, "perm", perm, 3);
  ir_tensor_id sin[5] = {a, tg_ints(&t, st, 1), tg_ints(&t, en, 1),
                         tg_ints(&t, ax, 1), tg_ints(&t, sp, 1)};
  tg_node(&t, IR_OP_SLICE, 13, sin, 5, 1, &b);
  ir_tensor_id cin[2] = {b, b};
  n = tg_node(&t, IR_OP_CONCAT, 13, cin, 2, 1, &c);
  kt_attr_int(t.g, n, "axis", 1);
  tg_run(&t, 0, "Transpose-Slice-Concat");
}

/* Single long strided rows, which the lowering splits for the tasks:
 * a broadcast fill (stride 0) and a step-2 slice. */
static void test_long_rows(void) {
  tg t;
  tg_init(&t, 1100);
  int64_t one[1] = {1}, shape[1] = {40000};
  ir_tensor_id in[5], y;
  in[0] = tg_input(&t, IR_F32, 1, one);
  in[1] = tg_ints(&t, shape, 1);
  tg_node(&t, IR_OP_EXPAND, 13, in, 2, 1, &y);
  tg_run(&t, 0, "Expand to a long row");

  tg_init(&t, 1101);
  int64_t len[1] = {100001}, st[1] = {1}, en[1] = {100001}, ax[1] = {0};
  int64_t sp[1] = {2};
  in[0] = tg_input(&t, IR_I16, 1, len);
  in[1] = tg_ints(&t, st, 1);
  in[2] = tg_ints(&t, en, 1);
  in[3] = tg_ints(&t, ax, 1);
  in[4] = tg_ints(&t, sp, 1);
  tg_node(&t, IR_OP_SLICE, 13, in, 5, 1, &y);
  tg_run(&t, 0, "Slice of a long row");
}

int main(void) {
  test_long_rows();
  test_transpose();
  test_concat_split();
  test_slice();
  test_gather();
  test_gather_clamp();
  test_tile_expand();
  test_pad();
  test_reshapes();
  test_chain();
  return check_report("test_movement");
}

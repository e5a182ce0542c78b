/* test_tensor_map.c — the engine's TENSOR_MAP (format 1.2) and the
 * runtime's intermediate-tensor API (ingot_session_keep_tensors /
 * ingot_session_read_tensor), end to end.
 *
 * 1. The sample CNN (tests/models/cnn.onnx, fp32): every mapped tensor,
 *    read back after a run with keep on, equals the reference
 *    interpreter's value of the same name (relative 1e-4: the engine's
 *    conv sums in another order), although the memory plan reuses their
 *    bytes; misuse gets the documented statuses.
 * 2. A QuantizeLinear -> Transpose -> DequantizeLinear graph: the u8 tensors
 *    are mapped as quantised with the QuantizeLinear's parameters and read
 *    back as uint8 exactly and as float32 dequantised.
 * Budget: about 2 s under ASan (two small engine builds).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "check.h"
#include "ingot/ingot.h"
#include "ir.h"

#ifndef INGOT_SOURCE_DIR
#define INGOT_SOURCE_DIR "."
#endif

typedef struct observed {
  char *name[512];
  ir_value v[512];
  int n;
} observed;

static void observe(void *ctx, const ir_graph *g, ir_tensor_id t,
                    const ir_value *v) {
  observed *o = ctx;
  if (o->n == 512) return;
  o->name[o->n] = strdup(g->tensors[t].name);
  CHECK_OK(ir_value_copy(&o->v[o->n], v));
  o->n++;
}

static const ir_value *find_obs(const observed *o, const char *name) {
  for (int i = 0; i < o->n; i++)
    if (strcmp(o->name[i], name) == 0) return &o->v[i];
  return NULL;
}

static void build(ir_graph *g, void **eng, size_t *size) {
  cg_build_options opt = {0};
  CHECK_OK(cg_build_engine(g, &opt, eng, size));
}

static void test_cnn(void) {
  const char *path = INGOT_SOURCE_DIR "/tests/models/cnn.onnx";
  ir_graph *ref = NULL, *g = NULL;
  CHECK_OK(ir_import_onnx_file(path, NULL, &ref));
  CHECK_OK(ir_import_onnx_file(path, NULL, &g));
  if (!ref || !g) return;
  ir_value x;
  CHECK_OK(ir_read_npy(INGOT_SOURCE_DIR "/tests/models/cnn.input.npy", &x));
  observed obs = {0};
  ir_value out[4] = {0};
  ir_interp_options io = {observe, &obs};
  CHECK_OK(ir_interp_run(ref, &x, out, &io));
  void *eng = NULL;
  size_t size = 0;
  build(g, &eng, &size);
  ingot_engine *e = NULL;
  ingot_session *s = NULL;
  CHECK_OK(ingot_engine_load_memory(eng, size, &e));
  ingot_session_options so = {.threads = 2};
  if (e) CHECK_OK(ingot_session_create(e, &so, &s));
  if (!s) return;
  int n = ingot_engine_tensor_count(e);
  printf("cnn: %d mapped tensors\n", n);
  CHECK(n >= 10);
  CHECK(ingot_engine_find_tensor(e, "input") >= 0);
  CHECK(ingot_engine_find_tensor(e, "logits") >= 0);
  CHECK(ingot_engine_find_tensor(e, "no such tensor") == -1);
  ingot_map_tensor_info info;
  ingot_status st = ingot_engine_tensor_map_info(e, n, &info);
  CHECK(ingot_status_code_of(st) == INGOT_OUT_OF_RANGE);
  ingot_status_free(st);

  CHECK_OK(ingot_session_set_input(s, 0, INGOT_FLOAT32, x.data,
                                   ir_value_nbytes(&x)));
  /* Reading before keeping is a precondition error. */
  float one;
  st = ingot_session_read_tensor(s, 0, INGOT_FLOAT32, &one, sizeof one);
  CHECK(ingot_status_code_of(st) == INGOT_FAILED_PRECONDITION);
  ingot_status_free(st);
  /* A plain run first: the arena then holds whatever the plan left. */
  CHECK_OK(ingot_session_run(s));
  CHECK_OK(ingot_session_keep_tensors(s, 1));
  st = ingot_session_read_tensor(s, 0, INGOT_FLOAT32, &one, sizeof one);
  CHECK(ingot_status_code_of(st) == INGOT_FAILED_PRECONDITION);
  ingot_status_free(st);
  CHECK_OK(ingot_session_run(s));

  int compared = 0, nhwc = 0;
  for (int i = 0; i < n; i++) {
    CHECK_OK(ingot_engine_tensor_map_info(e, i, &info));
    const ir_value *r = find_obs(&obs, info.name);
    if (!r && strcmp(info.name, "input") == 0) r = &x;
    if (!r) continue; /* a tensor a pass made */
    size_t count = ir_shape_numel(&r->shape);
    CHECK(info.nbytes == count * 4);
    CHECK(!info.quantized);
    float *got = malloc(count * 4 + 4);
    CHECK_OK(ingot_session_read_tensor(s, i, INGOT_FLOAT32, got, count * 4));
    double worst = 0, mag = 1e-6;
    for (size_t k = 0; k < count; k++) {
      double d = fabs((double)got[k] - ((const float *)r->data)[k]);
      if (d > worst) worst = d;
      if (fabs(((const float *)r->data)[k]) > mag)
        mag = fabs(((const float *)r->data)[k]);
    }
    if (worst > 1e-4 * mag)
      fprintf(stderr, "tensor '%s' (step %d): max error %g of %g\n",
              info.name, info.step, worst, mag);
    CHECK(worst <= 1e-4 * mag);
    compared++;
    nhwc += info.nhwc;
    /* Wrong size and wrong dtype are rejected. */
    st = ingot_session_read_tensor(s, i, INGOT_FLOAT32, got, count * 4 - 4);
    CHECK(ingot_status_code_of(st) == INGOT_INVALID_ARGUMENT);
    ingot_status_free(st);
    st = ingot_session_read_tensor(s, i, INGOT_INT8, got, count);
    CHECK(ingot_status_code_of(st) == INGOT_INVALID_ARGUMENT);
    ingot_status_free(st);
    free(got);
  }
  printf("cnn: %d tensors equal the reference's, %d of them stored NHWC\n",
         compared, nhwc);
  CHECK(compared >= 10);
  CHECK(nhwc >= 5);
  /* Turning keeping off drops the copies. */
  CHECK_OK(ingot_session_keep_tensors(s, 0));
  st = ingot_session_read_tensor(s, 0, INGOT_FLOAT32, &one, sizeof one);
  CHECK(ingot_status_code_of(st) == INGOT_FAILED_PRECONDITION);
  ingot_status_free(st);
  /* The plain run still gives the same output. */
  CHECK_OK(ingot_session_run(s));
  float logits[10];
  CHECK_OK(ingot_session_get_output(s, 0, INGOT_FLOAT32, logits, sizeof logits));
  for (int k = 0; k < 10; k++)
    CHECK(fabsf(logits[k] - ((float *)out[0].data)[k]) < 1e-3f);

  ingot_session_destroy(s);
  ingot_engine_release(e);
  free(eng);
  for (int i = 0; i < obs.n; i++) {
    free(obs.name[i]);
    ir_value_free(&obs.v[i]);
  }
  ir_value_free(&out[0]);
  ir_value_free(&x);
  ir_graph_destroy(ref);
  ir_graph_destroy(g);
}

/* x -> QuantizeLinear(0.05, 100) -> Transpose -> DequantizeLinear -> y */
static void test_quantized(void) {
  ir_graph *g = NULL;
  CHECK_OK(ir_graph_create(&g));
  if (!g) return;
  g->opset = 13;
  ir_tensor_id x, q, r, y, sc, zp;
  CHECK_OK(ir_graph_add_tensor(g, "x", &x));
  g->tensors[x].dtype = IR_F32;
  g->tensors[x].role = IR_ROLE_INPUT;
  g->tensors[x].shape_known = true;
  g->tensors[x].shape.rank = 2;
  g->tensors[x].shape.dims[0] = 3;
  g->tensors[x].shape.dims[1] = 5;
  float scale = 0.05f;
  uint8_t zero = 100;
  ir_value vs = {IR_F32, {0}, &scale, true};
  ir_value vz = {IR_U8, {0}, &zero, true};
  CHECK_OK(ir_graph_add_constant(g, "q.scale", NULL, &vs, &sc));
  CHECK_OK(ir_graph_add_constant(g, "q.zp", NULL, &vz, &zp));
  CHECK_OK(ir_graph_add_tensor(g, "q", &q));
  CHECK_OK(ir_graph_add_tensor(g, "r", &r));
  CHECK_OK(ir_graph_add_tensor(g, "y", &y));
  ir_tensor_id in1[3] = {x, sc, zp}, in3[3] = {r, sc, zp};
  CHECK_OK(ir_graph_add_node(g, IR_OP_QUANTIZE_LINEAR, "quant", in1, 3, &q, 1, NULL));
  CHECK_OK(ir_graph_add_node(g, IR_OP_TRANSPOSE, "transpose", &q, 1, &r, 1, NULL));
  CHECK_OK(ir_graph_add_node(g, IR_OP_DEQUANTIZE_LINEAR, "dequant", in3, 3, &y, 1, NULL));
  g->inputs = ir_arena_alloc(&g->arena, sizeof *g->inputs);
  g->outputs = ir_arena_alloc(&g->arena, sizeof *g->outputs);
  g->inputs[0] = x;
  g->outputs[0] = y;
  g->n_inputs = g->n_outputs = 1;
  g->tensors[y].is_output = true;
  CHECK_OK(ir_parse_nodes(g));
  CHECK_OK(ir_infer_shapes(g));
  void *eng = NULL;
  size_t size = 0;
  build(g, &eng, &size);
  ingot_engine *e = NULL;
  ingot_session *s = NULL;
  if (eng) CHECK_OK(ingot_engine_load_memory(eng, size, &e));
  if (e) CHECK_OK(ingot_session_create(e, NULL, &s));
  if (!s) {
    ingot_engine_release(e);
    free(eng);
    ir_graph_destroy(g);
    return;
  }
  float xs[15];
  for (int i = 0; i < 15; i++) xs[i] = -3.0f + 0.43f * (float)i;
  CHECK_OK(ingot_session_set_input(s, 0, INGOT_FLOAT32, xs, sizeof xs));
  CHECK_OK(ingot_session_keep_tensors(s, 1));
  CHECK_OK(ingot_session_run(s));
  int iq = ingot_engine_find_tensor(e, "q"), ir = ingot_engine_find_tensor(e, "r");
  CHECK(iq >= 0 && ir >= 0);
  ingot_map_tensor_info info;
  for (int t = 0; t < 2 && iq >= 0 && ir >= 0; t++) {
    int idx = t ? ir : iq;
    CHECK_OK(ingot_engine_tensor_map_info(e, idx, &info));
    CHECK(info.dtype == INGOT_UINT8);
    CHECK(info.quantized);
    CHECK(info.scale == scale && info.zero_point == zero);
    CHECK(info.step >= 0);
    uint8_t u[15];
    float f[15];
    CHECK_OK(ingot_session_read_tensor(s, idx, INGOT_UINT8, u, sizeof u));
    CHECK_OK(ingot_session_read_tensor(s, idx, INGOT_FLOAT32, f, sizeof f));
    for (int i = 0; i < 15; i++) {
      int src = t ? (i % 3) * 5 + i / 3 : i; /* r = q transposed, 5x3 */
      float qf = rintf(xs[src] / scale) + (float)zero;
      int want = qf < 0 ? 0 : qf > 255 ? 255 : (int)qf;
      CHECK(u[i] == want);
      CHECK(f[i] == (float)(want - zero) * scale);
    }
  }
  ingot_session_destroy(s);
  ingot_engine_release(e);
  free(eng);
  ir_graph_destroy(g);
}

int main(void) {
  test_cnn();
  test_quantized();
  return check_report("test_tensor_map");
}

/* test_models.c — the sample models of tests/models/ through the reference
 * interpreter, against the outputs ONNX's own ReferenceEvaluator computed
 * when make_models.py built them.
 *
 * usage: test_models [--engine] MODEL.onnx INPUT.npy NAME=EXPECTED.npy ...
 * --engine builds an fp32 engine for this CPU (LLVM) and runs it with
 * libingot_rt instead of the reference interpreter.
 * Tolerance: |got - want| <= 1e-4 * max(1, |want|) for every element
 * (the issues' "within 1e-4"); dtype and shape exactly.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "ir.h"
#ifdef INGOT_HAVE_CODEGEN
#include "build.h"
#endif

#ifdef INGOT_HAVE_CODEGEN
/* Builds and runs an engine; outputs follow g's outputs. */
static ingot_status run_engine(const char *model, const ir_value *in,
                               ir_value *out, uint32_t n_out) {
  ir_graph *g = NULL;
  INGOT_RETURN_IF_ERROR(ir_import_onnx_file(model, NULL, &g));
  void *bytes = NULL;
  size_t size = 0;
  ingot_status s = cg_build_engine(g, NULL, &bytes, &size);
  ir_graph_destroy(g);
  ingot_engine *e = NULL;
  ingot_session *ss = NULL;
  if (!s) s = ingot_engine_load_memory(bytes, size, &e);
  free(bytes);
  if (!s) s = ingot_session_create(e, NULL, &ss);
  if (!s) s = ingot_session_set_input(ss, 0, (ingot_dtype)in->dtype, in->data,
                                      ir_value_nbytes(in));
  if (!s) s = ingot_session_run(ss);
  for (uint32_t k = 0; !s && k < n_out; k++) {
    ingot_tensor_info info;
    s = ingot_engine_output_info(e, (int)k, &info);
    if (s) break;
    out[k].dtype = (ir_dtype)info.dtype;
    out[k].shape.rank = info.rank;
    for (int d = 0; d < info.rank; d++) out[k].shape.dims[d] = info.dims[d];
    s = ir_value_alloc(&out[k]);
    if (!s)
      s = ingot_session_get_output(ss, (int)k, info.dtype, out[k].data,
                                   ir_value_nbytes(&out[k]));
  }
  ingot_session_destroy(ss);
  ingot_engine_release(e);
  return s;
}
#endif

int main(int argc, char **argv) {
  bool engine = argc > 1 && strcmp(argv[1], "--engine") == 0;
  if (engine) {
    argc--;
    argv++;
  }
  if (argc < 4) {
    fprintf(stderr, "usage: %s MODEL INPUT.npy NAME=EXPECTED.npy...\n", argv[0]);
    return 2;
  }
  ir_graph *g = NULL;
  ingot_status s = ir_import_onnx_file(argv[1], NULL, &g);
  if (s) {
    fprintf(stderr, "%s\n", ingot_status_message(s));
    ingot_status_free(s);
    return 1;
  }
  CHECK(g->n_inputs == 1);
  ir_value in = {0}, *out = calloc(g->n_outputs, sizeof *out);
  CHECK_OK(ir_read_npy(argv[2], &in));
  if (engine) {
#ifdef INGOT_HAVE_CODEGEN
    CHECK_OK(run_engine(argv[1], &in, out, g->n_outputs));
#else
    fprintf(stderr, "built without the engine compiler\n");
    return 77;
#endif
  } else {
    CHECK_OK(ir_interp_run(g, &in, out, NULL));
  }
  double worst = 0;
  for (int a = 3; a < argc && !check_failures; a++) {
    char name[512];
    const char *eq = strchr(argv[a], '=');
    CHECK(eq != NULL);
    if (!eq) break;
    snprintf(name, sizeof name, "%.*s", (int)(eq - argv[a]), argv[a]);
    int k = -1;
    for (uint32_t i = 0; i < g->n_outputs; i++)
      if (strcmp(g->tensors[g->outputs[i]].name, name) == 0) k = (int)i;
    CHECK(k >= 0);
    if (k < 0) break;
    ir_value want = {0};
    CHECK_OK(ir_read_npy(eq + 1, &want));
    CHECK(want.dtype == out[k].dtype);
    CHECK(ir_shape_equal(&want.shape, &out[k].shape));
    size_t n = ir_shape_numel(&want.shape);
    for (size_t i = 0; i < n && !check_failures; i++) {
      double x = ir_load_f64(out[k].dtype, out[k].data, i);
      double y = ir_load_f64(want.dtype, want.data, i);
      double err = fabs(x - y) / fmax(1.0, fabs(y));
      if (err > worst) worst = err;
      if (!(err <= 1e-4)) {
        fprintf(stderr, "%s: output '%s' element %zu: got %.9g, want %.9g\n",
                argv[1], name, i, x, y);
        check_failures++;
      }
    }
    ir_value_free(&want);
  }
  printf("%s%s: max relative error %.3g (tolerance 1e-4)\n", argv[1],
         engine ? " (engine)" : "", worst);
  ir_value_free(&in);
  for (uint32_t i = 0; i < g->n_outputs; i++) ir_value_free(&out[i]);
  free(out);
  ir_graph_destroy(g);
  return check_report("test_models");
}

/* test_gpu_samples.c — a whole sample model through the GPU kernels in the
 * SIMT emulator: GRAPH (the ONNX model, or the int8 graph `ingot build
 * --int8 --dump-ir qdq-fold` wrote) planned as `ingot build --target cuda`
 * plans it, every step on its GPU kernel in plan order with the
 * intermediate tensors in one arena, against the reference interpreter on
 * the same graph: on INPUT.npy and on a perturbed copy (float inputs
 * scaled and shifted, integer token ids permuted within [0, 100)).
 * Every output must satisfy kt_same with TOL (|got - want| <= TOL *
 * max(1, max|want|); 0: bit-exact, used for int8 graphs).
 * usage: test_gpu_samples GRAPH INPUT.npy TOL */
#include "gpu_exec.h"
#include "ir/xml.h"
#include "kt_graph.h"

#define MAX_OUT 8

static ingot_status load(const char *path, ir_graph **g) {
  size_t n = strlen(path);
  if (n > 4 && strcmp(path + n - 4, ".xml") == 0)
    return ir_import_xml_file(path, NULL, g);
  return ir_import_onnx_file(path, NULL, g);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: test_gpu_samples GRAPH INPUT.npy TOL\n");
    return 2;
  }
  double tol = atof(argv[3]);
  cg_target t;
  CHECK_OK(cg_target_named("x86-64", &t));
  for (int c = 0; c < 2; c++) {
    ir_value x = {0};
    CHECK_OK(ir_read_npy(argv[2], &x));
    if (!x.data) break;
    int64_t n = ir_shape_numel(&x.shape);
    if (c == 1 && x.dtype == IR_F32)
      for (int64_t i = 0; i < n; i++)
        ((float *)x.data)[i] = ((float *)x.data)[i] * -0.75f + 0.125f;
    else if (c == 1 && x.dtype == IR_I64)
      for (int64_t i = 0; i < n; i++)
        ((int64_t *)x.data)[i] = (((int64_t *)x.data)[i] * 7 + 3 + i) % 100;
    ir_graph *g = NULL;
    CHECK_OK(load(argv[1], &g));
    if (!g) {
      ir_value_free(&x);
      break;
    }
    uint32_t no = g->n_outputs;
    CHECK(no >= 1 && no <= MAX_OUT);
    if (no < 1 || no > MAX_OUT) {
      ir_graph_destroy(g);
      ir_value_free(&x);
      break;
    }
    ir_value want[MAX_OUT] = {{0}}, got[MAX_OUT] = {{0}};
    CHECK_OK(ir_interp_run(g, &x, want, NULL));
    static char kernels[16384];
    char label[512];
    CHECK_OK(gpu_run_traced(g, &t, &x, got, kernels, sizeof kernels));
    if (getenv("KT_VERBOSE")) printf("%s input %d: %s\n", argv[1], c, kernels);
    for (uint32_t o = 0; o < no; o++) {
      snprintf(label, sizeof label, "%s input %d output %u", argv[1], c, o);
      if (got[o].data && want[o].data) {
        if (!kt_same(&got[o], &want[o], tol, label)) check_failures++;
      } else {
        CHECK(got[o].data && want[o].data);
      }
      ir_value_free(&got[o]);
      ir_value_free(&want[o]);
    }
    ir_value_free(&x);
    ir_graph_destroy(g);
  }
  return check_report("test_gpu_samples");
}

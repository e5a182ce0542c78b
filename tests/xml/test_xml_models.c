/* test_xml_models.c — XML IR models made by OpenVINO from the sample
 * models (tests/models/openvino/, see make_openvino_fixtures.py) through
 * the reference interpreter, against the outputs ONNX's ReferenceEvaluator
 * computed for the ONNX originals (tests/models/<model>.<output>.npy).
 *
 * usage: test_xml_models [--tol T] MODEL.xml INPUT.npy NAME=EXPECTED.npy ...
 * Tolerance: |got - want| <= T * max(1, |want|) for every element, T = 1e-4
 * by default (the "within 1e-4"); dtype and shape exactly.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "ir.h"
#include "xml.h"

int main(int argc, char **argv) {
  double tol = 1e-4;
  if (argc > 2 && strcmp(argv[1], "--tol") == 0) {
    tol = atof(argv[2]);
    argc -= 2;
    argv += 2;
  }
  if (argc < 4) {
    fprintf(stderr, "usage: %s MODEL.xml INPUT.npy NAME=EXPECTED.npy...\n",
            argv[0]);
    return 2;
  }
  ir_graph *g = NULL;
  ingot_status s = ir_import_xml_file(argv[1], NULL, &g);
  if (s) {
    fprintf(stderr, "%s\n", ingot_status_message(s));
    ingot_status_free(s);
    return 1;
  }
  CHECK(g->n_inputs == 1);
  ir_value in = {0}, *out = calloc(g->n_outputs + 1, sizeof *out);
  CHECK_OK(ir_read_npy(argv[2], &in));
  if (!check_failures) CHECK_OK(ir_interp_run(g, &in, out, NULL));
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
    size_t n = check_failures ? 0 : ir_shape_numel(&want.shape);
    for (size_t i = 0; i < n && !check_failures; i++) {
      double x = ir_load_f64(out[k].dtype, out[k].data, i);
      double y = ir_load_f64(want.dtype, want.data, i);
      double err = fabs(x - y) / fmax(1.0, fabs(y));
      if (err > worst) worst = err;
      if (!(err <= tol)) {
        fprintf(stderr, "%s: output '%s' element %zu: got %.9g, want %.9g\n",
                argv[1], name, i, x, y);
        check_failures++;
      }
    }
    ir_value_free(&want);
  }
  printf("%s: max relative error %.3g (tolerance %g)\n", argv[1], worst, tol);
  ir_value_free(&in);
  for (uint32_t i = 0; i < g->n_outputs; i++) ir_value_free(&out[i]);
  free(out);
  ir_graph_destroy(g);
  return check_report("test_xml_models");
}

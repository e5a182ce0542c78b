/* test_gpu_model.c — a whole int8 model through the GPU templates in the
 * SIMT emulator: tests/gpu/qcnn.onnx (3x3/2 conv, depthwise, 1x1 with a
 * weight zero point; make_qcnn.py) planned as `ingot build --target cuda`
 * plans it, every step (layout conversion, convolutions) on its GPU kernel,
 * intermediate tensors in one arena, against the reference interpreter,
 * bit-exact; on the checked-in input and on random inputs, including
 * all-0 and all-255 images.  usage: test_gpu_model DIR (tests/gpu). */
#include "gpu_exec.h"
#include "kt_graph.h"

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char path[4096], xpath[4096];
  snprintf(path, sizeof path, "%s/qcnn.onnx", argv[1]);
  snprintf(xpath, sizeof xpath, "%s/qcnn.x.npy", argv[1]);
  cg_target t;
  CHECK_OK(cg_target_named("x86-64", &t));
  for (int c = 0; c < 5; c++) {
    ir_value x = {0};
    if (c == 0) {
      CHECK_OK(ir_read_npy(xpath, &x));
    } else {
      int64_t d[4] = {1, 3, 20, 18};
      x = kt_value(IR_U8, 4, d);
      if (c >= 3) memset(x.data, c == 3 ? 0 : 255, ir_value_nbytes(&x));
    }
    if (!x.data) break;
    ir_graph *g = NULL;
    ir_value want = {0}, got = {0};
    CHECK_OK(ir_import_onnx_file(path, NULL, &g));
    if (!g) break;
    CHECK_OK(ir_interp_run(g, &x, &want, NULL));
    char kernels[256], label[320];
    CHECK_OK(gpu_run_traced(g, &t, &x, &got, kernels, sizeof kernels));
    snprintf(label, sizeof label, "qcnn input %d [%s]", c, kernels);
    if (getenv("KT_VERBOSE")) printf("%s\n", label);
    CHECK(strstr(kernels, "g_qconv_dw") != NULL);
    if (got.data && !kt_same(&got, &want, 0, label)) check_failures++;
    ir_value_free(&got);
    ir_value_free(&want);
    ir_value_free(&x);
    ir_graph_destroy(g);
  }
  return check_report("test_gpu_model");
}

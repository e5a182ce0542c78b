/* gpu_tg.h — force-included into tests/kernels/test_qlinear.c to build
 * test_gpu_qlinear: every tg_run case (QLinearAdd/Mul with broadcasting,
 * QLinearSigmoid/LeakyRelu tables, QLinearConcat, QLinearAveragePool and
 * QLinearGlobalAveragePool, Quantize/DequantizeLinear in NHWC, int8
 * passthrough movement) runs with every step on its GPU kernel in the SIMT
 * emulator (gpu_exec.h) instead of the native plan, against the same
 * reference and tolerance.  A step without a GPU kernel fails the case.
 * test_gpu_ops.c includes it for gpu_tg_run_kernel. */
#ifndef INGOT_TESTS_GPU_TG_H
#define INGOT_TESTS_GPU_TG_H

#include "gpu_exec.h"
#include "kt_graph.h"

/* Runs |t|'s graph on the GPU kernels in the emulator and on the
 * reference, compares the outputs within |tol|, and frees the case.  With
 * |kernel| non-NULL the steps' kernels must include it. */
static inline bool gpu_tg_run_kernel(tg *t, double tol, const char *kernel,
                                     const char *what) {
  ir_graph *g = t->g;
  ir_value want[KT_MAX_IO], got[KT_MAX_IO];
  memset(want, 0, sizeof want);
  memset(got, 0, sizeof got);
  char kernels[512] = "";
  cg_target tgt;
  ingot_status s = kt_finish(g);
  if (!s) s = ir_interp_run(g, t->vals, want, NULL);
  if (!s) s = cg_target_named("x86-64", &tgt);
  if (!s) s = gpu_run_traced(g, &tgt, t->vals, got, kernels, sizeof kernels);
  char label[768];
  snprintf(label, sizeof label, "%s [%s]", what, kernels);
  if (getenv("KT_VERBOSE")) printf("%s\n", label);
  if (!s && kernel && !strstr(kernels, kernel))
    s = ingot_make_status(INGOT_INTERNAL, "%s did not run", kernel);
  return tg_settle(t, s, want, got, tol, label);
}
static inline bool gpu_tg_run(tg *t, double tol, const char *what) {
  return gpu_tg_run_kernel(t, tol, NULL, what);
}
#define tg_run gpu_tg_run

#endif

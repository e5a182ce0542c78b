/* calib_check.c — test driver for calibration's histogram and threshold
 * methods (passes/calib_hist.c); test_calib.py compares it with numpy.
 *   calib_check hist DATA.npy AMAX CHUNK OUT.npy
 *       histogram of float32 DATA over [0, AMAX], fed CHUNK elements at a
 *       time; writes the 2048 counts as uint64
 *   calib_check thresholds HIST.npy AMAX MIN MAX
 *       prints "METHOD T" for percentile (99.99 and 99), entropy and mse
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib_internal.h"

static int fail(ingot_status s) {
  printf("error: %s\n", ingot_status_message(s));
  ingot_status_free(s);
  return 1;
}

int main(int argc, char **argv) {
  static calib_hist h;
  if (argc == 6 && strcmp(argv[1], "hist") == 0) {
    ir_value v;
    ingot_status s = ir_read_npy(argv[2], &v);
    if (s) return fail(s);
    if (v.dtype != IR_F32) {
      printf("error: expected float32\n");
      return 1;
    }
    calib_hist_init(&h, atof(argv[3]));
    size_t n = ir_shape_numel(&v.shape), chunk = (size_t)atol(argv[4]);
    if (chunk == 0) chunk = n;
    for (size_t i = 0; i < n; i += chunk)
      calib_hist_add(&h, (const float *)v.data + i, n - i < chunk ? n - i : chunk);
    ir_value_free(&v);
    ir_value out = {.dtype = IR_U64, .shape = {.rank = 1, .dims = {CALIB_BINS}},
                    .data = h.bins, .borrowed = true};
    s = ir_write_npy(argv[5], &out);
    if (s) return fail(s);
    printf("total %llu\n", (unsigned long long)h.total);
    return 0;
  }
  if (argc == 6 && strcmp(argv[1], "thresholds") == 0) {
    ir_value v;
    ingot_status s = ir_read_npy(argv[2], &v);
    if (s) return fail(s);
    if (v.dtype != IR_U64 && v.dtype != IR_I64) {
      printf("error: expected 64-bit counts\n");
      return 1;
    }
    if (ir_shape_numel(&v.shape) != CALIB_BINS) {
      printf("error: expected %d bins\n", CALIB_BINS);
      return 1;
    }
    calib_hist_init(&h, atof(argv[3]));
    memcpy(h.bins, v.data, sizeof h.bins);
    for (int i = 0; i < CALIB_BINS; i++) h.total += h.bins[i];
    ir_value_free(&v);
    float mn = strtof(argv[4], NULL), mx = strtof(argv[5], NULL);
    printf("percentile99.99 %.17g\n",
           calib_threshold(&h, CALIB_PERCENTILE, 0, mn, mx));
    printf("percentile99 %.17g\n",
           calib_threshold(&h, CALIB_PERCENTILE, 99, mn, mx));
    printf("entropy %.17g\n", calib_threshold(&h, CALIB_ENTROPY, 0, mn, mx));
    printf("mse %.17g\n", calib_threshold(&h, CALIB_MSE, 0, mn, mx));
    return 0;
  }
  fprintf(stderr, "usage: calib_check hist DATA.npy AMAX CHUNK OUT.npy\n"
                  "       calib_check thresholds HIST.npy AMAX MIN MAX\n");
  return 2;
}

/* cmd_calibrate.c — ingot calibrate: runs int8 calibration (passes/
 * calibrate.c) on a model and prints the per-tensor ranges; with
 * --calib-cache it reads or writes the cache `ingot build --int8` reuses.
 * The graph is prepared by the build pipeline's passes up to and
 * including static-shapes, so tensor names and the cache key are the ones
 * the build sees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calibrate.h"
#include "cli.h"
#include "passes.h"

static const char *const help_calibrate =
    "usage: ingot calibrate MODEL --calib DATA [--calib-method M]\n"
    "                       [--calib-cache FILE] [--preprocess SPEC]\n"
    "                       [--max-samples N] [--shapes NAME:DIMS[,...]]\n"
    "                       [--quiet]\n"
    "\n"
    "Runs MODEL (.onnx or .xml) in the fp32 reference interpreter over the\n"
    "calibration data and prints, for every float tensor, the observed\n"
    "min/max and the int8 range [lo, hi] the method chose (docs/int8.md).\n"
    "\n"
    "  --calib DATA         a directory or file of .npy, ONNX .pb, PNG,\n"
    "                       JPEG or MNIST IDX samples (docs/dataset.md)\n"
    "  --calib-method M     minmax, percentile[=P] (default, P = 99.99),\n"
    "                       entropy (KL divergence) or mse\n"
    "  --calib-cache FILE   read the ranges from FILE when it is valid for\n"
    "                       this model and method; otherwise calibrate and\n"
    "                       write FILE\n"
    "  --preprocess SPEC    images: resize=256,crop=224,mean=a,b,c,\n"
    "                       std=a,b,c,scale=255,layout=nchw|nhwc,\n"
    "                       color=rgb|bgr|gray\n"
    "  --max-samples N      use at most N runs of the model\n"
    "  --shapes NAME:DIMS   fix symbolic input dims (e.g. the batch)\n"
    "  --quiet              no log and no progress bar on stderr\n";

int cmd_calibrate(int argc, char **argv) {
  const char *model = NULL;
  calib_options o = {.method = CALIB_PERCENTILE, .progress = true,
                     .log = stderr};
  cli_shapes so = {0};
  int rc = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    bool more = i + 1 < argc;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(help_calibrate, stdout);
      cli_free_shapes(&so);
      return 0;
    } else if (strcmp(a, "--calib") == 0 && more) {
      o.data = argv[++i];
    } else if (strcmp(a, "--calib-method") == 0 && more) {
      ingot_status s = calib_parse_method(argv[++i], &o.method, &o.percentile);
      if (s) {
        cli_free_shapes(&so);
        return cli_fail(s);
      }
    } else if (strcmp(a, "--calib-cache") == 0 && more) {
      o.cache = argv[++i];
    } else if (strcmp(a, "--preprocess") == 0 && more) {
      o.preprocess = argv[++i];
    } else if (strcmp(a, "--max-samples") == 0 && more) {
      char *end;
      long n = strtol(argv[++i], &end, 10);
      if (*end || n <= 0 || n > 1000000000L) {
        cli_free_shapes(&so);
        return cli_usage_error("calibrate", "--max-samples %s: expected a "
                               "positive number", argv[i]);
      }
      o.max_samples = (int)n;
    } else if (strcmp(a, "--shapes") == 0 && more) {
      ingot_status s = cli_parse_shapes(argv[++i], &so);
      if (s) {
        cli_free_shapes(&so);
        return cli_fail(s);
      }
    } else if (strcmp(a, "--quiet") == 0) {
      o.log = NULL;
      o.progress = false;
    } else if (a[0] == '-' || model) {
      cli_free_shapes(&so);
      return cli_usage_error("calibrate", "unexpected argument '%s'", a);
    } else {
      model = a;
    }
  }
  if (!model || !o.data) {
    cli_free_shapes(&so);
    return cli_usage_error("calibrate", "%s",
                           !model ? "missing MODEL" : "missing --calib DATA");
  }
  ir_graph *g = NULL;
  ingot_status s = cli_load_model(model, &so, &g);
  pass_options po = {.verify = false};
  for (int p = 0; !s && p < pass_pipeline_count; p++) {
    s = pass_pipeline[p].fn(g, &po);
    if (s) s = ingot_status_annotate(s, "pass %s: ", pass_pipeline[p].name);
    if (strcmp(pass_pipeline[p].name, "static-shapes") == 0) break;
  }
  calib_table t = {0};
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (!s) s = calib_collect(g, &o, &t);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (s) {
    rc = cli_fail(s);
  } else {
    printf("%-40s %13s %13s %13s %13s\n", "tensor", "min", "max", "lo", "hi");
    uint32_t n = 0;
    for (uint32_t i = 1; i < t.n; i++) {
      const calib_range *r = &t.r[i];
      if (!r->valid) continue;
      printf("%-40s %13.6g %13.6g %13.6g %13.6g\n", g->tensors[i].name,
             r->min, r->max, r->lo, r->hi);
      n++;
    }
    double sec = (double)(t1.tv_sec - t0.tv_sec) +
                 (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    if (t.from_cache)
      printf("%u tensors, from the cache %s (%.2f s)\n", n, o.cache, sec);
    else
      printf("%u tensors, %d runs, %.2f s\n", n, t.samples, sec);
  }
  calib_table_free(&t);
  ir_graph_destroy(g);
  cli_free_shapes(&so);
  return rc;
}

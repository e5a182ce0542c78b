/* cmd_bench.c — ingot bench: latency and throughput of an engine, like
 * trtexec.  Warm-up runs first, then N timed runs; prints min, median,
 * p90, p99, max and mean latency and the throughput they imply.  Timing
 * is wall-clock (CLOCK_MONOTONIC) around ingot_session_run only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_io.h"

static const char *const help_bench =
    "usage: ingot bench ENGINE [--iterations N] [--warmup N] [--threads N]\n"
    "                   [--input NAME=FILE ...] [--json]\n"
    "       ingot bench MODEL.onnx --reference [--iterations N] [...]\n"
    "\n"
    "Runs ENGINE repeatedly and reports latency (min, median, p90, p99,\n"
    "max, mean), throughput, and the engine's load time (file to a session\n"
    "ready to run).  Inputs not given get a fixed synthetic pattern (speed\n"
    "does not depend on values for these kernels).  With --reference it\n"
    "times the reference interpreter on MODEL instead.\n"
    "\n"
    "  --iterations N   timed runs (default 100)\n"
    "  --warmup N       untimed runs first (default 10)\n"
    "  --threads N      threads (default: all CPUs)\n"
    "  --device cpu|cuda  the CPU (default) or GPU 0 (--target cuda engines)\n"
    "  --cuda-graph     with --device cuda: replay the launches as a CUDA\n"
    "                   Graph (captured by the first run)\n"
    "  --input NAME=FILE  real input data (.npy or .pb)\n"
    "  --json           one JSON object instead of the table\n"
    "  --reference      time the reference interpreter on a model\n";

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(const double *v, int n, double p) {
  double idx = p * (n - 1);
  int lo = (int)idx;
  int hi = lo + 1 < n ? lo + 1 : lo;
  return v[lo] + (v[hi] - v[lo]) * (idx - lo);
}

int cmd_bench(int argc, char **argv) {
  const char *path = NULL, *device = NULL;
  const char *inputs[CLI_MAX_INPUTS];
  int n_inputs = 0, iters = 100, warmup = 10, threads = 0;
  bool json = false, reference = false, graph = false;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(help_bench, stdout);
      return 0;
    } else if (strcmp(a, "--iterations") == 0 && i + 1 < argc) {
      iters = atoi(argv[++i]);
      if (iters <= 0) return cli_usage_error("bench", "--iterations needs a positive number, not '%s'", argv[i]);
    } else if (strcmp(a, "--warmup") == 0 && i + 1 < argc) {
      warmup = atoi(argv[++i]);
      if (warmup < 0) return cli_usage_error("bench", "--warmup needs a number >= 0, not '%s'", argv[i]);
    } else if (strcmp(a, "--device") == 0 && i + 1 < argc) {
      device = argv[++i];
    } else if (strcmp(a, "--threads") == 0 && i + 1 < argc) {
      threads = atoi(argv[++i]);
      if (threads <= 0) return cli_usage_error("bench", "--threads needs a positive number, not '%s'", argv[i]);
    } else if (strcmp(a, "--input") == 0 && i + 1 < argc) {
      if (n_inputs == CLI_MAX_INPUTS) return cli_usage_error("bench", "%s", "too many --input");
      inputs[n_inputs++] = argv[++i];
    } else if (strcmp(a, "--json") == 0) {
      json = true;
    } else if (strcmp(a, "--cuda-graph") == 0) {
      graph = true;
    } else if (strcmp(a, "--reference") == 0) {
      reference = true;
    } else if (a[0] == '-') {
      return cli_usage_error("bench", "unknown or incomplete option '%s'", a);
    } else if (!path) {
      path = a;
    } else {
      return cli_usage_error("bench", "unexpected argument '%s'", a);
    }
  }
  if (!path) return cli_usage_error("bench", "%s", "missing ENGINE");
  ingot_engine *e = NULL;
  ingot_session *s = NULL;
  ir_graph *g = NULL;
  ir_value *rin = NULL, *rout = NULL;
  double load_ms = 0;
  double *ms = calloc((size_t)iters, sizeof *ms);
  ingot_status st =
      ms ? NULL : ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "oom");
  struct timespec t0, t1;
  if (!st && reference) {
    st = cli_load_model(path, &(cli_shapes){0}, &g);
    if (!st) {
      rin = calloc(g->n_inputs + 1, sizeof *rin);
      rout = calloc(g->n_outputs + 1, sizeof *rout);
      if (!rin || !rout) st = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "oom");
    }
    for (int i = 0; !st && i < n_inputs; i++) {
      const char *eq = strchr(inputs[i], '=');
      int slot = 0;
      if (eq) {
        char name[1024];
        snprintf(name, sizeof name, "%.*s", (int)(eq - inputs[i]), inputs[i]);
        ir_tensor_id id = ir_graph_find_tensor(g, name);
        slot = -1;
        for (uint32_t k = 0; k < g->n_inputs; k++)
          if (g->inputs[k] == id) slot = (int)k;
        if (slot < 0)
          st = ingot_make_status(INGOT_NOT_FOUND, "--input: '%s' is not an input", name);
      }
      if (!st) st = cli_load_tensor(eq ? eq + 1 : inputs[i], &rin[slot]);
    }
    for (uint32_t k = 0; !st && k < g->n_inputs; k++)
      if (!rin[k].data)
        st = ingot_make_status(INGOT_INVALID_ARGUMENT,
                               "--reference needs --input for '%s'",
                               g->tensors[g->inputs[k]].name);
  } else if (!st) {
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = eio_open_device(path, threads, device, &e, &s);
    if (!st && graph) st = ingot_session_set_cuda_graph(s, 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    load_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
              (double)(t1.tv_nsec - t0.tv_nsec) * 1e-6;
    if (!st) st = eio_set_inputs(e, s, inputs, n_inputs, false);
  }
  for (int i = 0; !st && i < warmup + iters; i++) {
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (reference) {
      st = ir_interp_run(g, rin, rout, NULL);
      for (uint32_t k = 0; !st && k < g->n_outputs; k++) ir_value_free(&rout[k]);
    } else {
      st = ingot_session_run(s);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (i >= warmup)
      ms[i - warmup] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                       (double)(t1.tv_nsec - t0.tv_nsec) * 1e-6;
  }
  int rc = 0;
  if (st) {
    rc = cli_fail(st);
  } else {
    double sum = 0;
    for (int i = 0; i < iters; i++) sum += ms[i];
    qsort(ms, (size_t)iters, sizeof *ms, cmp_double);
    double med = pct(ms, iters, 0.5);
    if (json)
      printf("{\"engine\": \"%s\", \"iterations\": %d, \"warmup\": %d, "
             "\"threads\": %d, \"latency_ms\": {\"min\": %.4f, \"median\": "
             "%.4f, \"p90\": %.4f, \"p99\": %.4f, \"max\": %.4f, \"mean\": "
             "%.4f}, \"throughput_per_s\": %.2f, \"load_ms\": %.4f}\n",
             path, iters, warmup, threads, ms[0], med, pct(ms, iters, 0.9),
             pct(ms, iters, 0.99), ms[iters - 1], sum / iters, 1e3 / med,
             load_ms);
    else
      printf("engine      %s\n"
             "runs        %d timed after %d warm-up, threads %d (0 = all "
             "CPUs)\n"
             "latency ms  min %.4f  median %.4f  p90 %.4f  p99 %.4f  max "
             "%.4f  mean %.4f\n"
             "throughput  %.1f inferences/s (1 / median)\n"
             "load        %.3f ms (engine file to session ready)\n",
             path, iters, warmup, threads,
             ms[0], med, pct(ms, iters, 0.9), pct(ms, iters, 0.99),
             ms[iters - 1], sum / iters, 1e3 / med, load_ms);
  }
  free(ms);
  for (uint32_t k = 0; g && rin && k < g->n_inputs; k++) ir_value_free(&rin[k]);
  free(rin);
  free(rout);
  ir_graph_destroy(g);
  ingot_session_destroy(s);
  ingot_engine_release(e);
  return rc;
}

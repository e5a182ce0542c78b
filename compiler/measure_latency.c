/* measure_latency.c — measured fallback latency for --accuracy-target
 * (docs/accuracy.md "Latency of a fallback").
 *
 * The accuracy search (passes/precision.c) hands over a quantised copy of
 * the graph — plain int8, then the chosen mix — and asks how long given
 * layers take.  This builds the copy into an engine for the build machine
 * (the build's own passes and --amx policy), loads it with libingot_rt and
 * runs it on one thread with step profiling (INGOT_PROFILE_TIME): 10
 * warm-up runs, then timed runs until 200 or 0.5 s.  Each layer's figure
 * is the sum of the quiet times (ingot_step_profile.quiet_us: the mean
 * over the quarter of the runs with the shortest run times) of the steps
 * whose provenance lists the layer's node name.  Inputs hold a fixed
 * pattern (the kernels' speed does not depend on values).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build.h"
#include "ingot/ingot.h"
#include "measure_latency.h"

#define WARMUP 10
#define MAX_RUNS 200
#define MAX_SECONDS 0.5

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Does the '\n'-separated provenance |p| list node |name|? */
static bool names_node(const char *p, const char *name) {
  size_t len = strlen(name);
  while (p && *p) {
    size_t n = strcspn(p, "\n");
    if (n == len && !memcmp(p, name, len)) return true;
    p += n + (p[n] == '\n');
  }
  return false;
}

static ingot_status set_inputs(ingot_engine *e, ingot_session *ss) {
  ingot_status s = NULL;
  for (int i = 0; !s && i < ingot_engine_input_count(e); i++) {
    ingot_tensor_info info;
    s = ingot_engine_input_info(e, i, &info);
    if (s) break;
    unsigned char *buf = calloc(info.nbytes ? info.nbytes : 1, 1);
    if (!buf)
      return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
    if (info.dtype == INGOT_FLOAT32)
      for (size_t k = 0; k < info.nbytes / 4; k++) {
        float v = (float)((int)(k % 17) - 8) * 0.125f;
        memcpy(buf + 4 * k, &v, 4);
      }
    s = ingot_session_set_input(ss, i, info.dtype, buf, info.nbytes);
    free(buf);
  }
  return s;
}

ingot_status cli_measure_latency(void *vctx, ir_graph *g,
                                 const char *const *names, int n,
                                 double *us) {
  const cli_measure_ctx *ctx = vctx;
  void *bytes = NULL;
  size_t size = 0;
  cg_build_options bo = {.passes = &ctx->passes, .amx = ctx->amx};
  ingot_status s = cg_build_engine(g, &bo, &bytes, &size);
  ingot_engine *e = NULL;
  ingot_session *ss = NULL;
  ingot_session_options so = {.threads = 1};
  if (!s) s = ingot_engine_load_memory(bytes, size, &e);
  free(bytes);
  if (!s) s = ingot_session_create(e, &so, &ss);
  if (!s) s = set_inputs(e, ss);
  for (int r = 0; !s && r < WARMUP; r++) s = ingot_session_run(ss);
  if (!s) s = ingot_session_set_profiling(ss, INGOT_PROFILE_TIME);
  double t0 = seconds();
  for (int r = 0; !s && r < MAX_RUNS && (r < 8 || seconds() - t0 < MAX_SECONDS);
       r++)
    s = ingot_session_run(ss);
  for (int j = 0; j < n; j++) us[j] = NAN;
  int steps = 0;
  if (e) {
    ingot_engine_info ei;
    ingot_engine_get_info(e, &ei);
    steps = ei.step_count;
  }
  for (int k = 0; !s && k < steps; k++) {
    ingot_step_info info;
    ingot_step_profile p;
    s = ingot_engine_step_info(e, k, &info);
    if (!s) s = ingot_session_step_profile(ss, k, &p);
    for (int j = 0; !s && j < n; j++)
      if (names_node(info.provenance, names[j]))
        us[j] = (isnan(us[j]) ? 0 : us[j]) + p.quiet_us;
  }
  ingot_session_destroy(ss);
  ingot_engine_release(e);
  return s;
}

/* measure_latency.h — times engine steps per model node for the accuracy
 * search's fallback costs (quant_options.measure, passes/precision.c). */
#ifndef INGOT_COMPILER_MEASURE_LATENCY_H
#define INGOT_COMPILER_MEASURE_LATENCY_H

#include "passes.h"

typedef struct cli_measure_ctx {
  pass_options passes; /* the build's, without --int8 (the copy is
                          already quantised) */
  int amx;             /* cg_amx_policy */
} cli_measure_ctx;

/* quant_options.measure: builds |g| for the build machine, runs it on one
 * thread with the profiler and writes, per name, the summed quiet time of
 * the steps whose provenance names it (NAN: none). */
ingot_status cli_measure_latency(void *ctx, ir_graph *g,
                                 const char *const *names, int n, double *us);

#endif

/* passes.h — graph-to-graph passes, run in order by passes/pipeline.c.
 *
 * Every pass has the same shape: it mutates the graph and leaves it valid
 * (ir_verify runs after each pass when pass_options.verify is set; the
 * tests set it).  Errors name the node and the pass.
 */
#ifndef INGOT_PASSES_H
#define INGOT_PASSES_H

#include <stdio.h>

#include "ir.h"

struct quant_options; /* quantize.h */

typedef struct pass_options {
  bool verify;        /* ir_verify after every pass */
  bool nhwc;          /* layout: store conv/pool activations as NHWC */
  FILE *log;          /* --verbose: what each pass did; NULL = quiet */
  /* --dump-ir: after the pass named |dump_stage| ("import" = before the
   * first), call dump(g, dump_stage, dump_ctx). */
  const char *dump_stage;
  ingot_status (*dump)(const ir_graph *g, const char *stage, void *ctx);
  void *dump_ctx;
  /* ingot build --int8 (calibrate, quantize, precision table); NULL
   * otherwise.  qdq-fold runs either way. */
  struct quant_options *int8;
  /* --no-fuse: no fusion pass changes the graph and the planner fuses no
   * steps (docs/fusion.md); for comparisons. */
  bool no_fuse;
} pass_options;

typedef ingot_status (*pass_fn)(ir_graph *g, const pass_options *opt);

typedef struct pass_info {
  const char *name;
  pass_fn fn;
  const char *what; /* one line for --verbose and --help */
} pass_info;

/* The engine pipeline, in order (pipeline.c). */
extern const pass_info pass_pipeline[];
extern const int pass_pipeline_count;
/* Runs the pipeline; stops at the first error (annotated with the pass). */
ingot_status pass_run_pipeline(ir_graph *g, const pass_options *opt);

/* Freezes graph input |name| to the value |v| (it becomes a constant; the
 * engine no longer takes it as an input) and re-infers shapes. */
ingot_status pass_freeze_input(ir_graph *g, const char *name,
                               const ir_value *v);

ingot_status pass_fold(ir_graph *g, const pass_options *opt);
ingot_status pass_fold_bn(ir_graph *g, const pass_options *opt);
ingot_status pass_simplify(ir_graph *g, const pass_options *opt);
ingot_status pass_static_shapes(ir_graph *g, const pass_options *opt);
ingot_status pass_calibrate(ir_graph *g, const pass_options *opt);
ingot_status pass_quantize(ir_graph *g, const pass_options *opt);
ingot_status pass_qdq_fold(ir_graph *g, const pass_options *opt);
ingot_status pass_layout(ir_graph *g, const pass_options *opt);
ingot_status pass_fuse_gelu(ir_graph *g, const pass_options *opt);
ingot_status pass_fuse_layernorm(ir_graph *g, const pass_options *opt);
ingot_status pass_fuse_reduce(ir_graph *g, const pass_options *opt);

#endif /* INGOT_PASSES_H */

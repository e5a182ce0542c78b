/* quantize.h — the int8 build's options and its per-layer precision table
 * (DESIGN.md §4 "quantize" and "precision"; docs/int8.md).
 *
 * `ingot build --int8` fills a quant_options and hangs it on
 * pass_options.int8.  The pipeline's calibrate pass fills |table| through
 * |collect| (calib_collect, passes/calibrate.h) unless a caller (a test)
 * gives the table; quantize inserts QuantizeLinear/DequantizeLinear pairs
 * from it; qdq-fold turns them into int8 ops and settles each layer's
 * chosen precision in |report|, which the build log and BUILD_INFO print.
 * Everything here is borrowed from the caller except |report|'s rows,
 * which quant_report_free releases.
 */
#ifndef INGOT_QUANTIZE_H
#define INGOT_QUANTIZE_H

#include <stdio.h>

#include "calibrate.h"
#include "ir.h"

typedef enum quant_act_scheme {
  QUANT_ACT_U8 = 0, /* uint8, asymmetric (the default) */
  QUANT_ACT_S8 = 1, /* int8, symmetric, zero point 0 */
} quant_act_scheme;

/* A layer's precision. */
typedef enum quant_prec {
  QUANT_P_FP32 = 0,
  QUANT_P_INT8 = 1,
  QUANT_P_BF16 = 2, /* bf16 operands, fp32 accumulation */
} quant_prec;

/* --layer-precision NAME=fp32|int8|bf16; NAME may be a glob (fnmatch:
 * * ? [...]).  A NAME that matches no node of the model is an error that
 * lists the closest names. */
typedef struct quant_override {
  const char *node; /* the model's node name: |len| bytes, borrowed */
  size_t len;
  bool int8;        /* prec == QUANT_P_INT8 */
  quant_prec prec;
} quant_override;

/* --accuracy-target sqnr=DB | top1=FRAC (passes/precision.c). */
typedef enum quant_target_kind {
  QUANT_TARGET_NONE = 0,
  QUANT_TARGET_SQNR = 1, /* lowest output SQNR vs fp32, dB, >= value */
  QUANT_TARGET_TOP1 = 2, /* top-1 agreement with fp32, fraction, >= */
} quant_target_kind;

typedef struct quant_target {
  quant_target_kind kind;
  double value;
} quant_target;

/* One row of the per-layer table: a node of the model. */
typedef struct quant_layer {
  const char *node; /* graph arena string ("" for an unnamed node) */
  const char *op;   /* its op as the model wrote it */
  bool req_int8;    /* requested */
  bool req_bf16;    /* requested bf16 (--layer-precision NAME=bf16) */
  bool explicit_req; /* requested by --layer-precision */
  bool int8;        /* chosen */
  bool bf16;        /* chosen bf16 (ir_node.compute, docs/accuracy.md) */
  bool has_int8;    /* the op has an int8 form */
  char why[200];
} quant_layer;

typedef struct quant_report {
  quant_layer *rows; /* malloc'd */
  int n, cap;
  /* The accuracy search's summary ("key: value" lines for BUILD_INFO and
   * the log), malloc'd; NULL without --accuracy-target. */
  char *search;
} quant_report;

typedef ingot_status (*quant_collect_fn)(const ir_graph *g,
                                         const calib_options *o,
                                         calib_table *out);

typedef struct quant_options {
  bool int8;                 /* --int8 */
  quant_act_scheme act;      /* --act-scheme */
  const quant_override *overrides;
  int n_overrides;
  bool strict;               /* --strict-precision */
  const calib_options *calib; /* --calib ...; NULL: no calibration data */
  quant_collect_fn collect;  /* calib_collect; NULL when |table| is given */
  calib_table *table;        /* in/out: the ranges (r == NULL: not yet) */
  quant_report *report;      /* out; may be NULL */
  /* Mixed precision (passes/precision.c, docs/accuracy.md). */
  bool target_bf16;          /* the target CPU has AVX512-BF16 or AMX-BF16 */
  quant_target target;       /* --accuracy-target */
  bool best_effort;          /* --best-effort */
  const char *sensitivity_report; /* --sensitivity-report FILE */
  /* Measured fallback latency (precision.c step 5): when set, the search
   * hands it two quantised copies of the graph — plain int8 and the chosen
   * mix — to build into engines and time; it writes, for each of the |n|
   * node names, the summed time in microseconds of the engine steps that
   * compute that node (NAN: none).  It may mutate |variant|.  NULL: only
   * the cost model. */
  ingot_status (*measure)(void *ctx, ir_graph *variant,
                          const char *const *names, int n, double *us);
  void *measure_ctx;
  /* --fallback-precision: what the search falls layers back to:
   * QUANT_P_FP32 (the default) or QUANT_P_BF16 (layers with a bf16 form
   * on a target with bf16; the rest fp32). */
  quant_prec fallback;
  /* Per node id: -1 no say, 0 fp32, 1 int8, 2 bf16 (fp32 when the layer
   * has no bf16 form).  Set by the search; wins
   * over |overrides|.  NULL: none. */
  const int8_t *mask;
  uint32_t n_mask;
  const char *const *mask_why; /* [node id]: why a mask entry says fp32 */
  /* With a target: calibration ran on the first |n_calib| feeds of --calib
   * and the last |n_heldout| are held out (set by pass_calibrate). */
  size_t n_calib, n_heldout;
} quant_options;

void quant_report_free(quant_report *r);
/* Prints the table (what --verbose shows). */
void quant_report_print(const quant_report *r, FILE *f);
/* Parses one --layer-precision value "NAME=fp32|int8|bf16" (NAME is |s|
 * up to the last '=', borrowed). */
ingot_status quant_parse_override(const char *s, quant_override *out);
/* Does |op| have an int8 form of its own (not data movement, which
 * follows its input's precision)? */
bool quant_has_int8_form(ir_op op);
/* Parses --accuracy-target "sqnr=DB" or "top1=FRAC". */
ingot_status quant_parse_target(const char *s, quant_target *out);
/* "int8", "fp32" or "bf16": what a row chose. */
const char *quant_layer_chosen(const quant_layer *l);
/* Can node |n| compute in bf16 on the engine's kernels (a float32 MatMul
 * or Gemm whose B is a constant matrix)?  When not, *why says why. */
bool quant_has_bf16_form(const ir_graph *g, const ir_node *n,
                         const char **why);
/* "int8", "fp32" or "bf16": what a row requested. */
const char *quant_layer_requested(const quant_layer *l);

/* The accuracy search (precision.c): with q->target or
 * q->sensitivity_report, measures each layer quantised alone on the
 * calibration samples, falls back the most damaging layers until the
 * target holds on the held-out samples, and leaves the result in q->mask
 * for pass_quantize.  |g| is the calibrated graph (not modified). */
ingot_status quant_search(const ir_graph *g, quant_options *q, FILE *log);
/* Releases what quant_search allocated in |q| (mask, reasons). */
void quant_search_free(quant_options *q);

#endif /* INGOT_QUANTIZE_H */

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

/* --layer-precision NAME=fp32|int8 */
typedef struct quant_override {
  const char *node; /* the model's node name: |len| bytes, borrowed */
  size_t len;
  bool int8;        /* false: fp32 */
} quant_override;

/* One row of the per-layer table: a node of the model. */
typedef struct quant_layer {
  const char *node; /* graph arena string ("" for an unnamed node) */
  const char *op;   /* its op as the model wrote it */
  bool req_int8;    /* requested */
  bool explicit_req; /* requested by --layer-precision */
  bool int8;        /* chosen */
  bool has_int8;    /* the op has an int8 form */
  char why[200];
} quant_layer;

typedef struct quant_report {
  quant_layer *rows; /* malloc'd */
  int n, cap;
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
} quant_options;

void quant_report_free(quant_report *r);
/* Prints the table (what --verbose shows). */
void quant_report_print(const quant_report *r, FILE *f);
/* Parses one --layer-precision value "NAME=fp32|int8" (NAME is |s| up to
 * the last '=', borrowed). */
ingot_status quant_parse_override(const char *s, quant_override *out);

#endif /* INGOT_QUANTIZE_H */

/* calibrate.h — int8 calibration (DESIGN.md §4 "calibrate"): runs the fp32
 * reference interpreter over calibration samples and chooses, for every
 * float tensor the graph computes, the range [lo, hi] that the quantise
 * pass turns into a scale and zero point.
 *
 * Contract between calibrate.c (and its loaders) and quantize.c; see
 * docs/int8.md.  The table is indexed by tensor id of the graph it was
 * collected on, so calibrate and quantise must see the same graph (the
 * pipeline runs calibration after fold/fold-bn/simplify/static-shapes and
 * before any pass that renumbers tensors).
 */
#ifndef INGOT_CALIBRATE_H
#define INGOT_CALIBRATE_H

#include <stdio.h>

#include "ir.h"

typedef enum calib_method {
  CALIB_MINMAX = 0,     /* observed min/max */
  CALIB_PERCENTILE = 1, /* |x| percentile of the histogram (default 99.99) */
  CALIB_ENTROPY = 2,    /* KL divergence, TensorRT's algorithm */
  CALIB_MSE = 3,        /* threshold minimising quantisation MSE */
} calib_method;

typedef struct calib_options {
  calib_method method;
  double percentile;      /* CALIB_PERCENTILE; 0 = 99.99 */
  const char *data;       /* --calib: a directory (or one file) of .npy,
                             ONNX .pb tensors, PNG/JPEG images or IDX; the
                             loader is ir/dataset.h (docs/dataset.md) */
  const char *preprocess; /* --preprocess "resize=256,crop=224,mean=a,b,c,
                             std=a,b,c,layout=nchw" for images; NULL */
  const char *cache;      /* --calib-cache FILE: read if present and valid,
                             written otherwise; NULL = none */
  int max_samples;        /* at most this many model runs; 0 = all */
  bool progress;          /* progress bar on stderr when it is a terminal */
  FILE *log;              /* what was read, used, ignored and why; NULL */
} calib_options;

typedef struct calib_range {
  bool valid;       /* a float32 tensor the calibration observed: every
                       node output and graph input of dtype float32 that
                       had at least one finite value */
  float min, max;   /* observed over every sample */
  float lo, hi;     /* the range the method chose (lo <= 0 <= hi) */
} calib_range;

typedef struct calib_table {
  uint32_t n;        /* == graph's tensor count when collected */
  calib_range *r;    /* r[tensor id]; malloc'd */
  int samples;       /* model runs (batches) calibrated on; 0 from cache */
  bool from_cache;
} calib_table;

/* Runs the calibration of |g| (not modified) as |o| says and fills |out|.
 * Errors name the file, tensor and reason (empty or unreadable directory,
 * wrong shape or dtype, ...).  A stale or corrupt cache is reported on
 * o->log with the reason and then rebuilt. */
ingot_status calib_collect(const ir_graph *g, const calib_options *o,
                           calib_table *out);
void calib_table_free(calib_table *t);

/* Parses "minmax", "percentile", "percentile=99.9", "entropy", "mse". */
ingot_status calib_parse_method(const char *s, calib_method *m,
                                double *percentile);

#endif /* INGOT_CALIBRATE_H */

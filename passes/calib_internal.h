/* calib_internal.h — the pieces of calibration (calibrate.h) that the
 * calibration pass, its cache and its tests share: the streaming
 * histogram and the threshold methods (calib_hist.c), and the cache file
 * (calib_cache.c).  Not part of the contract with the quantise pass. */
#ifndef INGOT_CALIB_INTERNAL_H
#define INGOT_CALIB_INTERNAL_H

#include "calibrate.h"

enum { CALIB_BINS = 2048, CALIB_ENTROPY_LEVELS = 128 };

/* A histogram of |x| over the fixed range [0, amax] in CALIB_BINS equal
 * bins: bin k holds k*w <= |x| < (k+1)*w, w = amax/CALIB_BINS, and |x| ==
 * amax goes to the last bin.  amax is the tensor's max |x| over the whole
 * data set (calibration's first pass), so every element counts once
 * whatever the batching and the result does not depend on it. */
typedef struct calib_hist {
  double amax;
  uint64_t total;
  uint64_t bins[CALIB_BINS];
} calib_hist;

void calib_hist_init(calib_hist *h, double amax);
/* Adds the finite elements of |x|; returns how many were not finite. */
size_t calib_hist_add(calib_hist *h, const float *x, size_t n);

/* The threshold T on |x| that |m| chooses (see docs/int8.md, Calibration).
 * |min|, |max| are the tensor's observed range (mse sizes the step of the
 * u8 range the threshold gives); |percentile| for CALIB_PERCENTILE. */
double calib_threshold(const calib_hist *h, calib_method m, double percentile,
                       float min, float max);
/* The range [lo, hi] of a tensor: [min, max] for minmax, else the observed
 * range clipped to [-T, T]; widened to contain 0. */
void calib_range_from(calib_range *r, calib_method m, double t);

/* Cache (calib_cache.c). */
uint64_t calib_graph_hash(const ir_graph *g);
/* The cache's data key: |files_key| (ir_dataset_key) extended by the
 * --preprocess string (NULL = "") and the number of feeds calibrated. */
uint64_t calib_data_key(uint64_t files_key, const char *preprocess,
                        size_t feeds);
/* Fills |out| from o->cache when it is present and valid for |g| (|obs|
 * marks the tensors calibration observes), |samples| feeds and the data
 * key |data_key|, and sets *used; otherwise says why on o->log.  Only
 * out-of-memory is an error. */
ingot_status calib_cache_read(const ir_graph *g, const calib_options *o,
                              const bool *obs, int samples, uint64_t data_key,
                              calib_table *out, bool *used);
ingot_status calib_cache_write(const ir_graph *g, const calib_options *o,
                               uint64_t data_key, const calib_table *t);
/* "minmax", "percentile=99.99", "entropy", "mse" */
void calib_method_str(calib_method m, double percentile, char *buf, size_t n);

#endif /* INGOT_CALIB_INTERNAL_H */

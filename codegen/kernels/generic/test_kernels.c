/* test_kernels.c — templates that test codegen itself (test_kernels.h).
 * Like every template, each reads its descriptor and buffers only through
 * |desc_| and kptr(), so a constant descriptor folds all of it away. */
#include "generic/test_kernels.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

KSIG(k_test_axpy) {
  const k_test_axpy_desc *d = desc_;
  const float *x = kptr(d->x, arena, weights);
  float *y = kptr(d->y, arena, weights);
  for (int64_t t = task_begin; t < task_end; t++) {
    int64_t i0 = kchunk(d->n, d->tasks, t), i1 = kchunk(d->n, d->tasks, t + 1);
    for (int64_t i = i0; i < i1; i++) y[i] = d->a * x[i] + y[i];
  }
}

KSIG(k_test_copy) {
  const k_test_copy_desc *d = desc_;
  const uint8_t *src = kptr(d->src, arena, weights);
  uint8_t *dst = kptr(d->dst, arena, weights);
  int64_t r0 = kchunk(d->rows, d->tasks, task_begin);
  int64_t r1 = kchunk(d->rows, d->tasks, task_end);
  if (r1 > r0)
    memcpy(dst + r0 * d->row_bytes, src + r0 * d->row_bytes,
           (size_t)((r1 - r0) * d->row_bytes));
}

KSIG(k_test_floor) {
  const k_test_floor_desc *d = desc_;
  const float *x = kptr(d->x, arena, weights);
  float *y = kptr(d->y, arena, weights);
  for (int64_t i = 0; i < d->n; i++) y[i] = floorf(x[i]);
}

__attribute__((target("amx-tile"))) KSIG(k_test_amx) {
  const k_test_amx_desc *d = desc_;
  uint8_t *out = kptr(d->out, arena, weights);
  uint8_t cfg[64] = {1}; /* palette 1, tile 0: 16 rows of 64 bytes */
  cfg[16] = 64;
  cfg[48] = 16;
  _tile_loadconfig(cfg);
  _tile_zero(0);
  _tile_stored(0, out, 64);
  _tile_release();
}

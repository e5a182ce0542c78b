/* plan.c — the planner's own kernel templates: copies (a graph output
 * that is a constant or another output) and NCHW <-> NHWC conversions
 * (IngotLayoutCast).  Element bytes are moved with memcpy of a constant
 * size, which the specialiser turns into plain loads and stores. */
#include <string.h>

#include "generic/plan.h"

KSIG(k_plan_copy) {
  const k_copy_desc *d = desc_;
  const uint8_t *src = kptr(d->src, arena, weights);
  uint8_t *dst = kptr(d->dst, arena, weights);
  int64_t lo = kchunk(d->bytes, d->tasks, task_begin);
  int64_t hi = kchunk(d->bytes, d->tasks, task_end);
  if (hi > lo) memcpy(dst + lo, src + lo, (size_t)(hi - lo));
}

/* One (n, h) row per task.  The element copy is typed by size so that,
 * with the sizes constant after specialisation, the loops vectorise
 * (gathers/scatters of 1-8 byte elements) instead of calling memcpy per
 * element. */
#define RELAYOUT_ROW(T)                                                     \
  do {                                                                      \
    const T *s_ = (const T *)src;                                           \
    T *d_ = (T *)dst;                                                       \
    for (int64_t c = 0; c < C; c++)                                         \
      for (int64_t w = 0; w < W; w++) {                                     \
        int64_t nchw = ((n * C + c) * H + h) * W + w;                       \
        int64_t nhwc = ((n * H + h) * W + w) * P + c;                       \
        if (d->to_nhwc)                                                     \
          d_[nhwc] = s_[nchw];                                              \
        else                                                                \
          d_[nchw] = s_[nhwc];                                              \
      }                                                                     \
  } while (0)

KSIG(k_plan_relayout) {
  const k_relayout_desc *d = desc_;
  const uint8_t *src = kptr(d->src, arena, weights);
  uint8_t *dst = kptr(d->dst, arena, weights);
  const int64_t C = d->c, H = d->h, W = d->w;
  const int64_t P = d->to_nhwc && d->pitch ? d->pitch : C; /* dst pixels */
  for (int64_t t = task_begin; t < task_end; t++) {
    int64_t n = t / H, h = t % H;
    switch (d->esize) {
    case 1: RELAYOUT_ROW(uint8_t); break;
    case 2: RELAYOUT_ROW(uint16_t); break;
    case 4: RELAYOUT_ROW(uint32_t); break;
    default: RELAYOUT_ROW(uint64_t); break;
    }
  }
}

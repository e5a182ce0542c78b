/* plan.h — descriptors of the planner's own templates: byte copies and
 * layout conversions between the model's NCHW and the engine's NHWC. */
#ifndef INGOT_K_PLAN_H
#define INGOT_K_PLAN_H

#include "kabi.h"

/* dst = src, |bytes| bytes, split into |tasks| chunks. */
typedef struct k_copy_desc {
  kbuf src, dst;
  int64_t bytes;
  int64_t tasks;
} k_copy_desc;

/* 4-D relayout of elements of |esize| bytes: to_nhwc = 1 reads NCHW and
 * writes NHWC, 0 the reverse.  Tasks run over n*c planes (to NHWC: over
 * n*h rows). */
typedef struct k_relayout_desc {
  kbuf src, dst;
  int64_t n, c, h, w;
  int64_t esize;
  int32_t to_nhwc;
  int32_t pitch; /* to_nhwc: elements between dst pixels (0: c), a
                    fold-concat slice */
} k_relayout_desc;

#endif

/* test_kernels.h — descriptors of the templates that exercise codegen
 * itself (tests/codegen): specialisation, memcpy calls, and the check that
 * generated code calls nothing the runtime does not provide.  No lowering
 * uses them; unused templates cost an engine nothing (cg_module_emit drops
 * every template no step calls).
 */
#ifndef INGOT_KERNELS_TEST_KERNELS_H
#define INGOT_KERNELS_TEST_KERNELS_H

#include "kabi.h"

/* y[i] = a * x[i] + y[i] for i in [0, n), n split into |tasks| chunks. */
typedef struct k_test_axpy_desc {
  int64_t n;
  int64_t tasks;
  float a;
  int32_t pad_;
  kbuf x, y; /* float32 */
} k_test_axpy_desc;

/* dst[i] = src[i] for |rows| rows of |row_bytes| bytes, rows split into
 * |tasks| chunks; a task copies its rows with one memcpy. */
typedef struct k_test_copy_desc {
  int64_t rows;
  int64_t row_bytes;
  int64_t tasks;
  kbuf src, dst;
} k_test_copy_desc;

/* y[i] = floorf(x[i]) for i in [0, n): on x86-64 without SSE4.1, LLVM
 * lowers floorf to a libm call, which generated code may not make. */
typedef struct k_test_floor_desc {
  int64_t n;
  kbuf x, y; /* float32 */
} k_test_floor_desc;

/* Zeroes one 16x64-byte AMX tile and stores it at |out|: compiled with
 * AMX enabled for this function only, so codegen's check that a template's
 * intrinsics fit the target has something to refuse.  Never run. */
typedef struct k_test_amx_desc {
  kbuf out;
} k_test_amx_desc;

KSIG(k_test_axpy);
KSIG(k_test_copy);
KSIG(k_test_floor);
KSIG(k_test_amx);

#endif /* INGOT_KERNELS_TEST_KERNELS_H */

/* fixture.h — the engines the runtime tests build with the engine writer.
 *
 *   FIX_FULL     inputs x (float32 [1,3,4,5], NHWC), idx (int64 [6]),
 *                q (float32 [8] quantised to uint8); outputs y, z, count,
 *                xcopy, qo, sum; five steps from steps.c; TENSOR_MAP:
 *                x (input, NHWC), q (uint8, quantised), y (step 0)
 *   FIX_SIMPLE   input x, output y, one step (step_affine): the embedding
 *                example's engine and the fuzz seeds
 *   FIX_CONVERT  no code: every output aliases an input's arena bytes, so
 *                set_input + get_output exercise each dtype conversion and
 *                the NCHW<->NHWC permutation (see test_runtime.c)
 */
#ifndef INGOT_TESTS_RUNTIME_FIXTURE_H
#define INGOT_TESTS_RUNTIME_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "cg.h"
#include "layout.h"

enum { FIX_FULL, FIX_SIMPLE, FIX_CONVERT };

typedef struct fixture {
  cg_target target;
  cg_io_tensor tensors[32];
  cg_plan_step steps[8];
  cg_map_tensor map[4];
  uint8_t weights[W_SIZE];
  cg_engine_desc desc;
} fixture;

/* |obj| (|obj_size| bytes) is the step object; borrowed by the desc. */
void fixture_init(fixture *f, int kind, const void *obj, size_t obj_size);
/* Builds and serialises; NULL and a message on stderr on failure. */
uint8_t *fixture_engine(int kind, const void *obj, size_t obj_size,
                        size_t *size);

/* Whole file into malloc'd memory; NULL on failure. */
uint8_t *read_file(const char *path, size_t *size);
int write_file(const char *path, const void *data, size_t size);

/* Reference values of the FULL engine (mirrors steps.c). */
float fix_x(int i);                 /* x in NCHW order */
float fix_y(int c, float x);        /* x * scale[c] + bias[c] */
int64_t fix_z(int64_t idx);

/* The FIX_CONVERT dtypes, in order; input i and output i alias. */
extern const uint32_t fix_convert_dtypes[];
extern const int fix_convert_count;

#endif

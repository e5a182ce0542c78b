/* movement.h — descriptors of the data-movement templates (movement.c):
 * strided copies (Transpose, Slice, Tile, Expand, Concat, Split and
 * layout-changing Reshape), Pad and Gather.
 *
 * Shared by the templates and by codegen/lower_movement.c, which fills
 * them.  Every count and stride is in elements of |esize| bytes; element
 * bytes are moved with memcpy of that constant size, so one template
 * serves every dtype.
 */
#ifndef INGOT_K_MOVEMENT_H
#define INGOT_K_MOVEMENT_H

#include "kabi.h"

/* A Tile view has two dims per axis (repeat, element). */
#define KMV_MAX_DIMS (2 * KMAX_RANK)
/* Edge of the square blocks a transposing copy moves at a time. */
#define KMV_TILE 16

/* k_mv_copy: copies a box of elements between two strided views.
 *
 * Work is split into |units|: the odometer over udims[0..nu) (outermost
 * first) with per-step offsets usrc/udst.  A unit copies one row of |n|
 * elements (strides nsrc/ndst), or, when |tile| is set, the last unit dim
 * counts blocks of KMV_TILE along a second axis of length |ta| (strides
 * tsrc/tdst) and the unit copies that KMV_TILE x n strip in square blocks
 * (a transpose: reads contiguous along ta, writes contiguous along n).
 * Units [kchunk(units, tasks, t), kchunk(units, tasks, t + 1)) belong to
 * task t.  Offsets start at src_base/dst_base (elements; strides may be
 * zero or negative, every address reached lies inside the buffers). */
typedef struct kmv_copy {
  kbuf src, dst;
  int64_t src_base, dst_base;
  int64_t esize;
  int32_t nu, tile;
  int64_t units, tasks;
  int64_t udims[KMV_MAX_DIMS], usrc[KMV_MAX_DIMS], udst[KMV_MAX_DIMS];
  int64_t n, nsrc, ndst;
  int64_t ta, tsrc, tdst;
} kmv_copy;

/* k_mv_pad: the output (contiguous, dims[0..rank) in its memory order) is
 * filled from the input through one table per axis, map[map_off[k] + o]
 * = the input element offset (index times stride) output index o of axis
 * k reads, or -1 for the constant |value| (esize bytes at |value|).  The
 * element offset of an output element is the sum over its axes.  On the
 * last axis, outputs [lo, hi) read consecutive input elements starting at
 * the table's entry for lo (memcpy); elsewhere the table is followed
 * element by element.  Rows (all axes but the last) are split into tasks.
 */
typedef struct kmv_pad {
  kbuf src, dst, map, value;
  int64_t esize;
  int32_t rank, pad_;
  int64_t rows, tasks;
  int64_t dims[KMAX_RANK];
  int64_t map_off[KMAX_RANK];
  int64_t lo, hi;
} kmv_pad;

/* k_mv_gather: data [outer, dim, inner] (inner counted in bytes), indices
 * [count] (int32 or int64, any buffer, possibly computed at run time),
 * output [outer, count, inner].  A negative index i reads i + dim; an
 * index still outside [0, dim) is clamped to the nearest end (the
 * reference reports an error instead; an engine must not read outside
 * |data|).  dim == 0 gives zeros.  Rows (outer * count) split into tasks.
 */
enum { KMV_IDX_I32 = 6, KMV_IDX_I64 = 7 }; /* ONNX dtype numbers */

typedef struct kmv_gather {
  kbuf data, idx, dst;
  int64_t outer, dim, count, inner_bytes;
  int32_t idx_dtype, pad_;
  int64_t tasks;
} kmv_gather;

/* k_mv_fill: dst[i] = value (esize bytes read from |value|) for i in
 * [0, count), split into tasks.  Used for outputs whose every element is
 * known at build time, e.g. reductions over an empty axis. */
typedef struct kmv_fill {
  kbuf value, dst;
  int64_t esize, count, tasks;
} kmv_fill;

#endif /* INGOT_K_MOVEMENT_H */

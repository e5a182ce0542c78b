/* resize.h — descriptor of the Resize/Upsample templates (resize.c).
 *
 * Shared by the templates and by codegen/lower_resize.c.  Scales, sizes
 * and roi are constants in an engine, so the lowering computes, for every
 * resized dim and every output index along it, the source taps (element
 * offsets) and their weights, and stores these tables in the weights; the
 * templates only gather and blend.
 */
#ifndef INGOT_K_RESIZE_H
#define INGOT_K_RESIZE_H

#include "kabi.h"

/* Contiguous outputs the interpolating template computes together. */
#define KRS_BLOCK 64
/* Resized dims k_rs_interp handles (k_rs_nearest: any). */
#define KRS_MAX_LEVELS 4

/* k_rs_nearest / k_rs_interp.
 *
 * The output is row-major: out_dims[0..rank) (the view) times |inner|
 * contiguous elements (a trailing run of dims that keep their length,
 * contiguous in the input too).  View dim k is either kept (level[k] < 0:
 * output index i reads input offset i * src_str[k]) or resized (level[k] =
 * L, 0 <= L < nres, numbered outermost first).  Resized level L has, per
 * output index o along it, taps[L] slots starting at slot o * taps[L] of
 * two tables in |tab|: int64 element offsets at byte offset off_tab[L]
 * and double weights at w_tab[L] (slots a position does not use hold a
 * valid offset and weight 0); plus an int32 count at n_tab[L] + 4 * o of
 * the slots in use, read only when |crop| is set: 0 means the position
 * lies outside the tf_crop_and_resize box and the output is the
 * extrapolation value.
 *
 * Work: |rows| = product of out_dims[0..rank-1), each row the last view
 * dim's out_dims[rank-1] outputs; rows split into tasks.
 * k_rs_nearest copies the first tap's element (esize bytes, any dtype).
 * k_rs_interp (nres <= KRS_MAX_LEVELS) sums, per output, level L's taps
 * in order starting from 0, each weight times the value of level L + 1
 * (the innermost level reads the input), in double: the order of the
 * reference's separable passes, so results match it bit for bit before
 * the final store (which converts like a Cast). */
typedef struct krs {
  kbuf src, dst, tab;
  int32_t dtype, esize;
  int32_t rank, nres;
  int32_t crop, pad_;
  int64_t inner, rows, tasks;
  int64_t out_dims[KMAX_RANK];
  int64_t src_str[KMAX_RANK];
  int32_t level[KMAX_RANK];
  int32_t taps[KMAX_RANK];
  int64_t off_tab[KMAX_RANK], w_tab[KMAX_RANK], n_tab[KMAX_RANK];
  double extrapolation;    /* k_rs_interp */
  uint8_t extrap_bytes[8]; /* k_rs_nearest: the same value in |dtype| */
} krs;

#endif /* INGOT_K_RESIZE_H */

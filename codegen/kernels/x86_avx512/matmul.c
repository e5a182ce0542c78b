/* matmul.c (AVX-512) — register-blocked SGEMM for MatMul, Gemm and 1x1
 * convolutions (descriptor: generic/matmul.h).
 *
 * The lowering picks k_mm_f32_avx512 for float32 products whose B is
 * packed (or has contiguous columns, or is copied a block at a time:
 * b_pack) and whose Y has contiguous columns.
 * The loops are the generic template's (kmm_drive); the micro-kernel keeps
 * mr x nv zmm accumulators (mr*nv <= 24 of the 32 registers) over a pass
 * of kc steps of K: per step it loads nv vectors of B's row and does
 * mr*nv FMAs against A elements broadcast from memory (which LLVM folds
 * into the FMA as {1to16} operands).  Vectors past N are loaded and
 * stored under masks, so an unpacked B and any N need no padding and no
 * scalar tail.
 */
#include <immintrin.h>

#include "generic/matmul.h"
#include "generic/epilogue_apply.h"
#include "x86_avx512/mm_tile.h"


/* The micro-tile of k_mm_f32_avx512 (kmm_micro_fn, generic/matmul.h). */
K_INLINE void mm_micro_avx512(const k_mm_desc *d, const float *a,
                              const float *bp, int64_t brs, float *y,
                              const float *c, int64_t i0, int64_t rows,
                              int64_t j0, int64_t cols, int64_t k0,
                              int64_t k1, int first, int last) {
  const int64_t nv = d->nv;
  __m512 acc[MM512_MR_MAX][MM512_NV_MAX];
  mm512_tile_load(d, acc, y, i0, rows, j0, cols, first);
  const float *ap = a + i0 * d->a_rs;
  for (int64_t p = k0; p < k1; p++, bp += brs) {
    __m512 bv[MM512_NV_MAX];
    for (int64_t v = 0; v < nv; v++) /* packed panels are zero-padded */
      bv[v] = d->b_panel || d->b_pack
                  ? _mm512_loadu_ps(bp + 16 * v)
                  : _mm512_maskz_loadu_ps(mm_mask(cols - 16 * v), bp + 16 * v);
    for (int64_t i = 0; i < rows; i++) {
      __m512 av = _mm512_set1_ps(ap[i * d->a_rs + p * d->a_cs]);
      for (int64_t v = 0; v < nv; v++)
        acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
    }
  }
  mm512_tile_store(d, acc, y, c, i0, rows, j0, cols, last);
}

KSIG(k_mm_f32_avx512) {
  const k_mm_desc *d = desc_;
  kmm_drive(d, mm_micro_avx512, kptr(d->a, arena, weights),
            kptr(d->b, arena, weights), kptr(d->y, arena, weights),
            d->has_c ? kptr(d->c, arena, weights) : NULL, task_begin,
            task_end);
  kmm_epilogue(d, &d->epi, kptr(d->y, arena, weights), task_begin, task_end);
}

/* epilogue_apply.h — the loops that apply a step's epilogue (epilogue.h)
 * in place, for the templates: kepi_run on a contiguous run of floats,
 * kepi_run_strided on a strided one (through a small contiguous block),
 * and the two "after the product" walks: kmm_epilogue over the tiles of a
 * matmul step's tasks and kconv_epilogue over a conv step's rows and
 * channel blocks.  Each template calls its walk after its own loops, for
 * the same tasks, so the values are still in cache.  With the descriptor a
 * constant, n = 0 makes every walk vanish.
 */
#ifndef INGOT_K_EPILOGUE_APPLY_H
#define INGOT_K_EPILOGUE_APPLY_H

#include "epilogue.h"
#include "ew_formulas.h"
#include "generic/conv.h"

#define KEPI_BLOCK 64

/* y[i] = op_k(...op_1(y[i])) for i < n, one op at a time over the run (the
 * switch on the op stays outside the loops, which vectorise). */
K_INLINE void kepi_run(const kepi *e, float *ys, int64_t n) {
  typedef float T;
  for (int32_t k = 0; k < e->n; k++) {
    const kepi_op *o = &e->ops[k];
    const T al = o->a, be = o->b, ga = 1.0f, ga_al = o->a;
    (void)al, (void)be, (void)ga, (void)ga_al;
    if (o->kind == KEPI_SCALAR) {
      const T s = o->a;
      int left = o->b != 0;
      switch (o->op) {
#define EPI_LOOP(op, expr)                                     \
  case op:                                                     \
    if (left)                                                  \
      for (int64_t i = 0; i < n; i++) {                        \
        T a = s, b = ys[i];                                    \
        ys[i] = (expr);                                        \
      }                                                        \
    else                                                       \
      for (int64_t i = 0; i < n; i++) {                        \
        T a = ys[i], b = s;                                    \
        ys[i] = (expr);                                        \
      }                                                        \
    break;
        EW_BINARY_FLOAT_FORMULAS(EPI_LOOP)
#undef EPI_LOOP
      default: break;
      }
      continue;
    }
    if (o->op == KEW_CLIP) { /* min first, then max; NaN passes */
      for (int64_t i = 0; i < n; i++) {
        float v = ys[i] < o->a ? o->a : ys[i];
        ys[i] = v > o->b ? o->b : v;
      }
      continue;
    }
    switch (o->op) {
#define EPI_LOOP(op, expr)                                     \
  case op:                                                     \
    for (int64_t i = 0; i < n; i++) {                          \
      T x = ys[i];                                             \
      ys[i] = (expr);                                          \
    }                                                          \
    break;
      EW_FLOAT_FORMULAS(EPI_LOOP)
#undef EPI_LOOP
    default: break;
    }
  }
}

K_INLINE void kepi_run_strided(const kepi *e, float *y, int64_t n,
                               int64_t stride) {
  if (stride == 1) {
    kepi_run(e, y, n);
    return;
  }
  for (int64_t b = 0; b < n; b += KEPI_BLOCK) {
    int64_t m = n - b < KEPI_BLOCK ? n - b : KEPI_BLOCK;
    float t[KEPI_BLOCK];
    for (int64_t i = 0; i < m; i++) t[i] = y[(b + i) * stride];
    kepi_run(e, t, m);
    for (int64_t i = 0; i < m; i++) y[(b + i) * stride] = t[i];
  }
}

/* The tiles of matmul tasks [task_begin, task_end) (matmul.h). */
K_INLINE void kmm_epilogue(const k_mm_desc *d, const kepi *e, float *y0,
                           int64_t task_begin, int64_t task_end) {
  if (e->n == 0) return;
  for (int64_t t = task_begin; t < task_end; t++) {
    int64_t tn = t % d->tiles_n, tm = t / d->tiles_n % d->tiles_m;
    int64_t bi = t / d->tiles_n / d->tiles_m, yo = 0;
    for (int32_t q = d->nbdim - 1; q >= 0; q--) {
      yo += bi % d->bdims[q] * d->y_bs[q];
      bi /= d->bdims[q];
    }
    int64_t i_beg = tm * d->mt, j_beg = tn * d->nt;
    int64_t i_end = i_beg + d->mt < d->m ? i_beg + d->mt : d->m;
    int64_t j_end = j_beg + d->nt < d->n ? j_beg + d->nt : d->n;
    for (int64_t i = i_beg; i < i_end; i++)
      kepi_run_strided(e, y0 + yo + i * d->y_rs + j_beg * d->y_cs,
                       j_end - j_beg, d->y_cs);
  }
}

/* The rows and channel blocks of conv tasks [task_begin, task_end)
 * (conv.h, kconv_drive). */
K_INLINE void kconv_epilogue(const k_conv_desc *d, const kepi *e, float *y,
                             int64_t task_begin, int64_t task_end) {
  if (e->n == 0) return;
  const int64_t cw = 16 * d->nv;
  const int64_t width = d->depthwise ? d->group : d->cout_g;
  const int64_t bpg = (width + cw - 1) / cw;
  for (int64_t t = task_begin; t < task_end; t++) {
    kconv_work wk = kconv_work_of(d, t);
    for (int64_t cb = wk.cb0; cb < wk.cb1; cb++) {
      int64_t g = cb / bpg, c0 = cb % bpg * cw;
      int64_t cols = width - c0 < cw ? width - c0 : cw;
      float *yb = y + (d->depthwise ? c0 : g * d->cout_g + c0) * d->ys_c;
      for (int64_t r = wk.r0; r < wk.r1; r++) {
        int64_t n = r / (d->out[0] * d->out[1]);
        int64_t o0 = r / d->out[1] % d->out[0], o1 = r % d->out[1];
        float *yr = yb + n * d->ys_n + o0 * d->ys[0] + o1 * d->ys[1];
        if (d->ys_c == 1)
          for (int64_t p = 0; p < d->out[2]; p++)
            kepi_run(e, yr + p * d->ys[2], cols);
        else
          for (int64_t c = 0; c < cols; c++)
            kepi_run_strided(e, yr + c * d->ys_c, d->out[2], d->ys[2]);
      }
    }
  }
}

#endif /* INGOT_K_EPILOGUE_APPLY_H */

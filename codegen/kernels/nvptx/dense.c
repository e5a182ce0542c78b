/* dense.c — one thread per output element: float32 broadcasting binary
 * ops, products and convolutions (design and cases: dense.h).  Formulas
 * and epilogues are generic/ew_formulas.h and epilogue_apply.h's. */
#include <math.h>
#include <string.h>

#include "generic/epilogue_apply.h"
#include "kmath.h"
#include "nvptx/dense.h"
#include "nvptx/simt.h"

static inline int64_t gd_id(void) {
  return (int64_t)simt_bid_x() * simt_ntid() + simt_tid();
}

/* The fused epilogue of one element. */
static inline float gd_epi(const kepi *e, float v) {
  kepi_run(e, &v, 1);
  return v;
}

GSIG(g_ew_f32) {
  const kew_binary *d = desc_;
  const int64_t i = gd_id();
  if (i >= d->n) return;
  const float *pa = kptr(d->in[0], arena, weights);
  const float *pb = kptr(d->in[1], arena, weights);
  float *y = kptr(d->y, arena, weights);
  int64_t oa = 0, ob = 0, r = i;
  for (int32_t k = d->rank - 1; k >= 0; k--) {
    int64_t c = r % d->dims[k];
    r /= d->dims[k];
    oa += c * d->str[0][k];
    ob += c * d->str[1][k];
  }
  if (d->ydt != 1) { /* uint8 / int8 Max, Min */
    const uint8_t *qa = (const uint8_t *)pa, *qb = (const uint8_t *)pb;
    int32_t u = d->ydt == 3 ? (int8_t)qa[oa] : qa[oa];
    int32_t w = d->ydt == 3 ? (int8_t)qb[ob] : qb[ob];
    int32_t m = d->op == KEW_MAX ? (u > w ? u : w) : (u < w ? u : w);
    ((uint8_t *)y)[i] = (uint8_t)m;
    return;
  }
  typedef float T;
  const T a = pa[oa], b = pb[ob];
  T v = 0;
  switch (d->op) {
#define EW_CASE(op, expr)                                                  \
  case op: v = (expr); break;
    EW_BINARY_FLOAT_FORMULAS(EW_CASE)
#undef EW_CASE
  default: break;
  }
  y[i] = gd_epi(&d->epi, v);
}

GSIG(g_mm_f32) {
  const k_mm_desc *d = desc_;
  const int64_t id = gd_id();
  if (id >= g_mm_outputs(d)) return;
  const float *a = kptr(d->a, arena, weights);
  const float *b = kptr(d->b, arena, weights);
  float *y = kptr(d->y, arena, weights);
  const float *c = d->has_c ? kptr(d->c, arena, weights) : NULL;
  int64_t j = id % d->n, i = id / d->n % d->m, bi = id / (d->n * d->m);
  for (int32_t q = d->nbdim - 1; q >= 0; q--) {
    int64_t t = bi % d->bdims[q];
    bi /= d->bdims[q];
    a += t * d->a_bs[q];
    b += t * d->b_bs[q];
    y += t * d->y_bs[q];
  }
  const float *bj = d->b_panel ? b + j / d->b_panel * d->b_ps + j % d->b_panel
                               : b + j * d->b_cs;
  const int64_t brs = d->b_panel ? d->b_panel : d->b_rs;
  float acc = 0;
  for (int64_t p = 0; p < d->k; p++)
    acc += a[i * d->a_rs + p * d->a_cs] * bj[p * brs];
  float r = acc * d->alpha;
  if (c) r += c[i * d->c_rs + j * d->c_cs] * d->beta;
  y[i * d->y_rs + j * d->y_cs] = gd_epi(&d->epi, r);
}

GSIG(g_conv_f32) {
  const k_conv_desc *d = desc_;
  const int64_t id = gd_id();
  if (id >= g_conv_outputs(d)) return;
  const float *x = kptr(d->x, arena, weights);
  const float *w = kptr(d->w, arena, weights);
  float *y = kptr(d->y, arena, weights);
  const int64_t C = d->group * d->cout_g; /* output channels */
  const int64_t ch = id % C, pix = id / C;
  const int64_t o2 = pix % d->out[2], o1 = pix / d->out[2] % d->out[1];
  const int64_t o0 = pix / (d->out[2] * d->out[1]) % d->out[0];
  const int64_t n = pix / (d->out[2] * d->out[1] * d->out[0]);
  const int64_t g = ch / d->cout_g, co = ch % d->cout_g;
  int64_t wo; /* W(g, co, 0, 0) */
  if (d->depthwise)
    wo = ch;
  else if (d->w_packed)
    wo = g * d->ws_g + co / (16 * d->nv) * d->ws_blk + co % (16 * d->nv);
  else
    wo = g * d->ws_g + co * d->ws_o;
  float acc = 0;
  if (d->has_bias) {
    const float *bias = kptr(d->bias, arena, weights);
    acc = bias[d->depthwise ? ch : g * d->bs_g + co];
  }
  const int64_t xo = n * d->xs_n + g * d->cin_g * d->xs_c;
  for (int64_t ci = 0; ci < d->cin_g; ci++)
    for (int64_t t0 = 0; t0 < d->k[0]; t0++) {
      int64_t i0 = o0 * d->s[0] - d->pb[0] + t0 * d->d[0];
      if (i0 < 0 || i0 >= d->in[0]) continue;
      for (int64_t t1 = 0; t1 < d->k[1]; t1++) {
        int64_t i1 = o1 * d->s[1] - d->pb[1] + t1 * d->d[1];
        if (i1 < 0 || i1 >= d->in[1]) continue;
        for (int64_t t2 = 0; t2 < d->k[2]; t2++) {
          int64_t i2 = o2 * d->s[2] - d->pb[2] + t2 * d->d[2];
          if (i2 < 0 || i2 >= d->in[2]) continue;
          float xv = x[xo + ci * d->xs_c + i0 * d->xs[0] + i1 * d->xs[1] +
                       i2 * d->xs[2]];
          float wv = w[wo + ci * d->ws_i + t0 * d->ws[0] + t1 * d->ws[1] +
                       t2 * d->ws[2]];
          acc += xv * wv;
        }
      }
    }
  y[n * d->ys_n + ch * d->ys_c + o0 * d->ys[0] + o1 * d->ys[1] +
    o2 * d->ys[2]] = gd_epi(&d->epi, acc);
}

GSIG(g_red_f32) {
  const kred *d = desc_;
  const int64_t id = gd_id();
  if (id >= d->rows * d->inner) return;
  const float *x = kptr(d->src, arena, weights);
  float *y = kptr(d->dst, arena, weights);
  int64_t base = id % d->inner, row = id / d->inner;
  for (int32_t k = d->nk - 1; k >= 0; k--) {
    base += row % d->kdims[k] * d->kstr[k];
    row /= d->kdims[k];
  }
  const int is_max = d->op == KR_MAX, is_min = d->op == KR_MIN;
  double acc = is_max ? -INFINITY : is_min ? INFINITY : 0.0;
  int nan = 0;
  for (int64_t c = 0; c < d->count; c++) {
    int64_t off = base, q = c;
    for (int32_t k = d->nr - 1; k >= 0; k--) {
      off += q % d->rdims[k] * d->rstr[k];
      q /= d->rdims[k];
    }
    double v = x[off];
    nan |= v != v;
    if (is_max)
      acc = v > acc ? v : acc;
    else if (is_min)
      acc = v < acc ? v : acc;
    else
      acc += v;
  }
  if ((is_max || is_min) && nan) acc = NAN;
  if (d->op == KR_MEAN) acc = acc / (double)d->count;
  y[id] = (float)acc;
}

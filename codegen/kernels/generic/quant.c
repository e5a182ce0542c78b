/* quant.c — quantisation templates: k_q_quantize, k_q_dequantize and
 * k_q_dynamic (DynamicQuantizeLinear, in two phases).
 *
 * Each float operation is its own expression, in the reference's order,
 * and templates are compiled with -ffp-contract=off, so results equal
 * ir/ref/quant.c bit for bit: x / s is a true division (never a multiply
 * by a reciprocal), the rounding is kq_rne (quant.h), dequantisation
 * converts q - zp exactly (int64 difference) before the multiply.
 * DynamicQuantizeLinear needs the whole tensor's range before it can
 * quantise anything, and tasks of one step run concurrently, so it is
 * three steps: every task finds its chunk's range, one task combines them
 * into scale and zero point, then every task quantises its part.
 */
#include "generic/quant.h"

static inline float kq_load_x(int32_t dt, const uint8_t *p, int64_t i) {
  if (dt == KQ_I32) {
    int32_t v;
    memcpy(&v, p + 4 * i, 4);
    return (float)v;
  }
  float v;
  memcpy(&v, p + 4 * i, 4);
  return v;
}

static inline int64_t kq_load_q(int32_t dt, const uint8_t *p, int64_t i) {
  switch (dt) {
  case KQ_U8: return p[i];
  case KQ_I8: return (int8_t)p[i];
  default: {
    int32_t v;
    memcpy(&v, p + 4 * i, 4);
    return v;
  }
  }
}

/* Unit |u| of a [outer, ch, inner] walk in chunks of KQ_CHUNK: first
 * element, length and channel. */
static inline int64_t kq_unit(const kq_linear *d, int64_t u, int64_t *len,
                              int64_t *c) {
  int64_t nch = (d->inner + KQ_CHUNK - 1) / KQ_CHUNK;
  int64_t row = u / nch, i0 = (u - row * nch) * KQ_CHUNK;
  *c = row % d->ch;
  *len = d->inner - i0 < KQ_CHUNK ? d->inner - i0 : KQ_CHUNK;
  return row * d->inner + i0;
}

KSIG(k_q_quantize) {
  const kq_linear *d = desc_;
  const uint8_t *x = kptr(d->x, arena, weights);
  const float *scale = kptr(d->scale, arena, weights);
  const uint8_t *zp = kptr(d->zp, arena, weights);
  uint8_t *y = kptr(d->y, arena, weights);
  int64_t u0 = kchunk(d->units, d->tasks, task_begin);
  int64_t u1 = kchunk(d->units, d->tasks, task_end);
  for (int64_t u = u0; u < u1; u++) {
    int64_t len, c, at = kq_unit(d, u, &len, &c);
    float s = scale[c];
    float z = d->has_zp ? (float)kq_load_q(d->zdtype, zp, c) : 0.0f;
    for (int64_t i = 0; i < len; i++) {
      float q = kq_load_x(d->xdtype, x, at + i) / s;
      float r = kq_saturate(q, z, d->qmin, d->qmax);
      y[at + i] = (uint8_t)(int32_t)r; /* int8 keeps its two's complement */
    }
  }
}

KSIG(k_q_dequantize) {
  const kq_linear *d = desc_;
  const uint8_t *x = kptr(d->x, arena, weights);
  const float *scale = kptr(d->scale, arena, weights);
  const uint8_t *zp = kptr(d->zp, arena, weights);
  float *y = kptr(d->y, arena, weights);
  int64_t u0 = kchunk(d->units, d->tasks, task_begin);
  int64_t u1 = kchunk(d->units, d->tasks, task_end);
  for (int64_t u = u0; u < u1; u++) {
    int64_t len, c, at = kq_unit(d, u, &len, &c);
    float s = scale[c];
    int64_t z = d->has_zp ? kq_load_q(d->zdtype, zp, c) : 0;
    for (int64_t i = 0; i < len; i++) {
      float v = (float)(kq_load_q(d->xdtype, x, at + i) - z);
      y[at + i] = v * s;
    }
  }
}

KSIG(k_q_dynamic) {
  const kq_dynamic *d = desc_;
  const float *x = kptr(d->x, arena, weights);
  float *part = kptr(d->part, arena, weights);
  float *scale = kptr(d->scale, arena, weights);
  uint8_t *zp = kptr(d->zp, arena, weights);
  if (d->phase == 0) {
    /* min(0, min x) and max(0, max x) of each chunk; NaN is skipped, and
     * the result does not depend on the lanes' order (-0 never replaces
     * the initial +0). */
    for (int64_t t = task_begin; t < task_end; t++) {
      int64_t i = kchunk(d->n, d->parts, t);
      int64_t end = kchunk(d->n, d->parts, t + 1);
      float mn[KQ_LANES], mx[KQ_LANES];
      for (int l = 0; l < KQ_LANES; l++) mn[l] = mx[l] = 0.0f;
      for (; i + KQ_LANES <= end; i += KQ_LANES)
        for (int l = 0; l < KQ_LANES; l++) {
          float v = x[i + l];
          mn[l] = v < mn[l] ? v : mn[l];
          mx[l] = v > mx[l] ? v : mx[l];
        }
      for (; i < end; i++) {
        mn[0] = x[i] < mn[0] ? x[i] : mn[0];
        mx[0] = x[i] > mx[0] ? x[i] : mx[0];
      }
      for (int l = 1; l < KQ_LANES; l++) {
        mn[0] = mn[l] < mn[0] ? mn[l] : mn[0];
        mx[0] = mx[l] > mx[0] ? mx[l] : mx[0];
      }
      part[2 * t] = mn[0];
      part[2 * t + 1] = mx[0];
    }
    return;
  }
  if (d->phase == 1) {
    if (task_begin > 0 || task_end < 1) return;
    float mn = 0.0f, mx = 0.0f;
    for (int64_t t = 0; t < d->parts; t++) {
      mn = part[2 * t] < mn ? part[2 * t] : mn;
      mx = part[2 * t + 1] > mx ? part[2 * t + 1] : mx;
    }
    float s = (mx - mn) / 255.0f;
    float z = 0.0f;
    if (s != 0) z = kq_saturate((0.0f - mn) / s, 0.0f, 0.0f, 255.0f);
    *scale = s;
    *zp = (uint8_t)(int32_t)z;
    return;
  }
  uint8_t *y = kptr(d->y, arena, weights);
  const float s = *scale, z = (float)*zp;
  int64_t u0 = kchunk(d->units, d->tasks, task_begin);
  int64_t u1 = kchunk(d->units, d->tasks, task_end);
  for (int64_t u = u0; u < u1; u++) {
    int64_t at = u * KQ_CHUNK;
    int64_t len = d->n - at < KQ_CHUNK ? d->n - at : KQ_CHUNK;
    for (int64_t i = 0; i < len; i++) {
      float q = s != 0 ? x[at + i] / s : 0.0f;
      y[at + i] = (uint8_t)(int32_t)kq_saturate(q, z, 0.0f, 255.0f);
    }
  }
}

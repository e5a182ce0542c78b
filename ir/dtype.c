/* dtype.c — element-type traits, half/bfloat16 conversion, and typed
 * element access used by every reference kernel.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

const ir_dtype_info ir_dtype_traits[IR_DT_COUNT] = {
    [IR_DT_UNDEF] = {"undefined", 0, false, false, false, false},
    [IR_F32] = {"float32", 4, true, true, false, false},
    [IR_U8] = {"uint8", 1, false, false, true, false},
    [IR_I8] = {"int8", 1, false, true, true, false},
    [IR_U16] = {"uint16", 2, false, false, true, false},
    [IR_I16] = {"int16", 2, false, true, true, false},
    [IR_I32] = {"int32", 4, false, true, true, false},
    [IR_I64] = {"int64", 8, false, true, true, false},
    [IR_STRING] = {"string", 0, false, false, false, false},
    [IR_BOOL] = {"bool", 1, false, false, false, true},
    [IR_F16] = {"float16", 2, true, true, false, false},
    [IR_F64] = {"float64", 8, true, true, false, false},
    [IR_U32] = {"uint32", 4, false, false, true, false},
    [IR_U64] = {"uint64", 8, false, false, true, false},
    [14] = {"complex64", 0, false, false, false, false},
    [15] = {"complex128", 0, false, false, false, false},
    [IR_BF16] = {"bfloat16", 2, true, true, false, false},
};

const ir_dtype_info *ir_dtype_get(ir_dtype t) {
  if ((unsigned)t >= IR_DT_COUNT) return NULL;
  return &ir_dtype_traits[t];
}

const char *ir_dtype_name(ir_dtype t) {
  if ((unsigned)t >= IR_DT_COUNT) return "unknown dtype";
  return ir_dtype_traits[t].name;
}

bool ir_dtype_supported(ir_dtype t) {
  return (unsigned)t < IR_DT_COUNT && t != IR_DT_UNDEF &&
         ir_dtype_traits[t].size != 0;
}

static uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
static float bits_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

float ir_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  if (exp == 0) { /* zero or subnormal: exact in float */
    float v = ldexpf((float)man, -24);
    return sign ? -v : v;
  }
  if (exp == 31) return bits_f32(sign | 0x7f800000u | (man << 13));
  return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t ir_f32_to_f16(float f) {
  uint32_t u = f32_bits(f);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
  uint32_t exp = (u >> 23) & 0xff, man = u & 0x7fffff;
  if (exp == 0xff) /* inf or nan (keep nan quiet) */
    return sign | 0x7c00 | (man ? 0x200 | (man >> 13) : 0);
  int e = (int)exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) { /* subnormal half or zero */
    if (e < -10) return sign;
    man |= 0x800000;
    int shift = 14 - e;
    uint32_t half = man >> shift, rem = man & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return sign | (uint16_t)half;
  }
  uint32_t half = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++; /* may carry */
  return sign | (uint16_t)half;
}

float ir_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t ir_f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
  u += 0x7fff + ((u >> 16) & 1);
  return (uint16_t)(u >> 16);
}

#define LOAD(T) (((const T *)base)[i])
double ir_load_f64(ir_dtype t, const void *base, size_t i) {
  switch (t) {
  case IR_F32: return LOAD(float);
  case IR_F64: return LOAD(double);
  case IR_F16: return ir_f16_to_f32(LOAD(uint16_t));
  case IR_BF16: return ir_bf16_to_f32(LOAD(uint16_t));
  case IR_U64: return (double)LOAD(uint64_t);
  default: return (double)ir_load_i64(t, base, i);
  }
}

int64_t ir_load_i64(ir_dtype t, const void *base, size_t i) {
  switch (t) {
  case IR_U8: return LOAD(uint8_t);
  case IR_I8: return LOAD(int8_t);
  case IR_U16: return LOAD(uint16_t);
  case IR_I16: return LOAD(int16_t);
  case IR_I32: return LOAD(int32_t);
  case IR_I64: return LOAD(int64_t);
  case IR_U32: return LOAD(uint32_t);
  case IR_U64: return (int64_t)LOAD(uint64_t);
  case IR_BOOL: return LOAD(uint8_t) != 0;
  case IR_F32: case IR_F64: case IR_F16: case IR_BF16: {
    double d = ir_load_f64(t, base, i);
    if (d != d) return 0;
    if (d >= 9223372036854775807.0) return INT64_MAX;
    if (d <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)d;
  }
  default: return 0;
  }
}

uint64_t ir_load_u64(ir_dtype t, const void *base, size_t i) {
  if (t == IR_U64) return LOAD(uint64_t);
  if (ir_dtype_traits[t].is_float) {
    double d = ir_load_f64(t, base, i);
    if (d != d || d == 0) return 0;
    if (d < 0) /* wraps like the int64 path, without UB below INT64_MIN */
      return d <= -9223372036854775808.0 ? (uint64_t)INT64_MIN
                                         : (uint64_t)(int64_t)d;
    if (d >= 18446744073709551615.0) return UINT64_MAX;
    return (uint64_t)d;
  }
  return (uint64_t)ir_load_i64(t, base, i);
}
#undef LOAD

#define STORE(T, v) (((T *)base)[i] = (T)(v))
void ir_store_f64(ir_dtype t, void *base, size_t i, double v) {
  switch (t) {
  case IR_F32: STORE(float, v); break;
  case IR_F64: STORE(double, v); break;
  case IR_F16: STORE(uint16_t, ir_f32_to_f16((float)v)); break;
  case IR_BF16: STORE(uint16_t, ir_f32_to_bf16((float)v)); break;
  case IR_BOOL: STORE(uint8_t, v != 0); break;
  case IR_U64: {
    uint64_t u;
    if (v != v) u = 0;
    else if (v < 0) u = (uint64_t)(v <= -9223372036854775808.0 ? INT64_MIN : (int64_t)v);
    else if (v >= 18446744073709551615.0) u = UINT64_MAX;
    else u = (uint64_t)v;
    STORE(uint64_t, u);
    break;
  }
  default: {
    int64_t x;
    if (v != v) x = 0;
    else if (v >= 9223372036854775807.0) x = INT64_MAX;
    else if (v <= -9223372036854775808.0) x = INT64_MIN;
    else x = (int64_t)v;
    ir_store_i64(t, base, i, x);
  }
  }
}

void ir_store_i64(ir_dtype t, void *base, size_t i, int64_t v) {
  switch (t) {
  case IR_U8: STORE(uint8_t, (uint64_t)v); break;
  case IR_I8: STORE(int8_t, (uint8_t)(uint64_t)v); break;
  case IR_U16: STORE(uint16_t, (uint64_t)v); break;
  case IR_I16: STORE(int16_t, (uint16_t)(uint64_t)v); break;
  case IR_I32: STORE(int32_t, (uint32_t)(uint64_t)v); break;
  case IR_I64: STORE(int64_t, v); break;
  case IR_U32: STORE(uint32_t, (uint64_t)v); break;
  case IR_U64: STORE(uint64_t, (uint64_t)v); break;
  case IR_BOOL: STORE(uint8_t, v != 0); break;
  case IR_F32: case IR_F64: case IR_F16: case IR_BF16:
    ir_store_f64(t, base, i, (double)v);
    break;
  default: break;
  }
}

void ir_store_u64(ir_dtype t, void *base, size_t i, uint64_t v) {
  if (t == IR_U64) STORE(uint64_t, v);
  else if (ir_dtype_traits[t].is_float) ir_store_f64(t, base, i, (double)v);
  else ir_store_i64(t, base, i, (int64_t)v);
}
#undef STORE

/*===--- shapes and values -------------------------------------------===*/

bool ir_shape_is_static(const ir_shape *s) {
  for (int d = 0; d < s->rank; d++)
    if (s->dims[d] < 0) return false;
  return true;
}

size_t ir_shape_numel(const ir_shape *s) {
  size_t n = 1;
  const size_t lim = SIZE_MAX / 16;
  for (int d = 0; d < s->rank; d++) {
    if (s->dims[d] < 0) return 0;
    if (s->dims[d] == 0) return 0;
    if ((size_t)s->dims[d] > lim / n) return lim;
    n *= (size_t)s->dims[d];
  }
  return n;
}

bool ir_shape_equal(const ir_shape *a, const ir_shape *b) {
  if (a->rank != b->rank) return false;
  for (int d = 0; d < a->rank; d++)
    if (a->dims[d] != b->dims[d]) return false;
  return true;
}

const char *ir_shape_str(const ir_shape *s, char *buf, size_t n) {
  if (n == 0) return buf;
  buf[0] = 0;
  if (s->rank == 0) {
    snprintf(buf, n, "scalar");
    return buf;
  }
  size_t used = 0;
  for (int d = 0; d < s->rank && used < n; d++) {
    int w = s->dims[d] < 0
                ? snprintf(buf + used, n - used, "%s?", d ? "x" : "")
                : snprintf(buf + used, n - used, "%s%lld", d ? "x" : "",
                           (long long)s->dims[d]);
    if (w < 0) break;
    used += (size_t)w;
  }
  return buf;
}

/* Largest single value the reference interpreter allocates: 16 GiB. */
#define IR_VALUE_MAX_BYTES ((size_t)16 << 30)

size_t ir_value_nbytes(const ir_value *v) {
  const ir_dtype_info *t = ir_dtype_get(v->dtype);
  if (!t) return 0;
  size_t n = ir_shape_numel(&v->shape);
  if (n > IR_VALUE_MAX_BYTES) return SIZE_MAX;
  return n * t->size;
}

ingot_status ir_value_alloc(ir_value *v) {
  char buf[128];
  if (!ir_dtype_supported(v->dtype))
    return ingot_make_status(INGOT_UNIMPLEMENTED, "dtype %s is not supported",
                             ir_dtype_name(v->dtype));
  if (v->shape.rank < 0 || v->shape.rank > IR_MAX_RANK ||
      !ir_shape_is_static(&v->shape))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "cannot allocate a tensor of shape %s",
                             ir_shape_str(&v->shape, buf, sizeof buf));
  size_t nb = ir_value_nbytes(v);
  if (nb > IR_VALUE_MAX_BYTES)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                             "tensor of shape %s (%s) is too large",
                             ir_shape_str(&v->shape, buf, sizeof buf),
                             ir_dtype_name(v->dtype));
  v->data = calloc(nb ? nb : 1, 1);
  v->borrowed = false;
  if (!v->data)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                             "out of memory allocating %zu bytes", nb);
  return NULL;
}

void ir_value_free(ir_value *v) {
  if (!v) return;
  if (!v->borrowed) free(v->data);
  v->data = NULL;
  v->borrowed = false;
}

ingot_status ir_value_copy(ir_value *dst, const ir_value *src) {
  *dst = *src;
  dst->data = NULL;
  INGOT_RETURN_IF_ERROR(ir_value_alloc(dst));
  size_t nb = ir_value_nbytes(src);
  if (nb && src->data) memcpy(dst->data, src->data, nb);
  return NULL;
}

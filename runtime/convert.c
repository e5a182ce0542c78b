/* convert.c — what happens at the edges of a session: copying user data
 * into the arena and back, converting the element type and the layout.
 *
 * The user always sees a tensor in the model's layout and dtype (or as
 * float32).  The arena may hold it differently (ingot_tensor_desc):
 *   - layout NHWC: a 4-D NCHW tensor stored channels-last;
 *   - stored_dtype u8/s8 for a float32 tensor: quantised with
 *     q = clamp(rne(x / scale) + zero_point), read back as
 *     (q - zero_point) * scale (DESIGN.md §5).
 * Any other dtype pair converts through double: float to integer
 * truncates toward zero and saturates (NaN gives 0), as a C cast would if
 * it were defined everywhere.
 *
 * Both directions are one strided loop (run) called once for AS_MODEL
 * tensors and once per (n, c) plane for NHWC ones; equal dtypes copy bytes.
 */
#include <math.h>
#include <string.h>

#include "rt.h"

enum { COPY, QUANT, DEQUANT, GENERIC };

typedef struct conv {
  int mode;
  uint32_t sdt, ddt;
  size_t ssz, dsz;
  float scale;
  int32_t zp, qmin, qmax;
} conv;

size_t rt_dtype_size(uint32_t dt) {
  switch (dt) {
  case INGOT_UINT8: case INGOT_INT8: case INGOT_BOOL:
    return 1;
  case INGOT_UINT16: case INGOT_INT16: case INGOT_FLOAT16: case INGOT_BFLOAT16:
    return 2;
  case INGOT_FLOAT32: case INGOT_INT32: case INGOT_UINT32:
    return 4;
  case INGOT_INT64: case INGOT_UINT64: case INGOT_FLOAT64:
    return 8;
  default:
    return 0;
  }
}

const char *rt_dtype_name(uint32_t dt) {
  switch (dt) {
  case INGOT_FLOAT32: return "float32";
  case INGOT_UINT8: return "uint8";
  case INGOT_INT8: return "int8";
  case INGOT_UINT16: return "uint16";
  case INGOT_INT16: return "int16";
  case INGOT_INT32: return "int32";
  case INGOT_INT64: return "int64";
  case INGOT_BOOL: return "bool";
  case INGOT_FLOAT16: return "float16";
  case INGOT_FLOAT64: return "float64";
  case INGOT_UINT32: return "uint32";
  case INGOT_UINT64: return "uint64";
  case INGOT_BFLOAT16: return "bfloat16";
  default: return "unknown dtype";
  }
}

static float bits_float(uint32_t b) {
  float f;
  memcpy(&f, &b, 4);
  return f;
}

static uint32_t float_bits(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  return b;
}

static float half_to_float(uint16_t h) {
  uint32_t s = (uint32_t)(h & 0x8000) << 16, e = h >> 10 & 0x1f, m = h & 0x3ff;
  if (e == 0x1f) return bits_float(s | 0x7f800000 | m << 13);
  if (e) return bits_float(s | (e + 112) << 23 | m << 13);
  float f = (float)m * 0x1p-24f; /* zero or subnormal */
  return s ? -f : f;
}

static uint16_t float_to_half(float f) {
  uint32_t x = float_bits(f), ax = x & 0x7fffffff;
  uint16_t s = (uint16_t)(x >> 16 & 0x8000);
  if (ax > 0x7f800000) return s | 0x7e00;  /* NaN */
  if (ax >= 0x477ff000) return s | 0x7c00; /* >= 65520 rounds to inf */
  if (ax < 0x38800000)                     /* below 2^-14: subnormal */
    return s | (uint16_t)rintf(bits_float(ax) * 0x1p24f);
  uint32_t r = ax - (112u << 23);
  return s | (uint16_t)((r + 0xfff + (r >> 13 & 1)) >> 13);
}

static uint16_t float_to_bf16(float f) {
  uint32_t x = float_bits(f);
  if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)(x >> 16 | 0x40);
  return (uint16_t)((x + 0x7fff + (x >> 16 & 1)) >> 16);
}

static double load(const uint8_t *p, uint32_t dt) {
  union {
    uint8_t u8; int8_t s8; uint16_t u16; int16_t s16; int32_t s32;
    uint32_t u32; int64_t s64; uint64_t u64; float f32; double f64;
  } v;
  memcpy(&v, p, rt_dtype_size(dt));
  switch (dt) {
  case INGOT_FLOAT32: return v.f32;
  case INGOT_UINT8: return v.u8;
  case INGOT_INT8: return v.s8;
  case INGOT_UINT16: return v.u16;
  case INGOT_INT16: return v.s16;
  case INGOT_INT32: return v.s32;
  case INGOT_INT64: return (double)v.s64;
  case INGOT_BOOL: return v.u8 != 0;
  case INGOT_FLOAT16: return half_to_float(v.u16);
  case INGOT_FLOAT64: return v.f64;
  case INGOT_UINT32: return v.u32;
  case INGOT_UINT64: return (double)v.u64;
  case INGOT_BFLOAT16: return bits_float((uint32_t)v.u16 << 16);
  default: return 0;
  }
}

/* Truncates toward zero and saturates to [lo, hi]; NaN gives 0. */
static double to_int(double x, double lo, double hi) {
  if (x != x) return 0;
  x = trunc(x);
  return x < lo ? lo : x > hi ? hi : x;
}

static void store(uint8_t *p, uint32_t dt, double x) {
  union {
    uint8_t u8; int8_t s8; uint16_t u16; int16_t s16; int32_t s32;
    uint32_t u32; int64_t s64; uint64_t u64; float f32; double f64;
  } v;
  switch (dt) {
  case INGOT_FLOAT32: v.f32 = (float)x; break;
  case INGOT_UINT8: v.u8 = (uint8_t)to_int(x, 0, 255); break;
  case INGOT_INT8: v.s8 = (int8_t)to_int(x, -128, 127); break;
  case INGOT_UINT16: v.u16 = (uint16_t)to_int(x, 0, 65535); break;
  case INGOT_INT16: v.s16 = (int16_t)to_int(x, -32768, 32767); break;
  case INGOT_INT32: v.s32 = (int32_t)to_int(x, -2147483648.0, 2147483647.0); break;
  case INGOT_UINT32: v.u32 = (uint32_t)to_int(x, 0, 4294967295.0); break;
  case INGOT_INT64:
    /* 2^63 is the first double past INT64_MAX */
    v.s64 = x >= 0x1p63 ? INT64_MAX : (int64_t)to_int(x, -0x1p63, 0x1p63);
    break;
  case INGOT_UINT64:
    v.u64 = x >= 0x1p64 ? UINT64_MAX : (uint64_t)to_int(x, 0, 0x1p64);
    break;
  case INGOT_BOOL: v.u8 = x != 0; break;
  case INGOT_FLOAT16: v.u16 = float_to_half((float)x); break;
  case INGOT_FLOAT64: v.f64 = x; break;
  case INGOT_BFLOAT16: v.u16 = float_to_bf16((float)x); break;
  default: return;
  }
  memcpy(p, &v, rt_dtype_size(dt));
}

static uint8_t quantise(float x, const conv *c) {
  float q = rintf(x / c->scale);
  if (q != q) q = 0;
  q += (float)c->zp;
  if (q < (float)c->qmin) q = (float)c->qmin;
  if (q > (float)c->qmax) q = (float)c->qmax;
  return (uint8_t)(int32_t)q; /* int8 values wrap to their two's complement byte */
}

/* |n| elements; |ss| and |ds| are byte strides. */
static void run(const conv *c, const uint8_t *s, size_t ss, uint8_t *d,
                size_t ds, size_t n) {
  switch (c->mode) {
  case COPY:
    if (ss == c->ssz && ds == c->dsz) {
      if (n) memcpy(d, s, n * c->ssz);
    } else if (c->ssz == 4) {
      for (size_t i = 0; i < n; i++) memcpy(d + i * ds, s + i * ss, 4);
    } else {
      for (size_t i = 0; i < n; i++) memcpy(d + i * ds, s + i * ss, c->ssz);
    }
    break;
  case QUANT:
    for (size_t i = 0; i < n; i++) {
      float x;
      memcpy(&x, s + i * ss, 4);
      d[i * ds] = quantise(x, c);
    }
    break;
  case DEQUANT:
    for (size_t i = 0; i < n; i++) {
      int32_t q = c->sdt == INGOT_INT8 ? (int8_t)s[i * ss] : s[i * ss];
      float x = (float)(q - c->zp) * c->scale;
      memcpy(d + i * ds, &x, 4);
    }
    break;
  default:
    for (size_t i = 0; i < n; i++) store(d + i * ds, c->ddt, load(s + i * ss, c->sdt));
    break;
  }
}

static conv make_conv(const rt_tensor *t, uint32_t from, uint32_t to) {
  conv c = {.sdt = from, .ddt = to, .ssz = rt_dtype_size(from),
            .dsz = rt_dtype_size(to), .scale = t->scale, .zp = t->zero_point};
  c.qmin = t->stored_dtype == INGOT_INT8 ? -128 : 0;
  c.qmax = t->stored_dtype == INGOT_INT8 ? 127 : 255;
  if (from == to)
    c.mode = COPY;
  else if (t->stored_dtype != t->dtype && to == t->stored_dtype)
    c.mode = QUANT;
  else if (t->stored_dtype != t->dtype && from == t->stored_dtype)
    c.mode = DEQUANT;
  else
    c.mode = GENERIC;
  return c;
}

/* Moves the tensor between user (NCHW) and arena (NHWC) order when
 * |to_arena| says which way; AS_MODEL tensors are one flat run. */
static void transfer(const rt_tensor *t, const conv *c, const uint8_t *src,
                     uint8_t *dst, int to_arena) {
  if (t->layout != INGOT_LAYOUT_NHWC) {
    run(c, src, c->ssz, dst, c->dsz, (size_t)t->count);
    return;
  }
  size_t N = (size_t)t->dims[0], C = (size_t)t->dims[1];
  size_t HW = (size_t)t->dims[2] * (size_t)t->dims[3];
  for (size_t n = 0; n < N; n++)
    for (size_t ch = 0; ch < C; ch++) {
      size_t planar = (n * C + ch) * HW, packed = n * HW * C + ch;
      if (to_arena)
        run(c, src + planar * c->ssz, c->ssz, dst + packed * c->dsz,
            C * c->dsz, HW);
      else
        run(c, src + packed * c->ssz, C * c->ssz, dst + planar * c->dsz,
            c->dsz, HW);
    }
}

void rt_convert_in(const rt_tensor *t, uint32_t user_dtype, const void *src,
                   uint8_t *arena) {
  conv c = make_conv(t, user_dtype, t->stored_dtype);
  transfer(t, &c, src, arena + t->arena_offset, 1);
}

void rt_convert_out(const rt_tensor *t, uint32_t user_dtype,
                    const uint8_t *arena, void *dst) {
  conv c = make_conv(t, t->stored_dtype, user_dtype);
  transfer(t, &c, arena + t->arena_offset, dst, 0);
}

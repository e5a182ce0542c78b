/* fixture.c — see fixture.h. */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_format.h"

static const float scale[T_C] = {2.0f, -1.0f, 0.5f};
static const float bias[T_C] = {1.0f, 3.0f, -0.25f};

const uint32_t fix_convert_dtypes[] = {
    INGOT_FLOAT32, INGOT_UINT8,   INGOT_INT8,    INGOT_UINT16, INGOT_INT16,
    INGOT_INT32,   INGOT_INT64,   INGOT_BOOL,    INGOT_FLOAT16, INGOT_FLOAT64,
    INGOT_UINT32,  INGOT_UINT64,  INGOT_BFLOAT16};
const int fix_convert_count =
    (int)(sizeof fix_convert_dtypes / sizeof fix_convert_dtypes[0]);

float fix_x(int i) { return (float)i * 0.5f - 7.0f; }
float fix_y(int c, float x) { return x * scale[c] + bias[c]; }

int64_t fix_z(int64_t v) {
  static const int64_t table[16] = {3, 1, 4, 1, 5, 9, 2, 6,
                                    5, 3, 5, 8, 9, 7, 9, 3};
  int64_t op, s;
  switch (((v % 3) + 3) % 3) {
  case 0: op = -v; break;
  case 1: op = v * v; break;
  default: op = v + 1; break;
  }
  switch (v & 7) {
  case 0: s = 11 + v; break;
  case 1: s = 22 * v; break;
  case 2: s = v - 7; break;
  case 3: s = v * 8; break;
  case 4: s = 100 - v; break;
  case 5: s = v ^ 5; break;
  case 6: s = -3 * v; break;
  default: s = 7 * v + 1; break;
  }
  return op + 3 * table[v & 15] + 1000 + s;
}

static size_t dsize(uint32_t dt) {
  switch (dt) {
  case INGOT_UINT8: case INGOT_INT8: case INGOT_BOOL: return 1;
  case INGOT_UINT16: case INGOT_INT16: case INGOT_FLOAT16:
  case INGOT_BFLOAT16: return 2;
  case INGOT_FLOAT32: case INGOT_INT32: case INGOT_UINT32: return 4;
  default: return 8;
  }
}

static cg_io_tensor io(const char *name, uint32_t role, uint32_t dtype,
                       uint32_t rank, const int64_t *dims, uint64_t off,
                       uint32_t layout) {
  cg_io_tensor t;
  memset(&t, 0, sizeof t);
  t.name = name;
  t.role = role;
  t.dtype = t.stored_dtype = dtype;
  t.rank = rank;
  uint64_t n = 1;
  for (uint32_t k = 0; k < rank; k++) {
    t.dims[k] = dims[k];
    n *= (uint64_t)dims[k];
  }
  t.arena_offset = off;
  t.arena_bytes = n * dsize(dtype);
  t.layout = layout;
  return t;
}

static cg_plan_step step(const char *sym, const char *op, int64_t tasks) {
  cg_plan_step s;
  memset(&s, 0, sizeof s);
  s.symbol = sym;
  s.kernel = "k_test";
  s.op = op;
  s.provenance = op;
  s.precision = INGOT_FLOAT32;
  s.tasks = tasks;
  s.ops = 2 * (uint64_t)tasks;
  s.bytes = 64;
  return s;
}

static const char *const convert_in[] = {
    "f32", "u8", "s8", "u16", "s16", "s32", "s64",
    "bool", "f16", "f64", "u32", "u64", "bf16"};
static const char *const convert_out[] = {
    "f32_out", "u8_out", "s8_out", "u16_out", "s16_out", "s32_out", "s64_out",
    "bool_out", "f16_out", "f64_out", "u32_out", "u64_out", "bf16_out"};

void fixture_init(fixture *f, int kind, const void *obj, size_t obj_size) {
  memset(f, 0, sizeof *f);
  snprintf(f->target.triple, sizeof f->target.triple,
           "x86_64-unknown-linux-gnu");
  snprintf(f->target.cpu, sizeof f->target.cpu, "x86-64");
  f->target.cpu_features = 0;
  memcpy(f->weights + W_SCALE, scale, sizeof scale);
  memcpy(f->weights + W_BIAS, bias, sizeof bias);
  int64_t nb = T_XN * 4, qb = N_Q, sb = 16;
  memcpy(f->weights + W_NBYTES, &nb, 8);
  memcpy(f->weights + W_QBYTES, &qb, 8);
  memcpy(f->weights + W_SBYTES, &sb, 8);

  const int64_t nchw[4] = {1, T_C, T_H, T_W}, six[1] = {N_IDX},
                one[1] = {1}, q[1] = {N_Q}, two[1] = {2};
  cg_engine_desc *d = &f->desc;
  d->target = &f->target;
  d->arena_size = A_SIZE;
  d->weights = f->weights;
  d->weights_size = W_SIZE;
  d->code = obj;
  d->code_size = obj_size;
  d->tensors = f->tensors;
  d->steps = f->steps;
  d->build_info = "command: runtime test fixture\nprecision: fp32\n";
  cg_io_tensor *t = f->tensors;
  if (kind == FIX_SIMPLE) {
    t[0] = io("x", INGOT_TENSOR_INPUT, INGOT_FLOAT32, 4, nchw, A_X,
              INGOT_LAYOUT_NHWC);
    t[1] = io("y", INGOT_TENSOR_OUTPUT, INGOT_FLOAT32, 4, nchw, A_Y,
              INGOT_LAYOUT_NHWC);
    d->n_inputs = d->n_outputs = 1;
    f->steps[0] = step("step_affine", "Affine 3x4x5", T_H);
    d->n_steps = 1;
    return;
  }
  if (kind == FIX_CONVERT) {
    uint64_t off = 0;
    int n = fix_convert_count;
    const int64_t five[1] = {5};
    for (int i = 0; i < n; i++) {
      t[i] = io(convert_in[i], INGOT_TENSOR_INPUT, fix_convert_dtypes[i], 1,
                five, off, INGOT_LAYOUT_AS_MODEL);
      t[n + 2 + i] = io(convert_out[i], INGOT_TENSOR_OUTPUT,
                        fix_convert_dtypes[i], 1, five, off,
                        INGOT_LAYOUT_AS_MODEL);
      off += 64;
    }
    /* an NCHW [2,3,2,2] input stored NHWC, read back both as NCHW and, by
     * an AS_MODEL output over the same bytes, as the raw NHWC [2,2,2,3] */
    const int64_t p[4] = {2, 3, 2, 2}, raw[4] = {2, 2, 2, 3};
    t[n] = io("perm", INGOT_TENSOR_INPUT, INGOT_FLOAT32, 4, p, off,
              INGOT_LAYOUT_NHWC);
    t[n + 1] = io("quant", INGOT_TENSOR_INPUT, INGOT_FLOAT32, 1, q, off + 128,
                  INGOT_LAYOUT_AS_MODEL);
    t[n + 1].stored_dtype = INGOT_INT8;
    t[n + 1].arena_bytes = N_Q;
    t[n + 1].scale = 0.25f;
    t[n + 1].zero_point = -3;
    t[2 * n + 2] = io("perm_out", INGOT_TENSOR_OUTPUT, INGOT_FLOAT32, 4, p,
                      off, INGOT_LAYOUT_NHWC);
    t[2 * n + 3] = io("perm_raw", INGOT_TENSOR_OUTPUT, INGOT_FLOAT32, 4, raw,
                      off, INGOT_LAYOUT_AS_MODEL);
    t[2 * n + 4] = t[n + 1];
    t[2 * n + 4].name = "quant_out";
    t[2 * n + 4].role = INGOT_TENSOR_OUTPUT;
    d->n_inputs = (uint32_t)n + 2;
    d->n_outputs = (uint32_t)n + 3;
    d->arena_size = off + 192;
    d->code = NULL;
    d->code_size = 0;
    d->n_steps = 0;
    return;
  }
  t[0] = io("x", INGOT_TENSOR_INPUT, INGOT_FLOAT32, 4, nchw, A_X,
            INGOT_LAYOUT_NHWC);
  t[1] = io("idx", INGOT_TENSOR_INPUT, INGOT_INT64, 1, six, A_IDX, 0);
  t[2] = io("q", INGOT_TENSOR_INPUT, INGOT_FLOAT32, 1, q, A_Q, 0);
  t[2].stored_dtype = INGOT_UINT8;
  t[2].arena_bytes = N_Q;
  t[2].scale = 0.5f;
  t[2].zero_point = 10;
  t[3] = io("y", INGOT_TENSOR_OUTPUT, INGOT_FLOAT32, 4, nchw, A_Y,
            INGOT_LAYOUT_NHWC);
  t[4] = io("z", INGOT_TENSOR_OUTPUT, INGOT_INT64, 1, six, A_Z, 0);
  t[5] = io("count", INGOT_TENSOR_OUTPUT, INGOT_INT64, 1, one, A_COUNT, 0);
  t[6] = io("xcopy", INGOT_TENSOR_OUTPUT, INGOT_FLOAT32, 4, nchw, A_XCOPY,
            INGOT_LAYOUT_NHWC);
  t[7] = t[2];
  t[7].name = "qo";
  t[7].role = INGOT_TENSOR_OUTPUT;
  t[7].arena_offset = A_QO;
  t[8] = io("sum", INGOT_TENSOR_OUTPUT, INGOT_INT64, 1, two, A_SUM, 0);
  d->n_inputs = 3;
  d->n_outputs = 6;
  f->steps[0] = step("step_affine", "Affine 3x4x5", T_H);
  f->steps[1] = step("step_index", "Index 6", N_IDX);
  f->steps[2] = step("step_copy", "Copy", 1);
  f->steps[3] = step("step_zero", "Zero", 1);
  f->steps[4] = step("step_sum", "Sum 1000", SUM_TASKS);
  f->steps[1].provenance = "gather_node\nadd_node";
  d->n_steps = 5;
  for (int i = 0; i < 3; i++) {
    const cg_io_tensor *src = &t[i == 0 ? 0 : i == 1 ? 2 : 3];
    cg_map_tensor *m = &f->map[i];
    m->name = src->name;
    m->dtype = src->stored_dtype ? src->stored_dtype : src->dtype;
    m->rank = src->rank;
    memcpy(m->dims, src->dims, sizeof m->dims);
    m->arena_offset = src->arena_offset;
    m->arena_bytes = src->arena_bytes;
    m->layout = src->layout;
    m->ready_step = i < 2 ? INGOT_TENSOR_READY_INPUT : 0;
    m->quantized = i == 1;
    m->scale = src->scale;
    m->zero_point = src->zero_point;
  }
  d->map = f->map;
  d->n_map = 3;
}

uint8_t *fixture_engine(int kind, const void *obj, size_t obj_size,
                        size_t *size) {
  fixture f;
  fixture_init(&f, kind, obj, obj_size);
  void *out = NULL;
  ingot_status s = cg_engine_serialize(&f.desc, &out, size);
  if (s) {
    fprintf(stderr, "fixture: %s\n", ingot_status_message(s));
    ingot_status_free(s);
    return NULL;
  }
  return out;
}

uint8_t *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : 65536;
      uint8_t *b = realloc(buf, cap);
      if (!b) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = b;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
  }
  fclose(f);
  *size = n;
  return buf;
}

int write_file(const char *path, const void *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(data, 1, size, f);
  return fclose(f) == 0 && w == size ? 0 : -1;
}

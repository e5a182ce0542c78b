/* test_qlinear_ms.c — ONNX Runtime's com.microsoft quantised ops in the
 * reference interpreter (ir/ref/qlinear_ms.c) and their import.
 *
 * Every case is a one-node ONNX model built in memory with the protobuf-c
 * bindings, so it goes through the real importer (domain and opset
 * handling, parse, shape inference) before the interpreter runs it.  The
 * expected outputs are worked out by hand in the comments from the formulas
 * at the top of qlinear_ms.c: odd zero points, ties (round half to even),
 * saturation at both ends, broadcasting, int8 and uint8.  Then: import
 * errors for domains, bad parameters, QLinearAveragePool against the float
 * AveragePool on random geometries, and the XML IR round trip.
 *
 * usage: test_qlinear_ms TMPDIR
 *        test_qlinear_ms --models TMPDIR MODEL.onnx...
 *   (the second form: real QOperator models on pseudo-random inputs, and
 *   their XML round trip)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "ir.h"
#include "onnx.pb-c.h"
#include "xml.h"

/*===--- one-node models ----------------------------------------------===*/

#define QB_MAX 40

typedef struct qb {
  Onnx__ModelProto model;
  Onnx__GraphProto graph;
  Onnx__OperatorSetIdProto opsets[2], *opset_ptrs[2];
  Onnx__NodeProto node, *node_ptr;
  char *node_in[QB_MAX], *node_out[1];
  Onnx__ValueInfoProto vis[QB_MAX], *in_ptrs[QB_MAX], *out_ptrs[1];
  Onnx__TypeProto types[QB_MAX];
  Onnx__TypeProto__Tensor ttypes[QB_MAX];
  Onnx__TensorShapeProto shapes[QB_MAX];
  Onnx__TensorShapeProto__Dimension dims[QB_MAX][IR_MAX_RANK],
      *dim_ptrs[QB_MAX][IR_MAX_RANK];
  Onnx__TensorProto inits[QB_MAX], *init_ptrs[QB_MAX];
  int64_t init_dims[QB_MAX][1];
  Onnx__AttributeProto attrs[8], *attr_ptrs[8];
  int64_t attr_ints[8][2 * IR_MAX_RANK];
  char names[QB_MAX][16];
  uint8_t blobs[QB_MAX][256];
  int n_names;
  ir_value feeds[QB_MAX];
  int n_feeds;
} qb;

static char *qb_name(qb *b) {
  char *s = b->names[b->n_names];
  snprintf(s, 16, "t%d", b->n_names++);
  return s;
}

/* A node |op| of |domain|; the model imports the default domain at opset
 * 13 and com.microsoft at |ms_opset| (0: not imported). */
static void qb_init(qb *b, char *op, char *domain, int64_t ms_opset) {
  memset(b, 0, sizeof *b);
  onnx__model_proto__init(&b->model);
  onnx__graph_proto__init(&b->graph);
  for (int i = 0; i < 2; i++) {
    onnx__operator_set_id_proto__init(&b->opsets[i]);
    b->opsets[i].has_version = 1;
    b->opset_ptrs[i] = &b->opsets[i];
  }
  b->opsets[0].domain = "";
  b->opsets[0].version = 13;
  b->opsets[1].domain = "com.microsoft";
  b->opsets[1].version = ms_opset;
  b->model.has_ir_version = 1;
  b->model.ir_version = 7;
  b->model.n_opset_import = ms_opset ? 2 : 1;
  b->model.opset_import = b->opset_ptrs;
  b->model.graph = &b->graph;
  b->graph.name = "qms";
  b->graph.input = b->in_ptrs;
  b->graph.output = b->out_ptrs;
  b->graph.initializer = b->init_ptrs;
  onnx__node_proto__init(&b->node);
  b->node.name = "q";
  b->node.op_type = op;
  b->node.domain = domain;
  b->node.input = b->node_in;
  b->node.output = b->node_out;
  b->node.attribute = b->attr_ptrs;
  b->node_ptr = &b->node;
  b->graph.node = &b->node_ptr;
  b->graph.n_node = 1;
  b->node_out[0] = "y";
  b->node.n_output = 1;
  Onnx__ValueInfoProto *vo = &b->vis[QB_MAX - 1];
  onnx__value_info_proto__init(vo);
  vo->name = "y";
  b->out_ptrs[0] = vo;
  b->graph.n_output = 1;
}

/* A graph input of |dt| and shape, fed with |data| (borrowed). */
static void qb_data(qb *b, ir_dtype dt, int rank, const int64_t *dims,
                    const void *data) {
  int k = (int)b->graph.n_input;
  char *name = qb_name(b);
  Onnx__ValueInfoProto *vi = &b->vis[k];
  onnx__value_info_proto__init(vi);
  onnx__type_proto__init(&b->types[k]);
  onnx__type_proto__tensor__init(&b->ttypes[k]);
  onnx__tensor_shape_proto__init(&b->shapes[k]);
  vi->name = name;
  vi->type = &b->types[k];
  b->types[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  b->types[k].tensor_type = &b->ttypes[k];
  b->ttypes[k].has_elem_type = 1;
  b->ttypes[k].elem_type = (int32_t)dt;
  b->ttypes[k].shape = &b->shapes[k];
  b->shapes[k].n_dim = (size_t)rank;
  b->shapes[k].dim = b->dim_ptrs[k];
  ir_value *v = &b->feeds[b->n_feeds++];
  memset(v, 0, sizeof *v);
  v->dtype = dt;
  v->shape.rank = rank;
  v->data = (void *)data;
  v->borrowed = true;
  for (int d = 0; d < rank; d++) {
    onnx__tensor_shape_proto__dimension__init(&b->dims[k][d]);
    b->dims[k][d].value_case =
        ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    b->dims[k][d].dim_value = dims[d];
    b->dim_ptrs[k][d] = &b->dims[k][d];
    v->shape.dims[d] = dims[d];
  }
  b->in_ptrs[b->graph.n_input++] = vi;
  b->node_in[b->node.n_input++] = name;
}

/* A scalar initializer (rank 0, or [count] when count > 1) of |dt|. */
static void qb_const(qb *b, ir_dtype dt, const void *bytes, size_t esize,
                     int count) {
  int k = (int)b->graph.n_initializer;
  Onnx__TensorProto *t = &b->inits[k];
  onnx__tensor_proto__init(t);
  t->name = qb_name(b);
  t->has_data_type = 1;
  t->data_type = (int32_t)dt;
  if (count > 1) {
    t->n_dims = 1;
    t->dims = b->init_dims[k];
    b->init_dims[k][0] = count;
  }
  memcpy(b->blobs[k], bytes, esize * (size_t)count);
  t->has_raw_data = 1;
  t->raw_data.len = esize * (size_t)count;
  t->raw_data.data = b->blobs[k];
  b->init_ptrs[b->graph.n_initializer++] = t;
  b->node_in[b->node.n_input++] = t->name;
}

static void qb_scale(qb *b, float s) { qb_const(b, IR_F32, &s, 4, 1); }
static void qb_zp(qb *b, ir_dtype dt, int v) {
  uint8_t byte = (uint8_t)(dt == IR_I8 ? (uint8_t)(int8_t)v : (uint8_t)v);
  qb_const(b, dt, &byte, 1, 1);
}
static void qb_absent(qb *b) { b->node_in[b->node.n_input++] = ""; }

static Onnx__AttributeProto *qb_attr(qb *b, char *name) {
  Onnx__AttributeProto *a = &b->attrs[b->node.n_attribute];
  onnx__attribute_proto__init(a);
  a->name = name;
  a->has_type = 1;
  b->attr_ptrs[b->node.n_attribute++] = a;
  return a;
}
static void qb_attr_int(qb *b, char *name, int64_t v) {
  Onnx__AttributeProto *a = qb_attr(b, name);
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  a->has_i = 1;
  a->i = v;
}
static void qb_attr_float(qb *b, char *name, float v) {
  Onnx__AttributeProto *a = qb_attr(b, name);
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
  a->has_f = 1;
  a->f = v;
}
static void qb_attr_ints(qb *b, char *name, const int64_t *v, int n) {
  int k = (int)b->node.n_attribute;
  Onnx__AttributeProto *a = qb_attr(b, name);
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  memcpy(b->attr_ints[k], v, (size_t)n * sizeof *v);
  a->ints = b->attr_ints[k];
  a->n_ints = (size_t)n;
}

static ingot_status qb_import(qb *b, ir_graph **g) {
  size_t size = onnx__model_proto__get_packed_size(&b->model);
  unsigned char *buf = malloc(size ? size : 1);
  onnx__model_proto__pack(&b->model, buf);
  ingot_status s = ir_import_onnx_memory(buf, size, "case.onnx", NULL, g);
  free(buf);
  return s;
}

/* Imports and runs |b|; on success *out holds the output (free it). */
static ingot_status qb_eval(qb *b, ir_value *out, ir_graph **keep) {
  ir_graph *g = NULL;
  memset(out, 0, sizeof *out);
  ingot_status s = qb_import(b, &g);
  if (!s) s = ir_verify(g);
  if (!s) s = ir_interp_run(g, b->feeds, out, NULL);
  if (keep && !s)
    *keep = g;
  else
    ir_graph_destroy(g);
  return s;
}

/* Runs |b| and compares its output with |dt|, shape and |want|. */
static void qb_expect(qb *b, ir_dtype dt, int rank, const int64_t *dims,
                      const void *want, const char *what) {
  ir_value y;
  ingot_status s = qb_eval(b, &y, NULL);
  if (s) {
    fprintf(stderr, "%s: %s\n", what, ingot_status_message(s));
    ingot_status_free(s);
    check_failures++;
    return;
  }
  bool ok = y.dtype == dt && y.shape.rank == rank;
  for (int d = 0; ok && d < rank; d++) ok = y.shape.dims[d] == dims[d];
  size_t n = ir_shape_numel(&y.shape);
  if (ok) ok = memcmp(y.data, want, n) == 0;
  if (!ok) {
    char sh[96];
    fprintf(stderr, "%s: got %s[%s]:", what, ir_dtype_name(y.dtype),
            ir_shape_str(&y.shape, sh, sizeof sh));
    for (size_t i = 0; i < n && i < 32; i++)
      fprintf(stderr, " %lld", (long long)ir_load_i64(y.dtype, y.data, i));
    fprintf(stderr, "\n%*s  want:", (int)strlen(what), "");
    for (size_t i = 0; i < n && i < 32; i++)
      fprintf(stderr, " %lld", (long long)ir_load_i64(dt, want, i));
    fprintf(stderr, "\n");
    check_failures++;
  } else {
    printf("ok   %s\n", what);
  }
  ir_value_free(&y);
}

static void expect_error(ingot_status s, ingot_status_code code,
                         const char *needle, const char *what) {
  if (!s) {
    fprintf(stderr, "%s: expected an error, got success\n", what);
    check_failures++;
    return;
  }
  const char *m = ingot_status_message(s);
  if (ingot_status_code_of(s) != code || !strstr(m, needle)) {
    fprintf(stderr, "%s: expected %s mentioning '%s', got %s: %s\n", what,
            ingot_status_code_name(code), needle,
            ingot_status_code_name(ingot_status_code_of(s)), m);
    check_failures++;
  } else {
    printf("ok   %-34s %s\n", what, m);
  }
  ingot_status_free(s);
}

static void qb_expect_error(qb *b, ingot_status_code code, const char *needle,
                            const char *what) {
  ir_value y;
  ingot_status s = qb_eval(b, &y, NULL);
  if (!s) ir_value_free(&y);
  expect_error(s, code, needle, what);
}

/*===--- QLinearAdd, QLinearMul ---------------------------------------===*/

/* A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp. */
static void binary(qb *b, char *op, ir_dtype t, int ra, const int64_t *da,
                   const void *a, float sa, int za, int rb,
                   const int64_t *db, const void *bv, float sb, int zb,
                   float sy, int zy) {
  qb_init(b, op, "com.microsoft", 1);
  qb_data(b, t, ra, da, a);
  qb_scale(b, sa);
  qb_zp(b, t, za);
  qb_data(b, t, rb, db, bv);
  qb_scale(b, sb);
  qb_zp(b, t, zb);
  qb_scale(b, sy);
  qb_zp(b, t, zy);
}

static void test_add(void) {
  qb b;
  /* uint8, same shapes.  Ma = 0.5/0.5 = 1, Mb = 0.25/0.5 = 0.5, zy 11:
   *   (0-3)   + (7-9)/2   = -4     -> 7
   *   (10-3)  + (200-9)/2 = 102.5  -> 102 (even) -> 113
   *   (255-3) + (255-9)/2 = 375    -> 386 -> 255 (saturates)
   *   (128-3) + (0-9)/2   = 120.5  -> 120 (even) -> 131
   *   (0-3)   + (0-9)/2   = -7.5   -> -8 (even)  -> 3
   *   (3-3)   + (9-9)/2   = 0      -> 11 */
  static const uint8_t a[] = {0, 10, 255, 128, 0, 3};
  static const uint8_t bb[] = {7, 200, 255, 0, 0, 9};
  static const uint8_t want[] = {7, 113, 255, 131, 3, 11};
  int64_t d6[] = {6};
  binary(&b, "QLinearAdd", IR_U8, 1, d6, a, 0.5f, 3, 1, d6, bb, 0.25f, 9,
         0.5f, 11);
  qb_expect(&b, IR_U8, 1, d6, want, "QLinearAdd u8 ties, saturation");

  /* int8, A [2,1] + B [3] -> [2,3].  sa 1 za -1, sb 2 zb 1, sy 1 zy -3:
   * Ma = 1, Mb = 2; da = -127, 101; 2·db = -12, -2, 118.
   *   row 0: -139 -129 -9 -> -142 -132 -12 -> -128 -128 -12
   *   row 1:   89   99 219 ->   86   96 222 ->   86   96 127 */
  static const int8_t a8[] = {-128, 100};
  static const int8_t b8[] = {-5, 0, 60};
  static const int8_t want8[] = {-128, -128, -12, 86, 96, 127};
  int64_t d21[] = {2, 1}, d3[] = {3}, d23[] = {2, 3};
  binary(&b, "QLinearAdd", IR_I8, 2, d21, a8, 1.0f, -1, 1, d3, b8, 2.0f, 1,
         1.0f, -3);
  qb_expect(&b, IR_I8, 2, d23, want8, "QLinearAdd i8 broadcast");

  /* Zero points left out (absent optional inputs are 0; C_zp dropped
   * from the end): 10·0.5/0.25 + 3·0.25/0.25 = 23. */
  static const uint8_t a1[] = {10}, b1[] = {3}, want1[] = {23};
  int64_t d1[] = {1};
  qb_init(&b, "QLinearAdd", "com.microsoft", 1);
  qb_data(&b, IR_U8, 1, d1, a1);
  qb_scale(&b, 0.5f);
  qb_absent(&b);
  qb_data(&b, IR_U8, 1, d1, b1);
  qb_scale(&b, 0.25f);
  qb_absent(&b);
  qb_scale(&b, 0.25f);
  qb_expect(&b, IR_U8, 1, d1, want1, "QLinearAdd without zero points");
}

static void test_mul(void) {
  qb b;
  /* uint8, B a 1-element tensor broadcast over A.  sa 0.5 za 3, B = 12
   * zb 9 (db = 3), sy 0.25 zy 7: M = 0.5·0.25/0.25 = 0.5.
   *   da = 0 7 252 -3 1  -> da·3 = 0 21 756 -9 3
   *   ·0.5 = 0 10.5 378 -4.5 1.5 -> 0 10 378 -4 2 -> 7 17 255 3 9 */
  static const uint8_t a[] = {3, 10, 255, 0, 4};
  static const uint8_t bb[] = {12};
  static const uint8_t want[] = {7, 17, 255, 3, 9};
  int64_t d5[] = {5}, d1[] = {1};
  binary(&b, "QLinearMul", IR_U8, 1, d5, a, 0.5f, 3, 1, d1, bb, 0.25f, 9,
         0.25f, 7);
  qb_expect(&b, IR_U8, 1, d5, want, "QLinearMul u8 ties, broadcast");

  /* int8 [2,2] · [2,1]: sa = sb = sy = 1, za 1, zb -1, zy 0: M = 1.
   *   da = -129 126 | 0 -3 ; db = 51 | -2
   *   -6579 -> -128, 6426 -> 127, 0 -> 0, 6 -> 6 */
  static const int8_t a8[] = {-128, 127, 1, -2};
  static const int8_t b8[] = {50, -3};
  static const int8_t want8[] = {-128, 127, 0, 6};
  int64_t d22[] = {2, 2}, d21[] = {2, 1};
  binary(&b, "QLinearMul", IR_I8, 2, d22, a8, 1.0f, 1, 2, d21, b8, 1.0f, -1,
         1.0f, 0);
  qb_expect(&b, IR_I8, 2, d22, want8, "QLinearMul i8 saturation");
}

/*===--- QLinearSigmoid, QLinearLeakyRelu -----------------------------===*/

static void unary(qb *b, char *op, ir_dtype t, int n, const void *x, float sx,
                  int zx, float sy, int zy) {
  int64_t d[] = {n};
  qb_init(b, op, "com.microsoft", 1);
  qb_data(b, t, 1, d, x);
  qb_scale(b, sx);
  qb_zp(b, t, zx);
  qb_scale(b, sy);
  qb_zp(b, t, zy);
}

static void test_sigmoid(void) {
  qb b;
  /* uint8: sx 0.1 zx 128, sy 1/256 zy 0:  v = -12.8 0 12.7 -2.8
   *   σ·256 = 0.0007 128 255.9992 14.675 -> 0 128 256->255 15 */
  static const uint8_t x[] = {0, 128, 255, 100};
  static const uint8_t want[] = {0, 128, 255, 15};
  int64_t d4[] = {4}, d3[] = {3};
  unary(&b, "QLinearSigmoid", IR_U8, 4, x, 0.1f, 128, 1.0f / 256, 0);
  qb_expect(&b, IR_U8, 1, d4, want, "QLinearSigmoid u8");
  /* int8: sx 0.05 zx -1, sy 1/256 zy -128:  v = -6.35 0.05 6.4
   *   σ·256 = 0.446 131.199 255.575 -> 0 131 256 -> -128 3 127 (sat) */
  static const int8_t x8[] = {-128, 0, 127};
  static const int8_t want8[] = {-128, 3, 127};
  unary(&b, "QLinearSigmoid", IR_I8, 3, x8, 0.05f, -1, 1.0f / 256, -128);
  qb_expect(&b, IR_I8, 1, d3, want8, "QLinearSigmoid i8");
}

static void test_leaky_relu(void) {
  qb b;
  /* uint8: sx 0.5 zx 101, alpha 0.25, sy 0.25 zy 30:
   * M+ = 2, M- = 0.25·0.5/0.25 = 0.5.
   *   x   0: -101·0.5 = -50.5 -> -50 -> -20 -> 0 (saturates)
   *   x 100:   -1·0.5 = -0.5  -> 0 (even) -> 30
   *   x 200:   99·2   = 198   -> 228
   *   x 255:  154·2   = 308   -> 338 -> 255
   *   x 101:    0             -> 30
   *   x  96:   -5·0.5 = -2.5  -> -2 (even) -> 28
   *   x  98:   -3·0.5 = -1.5  -> -2 (even) -> 28 */
  static const uint8_t x[] = {0, 100, 200, 255, 101, 96, 98};
  static const uint8_t want[] = {0, 30, 228, 255, 30, 28, 28};
  int64_t d7[] = {7}, d2[] = {2};
  unary(&b, "QLinearLeakyRelu", IR_U8, 7, x, 0.5f, 101, 0.25f, 30);
  qb_attr_float(&b, "alpha", 0.25f);
  qb_expect(&b, IR_U8, 1, d7, want, "QLinearLeakyRelu u8");
  /* int8, alpha absent (0.01): -100·0.01 = -1; 100 -> 100. */
  static const int8_t x8[] = {-100, 100};
  static const int8_t want8[] = {-1, 100};
  unary(&b, "QLinearLeakyRelu", IR_I8, 2, x8, 1.0f, 0, 1.0f, 0);
  qb_expect(&b, IR_I8, 1, d2, want8, "QLinearLeakyRelu i8 default alpha");
}

/*===--- pools --------------------------------------------------------===*/

static void pool(qb *b, char *op, ir_dtype t, int rank, const int64_t *dims,
                 const void *x, float sx, int zx, float sy, int zy) {
  qb_init(b, op, "com.microsoft", 1);
  qb_data(b, t, rank, dims, x);
  qb_scale(b, sx);
  qb_zp(b, t, zx);
  qb_scale(b, sy);
  qb_zp(b, t, zy);
}

static void test_global_pool(void) {
  qb b;
  /* uint8 [1,3,2,2], zx 1, sx 0.5, sy 0.25, zy 5: M = 0.5/(0.25·4) = 0.5
   *   c0: 1 2 3 4         acc 6    -> 3            -> 8
   *   c1: 255 255 255 250 acc 1011 -> 505.5 -> 506 -> 511 -> 255
   *   c2: 1 1 2 5         acc 5    -> 2.5 -> 2 (even) -> 7 */
  static const uint8_t x[] = {1, 2, 3, 4, 255, 255, 255, 250, 1, 1, 2, 5};
  static const uint8_t want[] = {8, 255, 7};
  int64_t dx[] = {1, 3, 2, 2}, dy[] = {1, 3, 1, 1};
  pool(&b, "QLinearGlobalAveragePool", IR_U8, 4, dx, x, 0.5f, 1, 0.25f, 5);
  qb_expect(&b, IR_U8, 4, dy, want, "QLinearGlobalAveragePool u8");
  /* The same data channels-last: [1,2,2,3] -> [1,1,1,3]. */
  uint8_t xt[12];
  for (int c = 0; c < 3; c++)
    for (int s = 0; s < 4; s++) xt[s * 3 + c] = x[c * 4 + s];
  int64_t dxt[] = {1, 2, 2, 3}, dyt[] = {1, 1, 1, 3};
  pool(&b, "QLinearGlobalAveragePool", IR_U8, 4, dxt, xt, 0.5f, 1, 0.25f, 5);
  qb_attr_int(&b, "channels_last", 1);
  qb_expect(&b, IR_U8, 4, dyt, want, "QLinearGlobalAveragePool NHWC");
  /* int8 [2,1,3] (1-D spatial), sx 1 zx 0, sy 1 zy -100: M = 1/3.
   *   b0: -128 -128 -128 -> -128 -> -228 -> -128 (saturates)
   *   b1:    1    2    4 ->  7/3 = 2.33 -> 2 -> -98 */
  static const int8_t x8[] = {-128, -128, -128, 1, 2, 4};
  static const int8_t want8[] = {-128, -98};
  int64_t dx8[] = {2, 1, 3}, dy8[] = {2, 1, 1};
  pool(&b, "QLinearGlobalAveragePool", IR_I8, 3, dx8, x8, 1.0f, 0, 1.0f,
       -100);
  qb_expect(&b, IR_I8, 3, dy8, want8, "QLinearGlobalAveragePool i8 1-D");
}

static void test_avgpool(void) {
  qb b;
  /* uint8 [1,1,3,3] = 1..9, zx 1 (so x-zx = 0..8), sx 1, sy 2, zy 3. */
  static const uint8_t x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  int64_t dx[] = {1, 1, 3, 3}, dy[] = {1, 1, 2, 2};
  int64_t k2[] = {2, 2}, k3[] = {3, 3}, s2[] = {2, 2}, p1[] = {1, 1, 1, 1};
  /* 2x2 windows, stride 1: sums 8 12 20 24, M = 1/(2·4) = 0.125:
   *   1 1.5 2.5 3 -> 1 2 2 3 (ties to even) -> 4 5 5 6 */
  static const uint8_t want[] = {4, 5, 5, 6};
  pool(&b, "QLinearAveragePool", IR_U8, 4, dx, x, 1.0f, 1, 2.0f, 3);
  qb_attr_ints(&b, "kernel_shape", k2, 2);
  qb_expect(&b, IR_U8, 4, dy, want, "QLinearAveragePool 2x2");
  /* 3x3 windows, stride 2, pads 1: each window holds 4 values, sums
   * 8 12 20 24.  Without the pads counted, M = 0.125 as above: 4 5 5 6.
   * With count_include_pad, M = 1/18: 0.44 0.67 1.11 1.33 -> 0 1 1 1 ->
   * 3 4 4 4. */
  static const uint8_t want_cip[] = {3, 4, 4, 4};
  pool(&b, "QLinearAveragePool", IR_U8, 4, dx, x, 1.0f, 1, 2.0f, 3);
  qb_attr_ints(&b, "kernel_shape", k3, 2);
  qb_attr_ints(&b, "strides", s2, 2);
  qb_attr_ints(&b, "pads", p1, 4);
  qb_expect(&b, IR_U8, 4, dy, want, "QLinearAveragePool pads");
  pool(&b, "QLinearAveragePool", IR_U8, 4, dx, x, 1.0f, 1, 2.0f, 3);
  qb_attr_ints(&b, "kernel_shape", k3, 2);
  qb_attr_ints(&b, "strides", s2, 2);
  qb_attr_ints(&b, "pads", p1, 4);
  qb_attr_int(&b, "count_include_pad", 1);
  qb_expect(&b, IR_U8, 4, dy, want_cip,
            "QLinearAveragePool count_include_pad");
  /* int8 1-D [1,1,4], kernel 2 stride 2, zx -1 sx 1, sy 0.5 zy 120:
   * M = 1/(0.5·2) = 1; sums (127+1)+(127+1) = 256 -> 376 -> 127 and
   * (-128+1)+(-128+1) = -254 -> -134 -> -128: saturation both ends. */
  static const int8_t x8[] = {127, 127, -128, -128};
  static const int8_t want8[] = {127, -128};
  int64_t dx8[] = {1, 1, 4}, dy8[] = {1, 1, 2}, k1[] = {2}, st1[] = {2};
  pool(&b, "QLinearAveragePool", IR_I8, 3, dx8, x8, 1.0f, -1, 0.5f, 120);
  qb_attr_ints(&b, "kernel_shape", k1, 1);
  qb_attr_ints(&b, "strides", st1, 1);
  qb_expect(&b, IR_I8, 3, dy8, want8, "QLinearAveragePool i8 saturation");
  /* channels_last: two channels [1,3,3,2], the second reversed. */
  uint8_t xt[18], wt[8];
  for (int s = 0; s < 9; s++) {
    xt[2 * s] = x[s];
    xt[2 * s + 1] = x[8 - s];
  }
  for (int s = 0; s < 4; s++) {
    wt[2 * s] = want[s];
    wt[2 * s + 1] = want[3 - s];
  }
  int64_t dxt[] = {1, 3, 3, 2}, dyt[] = {1, 2, 2, 2};
  pool(&b, "QLinearAveragePool", IR_U8, 4, dxt, xt, 1.0f, 1, 2.0f, 3);
  qb_attr_ints(&b, "kernel_shape", k2, 2);
  qb_attr_int(&b, "channels_last", 1);
  qb_expect(&b, IR_U8, 4, dyt, wt, "QLinearAveragePool NHWC");
}

/* QLinearAveragePool against the float AveragePool (same geometry, input
 * x - zx as float, sx = sy = 1): the output shapes must be equal and the
 * values within 1 (the float pool divides in double, the quantised one
 * multiplies by a float32 1/count, so a tie may round the other way). */
static void test_avgpool_vs_float(void) {
  uint64_t rng = 42;
  int cases = 0, off_by_one = 0;
  for (int trial = 0; trial < 60; trial++) {
    int nsp = 1 + trial % 3;
    int64_t dims[5] = {1 + trial % 2, 2}, k[3], s[3], p[6];
    for (int i = 0; i < nsp; i++) {
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      dims[2 + i] = 3 + (int64_t)((rng >> 33) % 6);
      k[i] = 1 + (int64_t)((rng >> 40) % 3);
      s[i] = 1 + (int64_t)((rng >> 45) % 3);
      p[i] = (int64_t)((rng >> 50) % (uint64_t)k[i]);
      p[nsp + i] = (int64_t)((rng >> 55) % (uint64_t)k[i]);
    }
    int rank = 2 + nsp;
    size_t n = 1;
    for (int d = 0; d < rank; d++) n *= (size_t)dims[d];
    uint8_t *xq = malloc(n);
    float *xf = malloc(n * sizeof *xf);
    for (size_t i = 0; i < n; i++) {
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      xq[i] = (uint8_t)(rng >> 56);
      xf[i] = (float)((int)xq[i] - 77);
    }
    bool ceil = trial % 4 == 1, cip = trial % 5 >= 3;
    int autopad = trial % 7 == 6 ? 1 : trial % 7 == 5 ? 2 : 0;
    static char *const pads[] = {"NOTSET", "SAME_UPPER", "VALID"};
    qb bq, bf;
    pool(&bq, "QLinearAveragePool", IR_U8, rank, dims, xq, 1.0f, 77, 1.0f,
         128);
    qb_init(&bf, "AveragePool", "", 0);
    qb_data(&bf, IR_F32, rank, dims, xf);
    qb *both[2] = {&bq, &bf};
    for (int j = 0; j < 2; j++) {
      qb_attr_ints(both[j], "kernel_shape", k, nsp);
      qb_attr_ints(both[j], "strides", s, nsp);
      if (autopad == 0) qb_attr_ints(both[j], "pads", p, 2 * nsp);
      Onnx__AttributeProto *a = qb_attr(both[j], "auto_pad");
      a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
      a->has_s = 1;
      a->s.data = (uint8_t *)pads[autopad];
      a->s.len = strlen(pads[autopad]);
      qb_attr_int(both[j], "ceil_mode", ceil);
      qb_attr_int(both[j], "count_include_pad", cip);
    }
    ir_value yq, yf;
    ingot_status sq = qb_eval(&bq, &yq, NULL);
    ingot_status sf = qb_eval(&bf, &yf, NULL);
    CHECK(!sq == !sf);
    if (sq || sf) {
      /* both reject the geometry (a window that does not fit) */
      ingot_status_free(sq);
      ingot_status_free(sf);
      if (!sq) ir_value_free(&yq);
      if (!sf) ir_value_free(&yf);
      free(xq);
      free(xf);
      continue;
    }
    CHECK(ir_shape_equal(&yq.shape, &yf.shape));
    size_t m = ir_shape_numel(&yq.shape);
    for (size_t i = 0; ir_shape_equal(&yq.shape, &yf.shape) && i < m; i++) {
      double want = nearbyint((double)((const float *)yf.data)[i]) + 128;
      want = want < 0 ? 0 : want > 255 ? 255 : want;
      double got = ((const uint8_t *)yq.data)[i];
      if (fabs(got - want) > 1) {
        fprintf(stderr, "avgpool trial %d elem %zu: got %g, float gives "
                        "%g\n", trial, i, got, want);
        check_failures++;
        break;
      }
      off_by_one += got != want;
    }
    cases++;
    ir_value_free(&yq);
    ir_value_free(&yf);
    free(xq);
    free(xf);
  }
  CHECK(cases >= 40);
  printf("ok   QLinearAveragePool = AveragePool on %d random geometries "
         "(%d ties rounded the other way)\n", cases, off_by_one);
}

/*===--- QLinearConv and ConvInteger: fast path = generic path --------===*/


static uint64_t qc_rng = 7;
static uint64_t qc_next(uint64_t mod) {
  qc_rng = qc_rng * 6364136223846793005ull + 1442695040888963407ull;
  return (qc_rng >> 33) % mod;
}

/* Random 1-D/2-D/3-D geometries (groups, depthwise, strides, dilations,
 * asymmetric pads, SAME_*), uint8/int8 x and w, odd zero points,
 * per-tensor or per-channel w scales and zero points, with and without
 * bias: the integer fast path must give the generic path's bytes. */
static void test_qconv_fast(void) {
  int cases = 0, rejected = 0, trials = 0;
  while (cases < 240 && trials < 2000) {
    int trial = trials++;
    bool integer = trial % 4 == 3; /* ConvInteger, else QLinearConv */
    int nsp = 1 + (int)qc_next(3);
    int64_t group = 1 + (int64_t)qc_next(3);
    bool depthwise = qc_next(4) == 0;
    int64_t cg = depthwise ? 1 : 1 + (int64_t)qc_next(3);
    int64_t mg = 1 + (int64_t)qc_next(3);
    if (depthwise) group = 1 + (int64_t)qc_next(6);
    int64_t c = group * cg, m = group * mg;
    int64_t xd[5] = {1 + (int64_t)qc_next(2), c}, wd[5] = {m, cg};
    int64_t k[3], s[3], d[3], p[6];
    for (int i = 0; i < nsp; i++) {
      int64_t hi = nsp == 3 ? 5 : nsp == 2 ? 9 : 17;
      xd[2 + i] = 1 + (int64_t)qc_next((uint64_t)hi);
      k[i] = wd[2 + i] = 1 + (int64_t)qc_next(3);
      s[i] = 1 + (int64_t)qc_next(3);
      d[i] = 1 + (int64_t)qc_next(2);
      p[i] = (int64_t)qc_next(3);
      p[nsp + i] = (int64_t)qc_next(3);
    }
    int autopad = qc_next(8) == 0 ? 1 + (int)qc_next(3) : 0;
    static char *const pads[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER",
                                 "VALID"};
    int rank = 2 + nsp;
    size_t nx = 1, nw = 1;
    for (int i = 0; i < rank; i++) {
      nx *= (size_t)xd[i];
      nw *= (size_t)wd[i];
    }
    ir_dtype xt = qc_next(2) ? IR_U8 : IR_I8, wt = qc_next(2) ? IR_U8 : IR_I8;
    ir_dtype yt = qc_next(2) ? IR_U8 : IR_I8;
    uint8_t *x = malloc(nx), *w = malloc(nw);
    for (size_t i = 0; i < nx; i++) x[i] = (uint8_t)qc_next(256);
    for (size_t i = 0; i < nw; i++) w[i] = (uint8_t)qc_next(256);
    uint8_t zx = (uint8_t)(qc_next(128) * 2 + 1), zy = (uint8_t)qc_next(256);
    bool per_channel = qc_next(2), has_bias = qc_next(3) != 0;
    int nzw = per_channel ? (int)m : 1;
    uint8_t zw[64];
    float sw[64], sx = 0.01f + (float)qc_next(1000) / 4096.0f;
    float sy = 0.5f + (float)qc_next(1000) / 64.0f;
    int32_t bias[64];
    for (int i = 0; i < nzw; i++) {
      zw[i] = (uint8_t)qc_next(256);
      sw[i] = 0.001f + (float)qc_next(1000) / 8192.0f;
    }
    for (int64_t i = 0; i < m; i++) /* some near the int32 ends */
      bias[i] = qc_next(5) == 0 ? (int32_t)(INT32_MAX - (int32_t)qc_next(99))
                                : (int32_t)qc_next(200001) - 100000;
    qb b;
    ir_value y[2];
    ingot_status st[2];
    for (int j = 0; j < 2; j++) {
      if (integer) {
        qb_init(&b, "ConvInteger", "", 0);
        qb_data(&b, xt, rank, xd, x);
        qb_data(&b, wt, rank, wd, w);
        qb_const(&b, xt, &zx, 1, 1);
        qb_const(&b, wt, zw, 1, nzw);
      } else {
        qb_init(&b, "QLinearConv", "", 0);
        qb_data(&b, xt, rank, xd, x);
        qb_scale(&b, sx);
        qb_const(&b, xt, &zx, 1, 1);
        qb_data(&b, wt, rank, wd, w);
        qb_const(&b, IR_F32, sw, 4, nzw);
        qb_const(&b, wt, zw, 1, nzw);
        qb_scale(&b, sy);
        qb_const(&b, yt, &zy, 1, 1);
        if (has_bias) qb_data(&b, IR_I32, 1, &m, bias);
      }
      qb_attr_ints(&b, "kernel_shape", k, nsp);
      qb_attr_ints(&b, "strides", s, nsp);
      qb_attr_ints(&b, "dilations", d, nsp);
      qb_attr_int(&b, "group", group);
      if (autopad == 0) qb_attr_ints(&b, "pads", p, 2 * nsp);
      Onnx__AttributeProto *a = qb_attr(&b, "auto_pad");
      a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
      a->has_s = 1;
      a->s.data = (uint8_t *)pads[autopad];
      a->s.len = strlen(pads[autopad]);
      /* ir/ref/conv.c: INGOT_REF_CONV_GENERIC forces the generic kernel. */
      if (j)
        setenv("INGOT_REF_CONV_GENERIC", "1", 1);
      st[j] = qb_eval(&b, &y[j], NULL);
      unsetenv("INGOT_REF_CONV_GENERIC");
    }
    CHECK(!st[0] == !st[1]);
    if (st[0] || st[1]) { /* both reject it (an empty output) */
      ingot_status_free(st[0]);
      ingot_status_free(st[1]);
      if (!st[0]) ir_value_free(&y[0]);
      if (!st[1]) ir_value_free(&y[1]);
      rejected++;
    } else {
      size_t bytes = ir_shape_numel(&y[0].shape) * (integer ? 4 : 1);
      CHECK(y[0].dtype == y[1].dtype);
      CHECK(ir_shape_equal(&y[0].shape, &y[1].shape));
      if (ir_shape_equal(&y[0].shape, &y[1].shape) &&
          memcmp(y[0].data, y[1].data, bytes) != 0) {
        fprintf(stderr, "qconv trial %d (%s, nsp %d, group %lld, cg %lld, "
                        "mg %lld): fast and generic paths differ\n",
                trial, integer ? "ConvInteger" : "QLinearConv", nsp,
                (long long)group, (long long)cg, (long long)mg);
        check_failures++;
      }
      ir_value_free(&y[0]);
      ir_value_free(&y[1]);
      cases++;
    }
    free(x);
    free(w);
  }
  CHECK(cases >= 200);
  printf("ok   QLinearConv/ConvInteger fast path = generic path on %d "
         "random geometries (%d rejected by both)\n", cases, rejected);
}

/*===--- QLinearConcat ------------------------------------------------===*/

static void test_concat(void) {
  qb b;
  /* uint8, axis 1, Y: s 0.5 z 10.
   *   X0 [1,2] = 10 20 at (0.5, 10): copied -> 10 20
   *   X1 [1,3] = 0 7 255, s 0.25 z 3: M = 0.5: -1.5 2 126 -> -2 2 126
   *     -> 8 12 136
   *   X2 [1,2] = 200 0, s 2 z 100: M = 4: 400 -400 -> 255 0 (saturate) */
  static const uint8_t x0[] = {10, 20}, x1[] = {0, 7, 255}, x2[] = {200, 0};
  static const uint8_t want[] = {10, 20, 8, 12, 136, 255, 0};
  int64_t d12[] = {1, 2}, d13[] = {1, 3}, d17[] = {1, 7};
  qb_init(&b, "QLinearConcat", "com.microsoft", 1);
  qb_attr_int(&b, "axis", 1);
  qb_scale(&b, 0.5f);
  qb_zp(&b, IR_U8, 10);
  qb_data(&b, IR_U8, 2, d12, x0);
  qb_scale(&b, 0.5f);
  qb_zp(&b, IR_U8, 10);
  qb_data(&b, IR_U8, 2, d13, x1);
  qb_scale(&b, 0.25f);
  qb_zp(&b, IR_U8, 3);
  qb_data(&b, IR_U8, 2, d12, x2);
  qb_scale(&b, 2.0f);
  qb_zp(&b, IR_U8, 100);
  qb_expect(&b, IR_U8, 2, d17, want, "QLinearConcat u8 requantise");
  /* int8, axis -2 (= 0) of [1,2] and [2,2], the last zero point left out
   * (0):
   *   X0 at (1, 0) = Y's: copied; X1 s 1.5 z 0: M = 1.5:
   *   1 2 3 -3 -> 1.5 3 4.5 -4.5 -> 2 3 4 -4 */
  static const int8_t y0[] = {-5, 6}, y1[] = {1, 2, 3, -3};
  static const int8_t want8[] = {-5, 6, 2, 3, 4, -4};
  int64_t d22[] = {2, 2}, d32[] = {3, 2};
  qb_init(&b, "QLinearConcat", "com.microsoft", 1);
  qb_attr_int(&b, "axis", -2);
  qb_scale(&b, 1.0f);
  qb_zp(&b, IR_I8, 0);
  qb_data(&b, IR_I8, 2, d12, y0);
  qb_scale(&b, 1.0f);
  qb_zp(&b, IR_I8, 0);
  qb_data(&b, IR_I8, 2, d22, y1);
  qb_scale(&b, 1.5f);
  qb_expect(&b, IR_I8, 2, d32, want8, "QLinearConcat i8 axis -2");
}

/*===--- import and bad parameters ------------------------------------===*/

static void test_domains_and_errors(void) {
  qb b;
  static const uint8_t a[] = {1, 2};
  int64_t d2[] = {2};
  /* The domain and opset land on the node. */
  binary(&b, "QLinearAdd", IR_U8, 1, d2, a, 1, 0, 1, d2, a, 1, 0, 1, 0);
  ir_graph *g = NULL;
  ir_value y;
  CHECK_OK(qb_eval(&b, &y, &g));
  if (g) {
    CHECK(g->nodes[1].op == IR_OP_QLINEAR_ADD);
    CHECK(!strcmp(g->nodes[1].domain, "com.microsoft"));
    CHECK(g->nodes[1].opset == 1);
    ir_value_free(&y);
    ir_graph_destroy(g);
  }
  binary(&b, "QLinearAdd", IR_U8, 1, d2, a, 1, 0, 1, d2, a, 1, 0, 1, 0);
  b.node.domain = "";
  qb_expect_error(&b, INGOT_UNIMPLEMENTED,
                  "exists only in domain com.microsoft",
                  "QLinearAdd in the default domain");
  binary(&b, "QLinearAdd", IR_U8, 1, d2, a, 1, 0, 1, d2, a, 1, 0, 1, 0);
  b.model.n_opset_import = 1;
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT, "no opset for the com.microsoft",
                  "com.microsoft not imported");
  binary(&b, "QLinearAdd", IR_U8, 1, d2, a, 1, 0, 1, d2, a, 1, 0, 1, 0);
  b.opsets[1].version = 2;
  qb_expect_error(&b, INGOT_INCOMPATIBLE, "com.microsoft opset 2",
                  "com.microsoft opset 2");
  binary(&b, "QLinearConv", IR_U8, 1, d2, a, 1, 0, 1, d2, a, 1, 0, 1, 0);
  qb_expect_error(&b, INGOT_UNIMPLEMENTED, "'com.microsoft.QLinearConv'",
                  "a default-domain op in com.microsoft");
  binary(&b, "QLinearAdd", IR_U8, 1, d2, a, 1, 0, 1, d2, a, 1, 0, 1, 0);
  b.node.domain = "com.example";
  qb_expect_error(&b, INGOT_UNIMPLEMENTED, "'com.example.QLinearAdd'",
                  "another domain");

  /* Bad parameters. */
  qb_init(&b, "QLinearAdd", "com.microsoft", 1);
  qb_data(&b, IR_U8, 1, d2, a);
  qb_scale(&b, 1);
  qb_absent(&b);
  qb_data(&b, IR_U8, 1, d2, a);
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT, "input 4 is required",
                  "QLinearAdd without B_scale");
  binary(&b, "QLinearAdd", IR_U8, 1, d2, a, 1, 0, 1, d2, a, 1, 0, 0.0f, 0);
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT, "positive and finite",
                  "C_scale 0");
  binary(&b, "QLinearMul", IR_U8, 1, d2, a, NAN, 0, 1, d2, a, 1, 0, 1, 0);
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT, "positive and finite",
                  "A_scale NaN");
  static const int8_t a8[] = {1, 2};
  qb_init(&b, "QLinearAdd", "com.microsoft", 1);
  qb_data(&b, IR_U8, 1, d2, a);
  qb_scale(&b, 1);
  qb_zp(&b, IR_U8, 0);
  qb_data(&b, IR_I8, 1, d2, a8);
  qb_scale(&b, 1);
  qb_zp(&b, IR_I8, 0);
  qb_scale(&b, 1);
  qb_zp(&b, IR_U8, 0);
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT, "same dtype", "A u8, B i8");
  binary(&b, "QLinearAdd", IR_U8, 1, d2, a, 1, 0, 1, d2, a, 1, 0, 1, 0);
  b.inits[5].data_type = IR_I8; /* C_zero_point */
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT, "C_zero_point",
                  "C_zero_point of the wrong type");
  float two[2] = {1, 1};
  qb_init(&b, "QLinearSigmoid", "com.microsoft", 1);
  qb_data(&b, IR_U8, 1, d2, a);
  qb_const(&b, IR_F32, two, 4, 2);
  qb_absent(&b);
  qb_scale(&b, 1);
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT, "per-tensor",
                  "per-channel X_scale");
  qb_init(&b, "QLinearConcat", "com.microsoft", 1);
  qb_attr_int(&b, "axis", 0);
  qb_scale(&b, 1);
  qb_zp(&b, IR_U8, 0);
  qb_data(&b, IR_U8, 1, d2, a);
  qb_scale(&b, 1);
  qb_zp(&b, IR_U8, 0);
  qb_data(&b, IR_U8, 1, d2, a);
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT, "triples",
                  "QLinearConcat with a broken triple");
  qb_init(&b, "QLinearConcat", "com.microsoft", 1);
  qb_scale(&b, 1);
  qb_zp(&b, IR_U8, 0);
  qb_data(&b, IR_U8, 1, d2, a);
  qb_scale(&b, 1);
  qb_zp(&b, IR_U8, 0);
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT, "axis is required",
                  "QLinearConcat without axis");
  int64_t dx[] = {1, 1, 2}, k[] = {1};
  qb_init(&b, "QLinearAveragePool", "com.microsoft", 1);
  qb_data(&b, IR_U8, 3, dx, a);
  qb_scale(&b, 1);
  qb_zp(&b, IR_U8, 0);
  qb_scale(&b, 1);
  qb_attr_ints(&b, "kernel_shape", k, 1);
  qb_attr_ints(&b, "dilations", k, 1);
  qb_expect_error(&b, INGOT_UNIMPLEMENTED, "'dilations'",
                  "QLinearAveragePool dilations");
}

/*===--- Bad quantisation parameters of QOperator models ---------------===*/

/* QLinearConv on a 1x2x1x1 uint8 input with 2 output channels: w is a graph
 * input (its values do not matter), w_scale has |nws| values. */
static void qconv(qb *b, float xs, const float *ws, int nws, float ys) {
  static const uint8_t x[2] = {1, 2};
  static const int8_t w[4] = {1, 2, 3, 4};
  static const int64_t dx[4] = {1, 2, 1, 1}, dw[4] = {2, 2, 1, 1};
  qb_init(b, "QLinearConv", "", 0);
  qb_data(b, IR_U8, 4, dx, x);
  qb_scale(b, xs);
  qb_zp(b, IR_U8, 0);
  qb_data(b, IR_I8, 4, dw, w);
  qb_const(b, IR_F32, ws, 4, nws);
  qb_zp(b, IR_I8, 0);
  qb_scale(b, ys);
  qb_zp(b, IR_U8, 0);
}

/* QLinearMatMul of a 1x2 uint8 A by a 2x3 int8 B with |nbs| b_scales. */
static void qmatmul(qb *b, const float *bs, int nbs, float ys) {
  static const uint8_t a[2] = {1, 2};
  static const int8_t w[6] = {1, 2, 3, 4, 5, 6};
  static const int64_t da[2] = {1, 2}, dw[2] = {2, 3};
  qb_init(b, "QLinearMatMul", "", 0);
  qb_data(b, IR_U8, 2, da, a);
  qb_scale(b, 0.5f);
  qb_zp(b, IR_U8, 0);
  qb_data(b, IR_I8, 2, dw, w);
  qb_const(b, IR_F32, bs, 4, nbs);
  qb_zp(b, IR_I8, 0);
  qb_scale(b, ys);
  qb_zp(b, IR_U8, 0);
}

/* Scales that are 0, negative, NaN or infinite, and per-channel vectors of
 * the wrong length, are rejected when the model is imported (shape
 * inference, which `ingot build` and `ingot run --reference` both run),
 * naming the node and the input. */
static void test_bad_qparams(void) {
  qb b;
  const float ok2[2] = {0.5f, 0.25f}, nan2[2] = {0.5f, NAN};
  const float ok3[3] = {0.5f, 0.25f, 1}, neg3[3] = {0.5f, -0.25f, 1};
  const float three[3] = {1, 1, 1};
  qconv(&b, 0.0f, ok2, 2, 1);
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT,
                  "x_scale (input 1) is 0; a scale must be positive",
                  "QLinearConv x_scale 0");
  qconv(&b, 0.5f, nan2, 2, 1);
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT, "w_scale (input 4) is nan at [1]",
                  "QLinearConv per-channel w_scale NaN");
  qconv(&b, 0.5f, ok2, 2, -0.5f);
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT, "y_scale (input 6) is -0.5",
                  "QLinearConv y_scale negative");
  qconv(&b, 0.5f, ok2, 2, INFINITY);
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT, "y_scale (input 6) is inf",
                  "QLinearConv y_scale infinite");
  qconv(&b, 0.5f, three, 3, 1);
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT,
                  "input 4 has shape 3; expected 1 or 2 values",
                  "QLinearConv 3 w_scales for 2 channels");
  qmatmul(&b, neg3, 3, 1);
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT, "b_scale (input 4) is -0.25 at [1]",
                  "QLinearMatMul per-column b_scale negative");
  qmatmul(&b, ok3, 3, 0.0f);
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT, "y_scale (input 6) is 0",
                  "QLinearMatMul y_scale 0");
  qmatmul(&b, ok2, 2, 1);
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT, "b_scale has shape 2",
                  "QLinearMatMul 2 b_scales for 3 columns");
  static const uint8_t x[4] = {1, 2, 3, 4};
  int64_t dx[] = {1, 1, 2, 2};
  qb_init(&b, "QLinearGlobalAveragePool", "com.microsoft", 1);
  qb_data(&b, IR_U8, 4, dx, x);
  qb_scale(&b, 1);
  qb_zp(&b, IR_U8, 0);
  qb_scale(&b, INFINITY);
  qb_zp(&b, IR_U8, 0);
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT, "y_scale (input 3) is inf",
                  "QLinearGlobalAveragePool y_scale inf");
  qb_init(&b, "QLinearLeakyRelu", "com.microsoft", 1);
  qb_data(&b, IR_U8, 4, dx, x);
  qb_scale(&b, -1);
  qb_zp(&b, IR_U8, 0);
  qb_scale(&b, 1);
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT, "X_scale (input 1) is -1",
                  "QLinearLeakyRelu X_scale negative");
  qb_init(&b, "QLinearConcat", "com.microsoft", 1);
  qb_attr_int(&b, "axis", 1);
  qb_scale(&b, 1);
  qb_zp(&b, IR_U8, 0);
  qb_data(&b, IR_U8, 4, dx, x);
  qb_scale(&b, 0);
  qb_zp(&b, IR_U8, 0);
  qb_expect_error(&b, INGOT_INVALID_ARGUMENT, "X_scale (input 3) is 0",
                  "QLinearConcat X_scale 0");
}

/*===--- XML IR round trip --------------------------------------------===*/

/* Export to XML, import back: the same op, and bit-identical outputs. */
static void roundtrip(qb *b, const char *tmp, const char *what) {
  ir_graph *g = NULL, *h = NULL;
  ir_value y1, y2;
  CHECK_OK(qb_eval(b, &y1, &g));
  if (!g) return;
  char path[4096];
  snprintf(path, sizeof path, "%s/qlinear_ms_roundtrip.xml", tmp);
  CHECK_OK(ir_export_xml(g, path));
  CHECK_OK(ir_import_xml_file(path, NULL, &h));
  if (h) {
    CHECK(h->n_nodes == g->n_nodes);
    CHECK(h->nodes[h->n_nodes - 1].op == g->nodes[g->n_nodes - 1].op);
    CHECK_OK(ir_interp_run(h, b->feeds, &y2, NULL));
    CHECK(y1.dtype == y2.dtype && ir_shape_equal(&y1.shape, &y2.shape) &&
          memcmp(y1.data, y2.data, ir_value_nbytes(&y1)) == 0);
    ir_value_free(&y2);
    printf("ok   XML round trip: %s\n", what);
  }
  ir_value_free(&y1);
  ir_graph_destroy(g);
  ir_graph_destroy(h);
}

static void test_xml(const char *tmp) {
  qb b;
  static const uint8_t x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  int64_t dx[] = {1, 1, 3, 3}, k2[] = {2, 2};
  pool(&b, "QLinearAveragePool", IR_U8, 4, dx, x, 1.0f, 1, 2.0f, 3);
  qb_attr_ints(&b, "kernel_shape", k2, 2);
  qb_attr_int(&b, "count_include_pad", 1);
  roundtrip(&b, tmp, "QLinearAveragePool");
  unary(&b, "QLinearLeakyRelu", IR_U8, 9, x, 0.5f, 5, 0.25f, 30);
  qb_attr_float(&b, "alpha", 0.25f);
  roundtrip(&b, tmp, "QLinearLeakyRelu");
  int64_t d33[] = {3, 3}, d3[] = {3};
  binary(&b, "QLinearMul", IR_U8, 2, d33, x, 0.5f, 3, 1, d3, x, 0.25f, 9,
         0.25f, 7);
  roundtrip(&b, tmp, "QLinearMul");
}

/*===--- real models ---------------------------------------------------===*/

/* Imports |path|, runs it on deterministic pseudo-random inputs in
 * [-2, 2), then exports it to XML, imports that and requires the same ops
 * and bit-identical outputs. */
static void test_model(const char *path, const char *tmp) {
  ir_graph *g = NULL, *h = NULL;
  CHECK_OK(ir_import_onnx_file(path, NULL, &g));
  if (!g) return;
  ir_value in[8], y1[8], y2[8];
  memset(in, 0, sizeof in);
  CHECK(g->n_inputs <= 8 && g->n_outputs <= 8);
  uint32_t rng = 7;
  for (uint32_t i = 0; i < g->n_inputs && i < 8; i++) {
    const ir_tensor *t = &g->tensors[g->inputs[i]];
    in[i].dtype = t->dtype;
    in[i].shape = t->shape;
    for (int d = 0; d < t->shape.rank; d++)
      if (in[i].shape.dims[d] < 0) in[i].shape.dims[d] = 1;
    CHECK_OK(ir_value_alloc(&in[i]));
    size_t n = ir_shape_numel(&in[i].shape);
    for (size_t k = 0; in[i].data && t->dtype == IR_F32 && k < n; k++) {
      rng = rng * 1664525u + 1013904223u;
      ((float *)in[i].data)[k] = (float)(rng >> 8) / (1 << 22) - 2.0f;
    }
  }
  int nq = 0;
  for (ir_node_id k = 1; k < g->n_nodes; k++)
    nq += (ir_op_get(g->nodes[k].op)->flags & IR_OPF_MS_DOMAIN) != 0;
  CHECK(nq > 0);
  ingot_status s = ir_interp_run(g, in, y1, NULL);
  CHECK_OK(s);
  char xml[4096];
  snprintf(xml, sizeof xml, "%s/qlinear_ms_model.xml", tmp);
  if (!s) CHECK_OK(ir_export_xml(g, xml));
  if (!s) CHECK_OK(ir_import_xml_file(xml, NULL, &h));
  if (h) {
    bool same = h->n_nodes == g->n_nodes;
    for (ir_node_id k = 1; same && k < g->n_nodes; k++)
      same = h->nodes[k].op == g->nodes[k].op;
    CHECK(same);
    ingot_status s2 = ir_interp_run(h, in, y2, NULL);
    CHECK_OK(s2);
    for (uint32_t o = 0; !s2 && o < g->n_outputs; o++) {
      CHECK(ir_shape_equal(&y1[o].shape, &y2[o].shape) &&
            memcmp(y1[o].data, y2[o].data, ir_value_nbytes(&y1[o])) == 0);
      ir_value_free(&y2[o]);
    }
  }
  for (uint32_t o = 0; !s && o < g->n_outputs; o++) ir_value_free(&y1[o]);
  for (uint32_t i = 0; i < g->n_inputs && i < 8; i++) ir_value_free(&in[i]);
  printf("ok   %s: %d com.microsoft nodes run; XML round trip bit-exact\n",
         path, nq);
  ir_graph_destroy(g);
  ir_graph_destroy(h);
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "--models")) {
    for (int i = 3; i < argc; i++) test_model(argv[i], argv[2]);
    return check_report("test_qlinear_ms --models");
  }
  if (argc != 2) {
    fprintf(stderr, "usage: %s TMPDIR\n"
                    "       %s --models TMPDIR MODEL.onnx...\n",
            argv[0], argv[0]);
    return 2;
  }
  test_add();
  test_mul();
  test_sigmoid();
  test_leaky_relu();
  test_global_pool();
  test_avgpool();
  test_avgpool_vs_float();
  test_qconv_fast();
  test_concat();
  test_domains_and_errors();
  test_bad_qparams();
  test_xml(argv[1]);
  return check_report("test_qlinear_ms");
}

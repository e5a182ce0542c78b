/* binary.c — reference kernels of the broadcasting elementwise ops:
 * arithmetic (Add Sub Mul Div Pow PRelu), logic (And Or Xor), comparisons
 * (Equal Greater GreaterOrEqual Less LessOrEqual), the variadic Max Min
 * Mean Sum, and Where.
 *
 * Broadcasting is numpy's (multidirectional; PRelu's slope is
 * unidirectional to X).  Every kernel walks a "broadcast plan": the output
 * shape with size-1 dims dropped and adjacent dims merged wherever every
 * operand stays linear across them, so the innermost loop is as long as
 * possible (a whole tensor for same-shape operands, H*W for a per-channel
 * bias) and the odometer only runs over what remains.
 *
 * Arithmetic is computed in double for floats (then rounded to the output
 * dtype: for + - * / that equals the float op exactly), in int64 for
 * integers (uint64 for uint64, where division and order differ), wrapping
 * like numpy and C.  Integer Div truncates toward zero like C; integer
 * division by zero is defined here as 0 (ONNX leaves it undefined, and a
 * reference must not trap), and INT_MIN / -1 wraps to INT_MIN.  Integer
 * Pow is exact (modulo 2^64, truncated to the dtype); a negative integer
 * exponent gives the truncated reciprocal: 1 for base 1, +-1 for base -1,
 * otherwise 0 (including base 0).  Max/Min propagate NaN like numpy.
 */
#include <math.h>
#include <string.h>

#include "ref.h"

/*===------------------------------------------------------------------===*/
/* Broadcast plan                                                          */
/*===------------------------------------------------------------------===*/
#define BP_MAX 3 /* input operands; the output is contiguous */

typedef struct bplan {
  ir_shape outer;                        /* dims outside the innermost run */
  int64_t ostride[BP_MAX][IR_MAX_RANK];  /* operand strides over |outer| */
  int64_t len;                           /* innermost run length */
  int64_t istride[BP_MAX];               /* operand strides along the run */
  size_t rows;                           /* number of runs */
  int nops;
} bplan;

/* |out| must be static with at least one element; every ops[k] must
 * broadcast to it. */
static void bplan_init(bplan *p, const ir_shape *out,
                       const ir_value *const *ops, int nops) {
  int64_t st[BP_MAX][IR_MAX_RANK];
  for (int k = 0; k < nops; k++)
    ref_bcast_strides(&ops[k]->shape, out, st[k]);
  int64_t dims[IR_MAX_RANK], s[BP_MAX][IR_MAX_RANK];
  int r = 0;
  for (int d = 0; d < out->rank; d++) {
    if (out->dims[d] == 1) continue;
    bool merge = r > 0;
    for (int k = 0; k < nops && merge; k++)
      merge = s[k][r - 1] == st[k][d] * out->dims[d];
    if (merge) {
      dims[r - 1] *= out->dims[d];
      for (int k = 0; k < nops; k++) s[k][r - 1] = st[k][d];
    } else {
      dims[r] = out->dims[d];
      for (int k = 0; k < nops; k++) s[k][r] = st[k][d];
      r++;
    }
  }
  memset(p, 0, sizeof *p);
  p->nops = nops;
  p->len = r ? dims[r - 1] : 1;
  p->rows = 1;
  p->outer.rank = r ? r - 1 : 0;
  for (int d = 0; d < p->outer.rank; d++) {
    p->outer.dims[d] = dims[d];
    p->rows *= (size_t)dims[d];
    for (int k = 0; k < nops; k++) p->ostride[k][d] = s[k][d];
  }
  for (int k = 0; k < nops && r; k++) p->istride[k] = s[k][r - 1];
}

static void bplan_iter(const bplan *p, ref_iter *it) {
  ref_iter_init(it, &p->outer, p->nops,
                (const int64_t(*)[IR_MAX_RANK])p->ostride);
}

/*===------------------------------------------------------------------===*/
/* Scalar semantics                                                        */
/*===------------------------------------------------------------------===*/
typedef enum num_kind {
  NK_FLOAT, /* float32/64, float16, bfloat16: computed in double */
  NK_INT,   /* every integer type that fits int64 */
  NK_U64,   /* uint64: unsigned division and order */
  NK_BOOL,
  NK_NONE,  /* string, undefined, unsupported */
} num_kind;

static num_kind kind_of(ir_dtype t) {
  const ir_dtype_info *d = ir_dtype_get(t);
  if (!d || !d->size) return NK_NONE;
  if (d->is_bool) return NK_BOOL;
  if (d->is_float) return NK_FLOAT;
  return t == IR_U64 ? NK_U64 : NK_INT;
}

static bool is_numeric(ir_dtype t) {
  num_kind k = kind_of(t);
  return k == NK_FLOAT || k == NK_INT || k == NK_U64;
}

typedef enum bin_class { BC_ARITH, BC_LOGIC, BC_COMPARE } bin_class;

static bin_class class_of(ir_op op) {
  switch (op) {
  case IR_OP_AND:
  case IR_OP_OR:
  case IR_OP_XOR:
    return BC_LOGIC;
  case IR_OP_EQUAL:
  case IR_OP_GREATER:
  case IR_OP_GREATER_OR_EQUAL:
  case IR_OP_LESS:
  case IR_OP_LESS_OR_EQUAL:
    return BC_COMPARE;
  default:
    return BC_ARITH;
  }
}

static double arith_f(ir_op op, double a, double b) {
  switch (op) {
  case IR_OP_ADD: case IR_OP_SUM: case IR_OP_MEAN: return a + b;
  case IR_OP_SUB: return a - b;
  case IR_OP_MUL: return a * b;
  case IR_OP_DIV: return a / b;
  case IR_OP_POW: return pow(a, b);
  case IR_OP_PRELU: return a < 0 ? a * b : a;
  case IR_OP_MAX: return (a > b || isnan(a)) ? a : b;
  case IR_OP_MIN: return (a < b || isnan(a)) ? a : b;
  default: return 0;
  }
}

/* Wrapping int64 arithmetic (done in uint64 to stay defined). */
static int64_t arith_i(ir_op op, int64_t a, int64_t b) {
  uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
  switch (op) {
  case IR_OP_ADD: case IR_OP_SUM: return (int64_t)(ua + ub);
  case IR_OP_SUB: return (int64_t)(ua - ub);
  case IR_OP_MUL: return (int64_t)(ua * ub);
  case IR_OP_DIV:
    if (b == 0) return 0;                     /* defined: see file comment */
    if (b == -1) return (int64_t)(0 - ua);    /* INT64_MIN / -1 wraps */
    return a / b;                             /* truncates toward zero */
  case IR_OP_PRELU: return a < 0 ? (int64_t)(ua * ub) : a;
  case IR_OP_MAX: return a > b ? a : b;
  case IR_OP_MIN: return a < b ? a : b;
  default: return 0;
  }
}

static uint64_t arith_u(ir_op op, uint64_t a, uint64_t b) {
  switch (op) {
  case IR_OP_ADD: case IR_OP_SUM: return a + b;
  case IR_OP_SUB: return a - b;
  case IR_OP_MUL: return a * b;
  case IR_OP_DIV: return b ? a / b : 0;
  case IR_OP_PRELU: return a;
  case IR_OP_MAX: return a > b ? a : b;
  case IR_OP_MIN: return a < b ? a : b;
  default: return 0;
  }
}

/* base^e modulo 2^64 by squaring. */
static uint64_t upow(uint64_t base, uint64_t e) {
  uint64_t r = 1;
  for (; e; e >>= 1) {
    if (e & 1) r *= base;
    base *= base;
  }
  return r;
}

static bool compare(ir_op op, bool lt, bool eq, bool gt) {
  switch (op) {
  case IR_OP_EQUAL: return eq;
  case IR_OP_GREATER: return gt;
  case IR_OP_GREATER_OR_EQUAL: return gt || eq;
  case IR_OP_LESS: return lt;
  case IR_OP_LESS_OR_EQUAL: return lt || eq;
  default: return false;
  }
}

/*===------------------------------------------------------------------===*/
/* Binary ops                                                              */
/*===------------------------------------------------------------------===*/

/* Opset < 7 spelled broadcasting with 'broadcast' and 'axis' attributes:
 * B (input 1) is matched against a contiguous part of A's shape starting
 * at |axis| (default: the trailing dims).  When B's dims line up with A's
 * trailing dims that is numpy broadcasting; with an axis that leaves dims
 * after B, a constant B is re-shaped with trailing 1s so numpy
 * broadcasting gives the legacy result.  broadcast=0 required equal
 * shapes, a case numpy broadcasting computes the same way. */
ingot_status ref_parse_binary(ir_graph *g, ir_node_id nid) {
  ir_node *n = ref_node(g, nid);
  if (n->opset >= 7) return ref_parse_none(g, nid);
  static const char *const legacy[] = {"broadcast", "axis", "consumed_inputs",
                                       NULL};
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, legacy));
  int64_t bcast, axis;
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "broadcast", 0, &bcast));
  if (!bcast || !ir_attr_find(n, "axis")) return NULL;
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "axis", 0, &axis));
  if (n->n_in < 2 || !n->in[0] || !n->in[1])
    return ir_node_error(n, INGOT_INVALID_ARGUMENT, "needs two inputs");
  const ir_tensor *ta = &g->tensors[n->in[0]], *tb = &g->tensors[n->in[1]];
  if (!ta->shape_known || !tb->shape_known)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "legacy broadcast with 'axis' needs the ranks of "
                         "both inputs to be known at import");
  int ax;
  INGOT_RETURN_IF_ERROR(ref_axis(n, axis, ta->shape.rank, &ax));
  int trail = ta->shape.rank - ax - tb->shape.rank;
  if (trail < 0)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "legacy broadcast: input 1 of rank %d does not fit "
                         "input 0 of rank %d at axis %d",
                         tb->shape.rank, ta->shape.rank, ax);
  if (trail == 0) return NULL;
  if (tb->role != IR_ROLE_CONSTANT || !tb->data)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "legacy broadcast with 'axis' = %d of a non-constant "
                         "input 1 is not supported",
                         ax);
  ir_value v;
  ir_tensor_as_value(tb, &v);
  for (int k = 0; k < trail; k++) v.shape.dims[v.shape.rank++] = 1;
  return ir_node_set_const_input(g, nid, 1, &v);
}

static ingot_status binary_dtypes(const ir_node *n, const ir_value *in) {
  ir_dtype ta = in[0].dtype, tb = in[1].dtype;
  switch (class_of(n->op)) {
  case BC_LOGIC:
    if (ta != IR_BOOL || tb != IR_BOOL)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "inputs must be bool, got %s and %s",
                           ir_dtype_name(ta), ir_dtype_name(tb));
    return NULL;
  case BC_COMPARE:
    if (!is_numeric(ta) && !(n->op == IR_OP_EQUAL && ta == IR_BOOL))
      return ir_node_error(n, INGOT_UNIMPLEMENTED,
                           "input dtype %s is not supported",
                           ir_dtype_name(ta));
    return ref_same_dtype(n, in, 0, 1);
  case BC_ARITH:
    if (!is_numeric(ta))
      return ir_node_error(n, INGOT_UNIMPLEMENTED,
                           "input 0 dtype %s is not supported (numeric "
                           "types only)",
                           ir_dtype_name(ta));
    if (n->op != IR_OP_POW) return ref_same_dtype(n, in, 0, 1);
    if (!is_numeric(tb))
      return ir_node_error(n, INGOT_UNIMPLEMENTED,
                           "exponent dtype %s is not supported",
                           ir_dtype_name(tb));
    return NULL;
  }
  return NULL;
}

/* PRelu before opset 7 applies a 1-D slope of C values along axis 1 (the
 * channels); later opsets broadcast numpy-style.  Viewing such a slope as
 * [C,1,...,1] makes numpy broadcasting give the old result.  |v| gets the
 * (possibly re-viewed) operands; the data is shared, not copied. */
static const ir_value *prelu_legacy_view(const ir_node *n,
                                         const ir_value *in, ir_value v[2]) {
  const ir_shape *x = &in[0].shape, *w = &in[1].shape;
  if (n->op != IR_OP_PRELU || n->opset >= 7 || w->rank != 1 || x->rank < 2 ||
      w->dims[0] <= 1 || w->dims[0] != x->dims[1])
    return in;
  v[0] = in[0];
  v[1] = in[1];
  v[1].shape.rank = x->rank - 1;
  for (int d = 1; d < v[1].shape.rank; d++) v[1].shape.dims[d] = 1;
  return v;
}

ingot_status ref_infer_binary(const ir_node *n, const ir_value *in, int nin,
                              ir_value *out, int nout) {
  ir_value view[2];
  in = prelu_legacy_view(n, in, view);
  INGOT_RETURN_IF_ERROR(binary_dtypes(n, in));
  const ir_shape *shapes[2] = {&in[0].shape, &in[1].shape};
  ir_shape s;
  INGOT_RETURN_IF_ERROR(ref_broadcast(n, shapes, 2, &s));
  if (n->op == IR_OP_PRELU) {
    /* The slope broadcasts to X; X's shape is the output's. */
    const ir_shape *x = &in[0].shape;
    bool ok = s.rank == x->rank;
    for (int d = 0; ok && d < x->rank; d++) {
      if (x->dims[d] >= 0 && s.dims[d] >= 0 && s.dims[d] != x->dims[d])
        ok = false;
      else if (x->dims[d] >= 0)
        s.dims[d] = x->dims[d];
    }
    if (!ok) {
      char a[96], b[96];
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "slope shape %s does not broadcast to X's shape "
                           "%s",
                           ir_shape_str(&in[1].shape, b, sizeof b),
                           ir_shape_str(x, a, sizeof a));
    }
  }
  out[0].dtype = class_of(n->op) == BC_ARITH ? in[0].dtype : IR_BOOL;
  out[0].shape = s;
  return NULL;
}

/* Pow with an integer base: exact for integer exponents, through double
 * (truncated back, as numpy's astype) for float exponents. */
static void pow_int(const ir_value *a, size_t ia, const ir_value *b,
                    size_t ib, ir_value *o, size_t io) {
  if (kind_of(b->dtype) == NK_FLOAT) {
    ir_store_f64(o->dtype, o->data, io,
                 pow(ir_load_f64(a->dtype, a->data, ia),
                     ir_load_f64(b->dtype, b->data, ib)));
    return;
  }
  uint64_t base = ir_load_u64(a->dtype, a->data, ia);
  uint64_t r;
  if (kind_of(b->dtype) == NK_INT && ir_load_i64(b->dtype, b->data, ib) < 0) {
    bool odd = ir_load_i64(b->dtype, b->data, ib) & 1;
    bool minus_one = kind_of(a->dtype) == NK_INT &&
                     ir_load_i64(a->dtype, a->data, ia) == -1;
    r = base == 1 ? 1 : minus_one ? (odd ? UINT64_MAX : 1) : 0;
  } else {
    r = upow(base, ir_load_u64(b->dtype, b->data, ib));
  }
  ir_store_u64(o->dtype, o->data, io, r);
}

/* One output element for any dtype combination infer accepted. */
static void binary_elem(ir_op op, const ir_value *a, size_t ia,
                        const ir_value *b, size_t ib, ir_value *o,
                        size_t io) {
  ir_dtype ta = a->dtype, tb = b->dtype;
  bin_class cls = class_of(op);
  if (cls == BC_LOGIC) {
    bool x = ir_load_i64(ta, a->data, ia) != 0;
    bool y = ir_load_i64(tb, b->data, ib) != 0;
    bool r = op == IR_OP_AND ? (x && y) : op == IR_OP_OR ? (x || y) : x != y;
    ((uint8_t *)o->data)[io] = r;
    return;
  }
  num_kind k = kind_of(ta);
  if (cls == BC_COMPARE) {
    bool lt, eq, gt;
    if (k == NK_FLOAT) {
      double x = ir_load_f64(ta, a->data, ia), y = ir_load_f64(tb, b->data, ib);
      lt = x < y, eq = x == y, gt = x > y;
    } else if (k == NK_U64) {
      uint64_t x = ir_load_u64(ta, a->data, ia);
      uint64_t y = ir_load_u64(tb, b->data, ib);
      lt = x < y, eq = x == y, gt = x > y;
    } else {
      int64_t x = ir_load_i64(ta, a->data, ia);
      int64_t y = ir_load_i64(tb, b->data, ib);
      lt = x < y, eq = x == y, gt = x > y;
    }
    ((uint8_t *)o->data)[io] = compare(op, lt, eq, gt);
    return;
  }
  if (k == NK_FLOAT) {
    ir_store_f64(o->dtype, o->data, io,
                 arith_f(op, ir_load_f64(ta, a->data, ia),
                         ir_load_f64(tb, b->data, ib)));
  } else if (op == IR_OP_POW) {
    pow_int(a, ia, b, ib, o, io);
  } else if (k == NK_U64) {
    ir_store_u64(o->dtype, o->data, io,
                 arith_u(op, ir_load_u64(ta, a->data, ia),
                         ir_load_u64(tb, b->data, ib)));
  } else {
    ir_store_i64(o->dtype, o->data, io,
                 arith_i(op, ir_load_i64(ta, a->data, ia),
                         ir_load_i64(tb, b->data, ib)));
  }
}

/* float32 arithmetic on one run: the hot path of real models. */
static void row_f32(ir_op op, int64_t len, float *o, const float *a,
                    int64_t sa, const float *b, int64_t sb) {
  switch (op) {
  case IR_OP_ADD:
    for (int64_t i = 0; i < len; i++) o[i] = a[i * sa] + b[i * sb];
    break;
  case IR_OP_SUB:
    for (int64_t i = 0; i < len; i++) o[i] = a[i * sa] - b[i * sb];
    break;
  case IR_OP_MUL:
    for (int64_t i = 0; i < len; i++) o[i] = a[i * sa] * b[i * sb];
    break;
  case IR_OP_DIV:
    for (int64_t i = 0; i < len; i++) o[i] = a[i * sa] / b[i * sb];
    break;
  default:
    for (int64_t i = 0; i < len; i++)
      o[i] = (float)arith_f(op, a[i * sa], b[i * sb]);
    break;
  }
}

ingot_status ref_eval_binary(const ir_node *n, const ir_value *in, int nin,
                             ir_value *out, int nout) {
  ir_value view[2];
  in = prelu_legacy_view(n, in, view);
  INGOT_RETURN_IF_ERROR(binary_dtypes(n, in));
  ir_value *o = &out[0];
  if (ir_shape_numel(&o->shape) == 0) return NULL;
  const ir_value *ops[2] = {&in[0], &in[1]};
  bplan p;
  bplan_init(&p, &o->shape, ops, 2);
  ref_iter it;
  bplan_iter(&p, &it);
  bool f32 = class_of(n->op) == BC_ARITH && in[0].dtype == IR_F32 &&
             in[1].dtype == IR_F32;
  for (size_t r = 0; r < p.rows; r++, ref_iter_next(&it)) {
    size_t io = r * (size_t)p.len;
    if (f32) {
      row_f32(n->op, p.len, (float *)o->data + io,
              (const float *)in[0].data + it.off[0], p.istride[0],
              (const float *)in[1].data + it.off[1], p.istride[1]);
      continue;
    }
    for (int64_t i = 0; i < p.len; i++)
      binary_elem(n->op, &in[0], (size_t)(it.off[0] + i * p.istride[0]),
                  &in[1], (size_t)(it.off[1] + i * p.istride[1]), o,
                  io + (size_t)i);
  }
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Max, Min, Mean, Sum over N inputs                                       */
/*===------------------------------------------------------------------===*/

ingot_status ref_infer_variadic(const ir_node *n, const ir_value *in,
                                int nin, ir_value *out, int nout) {
  num_kind k = kind_of(in[0].dtype);
  bool ok = n->op == IR_OP_MEAN ? k == NK_FLOAT : is_numeric(in[0].dtype);
  if (!ok)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "input dtype %s is not supported (%s)",
                         ir_dtype_name(in[0].dtype),
                         n->op == IR_OP_MEAN ? "float types only"
                                             : "numeric types only");
  ir_shape s = in[0].shape;
  for (int i = 1; i < nin; i++) {
    INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, 0, i));
    const ir_shape *shapes[2] = {&s, &in[i].shape};
    ir_shape t;
    INGOT_RETURN_IF_ERROR(ref_broadcast(n, shapes, 2, &t));
    s = t;
  }
  out[0].dtype = in[0].dtype;
  out[0].shape = s;
  return NULL;
}

/* out = op(out, x) with |x| broadcast to out's shape. */
static void fold_into(ir_op op, ir_value *o, const ir_value *x) {
  const ir_value *ops[1] = {x};
  bplan p;
  bplan_init(&p, &o->shape, ops, 1);
  ref_iter it;
  bplan_iter(&p, &it);
  ir_dtype t = o->dtype;
  num_kind k = kind_of(t);
  for (size_t r = 0; r < p.rows; r++, ref_iter_next(&it)) {
    size_t io = r * (size_t)p.len;
    int64_t s = p.istride[0];
    if (t == IR_F32) {
      float *od = (float *)o->data + io;
      row_f32(op == IR_OP_SUM || op == IR_OP_MEAN ? IR_OP_ADD : op, p.len, od,
              od, 1, (const float *)x->data + it.off[0], s);
      continue;
    }
    for (int64_t i = 0; i < p.len; i++) {
      size_t oi = io + (size_t)i, xi = (size_t)(it.off[0] + i * s);
      if (k == NK_FLOAT)
        ir_store_f64(t, o->data, oi,
                     arith_f(op, ir_load_f64(t, o->data, oi),
                             ir_load_f64(t, x->data, xi)));
      else if (k == NK_U64)
        ir_store_u64(t, o->data, oi,
                     arith_u(op, ir_load_u64(t, o->data, oi),
                             ir_load_u64(t, x->data, xi)));
      else
        ir_store_i64(t, o->data, oi,
                     arith_i(op, ir_load_i64(t, o->data, oi),
                             ir_load_i64(t, x->data, xi)));
    }
  }
}

/* Copies |x| broadcast to out's shape into |o|. */
static void broadcast_copy(ir_value *o, const ir_value *x) {
  size_t esz = ir_dtype_get(o->dtype)->size;
  if (ir_shape_equal(&o->shape, &x->shape)) {
    memcpy(o->data, x->data, ir_value_nbytes(o));
    return;
  }
  const ir_value *ops[1] = {x};
  bplan p;
  bplan_init(&p, &o->shape, ops, 1);
  ref_iter it;
  bplan_iter(&p, &it);
  for (size_t r = 0; r < p.rows; r++, ref_iter_next(&it))
    for (int64_t i = 0; i < p.len; i++)
      memcpy((char *)o->data + (r * (size_t)p.len + (size_t)i) * esz,
             (const char *)x->data +
                 (size_t)(it.off[0] + i * p.istride[0]) * esz,
             esz);
}

ingot_status ref_eval_variadic(const ir_node *n, const ir_value *in, int nin,
                               ir_value *out, int nout) {
  ir_value *o = &out[0];
  size_t count = ir_shape_numel(&o->shape);
  if (count == 0) return NULL;
  broadcast_copy(o, &in[0]);
  for (int i = 1; i < nin; i++) fold_into(n->op, o, &in[i]);
  if (n->op == IR_OP_MEAN) {
    if (o->dtype == IR_F32) {
      float *od = o->data;
      for (size_t i = 0; i < count; i++) od[i] /= (float)nin;
    } else {
      for (size_t i = 0; i < count; i++)
        ir_store_f64(o->dtype, o->data, i,
                     ir_load_f64(o->dtype, o->data, i) / nin);
    }
  }
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Where                                                                   */
/*===------------------------------------------------------------------===*/

ingot_status ref_infer_where(const ir_node *n, const ir_value *in, int nin,
                             ir_value *out, int nout) {
  if (in[0].dtype != IR_BOOL)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "condition (input 0) must be bool, not %s",
                         ir_dtype_name(in[0].dtype));
  if (kind_of(in[1].dtype) == NK_NONE)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "input dtype %s is not supported",
                         ir_dtype_name(in[1].dtype));
  INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, 1, 2));
  const ir_shape *shapes[3] = {&in[0].shape, &in[1].shape, &in[2].shape};
  out[0].dtype = in[1].dtype;
  return ref_broadcast(n, shapes, 3, &out[0].shape);
}

ingot_status ref_eval_where(const ir_node *n, const ir_value *in, int nin,
                            ir_value *out, int nout) {
  ir_value *o = &out[0];
  if (ir_shape_numel(&o->shape) == 0) return NULL;
  size_t esz = ir_dtype_get(o->dtype)->size;
  const ir_value *ops[3] = {&in[0], &in[1], &in[2]};
  bplan p;
  bplan_init(&p, &o->shape, ops, 3);
  ref_iter it;
  bplan_iter(&p, &it);
  const uint8_t *c = in[0].data;
  const char *x = in[1].data, *y = in[2].data;
  char *od = o->data;
  for (size_t r = 0; r < p.rows; r++, ref_iter_next(&it)) {
    for (int64_t i = 0; i < p.len; i++) {
      const char *src =
          c[it.off[0] + i * p.istride[0]]
              ? x + (size_t)(it.off[1] + i * p.istride[1]) * esz
              : y + (size_t)(it.off[2] + i * p.istride[2]) * esz;
      memcpy(od + (r * (size_t)p.len + (size_t)i) * esz, src, esz);
    }
  }
  return NULL;
}

/* ref.h — internal interface of the reference interpreter's op families.
 *
 * Prototypes of every parse/infer/eval function named in ops.def (declared
 * from the table itself, so a misspelt name fails to link), plus the small
 * helpers every family uses: broadcasting, axis normalisation and reading
 * integer lists out of tensors.  Each family file (unary.c, binary.c,
 * conv.c, ...) implements its rows of ops.def and nothing else.
 */
#ifndef INGOT_IR_REF_H
#define INGOT_IR_REF_H

#include "../ir.h"
#include "../params.h"

#define IR_OP(id, name, min_in, max_in, min_out, max_out, flags, parse, infer, \
              eval)                                                           \
  ingot_status parse(ir_graph *g, ir_node_id nid);                            \
  ingot_status infer(const ir_node *n, const ir_value *in, int nin,           \
                     ir_value *out, int nout);                                \
  ingot_status eval(const ir_node *n, const ir_value *in, int nin,            \
                    ir_value *out, int nout);
#include "../ops.def"
#undef IR_OP

/* true when optional input |i| is present (given and not empty-named). */
static inline bool ref_has(const ir_value *in, int nin, int i) {
  return i < nin && in[i].dtype != IR_DT_UNDEF;
}

/* Node of a graph by id, for parse functions. */
static inline ir_node *ref_node(ir_graph *g, ir_node_id id) {
  return &g->nodes[id];
}

/* Allocates zeroed params of |size| bytes in the graph arena and stores the
 * pointer in the node; returns it (NULL on allocation failure). */
void *ref_params_new(ir_graph *g, ir_node_id nid, size_t size);

/* Normalises |axis| (may be negative) against |rank|; error names node. */
ingot_status ref_axis(const ir_node *n, int64_t axis, int rank, int *out);

/* Multidirectional (numpy) broadcast of |k| shapes. */
ingot_status ref_broadcast(const ir_node *n, const ir_shape *const *shapes,
                           int k, ir_shape *out);
/* Element strides of |in| read as |out| under broadcasting (0 on broadcast
 * dims); |in| must broadcast to |out|.  strides has out->rank entries. */
void ref_bcast_strides(const ir_shape *in, const ir_shape *out,
                       int64_t *strides);

/* An odometer over a shape, yielding for each element (row-major) the
 * offsets into up to 4 operands with their own strides. */
typedef struct ref_iter {
  int rank, nops;
  int64_t dims[IR_MAX_RANK];
  int64_t idx[IR_MAX_RANK];
  int64_t strides[4][IR_MAX_RANK];
  int64_t off[4];
} ref_iter;
void ref_iter_init(ref_iter *it, const ir_shape *shape, int nops,
                   const int64_t (*strides)[IR_MAX_RANK]);
void ref_iter_next(ref_iter *it);

/* Row-major contiguous strides of |s|. */
void ref_strides(const ir_shape *s, int64_t *strides);

/* Reads an integer tensor (int32/int64, any rank <= 1 unless |any_rank|)
 * into |out|.  Error names the node and input when data is absent, the
 * dtype is not integer or there are more than |cap| values. */
ingot_status ref_read_ints(const ir_node *n, const ir_value *in, int idx,
                           int64_t *out, int cap, int *count);
/* Reads a float tensor (any float dtype) of at most |cap| values. */
ingot_status ref_read_floats(const ir_node *n, const ir_value *in, int idx,
                             double *out, int cap, int *count);

/* Error unless in[idx].dtype is one of |allowed| (IR_DT_UNDEF-terminated). */
ingot_status ref_check_dtype(const ir_node *n, const ir_value *in, int idx,
                             const ir_dtype *allowed);
/* Error unless in[i].dtype == in[j].dtype. */
ingot_status ref_same_dtype(const ir_node *n, const ir_value *in, int i,
                            int j);

/* Element size of |t|; UNIMPLEMENTED naming the node for unsupported
 * dtypes. */
ingot_status ref_elem_size(const ir_node *n, ir_dtype t, size_t *out);

/* a * b for a, b >= 0, saturating at INT64_MAX. */
static inline int64_t ref_mul_sat(int64_t a, int64_t b) {
  if (a != 0 && b > INT64_MAX / a) return INT64_MAX;
  return a * b;
}

/* Floor and ceiling of a / b for b > 0 (C's / truncates toward zero). */
static inline int64_t ref_floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}
static inline int64_t ref_ceil_div(int64_t a, int64_t b) {
  return -ref_floor_div(-a, b);
}

/* Conv/pool list attributes: reads optional ints attribute |name| with
 * |per_axis| values per spatial axis into |out|, checks its length against
 * the spatial rank the attributes read before implied (*rank, 0 = none
 * yet; updated) and each value against [lo, hi].  *has: was it given. */
ingot_status ref_spatial_list(const ir_node *n, const char *name,
                              int per_axis, int64_t lo, int64_t hi,
                              int64_t *out, int *rank, bool *has);

/* Makes input |idx| of node |nid| a constant 1-D int64 tensor of |count|
 * values (copied): how parse functions canonicalise old-opset attributes. */
ingot_status ref_set_const_ints(ir_graph *g, ir_node_id nid, int idx,
                                const int64_t *v, int count);

/* The int8 rounding step of DESIGN.md §5, shared by every quantising op
 * so they agree bit for bit: clamp(rne(v) + zp, lo, hi).  NaN has no
 * integer value and maps to the zero point. */
int64_t ref_saturate_rne(float v, int64_t zp, int64_t lo, int64_t hi);

/* Gemm's M, K and N from A's and B's shapes after the transA/transB of
 * |n|'s ir_p_gemm params; checks both are 2-D with equal inner dims.
 * Gemm and com.microsoft QGemm use it (matmul.c). */
ingot_status ref_gemm_dims(const ir_node *n, const ir_shape *a,
                           const ir_shape *b, int64_t *m, int64_t *k,
                           int64_t *nn);

/* Quantisation scales (docs/int8.md): when input |idx| is present and
 * its values are known (a constant), every one must be positive and
 * finite; the error names the node, the input (|what|, e.g. "w_scale") and
 * the first bad value's position.  Float types only; others pass (the
 * dtype check is the op's). */
ingot_status ref_check_scale_values(const ir_node *n, const ir_value *in,
                                    int nin, int idx, const char *what);

/* Copies the |rank|-D box |dims| into contiguous |dst|, reading the element
 * at index i from src[base + sum i[d] * src_str[d]] (in elements; strides
 * may be 0 or negative; every address read must lie in |src|).
 * rank <= 2 * IR_MAX_RANK.  Transpose, Slice, Tile, Pad and Expand use it
 * (defined in movement.c). */
void ref_copy_strided(void *dst, const void *src, int64_t base,
                      const int64_t *src_str, size_t esize, int rank,
                      const int64_t *dims);

/* Resize and Upsample, shared by the reference (resize.c) and the engine's
 * lowering (codegen/lower_resize.c), so both use the same tap tables bit
 * for bit.  A plan holds the output shape, per-dim scale and (for
 * tf_crop_and_resize) the roi, from the node and its inputs (scales,
 * sizes and roi need data).  A map holds one dim's taps: for output index
 * o, taps [o*4, o*4 + ntap[o]) of idx/w; ntap[o] == 0 marks an
 * extrapolated position. */
typedef struct ref_resize_plan {
  ir_shape out;
  bool from_sizes;
  double scale[IR_MAX_RANK];
  double roi[2 * IR_MAX_RANK]; /* starts [0, rank), ends [rank, 2 rank) */
} ref_resize_plan;

typedef struct ref_resize_map {
  int64_t in_len, out_len;
  int64_t *idx;
  double *w;
  uint8_t *ntap;
  bool identity; /* every o reads exactly in[o] */
} ref_resize_map;

ingot_status ref_resize_plan_make(const ir_node *n, const ir_value *in,
                                  int nin, ref_resize_plan *pl);
ingot_status ref_resize_map_make(const ir_node *n, const ref_resize_plan *pl,
                                 int rank, int d, int64_t in_len,
                                 ref_resize_map *m);
void ref_resize_map_free(ref_resize_map *m);

/* The com.microsoft QLinear ops (qlinear_ms.c), shared by the reference
 * and the engine's lowering (codegen/lower_qlinear.c, lower_pool.c), so
 * both derive the same float32 multipliers and tables from the same code.
 * |in| holds the node's inputs; the scales and zero points need data
 * (constants in an engine).  Errors name the node and the input. */
typedef struct ref_qlinear_binary_q {
  int64_t za, zb, zy, lo, hi; /* zero points; the output type's range */
  float ma, mb;               /* QLinearAdd: sa / sy, sb / sy */
  float m;                    /* QLinearMul: float(sa·sb) / sy */
} ref_qlinear_binary_q;
ingot_status ref_qlinear_binary_q_make(const ir_node *n, const ir_value *in,
                                       int nin, ref_qlinear_binary_q *q);
/* QLinearSigmoid / QLinearLeakyRelu: the output code of every input code
 * x, at table[x − lo] (lo = 0 for uint8, −128 for int8). */
ingot_status ref_qlinear_unary_table(const ir_node *n, const ir_value *in,
                                     int nin, int64_t table[256]);
/* QLinear(Global)AveragePool: scales, zero points and output range. */
typedef struct ref_qlinear_pool_q {
  float sx, sy;
  int64_t zx, zy, lo, hi;
} ref_qlinear_pool_q;
ingot_status ref_qlinear_pool_q_make(const ir_node *n, const ir_value *in,
                                     int nin, ref_qlinear_pool_q *q);
/* QLinearConcat: multiplier si / sy and zero point of the input whose
 * data is in[i] (i = 2, 5, 8, ...). */
ingot_status ref_qlinear_concat_q(const ir_node *n, const ir_value *in,
                                  int nin, int i, float *m, int64_t *zi);

#endif /* INGOT_IR_REF_H */

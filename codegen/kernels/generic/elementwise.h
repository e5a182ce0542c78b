/* elementwise.h — descriptors of the elementwise templates
 * (elementwise.c): k_ew_unary for one-input ops (math functions,
 * activations, Clip, Cast, copies and fills) and k_ew_binary for
 * broadcasting ops over up to three inputs (arithmetic, comparisons,
 * logic, Where, and the folds of Max/Min/Sum/Mean).
 *
 * Shared by the templates and by codegen/lower_elementwise.c, which fills
 * them.  Element types are ONNX numbers (= ir_dtype = KM_* of kmath.h);
 * every count and stride is in elements.  Semantics are those of the
 * reference (ir/ref/unary.c, binary.c): float32 computes in float, the
 * other float types in double (rounded once to the output type), integers
 * in int64 or uint64 with wrap-around.
 */
#ifndef INGOT_K_ELEMENTWISE_H
#define INGOT_K_ELEMENTWISE_H

#include "generic/epilogue.h"
#include "kabi.h"

/* Elements per work unit: tasks split a tensor at multiples of this. */
#define KEW_BLOCK 64

/* k_ew_unary ops.  ORDER EW_UNARY: the formula table in elementwise.c
 * (EW_FLOAT_FORMULAS, ew_formulas.h) has one row per op from KEW_ABS to
 * KEW_GELU_TANH. */
enum kew_unary_op {
  KEW_ABS, KEW_NEG, KEW_CEIL, KEW_FLOOR, KEW_ROUND, KEW_SIGN, KEW_SQRT,
  KEW_EXP, KEW_LOG, KEW_SIN, KEW_COS, KEW_TANH, KEW_ERF, KEW_SIGMOID,
  KEW_RELU, KEW_RECIPROCAL, KEW_SOFTPLUS, KEW_SOFTSIGN, KEW_ELU, KEW_SELU,
  KEW_LEAKY_RELU, KEW_HARD_SIGMOID, KEW_HARD_SWISH, KEW_GELU, KEW_GELU_TANH,
  KEW_NOT,  /* bool */
  KEW_CLIP, /* bounds below */
  KEW_CAST, /* xdt -> ydt */
  KEW_COPY, /* y = x, bytes */
  KEW_ONES, /* y = 1 of ydt, x unused (Dropout's mask) */
};

/* Where a Clip bound comes from. */
enum { KEW_BOUND_NONE = 0, KEW_BOUND_CONST = 1, KEW_BOUND_BUF = 2 };

/* y[i] = op(x[i]) for i in [0, n); x and y have the same element count
 * (any layout, as long as both share it).  Blocks of KEW_BLOCK elements
 * are split into |tasks|.  Clip bounds: constants in flo/fhi (float x) or
 * ilo/ihi (integer x; uint64 bounds as their bits), or one element of
 * x's dtype read from lo/hi at run time. */
typedef struct kew_unary {
  kbuf x, y, lo, hi;
  int32_t op, xdt, ydt, lo_src, hi_src, pad_;
  int64_t n, tasks;
  double alpha, beta, gamma; /* Elu/Selu/LeakyRelu/HardSigmoid */
  double flo, fhi;
  int64_t ilo, ihi;
  kepi epi; /* fused float32 ops applied to y afterwards */
} kew_unary;

/* k_ew_binary ops.  ORDER EW_BINARY: KEW_ADD..KEW_MIN are the rows of
 * EW_BINARY_FLOAT_FORMULAS in elementwise.c. */
enum kew_binary_op {
  KEW_ADD, KEW_SUB, KEW_MUL, KEW_DIV, KEW_POW, KEW_PRELU, KEW_MAX, KEW_MIN,
  KEW_AND, KEW_OR, KEW_XOR,                    /* bool -> bool */
  KEW_EQUAL, KEW_GREATER, KEW_GREATER_EQUAL,   /* -> bool */
  KEW_LESS, KEW_LESS_EQUAL,
  KEW_WHERE,  /* y = in0 ? in1 : in2 (in0 bool) */
  KEW_BCOPY,  /* y = in0 broadcast */
};

#define KEW_MAX_IN 3

/* y = op(in[0], ..., in[nin-1]) over the output's |rank| dims (merged:
 * size-1 dims dropped, dims every operand walks linearly fused), y
 * contiguous.  str[k][d] is input k's element stride along dim d (0 where
 * it broadcasts).  Inputs may have different element types only for Pow
 * (exponent) and Where (bool condition).  post_div > 0: afterwards y =
 * y / post_div in y's type (the last fold of Mean).  The n elements, in
 * blocks of KEW_BLOCK, are split into |tasks|. */
typedef struct kew_binary {
  kbuf in[KEW_MAX_IN], y;
  int32_t op, nin;
  int32_t dt[KEW_MAX_IN], ydt;
  int32_t rank, post_div;
  int64_t n, tasks;
  int64_t dims[KMAX_RANK];
  int64_t str[KEW_MAX_IN][KMAX_RANK];
  kepi epi; /* fused float32 ops applied to y afterwards */
} kew_binary;

KSIG(k_ew_unary);
KSIG(k_ew_binary);

#endif /* INGOT_K_ELEMENTWISE_H */

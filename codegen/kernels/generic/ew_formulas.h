/* ew_formulas.h — the float formulas of the elementwise ops, written
 * once over a type T and expanded by the templates that evaluate them:
 * elementwise.c (k_ew_unary, k_ew_binary) and epilogue_apply.h (the
 * epilogues of fused steps), so a fused step computes exactly what the
 * unfused steps compute.  Templates only (uses kmath.h).
 *
 * Gelu (ONNX Gelu-20, ir/ref/unary.c): 0.5 x (1 + erf(x / sqrt 2)), and
 * with approximate="tanh" 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
 */
#ifndef INGOT_K_EW_FORMULAS_H
#define INGOT_K_EW_FORMULAS_H

#include "elementwise.h"
#include "kmath.h"

#define EW_SQRT1_2 0.70710678118654752440
#define EW_SQRT_2_PI 0.79788456080286535588

/* Clamp to [0, 1] keeping NaN (HardSigmoid, HardSwish). */
#define EW_CLAMP01(v) ((v) < 0 ? (T)0 : ((v) > 1 ? (T)1 : (v)))

/* The float formulas of the unary ops, x of type T; al, be, ga are the
 * op's alpha, beta, gamma as T.  Sin and Cos are handled apart (elementwise.c).
 * ORDER EW_UNARY. */
#define EW_FLOAT_FORMULAS(X)                                   \
  X(KEW_ABS, KM_ABS(x))                                        \
  X(KEW_NEG, -x)                                               \
  X(KEW_CEIL, KM_CEIL(x))                                      \
  X(KEW_FLOOR, KM_FLOOR(x))                                    \
  X(KEW_ROUND, KM_RINT(x))                                     \
  X(KEW_SIGN, x > 0 ? (T)1 : (x < 0 ? (T)-1 : x))              \
  X(KEW_SQRT, KM_SQRT(x))                                      \
  X(KEW_EXP, KM_EXP(x))                                        \
  X(KEW_LOG, KM_LOG(x))                                        \
  X(KEW_TANH, KM_TANH(x))                                      \
  X(KEW_ERF, KM_ERF(x))                                        \
  X(KEW_SIGMOID, KM_SIGMOID(x))                                \
  X(KEW_RELU, x < 0 ? (T)0 : x)                                \
  X(KEW_RECIPROCAL, (T)1 / x)                                  \
  X(KEW_SOFTPLUS, KM_SOFTPLUS(x))                              \
  X(KEW_SOFTSIGN, x / ((T)1 + KM_ABS(x)))                      \
  X(KEW_ELU, x < 0 ? al * KM_EXPM1(x) : x)                     \
  X(KEW_SELU, x <= 0 ? ga_al * KM_EXPM1(x) : ga * x)           \
  X(KEW_LEAKY_RELU, x < 0 ? al * x : x)                        \
  X(KEW_HARD_SIGMOID, EW_CLAMP01(al * x + be))                 \
  X(KEW_HARD_SWISH, x * EW_CLAMP01(x / (T)6 + (T)0.5))                \
  X(KEW_GELU, (T)0.5 * x * ((T)1 + KM_ERF(x * (T)EW_SQRT1_2)))      \
  X(KEW_GELU_TANH, (T)0.5 * x *                                     \
                       ((T)1 + KM_TANH((T)EW_SQRT_2_PI *           \
                                       (x + (T)0.044715 * x * x * x))))

/* The float formulas of the arithmetic binary ops, a and b of type T.
 * Max/Min propagate NaN from either side.  ORDER EW_BINARY. */
#define EW_BINARY_FLOAT_FORMULAS(X)                            \
  X(KEW_ADD, a + b)                                            \
  X(KEW_SUB, a - b)                                            \
  X(KEW_MUL, a * b)                                            \
  X(KEW_DIV, a / b)                                            \
  X(KEW_POW, KM_POW(a, b))                                     \
  X(KEW_PRELU, a < 0 ? a * b : a)                              \
  X(KEW_MAX, (a > b || a != a) ? a : b)                        \
  X(KEW_MIN, (a < b || a != a) ? a : b)

#endif /* INGOT_K_EW_FORMULAS_H */

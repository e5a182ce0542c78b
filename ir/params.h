/* params.h — typed per-op attributes (ir_node.params).
 *
 * Each op's parse function (ops.def) validates the node's raw attributes
 * and fills one of these structs in the graph arena.  Passes and kernels
 * read these, never the raw attribute list.  Old-opset forms are made
 * canonical at parse time: values that later opsets pass as inputs (Slice
 * starts/ends, Clip min/max, Pad pads, Reduce axes, Split sizes, Squeeze
 * axes, Upsample-7 scales, Dropout ratio) become constant inputs, so there
 * is one form per op after import.
 */
#ifndef INGOT_IR_PARAMS_H
#define INGOT_IR_PARAMS_H

#include "ir.h"

/* Elu, Selu, LeakyRelu, HardSigmoid */
typedef struct ir_p_activation {
  float alpha, beta, gamma;
} ir_p_activation;

/* Cast */
typedef struct ir_p_cast {
  ir_dtype to;
} ir_p_cast;

/* Dropout (ratio/training_mode are inputs after parse) */
typedef struct ir_p_dropout {
  int64_t seed;
  bool has_seed;
} ir_p_dropout;

typedef enum ir_auto_pad {
  IR_PAD_NOTSET = 0,
  IR_PAD_VALID,
  IR_PAD_SAME_UPPER,
  IR_PAD_SAME_LOWER,
} ir_auto_pad;

/* Conv, ConvTranspose, ConvInteger, QLinearConv, AveragePool, MaxPool.
 * n_spatial is 0 at parse time when kernel_shape is absent: infer takes
 * it from the weights.  pads: begin[0..n), end[n..2n). */
typedef struct ir_p_conv {
  int n_spatial;
  bool has_kernel, has_pads, has_strides, has_dilations;
  int64_t kernel[IR_MAX_RANK];
  int64_t strides[IR_MAX_RANK];
  int64_t dilations[IR_MAX_RANK];
  int64_t pads[2 * IR_MAX_RANK];
  int64_t output_padding[IR_MAX_RANK]; /* ConvTranspose */
  int64_t output_shape[IR_MAX_RANK];   /* ConvTranspose, if has_output_shape */
  bool has_output_shape;
  int64_t group;
  ir_auto_pad auto_pad;
  /* pooling only */
  bool ceil_mode;
  bool count_include_pad;
  int64_t storage_order;
  /* Spatial rank implied by whichever of kernel_shape, strides, dilations,
   * pads, output_padding, output_shape are given (0: none); infer checks it
   * against the input's rank even when kernel_shape is absent. */
  int n_given;
} ir_p_conv;
typedef ir_p_conv ir_p_pool;

/* LRN */
typedef struct ir_p_lrn {
  float alpha, beta, bias;
  int64_t size;
} ir_p_lrn;

/* Gemm */
typedef struct ir_p_gemm {
  float alpha, beta;
  bool trans_a, trans_b;
} ir_p_gemm;

/* BatchNormalization, InstanceNormalization */
typedef struct ir_p_norm {
  float epsilon;
  float momentum;
  bool training_mode;
} ir_p_norm;

/* LayerNormalization */
typedef struct ir_p_layernorm {
  int64_t axis;
  float epsilon;
  int64_t stash_type;
} ir_p_layernorm;

/* Softmax, LogSoftmax.  legacy: opset < 13 semantics (coerce the input to
 * 2-D at |axis| and normalise over the flattened trailing part). */
typedef struct ir_p_softmax {
  int64_t axis;
  bool legacy;
} ir_p_softmax;

/* Reduce* (axes become input 1 at parse time) */
typedef struct ir_p_reduce {
  bool keepdims;
  bool noop_with_empty_axes;
} ir_p_reduce;

/* ArgMax, ArgMin */
typedef struct ir_p_argminmax {
  int64_t axis;
  bool keepdims;
  bool select_last_index;
} ir_p_argminmax;

/* Concat, Gather, Flatten (one axis attribute) */
typedef struct ir_p_axis {
  int64_t axis;
} ir_p_axis;

/* Reshape */
typedef struct ir_p_reshape {
  bool allowzero;
} ir_p_reshape;

/* Split (sizes become input 1 at parse time) */
typedef struct ir_p_split {
  int64_t axis;
} ir_p_split;

/* Transpose (n_perm 0: reverse the dims) */
typedef struct ir_p_transpose {
  int n_perm;
  int64_t perm[IR_MAX_RANK];
} ir_p_transpose;

/* Shape (opset 15 start/end) */
typedef struct ir_p_shape {
  int64_t start, end;
  bool has_end;
} ir_p_shape;

/* Constant and ConstantOfShape: the value, borrowed from the graph arena. */
typedef struct ir_p_constant {
  ir_value value;
} ir_p_constant;

typedef enum ir_pad_mode {
  IR_PADMODE_CONSTANT = 0,
  IR_PADMODE_REFLECT,
  IR_PADMODE_EDGE,
  IR_PADMODE_WRAP,
} ir_pad_mode;

/* Pad (pads/value become inputs at parse time) */
typedef struct ir_p_pad {
  ir_pad_mode mode;
} ir_p_pad;

typedef enum ir_resize_mode {
  IR_RESIZE_NEAREST = 0,
  IR_RESIZE_LINEAR,
  IR_RESIZE_CUBIC,
} ir_resize_mode;

typedef enum ir_resize_coord {
  IR_COORD_HALF_PIXEL = 0,
  IR_COORD_ASYMMETRIC,
  IR_COORD_PYTORCH_HALF_PIXEL,
  IR_COORD_TF_HALF_PIXEL_FOR_NN,
  IR_COORD_ALIGN_CORNERS,
  IR_COORD_TF_CROP_AND_RESIZE,
} ir_resize_coord;

typedef enum ir_resize_nearest {
  IR_NEAREST_ROUND_PREFER_FLOOR = 0,
  IR_NEAREST_ROUND_PREFER_CEIL,
  IR_NEAREST_FLOOR,
  IR_NEAREST_CEIL,
} ir_resize_nearest;

/* Resize, Upsample.  Resize-11+ inputs: X, roi, scales, sizes.  Upsample
 * and Resize-10 keep (X, scales) (Upsample-7's scales attribute becomes
 * input 1) and are marked |legacy|: asymmetric coordinates. */
typedef struct ir_p_resize {
  ir_resize_mode mode;
  ir_resize_coord coord;
  ir_resize_nearest nearest;
  float cubic_coeff_a;
  bool exclude_outside;
  float extrapolation_value;
  /* Upsample (any opset) and Resize-10: inputs stay (X, scales); the
   * coordinates are asymmetric and nearest takes floor(x) when upsampling,
   * ceil(x) when downsampling (the pre-opset-11 rule). */
  bool legacy;
} ir_p_resize;

/* QuantizeLinear, DequantizeLinear */
typedef struct ir_p_quant_axis {
  int64_t axis;
} ir_p_quant_axis;

/* com.microsoft QLinearAveragePool and QLinearGlobalAveragePool.  |pool|
 * must stay the first member: qlinear_ms.c hands the node to pool.c's
 * ref_infer_pool, which reads the params as an ir_p_pool, so the quantised
 * pool's output shape follows AveragePool's rules exactly.  The global
 * pool uses only |channels_last| (input N x spatial... x C, ONNX Runtime's
 * NHWC form, instead of N x C x spatial...). */
typedef struct ir_p_qlinear_pool {
  ir_p_pool pool;
  bool channels_last;
} ir_p_qlinear_pool;

#endif /* INGOT_IR_PARAMS_H */

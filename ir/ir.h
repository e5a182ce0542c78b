/* ir.h — Ingot's graph IR: the one in-memory form every stage works on.
 *
 * Design (DESIGN.md §3, STYLE.md rules 9, 10, 13):
 *  - An ir_graph owns everything it holds through one arena; destroying the
 *    graph frees it all.  Tensors and nodes live in flat arrays addressed by
 *    dense ids (ir_tensor_id, ir_node_id); id 0 is invalid/absent, so a pass
 *    can never hold a dangling pointer: it holds an index.
 *  - Every op is a row of ops.def: name, arity, and three functions — parse
 *    (raw attributes -> typed params, rejecting what Ingot cannot honour),
 *    infer (output dtype and shape from inputs) and eval (the reference
 *    implementation, which defines the semantics).
 *  - Values at run time (reference interpreter, calibration, tests) are
 *    ir_value: dtype, concrete shape, and a malloc'd buffer.
 *
 * Nodes are kept in topological order; the importer sorts them and passes
 * that insert nodes keep the order.
 */
#ifndef INGOT_IR_H
#define INGOT_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingot/ingot.h"

#define IR_MAX_RANK 8

typedef uint32_t ir_tensor_id; /* 0 = none */
typedef uint32_t ir_node_id;   /* 0 = none */

/*===------------------------------------------------------------------===*/
/* Element types: the numbering is ONNX's TensorProto.DataType, so the     */
/* importer maps them one to one.                                          */
/*===------------------------------------------------------------------===*/
typedef enum ir_dtype {
  IR_DT_UNDEF = 0,
  IR_F32 = 1,
  IR_U8 = 2,
  IR_I8 = 3,
  IR_U16 = 4,
  IR_I16 = 5,
  IR_I32 = 6,
  IR_I64 = 7,
  IR_STRING = 8, /* recognised so it can be rejected by name */
  IR_BOOL = 9,
  IR_F16 = 10,
  IR_F64 = 11,
  IR_U32 = 12,
  IR_U64 = 13,
  IR_BF16 = 16,
  IR_DT_COUNT = 17
} ir_dtype;

typedef struct ir_dtype_info {
  const char *name; /* "float32", "int64", ... (numpy spelling) */
  uint8_t size;     /* bytes per element; 0 = unsupported */
  bool is_float, is_signed, is_int, is_bool;
} ir_dtype_info;

extern const ir_dtype_info ir_dtype_traits[IR_DT_COUNT];
const ir_dtype_info *ir_dtype_get(ir_dtype t); /* NULL when out of range */
const char *ir_dtype_name(ir_dtype t);         /* "dtype(N)" if unknown */
bool ir_dtype_supported(ir_dtype t);

/* IEEE half and bfloat16 conversions (round to nearest even). */
float ir_f16_to_f32(uint16_t h);
uint16_t ir_f32_to_f16(float f);
float ir_bf16_to_f32(uint16_t h);
uint16_t ir_f32_to_bf16(float f);

/* Element access by dtype: the reference kernels use these to be written
 * once for every type.  Floats load exactly into double; integers (and bool)
 * load exactly into int64 (uint64 above INT64_MAX wraps: callers that care
 * use ir_load_u64). Stores convert as ONNX Cast does (float->int truncates
 * toward zero; out-of-range is unspecified in ONNX and here wraps). */
double ir_load_f64(ir_dtype t, const void *base, size_t i);
int64_t ir_load_i64(ir_dtype t, const void *base, size_t i);
uint64_t ir_load_u64(ir_dtype t, const void *base, size_t i);
void ir_store_f64(ir_dtype t, void *base, size_t i, double v);
void ir_store_i64(ir_dtype t, void *base, size_t i, int64_t v);
void ir_store_u64(ir_dtype t, void *base, size_t i, uint64_t v);

/*===------------------------------------------------------------------===*/
/* Shapes and values                                                       */
/*===------------------------------------------------------------------===*/
typedef struct ir_shape {
  int rank;                     /* 0..IR_MAX_RANK */
  int64_t dims[IR_MAX_RANK];    /* < 0: unknown (symbolic) */
} ir_shape;

bool ir_shape_is_static(const ir_shape *s);
/* Number of elements; 0 if unknown. Saturates at SIZE_MAX/16 on overflow,
 * which callers must treat as "too large" (ir_value_alloc rejects it). */
size_t ir_shape_numel(const ir_shape *s);
bool ir_shape_equal(const ir_shape *a, const ir_shape *b);
/* "1x3x224x224", "?" for unknown dims, "scalar" for rank 0. */
const char *ir_shape_str(const ir_shape *s, char *buf, size_t n);

/* A concrete tensor: what the reference interpreter passes between ops.
 * |data| is owned by whoever allocated it (ir_value_alloc: free with
 * ir_value_free).  dtype IR_DT_UNDEF marks an absent optional input. */
typedef struct ir_value {
  ir_dtype dtype;
  ir_shape shape;
  void *data;
  bool borrowed; /* data belongs to someone else: ir_value_free skips it */
} ir_value;

/* Allocates zeroed data for v->dtype/v->shape (static, sane size). */
ingot_status ir_value_alloc(ir_value *v);
void ir_value_free(ir_value *v);
size_t ir_value_nbytes(const ir_value *v);
/* Deep copy of |src| into |dst| (dst's old data is not freed). */
ingot_status ir_value_copy(ir_value *dst, const ir_value *src);

/*===------------------------------------------------------------------===*/
/* Arena                                                                   */
/*===------------------------------------------------------------------===*/
typedef struct ir_arena_block ir_arena_block;
typedef struct ir_arena {
  ir_arena_block *head;
  size_t total;
} ir_arena;

void ir_arena_init(ir_arena *a);
void ir_arena_release(ir_arena *a);
/* Zeroed, 16-byte aligned. NULL on allocation failure or overflow. */
void *ir_arena_alloc(ir_arena *a, size_t n);
void *ir_arena_calloc(ir_arena *a, size_t count, size_t size);
char *ir_arena_strdup(ir_arena *a, const char *s);
void *ir_arena_memdup(ir_arena *a, const void *p, size_t n);

/*===------------------------------------------------------------------===*/
/* Ops: the table in ops.def                                               */
/*===------------------------------------------------------------------===*/
typedef enum ir_op {
  IR_OP_INVALID = 0,
#define IR_OP(id, name, min_in, max_in, min_out, max_out, flags, parse, infer, \
              eval)                                                           \
  IR_OP_##id,
#include "ops.def"
#undef IR_OP
  IR_OP_COUNT
} ir_op;

enum ir_op_flags {
  IR_OPF_ELEMENTWISE = 1u << 0, /* output[i] depends on input[i] only */
  IR_OPF_SHAPE_ONLY = 1u << 1,  /* moves or describes data, no arithmetic */
  IR_OPF_QUANT = 1u << 2,       /* integer/quantised op */
  IR_OPF_NO_FOLD = 1u << 3,     /* never constant-fold (e.g. random) */
  IR_OPF_INTERNAL = 1u << 4,    /* Ingot's own op: never in an ONNX file */
  IR_OPF_MS_DOMAIN = 1u << 5,   /* ONNX Runtime contrib op: imported only
                                   from domain "com.microsoft" */
};

typedef struct ir_graph ir_graph;
typedef struct ir_node ir_node;

/* parse: check raw attributes, fill n->params (arena), and canonicalise
 * old-opset forms (e.g. Slice-1 attributes become constant inputs). */
typedef ingot_status (*ir_parse_fn)(ir_graph *g, ir_node_id id);
/* infer: from |in| (dtype and shape always; data only when the value is
 * known, e.g. constants) set every out[i].dtype and out[i].shape.  Returns
 * INGOT_FAILED_PRECONDITION (via ir_needs_value) when it needs input data
 * that is not available. */
typedef ingot_status (*ir_infer_fn)(const ir_node *n, const ir_value *in,
                                    int nin, ir_value *out, int nout);
/* eval: out[i] already have dtype, shape and zeroed data from infer. */
typedef ingot_status (*ir_eval_fn)(const ir_node *n, const ir_value *in,
                                   int nin, ir_value *out, int nout);

typedef struct ir_op_info {
  const char *name; /* ONNX op_type */
  int8_t min_in, max_in, min_out, max_out; /* max -1: variadic */
  uint32_t flags;
  ir_parse_fn parse;
  ir_infer_fn infer;
  ir_eval_fn eval;
} ir_op_info;

extern const ir_op_info ir_op_table[IR_OP_COUNT];
const ir_op_info *ir_op_get(ir_op op);
ir_op ir_op_lookup(const char *onnx_name); /* IR_OP_INVALID if unknown */

/*===------------------------------------------------------------------===*/
/* Attributes (raw, as imported; typed params are derived by parse)        */
/*===------------------------------------------------------------------===*/
typedef enum ir_attr_kind { /* ONNX AttributeProto.AttributeType numbers */
  IR_ATTR_UNDEF = 0,
  IR_ATTR_FLOAT = 1,
  IR_ATTR_INT = 2,
  IR_ATTR_STRING = 3,
  IR_ATTR_TENSOR = 4,
  IR_ATTR_GRAPH = 5,
  IR_ATTR_FLOATS = 6,
  IR_ATTR_INTS = 7,
  IR_ATTR_STRINGS = 8,
  IR_ATTR_TENSORS = 9,
  IR_ATTR_GRAPHS = 10,
  IR_ATTR_SPARSE_TENSOR = 11,
  IR_ATTR_SPARSE_TENSORS = 12,
  IR_ATTR_TYPE_PROTO = 13,
  IR_ATTR_TYPE_PROTOS = 14,
} ir_attr_kind;

typedef struct ir_attr {
  const char *name;
  ir_attr_kind kind;
  float f;
  int64_t i;
  const char *s; /* NUL-terminated copy; bytes beyond NUL are not kept */
  int n;         /* count for FLOATS/INTS/STRINGS */
  float *floats;
  int64_t *ints;
  const char **strings;
  ir_value *tensor; /* TENSOR: data in the graph arena (borrowed) */
} ir_attr;

/* Attribute helpers for parse functions.  Each returns an error naming the
 * node when the attribute exists with the wrong kind. */
const ir_attr *ir_attr_find(const ir_node *n, const char *name);
ingot_status ir_attr_int(const ir_node *n, const char *name, int64_t dflt,
                         int64_t *out);
ingot_status ir_attr_float(const ir_node *n, const char *name, float dflt,
                           float *out);
/* *out is borrowed from the graph; |dflt| is returned when absent. */
ingot_status ir_attr_string(const ir_node *n, const char *name,
                            const char *dflt, const char **out);
/* Copies up to |cap| ints; *count = -1 when absent; error if more than cap. */
ingot_status ir_attr_ints(const ir_node *n, const char *name, int64_t *out,
                          int cap, int *count);
ingot_status ir_attr_floats(const ir_node *n, const char *name, float *out,
                            int cap, int *count);
/* Rejects every attribute whose name is not in the NULL-terminated list. */
ingot_status ir_attr_check_known(const ir_node *n, const char *const *names);

/*===------------------------------------------------------------------===*/
/* Quantisation parameters of a tensor                                     */
/*===------------------------------------------------------------------===*/
typedef struct ir_quant {
  int axis;        /* -1: per-tensor */
  int count;       /* 1 for per-tensor, else channels along |axis| */
  float *scale;    /* [count] */
  int32_t *zero_point; /* [count] */
  ir_dtype qtype;  /* IR_U8 or IR_I8 (or IR_I32 for biases) */
} ir_quant;

/*===------------------------------------------------------------------===*/
/* Tensors, nodes, graphs                                                  */
/*===------------------------------------------------------------------===*/
typedef enum ir_tensor_role {
  IR_ROLE_ACTIVATION = 0, /* produced by a node */
  IR_ROLE_INPUT = 1,      /* graph input, fed at run time */
  IR_ROLE_CONSTANT = 2,   /* initializer, Constant output or folded */
} ir_tensor_role;

typedef struct ir_tensor {
  const char *name; /* unique within the graph; "" never */
  ir_dtype dtype;   /* IR_DT_UNDEF until inferred */
  ir_tensor_role role;
  bool is_output;   /* listed in the graph's outputs */
  bool shape_known; /* shape holds a valid rank (dims may still be < 0) */
  ir_shape shape;
  const char *dim_param[IR_MAX_RANK]; /* symbolic names, NULL if none */
  void *data;       /* constants: ir_shape_numel * dtype size bytes */
  ir_node_id producer;
  ir_quant *quant;  /* NULL unless quantised */
  uint8_t layout;   /* storage in an engine: 0 as the model, 1 NHWC (4-D) */
} ir_tensor;

struct ir_node {
  ir_op op;
  const char *name; /* the source model's node name; may be "" */
  const char *domain;
  int opset;        /* opset version of the node's domain at import */
  uint16_t n_in, n_out;
  ir_tensor_id *in;  /* 0 = absent optional input */
  ir_tensor_id *out; /* 0 = absent optional output */
  uint32_t n_attrs;
  ir_attr *attrs;
  const void *params; /* typed, from ir_op_info.parse; see params.h */
  /* Model nodes a pass folded into this one, so that engines name every
   * node a step computes: one "PASS OP NAME" line each (NAME last, it may
   * hold spaces), e.g. "fold-bn BatchNormalization bn1"; NULL if none.
   * Arena memory. */
  const char *fused;
  /* How a float product computes (docs/accuracy.md "bf16"): 0 as its
   * tensors say; IR_BF16 (set by the quantise pass for --layer-precision
   * NAME=bf16): operands rounded to bfloat16 (nearest even), exact
   * products, float32 output.  The reference interpreter and the engine's
   * kernels both honour it. */
  ir_dtype compute;
};

struct ir_graph {
  ir_arena arena;
  ir_tensor *tensors; /* [0] unused */
  uint32_t n_tensors, cap_tensors;
  ir_node *nodes; /* [0] unused */
  uint32_t n_nodes, cap_nodes;
  ir_tensor_id *inputs, *outputs;
  uint32_t n_inputs, n_outputs;
  const char *name;
  const char *source_path; /* file it was imported from, for messages */
  const char *producer;
  int64_t ir_version;
  int64_t opset; /* default-domain opset */
  /* name -> tensor id, open addressing; rebuilt on growth */
  uint32_t *name_index;
  uint32_t name_index_cap;
};

ingot_status ir_graph_create(ir_graph **out);
void ir_graph_destroy(ir_graph *g);

/* Adds a tensor named |name| (copied). Error if the name exists. */
ingot_status ir_graph_add_tensor(ir_graph *g, const char *name,
                                 ir_tensor_id *out);
/* Adds a constant: copies |v|'s data into the arena.  |name| may be NULL:
 * a unique name is made from |hint|. */
ingot_status ir_graph_add_constant(ir_graph *g, const char *name,
                                   const char *hint, const ir_value *v,
                                   ir_tensor_id *out);
ir_tensor_id ir_graph_find_tensor(const ir_graph *g, const char *name);
/* Adds a node; in/out arrays are copied.  Sets producer of outputs. */
ingot_status ir_graph_add_node(ir_graph *g, ir_op op, const char *name,
                               const ir_tensor_id *in, int n_in,
                               const ir_tensor_id *out, int n_out,
                               ir_node_id *out_id);
static inline ir_tensor *ir_tensor_get(ir_graph *g, ir_tensor_id id) {
  return &g->tensors[id];
}
/* Inserts a node before node |pos| (1 <= pos <= n_nodes; n_nodes appends)
 * and returns its id (== pos).  Nodes from |pos| on move up by one id and
 * tensors' producers follow; ids held across the call are stale. */
ingot_status ir_graph_insert_node(ir_graph *g, ir_node_id pos, ir_op op,
                                  const char *name, const ir_tensor_id *in,
                                  int n_in, const ir_tensor_id *out,
                                  int n_out, ir_node_id *out_id);
/* Removes the nodes whose |dead| flag is set, keeping order; producers of
 * their outputs become 0. */
void ir_graph_remove_dead(ir_graph *g, const bool *dead);
/* Replaces input |idx| of node |id| by a new constant holding |v|, growing
 * the input list when idx >= n_in (gaps become absent inputs). */
ingot_status ir_node_set_const_input(ir_graph *g, ir_node_id id, int idx,
                                     const ir_value *v);
/* The constant tensor's data as a borrowed ir_value. */
void ir_tensor_as_value(const ir_tensor *t, ir_value *out);

/* Errors that name the node: "node 'conv1' (Conv): <msg>". */
ingot_status ir_node_error(const ir_node *n, ingot_status_code code,
                           const char *fmt, ...) INGOT_PRINTF(3, 4);
/* The FAILED_PRECONDITION infer returns when input |idx| has no data. */
ingot_status ir_needs_value(const ir_node *n, int idx);

/*===------------------------------------------------------------------===*/
/* Whole-graph operations                                                  */
/*===------------------------------------------------------------------===*/
/* Structural checks: ids in range, every consumed tensor defined before
 * use, arity per ops.def, unique outputs, constants have data. */
ingot_status ir_verify(const ir_graph *g);

/* The importers' last step before shape inference: checks every node's
 * input/output counts against ops.def (and that required inputs are not
 * empty), then runs its op's parse function (typed params, old-opset
 * forms made canonical).  Errors name the node. */
ingot_status ir_parse_nodes(ir_graph *g);

/* Static shape inference.  Constant-valued inputs are propagated (values
 * computed on the side, the graph is not changed) so Shape->Gather->Concat
 * ->Reshape chains resolve.  Tensors whose shape depends on run-time data
 * stay unknown.  Errors (inconsistent shapes) name the node. */
ingot_status ir_infer_shapes(ir_graph *g);

/* Human-readable text dump (stable: golden tests compare it). */
void ir_dump(const ir_graph *g, void *file /* FILE* */);

/*===------------------------------------------------------------------===*/
/* Reference interpreter                                                   */
/*===------------------------------------------------------------------===*/
typedef struct ir_interp_options {
  /* Called after each node for each of its outputs (calibration). */
  void (*observe)(void *ctx, const ir_graph *g, ir_tensor_id t,
                  const ir_value *v);
  void *observe_ctx;
} ir_interp_options;

/* Runs |g| on |inputs| (one per graph input, in g->inputs order; dtypes and
 * shapes are checked against the graph).  On success |outputs| (one per
 * graph output) hold owned values: free each with ir_value_free. */
ingot_status ir_interp_run(const ir_graph *g, const ir_value *inputs,
                           ir_value *outputs, const ir_interp_options *opt);

/*===------------------------------------------------------------------===*/
/* Importers                                                               */
/*===------------------------------------------------------------------===*/
typedef struct ir_shape_override {
  const char *name; /* graph input name */
  ir_shape shape;
} ir_shape_override;

typedef struct ir_import_options {
  const ir_shape_override *shapes;
  int n_shapes;
  /* Directory for external-data files when importing from memory. */
  const char *base_dir;
} ir_import_options;

ingot_status ir_import_onnx_file(const char *path,
                                 const ir_import_options *opt,
                                 ir_graph **out);
ingot_status ir_import_onnx_memory(const void *data, size_t size,
                                   const char *display_name,
                                   const ir_import_options *opt,
                                   ir_graph **out);
/* Reads a serialized onnx TensorProto (.pb).  *name_out (optional) gets a
 * malloc'd copy of the tensor's name. */
ingot_status ir_read_tensor_pb(const char *path, ir_value *out,
                               char **name_out);

/* NumPy .npy (little-endian, C order) in and out. */
ingot_status ir_read_npy(const char *path, ir_value *out);
ingot_status ir_write_npy(const char *path, const ir_value *v);

#endif /* INGOT_IR_H */

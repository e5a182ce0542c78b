/* lower.h — lowering: one graph node -> one or more plan steps.
 *
 * The planner (codegen/plan.c) has already decided where every tensor
 * lives (arena offset or weights) and in which layout.  For each node it
 * calls the op's lowering function (lower.def), which picks a kernel
 * template, fills the template's descriptor and emits a step.  Lowering
 * runs on the build machine only; templates run in the engine.
 *
 * Contract of a lowering function:
 *   ingot_status cg_lower_X(cg_lower_ctx *ctx, ir_node_id nid);
 *  - read the node (cg_graph(ctx)->nodes[nid], its params and tensors);
 *  - get each operand's placement with cg_view_of (constants are in the
 *    weights; their values are also readable at build time through
 *    cg_graph(ctx)->tensors[id].data);
 *  - optionally add prepacked weights (cg_add_weights) or request scratch
 *    arena memory valid for this step only (cg_scratch);
 *  - emit one or more steps (cg_emit); the descriptor bytes are copied.
 *  - return UNIMPLEMENTED via ir_node_error for a case no template covers
 *    (dtype, attribute, rank...): the build then fails naming the node.
 */
#ifndef INGOT_CODEGEN_LOWER_H
#define INGOT_CODEGEN_LOWER_H

#include "ir.h"
#include "params.h"
#include "cg.h"
#include "kernels/kabi.h"
#include "generic/epilogue.h"

typedef struct cg_lower_ctx cg_lower_ctx;

/* A tensor as placed by the planner. */
typedef struct cg_view {
  ir_dtype dtype;
  int rank;
  int64_t dims[IR_MAX_RANK]; /* memory order: NHWC tensors are N,H,W,C */
  int layout;                /* INGOT_LAYOUT_AS_MODEL or INGOT_LAYOUT_NHWC */
  kbuf buf;
  /* A channel-strided slice of a folded Concat's NHWC output
   * (plan_fuse_concat.c): its pixels are |pitch| elements apart (0: dense,
   * dims[3]).  Only the producers fold-concat accepts see one. */
  int64_t pitch;
} cg_view;

typedef struct cg_step {
  const char *kernel;  /* template function name, e.g. "k_binary" */
  const void *desc;    /* descriptor bytes (copied) */
  size_t desc_size;
  int64_t tasks;       /* >= 1 */
  uint64_t ops;        /* arithmetic ops (1 MAC = 2), for profiles */
  uint64_t bytes;      /* bytes read + written */
  ir_dtype precision;  /* compute dtype */
  const char *summary; /* short human summary (copied); NULL: op name */
} cg_step;

const ir_graph *cg_graph(const cg_lower_ctx *ctx);
/* The target being built for: lowering picks templates by ctx->isa. */
const cg_target *cg_target_of(const cg_lower_ctx *ctx);
ingot_status cg_view_of(cg_lower_ctx *ctx, ir_tensor_id t, cg_view *out);
/* Fills a ktensor (kabi.h) from a view. */
void cg_ktensor(const cg_view *v, ktensor *out);
ingot_status cg_add_weights(cg_lower_ctx *ctx, const void *data,
                            size_t size, kbuf *out);
ingot_status cg_scratch(cg_lower_ctx *ctx, size_t size, kbuf *out);
ingot_status cg_emit(cg_lower_ctx *ctx, const cg_step *step);
/* The epilogue the planner gave the node being lowered (plan_fuse.c; n = 0
 * when none): a float32 step copies it into its descriptor's |epi|. */
const kepi *cg_epilogue(const cg_lower_ctx *ctx);
/* A MatMul's fused bias (a constant row of N values), or 0. */
ir_tensor_id cg_fused_bias(const cg_lower_ctx *ctx);
/* A Softmax's fused mask Add (plan_fuse_softmax.c): false when none, else
 * the scores and the mask it adds to them (the node's own input is then
 * the Add's output, which nothing stores). */
bool cg_fused_mask(const cg_lower_ctx *ctx, ir_tensor_id *scores,
                   ir_tensor_id *mask);

/* Whether fold-concat made |t| a slice its producer writes straight into
 * the output of the (QLinear)Concat reading it: that step skips it. */
bool cg_sliced(const cg_lower_ctx *ctx, ir_tensor_id t);

/* Broadcast geometry of an elementwise step (lower_elementwise.c): numpy
 * broadcasting of the |nin| <= 3 operand views |in| to the output view |y|
 * on memory-order dims, size-1 dims dropped and neighbours that every
 * operand walks linearly fused.  Out: *rank >= 1 dims and, per operand,
 * element strides (0 where it broadcasts).  Error names the node. */
ingot_status cg_broadcast_geometry(const ir_node *n, const cg_view *y,
                                   const cg_view *in, int nin, int *rank,
                                   int64_t *dims,
                                   int64_t (*str)[KMAX_RANK]);

/* Lowering functions, one per row of lower.def. */
#define CG_LOWER(op, fn) ingot_status fn(cg_lower_ctx *ctx, ir_node_id nid);
#include "lower.def"
#undef CG_LOWER

#endif /* INGOT_CODEGEN_LOWER_H */

/* plan.h — the planner: an ir_graph becomes a plan of steps.
 *
 * cg_plan_build runs the pass pipeline (fold, simplify, static shapes,
 * layout), places every activation in one arena by liveness (greedy by
 * size, 64-byte aligned), collects the constants the kernels read into one
 * weights blob, and lowers every node to steps (lower.h).  The plan is
 * what the LLVM module (cg.h) turns into code and the engine writer into a
 * file; tests also run it natively (tests/kernels/native_exec.c).
 */
#ifndef INGOT_CODEGEN_PLAN_H
#define INGOT_CODEGEN_PLAN_H

#include "cg.h"
#include "generic/epilogue.h"
#include "ir.h"
#include "passes.h"

typedef struct cg_plan {
  cg_target target;
  uint64_t arena_size;
  uint64_t activations_size; /* peak of the activation placement */
  uint64_t naive_size;       /* sum of all activations (no reuse) */
  uint8_t *weights;
  size_t weights_size;
  cg_io_tensor *tensors; /* inputs, then outputs */
  uint32_t n_inputs, n_outputs;
  cg_plan_step *steps; /* symbol, kernel, op summary, provenance, counts */
  void **descs;        /* descriptor bytes of each step */
  size_t *desc_sizes;
  uint32_t n_steps;
  ir_arena strings; /* names, summaries, descriptors */
  cg_map_tensor *map; /* TENSOR_MAP entries (tensor_map.c), plan order */
  uint32_t n_map;
} cg_plan;

/* The planner's fusions (plan_fuse.c, docs/fusion.md), per tensor and per
 * node of the graph after the passes. */
typedef struct cg_fusion {
  ir_tensor_id *canon; /* the tensor whose arena place it shares (itself) */
  int64_t *canon_off;  /* byte offset of its place in canon's (a slice) */
  bool *hidden;        /* a fused step never stores it: no TENSOR_MAP entry */
  bool *skip;          /* node computed by another node's step: no step */
  kepi *epi;           /* elementwise ops a node's step applies after it */
  ir_tensor_id *bias;  /* MatMul: a constant row added as its C operand */
  ir_tensor_id *mask_x, *mask_m; /* Softmax: reads mask_x + mask_m */
  /* fold-concat of NHWC channels (plan_fuse_concat.c): a slice whose
   * pixels are |pitch| elements apart (0: dense), and the inputs a Concat
   * or QLinearConcat step no longer copies (its producer wrote them). */
  int64_t *pitch;
  bool *sliced;
} cg_fusion;

/* Fills |f| for |g| (everything off when po->no_fuse); notes each fusion
 * in the fused lines of the node whose step computes it, and in po->log. */
ingot_status cg_fuse_plan(ir_graph *g, const pass_options *po,
                          cg_fusion *f);
void cg_fusion_release(cg_fusion *f);

/* Mutates |g| (passes).  |po| may be NULL (defaults: NHWC on). */
ingot_status cg_plan_build(ir_graph *g, const cg_target *target,
                           const pass_options *po, cg_plan **out);
void cg_plan_destroy(cg_plan *p);

/* tensor_map.c: the TENSOR_MAP entry of tensor |id| of |g| (names point
 * into |g|), and the per-tensor quantisation parameters of a u8/s8
 * activation as the QOperator nodes around it give them (false: none). */
void cg_map_entry(const ir_graph *g, ir_tensor_id id, uint64_t offset,
                  uint32_t ready_step, cg_map_tensor *out);
bool cg_tensor_quant(const ir_graph *g, ir_tensor_id t, float *scale,
                     int32_t *zp);

/* The cg_engine_desc view of a plan (pointers into |p|). */
void cg_plan_engine_desc(const cg_plan *p, const void *code,
                         size_t code_size, const char *build_info,
                         cg_engine_desc *out);

#endif /* INGOT_CODEGEN_PLAN_H */

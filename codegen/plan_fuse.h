/* plan_fuse.h — what the planner's fusion files share (plan_fuse.c drives
 * them; docs/fusion.md): the graph's use counts and single readers and
 * writers, and the note every fusion leaves in the --verbose log and in the
 * fused lines of the node whose step computes it.  Internal to codegen/.
 */
#ifndef INGOT_CODEGEN_PLAN_FUSE_H
#define INGOT_CODEGEN_PLAN_FUSE_H

#include <stdio.h>

#include "plan.h"

typedef struct cg_fuse_state {
  ir_graph *g;
  cg_fusion *f;
  const uint32_t *uses;     /* per tensor: readers, +2 for a graph output */
  const ir_node_id *reader; /* per tensor: its last reader */
  ir_node_id *writer;       /* per tensor: the node whose step writes it */
  FILE *log;                /* --verbose, or NULL */
  bool *concat_buf;         /* per tensor: a folded Concat's output */
} cg_fuse_state;

/* Appends "PASS OP NAME" (|y|'s op and name) to node |w|'s fused lines. */
ingot_status cg_fuse_note(ir_graph *g, ir_node *w, const char *pass,
                          const ir_node *y);

/* plan_fuse_softmax.c: Softmax node |nid| absorbs the Add of a mask that
 * writes its input; *hit says whether it did. */
ingot_status cg_fuse_softmax_mask(cg_fuse_state *st, ir_node_id nid,
                                  bool *hit);

/* plan_fuse_concat.c: Concat node |nid|'s inputs become slices of its
 * output and the node emits no step; *hit says whether it did.  Run after
 * every other fusion; the caller flattens canon afterwards. */
ingot_status cg_fuse_concat(cg_fuse_state *st, ir_node_id nid, bool *hit);

/* plan_fuse_transpose.c: Transpose node |nid| emits no step; a product
 * reads or writes the permuted tensor through strides (cg_tstride); *hit
 * says whether it did.  In the node loop, after the reshapes before it. */
ingot_status cg_fuse_transpose(cg_fuse_state *st, ir_node_id nid, bool *hit);

/* plan_fuse_inplace.c: elementwise steps write over an input that dies
 * there (canon); *count says how many.  After the concats, before the
 * chains are flattened. */
ingot_status cg_fuse_inplace(cg_fuse_state *st, int *count);

#endif /* INGOT_CODEGEN_PLAN_FUSE_H */

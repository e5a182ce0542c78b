/* fuse_match.h — what the fusion passes (fuse_*.c) share: who reads each
 * tensor, constant scalars, and rewriting the last node of a matched
 * pattern into the fused op.
 *
 * A pattern is matched on the graph after qdq-fold, before layout.  Its
 * inner tensors must each have exactly one reader (the next node of the
 * pattern; two for the one LayerNormalization's centred input feeds) and
 * none may be a graph output, so removing the inner nodes changes nothing
 * else.  The last node of the pattern becomes the fused op in place: it
 * keeps its output tensor (and name), so the order stays topological.
 */
#ifndef INGOT_FUSE_MATCH_H
#define INGOT_FUSE_MATCH_H

#include "passes.h"

typedef struct fuse_graph {
  ir_graph *g;
  uint32_t *uses;      /* per tensor: reads by nodes, +1 if graph output */
  ir_node_id *reader;  /* per tensor: the last node that reads it */
  bool *dead;          /* per node: removed by a rewrite */
  uint32_t n_tensors;  /* tensors when the tables were made (rewrites may
                          add constants after them) */
} fuse_graph;

ingot_status fuse_graph_init(fuse_graph *f, ir_graph *g);
/* Removes the dead nodes and frees the tables. */
void fuse_graph_finish(fuse_graph *f);

/* The node that is the only reader of |t|, and |t| is no graph output;
 * else 0. */
ir_node_id fuse_single_reader(const fuse_graph *f, ir_tensor_id t);
/* |t| is a constant float32 tensor of one element; its value in *v. */
bool fuse_const_scalar(const ir_graph *g, ir_tensor_id t, float *v);
/* Node |n| has |op|, two inputs, one is |x| and the other a constant
 * scalar within |tol| of |want| (either order when |commutes|; for a
 * non-commutative op x must be input 0). */
bool fuse_binary_with(const ir_graph *g, const ir_node *n, ir_op op,
                      ir_tensor_id x, float want, float tol, bool commutes);
/* The other input of a two-input node |n| that reads |x| (0 if none). */
ir_tensor_id fuse_other_input(const ir_node *n, ir_tensor_id x);

/* Turns node |last| into |op| with inputs |in| and the raw attributes
 * |attrs| (copied), parses it and records every node of |absorbed| (marked
 * dead) in its fused lines as "PASS OP NAME". */
ingot_status fuse_rewrite(fuse_graph *f, ir_node_id last, ir_op op,
                          const ir_tensor_id *in, int n_in,
                          const ir_attr *attrs, int n_attrs,
                          const ir_node_id *absorbed, int n_absorbed,
                          const char *pass);

#endif /* INGOT_FUSE_MATCH_H */

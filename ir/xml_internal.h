/* xml_internal.h — what the XML IR importer's two halves share:
 * xml_import.c reads the document, the .bin and the edges, builds tensors
 * and runs Ingot's own (version="ingot") layers; xml_ops.c turns OpenVINO
 * opset layers into Ingot nodes.  Not part of libingot_ir's API.
 */
#ifndef INGOT_IR_XML_INTERNAL_H
#define INGOT_IR_XML_INTERNAL_H

#include <libxml/tree.h>

#include "ir.h"

/* OpenVINO layers become nodes of this opset: the one where every input
 * form the mappings use (Reduce axes, Squeeze axes, Pad pads, Split sizes
 * as inputs; Softmax on one axis) is native. */
#define XI_OPSET 18

typedef struct xi_port {
  int64_t id;
  ir_dtype dt;               /* IR_DT_UNDEF: not given or not an Ingot dtype */
  int rank;                  /* -1: unknown (no dims and rank="?") */
  int64_t dims[IR_MAX_RANK]; /* -1: dynamic */
  const char *names; /* output ports: the raw |names| attribute, or NULL */
  xmlNode *node;
  int src_layer, src_port; /* input ports: the edge's source (-1: none) */
  ir_tensor_id t;          /* output ports: the tensor (0: unused) */
  bool used;               /* output ports: an edge reads it */
} xi_port;

typedef struct xi_layer {
  int64_t id;
  const char *name, *type, *version; /* never NULL */
  xmlNode *node, *data;
  xi_port *in, *out;
  int n_in, n_out;
  int line;
} xi_layer;

typedef struct xi {
  ir_graph *g;
  const char *display;
  const unsigned char *bin;
  size_t bin_n;
  xi_layer *layers;
  int n_layers;
  ir_arena scratch; /* strings and arrays that die with the import */
} xi;

/* "layer 12 'conv1' (Convolution): <msg>" */
ingot_status xi_error(const xi_layer *L, ingot_status_code code,
                      const char *fmt, ...) INGOT_PRINTF(3, 4);

/* <data> attributes.  |*out| untouched when absent (and not |required|). */
const char *xi_data(xi *im, const xi_layer *L, const char *name);
ingot_status xi_data_str(xi *im, const xi_layer *L, const char *name,
                         const char *dflt, const char **out);
ingot_status xi_data_int(xi *im, const xi_layer *L, const char *name,
                         bool required, int64_t dflt, int64_t *out);
ingot_status xi_data_float(xi *im, const xi_layer *L, const char *name,
                           bool required, double dflt, double *out);
ingot_status xi_data_bool(xi *im, const xi_layer *L, const char *name,
                          bool dflt, bool *out);
/* Comma-separated list ("1, 1" or "1,1"; "" is empty). count -1 when
 * absent and not required. */
ingot_status xi_data_ints(xi *im, const xi_layer *L, const char *name,
                          bool required, int64_t *out, int cap, int *count);

/* Parses a comma-separated list of integers; false when malformed. */
bool xi_parse_ints(const char *s, int64_t *out, int cap, int *count);
bool xi_parse_double(const char *s, double *out);
ir_dtype xi_element_type(const char *s); /* IR_DT_UNDEF when unknown */

/* Builders for mappings.  Nodes get opset XI_OPSET, the domain "", and
 * |name| (NULL: the layer's name with a suffix made unique). */
ingot_status xi_tmp(xi *im, const xi_layer *L, const char *what,
                    ir_tensor_id *out);
ingot_status xi_const(xi *im, const xi_layer *L, const char *what,
                      const ir_value *v, ir_tensor_id *out);
ingot_status xi_const_i64(xi *im, const xi_layer *L, const char *what,
                          const int64_t *v, int n, bool scalar,
                          ir_tensor_id *out);
/* A scalar constant of dtype |dt| (a float type) holding |v|. */
ingot_status xi_const_scalar(xi *im, const xi_layer *L, const char *what,
                             ir_dtype dt, double v, ir_tensor_id *out);
ingot_status xi_node(xi *im, const xi_layer *L, ir_op op, const char *name,
                     const ir_tensor_id *in, int nin, const ir_tensor_id *out,
                     int nout, ir_node_id *out_id);
/* Attributes on a node xi_node made (copied into the graph arena). */
ingot_status xi_attr_int(xi *im, ir_node_id nid, const char *name, int64_t v);
ingot_status xi_attr_float(xi *im, ir_node_id nid, const char *name, float v);
ingot_status xi_attr_str(xi *im, ir_node_id nid, const char *name,
                         const char *v);
ingot_status xi_attr_ints(xi *im, ir_node_id nid, const char *name,
                          const int64_t *v, int n);

/* The value of a constant tensor, or NULL when it is not a constant. */
const ir_tensor *xi_const_tensor(const xi *im, ir_tensor_id t);

/* Maps one OpenVINO layer (xml_ops.c).  |in| has L->n_in tensors (port
 * order), |out| L->n_out (0 for unused ports).  UNIMPLEMENTED when the
 * type is unknown. */
ingot_status xi_map_layer(xi *im, const xi_layer *L, const ir_tensor_id *in,
                          const ir_tensor_id *out);

#endif /* INGOT_IR_XML_INTERNAL_H */

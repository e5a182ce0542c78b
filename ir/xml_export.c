/* xml_export.c — ir_graph -> OpenVINO-IR-compatible .xml + .bin.
 *
 * The writer walks the graph once, in node order (which is topological),
 * and emits layers as it goes: Parameters first (graph inputs, in order),
 * then for each node the Const layers of constants it reads that were not
 * written yet, then the node itself, and finally one Result per graph
 * output.  Edges are collected on the side and written after the layers.
 *
 * A node becomes a standard OpenVINO layer only where the mapping is exact
 * in both directions (xml_import.c maps that layer back to the same Ingot
 * op with the same meaning); every other node becomes a layer with
 * version="ingot", type = the ONNX op name, and its raw attributes in
 * <data>, their kinds in the layer's |kinds| attribute.  Old-opset nodes
 * are written in their original form: the constant inputs that parse added
 * for attributes (Clip-6 min/max, Slice-1 starts, ...) are left out, since
 * importing runs parse again and re-adds them.
 *
 * Tensor names go in the output ports' |names| (as OpenVINO does), the
 * graph's opset, IR version and producer in <rt_info>, quantisation
 * parameters in the producing port's <rt_info>.  The text is built in
 * memory and written at the end; constants are copied byte for byte.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "xml.h"

/*===--- a growable byte buffer ---------------------------------------===*/

typedef struct sbuf {
  char *p;
  size_t n, cap;
  bool oom;
} sbuf;

static void sb_put(sbuf *b, const void *s, size_t n) {
  if (b->oom) return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) INGOT_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (k < 0) return;
  if ((size_t)k < sizeof tmp) {
    sb_put(b, tmp, (size_t)k);
    return;
  }
  char *big = malloc((size_t)k + 1);
  if (!big) {
    b->oom = true;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)k + 1, fmt, ap);
  va_end(ap);
  sb_put(b, big, (size_t)k);
  free(big);
}

/* XML attribute text.  Characters XML 1.0 cannot hold (controls other than
 * tab/newline) make |*bad| true; the caller reports it. */
static void sb_esc(sbuf *b, const char *s, bool *bad) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    switch (c) {
    case '&': sb_str(b, "&amp;"); break;
    case '<': sb_str(b, "&lt;"); break;
    case '>': sb_str(b, "&gt;"); break;
    case '"': sb_str(b, "&quot;"); break;
    case '\t': sb_str(b, "&#9;"); break;
    case '\n': sb_str(b, "&#10;"); break;
    case '\r': sb_str(b, "&#13;"); break;
    default:
      if (c < 0x20) *bad = true;
      sb_put(b, s, 1);
    }
  }
}

/*===--- shared tables (ORDER: xml_import.c reads the same spellings) ---===*/

typedef struct dt_name {
  ir_dtype dt;
  const char *et;   /* <data element_type> */
  const char *prec; /* <port precision> */
} dt_name;

static const dt_name dt_names[] = {
    {IR_F32, "f32", "FP32"},      {IR_F16, "f16", "FP16"},
    {IR_BF16, "bf16", "BF16"},    {IR_F64, "f64", "FP64"},
    {IR_I8, "i8", "I8"},          {IR_U8, "u8", "U8"},
    {IR_I16, "i16", "I16"},       {IR_U16, "u16", "U16"},
    {IR_I32, "i32", "I32"},       {IR_U32, "u32", "U32"},
    {IR_I64, "i64", "I64"},       {IR_U64, "u64", "U64"},
    {IR_BOOL, "boolean", "BOOL"},
};

static const dt_name *dt_find(ir_dtype t) {
  for (size_t i = 0; i < sizeof dt_names / sizeof dt_names[0]; i++)
    if (dt_names[i].dt == t) return &dt_names[i];
  return NULL;
}

/*===--- exporter state -----------------------------------------------===*/

typedef struct src {
  int64_t layer, port; /* layer < 0: not written yet */
} src;

typedef struct exporter {
  const ir_graph *g;
  sbuf x;     /* layers */
  sbuf edges; /* edges */
  sbuf bin;
  src *tsrc; /* per tensor: the port that produces it */
  int64_t next_layer;
  ingot_status err;
} exporter;

static ingot_status oom(void) {
  return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
}

static void fail(exporter *e, ingot_status s) {
  if (!e->err)
    e->err = s;
  else
    ingot_status_free(s);
}

static void esc(exporter *e, sbuf *b, const char *s, const char *what) {
  bool bad = false;
  sb_esc(b, s, &bad);
  if (bad)
    fail(e, ingot_make_status(INGOT_UNIMPLEMENTED,
                              "%s '%s' holds a control character that XML "
                              "cannot represent",
                              what, s));
}

static void fmt_float(char *buf, size_t n, double v) {
  if (isnan(v))
    snprintf(buf, n, "nan");
  else if (isinf(v))
    snprintf(buf, n, v < 0 ? "-inf" : "inf");
  else
    snprintf(buf, n, "%.9g", v);
}

static void sb_float(sbuf *b, double v) {
  char t[64];
  fmt_float(t, sizeof t, v);
  sb_str(b, t);
}

static void sb_ints(sbuf *b, const int64_t *v, int n) {
  for (int i = 0; i < n; i++) sb_printf(b, "%s%" PRId64, i ? "," : "", v[i]);
}

/* Percent-encodes what is not plain printable ASCII, '%' and ','. */
static void sb_pct(sbuf *b, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c < 0x20 || c >= 0x7f || c == '%' || c == ',')
      sb_printf(b, "%%%02X", c);
    else
      sb_put(b, s, 1);
  }
}

/* Tensor names in |names|: ',' and '\' are escaped with '\' (OpenVINO). */
static void sb_port_name(exporter *e, sbuf *b, const char *s) {
  sbuf t = {0};
  for (; *s; s++) {
    if (*s == ',' || *s == '\\') sb_put(&t, "\\", 1);
    sb_put(&t, s, 1);
  }
  esc(e, b, t.p ? t.p : "", "tensor name");
  if (t.oom) b->oom = true;
  free(t.p);
}

static bool xml_name_ok(const char *s) {
  if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
    return false;
  for (s++; *s; s++)
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
          (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
      return false;
  return true;
}

/* Appends |nbytes| of |data| to the .bin; returns the offset. */
static size_t bin_add(exporter *e, const void *data, size_t nbytes) {
  size_t off = e->bin.n;
  sb_put(&e->bin, data ? data : "", data ? nbytes : 0);
  if (!data && nbytes) /* zero-filled (cannot happen for valid graphs) */
    for (size_t i = 0; i < nbytes; i++) sb_put(&e->bin, "", 1);
  return off;
}

static void sb_dims_attr(sbuf *b, const ir_shape *s) {
  for (int d = 0; d < s->rank; d++) {
    if (d) sb_str(b, ",");
    if (s->dims[d] < 0)
      sb_str(b, "?");
    else
      sb_printf(b, "%" PRId64, s->dims[d]);
  }
}

/* One <port> for tensor |t| (|out|: an output port, with names). */
static void write_port(exporter *e, int64_t id, ir_tensor_id t, bool out) {
  const ir_tensor *ts = &e->g->tensors[t];
  const dt_name *dn = dt_find(ts->dtype);
  sb_printf(&e->x, "\t\t\t\t<port id=\"%" PRId64 "\" precision=\"%s\"", id,
            dn ? dn->prec : "UNSPECIFIED");
  if (out) {
    sb_str(&e->x, " names=\"");
    sb_port_name(e, &e->x, ts->name);
    sb_str(&e->x, "\"");
  }
  if (!ts->shape_known) sb_str(&e->x, " rank=\"?\"");
  bool body = (ts->shape_known && ts->shape.rank > 0) || (out && ts->quant);
  if (!body) {
    sb_str(&e->x, " />\n");
    return;
  }
  sb_str(&e->x, ">\n");
  for (int d = 0; ts->shape_known && d < ts->shape.rank; d++)
    sb_printf(&e->x, "\t\t\t\t\t<dim>%" PRId64 "</dim>\n",
              ts->shape.dims[d] < 0 ? (int64_t)-1 : ts->shape.dims[d]);
  if (out && ts->quant) {
    const ir_quant *q = ts->quant;
    const dt_name *qn = dt_find(q->qtype);
    sb_printf(
        &e->x,
        "\t\t\t\t\t<rt_info>\n\t\t\t\t\t\t<attribute name=\"ingot_quant\" "
        "version=\"0\" axis=\"%d\" qtype=\"%s\" scale=\"",
        q->axis, qn ? qn->et : "undefined");
    for (int i = 0; i < q->count; i++) {
      if (i) sb_str(&e->x, ",");
      sb_float(&e->x, q->scale[i]);
    }
    sb_str(&e->x, "\" zero_point=\"");
    for (int i = 0; i < q->count; i++)
      sb_printf(&e->x, "%s%" PRId32, i ? "," : "", q->zero_point[i]);
    sb_str(&e->x, "\" />\n\t\t\t\t\t</rt_info>\n");
  }
  sb_str(&e->x, "\t\t\t\t</port>\n");
}

static void layer_open(exporter *e, int64_t id, const char *name,
                       const char *type, const char *version) {
  sb_printf(&e->x, "\t\t<layer id=\"%" PRId64 "\" name=\"", id);
  esc(e, &e->x, name, "layer name");
  sb_printf(&e->x, "\" type=\"%s\" version=\"%s\"", type, version);
}

static void edge(exporter *e, src from, int64_t to_layer, int64_t to_port) {
  sb_printf(&e->edges,
            "\t\t<edge from-layer=\"%" PRId64 "\" from-port=\"%" PRId64
            "\" to-layer=\"%" PRId64 "\" to-port=\"%" PRId64 "\" />\n",
            from.layer, from.port, to_layer, to_port);
}

/* A Const layer holding |v|, named |name|; its output is tensor |t| (0 for
 * a value the exporter made up, e.g. a Transpose order). */
static src write_const(exporter *e, const char *name, const ir_value *v,
                       ir_tensor_id t) {
  const dt_name *dn = dt_find(v->dtype);
  src s = {e->next_layer++, 0};
  if (!dn) {
    fail(e, ingot_make_status(INGOT_UNIMPLEMENTED,
                              "constant '%s': dtype %s has no XML IR "
                              "element type",
                              name, ir_dtype_name(v->dtype)));
    return s;
  }
  size_t nb = ir_value_nbytes(v);
  size_t off = bin_add(e, v->data, nb);
  layer_open(e, s.layer, name, "Const", "opset1");
  sb_printf(&e->x, ">\n\t\t\t<data element_type=\"%s\" shape=\"", dn->et);
  sb_dims_attr(&e->x, &v->shape);
  sb_printf(&e->x, "\" offset=\"%zu\" size=\"%zu\" />\n\t\t\t<output>\n", off,
            nb);
  if (t) {
    write_port(e, 0, t, true);
  } else {
    sb_printf(&e->x, "\t\t\t\t<port id=\"0\" precision=\"%s\"", dn->prec);
    if (v->shape.rank == 0) {
      sb_str(&e->x, " />\n");
    } else {
      sb_str(&e->x, ">\n");
      for (int d = 0; d < v->shape.rank; d++)
        sb_printf(&e->x, "\t\t\t\t\t<dim>%" PRId64 "</dim>\n",
                  v->shape.dims[d]);
      sb_str(&e->x, "\t\t\t\t</port>\n");
    }
  }
  sb_str(&e->x, "\t\t\t</output>\n\t\t</layer>\n");
  return s;
}

/* The port that produces |t|, writing its Const layer on first use. */
static src source_of(exporter *e, ir_tensor_id t) {
  if (e->tsrc[t].layer >= 0) return e->tsrc[t];
  const ir_tensor *ts = &e->g->tensors[t];
  if (ts->role != IR_ROLE_CONSTANT) {
    fail(e, ingot_make_status(INGOT_INTERNAL,
                              "tensor '%s' is used before it is produced",
                              ts->name));
    return (src){0, 0};
  }
  ir_value v;
  ir_tensor_as_value(ts, &v);
  e->tsrc[t] = write_const(e, ts->name, &v, t);
  return e->tsrc[t];
}

static src const_i64(exporter *e, const char *hint, const int64_t *v, int n,
                     bool scalar) {
  char name[300];
  snprintf(name, sizeof name, "%s/ingot_const%" PRId64, hint, e->next_layer);
  ir_value val = {.dtype = IR_I64,
                  .shape = {.rank = scalar ? 0 : 1, .dims = {n}},
                  .data = (void *)v,
                  .borrowed = true};
  return write_const(e, name, &val, 0);
}

/*===--- standard OpenVINO layers -------------------------------------===*/

/* What a node becomes when a standard layer fits it. */
typedef struct std_layer {
  const char *type, *version;
  sbuf data;            /* <data> attributes, already formatted */
  src in[8];            /* input sources, in port order */
  ir_tensor_id in_t[8]; /* graph tensor behind each input (0: made up) */
  int n_in;
} std_layer;

static const struct {
  ir_op op;
  const char *type, *version;
} std_simple[] = {
    {IR_OP_RELU, "ReLU", "opset1"},
    {IR_OP_SIGMOID, "Sigmoid", "opset1"},
    {IR_OP_TANH, "Tanh", "opset1"},
    {IR_OP_EXP, "Exp", "opset1"},
    {IR_OP_LOG, "Log", "opset1"},
    {IR_OP_SQRT, "Sqrt", "opset1"},
    {IR_OP_ABS, "Abs", "opset1"},
    {IR_OP_NEG, "Negative", "opset1"},
    {IR_OP_FLOOR, "Floor", "opset1"},
    {IR_OP_CEIL, "Ceiling", "opset1"},
    {IR_OP_ERF, "Erf", "opset1"},
    {IR_OP_SIN, "Sin", "opset1"},
    {IR_OP_COS, "Cos", "opset1"},
    {IR_OP_SIGN, "Sign", "opset1"},
    {IR_OP_HARD_SWISH, "HSwish", "opset4"},
    {IR_OP_NOT, "LogicalNot", "opset1"},
    {IR_OP_ADD, "Add", "opset1"},
    {IR_OP_SUB, "Subtract", "opset1"},
    {IR_OP_MUL, "Multiply", "opset1"},
    {IR_OP_POW, "Power", "opset1"},
    {IR_OP_AND, "LogicalAnd", "opset1"},
    {IR_OP_OR, "LogicalOr", "opset1"},
    {IR_OP_XOR, "LogicalXor", "opset1"},
    {IR_OP_EQUAL, "Equal", "opset1"},
    {IR_OP_GREATER, "Greater", "opset1"},
    {IR_OP_LESS, "Less", "opset1"},
    {IR_OP_GREATER_OR_EQUAL, "GreaterEqual", "opset1"},
    {IR_OP_LESS_OR_EQUAL, "LessEqual", "opset1"},
    {IR_OP_MAX, "Maximum", "opset1"},
    {IR_OP_MIN, "Minimum", "opset1"},
    {IR_OP_WHERE, "Select", "opset1"},
    {IR_OP_MATMUL, "MatMul", "opset1"},
    {IR_OP_EXPAND, "Broadcast", "opset3"},
    {IR_OP_TILE, "Tile", "opset1"},
};

static bool is_binary_numpy(ir_op op) {
  switch (op) {
  case IR_OP_ADD:
  case IR_OP_SUB:
  case IR_OP_MUL:
  case IR_OP_POW:
  case IR_OP_AND:
  case IR_OP_OR:
  case IR_OP_XOR:
  case IR_OP_EQUAL:
  case IR_OP_GREATER:
  case IR_OP_LESS:
  case IR_OP_GREATER_OR_EQUAL:
  case IR_OP_LESS_OR_EQUAL:
  case IR_OP_MAX:
  case IR_OP_MIN:
  case IR_OP_WHERE:
  case IR_OP_DIV: return true;
  default: return false;
  }
}

static const ir_tensor *tin(const exporter *e, const ir_node *n, int k) {
  return k < n->n_in && n->in[k] ? &e->g->tensors[n->in[k]] : NULL;
}

/* The constant int64/int32 values of input |k|, or false. */
static bool const_ints(const exporter *e, const ir_node *n, int k, int64_t *v,
                       int cap, int *count) {
  const ir_tensor *t = tin(e, n, k);
  if (!t || t->role != IR_ROLE_CONSTANT || !t->data || t->shape.rank > 1 ||
      (t->dtype != IR_I64 && t->dtype != IR_I32))
    return false;
  size_t m = ir_shape_numel(&t->shape);
  if (t->shape.rank == 1 && t->shape.dims[0] == 0) m = 0;
  if (m > (size_t)cap) return false;
  for (size_t i = 0; i < m; i++) v[i] = ir_load_i64(t->dtype, t->data, i);
  *count = (int)m;
  return true;
}

static void conv_like_attrs(sbuf *d, const ir_p_conv *p, int ns,
                            bool with_dilations) {
  sb_str(d, " strides=\"");
  sb_ints(d, p->strides, ns);
  if (with_dilations) {
    sb_str(d, "\" dilations=\"");
    sb_ints(d, p->dilations, ns);
  }
  int64_t zero[IR_MAX_RANK] = {0};
  sb_str(d, "\" pads_begin=\"");
  sb_ints(d, p->has_pads ? p->pads : zero, ns);
  sb_str(d, "\" pads_end=\"");
  sb_ints(d, p->has_pads ? p->pads + ns : zero, ns);
  static const char *const ap[] = {"explicit", "valid", "same_upper",
                                   "same_lower"};
  sb_printf(d, "\" auto_pad=\"%s\"", ap[p->auto_pad]);
}

/* Fills |L| when |n| has an exact standard layer; false otherwise.  Every
 * case here has its inverse in xml_import.c. */
static bool std_map(exporter *e, const ir_node *n, std_layer *L) {
  const ir_graph *g = e->g;
  L->n_in = 0;
  for (int k = 0; k < n->n_in && k < 8; k++) L->in_t[L->n_in++] = n->in[k];
  if (n->n_in > 8) return false;
  for (int k = 0; k < n->n_in; k++)
    if (!n->in[k]) return false; /* absent optional inputs: ingot form */
  for (int k = 0; k < n->n_out; k++)
    if (!n->out[k]) return false;
  if (n->n_out != 1) return false;
  const ir_tensor *y = &g->tensors[n->out[0]];
  const ir_tensor *x = tin(e, n, 0);
  if (y->dtype == IR_DT_UNDEF || !x || x->dtype == IR_DT_UNDEF) return false;

  if (is_binary_numpy(n->op)) {
    int want = n->op == IR_OP_WHERE ? 3 : 2;
    if (n->n_in != want || n->n_attrs || n->opset < 7) return false;
    if (n->op == IR_OP_MAX || n->op == IR_OP_MIN) {
      if (n->opset < 8) return false; /* no broadcasting before opset 8 */
    }
    if (n->op == IR_OP_DIV) {
      bool is_int = ir_dtype_get(x->dtype) && ir_dtype_get(x->dtype)->is_int;
      L->type = "Divide";
      L->version = "opset1";
      sb_printf(&L->data, " auto_broadcast=\"numpy\"%s",
                is_int ? " m_pythondiv=\"false\"" : "");
      return true;
    }
    sb_str(&L->data, " auto_broadcast=\"numpy\"");
  }
  for (size_t i = 0; i < sizeof std_simple / sizeof std_simple[0]; i++) {
    if (std_simple[i].op != n->op) continue;
    if (n->n_attrs) return false;
    if (n->op == IR_OP_MATMUL) {
      if (n->n_in != 2 || x->dtype != IR_F32) return false;
      sb_str(&L->data, " transpose_a=\"false\" transpose_b=\"false\"");
    } else if (n->op == IR_OP_EXPAND) {
      sb_str(&L->data, " mode=\"bidirectional\"");
    } else if (n->op == IR_OP_TILE) {
      if (!x->shape_known || !tin(e, n, 1)->shape_known ||
          tin(e, n, 1)->shape.rank != 1 ||
          tin(e, n, 1)->shape.dims[0] != x->shape.rank)
        return false;
    }
    L->type = std_simple[i].type;
    L->version = std_simple[i].version;
    return true;
  }

  switch (n->op) {
  case IR_OP_CONV: {
    const ir_p_conv *p = n->params;
    const ir_tensor *w = tin(e, n, 1);
    if (!p || n->n_in != 2 || p->group != 1 || !w->shape_known ||
        w->shape.rank < 3 || x->dtype != IR_F32)
      return false;
    int ns = w->shape.rank - 2;
    if (p->has_kernel) /* kernel_shape must agree with the weights */
      for (int d = 0; d < ns; d++)
        if (p->kernel[d] != w->shape.dims[d + 2]) return false;
    L->type = "Convolution";
    L->version = "opset1";
    conv_like_attrs(&L->data, p, ns, true);
    return true;
  }
  case IR_OP_MAX_POOL:
  case IR_OP_AVERAGE_POOL: {
    const ir_p_pool *p = n->params;
    if (!p || p->ceil_mode || p->storage_order || !p->has_kernel) return false;
    int ns = p->n_spatial;
    if (ns <= 0 || !x->shape_known || x->shape.rank != ns + 2) return false;
    for (int d = 0; d < ns; d++)
      if (p->dilations[d] != 1) return false;
    L->type = n->op == IR_OP_MAX_POOL ? "MaxPool" : "AvgPool";
    L->version = "opset1";
    conv_like_attrs(&L->data, p, ns, false);
    sb_str(&L->data, " kernel=\"");
    sb_ints(&L->data, p->kernel, ns);
    sb_str(&L->data, "\" rounding_type=\"floor\"");
    if (n->op == IR_OP_AVERAGE_POOL)
      sb_printf(&L->data, " exclude-pad=\"%s\"",
                p->count_include_pad ? "false" : "true");
    return true;
  }
  case IR_OP_CONCAT: {
    const ir_p_axis *p = n->params;
    if (!p) return false;
    L->type = "Concat";
    L->version = "opset1";
    sb_printf(&L->data, " axis=\"%" PRId64 "\"", p->axis);
    return true;
  }
  case IR_OP_SOFTMAX:
  case IR_OP_LOG_SOFTMAX: {
    const ir_p_softmax *p = n->params;
    if (!p || p->legacy) return false;
    L->type = n->op == IR_OP_SOFTMAX ? "Softmax" : "LogSoftmax";
    L->version = n->op == IR_OP_SOFTMAX ? "opset8" : "opset5";
    sb_printf(&L->data, " axis=\"%" PRId64 "\"", p->axis);
    return true;
  }
  case IR_OP_TRANSPOSE: {
    const ir_p_transpose *p = n->params;
    if (!p) return false;
    L->type = "Transpose";
    L->version = "opset1";
    L->in[1] = const_i64(e, n->name, p->perm, p->n_perm, false);
    L->in_t[1] = 0;
    L->n_in = 2;
    return true;
  }
  case IR_OP_RESHAPE: {
    const ir_p_reshape *p = n->params;
    if (!p || n->n_in != 2) return false;
    L->type = "Reshape";
    L->version = "opset1";
    sb_printf(&L->data, " special_zero=\"%s\"",
              p->allowzero ? "false" : "true");
    return true;
  }
  case IR_OP_SQUEEZE:
  case IR_OP_UNSQUEEZE:
    if (n->n_attrs || n->opset < 13) return false;
    if (n->op == IR_OP_UNSQUEEZE && n->n_in != 2) return false;
    L->type = n->op == IR_OP_SQUEEZE ? "Squeeze" : "Unsqueeze";
    L->version = "opset1";
    return true;
  case IR_OP_GATHER: {
    const ir_p_axis *p = n->params;
    if (!p) return false;
    L->type = "Gather";
    L->version = "opset8";
    sb_str(&L->data, " batch_dims=\"0\"");
    L->in[2] = const_i64(e, n->name, &p->axis, 1, true);
    L->in_t[2] = 0;
    L->n_in = 3;
    return true;
  }
  case IR_OP_SHAPE:
    if (n->n_attrs) return false;
    L->type = "ShapeOf";
    L->version = "opset3";
    sb_str(&L->data, " output_type=\"i64\"");
    return true;
  case IR_OP_CAST: {
    const ir_p_cast *p = n->params;
    const dt_name *dn = p ? dt_find(p->to) : NULL;
    /* Cast to bfloat16 truncates in Ingot; Convert rounds. */
    if (!dn || p->to == IR_BF16 || n->n_attrs != 1) return false;
    L->type = "Convert";
    L->version = "opset1";
    sb_printf(&L->data, " destination_type=\"%s\"", dn->et);
    return true;
  }
  case IR_OP_CLIP: {
    /* Clamp holds its bounds as attributes: only constant f32 bounds. */
    if (n->opset < 11 || n->n_in != 3 || x->dtype != IR_F32) return false;
    double b[2];
    for (int k = 1; k <= 2; k++) {
      const ir_tensor *t = tin(e, n, k);
      if (t->role != IR_ROLE_CONSTANT || !t->data || t->dtype != IR_F32 ||
          ir_shape_numel(&t->shape) != 1 || t->shape.rank > 1)
        return false;
      b[k - 1] = ((const float *)t->data)[0];
      if (isnan(b[k - 1])) return false;
    }
    L->type = "Clamp";
    L->version = "opset1";
    sb_str(&L->data, " min=\"");
    sb_float(&L->data, b[0]);
    sb_str(&L->data, "\" max=\"");
    sb_float(&L->data, b[1]);
    sb_str(&L->data, "\"");
    L->n_in = 1;
    return true;
  }
  case IR_OP_BATCH_NORM: {
    const ir_p_norm *p = n->params;
    if (!p || p->training_mode || n->n_out != 1 || n->opset < 9) return false;
    L->type = "BatchNormInference";
    L->version = "opset5";
    sb_str(&L->data, " epsilon=\"");
    sb_float(&L->data, p->epsilon);
    sb_str(&L->data, "\"");
    return ir_attr_find(n, "momentum") == NULL;
  }
  case IR_OP_REDUCE_MEAN:
  case IR_OP_REDUCE_SUM:
  case IR_OP_REDUCE_MAX:
  case IR_OP_REDUCE_MIN:
  case IR_OP_REDUCE_PROD:
  case IR_OP_REDUCE_L1:
  case IR_OP_REDUCE_L2: {
    const ir_p_reduce *p = n->params;
    int64_t axes[IR_MAX_RANK];
    int k;
    if (!p || p->noop_with_empty_axes || n->n_in != 2 ||
        !const_ints(e, n, 1, axes, IR_MAX_RANK, &k) || k == 0)
      return false;
    static const struct {
      ir_op op;
      const char *type;
    } red[] = {
        {IR_OP_REDUCE_MEAN, "ReduceMean"}, {IR_OP_REDUCE_SUM, "ReduceSum"},
        {IR_OP_REDUCE_MAX, "ReduceMax"},   {IR_OP_REDUCE_MIN, "ReduceMin"},
        {IR_OP_REDUCE_PROD, "ReduceProd"}, {IR_OP_REDUCE_L1, "ReduceL1"},
        {IR_OP_REDUCE_L2, "ReduceL2"}};
    for (size_t i = 0; i < sizeof red / sizeof red[0]; i++)
      if (red[i].op == n->op) L->type = red[i].type;
    L->version = n->op == IR_OP_REDUCE_L1 || n->op == IR_OP_REDUCE_L2
                     ? "opset4"
                     : "opset1";
    sb_printf(&L->data, " keep_dims=\"%s\"", p->keepdims ? "true" : "false");
    return true;
  }
  default: return false;
  }
}

/*===--- Ingot's own layers -------------------------------------------===*/

/* The number of inputs to write: old-opset nodes lose the constant inputs
 * that parse made from their attributes (parse makes them again). */
static int export_n_in(const ir_node *n) {
  int opset = n->opset;
  switch (n->op) {
  case IR_OP_CLIP: return opset < 11 ? 1 : n->n_in;
  case IR_OP_DROPOUT: return opset < 12 ? 1 : n->n_in;
  case IR_OP_SLICE: return opset < 10 ? 1 : n->n_in;
  case IR_OP_PAD: return opset < 11 ? 1 : n->n_in;
  case IR_OP_UPSAMPLE: return opset < 9 ? 1 : n->n_in;
  case IR_OP_REDUCE_L1:
  case IR_OP_REDUCE_L2:
  case IR_OP_REDUCE_LOG_SUM_EXP:
  case IR_OP_REDUCE_MAX:
  case IR_OP_REDUCE_MEAN:
  case IR_OP_REDUCE_MIN:
  case IR_OP_REDUCE_PROD:
  case IR_OP_REDUCE_SUM:
  case IR_OP_REDUCE_SUM_SQUARE: {
    bool axes_input = (n->op == IR_OP_REDUCE_SUM && opset >= 13) || opset >= 18;
    return axes_input ? n->n_in : 1;
  }
  case IR_OP_SPLIT: return opset < 13 && ir_attr_find(n, "split") ? 1 : n->n_in;
  case IR_OP_SQUEEZE:
  case IR_OP_UNSQUEEZE:
    return opset < 13 && ir_attr_find(n, "axes") ? 1 : n->n_in;
  case IR_OP_RESHAPE: return ir_attr_find(n, "shape") ? 1 : n->n_in;
  default: return n->n_in;
  }
}

static const char *kind_word(ir_attr_kind k) {
  switch (k) {
  case IR_ATTR_FLOAT: return "float";
  case IR_ATTR_INT: return "int";
  case IR_ATTR_STRING: return "string";
  case IR_ATTR_FLOATS: return "floats";
  case IR_ATTR_INTS: return "ints";
  case IR_ATTR_STRINGS: return "strings";
  case IR_ATTR_TENSOR: return "tensor";
  default: return NULL;
  }
}

static void attr_value(exporter *e, sbuf *d, const ir_node *n,
                       const ir_attr *a) {
  switch (a->kind) {
  case IR_ATTR_FLOAT: sb_float(d, a->f); break;
  case IR_ATTR_INT: sb_printf(d, "%" PRId64, a->i); break;
  case IR_ATTR_STRING: sb_pct(d, a->s ? a->s : ""); break;
  case IR_ATTR_FLOATS:
    for (int i = 0; i < a->n; i++) {
      if (i) sb_str(d, ",");
      sb_float(d, a->floats[i]);
    }
    break;
  case IR_ATTR_INTS: sb_ints(d, a->ints, a->n); break;
  case IR_ATTR_STRINGS:
    for (int i = 0; i < a->n; i++) {
      if (i) sb_str(d, ",");
      sb_pct(d, a->strings[i] ? a->strings[i] : "");
    }
    break;
  case IR_ATTR_TENSOR: {
    const ir_value *v = a->tensor;
    const dt_name *dn = v ? dt_find(v->dtype) : NULL;
    if (!dn) {
      fail(e, ir_node_error(n, INGOT_UNIMPLEMENTED,
                            "tensor attribute '%s' has a dtype the XML IR "
                            "cannot hold",
                            a->name));
      break;
    }
    size_t nb = ir_value_nbytes(v);
    size_t off = bin_add(e, v->data, nb);
    sb_printf(d, "%s;", dn->et);
    sb_dims_attr(d, &v->shape);
    sb_printf(d, ";%zu;%zu", off, nb);
    break;
  }
  default: break;
  }
}

/*===--- the walk -----------------------------------------------------===*/

static void write_node(exporter *e, const ir_node *n) {
  const ir_op_info *info = ir_op_get(n->op);
  std_layer L;
  memset(&L, 0, sizeof L);
  int64_t lid;
  bool is_std = std_map(e, n, &L);
  if (is_std) {
    for (int k = 0; k < L.n_in; k++)
      if (L.in_t[k]) L.in[k] = source_of(e, L.in_t[k]);
    lid = e->next_layer++;
    layer_open(e, lid, n->name, L.type, L.version);
    sb_str(&e->x, ">\n");
    if (L.data.n) sb_printf(&e->x, "\t\t\t<data%s />\n", L.data.p);
    if (L.data.oom) e->x.oom = true;
    sb_str(&e->x, "\t\t\t<input>\n");
    for (int k = 0; k < L.n_in; k++) {
      if (L.in_t[k]) {
        write_port(e, k, L.in_t[k], false);
      } else { /* a made-up i64 constant: its own port shape */
        sb_printf(&e->x, "\t\t\t\t<port id=\"%d\" precision=\"I64\" />\n", k);
      }
      edge(e, L.in[k], lid, k);
    }
    sb_str(&e->x, "\t\t\t</input>\n\t\t\t<output>\n");
    write_port(e, L.n_in, n->out[0], true);
    e->tsrc[n->out[0]] = (src){lid, L.n_in};
    sb_str(&e->x, "\t\t\t</output>\n\t\t</layer>\n");
    free(L.data.p);
    return;
  }
  free(L.data.p);

  int n_in = export_n_in(n);
  src ins[256];
  src *in = n_in <= 256 ? ins : malloc((size_t)n_in * sizeof *in);
  if (!in) {
    fail(e, oom());
    return;
  }
  for (int k = 0; k < n_in; k++)
    if (n->in[k]) in[k] = source_of(e, n->in[k]);
  /* Attributes: <data> values, kinds on the layer. */
  sbuf kinds = {0}, data = {0};
  for (uint32_t i = 0; i < n->n_attrs; i++) {
    const ir_attr *a = &n->attrs[i];
    const char *kw = kind_word(a->kind);
    if (!kw) {
      fail(e, ir_node_error(n, INGOT_UNIMPLEMENTED,
                            "attribute '%s' has a kind the XML IR cannot "
                            "hold",
                            a->name));
      break;
    }
    if (!xml_name_ok(a->name) || !strcmp(a->name, "kinds")) {
      fail(e, ir_node_error(n, INGOT_UNIMPLEMENTED,
                            "attribute name '%s' is not a valid XML name",
                            a->name));
      break;
    }
    sb_printf(&kinds, "%s%s:%s", i ? "," : "", a->name, kw);
    sb_printf(&data, " %s=\"", a->name);
    sbuf v = {0};
    attr_value(e, &v, n, a);
    esc(e, &data, v.p ? v.p : "", "attribute value");
    if (v.oom) data.oom = true;
    free(v.p);
    sb_str(&data, "\"");
  }
  lid = e->next_layer++;
  layer_open(e, lid, n->name, info->name, "ingot");
  sb_printf(&e->x, " inputs=\"%d\" outputs=\"%d\"", n_in, (int)n->n_out);
  if (n->opset != e->g->opset) sb_printf(&e->x, " opset=\"%d\"", n->opset);
  if (n->domain && *n->domain)
    sb_printf(&e->x, " domain=\"%s\"", n->domain);
  if (kinds.n) sb_printf(&e->x, " kinds=\"%s\"", kinds.p);
  sb_str(&e->x, ">\n");
  if (data.n) sb_printf(&e->x, "\t\t\t<data%s />\n", data.p);
  if (kinds.oom || data.oom) e->x.oom = true;
  free(kinds.p);
  free(data.p);
  if (n_in) {
    sb_str(&e->x, "\t\t\t<input>\n");
    for (int k = 0; k < n_in; k++) {
      if (!n->in[k]) continue;
      write_port(e, k, n->in[k], false);
      edge(e, in[k], lid, k);
    }
    sb_str(&e->x, "\t\t\t</input>\n");
  }
  if (in != ins) free(in);
  sb_str(&e->x, "\t\t\t<output>\n");
  for (int k = 0; k < n->n_out; k++) {
    if (!n->out[k]) continue;
    write_port(e, n_in + k, n->out[k], true);
    e->tsrc[n->out[k]] = (src){lid, n_in + k};
  }
  sb_str(&e->x, "\t\t\t</output>\n\t\t</layer>\n");
}

static void write_parameter(exporter *e, ir_tensor_id t) {
  const ir_tensor *ts = &e->g->tensors[t];
  const dt_name *dn = dt_find(ts->dtype);
  if (!dn) {
    fail(e, ingot_make_status(INGOT_UNIMPLEMENTED,
                              "graph input '%s': dtype %s has no XML IR "
                              "element type",
                              ts->name, ir_dtype_name(ts->dtype)));
    return;
  }
  int64_t lid = e->next_layer++;
  layer_open(e, lid, ts->name, "Parameter", "opset1");
  sb_str(&e->x, ">\n\t\t\t<data shape=\"");
  if (!ts->shape_known)
    sb_str(&e->x, "...");
  else
    sb_dims_attr(&e->x, &ts->shape);
  sb_printf(&e->x, "\" element_type=\"%s\"", dn->et);
  bool any = false;
  for (int d = 0; ts->shape_known && d < ts->shape.rank; d++)
    any |= ts->dim_param[d] != NULL;
  if (any) {
    sb_str(&e->x, " dim_names=\"");
    for (int d = 0; d < ts->shape.rank; d++) {
      if (d) sb_str(&e->x, ",");
      if (ts->dim_param[d]) {
        sbuf v = {0};
        sb_pct(&v, ts->dim_param[d]);
        esc(e, &e->x, v.p ? v.p : "", "dimension name");
        free(v.p);
      }
    }
    sb_str(&e->x, "\"");
  }
  sb_str(&e->x, " />\n\t\t\t<output>\n");
  write_port(e, 0, t, true);
  sb_str(&e->x, "\t\t\t</output>\n\t\t</layer>\n");
  e->tsrc[t] = (src){lid, 0};
}

static void write_result(exporter *e, ir_tensor_id t) {
  const ir_tensor *ts = &e->g->tensors[t];
  src s = source_of(e, t);
  int64_t lid = e->next_layer++;
  char name[1024];
  snprintf(name, sizeof name, "%s/sink_port_0", ts->name);
  layer_open(e, lid, name, "Result", "opset1");
  sb_str(&e->x, ">\n\t\t\t<input>\n");
  write_port(e, 0, t, false);
  sb_str(&e->x, "\t\t\t</input>\n\t\t</layer>\n");
  edge(e, s, lid, 0);
}

static ingot_status write_file(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return ingot_make_status(INGOT_NOT_FOUND, "%s: cannot create: %s", path,
                             strerror(errno));
  bool ok = fwrite(p ? p : "", 1, n, f) == n;
  ok &= fclose(f) == 0;
  if (!ok)
    return ingot_make_status(INGOT_DATA_LOSS, "%s: write error: %s", path,
                             strerror(errno));
  return NULL;
}

char *ir_xml_bin_path(const char *xml_path) {
  size_t n = strlen(xml_path);
  char *p = malloc(n + 5);
  if (!p) return NULL;
  memcpy(p, xml_path, n + 1);
  if (n >= 4 && strcmp(p + n - 4, ".xml") == 0)
    strcpy(p + n - 4, ".bin");
  else
    strcat(p, ".bin");
  return p;
}

ingot_status ir_export_xml(const ir_graph *g, const char *xml_path) {
  INGOT_RETURN_IF_ERROR(ir_verify(g));
  exporter e;
  memset(&e, 0, sizeof e);
  e.g = g;
  e.tsrc = malloc(g->n_tensors * sizeof *e.tsrc);
  if (!e.tsrc) return oom();
  for (uint32_t t = 0; t < g->n_tensors; t++) e.tsrc[t].layer = -1;

  sbuf head = {0};
  sb_str(&head, "<?xml version=\"1.0\"?>\n<net name=\"");
  esc(&e, &head, g->name ? g->name : "", "graph name");
  sb_str(&head, "\" version=\"11\">\n\t<layers>\n");
  for (uint32_t i = 0; i < g->n_inputs; i++) write_parameter(&e, g->inputs[i]);
  for (ir_node_id nid = 1; nid < g->n_nodes && !e.err; nid++)
    write_node(&e, &g->nodes[nid]);
  for (uint32_t i = 0; i < g->n_outputs && !e.err; i++)
    write_result(&e, g->outputs[i]);
  sb_str(&e.x, "\t</layers>\n\t<edges>\n");
  sb_put(&e.x, e.edges.p ? e.edges.p : "", e.edges.n);
  sb_printf(&e.x,
            "\t</edges>\n\t<rt_info>\n\t\t<ingot_opset value=\"%" PRId64
            "\" />\n\t\t<ingot_ir_version value=\"%" PRId64
            "\" />\n\t\t<ingot_producer value=\"",
            g->opset, g->ir_version);
  esc(&e, &e.x, g->producer ? g->producer : "", "producer name");
  sb_str(&e.x, "\" />\n\t</rt_info>\n</net>\n");

  ingot_status s = e.err;
  if (!s && (head.oom || e.x.oom || e.edges.oom || e.bin.oom)) s = oom();
  if (!s) {
    char *bin_path = ir_xml_bin_path(xml_path);
    if (!bin_path) s = oom();
    sbuf all = {0};
    if (!s) {
      sb_put(&all, head.p, head.n);
      sb_put(&all, e.x.p, e.x.n);
      if (all.oom) s = oom();
    }
    if (!s) s = write_file(xml_path, all.p, all.n);
    if (!s) s = write_file(bin_path, e.bin.p, e.bin.n);
    free(all.p);
    free(bin_path);
  }
  free(head.p);
  free(e.x.p);
  free(e.edges.p);
  free(e.bin.p);
  free(e.tsrc);
  return s;
}

/* xml_import.c — OpenVINO-IR-compatible .xml + .bin -> ir_graph.
 *
 * The importer works in the same steps as the ONNX one:
 *   1. libxml2 parses the text (no network, no external entities, no DTD
 *      at all, a size cap) and the <layer>s, their ports and the <edges>
 *      are read into plain structs, each checked as it is read: unique ids,
 *      every edge joining an existing output port to an existing input
 *      port, every input port fed exactly once;
 *   2. Parameter layers become graph inputs, Const layers constants (their
 *      bytes bounds-checked against the .bin), and every used output port
 *      of any other layer a tensor named by its |names| attribute;
 *   3. the layers are visited in topological order (cycles are reported)
 *      and each becomes one or more nodes: version="ingot" layers here, one
 *      node with the raw attributes Ingot's exporter wrote; OpenVINO opset
 *      layers in xml_ops.c;
 *   4. as for ONNX, each node's parse function runs, then shape inference,
 *      and finally every port's declared precision and dims are checked
 *      against what Ingot inferred, so a mapping mistake or a corrupt file
 *      is reported at the layer rather than as wrong numbers later.
 * Every error names the file, the layer (id, name, type) and the reason.
 */
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xml.h"
#include "xml_internal.h"

static ingot_status oom(void) {
  return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
}

ingot_status xi_error(const xi_layer *L, ingot_status_code code,
                      const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ingot_make_status(code, "layer %lld '%s' (%s, line %d): %s",
                           (long long)L->id, L->name, L->type, L->line, msg);
}

/*===--- small parsers ------------------------------------------------===*/

static const char *skip_ws(const char *s) {
  while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
  return s;
}

static bool parse_i64(const char *s, int64_t *out) {
  s = skip_ws(s);
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (end == s || errno) return false;
  if (*skip_ws(end)) return false;
  *out = v;
  return true;
}

bool xi_parse_double(const char *s, double *out) {
  s = skip_ws(s);
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || (errno && !isinf(v) && v != 0)) return false;
  if (*skip_ws(end)) return false;
  *out = v;
  return true;
}

bool xi_parse_ints(const char *s, int64_t *out, int cap, int *count) {
  *count = 0;
  if (!*skip_ws(s)) return true;
  for (;;) {
    s = skip_ws(s);
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno || *count >= cap) return false;
    out[(*count)++] = v;
    s = skip_ws(end);
    if (!*s) return true;
    if (*s != ',') return false;
    s++;
  }
}

/* Element types and port precisions, both spellings. */
static const struct {
  const char *a, *b;
  ir_dtype dt;
} et_names[] = {
    {"f32", "FP32", IR_F32},      {"f16", "FP16", IR_F16},
    {"bf16", "BF16", IR_BF16},    {"f64", "FP64", IR_F64},
    {"i8", "I8", IR_I8},          {"u8", "U8", IR_U8},
    {"i16", "I16", IR_I16},       {"u16", "U16", IR_U16},
    {"i32", "I32", IR_I32},       {"u32", "U32", IR_U32},
    {"i64", "I64", IR_I64},       {"u64", "U64", IR_U64},
    {"boolean", "BOOL", IR_BOOL},
};

ir_dtype xi_element_type(const char *s) {
  if (!s) return IR_DT_UNDEF;
  for (size_t i = 0; i < sizeof et_names / sizeof et_names[0]; i++)
    if (!strcasecmp(s, et_names[i].a) || !strcasecmp(s, et_names[i].b))
      return et_names[i].dt;
  if (!strcasecmp(s, "bool")) return IR_BOOL;
  return IR_DT_UNDEF;
}

/* A copy of attribute |name| of |n| in the scratch arena (NULL: absent). */
static const char *prop(xi *im, xmlNode *n, const char *name) {
  if (!n) return NULL;
  xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
  if (!v) return NULL;
  char *c = ir_arena_strdup(&im->scratch, (const char *)v);
  xmlFree(v);
  return c ? c : "";
}

static bool is_elem(const xmlNode *n, const char *name) {
  return n && n->type == XML_ELEMENT_NODE &&
         strcmp((const char *)n->name, name) == 0;
}

static xmlNode *child(xmlNode *n, const char *name) {
  for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
    if (is_elem(c, name)) return c;
  return NULL;
}

/*===--- <data> accessors ---------------------------------------------===*/

const char *xi_data(xi *im, const xi_layer *L, const char *name) {
  return prop(im, L->data, name);
}

ingot_status xi_data_str(xi *im, const xi_layer *L, const char *name,
                         const char *dflt, const char **out) {
  const char *v = xi_data(im, L, name);
  if (!v && !dflt)
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "required attribute '%s' is missing", name);
  *out = v ? v : dflt;
  return NULL;
}

ingot_status xi_data_int(xi *im, const xi_layer *L, const char *name,
                         bool required, int64_t dflt, int64_t *out) {
  const char *v = xi_data(im, L, name);
  if (!v) {
    if (required)
      return xi_error(L, INGOT_INVALID_ARGUMENT,
                      "required attribute '%s' is missing", name);
    *out = dflt;
    return NULL;
  }
  if (!parse_i64(v, out))
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "attribute '%s' = '%s' is not an integer", name, v);
  return NULL;
}

ingot_status xi_data_float(xi *im, const xi_layer *L, const char *name,
                           bool required, double dflt, double *out) {
  const char *v = xi_data(im, L, name);
  if (!v) {
    if (required)
      return xi_error(L, INGOT_INVALID_ARGUMENT,
                      "required attribute '%s' is missing", name);
    *out = dflt;
    return NULL;
  }
  if (!xi_parse_double(v, out))
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "attribute '%s' = '%s' is not a number", name, v);
  return NULL;
}

ingot_status xi_data_bool(xi *im, const xi_layer *L, const char *name,
                          bool dflt, bool *out) {
  const char *v = xi_data(im, L, name);
  if (!v) {
    *out = dflt;
    return NULL;
  }
  if (!strcasecmp(v, "true") || !strcmp(v, "1"))
    *out = true;
  else if (!strcasecmp(v, "false") || !strcmp(v, "0"))
    *out = false;
  else
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "attribute '%s' = '%s' is not true or false", name, v);
  return NULL;
}

ingot_status xi_data_ints(xi *im, const xi_layer *L, const char *name,
                          bool required, int64_t *out, int cap, int *count) {
  const char *v = xi_data(im, L, name);
  *count = -1;
  if (!v) {
    if (required)
      return xi_error(L, INGOT_INVALID_ARGUMENT,
                      "required attribute '%s' is missing", name);
    return NULL;
  }
  if (!xi_parse_ints(v, out, cap, count))
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "attribute '%s' = '%s' is not a list of at most %d "
                    "integers",
                    name, v, cap);
  return NULL;
}

/*===--- builders for the mappings ------------------------------------===*/

static ingot_status unique_name(xi *im, const char *base, char *buf,
                                size_t cap) {
  snprintf(buf, cap, "%s", base);
  for (unsigned k = 1; ir_graph_find_tensor(im->g, buf); k++) {
    if (k > 1000000)
      return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "no unique name");
    snprintf(buf, cap, "%s#%u", base, k);
  }
  return NULL;
}

ingot_status xi_tmp(xi *im, const xi_layer *L, const char *what,
                    ir_tensor_id *out) {
  char base[600], name[700];
  snprintf(base, sizeof base, "%s/%s", L->name, what);
  INGOT_RETURN_IF_ERROR(unique_name(im, base, name, sizeof name));
  return ir_graph_add_tensor(im->g, name, out);
}

ingot_status xi_const(xi *im, const xi_layer *L, const char *what,
                      const ir_value *v, ir_tensor_id *out) {
  char base[600], name[700];
  snprintf(base, sizeof base, "%s/%s", L->name, what);
  INGOT_RETURN_IF_ERROR(unique_name(im, base, name, sizeof name));
  return ir_graph_add_constant(im->g, name, NULL, v, out);
}

ingot_status xi_const_i64(xi *im, const xi_layer *L, const char *what,
                          const int64_t *v, int n, bool scalar,
                          ir_tensor_id *out) {
  ir_value val = {.dtype = IR_I64,
                  .shape = {.rank = scalar ? 0 : 1, .dims = {n}},
                  .data = (void *)v,
                  .borrowed = true};
  return xi_const(im, L, what, &val, out);
}

ingot_status xi_const_scalar(xi *im, const xi_layer *L, const char *what,
                             ir_dtype dt, double v, ir_tensor_id *out) {
  uint64_t buf = 0;
  if (!ir_dtype_get(dt) || !ir_dtype_get(dt)->size) dt = IR_F32;
  ir_store_f64(dt, &buf, 0, v);
  ir_value val = {
      .dtype = dt, .shape = {.rank = 0}, .data = &buf, .borrowed = true};
  return xi_const(im, L, what, &val, out);
}

ingot_status xi_node(xi *im, const xi_layer *L, ir_op op, const char *name,
                     const ir_tensor_id *in, int nin, const ir_tensor_id *out,
                     int nout, ir_node_id *out_id) {
  char buf[700];
  if (!name) {
    snprintf(buf, sizeof buf, "%s/%s", L->name, ir_op_get(op)->name);
    name = buf;
  }
  ir_node_id nid;
  INGOT_RETURN_IF_ERROR(
      ir_graph_add_node(im->g, op, name, in, nin, out, nout, &nid));
  im->g->nodes[nid].opset = XI_OPSET;
  if (out_id) *out_id = nid;
  return NULL;
}

static ir_attr *new_attr(xi *im, ir_node_id nid, const char *name) {
  ir_node *n = &im->g->nodes[nid];
  ir_attr *a = ir_arena_calloc(&im->g->arena, n->n_attrs + 1, sizeof *a);
  if (!a) return NULL;
  if (n->n_attrs) memcpy(a, n->attrs, n->n_attrs * sizeof *a);
  n->attrs = a;
  a = &n->attrs[n->n_attrs++];
  a->name = ir_arena_strdup(&im->g->arena, name);
  return a->name ? a : NULL;
}

ingot_status xi_attr_int(xi *im, ir_node_id nid, const char *name, int64_t v) {
  ir_attr *a = new_attr(im, nid, name);
  if (!a) return oom();
  a->kind = IR_ATTR_INT;
  a->i = v;
  return NULL;
}

ingot_status xi_attr_float(xi *im, ir_node_id nid, const char *name, float v) {
  ir_attr *a = new_attr(im, nid, name);
  if (!a) return oom();
  a->kind = IR_ATTR_FLOAT;
  a->f = v;
  return NULL;
}

ingot_status xi_attr_str(xi *im, ir_node_id nid, const char *name,
                         const char *v) {
  ir_attr *a = new_attr(im, nid, name);
  if (!a) return oom();
  a->kind = IR_ATTR_STRING;
  a->s = ir_arena_strdup(&im->g->arena, v);
  return a->s ? NULL : oom();
}

ingot_status xi_attr_ints(xi *im, ir_node_id nid, const char *name,
                          const int64_t *v, int n) {
  ir_attr *a = new_attr(im, nid, name);
  if (!a) return oom();
  a->kind = IR_ATTR_INTS;
  a->n = n;
  a->ints = ir_arena_memdup(&im->g->arena, v, (size_t)(n ? n : 1) * sizeof *v);
  return a->ints ? NULL : oom();
}

const ir_tensor *xi_const_tensor(const xi *im, ir_tensor_id t) {
  const ir_tensor *ts = t ? &im->g->tensors[t] : NULL;
  return ts && ts->role == IR_ROLE_CONSTANT && ts->data ? ts : NULL;
}

/*===--- reading the document -----------------------------------------===*/

static ingot_status read_port(xi *im, const xi_layer *L, xmlNode *pn,
                              xi_port *p) {
  memset(p, 0, sizeof *p);
  p->node = pn;
  p->src_layer = p->src_port = -1;
  const char *id = prop(im, pn, "id");
  if (!id || !parse_i64(id, &p->id))
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "a <port> has no valid id (line %d)",
                    (int)xmlGetLineNo(pn));
  const char *prec = prop(im, pn, "precision");
  if (!prec) prec = prop(im, pn, "element_type");
  p->dt = xi_element_type(prec);
  p->names = prop(im, pn, "names");
  const char *rank = prop(im, pn, "rank");
  p->rank = rank && !strcmp(rank, "?") ? -1 : 0;
  for (xmlNode *d = pn->children; d; d = d->next) {
    if (!is_elem(d, "dim")) continue;
    if (p->rank < 0) continue;
    if (p->rank == IR_MAX_RANK)
      return xi_error(L, INGOT_UNIMPLEMENTED, "port %lld has more than %d dims",
                      (long long)p->id, IR_MAX_RANK);
    xmlChar *txt = xmlNodeGetContent(d);
    int64_t v = -1;
    bool ok = txt && (parse_i64((const char *)txt, &v) ||
                      strchr((const char *)txt, '?') ||
                      strstr((const char *)txt, ".."));
    if (txt && !parse_i64((const char *)txt, &v)) v = -1;
    xmlFree(txt);
    if (!ok || v < -1)
      return xi_error(L, INGOT_INVALID_ARGUMENT,
                      "port %lld has a bad <dim> (line %d)", (long long)p->id,
                      (int)xmlGetLineNo(d));
    p->dims[p->rank++] = v;
  }
  return NULL;
}

static ingot_status read_ports(xi *im, xi_layer *L, xmlNode *list,
                               xi_port **out, int *n) {
  int count = 0;
  for (xmlNode *c = list ? list->children : NULL; c; c = c->next)
    count += is_elem(c, "port");
  if (count > 4096)
    return xi_error(L, INGOT_RESOURCE_EXHAUSTED, "too many ports");
  *out = ir_arena_calloc(&im->scratch, (size_t)count + 1, sizeof **out);
  if (!*out) return oom();
  *n = 0;
  for (xmlNode *c = list ? list->children : NULL; c; c = c->next) {
    if (!is_elem(c, "port")) continue;
    INGOT_RETURN_IF_ERROR(read_port(im, L, c, &(*out)[*n]));
    (*n)++;
  }
  return NULL;
}

static ingot_status read_layers(xi *im, xmlNode *layers) {
  int count = 0;
  for (xmlNode *c = layers->children; c; c = c->next)
    count += is_elem(c, "layer");
  if (count > (1 << 22))
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "too many layers");
  im->layers =
      ir_arena_calloc(&im->scratch, (size_t)count + 1, sizeof *im->layers);
  if (!im->layers) return oom();
  for (xmlNode *c = layers->children; c; c = c->next) {
    if (!is_elem(c, "layer")) continue;
    xi_layer *L = &im->layers[im->n_layers++];
    L->node = c;
    L->line = (int)xmlGetLineNo(c);
    const char *id = prop(im, c, "id");
    L->name = prop(im, c, "name");
    L->type = prop(im, c, "type");
    L->version = prop(im, c, "version");
    if (!L->name) L->name = "";
    if (!L->version) L->version = "";
    if (!L->type) L->type = "";
    if (!id || !parse_i64(id, &L->id))
      return ingot_make_status(INGOT_INVALID_ARGUMENT,
                               "the <layer> at line %d has no valid id",
                               L->line);
    if (!*L->type)
      return xi_error(L, INGOT_INVALID_ARGUMENT, "the layer has no type");
    L->data = child(c, "data");
    INGOT_RETURN_IF_ERROR(
        read_ports(im, L, child(c, "input"), &L->in, &L->n_in));
    INGOT_RETURN_IF_ERROR(
        read_ports(im, L, child(c, "output"), &L->out, &L->n_out));
    for (int i = 0; i < L->n_in + L->n_out; i++)
      for (int j = 0; j < i; j++) {
        const xi_port *a = i < L->n_in ? &L->in[i] : &L->out[i - L->n_in];
        const xi_port *b = j < L->n_in ? &L->in[j] : &L->out[j - L->n_in];
        if (a->id == b->id)
          return xi_error(L, INGOT_INVALID_ARGUMENT,
                          "port id %lld is used twice", (long long)a->id);
      }
  }
  return NULL;
}

typedef struct id_index {
  int64_t id;
  int idx;
} id_index;

static int cmp_id(const void *a, const void *b) {
  int64_t x = ((const id_index *)a)->id, y = ((const id_index *)b)->id;
  return x < y ? -1 : x > y;
}

static int find_layer(const id_index *ix, int n, int64_t id) {
  id_index key = {id, 0};
  const id_index *r = bsearch(&key, ix, (size_t)n, sizeof *ix, cmp_id);
  return r ? r->idx : -1;
}

static ingot_status read_edges(xi *im, xmlNode *edges, const id_index *ix) {
  for (xmlNode *c = edges ? edges->children : NULL; c; c = c->next) {
    if (!is_elem(c, "edge")) continue;
    int line = (int)xmlGetLineNo(c);
    static const char *const keys[4] = {"from-layer", "from-port", "to-layer",
                                        "to-port"};
    int64_t v[4];
    for (int k = 0; k < 4; k++) {
      const char *s = prop(im, c, keys[k]);
      if (!s || !parse_i64(s, &v[k]))
        return ingot_make_status(INGOT_INVALID_ARGUMENT,
                                 "the <edge> at line %d has no valid %s", line,
                                 keys[k]);
    }
    int from = find_layer(ix, im->n_layers, v[0]);
    int to = find_layer(ix, im->n_layers, v[2]);
    if (from < 0 || to < 0)
      return ingot_make_status(INGOT_INVALID_ARGUMENT,
                               "the <edge> at line %d refers to layer %lld, "
                               "which does not exist",
                               line, (long long)(from < 0 ? v[0] : v[2]));
    xi_layer *F = &im->layers[from], *T = &im->layers[to];
    int fp = -1, tp = -1;
    for (int k = 0; k < F->n_out; k++)
      if (F->out[k].id == v[1]) fp = k;
    for (int k = 0; k < T->n_in; k++)
      if (T->in[k].id == v[3]) tp = k;
    if (fp < 0)
      return xi_error(F, INGOT_INVALID_ARGUMENT,
                      "the <edge> at line %d leaves output port %lld, which "
                      "the layer does not have",
                      line, (long long)v[1]);
    if (tp < 0)
      return xi_error(T, INGOT_INVALID_ARGUMENT,
                      "the <edge> at line %d enters input port %lld, which "
                      "the layer does not have",
                      line, (long long)v[3]);
    if (T->in[tp].src_layer >= 0)
      return xi_error(T, INGOT_INVALID_ARGUMENT,
                      "input port %lld has two incoming edges (line %d)",
                      (long long)v[3], line);
    T->in[tp].src_layer = from;
    T->in[tp].src_port = fp;
    F->out[fp].used = true;
  }
  for (int i = 0; i < im->n_layers; i++) {
    const xi_layer *L = &im->layers[i];
    for (int k = 0; k < L->n_in; k++)
      if (L->in[k].src_layer < 0)
        return xi_error(L, INGOT_INVALID_ARGUMENT,
                        "input port %lld is not connected by any edge",
                        (long long)L->in[k].id);
  }
  return NULL;
}

/*===--- tensors for ports --------------------------------------------===*/

/* First name of a |names| list ("a,b"; "\," is a literal comma). */
static const char *first_name(xi *im, const char *names) {
  if (!names || !*names) return NULL;
  size_t n = strlen(names);
  char *o = ir_arena_alloc(&im->scratch, n + 1);
  if (!o) return NULL;
  size_t k = 0;
  for (const char *s = names; *s; s++) {
    if (*s == '\\' && (s[1] == ',' || s[1] == '\\')) {
      o[k++] = *++s;
      continue;
    }
    if (*s == ',') break;
    o[k++] = *s;
  }
  o[k] = 0;
  return k ? o : NULL;
}

static ingot_status port_tensor(xi *im, const xi_layer *L, xi_port *p,
                                ir_tensor_id *out) {
  const char *nm = first_name(im, p->names);
  char base[700], name[800];
  if (nm)
    snprintf(base, sizeof base, "%s", nm);
  else if (L->n_out == 1 && *L->name)
    snprintf(base, sizeof base, "%s", L->name);
  else
    snprintf(base, sizeof base, "%s:%lld", L->name, (long long)p->id);
  INGOT_RETURN_IF_ERROR(unique_name(im, base, name, sizeof name));
  INGOT_RETURN_IF_ERROR(ir_graph_add_tensor(im->g, name, out));
  p->t = *out;
  return NULL;
}

/* Bytes [offset, offset+size) of the .bin, checked. */
static ingot_status bin_slice(xi *im, const xi_layer *L, int64_t offset,
                              int64_t size, const void **out) {
  if (offset < 0 || size < 0)
    return xi_error(L, INGOT_DATA_LOSS, "negative offset or size");
  if ((uint64_t)offset > im->bin_n ||
      (uint64_t)size > im->bin_n - (uint64_t)offset)
    return xi_error(L, INGOT_DATA_LOSS,
                    "needs bytes %lld..%lld of the .bin, which has only "
                    "%zu bytes",
                    (long long)offset, (long long)offset + (long long)size,
                    im->bin_n);
  *out = im->bin + offset;
  return NULL;
}

/* Reads "element_type;dims;offset;size" or the Const <data> into |v|
 * (data in the graph arena). */
static ingot_status read_blob(xi *im, const xi_layer *L, const char *et,
                              const char *shape, int64_t offset, int64_t size,
                              ir_value *v) {
  memset(v, 0, sizeof *v);
  v->dtype = xi_element_type(et);
  if (v->dtype == IR_DT_UNDEF)
    return xi_error(L, INGOT_UNIMPLEMENTED,
                    "element type '%s' is not supported", et ? et : "");
  int count;
  if (!xi_parse_ints(shape, v->shape.dims, IR_MAX_RANK, &count))
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "shape '%s' is not a list of at most %d dims", shape,
                    IR_MAX_RANK);
  v->shape.rank = count;
  for (int d = 0; d < count; d++)
    if (v->shape.dims[d] < 0)
      return xi_error(L, INGOT_INVALID_ARGUMENT,
                      "shape '%s' has a negative dim", shape);
  size_t numel = ir_shape_numel(&v->shape);
  size_t es = ir_dtype_traits[v->dtype].size;
  if (numel > ((size_t)1 << 40) / es)
    return xi_error(L, INGOT_RESOURCE_EXHAUSTED, "shape '%s' is too large",
                    shape);
  if ((uint64_t)size != numel * es)
    return xi_error(L, INGOT_DATA_LOSS,
                    "size %lld does not match shape [%s] of %s (%zu bytes)",
                    (long long)size, shape, et, numel * es);
  const void *src;
  INGOT_RETURN_IF_ERROR(bin_slice(im, L, offset, size, &src));
  v->data = ir_arena_alloc(&im->g->arena, numel * es);
  if (!v->data) return oom();
  if (numel * es) memcpy(v->data, src, numel * es);
  v->borrowed = true;
  return NULL;
}

static ingot_status make_const(xi *im, xi_layer *L) {
  if (L->n_in != 0 || L->n_out != 1)
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "a Const has no inputs and one output");
  const char *et, *shape;
  int64_t offset, size;
  INGOT_RETURN_IF_ERROR(xi_data_str(im, L, "element_type", NULL, &et));
  INGOT_RETURN_IF_ERROR(xi_data_str(im, L, "shape", NULL, &shape));
  INGOT_RETURN_IF_ERROR(xi_data_int(im, L, "offset", true, 0, &offset));
  INGOT_RETURN_IF_ERROR(xi_data_int(im, L, "size", true, 0, &size));
  ir_value v;
  INGOT_RETURN_IF_ERROR(read_blob(im, L, et, shape, offset, size, &v));
  ir_tensor_id t;
  INGOT_RETURN_IF_ERROR(port_tensor(im, L, &L->out[0], &t));
  ir_tensor *ts = &im->g->tensors[t];
  ts->role = IR_ROLE_CONSTANT;
  ts->dtype = v.dtype;
  ts->shape = v.shape;
  ts->shape_known = true;
  ts->data = v.data;
  return NULL;
}

/* Percent-decoding (the exporter's encoding of strings). */
static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static char *pct_decode(ir_arena *a, const char *s, size_t n) {
  char *o = ir_arena_alloc(a, n + 1);
  if (!o) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
        hexval(s[i + 2]) >= 0) {
      o[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      o[k++] = s[i];
    }
  }
  o[k] = 0;
  return o;
}

static ingot_status make_parameter(xi *im, xi_layer *L) {
  if (L->n_in != 0 || L->n_out != 1)
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "a Parameter has no inputs and one output");
  const char *et, *shape = xi_data(im, L, "shape");
  INGOT_RETURN_IF_ERROR(xi_data_str(im, L, "element_type", NULL, &et));
  ir_tensor_id t;
  const char *nm = first_name(im, L->out[0].names);
  char name[800];
  INGOT_RETURN_IF_ERROR(unique_name(im, nm ? nm : L->name, name, sizeof name));
  if (!*name)
    return xi_error(L, INGOT_INVALID_ARGUMENT, "the Parameter has no name");
  INGOT_RETURN_IF_ERROR(ir_graph_add_tensor(im->g, name, &t));
  L->out[0].t = t;
  ir_tensor *ts = &im->g->tensors[t];
  ts->role = IR_ROLE_INPUT;
  ts->dtype = xi_element_type(et);
  if (ts->dtype == IR_DT_UNDEF)
    return xi_error(L, INGOT_UNIMPLEMENTED,
                    "element type '%s' is not supported", et);
  if (!shape) { /* v10 files may leave it to the port */
    ts->shape_known = L->out[0].rank >= 0;
    ts->shape.rank = L->out[0].rank > 0 ? L->out[0].rank : 0;
    memcpy(ts->shape.dims, L->out[0].dims, sizeof ts->shape.dims);
  } else if (strstr(shape, "...")) {
    ts->shape_known = false;
  } else {
    ts->shape_known = true;
    const char *s = shape;
    if (*skip_ws(s)) {
      for (;;) {
        s = skip_ws(s);
        const char *end = s;
        while (*end && *end != ',') end++;
        if (ts->shape.rank == IR_MAX_RANK)
          return xi_error(L, INGOT_UNIMPLEMENTED, "shape '%s' has rank > %d",
                          shape, IR_MAX_RANK);
        char tok[64];
        snprintf(tok, sizeof tok, "%.*s", (int)(end - s), s);
        int64_t v;
        if (parse_i64(tok, &v) && v >= 0)
          ts->shape.dims[ts->shape.rank++] = v;
        else if (strchr(tok, '?') || strstr(tok, "..") ||
                 (parse_i64(tok, &v) && v == -1))
          ts->shape.dims[ts->shape.rank++] = -1;
        else
          return xi_error(L, INGOT_INVALID_ARGUMENT, "bad shape '%s'", shape);
        if (!*end) break;
        s = end + 1;
      }
    }
  }
  const char *dn = xi_data(im, L, "dim_names");
  if (dn && ts->shape_known) {
    int d = 0;
    const char *s = dn;
    while (d < ts->shape.rank) {
      const char *end = strchr(s, ',');
      size_t len = end ? (size_t)(end - s) : strlen(s);
      if (len) {
        char *v = pct_decode(&im->g->arena, s, len);
        if (!v) return oom();
        ts->dim_param[d] = v;
      }
      d++;
      if (!end) break;
      s = end + 1;
    }
  }
  return NULL;
}

/*===--- version="ingot" layers ---------------------------------------===*/

static ir_attr_kind kind_of(const char *w) {
  static const struct {
    const char *w;
    ir_attr_kind k;
  } ks[] = {{"float", IR_ATTR_FLOAT},   {"int", IR_ATTR_INT},
            {"string", IR_ATTR_STRING}, {"floats", IR_ATTR_FLOATS},
            {"ints", IR_ATTR_INTS},     {"strings", IR_ATTR_STRINGS},
            {"tensor", IR_ATTR_TENSOR}};
  for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
    if (!strcmp(w, ks[i].w)) return ks[i].k;
  return IR_ATTR_UNDEF;
}

static ingot_status parse_floats(xi *im, const xi_layer *L, const char *name,
                                 const char *v, ir_attr *a) {
  int n = 0;
  if (*skip_ws(v)) {
    n = 1;
    for (const char *s = v; *s; s++) n += *s == ',';
  }
  a->n = n;
  a->floats = ir_arena_calloc(&im->g->arena, (size_t)n + 1, sizeof(float));
  if (!a->floats) return oom();
  const char *s = v;
  for (int i = 0; i < n; i++) {
    const char *end = strchr(s, ',');
    char tok[64];
    size_t len = end ? (size_t)(end - s) : strlen(s);
    snprintf(tok, sizeof tok, "%.*s", (int)(len < 63 ? len : 63), s);
    double d;
    if (len >= 63 || !xi_parse_double(tok, &d))
      return xi_error(L, INGOT_INVALID_ARGUMENT,
                      "attribute '%s' = '%s' is not a list of floats", name, v);
    a->floats[i] = (float)d;
    s = end ? end + 1 : s + len;
  }
  return NULL;
}

static ingot_status ingot_attr(xi *im, const xi_layer *L, const char *name,
                               ir_attr_kind k, ir_attr *a) {
  ir_arena *ar = &im->g->arena;
  const char *v = xi_data(im, L, name);
  if (!v)
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "attribute '%s' is listed in kinds but missing from "
                    "<data>",
                    name);
  a->name = ir_arena_strdup(ar, name);
  if (!a->name) return oom();
  a->kind = k;
  switch (k) {
  case IR_ATTR_INT:
    if (!parse_i64(v, &a->i))
      return xi_error(L, INGOT_INVALID_ARGUMENT,
                      "attribute '%s' = '%s' is not an integer", name, v);
    return NULL;
  case IR_ATTR_FLOAT: {
    double d;
    if (!xi_parse_double(v, &d))
      return xi_error(L, INGOT_INVALID_ARGUMENT,
                      "attribute '%s' = '%s' is not a float", name, v);
    a->f = (float)d;
    return NULL;
  }
  case IR_ATTR_STRING:
    a->s = pct_decode(ar, v, strlen(v));
    return a->s ? NULL : oom();
  case IR_ATTR_INTS: {
    int n = 1;
    for (const char *s = v; *s; s++) n += *s == ',';
    a->ints = ir_arena_calloc(ar, (size_t)n + 1, sizeof(int64_t));
    if (!a->ints) return oom();
    if (!xi_parse_ints(v, a->ints, n, &a->n))
      return xi_error(L, INGOT_INVALID_ARGUMENT,
                      "attribute '%s' = '%s' is not a list of integers", name,
                      v);
    return NULL;
  }
  case IR_ATTR_FLOATS: return parse_floats(im, L, name, v, a);
  case IR_ATTR_STRINGS: {
    int n = 0;
    if (*v) {
      n = 1;
      for (const char *s = v; *s; s++) n += *s == ',';
    }
    a->n = n;
    a->strings = ir_arena_calloc(ar, (size_t)n + 1, sizeof(char *));
    if (!a->strings) return oom();
    const char *s = v;
    for (int i = 0; i < n; i++) {
      const char *end = strchr(s, ',');
      size_t len = end ? (size_t)(end - s) : strlen(s);
      a->strings[i] = pct_decode(ar, s, len);
      if (!a->strings[i]) return oom();
      s = end ? end + 1 : s + len;
    }
    return NULL;
  }
  case IR_ATTR_TENSOR: {
    /* element_type;dims;offset;size */
    char buf[512];
    snprintf(buf, sizeof buf, "%s", v);
    char *f[4];
    int nf = 0;
    char *s = buf;
    while (nf < 4) {
      f[nf++] = s;
      char *semi = strchr(s, ';');
      if (!semi) break;
      *semi = 0;
      s = semi + 1;
    }
    int64_t off, size;
    if (nf != 4 || !parse_i64(f[2], &off) || !parse_i64(f[3], &size))
      return xi_error(L, INGOT_INVALID_ARGUMENT,
                      "tensor attribute '%s' = '%s' is not "
                      "element_type;dims;offset;size",
                      name, v);
    a->tensor = ir_arena_alloc(ar, sizeof *a->tensor);
    if (!a->tensor) return oom();
    ingot_status st = read_blob(im, L, f[0], f[1], off, size, a->tensor);
    return st ? ingot_status_annotate(st, "attribute '%s': ", name) : NULL;
  }
  default: return xi_error(L, INGOT_INVALID_ARGUMENT, "bad attribute kind");
  }
}

static ingot_status map_ingot(xi *im, const xi_layer *L, const ir_tensor_id *in,
                              const ir_tensor_id *out) {
  ir_op op = ir_op_lookup(L->type);
  if (op == IR_OP_INVALID)
    return xi_error(L, INGOT_UNIMPLEMENTED,
                    "version=\"ingot\" names op '%s', which Ingot does not "
                    "know",
                    L->type);
  /* ONNX Runtime's com.microsoft ops keep their domain (ONNX files check
   * the same pairing in onnx_import.c). */
  const char *domain = prop(im, L->node, "domain");
  bool ms = (ir_op_get(op)->flags & IR_OPF_MS_DOMAIN) != 0;
  if (domain && *domain && strcmp(domain, "com.microsoft") != 0)
    return xi_error(L, INGOT_UNIMPLEMENTED, "domain '%s' is not supported",
                    domain);
  if (domain && *domain && !ms)
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "op '%s' is not in domain com.microsoft", L->type);
  int64_t nin, nout, opset;
  const char *s = prop(im, L->node, "inputs");
  if (!s || !parse_i64(s, &nin) || nin < 0 || nin > 4096)
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "needs an 'inputs' count (0 to 4096)");
  s = prop(im, L->node, "outputs");
  if (!s || !parse_i64(s, &nout) || nout < 0 || nout > 4096)
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "needs an 'outputs' count (0 to 4096)");
  s = prop(im, L->node, "opset");
  opset = im->g->opset;
  if (s && (!parse_i64(s, &opset) || opset < 1 || opset > 21))
    return xi_error(L, INGOT_INCOMPATIBLE,
                    "opset '%s' is not supported (1 to 21)", s);
  ir_tensor_id *ins = calloc((size_t)nin + 1, sizeof *ins);
  ir_tensor_id *outs = calloc((size_t)nout + 1, sizeof *outs);
  ingot_status st = NULL;
  if (!ins || !outs) st = oom();
  for (int k = 0; !st && k < L->n_in; k++) {
    if (L->in[k].id < 0 || L->in[k].id >= nin)
      st = xi_error(L, INGOT_INVALID_ARGUMENT,
                    "input port %lld is outside 0..%lld",
                    (long long)L->in[k].id, (long long)nin - 1);
    else
      ins[L->in[k].id] = in[k];
  }
  for (int k = 0; !st && k < L->n_out; k++) {
    int64_t j = L->out[k].id - nin;
    if (j < 0 || j >= nout)
      st = xi_error(
          L, INGOT_INVALID_ARGUMENT, "output port %lld is outside %lld..%lld",
          (long long)L->out[k].id, (long long)nin, (long long)(nin + nout - 1));
    else
      outs[j] = out[k];
  }
  ir_node_id nid = 0;
  if (!st)
    st = ir_graph_add_node(im->g, op, L->name, ins, (int)nin, outs, (int)nout,
                           &nid);
  free(ins);
  free(outs);
  if (st) return st;
  ir_node *n = &im->g->nodes[nid];
  n->opset = (int)opset;
  if (ms) {
    if (opset != 1)
      return xi_error(L, INGOT_INCOMPATIBLE,
                      "com.microsoft op '%s' at opset %lld (only 1 is "
                      "supported)",
                      L->type, (long long)opset);
    n->domain = "com.microsoft";
  }
  const char *kinds = prop(im, L->node, "kinds");
  if (!kinds || !*kinds) return NULL;
  int count = 1;
  for (const char *c = kinds; *c; c++) count += *c == ',';
  if (count > 4096)
    return xi_error(L, INGOT_RESOURCE_EXHAUSTED, "too many attributes");
  ir_attr *attrs =
      ir_arena_calloc(&im->g->arena, (size_t)count + 1, sizeof *attrs);
  if (!attrs) return oom();
  char *list = ir_arena_strdup(&im->scratch, kinds);
  if (!list) return oom();
  int na = 0;
  for (char *save = NULL, *item = strtok_r(list, ",", &save); item;
       item = strtok_r(NULL, ",", &save)) {
    char *colon = strchr(item, ':');
    ir_attr_kind k = colon ? kind_of(colon + 1) : IR_ATTR_UNDEF;
    if (!colon || k == IR_ATTR_UNDEF)
      return xi_error(L, INGOT_INVALID_ARGUMENT,
                      "kinds entry '%s' is not NAME:KIND", item);
    *colon = 0;
    for (int j = 0; j < na; j++)
      if (!strcmp(attrs[j].name, item))
        return xi_error(L, INGOT_INVALID_ARGUMENT,
                        "attribute '%s' is listed twice", item);
    INGOT_RETURN_IF_ERROR(ingot_attr(im, L, item, k, &attrs[na]));
    na++;
  }
  n = &im->g->nodes[nid];
  n->attrs = attrs;
  n->n_attrs = (uint32_t)na;
  return NULL;
}

/*===--- the graph ----------------------------------------------------===*/

static ingot_status apply_overrides(ir_graph *g, const ir_import_options *opt) {
  for (int i = 0; opt && i < opt->n_shapes; i++) {
    const ir_shape_override *o = &opt->shapes[i];
    ir_tensor_id id = ir_graph_find_tensor(g, o->name);
    bool is_input = false;
    for (uint32_t k = 0; k < g->n_inputs; k++) is_input |= g->inputs[k] == id;
    if (!id || !is_input)
      return ingot_make_status(INGOT_NOT_FOUND,
                               "--shapes: '%s' is not an input of the model",
                               o->name);
    ir_tensor *t = &g->tensors[id];
    if (t->shape_known && t->shape.rank != o->shape.rank)
      return ingot_make_status(INGOT_INVALID_ARGUMENT,
                               "--shapes: input '%s' has rank %d, not %d",
                               o->name, t->shape.rank, o->shape.rank);
    for (int d = 0; t->shape_known && d < t->shape.rank; d++)
      if (t->shape.dims[d] >= 0 && t->shape.dims[d] != o->shape.dims[d])
        return ingot_make_status(INGOT_INVALID_ARGUMENT,
                                 "--shapes: input '%s' dim %d is fixed at "
                                 "%lld by the model, not %lld",
                                 o->name, d, (long long)t->shape.dims[d],
                                 (long long)o->shape.dims[d]);
    t->shape = o->shape;
    t->shape_known = true;
  }
  return NULL;
}

static bool is_type(const xi_layer *L, const char *t) {
  return strcmp(L->type, t) == 0;
}

static ingot_status read_net_info(xi *im, xmlNode *net) {
  ir_graph *g = im->g;
  const char *name = prop(im, net, "name");
  g->name = ir_arena_strdup(&g->arena, name ? name : "");
  g->producer = "";
  g->opset = XI_OPSET;
  g->ir_version = 0;
  xmlNode *rt = child(net, "rt_info");
  for (xmlNode *c = rt ? rt->children : NULL; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    const char *v = prop(im, c, "value");
    if (!v) continue;
    int64_t x;
    if (is_elem(c, "ingot_opset")) {
      if (!parse_i64(v, &x) || x < 0 || x > 21)
        return ingot_make_status(
            INGOT_INCOMPATIBLE, "<rt_info> ingot_opset '%s' is not 0 to 21", v);
      g->opset = x;
    } else if (is_elem(c, "ingot_ir_version") && parse_i64(v, &x)) {
      g->ir_version = x;
    } else if (is_elem(c, "ingot_producer")) {
      g->producer = ir_arena_strdup(&g->arena, v);
    }
  }
  if (!g->name || !g->producer) return oom();
  return NULL;
}

static ingot_status check_ports(xi *im, bool check_dims) {
  const ir_graph *g = im->g;
  for (int i = 0; i < im->n_layers; i++) {
    const xi_layer *L = &im->layers[i];
    if (is_type(L, "Const") || is_type(L, "Parameter")) continue;
    for (int k = 0; k < L->n_out; k++) {
      const xi_port *p = &L->out[k];
      if (!p->t) continue;
      const ir_tensor *t = &g->tensors[p->t];
      if (p->dt != IR_DT_UNDEF && t->dtype != IR_DT_UNDEF && p->dt != t->dtype)
        return xi_error(L, INGOT_INVALID_ARGUMENT,
                        "output port %lld is declared %s but computes %s",
                        (long long)p->id, ir_dtype_name(p->dt),
                        ir_dtype_name(t->dtype));
      if (!check_dims || p->rank < 0 || !t->shape_known) continue;
      bool ok = p->rank == t->shape.rank;
      for (int d = 0; ok && d < p->rank; d++)
        ok = p->dims[d] < 0 || t->shape.dims[d] < 0 ||
             p->dims[d] == t->shape.dims[d];
      if (!ok) {
        ir_shape ps = {.rank = p->rank};
        memcpy(ps.dims, p->dims, sizeof ps.dims);
        char a[128], b[128];
        return xi_error(L, INGOT_INVALID_ARGUMENT,
                        "output port %lld is declared %s but Ingot infers "
                        "%s",
                        (long long)p->id, ir_shape_str(&ps, a, sizeof a),
                        ir_shape_str(&t->shape, b, sizeof b));
      }
    }
  }
  return NULL;
}

static ingot_status build(xi *im, xmlNode *net, const ir_import_options *opt) {
  ir_graph *g = im->g;
  INGOT_RETURN_IF_ERROR(read_net_info(im, net));
  xmlNode *layers = child(net, "layers");
  if (!layers)
    return ingot_make_status(INGOT_INVALID_ARGUMENT, "<net> has no <layers>");
  INGOT_RETURN_IF_ERROR(read_layers(im, layers));
  id_index *ix =
      ir_arena_calloc(&im->scratch, (size_t)im->n_layers + 1, sizeof *ix);
  if (!ix) return oom();
  for (int i = 0; i < im->n_layers; i++)
    ix[i] = (id_index){im->layers[i].id, i};
  qsort(ix, (size_t)im->n_layers, sizeof *ix, cmp_id);
  for (int i = 1; i < im->n_layers; i++)
    if (ix[i].id == ix[i - 1].id)
      return xi_error(&im->layers[ix[i].idx], INGOT_INVALID_ARGUMENT,
                      "layer id %lld is used twice", (long long)ix[i].id);
  INGOT_RETURN_IF_ERROR(read_edges(im, child(net, "edges"), ix));

  /* Inputs and constants first, then tensors for the other layers' ports
   * (all ports of Ingot layers; the used ones of OpenVINO layers). */
  int n_params = 0, n_results = 0;
  for (int i = 0; i < im->n_layers; i++) {
    n_params += is_type(&im->layers[i], "Parameter");
    n_results += is_type(&im->layers[i], "Result");
  }
  g->inputs =
      ir_arena_calloc(&g->arena, (size_t)n_params + 1, sizeof *g->inputs);
  g->outputs =
      ir_arena_calloc(&g->arena, (size_t)n_results + 1, sizeof *g->outputs);
  if (!g->inputs || !g->outputs) return oom();
  for (int i = 0; i < im->n_layers; i++) {
    xi_layer *L = &im->layers[i];
    if (is_type(L, "Parameter")) {
      INGOT_RETURN_IF_ERROR(make_parameter(im, L));
      g->inputs[g->n_inputs++] = L->out[0].t;
    } else if (is_type(L, "Const")) {
      INGOT_RETURN_IF_ERROR(make_const(im, L));
    }
  }
  INGOT_RETURN_IF_ERROR(apply_overrides(g, opt));
  for (int i = 0; i < im->n_layers; i++) {
    xi_layer *L = &im->layers[i];
    if (is_type(L, "Parameter") || is_type(L, "Const")) continue;
    if (is_type(L, "Result")) {
      if (L->n_in != 1 || L->n_out != 0)
        return xi_error(L, INGOT_INVALID_ARGUMENT,
                        "a Result has one input and no outputs");
      continue;
    }
    bool ingot = !strcmp(L->version, "ingot");
    for (int k = 0; k < L->n_out; k++) {
      ir_tensor_id t;
      if (ingot || L->out[k].used)
        INGOT_RETURN_IF_ERROR(port_tensor(im, L, &L->out[k], &t));
    }
  }

  /* Layers in topological order: Kahn's algorithm with the ready layers in
   * a min-heap on document index, so a file that is already sorted (as
   * every exporter writes it) keeps its order exactly. */
  int nl = im->n_layers;
  int *pending = calloc((size_t)nl + 1, sizeof *pending);
  int *first = calloc((size_t)nl + 2, sizeof *first);
  int *heap = calloc((size_t)nl + 1, sizeof *heap);
  bool *done = calloc((size_t)nl + 1, sizeof *done);
  int *cons = NULL;
  ir_tensor_id *in = calloc(4097, sizeof *in), *out = calloc(4097, sizeof *out);
  ingot_status s = NULL;
  size_t n_edges = 0;
  for (int i = 0; i < nl; i++) n_edges += (size_t)im->layers[i].n_in;
  cons = calloc(n_edges + 1, sizeof *cons);
  if (!pending || !first || !heap || !done || !cons || !in || !out) s = oom();
  /* consumers of layer i: cons[first[i] .. first[i+1]) */
  for (int i = 0; !s && i < nl; i++) {
    pending[i] = im->layers[i].n_in;
    for (int k = 0; k < im->layers[i].n_in; k++)
      first[im->layers[i].in[k].src_layer + 1]++;
  }
  for (int i = 0; !s && i < nl; i++) first[i + 1] += first[i];
  for (int i = 0; !s && i < nl; i++) {
    for (int k = 0; k < im->layers[i].n_in; k++) {
      int src = im->layers[i].in[k].src_layer;
      cons[first[src] + heap[src]++] = i; /* heap[] counts, reset below */
    }
  }
  int nh = 0, n_done = 0;
  for (int i = 0; !s && i < nl; i++) heap[i] = 0;
  for (int i = 0; !s && i < nl; i++)
    if (!pending[i]) heap[nh++] = i; /* ascending: already a heap */
  while (!s && nh) {
    int i = heap[0];
    heap[0] = heap[--nh];
    for (int j = 0;;) { /* sift down */
      int c = 2 * j + 1;
      if (c >= nh) break;
      if (c + 1 < nh && heap[c + 1] < heap[c]) c++;
      if (heap[j] <= heap[c]) break;
      int t = heap[j];
      heap[j] = heap[c];
      heap[c] = t;
      j = c;
    }
    xi_layer *L = &im->layers[i];
    for (int k = 0; k < L->n_in; k++) {
      const xi_layer *F = &im->layers[L->in[k].src_layer];
      in[k] = F->out[L->in[k].src_port].t;
    }
    for (int k = 0; k < L->n_out; k++) out[k] = L->out[k].t;
    if (is_type(L, "Parameter") || is_type(L, "Const") || is_type(L, "Result"))
      ;
    else if (!strcmp(L->version, "ingot"))
      s = map_ingot(im, L, in, out);
    else
      s = xi_map_layer(im, L, in, out);
    done[i] = true;
    n_done++;
    for (int e = first[i]; !s && e < first[i + 1]; e++) {
      int c = cons[e];
      if (--pending[c]) continue;
      int j = nh++; /* sift up */
      heap[j] = c;
      while (j > 0 && heap[(j - 1) / 2] > heap[j]) {
        int t = heap[j];
        heap[j] = heap[(j - 1) / 2];
        heap[(j - 1) / 2] = t;
        j = (j - 1) / 2;
      }
    }
  }
  if (!s && n_done < nl) {
    /* Walk back from an unfinished layer through unfinished sources until
     * a layer repeats: that one is on a cycle (not merely after one). */
    int i = 0;
    while (done[i]) i++;
    for (int k = 0; k < nl; k++) heap[k] = 0; /* reused as "seen" */
    while (!heap[i]) {
      heap[i] = 1;
      const xi_layer *L = &im->layers[i];
      for (int k = 0; k < L->n_in; k++)
        if (!done[L->in[k].src_layer]) {
          i = L->in[k].src_layer;
          break;
        }
    }
    s = xi_error(&im->layers[i], INGOT_INVALID_ARGUMENT,
                 "the layer is part of a cycle");
  }
  free(pending);
  free(first);
  free(heap);
  free(cons);
  free(done);
  free(in);
  free(out);
  if (s) return s;

  for (int i = 0; i < im->n_layers; i++) {
    const xi_layer *L = &im->layers[i];
    if (!is_type(L, "Result")) continue;
    const xi_layer *F = &im->layers[L->in[0].src_layer];
    ir_tensor_id t = F->out[L->in[0].src_port].t;
    g->tensors[t].is_output = true;
    g->outputs[g->n_outputs++] = t;
  }

  /* Arity, typed params, shapes (as the ONNX importer does). */
  INGOT_RETURN_IF_ERROR(ir_parse_nodes(g));
  INGOT_RETURN_IF_ERROR(ir_infer_shapes(g));
  INGOT_RETURN_IF_ERROR(check_ports(im, !opt || opt->n_shapes == 0));
  return ir_verify(g);
}

/* Quantisation parameters the exporter wrote on output ports. */
static ingot_status read_quant(xi *im) {
  for (int i = 0; i < im->n_layers; i++) {
    const xi_layer *L = &im->layers[i];
    for (int k = 0; k < L->n_out; k++) {
      const xi_port *p = &L->out[k];
      xmlNode *rt = child(p->node, "rt_info");
      for (xmlNode *a = rt ? rt->children : NULL; a; a = a->next) {
        if (!is_elem(a, "attribute")) continue;
        const char *nm = prop(im, a, "name");
        if (!nm || strcmp(nm, "ingot_quant") || !p->t) continue;
        const char *axis = prop(im, a, "axis"), *qt = prop(im, a, "qtype");
        const char *sc = prop(im, a, "scale"), *zp = prop(im, a, "zero_point");
        ir_quant *q = ir_arena_calloc(&im->g->arena, 1, sizeof *q);
        int64_t ax;
        if (!q) return oom();
        if (!axis || !qt || !sc || !zp || !parse_i64(axis, &ax))
          return xi_error(L, INGOT_INVALID_ARGUMENT,
                          "port %lld: ingot_quant needs axis, qtype, scale "
                          "and zero_point",
                          (long long)p->id);
        int n = 1;
        for (const char *c = sc; *c; c++) n += *c == ',';
        q->axis = (int)ax;
        q->qtype = xi_element_type(qt);
        q->scale = ir_arena_calloc(&im->g->arena, (size_t)n, sizeof(float));
        q->zero_point =
            ir_arena_calloc(&im->g->arena, (size_t)n, sizeof(int32_t));
        int64_t *zv = ir_arena_calloc(&im->scratch, (size_t)n, sizeof *zv);
        if (!q->scale || !q->zero_point || !zv) return oom();
        ir_attr tmp = {0};
        int nz;
        ingot_status s = parse_floats(im, L, "scale", sc, &tmp);
        if (s) return s;
        if (tmp.n != n || !xi_parse_ints(zp, zv, n, &nz) || nz != n)
          return xi_error(L, INGOT_INVALID_ARGUMENT,
                          "port %lld: ingot_quant scale and zero_point "
                          "differ in length",
                          (long long)p->id);
        for (int j = 0; j < n; j++) {
          q->scale[j] = tmp.floats[j];
          q->zero_point[j] = (int32_t)zv[j];
        }
        q->count = n;
        im->g->tensors[p->t].quant = q;
      }
    }
  }
  return NULL;
}

static ingot_status import(const char *xml, size_t n, const void *bin,
                           size_t bin_n, const char *display,
                           const ir_import_options *opt, ir_graph **out) {
  *out = NULL;
  if (n == 0)
    return ingot_make_status(INGOT_DATA_LOSS, "%s: the file is empty", display);
  if (n > IR_XML_MAX_XML_BYTES || n > (size_t)INT32_MAX)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                             "%s: the XML is larger than %zu bytes", display,
                             IR_XML_MAX_XML_BYTES);
  xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
  if (!ctxt) return oom();
  /* No network, no entity substitution, no DTD loading; errors come back
   * through the context rather than on stderr. */
  int flags = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
              XML_PARSE_NOCDATA;
  xmlDocPtr doc = xmlCtxtReadMemory(ctxt, xml, (int)n, display, NULL, flags);
  if (!doc) {
    const xmlError *e = xmlCtxtGetLastError(ctxt);
    char msg[512];
    snprintf(msg, sizeof msg, "%s",
             e && e->message ? e->message : "parse error");
    msg[strcspn(msg, "\n")] = 0;
    ingot_status s =
        ingot_make_status(INGOT_DATA_LOSS, "%s:%d: malformed XML: %s", display,
                          e ? e->line : 0, msg);
    xmlFreeParserCtxt(ctxt);
    return s;
  }
  xmlFreeParserCtxt(ctxt);
  ingot_status s = NULL;
  xmlNode *net = xmlDocGetRootElement(doc);
  if (doc->intSubset || doc->extSubset)
    s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                          "a DOCTYPE is not allowed in an XML IR file");
  else if (!is_elem(net, "net"))
    s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                          "the root element is not <net>");
  xi im;
  memset(&im, 0, sizeof im);
  ir_arena_init(&im.scratch);
  im.display = display;
  im.bin = bin;
  im.bin_n = bin ? bin_n : 0;
  if (!s) {
    const char *ver = prop(&im, net, "version");
    int64_t v;
    if (!ver || !parse_i64(ver, &v) || (v != 10 && v != 11))
      s = ingot_make_status(INGOT_INCOMPATIBLE,
                            "<net version=\"%s\"> is not supported (IR "
                            "versions 10 and 11 are)",
                            ver ? ver : "");
  }
  if (!s) s = ir_graph_create(&im.g);
  if (!s) {
    im.g->source_path = ir_arena_strdup(&im.g->arena, display);
    s = build(&im, net, opt);
    if (!s) s = read_quant(&im);
  }
  ir_arena_release(&im.scratch);
  xmlFreeDoc(doc);
  if (s) {
    ir_graph_destroy(im.g);
    return ingot_status_annotate(s, "%s: ", display);
  }
  *out = im.g;
  return NULL;
}

ingot_status ir_import_xml_memory(const char *xml, size_t n, const void *bin,
                                  size_t bin_n, const char *display,
                                  const ir_import_options *opt,
                                  ir_graph **out) {
  return import(xml, n, bin, bin_n, display ? display : "<memory>", opt, out);
}

static ingot_status read_file(const char *path, size_t max, bool optional,
                              unsigned char **out, size_t *size) {
  *out = NULL;
  *size = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (optional && errno == ENOENT) return NULL;
    return ingot_make_status(INGOT_NOT_FOUND, "%s: cannot open: %s", path,
                             strerror(errno));
  }
  ingot_status s = NULL;
  long len = -1;
  if (fseek(f, 0, SEEK_END) == 0) len = ftell(f);
  if (len < 0 || fseek(f, 0, SEEK_SET) != 0)
    s = ingot_make_status(INGOT_DATA_LOSS, "%s: cannot read", path);
  else if ((unsigned long)len > max)
    s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "%s: larger than %zu bytes",
                          path, max);
  unsigned char *buf = NULL;
  if (!s) {
    buf = malloc((size_t)len + 1);
    if (!buf)
      s = oom();
    else if (fread(buf, 1, (size_t)len, f) != (size_t)len)
      s = ingot_make_status(INGOT_DATA_LOSS, "%s: read error", path);
  }
  fclose(f);
  if (s) {
    free(buf);
    return s;
  }
  *out = buf;
  *size = (size_t)len;
  return NULL;
}

ingot_status ir_import_xml_file(const char *xml_path,
                                const ir_import_options *opt, ir_graph **out) {
  *out = NULL;
  unsigned char *xml, *bin = NULL;
  size_t n, bin_n = 0;
  INGOT_RETURN_IF_ERROR(
      read_file(xml_path, IR_XML_MAX_XML_BYTES, false, &xml, &n));
  char *bin_path = ir_xml_bin_path(xml_path);
  ingot_status s = bin_path ? NULL : oom();
  if (!s) s = read_file(bin_path, IR_XML_MAX_BIN_BYTES, true, &bin, &bin_n);
  if (!s) s = import((const char *)xml, n, bin, bin_n, xml_path, opt, out);
  free(bin_path);
  free(xml);
  free(bin);
  return s;
}

/* onnx_import.c — ONNX ModelProto -> ir_graph.
 *
 * The protobuf is decoded by protoc-c code generated at build time from the
 * system's onnx.proto.  The importer then works in three steps:
 *   1. graph inputs and initializers become tensors (an input that is also
 *      an initializer is a constant, as ONNX specifies);
 *   2. every node's outputs become tensors, node inputs are resolved by
 *      name, and the nodes are added in topological order (ONNX requires
 *      sorted nodes; we sort anyway and report cycles and undefined inputs);
 *   3. each node's parse function turns raw attributes into typed params,
 *      then static shape inference runs.
 * Everything read from the file is untrusted: sizes are checked against
 * the data actually present, and every error names the file, node or
 * tensor and the reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "ir.h"
#include "onnx.pb-c.h"

/* Largest model file we read into memory (protobuf's own limit is 2 GiB). */
#define MAX_MODEL_BYTES ((size_t)2 << 30)

typedef struct importer {
  ir_graph *g;
  const char *path;     /* for messages */
  const char *base_dir; /* for external data; NULL = none allowed */
} importer;

static ingot_status oom(void) {
  return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
}

static ingot_status read_whole_file(const char *path, size_t max,
                                    unsigned char **out, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return ingot_make_status(INGOT_NOT_FOUND, "%s: cannot open: %s", path,
                             strerror(errno));
  unsigned char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      size_t ncap = cap ? cap * 2 : 1 << 16;
      if (ncap > max + 1) ncap = max + 1;
      if (ncap <= cap) {
        free(buf);
        fclose(f);
        return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                                 "%s: file is larger than %zu bytes", path,
                                 max);
      }
      unsigned char *nb = realloc(buf, ncap);
      if (!nb) {
        free(buf);
        fclose(f);
        return oom();
      }
      buf = nb;
      cap = ncap;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    free(buf);
    return ingot_make_status(INGOT_DATA_LOSS, "%s: read error", path);
  }
  *out = buf;
  *size = len;
  return NULL;
}

/*===--- tensors ------------------------------------------------------===*/

typedef struct external_ref {
  char *path; /* malloc'd: base_dir/location */
  long long offset, length;
} external_ref;

/* Reads location/offset/length and resolves the file next to the model. */
static ingot_status parse_external(const importer *im,
                                   const Onnx__TensorProto *tp,
                                   const char *tname, external_ref *ref) {
  const char *location = NULL;
  ref->path = NULL;
  ref->offset = 0;
  ref->length = -1;
  for (size_t i = 0; i < tp->n_external_data; i++) {
    const Onnx__StringStringEntryProto *e = tp->external_data[i];
    if (!e->key || !e->value) continue;
    char *end;
    if (strcmp(e->key, "location") == 0) {
      location = e->value;
    } else if (strcmp(e->key, "offset") == 0) {
      ref->offset = strtoll(e->value, &end, 10);
      if (*end || ref->offset < 0)
        return ingot_make_status(INGOT_DATA_LOSS,
                                 "tensor '%s': bad external offset '%s'",
                                 tname, e->value);
    } else if (strcmp(e->key, "length") == 0) {
      ref->length = strtoll(e->value, &end, 10);
      if (*end || ref->length < 0)
        return ingot_make_status(INGOT_DATA_LOSS,
                                 "tensor '%s': bad external length '%s'",
                                 tname, e->value);
    }
  }
  if (!location || !*location)
    return ingot_make_status(INGOT_DATA_LOSS,
                             "tensor '%s': external data has no location",
                             tname);
  if (location[0] == '/' || strstr(location, ".."))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "tensor '%s': external data location '%s' must "
                             "be a relative path inside the model's folder",
                             tname, location);
  if (!im->base_dir)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "tensor '%s': external data '%s' but the model "
                             "was not loaded from a file",
                             tname, location);
  size_t plen = strlen(im->base_dir) + strlen(location) + 2;
  ref->path = malloc(plen);
  if (!ref->path) return oom();
  snprintf(ref->path, plen, "%s/%s", im->base_dir, location);
  return NULL;
}

/* Before allocating: the external file must hold |nbytes| at the offset. */
static ingot_status check_external_size(const importer *im,
                                        const Onnx__TensorProto *tp,
                                        const char *tname, size_t nbytes) {
  external_ref ref;
  INGOT_RETURN_IF_ERROR(parse_external(im, tp, tname, &ref));
  ingot_status s = NULL;
  struct stat st;
  if (ref.length >= 0 && (unsigned long long)ref.length != nbytes)
    s = ingot_make_status(INGOT_DATA_LOSS,
                          "tensor '%s': external length %lld does not match "
                          "its shape and dtype (%zu bytes)",
                          tname, ref.length, nbytes);
  else if (stat(ref.path, &st) != 0)
    s = ingot_make_status(INGOT_NOT_FOUND,
                          "tensor '%s': cannot open external data file %s: "
                          "%s",
                          tname, ref.path, strerror(errno));
  else if ((unsigned long long)st.st_size < (unsigned long long)ref.offset ||
           (unsigned long long)st.st_size - (unsigned long long)ref.offset <
               nbytes)
    s = ingot_make_status(INGOT_DATA_LOSS,
                          "tensor '%s': external data file %s is too short "
                          "(need %zu bytes at offset %lld, file has %lld)",
                          tname, ref.path, nbytes, ref.offset,
                          (long long)st.st_size);
  free(ref.path);
  return s;
}

static ingot_status read_external(const importer *im,
                                  const Onnx__TensorProto *tp,
                                  const char *tname, void *dst,
                                  size_t nbytes) {
  external_ref ref;
  INGOT_RETURN_IF_ERROR(parse_external(im, tp, tname, &ref));
  ingot_status s = NULL;
  FILE *f = fopen(ref.path, "rb");
  if (!f)
    s = ingot_make_status(INGOT_NOT_FOUND,
                          "tensor '%s': cannot open external data file %s: "
                          "%s",
                          tname, ref.path, strerror(errno));
  else if (fseeko(f, (off_t)ref.offset, SEEK_SET) != 0 ||
           fread(dst, 1, nbytes, f) != nbytes)
    s = ingot_make_status(INGOT_DATA_LOSS,
                          "tensor '%s': external data file %s is too short "
                          "(need %zu bytes at offset %lld)",
                          tname, ref.path, nbytes, ref.offset);
  if (f) fclose(f);
  free(ref.path);
  return s;
}

/* Converts |tp| into |out| with data in |arena| (or malloc when arena is
 * NULL; then the caller frees out->data). */
static ingot_status tensor_from_proto(const importer *im,
                                      const Onnx__TensorProto *tp,
                                      ir_arena *arena, ir_value *out) {
  const char *tname = tp->name && *tp->name ? tp->name : "(unnamed)";
  memset(out, 0, sizeof *out);
  ir_dtype dt = (ir_dtype)tp->data_type;
  if (dt == IR_STRING || !ir_dtype_supported(dt))
    return ingot_make_status(INGOT_UNIMPLEMENTED,
                             "tensor '%s': dtype %s (%d) is not supported",
                             tname, ir_dtype_name(dt), (int)tp->data_type);
  if (tp->segment)
    return ingot_make_status(INGOT_UNIMPLEMENTED,
                             "tensor '%s': segmented tensors are not "
                             "supported",
                             tname);
  if (tp->n_dims > IR_MAX_RANK)
    return ingot_make_status(INGOT_UNIMPLEMENTED,
                             "tensor '%s': rank %zu exceeds %d", tname,
                             tp->n_dims, IR_MAX_RANK);
  out->dtype = dt;
  out->shape.rank = (int)tp->n_dims;
  for (size_t d = 0; d < tp->n_dims; d++) {
    if (tp->dims[d] < 0)
      return ingot_make_status(INGOT_DATA_LOSS,
                               "tensor '%s': negative dimension %lld", tname,
                               (long long)tp->dims[d]);
    out->shape.dims[d] = tp->dims[d];
  }
  size_t numel = ir_shape_numel(&out->shape);
  size_t esize = ir_dtype_traits[dt].size;
  if (numel > ((size_t)1 << 40) / esize)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                             "tensor '%s' is too large", tname);
  size_t nbytes = numel * esize;
  bool external = tp->has_data_location &&
                  tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  /* Check that the data is there before allocating what the (untrusted)
   * shape asks for. */
  size_t have;
  switch (dt) {
  case IR_F32: have = tp->n_float_data; break;
  case IR_F64: have = tp->n_double_data; break;
  case IR_I64: have = tp->n_int64_data; break;
  case IR_U32: case IR_U64: have = tp->n_uint64_data; break;
  default: have = tp->n_int32_data; break;
  }
  if (external) {
    INGOT_RETURN_IF_ERROR(check_external_size(im, tp, tname, nbytes));
  } else if (tp->has_raw_data) {
    if (tp->raw_data.len != nbytes)
      return ingot_make_status(INGOT_DATA_LOSS,
                               "tensor '%s': raw_data has %zu bytes, shape "
                               "and dtype need %zu",
                               tname, tp->raw_data.len, nbytes);
  } else if (have != numel) {
    return ingot_make_status(INGOT_DATA_LOSS,
                             "tensor '%s': has %zu values, shape needs %zu",
                             tname, have, numel);
  }
  void *data = arena ? ir_arena_alloc(arena, nbytes) : calloc(nbytes ? nbytes : 1, 1);
  if (!data) return oom();
  out->data = data;
  out->borrowed = arena != NULL;

  ingot_status s = NULL;
  if (external) {
    s = read_external(im, tp, tname, data, nbytes);
  } else if (tp->has_raw_data) {
    if (nbytes) memcpy(data, tp->raw_data.data, nbytes);
  } else {
    switch (dt) {
    case IR_F32:
      for (size_t i = 0; i < numel; i++) ((float *)data)[i] = tp->float_data[i];
      break;
    case IR_F64:
      for (size_t i = 0; i < numel; i++) ((double *)data)[i] = tp->double_data[i];
      break;
    case IR_I64:
      for (size_t i = 0; i < numel; i++) ((int64_t *)data)[i] = tp->int64_data[i];
      break;
    case IR_U32:
    case IR_U64:
      for (size_t i = 0; i < numel; i++)
          ir_store_u64(dt, data, i, tp->uint64_data[i]);
      break;
    case IR_F16:
    case IR_BF16: /* bit patterns in int32_data */
      for (size_t i = 0; i < numel; i++)
          ((uint16_t *)data)[i] = (uint16_t)tp->int32_data[i];
      break;
    default: /* int8/16/32, uint8/16, bool in int32_data */
      for (size_t i = 0; i < numel; i++)
          ir_store_i64(dt, data, i, tp->int32_data[i]);
      break;
    }
  }
  if (s) {
    if (!arena) free(data);
    out->data = NULL;
    return s;
  }
  return NULL;
}

/*===--- attributes ---------------------------------------------------===*/

static ingot_status convert_attr(importer *im, const ir_node *n,
                                 const Onnx__AttributeProto *ap, ir_attr *a) {
  ir_arena *ar = &im->g->arena;
  a->name = ir_arena_strdup(ar, ap->name ? ap->name : "");
  if (!a->name) return oom();
  if (ap->ref_attr_name && *ap->ref_attr_name)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "attribute '%s' refers to a function attribute",
                         a->name);
  ir_attr_kind k = ap->has_type ? (ir_attr_kind)ap->type : IR_ATTR_UNDEF;
  if (k == IR_ATTR_UNDEF) { /* very old models leave the type out */
    if (ap->has_f) k = IR_ATTR_FLOAT;
    else if (ap->has_i) k = IR_ATTR_INT;
    else if (ap->has_s) k = IR_ATTR_STRING;
    else if (ap->t) k = IR_ATTR_TENSOR;
    else if (ap->n_floats) k = IR_ATTR_FLOATS;
    else if (ap->n_ints) k = IR_ATTR_INTS;
    else if (ap->n_strings) k = IR_ATTR_STRINGS;
    else if (ap->g || ap->n_graphs) k = IR_ATTR_GRAPH;
  }
  a->kind = k;
  switch (k) {
  case IR_ATTR_FLOAT: a->f = ap->f; break;
  case IR_ATTR_INT: a->i = ap->i; break;
  case IR_ATTR_STRING: {
    char *s = ir_arena_alloc(ar, ap->s.len + 1);
    if (!s) return oom();
    if (ap->s.len) memcpy(s, ap->s.data, ap->s.len);
    a->s = s;
    break;
  }
  case IR_ATTR_FLOATS:
    if (ap->n_floats > 1u << 24)
      return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED,
                           "attribute '%s' is too long", a->name);
    a->n = (int)ap->n_floats;
    a->floats = ir_arena_memdup(ar, ap->floats, ap->n_floats * sizeof(float));
    if (!a->floats) return oom();
    break;
  case IR_ATTR_INTS:
    if (ap->n_ints > 1u << 24)
      return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED,
                           "attribute '%s' is too long", a->name);
    a->n = (int)ap->n_ints;
    a->ints = ir_arena_memdup(ar, ap->ints, ap->n_ints * sizeof(int64_t));
    if (!a->ints) return oom();
    break;
  case IR_ATTR_STRINGS:
    if (ap->n_strings > 1u << 20)
      return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED,
                           "attribute '%s' is too long", a->name);
    a->n = (int)ap->n_strings;
    a->strings = ir_arena_calloc(ar, ap->n_strings + 1, sizeof(char *));
    if (!a->strings) return oom();
    for (size_t i = 0; i < ap->n_strings; i++) {
      char *s = ir_arena_alloc(ar, ap->strings[i].len + 1);
      if (!s) return oom();
      if (ap->strings[i].len) memcpy(s, ap->strings[i].data, ap->strings[i].len);
      a->strings[i] = s;
    }
    break;
  case IR_ATTR_TENSOR: {
    if (!ap->t)
      return ir_node_error(n, INGOT_DATA_LOSS,
                           "attribute '%s' is a tensor with no value",
                           a->name);
    a->tensor = ir_arena_alloc(ar, sizeof *a->tensor);
    if (!a->tensor) return oom();
    ingot_status s = tensor_from_proto(im, ap->t, ar, a->tensor);
    if (s) return ingot_status_annotate(s, "node '%s': attribute '%s': ",
                                        n->name, a->name);
    break;
  }
  default:
    /* Graph, sparse tensor and type-proto attributes belong to ops Ingot
     * does not support (If, Loop, Scan, sparse Constant); the op's parse
     * function rejects them by name.  Keep the kind for the message. */
    break;
  }
  return NULL;
}

/*===--- graph --------------------------------------------------------===*/

static ingot_status set_type(importer *im, ir_tensor_id id,
                             const Onnx__ValueInfoProto *vi) {
  ir_tensor *t = &im->g->tensors[id];
  const Onnx__TypeProto *tp = vi->type;
  if (!tp)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "graph input '%s' has no type", t->name);
  if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
    return ingot_make_status(INGOT_UNIMPLEMENTED,
                             "graph input/output '%s' is not a tensor "
                             "(sequences, maps and optionals are not "
                             "supported)",
                             t->name);
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  ir_dtype dt = (ir_dtype)tt->elem_type;
  if (!ir_dtype_supported(dt))
    return ingot_make_status(INGOT_UNIMPLEMENTED,
                             "tensor '%s' has unsupported dtype %s",
                             t->name, ir_dtype_name(dt));
  t->dtype = dt;
  if (!tt->shape) return NULL; /* unknown rank */
  if (tt->shape->n_dim > IR_MAX_RANK)
    return ingot_make_status(INGOT_UNIMPLEMENTED,
                             "tensor '%s' has rank %zu; at most %d",
                             t->name, tt->shape->n_dim, IR_MAX_RANK);
  t->shape.rank = (int)tt->shape->n_dim;
  t->shape_known = true;
  for (size_t d = 0; d < tt->shape->n_dim; d++) {
    const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
    t->shape.dims[d] = -1;
    if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
      if (dim->dim_value < 0)
        return ingot_make_status(INGOT_INVALID_ARGUMENT,
                                 "tensor '%s' has negative dim %lld",
                                 t->name, (long long)dim->dim_value);
      t->shape.dims[d] = dim->dim_value;
    } else if (dim->value_case ==
                   ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
               dim->dim_param) {
      t->dim_param[d] = ir_arena_strdup(&im->g->arena, dim->dim_param);
      if (!t->dim_param[d]) return oom();
    }
  }
  return NULL;
}

static ingot_status apply_overrides(importer *im, const ir_import_options *opt) {
  ir_graph *g = im->g;
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
    if (t->shape_known && t->shape.rank != o->shape.rank) {
      char a[96], b[96];
      return ingot_make_status(INGOT_INVALID_ARGUMENT,
                               "--shapes: input '%s' has rank %d (%s); %s "
                               "has rank %d",
                               o->name, t->shape.rank,
                               ir_shape_str(&t->shape, a, sizeof a),
                               ir_shape_str(&o->shape, b, sizeof b),
                               o->shape.rank);
    }
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

static ingot_status import_model(importer *im, const Onnx__ModelProto *m,
                                 const ir_import_options *opt) {
  ir_graph *g = im->g;
  ir_arena *ar = &g->arena;
  const Onnx__GraphProto *gp = m->graph;
  if (!gp)
    return ingot_make_status(INGOT_DATA_LOSS, "the model has no graph");
  g->ir_version = m->ir_version;
  g->producer = ir_arena_strdup(ar, m->producer_name);
  g->name = ir_arena_strdup(ar, gp->name);

  if (m->n_opset_import == 0)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "the model declares no opset_import, so its "
                             "ops' versions are unknown");
  g->opset = 0; /* none declared: only other domains' ops may appear */
  int64_t ms_opset = 0; /* com.microsoft, ONNX Runtime's contrib ops */
  for (size_t i = 0; i < m->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = m->opset_import[i];
    if (!o->domain || !*o->domain || strcmp(o->domain, "ai.onnx") == 0)
      g->opset = o->version;
    else if (strcmp(o->domain, "com.microsoft") == 0)
      ms_opset = o->version;
  }
  if (g->opset < 0 || g->opset > 21)
    return ingot_make_status(INGOT_INCOMPATIBLE,
                             "default-domain opset %lld is not supported "
                             "(Ingot reads opsets 1 to 21)",
                             (long long)g->opset);
  if (gp->n_sparse_initializer)
    return ingot_make_status(INGOT_UNIMPLEMENTED,
                             "sparse initializers are not supported");

  /* 1. Initializers, then inputs (an input with an initializer is a
   *    constant; ONNX allows it to be overridden, Ingot treats it as
   *    fixed, like ONNX Runtime's default for non-overridable ones). */
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *tp = gp->initializer[i];
    if (!tp->name || !*tp->name)
      return ingot_make_status(INGOT_INVALID_ARGUMENT,
                               "initializer #%zu has no name", i);
    ir_value v;
    INGOT_RETURN_IF_ERROR(tensor_from_proto(im, tp, ar, &v));
    ir_tensor_id id;
    INGOT_RETURN_IF_ERROR(ir_graph_add_tensor(g, tp->name, &id));
    ir_tensor *t = &g->tensors[id];
    t->role = IR_ROLE_CONSTANT;
    t->dtype = v.dtype;
    t->shape = v.shape;
    t->shape_known = true;
    t->data = v.data;
  }
  g->inputs = ir_arena_calloc(ar, gp->n_input + 1, sizeof *g->inputs);
  if (!g->inputs) return oom();
  for (size_t i = 0; i < gp->n_input; i++) {
    const Onnx__ValueInfoProto *vi = gp->input[i];
    if (!vi->name || !*vi->name)
      return ingot_make_status(INGOT_INVALID_ARGUMENT,
                               "graph input #%zu has no name", i);
    ir_tensor_id id = ir_graph_find_tensor(g, vi->name);
    if (id && g->tensors[id].role == IR_ROLE_CONSTANT)
      continue; /* initializer: a constant, not a run-time input */
    if (id)
      return ingot_make_status(INGOT_INVALID_ARGUMENT,
                               "graph input '%s' is listed twice", vi->name);
    INGOT_RETURN_IF_ERROR(ir_graph_add_tensor(g, vi->name, &id));
    g->tensors[id].role = IR_ROLE_INPUT;
    INGOT_RETURN_IF_ERROR(set_type(im, id, vi));
    g->inputs[g->n_inputs++] = id;
  }
  INGOT_RETURN_IF_ERROR(apply_overrides(im, opt));

  /* 2. Node outputs become tensors; then resolve inputs and sort. */
  size_t nn = gp->n_node;
  if (nn > (1u << 24))
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "too many nodes");
  for (size_t i = 0; i < nn; i++) {
    const Onnx__NodeProto *np = gp->node[i];
    for (size_t k = 0; k < np->n_output; k++) {
      const char *name = np->output[k];
      if (!name || !*name) continue;
      ir_tensor_id id;
      ingot_status s = ir_graph_add_tensor(g, name, &id);
      if (s)
        return ingot_status_annotate(s, "node '%s' (%s): output: ",
                                     np->name ? np->name : "",
                                     np->op_type ? np->op_type : "");
    }
  }
  bool *placed = calloc(nn ? nn : 1, sizeof *placed);
  bool *defined = calloc(g->n_tensors, sizeof *defined);
  if (!placed || !defined) {
    free(placed);
    free(defined);
    return oom();
  }
  for (ir_tensor_id t = 1; t < g->n_tensors; t++)
    defined[t] = g->tensors[t].role != IR_ROLE_ACTIVATION;

  ingot_status s = NULL;
  size_t n_placed = 0;
  ir_tensor_id ins[256], outs[256];
  while (!s && n_placed < nn) {
    size_t before = n_placed;
    for (size_t i = 0; !s && i < nn; i++) {
      if (placed[i]) continue;
      const Onnx__NodeProto *np = gp->node[i];
      const char *nname = np->name ? np->name : "";
      const char *optype = np->op_type ? np->op_type : "";
      if (np->n_input > 256 || np->n_output > 256) {
        s = ingot_make_status(INGOT_UNIMPLEMENTED,
                              "node '%s' (%s) has more than 256 inputs or "
                              "outputs",
                              nname, optype);
        break;
      }
      bool ready = true;
      for (size_t k = 0; k < np->n_input; k++) {
        const char *in = np->input[k];
        if (!in || !*in) {
          ins[k] = 0;
          continue;
        }
        ir_tensor_id id = ir_graph_find_tensor(g, in);
        if (!id) {
          s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                                "node '%s' (%s): input '%s' is not defined "
                                "by any node, initializer or graph input",
                                nname, optype, in);
          break;
        }
        if (!defined[id]) ready = false;
        ins[k] = id;
      }
      if (s || !ready) continue;
      for (size_t k = 0; k < np->n_output; k++)
        outs[k] = np->output[k] && *np->output[k]
                      ? ir_graph_find_tensor(g, np->output[k])
                      : 0;
      const char *dom = np->domain ? np->domain : "";
      /* Ops flagged IR_OPF_MS_DOMAIN (ONNX Runtime's contrib ops) exist
       * only in domain com.microsoft, and only they are read from it. */
      bool ms = strcmp(dom, "com.microsoft") == 0;
      ir_op op = IR_OP_INVALID;
      if (!*dom || strcmp(dom, "ai.onnx") == 0 || ms)
        op = ir_op_lookup(optype);
      if (op != IR_OP_INVALID && (ir_op_get(op)->flags & IR_OPF_INTERNAL))
        op = IR_OP_INVALID; /* Ingot's internal ops are not ONNX ops */
      bool op_ms = op != IR_OP_INVALID &&
                   (ir_op_get(op)->flags & IR_OPF_MS_DOMAIN) != 0;
      if (op_ms && !ms) {
        s = ingot_make_status(INGOT_UNIMPLEMENTED,
                              "node '%s': op '%s' exists only in domain "
                              "com.microsoft (ONNX Runtime's contrib ops), "
                              "not in the default ONNX domain",
                              nname, optype);
        break;
      }
      if (ms && !op_ms) op = IR_OP_INVALID;
      int64_t opset = ms ? ms_opset : g->opset;
      if (op != IR_OP_INVALID && opset == 0) {
        s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                              "node '%s' (%s%s%s): the model imports no "
                              "opset for the %s domain",
                              nname, dom, *dom ? "." : "", optype,
                              ms ? "com.microsoft" : "default ONNX");
        break;
      }
      if (op_ms && opset != 1) {
        s = ingot_make_status(INGOT_INCOMPATIBLE,
                              "node '%s' (com.microsoft.%s): the model "
                              "imports com.microsoft opset %lld; Ingot "
                              "reads its ops at version 1",
                              nname, optype, (long long)opset);
        break;
      }
      if (op == IR_OP_INVALID) {
        s = ingot_make_status(INGOT_UNIMPLEMENTED,
                              "node '%s': op '%s%s%s' is not supported by "
                              "Ingot",
                              nname, dom, *dom ? "." : "", optype);
        break;
      }
      ir_node_id nid;
      s = ir_graph_add_node(g, op, nname, ins, (int)np->n_input, outs,
                            (int)np->n_output, &nid);
      if (s) break;
      ir_node *n = &g->nodes[nid];
      n->domain = ir_arena_strdup(ar, dom);
      n->opset = (int)opset;
      if (np->n_attribute > 4096) {
        s = ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "too many attributes");
        break;
      }
      n->n_attrs = (uint32_t)np->n_attribute;
      n->attrs = ir_arena_calloc(ar, np->n_attribute + 1, sizeof *n->attrs);
      if (!n->attrs) {
        s = oom();
        break;
      }
      for (size_t k = 0; !s && k < np->n_attribute; k++)
        s = convert_attr(im, n, np->attribute[k], &n->attrs[k]);
      for (size_t k = 0; k < np->n_output; k++)
        if (outs[k]) defined[outs[k]] = true;
      placed[i] = true;
      n_placed++;
    }
    if (!s && n_placed == before) {
      for (size_t i = 0; i < nn; i++)
        if (!placed[i]) {
          s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                                "node '%s' (%s) is part of a cycle",
                                gp->node[i]->name ? gp->node[i]->name : "",
                                gp->node[i]->op_type ? gp->node[i]->op_type
                                                     : "");
          break;
        }
    }
  }
  free(placed);
  free(defined);
  if (s) return s;

  /* Graph outputs. */
  g->outputs = ir_arena_calloc(ar, gp->n_output + 1, sizeof *g->outputs);
  if (!g->outputs) return oom();
  for (size_t i = 0; i < gp->n_output; i++) {
    const Onnx__ValueInfoProto *vi = gp->output[i];
    ir_tensor_id id = ir_graph_find_tensor(g, vi->name ? vi->name : "");
    if (!id)
      return ingot_make_status(INGOT_INVALID_ARGUMENT,
                               "graph output '%s' is not produced by the "
                               "graph",
                               vi->name ? vi->name : "");
    g->tensors[id].is_output = true;
    g->outputs[g->n_outputs++] = id;
  }

  /* 3. Arity, typed params, shapes. */
  INGOT_RETURN_IF_ERROR(ir_parse_nodes(g));
  return ir_infer_shapes(g);
}

static ingot_status import_buffer(const unsigned char *data, size_t size,
                                  const char *display, const char *base_dir,
                                  const ir_import_options *opt,
                                  ir_graph **out) {
  *out = NULL;
  if (size == 0)
    return ingot_make_status(INGOT_DATA_LOSS, "%s: the file is empty",
                             display);
  Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, data);
  if (!m)
    return ingot_make_status(INGOT_DATA_LOSS,
                             "%s: not a valid ONNX model (the protobuf could "
                             "not be decoded: truncated or corrupt)",
                             display);
  ir_graph *g;
  ingot_status s = ir_graph_create(&g);
  if (s) {
    onnx__model_proto__free_unpacked(m, NULL);
    return s;
  }
  g->source_path = ir_arena_strdup(&g->arena, display);
  importer im = {g, display, base_dir};
  s = import_model(&im, m, opt);
  onnx__model_proto__free_unpacked(m, NULL);
  if (s) {
    ir_graph_destroy(g);
    return ingot_status_annotate(s, "%s: ", display);
  }
  *out = g;
  return NULL;
}

ingot_status ir_import_onnx_memory(const void *data, size_t size,
                                   const char *display_name,
                                   const ir_import_options *opt,
                                   ir_graph **out) {
  return import_buffer(data, size, display_name ? display_name : "<memory>",
                       opt ? opt->base_dir : NULL, opt, out);
}

ingot_status ir_import_onnx_file(const char *path,
                                 const ir_import_options *opt,
                                 ir_graph **out) {
  unsigned char *buf;
  size_t size;
  *out = NULL;
  INGOT_RETURN_IF_ERROR(read_whole_file(path, MAX_MODEL_BYTES, &buf, &size));
  char *dir = strdup(path);
  if (!dir) {
    free(buf);
    return oom();
  }
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = 0;
  else
    strcpy(dir, ".");
  ingot_status s = import_buffer(buf, size, path, dir, opt, out);
  free(dir);
  free(buf);
  return s;
}

ingot_status ir_read_tensor_pb(const char *path, ir_value *out,
                               char **name_out) {
  unsigned char *buf;
  size_t size;
  memset(out, 0, sizeof *out);
  INGOT_RETURN_IF_ERROR(read_whole_file(path, MAX_MODEL_BYTES, &buf, &size));
  Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, size, buf);
  free(buf);
  if (!tp)
    return ingot_make_status(INGOT_DATA_LOSS,
                             "%s: not a valid ONNX TensorProto", path);
  importer im = {NULL, path, NULL};
  ingot_status s = tensor_from_proto(&im, tp, NULL, out);
  if (!s && name_out) {
    *name_out = strdup(tp->name ? tp->name : "");
    if (!*name_out) {
      free(out->data);
      out->data = NULL;
      s = oom();
    }
  }
  onnx__tensor_proto__free_unpacked(tp, NULL);
  return s ? ingot_status_annotate(s, "%s: ", path) : NULL;
}

/* test_bad_onnx.c — bad ONNX input gets a clear error, never a crash.
 *
 * Models are built in memory with the protobuf-c bindings, so each case
 * is exactly the defect it names: truncation at every prefix of a real
 * model, bit flips, an unsupported op, an unsupported dtype, inconsistent
 * shapes, an undefined input, a cycle, missing and present external data,
 * and wrong-shaped inputs at the interpreter API.
 *
 * usage: test_bad_onnx SAMPLE.onnx TMPDIR
 */
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "ir.h"
#include "onnx.pb-c.h"

/*===--- building small models ----------------------------------------===*/

typedef struct mb {
  Onnx__ModelProto model;
  Onnx__GraphProto graph;
  Onnx__OperatorSetIdProto opset;
  Onnx__OperatorSetIdProto *opsets[1];
  Onnx__NodeProto nodes[8], *node_ptrs[8];
  Onnx__ValueInfoProto vis[8], *in_ptrs[8], *out_ptrs[8];
  Onnx__TypeProto types[8];
  Onnx__TypeProto__Tensor ttypes[8];
  Onnx__TensorShapeProto shapes[8];
  Onnx__TensorShapeProto__Dimension dims[8][4], *dim_ptrs[8][4];
  Onnx__TensorProto inits[4], *init_ptrs[4];
  int n_vi;
} mb;

static void mb_init(mb *b) {
  memset(b, 0, sizeof *b);
  onnx__model_proto__init(&b->model);
  onnx__graph_proto__init(&b->graph);
  onnx__operator_set_id_proto__init(&b->opset);
  b->opset.domain = "";
  b->opset.has_version = 1;
  b->opset.version = 13;
  b->opsets[0] = &b->opset;
  b->model.has_ir_version = 1;
  b->model.ir_version = 7;
  b->model.n_opset_import = 1;
  b->model.opset_import = b->opsets;
  b->model.graph = &b->graph;
  b->graph.name = "bad";
  b->graph.node = b->node_ptrs;
  b->graph.input = b->in_ptrs;
  b->graph.output = b->out_ptrs;
  b->graph.initializer = b->init_ptrs;
}

static Onnx__ValueInfoProto *mb_vi(mb *b, char *name, int dtype, int rank,
                                   const int64_t *dims) {
  int k = b->n_vi++;
  Onnx__ValueInfoProto *vi = &b->vis[k];
  onnx__value_info_proto__init(vi);
  onnx__type_proto__init(&b->types[k]);
  onnx__type_proto__tensor__init(&b->ttypes[k]);
  onnx__tensor_shape_proto__init(&b->shapes[k]);
  vi->name = name;
  vi->type = &b->types[k];
  b->types[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  b->types[k].tensor_type = &b->ttypes[k];
  b->ttypes[k].has_elem_type = 1;
  b->ttypes[k].elem_type = dtype;
  b->ttypes[k].shape = &b->shapes[k];
  b->shapes[k].n_dim = (size_t)rank;
  b->shapes[k].dim = b->dim_ptrs[k];
  for (int d = 0; d < rank; d++) {
    onnx__tensor_shape_proto__dimension__init(&b->dims[k][d]);
    b->dims[k][d].value_case =
        ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    b->dims[k][d].dim_value = dims[d];
    b->dim_ptrs[k][d] = &b->dims[k][d];
  }
  return vi;
}

static void mb_input(mb *b, char *name, int dtype, int rank,
                     const int64_t *dims) {
  b->in_ptrs[b->graph.n_input++] = mb_vi(b, name, dtype, rank, dims);
}
static void mb_output(mb *b, char *name, int dtype, int rank,
                      const int64_t *dims) {
  b->out_ptrs[b->graph.n_output++] = mb_vi(b, name, dtype, rank, dims);
}

static void mb_node(mb *b, char *name, char *op, char **in, int nin,
                    char **out, int nout) {
  Onnx__NodeProto *n = &b->nodes[b->graph.n_node];
  onnx__node_proto__init(n);
  n->name = name;
  n->op_type = op;
  n->n_input = (size_t)nin;
  n->input = in;
  n->n_output = (size_t)nout;
  n->output = out;
  b->node_ptrs[b->graph.n_node++] = n;
}

/* Serializes the model; caller frees. */
static unsigned char *mb_pack(mb *b, size_t *size) {
  *size = onnx__model_proto__get_packed_size(&b->model);
  unsigned char *buf = malloc(*size ? *size : 1);
  onnx__model_proto__pack(&b->model, buf);
  return buf;
}

/* Imports |b|; returns the status (graph destroyed). */
static ingot_status mb_import(mb *b) {
  size_t size;
  unsigned char *buf = mb_pack(b, &size);
  ir_graph *g = NULL;
  ingot_status s = ir_import_onnx_memory(buf, size, "case.onnx", NULL, &g);
  free(buf);
  ir_graph_destroy(g);
  return s;
}

static void expect_error(ingot_status s, ingot_status_code code,
                         const char *needle, const char *what) {
  if (!s) {
    fprintf(stderr, "%s: expected an error, got success\n", what);
    check_failures++;
    return;
  }
  const char *m = ingot_status_message(s);
  if (ingot_status_code_of(s) != code || !strstr(m, needle)) {
    fprintf(stderr, "%s: expected %s mentioning '%s', got %s: %s\n", what,
            ingot_status_code_name(code), needle,
            ingot_status_code_name(ingot_status_code_of(s)), m);
    check_failures++;
  } else {
    printf("ok   %-28s %s\n", what, m);
  }
  ingot_status_free(s);
}

static unsigned char *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return buf;
}

/*===--- cases --------------------------------------------------------===*/

static void truncation_and_bitflips(const char *sample) {
  size_t size;
  unsigned char *buf = read_file(sample, &size);
  CHECK(buf != NULL);
  if (!buf) return;
  int truncated_ok = 0, tried = 0;
  for (size_t len = 0; len < size; len += len < 600 ? 1 : 97) {
    ir_graph *g = NULL;
    ingot_status s = ir_import_onnx_memory(buf, len, "truncated.onnx", NULL, &g);
    tried++;
    if (!s) {
      fprintf(stderr, "truncated to %zu of %zu bytes: imported without "
                      "error\n", len, size);
      check_failures++;
      ir_graph_destroy(g);
      continue;
    }
    truncated_ok += strstr(ingot_status_message(s), "truncated.onnx") != NULL;
    ingot_status_free(s);
  }
  CHECK(truncated_ok == tried); /* every message names the file */
  printf("ok   truncation: %d prefixes of %s rejected, each naming the file\n",
         tried, sample);

  unsigned seed = 12345;
  int rejected = 0;
  for (int trial = 0; trial < 300; trial++) {
    unsigned char *copy = malloc(size);
    memcpy(copy, buf, size);
    for (int k = 0; k < 4; k++) {
      seed = seed * 1103515245u + 12345u;
      size_t pos = (seed >> 8) % size;
      copy[pos] ^= (unsigned char)(1u << ((seed >> 4) & 7));
    }
    ir_graph *g = NULL;
    ingot_status s = ir_import_onnx_memory(copy, size, "flipped.onnx", NULL, &g);
    if (s) {
      rejected++;
      CHECK(strlen(ingot_status_message(s)) > 0);
      ingot_status_free(s);
    } else {
      ir_graph_destroy(g); /* a flip in a weight is still a valid model */
    }
    free(copy);
  }
  printf("ok   bit flips: 300 corrupted copies, %d rejected, no crash\n",
         rejected);
  free(buf);
}

static void unsupported_op(void) {
  mb b;
  mb_init(&b);
  int64_t d[] = {2, 3};
  mb_input(&b, "x", 1, 2, d);
  mb_input(&b, "y", 1, 2, d);
  mb_output(&b, "z", 1, 2, d);
  char *in[] = {"x", "y"}, *out[] = {"z"};
  mb_node(&b, "mod1", "Mod", in, 2, out, 1);
  expect_error(mb_import(&b), INGOT_UNIMPLEMENTED, "'Mod'", "unsupported op");
}

static void unsupported_dtype(void) {
  mb b;
  mb_init(&b);
  int64_t d[] = {2};
  mb_input(&b, "s", 8 /* string */, 1, d);
  mb_output(&b, "t", 8, 1, d);
  char *in[] = {"s"}, *out[] = {"t"};
  mb_node(&b, "id", "Identity", in, 1, out, 1);
  expect_error(mb_import(&b), INGOT_UNIMPLEMENTED, "string",
               "unsupported dtype");
}

static void inconsistent_shapes(void) {
  mb b;
  mb_init(&b);
  int64_t a[] = {2, 3}, c[] = {4, 5};
  mb_input(&b, "x", 1, 2, a);
  mb_input(&b, "y", 1, 2, c);
  mb_output(&b, "z", 1, 2, a);
  char *in[] = {"x", "y"}, *out[] = {"z"};
  mb_node(&b, "add1", "Add", in, 2, out, 1);
  expect_error(mb_import(&b), INGOT_INVALID_ARGUMENT, "node 'add1'",
               "inconsistent shapes");
}

static void undefined_input_and_cycle(void) {
  mb b;
  mb_init(&b);
  int64_t d[] = {4};
  mb_input(&b, "x", 1, 1, d);
  mb_output(&b, "z", 1, 1, d);
  char *in[] = {"nowhere"}, *out[] = {"z"};
  mb_node(&b, "relu1", "Relu", in, 1, out, 1);
  expect_error(mb_import(&b), INGOT_INVALID_ARGUMENT, "'nowhere'",
               "undefined input");

  mb_init(&b);
  mb_input(&b, "x", 1, 1, d);
  mb_output(&b, "b", 1, 1, d);
  char *i1[] = {"x", "b"}, *o1[] = {"a"};
  char *i2[] = {"a"}, *o2[] = {"b"};
  mb_node(&b, "n1", "Add", i1, 2, o1, 1);
  mb_node(&b, "n2", "Relu", i2, 1, o2, 1);
  expect_error(mb_import(&b), INGOT_INVALID_ARGUMENT, "cycle", "cycle");
}

static void no_opset(void) {
  mb b;
  mb_init(&b);
  int64_t d[] = {4};
  mb_input(&b, "x", 1, 1, d);
  mb_output(&b, "z", 1, 1, d);
  char *in[] = {"x"}, *out[] = {"z"};
  mb_node(&b, "relu1", "Relu", in, 1, out, 1);
  b.model.n_opset_import = 0;
  expect_error(mb_import(&b), INGOT_INVALID_ARGUMENT, "opset_import",
               "missing opset_import");
}

/* A model whose weight lives in an external file. */
static void external_data(const char *tmpdir) {
  mb b;
  mb_init(&b);
  int64_t d[] = {4};
  mb_input(&b, "x", 1, 1, d);
  mb_output(&b, "z", 1, 1, d);
  Onnx__TensorProto *w = &b.inits[0];
  onnx__tensor_proto__init(w);
  w->name = "w";
  w->has_data_type = 1;
  w->data_type = 1;
  int64_t wd[] = {4};
  w->n_dims = 1;
  w->dims = wd;
  w->has_data_location = 1;
  w->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  Onnx__StringStringEntryProto loc, off, *entries[2] = {&loc, &off};
  onnx__string_string_entry_proto__init(&loc);
  onnx__string_string_entry_proto__init(&off);
  loc.key = "location";
  loc.value = "weights.bin";
  off.key = "offset";
  off.value = "8";
  w->n_external_data = 2;
  w->external_data = entries;
  b.init_ptrs[0] = w;
  b.graph.n_initializer = 1;
  char *in[] = {"x", "w"}, *out[] = {"z"};
  mb_node(&b, "mul1", "Mul", in, 2, out, 1);

  char model_path[1024], bin_path[1024];
  snprintf(model_path, sizeof model_path, "%s/ext_model.onnx", tmpdir);
  snprintf(bin_path, sizeof bin_path, "%s/weights.bin", tmpdir);
  remove(bin_path);
  size_t size;
  unsigned char *buf = mb_pack(&b, &size);
  FILE *f = fopen(model_path, "wb");
  CHECK(f && fwrite(buf, 1, size, f) == size);
  if (f) fclose(f);
  free(buf);

  ir_graph *g = NULL;
  expect_error(ir_import_onnx_file(model_path, NULL, &g), INGOT_NOT_FOUND,
               "weights.bin", "missing external data");

  /* Too short: only 3 of the 4 floats after the offset. */
  float vals[6] = {99, 99, 1, 2, 3, 4};
  f = fopen(bin_path, "wb");
  CHECK(f && fwrite(vals, 1, 20, f) == 20);
  if (f) fclose(f);
  expect_error(ir_import_onnx_file(model_path, NULL, &g), INGOT_DATA_LOSS,
               "too short", "short external data");

  f = fopen(bin_path, "wb");
  CHECK(f && fwrite(vals, 1, sizeof vals, f) == sizeof vals);
  if (f) fclose(f);
  CHECK_OK(ir_import_onnx_file(model_path, NULL, &g));
  if (!g) return;
  ir_tensor_id wid = ir_graph_find_tensor(g, "w");
  CHECK(wid && g->tensors[wid].role == IR_ROLE_CONSTANT);
  if (wid) CHECK(((float *)g->tensors[wid].data)[3] == 4.0f);

  /* Wrong-shaped and wrong-typed inputs at the interpreter API. */
  float xs[5] = {1, 1, 1, 1, 1};
  ir_value x = {IR_F32, {1, {5}}, xs, true}, z = {0};
  expect_error(ir_interp_run(g, &x, &z, NULL), INGOT_INVALID_ARGUMENT,
               "input 'x' must have shape 4", "wrong input shape");
  ir_value xi = {IR_I32, {1, {4}}, xs, true};
  expect_error(ir_interp_run(g, &xi, &z, NULL), INGOT_INVALID_ARGUMENT,
               "must be float32", "wrong input dtype");
  x.shape.dims[0] = 4;
  CHECK_OK(ir_interp_run(g, &x, &z, NULL));
  if (z.data) CHECK(((float *)z.data)[2] == 3.0f);
  ir_value_free(&z);
  ir_graph_destroy(g);
  printf("ok   external data read relative to the model file\n");
}

/* An output listed several times, and an input listed twice. */
static void repeated_outputs_and_inputs(void) {
  mb b;
  mb_init(&b);
  int64_t d[] = {2};
  mb_input(&b, "x", 1, 1, d);
  for (int k = 0; k < 5; k++) mb_output(&b, "y", 1, 1, d);
  char *in[] = {"x"}, *out[] = {"y"};
  mb_node(&b, "relu1", "Relu", in, 1, out, 1);
  size_t size;
  unsigned char *buf = mb_pack(&b, &size);
  ir_graph *g = NULL;
  CHECK_OK(ir_import_onnx_memory(buf, size, "repeat.onnx", NULL, &g));
  free(buf);
  if (g) {
    float xs[2] = {-1, 3};
    ir_value x = {IR_F32, {1, {2}}, xs, true}, y[5] = {{0}};
    CHECK_OK(ir_interp_run(g, &x, y, NULL));
    for (int k = 0; k < 5; k++) {
      CHECK(y[k].data && ((float *)y[k].data)[0] == 0.0f &&
            ((float *)y[k].data)[1] == 3.0f);
      ir_value_free(&y[k]);
    }
    ir_graph_destroy(g);
    printf("ok   an output listed 5 times gets its value 5 times\n");
  }
  mb_init(&b);
  mb_input(&b, "x", 1, 1, d);
  mb_input(&b, "x", 1, 1, d);
  mb_output(&b, "y", 1, 1, d);
  mb_node(&b, "relu1", "Relu", in, 1, out, 1);
  expect_error(mb_import(&b), INGOT_INVALID_ARGUMENT, "listed twice",
               "duplicate graph input");
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s SAMPLE.onnx TMPDIR\n", argv[0]);
    return 2;
  }
  truncation_and_bitflips(argv[1]);
  unsupported_op();
  unsupported_dtype();
  inconsistent_shapes();
  undefined_input_and_cycle();
  no_opset();
  repeated_outputs_and_inputs();
  external_data(argv[2]);
  return check_report("test_bad_onnx");
}

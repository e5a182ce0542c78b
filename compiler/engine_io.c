/* engine_io.c — see engine_io.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_io.h"

ingot_status eio_open(const char *path, int threads, ingot_engine **e,
                      ingot_session **s) {
  return eio_open_device(path, threads, NULL, e, s);
}

ingot_status eio_check_device(const char *device) {
  if (!device || strcmp(device, "cpu") == 0 || strcmp(device, "cuda") == 0)
    return NULL;
  return ingot_make_status(INGOT_INVALID_ARGUMENT,
                           "--device %s: use cpu or cuda", device);
}

ingot_status eio_open_device(const char *path, int threads,
                             const char *device, ingot_engine **e,
                             ingot_session **s) {
  *e = NULL;
  *s = NULL;
  INGOT_RETURN_IF_ERROR(eio_check_device(device));
  bool cuda = device && strcmp(device, "cuda") == 0;
  INGOT_RETURN_IF_ERROR(ingot_engine_load_file(path, e));
  ingot_session_options opt = {.threads = threads};
  ingot_status st = ingot_session_create_on(
      *e, &opt, cuda ? INGOT_DEVICE_CUDA : INGOT_DEVICE_CPU, 0, s);
  if (st) {
    ingot_engine_release(*e);
    *e = NULL;
    return ingot_status_annotate(st, "%s: ", path);
  }
  if (cuda)
    fprintf(stderr, "ingot: %s: CUDA device 0 runs %s\n", path,
            ingot_session_device_code(*s));
  return NULL;
}

static ingot_status set_one(ingot_engine *e, ingot_session *s, int idx,
                            const ir_value *v) {
  ingot_tensor_info info;
  INGOT_RETURN_IF_ERROR(ingot_engine_input_info(e, idx, &info));
  const ir_value *src = v;
  ir_value conv = {0};
  /* float64 .npy for a float32 input: convert, as users expect */
  if (v->dtype == IR_F64 && info.dtype == INGOT_FLOAT32) {
    conv.dtype = IR_F32;
    conv.shape = v->shape;
    INGOT_RETURN_IF_ERROR(ir_value_alloc(&conv));
    for (size_t i = 0; i < ir_shape_numel(&v->shape); i++)
      ((float *)conv.data)[i] = (float)((const double *)v->data)[i];
    src = &conv;
  }
  bool shape_ok = src->shape.rank == info.rank;
  for (int d = 0; shape_ok && d < info.rank; d++)
    shape_ok = src->shape.dims[d] == info.dims[d];
  ingot_status st = NULL;
  if (!shape_ok) {
    char b[128];
    st = ingot_make_status(INGOT_INVALID_ARGUMENT,
                           "input '%s' has %d dims in the engine, the file "
                           "has shape %s",
                           info.name, info.rank,
                           ir_shape_str(&src->shape, b, sizeof b));
  } else {
    st = ingot_session_set_input(s, idx, (ingot_dtype)src->dtype, src->data,
                                 ir_value_nbytes(src));
  }
  ir_value_free(&conv);
  return st;
}

ingot_status eio_set_inputs(ingot_engine *e, ingot_session *s,
                            const char *const *args, int n,
                            bool require_all) {
  int count = ingot_engine_input_count(e);
  bool *given = calloc((size_t)count + 1, sizeof *given);
  if (!given) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "oom");
  ingot_status st = NULL;
  for (int i = 0; !st && i < n; i++) {
    const char *eq = strchr(args[i], '=');
    const char *file = eq ? eq + 1 : args[i];
    int idx = 0;
    if (eq) {
      char name[1024];
      snprintf(name, sizeof name, "%.*s", (int)(eq - args[i]), args[i]);
      idx = ingot_engine_find_input(e, name);
      if (idx < 0) {
        st = ingot_make_status(INGOT_NOT_FOUND,
                               "--input: '%s' is not an input of the engine",
                               name);
        break;
      }
    } else if (count != 1) {
      st = ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "--input %s: the engine has %d inputs; write "
                             "NAME=FILE",
                             args[i], count);
      break;
    }
    ir_value v = {0};
    st = cli_load_tensor(file, &v);
    if (!st) st = set_one(e, s, idx, &v);
    ir_value_free(&v);
    given[idx] = true;
  }
  for (int i = 0; !st && i < count; i++) {
    if (given[i]) continue;
    ingot_tensor_info info;
    st = ingot_engine_input_info(e, i, &info);
    if (st) break;
    if (require_all) {
      st = ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "no --input for engine input '%s'", info.name);
      break;
    }
    /* bench without inputs: a deterministic ramp of small values */
    void *buf = calloc(info.nbytes ? info.nbytes : 1, 1);
    if (!buf) {
      st = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "oom");
      break;
    }
    if (info.dtype == INGOT_FLOAT32)
      for (size_t k = 0; k < info.nbytes / 4; k++)
        ((float *)buf)[k] = (float)((k * 7) % 13) / 13.0f;
    st = ingot_session_set_input(s, i, info.dtype, buf, info.nbytes);
    free(buf);
  }
  free(given);
  return st;
}

ingot_status eio_get_output(ingot_engine *e, ingot_session *s, int k,
                            ir_value *out) {
  ingot_tensor_info info;
  memset(out, 0, sizeof *out);
  INGOT_RETURN_IF_ERROR(ingot_engine_output_info(e, k, &info));
  out->dtype = (ir_dtype)info.dtype;
  out->shape.rank = info.rank;
  for (int d = 0; d < info.rank; d++) out->shape.dims[d] = info.dims[d];
  INGOT_RETURN_IF_ERROR(ir_value_alloc(out));
  ingot_status st = ingot_session_get_output(s, k, info.dtype, out->data,
                                             ir_value_nbytes(out));
  if (st) ir_value_free(out);
  return st;
}

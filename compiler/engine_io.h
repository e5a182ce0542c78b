/* engine_io.h — what ingot run and ingot bench share for engines: loading
 * an engine and a session, and feeding inputs from files. */
#ifndef INGOT_COMPILER_ENGINE_IO_H
#define INGOT_COMPILER_ENGINE_IO_H

#include "cli.h"
#include "ingot/ingot.h"

/* Loads |path| and creates a session with |threads| (0 = all CPUs). */
ingot_status eio_open(const char *path, int threads, ingot_engine **e,
                      ingot_session **s);
/* eio_open on |device| ("cpu" or "cuda", from --device; NULL: cpu).  A
 * CUDA session prints the code it runs ("cubin sm_80") to stderr. */
ingot_status eio_open_device(const char *path, int threads,
                             const char *device, ingot_engine **e,
                             ingot_session **s);
/* Checks a --device value: NULL when it is cpu or cuda. */
ingot_status eio_check_device(const char *device);
/* Sets inputs from "NAME=FILE" (or "FILE" for a one-input engine)
 * arguments; inputs not given are filled with |fill| (bench) or, when
 * |require_all|, reported missing. */
ingot_status eio_set_inputs(ingot_engine *e, ingot_session *s,
                            const char *const *args, int n, bool require_all);
/* Output |k| as an owned ir_value in the model's layout and dtype. */
ingot_status eio_get_output(ingot_engine *e, ingot_session *s, int k,
                            ir_value *out);

#endif

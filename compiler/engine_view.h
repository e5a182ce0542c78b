/* engine_view.h — an engine file as tools see it (inspect, --disasm, --ir).
 *
 * libingot_rt loads an engine to run it, so it refuses one this machine
 * cannot run and keeps no section it does not need.  Tools must describe
 * any engine: one built with --mcpu for another CPU, one carrying the
 * LLVM_IR section.  ev_open reads the file and checks what tools read
 * (runtime/engine_format.h): the header's magic, major version and sizes,
 * the CRC32C, the section table's bounds, STRINGS, TENSORS, PLAN and
 * PROVENANCE counts and string references.  It maps no code and checks no
 * CPU features; ingot_engine_check_file says whether the engine runs here.
 * Every failure names the file and is INGOT_DATA_LOSS (corrupt) or
 * INGOT_INCOMPATIBLE (another major format version).
 */
#ifndef INGOT_COMPILER_ENGINE_VIEW_H
#define INGOT_COMPILER_ENGINE_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "engine_format.h"
#include "gpu_format.h"
#include "ingot/ingot.h"

typedef struct ev_tensor {
  const char *name;
  uint32_t role, dtype, stored_dtype, rank, layout;
  int64_t dims[INGOT_MAX_RANK];
  uint64_t arena_offset, arena_bytes;
} ev_tensor;

typedef struct ev_step {
  const char *symbol, *kernel, *op;
  const char *provenance; /* '\n'-separated model node names, "" if none */
  uint32_t precision;     /* ONNX dtype */
  int64_t tasks;
  uint64_t ops, bytes;
} ev_step;

typedef struct ev_engine {
  const char *path;       /* borrowed from the caller */
  uint8_t *file;          /* owned copy of the whole file */
  size_t size;
  ingot_file_header header;
  ingot_section_entry *sections; /* owned, header.section_count entries */
  ev_tensor *tensors;     /* owned: inputs, then outputs */
  uint32_t n_inputs, n_outputs;
  ev_step *steps;         /* owned */
  uint32_t n_steps;
  const uint8_t *code;    /* CPU_CODE (ELF object), NULL if absent */
  size_t code_size;
  const char *llvm_ir;    /* LLVM_IR text (not NUL-terminated), or NULL */
  size_t llvm_ir_size;
  char *build_info;       /* owned, NUL-terminated, "" if absent */
  rt_gpu_view gpu;        /* GPU sections (format 1.3); step_count 0: none */
} ev_engine;

/* Reads and checks |path| into |out| (zeroed on failure). */
ingot_status ev_open(const char *path, ev_engine *out);
/* Checks an engine image already in memory; |file| (|size| bytes, malloc'd)
 * is taken over, even on failure.  |path| names it in messages. */
ingot_status ev_open_buffer(uint8_t *file, size_t size, const char *path,
                            ev_engine *out);
/* Frees what ev_open allocated; tolerates a zeroed view and zeroes it. */
void ev_close(ev_engine *e);

/* The step |spec| names: an index ("3"), a symbol ("ingot_step_3") or a
 * model node name from the provenance (of the steps computing it, the one
 * with the most arithmetic, the last of equals: layout casts for a node's
 * inputs come before its own step).
 * INGOT_NOT_FOUND, saying what exists, if none matches. */
ingot_status ev_find_step(const ev_engine *e, const char *spec, uint32_t *out);

/* The value of the first BUILD_INFO line "KEY: value", copied into |buf|
 * (truncated to |n|); NULL when there is no such line. */
const char *ev_build_info(const ev_engine *e, const char *key, char *buf,
                          size_t n);
/* Section kind name ("CPU_CODE"), "unknown" for kinds from newer minors. */
const char *ev_section_name(uint32_t kind);

#endif

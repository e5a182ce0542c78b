/* fuzz_engine.c — libFuzzer target for the engine loader: any byte string
 * must load or fail with a status, never crash, hang or leak.
 *
 * The input's checksum is recomputed before loading, so mutations reach
 * the section, tensor, plan and ELF checks instead of stopping at the
 * CRC (the unit tests cover the checksum itself).  When an engine loads,
 * its tensor and step queries are exercised and it is released: running
 * arbitrary code from a fuzzed engine would execute whatever bytes the
 * fuzzer wrote, so no session is run here.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "engine_format.h"
#include "ingot/ingot.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  unsigned char *copy = malloc(size ? size : 1);
  if (!copy) return 0;
  if (size) memcpy(copy, data, size);
  if (size >= INGOT_HEADER_SIZE) {
    uint32_t crc = rt_crc32c(copy + INGOT_HEADER_SIZE, size - INGOT_HEADER_SIZE);
    memcpy(copy + offsetof(ingot_file_header, checksum), &crc, 4);
  }
  ingot_engine *e = NULL;
  ingot_status s = ingot_engine_load_memory(copy, size, &e);
  free(copy);
  if (s) {
    if (ingot_status_message(s)[0] == '\0') __builtin_trap();
    ingot_status_free(s);
    return 0;
  }
  ingot_tensor_info ti;
  for (int i = 0; i < ingot_engine_input_count(e); i++) {
    ingot_status q = ingot_engine_input_info(e, i, &ti);
    if (q || ingot_engine_find_input(e, ti.name) < 0) __builtin_trap();
  }
  for (int i = 0; i < ingot_engine_output_count(e); i++) {
    ingot_status q = ingot_engine_output_info(e, i, &ti);
    if (q || ingot_engine_find_output(e, ti.name) < 0) __builtin_trap();
  }
  ingot_engine_info info;
  ingot_engine_get_info(e, &info);
  for (int i = 0; i < info.step_count; i++) {
    ingot_step_info st;
    ingot_status q = ingot_engine_step_info(e, i, &st);
    if (q || !st.symbol[0] || st.tasks < 1) __builtin_trap();
    (void)strlen(st.provenance);
  }
  (void)strlen(info.build_info);
  ingot_engine_release(e);
  return 0;
}

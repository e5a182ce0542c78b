/* status.c — ingot_status: a code plus an owned message.
 *
 * A status is heap-allocated so messages can name files, nodes and tensors.
 * If the allocation itself fails we fall back to one static object per code
 * (marked so that ingot_status_free leaves it alone): an out-of-memory error
 * must never turn into a crash or a silent success.
 */
#include "ingot/ingot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ingot_status_object {
  ingot_status_code code;
  int is_static;
  char *message;
};

static struct ingot_status_object oom_status[] = {
    {INGOT_OK, 1, "ok"},
    {INGOT_INVALID_ARGUMENT, 1, "invalid argument (no memory for message)"},
    {INGOT_DATA_LOSS, 1, "data loss (no memory for message)"},
    {INGOT_INCOMPATIBLE, 1, "incompatible (no memory for message)"},
    {INGOT_UNIMPLEMENTED, 1, "unimplemented (no memory for message)"},
    {INGOT_RESOURCE_EXHAUSTED, 1, "out of memory"},
    {INGOT_OUT_OF_RANGE, 1, "out of range (no memory for message)"},
    {INGOT_INTERNAL, 1, "internal error (no memory for message)"},
    {INGOT_NOT_FOUND, 1, "not found (no memory for message)"},
    {INGOT_FAILED_PRECONDITION, 1, "failed precondition (no memory for message)"},
};

static ingot_status fallback(ingot_status_code code) {
  if ((unsigned)code >= sizeof oom_status / sizeof oom_status[0])
    code = INGOT_INTERNAL;
  return &oom_status[code];
}

ingot_status ingot_make_status_v(ingot_status_code code, const char *fmt,
                                 va_list ap) {
  if (code == INGOT_OK) return NULL;
  ingot_status s = malloc(sizeof *s);
  if (!s) return fallback(code);
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) n = 0;
  s->message = malloc((size_t)n + 1);
  if (!s->message) {
    free(s);
    return fallback(code);
  }
  vsnprintf(s->message, (size_t)n + 1, fmt, ap);
  s->code = code;
  s->is_static = 0;
  return s;
}

ingot_status ingot_make_status(ingot_status_code code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ingot_status s = ingot_make_status_v(code, fmt, ap);
  va_end(ap);
  return s;
}

ingot_status ingot_status_annotate(ingot_status s, const char *fmt, ...) {
  if (!s || s->is_static) return s;
  char prefix[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  size_t np = strlen(prefix), nm = strlen(s->message);
  char *m = malloc(np + nm + 1);
  if (!m) return s;
  memcpy(m, prefix, np);
  memcpy(m + np, s->message, nm + 1);
  free(s->message);
  s->message = m;
  return s;
}

ingot_status_code ingot_status_code_of(ingot_status s) {
  return s ? s->code : INGOT_OK;
}

const char *ingot_status_message(ingot_status s) {
  return s ? s->message : "OK";
}

const char *ingot_status_code_name(ingot_status_code code) {
  static const char *const names[] = {
      "OK",           "INVALID_ARGUMENT", "DATA_LOSS",
      "INCOMPATIBLE", "UNIMPLEMENTED",    "RESOURCE_EXHAUSTED",
      "OUT_OF_RANGE", "INTERNAL",         "NOT_FOUND",
      "FAILED_PRECONDITION"};
  if ((unsigned)code >= sizeof names / sizeof names[0]) return "UNKNOWN";
  return names[code];
}

void ingot_status_free(ingot_status s) {
  if (!s || s->is_static) return;
  free(s->message);
  free(s);
}

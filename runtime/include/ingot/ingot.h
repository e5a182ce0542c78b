/* ingot.h — the public C API of libingot_rt.
 *
 * This header is the whole contract between a product and the Ingot runtime.
 * It depends on nothing but the C standard library.  Today it holds the
 * status type that every Ingot library returns; the engine and session API
 * (load, query I/O, run, profile) joins it with the engine runtime.
 *
 * Statuses.  A function that can fail returns an |ingot_status|.  NULL means
 * success (so checking is one compare); anything else is an owned object that
 * carries a code and a human-readable message naming the file, node or tensor
 * and the reason.  The caller frees it with ingot_status_free() (or passes it
 * up).  A status never aborts the process.
 */
#ifndef INGOT_INGOT_H
#define INGOT_INGOT_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ingot_status_code {
  INGOT_OK = 0,
  INGOT_INVALID_ARGUMENT = 1,   /* the caller passed something wrong */
  INGOT_DATA_LOSS = 2,          /* a file is truncated or corrupt */
  INGOT_INCOMPATIBLE = 3,       /* version, feature or target mismatch */
  INGOT_UNIMPLEMENTED = 4,      /* valid input that Ingot does not support */
  INGOT_RESOURCE_EXHAUSTED = 5, /* out of memory or over a size limit */
  INGOT_OUT_OF_RANGE = 6,       /* an index or value outside its range */
  INGOT_INTERNAL = 7,           /* a bug in Ingot */
  INGOT_NOT_FOUND = 8,          /* a named file, tensor or node is absent */
  INGOT_FAILED_PRECONDITION = 9 /* needs something not available yet */
} ingot_status_code;

typedef struct ingot_status_object *ingot_status;

#if defined(__GNUC__) || defined(__clang__)
#define INGOT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define INGOT_PRINTF(f, a)
#endif

/* Makes a status with |code| and a printf-formatted message.  Never returns
 * NULL for a code other than INGOT_OK: when memory is short it returns a
 * static status that carries the code and a fixed message. */
ingot_status ingot_make_status(ingot_status_code code, const char *fmt, ...)
    INGOT_PRINTF(2, 3);
ingot_status ingot_make_status_v(ingot_status_code code, const char *fmt,
                                 va_list ap);

/* Prefixes the message of |s| with a formatted context ("file.onnx: ").
 * Returns |s| (possibly reallocated); NULL stays NULL. */
ingot_status ingot_status_annotate(ingot_status s, const char *fmt, ...)
    INGOT_PRINTF(2, 3);

static inline int ingot_ok(ingot_status s) { return s == NULL; }
ingot_status_code ingot_status_code_of(ingot_status s);
/* Borrowed; valid until the status is freed.  "OK" for NULL. */
const char *ingot_status_message(ingot_status s);
const char *ingot_status_code_name(ingot_status_code code);
void ingot_status_free(ingot_status s);

#define INGOT_RETURN_IF_ERROR(expr)        \
  do {                                     \
    ingot_status ingot_s_ = (expr);        \
    if (ingot_s_) return ingot_s_;         \
  } while (0)

#ifdef __cplusplus
}
#endif
#endif /* INGOT_INGOT_H */

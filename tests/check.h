/* check.h — the tiny assertion kit every C test uses.  CHECK records a
 * failure with file and line and keeps going; a test's main returns
 * check_report(), non-zero when anything failed. */
#ifndef INGOT_TESTS_CHECK_H
#define INGOT_TESTS_CHECK_H

#include <stdio.h>

static int check_failures;

#define CHECK(cond)                                                     \
  do {                                                                  \
    if (!(cond)) {                                                      \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,  \
              #cond);                                                   \
      check_failures++;                                                 \
    }                                                                   \
  } while (0)

/* Expects |s| to be OK; prints its message and frees it otherwise. */
#define CHECK_OK(expr)                                                  \
  do {                                                                  \
    ingot_status check_s_ = (expr);                                     \
    if (check_s_) {                                                     \
      fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__,     \
              #expr, ingot_status_message(check_s_));                   \
      ingot_status_free(check_s_);                                      \
      check_failures++;                                                 \
    }                                                                   \
  } while (0)

static inline int check_report(const char *name) {
  if (check_failures)
    fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
  else
    printf("%s: all checks passed\n", name);
  return check_failures != 0;
}

#endif

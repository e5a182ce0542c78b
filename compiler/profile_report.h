/* profile_report.h — what `ingot profile` measured (cmd_profile.c) and the
 * writers that print it (profile_out.c): a table, JSON, Chrome trace JSON
 * and SVG.  The JSON and trace formats are specified in
 * docs/profile-format.md; a change there bumps PROF_JSON_VERSION. */
#ifndef INGOT_COMPILER_PROFILE_REPORT_H
#define INGOT_COMPILER_PROFILE_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "ingot/ingot.h"
#include "peak.h"

#define PROF_JSON_VERSION 2

/* One plan step with its measurements. */
typedef struct prof_row {
  int index;                 /* plan order */
  ingot_step_info info;      /* borrowed from the engine */
  ingot_step_profile p;
  const char *family;        /* kernel family: "conv", "matmul", ... */
  double share;              /* of the sum of the steps' quiet times */
  double gops, gbps;         /* ops and bytes over the quiet time */
  double peak_gflops;        /* the ISA's peak at the step's threads; 0 n/a */
  double peak_pct;           /* gops of peak_gflops, %; < 0 n/a */
} prof_row;

typedef struct prof_report {
  const char *engine_path;
  ingot_engine_info info;
  int threads, iterations, warmup;
  peak_isa isa;              /* the engine's instruction set */
  prof_row *rows;            /* plan order */
  int n_rows;
  double step_sum_us;        /* sum of the steps' quiet times */
  /* unprofiled runs; quiet: the mean of their fastest quarter */
  double e2e_min_us, e2e_median_us, e2e_mean_us, e2e_quiet_us;
  ingot_profile_summary summary;
  char peak_note[1100];      /* where the peak came from, or why none */
  const ingot_session *session; /* for the trace events */
} prof_report;

/* Writers; each returns non-zero when writing to |f| failed. */
int prof_write_table(FILE *f, const prof_report *r);
int prof_write_json(FILE *f, const prof_report *r);
int prof_write_chrome(FILE *f, const prof_report *r);
int prof_write_svg(FILE *f, const prof_report *r);

#endif

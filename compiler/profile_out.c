/* profile_out.c — the writers of `ingot profile`: a table sorted by time,
 * JSON, Chrome trace JSON and an SVG bar chart (profile_report.h).  The
 * formats are specified in docs/profile-format.md.  Every writer prints
 * only finite numbers (JSON gets null where a value does not apply) and
 * escapes the model's names, which are arbitrary strings. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "profile_report.h"

/* "none" for a step that records no compute dtype (a plain copy). */
static const char *dtype_name(ingot_dtype t) {
  return t ? ir_dtype_name((ir_dtype)t) : "none";
}

/* "1.18M": 3 significant digits with an SI suffix. */
static const char *si(double v, char *buf, size_t n) {
  static const char suffix[] = " KMGTP";
  int k = 0;
  while (fabs(v) >= 999.5 && k < 5) {
    v /= 1000;
    k++;
  }
  if (k == 0)
    snprintf(buf, n, "%.0f", v);
  else
    snprintf(buf, n, "%.*f%c", fabs(v) < 9.995 ? 2 : fabs(v) < 99.95 ? 1 : 0,
             v, suffix[k]);
  return buf;
}

/* The step's node names joined by |sep|, cut to |max| characters. */
static const char *nodes_str(const prof_row *w, char sep, char *buf,
                             size_t max) {
  size_t len = 0;
  const char *p = w->info.provenance;
  for (; *p && len + 1 < max; p++) buf[len++] = *p == '\n' ? sep : *p;
  buf[len] = '\0';
  if (*p && max > 4) memcpy(buf + max - 4, "...", 4);
  if (!len && max > 2) snprintf(buf, max, "-");
  return buf;
}

static const char *cut(const char *s, char *buf, size_t max) {
  snprintf(buf, max, "%s", s);
  if (strlen(s) >= max && max > 4) memcpy(buf + max - 4, "...", 4);
  return buf;
}

/*===--- table ------------------------------------------------------------===*/

static int by_time(const void *a, const void *b) {
  const prof_row *x = *(prof_row *const *)a, *y = *(prof_row *const *)b;
  if (x->p.quiet_us != y->p.quiet_us)
    return x->p.quiet_us < y->p.quiet_us ? 1 : -1;
  return x->index - y->index;
}

int prof_write_table(FILE *f, const prof_report *r) {
  const ingot_profile_summary *sm = &r->summary;
  bool counters = sm->counters && sm->counter_runs > 0;
  fprintf(f, "engine      %s: %d steps, %d thread%s, %s code (cpu %s)\n",
          r->engine_path, r->n_rows, r->threads, r->threads > 1 ? "s" : "",
          peak_isa_name(r->isa), r->info.target_cpu);
  const char *gpu = r->session ? ingot_session_device_code(r->session) : NULL;
  if (gpu)
    fprintf(f, "device      CUDA GPU 0 runs %s; step times from CUDA events "
            "recorded between the launches\n", gpu);
  fprintf(f,
          "runs        %d profiled, each paired with an unprofiled run, "
          "after %d warm-up\n",
          r->iterations, r->warmup);
  fprintf(f, "peak        fp32 %s: %s\n", peak_isa_name(r->isa), r->peak_note);
  if (counters)
    fprintf(f, "counters    %lld counted runs%s%s\n", sm->counter_runs,
            sm->counters_note[0] ? "; " : "", sm->counters_note);
  else
    fprintf(f, "counters    off: %s\n", sm->counters_note);
  fprintf(f, "\n%4s  %-28s %-34s %-8s %-11s %9s %6s %7s %7s %7s %7s %6s",
          "step", "nodes", "op", "prec", "kernel", "time us", "share", "ops",
          "GOPS", "bytes", "GB/s", "%peak");
  if (counters) fprintf(f, " %8s %5s %8s", "cycles", "IPC", "misses");
  fputc('\n', f);
  prof_row **order = malloc(((size_t)r->n_rows + 1) * sizeof *order);
  if (!order) return 1;
  for (int i = 0; i < r->n_rows; i++) order[i] = &r->rows[i];
  qsort(order, (size_t)r->n_rows, sizeof *order, by_time);
  for (int i = 0; i < r->n_rows; i++) {
    const prof_row *w = order[i];
    char nodes[29], op[35], ops[16], bytes[16], pk[16], gops[16], gbps[16];
    if (w->peak_pct >= 0) snprintf(pk, sizeof pk, "%.1f", w->peak_pct);
    else snprintf(pk, sizeof pk, "-");
    snprintf(gops, sizeof gops, w->info.ops ? "%.2f" : "-", w->gops);
    snprintf(gbps, sizeof gbps, "%.2f", w->gbps);
    fprintf(f, "%4d  %-28s %-34s %-8s %-11s %9.2f %5.1f%% %7s %7s %7s %7s %6s",
            w->index, nodes_str(w, ',', nodes, sizeof nodes),
            cut(w->info.op, op, sizeof op), dtype_name(w->info.precision),
            w->family, w->p.quiet_us, 100 * w->share,
            si((double)w->info.ops, ops, sizeof ops), gops,
            si((double)w->info.bytes, bytes, sizeof bytes), gbps, pk);
    if (counters) {
      char cyc[16], miss[16];
      if (w->p.counter_runs)
        fprintf(f, " %8s %5.2f %8s", si(w->p.cycles, cyc, sizeof cyc),
                w->p.cycles > 0 ? w->p.instructions / w->p.cycles : 0.0,
                si(w->p.cache_misses, miss, sizeof miss));
      else
        fprintf(f, " %8s %5s %8s", "-", "-", "-");
    }
    fputc('\n', f);
  }
  free(order);
  fprintf(f,
          "\ntotal       steps %.2f us = %.1f%% of the end-to-end %.2f us\n"
          "            (times: means over the quarter of the runs with the "
          "shortest run times;\n"
          "            unprofiled runs: min %.2f, median %.2f, mean %.2f us; "
          "one clock read,\n"
          "            %.0f ns, taken off each step and each run)\n",
          r->step_sum_us,
          r->e2e_quiet_us > 0 ? 100 * r->step_sum_us / r->e2e_quiet_us : 0,
          r->e2e_quiet_us, r->e2e_min_us, r->e2e_median_us, r->e2e_mean_us,
          sm->timer_overhead_ns);
  return ferror(f) != 0;
}

/*===--- JSON -------------------------------------------------------------===*/

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p == '\n') fputs("\\n", f);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static void json_num(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.6g", v);
  else fputs("null", f);
}

static void json_nodes(FILE *f, const char *prov) {
  fputc('[', f);
  int first = 1;
  while (*prov) {
    size_t n = strcspn(prov, "\n");
    if (n) {
      char *name = strndup(prov, n);
      if (!first) fputs(", ", f);
      json_str(f, name ? name : "");
      free(name);
      first = 0;
    }
    prov += n + (prov[n] == '\n');
  }
  fputc(']', f);
}

int prof_write_json(FILE *f, const prof_report *r) {
  const ingot_profile_summary *sm = &r->summary;
  fprintf(f, "{\n  \"format\": \"ingot-profile\",\n  \"version\": %d,\n",
          PROF_JSON_VERSION);
  fputs("  \"engine\": {\"path\": ", f);
  json_str(f, r->engine_path);
  fputs(", \"producer\": ", f);
  json_str(f, r->info.producer);
  fputs(", \"target_cpu\": ", f);
  json_str(f, r->info.target_cpu);
  fprintf(f, ", \"isa\": \"%s\", \"content_hash\": \"%016llx\", "
             "\"steps\": %d},\n",
          peak_isa_name(r->isa), r->info.content_hash, r->n_rows);
  fprintf(f, "  \"threads\": %d,\n  \"iterations\": %d,\n  \"warmup\": %d,\n",
          r->threads, r->iterations, r->warmup);
  fputs("  \"timer_overhead_ns\": ", f);
  json_num(f, sm->timer_overhead_ns);
  fputs(",\n  \"latency_us\": {\"min\": ", f);
  json_num(f, r->e2e_min_us);
  fputs(", \"median\": ", f);
  json_num(f, r->e2e_median_us);
  fputs(", \"mean\": ", f);
  json_num(f, r->e2e_mean_us);
  fputs(", \"quiet\": ", f);
  json_num(f, r->e2e_quiet_us);
  fputs("},\n  \"step_sum_us\": ", f);
  json_num(f, r->step_sum_us);
  fputs(",\n  \"step_sum_ratio\": ", f);
  json_num(f, r->e2e_quiet_us > 0 ? r->step_sum_us / r->e2e_quiet_us : NAN);
  fprintf(f, ",\n  \"peak\": {\"isa\": \"%s\", \"note\": ",
          peak_isa_name(r->isa));
  json_str(f, r->peak_note);
  fprintf(f, "},\n  \"counters\": {\"enabled\": %s, \"runs\": %lld, "
             "\"note\": ",
          sm->counters ? "true" : "false", sm->counter_runs);
  json_str(f, sm->counters_note);
  fputs("},\n  \"steps\": [", f);
  for (int i = 0; i < r->n_rows; i++) {
    const prof_row *w = &r->rows[i];
    const ingot_step_profile *p = &w->p;
    fprintf(f, "%s\n    {\"index\": %d, \"symbol\": ", i ? "," : "", i);
    json_str(f, w->info.symbol);
    fputs(", \"nodes\": ", f);
    json_nodes(f, w->info.provenance);
    fputs(", \"op\": ", f);
    json_str(f, w->info.op);
    fputs(", \"kernel\": ", f);
    json_str(f, w->info.kernel);
    fputs(", \"family\": ", f);
    json_str(f, w->family);
    fprintf(f, ", \"precision\": \"%s\", \"tasks\": %lld, \"threads\": %d, "
               "\"runs\": %lld,\n     \"time_us\": {\"min\": ",
            dtype_name(w->info.precision), w->info.tasks, p->threads, p->runs);
    json_num(f, p->min_us);
    fputs(", \"median\": ", f);
    json_num(f, p->median_us);
    fputs(", \"mean\": ", f);
    json_num(f, p->mean_us);
    fputs(", \"max\": ", f);
    json_num(f, p->max_us);
    fputs(", \"quiet\": ", f);
    json_num(f, p->quiet_us);
    fputs("}, \"share\": ", f);
    json_num(f, w->share);
    fprintf(f, ", \"ops\": %llu, \"gops\": ", w->info.ops);
    json_num(f, w->p.quiet_us > 0 ? w->gops : NAN);
    fprintf(f, ", \"bytes\": %llu, \"gbps\": ", w->info.bytes);
    json_num(f, w->p.quiet_us > 0 ? w->gbps : NAN);
    fputs(",\n     \"peak_gflops\": ", f);
    json_num(f, w->peak_pct >= 0 ? w->peak_gflops : NAN);
    fputs(", \"peak_percent\": ", f);
    json_num(f, w->peak_pct >= 0 ? w->peak_pct : NAN);
    bool c = p->counter_runs > 0;
    fprintf(f, ", \"counter_runs\": %lld, \"cycles\": ", p->counter_runs);
    json_num(f, c ? p->cycles : NAN);
    fputs(", \"instructions\": ", f);
    json_num(f, c ? p->instructions : NAN);
    fputs(", \"cache_misses\": ", f);
    json_num(f, c ? p->cache_misses : NAN);
    fputc('}', f);
  }
  fputs("\n  ]\n}\n", f);
  return ferror(f) != 0;
}

/*===--- Chrome trace (Trace Event Format) --------------------------------===*/

/* Perfetto and chrome://tracing read "X" (complete) events with ts and
 * dur in microseconds; tid N+1 is pool thread N. */
int prof_write_chrome(FILE *f, const prof_report *r) {
  fputs("{\"displayTimeUnit\": \"ns\",\n \"otherData\": {\"format\": "
        "\"ingot-profile-trace\", \"version\": 1, \"engine\": ",
        f);
  json_str(f, r->engine_path);
  fputs("},\n \"traceEvents\": [\n  {\"name\": \"process_name\", \"ph\": "
        "\"M\", \"pid\": 1, \"tid\": 1, \"args\": {\"name\": ",
        f);
  char title[1200];
  snprintf(title, sizeof title, "ingot profile %s", r->engine_path);
  json_str(f, title);
  fputs("}}", f);
  for (int t = 0; t < r->threads; t++) {
    char name[64];
    if (t == 0) snprintf(name, sizeof name, "thread 0 (calls run)");
    else snprintf(name, sizeof name, "worker %d", t);
    fprintf(f, ",\n  {\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, "
               "\"tid\": %d, \"args\": {\"name\": \"%s\"}}",
            t + 1, name);
    fprintf(f, ",\n  {\"name\": \"thread_sort_index\", \"ph\": \"M\", "
               "\"pid\": 1, \"tid\": %d, \"args\": {\"sort_index\": %d}}",
            t + 1, t);
  }
  for (size_t i = 0; i < r->summary.events; i++) {
    ingot_profile_event ev;
    ingot_status s = ingot_session_profile_event(r->session, i, &ev);
    if (s) {
      ingot_status_free(s);
      return 1;
    }
    const prof_row *w = ev.step >= 0 && ev.step < r->n_rows
                            ? &r->rows[ev.step] : NULL;
    /* a chunk that is the whole step on the calling thread adds nothing */
    if (ev.kind == INGOT_EVENT_CHUNK && w && ev.thread == 0 &&
        ev.task_begin == 0 && ev.task_end == w->info.tasks)
      continue;
    const char *cat = ev.kind == INGOT_EVENT_RUN    ? "run"
                      : ev.kind == INGOT_EVENT_STEP ? "step"
                                                    : "chunk";
    char name[300], nodes[200];
    if (!w)
      snprintf(name, sizeof name, "run %lld", ev.run);
    else
      snprintf(name, sizeof name, "%s", w->info.provenance[0]
                   ? nodes_str(w, ',', nodes, sizeof nodes) : w->info.op);
    fputs(",\n  {\"name\": ", f);
    json_str(f, name);
    fprintf(f, ", \"cat\": \"%s\", \"ph\": \"X\", \"ts\": %.3f, \"dur\": "
               "%.3f, \"pid\": 1, \"tid\": %d, \"args\": {\"run\": %lld",
            cat, ev.start_us, ev.duration_us, ev.thread + 1, ev.run);
    if (w) {
      fprintf(f, ", \"step\": %d, \"op\": ", ev.step);
      json_str(f, w->info.op);
      fputs(", \"kernel\": ", f);
      json_str(f, w->info.kernel);
      fprintf(f, ", \"precision\": \"%s\", \"tasks\": [%lld, %lld]",
              dtype_name(w->info.precision), ev.task_begin, ev.task_end);
    }
    fputs("}}", f);
  }
  fputs("\n ]\n}\n", f);
  return ferror(f) != 0;
}

/*===--- SVG --------------------------------------------------------------===*/

static const struct {
  ingot_dtype dtype;
  const char *color;
} precision_colors[] = {
    {INGOT_FLOAT32, "#4e79a7"}, {INGOT_FLOAT16, "#59a14f"},
    {INGOT_BFLOAT16, "#8cd17d"}, {INGOT_INT8, "#f28e2b"},
    {INGOT_UINT8, "#ffbe7d"},   {INGOT_INT32, "#e15759"},
    {INGOT_INT64, "#b07aa1"},   {INGOT_BOOL, "#9d7660"},
};
#define OTHER_COLOR "#bab0ac"

static const char *color_of(ingot_dtype t) {
  for (size_t i = 0; i < sizeof precision_colors / sizeof precision_colors[0];
       i++)
    if (precision_colors[i].dtype == t) return precision_colors[i].color;
  return OTHER_COLOR;
}

static void xml_text(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    default:
      if ((unsigned char)*s >= 0x20) fputc(*s, f);
    }
  }
}

/* Horizontal bars in plan order: one row per step, its quiet time. */
int prof_write_svg(FILE *f, const prof_report *r) {
  enum { W = 1100, LABEL = 330, BAR_W = 470, ROW = 18, TOP = 84, LEG = 22 };
  double max = 0;
  bool seen[32] = {false};
  for (int i = 0; i < r->n_rows; i++) {
    if (r->rows[i].p.quiet_us > max) max = r->rows[i].p.quiet_us;
    unsigned t = r->rows[i].info.precision;
    if (t < 32) seen[t] = true;
  }
  if (max <= 0) max = 1;
  int h = TOP + r->n_rows * ROW + 30;
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
             "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
             "font-size=\"11\">\n",
          W, h, W, h);
  fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, h);
  fputs("<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">"
        "ingot profile: ", f);
  xml_text(f, r->engine_path);
  fputs("</text>\n", f);
  fprintf(f, "<text x=\"10\" y=\"38\" fill=\"#444\">%d steps, %d thread%s, "
             "%s; step times over the quietest quarter of %d runs; steps sum "
             "to %.2f us, end-to-end %.2f us</text>\n",
          r->n_rows, r->threads, r->threads > 1 ? "s" : "",
          peak_isa_name(r->isa), r->iterations, r->step_sum_us,
          r->e2e_quiet_us);
  int lx = 10;
  for (unsigned t = 0; t < 32; t++) {
    if (!seen[t]) continue;
    fprintf(f, "<rect x=\"%d\" y=\"48\" width=\"12\" height=\"12\" "
               "fill=\"%s\"/><text x=\"%d\" y=\"58\">%s</text>\n",
            lx, color_of((ingot_dtype)t), lx + 16,
            dtype_name((ingot_dtype)t));
    lx += LEG + 8 * (int)strlen(dtype_name((ingot_dtype)t));
  }
  /* time axis: 1, 2 or 5 times a power of ten, at most 6 ticks */
  double tick = pow(10, floor(log10(max / 6)));
  if (max / tick > 30) tick *= 5;
  else if (max / tick > 12) tick *= 2;
  for (int k = 0; k * tick <= max * 1.0001; k++) {
    double x = LABEL + BAR_W * k * tick / max;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
               "stroke=\"#e4e4e4\"/><text x=\"%.1f\" y=\"%d\" "
               "text-anchor=\"middle\" fill=\"#777\">%g us</text>\n",
            x, TOP - 2, x, TOP + r->n_rows * ROW, x, TOP - 6, k * tick);
  }
  for (int i = 0; i < r->n_rows; i++) {
    const prof_row *w = &r->rows[i];
    int y = TOP + i * ROW;
    char nodes[44], label[64];
    nodes_str(w, ',', nodes, sizeof nodes);
    snprintf(label, sizeof label, "%d %s", w->index, nodes);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", LABEL - 6,
            y + 11);
    xml_text(f, label);
    fputs("</text>\n", f);
    double bw = BAR_W * w->p.quiet_us / max;
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"13\" "
               "fill=\"%s\"><title>",
            LABEL, y + 1, bw > 0.5 ? bw : 0.5, color_of(w->info.precision));
    xml_text(f, w->info.op);
    fprintf(f, " (%s, %s)</title></rect>\n", w->info.kernel,
            dtype_name(w->info.precision));
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" fill=\"#222\">%.2f us (%.1f%%) "
               "<tspan fill=\"#777\">",
            LABEL + bw + 5, y + 11, w->p.quiet_us, 100 * w->share);
    xml_text(f, w->info.op);
    fputs("</tspan></text>\n", f);
  }
  fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
             "stroke=\"#888\"/>\n",
          LABEL, TOP - 2, LABEL, TOP + r->n_rows * ROW);
  fputs("</svg>\n", f);
  return ferror(f) != 0;
}

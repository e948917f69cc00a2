/*
 * test_reload_window — the budget check at prepare counts a streamed
 * component's device window, and an AUTO component whose resident bytes
 * fill the budget exactly is placed resident. hello_encoder with dim = 64
 * has 256-byte rows: a stream window of W rows books W * 256 bytes, the
 * resident table buckets * 256 bytes. Checked three ways:
 *   - in-process: a first load whose window does not fit is refused;
 *   - in-process: a reload that grows the window past the budget is
 *     refused and the running component keeps its 16-row window;
 *   - `warmd -t` on the same files: exit 1 with the budget line, exit 0
 *     for the file that fits.
 */
#include "reload.h"
#include "wh_testutil.h"

#define WARMD WARM_BUILD_DIR "/bin/warmd"
#define PLUGINS WARM_BUILD_DIR "/plugins"
#define ROW 256 /* dim 64 x f32 */

static char g_dir[512];

/* placement, stream_window, budget */
static void config_text(char *out, size_t n, const char *placement,
                        unsigned window, const char *budget) {
  snprintf(out, n,
           "[host]\nplugin_dir = %s\nadmin_socket = %s/a.sock\n" /* 1-3 */
           "[device cpu]\n"                                      /* 4 */
           "budget = %s\n"                                       /* 5 */
           "[component enc]\n"                                   /* 6 */
           "plugin = hello_encoder\n"                            /* 7 */
           "dim = 64\n"                                          /* 8 */
           "buckets = 64\n"                                      /* 9 */
           "placement = %s\n"                                    /* 10 */
           "stream_window = %u\n",                               /* 11 */
           PLUGINS, g_dir, budget, placement, window);
}

static wh_config *parse(const char *text) {
  wh_config *c = NULL;
  if (wh_config_parse("/virtual/window.ini", text, strlen(text), &c) != 0 ||
      !c || c->n_errors) {
    fprintf(stderr, "config does not parse:\n%s\n", text);
    exit(1);
  }
  return c;
}

/* Prepares (and commits when it passes); returns the prepare/commit code
 * and whether an error names the budget line. */
static int apply(wh_runtime *rt, const char *text, int *budget_error) {
  wh_config *c = parse(text);
  wh_plan *plan = NULL;
  int rc = wh_reload_prepare(rt, c, &plan);
  *budget_error = 0;
  for (size_t i = 0; i < c->n_errors; i++) {
    fprintf(stderr, "  (config) %s\n", c->errors[i]);
    if (strstr(c->errors[i], ":5: device cpu: placed components need"))
      *budget_error = 1;
  }
  if (rc == 0) {
    char sum[256];
    warm_error e = {0};
    rc = wh_reload_commit(rt, plan, sum, sizeof sum, &e);
    if (rc) fprintf(stderr, "  commit: %s\n", e.msg);
  }
  wh_config_free(c);
  return rc;
}

static wh_component *enc_of(wh_runtime *rt) {
  for (size_t i = 0; i < rt->n_components; i++)
    if (!strcmp(rt->components[i]->name, "enc")) return rt->components[i];
  return NULL;
}

static uint64_t booked(wh_runtime *rt) {
  wh_device *d = wh_runtime_device(rt, "cpu");
  warm_ledger_stats st = {0};
  if (d) warm_ledger_stats_get(d->ledger, &st);
  return st.booked;
}

static void test_first_load_counts_the_window(void) {
  wh_runtime *rt = NULL;
  CHECK(wh_runtime_create(&rt) == 0, "runtime");
  rt->live = 1;
  char text[2048];
  int be = 0;
  /* 1024 rows = 256 KiB of window against 64 KiB. */
  config_text(text, sizeof text, "stream", 1024, "64KiB");
  CHECK(apply(rt, text, &be) == WARM_EINVAL && be,
        "a 256 KiB window in a 64 KiB budget is refused at the budget line");
  CHECK(rt->n_components == 0, "nothing created");
  /* 256 rows = exactly 64 KiB: fits. */
  config_text(text, sizeof text, "stream", 256, "64KiB");
  CHECK(apply(rt, text, &be) == 0, "a window filling the budget fits");
  CHECK(booked(rt) == 256 * ROW, "window booked: %llu",
        (unsigned long long)booked(rt));
  wh_runtime_destroy(rt);
}

static void test_reload_growing_the_window_is_refused(void) {
  wh_runtime *rt = NULL;
  CHECK(wh_runtime_create(&rt) == 0, "runtime");
  rt->live = 1;
  char text[2048];
  int be = 0;
  config_text(text, sizeof text, "stream", 16, "64KiB");
  CHECK(apply(rt, text, &be) == 0, "16 rows fit");
  CHECK(booked(rt) == 16 * ROW, "16-row window booked");
  config_text(text, sizeof text, "stream", 1024, "64KiB");
  CHECK(apply(rt, text, &be) == WARM_EINVAL && be,
        "reload to a 1024-row window refused at the budget line");
  wh_component *c = enc_of(rt);
  CHECK(c && c->stream_window == 16 && c->active == WARM_PLACE_STREAM,
        "the running component keeps its window: %u",
        c ? c->stream_window : 0);
  CHECK(booked(rt) == 16 * ROW, "ledger unchanged: %llu",
        (unsigned long long)booked(rt));
  wh_runtime_destroy(rt);
}

static void test_auto_resident_when_it_fills_the_budget(void) {
  wh_runtime *rt = NULL;
  CHECK(wh_runtime_create(&rt) == 0, "runtime");
  rt->live = 1;
  char text[2048];
  int be = 0;
  /* 64 buckets x 256 bytes = 16 KiB: exactly the budget. */
  config_text(text, sizeof text, "auto", 4, "16KiB");
  CHECK(apply(rt, text, &be) == 0, "auto fits");
  wh_component *c = enc_of(rt);
  CHECK(c && c->active == WARM_PLACE_RESIDENT,
        "resident bytes equal to the budget: resident, got %s",
        c ? warm_placement_name(c->active) : "(none)");
  wh_runtime_destroy(rt);
  /* One byte less: it streams. */
  CHECK(wh_runtime_create(&rt) == 0, "runtime");
  rt->live = 1;
  config_text(text, sizeof text, "auto", 4, "16383");
  CHECK(apply(rt, text, &be) == 0, "auto fits by streaming");
  c = enc_of(rt);
  CHECK(c && c->active == WARM_PLACE_STREAM, "one byte short: stream, got %s",
        c ? warm_placement_name(c->active) : "(none)");
  wh_runtime_destroy(rt);
}

static void test_warmd_t_counts_the_window(void) {
  char text[2048], ini[700], cmd[1600], out[8192];
  snprintf(ini, sizeof ini, "%s/warmd.ini", g_dir);
  snprintf(cmd, sizeof cmd, "%s -t -c %s", WARMD, ini);
  config_text(text, sizeof text, "stream", 1024, "4KiB");
  wt_write(ini, "%s", text);
  char where[800];
  snprintf(where, sizeof where, "%s:5: device cpu: placed components need",
           ini);
  CHECK(wt_run(cmd, out, sizeof out) == 1 && strstr(out, where),
        "warmd -t refuses a 1024-row window in 4 KiB: %s", out);
  config_text(text, sizeof text, "stream", 16, "4KiB");
  wt_write(ini, "%s", text);
  CHECK(wt_run(cmd, out, sizeof out) == 0 && strstr(out, "configuration OK"),
        "warmd -t accepts a 16-row window in 4 KiB: %s", out);
}

int main(void) {
  char so[600];
  snprintf(so, sizeof so, "%s/hello_encoder.so", PLUGINS);
  if (access(WARMD, X_OK) != 0 || access(so, R_OK) != 0) {
    fprintf(stderr, "FAIL: needs %s and %s\n", WARMD, so);
    return 1;
  }
  wt_tempdir(g_dir, sizeof g_dir, "window");
  RUN(test_first_load_counts_the_window);
  RUN(test_reload_growing_the_window_is_refused);
  RUN(test_auto_resident_when_it_fills_the_budget);
  RUN(test_warmd_t_counts_the_window);
  wt_rmtree(g_dir);
  return wt_failures ? 1 : 0;
}

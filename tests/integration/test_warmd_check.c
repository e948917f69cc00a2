/*
 * test_warmd_check — `warmd -t -c FILE` as an operator runs it: exit 0 and
 * "configuration OK" for a good file; exit 1 and one FILE:LINE: message per
 * problem otherwise (no CUDA device at the device key, capabilities outside
 * the plugin's declared sets, pipeline roles, budgets, bad paths), all of
 * them at once. Also --version / --help / bad usage.
 */
#include "wh_testutil.h"
#include "wk.h"

#define WARMD WARM_BUILD_DIR "/bin/warmd"
#define PLUGINS WARM_BUILD_DIR "/plugins"
#define FIX WARM_BUILD_DIR "/tests/fixtures"

static char g_dir[512], g_ini[600];

static int check(const char *body, char *out, size_t n) {
  wt_write(g_ini, "%s", body);
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s -t -c %s", WARMD, g_ini);
  return wt_run(cmd, out, n);
}

static int has_line(const char *out, int line, const char *what) {
  char where[700];
  snprintf(where, sizeof where, "%s:%d: ", g_ini, line);
  for (const char *p = out; (p = strstr(p, where)) != NULL; p++) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    char buf[2048];
    snprintf(buf, sizeof buf, "%.*s", (int)len, p);
    if (strstr(buf, what)) return 1;
  }
  return 0;
}

static void test_good_file_passes(void) {
  char body[1024], out[8192];
  snprintf(body, sizeof body,
           "[host]\nplugin_dir = %s\nadmin_socket = %s/a.sock\n"
           "[component enc]\nplugin = hello_encoder\nplacement = auto\n"
           "[component enc2]\nplugin = hello_encoder\ndim = 8\n"
           "[pipeline]\nencoder = enc\n",
           PLUGINS, g_dir);
  CHECK(check(body, out, sizeof out) == 0 && strstr(out, "configuration OK"),
        "%s", out);
  CHECK(access(g_dir, F_OK) == 0 && 1, "dir");
  char sock[700];
  snprintf(sock, sizeof sock, "%s/a.sock", g_dir);
  CHECK(access(sock, F_OK) != 0, "-t opens no socket");
}

static void test_cuda_device_without_gpu_fails_at_device_key(void) {
  char body[1024], out[8192];
  int n = wk_cuda_device_count();
  char dev[32];
  /* On this machine (no GPU) it is cuda:0 itself; where GPUs exist, the
   * first index past them. */
  snprintf(dev, sizeof dev, "cuda:%d", n);
  snprintf(body, sizeof body,
           "[host]\nplugin_dir = %s\nadmin_socket = %s/a.sock\n" /* 1-3 */
           "[component enc]\n"                                   /* 4 */
           "plugin = hello_encoder\n"                            /* 5 */
           "device = %s\n",                                      /* 6 */
           PLUGINS, g_dir, dev);
  CHECK(check(body, out, sizeof out) == 1 && has_line(out, 6, "no CUDA device"),
        "%s", out);
}

static void test_every_error_is_listed_with_its_line(void) {
  char body[2048], out[16384];
  snprintf(body, sizeof body,
           "[host]\nplugin_dir = %s\nadmin_socket = %s/a.sock\n" /* 1-3 */
           "[device cpu]\n"                                      /* 4 */
           "budget = 1KiB\n"                                     /* 5 */
           "[component res_only]\n"                              /* 6 */
           "plugin = good\n"                                     /* 7 */
           "placement = stream\n"                                /* 8 */
           "dtype = bf16\n"                                      /* 9 */
           "[component major2]\n"                                /* 10 */
           "plugin = abi_major2\n"                               /* 11 */
           "[component escape]\n"                                /* 12 */
           "plugin = ../../plugins/hello_encoder\n",             /* 13 */
           FIX, g_dir);
  CHECK(check(body, out, sizeof out) == 1, "exit 1: %s", out);
  CHECK(has_line(out, 8, "does not support placement stream"), "%s", out);
  CHECK(has_line(out, 9, "does not support dtype bf16"), "%s", out);
  CHECK(has_line(out, 11, "ABI 2.0"), "%s", out);
  CHECK(has_line(out, 13, "never a path"), "%s", out);
  CHECK(strstr(out, "4 errors"), "count: %s", out);
  /* Listed in file order. */
  const char *l8 = strstr(out, ":8: "), *l13 = strstr(out, ":13: ");
  CHECK(l8 && l13 && l8 < l13, "order: %s", out);
}

static void test_budget_and_pipeline_roles(void) {
  char body[2048], out[16384];
  snprintf(body, sizeof body,
           "[host]\nplugin_dir = %s\nadmin_socket = %s/a.sock\n" /* 1-3 */
           "[device cpu]\n"                                      /* 4 */
           "budget = 1MiB\n"                                     /* 5 */
           "[component enc]\n"                                   /* 6 */
           "plugin = hello_encoder\n"                            /* 7 */
           "dim = 256\n"                                         /* 8 */
           "buckets = 4096\n"                                    /* 9 */
           "[pipeline]\n"                                        /* 10 */
           "encoder = enc\n"                                     /* 11 */
           "stages = enc\n",                                     /* 12 */
           PLUGINS, g_dir);
  CHECK(check(body, out, sizeof out) == 1 &&
            has_line(out, 5, "need 4.00 MiB") && has_line(out, 5, "budget"),
        "%s", out);
  /* Same file with room: now the stage role is the only problem. */
  snprintf(body, sizeof body,
           "[host]\nplugin_dir = %s\nadmin_socket = %s/a.sock\n"
           "[device cpu]\nbudget = 5MiB\n"
           "[component enc]\nplugin = hello_encoder\ndim = 256\n"
           "buckets = 4096\n[pipeline]\nencoder = enc\nstages = enc\n",
           PLUGINS, g_dir);
  CHECK(check(body, out, sizeof out) == 1 &&
            has_line(out, 12, "needs a transformer"),
        "%s", out);
  /* AUTO falls back to stream when resident does not fit: that passes. */
  snprintf(body, sizeof body,
           "[host]\nplugin_dir = %s\nadmin_socket = %s/a.sock\n"
           "[device cpu]\nbudget = 1MiB\n"
           "[component enc]\nplugin = hello_encoder\nplacement = auto\n"
           "dim = 256\nbuckets = 4096\n",
           PLUGINS, g_dir);
  CHECK(check(body, out, sizeof out) == 0, "auto streams: %s", out);
}

static void test_command_line(void) {
  char cmd[1024], out[8192];
  snprintf(cmd, sizeof cmd, "%s --version", WARMD);
  CHECK(wt_run(cmd, out, sizeof out) == 0 && strstr(out, "warmd ") &&
            strstr(out, "ABI 1."),
        "%s", out);
  snprintf(cmd, sizeof cmd, "%s --help", WARMD);
  CHECK(wt_run(cmd, out, sizeof out) == 0 && strstr(out, "-t -c FILE"), "%s",
        out);
  snprintf(cmd, sizeof cmd, "%s", WARMD);
  CHECK(wt_run(cmd, out, sizeof out) == 2 && strstr(out, "usage"), "%s", out);
  snprintf(cmd, sizeof cmd, "%s -t -c %s/nonexistent.ini", WARMD, g_dir);
  CHECK(wt_run(cmd, out, sizeof out) == 1 && strstr(out, "nonexistent.ini"),
        "%s", out);
}

int main(void) {
  if (access(WARMD, X_OK) != 0 || access(FIX "/good.so", R_OK) != 0) {
    fprintf(stderr, "FAIL: needs %s and the SDK fixtures in %s\n", WARMD, FIX);
    return 1;
  }
  wt_tempdir(g_dir, sizeof g_dir, "check");
  snprintf(g_ini, sizeof g_ini, "%s/warmd.ini", g_dir);
  RUN(test_good_file_passes);
  RUN(test_cuda_device_without_gpu_fails_at_device_key);
  RUN(test_every_error_is_listed_with_its_line);
  RUN(test_budget_and_pipeline_roles);
  RUN(test_command_line);
  wt_rmtree(g_dir);
  return wt_failures ? 1 : 0;
}

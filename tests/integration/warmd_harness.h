/*
 * warmd_harness.h — the real warmd binary for the fault and load tests: a
 * config over the ltxv_checkpoints fixture (hello_encoder -> transformer_ltxv
 * -> vae_ltxv), starting and stopping warmd, and HTTP job helpers over
 * http_testutil.h. One translation unit includes it.
 */
#ifndef WARMD_HARNESS_H
#define WARMD_HARNESS_H

#include <dirent.h>
#include <jansson.h>
#include <sys/resource.h>

#include "http_testutil.h"
#include "wh_testutil.h"

/* 1 in an AddressSanitizer build: its allocator keeps freed memory in a
 * quarantine and maps shadow memory, so RSS says nothing about what warmd
 * books; the RSS comparisons are skipped there. */
#if defined(__SANITIZE_ADDRESS__)
#define WD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WD_ASAN 1
#endif
#endif
#ifndef WD_ASAN
#define WD_ASAN 0
#endif

static char wd_dir[512], wd_sock[700], wd_cfg[700], wd_log[700];
static wt_proc wd_proc;
static int wd_port;
/* The text_encoder section's plugin and keys (tests change it). */
#define WD_ENCODER "plugin = hello_encoder\ndim = 24\nbuckets = 512\n"
static const char *wd_encoder = WD_ENCODER "placement = resident\n";

static inline json_t *wd_body(const ht_resp *r) {
  return json_loadb(r->body, r->body_len, 0, NULL);
}

/* POSTs a job; returns the status, the id in id (32 bytes) when given, the
 * error message in msg (n bytes) when given. */
static inline int wd_post(const char *body, char *id, char *msg, size_t n) {
  ht_resp r;
  ht_request(wd_port, "POST", "/v1/generations", body, &r);
  json_t *j = wd_body(&r);
  const char *s = j ? json_string_value(json_object_get(j, "id")) : NULL;
  const char *e = j ? json_string_value(json_object_get(j, "error")) : NULL;
  if (id) snprintf(id, 32, "%s", s ? s : "");
  if (msg) snprintf(msg, n, "%s", e ? e : r.body);
  int st = r.status;
  json_decref(j);
  ht_free(&r);
  return st;
}

/* The job's JSON (NULL when not 200). */
static inline json_t *wd_job(const char *id) {
  char path[128];
  snprintf(path, sizeof path, "/v1/generations/%s", id);
  ht_resp r;
  ht_request(wd_port, "GET", path, NULL, &r);
  json_t *j = r.status == 200 ? wd_body(&r) : NULL;
  ht_free(&r);
  return j;
}

static inline const char *wd_state(const char *id, char *buf, size_t n) {
  json_t *j = wd_job(id);
  const char *s = j ? json_string_value(json_object_get(j, "state")) : NULL;
  snprintf(buf, n, "%s", s ? s : "?");
  json_decref(j);
  return buf;
}

/* Waits until the job leaves queued/running; returns its final state in
 * buf ("?" when it vanished or the wait timed out). */
static inline const char *wd_wait(const char *id, double secs, char *buf,
                                  size_t n) {
  double end = wt_now() + secs;
  while (wt_now() < end) {
    wd_state(id, buf, n);
    if (strcmp(buf, "queued") && strcmp(buf, "running")) return buf;
    poll(NULL, 0, 5); /* a client's polling interval */
  }
  snprintf(buf, n, "?");
  return buf;
}

/* 1 when warmd's log holds a line with `needle`. */
static inline int wd_logged(const char *needle) {
  FILE *f = fopen(wd_log, "r");
  char line[4096];
  int found = 0;
  while (f && !found && fgets(line, sizeof line, f))
    found = strstr(line, needle) != NULL;
  if (f) fclose(f);
  return found;
}

/* Starts warmd on wd_cfg; with http, waits for its port. */
static inline int wd_start(int http) {
  char bin[1024];
  snprintf(bin, sizeof bin, "%s/bin/warmd", WARM_BUILD_DIR);
  char *argv[] = {bin, "-c", wd_cfg, NULL};
  if (wt_spawn(&wd_proc, wd_log, argv) || wt_wait_socket(&wd_proc, wd_sock, 30))
    return -1;
  if (!http) return 0;
  wd_port = ht_logged_port(wd_log, 10);
  return wd_port > 0 ? 0 : -1;
}

static inline int wd_stop(void) {
  if (wd_proc.pid <= 0) return -1;
  kill(wd_proc.pid, SIGTERM);
  return wt_wait_exit(&wd_proc, 30);
}

/* The standard config; `extra_host` and `extra` are appended to [host]
 * and after the pipeline (may be ""); dit is the transformer's weights
 * under the build folder, or absolute (NULL: ltxv-ckpt/dit_tiny). */
static inline void wd_config(const char *extra_host, const char *budget,
                             const char *dit, const char *extra) {
  wt_write(wd_cfg,
           "[host]\nplugin_dir = %s/plugins\nadmin_socket = %s\n"
           "output_dir = %s/out\nhttp_listen = 127.0.0.1:0\n"
           "max_queue = 10000\nshutdown_timeout = 5\n%s"
           "[device cpu]\nbudget = %s\n[cache]\nembeddings = 16MiB\n"
           "[component text_encoder]\n%sdevice = cpu\n"
           "[component transformer]\nplugin = transformer_ltxv\n"
           "weights = %s%s\ndevice = cpu\n"
           "placement = resident\n"
           "[component vae]\nplugin = vae_ltxv\n"
           "weights = %s/ltxv-ckpt/vae_tiny\ndevice = cpu\n"
           "placement = resident\n"
           "[pipeline]\nencoder = text_encoder\nstages = transformer\n"
           "decoder = vae\nframes = 9\nheight = 32\nwidth = 32\nsteps = 2\n"
           "guidance = 1\n%s",
           wd_dir, wd_sock, wd_dir, extra_host, budget, wd_encoder,
           dit && dit[0] == '/' ? "" : WARM_BUILD_DIR "/",
           dit ? dit : "ltxv-ckpt/dit_tiny", WARM_BUILD_DIR, extra);
}

/* SKIP (77) when the binaries are not built; else makes the temp folder. */
static inline int wd_setup(const char *tag) {
  signal(SIGPIPE, SIG_IGN);
  const char *need[4] = {"bin/warmd", "plugins/hello_encoder.so",
                         "plugins/transformer_ltxv.so", "plugins/vae_ltxv.so"};
  for (int i = 0; i < 4; i++) {
    char f[1024];
    snprintf(f, sizeof f, "%s/%s", WARM_BUILD_DIR, need[i]);
    if (access(f, R_OK)) {
      printf("SKIP: %s is not built\n", f);
      return 77;
    }
  }
  wt_tempdir(wd_dir, sizeof wd_dir, tag);
  /* The build's plugins and the fault_encoder fixture in one plugin_dir
   * (copies: warmd refuses a plugin that resolves outside it). */
  char cmd[2400];
  snprintf(cmd, sizeof cmd,
           "mkdir -p '%s/plugins' && cp %s/plugins/*.so '%s/plugins/' && "
           "cp %s/tests/fixtures/fault_encoder.so '%s/plugins/'",
           wd_dir, WARM_BUILD_DIR, wd_dir, WARM_BUILD_DIR, wd_dir);
  if (system(cmd) != 0) {
    fprintf(stderr, "cannot make the plugin folder\n");
    return 1;
  }
  snprintf(wd_sock, sizeof wd_sock, "%s/admin.sock", wd_dir);
  snprintf(wd_cfg, sizeof wd_cfg, "%s/warmd.ini", wd_dir);
  snprintf(wd_log, sizeof wd_log, "%s/warmd.log", wd_dir);
  return 0;
}

static inline void wd_teardown(void) {
  if (wd_proc.pid > 0) {
    kill(wd_proc.pid, SIGKILL);
    waitpid(wd_proc.pid, NULL, 0);
  }
  wt_rmtree(wd_dir);
}

static inline double wd_metric(const char *name) {
  ht_resp r;
  ht_request(wd_port, "GET", "/metrics", NULL, &r);
  char key[300];
  snprintf(key, sizeof key, "\n%s ", name);
  const char *p = r.body ? strstr(r.body, key) : NULL;
  double v = p ? atof(p + strlen(key)) : -1;
  ht_free(&r);
  return v;
}

static inline int wd_file_exists(const char *dir, const char *id,
                                 const char *name) {
  char path[1200];
  snprintf(path, sizeof path, "%s/out/%s/%s", dir, id, name);
  return access(path, F_OK) == 0;
}

/* Files in the job's folder whose name ends with `suffix`. */
static inline int wd_count_suffix(const char *id, const char *suffix) {
  char path[1200];
  snprintf(path, sizeof path, "%s/out/%s", wd_dir, id);
  DIR *d = opendir(path);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    size_t a = strlen(e->d_name), b = strlen(suffix);
    if (a >= b && !strcmp(e->d_name + a - b, suffix)) n++;
  }
  if (d) closedir(d);
  return n;
}

static inline json_t *wd_status_json(const char *id) {
  char path[1200];
  snprintf(path, sizeof path, "%s/out/%s/status.json", wd_dir, id);
  return json_load_file(path, 0, NULL);
}

/* VmRSS of a process in bytes (0 when unknown). */
static inline uint64_t wd_rss_of(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  uint64_t kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6)) kb = strtoull(line + 6, NULL, 10);
  if (f) fclose(f);
  return kb * 1024;
}

static inline int wd_readyz(char *body, size_t n) {
  ht_resp r;
  ht_request(wd_port, "GET", "/readyz", NULL, &r);
  snprintf(body, n, "%s", r.body ? r.body : "");
  int st = r.status;
  ht_free(&r);
  return st;
}

#endif /* WARMD_HARNESS_H */

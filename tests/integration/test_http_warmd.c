/*
 * test_http_warmd.c — the real warmd binary with [host] http_listen: HTTP
 * jobs through the real pipeline (hello_encoder -> transformer_ltxv ->
 * vae_ltxv on the tiny checkpoints), admin `drain` / `resume` / `show jobs`,
 * `/metrics` counting a reload, and SIGTERM: queued jobs that fit
 * shutdown_timeout finish, a job that does not is cancelled and marked so
 * in its status.json, and warmd exits 0.
 */
#include <jansson.h>

#include "http_testutil.h"
#include "wh_testutil.h"

static char dir[512], sock[700], cfg[700], logpath[700];
static wt_proc proc;
static int port;

static json_t *body_json(const ht_resp *r) {
  return json_loadb(r->body, r->body_len, 0, NULL);
}

static int post(const char *body, char *id) {
  ht_resp r;
  ht_request(port, "POST", "/v1/generations", body, &r);
  json_t *j = body_json(&r);
  const char *s = j ? json_string_value(json_object_get(j, "id")) : NULL;
  if (id) snprintf(id, 32, "%s", s ? s : "");
  int st = r.status;
  json_decref(j);
  ht_free(&r);
  return st;
}

static const char *state_of(const char *id, char *buf, size_t n) {
  char path[128];
  snprintf(path, sizeof path, "/v1/generations/%s", id);
  ht_resp r;
  ht_request(port, "GET", path, NULL, &r);
  json_t *j = r.status == 200 ? body_json(&r) : NULL;
  const char *s = j ? json_string_value(json_object_get(j, "state")) : NULL;
  snprintf(buf, n, "%s", s ? s : "?");
  json_decref(j);
  ht_free(&r);
  return buf;
}

static int wait_done(const char *id, double secs) {
  char st[32];
  double end = wt_now() + secs;
  while (wt_now() < end) {
    state_of(id, st, sizeof st);
    if (strcmp(st, "queued") && strcmp(st, "running"))
      return !strcmp(st, "done");
    poll(NULL, 0, 5); /* a client's polling interval */
  }
  return 0;
}

static int start(void) {
  char bin[1024];
  snprintf(bin, sizeof bin, "%s/bin/warmd", WARM_BUILD_DIR);
  char *argv[] = {bin, "-c", cfg, NULL};
  if (wt_spawn(&proc, logpath, argv) || wt_wait_socket(&proc, sock, 30))
    return -1;
  port = ht_logged_port(logpath, 10);
  return port > 0 ? 0 : -1;
}

static void test_warmd_http_jobs_drain_and_admin(void) {
  CHECK(start() == 0, "warmd starts with HTTP");
  char a[32], b[32], st[32];
  CHECK(post("{\"prompt\": \"a heron at dawn\", \"seed\": 3}", a) == 202,
        "POST");
  CHECK(wait_done(a, 60), "job done: %s", state_of(a, st, sizeof st));
  char path[128];
  snprintf(path, sizeof path, "/v1/generations/%s/video", a);
  ht_resp r;
  ht_request(port, "GET", path, NULL, &r);
  CHECK(r.status == 200 && !strncmp(r.body, "YUV4MPEG2", 9), "video: %d",
        r.status);
  ht_free(&r);

  char *rep = wt_cmd(sock, "drain");
  CHECK(rep && !strncmp(rep, "OK draining", 11), "drain: %s", rep);
  free(rep);
  CHECK(post("{\"prompt\": \"refused\"}", NULL) == 503, "POST while draining");
  ht_request(port, "GET", "/readyz", NULL, &r);
  CHECK(r.status == 503, "not ready while draining: %d", r.status);
  ht_free(&r);
  rep = wt_cmd(sock, "show jobs");
  CHECK(rep && strstr(rep, "draining: yes") && strstr(rep, a) &&
            strstr(rep, "done"),
        "show jobs: %s", rep);
  free(rep);
  rep = wt_cmd(sock, "resume");
  CHECK(rep && !strncmp(rep, "OK", 2), "resume: %s", rep);
  free(rep);
  CHECK(post("{\"prompt\": \"a heron at dawn\", \"seed\": 4}", b) == 202,
        "POST after resume");
  CHECK(wait_done(b, 60), "second job done");
  rep = wt_cmd(sock, "show cache");
  CHECK(rep && strstr(rep, "budget: 16.00 MiB (16777216 bytes)") &&
            strstr(rep, "hits: 1"),
        "show cache in human units: %s", rep);
  free(rep);
  rep = wt_cmd(sock, "show cache json");
  json_t *cj = rep ? json_loads(rep, 0, NULL) : NULL;
  CHECK(cj && json_integer_value(json_object_get(cj, "hits")) == 1,
        "the second job hit the cache: %s", rep);
  json_decref(cj);
  free(rep);
  rep = wt_cmd(sock, "reload");
  CHECK(rep && !strncmp(rep, "reloaded", 8), "reload: %s", rep);
  free(rep);
  ht_request(port, "GET", "/metrics", NULL, &r);
  CHECK(strstr(r.body, "warmd_reloads_total{result=\"ok\"} 1") &&
            strstr(r.body, "warmd_jobs_finished_total{state=\"done\"} 2") &&
            strstr(r.body, "warmd_cache_hits_total 1"),
        "metrics: %.300s", r.body);
  ht_free(&r);
  kill(proc.pid, SIGTERM);
  CHECK(wt_wait_exit(&proc, 20) == 0, "exit 0 after SIGTERM");
}

/* The config of main(), with the transformer's weights named by another
 * path (same files): a reload replaces that component. */
static void write_config(const char *dit);

static void test_warmd_reload_replacing_a_component_waits_for_the_job(void) {
  CHECK(start() == 0, "warmd starts");
  char id[32], st[32];
  CHECK(post("{\"prompt\": \"long\", \"steps\": 60, \"frames\": 17, "
             "\"height\": 64, \"width\": 64}",
             id) == 202,
        "long job");
  double end = wt_now() + 10;
  while (strcmp(state_of(id, st, sizeof st), "running") && wt_now() < end)
    poll(NULL, 0, 2);
  CHECK(!strcmp(st, "running"), "the job runs: %s", st);
  write_config("ltxv-ckpt/../ltxv-ckpt/dit_tiny");
  char *rep = wt_cmd(sock, "reload");
  CHECK(rep && strstr(rep, "1 replaced"), "reload replaced one: %s", rep);
  free(rep);
  CHECK(!strcmp(state_of(id, st, sizeof st), "done"),
        "the job finished on the old instance before the commit: %s", st);
  char id2[32];
  CHECK(post("{\"prompt\": \"after\"}", id2) == 202 && wait_done(id2, 60),
        "a job on the new instance");
  write_config("ltxv-ckpt/dit_tiny");
  kill(proc.pid, SIGTERM);
  CHECK(wt_wait_exit(&proc, 20) == 0, "exit 0");
}

/* One sample from /metrics, or -1. */
static double metric(const char *name) {
  ht_resp r;
  ht_request(port, "GET", "/metrics", NULL, &r);
  char key[300];
  snprintf(key, sizeof key, "\n%s ", name);
  const char *p = r.body ? strstr(r.body, key) : NULL;
  double v = p ? atof(p + strlen(key)) : -1;
  ht_free(&r);
  return v;
}

static void test_warmd_swap_under_jobs_keeps_other_components(void) {
  CHECK(start() == 0, "warmd starts");
  const char *enc = "warmd_ledger_bytes{device=\"cpu\",component=\"text_"
                    "encoder\",class=\"resident\"}",
             *vae = "warmd_ledger_bytes{device=\"cpu\",component=\"vae\","
                    "class=\"resident\"}";
  char id[32], cmd[1200];
  CHECK(post("{\"prompt\": \"before\", \"steps\": 30}", id) == 202, "job");
  double e0 = metric(enc), v0 = metric(vae);
  /* The swap is prepared while that job runs and commits after it. */
  snprintf(cmd, sizeof cmd,
           "swap component transformer plugin transformer_ltxv weights "
           "%s/ltxv-ckpt/dit_tiny_affine",
           WARM_BUILD_DIR);
  char *rep = wt_cmd(sock, cmd);
  CHECK(rep && !strncmp(rep, "swapped transformer", 19) &&
            strstr(rep, "1 replaced"),
        "swap: %s", rep ? rep : "(none)");
  if (rep) fprintf(stderr, "  %s\n", rep);
  free(rep);
  CHECK(wait_done(id, 60), "the job before the swap finished");
  CHECK(metric(enc) == e0 && metric(vae) == v0 && e0 > 0 && v0 > 0,
        "encoder and vae bytes unchanged by the swap");
  CHECK(post("{\"prompt\": \"after\"}", id) == 202 && wait_done(id, 60),
        "a job on the swapped transformer");
  rep = wt_cmd(sock, "swap component transformer plugin no_such_plugin");
  CHECK(rep && !strncmp(rep, "ERR 400 swap failed", 19) &&
            strstr(rep, "no_such_plugin"),
        "bad swap refused with the reason: %s", rep);
  free(rep);
  CHECK(post("{\"prompt\": \"still\"}", id) == 202 && wait_done(id, 60),
        "the old instance still serves");
  CHECK(metric("warmd_swaps_total{result=\"ok\"}") == 1 &&
            metric("warmd_swaps_total{result=\"failed\"}") == 1,
        "swap counters");
  kill(proc.pid, SIGTERM);
  CHECK(wt_wait_exit(&proc, 20) == 0, "exit 0");
}

static void test_warmd_sigterm_cancels_past_shutdown_timeout(void) {
  CHECK(start() == 0, "warmd starts");
  char longj[32], queued[32];
  CHECK(post("{\"prompt\": \"a long one\", \"steps\": 1000, \"frames\": 33, "
             "\"height\": 128, \"width\": 128}",
             longj) == 202,
        "long job");
  CHECK(post("{\"prompt\": \"behind it\"}", queued) == 202, "queued job");
  double t0 = wt_now();
  kill(proc.pid, SIGTERM);
  CHECK(wt_wait_exit(&proc, 30) == 0, "exit 0");
  double dt = wt_now() - t0;
  CHECK(dt >= 1.0 && dt < 15, "stopped after shutdown_timeout (%.2f s)", dt);
  const char *ids[2] = {longj, queued};
  for (int i = 0; i < 2; i++) {
    char file[1024];
    snprintf(file, sizeof file, "%s/out/%s/status.json", dir, ids[i]);
    json_t *j = json_load_file(file, 0, NULL);
    const char *st = j ? json_string_value(json_object_get(j, "state")) : "";
    const char *er = j ? json_string_value(json_object_get(j, "error")) : "";
    CHECK(j && !strcmp(st, "cancelled") && strstr(er, "shutdown_timeout"),
          "%s marked cancelled on disk (%s)", ids[i], file);
    json_decref(j);
  }
}

static void write_config(const char *dit) {
  wt_write(cfg,
           "[host]\nplugin_dir = %s/plugins\nadmin_socket = %s\n"
           "output_dir = %s/out\nhttp_listen = 127.0.0.1:0\nmax_queue = 8\n"
           "shutdown_timeout = 1\n"
           "[device cpu]\nbudget = 1GiB\n[cache]\nembeddings = 16MiB\n"
           "[component text_encoder]\nplugin = hello_encoder\ndevice = cpu\n"
           "placement = resident\ndim = 24\nbuckets = 512\n"
           "[component transformer]\nplugin = transformer_ltxv\n"
           "weights = %s/%s\ndevice = cpu\n"
           "placement = resident\n"
           "[component vae]\nplugin = vae_ltxv\n"
           "weights = %s/ltxv-ckpt/vae_tiny\ndevice = cpu\n"
           "placement = resident\n"
           "[pipeline]\nencoder = text_encoder\nstages = transformer\n"
           "decoder = vae\nframes = 9\nheight = 32\nwidth = 32\nsteps = 2\n"
           "guidance = 1\n",
           WARM_BUILD_DIR, sock, dir, WARM_BUILD_DIR, dit, WARM_BUILD_DIR);
}

int main(void) {
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
  wt_tempdir(dir, sizeof dir, "httpd");
  snprintf(sock, sizeof sock, "%s/admin.sock", dir);
  snprintf(cfg, sizeof cfg, "%s/warmd.ini", dir);
  snprintf(logpath, sizeof logpath, "%s/warmd.log", dir);
  write_config("ltxv-ckpt/dit_tiny");
  RUN(test_warmd_http_jobs_drain_and_admin);
  if (wt_failures) wt_dump_log(&proc);
  RUN(test_warmd_reload_replacing_a_component_waits_for_the_job);
  if (wt_failures) wt_dump_log(&proc);
  RUN(test_warmd_swap_under_jobs_keeps_other_components);
  if (wt_failures) wt_dump_log(&proc);
  RUN(test_warmd_sigterm_cancels_past_shutdown_timeout);
  if (wt_failures) wt_dump_log(&proc);
  if (proc.pid > 0) {
    kill(proc.pid, SIGKILL);
    waitpid(proc.pid, NULL, 0);
  }
  wt_rmtree(dir);
  return wt_failures ? 1 : 0;
}

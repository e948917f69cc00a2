/*
 * test_faults_host.c — faults found when warmd was attacked from outside
 * (issue 14) that concern the process and its configuration (sockets,
 * descriptors, crashes, mapped weights, budgets, warmd -t, readiness, live
 * placement), each reproduced against the real warmd binary over its real
 * sockets (label faults). test_faults.c has those about jobs, their files
 * and their memory. The item is in each test's comment.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>

#include "fsio.h"
#include "warmd_harness.h"

/* Item 12: an encoder whose width does not match the transformer's is
 * refused by warmd -t, by reload and by swap; a component whose run()
 * always fails makes /readyz say so. */
static void test_width_mismatch_refused_and_readiness_means_it(void) {
  char cmd[2400], out[8192];
  wd_encoder = "plugin = hello_encoder\ndim = 64\nbuckets = 512\n";
  wd_config("", "1GiB", NULL, "");
  snprintf(cmd, sizeof cmd, "%s/bin/warmd -t -c %s", WARM_BUILD_DIR, wd_cfg);
  CHECK(wt_run(cmd, out, sizeof out) == 1 && strstr(out, "width 64") &&
            strstr(out, "caption_channels 24"),
        "warmd -t refuses the widths: %s", out);

  wd_encoder = WD_ENCODER;
  wd_config("", "1GiB", NULL, "");
  CHECK(wd_start(1) == 0, "warmd starts");
  wd_encoder = "plugin = hello_encoder\ndim = 64\nbuckets = 512\n";
  wd_config("", "1GiB", NULL, "");
  char *rep = wt_cmd(wd_sock, "reload");
  CHECK(rep && strstr(rep, "reload failed") && strstr(rep, "caption_channels"),
        "reload refused: %s", rep);
  free(rep);
  /* A transformer with 64 caption channels against the 24-wide encoder. */
  snprintf(cmd, sizeof cmd,
           "%s/bin/warm-mkmodel --arch ltxv --preset tiny --seed 5 --out "
           "%s/dit64 --set caption_channels=64",
           WARM_BUILD_DIR, wd_dir);
  CHECK(wt_run(cmd, out, sizeof out) == 0, "mkmodel: %s", out);
  snprintf(cmd, sizeof cmd,
           "swap component transformer plugin transformer_ltxv weights "
           "%s/dit64",
           wd_dir);
  rep = wt_cmd(wd_sock, cmd);
  CHECK(rep && !strncmp(rep, "ERR 400 swap failed", 19) &&
            strstr(rep, "caption_channels 64"),
        "swap refused: %s", rep);
  free(rep);
  char id[32], st[32];
  CHECK(wd_post("{\"prompt\": \"still fine\"}", id, NULL, 0) == 202 &&
            !strcmp(wd_wait(id, 30, st, sizeof st), "done"),
        "the old pipeline still serves: %s", st);
  CHECK(wd_stop() == 0, "exit 0");

  wd_encoder =
      "plugin = fault_encoder\ndim = 24\nbuckets = 512\nfault = fail\n";
  wd_config("", "1GiB", NULL, "");
  CHECK(wd_start(1) == 0, "warmd starts with a failing encoder");
  ht_resp r;
  ht_request(wd_port, "GET", "/readyz", NULL, &r);
  CHECK(r.status == 200, "ready before any run: %d %s", r.status, r.body);
  ht_free(&r);
  for (int i = 0; i < 3; i++) {
    CHECK(wd_post("{\"prompt\": \"fails\"}", id, NULL, 0) == 202, "POST");
    CHECK(!strcmp(wd_wait(id, 30, st, sizeof st), "failed"), "failed: %s", st);
  }
  ht_request(wd_port, "GET", "/readyz", NULL, &r);
  CHECK(r.status == 503 && strstr(r.body, "text_encoder failed its last 3"),
        "not ready: %d %s", r.status, r.body);
  ht_free(&r);
  CHECK(wd_stop() == 0, "exit 0");
  wd_encoder = WD_ENCODER;
}

/* The "HTTP connections at most N" line warmd logs. */
static long logged_cap(void) {
  FILE *f = fopen(wd_log, "r");
  char line[1024];
  long cap = -1;
  while (f && fgets(line, sizeof line, f)) {
    const char *p = strstr(line, "HTTP connections at most ");
    if (p) cap = atol(p + 25);
  }
  if (f) fclose(f);
  return cap;
}

/* Item 3: an admin client that pipelines commands and never reads costs a
 * bounded amount of memory and does not stall other admin clients; the
 * stats socket is not open to every local user by default. */
static void test_admin_client_that_never_reads_is_bounded(void) {
  char host[1200];
  snprintf(host, sizeof host, "stats_socket = %s/stats.sock\n", wd_dir);
  wd_config(host, "1GiB", NULL, "");
  CHECK(wd_start(1) == 0, "warmd starts");
  char stats[1200];
  snprintf(stats, sizeof stats, "%s/stats.sock", wd_dir);
  struct stat st;
  CHECK(stat(stats, &st) == 0 && (st.st_mode & 0777) == 0660,
        "stats socket mode %o (0660 by default)", st.st_mode & 0777);
  uint64_t rss0 = wd_rss_of(wd_proc.pid);
  const char *paths[2] = {wd_sock, stats};
  int fds[2];
  for (int k = 0; k < 2; k++) {
    fds[k] = wt_connect(paths[k]);
    fcntl(fds[k], F_SETFL, O_NONBLOCK);
  }
  static const char line[] = "show config json\nshow components json\n";
  double end = wt_now() + 2.0, worst = 0;
  size_t sent = 0;
  int unanswered = 0;
  while (wt_now() < end) {
    for (int k = 0; k < 2; k++) {
      ssize_t w = send(fds[k], line, sizeof line - 1, MSG_NOSIGNAL);
      if (w > 0) sent += (size_t)w;
    }
    static unsigned n;
    if (++n % 512 == 0) { /* another operator meanwhile */
      double t0 = wt_now();
      char *rep = wt_cmd(wd_sock, "show info");
      double dt = wt_now() - t0;
      if (dt > worst) worst = dt;
      unanswered += rep == NULL;
      free(rep);
    }
  }
  uint64_t rss1 = wd_rss_of(wd_proc.pid);
  fprintf(stderr,
          "  %zu bytes of commands sent; RSS %llu -> %llu KiB; "
          "slowest other admin reply %.3f s\n",
          sent, (unsigned long long)rss0 >> 10, (unsigned long long)rss1 >> 10,
          worst);
  if (!WD_ASAN)
    CHECK(rss1 < rss0 + (32u << 20), "RSS grew by %lld KiB",
          (long long)(rss1 - rss0) >> 10);
  /* Bounded replies show without RSS too: a client that never reads can
   * only have sent what fits in the socket buffers plus one blocked batch. */
  CHECK(sent < (512u << 10), "the flood was stopped: %zu bytes sent", sent);
  CHECK(unanswered == 0, "another admin client is answered (%d were not)",
        unanswered);
  /* A sanity bound for a loaded machine (4 s under AddressSanitizer);
   * the flood's own bound is what the checks above measure. */
  CHECK(worst < (WD_ASAN ? 4.0 : 1.0),
        "other admin clients not stalled: "
        "%.3f s",
        worst);
  for (int k = 0; k < 2; k++)
    close(fds[k]);
  CHECK(wd_stop() == 0, "exit 0");
}

/* Item 4: with a low RLIMIT_NOFILE, the HTTP cap comes from it, clients
 * past it get a 503 whose Content-Length is its body's, the refusals are
 * logged, and the admin socket still answers. */
static void test_fd_limit_sizes_the_http_cap_and_keeps_admin(void) {
  wd_config("", "1GiB", NULL, "");
  char bin[1024];
  snprintf(bin, sizeof bin, "%s/bin/warmd", WARM_BUILD_DIR);
  snprintf(wd_proc.log, sizeof wd_proc.log, "%s", wd_log);
  wd_proc.pid = fork();
  if (wd_proc.pid == 0) {
    struct rlimit rl = {160, 160};
    setrlimit(RLIMIT_NOFILE, &rl);
    if (!freopen(wd_log, "w", stderr)) _exit(127);
    execl(bin, bin, "-c", wd_cfg, (char *)NULL);
    _exit(127);
  }
  CHECK(wt_wait_socket(&wd_proc, wd_sock, 30) == 0 &&
            (wd_port = ht_logged_port(wd_log, 10)) > 0,
        "warmd starts");
  long cap = logged_cap();
  CHECK(cap >= 8 && cap < 160 - 64, "the cap comes from the limit: %ld", cap);
  enum { N = 200 };
  int fds[N], n503 = 0, bad = 0;
  for (int i = 0; i < N; i++)
    fds[i] = ht_connect(wd_port);
  poll(NULL, 0, 500); /* let warmd accept and answer what it refuses */
  for (int i = 0; i < N; i++) {
    struct pollfd p = {.fd = fds[i], .events = POLLIN};
    if (fds[i] < 0 || poll(&p, 1, 0) != 1) continue;
    ht_resp r;
    int rc = ht_read(fds[i], &r, 1.0);
    if (r.status == 503) {
      n503++;
      if (rc || r.body_len != strlen(r.body) ||
          !strstr(r.body, "too many connections"))
        bad++;
    }
    ht_free(&r);
  }
  char *rep = wt_cmd(wd_sock, "show info");
  CHECK(rep && strstr(rep, "version"), "the admin socket answers: %s",
        rep ? rep : "(nothing)");
  free(rep);
  fprintf(stderr, "  cap %ld: %d of %d answered 503\n", cap, n503, N);
  CHECK(n503 >= N - cap - 8, "refused with 503: %d", n503);
  CHECK(bad == 0, "%d 503 replies with a wrong length or body", bad);
  for (int i = 0; i < N; i++)
    if (fds[i] >= 0) close(fds[i]);
  CHECK(wd_logged("refused: at the cap of"), "the refusals are logged");
  /* The closed connections leave warmd's count as their EOFs arrive. */
  char id[32], s[32] = "?";
  int st = 0;
  for (double end = wt_now() + 10; st != 202 && wt_now() < end;)
    if ((st = wd_post("{\"prompt\": \"after the flood\"}", id, NULL, 0)) != 202)
      poll(NULL, 0, 20);
  CHECK(st == 202 && !strcmp(wd_wait(id, 30, s, sizeof s), "done"),
        "jobs still run: %d %s", st, s);
  CHECK(wd_stop() == 0, "exit 0");
}

/* The budget of device cpu in `show memory json` and `show config json`. */
static void budgets(double *mem, double *conf) {
  *mem = *conf = -1;
  char *rep = wt_cmd(wd_sock, "show memory json");
  json_t *j = rep ? json_loads(rep, 0, NULL) : NULL;
  json_t *d0 = json_array_get(json_object_get(j, "devices"), 0);
  if (d0) *mem = (double)json_integer_value(json_object_get(d0, "budget"));
  json_decref(j);
  free(rep);
  rep = wt_cmd(wd_sock, "show config json");
  j = rep ? json_loads(rep, 0, NULL) : NULL;
  json_t *devs = json_object_get(j, "devices");
  size_t i;
  json_t *d;
  json_array_foreach(devs, i, d) {
    if (!strcmp(json_string_value(json_object_get(d, "name")) ?: "", "cpu"))
      *conf = (double)json_integer_value(json_object_get(d, "budget"));
  }
  json_decref(j);
  free(rep);
}

/* Item 7: raise the budget, let an `auto` encoder go resident, put the old
 * budget back and reload: the encoder is demoted first, the reload applies
 * whole, show memory and show config agree, and later reloads work. */
static void test_lower_budget_demotes_auto_and_reload_applies(void) {
  wd_encoder = "plugin = hello_encoder\ndim = 24\nbuckets = 131072\n"
               "placement = auto\n";
  wd_config("", "8MiB", NULL, "");
  CHECK(wd_start(1) == 0, "warmd starts");
  char id[32], st[32];
  CHECK(wd_post("{\"prompt\": \"low\"}", id, NULL, 0) == 202 &&
            !strcmp(wd_wait(id, 30, st, sizeof st), "done"),
        "a job at the low budget: %s", st);
  wd_config("", "64MiB", NULL, "");
  char *rep = wt_cmd(wd_sock, "reload");
  CHECK(rep && !strncmp(rep, "reloaded", 8), "raise: %s", rep);
  free(rep);
  CHECK(wd_post("{\"prompt\": \"high\"}", id, NULL, 0) == 202 &&
            !strcmp(wd_wait(id, 30, st, sizeof st), "done"),
        "a job at the high budget: %s", st);
  rep = wt_cmd(wd_sock, "show components");
  CHECK(rep && strstr(rep, "auto(resident)"), "the encoder went resident: %s",
        rep);
  free(rep);
  wd_config("", "8MiB", NULL, "");
  rep = wt_cmd(wd_sock, "reload");
  CHECK(rep && !strncmp(rep, "reloaded", 8), "lower again: %s", rep);
  free(rep);
  double mem, conf;
  budgets(&mem, &conf);
  CHECK(mem == 8 << 20 && conf == 8 << 20,
        "show memory %.0f and show config %.0f agree", mem, conf);
  rep = wt_cmd(wd_sock, "reload");
  CHECK(rep && !strncmp(rep, "reloaded", 8), "a later reload: %s", rep);
  free(rep);
  CHECK(wd_post("{\"prompt\": \"low again\"}", id, NULL, 0) == 202 &&
            !strcmp(wd_wait(id, 30, st, sizeof st), "done"),
        "a job at the low budget again: %s", st);
  CHECK(wd_stop() == 0, "exit 0");
  wd_encoder = WD_ENCODER;
}

/* Item 13: warmd -t reports every problem of a file in one run (parse
 * errors, plugins, weights, job defaults), checks what it can of a
 * component whose GPU is absent, and warns of a budget larger than the
 * machine. */
static void test_check_reports_everything_at_once(void) {
  char out[16384], cmd[2400];
  wt_write(wd_cfg,
           "[host]\nplugin_dir = %s/plugins\nadmin_socket = %s\n" /* 1-3 */
           "colour = blue\n"                                      /* 4 */
           "[device cpu]\nbudget = 512TiB\n"                      /* 5-6 */
           "[component text_encoder]\nplugin = hello_encoder\n"   /* 7-8 */
           "dim = 24\n"                                           /* 9 */
           "[component transformer]\nplugin = transformer_ltxv\n" /* 10-11 */
           "weights = %s/no_such_dit\n"                           /* 12 */
           "[component gpu_dit]\nplugin = transformer_ltxv\n"     /* 13-14 */
           "device = cuda:7\nweights = %s/no_such_gpu_dit\n"      /* 15-16 */
           "[component extra]\nplugin = hello_encodr\n"           /* 17-18 */
           "[component vae]\nplugin = vae_ltxv\n"                 /* 19-20 */
           "weights = %s/ltxv-ckpt/vae_tiny\n"                    /* 21 */
           "[pipeline]\nencoder = text_encoder\nstages = transformer\n"
           "decoder = vae\n" /* 22-25 */
           "frames = 10\n",  /* 26 */
           wd_dir, wd_sock, wd_dir, wd_dir, WARM_BUILD_DIR);
  snprintf(cmd, sizeof cmd, "%s/bin/warmd -t -c %s", WARM_BUILD_DIR, wd_cfg);
  int rc = wt_run(cmd, out, sizeof out);
  struct {
    int line;
    const char *text;
  } want[] = {{4, "unknown key 'colour'"}, {12, "no_such_dit"},
              {16, "no_such_gpu_dit"},     {15, "no CUDA device"},
              {18, "hello_encodr"},        {26, "frames = 10"},
              {6, "more than the"}};
  CHECK(rc == 1, "exit 1: %s", out);
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    char needle[64];
    snprintf(needle, sizeof needle, "warmd.ini:%d: ", want[i].line);
    const char *p = strstr(out, needle);
    int found = 0;
    while (p && !found) {
      const char *e = strchr(p, '\n');
      found = e && memmem(p, (size_t)(e - p), want[i].text,
                          strlen(want[i].text)) != NULL;
      p = strstr(p + 1, needle);
    }
    CHECK(found, "line %d: %s reported", want[i].line, want[i].text);
  }
  if (wt_failures) fprintf(stderr, "%s\n", out);
}

/* Item 2: a weights file streamed from its mapping (stream_source = mmap)
 * and truncated in place fails the job with the file named, marks the
 * component failed (/readyz says so), and warmd keeps serving; a reload
 * after the file is put back brings the component back. */
static void test_truncated_mapped_weights_fail_the_job_not_warmd(void) {
  char cmd[6000], out[4096], dit[600], file[700], rb[1024];
  snprintf(dit, sizeof dit, "%s/dit", wd_dir);
  snprintf(file, sizeof file, "%s/diffusion_pytorch_model.safetensors", dit);
  snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r %s/ltxv-ckpt/dit_tiny '%s'",
           dit, WARM_BUILD_DIR, dit);
  CHECK(wt_run(cmd, out, sizeof out) == 0, "copy: %s", out);
  wd_config("", "1GiB", dit, "");
  /* The transformer streams from the file's pages. */
  char text[8192];
  FILE *f = fopen(wd_cfg, "r");
  size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
  if (f) fclose(f);
  text[n] = '\0';
  char *p = strstr(text, "[component transformer]");
  char *q = p ? strstr(p, "placement = resident") : NULL;
  if (q) {
    f = fopen(wd_cfg, "w");
    fprintf(f,
            "%.*splacement = stream\nstream_window = 1\nstream_source = mmap%s",
            (int)(q - text), text, q + strlen("placement = resident"));
    fclose(f);
  }
  CHECK(wd_start(1) == 0, "warmd starts");
  char id[32], st[32];
  CHECK(wd_post("{\"prompt\": \"before\"}", id, NULL, 0) == 202 &&
            !strcmp(wd_wait(id, 30, st, sizeof st), "done"),
        "a job before the truncation: %s", st);
  CHECK(truncate(file, 2048) == 0, "truncate %s", file);
  CHECK(wd_post("{\"prompt\": \"after\"}", id, NULL, 0) == 202 &&
            !strcmp(wd_wait(id, 30, st, sizeof st), "failed"),
        "the job fails: %s", st);
  json_t *j = wd_job(id);
  const char *e = json_string_value(json_object_get(j, "error"));
  CHECK(e && strstr(e, "SIGBUS") && strstr(e, file), "names the file: %s", e);
  json_decref(j);
  CHECK(wd_readyz(rb, sizeof rb) == 503 && strstr(rb, "transformer"),
        "/readyz: %s", rb);
  char *rep = wt_cmd(wd_sock, "show components");
  CHECK(rep && strstr(rep, "failed"), "shown failed: %s", rep);
  free(rep);
  CHECK(wd_post("{\"prompt\": \"again\"}", id, NULL, 0) == 202 &&
            !strcmp(wd_wait(id, 30, st, sizeof st), "failed"),
        "later jobs fail cleanly: %s", st);
  snprintf(cmd, sizeof cmd,
           "cp %s/ltxv-ckpt/dit_tiny/diffusion_pytorch_model.safetensors "
           "'%s.new' && mv '%s.new' '%s'",
           WARM_BUILD_DIR, file, file, file);
  CHECK(wt_run(cmd, out, sizeof out) == 0, "restore: %s", out);
  rep = wt_cmd(wd_sock, "reload");
  CHECK(rep && !strncmp(rep, "reloaded", 8) && strstr(rep, "1 replaced"),
        "reload replaces the failed instance: %s", rep);
  free(rep);
  CHECK(wd_readyz(rb, sizeof rb) == 200, "ready again: %s", rb);
  CHECK(wd_post("{\"prompt\": \"restored\"}", id, NULL, 0) == 202 &&
            !strcmp(wd_wait(id, 30, st, sizeof st), "done"),
        "jobs run again: %s", st);
  CHECK(wd_stop() == 0, "exit 0");
}

/* Item 8: a plugin that crashes in run() takes warmd down loudly: the log
 * names the signal, the component and the job, the job's status.json says
 * failed, the socket file is gone, and the exit is not 0. */
static void test_plugin_crash_is_logged_and_marks_the_job(void) {
  wd_encoder = "plugin = fault_encoder\ndim = 24\nbuckets = 512\n"
               "fault = crash\n";
  wd_config("", "1GiB", NULL, "");
  char out[1200];
  snprintf(out, sizeof out, "%s/out", wd_dir);
  wt_rmtree(out); /* the crashing job's folder is the only one */
  CHECK(wd_start(1) == 0, "warmd starts");
  char id[32] = "";
  /* The 202 may or may not leave before the job thread crashes warmd. */
  wd_post("{\"prompt\": \"boom\"}", NULL, NULL, 0);
  int rc = wt_wait_exit(&wd_proc, 30);
  DIR *d = opendir(out);
  struct dirent *de;
  while (d && (de = readdir(d)))
    if (strlen(de->d_name) == 16) snprintf(id, sizeof id, "%s", de->d_name);
  if (d) closedir(d);
  CHECK(id[0], "the job has a folder");
  CHECK(rc != 0, "exit status not 0: %d", rc);
  char line[256];
  snprintf(line, sizeof line,
           "SIGSEGV (signal 11) in component text_encoder, "
           "job %s",
           id);
  CHECK(wd_logged(line), "the log says: %s", line);
  json_t *s = wd_status_json(id);
  const char *st = json_string_value(json_object_get(s, "state"));
  const char *e = json_string_value(json_object_get(s, "error"));
  CHECK(st && !strcmp(st, "failed") && e && strstr(e, "SIGSEGV"),
        "status.json marks the job failed: %s %s", st, e);
  json_decref(s);
  CHECK(access(wd_sock, F_OK) != 0, "the admin socket file is removed");
  wd_encoder = WD_ENCODER;
}

/* Item 14: a plugin without WARM_FLAG_LIVE_PLACEMENT moves live: the host
 * re-creates the instance (also to the placement it has now). */
static void test_set_placement_recreates_a_plugin_without_live_placement(void) {
  wd_encoder = "plugin = fault_encoder\ndim = 24\nbuckets = 512\n";
  wd_config("", "1GiB", NULL, "");
  CHECK(wd_start(1) == 0, "warmd starts");
  const char *steps[3] = {"resident", "stream", "auto"};
  for (int i = 0; i < 3; i++) {
    char cmd[128], id[32], st[32];
    snprintf(cmd, sizeof cmd, "set component text_encoder placement %s",
             steps[i]);
    char *rep = wt_cmd(wd_sock, cmd);
    CHECK(rep && !strncmp(rep, "text_encoder: placement", 23), "%s: %s", cmd,
          rep);
    free(rep);
    rep = wt_cmd(wd_sock, "show components json");
    json_t *j = rep ? json_loads(rep, 0, NULL) : NULL;
    json_t *c0 = json_array_get(json_object_get(j, "components"), 0);
    const char *pl = json_string_value(json_object_get(c0, "placement"));
    CHECK(pl && !strcmp(pl, steps[i]), "shown %s: %s", steps[i], rep);
    json_decref(j);
    free(rep);
    snprintf(cmd, sizeof cmd, "{\"prompt\": \"moved %d\"}", i);
    CHECK(wd_post(cmd, id, NULL, 0) == 202 &&
              !strcmp(wd_wait(id, 30, st, sizeof st), "done"),
          "a job after the move: %s", st);
  }
  CHECK(wd_stop() == 0, "exit 0");
  wd_encoder = WD_ENCODER;
}

int main(void) {
  int rc = wd_setup("faultsh");
  if (rc) return rc;
  mkdir(wd_dir, 0755);
#define T(fn)                                                                  \
  do {                                                                         \
    int before = wt_failures;                                                  \
    RUN(fn);                                                                   \
    if (wt_failures != before) wt_dump_log(&wd_proc);                          \
    if (wd_proc.pid > 0) {                                                     \
      kill(wd_proc.pid, SIGKILL);                                              \
      waitpid(wd_proc.pid, NULL, 0);                                           \
      wd_proc.pid = -1;                                                        \
    }                                                                          \
  } while (0)
  T(test_width_mismatch_refused_and_readiness_means_it);
  T(test_admin_client_that_never_reads_is_bounded);
  T(test_fd_limit_sizes_the_http_cap_and_keeps_admin);
  T(test_lower_budget_demotes_auto_and_reload_applies);
  T(test_check_reports_everything_at_once);
  T(test_truncated_mapped_weights_fail_the_job_not_warmd);
  T(test_plugin_crash_is_logged_and_marks_the_job);
  T(test_set_placement_recreates_a_plugin_without_live_placement);
  wd_teardown();
  return wt_failures ? 1 : 0;
}

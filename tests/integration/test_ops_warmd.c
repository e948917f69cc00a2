/*
 * test_ops_warmd.c — the real warmd with the operations keys: bearer auth
 * (401 with WWW-Authenticate without or with a wrong token, 200 with one;
 * probes and /metrics exempt), instance-prefixed job ids and the
 * Warmd-Instance header, the affinity header echoed, the json log parsed
 * line by line (access lines with method, path, status, bytes, duration,
 * job and key), retention by count and, after a reload, by age, DELETE of
 * a finished job, journald priorities, and `warmd -t` on a bad key file.
 */
#include <dirent.h>
#include <jansson.h>

#include "ops_testutil.h"
#include "wh_testutil.h"

#define TOKEN "s3cr3t-token-0123456789"
#define AUTH "Authorization: Bearer " TOKEN "\r\n"

static char dir[512], sock[700], cfg[700], logpath[700], out[700];
static wt_proc proc;
static int port;

static void write_config(const char *extra) {
  char pipe[2048];
  op_pipeline_ini(pipe, sizeof pipe);
  wt_write(cfg,
           "[host]\nplugin_dir = %s/plugins\nadmin_socket = %s\n"
           "output_dir = %s\nhttp_listen = 127.0.0.1:0\n"
           "shutdown_timeout = 5\nlog_format = json\napi_keys_file = keys\n"
           "auth_exempt_metrics = yes\ninstance_id = gpu7\n%s\n%s",
           WARM_BUILD_DIR, sock, out, extra, pipe);
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

static int job_folders(void) {
  DIR *d = opendir(out);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    n += e->d_name[0] != '.';
  if (d) closedir(d);
  return n;
}

static const char *state_of(const char *id, char *buf, size_t n) {
  char path[160];
  snprintf(path, sizeof path, "/v1/generations/%s", id);
  op_resp r;
  op_request(port, "GET", path, AUTH, NULL, &r);
  json_t *j = r.status == 200 ? json_loads(r.body, 0, NULL) : NULL;
  const char *s = j ? json_string_value(json_object_get(j, "state")) : NULL;
  snprintf(buf, n, "%s", s ? s : r.status == 404 ? "gone" : "?");
  json_decref(j);
  op_free(&r);
  return buf;
}

static int run_job(const char *prompt, char *id, size_t n) {
  char body[256], st[32];
  snprintf(body, sizeof body, "{\"prompt\": \"%s\"}", prompt);
  op_resp r;
  op_request(port, "POST", "/v1/generations",
             AUTH "X-Warmd-Affinity: key-7\r\n", body, &r);
  json_t *j = r.status == 202 ? json_loads(r.body, 0, NULL) : NULL;
  const char *s = j ? json_string_value(json_object_get(j, "id")) : NULL;
  const char *aff = j ? json_string_value(json_object_get(j, "affinity")) : "";
  snprintf(id, n, "%s", s ? s : "");
  int ok = s && aff && !strcmp(aff, "key-7");
  json_decref(j);
  op_free(&r);
  double end = wt_now() + 60;
  while (ok && wt_now() < end) {
    state_of(id, st, sizeof st);
    if (strcmp(st, "queued") && strcmp(st, "running"))
      return !strcmp(st, "done");
    poll(NULL, 0, 5);
  }
  return 0;
}

static void test_auth_ids_retention_delete_and_json_log(void) {
  write_config("jobs_kept = 2");
  CHECK(start() == 0, "warmd starts");
  op_resp r;
  char h[256];
  op_request(port, "GET", "/v1/generations/gpu7.0123456789abcdef", NULL, NULL,
             &r);
  CHECK(r.status == 401 && op_header(&r, "WWW-Authenticate", h, sizeof h) &&
            !strcmp(h, "Bearer realm=\"warmd\""),
        "no token: %d '%s'", r.status, h);
  op_free(&r);
  op_request(port, "POST", "/v1/generations",
             "Authorization: Bearer wrong-token-0123456789\r\n",
             "{\"prompt\": \"x\"}", &r);
  CHECK(r.status == 401 && op_header(&r, "WWW-Authenticate", h, sizeof h) &&
            strstr(h, "error=\"invalid_token\""),
        "wrong token: %d '%s'", r.status, h);
  op_free(&r);
  CHECK(job_folders() == 0, "a refused POST made no job");
  const char *open_paths[] = {"/healthz", "/readyz", "/metrics"};
  for (int i = 0; i < 3; i++) {
    op_request(port, "GET", open_paths[i], NULL, NULL, &r);
    CHECK(r.status == 200, "%s without a token: %d", open_paths[i], r.status);
    CHECK(op_header(&r, "Warmd-Instance", h, sizeof h) && !strcmp(h, "gpu7"),
          "Warmd-Instance: '%s'", h);
    op_free(&r);
  }

  char ids[4][64];
  for (int i = 0; i < 4; i++) {
    char prompt[32];
    snprintf(prompt, sizeof prompt, "fox %d", i);
    CHECK(run_job(prompt, ids[i], sizeof ids[i]), "job %d done (%s)", i,
          ids[i]);
    CHECK(!strncmp(ids[i], "gpu7.", 5) && strlen(ids[i]) == 21,
          "the id carries the instance: %s", ids[i]);
  }
  /* jobs_kept = 2: a pass after each job keeps the newest two. */
  double end = wt_now() + 10;
  while (job_folders() > 2 && wt_now() < end)
    poll(NULL, 0, 20);
  CHECK(job_folders() == 2, "2 folders kept: %d", job_folders());
  char st[32];
  CHECK(!strcmp(state_of(ids[0], st, sizeof st), "gone") &&
            !strcmp(state_of(ids[3], st, sizeof st), "done"),
        "the oldest is forgotten, the newest served");

  char path[160];
  snprintf(path, sizeof path, "/v1/generations/%s", ids[3]);
  op_request(port, "DELETE", path, AUTH, NULL, &r);
  CHECK(r.status == 200 && strstr(r.body, "\"deleted\""), "DELETE: %d %s",
        r.status, r.body);
  op_free(&r);
  CHECK(job_folders() == 1 && !strcmp(state_of(ids[3], st, sizeof st), "gone"),
        "its folder and record are gone");

  /* A reload brings job_retention: what is older than 1 s goes. */
  write_config("jobs_kept = 2\njob_retention = 1s");
  char *rep = wt_cmd(sock, "reload");
  CHECK(rep && !strncmp(rep, "reloaded", 8), "reload: %s", rep);
  free(rep);
  end = wt_now() + 10;
  while (job_folders() > 0 && wt_now() < end)
    poll(NULL, 0, 50);
  CHECK(job_folders() == 0, "job_retention removed the rest: %d",
        job_folders());
  kill(proc.pid, SIGTERM);
  CHECK(wt_wait_exit(&proc, 20) == 0, "exit 0");

  /* Every line is one JSON object with the five fields. */
  FILE *f = fopen(logpath, "r");
  char line[8192];
  int lines = 0, bad = 0, post_seen = 0, denied = 0, job_done = 0;
  while (f && fgets(line, sizeof line, f)) {
    lines++;
    json_t *o = json_loads(line, 0, NULL);
    const char *t = o ? json_string_value(json_object_get(o, "time")) : NULL;
    const char *lv = o ? json_string_value(json_object_get(o, "level")) : NULL;
    const char *comp =
        o ? json_string_value(json_object_get(o, "component")) : NULL;
    json_t *job = o ? json_object_get(o, "job") : NULL;
    const char *msg = o ? json_string_value(json_object_get(o, "msg")) : NULL;
    if (!t || !lv || !comp || !msg ||
        !(json_is_string(job) || json_is_null(job))) {
      if (!bad++) fprintf(stderr, "  not a log object: %s", line);
      json_decref(o);
      continue;
    }
    const char *method = json_string_value(json_object_get(o, "method"));
    int status = (int)json_integer_value(json_object_get(o, "status"));
    const char *key = json_string_value(json_object_get(o, "key"));
    if (method && !strcmp(comp, "http") && !strcmp(method, "POST") &&
        status == 202 && json_is_string(job) &&
        !strcmp(json_string_value(job), ids[0]) && key && !strcmp(key, "ops") &&
        json_integer_value(json_object_get(o, "bytes")) > 0 &&
        json_is_real(json_object_get(o, "duration_ms")) &&
        !strcmp(json_string_value(json_object_get(o, "path")),
                "/v1/generations"))
      post_seen++;
    if (method && status == 401) denied++;
    if (!strcmp(comp, "jobs") && json_is_string(job) &&
        !strcmp(json_string_value(job), ids[1]) && !strcmp(msg, "done"))
      job_done++;
    json_decref(o);
  }
  if (f) fclose(f);
  CHECK(lines > 10 && bad == 0, "%d lines, %d not json objects", lines, bad);
  CHECK(post_seen == 1, "the access line of the first POST (job, key, bytes)");
  CHECK(denied == 2, "both 401s logged: %d", denied);
  CHECK(job_done == 1, "the job thread's line names its job");
  if (wt_failures) wt_dump_log(&proc);
}

/* Under journald (JOURNAL_STREAM = stderr's dev:ino) text lines carry
 * <priority> and leave the time to the journal. */
static void test_journal_priorities(void) {
  char pipe[2048];
  op_pipeline_ini(pipe, sizeof pipe);
  wt_write(cfg,
           "[host]\nplugin_dir = %s/plugins\nadmin_socket = %s\n"
           "output_dir = %s\nlog_level = debug\n%s",
           WARM_BUILD_DIR, sock, out, pipe);
  wt_write(logpath, "%s", "");
  struct stat st;
  stat(logpath, &st);
  char js[64];
  snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev,
           (unsigned long long)st.st_ino);
  setenv("JOURNAL_STREAM", js, 1);
  char bin[1024];
  snprintf(bin, sizeof bin, "%s/bin/warmd", WARM_BUILD_DIR);
  char *argv[] = {bin, "-c", cfg, NULL};
  CHECK(wt_spawn(&proc, logpath, argv) == 0 &&
            wt_wait_socket(&proc, sock, 30) == 0,
        "starts");
  unsetenv("JOURNAL_STREAM");
  char *rep = wt_cmd(sock, "show info");
  free(rep);
  kill(proc.pid, SIGTERM);
  CHECK(wt_wait_exit(&proc, 20) == 0, "exit 0");
  FILE *f = fopen(logpath, "r");
  char line[4096];
  int info = 0, debug = 0, other = 0;
  while (f && fgets(line, sizeof line, f)) {
    if (!strncmp(line, "<6>INFO  [", 10))
      info++;
    else if (!strncmp(line, "<7>DEBUG [", 10))
      debug++;
    else if (!(line[0] == '<' && line[2] == '>'))
      other++;
  }
  if (f) fclose(f);
  CHECK(info > 2 && debug > 0 && other == 0,
        "priorities: %d info, %d debug, %d without", info, debug, other);
}

static void test_check_names_the_bad_key_file_line(void) {
  char keys[700];
  snprintf(keys, sizeof keys, "%s/keys", dir);
  wt_write(keys, "ops " TOKEN "\nci short\n");
  chmod(keys, 0600);
  write_config("");
  char cmd[2000], outb[8192];
  snprintf(cmd, sizeof cmd, "%s/bin/warmd -t -c %s", WARM_BUILD_DIR, cfg);
  int rc = wt_run(cmd, outb, sizeof outb);
  CHECK(rc == 1 && strstr(outb, "warmd.ini:") &&
            strstr(outb, "api_keys_file: ") && strstr(outb, "keys:2: key 'ci'"),
        "warmd -t: %d %s", rc, outb);
  wt_write(keys, "ops " TOKEN "\n");
  chmod(keys, 0600);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  op_need_pipeline();
  wt_tempdir(dir, sizeof dir, "ops");
  snprintf(sock, sizeof sock, "%s/admin.sock", dir);
  snprintf(cfg, sizeof cfg, "%s/warmd.ini", dir);
  snprintf(logpath, sizeof logpath, "%s/warmd.log", dir);
  snprintf(out, sizeof out, "%s/out", dir);
  mkdir(out, 0755);
  char keys[700];
  snprintf(keys, sizeof keys, "%s/keys", dir);
  wt_write(keys, "# name token\nops " TOKEN "\n");
  chmod(keys, 0600);
  RUN(test_auth_ids_retention_delete_and_json_log);
  RUN(test_journal_priorities);
  RUN(test_check_names_the_bad_key_file_line);
  if (proc.pid > 0) {
    kill(proc.pid, SIGKILL);
    waitpid(proc.pid, NULL, 0);
  }
  wt_rmtree(dir);
  return wt_failures ? 1 : 0;
}

/*
 * test_ops_units.c — the pieces of issue 15 that need no daemon: the json
 * log line (escaping, cutting, parsed back by jansson), the API key file
 * and the bearer check, the job id with an instance prefix, the [host]
 * operations keys, and the retention sweep over a real folder.
 */
#include <fcntl.h>
#include <jansson.h>
#include <sys/time.h>

#include "auth.h"
#include "config.h"
#include "jobs.h"
#include "log_json.h"
#include "retention.h"
#include "wh_testutil.h"

static char dir[512];

static void test_json_log_line_escapes_and_parses(void) {
  char line[4096];
  wh_log_json_line(line, sizeof line, "2026-01-01T00:00:00.000Z", 1, "vae",
                   "gpu0.0123456789abcdef",
                   "a \"quoted\" \\ back\nslash\ttab \x01 and ünïcode", NULL);
  json_error_t je;
  json_t *o = json_loads(line, 0, &je);
  CHECK(o, "parses: %s (%s)", line, je.text);
  CHECK(
      o && !strcmp(json_string_value(json_object_get(o, "level")), "warn") &&
          !strcmp(json_string_value(json_object_get(o, "component")), "vae") &&
          !strcmp(json_string_value(json_object_get(o, "job")),
                  "gpu0.0123456789abcdef") &&
          !strcmp(json_string_value(json_object_get(o, "msg")),
                  "a \"quoted\" \\ back\nslash\ttab \x01 and ünïcode") &&
          json_object_get(o, "time"),
      "fields round-trip: %s", line);
  json_decref(o);
  wh_log_json_line(line, sizeof line, "t", 2, "http", NULL, "x", NULL);
  o = json_loads(line, 0, NULL);
  CHECK(o && json_is_null(json_object_get(o, "job")), "no job: null: %s", line);
  json_decref(o);
}

static void test_json_log_line_cut_stays_one_object(void) {
  char big[9000], line[512];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  big[100] = '"'; /* an escape near the cut too */
  wh_access a = {.method = "GET",
                 .path = big,
                 .status = 200,
                 .bytes = 7,
                 .duration_s = 0.0015,
                 .job = "j",
                 .key = "ops"};
  wh_log_json_line(line, sizeof line, "t", 2, "http", "j", big, &a);
  json_t *o = json_loads(line, 0, NULL);
  CHECK(o, "a cut line still parses (%zu bytes): %.80s...", strlen(line), line);
  CHECK(o && json_integer_value(json_object_get(o, "status")) == 200 &&
            json_real_value(json_object_get(o, "duration_ms")) > 1.4 &&
            !strcmp(json_string_value(json_object_get(o, "key")), "ops"),
        "access fields kept");
  json_decref(o);
}

static void write_mode(const char *path, int mode, const char *text) {
  wt_write(path, "%s", text);
  chmod(path, (mode_t)mode);
}

static void test_api_keys_file_and_bearer_check(void) {
  char path[700], err[1200];
  snprintf(path, sizeof path, "%s/keys", dir);
  write_mode(path, 0600,
             "# operators\nops  0123456789abcdef0123\n\n"
             "ci\tZZZZ-zzzz_9999.~+/=\n");
  wh_auth_keys *k = NULL;
  CHECK(wh_auth_load(path, &k, err, sizeof err) == 0 && wh_auth_count(k) == 2,
        "loads two keys: %s", err);
  const char *name = NULL;
  CHECK(wh_auth_check(k, "Bearer 0123456789abcdef0123", &name) == 0 &&
            !strcmp(name, "ops"),
        "ops's token");
  CHECK(wh_auth_check(k, "bearer   ZZZZ-zzzz_9999.~+/=  ", &name) == 0 &&
            !strcmp(name, "ci"),
        "scheme is case-insensitive, spaces trimmed");
  CHECK(wh_auth_check(k, "", &name) == WH_AUTH_MISSING, "no header");
  CHECK(wh_auth_check(k, "Basic b3BzOnB3", &name) == WH_AUTH_MISSING,
        "another scheme");
  CHECK(wh_auth_check(k, "Bearer 0123456789abcdef012", &name) ==
            WH_AUTH_INVALID,
        "a prefix of a token");
  CHECK(wh_auth_check(k, "Bearer 0123456789abcdef01234", &name) ==
            WH_AUTH_INVALID,
        "a token plus a byte");
  wh_auth_free(k);

  static const struct {
    const char *text;
    int mode;
    const char *want;
  } bad[] = {
      {"ops short\n", 0600, "keys:1: key 'ops': the token must be 16"},
      {"a 0123456789abcdef0123\na 0123456789abcdef0124\n", 0600,
       "keys:2: duplicate key name 'a'"},
      {"a 0123456789abcdef0123\nb 0123456789abcdef0123\n", 0600,
       "keys:2: key 'b' repeats the token of key 'a'"},
      {"only-one-word\n", 0600, "keys:1: expected 'NAME TOKEN'"},
      {"b@d 0123456789abcdef0123\n", 0600, "keys:1: bad key name"},
      {"# nothing\n", 0600, "no keys"},
      {"a 0123456789abcdef0123\n", 0644, "others may read"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    write_mode(path, bad[i].mode, bad[i].text);
    k = NULL;
    err[0] = '\0';
    int rc = wh_auth_load(path, &k, err, sizeof err);
    CHECK(rc < 0 && !k && strstr(err, bad[i].want), "bad file %zu: %s", i, err);
  }
}

static void test_job_ids_with_and_without_instance(void) {
  CHECK(wh_job_id_valid("0123456789abcdef"), "plain");
  CHECK(wh_job_id_valid("gpu-0.0123456789abcdef"), "with instance");
  CHECK(!wh_job_id_valid("GPU.0123456789abcdef"), "upper-case instance");
  CHECK(!wh_job_id_valid(".0123456789abcdef"), "empty instance");
  CHECK(!wh_job_id_valid("a.b.0123456789abcdef"), "two dots");
  CHECK(!wh_job_id_valid("../0123456789abcdef"), "a path");
  CHECK(!wh_job_id_valid("x.0123456789abcde"), "short hex");
}

static void test_operations_keys_parse_and_fail_at_their_line(void) {
  char keys[700], text[2048];
  snprintf(keys, sizeof keys, "%s/keys", dir);
  write_mode(keys, 0600, "ops 0123456789abcdef0123\n");
  snprintf(text, sizeof text,
           "[host]\nplugin_dir = /x\nadmin_socket = /tmp/a.sock\n"
           "log_format = json\napi_keys_file = keys\n"
           "auth_exempt_metrics = yes\ninstance_id = gpu3\n"
           "job_retention = 12h\njobs_kept = 500\n");
  char cfgpath[700];
  snprintf(cfgpath, sizeof cfgpath, "%s/w.ini", dir);
  wh_config *c = NULL;
  CHECK(wh_config_parse(cfgpath, text, strlen(text), &c) == 0 && c &&
            c->n_errors == 0,
        "good keys: %s", c && c->n_errors ? c->errors[0] : "");
  CHECK(c && c->log_format == 1 && c->api_keys && c->auth_exempt_metrics &&
            !strcmp(c->instance_id, "gpu3") && c->job_retention == 43200 &&
            c->jobs_kept == 500,
        "values");
  wh_config_free(c);
  snprintf(text, sizeof text,
           "[host]\nplugin_dir = /x\nadmin_socket = /tmp/a.sock\n"
           "log_format = xml\n"       /* 4 */
           "api_keys_file = nokeys\n" /* 5 */
           "auth_exempt_metrics = maybe\n"
           "instance_id = GPU/0\n"
           "job_retention = 3 weeks\n"
           "jobs_kept = -1\n"
           "log_format = text\n");
  CHECK(wh_config_parse(cfgpath, text, strlen(text), &c) == 0 && c, "parse");
  const char *want[] = {":4: bad log_format 'xml'",
                        ":5: api_keys_file: ",
                        ":6: bad auth_exempt_metrics 'maybe'",
                        ":7: bad instance_id 'GPU/0'",
                        ":8: bad job_retention '3 weeks'",
                        ":9: bad jobs_kept '-1'",
                        ":10: duplicate key 'log_format' (first at line 4)"};
  for (size_t i = 0; c && i < 7; i++) {
    int found = 0;
    for (size_t e = 0; e < c->n_errors; e++)
      found |= strstr(c->errors[e], want[i]) != NULL;
    CHECK(found, "error '%s' reported", want[i]);
  }
  wh_config_free(c);
}

/* A job folder with a marker file aged `age` seconds. */
static void make_job(const char *id, const char *file, double age) {
  char p[1200];
  snprintf(p, sizeof p, "%s/out/%s", dir, id);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/out/%s/video.y4m", dir, id);
  wt_write(p, "YUV4MPEG2");
  struct timeval now;
  gettimeofday(&now, NULL);
  struct timeval tv[2] = {{now.tv_sec - (time_t)age, 0},
                          {now.tv_sec - (time_t)age, 0}};
  if (file) {
    snprintf(p, sizeof p, "%s/out/%s/%s", dir, id, file);
    wt_write(p, "{}");
    utimes(p, tv);
  }
  snprintf(p, sizeof p, "%s/out/%s", dir, id);
  utimes(p, tv);
}

static int exists(const char *id) {
  char p[1200];
  snprintf(p, sizeof p, "%s/out/%s", dir, id);
  return access(p, F_OK) == 0;
}

static int active_one(void *user, const char *id) {
  (void)user;
  return !strcmp(id, "a.00000000000000a5");
}

static int n_removed_cb;
static void removed_cb(void *user, const char *id) {
  (void)user;
  (void)id;
  n_removed_cb++;
}

static void test_retention_sweep_by_age_and_count(void) {
  char out[700], p[1200];
  snprintf(out, sizeof out, "%s/out", dir);
  mkdir(out, 0755);
  make_job("a.00000000000000a1", "result.json", 5000); /* old, done */
  make_job("a.00000000000000a2", "status.json", 4000); /* old, failed */
  make_job("a.00000000000000a3", NULL, 3000);          /* crash leftover */
  make_job("a.00000000000000a4", "result.json", 10);   /* young */
  make_job("a.00000000000000a5", NULL, 9000);          /* old but running */
  make_job("a.00000000000000a6", "result.json", 20);
  make_job("a.00000000000000a7", "result.json", 30);
  /* Not jobs: an operator's folder, and a link named like a job that
   * leads outside (its target must survive). */
  snprintf(p, sizeof p, "%s/out/keepme", dir);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/outside", dir);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/outside/precious", dir);
  wt_write(p, "x");
  char link[1200];
  snprintf(p, sizeof p, "%s/outside", dir);
  snprintf(link, sizeof link, "%s/out/a.00000000000000a8", dir);
  CHECK(symlink(p, link) == 0, "symlink");

  struct timeval now;
  gettimeofday(&now, NULL);
  wh_sweep_opts o = {.dir = out,
                     .max_age_s = 1000,
                     .now = (double)now.tv_sec,
                     .active = active_one,
                     .removed = removed_cb};
  size_t n = 0;
  n_removed_cb = 0;
  CHECK(wh_retention_sweep(&o, &n) == 0 && n == 3 && n_removed_cb == 3,
        "3 past 1000 s removed: %zu", n);
  CHECK(!exists("a.00000000000000a1") && !exists("a.00000000000000a2") &&
            !exists("a.00000000000000a3"),
        "the old ones are gone");
  CHECK(exists("a.00000000000000a4") && exists("a.00000000000000a5") &&
            exists("keepme") && exists("a.00000000000000a8"),
        "young, running, foreign and linked folders stay");
  snprintf(p, sizeof p, "%s/outside/precious", dir);
  CHECK(access(p, F_OK) == 0, "nothing behind the link was touched");

  o.max_age_s = 0;
  o.keep = 1;
  CHECK(wh_retention_sweep(&o, &n) == 0 && n == 2, "count: 2 removed: %zu", n);
  CHECK(exists("a.00000000000000a4") && !exists("a.00000000000000a6") &&
            !exists("a.00000000000000a7") && exists("a.00000000000000a5"),
        "the newest finished one stays, the running one is not counted");

  warm_error err = {0};
  CHECK(wh_retention_remove_job(out, "../outside", &err) == WARM_EINVAL,
        "a path is not a job id");
  CHECK(wh_retention_remove_job(out, "a.00000000000000a8", &err) < 0 &&
            access(p, F_OK) == 0,
        "a link is not followed: %s", err.msg);
  CHECK(wh_retention_remove_job(out, "a.00000000000000ff", &err) ==
            WH_JOBS_ENOTFOUND,
        "a missing job");
  CHECK(wh_retention_remove_job(out, "a.00000000000000a4", &err) == 0 &&
            !exists("a.00000000000000a4"),
        "remove one");
}

int main(void) {
  wt_tempdir(dir, sizeof dir, "ops");
  RUN(test_json_log_line_escapes_and_parses);
  RUN(test_json_log_line_cut_stays_one_object);
  RUN(test_api_keys_file_and_bearer_check);
  RUN(test_job_ids_with_and_without_instance);
  RUN(test_operations_keys_parse_and_fail_at_their_line);
  RUN(test_retention_sweep_by_age_and_count);
  wt_rmtree(dir);
  return wt_failures ? 1 : 0;
}

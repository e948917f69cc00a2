/*
 * test_warmd — the real warmd binary in a temp folder, driven over its real
 * sockets: socket mode and stale-socket removal, the JSON shapes of `show`,
 * live placement changes against the ledger, reload good and bad (a bad one
 * leaves `show config` unchanged), SIGHUP, 20 concurrent clients, the
 * read-only stats socket, `shutdown` and SIGTERM (exit 0, sockets removed).
 * Every wait is a poll with a deadline on an observable condition.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "wh_testutil.h"

#define WARMD WARM_BUILD_DIR "/bin/warmd"
#define PLUGINS WARM_BUILD_DIR "/plugins"

typedef struct env {
  char dir[512], ini[600], sock[600], stats[600], log[600];
  wt_proc proc;
} env;

static unsigned g_seed;

/* Config with the encoder (resident, dim x buckets) and a streamed draft
 * encoder. `extra` is appended verbatim (more sections or a bad line). */
static void write_config(env *e, const char *enc_placement, unsigned dim,
                         unsigned buckets, const char *budget,
                         const char *extra) {
  wt_write(e->ini,
           "[host]\n"                   /* 1 */
           "plugin_dir = %s\n"          /* 2 */
           "admin_socket = %s\n"        /* 3 */
           "stats_socket = %s\n"        /* 4 */
           "log_level = debug\n"        /* 5 */
           "[device cpu]\n"             /* 6 */
           "budget = %s\n"              /* 7 */
           "[component text_encoder]\n" /* 8 */
           "plugin = hello_encoder\n"   /* 9 */
           "placement = %s\n"           /* 10 */
           "dim = %u\n"                 /* 11 */
           "buckets = %u\n"             /* 12 */
           "[component draft]\n"        /* 13 */
           "plugin = hello_encoder\n"   /* 14 */
           "placement = stream\n"       /* 15 */
           "stream_window = 3\n"        /* 16 */
           "dim = 16\n"                 /* 17 */
           "%s",
           PLUGINS, e->sock, e->stats, budget, enc_placement, dim, buckets,
           extra ? extra : "");
}

static int start(env *e) {
  char *argv[] = {WARMD, "-c", e->ini, NULL};
  if (wt_spawn(&e->proc, e->log, argv) != 0) return -1;
  if (wt_wait_socket(&e->proc, e->sock, 20) != 0) {
    wt_dump_log(&e->proc);
    return -1;
  }
  return 0;
}

static void env_init(env *e, const char *tag) {
  memset(e, 0, sizeof *e);
  wt_tempdir(e->dir, sizeof e->dir, tag);
  snprintf(e->ini, sizeof e->ini, "%s/warmd.ini", e->dir);
  snprintf(e->sock, sizeof e->sock, "%s/admin.sock", e->dir);
  snprintf(e->stats, sizeof e->stats, "%s/stats.sock", e->dir);
  snprintf(e->log, sizeof e->log, "%s/warmd.log", e->dir);
  e->proc.pid = -1;
}

/* Stops warmd with SIGTERM and checks the graceful-stop contract. */
static void stop_and_check(env *e) {
  if (e->proc.pid > 0) {
    kill(e->proc.pid, SIGTERM);
    int st = wt_wait_exit(&e->proc, 20);
    CHECK(st == 0, "warmd exit status %d after SIGTERM", st);
    if (st != 0) wt_dump_log(&e->proc);
  }
  CHECK(access(e->sock, F_OK) != 0, "admin socket removed");
  CHECK(access(e->stats, F_OK) != 0, "stats socket removed");
  wt_rmtree(e->dir);
}

static json_t *cmd_json(const char *sock, const char *cmd) {
  char *r = wt_cmd(sock, cmd);
  if (!r) return NULL;
  json_error_t je;
  json_t *j = json_loads(r, 0, &je);
  if (!j) fprintf(stderr, "not JSON (%s): %s\n", je.text, r);
  free(r);
  return j;
}

/* Bytes of one component from `show memory json`; -1 when absent. */
static int64_t comp_bytes(const char *sock, const char *name,
                          const char *field) {
  json_t *j = cmd_json(sock, "show memory json");
  int64_t v = -1;
  json_t *devs = json_object_get(j, "devices"), *d, *c;
  size_t i, k;
  json_array_foreach(devs, i, d) {
    json_array_foreach(json_object_get(d, "components"), k, c) {
      if (!strcmp(json_string_value(json_object_get(c, "name")), name))
        v = json_integer_value(json_object_get(c, field));
    }
  }
  json_decref(j);
  return v;
}

static void test_socket_mode_0600_and_stale_socket_removed(void) {
  env e;
  env_init(&e, "mode");
  write_config(&e, "resident", 8, 16, "64MiB", NULL);
  /* A stale socket: bound, then its owner went away without unlinking. */
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa;
  CHECK(wt_sockaddr(&sa, e.sock) == 0, "path fits");
  CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "bind stale");
  close(fd);
  CHECK(access(e.sock, F_OK) == 0, "stale file exists");
  CHECK(start(&e) == 0, "warmd starts over a stale socket");
  struct stat st;
  CHECK(stat(e.sock, &st) == 0 && S_ISSOCK(st.st_mode) &&
            (st.st_mode & 0777) == 0600,
        "mode %o", (unsigned)(st.st_mode & 0777));
  /* A second warmd on the same live socket refuses to start. */
  wt_proc second;
  char log2[700], out[4096];
  snprintf(log2, sizeof log2, "%s/second.log", e.dir);
  char *argv[] = {WARMD, "-c", e.ini, NULL};
  CHECK(wt_spawn(&second, log2, argv) == 0, "spawn");
  CHECK(wt_wait_exit(&second, 20) == 1, "second instance exits 1");
  FILE *f = fopen(log2, "r");
  size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
  out[n] = '\0';
  if (f) fclose(f);
  CHECK(strstr(out, "in use"), "second log: %s", out);
  CHECK(access(e.sock, F_OK) == 0, "first instance's socket still there");
  char *r = wt_cmd(e.sock, "show info");
  CHECK(r && strstr(r, "version:"), "first still serves");
  free(r);
  stop_and_check(&e);
}

static void test_show_json_shapes_match_the_issue(void) {
  env e;
  env_init(&e, "json");
  unsigned dim = 8 + (unsigned)(rand() % 120), buckets = 16 + rand() % 4000;
  write_config(&e, "resident", dim, buckets, "256MiB", NULL);
  CHECK(start(&e) == 0, "start");
  json_t *j = cmd_json(e.sock, "show components json");
  json_t *arr = json_object_get(j, "components"), *c;
  CHECK(json_is_array(arr) && json_array_size(arr) == 2, "two components");
  size_t i;
  static const char *const fields[] = {"name",  "plugin", "version",
                                       "kind",  "device", "placement",
                                       "dtype", "state"};
  json_array_foreach(arr, i, c) {
    for (size_t f = 0; f < 8; f++)
      CHECK(json_is_string(json_object_get(c, fields[f])), "field %s",
            fields[f]);
  }
  c = json_array_get(arr, 0);
  CHECK(
      !strcmp(json_string_value(json_object_get(c, "name")), "text_encoder") &&
          !strcmp(json_string_value(json_object_get(c, "plugin")),
                  "hello_encoder") &&
          !strcmp(json_string_value(json_object_get(c, "kind")),
                  "text_encoder") &&
          !strcmp(json_string_value(json_object_get(c, "placement")),
                  "resident") &&
          !strcmp(json_string_value(json_object_get(c, "state")), "ready"),
      "text_encoder row");
  json_decref(j);

  j = cmd_json(e.sock, "show memory json");
  json_t *devs = json_object_get(j, "devices");
  CHECK(json_array_size(devs) == 1, "one device");
  json_t *d = json_array_get(devs, 0);
  CHECK(!strcmp(json_string_value(json_object_get(d, "name")), "cpu") &&
            json_integer_value(json_object_get(d, "budget")) == 256 << 20 &&
            json_is_integer(json_object_get(d, "used")) &&
            json_is_integer(json_object_get(d, "peak")),
        "device fields");
  json_array_foreach(json_object_get(d, "components"), i, c) {
    CHECK(json_is_string(json_object_get(c, "name")) &&
              json_is_integer(json_object_get(c, "resident")) &&
              json_is_integer(json_object_get(c, "window")) &&
              json_is_integer(json_object_get(c, "workspace")),
          "component memory fields");
  }
  json_decref(j);
  int64_t res = comp_bytes(e.sock, "text_encoder", "resident");
  CHECK(res == (int64_t)dim * buckets * 4, "resident %lld for %ux%u",
        (long long)res, dim, buckets);
  CHECK(comp_bytes(e.sock, "draft", "window") == 3 * 16 * 4,
        "draft window = 3 slots x 16 floats");
  json_t *info = cmd_json(e.sock, "show info json");
  CHECK(json_integer_value(json_object_get(info, "pid")) == e.proc.pid,
        "show info pid");
  json_decref(info);
  json_t *cfg = cmd_json(e.sock, "show config json");
  CHECK(json_array_size(json_object_get(cfg, "components")) == 2,
        "show config json components");
  json_decref(cfg);
  stop_and_check(&e);
}

static void test_set_placement_stream_drops_ledger_bytes(void) {
  env e;
  env_init(&e, "set");
  unsigned dim = 32 + (unsigned)(rand() % 64), buckets = 1024;
  write_config(&e, "resident", dim, buckets, "256MiB", NULL);
  CHECK(start(&e) == 0, "start");
  int64_t before = comp_bytes(e.sock, "text_encoder", "resident");
  int64_t draft_before = comp_bytes(e.sock, "draft", "window");
  CHECK(before == (int64_t)dim * buckets * 4, "resident before %lld",
        (long long)before);
  char *r = wt_cmd(e.sock, "set component text_encoder placement stream");
  CHECK(r && !strncmp(r, "text_encoder: placement stream", 30), "reply %s",
        r ? r : "(none)");
  free(r);
  CHECK(comp_bytes(e.sock, "text_encoder", "resident") == 0,
        "resident bytes dropped");
  CHECK(comp_bytes(e.sock, "text_encoder", "window") == 2 * (int64_t)dim * 4,
        "window = 2 slots");
  CHECK(comp_bytes(e.sock, "draft", "window") == draft_before,
        "other component untouched");
  r = wt_cmd(e.sock, "set component text_encoder stream_window 5");
  free(r);
  CHECK(comp_bytes(e.sock, "text_encoder", "window") == 5 * (int64_t)dim * 4,
        "window = 5 slots");
  r = wt_cmd(e.sock, "set component text_encoder placement resident");
  free(r);
  CHECK(comp_bytes(e.sock, "text_encoder", "resident") == before,
        "back to resident");
  r = wt_cmd(e.sock, "set component nobody placement stream");
  CHECK(r && !strncmp(r, "ERR 404 ", 8), "%s", r ? r : "(none)");
  free(r);
  r = wt_cmd(e.sock, "set component draft placement sideways");
  CHECK(r && !strncmp(r, "ERR 400 ", 8) && strstr(r, "sideways"), "%s",
        r ? r : "(none)");
  free(r);
  r = wt_cmd(e.sock, "set component draft stream_window 0");
  CHECK(r && !strncmp(r, "ERR 400 ", 8), "%s", r ? r : "(none)");
  free(r);
  r = wt_cmd(e.sock, "set component draft colour blue");
  CHECK(r && !strncmp(r, "ERR 400 ", 8), "%s", r ? r : "(none)");
  free(r);
  stop_and_check(&e);
}

/* Past the budget the ledger says no before anything is allocated: the
 * request fails with 507 and the component keeps serving as it was. */
static void test_resident_past_budget_is_refused_and_auto_streams(void) {
  env e;
  env_init(&e, "budget");
  /* The table is 64 x 1024 x 4 = 256 KiB; the device has 192 KiB. */
  write_config(&e, "stream", 64, 1024, "192KiB", NULL);
  CHECK(start(&e) == 0, "start");
  int64_t win = comp_bytes(e.sock, "text_encoder", "window");
  CHECK(win == 2 * 64 * 4, "streams with 2 slots: %lld", (long long)win);
  char *r = wt_cmd(e.sock, "set component text_encoder placement resident");
  CHECK(r && !strncmp(r, "ERR 507 ", 8) && strstr(r, "text_encoder") &&
            strstr(r, "needs 256.00 KiB (262144 bytes)") && strstr(r, "KiB ("),
        "507 in human units with the bytes: %s", r ? r : "(none)");
  free(r);
  CHECK(comp_bytes(e.sock, "text_encoder", "window") == win &&
            comp_bytes(e.sock, "text_encoder", "resident") == 0,
        "unchanged after the refusal");
  r = wt_cmd(e.sock, "set component text_encoder placement auto");
  CHECK(r && strstr(r, "placement auto (stream)"),
        "auto resolves to stream: %s", r ? r : "(none)");
  free(r);
  json_t *j = cmd_json(e.sock, "show components json");
  json_t *c = json_array_get(json_object_get(j, "components"), 0);
  CHECK(!strcmp(json_string_value(json_object_get(c, "placement")), "auto") &&
            !strcmp(json_string_value(json_object_get(c, "active_placement")),
                    "stream") &&
            !strcmp(json_string_value(json_object_get(c, "state")), "ready"),
        "auto(stream), ready");
  json_decref(j);
  j = cmd_json(e.sock, "show memory json");
  json_t *d = json_array_get(json_object_get(j, "devices"), 0);
  CHECK(json_integer_value(json_object_get(d, "used")) <=
            json_integer_value(json_object_get(d, "budget")),
        "used within budget");
  json_decref(j);
  stop_and_check(&e);
}

static void test_reload_good_applies_only_differences(void) {
  env e;
  env_init(&e, "rgood");
  write_config(&e, "resident", 16, 256, "64MiB", NULL);
  CHECK(start(&e) == 0, "start");
  int64_t enc = comp_bytes(e.sock, "text_encoder", "resident");
  /* draft changes a plugin key (new instance), one component is added,
   * text_encoder stays as it was. */
  write_config(&e, "resident", 16, 256, "64MiB",
               "tokenizer = words\n"
               "[component extra]\nplugin = hello_encoder\ndim = 4\n");
  char *r = wt_cmd(e.sock, "reload");
  CHECK(r && strstr(r, "reloaded") &&
            strstr(r, "1 added (extra), 1 replaced (draft), 0 re-placed, 0 "
                      "removed, 1 unchanged"),
        "reply %s", r ? r : "(none)");
  free(r);
  CHECK(comp_bytes(e.sock, "extra", "resident") == 4 * 4096 * 4,
        "extra placed");
  CHECK(comp_bytes(e.sock, "text_encoder", "resident") == enc,
        "text_encoder untouched");
  r = wt_cmd(e.sock, "show config");
  CHECK(r && strstr(r, "[component extra]") && strstr(r, "tokenizer = words"),
        "show config has the new file");
  free(r);
  /* Placement-only change: re-placed live; removal of a component. */
  wt_write(e.ini,
           "[host]\nplugin_dir = %s\nadmin_socket = %s\nstats_socket = %s\n"
           "[device cpu]\nbudget = 64MiB\n"
           "[component text_encoder]\nplugin = hello_encoder\n"
           "placement = stream\ndim = 16\nbuckets = 256\n",
           PLUGINS, e.sock, e.stats);
  r = wt_cmd(e.sock, "reload");
  CHECK(r && strstr(r, "0 added, 0 replaced, 1 re-placed (text_encoder), 2 removed (draft, extra)"),
        "reply %s", r ? r : "(none)");
  free(r);
  CHECK(comp_bytes(e.sock, "text_encoder", "resident") == 0, "streamed now");
  CHECK(comp_bytes(e.sock, "draft", "window") == -1, "draft gone");
  stop_and_check(&e);
}

/* Each bad file must fail with FILE:LINE and leave `show config` as is. */
static void test_reload_bad_leaves_config_unchanged(void) {
  env e;
  env_init(&e, "rbad");
  write_config(&e, "resident", 16, 256, "64MiB", NULL);
  CHECK(start(&e) == 0, "start");
  char *before = wt_cmd(e.sock, "show config");
  char *mem_before = wt_cmd(e.sock, "show components");
  static const struct {
    const char *placement, *budget, *extra;
    int line;
    const char *what;
  } cases[] = {
      {"sideways", "64MiB", NULL, 10, "bad placement 'sideways'"},
      {"resident", "64MiB", "colour = red\n", 18, "unknown key 'colour'"},
      {"resident", "64MiB", "dtype = bf16\n", 18, "does not support dtype"},
      {"resident", "1KiB", NULL, 7, "budget"},
      {"resident", "64MiB", "device = cuda:0\n", 18, "no CUDA device"},
      {"resident", "64MiB", "[component z]\nplugin = ../../etc/passwd\n", 19,
       "plugin"},
      {"resident", "64MiB", "[component z]\nplugin = missing_plugin\n", 19,
       "missing_plugin"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    write_config(&e, cases[i].placement, 16, 256, cases[i].budget,
                 cases[i].extra);
    char *r = wt_cmd(e.sock, "reload");
    char where[700];
    snprintf(where, sizeof where, "%s:%d: ", e.ini, cases[i].line);
    CHECK(r && !strncmp(r, "ERR 400 reload failed: ", 23) && strstr(r, where) &&
              strstr(r, cases[i].what),
          "case %zu: want '%s' '%s', got %s", i, where, cases[i].what,
          r ? r : "(none)");
    free(r);
    char *after = wt_cmd(e.sock, "show config");
    CHECK(before && after && !strcmp(before, after),
          "case %zu: show config changed", i);
    free(after);
    after = wt_cmd(e.sock, "show components");
    CHECK(mem_before && after && !strcmp(mem_before, after),
          "case %zu: components changed", i);
    free(after);
  }
  json_t *info = cmd_json(e.sock, "show info json");
  CHECK(json_integer_value(json_object_get(info, "reloads_failed")) == 7,
        "failed reloads counted");
  json_decref(info);
  free(before);
  free(mem_before);
  stop_and_check(&e);
}

static void test_sighup_reloads_and_coalesces(void) {
  env e;
  env_init(&e, "hup");
  write_config(&e, "resident", 16, 256, "64MiB", NULL);
  CHECK(start(&e) == 0, "start");
  write_config(&e, "resident", 16, 256, "64MiB",
               "[component hupped]\nplugin = hello_encoder\n");
  for (int i = 0; i < 5; i++)
    kill(e.proc.pid, SIGHUP);
  double end = wt_now() + 20;
  int seen = 0;
  while (!seen && wt_now() < end) {
    char *r = wt_cmd(e.sock, "show components");
    seen = r && strstr(r, "hupped");
    free(r);
    if (!seen) poll(NULL, 0, 20);
  }
  CHECK(seen, "component from the SIGHUP reload appears");
  /* Wait for the burst to settle, then count: five signals, at most five
   * reloads, at least one, and none failed. */
  json_int_t ok = 0;
  end = wt_now() + 20;
  for (;;) {
    json_t *info = cmd_json(e.sock, "show info json");
    int busy = json_is_true(json_object_get(info, "reloading"));
    ok = json_integer_value(json_object_get(info, "reloads_ok"));
    CHECK(json_integer_value(json_object_get(info, "reloads_failed")) == 0,
          "no failed reload");
    json_decref(info);
    if (!busy || wt_now() > end) break;
    poll(NULL, 0, 20);
  }
  CHECK(ok >= 1 && ok <= 5, "reloads_ok %lld", (long long)ok);
  stop_and_check(&e);
}

/* Clients that vanish mid-request, send garbage or half a line must not
 * disturb warmd or the clients that behave. */
static void test_rude_clients_are_harmless(void) {
  env e;
  env_init(&e, "rude");
  write_config(&e, "resident", 16, 256, "64MiB", NULL);
  CHECK(start(&e) == 0, "start");
  for (int i = 0; i < 5; i++) { /* hang up while a reload runs */
    int fd = wt_connect(e.sock);
    CHECK(fd >= 0, "connect");
    CHECK(send(fd, "reload\nshow info\n", 18, MSG_NOSIGNAL) == 18, "send");
    close(fd);
  }
  int fd = wt_connect(e.sock); /* half a line, then EOF */
  CHECK(send(fd, "show mem", 8, MSG_NOSIGNAL) == 8, "send");
  shutdown(fd, SHUT_WR);
  char buf[256];
  struct pollfd p = {.fd = fd, .events = POLLIN};
  CHECK(poll(&p, 1, 10000) == 1, "answer to a last line without newline");
  ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
  buf[n > 0 ? n : 0] = '\0';
  CHECK(n > 0 && !strncmp(buf, "ERR 400 ", 8), "%s", buf);
  close(fd);
  fd = wt_connect(e.sock); /* binary junk, then a good command */
  char junk[300];
  for (size_t i = 0; i < sizeof junk; i++) { /* one line of random bytes */
    junk[i] = (char)(rand() & 0xff);
    if (junk[i] == '\n') junk[i] = '\x01';
  }
  junk[0] = '\x02'; /* at least one control byte: always an ERR */
  junk[sizeof junk - 1] = '\n';
  CHECK(send(fd, junk, sizeof junk, MSG_NOSIGNAL) == (ssize_t)sizeof junk,
        "junk");
  char *r = wt_cmd_fd(fd, "show info", 20);
  /* The junk line gets its ERR first; the next reply is for show info. */
  CHECK(r && !strncmp(r, "ERR 400", 7), "junk answered: %s", r ? r : "-");
  free(r);
  close(fd);
  r = wt_cmd(e.sock, "show components");
  CHECK(r && strstr(r, "text_encoder") && strstr(r, "ready"),
        "still serving: %s", r ? r : "-");
  free(r);
  stop_and_check(&e);
}

typedef struct client_arg {
  const char *sock;
  pthread_barrier_t *barrier;
  int failures;
} client_arg;

static void *client_main(void *p) {
  client_arg *a = p;
  int fd = wt_connect(a->sock);
  pthread_barrier_wait(a->barrier); /* all 20 connected before any talks */
  if (fd < 0) {
    a->failures++;
    return NULL;
  }
  for (int i = 0; i < 10; i++) {
    char *r = wt_cmd_fd(fd, i % 2 ? "show memory json" : "show components", 20);
    if (!r || (i % 2 ? r[0] != '{' : !strstr(r, "text_encoder"))) a->failures++;
    free(r);
  }
  close(fd);
  return NULL;
}

static void test_twenty_concurrent_clients(void) {
  env e;
  env_init(&e, "many");
  write_config(&e, "resident", 16, 256, "64MiB", NULL);
  CHECK(start(&e) == 0, "start");
  enum { N = 20 };
  pthread_t th[N];
  client_arg args[N];
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, N + 1);
  for (int i = 0; i < N; i++) {
    args[i] = (client_arg){e.sock, &barrier, 0};
    pthread_create(&th[i], NULL, client_main, &args[i]);
  }
  pthread_barrier_wait(&barrier);
  char *r = wt_cmd(e.sock, "reload"); /* a reload in the middle of it all */
  CHECK(r && strstr(r, "reloaded"), "reload among clients: %s",
        r ? r : "(none)");
  free(r);
  int fails = 0;
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    fails += args[i].failures;
  }
  pthread_barrier_destroy(&barrier);
  CHECK(fails == 0, "%d failed replies", fails);
  stop_and_check(&e);
}

static void test_stats_socket_is_read_only(void) {
  env e;
  env_init(&e, "stats");
  write_config(&e, "resident", 16, 256, "64MiB", NULL);
  CHECK(start(&e) == 0, "start");
  /* The stats socket opens just after the admin one: wait for it too (a
   * slow, sanitized warmd showed the gap). */
  CHECK(wt_wait_socket(&e.proc, e.stats, 20) == 0, "stats socket accepts");
  char *r = wt_cmd(e.stats, "show memory");
  CHECK(r && strstr(r, "device cpu"), "show on stats: %s", r ? r : "(none)");
  free(r);
  static const char *const refused[] = {
      "reload", "shutdown", "set component draft placement resident"};
  for (int i = 0; i < 3; i++) {
    r = wt_cmd(e.stats, refused[i]);
    CHECK(r && !strncmp(r, "ERR 403 ", 8), "'%s' on stats: %s", refused[i],
          r ? r : "(none)");
    free(r);
  }
  r = wt_cmd(e.stats, "help");
  CHECK(r && !strstr(r, "\nreload ") && strstr(r, "show info"), "help: %s",
        r ? r : "(none)");
  free(r);
  stop_and_check(&e);
}

static void test_shutdown_command_stops_gracefully(void) {
  env e;
  env_init(&e, "shut");
  write_config(&e, "resident", 16, 256, "64MiB", NULL);
  CHECK(start(&e) == 0, "start");
  char *r = wt_cmd(e.sock, "shutdown");
  CHECK(r && !strcmp(r, "OK shutting down\n"), "reply %s", r ? r : "(none)");
  free(r);
  CHECK(wt_wait_exit(&e.proc, 20) == 0, "exit 0");
  stop_and_check(&e);
}

static void test_warmctl_exit_codes_and_prompt(void) {
  env e;
  env_init(&e, "ctl");
  write_config(&e, "resident", 16, 256, "64MiB", NULL);
  CHECK(start(&e) == 0, "start");
  char cmd[2048], out[8192];
  snprintf(cmd, sizeof cmd, "%s/bin/warmctl -s %s show components",
           WARM_BUILD_DIR, e.sock);
  CHECK(wt_run(cmd, out, sizeof out) == 0 && strstr(out, "draft"), "%s", out);
  snprintf(cmd, sizeof cmd, "%s/bin/warmctl -s %s no such command",
           WARM_BUILD_DIR, e.sock);
  CHECK(wt_run(cmd, out, sizeof out) == 1 && strstr(out, "ERR 400"), "%s", out);
  snprintf(cmd, sizeof cmd, "%s/bin/warmctl -s %s/nope.sock show info",
           WARM_BUILD_DIR, e.dir);
  CHECK(wt_run(cmd, out, sizeof out) == 2 && strstr(out, "cannot connect"),
        "%s", out);
  snprintf(cmd, sizeof cmd,
           "printf 'show info\\nbogus\\nshow memory json\\n' | "
           "%s/bin/warmctl -s %s",
           WARM_BUILD_DIR, e.sock);
  CHECK(wt_run(cmd, out, sizeof out) == 1 && strstr(out, "version:") &&
            strstr(out, "ERR 400") && strstr(out, "{\"devices\""),
        "prompt mode: %s", out);
  stop_and_check(&e);
}

int main(void) {
  if (access(WARMD, X_OK) != 0 || access(PLUGINS "/hello_encoder.so", R_OK)) {
    fprintf(stderr, "FAIL: needs %s and %s/hello_encoder.so (build them)\n",
            WARMD, PLUGINS);
    return 1;
  }
  g_seed = (unsigned)time(NULL) ^ (unsigned)getpid();
  fprintf(stderr, "seed %u\n", g_seed);
  srand(g_seed);
  signal(SIGPIPE, SIG_IGN);
  RUN(test_socket_mode_0600_and_stale_socket_removed);
  RUN(test_show_json_shapes_match_the_issue);
  RUN(test_set_placement_stream_drops_ledger_bytes);
  RUN(test_resident_past_budget_is_refused_and_auto_streams);
  RUN(test_reload_good_applies_only_differences);
  RUN(test_reload_bad_leaves_config_unchanged);
  RUN(test_sighup_reloads_and_coalesces);
  RUN(test_twenty_concurrent_clients);
  RUN(test_rude_clients_are_harmless);
  RUN(test_stats_socket_is_read_only);
  RUN(test_shutdown_command_stops_gracefully);
  RUN(test_warmctl_exit_codes_and_prompt);
  return wt_failures ? 1 : 0;
}

/*
 * test_deploy_nginx.c — scale-out on loopback as docs/deploy.md describes
 * it: three warmd instances (instance_id gpu0..gpu2, the tiny cpu
 * pipeline) behind Debian's nginx running the shipped
 * conf/nginx-warmd.conf, its addresses templated to this test's ports.
 *
 * 30 jobs over 10 prompts, each POST carrying the prompt's affinity key.
 * Halfway, the instance with the most jobs drains (what the Kubernetes
 * preStop hook does) and then gets SIGTERM. Checked: every POST is
 * accepted (the draining instance answers 503 and nginx retries
 * elsewhere), no job is lost (each ends done: read through nginx from its
 * owner, or from the stopped instance's output_dir once it is gone), every GET
 * is answered by the instance its id names, jobs of one key go to one instance,
 * and the repeats hit that instance's embedding cache.
 */
#include <arpa/inet.h>
#include <jansson.h>

#include "ops_testutil.h"
#include "wh_testutil.h"

#define N_INST 3
#define N_JOBS 30
#define N_KEYS 10

static char dir[512];
static struct inst {
  char name[16], dir[700], sock[800], cfg[800], log[800];
  wt_proc proc;
  int port;
} in[N_INST];
static wt_proc nginx;
static int nport;
static int v; /* the instance that drains and stops */

static struct job {
  char id[64], owner[16];
  int key, phase, done, hit;
} jobs[N_JOBS];

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  int port = -1;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
      getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
    port = ntohs(sa.sin_port);
  close(fd);
  return port;
}

static int start_instance(int i) {
  struct inst *s = &in[i];
  snprintf(s->name, sizeof s->name, "gpu%d", i);
  snprintf(s->dir, sizeof s->dir, "%.500s/%.15s", dir, s->name);
  mkdir(s->dir, 0755);
  snprintf(s->sock, sizeof s->sock, "%.600s/admin.sock", s->dir);
  snprintf(s->cfg, sizeof s->cfg, "%.600s/warmd.ini", s->dir);
  snprintf(s->log, sizeof s->log, "%.600s/warmd.log", s->dir);
  char pipe[2048];
  op_pipeline_ini(pipe, sizeof pipe);
  wt_write(s->cfg,
           "[host]\nplugin_dir = %s/plugins\nadmin_socket = %s\n"
           "output_dir = %s/out\nhttp_listen = 127.0.0.1:0\n"
           "instance_id = %s\nshutdown_timeout = 30\n%s",
           WARM_BUILD_DIR, s->sock, s->dir, s->name, pipe);
  char bin[1024];
  snprintf(bin, sizeof bin, "%s/bin/warmd", WARM_BUILD_DIR);
  char *argv[] = {bin, "-c", s->cfg, NULL};
  if (wt_spawn(&s->proc, s->log, argv) || wt_wait_socket(&s->proc, s->sock, 30))
    return -1;
  return 0;
}

/* replaces every `from` in *text by `to` (realloc'd). */
static void replace(char **text, const char *from, const char *to) {
  char *p;
  while ((p = strstr(*text, from))) {
    size_t pre = (size_t)(p - *text), fl = strlen(from), tl = strlen(to);
    char *n = malloc(strlen(*text) - fl + tl + 1);
    memcpy(n, *text, pre);
    memcpy(n + pre, to, tl);
    strcpy(n + pre + tl, p + fl);
    free(*text);
    *text = n;
  }
}

static int start_nginx(void) {
  char src[1024], ndir[600], path[1000];
  snprintf(src, sizeof src, "%s/conf/nginx-warmd.conf", WARM_SOURCE_DIR);
  FILE *f = fopen(src, "r");
  if (!f) return -1;
  char *text = calloc(1, 1 << 16);
  size_t got = fread(text, 1, (1 << 16) - 1, f);
  text[got] = '\0';
  fclose(f);
  char from[32], to[32];
  nport = free_port();
  snprintf(to, sizeof to, "127.0.0.1:%d", nport);
  replace(&text, "127.0.0.1:8100", to);
  for (int i = 0; i < N_INST; i++) {
    snprintf(from, sizeof from, "127.0.0.1:810%d", i + 1);
    snprintf(to, sizeof to, "127.0.0.1:%d", in[i].port);
    replace(&text, from, to);
  }
  snprintf(ndir, sizeof ndir, "%.500s/nginx", dir);
  mkdir(ndir, 0755);
  snprintf(path, sizeof path, "%s/warmd.conf", ndir);
  wt_write(path, "%s", text);
  free(text);
  /* The main file is the test's: no daemon, files under the temp prefix. */
  snprintf(path, sizeof path, "%s/nginx.conf", ndir);
  wt_write(path,
           "%sdaemon off;\nworker_processes 1;\npid %s/nginx.pid;\n"
           "error_log %s/error.log info;\nevents { worker_connections 512; }\n"
           "http {\n  access_log %s/access.log;\n"
           "  client_body_temp_path %s/body;\n  proxy_temp_path %s/proxy;\n"
           "  fastcgi_temp_path %s/fcgi;\n  uwsgi_temp_path %s/uwsgi;\n"
           "  scgi_temp_path %s/scgi;\n  include %s/warmd.conf;\n}\n",
           geteuid() == 0 ? "user root;\n" : "", ndir, ndir, ndir, ndir, ndir,
           ndir, ndir, ndir, ndir);
  char err[1000], log[1000];
  snprintf(err, sizeof err, "%s/error.log", ndir);
  snprintf(log, sizeof log, "%s/stderr.log", ndir);
  char *argv[] = {"/usr/sbin/nginx", "-p", ndir, "-e", err, "-c", path, NULL};
  if (wt_spawn(&nginx, log, argv)) return -1;
  double end = wt_now() + 10;
  while (wt_now() < end) {
    int fd = ht_connect(nport);
    if (fd >= 0) {
      close(fd);
      return 0;
    }
    poll(NULL, 0, 20);
  }
  return -1;
}

static int inst_of(const char *name) {
  for (int i = 0; i < N_INST; i++)
    if (!strcmp(in[i].name, name)) return i;
  return -1;
}

static int submit(int j) {
  struct job *jb = &jobs[j];
  jb->key = j % N_KEYS;
  char body[128], hdr[96], h[32];
  snprintf(body, sizeof body, "{\"prompt\": \"a heron, take %d\"}", jb->key);
  snprintf(hdr, sizeof hdr, "X-Warmd-Affinity: prompt-%d\r\n", jb->key);
  op_resp r;
  op_request(nport, "POST", "/v1/generations", hdr, body, &r);
  json_t *o = r.status == 202 ? json_loads(r.body, 0, NULL) : NULL;
  const char *id = o ? json_string_value(json_object_get(o, "id")) : NULL;
  snprintf(jb->id, sizeof jb->id, "%s", id ? id : "");
  op_header(&r, "Warmd-Instance", h, sizeof h);
  snprintf(jb->owner, sizeof jb->owner, "%s", h);
  int st = r.status;
  json_decref(o);
  op_free(&r);
  size_t k = strlen(jb->owner);
  CHECK(st == 202 && k && !strncmp(jb->id, jb->owner, k) && jb->id[k] == '.',
        "job %d: POST %d, id %s from %s", j, st, jb->id, jb->owner);
  return st;
}

/* GET through nginx; 1 when the job is done (hit filled), 0 not yet, -1
 * when answered by another instance than the id names or failed. */
static int poll_job(int j, int quiet) {
  struct job *jb = &jobs[j];
  char path[128], h[32];
  snprintf(path, sizeof path, "/v1/generations/%.63s", jb->id);
  op_resp r;
  op_request(nport, "GET", path, NULL, NULL, &r);
  op_header(&r, "Warmd-Instance", h, sizeof h);
  int rc = 0;
  if (r.status != 200 || strcmp(h, jb->owner)) {
    rc = -1;
  } else {
    json_t *o = json_loads(r.body, 0, NULL);
    const char *st = json_string_value(json_object_get(o, "state"));
    if (st && !strcmp(st, "done")) {
      json_t *res = json_object_get(o, "result");
      jb->hit = json_is_true(json_object_get(res, "cache_hit"));
      rc = 1;
    } else if (st && strcmp(st, "queued") && strcmp(st, "running")) {
      rc = -1;
    }
    json_decref(o);
  }
  if (rc < 0 && !quiet)
    fprintf(stderr, "  job %s: GET %d from '%s': %.200s\n", jb->id, r.status, h,
            r.body);
  op_free(&r);
  return rc;
}

/* The drained instance has stopped: its jobs are judged by its files. */
static int done_on_disk(int j) {
  struct job *jb = &jobs[j];
  char path[1200];
  snprintf(path, sizeof path, "%.700s/out/%.63s/result.json", in[v].dir,
           jb->id);
  json_t *o = json_load_file(path, 0, NULL);
  if (!o) return 0;
  jb->hit = json_is_true(json_object_get(o, "cache_hit"));
  json_decref(o);
  return 1;
}

static void test_three_instances_behind_nginx_one_draining(void) {
  for (int i = 0; i < N_INST; i++) {
    CHECK(start_instance(i) == 0, "warmd %d starts", i);
    in[i].port = ht_logged_port(in[i].log, 10);
    CHECK(in[i].port > 0, "port of %d", i);
  }
  CHECK(start_nginx() == 0, "nginx starts on %d", nport);
  if (wt_failures) return;
  double t0 = wt_now();
  for (int j = 0; j < N_JOBS / 2; j++) {
    jobs[j].phase = 0;
    submit(j);
  }
  int count[N_INST] = {0};
  for (int j = 0; j < N_JOBS / 2; j++)
    if (inst_of(jobs[j].owner) >= 0) count[inst_of(jobs[j].owner)]++;
  v = 0;
  for (int i = 1; i < N_INST; i++)
    if (count[i] > count[v]) v = i;
  const char *victim = in[v].name;
  char *rep = wt_cmd(in[v].sock, "drain");
  CHECK(rep && !strncmp(rep, "OK", 2), "%s drains: %s", victim, rep);
  free(rep);
  int moved = 0;
  for (int j = N_JOBS / 2; j < N_JOBS; j++) {
    jobs[j].phase = 1;
    submit(j);
    CHECK(strcmp(jobs[j].owner, victim), "no new job on the draining %s",
          victim);
    /* A key whose earlier jobs went there now lands elsewhere. */
    for (int e = 0; e < N_JOBS / 2; e++)
      if (jobs[e].key == jobs[j].key && !strcmp(jobs[e].owner, victim)) {
        moved++;
        break;
      }
  }
  CHECK(moved > 0, "some POSTs of %s's keys were sent elsewhere", victim);
  kill(in[v].proc.pid, SIGTERM);

  /* Poll every job through nginx; the stopping one's until it has gone. */
  int gone = 0, misrouted = 0;
  double end = wt_now() + 60;
  for (int left = N_JOBS; left > 0 && wt_now() < end;) {
    left = 0;
    for (int j = 0; j < N_JOBS; j++) {
      if (jobs[j].done) continue;
      int on1 = !strcmp(jobs[j].owner, victim);
      if (on1 && gone) continue;
      int rc = poll_job(j, on1); /* it may be gone by now: 502 */
      if (rc == 1) jobs[j].done = 1;
      if (rc < 0 && !on1) misrouted++;
      if (!jobs[j].done) left++;
    }
    if (!gone) {
      int st;
      if (waitpid(in[v].proc.pid, &st, WNOHANG) == in[v].proc.pid) {
        gone = 1;
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s exits 0", victim);
        in[v].proc.pid = -1;
      }
    }
    if (left) poll(NULL, 0, 20);
  }
  if (!gone) CHECK(wt_wait_exit(&in[v].proc, 30) == 0, "%s exits 0", victim);
  CHECK(misrouted == 0, "every GET answered by the id's owner: %d not",
        misrouted);
  int lost = 0, per_inst[N_INST] = {0};
  for (int j = 0; j < N_JOBS; j++) {
    if (!jobs[j].done && !strcmp(jobs[j].owner, victim))
      jobs[j].done = done_on_disk(j);
    lost += !jobs[j].done;
    int i = inst_of(jobs[j].owner);
    if (i >= 0) per_inst[i]++;
  }
  CHECK(lost == 0, "0 jobs lost: %d", lost);

  /* Affinity: before the drain each key had one instance; every job of a
   * key after its first on that instance found the embeddings cached. */
  int split = 0, hits = 0, want_hits = 0, wrong = 0;
  for (int j = 0; j < N_JOBS; j++) {
    int first = 1;
    for (int e = 0; e < j; e++) {
      if (jobs[e].key != jobs[j].key) continue;
      if (!strcmp(jobs[e].owner, jobs[j].owner))
        first = 0;
      else if (jobs[j].phase == 0)
        split++;
    }
    want_hits += !first;
    hits += jobs[j].hit;
    wrong += jobs[j].hit == first;
  }
  CHECK(split == 0, "one instance per key before the drain: %d split", split);
  CHECK(wrong == 0 && hits == want_hits && hits >= N_JOBS - 2 * N_KEYS,
        "cache hits where the key repeated on its instance: %d of %d (%d "
        "wrong)",
        hits, want_hits, wrong);
  fprintf(stderr,
          "  %d jobs in %.2f s: gpu0 %d, gpu1 %d, gpu2 %d; %s drained: %d "
          "later POSTs of its keys went elsewhere; %d cache hits\n",
          N_JOBS, wt_now() - t0, per_inst[0], per_inst[1], per_inst[2], victim,
          moved, hits);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  op_need_pipeline();
  if (access("/usr/sbin/nginx", X_OK)) {
    printf("SKIP: /usr/sbin/nginx is not installed (Debian package nginx)\n");
    return 77;
  }
  wt_tempdir(dir, sizeof dir, "deploy");
  RUN(test_three_instances_behind_nginx_one_draining);
  if (wt_failures) {
    for (int i = 0; i < N_INST; i++)
      wt_dump_log(&in[i].proc);
    wt_dump_log(&nginx);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "tail -20 %s/nginx/error.log %s/nginx/access.log",
             dir, dir);
    if (system(cmd)) fprintf(stderr, "no nginx logs\n");
  }
  for (int i = 0; i < N_INST; i++)
    if (in[i].proc.pid > 0) {
      kill(in[i].proc.pid, SIGTERM);
      wt_wait_exit(&in[i].proc, 20);
    }
  if (nginx.pid > 0) {
    kill(nginx.pid, SIGQUIT); /* nginx's graceful stop */
    wt_wait_exit(&nginx, 10);
  }
  wt_rmtree(dir);
  return wt_failures ? 1 : 0;
}

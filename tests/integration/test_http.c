/*
 * test_http.c — the HTTP data plane embedded in the test process: a real
 * libuv loop on its own thread serving wh_api over TCP on 127.0.0.1, a real
 * runtime with the hello_encoder plugin, the real embedding cache, and
 * blocking clients on the test's threads.
 *
 * Jobs run through a runner written here (the model plugins are tested end
 * to end in test_http_pipeline): it encodes the prompt through the real
 * encoder component and cache (wh_pipeline_encode), then renders frames
 * step by step (honouring cancellation and reporting progress) and writes
 * video.y4m and result.json with the real writers. A prompt starting with
 * "hold" waits at its first step until the test opens the gate, so queue,
 * drain, cancel and shutdown timing are deterministic without sleeps.
 */
#include "http_harness.h"

/* ---- tests ------------------------------------------------------------- */

static void test_http_job_end_to_end_with_video_and_metrics(void) {
  CHECK(server_start(0, 0, 0, 0) == 0, "server starts");
  int port = S.port;
  ht_resp r;
  ht_request(port, "GET", "/healthz", NULL, &r);
  CHECK(r.status == 200 && strstr(r.body, "ok"), "healthz: %d %s", r.status,
        r.body);
  ht_free(&r);
  ht_request(port, "GET", "/readyz", NULL, &r);
  CHECK(r.status == 200, "readyz: %d %s", r.status, r.body);
  ht_free(&r);

  char id[32] = "", id2[32] = "";
  const char *body =
      "{\"prompt\": \"a red fox in the snow\", \"frames\": 9, "
      "\"height\": 32, \"width\": 48, \"steps\": 3, \"seed\": 7}";
  CHECK(post_job(port, body, id) == 202, "POST accepted");
  CHECK(wh_job_id_valid(id), "id '%s' has the id shape", id);
  json_t *j = wait_job(port, 0, id, 20);
  CHECK(j && !strcmp(jstr(j, "state"), "done"), "job done: %s",
        j ? jstr(j, "state") : "(none)");
  json_t *res = json_object_get(j, "result");
  CHECK(json_is_object(res), "result is result.json");
  CHECK(json_integer_value(json_object_get(res, "width")) == 48, "width 48");
  CHECK(json_is_false(json_object_get(res, "cache_hit")), "first: a miss");
  CHECK(json_real_value(json_object_get(j, "progress")) == 1.0, "progress 1");
  CHECK(json_is_null(json_object_get(j, "error")), "no error");
  json_decref(j);

  char path[128];
  snprintf(path, sizeof path, "/v1/generations/%s/video", id);
  ht_request(port, "GET", path, NULL, &r);
  CHECK(r.status == 200, "video: %d", r.status);
  CHECK(!strncmp(r.body, "YUV4MPEG2 W48 H32", 17), "a y4m: %.40s", r.body);
  char file[1024];
  snprintf(file, sizeof file, "%s/out/%s/video.y4m", S.dir, id);
  struct stat st;
  CHECK(stat(file, &st) == 0 && (size_t)st.st_size == r.body_len,
        "served bytes = file bytes (%zu)", r.body_len);
  CHECK(!strcmp(r.content_type, "video/x-yuv4mpeg"), "type %s", r.content_type);
  ht_free(&r);

  /* Same prompt, a video of many file chunks: the embedding cache
   * answers, and the whole file is streamed back. */
  CHECK(post_job(port,
                 "{\"prompt\": \"a red fox in the snow\", \"frames\": 17, "
                 "\"height\": 256, \"width\": 256, \"steps\": 1}",
                 id2) == 202,
        "second POST");
  j = wait_job(port, 0, id2, 20);
  CHECK(j && json_is_true(
                 json_object_get(json_object_get(j, "result"), "cache_hit")),
        "second: a cache hit");
  json_decref(j);
  snprintf(path, sizeof path, "/v1/generations/%s/video", id2);
  ht_request(port, "GET", path, NULL, &r);
  snprintf(file, sizeof file, "%s/out/%s/video.y4m", S.dir, id2);
  CHECK(r.status == 200 && stat(file, &st) == 0 &&
            (size_t)st.st_size == r.body_len && r.body_len > 1000000,
        "a %zu-byte video streamed whole", r.body_len);
  FILE *vf = fopen(file, "rb");
  char *disk = malloc(r.body_len + 1);
  CHECK(vf && fread(disk, 1, r.body_len, vf) == r.body_len &&
            !memcmp(disk, r.body, r.body_len),
        "served bytes equal the file");
  if (vf) fclose(vf);
  free(disk);
  ht_free(&r);
  CHECK(strcmp(id, id2) != 0, "ids differ");

  CHECK(metric(port, "warmd_jobs{state=\"done\"}") == 2, "2 done");
  CHECK(metric(port, "warmd_stage_seconds_count{stage=\"encode\"}") == 2,
        "encode histogram has 2");
  CHECK(metric(port, "warmd_cache_hits_total") == 1, "1 cache hit");
  CHECK(metric(port, "warmd_cache_misses_total") == 1, "1 miss");
  CHECK(metric(port, "warmd_streamed_bytes_total") == 2000, "streamed bytes");
  CHECK(metric(port, "warmd_ledger_bytes{device=\"cpu\",component=\"text_"
                     "encoder\",class=\"resident\"}") > 0,
        "ledger bytes of the encoder");
  CHECK(metric(port, "warmd_queue_depth") == 0, "queue empty");
  double t = server_stop();
  CHECK(t < 5, "idle stop is quick (%.2f s)", t);
}

typedef struct bad_case {
  const char *method, *path, *body;
  int status;
  const char *field; /* expected "field", or NULL */
} bad_case;

static void test_http_rejects_bad_requests_with_the_field(void) {
  CHECK(server_start(0, 4096, 0, 0) == 0, "server starts");
  int port = S.port;
  const bad_case cases[] = {
      {"POST", "/v1/generations", "{\"prompt\": ", 400, NULL},
      {"POST", "/v1/generations", "not json", 400, NULL},
      {"POST", "/v1/generations", "{\"prompt\":\"a\",\"prompt\":\"b\"}", 400,
       NULL},
      {"POST", "/v1/generations", "[1,2]", 422, ""},
      {"POST", "/v1/generations", "{}", 422, "prompt"},
      {"POST", "/v1/generations", "{\"prompt\": 5}", 422, "prompt"},
      {"POST", "/v1/generations", "{\"prompt\": \"\"}", 422, "prompt"},
      {"POST", "/v1/generations", "{\"prompt\": \"a\\u0000b\"}", 422, "prompt"},
      {"POST", "/v1/generations", "{\"prompt\": \"x\", \"frames\": \"9\"}", 422,
       "frames"},
      {"POST", "/v1/generations", "{\"prompt\": \"x\", \"frames\": -1}", 422,
       "frames"},
      {"POST", "/v1/generations", "{\"prompt\": \"x\", \"steps\": 2.5}", 422,
       "steps"},
      {"POST", "/v1/generations", "{\"prompt\": \"x\", \"width\": 100000}", 422,
       "width"},
      {"POST", "/v1/generations", "{\"prompt\": \"x\", \"seed\": -3}", 422,
       "seed"},
      {"POST", "/v1/generations", "{\"prompt\": \"x\", \"guidance\": 99}", 422,
       "guidance"},
      {"POST", "/v1/generations", "{\"prompt\": \"x\", \"colour\": 1}", 422,
       "colour"},
      {"POST", "/v1/generations", "{\"prompt\": \"x\", \"frames\": 10}", 422,
       "frames"},
      {"POST", "/v1/generations", "{\"prompt\": \"x\", \"height\": 60}", 422,
       "height"},
      {"GET", "/v1/generations/0123456789abcdef", NULL, 404, NULL},
      {"GET", "/v1/generations/0123456789abcdef/video", NULL, 404, NULL},
      {"GET", "/v1/generations/../../etc/passwd", NULL, 404, NULL},
      {"GET", "/v1/generations/%2e%2e%2f%2e%2e/video", NULL, 404, NULL},
      {"GET", "/v1/generations/0123456789ABCDEF", NULL, 404, NULL},
      {"GET", "/v1/generations/0123456789abcdef/result.json", NULL, 404, NULL},
      {"GET", "/v1/generations/0123456789abcdef/../../x", NULL, 404, NULL},
      {"DELETE", "/v1/generations/0123456789abcdef", NULL, 404, NULL},
      {"GET", "/nothing", NULL, 404, NULL},
      {"PUT", "/v1/generations", "{}", 405, NULL},
      {"POST", "/healthz", "{}", 405, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const bad_case *c = &cases[i];
    ht_resp r;
    ht_request(port, c->method, c->path, c->body, &r);
    CHECK(r.status == c->status, "%s %s %s: got %d want %d (%s)", c->method,
          c->path, c->body ? c->body : "", r.status, c->status, r.body);
    json_t *j = body_json(&r);
    CHECK(j && jstr(j, "error"), "%s %s: a JSON error: %s", c->method, c->path,
          r.body);
    if (c->field && j)
      CHECK(jstr(j, "field") ? !strcmp(jstr(j, "field"), c->field) : !*c->field,
            "%s: field %s, want %s (%s)", c->body, jstr(j, "field"), c->field,
            r.body);
    json_decref(j);
    ht_free(&r);
  }

  /* A body over max_body: 413 and the connection closes. */
  size_t big = 2 << 20; /* far past max_body: the server drops the rest */
  char *body = malloc(big + 64);
  snprintf(body, big + 64, "{\"prompt\": \"%0*d\"}", (int)big, 0);
  ht_resp r;
  ht_request(port, "POST", "/v1/generations", body, &r);
  CHECK(r.status == 413 && r.closes, "413 and close: %d", r.status);
  ht_free(&r);
  free(body);

  /* A head over the limit: 431. */
  int fd = ht_connect(port);
  char *head = malloc(40000);
  int n = snprintf(head, 40000, "GET /healthz HTTP/1.1\r\nX-Pad: %0*d\r\n\r\n",
                   30000, 0);
  ht_send_all(fd, head, (size_t)n);
  ht_read(fd, &r, 5);
  CHECK(r.status == 431, "huge head: %d", r.status);
  ht_free(&r);
  close(fd);
  free(head);

  /* Not HTTP at all: 400 and close. */
  fd = ht_connect(port);
  ht_send_all(fd, "HELLO THERE\r\n\r\n", 15);
  ht_read(fd, &r, 5);
  CHECK(r.status == 400, "garbage: %d", r.status);
  CHECK(ht_closed_within(fd, 5), "closed after garbage");
  ht_free(&r);
  close(fd);

  /* Two requests in one write: both answered, in order, on one
   * connection (the second asks to close it). */
  fd = ht_connect(port);
  const char *two = "GET /healthz HTTP/1.1\r\n\r\n"
                    "GET /nothing HTTP/1.1\r\nConnection: close\r\n\r\n";
  ht_send_all(fd, two, strlen(two));
  char both[4096];
  size_t got = 0;
  double end = wt_now() + 5;
  for (;;) {
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (wt_now() > end || poll(&pf, 1, 100) < 0) break;
    ssize_t k = recv(fd, both + got, sizeof both - 1 - got, MSG_DONTWAIT);
    if (k == 0) break;
    if (k > 0) got += (size_t)k;
  }
  both[got] = '\0';
  char *first = strstr(both, "HTTP/1.1 200");
  CHECK(first && strstr(first, "HTTP/1.1 404"),
        "pipelined: 200 then 404, then close: %s", both);
  close(fd);

  /* A chunked POST body is put together before it is checked. */
  fd = ht_connect(port);
  const char *chunked = "POST /v1/generations HTTP/1.1\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n"
                        "6\r\n{\"prom\r\n"
                        "f\r\npt\": 5, \"x\": 1}\r\n0\r\n\r\n";
  ht_send_all(fd, chunked, strlen(chunked));
  ht_read(fd, &r, 5);
  json_t *cj = body_json(&r);
  CHECK(r.status == 422 && cj && jstr(cj, "field") &&
            !strcmp(jstr(cj, "field"), "prompt"),
        "chunked body parsed whole: %d %s", r.status, r.body);
  json_decref(cj);
  ht_free(&r);
  close(fd);

  /* Still healthy after all that, and no job was queued. */
  CHECK(metric(port, "warmd_jobs_submitted_total") == 0, "nothing queued");
  ht_request(port, "GET", "/healthz", NULL, &r);
  CHECK(r.status == 200, "healthz after abuse: %d", r.status);
  ht_free(&r);
  server_stop();
}

#define N_CLIENTS 16
#define PER_CLIENT 4

typedef struct client_arg {
  int port, idx, ok, done;
  char ids[PER_CLIENT][32];
} client_arg;

/* One client: on one kept-alive connection, submit PER_CLIENT jobs and
 * poll each until done. */
static void *client_main(void *arg) {
  client_arg *c = arg;
  int fd = ht_connect(c->port);
  if (fd < 0) return NULL;
  for (int k = 0; k < PER_CLIENT; k++) {
    char body[256];
    snprintf(body, sizeof body,
             "{\"prompt\": \"client %d job %d\", \"steps\": 2, \"frames\": 9, "
             "\"height\": 16, \"width\": 16, \"seed\": %d}",
             c->idx, k, c->idx * 100 + k);
    ht_resp r;
    ht_request_fd(fd, "POST", "/v1/generations", body, &r, 20);
    json_t *j = r.status == 202 ? body_json(&r) : NULL;
    if (j) {
      snprintf(c->ids[k], 32, "%s", jstr(j, "id"));
      c->ok++;
    }
    json_decref(j);
    ht_free(&r);
  }
  for (int k = 0; k < PER_CLIENT; k++) {
    json_t *j = c->ids[k][0] ? wait_job(fd, 1, c->ids[k], 60) : NULL;
    if (j && !strcmp(jstr(j, "state"), "done")) c->done++;
    json_decref(j);
  }
  close(fd);
  return NULL;
}

typedef struct switcher {
  int stop;     /* atomic */
  int switches; /* placement changes that succeeded */
  int reloads;  /* reloads that applied */
  int failures;
} switcher;

/* Control ops interleaved with the jobs, as an operator would: live
 * placement switches of the encoder, and reloads of a config file that
 * differs from the running one in that placement. */
static void *switch_main(void *arg) {
  switcher *w = arg;
  char cfg[700];
  snprintf(cfg, sizeof cfg, "%s/warmd.ini", S.dir);
  for (int i = 0; !__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE); i++) {
    char reply[256];
    warm_error e = {0};
    if (i % 4 == 3) {
      wh_config *c = NULL;
      wh_plan *plan = NULL;
      if (wh_config_load(cfg, &c) == 0 && !c->n_errors &&
          wh_reload_prepare(S.rt, c, &plan) == 0 &&
          wh_reload_commit(S.rt, plan, reply, sizeof reply, &e) == 0)
        w->reloads++;
      else
        w->failures++;
      wh_config_free(c);
    } else if (wh_runtime_set(S.rt, "text_encoder", "placement",
                              i % 2 ? "resident" : "stream", reply,
                              sizeof reply, &e) == 0) {
      w->switches++;
    } else {
      fprintf(stderr, "set: %s\n", e.msg);
      w->failures++;
    }
    poll(NULL, 0, 3); /* an operator's pace, not a busy loop */
  }
  return NULL;
}

static void test_http_many_clients_all_jobs_done(void) {
  CHECK(server_start(N_CLIENTS * PER_CLIENT, 0, 0, 0) == 0, "server starts");
  pthread_t th[N_CLIENTS], sw;
  client_arg ca[N_CLIENTS];
  switcher w = {0};
  pthread_create(&sw, NULL, switch_main, &w);
  for (int i = 0; i < N_CLIENTS; i++) {
    ca[i] = (client_arg){.port = S.port, .idx = i};
    pthread_create(&th[i], NULL, client_main, &ca[i]);
  }
  int ok = 0, done = 0;
  for (int i = 0; i < N_CLIENTS; i++) {
    pthread_join(th[i], NULL);
    ok += ca[i].ok;
    done += ca[i].done;
  }
  __atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
  pthread_join(sw, NULL);
  CHECK(w.switches > 0 && w.reloads > 0 && !w.failures,
        "%d placement switches and %d reloads ran meanwhile, %d failed",
        w.switches, w.reloads, w.failures);
  CHECK(ok == N_CLIENTS * PER_CLIENT, "accepted %d", ok);
  CHECK(done == N_CLIENTS * PER_CLIENT, "done %d", done);
  for (int i = 0; i < N_CLIENTS; i++)
    for (int k = 0; k < PER_CLIENT; k++)
      for (int i2 = 0; i2 < N_CLIENTS; i2++)
        for (int k2 = 0; k2 < PER_CLIENT; k2++)
          if ((i != i2 || k != k2) && ca[i].ids[k][0])
            CHECK(strcmp(ca[i].ids[k], ca[i2].ids[k2]) != 0, "unique ids");
  CHECK(metric(S.port, "warmd_jobs{state=\"done\"}") == N_CLIENTS * PER_CLIENT,
        "all done in metrics");
  server_stop();
}

static void test_http_slow_client_does_not_block_others(void) {
  CHECK(server_start(0, 0, 800, 0) == 0, "server starts");
  int port = S.port;
  /* Half a request, then silence. */
  int slow = ht_connect(port);
  const char *half = "POST /v1/generations HTTP/1.1\r\nContent-Length: 100\r\n"
                     "\r\n{\"pro";
  ht_send_all(slow, half, strlen(half));
  /* A client that connects and never says anything. */
  int mute = ht_connect(port);
  double t0 = wt_now();
  for (int i = 0; i < 20; i++) {
    ht_resp r;
    ht_request(port, "GET", "/healthz", NULL, &r);
    CHECK(r.status == 200, "healthz %d while a client stalls", r.status);
    ht_free(&r);
  }
  double dt = wt_now() - t0;
  CHECK(dt < 0.7, "20 requests in %.3f s despite the stalled client", dt);
  ht_resp r;
  ht_read(slow, &r, 5);
  CHECK(r.status == 408, "the stalled client gets 408: %d", r.status);
  CHECK(ht_closed_within(slow, 5), "and is closed");
  double waited = wt_now() - t0;
  CHECK(waited >= 0.7 && waited < 4, "after the request timeout (%.2f s)",
        waited);
  ht_free(&r);
  close(slow);
  close(mute);
  /* A client that vanishes mid-request leaves no trace either. */
  int gone = ht_connect(port);
  ht_send_all(gone, half, strlen(half));
  close(gone);
  ht_request(port, "GET", "/healthz", NULL, &r);
  CHECK(r.status == 200, "still serving: %d", r.status);
  ht_free(&r);
  server_stop();
}

static void test_http_full_queue_answers_503_with_retry_after(void) {
  CHECK(server_start(2, 0, 0, 0) == 0, "server starts");
  int port = S.port;
  char id[4][32];
  CHECK(post_job(port, "{\"prompt\": \"hold 0\", \"steps\": 1}", id[0]) == 202,
        "first");
  CHECK(wait_holding(1), "the first job runs and holds");
  CHECK(post_job(port, "{\"prompt\": \"q1\", \"steps\": 1}", id[1]) == 202,
        "queued 1");
  CHECK(post_job(port, "{\"prompt\": \"q2\", \"steps\": 1}", id[2]) == 202,
        "queued 2");
  ht_resp r;
  ht_request(port, "POST", "/v1/generations", "{\"prompt\": \"q3\"}", &r);
  CHECK(r.status == 503 && r.retry_after[0], "full: %d Retry-After '%s'",
        r.status, r.retry_after);
  ht_free(&r);
  CHECK(metric(port, "warmd_queue_depth") == 2, "depth 2");
  CHECK(metric(port, "warmd_jobs_rejected_total{reason=\"queue_full\"}") == 1,
        "one rejected");
  /* Video of a job that is not done: 409. */
  char path[128];
  snprintf(path, sizeof path, "/v1/generations/%s/video", id[1]);
  ht_request(port, "GET", path, NULL, &r);
  CHECK(r.status == 409, "no video yet: %d", r.status);
  ht_free(&r);
  open_gate();
  for (int i = 0; i < 3; i++) {
    json_t *j = wait_job(port, 0, id[i], 20);
    CHECK(j && !strcmp(jstr(j, "state"), "done"), "job %d done", i);
    json_decref(j);
  }
  server_stop();
}

static void test_http_delete_cancels_queued_and_running_jobs(void) {
  CHECK(server_start(0, 0, 0, 0) == 0, "server starts");
  int port = S.port;
  char run[32], queued[32], path[128];
  CHECK(post_job(port, "{\"prompt\": \"hold run\", \"steps\": 50}", run) == 202,
        "running job");
  CHECK(wait_holding(1), "holds");
  CHECK(post_job(port, "{\"prompt\": \"later\"}", queued) == 202, "queued");
  ht_resp r;
  snprintf(path, sizeof path, "/v1/generations/%s", queued);
  ht_request(port, "DELETE", path, NULL, &r);
  json_t *j = body_json(&r);
  CHECK(r.status == 202 && j && !strcmp(jstr(j, "state"), "cancelled"),
        "queued job cancelled at once: %d %s", r.status, r.body);
  json_decref(j);
  ht_free(&r);
  snprintf(path, sizeof path, "/v1/generations/%s", run);
  ht_request(port, "DELETE", path, NULL, &r);
  CHECK(r.status == 202, "running job: cancel asked: %d", r.status);
  ht_free(&r);
  j = wait_job(port, 0, run, 20);
  CHECK(j && !strcmp(jstr(j, "state"), "cancelled"), "running job cancelled");
  CHECK(j && jstr(j, "error"), "with a reason");
  json_decref(j);
  /* A finished job: DELETE removes its folder and forgets it. */
  char folder[1200];
  snprintf(folder, sizeof folder, "%s/out/%s/status.json", S.dir, run);
  CHECK(access(folder, F_OK) == 0, "the cancelled job left %s", folder);
  ht_request(port, "DELETE", path, NULL, &r);
  j = body_json(&r);
  CHECK(r.status == 200 && j && !strcmp(jstr(j, "state"), "deleted"),
        "deleting a finished job: %d %s", r.status, r.body);
  json_decref(j);
  ht_free(&r);
  snprintf(folder, sizeof folder, "%s/out/%s", S.dir, run);
  CHECK(access(folder, F_OK) != 0, "its folder is gone");
  ht_request(port, "DELETE", path, NULL, &r);
  CHECK(r.status == 404, "a second DELETE: %d", r.status);
  ht_free(&r);
  ht_request(port, "GET", path, NULL, &r);
  CHECK(r.status == 404, "GET after DELETE: %d", r.status);
  ht_free(&r);
  CHECK(metric(port, "warmd_jobs_finished_total{state=\"cancelled\"}") == 2,
        "2 cancelled");
  server_stop();
}

static void test_http_drain_refuses_posts_and_finishes_queued(void) {
  CHECK(server_start(0, 0, 0, 0) == 0, "server starts");
  int port = S.port;
  char a[32], b[32], c[32];
  CHECK(post_job(port, "{\"prompt\": \"hold a\", \"steps\": 2}", a) == 202,
        "a");
  CHECK(wait_holding(1), "a holds");
  CHECK(post_job(port, "{\"prompt\": \"b\", \"steps\": 2}", b) == 202, "b");
  send_cmd(CMD_DRAIN);
  CHECK(post_job(port, "{\"prompt\": \"c\"}", NULL) == 503, "POST refused");
  ht_resp r;
  ht_request(port, "GET", "/readyz", NULL, &r);
  CHECK(r.status == 503 && strstr(r.body, "draining"), "not ready: %d %s",
        r.status, r.body);
  ht_free(&r);
  CHECK(metric(port, "warmd_draining") == 1, "draining metric");
  send_cmd(CMD_SHOW_JOBS);
  pthread_mutex_lock(&S.mu);
  CHECK(S.shown[0].p && strstr(S.shown[0].p, "draining: yes") &&
            strstr(S.shown[0].p, a) && strstr(S.shown[0].p, "running") &&
            strstr(S.shown[0].p, b) && strstr(S.shown[0].p, "queued"),
        "show jobs: %s", S.shown[0].p);
  json_t *sj = S.shown[1].p ? json_loads(S.shown[1].p, 0, NULL) : NULL;
  CHECK(sj && json_is_true(json_object_get(sj, "draining")) &&
            json_array_size(json_object_get(sj, "jobs")) == 2 &&
            json_integer_value(json_object_get(sj, "queue_depth")) == 1,
        "show jobs json: %s", S.shown[1].p);
  json_decref(sj);
  pthread_mutex_unlock(&S.mu);
  open_gate();
  json_t *ja = wait_job(port, 0, a, 20), *jb = wait_job(port, 0, b, 20);
  CHECK(ja && !strcmp(jstr(ja, "state"), "done"), "a finished");
  CHECK(jb && !strcmp(jstr(jb, "state"), "done"), "queued b finished");
  json_decref(ja);
  json_decref(jb);
  send_cmd(CMD_RESUME);
  CHECK(post_job(port, "{\"prompt\": \"c\"}", c) == 202, "taken after resume");
  json_t *jc = wait_job(port, 0, c, 20);
  CHECK(jc && !strcmp(jstr(jc, "state"), "done"), "c done");
  json_decref(jc);
  server_stop();
}

static void test_http_shutdown_finishes_jobs_that_fit_the_timeout(void) {
  CHECK(server_start(0, 0, 0, 10) == 0, "server starts");
  int port = S.port;
  char a[32], b[32];
  CHECK(post_job(port, "{\"prompt\": \"hold a\", \"steps\": 2}", a) == 202,
        "a");
  CHECK(wait_holding(1), "a holds");
  CHECK(post_job(port, "{\"prompt\": \"b\", \"steps\": 2}", b) == 202, "b");
  send_cmd(CMD_SHUTDOWN);
  /* Draining now: POST is refused but GET still answers. */
  CHECK(post_job(port, "{\"prompt\": \"c\"}", NULL) == 503, "POST refused");
  open_gate();
  pthread_join(S.th, NULL);
  CHECK(S.shutdown_done, "stopped");
  char file[1024];
  struct stat st;
  snprintf(file, sizeof file, "%s/out/%s/result.json", S.dir, b);
  CHECK(stat(file, &st) == 0, "the queued job finished before the stop");
}

static void test_http_shutdown_cancels_jobs_past_the_timeout(void) {
  CHECK(server_start(0, 0, 0, 0.5) == 0, "server starts");
  int port = S.port;
  char a[32], b[32];
  CHECK(post_job(port, "{\"prompt\": \"hold forever\"}", a) == 202, "a");
  CHECK(wait_holding(1), "a holds");
  CHECK(post_job(port, "{\"prompt\": \"b\"}", b) == 202, "b");
  double t0 = wt_now();
  send_cmd(CMD_SHUTDOWN);
  /* The job table is gone after the stop; poll it while it lasts. */
  json_t *j = NULL;
  char path[128];
  snprintf(path, sizeof path, "/v1/generations/%s", b);
  ht_resp r;
  ht_request(port, "GET", path, NULL, &r);
  CHECK(r.status == 200, "GET during the stop: %d", r.status);
  ht_free(&r);
  pthread_join(S.th, NULL);
  double dt = wt_now() - t0;
  CHECK(dt >= 0.5 && dt < 5, "stopped after the timeout (%.2f s)", dt);
  CHECK(S.shutdown_done, "stopped");
  char file[1024];
  struct stat st;
  snprintf(file, sizeof file, "%s/out/%s/result.json", S.dir, a);
  CHECK(stat(file, &st) != 0, "the held job did not finish");
  /* Both are marked cancelled on disk, with the reason. */
  const char *ids[2] = {a, b};
  for (int i = 0; i < 2; i++) {
    snprintf(file, sizeof file, "%s/out/%s/status.json", S.dir, ids[i]);
    json_t *sj = json_load_file(file, 0, NULL);
    CHECK(sj && !strcmp(jstr(sj, "state"), "cancelled") &&
              strstr(jstr(sj, "error"), "shutdown_timeout"),
          "%s: status.json says cancelled by the timeout", ids[i]);
    json_decref(sj);
  }
  json_decref(j);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  int rc = setup();
  if (rc) return rc;
  RUN(test_http_job_end_to_end_with_video_and_metrics);
  RUN(test_http_rejects_bad_requests_with_the_field);
  RUN(test_http_many_clients_all_jobs_done);
  RUN(test_http_slow_client_does_not_block_others);
  RUN(test_http_full_queue_answers_503_with_retry_after);
  RUN(test_http_delete_cancels_queued_and_running_jobs);
  RUN(test_http_drain_refuses_posts_and_finishes_queued);
  RUN(test_http_shutdown_finishes_jobs_that_fit_the_timeout);
  RUN(test_http_shutdown_cancels_jobs_past_the_timeout);
  return teardown();
}

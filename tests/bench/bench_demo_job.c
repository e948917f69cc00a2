/*
 * bench_demo_job.c — the warmd side of bench_vs_torch's demo_job row.
 *
 * The files are the demo's: warm-mkmodel with the arguments tests/demo.sh
 * gives (so the same bytes as models/demo/). The config is conf/demo.ini
 * with its paths pointed at them and this build, plus an HTTP listener on a
 * free port, `threads` in [device cpu], and the embedding cache off
 * (embeddings = 0): the bench repeats one prompt, and a cache hit would skip
 * the encode the reference does every time. Everything else (budget, the
 * streamed Gemma, tiles, steps, sizes) is the demo's. warmd starts once;
 * each run POSTs one job to /v1/generations and polls GET every 5 ms until
 * it is done, so a run is what an operator waits for with the models
 * loaded: encode, both stages, upsample, decode, audio and writing the
 * job's files (video.mp4, audio.wav, preview.png, memory.png, result.json).
 * demo_check then runs the job once more with `warmd --once --noise` on the
 * reference's recorded noise and compares the tensors.
 */
#include "bench_demo_job.h"

#include <fcntl.h>
#include <jansson.h>
#include <math.h>

#include "warm/safetensors.h"

#include "http_testutil.h"
/* Its failure counter is for the tests' CHECK, unused here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-variable"
#include "wh_testutil.h"
#pragma GCC diagnostic pop

#define MKMODEL WARM_BUILD_DIR "/bin/warm-mkmodel"
/* tests/demo.sh's prompt. */
#define DEMO_PROMPT                                                            \
  "a red fox trotting through fresh snow at dawn, soft light, wind"

const char *const demo_checked_names[DEMO_CHECKED] = {
    "stage1.video", "stage1.audio", "stage2.video",
    "stage2.audio", "frames",       "waveform"};

const char *const demo_part_names[DEMO_PARTS] = {"encode", "stage1", "upsample",
                                                 "stage2", "decode", "audio",
                                                 "files",  "total"};

struct demo_job {
  char dir[512], models[600], cfg[600], sock[600], log[600];
  wt_proc proc;
  int port;
  /* From conf/demo.ini: [pipeline] and [component vae]. */
  int frames, height, width, steps, stg, tile, overlap;
  double fps;
};

/* The demo's files, as tests/demo.sh makes them (name, then arguments). */
static const char *const FILES[][2] = {
    {"gemma", "--arch gemma3 --preset small --seed 1"},
    {"ltx2.safetensors", "--arch ltx2 --preset small --seed 5 --variant 2.0"},
    {"upsampler.safetensors",
     "--arch ltx2-upsampler --preset small --seed 6 --variant 2.0"},
    {"distilled-lora.safetensors",
     "--arch ltx2-lora --preset small --seed 7 --variant 2.0 --rank 8"},
};

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  char *e = s + strlen(s);
  while (e > s && strchr(" \t\r\n", e[-1]))
    *--e = 0;
  return s;
}

/* Records the job's settings from a key of [pipeline] or [component vae]
 * (of stg_blocks, the first block). */
static void note_key(demo_job *d, const char *section, const char *k,
                     const char *v) {
  int *dst = NULL;
  if (!strcmp(section, "pipeline")) {
    if (!strcmp(k, "fps")) d->fps = atof(v);
    dst = !strcmp(k, "frames")       ? &d->frames
          : !strcmp(k, "height")     ? &d->height
          : !strcmp(k, "width")      ? &d->width
          : !strcmp(k, "steps")      ? &d->steps
          : !strcmp(k, "stg_blocks") ? &d->stg
                                     : NULL;
  } else if (!strcmp(section, "component vae")) {
    dst = !strcmp(k, "tile_size")      ? &d->tile
          : !strcmp(k, "tile_overlap") ? &d->overlap
                                       : NULL;
  }
  if (dst) *dst = atoi(v);
}

/* conf/demo.ini -> d->cfg, rewritten as the header says. */
static int write_config(demo_job *d, int threads) {
  const char *src = WARM_SOURCE_DIR "/conf/demo.ini";
  FILE *in = fopen(src, "r"), *out = fopen(d->cfg, "w");
  if (!in || !out) {
    fprintf(stderr, "demo_job: cannot copy %s to %s: %s\n", src, d->cfg,
            strerror(errno));
    if (in) fclose(in);
    if (out) fclose(out);
    return -1;
  }
  char line[1024], section[64] = "";
  int cache = 0;
  d->stg = 1;
  d->tile = 512, d->overlap = 64; /* vae_ltx2's defaults */
  while (fgets(line, sizeof line, in)) {
    char *s = trim(line);
    if (*s == '[') {
      snprintf(section, sizeof section, "%.*s", (int)strcspn(s + 1, "]"),
               s + 1);
      fprintf(out, "%s\n", s);
      cache |= !strcmp(section, "cache");
      if (!strcmp(section, "host"))
        fprintf(out, "http_listen = 127.0.0.1:0\n");
      else if (!strcmp(section, "device cpu"))
        fprintf(out, "threads = %d\n", threads);
      continue;
    }
    char *eq = *s == ';' ? NULL : strchr(s, '=');
    if (!eq) {
      fprintf(out, "%s\n", s);
      continue;
    }
    *eq = 0;
    char *k = trim(s), *v = eq + 1;
    v[strcspn(v, ";")] = 0;
    v = trim(v);
    note_key(d, section, k, v);
    if (!strcmp(k, "plugin_dir"))
      fprintf(out, "plugin_dir = %s/plugins\n", WARM_BUILD_DIR);
    else if (!strcmp(k, "admin_socket"))
      fprintf(out, "admin_socket = %s\n", d->sock);
    else if (!strcmp(k, "output_dir"))
      fprintf(out, "output_dir = %s/out\n", d->dir);
    else if (!strcmp(section, "cache") && !strcmp(k, "embeddings"))
      fprintf(out, "embeddings = 0\n");
    else if (!strncmp(v, "../models/demo/", 15))
      fprintf(out, "%s = %s/%s\n", k, d->models, v + 15);
    else
      fprintf(out, "%s = %s\n", k, v);
  }
  if (!cache) fprintf(out, "[cache]\nembeddings = 0\n");
  fclose(in);
  if (fclose(out)) return -1;
  if (!d->frames || !d->height || !d->width || !d->steps || d->fps <= 0) {
    fprintf(stderr,
            "demo_job: %s lacks [pipeline] frames/height/width/"
            "steps/fps\n",
            src);
    return -1;
  }
  return 0;
}

int demo_start(const char *dir, int threads, demo_job **out) {
  demo_job *d = calloc(1, sizeof *d);
  if (!d) return -1;
  *out = NULL;
  snprintf(d->dir, sizeof d->dir, "%s/demo", dir);
  snprintf(d->models, sizeof d->models, "%s/models", d->dir);
  snprintf(d->cfg, sizeof d->cfg, "%s/demo.ini", d->dir);
  snprintf(d->sock, sizeof d->sock, "%s/admin.sock", d->dir);
  snprintf(d->log, sizeof d->log, "%s/warmd.log", d->dir);
  d->proc.pid = -1;
  char cmd[1600];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s' '%s/out'", d->models, d->dir);
  int rc = system(cmd) == 0 ? 0 : -1;
  for (size_t i = 0; !rc && i < sizeof FILES / sizeof *FILES; i++) {
    snprintf(cmd, sizeof cmd, "'%s' %s --out '%s/%s' --quiet", MKMODEL,
             FILES[i][1], d->models, FILES[i][0]);
    if (system(cmd) != 0) {
      fprintf(stderr, "demo_job: warm-mkmodel failed: %s\n", cmd);
      rc = -1;
    }
  }
  if (!rc) rc = write_config(d, threads);
  if (!rc) {
    char bin[600];
    snprintf(bin, sizeof bin, "%s/bin/warmd", WARM_BUILD_DIR);
    char *argv[] = {bin, "-c", d->cfg, NULL};
    if (wt_spawn(&d->proc, d->log, argv) ||
        wt_wait_socket(&d->proc, d->sock, 60) ||
        (d->port = ht_logged_port(d->log, 10)) <= 0) {
      fprintf(stderr, "demo_job: warmd did not start on %s\n", d->cfg);
      wt_dump_log(&d->proc);
      rc = -1;
    }
  }
  if (rc) {
    demo_stop(d);
    return -1;
  }
  *out = d;
  return 0;
}

void demo_torch_cmd(const demo_job *d, char *buf, size_t n) {
  snprintf(buf, n, "demo %s %d %d %d %d %g %d %d %d %s", d->models, d->frames,
           d->height, d->width, d->steps, d->fps, d->stg, d->tile, d->overlap,
           DEMO_PROMPT);
}

/* GET /v1/generations/ID as JSON (NULL when not 200). */
static json_t *get_job(const demo_job *d, const char *id) {
  char path[128];
  snprintf(path, sizeof path, "/v1/generations/%s", id);
  ht_resp r;
  ht_request(d->port, "GET", path, NULL, &r);
  json_t *j = r.status == 200 ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
  ht_free(&r);
  return j;
}

double demo_run(demo_job *d, double parts[DEMO_PARTS]) {
  ht_resp r;
  double t0 = wt_now();
  ht_request(d->port, "POST", "/v1/generations",
             "{\"prompt\": \"" DEMO_PROMPT "\", \"seed\": 42}", &r);
  json_t *j = r.status == 202 ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
  char id[64];
  snprintf(id, sizeof id, "%s",
           j ? json_string_value(json_object_get(j, "id")) : "");
  json_decref(j);
  if (!id[0]) {
    fprintf(stderr, "demo_job: POST answered %d: %s\n", r.status, r.body);
    ht_free(&r);
    return -1;
  }
  ht_free(&r);
  const char *state = "?";
  for (double end = t0 + 600; wt_now() < end; poll(NULL, 0, 5)) {
    j = get_job(d, id);
    state = j ? json_string_value(json_object_get(j, "state")) : NULL;
    if (state && strcmp(state, "queued") && strcmp(state, "running")) break;
    json_decref(j);
    j = NULL;
  }
  double t = wt_now() - t0;
  json_t *res = j ? json_object_get(j, "result") : NULL;
  if (!res || strcmp(state, "done")) {
    json_t *e = j ? json_object_get(j, "error") : NULL;
    fprintf(stderr, "demo_job: job %s ended %s: %s\n", id, state ? state : "?",
            json_is_string(e) ? json_string_value(e) : "(no error given)");
    json_decref(j);
    return -1;
  }
  if (json_is_true(json_object_get(res, "cache_hit"))) {
    fprintf(stderr, "demo_job: the embedding cache answered job %s\n", id);
    json_decref(j);
    return -1;
  }
  json_t *tm = json_object_get(res, "timings");
  double sum = 0;
  for (int i = 0; i < DEMO_PARTS; i++) {
    json_t *v = json_object_get(tm, demo_part_names[i]);
    parts[i] = json_is_number(v) ? json_number_value(v) : 0;
    if (i < DEMO_PARTS - 2) sum += parts[i];
  }
  parts[DEMO_PARTS - 2] = parts[DEMO_PARTS - 1] - sum; /* files */
  json_decref(j);
  return t;
}

/* max|a - b| / max|b| of two f32 tensors; -1 when the shapes differ. */
static double rel_error(const warm_tensor *a, const warm_tensor *b) {
  if (a->dtype != WARM_F32 || b->dtype != WARM_F32 || a->ndim != b->ndim)
    return -1;
  for (int32_t k = 0; k < a->ndim; k++)
    if (a->shape[k] != b->shape[k]) return -1;
  const float *x = a->data, *y = b->data;
  double dmax = 0, ymax = 0;
  for (int64_t i = 0; i < warm_tensor_numel(a); i++) {
    double e = fabs((double)x[i] - y[i]);
    if (!(e <= dmax)) dmax = e; /* NaN propagates */
    if (fabs(y[i]) > ymax) ymax = fabs(y[i]);
  }
  return ymax > 0 ? dmax / ymax : dmax;
}

int demo_check(demo_job *d, const char *ref, double err[DEMO_CHECKED]) {
  if (d->proc.pid > 0) {
    kill(d->proc.pid, SIGTERM);
    wt_wait_exit(&d->proc, 30);
  }
  char bin[600], out[700], log[700], got[800];
  snprintf(bin, sizeof bin, "%s/bin/warmd", WARM_BUILD_DIR);
  snprintf(out, sizeof out, "%s/once", d->dir);
  snprintf(log, sizeof log, "%s/once.log", d->dir);
  snprintf(got, sizeof got, "%s/tensors.safetensors", out);
  char *argv[] = {bin,        "-c",        d->cfg,    "--once",
                  "--prompt", DEMO_PROMPT, "--noise", (char *)ref,
                  "--out",    out,         NULL};
  wt_proc p;
  snprintf(p.log, sizeof p.log, "%s", log);
  p.pid = fork();
  if (p.pid == 0) { /* its summary (stdout) and log both to the log */
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) dup2(fd, 1), dup2(fd, 2), close(fd);
    execv(argv[0], argv);
    _exit(127);
  }
  if (p.pid < 0 || wt_wait_exit(&p, 300) != 0) {
    fprintf(stderr, "demo_job: warmd --once --noise %s failed\n", ref);
    wt_dump_log(&p);
    return -1;
  }
  warm_st *a = NULL, *b = NULL;
  warm_error e = {0};
  int rc = warm_st_open(got, &a, &e) || warm_st_open(ref, &b, &e) ? -1 : 0;
  for (int i = 0; !rc && i < DEMO_CHECKED; i++) {
    char name[64];
    snprintf(name, sizeof name, "expect.%s", demo_checked_names[i]);
    warm_tensor x, y;
    if (warm_st_get(a, demo_checked_names[i], &x, &e) ||
        warm_st_get(b, name, &y, &e))
      rc = -1;
    else
      err[i] = rel_error(&x, &y);
  }
  if (rc) fprintf(stderr, "demo_job: %s\n", e.msg);
  warm_st_close(a);
  warm_st_close(b);
  return rc;
}

void demo_stop(demo_job *d) {
  if (!d) return;
  if (d->proc.pid > 0) {
    kill(d->proc.pid, SIGTERM);
    if (wt_wait_exit(&d->proc, 30) != 0)
      fprintf(stderr, "demo_job: warmd did not exit cleanly (%s)\n", d->log);
  }
  free(d);
}

/*
 * The pipeline end to end on tiny real checkpoints (Gemma-3 encoder, two
 * LTX-Video DiT stages, LTX-Video VAE): the job's files, the motivating case
 * (transformers resident, encoder `auto` in a budget where it does not fit
 * beside them: it streams, the peak stays under the budget and the video is
 * byte-identical to a roomy run), the embedding cache across placement and
 * weights changes, and bad job parameters.
 *
 * argv[1]: the folder the pipeline_checkpoints fixture filled.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "embcache.h"
#include "pipeline.h"
#include "reload.h"
#include "runtime.h"

static int failures;
#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);   \
      failures++;                                                              \
    }                                                                          \
  } while (0)

static const char *ckpt;
static char tmp[256];

/* A config over the fixture's checkpoints; `encoder_weights` picks the
 * encoder checkpoint, `budget` the cpu budget. */
static wh_config *make_config(const char *budget, const char *enc_placement,
                              const char *encoder_weights) {
  char text[4096];
  snprintf(text, sizeof text,
           "[host]\nplugin_dir = %s/plugins\nadmin_socket = %s/admin.sock\n"
           "output_dir = %s/out\n"
           "[device cpu]\nbudget = %s\n"
           "[component text_encoder]\nplugin = text_encoder_gemma3\n"
           "weights = %s/%s\ndevice = cpu\nplacement = %s\n"
           "stream_window = 2\nmax_tokens = 16\n"
           "[component transformer.stage1]\nplugin = transformer_ltxv\n"
           "weights = %s/dit1\ndevice = cpu\nplacement = resident\n"
           "[component transformer.stage2]\nplugin = transformer_ltxv\n"
           "weights = %s/dit2\ndevice = cpu\nplacement = resident\n"
           "[component vae]\nplugin = vae_ltxv\nweights = %s/vae\n"
           "device = cpu\nplacement = resident\n"
           "[pipeline]\nencoder = text_encoder\n"
           "stages = transformer.stage1, transformer.stage2\ndecoder = vae\n"
           "frames = 9\nheight = 32\nwidth = 32\nsteps = 4\nfps = 8\n"
           "guidance = 3\n",
           WARM_BUILD_DIR, tmp, tmp, budget, ckpt, encoder_weights,
           enc_placement, ckpt, ckpt, ckpt);
  char path[512];
  snprintf(path, sizeof path, "%s/warmd.ini", tmp);
  wh_config *cfg = NULL;
  if (wh_config_parse(path, text, strlen(text), &cfg) != 0) return NULL;
  for (size_t i = 0; i < cfg->n_errors; i++)
    fprintf(stderr, "config: %s\n", cfg->errors[i]);
  return cfg;
}

/* A runtime serving cfg (not live: calls run on this thread). */
static wh_runtime *start(wh_config *cfg) {
  wh_runtime *rt = NULL;
  wh_plan *plan = NULL;
  char summary[256];
  warm_error err = {0};
  if (!cfg || cfg->n_errors || wh_runtime_create(&rt)) return NULL;
  if (wh_reload_prepare(rt, cfg, &plan) != 0) {
    for (size_t i = 0; i < cfg->n_errors; i++)
      fprintf(stderr, "prepare: %s\n", cfg->errors[i]);
    wh_runtime_destroy(rt);
    return NULL;
  }
  if (wh_reload_commit(rt, plan, summary, sizeof summary, &err) != 0) {
    fprintf(stderr, "commit: %s\n", err.msg);
    wh_runtime_destroy(rt);
    return NULL;
  }
  return rt;
}

static unsigned char *slurp(const char *path, long *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *len = ftell(f);
  rewind(f);
  unsigned char *b = malloc((size_t)*len + 1);
  if (fread(b, 1, (size_t)*len, f) != (size_t)*len) *len = -1;
  b[*len > 0 ? *len : 0] = 0;
  fclose(f);
  return b;
}

static json_t *run_job(wh_runtime *rt, wh_embcache *cache, const char *id,
                       const char *prompt, warm_error *err) {
  wh_job_params p = {.prompt = prompt, .seed = 7};
  if (wh_pipeline_resolve(rt, &p, err)) return NULL;
  char dir[512];
  snprintf(dir, sizeof dir, "%s/out/%s", tmp, id);
  wh_job_ctl ctl = {0};
  char *text = NULL;
  if (wh_pipeline_run(rt, cache, id, &p, dir, &ctl, &text, err)) return NULL;
  CHECK(ctl.progress == 1.0f);
  json_t *r = json_loads(text, 0, NULL);
  free(text);
  return r;
}

static const char *placement_of(json_t *r, const char *comp) {
  return json_string_value(
      json_object_get(json_object_get(json_object_get(r, "components"), comp),
                      "placement"));
}

static uint64_t u64(json_t *r, const char *obj, const char *key) {
  return (uint64_t)json_integer_value(json_object_get(json_object_get(r, obj), key));
}

static int same_file(const char *a, const char *b) {
  long la, lb;
  unsigned char *x = slurp(a, &la), *y = slurp(b, &lb);
  int same = x && y && la == lb && la > 0 && !memcmp(x, y, (size_t)la);
  free(x);
  free(y);
  return same;
}

static void test_roomy_job_writes_every_file_and_hits_the_cache(void) {
  wh_config *cfg = make_config("4GiB", "auto", "enc");
  wh_runtime *rt = start(cfg);
  CHECK(rt != NULL);
  if (!rt) return;
  wh_embcache *cache;
  wh_embcache_create(64 << 20, &cache);
  warm_error err = {0};
  json_t *r = run_job(rt, cache, "roomy", "a red fox runs through snow", &err);
  if (!r) fprintf(stderr, "job: %s\n", err.msg);
  CHECK(r != NULL);
  if (r) {
    CHECK(!strcmp(placement_of(r, "text_encoder"), "resident"));
    CHECK(!strcmp(placement_of(r, "transformer.stage1"), "resident"));
    CHECK(json_is_false(json_object_get(r, "cache_hit")));
    CHECK(json_integer_value(json_object_get(r, "frames")) == 9);
    CHECK(u64(r, "peak_bytes", "cpu") > 0 &&
          u64(r, "peak_bytes", "cpu") <= u64(r, "budget_bytes", "cpu"));
    json_decref(r);
  }
  const char *files[] = {"video.y4m", "preview.png", "memory.png",
                         "result.json"};
  for (int i = 0; i < 4; i++) {
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/out/roomy/%s", tmp, files[i]);
    CHECK(stat(path, &st) == 0 && st.st_size > 0);
  }
  /* Same prompt again: a hit, and the same video bytes. */
  r = run_job(rt, cache, "again", "a red fox runs through snow", &err);
  CHECK(r && json_is_true(json_object_get(r, "cache_hit")));
  CHECK(r && !strcmp(placement_of(r, "text_encoder"), "cache"));
  json_decref(r);
  char a[512], b[512];
  snprintf(a, sizeof a, "%s/out/roomy/video.y4m", tmp);
  snprintf(b, sizeof b, "%s/out/again/video.y4m", tmp);
  CHECK(same_file(a, b));
  /* A placement change keeps the cache. */
  char reply[256];
  CHECK(wh_runtime_set(rt, "text_encoder", "placement", "stream", reply,
                       sizeof reply, &err) == 0);
  r = run_job(rt, cache, "streamed", "a red fox runs through snow", &err);
  CHECK(r && json_is_true(json_object_get(r, "cache_hit")));
  json_decref(r);
  /* Bad job parameters are refused with the rule. */
  wh_job_params bad = {.prompt = "x", .frames = 8, .seed = 1};
  CHECK(wh_pipeline_resolve(rt, &bad, &err) == WARM_EINVAL);
  CHECK(strstr(err.msg, "frames = 8") != NULL);
  wh_job_params bad2 = {.prompt = "x", .frames = 9, .height = 30, .seed = 1};
  CHECK(wh_pipeline_resolve(rt, &bad2, &err) == WARM_EINVAL);
  CHECK(strstr(err.msg, "height = 30") != NULL);
  wh_job_params bad3 = {.prompt = "", .seed = 1};
  CHECK(wh_pipeline_resolve(rt, &bad3, &err) == WARM_EINVAL);
  wh_embcache_destroy(cache);
  wh_runtime_destroy(rt);
  wh_config_free(cfg);
}

static void test_new_encoder_weights_miss_the_cache(void) {
  wh_embcache *cache;
  wh_embcache_create(64 << 20, &cache);
  warm_error err = {0};
  wh_config *c1 = make_config("4GiB", "resident", "enc");
  wh_runtime *rt = start(c1);
  CHECK(rt != NULL);
  if (!rt) return;
  json_t *r = run_job(rt, cache, "w1", "a quiet lake", &err);
  CHECK(r && json_is_false(json_object_get(r, "cache_hit")));
  json_decref(r);
  wh_runtime_destroy(rt);
  wh_config_free(c1);
  wh_config *c2 = make_config("4GiB", "resident", "enc2");
  rt = start(c2);
  CHECK(rt != NULL);
  if (!rt) return;
  r = run_job(rt, cache, "w2", "a quiet lake", &err);
  CHECK(r && json_is_false(json_object_get(r, "cache_hit")));
  json_decref(r);
  wh_runtime_destroy(rt);
  wh_config_free(c2);
  wh_embcache_destroy(cache);
}

/* From a roomy runtime: the persistent bytes of every component but the
 * encoder, the largest extra any of their calls reserves, and the encoder's
 * resident total and streamed split (what stays booked between its calls:
 * non-layer weights + window; what a call adds: workspace). */
static void sizes(uint64_t *others, uint64_t *enc_resident,
                  uint64_t *enc_stream_kept, uint64_t *enc_stream_ws,
                  uint64_t *others_extra) {
  wh_config *cfg = make_config("4GiB", "resident", "enc");
  wh_runtime *rt = start(cfg);
  *others = *enc_resident = *enc_stream_kept = *enc_stream_ws = 0;
  *others_extra = 0;
  if (!rt) return;
  warm_job_shape shape = {16, 9, 32, 32, 2};
  for (size_t i = 0; i < rt->n_components; i++) {
    wh_component *c = rt->components[i];
    const warm_plugin_desc *d = wh_plugin_desc(c->plugin);
    warm_estimate e;
    warm_place_req rq = {WARM_PLACE_RESIDENT, 2, WARM_SOURCE_PINNED};
    d->estimate(c->inst, &rq, &shape, &e, NULL);
    uint64_t total = e.persistent + e.window + e.workspace;
    if (!strcmp(c->name, "text_encoder")) {
      *enc_resident = total;
      rq.placement = WARM_PLACE_STREAM;
      d->estimate(c->inst, &rq, &shape, &e, NULL);
      *enc_stream_kept = e.persistent + e.window;
      *enc_stream_ws = e.workspace;
    } else {
      *others += e.persistent;
      if (total - e.persistent > *others_extra) *others_extra = total - e.persistent;
    }
  }
  wh_runtime_destroy(rt);
  wh_config_free(cfg);
}

static void test_encoder_streams_when_it_does_not_fit_beside_transformers(void) {
  uint64_t others, enc_res, enc_kept, enc_ws, extra;
  sizes(&others, &enc_res, &enc_kept, &enc_ws, &extra);
  uint64_t need = enc_ws > extra ? enc_ws : extra;
  /* Room for the resident components, the streamed encoder's window and the
   * largest call, but not for the whole encoder beside them. */
  uint64_t budget = others + enc_kept + need + need / 8;
  printf("others %llu, encoder resident %llu, streamed %llu + %llu, budget "
         "%llu\n",
         (unsigned long long)others, (unsigned long long)enc_res,
         (unsigned long long)enc_kept, (unsigned long long)enc_ws,
         (unsigned long long)budget);
  CHECK(others + enc_res > budget); /* the case is real */
  char bs[32];
  snprintf(bs, sizeof bs, "%llu", (unsigned long long)budget);
  wh_config *cfg = make_config(bs, "auto", "enc");
  wh_runtime *rt = start(cfg);
  CHECK(rt != NULL);
  if (!rt) return;
  warm_error err = {0};
  json_t *r = run_job(rt, NULL, "tight", "a red fox runs through snow", &err);
  if (!r) fprintf(stderr, "tight job: %s\n", err.msg);
  CHECK(r != NULL);
  if (r) {
    CHECK(!strcmp(placement_of(r, "text_encoder"), "stream"));
    CHECK(!strcmp(placement_of(r, "transformer.stage1"), "resident"));
    CHECK(!strcmp(placement_of(r, "transformer.stage2"), "resident"));
    CHECK(u64(r, "peak_bytes", "cpu") <= budget);
    CHECK(u64(r, "budget_bytes", "cpu") == budget);
    json_decref(r);
  }
  char a[512], b[512];
  snprintf(a, sizeof a, "%s/out/roomy/video.y4m", tmp);
  snprintf(b, sizeof b, "%s/out/tight/video.y4m", tmp);
  CHECK(same_file(a, b));
  wh_runtime_destroy(rt);
  wh_config_free(cfg);
}

/* The encoder fits resident when it encodes, but the decoder's workspace
 * later does not fit beside it: the `auto` encoder is moved to stream to
 * make room, and the job still completes within the budget. */
static void test_auto_encoder_gives_way_to_the_decoder(void) {
  uint64_t others, enc_res, enc_kept, enc_ws, extra;
  sizes(&others, &enc_res, &enc_kept, &enc_ws, &extra);
  uint64_t a = others + enc_res, b = others + enc_kept + extra;
  uint64_t budget = (a > b ? a : b) + 4096;
  CHECK(others + (enc_res - enc_ws) + extra > budget); /* the case is real */
  char bs[32];
  snprintf(bs, sizeof bs, "%llu", (unsigned long long)budget);
  wh_config *cfg = make_config(bs, "auto", "enc");
  wh_runtime *rt = start(cfg);
  CHECK(rt != NULL);
  if (!rt) return;
  warm_error err = {0};
  json_t *r = run_job(rt, NULL, "giveway", "a red fox runs through snow", &err);
  if (!r) fprintf(stderr, "give-way job: %s\n", err.msg);
  CHECK(r != NULL);
  if (r) {
    CHECK(!strcmp(placement_of(r, "text_encoder"), "resident"));
    CHECK(u64(r, "peak_bytes", "cpu") <= budget);
    json_decref(r);
  }
  wh_component *enc = NULL;
  for (size_t i = 0; i < rt->n_components; i++)
    if (!strcmp(rt->components[i]->name, "text_encoder")) enc = rt->components[i];
  CHECK(enc && enc->active == WARM_PLACE_STREAM);
  char x[512], y[512];
  snprintf(x, sizeof x, "%s/out/roomy/video.y4m", tmp);
  snprintf(y, sizeof y, "%s/out/giveway/video.y4m", tmp);
  CHECK(same_file(x, y));
  wh_runtime_destroy(rt);
  wh_config_free(cfg);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_pipeline CHECKPOINT_DIR\n");
    return 2;
  }
  ckpt = argv[1];
  snprintf(tmp, sizeof tmp, "/tmp/warm-test-pipeline-XXXXXX");
  if (!mkdtemp(tmp)) return 1;
  test_roomy_job_writes_every_file_and_hits_the_cache();
  test_new_encoder_weights_miss_the_cache();
  test_encoder_streams_when_it_does_not_fit_beside_transformers();
  test_auto_encoder_gives_way_to_the_decoder();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
  if (!failures && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
  if (failures) {
    fprintf(stderr, "%d checks failed (files kept in %s)\n", failures, tmp);
    return 1;
  }
  printf("pipeline: all checks passed\n");
  return 0;
}

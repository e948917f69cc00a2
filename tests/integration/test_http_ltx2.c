/*
 * test_http_ltx2.c — the LTX-2 job fields over the embedded HTTP server of
 * http_harness.h (real libuv loop, real TCP, the job table and its
 * records):
 *   - a job with negative_prompt, a base64 PNG, image_strength and both
 *     guidance objects is accepted; the runner gets the image's very bytes;
 *     GET shows what was given (the image as its length); job.json holds
 *     the same and never the image; a table restored from the records
 *     shows them again;
 *   - a queued job's image is booked on the host ledger under
 *     "job_inputs" until the job has run;
 *   - a body with a 4 MB image passes the default body limit;
 *   - every bad value is a 422 naming the field, sub-fields with a dot.
 */
#include <libavutil/base64.h>

#include "http_harness.h"
#include "job_params.h"

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)n + 1);
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return b;
}

static char *base64_of(const uint8_t *b, size_t n) {
  size_t cap = AV_BASE64_SIZE(n);
  char *s = malloc(cap);
  if (s && !av_base64_encode(s, (int)cap, b, (int)n)) {
    free(s);
    s = NULL;
  }
  return s;
}

static uint64_t fnv(const uint8_t *b, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

static void inputs_entry(void *user, const warm_ledger_entry *e) {
  if (!strcmp(e->component, "job_inputs")) *(uint64_t *)user = e->workspace;
}

static uint64_t inputs_booked(void) {
  uint64_t b = 0;
  warm_ledger_foreach(S.rt->host->ledger, inputs_entry, &b);
  return b;
}

static double num(json_t *o, const char *path) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", path);
  json_t *v = o;
  for (char *k = strtok(buf, "."); k && v; k = strtok(NULL, "."))
    v = json_object_get(v, k);
  return json_is_number(v) ? json_number_value(v) : -12345;
}

/* The params of a job as GET (or a restored table) shows them. */
static void check_params(json_t *pa, size_t image_len, const char *where) {
  CHECK(pa && !strcmp(jstr(pa, "negative_prompt"), "blurry, low quality"),
        "%s: negative_prompt", where);
  CHECK(num(pa, "image_bytes") == (double)image_len, "%s: image_bytes %g",
        where, num(pa, "image_bytes"));
  CHECK(!json_object_get(pa, "image"), "%s: the image itself is not shown",
        where);
  CHECK(num(pa, "image_strength") == 0.75, "%s: image_strength", where);
  CHECK(num(pa, "video_guidance.cfg") == 4 &&
            num(pa, "video_guidance.rescale") == 0.5,
        "%s: video_guidance", where);
  CHECK(!json_object_get(json_object_get(pa, "video_guidance"), "stg"),
        "%s: a sub-field not given is not shown", where);
  json_t *blocks =
      json_object_get(json_object_get(pa, "video_guidance"), "stg_blocks");
  CHECK(json_array_size(blocks) == 2 &&
            json_integer_value(json_array_get(blocks, 1)) == 29,
        "%s: video_guidance.stg_blocks", where);
  CHECK(num(pa, "audio_guidance.modality") == 2 &&
            num(pa, "audio_guidance.skip_step") == 3 &&
            num(pa, "audio_guidance.stg") == 0,
        "%s: audio_guidance", where);
}

/* A table made from the records on disk shows the job as GET did. */
static void check_restored(const char *id, size_t image_len) {
  char base[600];
  snprintf(base, sizeof base, "%s/out", S.dir);
  wh_jobs_opts o = {.rt = S.rt, .output_dir = base, .restore = 1};
  wh_jobs *j = NULL;
  warm_error err = {0};
  CHECK(wh_jobs_create(&o, &j, &err) == 0, "restore: %s", err.msg);
  if (!j) return;
  json_t *g = wh_jobs_get_json(j, id);
  CHECK(g && !strcmp(jstr(g, "state"), "done"), "restored job is done");
  check_params(json_object_get(g, "params"), image_len, "restored");
  json_decref(g);
  wh_jobs_destroy(j);
}

static void test_http_ltx2_fields_reach_the_job_and_its_record(void) {
  size_t n = 0;
  uint8_t *png = read_file(WARM_TEST_DATA "/ltx2/image_in.png", &n);
  CHECK(png, "the test image");
  if (!png) return;
  char *b64 = base64_of(png, n);
  size_t cap = strlen(b64) + 1024;
  char *body = malloc(cap);
  snprintf(body, cap,
           "{\"prompt\": \"hold a fox\", \"negative_prompt\": \"blurry, low "
           "quality\", \"image\": \"%s\", \"image_strength\": 0.75, "
           "\"video_guidance\": {\"cfg\": 4, \"rescale\": 0.5, "
           "\"stg_blocks\": [28, 29]}, \"audio_guidance\": {\"modality\": 2, "
           "\"skip_step\": 3, \"stg\": 0}}",
           b64);
  CHECK(server_start(0, 0, 0, 0) == 0, "server starts");
  int port = S.port;
  char held[32] = "", id[32] = "";
  /* A first job holds the runner, so the second waits queued. */
  CHECK(post_job(port, "{\"prompt\": \"hold first\"}", held) == 202, "first");
  CHECK(wait_holding(1), "the first job runs");
  uint64_t before = inputs_booked();
  CHECK(post_job(port, body, id) == 202, "the LTX-2 job is accepted");
  CHECK(inputs_booked() == before + n,
        "the queued image is booked: %llu, want %llu",
        (unsigned long long)inputs_booked(), (unsigned long long)(before + n));
  open_gate();
  json_t *j = wait_job(port, 0, id, 30);
  CHECK(j && !strcmp(jstr(j, "state"), "done"), "the job ends done");
  CHECK(inputs_booked() == before, "the booking goes with the job: %llu",
        (unsigned long long)inputs_booked());
  pthread_mutex_lock(&S.mu);
  CHECK(S.seen_image_len == n && S.seen_image_hash == fnv(png, n),
        "the runner got the image's bytes (%zu of %zu)", S.seen_image_len, n);
  pthread_mutex_unlock(&S.mu);
  check_params(json_object_get(j, "params"), n, "GET");
  json_decref(j);

  /* The record: the same fields, the image by its length only. */
  char path[700];
  snprintf(path, sizeof path, "%s/out/%s/job.json", S.dir, id);
  size_t rn = 0;
  char *rec = (char *)read_file(path, &rn);
  CHECK(rec, "job.json exists");
  if (rec) {
    rec[rn] = '\0';
    CHECK(!strstr(rec, b64) && !strstr(rec, "\"image\""),
          "job.json holds no image bytes");
    json_t *r = json_loads(rec, 0, NULL);
    check_params(json_object_get(r, "params"), n, "job.json");
    json_decref(r);
    free(rec);
  }
  server_stop();
  check_restored(id, n);
  free(body);
  free(b64);
  free(png);
}

/* A picture of a few MB: a random-pixel PNG (incompressible) of
 * 1280 x 800, about 3 MB, 4 MB in base64: under the default limit. */
static void test_http_ltx2_default_body_limit_takes_a_large_image(void) {
  wh_image im;
  CHECK(wh_image_init(&im, 1280, 800, 0, 0, 0) == 0, "image");
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < (size_t)1280 * 800 * 3; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    im.rgb[i] = (uint8_t)x;
  }
  char path[600];
  snprintf(path, sizeof path, "%s/big.png", S.dir);
  warm_error err = {0};
  CHECK(wh_write_png(path, &im, &err) == 0, "%s", err.msg);
  wh_image_free(&im);
  size_t n = 0;
  uint8_t *png = read_file(path, &n);
  char *b64 = png ? base64_of(png, n) : NULL;
  CHECK(b64 && strlen(b64) > (3u << 20), "a large image (%zu bytes)", n);
  if (!b64) {
    free(png);
    return;
  }
  size_t cap = strlen(b64) + 128;
  char *body = malloc(cap);
  snprintf(body, cap, "{\"prompt\": \"big\", \"image\": \"%s\"}", b64);
  CHECK(server_start(0, 0, 0, 0) == 0, "server starts");
  char id[32];
  ht_resp r;
  ht_request(S.port, "POST", "/v1/generations", body, &r);
  CHECK(r.status == 202, "a %zu-byte body under the default limit: %d %s",
        strlen(body), r.status, r.body);
  json_t *j = body_json(&r);
  snprintf(id, sizeof id, "%s", j && jstr(j, "id") ? jstr(j, "id") : "");
  json_decref(j);
  ht_free(&r);
  if (id[0]) json_decref(wait_job(S.port, 0, id, 30));
  server_stop();
  free(body);
  free(b64);
  free(png);
}

typedef struct bad_case {
  const char *body; /* after {"prompt": "x", */
  const char *field, *says;
} bad_case;

static void test_http_ltx2_bad_values_name_their_field(void) {
  CHECK(server_start(0, 0, 0, 0) == 0, "server starts");
  char blocks65[400] = "[";
  for (int i = 0; i < 65; i++)
    snprintf(blocks65 + strlen(blocks65), 8, "%s%d", i ? "," : "", i);
  strcat(blocks65, "]");
  char many[512];
  snprintf(many, sizeof many, "\"video_guidance\": {\"stg_blocks\": %s}",
           blocks65);
  const bad_case cases[] = {
      {"\"negative_prompt\": 3", "negative_prompt", "must be a string"},
      {"\"negative_prompt\": \"a\\u0000b\"", "negative_prompt", "NUL"},
      {"\"image\": 7", "image", "base64"},
      {"\"image\": \"\"", "image", "empty"},
      {"\"image\": \"iVBO!w0K\"", "image", "character 4 is 0x21"},
      {"\"image\": \"iVBORw0\"", "image", "not a multiple of 4"},
      {"\"image\": \"R0lGODlhAQABAAAAACw=\"", "image", "not a PNG or JPEG"},
      {"\"image\": \"iVBORw0KGgo=\"", "image", "damaged PNG"},
      {"\"image\": \"/9j/4AAQSkZJRgABAQ==\"", "image", "damaged JPEG"},
      {"\"image_strength\": 0.5", "image_strength", "without an image"},
      {"\"image_strength\": \"1\"", "image_strength", "must be a number"},
      {"\"image_strength\": 0", "image_strength", "more than 0"},
      {"\"video_guidance\": 3", "video_guidance", "must be an object"},
      {"\"video_guidance\": {\"foo\": 1}", "video_guidance.foo",
       "unknown field 'video_guidance.foo'"},
      {"\"video_guidance\": {\"cfg\": 0.5}", "video_guidance.cfg", "1..30"},
      {"\"video_guidance\": {\"cfg\": \"3\"}", "video_guidance.cfg",
       "must be a number"},
      {"\"audio_guidance\": {\"stg\": 11}", "audio_guidance.stg", "0..10"},
      {"\"audio_guidance\": {\"rescale\": 1.5}", "audio_guidance.rescale",
       "0..1"},
      {"\"audio_guidance\": {\"modality\": -1}", "audio_guidance.modality",
       "0..30"},
      {"\"audio_guidance\": {\"skip_step\": 2.5}", "audio_guidance.skip_step",
       "integer"},
      {"\"audio_guidance\": {\"skip_step\": 101}", "audio_guidance.skip_step",
       "0..100"},
      {"\"video_guidance\": {\"stg_blocks\": 3}", "video_guidance.stg_blocks",
       "array"},
      {"\"video_guidance\": {\"stg_blocks\": [1, 1024]}",
       "video_guidance.stg_blocks", "block 1024"},
      {"\"video_guidance\": {\"stg_blocks\": [1, \"2\"]}",
       "video_guidance.stg_blocks", "[1]: must be an integer"},
      {many, "video_guidance.stg_blocks", "at most 64 blocks"},
      {"\"fps\": 0", "fps", "1..240"},
      {"\"colour\": 1", "colour", "negative_prompt, frames"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const bad_case *c = &cases[i];
    char body[1024];
    snprintf(body, sizeof body, "{\"prompt\": \"x\", %s}", c->body);
    ht_resp r;
    ht_request(S.port, "POST", "/v1/generations", body, &r);
    json_t *j = body_json(&r);
    const char *field = j ? jstr(j, "field") : NULL;
    const char *msg = j ? jstr(j, "error") : NULL;
    CHECK(r.status == 422 && field && !strcmp(field, c->field) && msg &&
              strstr(msg, c->says),
          "%s: got %d field %s error %s; want 422 %s '%s'", body, r.status,
          field ? field : "-", msg ? msg : r.body, c->field, c->says);
    json_decref(j);
    ht_free(&r);
  }
  /* Refused bodies queue nothing; an empty negative prompt is fine. */
  CHECK(metric(S.port, "warmd_jobs_submitted_total") == 0, "nothing queued");
  char id[32];
  CHECK(post_job(S.port, "{\"prompt\": \"x\", \"negative_prompt\": \"\"}",
                 id) == 202,
        "an empty negative prompt is accepted");
  json_decref(wait_job(S.port, 0, id, 30));
  server_stop();
}

/* The rules the front ends share, directly: strength 0 refused (0 would
 * read as "default"), a whole skip_step. */
static void test_job_params_rules(void) {
  wh_job_guide g = {0};
  warm_error err = {0};
  CHECK(wh_job_check_strength(0, "--image-strength", &err) == WARM_EINVAL &&
            strstr(err.msg, "--image-strength = 0"),
        "strength 0: %s", err.msg);
  CHECK(wh_job_check_strength(1, "s", &err) == 0, "strength 1");
  CHECK(wh_guide_set_number(&g, WH_GK_SKIP_STEP, 2.5, "--video-skip-step",
                            &err) == WARM_EINVAL &&
            strstr(err.msg, "whole number"),
        "skip_step 2.5: %s", err.msg);
  CHECK(wh_guide_set_number(&g, WH_GK_STG, 2, "x", &err) == 0 &&
            g.set == WH_GUIDE_STG && g.g.stg == 2,
        "stg 2 sets its bit only");
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  int rc = setup();
  if (rc) return rc;
  RUN(test_job_params_rules);
  RUN(test_http_ltx2_fields_reach_the_job_and_its_record);
  RUN(test_http_ltx2_default_body_limit_takes_a_large_image);
  RUN(test_http_ltx2_bad_values_name_their_field);
  return teardown();
}

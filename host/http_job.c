/*
 * host/http_job.c — the POST /v1/generations body check (see http_api.h):
 * the JSON object's fields, their types and ranges, the base64 image
 * decoded and its header probed, every refusal naming its field.
 */
#include <jansson.h>
#include <libavutil/base64.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_api.h"
#include "image_in.h"
#include "job_params.h"
#include "sampler.h"

typedef struct num_field {
  const char *name;
  json_int_t lo, hi;
} num_field;

/* The integer fields and the bounds checked before the pipeline's own
 * (divisibility by the decoder's compression is wh_pipeline_resolve's). */
static const num_field num_fields[] = {
    {"frames", 1, 1025}, {"height", 1, 4096},
    {"width", 1, 4096},  {"steps", 1, WH_SAMPLER_MAX_STEPS},
    {"fps", 1, 240},     {"seed", 0, INT64_MAX},
};
#define N_NUM (sizeof num_fields / sizeof num_fields[0])

const char *const wh_api_job_fields[] = {
    "prompt",   "negative_prompt", "frames",         "height",
    "width",    "steps",           "seed",           "fps",
    "guidance", "image",           "image_strength", "video_guidance",
    "audio_guidance",
};
const size_t wh_api_n_job_fields =
    sizeof wh_api_job_fields / sizeof *wh_api_job_fields;

/* One refusal: the field to blame and the message. */
typedef struct refusal {
  char *msg, *field;
  size_t msg_len, field_len;
} refusal;

static int refuse(refusal *r, int status, const char *field, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));
static int refuse(refusal *r, int status, const char *field, const char *fmt,
                  ...) {
  snprintf(r->field, r->field_len, "%s", field);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->msg, r->msg_len, fmt, ap);
  va_end(ap);
  return status;
}

/* A text field: 1..WH_JOB_MAX_PROMPT bytes (0.. when may_be_empty), no
 * NUL. */
static int text_field(json_t *v, const char *name, int may_be_empty,
                      const char **out, refusal *r) {
  if (!json_is_string(v))
    return refuse(r, 422, name, "%s: must be a string", name);
  size_t sl = json_string_length(v);
  const char *s = json_string_value(v);
  if ((!may_be_empty && sl == 0) || sl > WH_JOB_MAX_PROMPT || strlen(s) != sl)
    return refuse(r, 422, name,
                  "%s: must be %d..%d bytes of text without NUL characters",
                  name, may_be_empty ? 0 : 1, WH_JOB_MAX_PROMPT);
  *out = s;
  return 0;
}

/* Strict base64 (RFC 4648 §4): the alphabet only, padded to a multiple of
 * 4. av_base64_decode stops quietly at the first character outside the
 * alphabet, so the text is checked whole first. */
static int base64_ok(const char *s, size_t n, size_t *bad_at) {
  size_t pad = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (c == '=' && i + 2 >= n) {
      pad++;
      continue;
    }
    if (!alpha || pad) {
      *bad_at = i;
      return 0;
    }
  }
  *bad_at = n;
  return n % 4 == 0 && pad <= 2;
}

static int image_field(json_t *v, wh_api_job *job, refusal *r) {
  if (!json_is_string(v))
    return refuse(r, 422, "image",
                  "image: must be a string (base64 of a PNG or JPEG file)");
  size_t n = json_string_length(v), at;
  const char *s = json_string_value(v);
  if (n == 0)
    return refuse(r, 422, "image", "image: empty (base64 of a PNG or JPEG "
                                   "file expected)");
  if (!base64_ok(s, n, &at)) {
    if (at < n)
      return refuse(r, 422, "image",
                    "image: not base64: character %zu is 0x%02x, outside "
                    "A-Z a-z 0-9 + / (and = padding at the end)",
                    at, (unsigned char)s[at]);
    return refuse(r, 422, "image",
                  "image: not base64: %zu characters, not a multiple of 4 "
                  "(padding with = missing?)",
                  n);
  }
  if (n / 4 * 3 > (size_t)INT32_MAX)
    return refuse(r, 422, "image", "image: larger than 2 GiB");
  size_t cap = n / 4 * 3;
  uint8_t *bytes = malloc(cap ? cap : 1);
  if (!bytes) return refuse(r, 500, "", "out of memory decoding the image");
  int got = av_base64_decode(bytes, s, (int)cap);
  if (got <= 0) {
    free(bytes);
    return refuse(r, 422, "image", "image: not valid base64");
  }
  warm_error err = {0};
  wh_image_format fmt;
  uint32_t w, h;
  if (wh_image_probe(bytes, (size_t)got, &fmt, &w, &h, &err)) {
    free(bytes);
    return refuse(r, 422, "image", "image: %s", err.msg);
  }
  free(job->image);
  job->image = bytes;
  job->p.image = bytes;
  job->p.image_len = (size_t)got;
  return 0;
}

static int guide_field(json_t *v, const char *name, wh_job_guide *g,
                       refusal *r) {
  if (!json_is_object(v))
    return refuse(r, 422, name,
                  "%s: must be an object with any of cfg, stg, rescale, "
                  "modality, skip_step, stg_blocks",
                  name);
  const char *key;
  json_t *x;
  json_object_foreach(v, key, x) {
    char what[96];
    snprintf(what, sizeof what, "%s.%.48s", name, key);
    int k = wh_guide_key_find(key);
    warm_error err = {0};
    if (k < 0)
      return refuse(r, 422, what,
                    "unknown field '%s' (known in %s: cfg, stg, rescale, "
                    "modality, skip_step, stg_blocks)",
                    what, name);
    if (k == WH_GK_STG_BLOCKS) {
      if (!json_is_array(x))
        return refuse(r, 422, what, "%s: must be an array of block indices",
                      what);
      size_t n = json_array_size(x), i;
      long long blocks[WH_LTX2_MAX_STG_BLOCKS];
      json_t *b;
      if (n > WH_LTX2_MAX_STG_BLOCKS)
        return refuse(r, 422, what, "%s: at most %d blocks, got %zu", what,
                      WH_LTX2_MAX_STG_BLOCKS, n);
      json_array_foreach(x, i, b) {
        if (!json_is_integer(b))
          return refuse(r, 422, what, "%s[%zu]: must be an integer", what, i);
        blocks[i] = json_integer_value(b);
      }
      if (wh_guide_set_blocks(g, blocks, n, what, &err))
        return refuse(r, 422, what, "%s", err.msg);
      continue;
    }
    int integral = k == WH_GK_SKIP_STEP;
    if (integral ? !json_is_integer(x) : !json_is_number(x))
      return refuse(r, 422, what, "%s: must be %s", what,
                    integral ? "an integer" : "a number");
    if (wh_guide_set_number(g, (wh_guide_key)k, json_number_value(x), what,
                            &err))
      return refuse(r, 422, what, "%s", err.msg);
  }
  return 0;
}

/* One top-level field. */
static int field(const char *key, json_t *v, wh_api_job *job, refusal *r) {
  wh_job_params *p = &job->p;
  if (!strcmp(key, "prompt")) return text_field(v, "prompt", 0, &p->prompt, r);
  if (!strcmp(key, "negative_prompt"))
    return text_field(v, "negative_prompt", 1, &p->negative_prompt, r);
  if (!strcmp(key, "image")) return image_field(v, job, r);
  if (!strcmp(key, "video_guidance"))
    return guide_field(v, "video_guidance", &p->video_guidance, r);
  if (!strcmp(key, "audio_guidance"))
    return guide_field(v, "audio_guidance", &p->audio_guidance, r);
  if (!strcmp(key, "guidance")) {
    int isnum = json_is_number(v);
    double g = isnum ? json_number_value(v) : 0;
    if (!isnum || !(g >= 1.0 && g <= 30.0))
      return refuse(r, 422, "guidance", "%s",
                    isnum ? "guidance: must be 1 (off) .. 30"
                          : "guidance: must be a number");
    p->guidance = g;
    return 0;
  }
  if (!strcmp(key, "image_strength")) {
    warm_error err = {0};
    if (!json_is_number(v))
      return refuse(r, 422, key, "image_strength: must be a number");
    if (wh_job_check_strength(json_number_value(v), key, &err))
      return refuse(r, 422, key, "%s", err.msg);
    p->image_strength = json_number_value(v);
    return 0;
  }
  size_t i = 0;
  while (i < N_NUM && strcmp(num_fields[i].name, key))
    i++;
  if (i == N_NUM) {
    char k[64], known[512] = "";
    snprintf(k, sizeof k, "%s", key);
    for (size_t f = 0; f < wh_api_n_job_fields; f++)
      snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
               f ? ", " : "", wh_api_job_fields[f]);
    return refuse(r, 422, k, "unknown field '%s' (known: %s)", k, known);
  }
  if (!json_is_integer(v))
    return refuse(r, 422, key, "%s: must be an integer", key);
  json_int_t x = json_integer_value(v);
  if (x < num_fields[i].lo || x > num_fields[i].hi)
    return refuse(r, 422, key, "%s = %lld: must be %lld..%lld", key,
                  (long long)x, (long long)num_fields[i].lo,
                  (long long)num_fields[i].hi);
  switch (i) {
  case 0:
    p->frames = (uint32_t)x;
    break;
  case 1:
    p->height = (uint32_t)x;
    break;
  case 2:
    p->width = (uint32_t)x;
    break;
  case 3:
    p->steps = (uint32_t)x;
    break;
  case 4:
    p->fps = (uint32_t)x;
    break;
  default:
    p->seed = (uint64_t)x;
    break;
  }
  return 0;
}

static int parse_job(const char *body, size_t len, wh_api_job *job,
                     refusal *r) {
  json_error_t je;
  json_t *root =
      json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
  if (!root) {
    snprintf(r->msg, r->msg_len, "invalid JSON at line %d, column %d: %s",
             je.line, je.column, je.text);
    return 400;
  }
  job->doc = root;
  if (!json_is_object(root))
    return refuse(r, 422, "", "the body must be a JSON object");
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    int st = field(key, v, job, r);
    if (st) return st;
  }
  if (!job->p.prompt) return refuse(r, 422, "prompt", "prompt: required");
  if (job->p.image_strength > 0 && !job->p.image_len)
    return refuse(r, 422, "image_strength",
                  "image_strength: given without an image");
  return 0;
}

/* Messages go into one-line logs and JSON: control characters from the
 * client's keys or from the JSON error's context become '?'. */
void wh_api_one_line(char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = '?';
}

int wh_api_parse_job(const char *body, size_t len, wh_api_job *job, char *msg,
                     size_t msg_len, char *field_name, size_t field_len) {
  memset(job, 0, sizeof *job);
  msg[0] = '\0';
  field_name[0] = '\0';
  refusal r = {msg, field_name, msg_len, field_len};
  int st = parse_job(body, len, job, &r);
  if (st) wh_api_job_free(job);
  wh_api_one_line(msg);
  wh_api_one_line(field_name);
  return st;
}

void wh_api_job_free(wh_api_job *job) {
  json_decref(job->doc);
  free(job->image);
  memset(job, 0, sizeof *job);
}

/* safetensors reader/writer, config.json getters and weight conversion. */
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../sdk/check.h"
#include "warm/model.h"
#include "warm/safetensors.h"
#include "warm/warm.h"
#include "wk.h"

static char tmpdir[256];
static uint64_t rng;

static uint64_t next_u64(void) {
  uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static float next_f(void) {
  return (float)((double)(next_u64() >> 11) / 9007199254740992.0 * 2 - 1);
}

static int rm_cb(const char *p, const struct stat *sb, int flag,
                 struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(p);
}

static void path_in(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", tmpdir, name);
}

static void write_bytes(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (!f) return;
  CHECK(fwrite(p, 1, n, f) == n);
  fclose(f);
}

/* A file image: 8-byte length, header text, then `data_len` zero bytes. */
static size_t image(uint8_t *buf, const char *hdr, size_t data_len) {
  size_t h = strlen(hdr);
  for (int i = 0; i < 8; i++)
    buf[i] = (uint8_t)((uint64_t)h >> (8 * i));
  memcpy(buf + 8, hdr, h);
  memset(buf + 8 + h, 0, data_len);
  return 8 + h + data_len;
}

static void test_roundtrip_preserves_names_shapes_bytes_metadata(void) {
  float a[15];
  uint16_t b[7];
  int64_t c[4] = {1, -2, 3, INT64_MIN};
  for (int i = 0; i < 15; i++)
    a[i] = next_f();
  for (int i = 0; i < 7; i++)
    b[i] = wk_f32_to_bf16(next_f());
  warm_tensor t[4] = {
      {.name = "layer.a",
       .dtype = WARM_F32,
       .ndim = 2,
       .shape = {3, 5},
       .data = a},
      {.name = "layer.b",
       .dtype = WARM_BF16,
       .ndim = 1,
       .shape = {7},
       .data = b},
      {.name = "empty",
       .dtype = WARM_F32,
       .ndim = 2,
       .shape = {0, 4},
       .data = NULL},
      {.name = "c", .dtype = WARM_I64, .ndim = 2, .shape = {2, 2}, .data = c},
  };
  warm_kv meta[] = {{"format", "pt"}, {"maker", "test"}};
  char path[512];
  path_in(path, sizeof path, "rt.safetensors");
  warm_error err = {0};
  CHECK(warm_st_write_file(path, t, 4, meta, 2, &err) == 0);
  warm_st *st = NULL;
  CHECK(warm_st_open(path, &st, &err) == 0);
  if (!st) {
    fprintf(stderr, "%s\n", err.msg);
    return;
  }
  CHECK_EQ_U64(warm_st_count(st), 4);
  CHECK_EQ_U64(warm_st_total_bytes(st), 60 + 14 + 32);
  const warm_st_entry *e = warm_st_find(st, "layer.a");
  CHECK(e && e->dtype == WARM_F32 && e->ndim == 2 && e->shape[1] == 5);
  CHECK(e && e->nbytes == 60 && memcmp(e->data, a, 60) == 0);
  CHECK(e && e->file_offset % 8 == 0); /* first span after padded header */
  e = warm_st_find(st, "layer.b");
  CHECK(e && e->st_dtype == WARM_ST_BF16 && memcmp(e->data, b, 14) == 0);
  e = warm_st_find(st, "c");
  CHECK(e && e->dtype == WARM_I64 && memcmp(e->data, c, 32) == 0);
  e = warm_st_find(st, "empty");
  CHECK(e && e->nbytes == 0 && e->shape[0] == 0);
  CHECK(warm_st_find(st, "missing") == NULL);
  /* Iteration is in file order: declaration order for our writer. */
  CHECK(strcmp(warm_st_at(st, 0)->name, "layer.a") == 0);
  CHECK(strcmp(warm_st_at(st, 3)->name, "c") == 0 ||
        strcmp(warm_st_at(st, 3)->name, "empty") == 0);
  CHECK(warm_st_metadata(st, "maker") &&
        strcmp(warm_st_metadata(st, "maker"), "test") == 0);
  CHECK_EQ_U64(warm_st_metadata_count(st), 2);
  warm_tensor v;
  CHECK(warm_st_get(st, "layer.a", &v, &err) == 0 &&
        v.data == warm_st_find(st, "layer.a")->data);
  CHECK(warm_st_get(st, "nope", &v, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, "nope");
  CHECK_HAS(err.msg, "rt.safetensors");
  int64_t want[2] = {3, -1};
  CHECK(warm_st_expect(st, "layer.a", 2, want, &v, &err) == 0);
  int64_t bad[2] = {5, 3};
  CHECK(warm_st_expect(st, "layer.a", 2, bad, &v, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, "expected shape [5, 3], found [3, 5]");
  warm_st_close(st);
}

typedef struct bad_case {
  const char *hdr;
  size_t data_len;
  const char *needle; /* the message must name this */
} bad_case;

static void test_refuses_malformed_headers_naming_file_and_tensor(void) {
  static const bad_case cases[] = {
      {"[1, 2]", 0, "not a JSON object"},
      {"{\"a\": ", 0, "not valid JSON"},
      {"{\"__metadata__\": {\"k\": 3}}", 0, "'k' is not a string"},
      {"{\"__metadata__\": [1]}", 0, "__metadata__ is not an object"},
      {"{\"w\": {\"dtype\": \"F33\", \"shape\": [1], \"data_offsets\": [0, "
       "4]}}",
       4, "'w': unknown dtype"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, "
       "4]}}",
       4, "'w': shape[0]"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, "
       "4]}}",
       4, "'w': shape[0]"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, "
       "4]}}",
       8, "'w': shape x F32 = 8 bytes but data_offsets span 4"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, "
       "8]}}",
       4, "'w': data_offsets [4, 8] outside"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [4, "
       "0]}}",
       4, "'w': data_offsets"},
      {"{\"w\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]},"
       " \"v\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [2, "
       "6]}}",
       8, "overlaps"},
      {"{\"w\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]},"
       " \"w\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [1, "
       "2]}}",
       2, "duplicate"},
      {"{\"w\": {\"dtype\": \"BF16\", \"shape\": [4294967296, 4294967296, "
       "4294967296], \"data_offsets\": [0, 0]}}",
       0, "'w': shape overflows"},
      {"{\"w\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,1,1], "
       "\"data_offsets\": [0, 1]}}",
       1, "'w': 9 dims"},
      {"{\"w\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1], "
       "\"extra\": 1}}",
       1, "'w': unknown field 'extra'"},
      {"{\"w\": {\"dtype\": \"U8\", \"shape\": [1]}}", 1,
       "'w': data_offsets missing"},
      {"{\"w\": {\"shape\": [1], \"data_offsets\": [0, 1]}}", 1,
       "'w': dtype missing"},
      {"{\"w\": 5}", 1, "'w': description is not an object"},
      {"{\"\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]}}",
       1, "empty name"},
  };
  static uint8_t buf[4096];
  warm_error err;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t n = image(buf, cases[i].hdr, cases[i].data_len);
    warm_st *st = NULL;
    memset(&err, 0, sizeof err);
    int rc = warm_st_open_buffer(buf, n, "case.safetensors", &st, &err);
    CHECK(rc == WARM_EFORMAT && st == NULL);
    CHECK_HAS(err.msg, "case.safetensors");
    CHECK_HAS(err.msg, cases[i].needle);
    warm_st_close(st);
  }
  /* Header length: too short a file, past the end, absurdly large. */
  warm_st *st = NULL;
  CHECK(warm_st_open_buffer(buf, 5, "short", &st, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, "too short");
  size_t n = image(buf, "{}", 0);
  buf[0] = 200;
  CHECK(warm_st_open_buffer(buf, n, "past", &st, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, "header length 200");
  memset(buf, 0xff, 8);
  CHECK(warm_st_open_buffer(buf, n, "huge", &st, &err) == WARM_EFORMAT);
  /* Gaps between spans and trailing bytes are accepted. */
  n = image(buf,
            "{\"a\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, "
            "2]}, \"b\": {\"dtype\": \"BOOL\", \"shape\": [1], "
            "\"data_offsets\": [8, 9]}}",
            16);
  CHECK(warm_st_open_buffer(buf, n, "gaps", &st, &err) == 0);
  CHECK(st && warm_st_find(st, "b") &&
        warm_st_find(st, "b")->dtype == WARM_DTYPE_NONE);
  warm_tensor v;
  CHECK(st && warm_st_get(st, "b", &v, &err) == WARM_EFORMAT);
  warm_st_close(st);
  /* A file that does not exist is EIO naming it. */
  CHECK(warm_st_open("/nonexistent/x.safetensors", &st, &err) == WARM_EIO);
  CHECK_HAS(err.msg, "/nonexistent/x.safetensors");
  /* Device files and FIFOs are refused without reading (a FIFO would block). */
  CHECK(warm_st_open("/dev/null", &st, &err) == WARM_EIO);
  CHECK_HAS(err.msg, "not a regular file");
  warm_config *c = NULL;
  CHECK(warm_config_open("/dev/null", &c, &err) == WARM_EIO);
  CHECK_HAS(err.msg, "not a regular file");
}

/* Writes one shard holding tensors `names` (f32 [4] each, value = seed). */
static void write_shard(const char *file, const char *const *names, int n,
                        float seed) {
  char path[512];
  path_in(path, sizeof path, file);
  float data[8][4];
  warm_tensor t[8];
  for (int i = 0; i < n; i++) {
    for (int k = 0; k < 4; k++)
      data[i][k] = seed + (float)i;
    t[i] = (warm_tensor){.name = names[i],
                         .dtype = WARM_F32,
                         .ndim = 1,
                         .shape = {4},
                         .data = data[i]};
  }
  warm_error err;
  CHECK(warm_st_write_file(path, t, (size_t)n, NULL, 0, &err) == 0);
}

static void write_text(const char *file, const char *text) {
  char path[512];
  path_in(path, sizeof path, file);
  write_bytes(path, text, strlen(text));
}

static void test_sharded_folder_through_index(void) {
  /* A folder of its own: the open without index takes every file. */
  strcat(tmpdir, "/shards");
  CHECK(mkdir(tmpdir, 0700) == 0);
  static const char *s1[] = {"x.0", "x.1"}, *s2[] = {"x.2"};
  write_shard("model-00001-of-00002.safetensors", s1, 2, 10);
  write_shard("model-00002-of-00002.safetensors", s2, 1, 20);
  write_text("model.safetensors.index.json",
             "{\"metadata\": {\"total_size\": 48}, \"weight_map\": {"
             "\"x.0\": \"model-00001-of-00002.safetensors\","
             "\"x.1\": \"model-00001-of-00002.safetensors\","
             "\"x.2\": \"model-00002-of-00002.safetensors\"}}");
  warm_st *st = NULL;
  warm_error err;
  CHECK(warm_st_open(tmpdir, &st, &err) == 0);
  if (!st) {
    fprintf(stderr, "%s\n", err.msg);
    return;
  }
  CHECK_EQ_U64(warm_st_count(st), 3);
  CHECK_EQ_U64(warm_st_file_count(st), 2);
  const warm_st_entry *e = warm_st_find(st, "x.2");
  CHECK(e && e->file == 1 && ((const float *)e->data)[3] == 20.0f);
  e = warm_st_find(st, "x.1");
  CHECK(e && e->file == 0 && ((const float *)e->data)[0] == 11.0f);
  warm_st_close(st);

  /* The index maps a tensor to the wrong shard. */
  write_text("model.safetensors.index.json",
             "{\"weight_map\": {"
             "\"x.0\": \"model-00002-of-00002.safetensors\","
             "\"x.1\": \"model-00001-of-00002.safetensors\","
             "\"x.2\": \"model-00002-of-00002.safetensors\"}}");
  CHECK(warm_st_open(tmpdir, &st, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, "'x.0'");
  /* A shard holds a tensor the index does not list. */
  write_text("model.safetensors.index.json",
             "{\"weight_map\": {"
             "\"x.0\": \"model-00001-of-00002.safetensors\","
             "\"x.2\": \"model-00002-of-00002.safetensors\"}}");
  CHECK(warm_st_open(tmpdir, &st, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, "'x.1'");
  CHECK_HAS(err.msg, "not in the index");
  /* A shard name that escapes the folder. */
  write_text("model.safetensors.index.json",
             "{\"weight_map\": {\"x.0\": \"../evil.safetensors\"}}");
  CHECK(warm_st_open(tmpdir, &st, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, "plain file name");
  /* A missing shard is EIO naming it. */
  write_text("model.safetensors.index.json",
             "{\"weight_map\": {\"x.0\": \"gone.safetensors\"}}");
  CHECK(warm_st_open(tmpdir, &st, &err) == WARM_EIO);
  CHECK_HAS(err.msg, "gone.safetensors");

  /* Without an index: every *.safetensors file; duplicates refused. */
  char idx[512];
  path_in(idx, sizeof idx, "model.safetensors.index.json");
  remove(idx);
  CHECK(warm_st_open(tmpdir, &st, &err) == 0);
  CHECK(st && warm_st_count(st) == 3);
  warm_st_close(st);
  static const char *dup[] = {"x.1"};
  write_shard("zz.safetensors", dup, 1, 30);
  CHECK(warm_st_open(tmpdir, &st, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, "'x.1' appears twice");
  CHECK_HAS(err.msg, "zz.safetensors");
}

static void test_writer_refuses_misuse_and_leaves_no_file(void) {
  char path[512];
  path_in(path, sizeof path, "w.safetensors");
  warm_st_writer *w;
  warm_error err;
  int64_t shape[1] = {4};
  CHECK(warm_st_writer_open(path, &w, &err) == 0);
  CHECK(warm_st_writer_declare(w, "a", WARM_F32, 1, shape, &err) == 0);
  CHECK(warm_st_writer_declare(w, "a", WARM_F32, 1, shape, &err) ==
        WARM_EINVAL);
  CHECK_HAS(err.msg, "'a' declared twice");
  warm_st_writer_abort(w);
  CHECK(access(path, F_OK) != 0);

  CHECK(warm_st_writer_open(path, &w, &err) == 0);
  CHECK(warm_st_writer_declare(w, "a", WARM_F32, 1, shape, &err) == 0);
  CHECK(warm_st_writer_begin(w, &err) == 0);
  float v[5] = {1, 2, 3, 4, 5};
  CHECK(warm_st_writer_write(w, v, 8, &err) == 0);
  CHECK(warm_st_writer_close(w, &err) == WARM_EINVAL); /* 8 of 16 bytes */
  CHECK_HAS(err.msg, "8 of 16");
  CHECK(access(path, F_OK) != 0);

  CHECK(warm_st_writer_open(path, &w, &err) == 0);
  CHECK(warm_st_writer_declare(w, "a", WARM_F32, 1, shape, &err) == 0);
  CHECK(warm_st_writer_begin(w, &err) == 0);
  CHECK(warm_st_writer_write(w, v, 20, &err) == WARM_EINVAL);
  warm_st_writer_abort(w);
  CHECK(access(path, F_OK) != 0);
}

static void test_writer_skip_leaves_zero_holes(void) {
  char path[512];
  path_in(path, sizeof path, "holes.safetensors");
  warm_st_writer *w;
  warm_error err;
  int64_t big[1] = {1 << 20}, small[1] = {3};
  float v[3] = {1, 2, 3};
  CHECK(warm_st_writer_open(path, &w, &err) == 0);
  CHECK(warm_st_writer_declare(w, "hole0", WARM_F32, 1, big, &err) == 0);
  CHECK(warm_st_writer_declare(w, "data", WARM_F32, 1, small, &err) == 0);
  CHECK(warm_st_writer_declare(w, "hole1", WARM_F32, 1, big, &err) == 0);
  CHECK(warm_st_writer_begin(w, &err) == 0);
  CHECK(warm_st_writer_skip(w, 4u << 20, &err) == 0);
  CHECK(warm_st_writer_write(w, v, sizeof v, &err) == 0);
  /* A trailing hole: the file must still get its full length. */
  CHECK(warm_st_writer_skip(w, 4u << 20, &err) == 0);
  CHECK(warm_st_writer_skip(w, 1, &err) == WARM_EINVAL);
  warm_st_writer_abort(w);
  CHECK(access(path, F_OK) != 0);
  CHECK(warm_st_writer_open(path, &w, &err) == 0);
  CHECK(warm_st_writer_declare(w, "hole0", WARM_F32, 1, big, &err) == 0);
  CHECK(warm_st_writer_declare(w, "data", WARM_F32, 1, small, &err) == 0);
  CHECK(warm_st_writer_declare(w, "hole1", WARM_F32, 1, big, &err) == 0);
  CHECK(warm_st_writer_begin(w, &err) == 0);
  CHECK(warm_st_writer_skip(w, 4u << 20, &err) == 0);
  CHECK(warm_st_writer_write(w, v, sizeof v, &err) == 0);
  CHECK(warm_st_writer_skip(w, 4u << 20, &err) == 0);
  CHECK(warm_st_writer_close(w, &err) == 0);
  warm_st *st = NULL;
  CHECK(warm_st_open(path, &st, &err) == 0);
  if (!st) return;
  const warm_st_entry *h0 = warm_st_find(st, "hole0"),
                      *d = warm_st_find(st, "data"),
                      *h1 = warm_st_find(st, "hole1");
  CHECK(h0 && d && h1);
  int zero = 1;
  for (size_t i = 0; h0 && h1 && i < (1u << 20); i++)
    zero &= ((const float *)h0->data)[i] == 0.0f &&
            ((const float *)h1->data)[i] == 0.0f;
  CHECK(zero);
  CHECK(d && memcmp(d->data, v, sizeof v) == 0);
  struct stat sb;
  CHECK(stat(path, &sb) == 0);
  CHECK((uint64_t)sb.st_size == h1->file_offset + h1->nbytes);
  warm_st_close(st);
}

static void test_config_getters_name_file_and_key(void) {
  static const char text[] =
      "{\"model_type\": \"gemma3\", \"torch_dtype\": \"bfloat16\","
      " \"text_config\": {\"hidden_size\": 64, \"rms_norm_eps\": 1e-06,"
      " \"rope_scaling\": {\"factor\": 8.0, \"rope_type\": \"linear\"},"
      " \"final_logit_softcapping\": null, \"layers\": 4.0,"
      " \"layer_types\": [\"sliding_attention\", \"full_attention\"],"
      " \"sizes\": [1, 2.5], \"tie\": true}}";
  warm_config *c = NULL, *t = NULL;
  warm_error err;
  CHECK(warm_config_parse(text, sizeof text - 1, "cfg/config.json", &c, &err) ==
        0);
  if (!c) return;
  CHECK(warm_config_text(c, &t, &err) == 0);
  int64_t i;
  double d;
  const char *s;
  int b;
  size_t n;
  CHECK(warm_config_int(t, "hidden_size", &i, &err) == 0 && i == 64);
  CHECK(warm_config_int(c, "text_config.hidden_size", &i, &err) == 0 &&
        i == 64);
  CHECK(warm_config_int(t, "layers", &i, &err) == 0 && i == 4);
  CHECK(warm_config_float(t, "rms_norm_eps", &d, &err) == 0 && d == 1e-6);
  CHECK(warm_config_float(t, "rope_scaling.factor", &d, &err) == 0 && d == 8.0);
  CHECK(!warm_config_has(t, "final_logit_softcapping"));
  CHECK(warm_config_float_or(t, "final_logit_softcapping", -1, &d, &err) == 0 &&
        d == -1);
  CHECK(warm_config_bool_or(t, "tie", 0, &b, &err) == 0 && b == 1);
  CHECK(warm_config_string(c, "model_type", &s, &err) == 0 &&
        strcmp(s, "gemma3") == 0);
  CHECK(warm_config_array_len(t, "layer_types", &n, &err) == 0 && n == 2);
  CHECK(warm_config_string_at(t, "layer_types", 1, &s, &err) == 0 &&
        strcmp(s, "full_attention") == 0);
  CHECK(warm_config_float_at(t, "sizes", 1, &d, &err) == 0 && d == 2.5);
  /* A part of digits indexes an array; past the end is absent. */
  CHECK(warm_config_float(t, "sizes.1", &d, &err) == 0 && d == 2.5);
  CHECK(warm_config_string(t, "layer_types.0", &s, &err) == 0);
  CHECK(!warm_config_has(t, "sizes.2"));
  CHECK(!warm_config_has(t, "hidden_size.0"));
  /* Errors name the file and the full key path. */
  CHECK(warm_config_int(t, "vocab_size", &i, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, "cfg/config.json: text_config.vocab_size: missing");
  CHECK(warm_config_int(t, "rms_norm_eps", &i, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, "text_config.rms_norm_eps: expected an integer");
  CHECK(warm_config_int_or(t, "rope_scaling", 3, &i, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, "found an object");
  CHECK(warm_config_int_at(t, "sizes", 1, &i, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, "text_config.sizes[1]");
  CHECK(warm_config_string_at(t, "layer_types", 2, &s, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, "layer_types[2]: missing");
  warm_config_close(c); /* the child keeps the document alive */
  CHECK(warm_config_int(t, "hidden_size", &i, &err) == 0 && i == 64);
  warm_config_close(t);

  CHECK(warm_config_parse("{\"a\": 1,", 8, "bad.json", &c, &err) ==
        WARM_EFORMAT);
  CHECK_HAS(err.msg, "bad.json");
  CHECK(warm_config_open("/nonexistent/dir", &c, &err) == WARM_EIO);
  /* A folder resolves to its config.json. */
  write_text("config.json", "{\"vocab_size\": 262208}");
  CHECK(warm_config_open(tmpdir, &c, &err) == 0);
  CHECK(c && warm_config_int(c, "vocab_size", &i, &err) == 0 && i == 262208);
  warm_config_close(c);
}

static void test_weight_convert_matches_kernel_rounding(void) {
  enum { N = 1000 };
  float x[N];
  for (int i = 0; i < N; i++)
    x[i] = next_f() * 3.0f;
  x[17] = 0.0f;
  warm_tensor src = {.name = "w",
                     .dtype = WARM_F32,
                     .ndim = 1,
                     .shape = {N},
                     .data = x,
                     .scale = 1};
  uint16_t bf[N];
  float s;
  warm_error err;
  CHECK(warm_weight_convert(&src, WARM_BF16, bf, &s, &err) == 0 && s == 1);
  int same = 1;
  for (int i = 0; i < N; i++)
    same &= bf[i] == wk_f32_to_bf16(x[i]);
  CHECK(same);
  /* bf16 -> f32 is exact. */
  warm_tensor sb = {.name = "wb",
                    .dtype = WARM_BF16,
                    .ndim = 1,
                    .shape = {N},
                    .data = bf,
                    .scale = 1};
  float back[N];
  CHECK(warm_weight_convert(&sb, WARM_F32, back, NULL, &err) == 0);
  same = 1;
  for (int i = 0; i < N; i++)
    same &= back[i] == wk_bf16_to_f32(bf[i]);
  CHECK(same);
  /* fp8: scale = amax / 448; decode * scale within fp8 precision. */
  float amax = 0;
  for (int i = 0; i < N; i++)
    amax = fmaxf(amax, fabsf(x[i]));
  uint8_t f8[N];
  CHECK(warm_weight_convert(&src, WARM_FP8_E4M3, f8, &s, &err) == 0);
  CHECK(s == amax / 448.0f);
  int ok = 1;
  for (int i = 0; i < N; i++) {
    ok &= f8[i] == wk_f32_to_fp8(x[i] / s);
    ok &= fabsf(wk_fp8_to_f32(f8[i]) * s - x[i]) <=
          0.0625f * fabsf(x[i]) + s * 0.002f;
  }
  CHECK(ok);
  /* fp8 -> f32 applies the source scale. */
  warm_tensor s8 = {.name = "w8",
                    .dtype = WARM_FP8_E4M3,
                    .ndim = 1,
                    .shape = {N},
                    .data = f8,
                    .scale = s};
  CHECK(warm_weight_convert(&s8, WARM_F32, back, NULL, &err) == 0);
  CHECK(back[5] == wk_fp8_to_f32(f8[5]) * s);
  /* f16 -> f32 on known values, subnormals and infinity included. */
  uint16_t h[5] = {0x3c00, 0xc000, 0x0001, 0x7c00, 0x3555};
  warm_tensor sh = {.name = "h",
                    .dtype = WARM_F16,
                    .ndim = 1,
                    .shape = {5},
                    .data = h,
                    .scale = 1};
  float hf[5];
  CHECK(warm_weight_convert(&sh, WARM_F32, hf, NULL, &err) == 0);
  CHECK(hf[0] == 1.0f && hf[1] == -2.0f && hf[2] == ldexpf(1.0f, -24) &&
        isinf(hf[3]) && fabsf(hf[4] - 0.333251953125f) == 0.0f);
  warm_tensor si = {
      .name = "ids", .dtype = WARM_I32, .ndim = 1, .shape = {1}, .data = h};
  CHECK(warm_weight_convert(&si, WARM_F32, hf, NULL, &err) == WARM_EINVAL);
  CHECK_HAS(err.msg, "'ids'");
}

int main(void) {
  const char *env = getenv("WARM_TEST_SEED");
  uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
  rng = seed;
  printf("seed %llu (WARM_TEST_SEED to replay)\n", (unsigned long long)seed);
  snprintf(tmpdir, sizeof tmpdir, "/tmp/warm_st_test.XXXXXX");
  if (!mkdtemp(tmpdir)) return 1;
  RUN(test_roundtrip_preserves_names_shapes_bytes_metadata);
  RUN(test_refuses_malformed_headers_naming_file_and_tensor);
  RUN(test_writer_refuses_misuse_and_leaves_no_file);
  RUN(test_writer_skip_leaves_zero_holes);
  RUN(test_config_getters_name_file_and_key);
  RUN(test_weight_convert_matches_kernel_rounding);
  char base[256];
  memcpy(base, tmpdir, sizeof base);
  RUN(test_sharded_folder_through_index);
  memcpy(tmpdir, base, sizeof base);
  nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  return check_result();
}

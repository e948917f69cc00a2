/*
 * test_gemma3_errors.c — bad input gets a clear message, never a crash:
 * missing or misshapen tensors (create and validate name the tensor), a
 * missing tokenizer, unknown plugin keys, unsupported config values,
 * invalid UTF-8 prompts (the empty one is BOS alone), run before place; the documented
 * truncation warning; the fingerprint's identity rules.
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "test_gemma3_util.h"
#include "warm/safetensors.h"

static char tmp_root[256];

static int copy_file(const char *from, const char *to) {
  FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
  if (!a || !b) {
    if (a) fclose(a);
    if (b) fclose(b);
    return -1;
  }
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, a)) > 0)
    fwrite(buf, 1, n, b);
  fclose(a);
  return fclose(b);
}

/* A copy of checkpoint `src` as tmp_root/name: drop tensor `drop`, give
 * tensor `reshape` a wrong first dim, or leave the tokenizer out. */
static const char *make_variant(const char *src, const char *name,
                                const char *drop, const char *reshape,
                                int with_tokenizer, char *out, size_t n) {
  snprintf(out, n, "%s/%s", tmp_root, name);
  mkdir(out, 0755);
  char a[1024], b[1024];
  snprintf(a, sizeof a, "%s/config.json", src);
  snprintf(b, sizeof b, "%s/config.json", out);
  copy_file(a, b);
  if (with_tokenizer) {
    snprintf(a, sizeof a, "%s/tokenizer.model", src);
    snprintf(b, sizeof b, "%s/tokenizer.model", out);
    copy_file(a, b);
  }
  warm_st *st;
  warm_error err = {0};
  if (warm_st_open(src, &st, &err) != 0) {
    fprintf(stderr, "setup: %s\n", err.msg);
    exit(1);
  }
  size_t cnt = warm_st_count(st), k = 0;
  warm_tensor *ts = calloc(cnt, sizeof *ts);
  for (size_t i = 0; i < cnt; i++) {
    const warm_st_entry *e = warm_st_at(st, i);
    if (drop && strcmp(e->name, drop) == 0) continue;
    if (warm_st_get(st, e->name, &ts[k], &err) != 0) continue;
    if (reshape && strcmp(e->name, reshape) == 0) {
      ts[k].shape[0] /= 2; /* a prefix of the data, wrong shape */
    }
    k++;
  }
  snprintf(b, sizeof b, "%s/model.safetensors", out);
  if (warm_st_write_file(b, ts, k, NULL, 0, &err) != 0) {
    fprintf(stderr, "setup: %s\n", err.msg);
    exit(1);
  }
  free(ts);
  warm_st_close(st);
  return out;
}

static int try_create(const char *weights, const warm_kv *keys, uint32_t nk,
                      warm_error *err, int *validate_rc, warm_error *verr) {
  warm_device cpu = {WARM_DEVICE_CPU, 0};
  warm_component_config cc = g3t_config(weights, cpu, WARM_F32, keys, nk);
  g3t_host h;
  g3t_host_init(&h, cpu, 0);
  const warm_plugin_desc *d = g3_descriptor();
  warm_instance *g = NULL;
  memset(err, 0, sizeof *err);
  int rc = d->create(&h.svc, &cc, &g, err);
  if (g) d->destroy(g);
  memset(verr, 0, sizeof *verr);
  *validate_rc = d->validate(&h.svc, &cc, verr);
  g3t_host_fini(&h);
  return rc;
}

static void expect_refused(const char *what, const char *weights,
                           const warm_kv *keys, uint32_t nk, const char *needle,
                           const char *needle2) {
  warm_error err, verr;
  int vrc;
  int rc = try_create(weights, keys, nk, &err, &vrc, &verr);
  G3T_CHECK(rc < 0 && strstr(err.msg, needle) &&
                (!needle2 || strstr(err.msg, needle2)),
            "%s: create rc %d \"%s\"", what, rc, err.msg);
  G3T_CHECK(vrc < 0 && strstr(verr.msg, needle), "%s: validate rc %d \"%s\"",
            what, vrc, verr.msg);
  printf("%-22s -> %s\n", what, err.msg);
}

static void test_bad_checkpoints(const char *ck) {
  char dir[1024];
  warm_error err, verr;
  int vrc;
  G3T_CHECK(try_create(ck, NULL, 0, &err, &vrc, &verr) == 0 && vrc == 0,
            "the good checkpoint passes: %s / %s", err.msg, verr.msg);
  make_variant(ck, "missing", "model.layers.2.mlp.up_proj.weight", NULL, 1, dir,
               sizeof dir);
  expect_refused("missing tensor", dir, NULL, 0,
                 "model.layers.2.mlp.up_proj.weight", NULL);
  make_variant(ck, "misshapen", NULL, "model.layers.1.self_attn.k_proj.weight",
               1, dir, sizeof dir);
  expect_refused("misshapen tensor", dir, NULL, 0,
                 "model.layers.1.self_attn.k_proj.weight", "32");
  make_variant(ck, "no_tokenizer", NULL, NULL, 0, dir, sizeof dir);
  expect_refused("missing tokenizer", dir, NULL, 0, "tokenizer", NULL);
  expect_refused("missing folder", "/nonexistent/gemma", NULL, 0,
                 "/nonexistent/gemma", NULL);

  warm_kv bad_key[1] = {{"max_tokenz", "8"}};
  expect_refused("unknown key", ck, bad_key, 1, "max_tokenz", NULL);
  warm_kv bad_out[1] = {{"output", "middle"}};
  expect_refused("bad output", ck, bad_out, 1, "output", "middle");
  warm_kv bad_b16[1] = {{"bf16_activations", "yes"}};
  expect_refused("bad bf16_activations", ck, bad_b16, 1, "bf16_activations",
                 "yes");
  warm_kv bad_mt[1] = {{"max_tokens", "-3"}};
  expect_refused("bad max_tokens", ck, bad_mt, 1, "max_tokens", NULL);

  /* An unsupported RoPE type in config.json is refused by key. */
  make_variant(ck, "yarn", NULL, NULL, 1, dir, sizeof dir);
  char cfgp[1100];
  snprintf(cfgp, sizeof cfgp, "%s/config.json", dir);
  FILE *f = fopen(cfgp, "w");
  fprintf(f, "{\"vocab_size\": 640, \"hidden_size\": 48, "
             "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 2}}\n");
  fclose(f);
  expect_refused("unsupported rope", dir, NULL, 0, "yarn", "rope_scaling");
  f = fopen(cfgp, "w");
  fprintf(f, "{\"hidden_size\": \"wide\"}\n");
  fclose(f);
  expect_refused("bad config value", dir, NULL, 0, "hidden_size", NULL);
}

static void test_bad_prompts_and_order(const char *ck) {
  warm_device cpu = {WARM_DEVICE_CPU, 0};
  warm_kv keys[1] = {{"max_tokens", "16"}};
  warm_component_config cc = g3t_config(ck, cpu, WARM_F32, keys, 1);
  g3t_host h;
  g3t_host_init(&h, cpu, 0);
  const warm_plugin_desc *d = g3_descriptor();
  warm_instance *g = NULL;
  warm_error err = {0};
  G3T_CHECK(d->create(&h.svc, &cc, &g, &err) == 0, "%s", err.msg);
  warm_run_args a;
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.prompt = "a fox";
  G3T_CHECK(d->run(g, &a, &err) == WARM_EINVAL && strstr(err.msg, "place"),
            "run before place: %s", err.msg);
  warm_place_req req = {WARM_PLACE_STREAM, 2, WARM_SOURCE_PINNED};
  G3T_CHECK(d->place(g, &req, &err) == 0, "%s", err.msg);
  uint64_t placed = g3t_booked(&h);
  const char *bad[] = {"\xff\xfe not text", NULL};
  for (int i = 0; i < 2; i++) {
    memset(&a, 0, sizeof a);
    a.struct_size = sizeof a;
    a.prompt = bad[i];
    int rc = d->run(g, &a, &err);
    G3T_CHECK(rc == WARM_EINVAL && a.n_outputs == 0,
              "bad prompt %d refused (rc %d): %s", i, rc, err.msg);
    printf("bad prompt %d -> %s\n", i, err.msg);
  }
  G3T_CHECK(g3t_booked(&h) == placed, "refusals leave no workspace booked");

  /* The empty prompt is valid, as HF's tokenizer gives it: BOS alone. */
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.prompt = "";
  G3T_CHECK(d->run(g, &a, &err) == 0 && a.n_outputs == 2, "empty prompt: %s",
            err.msg);
  if (a.n_outputs == 2) {
    const int32_t *m = a.outputs[1].data;
    int64_t n = a.outputs[1].shape[0], real = 0;
    for (int64_t t = 0; t < n; t++)
      real += m[t];
    G3T_CHECK(real == 1 && m[n - 1] == 1, "empty prompt: BOS only (%lld)",
              (long long)real);
    warm_tensor_free(&a.outputs[0]);
    warm_tensor_free(&a.outputs[1]);
  }
  warm_place_req autoreq = {WARM_PLACE_AUTO, 2, WARM_SOURCE_PINNED};
  G3T_CHECK(d->place(g, &autoreq, &err) == WARM_EINVAL,
            "place(auto) refused: the host resolves auto");

  /* Longer than max_tokens: truncated with a warning, still encoded. */
  char longp[4096] = "";
  for (int i = 0; i < 40; i++)
    strcat(longp, "mist drifting ");
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.prompt = longp;
  h.warnings = 0;
  G3T_CHECK(d->run(g, &a, &err) == 0, "%s", err.msg);
  G3T_CHECK(h.warnings == 1 && strstr(h.last_log, "truncated"),
            "truncation warned: %s", h.last_log);
  if (a.n_outputs == 2) {
    const int32_t *m = a.outputs[1].data;
    int all = 1;
    for (int t = 0; t < 16; t++)
      all &= m[t] == 1;
    G3T_CHECK(all, "a truncated prompt fills every position");
    warm_tensor_free(&a.outputs[0]);
    warm_tensor_free(&a.outputs[1]);
  }
  d->destroy(g);
  g3t_host_fini(&h);
}

static void fingerprint_of(const char *ck, warm_dtype dt, char out[65],
                           int place) {
  warm_device cpu = {WARM_DEVICE_CPU, 0};
  warm_component_config cc = g3t_config(ck, cpu, dt, NULL, 0);
  g3t_host h;
  g3t_host_init(&h, cpu, 0);
  const warm_plugin_desc *d = g3_descriptor();
  warm_instance *g = NULL;
  warm_error err = {0};
  out[0] = 0;
  if (d->create(&h.svc, &cc, &g, &err) == 0) {
    if (place) {
      warm_place_req req = {WARM_PLACE_STREAM, 1, WARM_SOURCE_MMAP};
      d->place(g, &req, &err);
    }
    d->fingerprint(g, out, &err);
    d->destroy(g);
  }
  g3t_host_fini(&h);
}

static void test_fingerprint_identity(const char *ck) {
  char dir[1024], a[65], b[65], c[65], e[65], f[65];
  make_variant(ck, "fp", NULL, NULL, 1, dir, sizeof dir);
  fingerprint_of(dir, WARM_BF16, a, 0);
  fingerprint_of(dir, WARM_BF16, b, 1);
  fingerprint_of(dir, WARM_FP8_E4M3, c, 0);
  G3T_CHECK(strlen(a) == 32 && strcmp(a, b) == 0,
            "same weights + dtype, any placement: same fingerprint");
  G3T_CHECK(strcmp(a, c) != 0, "dtype changes the fingerprint");
  char p[1100];
  snprintf(p, sizeof p, "%s/model.safetensors", dir);
  struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};
  utimes(p, tv);
  fingerprint_of(dir, WARM_BF16, e, 0);
  G3T_CHECK(strcmp(a, e) != 0, "a new mtime changes the fingerprint");
  fingerprint_of(dir, WARM_BF16, f, 0);
  G3T_CHECK(strcmp(e, f) == 0, "stable for unchanged files");
}

static void rm_rf(const char *path) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
  if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", path);
}

int main(void) {
  char ck[1024];
  g3t_ckpt("gqa_window", ck, sizeof ck);
  snprintf(tmp_root, sizeof tmp_root, "%s/g3err.XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(tmp_root)) {
    perror("mkdtemp");
    return 1;
  }
  test_bad_checkpoints(ck);
  test_bad_prompts_and_order(ck);
  test_fingerprint_identity(ck);
  rm_rf(tmp_root);
  if (g3t_failures) {
    fprintf(stderr, "%d failures\n", g3t_failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}

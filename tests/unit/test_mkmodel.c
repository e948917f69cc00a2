/* warm-mkmodel and warm-inspect, run as the user runs them: determinism,
 * HF names and shapes, config keys, --set, sharding, refusals. */
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../sdk/check.h"
#include "warm/model.h"
#include "warm/safetensors.h"
#include "warm/warm.h"

#define MKMODEL WARM_BUILD_DIR "/bin/warm-mkmodel"
#define INSPECT WARM_BUILD_DIR "/bin/warm-inspect"

static char tmpdir[256], outfile[300];

/* Runs argv (NULL-terminated) with stdout+stderr into outfile; returns the
 * exit status, or -1 when it did not exit normally (a crash). */
static int run(const char *const *argv) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  int st;
  if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
  if (b) b[n] = '\0';
  fclose(f);
  if (len) *len = (size_t)n;
  return b;
}

static int same_file(const char *a, const char *b) {
  size_t na, nb;
  char *x = slurp(a, &na), *y = slurp(b, &nb);
  int same = x && y && na == nb && memcmp(x, y, na) == 0;
  free(x);
  free(y);
  return same;
}

static void dir(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", tmpdir, name);
}

static void test_same_seed_same_bytes_other_seed_other_bytes(void) {
  char a[300], b[300], c[300], fa[400], fb[400], fc[400];
  dir(a, sizeof a, "a");
  dir(b, sizeof b, "b");
  dir(c, sizeof c, "c");
  const char *ra[] = {MKMODEL, "--arch", "gemma3",  "--seed", "7",
                      "--out", a,        "--quiet", NULL};
  const char *rb[] = {MKMODEL, "--arch", "gemma3",  "--seed", "7",
                      "--out", b,        "--quiet", NULL};
  const char *rc[] = {MKMODEL, "--arch", "gemma3",  "--seed", "8",
                      "--out", c,        "--quiet", NULL};
  CHECK(run(ra) == 0);
  CHECK(run(rb) == 0);
  CHECK(run(rc) == 0);
  snprintf(fa, sizeof fa, "%s/model.safetensors", a);
  snprintf(fb, sizeof fb, "%s/model.safetensors", b);
  snprintf(fc, sizeof fc, "%s/model.safetensors", c);
  CHECK(same_file(fa, fb));
  CHECK(!same_file(fa, fc));
  snprintf(fa, sizeof fa, "%s/config.json", a);
  snprintf(fb, sizeof fb, "%s/config.json", b);
  CHECK(same_file(fa, fb));
}

static void test_gemma3_has_hf_names_shapes_and_config(void) {
  char d[300];
  dir(d, sizeof d, "a"); /* made by the test above */
  warm_st *st = NULL;
  warm_error err;
  CHECK(warm_st_open(d, &st, &err) == 0);
  warm_config *c = NULL;
  CHECK(warm_config_open(d, &c, &err) == 0);
  if (!st || !c) {
    fprintf(stderr, "%s\n", err.msg);
    warm_st_close(st);
    warm_config_close(c);
    return;
  }
  int64_t V, H, I, L, NH, KV, D, pattern, win;
  const char *s;
  CHECK(warm_config_string(c, "model_type", &s, &err) == 0 &&
        strcmp(s, "gemma3_text") == 0);
  CHECK(warm_config_int(c, "vocab_size", &V, &err) == 0);
  CHECK(warm_config_int(c, "hidden_size", &H, &err) == 0);
  CHECK(warm_config_int(c, "intermediate_size", &I, &err) == 0);
  CHECK(warm_config_int(c, "num_hidden_layers", &L, &err) == 0);
  CHECK(warm_config_int(c, "num_attention_heads", &NH, &err) == 0);
  CHECK(warm_config_int(c, "num_key_value_heads", &KV, &err) == 0);
  CHECK(warm_config_int(c, "head_dim", &D, &err) == 0);
  CHECK(warm_config_int(c, "sliding_window_pattern", &pattern, &err) == 0);
  CHECK(warm_config_int(c, "sliding_window", &win, &err) == 0);
  CHECK(warm_config_string(c, "hidden_activation", &s, &err) == 0 &&
        strcmp(s, "gelu_pytorch_tanh") == 0);
  CHECK(!warm_config_has(c, "final_logit_softcapping"));
  double f;
  CHECK(warm_config_float(c, "rope_scaling.factor", &f, &err) == 0 && f == 8.0);
  CHECK(warm_config_float(c, "rope_parameters.sliding_attention.rope_theta", &f,
                          &err) == 0 &&
        f == 10000.0);
  size_t n = 0;
  CHECK(warm_config_array_len(c, "layer_types", &n, &err) == 0 &&
        n == (size_t)L);
  for (size_t i = 0; i < n; i++) {
    CHECK(warm_config_string_at(c, "layer_types", i, &s, &err) == 0);
    CHECK(strcmp(s, (i + 1) % (size_t)pattern ? "sliding_attention"
                                              : "full_attention") == 0);
  }
  /* The tiny preset's vocabulary is the bundled tokenizer's. */
  CHECK(V == 640);
  int64_t emb[2] = {V, H}, q[2] = {NH * D, H}, k[2] = {KV * D, H},
          o[2] = {H, NH * D}, up[2] = {I, H}, dn[2] = {H, I}, h[1] = {H},
          dd[1] = {D};
  CHECK(warm_st_expect(st, "model.embed_tokens.weight", 2, emb, NULL, &err) ==
        0);
  CHECK(warm_st_expect(st, "model.norm.weight", 1, h, NULL, &err) == 0);
  for (int64_t l = 0; l < L; l++) {
    char nm[128];
#define EXPECT(suffix, nd, shp)                                                \
  snprintf(nm, sizeof nm, "model.layers.%lld." suffix, (long long)l);          \
  CHECK(warm_st_expect(st, nm, nd, shp, NULL, &err) == 0)
    EXPECT("self_attn.q_proj.weight", 2, q);
    EXPECT("self_attn.k_proj.weight", 2, k);
    EXPECT("self_attn.v_proj.weight", 2, k);
    EXPECT("self_attn.o_proj.weight", 2, o);
    EXPECT("self_attn.q_norm.weight", 1, dd);
    EXPECT("self_attn.k_norm.weight", 1, dd);
    EXPECT("input_layernorm.weight", 1, h);
    EXPECT("post_attention_layernorm.weight", 1, h);
    EXPECT("pre_feedforward_layernorm.weight", 1, h);
    EXPECT("post_feedforward_layernorm.weight", 1, h);
    EXPECT("mlp.gate_proj.weight", 2, up);
    EXPECT("mlp.up_proj.weight", 2, up);
    EXPECT("mlp.down_proj.weight", 2, dn);
#undef EXPECT
  }
  CHECK_EQ_U64(warm_st_count(st), 2 + 13 * L);
  /* Values: matrices ~ N(0, 0.02); Gemma norms near 0 (x * (1 + w)). */
  warm_tensor t;
  CHECK(warm_st_get(st, "model.layers.0.mlp.up_proj.weight", &t, &err) == 0);
  double sum = 0, sq = 0;
  int64_t cnt = warm_tensor_numel(&t);
  for (int64_t i = 0; i < cnt; i++) {
    double x = ((const float *)t.data)[i];
    sum += x;
    sq += x * x;
  }
  double mean = sum / (double)cnt, sd = sqrt(sq / (double)cnt - mean * mean);
  CHECK(fabs(mean) < 0.002 && sd > 0.018 && sd < 0.022);
  CHECK(warm_st_get(st, "model.norm.weight", &t, &err) == 0);
  CHECK(fabsf(((const float *)t.data)[0]) < 0.2f);
  char tok[400];
  snprintf(tok, sizeof tok, "%s/tokenizer.model", d);
  CHECK(same_file(tok, WARM_SOURCE_DIR
                  "/sdk/tools/warm-mkmodel/data/gemma3-tokenizer.model"));
  warm_config_close(c);
  warm_st_close(st);
}

static void test_set_multimodal_bf16_and_sharding(void) {
  char d[300];
  dir(d, sizeof d, "mm");
  const char *r[] = {MKMODEL,
                     "--arch",
                     "gemma3",
                     "--seed",
                     "3",
                     "--out",
                     d,
                     "--dtype",
                     "bf16",
                     "--set",
                     "prefix=multimodal",
                     "--set",
                     "num_hidden_layers=3",
                     "--set",
                     "rope_scaling.factor=4.0",
                     "--max-shard-bytes",
                     "64KiB",
                     "--quiet",
                     NULL};
  CHECK(run(r) == 0);
  warm_st *st = NULL;
  warm_config *c = NULL, *t = NULL;
  warm_error err;
  CHECK(warm_st_open(d, &st, &err) == 0);
  CHECK(warm_config_open(d, &c, &err) == 0);
  if (!st || !c || warm_config_text(c, &t, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    warm_st_close(st);
    warm_config_close(c);
    return;
  }
  const char *s;
  int64_t L;
  double f;
  CHECK(warm_config_string(c, "model_type", &s, &err) == 0 &&
        strcmp(s, "gemma3") == 0);
  CHECK(warm_config_int(t, "num_hidden_layers", &L, &err) == 0 && L == 3);
  CHECK(warm_config_float(t, "rope_parameters.full_attention.factor", &f,
                          &err) == 0 &&
        f == 4.0);
  CHECK(warm_st_file_count(st) > 1);
  CHECK_EQ_U64(warm_st_count(st), 2 + 13 * 3);
  const warm_st_entry *e =
      warm_st_find(st, "model.language_model.layers.2.mlp.down_proj.weight");
  CHECK(e && e->dtype == WARM_BF16);
  CHECK(warm_st_find(st, "model.language_model.embed_tokens.weight"));
  CHECK(warm_st_find(st, "model.layers.0.mlp.up_proj.weight") == NULL);
  warm_config_close(t);
  warm_config_close(c);
  warm_st_close(st);
}

static void test_tools_refuse_bad_input_with_messages(void) {
  char d[300];
  dir(d, sizeof d, "bad");
  const char *r1[] = {MKMODEL, "--arch", "nope", "--seed",
                      "1",     "--out",  d,      NULL};
  CHECK(run(r1) == 2);
  char *out = slurp(outfile, NULL);
  CHECK_HAS(out, "unknown arch 'nope'");
  free(out);
  const char *r2[] = {MKMODEL, "--arch", "gemma3", "--out", d, NULL};
  CHECK(run(r2) == 2); /* no seed */
  const char *r3[] = {MKMODEL, "--arch", "gemma3",   "--seed", "1",
                      "--out", d,        "--preset", "huge",   NULL};
  CHECK(run(r3) == 1);
  out = slurp(outfile, NULL);
  CHECK_HAS(out, "unknown preset 'huge'");
  free(out);
  const char *r4[] = {MKMODEL,  "--arch", "gemma3",
                      "--seed", "1",      "--out",
                      d,        "--set",  "num_key_value_heads=3",
                      NULL};
  CHECK(run(r4) == 1);
  out = slurp(outfile, NULL);
  CHECK_HAS(out, "num_key_value_heads");
  free(out);

  /* warm-inspect: a good folder lists tensors; a truncated file is refused
   * with a message naming it; --json is valid JSON. */
  char good[300], trunc[300];
  dir(good, sizeof good, "a");
  const char *i1[] = {INSPECT, good, NULL};
  CHECK(run(i1) == 0);
  out = slurp(outfile, NULL);
  CHECK_HAS(out, "model.layers.3.mlp.down_proj.weight");
  CHECK_HAS(out, "54 tensors");
  free(out);
  const char *i2[] = {INSPECT, good, "--json", NULL};
  CHECK(run(i2) == 0);
  warm_config *j = NULL;
  warm_error err;
  size_t n;
  out = slurp(outfile, &n);
  CHECK(out && warm_config_parse(out, n, "inspect.json", &j, &err) == 0);
  int64_t tt = 0;
  CHECK(j && warm_config_int(j, "total_tensors", &tt, &err) == 0 && tt == 54);
  warm_config_close(j);
  free(out);
  char src[400];
  snprintf(src, sizeof src, "%s/model.safetensors", good);
  size_t len;
  char *img = slurp(src, &len);
  dir(trunc, sizeof trunc, "trunc.safetensors");
  FILE *f = fopen(trunc, "wb");
  if (f && img) fwrite(img, 1, len / 2, f);
  if (f) fclose(f);
  free(img);
  const char *i3[] = {INSPECT, trunc, NULL};
  CHECK(run(i3) == 1);
  out = slurp(outfile, NULL);
  CHECK_HAS(out, "trunc.safetensors");
  CHECK_HAS(out, "outside the data section");
  free(out);
  const char *i4[] = {INSPECT, NULL};
  CHECK(run(i4) == 2);
}

static int rm_cb(const char *p, const struct stat *sb, int flag,
                 struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(p);
}

int main(void) {
  if (access(MKMODEL, X_OK) || access(INSPECT, X_OK)) {
    printf("SKIP: tools not built in " WARM_BUILD_DIR "/bin\n");
    return 77;
  }
  snprintf(tmpdir, sizeof tmpdir, "/tmp/warm_mkmodel_test.XXXXXX");
  if (!mkdtemp(tmpdir)) return 1;
  snprintf(outfile, sizeof outfile, "%s/out.txt", tmpdir);
  RUN(test_same_seed_same_bytes_other_seed_other_bytes);
  RUN(test_gemma3_has_hf_names_shapes_and_config);
  RUN(test_set_multimodal_bf16_and_sharding);
  RUN(test_tools_refuse_bad_input_with_messages);
  nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  return check_result();
}

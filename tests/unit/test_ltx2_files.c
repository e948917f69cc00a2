/* warm-mkmodel's LTX-2 arches, run as a user runs them: `--preset full
 * --sparse` gives exactly the production key set and shapes (goldens built
 * from ltx-core's own modules by tests/parity/ltx2_keys.py), costs no disk,
 * and the tiny files are deterministic, self-consistent and readable with
 * warm/ltx2.h. */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../sdk/check.h"
#include "warm/lora.h"
#include "warm/ltx2.h"
#include "warm/warm.h"

#define MKMODEL WARM_BUILD_DIR "/bin/warm-mkmodel"
#define INSPECT WARM_BUILD_DIR "/bin/warm-inspect"

static char tmpdir[256], outfile[300];

/* Runs argv with stdout+stderr into outfile; the exit status, or -1. */
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

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
  if (b) b[n] = '\0';
  fclose(f);
  return b;
}

static void path_of(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", tmpdir, name);
}

/* ---- golden key sets ----------------------------------------------------- */

typedef struct keyset {
  char **k;
  size_t n, cap;
} keyset;

static void ks_add(keyset *s, const char *line) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 1024;
    s->k = realloc(s->k, s->cap * sizeof *s->k);
  }
  s->k[s->n++] = strdup(line);
}

static int ks_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void ks_free(keyset *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->k[i]);
  free(s->k);
}

/* Reads a golden: "KEY [d,...]" per line, `[0-N]` in a key standing for
 * the indices 0..N. */
static int ks_read_golden(keyset *s, const char *path) {
  char *text = slurp(path);
  if (!text) return -1;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    char *r = strstr(line, ".[0-");
    if (!r) {
      ks_add(s, line);
      continue;
    }
    int hi = atoi(r + 4);
    char *close = strchr(r, ']');
    for (int i = 0; close && i <= hi; i++) {
      char buf[512];
      snprintf(buf, sizeof buf, "%.*s.%d%s", (int)(r - line), line, i,
               close + 1);
      ks_add(s, buf);
    }
  }
  free(text);
  return 0;
}

/* The same form for every tensor of a file, minus `strip` at the start. */
static void ks_from_file(keyset *s, const warm_st *st) {
  for (size_t i = 0; i < warm_st_count(st); i++) {
    const warm_st_entry *e = warm_st_at(st, i);
    char buf[512];
    size_t o = (size_t)snprintf(buf, sizeof buf, "%s [", e->name);
    for (int32_t d = 0; d < e->ndim; d++)
      o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%lld", d ? "," : "",
                            (long long)e->shape[d]);
    snprintf(buf + o, sizeof buf - o, "]");
    ks_add(s, buf);
  }
}

/* Compares two sets and prints the first differences. */
static int ks_same(keyset *want, keyset *got, const char *what) {
  qsort(want->k, want->n, sizeof *want->k, ks_cmp);
  qsort(got->k, got->n, sizeof *got->k, ks_cmp);
  size_t i = 0, j = 0;
  int shown = 0, diff = 0;
  while (i < want->n || j < got->n) {
    int c = i == want->n ? 1 : j == got->n ? -1 : strcmp(want->k[i], got->k[j]);
    if (c == 0) {
      i++;
      j++;
      continue;
    }
    diff++;
    if (shown++ < 8)
      fprintf(stderr, "%s: %s %s\n", what, c < 0 ? "missing" : "unexpected",
              c < 0 ? want->k[i] : got->k[j]);
    if (c < 0)
      i++;
    else
      j++;
  }
  if (diff) fprintf(stderr, "%s: %d differences\n", what, diff);
  return diff == 0;
}

static void full_sparse_matches_golden(const char *arch, const char *variant,
                                       const char *golden, size_t min_keys) {
  char out[300], gold[400];
  path_of(out, sizeof out, "full.safetensors");
  snprintf(gold, sizeof gold, "%s/ltx2/%s", WARM_TEST_DATA, golden);
  const char *argv[] = {MKMODEL,   "--arch",   arch,      "--variant",
                        variant,   "--preset", "full",    "--sparse",
                        "--dtype", "bf16",     "--seed",  "1",
                        "--out",   out,        "--quiet", NULL};
  CHECK(run(argv) == 0);
  struct stat sb;
  CHECK(stat(out, &sb) == 0);
  /* Tens of GB apparent, a few MB allocated. */
  if (strcmp(arch, "ltx2") == 0) CHECK(sb.st_size > (40ll << 30));
  CHECK((long long)sb.st_blocks * 512 < (64ll << 20));
  warm_st *st = NULL;
  warm_error err = {0};
  CHECK(warm_st_open(out, &st, &err) == 0);
  keyset want = {0}, got = {0};
  CHECK(ks_read_golden(&want, gold) == 0);
  CHECK(want.n >= min_keys);
  if (st) ks_from_file(&got, st);
  char what[100];
  snprintf(what, sizeof what, "%s %s full", arch, variant);
  CHECK(ks_same(&want, &got, what));
  ks_free(&want);
  ks_free(&got);
  warm_st_close(st);
  unlink(out);
}

static void test_full_sparse_20_is_the_production_key_set(void) {
  full_sparse_matches_golden("ltx2", "2.0", "keys_full_2.0.txt", 4000);
}

static void test_full_sparse_23_is_the_production_key_set(void) {
  full_sparse_matches_golden("ltx2", "2.3", "keys_full_2.3.txt", 5900);
}

static void test_full_sparse_upsamplers_are_the_production_key_sets(void) {
  full_sparse_matches_golden("ltx2-upsampler", "2.0", "upsampler_full_2.0.txt",
                             70);
  full_sparse_matches_golden("ltx2-upsampler", "2.3", "upsampler_full_2.3.txt",
                             70);
}

/* ---- tiny files ---------------------------------------------------------- */

static int make_tiny(const char *arch, const char *variant, const char *seed,
                     const char *out, const char *extra) {
  const char *argv[] = {MKMODEL, "--arch", arch, "--variant", variant, "--seed",
                        seed,    "--out",  out,  "--quiet",   extra,   NULL};
  return run(argv);
}

static float f32_at(const warm_st_entry *e, size_t i) {
  return ((const float *)e->data)[i];
}

static void test_tiny_reads_back_consistent(void) {
  static const char *const variants[2] = {"2.0", "2.3"};
  for (int v = 0; v < 2; v++) {
    char out[300];
    path_of(out, sizeof out, "tiny.safetensors");
    CHECK(make_tiny("ltx2", variants[v], "5", out, NULL) == 0);
    warm_ltx2 *f = NULL;
    warm_error err = {0};
    CHECK(warm_ltx2_open(out, &f, &err) == 0);
    if (!f) continue;
    CHECK(strcmp(warm_ltx2_model_version(f), v ? "2.3.0" : "2.0.0") == 0);
    CHECK(warm_ltx2_require(f, "transformer", warm_ltx2_required, &err) == 0);
    const warm_config *tc, *vc, *ac;
    CHECK(warm_ltx2_config(f, "transformer", &tc, &err) == 0);
    CHECK(warm_ltx2_config(f, "vae", &vc, &err) == 0);
    CHECK(warm_ltx2_config(f, "audio_vae", &ac, &err) == 0);
    CHECK(warm_ltx2_has_config(f, "vocoder"));
    int64_t in = 0, ain = 0, latent = 0, z = 0, mel = 0, heads = 0, dim = 0;
    warm_config_int(tc, "in_channels", &in, &err);
    warm_config_int(tc, "audio_in_channels", &ain, &err);
    warm_config_int(tc, "num_attention_heads", &heads, &err);
    warm_config_int(tc, "attention_head_dim", &dim, &err);
    warm_config_int(vc, "latent_channels", &latent, &err);
    warm_config_int(ac, "model.params.ddconfig.z_channels", &z, &err);
    warm_config_int(ac, "model.params.ddconfig.mel_bins", &mel, &err);
    /* The contract's self-consistency: latent = transformer in-channels,
     * audio latent channels x latent mel bins = audio in-channels. */
    CHECK(in == 8 && latent == in);
    CHECK(ain == z * mel / 4 && ain == 32);
    int64_t pp[2] = {heads * dim, in};
    CHECK(warm_ltx2_expect(f, WARM_LTX2_DIT, "patchify_proj.weight", 2, pp,
                           &err) == 0);
    /* Text projection: Gemma tiny 64 x 5 hidden states. */
    const warm_st_entry *agg = warm_ltx2_find(f, WARM_LTX2_TEXT_PROJ,
                                              v ? "video_aggregate_embed.weight"
                                                : "aggregate_embed.weight");
    CHECK(agg && agg->shape[1] == 320);
    int64_t cap = 0;
    if (!v)
      CHECK(warm_config_int(tc, "caption_channels", &cap, &err) == 0 &&
            cap == 64 && agg && agg->shape[0] == 64);
    /* Statistics: std-of-means positive. */
    const warm_st_entry *s =
        warm_ltx2_find(f, WARM_LTX2_VAE_STATS, "std-of-means");
    CHECK(s && s->shape[0] == latent);
    for (int64_t i = 0; s && i < s->shape[0]; i++)
      CHECK(f32_at(s, (size_t)i) > 0.5f);
    s = warm_ltx2_find(f, WARM_LTX2_AUDIO_VAE,
                       "per_channel_statistics.std-of-means");
    CHECK(s && s->shape[0] == ain);
    CHECK(warm_ltx2_find(f, WARM_LTX2_VAE_STATS, "channel") != NULL);
    size_t n = 0;
    CHECK(warm_ltx2_prefix_bytes(f, WARM_LTX2_VOCODER, &n) > 0 && n > 10);
    CHECK(warm_ltx2_prefix_bytes(f, WARM_LTX2_VAE_ENC, &n) > 0 && n > 5);
    CHECK(warm_ltx2_prefix_bytes(f, "audio_vae.encoder.", &n) > 0 && n > 5);
    if (v) {
      /* A computed filter: symmetric, sums to 1. */
      const warm_st_entry *flt = warm_ltx2_find(
          f, WARM_LTX2_VOCODER, "vocoder.act_post.upsample.filter");
      CHECK(flt && flt->shape[2] == 12);
      double sum = 0;
      for (int i = 0; flt && i < 12; i++) {
        sum += f32_at(flt, (size_t)i);
        CHECK(fabsf(f32_at(flt, (size_t)i) - f32_at(flt, (size_t)(11 - i))) <
              1e-7f);
      }
      CHECK(fabs(sum - 1.0) < 1e-5);
      const warm_st_entry *fb = warm_ltx2_find(
          f, WARM_LTX2_VOCODER, "mel_stft.stft_fn.forward_basis");
      /* Bin 0, sample 256: cos 0 x Hann(256/512) = 1. */
      CHECK(fb && fabsf(f32_at(fb, 256) - 1.0f) < 1e-6f);
    }
    warm_ltx2_close(f);
  }
}

static void test_same_seed_same_bytes_sparse_keeps_constants(void) {
  char a[300], b[300], c[300];
  path_of(a, sizeof a, "a.safetensors");
  path_of(b, sizeof b, "b.safetensors");
  path_of(c, sizeof c, "c.safetensors");
  CHECK(make_tiny("ltx2", "2.3", "9", a, NULL) == 0);
  CHECK(make_tiny("ltx2", "2.3", "9", b, NULL) == 0);
  CHECK(make_tiny("ltx2", "2.3", "9", c, "--sparse") == 0);
  char *x = slurp(a), *y = slurp(b);
  struct stat sa, sb;
  CHECK(stat(a, &sa) == 0 && stat(b, &sb) == 0);
  CHECK(x && y && sa.st_size == sb.st_size &&
        memcmp(x, y, (size_t)sa.st_size) == 0);
  free(x);
  free(y);
  warm_ltx2 *f = NULL;
  warm_error err = {0};
  CHECK(warm_ltx2_open(c, &f, &err) == 0);
  if (!f) return;
  const warm_st_entry *w =
      warm_ltx2_find(f, WARM_LTX2_DIT, "patchify_proj.weight");
  const warm_st_entry *s =
      warm_ltx2_find(f, WARM_LTX2_VAE_STATS, "std-of-means");
  const warm_st_entry *m =
      warm_ltx2_find(f, WARM_LTX2_VOCODER, "mel_stft.mel_basis");
  CHECK(w && s && m);
  float wmax = 0, mmax = 0;
  for (size_t i = 0; w && i < (size_t)(w->nbytes / 4); i++)
    wmax = fmaxf(wmax, fabsf(f32_at(w, i)));
  for (size_t i = 0; m && i < (size_t)(m->nbytes / 4); i++)
    mmax = fmaxf(mmax, f32_at(m, i));
  CHECK(wmax == 0.0f);
  CHECK(s && f32_at(s, 0) > 0.5f);
  CHECK(mmax > 0.0f);
  warm_ltx2_close(f);
}

static void test_lora_matches_base_and_blocks(void) {
  char base[300], lora[300];
  path_of(base, sizeof base, "base.safetensors");
  path_of(lora, sizeof lora, "lora.safetensors");
  CHECK(make_tiny("ltx2", "2.3", "3", base, NULL) == 0);
  const char *argv[] = {MKMODEL,  "--arch", "ltx2-lora", "--variant", "2.3",
                        "--rank", "3",      "--blocks",  "1",         "--seed",
                        "3",      "--out",  lora,        "--quiet",   NULL};
  CHECK(run(argv) == 0);
  warm_ltx2 *b = NULL;
  warm_st *l = NULL;
  warm_error err = {0};
  CHECK(warm_ltx2_open(base, &b, &err) == 0);
  CHECK(warm_st_open(lora, &l, &err) == 0);
  if (!b || !l) goto out;
  CHECK(warm_st_count(l) == 2 * 28);
  for (size_t i = 0; i < warm_st_count(l); i++) {
    const warm_st_entry *e = warm_st_at(l, i);
    CHECK(strncmp(e->name, "diffusion_model.transformer_blocks.1.", 37) == 0);
    const char *a = strstr(e->name, ".lora_A.weight");
    const char *bb = strstr(e->name, ".lora_B.weight");
    CHECK(a || bb);
    char mod[300];
    snprintf(mod, sizeof mod, "%.*s.weight", (int)((a ? a : bb) - e->name) - 16,
             e->name + 16);
    const warm_st_entry *w = warm_ltx2_find(b, WARM_LTX2_DIT, mod);
    CHECK(w != NULL);
    if (w && a) CHECK(e->shape[0] == 3 && e->shape[1] == w->shape[1]);
    if (w && bb) CHECK(e->shape[1] == 3 && e->shape[0] == w->shape[0]);
  }
  /* The SDK reader pairs them and finds every base linear. */
  warm_lora *lr = NULL;
  CHECK(warm_lora_open(lora, &lr, &err) == 0);
  if (lr) {
    CHECK(warm_lora_count(lr) == 28);
    CHECK(warm_lora_find(lr, "transformer_blocks.1.video_to_audio_attn.to_k"));
    CHECK(warm_lora_check_base(lr, warm_ltx2_st(b), WARM_LTX2_DIT, &err) == 0);
  }
  warm_lora_close(lr);
  /* A LoRA made for another preset is refused against this base. */
  const char *small[] = {
      MKMODEL, "--arch", "ltx2-lora", "--variant", "2.3", "--preset",
      "small", "--rank", "2",         "--blocks",  "1",   "--seed",
      "3",     "--out",  lora,        "--quiet",   NULL};
  CHECK(run(small) == 0);
  lr = NULL;
  CHECK(warm_lora_open(lora, &lr, &err) == 0);
  if (lr) {
    CHECK(warm_lora_check_base(lr, warm_ltx2_st(b), WARM_LTX2_DIT, &err) ==
          WARM_EFORMAT);
    CHECK_HAS(err.msg, lora);
    CHECK_HAS(err.msg, base);
  }
  warm_lora_close(lr);
  const char *insp[] = {INSPECT, lora, NULL};
  CHECK(run(insp) == 0);
  char *text = slurp(outfile);
  CHECK_HAS(text, "LoRA: 28 adapted linears");
  CHECK_HAS(text, "rank 2..2, 0 other tensors ignored");
  free(text);
out:
  warm_ltx2_close(b);
  warm_st_close(l);
}

static void test_inspect_shows_components(void) {
  char out[300];
  path_of(out, sizeof out, "insp.safetensors");
  CHECK(make_tiny("ltx2", "2.0", "2", out, NULL) == 0);
  const char *argv[] = {INSPECT, out, NULL};
  CHECK(run(argv) == 0);
  char *text = slurp(outfile);
  CHECK_HAS(text, "LTX-2 checkpoint, model_version 2.0.0; config: "
                  "transformer, vae, audio_vae, vocoder");
  CHECK_HAS(text, "metadata config = (");
  /* Per component: prefix, description, tensor count, bytes. */
  warm_ltx2 *f = NULL;
  warm_error err = {0};
  CHECK(warm_ltx2_open(out, &f, &err) == 0);
  for (size_t i = 0; f && warm_ltx2_parts[i].prefix; i++) {
    size_t n;
    uint64_t b = warm_ltx2_part_bytes(f, i, &n);
    char row[200];
    snprintf(row, sizeof row, "%-24s  %8zu  %llu (", warm_ltx2_parts[i].what, n,
             (unsigned long long)b);
    CHECK(n > 0);
    CHECK_HAS(text, row);
  }
  /* The rows add up to the whole file. */
  uint64_t sum = 0;
  for (size_t i = 0; f && warm_ltx2_parts[i].prefix; i++)
    if (i != 1 && i != 2) sum += warm_ltx2_part_bytes(f, i, NULL);
  if (f)
    CHECK_EQ_U64(
        sum + warm_ltx2_prefix_bytes(f, WARM_LTX2_VIDEO_CONNECTOR, NULL) +
            warm_ltx2_prefix_bytes(f, WARM_LTX2_AUDIO_CONNECTOR, NULL),
        warm_ltx2_prefix_bytes(f, "", NULL));
  warm_ltx2_close(f);
  free(text);
  const char *js[] = {INSPECT, "--json", out, NULL};
  CHECK(run(js) == 0);
  text = slurp(outfile);
  CHECK_HAS(text, "\"ltx2\"");
  CHECK_HAS(text, "\"component\": \"audio VAE encoder\"");
  free(text);
}

static void test_bad_arguments_are_refused(void) {
  char out[300];
  path_of(out, sizeof out, "bad.safetensors");
  const char *v[] = {MKMODEL,  "--arch", "ltx2",  "--variant", "2.1",
                     "--seed", "1",      "--out", out,         NULL};
  CHECK(run(v) == 1);
  char *msg = slurp(outfile);
  CHECK_HAS(msg, "--variant 2.1: 2.0 or 2.3");
  free(msg);
  const char *r[] = {MKMODEL,  "--arch", "ltx2-lora", "--variant", "2.0",
                     "--seed", "1",      "--out",     out,         NULL};
  CHECK(run(r) == 1);
  msg = slurp(outfile);
  CHECK_HAS(msg, "--rank R is required");
  free(msg);
  const char *bl[] = {MKMODEL,  "--arch", "ltx2-lora", "--variant", "2.0",
                      "--rank", "2",      "--blocks",  "0,7",       "--seed",
                      "1",      "--out",  out,         NULL};
  CHECK(run(bl) == 1);
  msg = slurp(outfile);
  CHECK_HAS(msg, "--blocks: 7-7 is outside 0..1");
  free(msg);
  const char *p[] = {MKMODEL, "--arch", "ltx2", "--variant", "2.0", "--preset",
                     "huge",  "--seed", "1",    "--out",     out,   NULL};
  CHECK(run(p) == 1);
  CHECK(access(out, F_OK) != 0);
  /* Options of other arches are usage errors, not ignored. */
  const char *f1[] = {MKMODEL,  "--arch", "ltx2",  "--variant", "2.0",
                      "--rank", "4",      "--out", out,         NULL};
  CHECK(run(f1) == 2);
  msg = slurp(outfile);
  CHECK_HAS(msg, "--rank does not apply to --arch ltx2");
  free(msg);
  char dir[300];
  path_of(dir, sizeof dir, "g3");
  const char *f2[] = {MKMODEL,    "--arch", "ltxv", "--seed", "1",
                      "--sparse", "--out",  dir,    NULL};
  CHECK(run(f2) == 2);
  msg = slurp(outfile);
  CHECK_HAS(msg, "--sparse does not apply to --arch ltxv");
  free(msg);
  /* gemma3 takes it: the Gemma-3-12B folder of an LTX-2 memory plan. */
  const char *f3[] = {MKMODEL, "--arch", "gemma3", "--seed", "1", "--sparse",
                      "--out", dir, NULL};
  CHECK(run(f3) == 0);
  const char *f4[] = {MKMODEL, "--arch", "ltxv", "--seed", "1", "--variant",
                      "2.0", "--out", dir, NULL};
  CHECK(run(f4) == 2);
  msg = slurp(outfile);
  CHECK_HAS(msg, "--variant does not apply to --arch ltxv");
  free(msg);
  /* The seed is optional for the LTX-2 arches (0), and means seed 0. */
  char a[300], b[300];
  path_of(a, sizeof a, "s0a.safetensors");
  path_of(b, sizeof b, "s0b.safetensors");
  const char *n0[] = {MKMODEL, "--arch", "ltx2-upsampler", "--variant", "2.3",
                      "--out", a,        "--quiet",        NULL};
  CHECK(run(n0) == 0);
  CHECK(make_tiny("ltx2-upsampler", "2.3", "0", b, NULL) == 0);
  char *x = slurp(a), *y = slurp(b);
  struct stat sa;
  CHECK(x && y && stat(a, &sa) == 0 && memcmp(x, y, (size_t)sa.st_size) == 0);
  free(x);
  free(y);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/warm_ltx2_files_XXXXXX");
  if (!mkdtemp(tmpdir)) return 1;
  snprintf(outfile, sizeof outfile, "%s/out.txt", tmpdir);
  RUN(test_full_sparse_20_is_the_production_key_set);
  RUN(test_full_sparse_23_is_the_production_key_set);
  RUN(test_full_sparse_upsamplers_are_the_production_key_sets);
  RUN(test_tiny_reads_back_consistent);
  RUN(test_same_seed_same_bytes_sparse_keeps_constants);
  RUN(test_lora_matches_base_and_blocks);
  RUN(test_inspect_shows_components);
  RUN(test_bad_arguments_are_refused);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpdir);
  return check_result();
}

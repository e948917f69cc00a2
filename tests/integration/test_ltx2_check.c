/*
 * test_ltx2_check — `warmd -t` on an LTX-2 transformer component: a good
 * combined checkpoint passes; a config lacking a key whose code default
 * gives a different model (rope_type, av_ca_timestep_scale_multiplier,
 * frequencies_precision), a tensor with a wrong shape and a truncated file
 * each fail with a message naming the file, the key and the problem; so
 * does a LoRA file with a key the checkpoint lacks, or a run-time adapter
 * (lora.NAME) on a linear outside the transformer blocks.
 */
#include "warm/safetensors.h"
#include "warm/warm.h"
#include "wh_testutil.h"

#define WARMD WARM_BUILD_DIR "/bin/warmd"
#define PLUGINS WARM_BUILD_DIR "/plugins"
/* The tiny 2.0 checkpoint of ctest's ltx2_checkpoints fixture. */
#define GOLD WARM_BUILD_DIR "/ltx2-ckpt/v20.safetensors"

static char g_dir[512], g_ini[600];

static int check_with(const char *weights, const char *extra, char *out,
                      size_t n) {
  wt_write(g_ini,
           "[host]\nplugin_dir = %s\nadmin_socket = %s/a.sock\n"
           "[component dit]\nplugin = transformer_ltx2\nweights = %s\n%s",
           PLUGINS, g_dir, weights, extra);
  char cmd[1400];
  snprintf(cmd, sizeof cmd, "%s -t -c %s", WARMD, g_ini);
  return wt_run(cmd, out, n);
}

static int check_weights(const char *weights, char *out, size_t n) {
  return check_with(weights, "", out, n);
}

/* Copies the checkpoint's transformer tensors into `path`, its config
 * without transformer key `drop_key` (if any) and tensor `bad` (if any)
 * given a wrong shape. */
static int rewrite(const char *path, const char *drop_key, const char *bad) {
  warm_st *g = NULL;
  warm_error err = {0};
  if (warm_st_open(GOLD, &g, &err)) return -1;
  size_t n = warm_st_count(g), k = 0;
  warm_tensor *t = calloc(n, sizeof *t);
  for (size_t i = 0; i < n; i++) {
    const char *nm = warm_st_at(g, i)->name;
    if (strncmp(nm, "model.diffusion_model.", 22)) continue;
    warm_st_get(g, nm, &t[k], &err);
    t[k].name = nm;
    if (bad && !strcmp(nm, bad)) { /* same bytes, rows and cols swapped */
      int64_t r = t[k].shape[0];
      t[k].shape[0] = t[k].shape[1];
      t[k].shape[1] = r;
    }
    k++;
  }
  char cfg[32768];
  snprintf(cfg, sizeof cfg, "%s", warm_st_metadata(g, "config"));
  if (drop_key) { /* "key":scalar and its comma, in config.transformer */
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", drop_key);
    char *tr = strstr(cfg, "\"transformer\"");
    char *p = tr ? strstr(tr, pat) : NULL;
    char *e = p ? p + strcspn(p, ",}") : NULL;
    if (p && *e == ',') {
      e++;
      while (*e == ' ')
        e++;
      memmove(p, e, strlen(e) + 1);
    } else if (p) { /* last key: drop the comma before it */
      char *c = p;
      while (c > cfg && c[-1] != ',')
        c--;
      memmove(c - 1, e, strlen(e) + 1);
    }
  }
  warm_kv meta[1] = {{"config", cfg}};
  int rc = warm_st_write_file(path, t, k, meta, 1, &err);
  free(t);
  warm_st_close(g);
  return rc;
}

static void test_good_checkpoint_passes(void) {
  char out[8192];
  CHECK(check_weights(GOLD, out, sizeof out) == 0 &&
            strstr(out, "configuration OK"),
        "%s", out);
}

static void test_missing_required_keys_are_named(void) {
  const char *keys[3] = {"rope_type", "av_ca_timestep_scale_multiplier",
                         "frequencies_precision"};
  for (int i = 0; i < 3; i++) {
    char path[700], out[8192], want[160];
    snprintf(path, sizeof path, "%s/nokey%d.safetensors", g_dir, i);
    CHECK(rewrite(path, keys[i], NULL) == 0, "rewrite");
    snprintf(want, sizeof want, "config.transformer.%s is missing", keys[i]);
    CHECK(check_weights(path, out, sizeof out) == 1 && strstr(out, path) &&
              strstr(out, want) && strstr(out, "different model"),
          "%s: %s", keys[i], out);
  }
}

static void test_wrong_shape_is_named(void) {
  char path[700], out[8192];
  const char *key =
      "model.diffusion_model.transformer_blocks.1.ff.net.2.weight";
  snprintf(path, sizeof path, "%s/shape.safetensors", g_dir);
  CHECK(rewrite(path, NULL, key) == 0, "rewrite");
  CHECK(check_weights(path, out, sizeof out) == 1 && strstr(out, path) &&
            strstr(out, key) && strstr(out, "shape"),
        "%s", out);
}

static void test_truncated_file_is_named(void) {
  char path[700], out[8192];
  char whole[700];
  snprintf(whole, sizeof whole, "%s/whole.safetensors", g_dir);
  snprintf(path, sizeof path, "%s/cut.safetensors", g_dir);
  CHECK(rewrite(whole, NULL, NULL) == 0, "rewrite");
  FILE *in = fopen(whole, "rb"), *o = fopen(path, "wb");
  CHECK(in && o, "open");
  if (!in || !o) return;
  fseek(in, 0, SEEK_END);
  long n = ftell(in);
  fseek(in, 0, SEEK_SET);
  char *buf = malloc((size_t)n);
  CHECK(fread(buf, 1, (size_t)n, in) == (size_t)n, "read");
  fwrite(buf, 1, (size_t)(n - 4096), o);
  fclose(in);
  fclose(o);
  free(buf);
  CHECK(check_weights(path, out, sizeof out) == 1 && strstr(out, path) &&
            strstr(out, "tensor 'model.diffusion_model.") &&
            strstr(out, "outside the data section"),
        "%s", out);
}

static void test_lora_keys_are_checked(void) {
  char path[700], extra[800], out[8192];
  snprintf(path, sizeof path, "%s/bad.lora.safetensors", g_dir);
  float a[2 * 16] = {0}, b[16 * 2] = {0};
  warm_tensor t[2];
  memset(t, 0, sizeof t);
  const char *ka =
      "diffusion_model.transformer_blocks.0.attn9.to_q.lora_A.weight";
  t[0] = (warm_tensor){ka, WARM_F32, 2, {2, 16}, {WARM_DEVICE_CPU, 0}, a, 1};
  t[1] = (warm_tensor){
      "diffusion_model.transformer_blocks.0.attn9.to_q.lora_B.weight",
      WARM_F32,
      2,
      {16, 2},
      {WARM_DEVICE_CPU, 0},
      b,
      1};
  warm_error err = {0};
  CHECK(warm_st_write_file(path, t, 2, NULL, 0, &err) == 0, "%s", err.msg);
  snprintf(extra, sizeof extra, "lora = %s 0.5\n", path);
  CHECK(check_with(GOLD, extra, out, sizeof out) == 1 && strstr(out, path) &&
            strstr(out, "transformer_blocks.0.attn9.to_q") &&
            strstr(out, "has no tensor"),
        "%s", out);
  /* A global linear is fine to fuse, but not as a run-time adapter. The
   * tiny 2.0 video stream is 16 wide with 8 latent channels. */
  float a2[2 * 8] = {0}, b2[16 * 2] = {0};
  t[0] = (warm_tensor){"diffusion_model.patchify_proj.lora_A.weight",
                       WARM_F32,
                       2,
                       {2, 8},
                       {WARM_DEVICE_CPU, 0},
                       a2,
                       1};
  t[1] = (warm_tensor){"diffusion_model.patchify_proj.lora_B.weight",
                       WARM_F32,
                       2,
                       {16, 2},
                       {WARM_DEVICE_CPU, 0},
                       b2,
                       1};
  snprintf(path, sizeof path, "%s/global.lora.safetensors", g_dir);
  CHECK(warm_st_write_file(path, t, 2, NULL, 0, &err) == 0, "%s", err.msg);
  snprintf(extra, sizeof extra, "lora = %s 0.5\n", path);
  CHECK(check_with(GOLD, extra, out, sizeof out) == 0, "fused: %s", out);
  snprintf(extra, sizeof extra, "lora.fast = %s 0.5\n", path);
  CHECK(check_with(GOLD, extra, out, sizeof out) == 1 && strstr(out, path) &&
            strstr(out, "patchify_proj") &&
            strstr(out, "transformer blocks only"),
        "adapter: %s", out);
}

int main(void) {
  if (access(WARMD, X_OK) != 0 ||
      access(PLUGINS "/transformer_ltx2.so", R_OK) != 0) {
    fprintf(stderr, "FAIL: needs %s and transformer_ltx2.so\n", WARMD);
    return 1;
  }
  wt_tempdir(g_dir, sizeof g_dir, "ltx2check");
  snprintf(g_ini, sizeof g_ini, "%s/warmd.ini", g_dir);
  RUN(test_good_checkpoint_passes);
  RUN(test_missing_required_keys_are_named);
  RUN(test_wrong_shape_is_named);
  RUN(test_truncated_file_is_named);
  RUN(test_lora_keys_are_checked);
  wt_rmtree(g_dir);
  return wt_failures ? 1 : 0;
}

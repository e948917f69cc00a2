/* The LTX-2 combined-checkpoint reader (warm/ltx2.h): metadata config and
 * model_version, per-component sub-objects, refusal of missing required keys,
 * prefix lookups and shape checks, truncated files. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../sdk/check.h"
#include "warm/ltx2.h"
#include "warm/warm.h"

static char tmpdir[256];

static const char *CFG =
    "{\"transformer\": {\"num_layers\": 2, \"rope_type\": \"split\", "
    "\"av_ca_timestep_scale_multiplier\": 1000, \"frequencies_precision\": "
    "\"float64\", \"connector_positional_embedding_max_pos\": [4096]}, "
    "\"vae\": {\"latent_channels\": 8}, \"audio_vae\": {\"model\": "
    "{\"params\": {\"ddconfig\": {\"ch\": 8}}}}, \"vocoder\": 3}";

/* Writes a small combined file: two transformer tensors, one VAE tensor. */
static void write_file(const char *path, const char *cfg, const char *version) {
  static float a[8 * 4], b[4], c[3];
  for (int i = 0; i < 32; i++)
    a[i] = (float)i;
  warm_tensor t[3] = {
      {.name = "model.diffusion_model.patchify_proj.weight",
       .dtype = WARM_F32,
       .ndim = 2,
       .shape = {8, 4},
       .data = a},
      {.name = "model.diffusion_model.patchify_proj.bias",
       .dtype = WARM_F32,
       .ndim = 1,
       .shape = {4},
       .data = b},
      {.name = "vae.per_channel_statistics.std-of-means",
       .dtype = WARM_F32,
       .ndim = 1,
       .shape = {3},
       .data = c},
  };
  warm_kv meta[2];
  size_t nm = 0;
  if (cfg) meta[nm++] = (warm_kv){"config", cfg};
  if (version) meta[nm++] = (warm_kv){"model_version", version};
  warm_error err = {0};
  int rc = warm_st_write_file(path, t, 3, meta, nm, &err);
  if (rc) fprintf(stderr, "write_file: %s\n", err.msg);
  CHECK(rc == 0);
}

static void path_of(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", tmpdir, name);
}

static void test_metadata_config_and_version_are_read(void) {
  char p[300];
  path_of(p, sizeof p, "ok.safetensors");
  write_file(p, CFG, "2.3.0");
  warm_ltx2 *f = NULL;
  warm_error err = {0};
  CHECK(warm_ltx2_open(p, &f, &err) == 0);
  if (!f) return;
  CHECK(strcmp(warm_ltx2_path(f), p) == 0);
  CHECK(strcmp(warm_ltx2_model_version(f), "2.3.0") == 0);
  const warm_config *c = NULL;
  CHECK(warm_ltx2_config(f, "transformer", &c, &err) == 0);
  int64_t v = 0;
  CHECK(c && warm_config_int(c, "num_layers", &v, &err) == 0 && v == 2);
  CHECK(warm_ltx2_config(f, "audio_vae", &c, &err) == 0);
  CHECK(c && warm_config_int(c, "model.params.ddconfig.ch", &v, &err) == 0 &&
        v == 8);
  /* A getter's message names the file and the full key path. */
  CHECK(warm_config_int(c, "model.params.ddconfig.z_channels", &v, &err) ==
        WARM_EFORMAT);
  CHECK_HAS(err.msg, p);
  CHECK_HAS(err.msg, "audio_vae.model.params.ddconfig.z_channels: missing");
  CHECK(warm_ltx2_has_config(f, "vae"));
  CHECK(!warm_ltx2_has_config(f, "upsampler"));
  CHECK(warm_ltx2_require(f, "transformer", warm_ltx2_required, &err) == 0);
  CHECK(warm_ltx2_require(f, "transformer", warm_ltx2_dit_required, &err) == 0);
  CHECK(warm_ltx2_require(f, "transformer", warm_ltx2_connector_required,
                          &err) == 0);
  warm_ltx2_close(f);
  warm_ltx2_close(NULL);
}

static void test_missing_or_wrong_sub_object_names_file_and_key(void) {
  char p[300];
  path_of(p, sizeof p, "sub.safetensors");
  write_file(p, CFG, NULL);
  warm_ltx2 *f = NULL;
  warm_error err = {0};
  CHECK(warm_ltx2_open(p, &f, &err) == 0);
  if (!f) return;
  CHECK(warm_ltx2_model_version(f) == NULL);
  const warm_config *c = (const warm_config *)1;
  CHECK(warm_ltx2_config(f, "upsampler", &c, &err) == WARM_EFORMAT);
  CHECK(c == NULL);
  CHECK_HAS(err.msg, p);
  CHECK_HAS(err.msg, "config.upsampler is missing");
  CHECK(warm_ltx2_config(f, "vocoder", &c, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, "config.vocoder is not a JSON object");
  warm_ltx2_close(f);
}

static void test_missing_required_key_is_refused_by_name(void) {
  const char *keys[] = {"rope_type", "av_ca_timestep_scale_multiplier",
                        "frequencies_precision",
                        "connector_positional_embedding_max_pos"};
  for (int k = 0; k < 4; k++) {
    char cfg[1024], p[300];
    /* The same config with key k left out. */
    snprintf(cfg, sizeof cfg, "{\"transformer\": {\"num_layers\": 2");
    const char *vals[] = {"\"split\"", "1000", "\"float64\"", "[4096]"};
    for (int j = 0; j < 4; j++)
      if (j != k)
        snprintf(cfg + strlen(cfg), sizeof cfg - strlen(cfg), ", \"%s\": %s",
                 keys[j], vals[j]);
    snprintf(cfg + strlen(cfg), sizeof cfg - strlen(cfg), "}}");
    path_of(p, sizeof p, "req.safetensors");
    write_file(p, cfg, "2.0.0");
    warm_ltx2 *f = NULL;
    warm_error err = {0};
    CHECK(warm_ltx2_open(p, &f, &err) == 0);
    if (!f) continue;
    CHECK(warm_ltx2_require(f, "transformer", warm_ltx2_required, &err) ==
          WARM_EFORMAT);
    char want[600];
    snprintf(want, sizeof want,
             "%s: config.transformer.%s is missing; its code default gives a "
             "different model",
             p, keys[k]);
    CHECK_HAS(err.msg, want);
    warm_ltx2_close(f);
  }
}

static void test_find_expect_and_prefix_bytes(void) {
  char p[300];
  path_of(p, sizeof p, "shape.safetensors");
  write_file(p, CFG, "2.0.0");
  warm_ltx2 *f = NULL;
  warm_error err = {0};
  CHECK(warm_ltx2_open(p, &f, &err) == 0);
  if (!f) return;
  const warm_st_entry *e =
      warm_ltx2_find(f, WARM_LTX2_DIT, "patchify_proj.weight");
  CHECK(e && e->shape[0] == 8 && e->shape[1] == 4);
  CHECK(warm_ltx2_find(f, WARM_LTX2_VAE_DEC, "patchify_proj.weight") == NULL);
  int64_t good[2] = {8, 4}, any[2] = {-1, 4}, bad[2] = {4, 8};
  CHECK(warm_ltx2_expect(f, WARM_LTX2_DIT, "patchify_proj.weight", 2, good,
                         &err) == 0);
  warm_tensor t;
  CHECK(warm_ltx2_get(f, WARM_LTX2_DIT, "patchify_proj.weight", 2, any, &t,
                      &err) == 0);
  CHECK(((const float *)t.data)[31] == 31.0f);
  CHECK(warm_ltx2_expect(f, WARM_LTX2_DIT, "patchify_proj.weight", 2, bad,
                         &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, p);
  CHECK_HAS(err.msg, "model.diffusion_model.patchify_proj.weight");
  CHECK_HAS(err.msg, "expected shape [4, 8], found [8, 4]");
  CHECK(warm_ltx2_expect(f, WARM_LTX2_DIT, "proj_out.weight", 2, good, &err) ==
        WARM_EFORMAT);
  CHECK_HAS(err.msg, p);
  CHECK_HAS(err.msg, "'model.diffusion_model.proj_out.weight' not found");
  size_t n = 0;
  CHECK_EQ_U64(warm_ltx2_prefix_bytes(f, WARM_LTX2_DIT, &n), 36 * 4);
  CHECK_EQ_U64(n, 2);
  CHECK_EQ_U64(warm_ltx2_prefix_bytes(f, WARM_LTX2_VAE, &n), 12);
  CHECK_EQ_U64(n, 1);
  CHECK_EQ_U64(warm_ltx2_prefix_bytes(f, WARM_LTX2_VOCODER, &n), 0);
  CHECK_EQ_U64(n, 0);
  CHECK_EQ_U64(warm_ltx2_prefix_bytes(f, "", NULL), 39 * 4);
  warm_ltx2_close(f);
}

static void test_truncated_file_is_refused_naming_it(void) {
  char p[300];
  path_of(p, sizeof p, "trunc.safetensors");
  write_file(p, CFG, "2.0.0");
  FILE *fp = fopen(p, "rb");
  CHECK(fp != NULL);
  if (!fp) return;
  fseek(fp, 0, SEEK_END);
  long size = ftell(fp);
  fclose(fp);
  CHECK(truncate(p, size - 10) == 0);
  warm_ltx2 *f = NULL;
  warm_error err = {0};
  CHECK(warm_ltx2_open(p, &f, &err) == WARM_EFORMAT);
  CHECK(f == NULL);
  CHECK_HAS(err.msg, p);
  CHECK_HAS(err.msg, "truncated");
  /* Cut inside the header too. */
  CHECK(truncate(p, 20) == 0);
  CHECK(warm_ltx2_open(p, &f, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, p);
  char missing[300];
  path_of(missing, sizeof missing, "absent.safetensors");
  CHECK(warm_ltx2_open(missing, &f, &err) == WARM_EIO);
  CHECK_HAS(err.msg, missing);
}

static void test_bad_or_absent_config(void) {
  char p[300];
  path_of(p, sizeof p, "badcfg.safetensors");
  write_file(p, "{\"transformer\": {", "2.0.0");
  warm_ltx2 *f = NULL;
  warm_error err = {0};
  CHECK(warm_ltx2_open(p, &f, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, p);
  CHECK_HAS(err.msg, "config");
  write_file(p, "[1, 2]", "2.0.0");
  CHECK(warm_ltx2_open(p, &f, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, "not a JSON object");
  /* No config at all: the file opens, the config lookup says why not. */
  write_file(p, NULL, NULL);
  CHECK(warm_ltx2_open(p, &f, &err) == 0);
  if (!f) return;
  const warm_config *c;
  CHECK(warm_ltx2_config(f, "transformer", &c, &err) == WARM_EFORMAT);
  CHECK_HAS(err.msg, p);
  CHECK_HAS(err.msg, "no \"config\"");
  CHECK(warm_ltx2_require(f, "transformer", warm_ltx2_required, &err) ==
        WARM_EFORMAT);
  CHECK(warm_ltx2_config_root(f, &c, &err) == WARM_EFORMAT);
  warm_ltx2_close(f);
  /* A flat config (the upsampler file) is read through the root. */
  write_file(p, "{\"in_channels\": 8, \"mid_channels\": 32}", NULL);
  CHECK(warm_ltx2_open(p, &f, &err) == 0);
  if (!f) return;
  CHECK(warm_ltx2_config_root(f, &c, &err) == 0);
  int64_t v = 0;
  CHECK(warm_config_int(c, "mid_channels", &v, &err) == 0 && v == 32);
  CHECK(!warm_ltx2_has_config(f, "in_channels"));
  warm_ltx2_close(f);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/warm_ltx2_ckpt_XXXXXX");
  if (!mkdtemp(tmpdir)) return 1;
  RUN(test_metadata_config_and_version_are_read);
  RUN(test_missing_or_wrong_sub_object_names_file_and_key);
  RUN(test_missing_required_key_is_refused_by_name);
  RUN(test_find_expect_and_prefix_bytes);
  RUN(test_truncated_file_is_refused_naming_it);
  RUN(test_bad_or_absent_config);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpdir);
  return check_result();
}

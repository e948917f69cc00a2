/*
 * test_gemma3_config.c — config.json reading: the Hub's Gemma-3-12B
 * multimodal config (legacy keys: sliding_window_pattern, rope_scaling,
 * rope_local_base_freq), the transformers >= 5 spelling (layer_types,
 * rope_parameters), defaults, and refusals naming the key.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "test_gemma3_util.h"

static char dir[256];

static int load(const char *json, g3_config *c, warm_error *err) {
  char p[300];
  snprintf(p, sizeof p, "%s/config.json", dir);
  FILE *f = fopen(p, "w");
  fputs(json, f);
  fclose(f);
  memset(err, 0, sizeof *err);
  return g3_config_load(dir, c, err);
}

/* The shape of google/gemma-3-12b-pt's config.json (text part). */
static const char *hub_12b =
    "{\"architectures\": [\"Gemma3ForConditionalGeneration\"],"
    " \"model_type\": \"gemma3\", \"mm_tokens_per_image\": 256,"
    " \"text_config\": {\"hidden_size\": 3840, \"intermediate_size\": 15360,"
    "  \"model_type\": \"gemma3_text\", \"num_attention_heads\": 16,"
    "  \"num_hidden_layers\": 48, \"num_key_value_heads\": 8,"
    "  \"rope_scaling\": {\"factor\": 8.0, \"rope_type\": \"linear\"},"
    "  \"sliding_window\": 1024},"
    " \"vision_config\": {\"hidden_size\": 1152}}";

static void test_hub_config_with_defaults(void) {
  g3_config c;
  warm_error err;
  G3T_CHECK(load(hub_12b, &c, &err) == 0, "%s", err.msg);
  G3T_CHECK(c.multimodal == 1, "text_config found");
  G3T_CHECK(c.vocab == 262208 && c.hidden == 3840 && c.inter == 15360 &&
                c.layers == 48 && c.heads == 16 && c.kv_heads == 8 &&
                c.head_dim == 256 && c.sliding_window == 1024,
            "shape");
  G3T_CHECK(c.theta_global == 1e6 && c.factor_global == 8.0 &&
                c.theta_local == 1e4 && c.factor_local == 1.0,
            "rope: global %g x%g, local %g x%g", c.theta_global,
            c.factor_global, c.theta_local, c.factor_local);
  G3T_CHECK(c.query_pre_attn_scalar == 256 && c.eps == 1e-6 && c.bos_id == 2 &&
                c.pad_id == 0,
            "defaults");
  int globals = 0;
  for (int i = 0; i < 48; i++)
    globals += !c.sliding[i];
  G3T_CHECK(globals == 8 && !c.sliding[5] && c.sliding[0] && !c.sliding[47],
            "5 local : 1 global (%d globals)", globals);
  g3_config_free(&c);
}

static void test_new_spelling_wins(void) {
  g3_config c;
  warm_error err;
  int rc = load("{\"num_hidden_layers\": 3, \"sliding_window_pattern\": 6,"
                " \"layer_types\": [\"full_attention\", \"sliding_attention\","
                " \"full_attention\"], \"rope_theta\": 5.0,"
                " \"rope_parameters\": {\"full_attention\": {\"rope_type\":"
                " \"linear\", \"factor\": 2.0, \"rope_theta\": 7.0},"
                " \"sliding_attention\": {\"rope_type\": \"default\","
                " \"rope_theta\": 3.0}}}",
                &c, &err);
  G3T_CHECK(rc == 0, "%s", err.msg);
  if (rc) return;
  G3T_CHECK(!c.sliding[0] && c.sliding[1] && !c.sliding[2],
            "layer_types used over the pattern");
  G3T_CHECK(c.theta_global == 7.0 && c.factor_global == 2.0 &&
                c.theta_local == 3.0 && c.multimodal == 0,
            "rope_parameters used over rope_theta");
  g3_config_free(&c);
}

static void refused(const char *json, const char *needle) {
  g3_config c;
  warm_error err;
  int rc = load(json, &c, &err);
  G3T_CHECK(rc < 0 && strstr(err.msg, needle), "\"%s\": rc %d \"%s\"", needle,
            rc, err.msg);
  if (rc == 0) g3_config_free(&c);
}

int main(void) {
  snprintf(dir, sizeof dir, "%s/g3cfg.XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(dir)) return 1;
  test_hub_config_with_defaults();
  test_new_spelling_wins();
  refused("{\"text_config\": {\"hidden_size\": \"wide\"}}",
          "text_config.hidden_size");
  refused("{\"num_attention_heads\": 6, \"num_key_value_heads\": 4}",
          "num_key_value_heads");
  refused("{\"num_hidden_layers\": 2, \"layer_types\": [\"full_attention\"]}",
          "layer_types");
  refused("{\"num_hidden_layers\": 1, \"layer_types\": [\"chunked\"]}",
          "chunked");
  refused("{\"use_bidirectional_attention\": true}",
          "use_bidirectional_attention");
  refused("{\"attn_logit_softcapping\": 50.0}", "attn_logit_softcapping");
  refused("{\"hidden_activation\": \"silu\"}", "hidden_activation");
  refused("{\"rope_parameters\": {\"full_attention\": {\"rope_type\":"
          " \"yarn\"}}}",
          "yarn");
  refused("{\"head_dim\": 15}", "head_dim");
  refused("{\"vocab_size\": -4}", "vocab_size");
  refused("[1, 2]", "config.json");
  refused("{\"hidden_size\": 64", "config.json");
  char p[300];
  snprintf(p, sizeof p, "%s/config.json", dir);
  unlink(p);
  g3_config c;
  warm_error err = {0};
  G3T_CHECK(g3_config_load(dir, &c, &err) == WARM_EIO &&
                strstr(err.msg, "config.json"),
            "missing config.json: %s", err.msg);
  rmdir(dir);
  if (g3t_failures) {
    fprintf(stderr, "%d failures\n", g3t_failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}

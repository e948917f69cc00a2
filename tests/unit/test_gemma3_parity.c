/*
 * test_gemma3_parity.c — the plugin's f32 cpu output against HF
 * transformers' Gemma3 text model (goldens written by
 * tests/parity/gemma3.py from the same checkpoint folders ctest builds with
 * warm-mkmodel). Real (unpadded) positions must agree within 1e-5 relative;
 * padded positions must be zero, and the mask must equal HF's.
 */
#include <jansson.h>

#include "test_gemma3_util.h"
#include "warm/safetensors.h"

/* Relative error of a row: max |a-b| / max(max |b|, tiny). */
static double row_rel(const float *a, const float *b, int64_t n) {
  double num = 0, den = 1e-30;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - b[i]);
    if (d > num) num = d;
    if (fabs(b[i]) > den) den = fabs(b[i]);
  }
  return num / den;
}

static void check_config(json_t *cfg) {
  const char *name = json_string_value(json_object_get(cfg, "name"));
  const char *output = json_string_value(json_object_get(cfg, "output"));
  int64_t T = json_integer_value(json_object_get(cfg, "max_tokens"));
  json_t *prompts = json_object_get(cfg, "prompts");
  char ck[1024], mt[32], gold[1024];
  snprintf(mt, sizeof mt, "%lld", (long long)T);
  warm_kv keys[2] = {{"max_tokens", mt}, {"output", output}};
  warm_device cpu = {WARM_DEVICE_CPU, 0};
  warm_component_config cc =
      g3t_config(g3t_ckpt(name, ck, sizeof ck), cpu, WARM_F32, keys, 2);

  g3t_host h;
  g3t_host_init(&h, cpu, 0);
  warm_error err = {0};
  warm_instance *g = NULL;
  const warm_plugin_desc *d = g3_descriptor();
  int rc = d->create(&h.svc, &cc, &g, &err);
  G3T_CHECK(rc == 0, "%s: create: %s", name, err.msg);
  warm_place_req req = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  if (rc == 0) {
    rc = d->place(g, &req, &err);
    G3T_CHECK(rc == 0, "%s: place: %s", name, err.msg);
  }
  snprintf(gold, sizeof gold, "%s/gemma3/%s.safetensors", WARM_TEST_DATA, name);
  warm_st *st = NULL;
  G3T_CHECK(warm_st_open(gold, &st, &err) == 0, "%s", err.msg);
  double worst = 0;
  for (size_t i = 0; rc == 0 && st && i < json_array_size(prompts); i++) {
    warm_run_args a;
    memset(&a, 0, sizeof a);
    a.struct_size = sizeof a;
    a.prompt = json_string_value(json_array_get(prompts, i));
    rc = d->run(g, &a, &err);
    G3T_CHECK(rc == 0, "%s p%zu: run: %s", name, i, err.msg);
    if (rc) break;
    char tn[64];
    warm_tensor hid, msk;
    snprintf(tn, sizeof tn, "p%zu.hidden", i);
    G3T_CHECK(warm_st_get(st, tn, &hid, &err) == 0, "%s", err.msg);
    snprintf(tn, sizeof tn, "p%zu.mask", i);
    G3T_CHECK(warm_st_get(st, tn, &msk, &err) == 0, "%s", err.msg);
    const warm_tensor *e = &a.outputs[0], *m = &a.outputs[1];
    G3T_CHECK(a.n_outputs == 2 && strcmp(e->name, "embeddings") == 0 &&
                  strcmp(m->name, "mask") == 0,
              "outputs named embeddings, mask");
    G3T_CHECK(e->ndim == hid.ndim &&
                  warm_tensor_numel(e) == warm_tensor_numel(&hid),
              "%s p%zu: embeddings shape (ndim %d vs golden %d)", name, i,
              e->ndim, hid.ndim);
    G3T_CHECK(memcmp(m->data, msk.data, (size_t)T * 4) == 0,
              "%s p%zu: mask differs from HF's", name, i);
    G3T_CHECK(a.used_placement == WARM_PLACE_RESIDENT, "used_placement");
    if (e->ndim != hid.ndim ||
        warm_tensor_numel(e) != warm_tensor_numel(&hid)) {
      warm_tensor_free(&a.outputs[0]);
      warm_tensor_free(&a.outputs[1]);
      continue;
    }
    int64_t C = e->shape[e->ndim - 1];
    int64_t slices = e->ndim == 3 ? e->shape[0] : 1;
    const int32_t *mk = msk.data;
    const float *got = e->data, *want = hid.data;
    for (int64_t s = 0; s < slices; s++) {
      for (int64_t t = 0; t < T; t++) {
        const float *gr = got + (s * T + t) * C, *wr = want + (s * T + t) * C;
        if (!mk[t]) {
          int zero = 1;
          for (int64_t c = 0; c < C; c++)
            zero &= gr[c] == 0.0f;
          G3T_CHECK(zero, "%s p%zu slice %lld row %lld: padded row not zero",
                    name, i, (long long)s, (long long)t);
          continue;
        }
        double r = row_rel(gr, wr, C);
        if (r > worst) worst = r;
        G3T_CHECK(r <= 1e-5,
                  "%s p%zu slice %lld row %lld: relative error %.3g > 1e-5",
                  name, i, (long long)s, (long long)t, r);
      }
    }
    warm_tensor_free(&a.outputs[0]);
    warm_tensor_free(&a.outputs[1]);
  }
  printf("%s: %zu prompts, output=%s, worst relative error %.3g\n", name,
         json_array_size(prompts), output, worst);
  warm_st_close(st);
  if (g) d->destroy(g);
  g3t_host_fini(&h);
}

int main(void) {
  json_error_t je;
  json_t *man = json_load_file(WARM_TEST_DATA "/gemma3/parity.json", 0, &je);
  if (!man) {
    fprintf(stderr, "parity.json: %s\n", je.text);
    return 1;
  }
  json_t *cfgs = json_object_get(man, "configs");
  for (size_t i = 0; i < json_array_size(cfgs); i++)
    check_config(json_array_get(cfgs, i));
  json_decref(man);
  if (g3t_failures) {
    fprintf(stderr, "%d failures\n", g3t_failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}

/*
 * test_gemma3_cuda.c — the Gemma-3 plugin on a CUDA device (label gpu):
 * resident and stream W = 1/2/3 from pinned and mmap give the same bytes
 * for f32, bf16 and fp8 storage; estimate() >= the ledger peak; a live
 * switch to stream lowers the ledger's bytes; and the CUDA output stays
 * close to the cpu f32 output (CUDA computes with bf16 operands, so this is
 * a tolerance check, not bit-identity). Exits 77 without a CUDA device.
 */
#include "test_gemma3_util.h"

static const warm_device cuda0 = {WARM_DEVICE_CUDA, 0};
static const warm_device cpu = {WARM_DEVICE_CPU, 0};

static void same(const g3t_out *a, const g3t_out *b, const char *what) {
  G3T_CHECK(a->emb && b->emb && a->bytes == b->bytes &&
                memcmp(a->emb, b->emb, a->bytes) == 0,
            "%s: bytes differ from resident", what);
}

static void test_cuda_placements_same_bytes(const char *ck, warm_dtype dt,
                                            const char *prompt) {
  warm_place_req res = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  g3t_out ref;
  g3t_placed_run(cuda0, ck, dt, res, 0, prompt, &ref);
  for (int src = 0; src < 2; src++) {
    for (uint32_t w = 1; w <= 3; w++) {
      warm_place_req r = {WARM_PLACE_STREAM, w,
                          src ? WARM_SOURCE_MMAP : WARM_SOURCE_PINNED};
      g3t_out o;
      g3t_placed_run(cuda0, ck, dt, r, 0, prompt, &o);
      char what[96];
      snprintf(what, sizeof what, "cuda %s stream W=%u %s", warm_dtype_name(dt),
               w, src ? "mmap" : "pinned");
      same(&ref, &o, what);
      G3T_CHECK(o.used == WARM_PLACE_STREAM && o.streamed > 0,
                "%s: streamed %llu", what, (unsigned long long)o.streamed);
      free(o.emb);
    }
  }
  /* Run to run determinism on the device. */
  g3t_out again;
  g3t_placed_run(cuda0, ck, dt, res, 0, prompt, &again);
  same(&ref, &again, "second resident run");
  free(again.emb);
  free(ref.emb);
}

static void test_cuda_close_to_cpu(const char *ck, const char *prompt) {
  warm_place_req res = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  g3t_out c, g;
  g3t_placed_run(cpu, ck, WARM_F32, res, 0, prompt, &c);
  g3t_placed_run(cuda0, ck, WARM_F32, res, 0, prompt, &g);
  if (!c.emb || !g.emb || c.bytes != g.bytes) {
    G3T_CHECK(0, "outputs missing");
    return;
  }
  double num = 0, den = 0;
  for (size_t i = 0; i < c.bytes / 4; i++) {
    num += ((double)g.emb[i] - c.emb[i]) * ((double)g.emb[i] - c.emb[i]);
    den += (double)c.emb[i] * c.emb[i];
  }
  double rel = sqrt(num / den);
  printf("cuda vs cpu (f32 weights): relative L2 %.3g\n", rel);
  G3T_CHECK(rel < 3e-2, "cuda output far from cpu: %.3g", rel);
  free(c.emb);
  free(g.emb);
}

static void test_cuda_live_switch(const char *ck, const char *prompt) {
  warm_component_config cc = g3t_config(ck, cuda0, WARM_BF16, NULL, 0);
  g3t_host h;
  g3t_host_init(&h, cuda0, 0);
  const warm_plugin_desc *d = g3_descriptor();
  warm_instance *g = NULL;
  warm_error err = {0};
  G3T_CHECK(d->create(&h.svc, &cc, &g, &err) == 0, "%s", err.msg);
  if (!g) {
    g3t_host_fini(&h);
    return;
  }
  warm_place_req res = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  warm_place_req str = {WARM_PLACE_STREAM, 2, WARM_SOURCE_PINNED};
  g3t_out a, b;
  G3T_CHECK(d->place(g, &res, &err) == 0, "%s", err.msg);
  uint64_t rb = g3t_booked(&h);
  G3T_CHECK(g3t_run_once(d, g, prompt, &a, &err) == 0, "%s", err.msg);
  G3T_CHECK(d->place(g, &str, &err) == 0, "%s", err.msg);
  uint64_t sb = g3t_booked(&h);
  G3T_CHECK(sb < rb, "stream %llu < resident %llu", (unsigned long long)sb,
            (unsigned long long)rb);
  G3T_CHECK(g3t_run_once(d, g, prompt, &b, &err) == 0, "%s", err.msg);
  same(&a, &b, "cuda after a live switch");
  free(a.emb);
  free(b.emb);
  d->destroy(g);
  G3T_CHECK(g3t_booked(&h) == 0, "destroy frees the device");
  g3t_host_fini(&h);
}

int main(void) {
  if (wk_cuda_device_count() == 0) {
    printf("SKIP: no CUDA device\n");
    return 77;
  }
  char ck[1024];
  g3t_ckpt("gqa_window", ck, sizeof ck);
  uint64_t s = g3t_seed();
  static const char *words[] = {"fox",  "river", "snow", "東京", "🦊",
                                "mist", "neon",  "  ",   "12",   "wave"};
  char prompt[256] = "";
  for (int i = 0; i < 20; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    strcat(prompt, words[(s >> 33) % 10]);
    strcat(prompt, " ");
  }
  printf("prompt: \"%s\"\n", prompt);
  test_cuda_placements_same_bytes(ck, WARM_F32, prompt);
  test_cuda_placements_same_bytes(ck, WARM_BF16, prompt);
  test_cuda_placements_same_bytes(ck, WARM_FP8_E4M3, prompt);
  test_cuda_close_to_cpu(ck, prompt);
  test_cuda_live_switch(ck, prompt);
  if (g3t_failures) {
    fprintf(stderr, "%d failures\n", g3t_failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}

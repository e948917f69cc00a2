/*
 * test_gemma3_placement.c — every placement gives the same bytes (cpu):
 * resident; stream with W = 1, 2, 3 from pinned and from mmap; auto with
 * room and without room (resolved the way the host does: resident when its
 * estimate fits the ledger's available bytes). Also: estimate() >= the
 * ledger peak of place+run, live switches move ledger bytes, a refused
 * placement leaves the previous one serving, cancellation between layers.
 * Prompts are random (seed printed); dtypes f32, bf16, fp8.
 */
#include "test_gemma3_util.h"

static const char *words[] = {"fox",   "river", "snow", "camera", "light",
                              "slow",  "pines", "東京", "🦊",   "  ",
                              "night", "rain",  "neon", "wave",   "é",
                              "12",    "dawn",  "mist", "gull",   "\t"};

static void random_prompt(uint64_t *s, char *buf, size_t n, int nwords) {
  buf[0] = 0;
  for (int i = 0; i < nwords; i++) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    const char *w = words[(*s >> 33) % (sizeof words / sizeof *words)];
    if (strlen(buf) + strlen(w) + 2 < n) {
      strcat(buf, w);
      strcat(buf, " ");
    }
  }
}

static void same(const g3t_out *a, const g3t_out *b, const char *what) {
  G3T_CHECK(a->emb && b->emb && a->bytes == b->bytes &&
                memcmp(a->emb, b->emb, a->bytes) == 0,
            "%s: bytes differ from resident", what);
}

static const warm_device cpu = {WARM_DEVICE_CPU, 0};

static void test_every_placement_same_bytes(const char *ck, warm_dtype dt,
                                            const char *prompt) {
  warm_place_req res = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  g3t_out ref;
  g3t_placed_run(cpu, ck, dt, res, 0, prompt, &ref);
  G3T_CHECK(ref.used == WARM_PLACE_RESIDENT && ref.streamed == 0,
            "resident run reports resident, 0 streamed");
  for (int src = 0; src < 2; src++) {
    for (uint32_t w = 1; w <= 3; w++) {
      warm_place_req r = {WARM_PLACE_STREAM, w,
                          src ? WARM_SOURCE_MMAP : WARM_SOURCE_PINNED};
      g3t_out o;
      g3t_placed_run(cpu, ck, dt, r, 0, prompt, &o);
      char what[96];
      snprintf(what, sizeof what, "%s stream W=%u %s", warm_dtype_name(dt), w,
               src ? "mmap" : "pinned");
      same(&ref, &o, what);
      G3T_CHECK(o.used == WARM_PLACE_STREAM && o.streamed > 0,
                "%s: used stream, streamed %llu bytes", what,
                (unsigned long long)o.streamed);
      free(o.emb);
    }
  }
  free(ref.emb);
}

/* Auto as the host resolves it, with and without room, on one instance. */
static void test_auto_with_and_without_room(const char *ck,
                                            const char *prompt) {
  warm_kv keys[2] = {{"max_tokens", "32"}, {"output", "all"}};
  warm_component_config cc = g3t_config(ck, cpu, WARM_F32, keys, 2);
  const warm_plugin_desc *d = g3_descriptor();
  warm_place_req res = {WARM_PLACE_RESIDENT, 2, WARM_SOURCE_PINNED};
  warm_place_req str = {WARM_PLACE_STREAM, 2, WARM_SOURCE_PINNED};
  warm_job_shape shape = {0};
  warm_estimate er, es;
  g3t_out o_room, o_tight;

  for (int tight = 0; tight < 2; tight++) {
    g3t_host h;
    warm_error err = {0};
    warm_instance *g = NULL;
    /* Measure the estimates on an unlimited ledger first. */
    g3t_host_init(&h, cpu, 0);
    G3T_CHECK(d->create(&h.svc, &cc, &g, &err) == 0, "%s", err.msg);
    d->estimate(g, &res, &shape, &er, &err);
    d->estimate(g, &str, &shape, &es, &err);
    d->destroy(g);
    g3t_host_fini(&h);
    G3T_CHECK(g3t_total(&es) < g3t_total(&er),
              "streaming needs less device memory");

    uint64_t budget = tight ? g3t_total(&es) + 4096 : 0;
    g3t_host_init(&h, cpu, budget);
    G3T_CHECK(d->create(&h.svc, &cc, &g, &err) == 0, "%s", err.msg);
    warm_place_req pick =
        g3t_total(&er) <= warm_ledger_available(h.ledger) ? res : str;
    G3T_CHECK(pick.placement ==
                  (tight ? WARM_PLACE_STREAM : WARM_PLACE_RESIDENT),
              "auto resolves to %s", tight ? "stream" : "resident");
    G3T_CHECK(d->place(g, &pick, &err) == 0, "%s", err.msg);
    g3t_out *o = tight ? &o_tight : &o_room;
    G3T_CHECK(g3t_run_once(d, g, prompt, o, &err) == 0, "%s", err.msg);
    if (tight) {
      /* Resident does not fit: refused by the ledger, stream keeps
       * serving with the same bytes. */
      int rc = d->place(g, &res, &err);
      G3T_CHECK(rc == WARM_ENOSPACE, "resident refused (rc %d)", rc);
      g3t_out again;
      G3T_CHECK(g3t_run_once(d, g, prompt, &again, &err) == 0, "%s", err.msg);
      same(o, &again, "after a refused placement");
      free(again.emb);
    }
    d->destroy(g);
    g3t_host_fini(&h);
  }
  same(&o_room, &o_tight, "auto without room");
  free(o_room.emb);
  free(o_tight.emb);
}

static void test_live_switch_moves_ledger_bytes(const char *ck,
                                                const char *prompt) {
  warm_component_config cc = g3t_config(ck, cpu, WARM_BF16, NULL, 0);
  const warm_plugin_desc *d = g3_descriptor();
  G3T_CHECK(d->flags & WARM_FLAG_LIVE_PLACEMENT, "declares live placement");
  g3t_host h;
  g3t_host_init(&h, cpu, 0);
  warm_instance *g = NULL;
  warm_error err = {0};
  G3T_CHECK(d->create(&h.svc, &cc, &g, &err) == 0, "%s", err.msg);
  G3T_CHECK(g3t_booked(&h) == 0, "create books nothing");
  warm_place_req res = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  warm_place_req str = {WARM_PLACE_STREAM, 1, WARM_SOURCE_MMAP};
  g3t_out a, b, c;
  G3T_CHECK(d->place(g, &res, &err) == 0, "%s", err.msg);
  uint64_t resident_bytes = g3t_booked(&h);
  G3T_CHECK(g3t_run_once(d, g, prompt, &a, &err) == 0, "%s", err.msg);
  G3T_CHECK(d->place(g, &str, &err) == 0, "%s", err.msg);
  uint64_t stream_bytes = g3t_booked(&h);
  G3T_CHECK(stream_bytes < resident_bytes,
            "stream holds less (%llu) than resident (%llu)",
            (unsigned long long)stream_bytes,
            (unsigned long long)resident_bytes);
  G3T_CHECK(g3t_run_once(d, g, prompt, &b, &err) == 0, "%s", err.msg);
  G3T_CHECK(d->place(g, &res, &err) == 0, "%s", err.msg);
  G3T_CHECK(g3t_booked(&h) == resident_bytes, "back to resident bytes");
  G3T_CHECK(g3t_run_once(d, g, prompt, &c, &err) == 0, "%s", err.msg);
  same(&a, &b, "after switching to stream");
  same(&a, &c, "after switching back");
  free(a.emb), free(b.emb), free(c.emb);

  /* Cancellation between layers: ECANCELED, nothing leaked, next run ok. */
  h.polls = 0;
  h.cancel_after = 2;
  warm_run_args args;
  memset(&args, 0, sizeof args);
  args.struct_size = sizeof args;
  args.prompt = prompt;
  int rc = d->run(g, &args, &err);
  G3T_CHECK(rc == WARM_ECANCELED && args.n_outputs == 0, "cancelled: rc %d",
            rc);
  G3T_CHECK(g3t_booked(&h) == resident_bytes, "workspace freed on cancel");
  h.cancel_after = -1;
  G3T_CHECK(g3t_run_once(d, g, prompt, &a, &err) == 0, "%s", err.msg);
  free(a.emb);
  d->destroy(g);
  g3t_host_fini(&h);
}

/* Lower precision storage stays close to f32 (the conversion is real). */
static void test_dtypes_close_to_f32(const char *ck, const char *prompt) {
  warm_place_req res = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  g3t_out f, b, e;
  g3t_placed_run(cpu, ck, WARM_F32, res, 0, prompt, &f);
  g3t_placed_run(cpu, ck, WARM_BF16, res, 0, prompt, &b);
  g3t_placed_run(cpu, ck, WARM_FP8_E4M3, res, 0, prompt, &e);
  if (!f.emb || !b.emb || !e.emb) return;
  size_t n = f.bytes / 4;
  double nb = 0, ne = 0, nf = 0;
  for (size_t i = 0; i < n; i++) {
    nf += (double)f.emb[i] * f.emb[i];
    nb += ((double)b.emb[i] - f.emb[i]) * ((double)b.emb[i] - f.emb[i]);
    ne += ((double)e.emb[i] - f.emb[i]) * ((double)e.emb[i] - f.emb[i]);
  }
  double rb = sqrt(nb / nf), re = sqrt(ne / nf);
  printf("relative L2 vs f32: bf16 %.3g, fp8 %.3g\n", rb, re);
  G3T_CHECK(rb > 0 && rb < 2e-2, "bf16 relative L2 %.3g", rb);
  G3T_CHECK(re > rb && re < 0.2, "fp8 relative L2 %.3g", re);
  free(f.emb), free(b.emb), free(e.emb);
}

static double rel_l2(const g3t_out *x, const g3t_out *ref) {
  double nd = 0, nr = 0;
  for (size_t i = 0; i < ref->bytes / 4; i++) {
    double d = (double)x->emb[i] - ref->emb[i];
    nr += (double)ref->emb[i] * ref->emb[i];
    nd += d * d;
  }
  return sqrt(nd / nr);
}

/* bf16_activations: auto (the default) rounds activations to bf16 before
 * each GEMM for bf16 weights, as torch runs a bf16 model, so it equals
 * true bitwise; false keeps f32 activations, a different computation. Both
 * within the bf16 tolerance of f32 (the weights' rounding dominates), and
 * streamed == resident bitwise. */
static void test_bf16_activations(const char *ck, const char *prompt) {
  warm_place_req res = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  warm_place_req str = {WARM_PLACE_STREAM, 2, WARM_SOURCE_MMAP};
  warm_kv on = {"bf16_activations", "true"};
  warm_kv off = {"bf16_activations", "false"};
  g3t_out f, r, s, d, o;
  g3t_placed_run(cpu, ck, WARM_F32, res, 0, prompt, &f);
  g3t_placed_run_key(cpu, ck, WARM_BF16, res, 0, prompt, &on, &r);
  g3t_placed_run_key(cpu, ck, WARM_BF16, str, 0, prompt, &on, &s);
  g3t_placed_run(cpu, ck, WARM_BF16, res, 0, prompt, &d);
  g3t_placed_run_key(cpu, ck, WARM_BF16, res, 0, prompt, &off, &o);
  if (f.emb && r.emb && s.emb && d.emb && o.emb) {
    same(&r, &s, "bf16 activations, stream W=2 mmap vs resident");
    same(&r, &d, "bf16 weights: the default equals bf16_activations = true");
    double rb = rel_l2(&r, &f), ro = rel_l2(&o, &f), rx = rel_l2(&o, &r);
    printf("relative L2 vs f32: bf16 weights and activations %.3g, "
           "f32 activations %.3g; between the two %.3g\n",
           rb, ro, rx);
    G3T_CHECK(rb > 0 && rb < 2e-2, "bf16 activations relative L2 %.3g", rb);
    G3T_CHECK(ro > 0 && ro < 2e-2, "f32 activations relative L2 %.3g", ro);
    G3T_CHECK(rx > 0 && rx < 1e-2, "f32 vs bf16 activations %.3g", rx);
  }
  free(f.emb), free(r.emb), free(s.emb), free(d.emb), free(o.emb);
}

int main(void) {
  char ck[1024];
  g3t_ckpt("gqa_window", ck, sizeof ck);
  uint64_t s = g3t_seed();
  char prompt[512];
  random_prompt(&s, prompt, sizeof prompt, 18);
  printf("prompt: \"%s\"\n", prompt);
  test_every_placement_same_bytes(ck, WARM_F32, prompt);
  test_every_placement_same_bytes(ck, WARM_BF16, prompt);
  test_every_placement_same_bytes(ck, WARM_FP8_E4M3, prompt);
  test_bf16_activations(ck, prompt);
  random_prompt(&s, prompt, sizeof prompt, 7);
  test_auto_with_and_without_room(ck, prompt);
  test_live_switch_moves_ledger_bytes(ck, prompt);
  test_dtypes_close_to_f32(ck, prompt);
  if (g3t_failures) {
    fprintf(stderr, "%d failures\n", g3t_failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}

/*
 * Parity of the LTX-2 decoder plugins with ltx-core 1.0.0: each golden file
 * in tests/data/ltx2 (written by tests/parity/ltx2_decoders.py from ltx-core
 * itself) holds the inputs and the reference output for a model file that
 * ctest regenerates with warm-mkmodel (tests/ltx2_decoders.cmake; same
 * variant and seed -> same bytes). Every case runs f32 on the cpu resident
 * (<= 1e-5 relative to the golden), streamed (the same bytes as resident)
 * and with bf16 weights (close to the golden); the ledger's peak stays
 * within the plugin's estimate each time.
 *
 *   test_ltx2_decoders CASE...   (e.g. ltx2_20_vae_decode)
 *   test_ltx2_decoders --tiled-memory MODEL
 *   test_ltx2_decoders --errors
 *   test_ltx2_decoders --cuda CASE...   (on cuda:0, <= 1e-4; exits 77
 *                                        without a GPU)
 */
#include "test_ltxv_host.h"

#define TOL 1e-5
#define CUDA_TOL 1e-4 /* another summation order */
#define BF16_TOL 5e-2

/* --cuda: every case on cuda:0 instead of the cpu (label gpu). */
static int g_cuda;

static int host_init(lt_host *h, const char *plugin, uint64_t budget) {
  return lt_host_init_on(h, plugin, budget,
                         g_cuda ? WK_BACKEND_CUDA : WK_BACKEND_CPU);
}

static warm_component_config host_config(lt_host *h, const char *w,
                                         warm_dtype dt) {
  warm_component_config c = lt_config(h, w, dt);
  if (g_cuda) c.device.type = WARM_DEVICE_CUDA, c.device.index = 0;
  return c;
}

static const char *ckpt_root(void) {
  const char *e = getenv("LTX2_DEC_CKPT");
  return e ? e : WARM_BUILD_DIR "/ltx2-dec-ckpt";
}

static const char *meta(const warm_st *g, const char *k, const char *def) {
  const char *v = warm_st_metadata(g, k);
  return v ? v : def;
}

typedef struct outcome {
  int ok;
  warm_tensor out; /* the output named out_name */
  warm_tensor all[WARM_MAX_IO];
  uint32_t n;
  uint64_t peak, bound;
} outcome;

static void outcome_free(outcome *o) {
  for (uint32_t i = 0; i < o->n; i++)
    warm_tensor_free(&o->all[i]);
  o->n = 0;
  o->ok = 0;
}

static const warm_tensor *output(const outcome *o, const char *name) {
  for (uint32_t i = 0; i < o->n; i++)
    if (o->all[i].name && !strcmp(o->all[i].name, name)) return &o->all[i];
  return NULL;
}

/* Creates, places, runs once; the output named `out_name` stays in o->out
 * (the caller frees it). */
static void run_once(lt_host *h, const char *ckpt, const warm_job_shape *js,
                     const warm_tensor *in, uint32_t n_in, const char *out_name,
                     warm_dtype dt, warm_placement pl, const char *label,
                     outcome *o) {
  memset(o, 0, sizeof *o);
  warm_error err = {0};
  warm_component_config cfg = host_config(h, ckpt, dt);
  cfg.placement = pl;
  warm_instance *inst = NULL;
  if (h->desc->create(&h->svc, &cfg, &inst, &err)) {
    LT_CHECK(0, "%s: create: %s", label, err.msg);
    return;
  }
  warm_place_req req = {pl, 2, WARM_SOURCE_PINNED};
  warm_estimate est;
  LT_CHECK(h->desc->estimate(inst, &req, js, &est, &err) == 0, "%s: %s", label,
           err.msg);
  warm_ledger_mark_reset(h->ledger);
  int rc = h->desc->place(inst, &req, &err);
  LT_CHECK(rc == 0, "%s: place: %s", label, err.msg);
  warm_run_args a;
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.n_inputs = n_in;
  a.inputs = in;
  if (!rc) rc = h->desc->run(inst, &a, &err);
  LT_CHECK(rc == 0, "%s: run: %s", label, err.msg);
  if (!rc) {
    LT_CHECK(a.used_placement == pl, "%s: used placement %d", label,
             (int)a.used_placement);
    LT_CHECK(pl != WARM_PLACE_STREAM || a.streamed_bytes > 0,
             "%s: streamed run moved no bytes", label);
    for (uint32_t i = 0; i < a.n_outputs; i++) {
      o->all[o->n++] = a.outputs[i];
      if (!o->ok && a.outputs[i].name && !strcmp(a.outputs[i].name, out_name)) {
        o->out = a.outputs[i];
        o->ok = 1;
      }
    }
    LT_CHECK(o->ok, "%s: no output \"%s\"", label, out_name);
    o->peak = lt_peak(h);
    o->bound = est.persistent + est.window + est.workspace;
    LT_CHECK(o->peak <= o->bound,
             "%s: ledger peak %llu exceeds the estimate %llu", label,
             (unsigned long long)o->peak, (unsigned long long)o->bound);
  }
  h->desc->destroy(inst);
}

static double compare(const warm_tensor *o, const warm_tensor *ref,
                      const char *label, double tol) {
  LT_CHECK(o->ndim == ref->ndim &&
               !memcmp(o->shape, ref->shape, sizeof(int64_t) * ref->ndim),
           "%s: output shape differs from the golden", label);
  size_t n = (size_t)warm_tensor_numel(ref);
  if ((size_t)warm_tensor_numel(o) != n) return INFINITY;
  double mref = 0, e = lt_rel_err(o->data, ref->data, n, &mref);
  printf("%-34s max|ref| %.4g  rel err %.3g (tol %.0e)\n", label, mref, e, tol);
  LT_CHECK(e <= tol, "%s: relative error %.3g > %.0e", label, e, tol);
  return e;
}

/* One golden: f32 resident against the golden, f32 streamed bitwise equal
 * to it, bf16 close to the golden. Outputs named in `also` that the golden
 * holds are compared too (f32 resident). */
static void run_case(const char *plugin, const char *name, const warm_st *g,
                     const warm_job_shape *js, const warm_tensor *in,
                     uint32_t n_in, const char *out_name,
                     const warm_tensor *ref, const char *const *keys,
                     const char *const *also) {
  char ckpt[1024], label[128];
  /* A model made by warm-mkmodel, or one committed beside the golden. */
  if (warm_st_metadata(g, "model_file"))
    snprintf(ckpt, sizeof ckpt, "%s/ltx2/%s", WARM_TEST_DATA,
             meta(g, "model_file", "?"));
  else
    snprintf(ckpt, sizeof ckpt, "%s/%s.safetensors", ckpt_root(),
             meta(g, "model", "?"));
  outcome res = {0};
  static const struct {
    warm_dtype dt;
    warm_placement pl;
    const char *tag;
  } runs[] = {{WARM_F32, WARM_PLACE_RESIDENT, "f32 resident"},
              {WARM_F32, WARM_PLACE_STREAM, "f32 stream"},
              {WARM_BF16, WARM_PLACE_RESIDENT, "bf16 resident"}};
  for (int k = 0; k < 3; k++) {
    lt_host h;
    if (host_init(&h, plugin, 1ull << 32)) {
      lt_failures++;
      return;
    }
    for (int i = 0; keys && keys[i]; i += 2)
      lt_key(&h, keys[i], keys[i + 1]);
    snprintf(label, sizeof label, "%s %s", name, runs[k].tag);
    outcome o;
    run_once(&h, ckpt, js, in, n_in, out_name, runs[k].dt, runs[k].pl, label,
             &o);
    if (o.ok) {
      if (k == 0) {
        compare(&o.out, ref, label, g_cuda ? CUDA_TOL : TOL);
        for (int j = 0; also && also[j]; j++) {
          warm_tensor gr;
          warm_error e2;
          const warm_tensor *got = output(&o, also[j]);
          char l2[160];
          snprintf(l2, sizeof l2, "%s %s", label, also[j]);
          if (warm_st_get(g, also[j], &gr, &e2)) continue;
          LT_CHECK(got != NULL, "%s: no output \"%s\"", label, also[j]);
          if (got) compare(got, &gr, l2, g_cuda ? CUDA_TOL : TOL);
        }
        res = o;
      } else if (k == 1) {
        LT_CHECK(
            res.ok &&
                warm_tensor_bytes(&res.out) == warm_tensor_bytes(&o.out) &&
                !memcmp(res.out.data, o.out.data, warm_tensor_bytes(&o.out)),
            "%s: streamed output differs from resident", label);
        printf("%-34s same bytes as resident\n", label);
      } else {
        compare(&o.out, ref, label, BF16_TOL);
      }
      if (k) outcome_free(&o);
    }
    lt_host_fini(&h);
  }
  outcome_free(&res);
}

static int get(const warm_st *g, const char *name, warm_tensor *t) {
  warm_error err = {0};
  if (warm_st_get(g, name, t, &err)) {
    fprintf(stderr, "golden: %s\n", err.msg);
    return -1;
  }
  return 0;
}

static void vae_decode(const char *name, const warm_st *g) {
  warm_tensor in[2], ref;
  uint32_t n_in = 1;
  if (get(g, "latents", &in[0]) || get(g, "frames", &ref)) {
    lt_failures++;
    return;
  }
  /* A timestep-conditioned decoder's noise, as the reference drew it. */
  if (warm_st_find(g, "noise") && !get(g, "noise", &in[1])) n_in = 2;
  const char *keys[16] = {"tiling", "false", NULL};
  if (warm_st_metadata(g, "tile_size")) {
    const char *k[] = {"tile_size",
                       meta(g, "tile_size", ""),
                       "tile_overlap",
                       meta(g, "tile_overlap", ""),
                       "tile_frames",
                       meta(g, "tile_frames", ""),
                       "tile_frames_overlap",
                       meta(g, "tile_frames_overlap", ""),
                       NULL};
    memcpy(keys, k, sizeof k);
  }
  warm_job_shape js = {0, (uint32_t)ref.shape[1], (uint32_t)ref.shape[2],
                       (uint32_t)ref.shape[3], 1};
  run_case("vae_ltx2", name, g, &js, in, n_in, "frames", &ref, keys, NULL);
}

/* vae_ltx2 encoding: "frames" -> "latents". */
static void vae_encode(const char *name, const warm_st *g) {
  warm_tensor in[1], ref;
  if (get(g, "frames", &in[0]) || get(g, "encoded", &ref)) {
    lt_failures++;
    return;
  }
  warm_job_shape js = {0, (uint32_t)in[0].shape[1], (uint32_t)in[0].shape[2],
                       (uint32_t)in[0].shape[3], 1};
  run_case("vae_ltx2", name, g, &js, in, 1, "latents", &ref, NULL, NULL);
}

/* audio_ltx2: "latents" -> "waveform" (+ "mel", "sample_rate"), or "mel"
 * -> "waveform". */
static void audio(const char *name, const warm_st *g) {
  warm_tensor in[1], ref;
  int from_latents = warm_st_find(g, "latents") != NULL;
  if (get(g, from_latents ? "latents" : "mel", &in[0]) ||
      get(g, "waveform", &ref)) {
    lt_failures++;
    return;
  }
  /* The job size the estimate assumes: video frames at 24 fps whose audio
   * latent count covers the input's. */
  uint32_t T = from_latents ? (uint32_t)in[0].shape[1]
                            : (uint32_t)(in[0].shape[1] + 3) / 4;
  warm_job_shape js = {0, T * 24 / 25 + 1, 0, 0, 1};
  static const char *const also[] = {"mel", NULL};
  run_case("audio_ltx2", name, g, &js, in, 1, "waveform", &ref, NULL,
           from_latents ? also : NULL);
  /* The sample rate output. */
  lt_host h;
  if (host_init(&h, "audio_ltx2", 1ull << 32)) return;
  char ckpt[1024];
  snprintf(ckpt, sizeof ckpt, "%s/%s.safetensors", ckpt_root(),
           meta(g, "model", "?"));
  outcome o;
  run_once(&h, ckpt, &js, in, 1, "sample_rate", WARM_F32, WARM_PLACE_RESIDENT,
           name, &o);
  if (o.ok)
    LT_CHECK(o.out.dtype == WARM_I32 && ((int32_t *)o.out.data)[0] ==
                                            atoi(meta(g, "sample_rate", "0")),
             "%s: sample_rate", name);
  outcome_free(&o);
  lt_host_fini(&h);
}

/* upsampler_ltx2 with the statistics the host takes from the video VAE's
 * info() (vae_ltx2 on the combined file named by "vae_model"). */
static void upsample(const char *name, const warm_st *g) {
  warm_tensor in[3], ref;
  if (get(g, "latents", &in[0]) || get(g, "upsampled", &ref)) {
    lt_failures++;
    return;
  }
  char ckpt[1024];
  snprintf(ckpt, sizeof ckpt, "%s/%s.safetensors", ckpt_root(),
           meta(g, "vae_model", "?"));
  lt_host h;
  if (host_init(&h, "vae_ltx2", 1ull << 32)) {
    lt_failures++;
    return;
  }
  warm_component_config cfg = host_config(&h, ckpt, WARM_F32);
  warm_instance *vae = NULL;
  warm_error err = {0};
  warm_model_info mi;
  memset(&mi, 0, sizeof mi);
  mi.struct_size = sizeof mi;
  const warm_plugin_desc *d = h.desc;
  if (d->create(&h.svc, &cfg, &vae, &err) || d->info(vae, &mi, &err)) {
    LT_CHECK(0, "%s: vae info: %s", name, err.msg);
    if (vae) d->destroy(vae);
    lt_host_fini(&h);
    return;
  }
  LT_CHECK(mi.latent_mean && mi.latent_std &&
               mi.latent_channels == (uint32_t)in[0].shape[0],
           "%s: vae info gives no statistics", name);
  int64_t cshape[1] = {mi.latent_channels};
  in[1] = (warm_tensor){.name = "latent_mean",
                        .dtype = WARM_F32,
                        .ndim = 1,
                        .shape = {cshape[0]},
                        .data = (void *)mi.latent_mean,
                        .scale = 1};
  in[2] = (warm_tensor){.name = "latent_std",
                        .dtype = WARM_F32,
                        .ndim = 1,
                        .shape = {cshape[0]},
                        .data = (void *)mi.latent_std,
                        .scale = 1};
  warm_job_shape js = {0, (uint32_t)((in[0].shape[1] - 1) * 8 + 1),
                       (uint32_t)(ref.shape[2] * 32),
                       (uint32_t)(ref.shape[3] * 32), 1};
  run_case("upsampler_ltx2", name, g, &js, in, 3, "latents", &ref, NULL, NULL);
  d->destroy(vae);
  lt_host_fini(&h);
}

/* A tiled decode of a latent too large for one tile: its ledger peak stays
 * within its estimate and far below the untiled decode's estimate. With
 * pack_weights = true (each conv's weights reordered once into a pack
 * arena booked with them) the frames are the same bytes, the estimate
 * grows by the arena where the convs pack (the cpu with oneDNN) and the
 * peak still stays within it. */
static void tiled_memory(const char *model) {
  char ckpt[1024];
  snprintf(ckpt, sizeof ckpt, "%s/%s.safetensors", ckpt_root(), model);
  const int64_t C = 8, F = 5, H = 6, W = 6;
  warm_tensor in;
  int64_t shape[4] = {C, F, H, W};
  if (warm_tensor_alloc(&in, "latents", WARM_F32, 4, shape)) {
    lt_failures++;
    return;
  }
  uint64_t s = lt_seed();
  printf("tiled_memory: seed %llu\n", (unsigned long long)s);
  for (int64_t i = 0; i < warm_tensor_numel(&in); i++)
    ((float *)in.data)[i] = lt_randn(&s);
  warm_job_shape js = {0, (uint32_t)((F - 1) * 8 + 1), (uint32_t)(H * 32),
                       (uint32_t)(W * 32), 1};
  uint64_t untiled_est = 0;
  {
    lt_host h;
    if (host_init(&h, "vae_ltx2", 1ull << 33)) {
      lt_failures++;
      warm_tensor_free(&in);
      return;
    }
    lt_key(&h, "tiling", "false");
    warm_component_config cfg = host_config(&h, ckpt, WARM_F32);
    warm_instance *inst = NULL;
    warm_error err = {0};
    warm_place_req req = {WARM_PLACE_RESIDENT, 2, WARM_SOURCE_PINNED};
    warm_estimate est;
    if (h.desc->create(&h.svc, &cfg, &inst, &err) ||
        h.desc->estimate(inst, &req, &js, &est, &err)) {
      LT_CHECK(0, "untiled estimate: %s", err.msg);
    } else {
      untiled_est = est.persistent + est.workspace;
    }
    if (inst) h.desc->destroy(inst);
    lt_host_fini(&h);
  }
  lt_host h;
  if (host_init(&h, "vae_ltx2", 1ull << 33)) {
    lt_failures++;
    warm_tensor_free(&in);
    return;
  }
  lt_key(&h, "tile_size", "64");
  lt_key(&h, "tile_overlap", "32");
  lt_key(&h, "tile_frames", "16");
  lt_key(&h, "tile_frames_overlap", "8");
  outcome o;
  run_once(&h, ckpt, &js, &in, 1, "frames", WARM_F32, WARM_PLACE_RESIDENT,
           "tiled decode", &o);
  if (o.ok) {
    printf("tiled decode [8,%lld,%lld,%lld] -> [3,%lld,%lld,%lld]: ledger "
           "peak %llu B, its estimate %llu B, untiled estimate %llu B "
           "(%.1fx the tiled peak)\n",
           (long long)F, (long long)H, (long long)W, (long long)o.out.shape[1],
           (long long)o.out.shape[2], (long long)o.out.shape[3],
           (unsigned long long)o.peak, (unsigned long long)o.bound,
           (unsigned long long)untiled_est,
           (double)untiled_est / (double)(o.peak ? o.peak : 1));
    LT_CHECK(o.peak * 4 < untiled_est,
             "tiled peak %llu is not far below the untiled estimate %llu",
             (unsigned long long)o.peak, (unsigned long long)untiled_est);
    int finite = 1;
    for (int64_t i = 0; i < warm_tensor_numel(&o.out); i++)
      finite &= isfinite(((float *)o.out.data)[i]) != 0;
    LT_CHECK(finite, "tiled decode produced NaN/Inf");
    /* The same host and tiles, plus the key. */
    lt_key(&h, "pack_weights", "true");
    outcome p;
    run_once(&h, ckpt, &js, &in, 1, "frames", WARM_F32, WARM_PLACE_RESIDENT,
             "tiled decode, packed weights", &p);
    if (p.ok) {
      LT_CHECK(warm_tensor_bytes(&p.out) == warm_tensor_bytes(&o.out) &&
                   !memcmp(p.out.data, o.out.data, warm_tensor_bytes(&o.out)),
               "packed weights: the frames differ");
      printf("packed weights: estimate %llu B (+%llu), ledger peak %llu B\n",
             (unsigned long long)p.bound,
             (unsigned long long)(p.bound - o.bound),
             (unsigned long long)p.peak);
      LT_CHECK(p.bound >= o.bound, "packed weights: the estimate shrank");
      outcome_free(&p);
    }
    outcome_free(&o);
  }
  lt_host_fini(&h);
  warm_tensor_free(&in);
}

/* Bad configuration, files and inputs are refused with a message naming
 * what is wrong, and the instance keeps working. */
static void expect_err(int rc, int want, const warm_error *e,
                       const char *needle, const char *what) {
  LT_CHECK(rc == want && strstr(e->msg, needle),
           "%s: got %d \"%s\", want %d with \"%s\"", what, rc, e->msg, want,
           needle);
}

static void validate_case(const char *plugin, const char *model,
                          const char *key, const char *value, warm_dtype dt,
                          int want, const char *needle) {
  lt_host h;
  if (host_init(&h, plugin, 1ull << 32)) {
    lt_failures++;
    return;
  }
  if (key) lt_key(&h, key, value);
  char ckpt[1024];
  snprintf(ckpt, sizeof ckpt, "%s/%s.safetensors", ckpt_root(), model);
  warm_component_config cfg = host_config(&h, ckpt, dt);
  warm_error e = {0};
  int rc = h.desc->validate(&h.svc, &cfg, &e);
  char what[160];
  snprintf(what, sizeof what, "%s on %s with %s=%s", plugin, model,
           key ? key : "-", value ? value : "-");
  expect_err(rc, want, &e, needle, what);
  lt_host_fini(&h);
}

static void run_bad(const char *plugin, const char *model, warm_tensor *in,
                    uint32_t n, int want, const char *needle) {
  lt_host h;
  if (host_init(&h, plugin, 1ull << 32)) {
    lt_failures++;
    return;
  }
  char ckpt[1024];
  snprintf(ckpt, sizeof ckpt, "%s/%s.safetensors", ckpt_root(), model);
  warm_component_config cfg = host_config(&h, ckpt, WARM_F32);
  warm_instance *inst = NULL;
  warm_error e = {0};
  if (h.desc->create(&h.svc, &cfg, &inst, &e)) {
    LT_CHECK(0, "%s: create: %s", plugin, e.msg);
    lt_host_fini(&h);
    return;
  }
  warm_place_req mm = {WARM_PLACE_STREAM, 2, WARM_SOURCE_MMAP};
  expect_err(h.desc->place(inst, &mm, &e), WARM_EUNSUPPORTED, &e, "mmap",
             "stream from mmap");
  warm_place_req req = {WARM_PLACE_RESIDENT, 2, WARM_SOURCE_PINNED};
  LT_CHECK(h.desc->place(inst, &req, &e) == 0, "place: %s", e.msg);
  warm_run_args a;
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.n_inputs = n;
  a.inputs = in;
  expect_err(h.desc->run(inst, &a, &e), want, &e, needle, plugin);
  LT_CHECK(a.n_outputs == 0, "%s: a failed run left outputs", plugin);
  h.desc->destroy(inst);
  lt_host_fini(&h);
}

/* encode_frames bounds what the estimate books for an encode (the LTX-2
 * pipelines encode one image frame, not the job's video) and refuses a
 * longer encode, so the bound holds. */
static void encode_frames_bound(void) {
  char ckpt[1024];
  snprintf(ckpt, sizeof ckpt, "%s/ltx2_20.safetensors", ckpt_root());
  const warm_job_shape js = {0, 33, 128, 128, 1};
  uint64_t ws[2] = {0, 0};
  for (int k = 0; k < 2; k++) {
    lt_host h;
    if (host_init(&h, "vae_ltx2", 1ull << 32)) {
      lt_failures++;
      return;
    }
    if (k) lt_key(&h, "encode_frames", "1");
    warm_component_config cfg = host_config(&h, ckpt, WARM_F32);
    warm_instance *inst = NULL;
    warm_error e = {0};
    warm_place_req req = {WARM_PLACE_RESIDENT, 2, WARM_SOURCE_PINNED};
    warm_estimate est;
    if (h.desc->create(&h.svc, &cfg, &inst, &e) ||
        h.desc->estimate(inst, &req, &js, &est, &e)) {
      LT_CHECK(0, "encode_frames %d: %s", k, e.msg);
    } else {
      ws[k] = est.workspace;
    }
    if (inst) h.desc->destroy(inst);
    lt_host_fini(&h);
  }
  LT_CHECK(ws[1] < ws[0], "encode_frames = 1 books less: %llu vs %llu",
           (unsigned long long)ws[1], (unsigned long long)ws[0]);
  lt_host h;
  if (host_init(&h, "vae_ltx2", 1ull << 32)) {
    lt_failures++;
    return;
  }
  lt_key(&h, "encode_frames", "1");
  warm_component_config cfg = host_config(&h, ckpt, WARM_F32);
  warm_instance *inst = NULL;
  warm_error e = {0};
  warm_place_req req = {WARM_PLACE_RESIDENT, 2, WARM_SOURCE_PINNED};
  static float px[3 * 9 * 64 * 64];
  warm_tensor in = {.name = "frames",
                    .dtype = WARM_F32,
                    .ndim = 4,
                    .shape = {3, 9, 64, 64},
                    .data = px,
                    .scale = 1};
  warm_run_args a;
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.n_inputs = 1;
  a.inputs = &in;
  if (h.desc->create(&h.svc, &cfg, &inst, &e) ||
      h.desc->place(inst, &req, &e)) {
    LT_CHECK(0, "encode_frames: %s", e.msg);
  } else {
    expect_err(h.desc->run(inst, &a, &e), WARM_EINVAL, &e, "encode_frames = 1",
               "a 9-frame encode with encode_frames = 1");
    in.shape[1] = 1;
    LT_CHECK(h.desc->run(inst, &a, &e) == 0, "a 1-frame encode: %s", e.msg);
    for (uint32_t i = 0; i < a.n_outputs; i++)
      warm_tensor_free(&a.outputs[i]);
  }
  if (inst) h.desc->destroy(inst);
  lt_host_fini(&h);
  printf("encode_frames: workspace %llu -> %llu B for a 33 x 128 x 128 job\n",
         (unsigned long long)ws[0], (unsigned long long)ws[1]);
}

static void errors(void) {
  encode_frames_bound();
  validate_case("vae_ltx2", "ltx2_20", "tile_sise", "512", WARM_F32,
                WARM_EINVAL, "unknown key \"tile_sise\"");
  validate_case("vae_ltx2", "ltx2_20", "tile_size", "100", WARM_F32,
                WARM_EINVAL, "multiples of 32");
  validate_case("vae_ltx2", "ltx2_20", "tile_frames_overlap", "64", WARM_F32,
                WARM_EINVAL, "below tile_frames");
  validate_case("vae_ltx2", "up_20", NULL, NULL, WARM_F32, WARM_EFORMAT, "vae");
  validate_case("upsampler_ltx2", "ltx2_20", NULL, NULL, WARM_F32, WARM_EFORMAT,
                "initial_conv.weight");
  validate_case("audio_ltx2", "ltx2_20", NULL, NULL, WARM_FP8_E4M3,
                WARM_EUNSUPPORTED, "fp8");
  validate_case("audio_ltx2", "ltx2_20", "min_fps", "0", WARM_F32, WARM_EINVAL,
                "min_fps");
  validate_case("audio_ltx2", "up_23", NULL, NULL, WARM_F32, WARM_EFORMAT,
                "audio_vae");
  float buf[8 * 2 * 4 * 4] = {0}, stat[8] = {0};
  warm_tensor lat = {.name = "latents",
                     .dtype = WARM_F32,
                     .ndim = 4,
                     .shape = {4, 2, 2, 2},
                     .data = buf,
                     .scale = 1};
  run_bad("vae_ltx2", "ltx2_20", &lat, 1, WARM_EINVAL, "latent_channels");
  warm_tensor px = {.name = "frames",
                    .dtype = WARM_F32,
                    .ndim = 4,
                    .shape = {3, 1, 8, 8},
                    .data = buf,
                    .scale = 1};
  run_bad("vae_ltx2", "ltx2_20", &px, 1, WARM_EINVAL, "divisible by 32");
  warm_tensor up[3] = {{.name = "latents",
                        .dtype = WARM_F32,
                        .ndim = 4,
                        .shape = {8, 2, 2, 2},
                        .data = buf,
                        .scale = 1},
                       {.name = "latent_mean",
                        .dtype = WARM_F32,
                        .ndim = 1,
                        .shape = {8},
                        .data = stat,
                        .scale = 1},
                       {.name = "latent_std",
                        .dtype = WARM_F32,
                        .ndim = 1,
                        .shape = {8},
                        .data = stat,
                        .scale = 1}};
  run_bad("upsampler_ltx2", "up_20", up, 3, WARM_EINVAL, "std positive");
  run_bad("upsampler_ltx2", "up_20", up, 2, WARM_EINVAL, "latent_std");
  warm_tensor mel = {.name = "mel",
                     .dtype = WARM_F32,
                     .ndim = 3,
                     .shape = {2, 4, 32},
                     .data = buf,
                     .scale = 1};
  run_bad("audio_ltx2", "ltx2_20", &mel, 1, WARM_EINVAL, "vocoder takes");
  warm_tensor al = {.name = "latents",
                    .dtype = WARM_F32,
                    .ndim = 3,
                    .shape = {2, 4, 8},
                    .data = buf,
                    .scale = 1};
  run_bad("audio_ltx2", "ltx2_20", &al, 1, WARM_EINVAL, "audio VAE takes");
  printf("errors: refusals name the key, tensor or input\n");
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--cuda")) {
    if (wk_cuda_device_count() == 0) {
      printf("SKIP: no CUDA device\n");
      return 77;
    }
    g_cuda = 1;
    argv++, argc--;
  }
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--errors")) {
      errors();
      continue;
    }
    if (!strcmp(argv[i], "--tiled-memory") && i + 1 < argc) {
      tiled_memory(argv[++i]);
      continue;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/ltx2/%s.safetensors", WARM_TEST_DATA,
             argv[i]);
    warm_st *g = NULL;
    warm_error err = {0};
    if (warm_st_open(path, &g, &err)) {
      fprintf(stderr, "FAIL: %s\n", err.msg);
      lt_failures++;
      continue;
    }
    if (warm_st_find(g, "frames") && warm_st_find(g, "latents"))
      vae_decode(argv[i], g);
    else if (warm_st_find(g, "waveform"))
      audio(argv[i], g);
    else if (warm_st_find(g, "encoded"))
      vae_encode(argv[i], g);
    else if (warm_st_find(g, "upsampled"))
      upsample(argv[i], g);
    else {
      fprintf(stderr, "FAIL: %s: unknown case\n", argv[i]);
      lt_failures++;
    }
    warm_st_close(g);
  }
  if (lt_failures) {
    fprintf(stderr, "%d failure(s)\n", lt_failures);
    return 1;
  }
  printf("all passed\n");
  return 0;
}

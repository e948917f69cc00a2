/*
 * gpubench_ltx2_text.c — text_encoder_ltx2 streamed on a CUDA device at the
 * Gemma-3-12B layer shape with LTX-2.3's text side (labels bench, gpu; run
 * by tests/gpu/check.sh), T = 1024 as the reference.
 *
 * Checkpoints, written into a temp dir: the Gemma folder by warm-mkmodel
 * --preset full --dtype bf16 with LT2B_LAYERS layers (default 4 of 48; each
 * has the exact 12B shape) and the tokenizer's 640-row vocabulary; the
 * combined LTX-2 file by this program with the 2.3 text-side shapes
 * (projections [4096 | 2048, 3840 * S], connectors 32 x 128 and 32 x 64
 * wide, gated, 2 blocks each instead of 8 — the peak is per block) and
 * small random bf16 values.
 *
 * The figure: during a streamed (W = 2, pinned) encode, the ledger's device
 * bytes beyond the non-layer weights, i.e. the Gemma window + one layer's
 * activations + the accumulators (the target: <= 1.2 GB), with the
 * text layers' own window printed beside it. Also the resident and streamed
 * encode times. Prints `RESULT key value unit` lines.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define G3T_HOST_ONLY
#include "test_gemma3_util.h"
#include "lt2_plugin.h"
#include "warm/safetensors.h"

#define MKMODEL WARM_BUILD_DIR "/bin/warm-mkmodel"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int mkmodel(const char *out, int layers) {
  char nl[64];
  snprintf(nl, sizeof nl, "num_hidden_layers=%d", layers);
  const char *argv[] = {
      MKMODEL, "--arch",         "gemma3", "--preset", "full",  "--dtype",
      "bf16",  "--seed",         "1",      "--quiet",  "--set", nl,
      "--set", "vocab_size=640", "--out",  out,        NULL};
  pid_t pid = fork();
  if (pid == 0) {
    execv(MKMODEL, (char *const *)argv);
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

typedef struct decl {
  char name[256];
  int32_t ndim;
  int64_t shape[2];
  float std;
} decl;

static int add(decl *d, int n, const char *name, int64_t a, int64_t b,
               float std) {
  snprintf(d[n].name, sizeof d[n].name, "%s", name);
  d[n].ndim = b ? 2 : 1;
  d[n].shape[0] = a;
  d[n].shape[1] = b;
  d[n].std = std;
  return n + 1;
}

static int conn_decls(decl *d, int n, const char *m, int64_t C, int64_t H) {
  char p[96];
  snprintf(p, sizeof p, "model.diffusion_model.%s_embeddings_connector.", m);
  char nm[200];
  snprintf(nm, sizeof nm, "%slearnable_registers", p);
  n = add(d, n, nm, 128, C, 1.0f);
  for (int b = 0; b < 2; b++) {
    static const char *const sq[] = {"to_q", "to_k", "to_v", "to_out.0"};
    for (int i = 0; i < 4; i++) {
      snprintf(nm, sizeof nm, "%stransformer_1d_blocks.%d.attn1.%s.weight", p,
               b, sq[i]);
      n = add(d, n, nm, C, C, 0.02f);
      snprintf(nm, sizeof nm, "%stransformer_1d_blocks.%d.attn1.%s.bias", p, b,
               sq[i]);
      n = add(d, n, nm, C, 0, 0.02f);
    }
    snprintf(nm, sizeof nm, "%stransformer_1d_blocks.%d.attn1.q_norm.weight", p,
             b);
    n = add(d, n, nm, C, 0, 1.0f);
    snprintf(nm, sizeof nm, "%stransformer_1d_blocks.%d.attn1.k_norm.weight", p,
             b);
    n = add(d, n, nm, C, 0, 1.0f);
    snprintf(nm, sizeof nm,
             "%stransformer_1d_blocks.%d.attn1.to_gate_logits.weight", p, b);
    n = add(d, n, nm, H, C, 0.02f);
    snprintf(nm, sizeof nm,
             "%stransformer_1d_blocks.%d.attn1.to_gate_logits.bias", p, b);
    n = add(d, n, nm, H, 0, 0.02f);
    snprintf(nm, sizeof nm, "%stransformer_1d_blocks.%d.ff.net.0.proj.weight",
             p, b);
    n = add(d, n, nm, 4 * C, C, 0.02f);
    snprintf(nm, sizeof nm, "%stransformer_1d_blocks.%d.ff.net.0.proj.bias", p,
             b);
    n = add(d, n, nm, 4 * C, 0, 0.02f);
    snprintf(nm, sizeof nm, "%stransformer_1d_blocks.%d.ff.net.2.weight", p, b);
    n = add(d, n, nm, C, 4 * C, 0.02f);
    snprintf(nm, sizeof nm, "%stransformer_1d_blocks.%d.ff.net.2.bias", p, b);
    n = add(d, n, nm, C, 0, 0.02f);
  }
  return n;
}

/* The 2.3 text side for Gemma hidden D and S hidden states, bf16. */
static int write_ltx(const char *path, int64_t D, int64_t S) {
  decl *d = calloc(128, sizeof *d);
  int n = 0;
  n = add(d, n, "text_embedding_projection.video_aggregate_embed.weight", 4096,
          D * S, 0.01f);
  n = add(d, n, "text_embedding_projection.video_aggregate_embed.bias", 4096, 0,
          0.01f);
  n = add(d, n, "text_embedding_projection.audio_aggregate_embed.weight", 2048,
          D * S, 0.01f);
  n = add(d, n, "text_embedding_projection.audio_aggregate_embed.bias", 2048, 0,
          0.01f);
  n = conn_decls(d, n, "video", 4096, 32);
  n = conn_decls(d, n, "audio", 2048, 32);
  const char *cfg =
      "{\"transformer\": {\"rope_type\": \"split\", \"frequencies_precision\": "
      "\"float64\", \"connector_positional_embedding_max_pos\": [4096], "
      "\"connector_num_attention_heads\": 32, "
      "\"connector_attention_head_dim\": "
      "128, \"connector_num_layers\": 2, "
      "\"audio_connector_num_attention_heads\": "
      "32, \"audio_connector_attention_head_dim\": 64, "
      "\"audio_connector_num_layers\": 2, \"connector_apply_gated_attention\": "
      "true, \"num_attention_heads\": 32, \"attention_head_dim\": 128, "
      "\"audio_num_attention_heads\": 32, \"audio_attention_head_dim\": 64, "
      "\"caption_proj_before_connector\": true, "
      "\"caption_projection_first_linear\": false, "
      "\"caption_proj_input_norm\": "
      "false, \"caption_projection_second_linear\": false}}";
  warm_error err = {0};
  warm_st_writer *w;
  int rc = warm_st_writer_open(path, &w, &err);
  if (!rc) rc = warm_st_writer_meta(w, "config", cfg, &err);
  if (!rc) rc = warm_st_writer_meta(w, "model_version", "2.3.0", &err);
  for (int i = 0; !rc && i < n; i++)
    rc = warm_st_writer_declare(w, d[i].name, WARM_BF16, d[i].ndim, d[i].shape,
                                &err);
  if (!rc) rc = warm_st_writer_begin(w, &err);
  enum { CH = 1 << 20 };
  uint16_t *buf = malloc(CH * sizeof *buf);
  uint64_t s = 88172645463325252ull;
  for (int i = 0; !rc && i < n; i++) {
    uint64_t left =
        (uint64_t)d[i].shape[0] * (d[i].ndim == 2 ? d[i].shape[1] : 1);
    int unit = strstr(d[i].name, "norm.weight") != NULL;
    while (!rc && left) {
      size_t k = left < CH ? left : CH;
      for (size_t j = 0; j < k; j++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        float u = (float)((s >> 40) & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f;
        buf[j] = wk_f32_to_bf16(unit ? 1.0f + 0.1f * u : d[i].std * u);
      }
      rc = warm_st_writer_write(w, buf, k * sizeof *buf, &err);
      left -= k;
    }
  }
  free(buf);
  free(d);
  if (rc) {
    fprintf(stderr, "%s: %s\n", path, err.msg);
    warm_st_writer_abort(w);
    return rc;
  }
  rc = warm_st_writer_close(w, &err);
  if (rc) fprintf(stderr, "%s: %s\n", path, err.msg);
  return rc;
}

static double timed_run(const warm_plugin_desc *d, warm_instance *g,
                        const char *prompt) {
  warm_run_args a;
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.prompt = prompt;
  warm_error err = {0};
  double t0 = now();
  int rc = d->run(g, &a, &err);
  double t = now() - t0;
  if (rc) {
    fprintf(stderr, "run: %s\n", err.msg);
    g3t_failures++;
    return 0;
  }
  for (uint32_t i = 0; i < a.n_outputs; i++)
    warm_tensor_free(&a.outputs[i]);
  return t;
}

int main(void) {
  if (wk_cuda_device_count() == 0) {
    printf("SKIP: no CUDA device\n");
    return 77;
  }
  int layers = getenv("LT2B_LAYERS") ? atoi(getenv("LT2B_LAYERS")) : 4;
  if (layers < 2) layers = 2;
  char dir[512], gem[600], ltx[600];
  snprintf(dir, sizeof dir, "%s/warm-lt2bench-%d",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
  mkdir(dir, 0755);
  snprintf(gem, sizeof gem, "%s/gemma", dir);
  snprintf(ltx, sizeof ltx, "%s/ltx2.safetensors", dir);
  double t0 = now();
  if (mkmodel(gem, layers) != 0 || write_ltx(ltx, 3840, layers + 1) != 0) {
    fprintf(stderr, "writing the checkpoints failed\n");
    return 1;
  }
  printf("checkpoints: %d Gemma layers of the 12B shape + the 2.3 text side "
         "in %.1f s\n",
         layers, now() - t0);

  warm_device dev = {WARM_DEVICE_CUDA, 0};
  warm_kv keys[2] = {{"ltx_checkpoint", ltx}, {"max_tokens", "1024"}};
  warm_component_config cc = g3t_config(gem, dev, WARM_BF16, keys, 2);
  g3t_host h;
  g3t_host_init(&h, dev, 0);
  const warm_plugin_desc *d = lt2_descriptor();
  warm_instance *g = NULL;
  warm_error err = {0};
  if (d->create(&h.svc, &cc, &g, &err) != 0) {
    fprintf(stderr, "create: %s\n", err.msg);
    return 1;
  }
  const char *prompt =
      "A red fox runs across a snowy field at dawn, its breath visible in the "
      "cold air, the camera tracking low beside it.";
  warm_place_req res = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  warm_place_req str = {WARM_PLACE_STREAM, 2, WARM_SOURCE_PINNED};
  warm_job_shape shape = {.max_tokens = 1024};
  warm_estimate est;
  double t_res = 0, t_str = 0;
  int rc = d->place(g, &res, &err);
  if (rc == 0) {
    timed_run(d, g, prompt);
    t_res = timed_run(d, g, prompt);
    rc = d->place(g, &str, &err);
  }
  if (rc == 0) rc = d->estimate(g, &str, &shape, &est, &err);
  if (rc) {
    fprintf(stderr, "place: %s\n", err.msg);
    d->destroy(g);
    return 1;
  }
  timed_run(d, g, prompt);
  uint64_t before = g3t_booked(&h); /* persistent + both windows */
  warm_ledger_mark_reset(h.ledger);
  t_str = timed_run(d, g, prompt);
  uint64_t peak = g3t_peak(&h);
  /* The text layers' window, alone: the same plan as the estimate's. */
  warm_estimate est_text;
  warm_estimate est_g;
  memset(&est_g, 0, sizeof est_g);
  g3_model_estimate(&g->m, &str, 1024, &est_g, &err);
  memset(&est_text, 0, sizeof est_text);
  est_text.window = est.window - est_g.window;
  double over = (double)(peak - (before - est_g.window));
  /* Gemma window + workspace (one layer's activations, accumulators). */
  over -= (double)est_text.window;
  printf("stream W=2: peak %.3f GB; persistent %.3f GB; Gemma window %.3f GB; "
         "text window %.3f GB; workspace %.3f GB\n",
         peak / 1e9, (before - est.window) / 1e9, est_g.window / 1e9,
         est_text.window / 1e9, est.workspace / 1e9);
  printf("encode: resident %.3f s, stream W=2 %.3f s (%d Gemma layers)\n",
         t_res, t_str, layers);
  printf("RESULT ltx2_text_stream_beyond_nonlayer %.3f GB\n", over / 1e9);
  printf("RESULT ltx2_text_text_window %.3f GB\n", est_text.window / 1e9);
  printf("RESULT ltx2_text_encode_resident %.3f s\n", t_res);
  printf("RESULT ltx2_text_encode_stream_w2 %.3f s\n", t_str);
  d->destroy(g);
  g3t_host_fini(&h);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return g3t_failures ? 1 : 0;
}

/*
 * test_ltx2_wiring — `warmd -t` on LTX-2 [pipeline]s of tiny files made
 * here with warm-mkmodel: a good two-stage pipeline (one base, its
 * distilled adapter in stage 2) passes; kinds, context widths, latent
 * channels, audio latent widths and adapters that do not agree fail with
 * both components and both numbers named at the role's line. Then the job
 * rules (wh_wiring_check_job) of each LTX-2 type: frames 8k + 1, sides
 * multiples of 64 for the two-stage types and of 32 for one stage, each
 * message naming the field and the rule.
 */
#include "config.h"
#include "warm/warm.h"
#include "wh_testutil.h"
#include "wiring.h"

#define WARMD WARM_BUILD_DIR "/bin/warmd"
#define MKMODEL WARM_BUILD_DIR "/bin/warm-mkmodel"
#define PLUGINS WARM_BUILD_DIR "/plugins"

static char g_dir[512], g_ini[600], g_text[8192];

/* One pipeline: the files each component reads and the [pipeline] keys.
 * Every path is relative, plugin keys naming files (ltx_checkpoint,
 * lora.NAME) too: they resolve against the config's folder like weights,
 * whatever the working directory (warm_config_path). */
typedef struct spec {
  const char *enc_ckpt, *dit, *up, *audio; /* file stems in g_dir */
  const char *pipeline;                    /* [pipeline] body */
} spec;

static const spec GOOD = {"v20", "v20", "up20", "v20",
                          "type = ltx2\n"
                          "encoder = text_encoder\n"
                          "stages = transformer, transformer+distilled\n"
                          "upsampler = upsampler\n"
                          "decoder = vae\n"
                          "audio_decoder = audio\n"};

static int mk(const char *args) {
  char cmd[1400], out[4096];
  snprintf(cmd, sizeof cmd, "%s %s --quiet", MKMODEL, args);
  int rc = wt_run(cmd, out, sizeof out);
  if (rc) fprintf(stderr, "%s: %s\n", cmd, out);
  return rc;
}

/* Runs warmd -t on the config of s; out gets what it printed. */
static int check(const spec *s, char *out, size_t n) {
  snprintf(g_text, sizeof g_text,
           "[host]\nplugin_dir = %s\nadmin_socket = %s/a.sock\n"
           "[component text_encoder]\nplugin = text_encoder_ltx2\n"
           "weights = gemma\nltx_checkpoint = %s.safetensors\n"
           "max_tokens = 128\nplacement = auto\n"
           "[component transformer]\nplugin = transformer_ltx2\n"
           "weights = %s.safetensors\n"
           "lora.distilled = lora.safetensors 1.0\n"
           "[component upsampler]\nplugin = upsampler_ltx2\n"
           "weights = %s.safetensors\n"
           "[component vae]\nplugin = vae_ltx2\nweights = v20.safetensors\n"
           "[component audio]\nplugin = audio_ltx2\n"
           "weights = %s.safetensors\n"
           "[pipeline]\n%s",
           PLUGINS, g_dir, s->enc_ckpt, s->dit, s->up, s->audio, s->pipeline);
  wt_write(g_ini, "%s", g_text);
  char cmd[1400];
  snprintf(cmd, sizeof cmd, "%s -t -c %s", WARMD, g_ini);
  return wt_run(cmd, out, n);
}

/* The line of the config (last check()) that starts with `key`. */
static int line_of(const char *key) {
  int line = 1;
  for (const char *p = g_text; *p; p++) {
    if ((p == g_text || p[-1] == '\n') && !strncmp(p, key, strlen(key)))
      return line;
    if (*p == '\n') line++;
  }
  return 0;
}

/* 1 when out has "INI:LINE: " followed (on that line) by `what`. */
static int has(const char *out, int line, const char *what) {
  char prefix[700];
  snprintf(prefix, sizeof prefix, "%s:%d: ", g_ini, line);
  for (const char *p = strstr(out, prefix); p; p = strstr(p + 1, prefix)) {
    const char *eol = strchr(p, '\n');
    const char *w = strstr(p, what);
    if (w && (!eol || w < eol)) return 1;
  }
  return 0;
}

static void test_good_pipeline_passes(void) {
  char out[8192];
  CHECK(check(&GOOD, out, sizeof out) == 0 &&
            strstr(out, "configuration OK (5 components"),
        "%s", out);
}

static void test_context_widths_named(void) {
  char out[8192];
  spec s = GOOD;
  s.enc_ckpt = "v23"; /* 2.3 connectors: video 16, audio 8 wide */
  CHECK(check(&s, out, sizeof out) == 1, "%s", out);
  int L = line_of("encoder =");
  CHECK(has(out, L,
            "encoder text_encoder outputs video context width 16 but stage "
            "transformer takes video context width 64") &&
            has(out, L,
                "encoder text_encoder outputs audio context width 8 but "
                "stage transformer takes audio context width 64"),
        "%s", out);
  /* The transformer in both stages is reported once per fault. */
  CHECK(strstr(out, "1 error") == NULL && strstr(out, "2 errors"), "%s", out);
}

static void test_latent_channels_named(void) {
  char out[8192];
  spec s = GOOD;
  s.dit = "c16";
  CHECK(check(&s, out, sizeof out) == 1 &&
            has(out, line_of("stages ="),
                "stage transformer works on 16 latent channels but decoder "
                "vae decodes 8"),
        "%s", out);
  s = GOOD;
  s.up = "up16";
  CHECK(check(&s, out, sizeof out) == 1 &&
            has(out, line_of("upsampler ="),
                "upsampler upsampler works on 16 latent channels but decoder "
                "vae decodes 8"),
        "%s", out);
}

static void test_audio_width_named(void) {
  char out[8192];
  spec s = GOOD;
  s.dit = "a64"; /* audio tokens 64 wide; the audio VAE's are 2 x 16 */
  s.enc_ckpt = "a64";
  CHECK(check(&s, out, sizeof out) == 1 &&
            has(out, line_of("audio_decoder ="),
                "audio_decoder audio decodes audio latents of width 32 (2 "
                "channels x 16 mel bins) but stage transformer makes audio "
                "tokens of width 64"),
        "%s", out);
  /* Without an audio decoder the same transformer makes a silent job. */
  s.pipeline = "type = ltx2\nencoder = text_encoder\n"
               "stages = transformer, transformer+distilled\n"
               "upsampler = upsampler\ndecoder = vae\n";
  CHECK(check(&s, out, sizeof out) == 0, "silent: %s", out);
}

static void test_kinds_named(void) {
  char out[8192];
  spec s = GOOD;
  s.pipeline = "type = ltx2\nencoder = text_encoder\n"
               "stages = transformer, transformer\n"
               "upsampler = vae\ndecoder = upsampler\n"
               "audio_decoder = transformer\n";
  CHECK(check(&s, out, sizeof out) == 1, "%s", out);
  CHECK(has(out, line_of("upsampler ="),
            "'vae' is a vae (plugin vae_ltx2), this role needs an upsampler") &&
            has(out, line_of("decoder ="),
                "'upsampler' is a upsampler (plugin upsampler_ltx2), this "
                "role needs a vae") &&
            has(out, line_of("audio_decoder ="),
                "'transformer' is a transformer (plugin transformer_ltx2), "
                "this role needs an audio_decoder"),
        "%s", out);
  /* An LTX-2 transformer in an LTX-Video pipeline. */
  s.pipeline = "encoder = text_encoder\nstages = transformer\ndecoder = vae\n";
  CHECK(check(&s, out, sizeof out) == 1 &&
            has(out, line_of("stages ="),
                "stage transformer is an LTX-2 transformer (two-modality "
                "token runs); type = ltxv runs latent-grid transformers"),
        "%s", out);
}

static void test_adapter_named(void) {
  char out[8192];
  spec s = GOOD;
  s.pipeline = "type = ltx2_distilled\nencoder = text_encoder\n"
               "stages = transformer+fast\nupsampler = upsampler\n"
               "decoder = vae\n";
  CHECK(check(&s, out, sizeof out) == 1 &&
            has(out, line_of("stages ="),
                "stage 1 'transformer+fast': [component transformer] (line "
                "10) has no key 'lora.fast' (its adapters: lora.distilled)"),
        "%s", out);
  /* One stage with its adapter serves both stages of the distilled type. */
  s.pipeline = "type = ltx2_distilled\nencoder = text_encoder\n"
               "stages = transformer+distilled\nupsampler = upsampler\n"
               "decoder = vae\n";
  CHECK(check(&s, out, sizeof out) == 0, "distilled: %s", out);
}

static void test_pipeline_defaults_checked(void) {
  char out[8192];
  spec s = GOOD;
  s.pipeline = "type = ltx2\nencoder = text_encoder\n"
               "stages = transformer, transformer+distilled\n"
               "upsampler = upsampler\ndecoder = vae\n"
               "frames = 24\nheight = 96\nwidth = 128\n";
  CHECK(check(&s, out, sizeof out) == 1, "%s", out);
  CHECK(has(out, line_of("frames ="),
            "[pipeline] frames = 24: must be 1 + a multiple of 8") &&
            has(out, line_of("height ="),
                "[pipeline] height = 96: must be a multiple of 64 (twice the "
                "decoder's spatial compression 32: stage 1 runs at half "
                "size)") &&
            !has(out, line_of("width ="), "width"),
        "%s", out);
  /* One stage runs at full size: multiples of 32. */
  s.pipeline = "type = ltx2_one_stage\nencoder = text_encoder\n"
               "stages = transformer\ndecoder = vae\nheight = 96\n";
  CHECK(check(&s, out, sizeof out) == 0, "one stage: %s", out);
}

/* ---- the job rules, without plugins ----------------------------------------
 */

static wh_config *parse_type(const char *type, const char *extra) {
  char text[1024];
  snprintf(text, sizeof text,
           "[host]\nplugin_dir = p\nadmin_socket = s\n"
           "[component e]\nplugin = e\n[component t]\nplugin = t\n"
           "[component u]\nplugin = u\n[component v]\nplugin = v\n"
           "[pipeline]\ntype = %s\nencoder = e\nstages = t%s\n%sdecoder = v\n"
           "%s",
           type, strcmp(type, "ltx2") ? "" : ", t",
           strcmp(type, "ltx2_one_stage") ? "upsampler = u\n" : "", extra);
  wh_config *c = NULL;
  if (wh_config_parse("/x/warmd.ini", text, strlen(text), &c) || !c) exit(1);
  for (size_t i = 0; i < c->n_errors; i++)
    fprintf(stderr, "  %s\n", c->errors[i]);
  return c;
}

static int job(const wh_config *c, uint32_t frames, uint32_t h, uint32_t w,
               wh_job_params *p, warm_error *e) {
  wh_pipe_facts f = {.valid = 1,
                     .latent_channels = 128,
                     .temporal_compression = 8,
                     .spatial_compression = 32};
  memset(p, 0, sizeof *p);
  p->prompt = "a fox";
  p->frames = frames;
  p->height = h;
  p->width = w;
  memset(e, 0, sizeof *e);
  return wh_wiring_check_job(&f, &c->pipeline, p, e);
}

static void test_job_rules(void) {
  wh_job_params p;
  warm_error e;
  const char *two[] = {"ltx2", "ltx2_distilled"};
  for (int i = 0; i < 2; i++) {
    wh_config *c = parse_type(two[i], "");
    CHECK(c->n_errors == 0, "%s parses", two[i]);
    CHECK(job(c, 121, 1024, 1536, &p, &e) == 0, "%s: %s", two[i], e.msg);
    CHECK(job(c, 120, 512, 512, &p, &e) == WARM_EINVAL &&
              strstr(e.msg, "frames = 120: must be 1 + a multiple of 8"),
          "%s frames: %s", two[i], e.msg);
    CHECK(job(c, 9, 96, 512, &p, &e) == WARM_EINVAL &&
              strstr(e.msg, "height = 96: must be a multiple of 64 (twice the "
                            "decoder's spatial compression 32"),
          "%s height: %s", two[i], e.msg);
    CHECK(job(c, 9, 512, 800, &p, &e) == WARM_EINVAL &&
              strstr(e.msg, "width = 800: must be a multiple of 64"),
          "%s width: %s", two[i], e.msg);
    /* Absent everywhere: the checkpoint version's defaults (2.0: 121 x
     * 1024 x 1536, 40 steps, 24 fps); guidance stays the guiders'. */
    CHECK(job(c, 0, 0, 0, &p, &e) == 0 && p.frames == 121 &&
              p.height == 1024 && p.width == 1536 && p.steps == 40 &&
              p.fps == 24 && !(p.guidance > 0),
          "%s absent: %s (%u x %u x %u, %u steps, %u fps)", two[i], e.msg,
          p.frames, p.height, p.width, p.steps, p.fps);
    wh_config_free(c);
  }
  wh_config *c = parse_type("ltx2_one_stage", "");
  CHECK(job(c, 9, 96, 160, &p, &e) == 0, "one stage 96 x 160: %s", e.msg);
  CHECK(job(c, 9, 100, 160, &p, &e) == WARM_EINVAL &&
            strstr(e.msg, "height = 100: must be a multiple of 32 (the "
                          "decoder's spatial compression)"),
        "one stage height: %s", e.msg);
  wh_config_free(c);
  /* [pipeline]'s own defaults fill the job's zeros. */
  c = parse_type("ltx2", "frames = 33\nheight = 512\nsteps = 12\nfps = 25\n");
  CHECK(job(c, 0, 0, 768, &p, &e) == 0 && p.frames == 33 && p.height == 512 &&
            p.width == 768 && p.steps == 12 && p.fps == 25,
        "[pipeline] defaults: %s", e.msg);
  wh_config_free(c);
}

int main(void) {
  if (access(WARMD, X_OK) || access(MKMODEL, X_OK) ||
      access(PLUGINS "/transformer_ltx2.so", R_OK)) {
    fprintf(stderr, "FAIL: needs %s, %s and the LTX-2 plugins\n", WARMD,
            MKMODEL);
    return 1;
  }
  wt_tempdir(g_dir, sizeof g_dir, "ltx2wiring");
  snprintf(g_ini, sizeof g_ini, "%s/warmd.ini", g_dir);
  char a[1200];
  const char *models[] = {
      "--arch gemma3 --preset tiny --seed 5 --out %s/gemma",
      "--arch ltx2 --variant 2.0 --preset tiny --seed 1 --out "
      "%s/v20.safetensors",
      "--arch ltx2 --variant 2.3 --preset tiny --seed 2 --out "
      "%s/v23.safetensors",
      "--arch ltx2-upsampler --variant 2.0 --preset tiny --seed 3 --out "
      "%s/up20.safetensors",
      "--arch ltx2-lora --variant 2.0 --preset tiny --rank 2 --seed 4 --out "
      "%s/lora.safetensors",
      "--arch ltx2 --variant 2.0 --preset tiny --seed 6 --set "
      "transformer.in_channels=16 --set transformer.out_channels=16 --out "
      "%s/c16.safetensors",
      "--arch ltx2-upsampler --variant 2.0 --preset tiny --seed 7 --set "
      "in_channels=16 --out %s/up16.safetensors",
      "--arch ltx2 --variant 2.0 --preset tiny --seed 8 --set "
      "transformer.audio_in_channels=64 --set "
      "transformer.audio_out_channels=64 --out %s/a64.safetensors",
  };
  for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
    snprintf(a, sizeof a, models[i], g_dir);
    if (mk(a)) return 1;
  }
  RUN(test_good_pipeline_passes);
  RUN(test_context_widths_named);
  RUN(test_latent_channels_named);
  RUN(test_audio_width_named);
  RUN(test_kinds_named);
  RUN(test_adapter_named);
  RUN(test_pipeline_defaults_checked);
  RUN(test_job_rules);
  if (!wt_failures) wt_rmtree(g_dir);
  return wt_failures ? 1 : 0;
}

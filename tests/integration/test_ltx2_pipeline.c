/*
 * End-to-end parity of warmd's LTX-2 pipelines with ltx-pipelines 1.0.0.
 *
 * The goldens (tests/parity/ltx2_pipeline.py) hold the noise the reference
 * drew, its latents after each stage, the decoded frames and waveform, and
 * in __metadata__ the job and the warm-mkmodel arguments of the tiny files.
 * This test makes the same files, writes warmd configs over them and runs
 * `warmd --once ... --noise GOLDEN --out DIR`, then compares
 * DIR/tensors.safetensors with the golden's expect.* tensors (f32, cpu):
 *
 *   two_stage    [pipeline] type = ltx2, stages = transformer,
 *                transformer+distilled (one base, the LoRA as a run-time
 *                adapter), guided stage 1 (all four passes) — <= 1e-4
 *   distilled    type = ltx2_distilled, one transformer — <= 1e-4
 *   image        two_stage with a first-frame image at strength 0.8, encoded
 *                at each stage's size — <= 1e-4 (latents and waveform; its
 *                golden leaves out the frames)
 *   two_fused    stage 2 a second component with the LoRA fused: the same
 *                tensors as two_stage within 1e-5, and within 1e-4 of the
 *                golden
 *   bad noise    a noise tensor of the wrong shape, or a missing one, is
 *                refused naming the file and the tensor
 *   ledger       warmd serving the adapter config books the transformer's
 *                base once: its resident bytes exceed the fused pair's first
 *                component by the adapter, less than a second copy.
 *
 * Errors are max|warmd - ref| / max|ref| per tensor, all printed.
 */
#include <fcntl.h>
#include <jansson.h>
#include <math.h>

#include "ffprobe_util.h"
#include "http_testutil.h"
#include "warm/safetensors.h"
#include "wh_testutil.h"

#define TOL_REF 1e-4
#define TOL_FUSED 1e-5

static char dir[512];
static char ckpt[700], upsampler[700], lora[700], gemma[700];
static const char *names[] = {"stage1.video", "stage1.audio", "stage2.video",
                              "stage2.audio", "frames",       "waveform"};
enum { N_NAMES = 6 };

/* Runs argv with stdout and stderr to log; returns the exit status or -1
 * (the log is printed when dump_on_failure and the status is not 0). */
static int run_argv(char *const argv[], const char *log, double secs,
                    int dump_on_failure) {
  wt_proc p;
  snprintf(p.log, sizeof p.log, "%s", log);
  p.pid = fork();
  if (p.pid < 0) return -1;
  if (p.pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execv(argv[0], argv);
    _exit(127);
  }
  int rc = wt_wait_exit(&p, secs);
  if (rc != 0 && dump_on_failure) wt_dump_log(&p);
  return rc;
}

static json_t *meta_json(const warm_st *st, const char *key) {
  const char *s = warm_st_metadata(st, key);
  return s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
}

static const char *meta_str(const warm_st *st, const char *key) {
  const char *s = warm_st_metadata(st, key);
  return s ? s : "";
}

/* warm-mkmodel with the arguments the golden recorded under mkmodel.NAME. */
static int mkmodel(const warm_st *golden, const char *name, const char *out) {
  json_t *all = meta_json(golden, "mkmodel");
  json_t *args = all ? json_object_get(all, name) : NULL;
  if (!json_is_array(args)) {
    CHECK(0, "golden metadata has no mkmodel.%s", name);
    json_decref(all);
    return -1;
  }
  char bin[600], log[700];
  snprintf(bin, sizeof bin, "%s/bin/warm-mkmodel", WARM_BUILD_DIR);
  snprintf(log, sizeof log, "%s/mkmodel-%s.log", dir, name);
  char *argv[32];
  size_t n = 0, i;
  json_t *a;
  argv[n++] = bin;
  json_array_foreach(args, i, a) {
    if (n < 27) argv[n++] = (char *)json_string_value(a);
  }
  argv[n++] = "--out";
  argv[n++] = (char *)out;
  argv[n++] = "--quiet";
  argv[n] = NULL;
  int rc = run_argv(argv, log, 120, 1);
  CHECK(rc == 0, "warm-mkmodel %s: exit %d", name, rc);
  json_decref(all);
  return rc;
}

static warm_st *open_golden(const char *job) {
  char path[600];
  snprintf(path, sizeof path, "%s/ltx2/pipeline_%s.safetensors",
           WARM_TEST_DATA, job);
  warm_st *st = NULL;
  warm_error err = {0};
  CHECK(warm_st_open(path, &st, &err) == 0, "%s", err.msg);
  return st;
}

/* type ltx2: one transformer with the LoRA as `lora.distilled` (stages
 * transformer, transformer+distilled), or with two_components a second
 * transformer with the LoRA fused; ltx2_distilled: `stages = transformer`,
 * the one transformer of both stages. */
static void write_config(const char *ini, const char *tag, const char *type,
                         int two_components) {
  char adapter[1024] = "", second[2048] = "";
  const char *stages = "transformer";
  if (!strcmp(type, "ltx2") && two_components) {
    stages = "transformer, transformer.s2";
    snprintf(second, sizeof second,
             "[component transformer.s2]\nplugin = transformer_ltx2\n"
             "weights = %s\nplacement = resident\ndtype = f32\n"
             "lora = %s 1.0\n",
             ckpt, lora);
  } else if (!strcmp(type, "ltx2")) {
    stages = "transformer, transformer+distilled";
    snprintf(adapter, sizeof adapter, "lora.distilled = %s 1.0\n", lora);
  }
  wt_write(ini,
           "[host]\nplugin_dir = %s/plugins\nadmin_socket = %s/%s.sock\n"
           "output_dir = %s/out\n"
           "[device cpu]\nbudget = 2GiB\n"
           "[component text_encoder]\nplugin = text_encoder_ltx2\n"
           "weights = %s\nltx_checkpoint = %s\nmax_tokens = 1024\n"
           "placement = resident\ndtype = f32\n"
           "[component transformer]\nplugin = transformer_ltx2\n"
           "weights = %s\nplacement = resident\ndtype = f32\n%s%s"
           "[component upsampler]\nplugin = upsampler_ltx2\nweights = %s\n"
           "placement = resident\ndtype = f32\n"
           "[component vae]\nplugin = vae_ltx2\nweights = %s\n"
           "placement = resident\ndtype = f32\n"
           "[component audio]\nplugin = audio_ltx2\nweights = %s\n"
           "placement = resident\ndtype = f32\n"
           "[pipeline]\ntype = %s\nencoder = text_encoder\nstages = %s\n"
           "upsampler = upsampler\ndecoder = vae\naudio_decoder = audio\n",
           WARM_BUILD_DIR, dir, tag, dir, gemma, ckpt, ckpt, adapter, second,
           upsampler, ckpt, ckpt, type, stages);
}

static void add(char **argv, size_t *n, const char *a) { argv[(*n)++] = (char *)a; }

/* The guidance flags of one modality from the golden's {cfg, stg, rescale,
 * modality, stg_blocks}; the flag names and values live in buf. */
static void guide_flags(const warm_st *golden, const char *mod, char **argv,
                        size_t *n, char buf[10][64]) {
  static const char *fields[5] = {"cfg", "stg", "rescale", "modality",
                                  "stg-blocks"};
  char key[32];
  snprintf(key, sizeof key, "%s_guider", mod);
  json_t *g = meta_json(golden, key);
  CHECK(g, "golden metadata has no %s", key);
  for (int i = 0; i < 5; i++) {
    snprintf(buf[2 * i], 64, "--%s-%s", mod, fields[i]);
    if (i < 4) {
      snprintf(buf[2 * i + 1], 64, "%.17g",
               json_number_value(json_object_get(g, fields[i])));
    } else {
      size_t j, len = 0;
      json_t *b;
      buf[9][0] = '\0';
      json_array_foreach(json_object_get(g, "stg_blocks"), j, b) {
        len += (size_t)snprintf(buf[9] + len, 64 - len, "%s%lld", j ? "," : "",
                                (long long)json_integer_value(b));
      }
    }
    add(argv, n, buf[2 * i]);
    add(argv, n, buf[2 * i + 1]);
  }
  json_decref(g);
}

/* warmd --once on `ini` with the golden's job and the noise file `noise`
 * (NULL: the golden); the tensors land in out, the output in out.log. */
static int run_job_noise(const char *ini, const warm_st *golden,
                         const char *job, const char *noise, const char *out) {
  char bin[600], log[700], gpath[600], frames[16], height[16], width[16],
      fps[16], steps[16], vb[10][64], ab[10][64], image[600], strength[32];
  snprintf(bin, sizeof bin, "%s/bin/warmd", WARM_BUILD_DIR);
  snprintf(log, sizeof log, "%s.log", out);
  snprintf(gpath, sizeof gpath, "%s/ltx2/pipeline_%s.safetensors",
           WARM_TEST_DATA, job);
  snprintf(frames, sizeof frames, "%s", meta_str(golden, "frames"));
  snprintf(height, sizeof height, "%s", meta_str(golden, "height"));
  snprintf(width, sizeof width, "%s", meta_str(golden, "width"));
  snprintf(fps, sizeof fps, "%.0f", atof(meta_str(golden, "fps")));
  snprintf(steps, sizeof steps, "%s", meta_str(golden, "steps"));
  char *argv[64];
  size_t n = 0;
  add(argv, &n, bin);
  add(argv, &n, "-c");
  add(argv, &n, ini);
  add(argv, &n, "--once");
  add(argv, &n, "--prompt");
  add(argv, &n, meta_str(golden, "prompt"));
  add(argv, &n, "--frames");
  add(argv, &n, frames);
  add(argv, &n, "--height");
  add(argv, &n, height);
  add(argv, &n, "--width");
  add(argv, &n, width);
  add(argv, &n, "--fps");
  add(argv, &n, fps);
  if (warm_st_metadata(golden, "image")) {
    snprintf(image, sizeof image, "%s/%s", WARM_TEST_DATA,
             meta_str(golden, "image"));
    snprintf(strength, sizeof strength, "%s",
             meta_str(golden, "image_strength"));
    add(argv, &n, "--image");
    add(argv, &n, image);
    add(argv, &n, "--image-strength");
    add(argv, &n, strength);
  }
  if (!strcmp(meta_str(golden, "pipeline"), "ltx2")) {
    add(argv, &n, "--steps");
    add(argv, &n, steps);
    add(argv, &n, "--negative-prompt");
    add(argv, &n, meta_str(golden, "negative_prompt"));
    guide_flags(golden, "video", argv, &n, vb);
    guide_flags(golden, "audio", argv, &n, ab);
  }
  add(argv, &n, "--noise");
  add(argv, &n, noise ? noise : gpath);
  add(argv, &n, "--out");
  add(argv, &n, out);
  argv[n] = NULL;
  double t0 = wt_now();
  int rc = run_argv(argv, log, 300, !noise);
  fprintf(stderr, "  warmd --once (%s): exit %d, %.2f s\n", job, rc,
          wt_now() - t0);
  return rc;
}

static int run_job(const char *ini, const warm_st *golden, const char *job,
                   const char *out) {
  int rc = run_job_noise(ini, golden, job, NULL, out);
  CHECK(rc == 0, "warmd --once %s failed (log above)", job);
  return rc;
}

/* max|a - b| / max|b| over two f32 tensors of the same shape; -1 when the
 * shapes or dtypes differ. */
static double rel_error(const warm_tensor *a, const warm_tensor *b) {
  if (a->dtype != WARM_F32 || b->dtype != WARM_F32 || a->ndim != b->ndim)
    return -1;
  size_t n = 1;
  for (int32_t d = 0; d < a->ndim; d++) {
    if (a->shape[d] != b->shape[d]) return -1;
    n *= (size_t)a->shape[d];
  }
  const float *x = a->data, *y = b->data;
  double dmax = 0, ymax = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)x[i] - y[i]);
    if (!(d <= dmax)) dmax = d; /* NaN propagates */
    if (fabs(y[i]) > ymax) ymax = fabs(y[i]);
  }
  return ymax > 0 ? dmax / ymax : dmax;
}

static void shape_str(const warm_tensor *t, char *buf, size_t n) {
  size_t len = (size_t)snprintf(buf, n, "[");
  for (int32_t d = 0; d < t->ndim && len < n; d++)
    len += (size_t)snprintf(buf + len, n - len, "%s%lld", d ? ", " : "",
                            (long long)t->shape[d]);
  if (len < n) snprintf(buf + len, n - len, "]");
}

/* Compares every output tensor of `got` with `ref` (golden: expect.NAME). */
static void compare(const char *label, const char *got_path,
                    const warm_st *ref, int ref_is_golden, double tol) {
  warm_st *got = NULL;
  warm_error err = {0};
  CHECK(warm_st_open(got_path, &got, &err) == 0, "%s: %s", label, err.msg);
  if (!got) return;
  for (int i = 0; i < N_NAMES; i++) {
    char rname[64], sa[64], sb[64];
    snprintf(rname, sizeof rname, "%s%s", ref_is_golden ? "expect." : "",
             names[i]);
    warm_tensor a, b;
    if (ref_is_golden && !warm_st_find(ref, rname)) {
      fprintf(stderr, "  %-10s %-13s (not in the golden)\n", label, names[i]);
      continue;
    }
    int ok = warm_st_get(got, names[i], &a, &err) == 0;
    CHECK(ok, "%s: %s", label, err.msg);
    if (!ok) continue;
    ok = warm_st_get(ref, rname, &b, &err) == 0;
    CHECK(ok, "%s: %s", label, err.msg);
    if (!ok) continue;
    double e = rel_error(&a, &b);
    shape_str(&a, sa, sizeof sa);
    shape_str(&b, sb, sizeof sb);
    fprintf(stderr, "  %-10s %-13s %-20s rel. error %.3g\n", label, names[i],
            sa, e);
    CHECK(e >= 0, "%s %s: shape %s (%s), reference %s", label, names[i], sa,
          warm_dtype_name(a.dtype), sb);
    CHECK(e >= 0 && e <= tol, "%s %s: rel. error %.3g > %.0e", label,
          names[i], e, tol);
  }
  warm_st_close(got);
}

/* The job's video.mp4 plays: one H.264 stream of frames / fps seconds and
 * one AAC stream as long as result.json's audio; audio.wav is there. */
static void check_media(const char *out, const warm_st *golden) {
  char path[700];
  snprintf(path, sizeof path, "%s/result.json", out);
  json_t *r = json_load_file(path, 0, NULL);
  json_t *au = r ? json_object_get(r, "audio") : NULL;
  const double secs = json_real_value(json_object_get(au, "seconds"));
  const int rate = (int)json_integer_value(json_object_get(au, "sample_rate"));
  CHECK(au && secs > 0 && rate > 0, "result.json has audio {sample_rate, "
        "seconds}");
  snprintf(path, sizeof path, "%s/audio.wav", out);
  CHECK(access(path, R_OK) == 0, "the job wrote %s", path);
  if (!wt_have_ffprobe()) {
    printf("  SKIP ffprobe check: no ffprobe on PATH (Debian package ffmpeg)\n");
    json_decref(r);
    return;
  }
  snprintf(path, sizeof path, "%s/video.mp4", out);
  wt_probe pr;
  CHECK(wt_ffprobe(path, &pr) == 0, "ffprobe reads %s", path);
  const double want = atof(meta_str(golden, "frames")) /
                      atof(meta_str(golden, "fps"));
  CHECK(pr.n_h264 == 1 && pr.n_aac == 1 && pr.n_other == 0,
        "video.mp4: %d h264, %d aac, %d other streams", pr.n_h264, pr.n_aac,
        pr.n_other);
  CHECK(fabs(pr.video_s - want) <= 1.0 / atof(meta_str(golden, "fps")) + 1e-9,
        "video.mp4: video %.4f s, want %.4f", pr.video_s, want);
  CHECK(rate > 0 && fabs(pr.audio_s - secs) <= 1024.0 / rate,
        "video.mp4: audio %.4f s, result.json says %.4f", pr.audio_s, secs);
  printf("  ffprobe video.mp4: h264 %.4f s (want %.4f), aac %.4f s at %d Hz "
         "(result.json %.4f s)\n",
         pr.video_s, want, pr.audio_s, pr.audio_rate, secs);
  json_decref(r);
}

static void test_two_stage_guided_with_adapter(void) {
  warm_st *g = open_golden("two_stage");
  if (!g) return;
  char ini[600], out[600], path[700];
  snprintf(ini, sizeof ini, "%s/adapter.ini", dir);
  snprintf(out, sizeof out, "%s/two_stage", dir);
  write_config(ini, "adapter", "ltx2", 0);
  if (run_job(ini, g, "two_stage", out) == 0) {
    snprintf(path, sizeof path, "%s/tensors.safetensors", out);
    compare("two_stage", path, g, 1, TOL_REF);
    check_media(out, g);
  }
  warm_st_close(g);
}

static void test_distilled(void) {
  warm_st *g = open_golden("distilled");
  if (!g) return;
  char ini[600], out[600], path[700];
  snprintf(ini, sizeof ini, "%s/distilled.ini", dir);
  snprintf(out, sizeof out, "%s/distilled", dir);
  write_config(ini, "distilled", "ltx2_distilled", 0);
  if (run_job(ini, g, "distilled", out) == 0) {
    snprintf(path, sizeof path, "%s/tensors.safetensors", out);
    compare("distilled", path, g, 1, TOL_REF);
  }
  warm_st_close(g);
}

static void test_two_stage_with_first_frame_image(void) {
  warm_st *g = open_golden("image");
  if (!g) return;
  char ini[600], out[600], path[700];
  snprintf(ini, sizeof ini, "%s/adapter.ini", dir);
  snprintf(out, sizeof out, "%s/image", dir);
  if (run_job(ini, g, "image", out) == 0) {
    snprintf(path, sizeof path, "%s/tensors.safetensors", out);
    compare("image", path, g, 1, TOL_REF);
  }
  warm_st_close(g);
}

static void test_fused_second_component_matches_adapter(void) {
  warm_st *g = open_golden("two_stage");
  if (!g) return;
  char ini[600], out[600], path[700], ref[700];
  snprintf(ini, sizeof ini, "%s/fused.ini", dir);
  snprintf(out, sizeof out, "%s/two_fused", dir);
  write_config(ini, "fused", "ltx2", 1);
  if (run_job(ini, g, "two_stage", out) == 0) {
    snprintf(path, sizeof path, "%s/tensors.safetensors", out);
    compare("two_fused", path, g, 1, TOL_REF);
    snprintf(ref, sizeof ref, "%s/two_stage/tensors.safetensors", dir);
    warm_st *adapter = NULL;
    warm_error err = {0};
    CHECK(warm_st_open(ref, &adapter, &err) == 0, "adapter run: %s", err.msg);
    if (adapter) compare("fused/adap", path, adapter, 0, TOL_FUSED);
    warm_st_close(adapter);
  }
  warm_st_close(g);
}

static int file_has(const char *path, const char *needle) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  return strstr(buf, needle) != NULL;
}

/* A noise file whose stage-1 video noise has the wrong shape, or lacks the
 * audio noise, is refused naming the file and the tensor. */
static void test_bad_noise_is_refused_by_name(void) {
  warm_st *g = open_golden("two_stage");
  if (!g) return;
  char ini[600], out[600], path[600], log[700];
  snprintf(ini, sizeof ini, "%s/adapter.ini", dir);
  float buf[5 * 8] = {0};
  warm_tensor t = {0};
  t.name = "stage1.video";
  t.dtype = WARM_F32;
  t.ndim = 2;
  t.shape[0] = 5;
  t.shape[1] = 8;
  t.data = buf;
  t.scale = 1.0f;
  const char *want[2] = {"stage1.video", "stage1.audio"};
  for (int k = 0; k < 2; k++) {
    warm_tensor v;
    warm_error err = {0};
    snprintf(path, sizeof path, "%s/bad-noise-%d.safetensors", dir, k);
    if (k == 1) {
      /* The right video noise, no audio noise. */
      CHECK(warm_st_get(g, "stage1.video", &v, &err) == 0, "%s", err.msg);
      t = v;
      t.name = "stage1.video";
    }
    CHECK(warm_st_write_file(path, &t, 1, NULL, 0, &err) == 0, "%s", err.msg);
    snprintf(out, sizeof out, "%s/bad-noise-%d", dir, k);
    snprintf(log, sizeof log, "%s.log", out);
    int rc = run_job_noise(ini, g, "two_stage", path, out);
    CHECK(rc == 1, "bad noise %d: exit %d, want 1", k, rc);
    CHECK(file_has(log, path) && file_has(log, want[k]),
          "bad noise %d: the error names neither %s nor '%s'", k, path,
          want[k]);
  }
  warm_st_close(g);
}

/* The resident bytes `show memory json` books for component `name`. */
static long long resident_of(const char *rep, const char *name) {
  json_t *doc = rep ? json_loads(rep, 0, NULL) : NULL;
  long long total = -1;
  size_t i, j;
  json_t *dev, *c;
  json_array_foreach(json_object_get(doc, "devices"), i, dev) {
    json_array_foreach(json_object_get(dev, "components"), j, c) {
      const char *cn = json_string_value(json_object_get(c, "name"));
      if (cn && !strcmp(cn, name))
        total = json_integer_value(json_object_get(c, "resident"));
    }
  }
  json_decref(doc);
  return total;
}

/* Starts warmd on ini, returns `show memory json` (malloc'd) or NULL. */
static char *serve_and_show_memory(const char *ini, const char *tag) {
  char bin[600], log[700], sock[700];
  snprintf(bin, sizeof bin, "%s/bin/warmd", WARM_BUILD_DIR);
  snprintf(log, sizeof log, "%s/%s-daemon.log", dir, tag);
  snprintf(sock, sizeof sock, "%s/%s.sock", dir, tag);
  char *argv[] = {bin, "-c", (char *)ini, NULL};
  wt_proc p;
  CHECK(wt_spawn(&p, log, argv) == 0, "spawn warmd");
  if (wt_wait_socket(&p, sock, 60) != 0) {
    wt_dump_log(&p);
    CHECK(0, "%s: warmd did not come up", tag);
    return NULL;
  }
  char *rep = wt_cmd(sock, "show memory json");
  kill(p.pid, SIGTERM);
  CHECK(wt_wait_exit(&p, 30) == 0, "%s: clean exit", tag);
  return rep;
}

static void test_ledger_books_the_base_once(void) {
  char ini_a[600], ini_f[600];
  snprintf(ini_a, sizeof ini_a, "%s/adapter.ini", dir);
  snprintf(ini_f, sizeof ini_f, "%s/fused.ini", dir);
  char *a = serve_and_show_memory(ini_a, "adapter");
  char *f = serve_and_show_memory(ini_f, "fused");
  long long base_adapter = resident_of(a, "transformer");
  long long base = resident_of(f, "transformer");
  long long second = resident_of(f, "transformer.s2");
  fprintf(stderr,
          "  resident: base+adapter %lld; two components %lld + %lld\n",
          base_adapter, base, second);
  CHECK(base > 0 && second == base, "fused pair: %lld and %lld", base, second);
  /* One base plus the adapter's A and S*B: more than the plain base, less
   * than a second copy of it. */
  CHECK(base_adapter > base && base_adapter - base < second,
        "base+adapter books %lld bytes; base alone %lld, second copy %lld",
        base_adapter, base, second);
  free(a);
  free(f);
}

/* The daemon end to end: an HTTP POST with every LTX-2 field (negative
 * prompt, a base64 PNG for the first frame, per-modality guidance) runs,
 * and its video.mp4 and audio.wav are served. A request whose default STG
 * block is past the tiny transformer's 2 blocks is refused at POST, naming
 * the field. */
static void test_http_job_with_image_and_sound(void) {
  char ini[600], log[700], sock[700], bin[600], body[400000], b64[300000];
  snprintf(ini, sizeof ini, "%s/http.ini", dir);
  write_config(ini, "http", "ltx2", 0);
  /* write_config's [host] plus an HTTP listener. */
  char *text = wt_read_text(ini);
  CHECK(text, "read %s", ini);
  if (!text) return;
  const char *host = strstr(text, "[host]\n");
  wt_write(ini, "[host]\nhttp_listen = 127.0.0.1:0\n%s", host + 7);
  free(text);
  char cmd[900];
  snprintf(cmd, sizeof cmd, "base64 -w0 '%s/tests/data/ltx2/image_in.png'",
           WARM_SOURCE_DIR);
  FILE *pp = popen(cmd, "r");
  size_t n = pp ? fread(b64, 1, sizeof b64 - 1, pp) : 0;
  if (pp) pclose(pp);
  b64[n] = '\0';
  CHECK(n > 100, "base64 of the test picture (%zu bytes)", n);

  snprintf(bin, sizeof bin, "%s/bin/warmd", WARM_BUILD_DIR);
  snprintf(log, sizeof log, "%s/http-daemon.log", dir);
  snprintf(sock, sizeof sock, "%s/http.sock", dir);
  char *argv[] = {bin, "-c", ini, NULL};
  wt_proc p;
  CHECK(wt_spawn(&p, log, argv) == 0, "spawn warmd");
  if (wt_wait_socket(&p, sock, 60) != 0) {
    wt_dump_log(&p);
    CHECK(0, "warmd did not come up");
    return;
  }
  int port = -1;
  for (double end = wt_now() + 10; port < 0 && wt_now() < end;) {
    char *l = wt_read_text(log);
    const char *q = l ? strstr(l, "(port ") : NULL;
    if (q) port = atoi(q + 6);
    free(l);
    if (port < 0) poll(NULL, 0, 10);
  }
  CHECK(port > 0, "warmd logged its HTTP port");
  ht_resp r;
  ht_request(port, "POST", "/v1/generations",
             "{\"prompt\": \"a fox\", \"frames\": 9, \"height\": 128, "
             "\"width\": 192, \"steps\": 2}",
             &r);
  CHECK(r.status == 422 && strstr(r.body, "video_guidance.stg_blocks") &&
            strstr(r.body, "2 blocks"),
        "default STG block refused at POST: %d %.300s", r.status, r.body);
  ht_free(&r);
  snprintf(body, sizeof body,
           "{\"prompt\": \"a red fox running through snow\", "
           "\"negative_prompt\": \"blurry\", \"frames\": 17, "
           "\"height\": 128, \"width\": 192, \"steps\": 2, \"seed\": 7, "
           "\"image\": \"%s\", \"image_strength\": 0.9, "
           "\"video_guidance\": {\"cfg\": 2.5, \"stg_blocks\": [1]}, "
           "\"audio_guidance\": {\"stg_blocks\": [0], \"modality\": 2}}",
           b64);
  ht_request(port, "POST", "/v1/generations", body, &r);
  json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
  char id[64];
  snprintf(id, sizeof id, "%s",
           j ? json_string_value(json_object_get(j, "id")) : "");
  CHECK(r.status == 202 && id[0], "POST accepted: %d %.300s", r.status,
        r.body);
  json_decref(j);
  ht_free(&r);
  char path[200];
  snprintf(path, sizeof path, "/v1/generations/%s", id);
  json_t *res = NULL;
  const char *state = "?";
  for (double end = wt_now() + 120; wt_now() < end;) {
    ht_request(port, "GET", path, NULL, &r);
    j = json_loadb(r.body, r.body_len, 0, NULL);
    ht_free(&r);
    state = j ? json_string_value(json_object_get(j, "state")) : "?";
    if (state && strcmp(state, "queued") && strcmp(state, "running")) break;
    json_decref(j);
    j = NULL;
    poll(NULL, 0, 50);
  }
  CHECK(j && state && !strcmp(state, "done"), "job done: %s (%s)",
        state ? state : "?",
        j ? json_string_value(json_object_get(j, "error")) : "");
  res = j ? json_object_get(j, "result") : NULL;
  json_t *vg = json_object_get(res, "video_guidance"),
         *st = json_object_get(res, "stages");
  CHECK(json_real_value(json_object_get(vg, "cfg")) == 2.5 &&
            json_is_true(json_object_get(res, "image")) &&
            json_integer_value(json_object_get(
                json_object_get(st, "stage1"), "passes")) == 4 &&
            !strcmp(json_string_value(json_object_get(
                        json_object_get(st, "stage2"), "adapter")),
                    "distilled"),
        "result.json: cfg, image, 4 passes, stage 2's adapter");
  json_decref(j);
  snprintf(path, sizeof path, "/v1/generations/%s/video.mp4", id);
  ht_request(port, "GET", path, NULL, &r);
  CHECK(r.status == 200 && !strcmp(r.content_type, "video/mp4") &&
            r.body_len > 8 && !memcmp(r.body + 4, "ftyp", 4),
        "video.mp4 served: %d %s", r.status, r.content_type);
  ht_free(&r);
  snprintf(path, sizeof path, "/v1/generations/%s/audio.wav", id);
  ht_request(port, "GET", path, NULL, &r);
  CHECK(r.status == 200 && !strcmp(r.content_type, "audio/wav") &&
            r.body_len > 44 && !memcmp(r.body, "RIFF", 4),
        "audio.wav served: %d %s", r.status, r.content_type);
  ht_free(&r);
  kill(p.pid, SIGTERM);
  CHECK(wt_wait_exit(&p, 30) == 0, "clean exit");
}

int main(void) {
  wt_tempdir(dir, sizeof dir, "ltx2-pipeline");
  snprintf(ckpt, sizeof ckpt, "%s/ckpt.safetensors", dir);
  snprintf(upsampler, sizeof upsampler, "%s/upsampler.safetensors", dir);
  snprintf(lora, sizeof lora, "%s/lora.safetensors", dir);
  snprintf(gemma, sizeof gemma, "%s/gemma", dir);
  warm_st *g = open_golden("two_stage");
  warm_st *gd = open_golden("distilled");
  const char *a = g ? warm_st_metadata(g, "mkmodel") : NULL;
  const char *b = gd ? warm_st_metadata(gd, "mkmodel") : NULL;
  CHECK(a && b && !strcmp(a, b), "both goldens name the same tiny files");
  int ok = g && !mkmodel(g, "ckpt", ckpt) && !mkmodel(g, "upsampler", upsampler) &&
           !mkmodel(g, "lora", lora) && !mkmodel(g, "gemma", gemma);
  warm_st_close(g);
  warm_st_close(gd);
  if (ok) {
    RUN(test_two_stage_guided_with_adapter);
    RUN(test_distilled);
    RUN(test_two_stage_with_first_frame_image);
    RUN(test_fused_second_component_matches_adapter);
    RUN(test_bad_noise_is_refused_by_name);
    RUN(test_ledger_books_the_base_once);
    RUN(test_http_job_with_image_and_sound);
  }
  if (wt_failures == 0) wt_rmtree(dir);
  else fprintf(stderr, "files kept in %s\n", dir);
  return wt_failures ? 1 : 0;
}

/*
 * test_config — the INI loader: good files, every kind of bad line (each
 * reported as FILE:LINE with a reason, all of them collected), size units,
 * defaults, relative paths, and render -> parse round trips.
 */
#include <jansson.h>
#include <stdint.h>

#include "../integration/wh_testutil.h"
#include "config.h"

#define P "/etc/warmd/test.ini"

static wh_config *parse(const char *text) {
  wh_config *c = NULL;
  int rc = wh_config_parse(P, text, strlen(text), &c);
  if (rc || !c) {
    fprintf(stderr, "parse failed rc=%d\n", rc);
    exit(1);
  }
  return c;
}

static void dump_errors(const wh_config *c) {
  for (size_t i = 0; i < c->n_errors; i++)
    fprintf(stderr, "  error: %s\n", c->errors[i]);
}

/* 1 when some error starts with "P:line: " and contains `what`. */
static int has_error(const wh_config *c, int line, const char *what) {
  char prefix[256];
  if (line > 0)
    snprintf(prefix, sizeof prefix, "%s:%d: ", P, line);
  else
    snprintf(prefix, sizeof prefix, "%s: ", P);
  for (size_t i = 0; i < c->n_errors; i++)
    if (!strncmp(c->errors[i], prefix, strlen(prefix)) &&
        strstr(c->errors[i], what))
      return 1;
  return 0;
}

static const char *HOST = "[host]\n"               /* 1 */
                          "plugin_dir = plugins\n" /* 2 */
                          "admin_socket = /run/warmd.sock\n" /* 3 */;

static void test_good_file_parses_every_section(void) {
  const char *text =
      "; comment\n"
      "[host]\n"
      "plugin_dir = ../lib/plugins\n"
      "admin_socket = /run/warmd/admin.sock\n"
      "admin_socket_mode = 0660\n"
      "stats_socket = stats.sock\n"
      "output_dir = /var/lib/warmd/out\n"
      "log_level = debug\n"
      "[device cpu]\n"
      "budget = 1.5GB\n"
      "reserve = 64k\n"
      "threads = 3\n"
      "[device cuda:1]\n"
      "budget = 92GiB\n"
      "reserve = 256MiB\n"
      "[cache]\n"
      "embeddings = 2GiB\n"
      "[component text_encoder]\n"
      "plugin = text_encoder_gemma3\n"
      "weights = models/gemma  ; inline comment\n"
      "device = cpu\n"
      "placement = stream\n"
      "stream_window = 3\n"
      "stream_source = mmap\n"
      "dtype = bf16\n"
      "priority = -5\n"
      "max_tokens = 128\n"
      "output = all\n"
      "[component transformer.stage1]\n"
      "plugin = transformer_ltxv\n"
      "device = cuda:1\n"
      "placement = auto\n"
      "dtype = fp8\n"
      "[component vae]\n"
      "plugin = vae_ltxv.so\n"
      "device = cuda:1\n"
      "[pipeline]\n"
      "encoder = text_encoder\n"
      "stages = transformer.stage1, transformer.stage1\n"
      "decoder = vae\n"
      "frames = 17\nheight = 256\nwidth = 384\nsteps = 30\nfps = 25\n"
      "guidance = 4.5\n";
  wh_config *c = parse(text);
  CHECK(c->n_errors == 0, "%zu errors", c->n_errors);
  dump_errors(c);
  CHECK(!strcmp(c->plugin_dir, "/etc/warmd/../lib/plugins"), "%s",
        c->plugin_dir);
  CHECK(!strcmp(c->stats_socket, "/etc/warmd/stats.sock"), "%s",
        c->stats_socket);
  CHECK(c->admin_socket_mode == 0660, "%o", c->admin_socket_mode);
  CHECK(c->log_level == 3, "%d", c->log_level);
  CHECK(c->n_devices == 2, "%zu", c->n_devices);
  const wh_cfg_device *cpu = wh_config_device(c, "cpu");
  const wh_cfg_device *g = wh_config_device(c, "cuda:1");
  CHECK(cpu && cpu->budget == 1500000000ull && cpu->reserve == 65536 &&
            cpu->threads == 3,
        "cpu budget");
  CHECK(g && g->budget == 92ull << 30 && g->reserve == 256ull << 20,
        "cuda budget");
  CHECK(c->cache_embeddings == 2ull << 30, "cache");
  CHECK(c->n_components == 3, "%zu", c->n_components);
  const wh_cfg_component *te = wh_config_component(c, "text_encoder");
  CHECK(te && te->placement == WARM_PLACE_STREAM && te->stream_window == 3 &&
            te->stream_source == WARM_SOURCE_MMAP && te->dtype == WARM_BF16 &&
            te->priority == -5,
        "text_encoder settings");
  CHECK(te && !strcmp(te->weights, "/etc/warmd/models/gemma"), "%s",
        te ? te->weights : "");
  CHECK(te && te->n_plugin_keys == 2 &&
            !strcmp(te->plugin_keys[0].key, "max_tokens") &&
            !strcmp(te->plugin_keys[1].value, "all"),
        "plugin keys in file order");
  CHECK(te && !strcmp(wh_cfg_component_get(te, "dtype"), "bf16"),
        "config_get sees standard keys too");
  const wh_cfg_component *tr = wh_config_component(c, "transformer.stage1");
  CHECK(tr && tr->device.type == WARM_DEVICE_CUDA && tr->device.index == 1 &&
            tr->placement == WARM_PLACE_AUTO && tr->dtype == WARM_FP8_E4M3,
        "transformer settings");
  CHECK(c->pipeline.present && c->pipeline.n_stages == 2 &&
            c->pipeline.frames == 17 && c->pipeline.guidance == 4.5,
        "pipeline");
  wh_config_free(c);
}

static void test_defaults_and_implicit_cpu_device(void) {
  char text[1024];
  snprintf(text, sizeof text, "%s[component a]\nplugin = x\n", HOST);
  wh_config *c = parse(text);
  CHECK(c->n_errors == 0, "errors");
  dump_errors(c);
  const wh_cfg_component *a = wh_config_component(c, "a");
  CHECK(a && a->placement == WARM_PLACE_RESIDENT && a->stream_window == 2 &&
            a->stream_source == WARM_SOURCE_PINNED && a->dtype == WARM_F32 &&
            a->priority == 0 && !strcmp(a->device_name, "cpu"),
        "component defaults");
  CHECK(c->admin_socket_mode == 0600, "mode default %o", c->admin_socket_mode);
  CHECK(!c->http_listen && c->max_body == 16u << 20 && c->max_queue == 64 &&
            c->shutdown_timeout == 30,
        "HTTP defaults: off, 16 MiB, 64, 30 s");
  const wh_cfg_device *cpu = wh_config_device(c, "cpu");
  CHECK(cpu && cpu->implicit && cpu->budget == wh_physical_ram(),
        "cpu default budget = physical RAM - 0");
  wh_config_free(c);
}

/* Each case: one bad line appended after HOST (so it is line 4 or 5). */
static void test_each_bad_line_is_reported_at_its_line(void) {
  static const struct {
    const char *text; /* appended after HOST */
    int line;
    const char *what;
  } cases[] = {
      {"[bogus]\n", 4, "unknown section [bogus]"},
      {"bogus_key = 1\n", 4, "unknown key 'bogus_key' in [host]"},
      {"admin_socket_mode = 999\n", 4, "bad admin_socket_mode"},
      {"admin_socket_mode = 0400\n", 4, "owner needs rw"},
      {"log_level = loud\n", 4, "bad log_level 'loud'"},
      {"http_listen = 8080\n", 4, "expected ADDR:PORT"},
      {"http_listen = 127.0.0.1:99999\n", 4, "port must be 0..65535"},
      {"http_listen = localhost:80\n", 4, "not a numeric IPv4"},
      {"http_listen = :80\nhttp_listen = :81\n", 5,
       "duplicate key 'http_listen' (first at line 4)"},
      {"max_body = 10\n", 4, "bad max_body '10'"},
      {"max_body = 2GiB\n", 4, "bad max_body"},
      {"max_queue = 0\n", 4, "bad max_queue '0'"},
      {"max_queue = many\n", 4, "bad max_queue"},
      {"shutdown_timeout = -1\n", 4, "bad shutdown_timeout '-1'"},
      {"shutdown_timeout = 1e9\n", 4, "bad shutdown_timeout"},
      {"plugin_dir = again\n", 4,
       "duplicate key 'plugin_dir' (first at line 2)"},
      {"this line has no equals sign\n", 4, "syntax error"},
      {"[device cpu]\nbudget = 12 parsecs\n", 5, "bad size '12 parsecs'"},
      {"[device cpu]\nbudget = -1GiB\n", 5, "bad size"},
      {"[device cpu]\ncolour = red\n", 5,
       "unknown key 'colour' in [device cpu]"},
      {"[device cpu]\nthreads = -1\n", 5, "bad threads '-1'"},
      {"[device cpu]\nthreads = many\n", 5, "bad threads 'many'"},
      {"[device cpu]\nthreads = 257\n", 5, "bad threads '257'"},
      {"[device cpu]\nthreads = 1\nthreads = 2\n", 6,
       "duplicate key 'threads' (first at line 5)"},
      {"[device cuda:0]\nthreads = 2\n", 5,
       "threads is a key of [device cpu] only"},
      {"[device tpu:0]\n", 4, "bad device 'tpu:0'"},
      {"[device cpu]\n[device cpu]\n", 5, "duplicate section [device cpu]"},
      {"[cache]\nembeddings = lots\n", 5, "bad size 'lots'"},
      {"[cache]\nsize = 1\n", 5, "unknown key 'size' in [cache]"},
      {"[component a]\nplugin = p\nplacement = sideways\n", 6,
       "bad placement 'sideways'"},
      {"[component a]\nplugin = p\nstream_window = 0\n", 6,
       "bad stream_window '0'"},
      {"[component a]\nplugin = p\nstream_window = 2x\n", 6,
       "bad stream_window"},
      {"[component a]\nplugin = p\nstream_source = nfs\n", 6,
       "bad stream_source 'nfs'"},
      {"[component a]\nplugin = p\ndtype = f64\n", 6, "bad dtype 'f64'"},
      {"[component a]\nplugin = p\npriority = high\n", 6, "bad priority"},
      {"[component a]\nplugin = p\ndevice = gpu0\n", 6, "bad device 'gpu0'"},
      {"[component a]\nplugin = p\nplugin = q\n", 6,
       "duplicate key 'plugin' (first at line 5)"},
      {"[component a]\ndim = 4\n", 4, "needs 'plugin = NAME'"},
      {"[component a b]\nplugin = p\n", 4, "bad component name 'a b'"},
      {"[component a]\nplugin = p\n[component a]\nplugin = p\n", 6,
       "duplicate section [component a]"},
      {"[pipeline]\nencoder = nobody\n", 5,
       "encoder 'nobody' is not a component"},
      {"[pipeline]\nstages = a, ghost\n", 5, "stage 'a' is not a component"},
      {"[pipeline]\nframes = 0\n", 5, "bad frames '0'"},
      {"[pipeline]\nfps = fast\n", 5, "bad fps 'fast'"},
      {"[pipeline]\nseed = 3\n", 5, "unknown key 'seed' in [pipeline]"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[2048];
    snprintf(text, sizeof text, "%s%s", HOST, cases[i].text);
    wh_config *c = parse(text);
    int ok = has_error(c, cases[i].line, cases[i].what);
    CHECK(ok, "case %zu: want line %d '%s'", i, cases[i].line, cases[i].what);
    if (!ok) dump_errors(c);
    wh_config_free(c);
  }
}

static void test_key_before_any_section_and_missing_host_keys(void) {
  wh_config *c = parse("stray = 1\n[cache]\nembeddings = 1\n");
  CHECK(has_error(c, 1, "outside any section"), "stray key");
  CHECK(has_error(c, 0, "admin_socket is required"), "admin_socket");
  CHECK(has_error(c, 0, "plugin_dir is required"), "plugin_dir");
  wh_config_free(c);
}

static void test_all_errors_are_collected_not_just_the_first(void) {
  char text[1024];
  snprintf(text, sizeof text,
           "%s[device cpu]\nbudget = nope\n[component a]\nplugin = p\n"
           "dtype = f7\nplacement = x\n[wat]\n",
           HOST);
  wh_config *c = parse(text);
  CHECK(c->n_errors == 4, "%zu errors", c->n_errors);
  CHECK(has_error(c, 5, "bad size"), "line 5");
  CHECK(has_error(c, 8, "bad dtype"), "line 8");
  CHECK(has_error(c, 9, "bad placement"), "line 9");
  CHECK(has_error(c, 10, "unknown section"), "line 10");
  wh_config_free(c);
}

static void test_overlong_line_is_an_error_not_a_split(void) {
  char *text = malloc(12000);
  int n = snprintf(text, 12000, "%s[component a]\nplugin = p\nnote = ", HOST);
  memset(text + n, 'x', 9000);
  strcpy(text + n + 9000, "\ndtype = f32\n");
  wh_config *c = parse(text);
  CHECK(has_error(c, 6, "line too long"), "long line");
  CHECK(c->n_errors == 1, "%zu errors (the next line still parses)",
        c->n_errors);
  wh_config_free(c);
  /* Up to 4094 bytes per line is fine. */
  n = snprintf(text, 12000, "%s[component a]\nplugin = p\nnote = ", HOST);
  memset(text + n, 'y', 4000);
  strcpy(text + n + 4000, "\n");
  c = parse(text);
  const wh_cfg_component *a = wh_config_component(c, "a");
  const char *note = a ? wh_cfg_component_get(a, "note") : NULL;
  CHECK(c->n_errors == 0 && note && strlen(note) == 4000, "4000-byte value");
  dump_errors(c);
  wh_config_free(c);
  free(text);
}

/* Random sizes in every unit against the arithmetic they stand for. */
static void test_size_units_random(void) {
  unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
  fprintf(stderr, "seed %u\n", seed);
  srand(seed);
  static const struct {
    const char *unit;
    uint64_t mult;
  } units[] = {{"", 1},
               {"KiB", 1ull << 10},
               {"MiB", 1ull << 20},
               {"GiB", 1ull << 30},
               {"kB", 1000},
               {"MB", 1000000},
               {"GB", 1000000000}};
  for (int i = 0; i < 200; i++) {
    int u = rand() % 7;
    uint64_t n = (uint64_t)(rand() % 100000);
    char text[512];
    snprintf(text, sizeof text, "%s[device cpu]\nbudget = %llu%s\n", HOST,
             (unsigned long long)n, units[u].unit);
    wh_config *c = parse(text);
    const wh_cfg_device *d = wh_config_device(c, "cpu");
    CHECK(c->n_errors == 0 && d && d->budget == n * units[u].mult,
          "%llu%s -> %llu", (unsigned long long)n, units[u].unit,
          d ? (unsigned long long)d->budget : 0ull);
    wh_config_free(c);
  }
  wh_config *c = parse("[host]\nplugin_dir=p\nadmin_socket=s\n"
                       "[device cpu]\nbudget = 1.5GB\nreserve = 0.5KiB\n");
  const wh_cfg_device *d = wh_config_device(c, "cpu");
  CHECK(d && d->budget == 1500000000ull && d->reserve == 512,
        "fractional units");
  wh_config_free(c);
}

/* The normalised text parses back to the same normalised text. */
static void test_render_round_trips(void) {
  char dir[512], path[700];
  wt_tempdir(dir, sizeof dir, "cfg");
  snprintf(path, sizeof path, "%s/a.ini", dir);
  wt_write(path, "[host]\nplugin_dir = p\nadmin_socket = s.sock\n"
                 "stats_socket = t.sock\n"
                 "[device cpu]\nbudget = 3GiB\n"
                 "[component enc]\nplugin = hello\nplacement = auto\ndim = 32\n"
                 "priority = 7\n"
                 "[pipeline]\nencoder = enc\nsteps = 3\n");
  wh_config *a = NULL, *b = NULL;
  CHECK(wh_config_load(path, &a) == 0 && a->n_errors == 0, "load a");
  char *ta = wh_config_render(a);
  char path2[720];
  snprintf(path2, sizeof path2, "%s/b.ini", dir);
  wt_write(path2, "%s", ta);
  CHECK(wh_config_load(path2, &b) == 0 && b->n_errors == 0, "load b");
  if (b) dump_errors(b);
  char *tb = wh_config_render(b);
  /* The first line names the file; the rest must match. */
  CHECK(!strcmp(strchr(ta, '\n'), strchr(tb, '\n')),
        "render differs:\n%s\n--\n%s", ta, tb);
  free(ta);
  free(tb);
  wh_config_free(a);
  wh_config_free(b);
  wh_config *missing = NULL;
  snprintf(path2, sizeof path2, "%s/none.ini", dir);
  CHECK(wh_config_load(path2, &missing) == 0 && missing->n_errors == 1 &&
            strstr(missing->errors[0], "cannot open"),
        "missing file");
  wh_config_free(missing);
  wt_rmtree(dir);
}

/* Components the LTX-2 cases below refer to; [pipeline] is line 15. */
static const char *LTX2_COMPS = "[component enc]\nplugin = e\n"     /* 4-5 */
                                "[component tr]\nplugin = t\n"      /* 6-7 */
                                "lora.fast = f.safetensors 1.0\n"   /* 8 */
                                "[component up]\nplugin = u\n"      /* 9-10 */
                                "[component vae]\nplugin = v\n"     /* 11-12 */
                                "[component au]\nplugin = a\n"      /* 13-14 */
                                "[pipeline]\n";                     /* 15 */

static wh_config *parse_ltx2(const char *pipeline_keys) {
  char text[4096];
  snprintf(text, sizeof text, "%s%s%s", HOST, LTX2_COMPS, pipeline_keys);
  return parse(text);
}

static void test_ltx2_pipeline_parses(void) {
  wh_config *c = parse_ltx2("type = ltx2\n"
                            "encoder = enc\n"
                            "stages = tr , tr + fast\n"
                            "upsampler = up\n"
                            "decoder = vae\n"
                            "audio_decoder = au\n"
                            "steps = 20\n");
  CHECK(c->n_errors == 0, "%zu errors", c->n_errors);
  dump_errors(c);
  const wh_cfg_pipeline *p = &c->pipeline;
  CHECK(p->type == WH_PIPE_LTX2 && p->type_line == 16, "type");
  CHECK(p->n_stages == 2 && !strcmp(p->stages[0], "tr") &&
            !p->stage_adapters[0] && !strcmp(p->stages[1], "tr") &&
            p->stage_adapters[1] && !strcmp(p->stage_adapters[1], "fast"),
        "stages and adapters");
  CHECK(p->upsampler && !strcmp(p->upsampler, "up") &&
            p->upsampler_line == 19 && p->audio_decoder &&
            !strcmp(p->audio_decoder, "au") && p->audio_decoder_line == 21,
        "upsampler, audio_decoder");
  CHECK(p->y4m == 0 && !p->y4m_line, "y4m defaults off for LTX-2");
  /* Absent defaults stay absent: the runner takes the checkpoint's. */
  CHECK(p->steps == 20 && p->steps_line == 22, "steps given");
  CHECK(!p->frames && !p->frames_line && !p->height_line && !p->width_line &&
            !p->fps_line && !p->guidance_line && p->fps == 0 &&
            p->guidance == 0,
        "absent defaults are 0 with line 0");
  char *t = wh_config_render(c);
  CHECK(t && strstr(t, "type = ltx2\n") &&
            strstr(t, "stages = tr, tr+fast\n") &&
            strstr(t, "upsampler = up\n") &&
            strstr(t, "audio_decoder = au\n") && strstr(t, "y4m = false\n") &&
            strstr(t, "steps = 20\n") && !strstr(t, "frames =") &&
            !strstr(t, "guidance ="),
        "render:\n%s", t ? t : "(null)");
  /* The rendered text parses back to the same text. */
  wh_config *b = parse(t);
  CHECK(b->n_errors == 0, "%zu errors in the rendered text", b->n_errors);
  dump_errors(b);
  char *tb = wh_config_render(b);
  CHECK(tb && !strcmp(strchr(t, '\n'), strchr(tb, '\n')),
        "round trip:\n%s\n--\n%s", t, tb ? tb : "(null)");
  free(tb);
  wh_config_free(b);
  free(t);
  json_t *j = wh_config_json(c);
  json_t *pj = json_object_get(j, "pipeline");
  CHECK(pj && !strcmp(json_string_value(json_object_get(pj, "type")),
                      "ltx2") &&
            json_is_null(json_object_get(pj, "frames")) &&
            json_integer_value(json_object_get(pj, "steps")) == 20 &&
            json_is_null(json_array_get(json_object_get(pj, "stage_adapters"),
                                        0)) &&
            !strcmp(json_string_value(json_array_get(
                        json_object_get(pj, "stage_adapters"), 1)),
                    "fast") &&
            json_is_false(json_object_get(pj, "y4m")),
        "json");
  json_decref(j);
  wh_config_free(c);

  /* A one-stage distilled line runs its component in both stages. */
  c = parse_ltx2("type = ltx2_distilled\nencoder = enc\nstages = tr+fast\n"
                 "upsampler = up\ndecoder = vae\ny4m = true\n");
  CHECK(c->n_errors == 0, "%zu errors", c->n_errors);
  dump_errors(c);
  CHECK(c->pipeline.n_stages == 2 && !strcmp(c->pipeline.stages[1], "tr") &&
            c->pipeline.stage_adapters[1] &&
            !strcmp(c->pipeline.stage_adapters[1], "fast") &&
            c->pipeline.y4m == 1,
        "distilled, one stage for both, y4m on");
  wh_config_free(c);

  c = parse_ltx2("type = ltx2_one_stage\nencoder = enc\nstages = tr\n"
                 "decoder = vae\nframes = 121\n");
  CHECK(c->n_errors == 0 && c->pipeline.n_stages == 1 &&
            c->pipeline.frames == 121 && !c->pipeline.upsampler,
        "one stage");
  dump_errors(c);
  wh_config_free(c);

  /* ltxv: the historical defaults, y4m on. */
  c = parse_ltx2("encoder = enc\nstages = tr\ndecoder = vae\n");
  CHECK(c->n_errors == 0 && c->pipeline.type == WH_PIPE_LTXV &&
            c->pipeline.y4m == 1 && c->pipeline.frames == 9 &&
            c->pipeline.height == 64 && c->pipeline.width == 64 &&
            c->pipeline.steps == 8 && c->pipeline.fps == 24 &&
            c->pipeline.guidance == 3,
        "ltxv defaults");
  wh_config_free(c);
}

/* Each LTX-2 case: keys appended after [pipeline] (line 15; the first key
 * is line 16), the error's line and text. */
static void test_ltx2_pipeline_errors(void) {
  static const struct {
    const char *keys;
    int line;
    const char *what;
  } cases[] = {
      {"type = wan\n", 16,
       "bad type 'wan' (ltx2, ltx2_distilled, ltx2_one_stage, ltxv)"},
      {"type = ltx2\ntype = ltxv\n", 17,
       "duplicate key 'type' (first at line 16)"},
      {"type = ltx2\nencoder = enc\nstages = tr, tr\ndecoder = vae\n", 15,
       "type = ltx2 needs 'upsampler = COMPONENT'"},
      {"type = ltx2\nstages = tr, tr\nupsampler = up\ndecoder = vae\n", 15,
       "type = ltx2 needs 'encoder = COMPONENT'"},
      {"type = ltx2\nencoder = enc\nstages = tr, tr\nupsampler = up\n", 15,
       "type = ltx2 needs 'decoder = COMPONENT'"},
      {"type = ltx2\nencoder = enc\nupsampler = up\ndecoder = vae\n", 15,
       "type = ltx2 needs 'stages = STAGE1, STAGE2'"},
      {"type = ltx2_one_stage\nencoder = enc\ndecoder = vae\n", 15,
       "type = ltx2_one_stage needs 'stages = TRANSFORMER'"},
      {"type = ltx2\nencoder = enc\nstages = tr\nupsampler = up\n"
       "decoder = vae\n",
       18, "stages: type = ltx2 needs 2 stages (stage 1, stage 2), found 1"},
      {"type = ltx2_distilled\nencoder = enc\nstages = tr, tr, tr\n"
       "upsampler = up\ndecoder = vae\n",
       18, "takes 1 stage (used for both) or 2, found 3"},
      {"type = ltx2_one_stage\nencoder = enc\nstages = tr, tr\n"
       "decoder = vae\n",
       18, "type = ltx2_one_stage takes 1 stage, found 2"},
      {"type = ltx2_one_stage\nencoder = enc\nstages = tr\nupsampler = up\n"
       "decoder = vae\n",
       19, "upsampler: type = ltx2_one_stage runs one stage at full size"},
      {"upsampler = up\n", 16, "upsampler: type = ltxv has no upsampler"},
      {"audio_decoder = au\n", 16, "audio_decoder: type = ltxv has no audio"},
      {"stages = tr+fast\n", 16,
       "stage 1 'tr+fast': a stage adapter needs an LTX-2 type"},
      {"type = ltx2\nencoder = enc\nstages = tr, tr+distilled\n"
       "upsampler = up\ndecoder = vae\n",
       18,
       "stage 2 'tr+distilled': [component tr] (line 6) has no key "
       "'lora.distilled' (its adapters: lora.fast)"},
      {"type = ltx2\nencoder = enc\nstages = tr, vae+x\nupsampler = up\n"
       "decoder = vae\n",
       18,
       "stage 2 'vae+x': [component vae] (line 11) has no key 'lora.x' (it "
       "has no lora.NAME key)"},
      {"type = ltx2\nencoder = enc\nstages = tr, ghost\nupsampler = up\n"
       "decoder = vae\n",
       18, "stage 'ghost' is not a component"},
      {"type = ltx2\nencoder = enc\nstages = tr, tr\nupsampler = nobody\n"
       "decoder = vae\n",
       19, "upsampler 'nobody' is not a component"},
      {"type = ltx2\nencoder = enc\nstages = tr, tr\nupsampler = up\n"
       "decoder = vae\naudio_decoder = mute\n",
       21, "audio_decoder 'mute' is not a component"},
      {"type = ltx2\nupsampler =\n", 17,
       "'upsampler' needs a component name"},
      {"stages = tr+\n", 16, "bad stage 'tr+'"},
      {"stages = tr+a+b\n", 16, "bad stage 'tr+a+b'"},
      {"stages = tr, , tr\n", 16, "'stages' has an empty entry"},
      {"stages = ,\n", 16, "'stages' lists no component"},
      {"y4m = maybe\n", 16, "bad y4m 'maybe' (true, false)"},
      {"frames = 9\nframes = 17\n", 17,
       "duplicate key 'frames' (first at line 16)"},
      {"guidance = 3\nguidance = 4\n", 17,
       "duplicate key 'guidance' (first at line 16)"},
      {"mode = fast\n", 16, "unknown key 'mode' in [pipeline] (type,"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    wh_config *c = parse_ltx2(cases[i].keys);
    int ok = has_error(c, cases[i].line, cases[i].what);
    CHECK(ok, "case %zu: want line %d '%s'", i, cases[i].line, cases[i].what);
    if (!ok) dump_errors(c);
    wh_config_free(c);
  }
}

int main(void) {
  RUN(test_good_file_parses_every_section);
  RUN(test_defaults_and_implicit_cpu_device);
  RUN(test_each_bad_line_is_reported_at_its_line);
  RUN(test_key_before_any_section_and_missing_host_keys);
  RUN(test_all_errors_are_collected_not_just_the_first);
  RUN(test_overlong_line_is_an_error_not_a_split);
  RUN(test_size_units_random);
  RUN(test_render_round_trips);
  RUN(test_ltx2_pipeline_parses);
  RUN(test_ltx2_pipeline_errors);
  return wt_failures ? 1 : 0;
}

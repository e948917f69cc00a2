/*
 * host/main.c — warmd's command line: run (`-c FILE`), check (`-t -c
 * FILE`), one job (`--once`), one prompt's embeddings (`--encode`),
 * --version, --help.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crash.h"
#include "daemon.h"
#include "log.h"
#include "oneshot.h"
#include "plan.h"
#include "reload.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: warmd -c FILE        run in the foreground, log to stderr\n"
          "       warmd -t -c FILE     check FILE (plugins, capabilities, "
          "budgets) and exit\n"
          "       warmd -c FILE --once --prompt TEXT [--frames N] [--height N]\n"
          "             [--width N] [--steps N] [--seed N] [--fps N] "
          "[--guidance G]\n"
          "             [LTX-2: --negative-prompt TEXT] [--image FILE.png|jpg]\n"
          "             [--image-strength S] [--video-cfg G] [--video-stg S]\n"
          "             [--video-rescale R] [--video-modality M] "
          "[--video-skip-step N]\n"
          "             [--video-stg-blocks 1,2] [--audio-... as --video-...]\n"
          "             [--noise FILE.safetensors (tests)]\n"
          "             [--out DIR]   run one job, write its files, exit\n"
          "       warmd -c FILE --plan [--frames N --height N --width N]\n"
          "             print each device's memory plan for one job, "
          "exit 1 if it cannot fit\n"
          "       warmd -c FILE --encode TEXT --out FILE.safetensors "
          "[--component NAME]\n"
          "                            write one prompt's embeddings and exit\n"
          "       warmd --version | --help\n"
          "\n"
          "Signals: SIGHUP reloads FILE; SIGTERM/SIGINT stop gracefully.\n"
          "Admin: warmctl -s SOCKET help\n");
}

/* `warmd -t`: everything a load does short of placing. Exit status 0/1. */
static int check_config(const char *path) {
  wh_config *cfg = NULL;
  if (wh_config_load(path, &cfg)) {
    fprintf(stderr, "%s: out of memory\n", path);
    return 1;
  }
  wh_runtime *rt = NULL;
  wh_plan *plan = NULL;
  int rc = 1;
  if (wh_runtime_create(&rt) == 0 && (rt->check_only = 1) &&
      wh_reload_prepare(rt, cfg, &plan) == 0) {
    printf("%s: configuration OK (%zu component%s, %zu device%s)\n", path,
           cfg->n_components, cfg->n_components == 1 ? "" : "s", cfg->n_devices,
           cfg->n_devices == 1 ? "" : "s");
    rc = 0;
  }
  for (size_t i = 0; i < cfg->n_errors; i++)
    fprintf(stderr, "%s\n", cfg->errors[i]);
  if (rc && cfg->n_errors)
    fprintf(stderr, "%s: %zu error%s\n", path, cfg->n_errors,
            cfg->n_errors == 1 ? "" : "s");
  if (plan) wh_plan_free(rt, plan);
  wh_runtime_destroy(rt);
  wh_config_free(cfg);
  return rc;
}

/* Parses a whole decimal number in [min, max] for option `name`. */
static int parse_num(const char *name, const char *s, unsigned long long min,
                     unsigned long long max, unsigned long long *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || *s == '-' || v < min || v > max) {
    fprintf(stderr, "warmd: --%s '%s': expected a whole number in %llu..%llu\n",
            name, s, min, max);
    return -1;
  }
  *out = v;
  return 0;
}

enum { OPT_ONCE = 256, OPT_PROMPT, OPT_FRAMES, OPT_HEIGHT, OPT_WIDTH,
       OPT_STEPS, OPT_SEED, OPT_FPS, OPT_GUIDANCE, OPT_OUT, OPT_ENCODE,
       OPT_COMPONENT, OPT_PLAN, OPT_JOB };

/* The LTX-2 job flags (wh_oneshot_job_flag), all OPT_JOB: getopt_long's
 * index tells them apart. */
#define JOB_OPT(name) {name, required_argument, 0, OPT_JOB}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"config", required_argument, 0, 'c'},
      {"test", no_argument, 0, 't'},
      {"version", no_argument, 0, 'V'},
      {"help", no_argument, 0, 'h'},
      {"once", no_argument, 0, OPT_ONCE},
      {"prompt", required_argument, 0, OPT_PROMPT},
      {"frames", required_argument, 0, OPT_FRAMES},
      {"height", required_argument, 0, OPT_HEIGHT},
      {"width", required_argument, 0, OPT_WIDTH},
      {"steps", required_argument, 0, OPT_STEPS},
      {"seed", required_argument, 0, OPT_SEED},
      {"fps", required_argument, 0, OPT_FPS},
      {"guidance", required_argument, 0, OPT_GUIDANCE},
      {"out", required_argument, 0, OPT_OUT},
      {"encode", required_argument, 0, OPT_ENCODE},
      {"component", required_argument, 0, OPT_COMPONENT},
      {"plan", no_argument, 0, OPT_PLAN},
      JOB_OPT("negative-prompt"), JOB_OPT("image"), JOB_OPT("image-strength"),
      JOB_OPT("noise"), JOB_OPT("video-cfg"), JOB_OPT("video-stg"),
      JOB_OPT("video-rescale"), JOB_OPT("video-modality"),
      JOB_OPT("video-skip-step"), JOB_OPT("video-stg-blocks"),
      JOB_OPT("audio-cfg"), JOB_OPT("audio-stg"), JOB_OPT("audio-rescale"),
      JOB_OPT("audio-modality"), JOB_OPT("audio-skip-step"),
      JOB_OPT("audio-stg-blocks"),
      {0, 0, 0, 0}};
  const char *path = NULL, *out = NULL, *encode = NULL, *component = NULL;
  const char *image = NULL;
  int test = 0, once = 0, plan = 0, job_flags = 0, ch, li = 0;
  wh_job_params job = {0};
  unsigned long long v;
  char *end;
  while ((ch = getopt_long(argc, argv, "c:thV", opts, &li)) != -1) {
    switch (ch) {
    case OPT_ONCE:
      once = 1;
      break;
    case OPT_PROMPT:
      job.prompt = optarg;
      break;
    case OPT_FRAMES:
    case OPT_HEIGHT:
    case OPT_WIDTH:
    case OPT_STEPS:
    case OPT_FPS:
      if (parse_num(opts[li].name, optarg, 1, 1u << 20, &v))
        return 1;
      *(ch == OPT_FRAMES   ? &job.frames
        : ch == OPT_HEIGHT ? &job.height
        : ch == OPT_WIDTH  ? &job.width
        : ch == OPT_STEPS  ? &job.steps
                           : &job.fps) = (uint32_t)v;
      break;
    case OPT_SEED:
      if (parse_num("seed", optarg, 0, UINT64_MAX, &v)) return 1;
      job.seed = v;
      break;
    case OPT_GUIDANCE:
      job.guidance = strtod(optarg, &end);
      if (end == optarg || *end || !(job.guidance > 0)) {
        fprintf(stderr, "warmd: --guidance '%s': expected a number > 0\n",
                optarg);
        return 1;
      }
      break;
    case OPT_OUT:
      out = optarg;
      break;
    case OPT_ENCODE:
      encode = optarg;
      break;
    case OPT_COMPONENT:
      component = optarg;
      break;
    case OPT_PLAN:
      plan = 1;
      break;
    case OPT_JOB:
      if (wh_oneshot_job_flag(opts[li].name, optarg, &job, &image)) return 1;
      job_flags = 1;
      break;
    case 'c':
      path = optarg;
      break;
    case 't':
      test = 1;
      break;
    case 'V':
      printf("warmd %s (plugin ABI %d.%d, sdk %s)\n", WARMD_VERSION,
             WARM_ABI_MAJOR, WARM_ABI_MINOR, warm_sdk_version());
      return 0;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (!path || optind != argc) {
    usage(stderr);
    return 2;
  }
  /* Relative paths inside the file resolve against its directory; make that
   * absolute once, so a reload means the same file. */
  char real[PATH_MAX];
  if (!realpath(path, real)) {
    fprintf(stderr, "%s: cannot open: %m\n", path);
    return 1;
  }
  if (test) return check_config(real);
  if (plan) {
    wh_plan_job pj = {job.frames, job.height, job.width};
    return wh_plan_main(real, &pj, stdout, stderr);
  }
  if (once && encode) {
    fprintf(stderr, "warmd: --once and --encode exclude each other\n");
    return 2;
  }
  if (job_flags && !once) {
    fprintf(stderr, "warmd: the job flags (--image, --negative-prompt, "
                    "--video-*, --audio-*, ...) need --once\n");
    return 2;
  }
  if (once) {
    if (!job.prompt) {
      fprintf(stderr, "warmd --once: --prompt TEXT is required\n");
      return 2;
    }
    return wh_oneshot_once(real, &job, image, out);
  }
  if (encode) {
    if (!out) {
      fprintf(stderr, "warmd --encode: --out FILE.safetensors is required\n");
      return 2;
    }
    return wh_oneshot_encode(real, component, encode, out);
  }
  if (job.prompt || out || component) {
    fprintf(stderr, "warmd: --prompt/--out/--component need --once or "
                    "--encode\n");
    return 2;
  }


  signal(SIGPIPE, SIG_IGN); /* a client that hangs up is not fatal */
  /* A file size limit makes a write fail (EFBIG), like a full disk. */
  signal(SIGXFSZ, SIG_IGN);
  wh_crash_install();
  wh_daemon d;
  warm_error err = {0};
  if (wh_daemon_init(&d, real, &err) != 0) {
    wh_error("cannot start: %s", err.msg);
    return 1;
  }
  int rc = wh_daemon_run(&d);
  wh_daemon_close(&d);
  return rc;
}

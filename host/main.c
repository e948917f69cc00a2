/*
 * host/main.c — warmd's command line: run (`-c FILE`), check (`-t -c
 * FILE`), --version, --help.
 */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "reload.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: warmd -c FILE        run in the foreground, log to stderr\n"
          "       warmd -t -c FILE     check FILE (plugins, capabilities, "
          "budgets) and exit\n"
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
  if (!cfg->n_errors && wh_runtime_create(&rt) == 0 &&
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

int main(int argc, char **argv) {
  static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                       {"test", no_argument, 0, 't'},
                                       {"version", no_argument, 0, 'V'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *path = NULL;
  int test = 0, ch;
  while ((ch = getopt_long(argc, argv, "c:thV", opts, NULL)) != -1) {
    switch (ch) {
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

  signal(SIGPIPE, SIG_IGN); /* a client that hangs up is not fatal */
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

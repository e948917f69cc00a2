/*
 * bench_demo_job.h — bench_vs_torch's "whole demo job" row, warmd side: the
 * demo's models made with the demo's warm-mkmodel arguments, warmd started
 * once as a daemon on a copy of conf/demo.ini, one job per run timed from
 * its POST to its completion (bench_demo_job.c).
 */
#ifndef BENCH_DEMO_JOB_H
#define BENCH_DEMO_JOB_H

#include <stddef.h>

/* The parts of a job, in order: result.json's timings, then "files" (total
 * less the rest: the mp4, wav, png and tensors written), then "total". */
enum { DEMO_PARTS = 8 };
extern const char *const demo_part_names[DEMO_PARTS];

typedef struct demo_job demo_job;

/* Makes the models under dir/demo-models, the config and warmd's folder,
 * and starts warmd with `threads` compute threads; 0, or -1 (printed). */
int demo_start(const char *dir, int threads, demo_job **out);

/* The torch side's load command for the same files and job. */
void demo_torch_cmd(const demo_job *d, char *buf, size_t n);

/* One job: seconds from the POST to the job done, or -1 (printed); parts
 * gets result.json's seconds per part (demo_part_names). */
double demo_run(demo_job *d, double parts[DEMO_PARTS]);

/* The tensors demo_check compares, in order. */
enum { DEMO_CHECKED = 6 };
extern const char *const demo_checked_names[DEMO_CHECKED];

/* That the reference computes the same job: stops the daemon, runs
 * `warmd --once --noise REF` (the reference's recorded noise) and puts
 * max|warmd - ref| / max|ref| of each demo_checked_names tensor of its
 * tensors.safetensors against REF's expect.NAME in err. 0, or -1 (printed). */
int demo_check(demo_job *d, const char *ref, double err[DEMO_CHECKED]);

/* Stops warmd (SIGTERM, then waits) and frees d. */
void demo_stop(demo_job *d);

#endif /* BENCH_DEMO_JOB_H */

/*
 * up.h — the LTX-2 latent upsampler plugin (ltx-core 1.0.0's
 * LatentUpsampler, x2 spatial, with upsample_video's un-normalise /
 * normalise around it), shared between its files:
 *   up_net.c     the flat config -> structure and tensors; the forward pass
 *   up_plugin.c  the ABI entry points
 */
#ifndef UP_H
#define UP_H

#include <stddef.h>
#include <stdint.h>

#include "lxc.h"

#define UP_NAME "upsampler_ltx2"
#define UP_VERSION "1.0.0"
#define UP_MAX_BLOCKS 16

typedef struct up_conv {
  int w, b;
  int64_t ci, co, kt; /* kt = 1: a per-frame 2-D conv */
} up_conv;

typedef struct up_res {
  up_conv conv1, conv2;
  int n1w, n1b, n2w, n2b; /* GroupNorm(32) affine */
} up_res;

typedef struct up_net {
  int64_t in_channels, mid, n_blocks;
  int rational;
  up_conv initial, up, final;
  int in_w, in_b; /* initial_norm */
  up_res pre[UP_MAX_BLOCKS], post[UP_MAX_BLOCKS];
} up_net;

typedef struct ups {
  const warm_services *svc;
  char *name;
  warm_dtype dtype;
  int64_t threads;
  up_net net;
  lxc_tab tab;
  lxc_weights w;
  warm_ltx2 *f;
  const warm_st *st;
  wk_ctx *wk;
} ups;

int up_net_build(const warm_ltx2 *f, warm_dtype dt, up_net *n, lxc_tab *tb,
                 warm_error *err);
size_t up_workspace(const ups *u, int64_t F, int64_t H, int64_t W);
/* x [C, F, H, W] (host, un-normalised) -> y [C, F, 2H, 2W] (host). */
int up_forward(ups *u, const float *x, int64_t F, int64_t H, int64_t W,
               float *y, warm_error *err);

#endif /* UP_H */

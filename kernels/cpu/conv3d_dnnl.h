/*
 * conv3d_dnnl.h — the oneDNN path of the cpu conv3d (conv3d_dnnl.c).
 */
#ifndef WKCPU_CONV3D_DNNL_H
#define WKCPU_CONV3D_DNNL_H

#include "cpu.h"

/* Workspace bytes of the oneDNN path for this convolution, or 0 when it
 * does not serve it (no engine, or oneDNN has only reference code). */
size_t wkcpu__conv3d_dnnl_workspace(wk_ctx *c, const wk_conv3d *p);
/* y = conv(x, weight) + bias, weight [Co, Ci, kt, kh, kw] read from the
 * context's pack arena when it holds it, else (decoded into dec, Co * Ci *
 * kt * kh * kw floats, when not f32) reordered into the arena if there is
 * room, or into ws (64-byte aligned, wkcpu__conv3d_dnnl_workspace bytes).
 * 0, or -1 when the path cannot serve it (the caller runs im2col instead). */
int wkcpu__conv3d_dnnl(wk_ctx *c, const wk_conv3d *p, const float *x,
                       wk_w weight, float *dec, wk_w bias, float *y, char *ws);

#endif

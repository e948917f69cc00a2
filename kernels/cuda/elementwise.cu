/*
 * elementwise.cu — activations, arithmetic, broadcasts, transpose and the
 * 3-D depth-to-space shuffle. All f32, grid-stride loops with 64-bit
 * indices, each output element written by exactly one thread (so y may
 * alias an input wherever wk.h allows it).
 */
#include "wkcu_internal.cuh"

#define WKCU_FOR(i, n)                                                         \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n);    \
       i += (int64_t)gridDim.x * blockDim.x)

enum { EW_GELU_TANH, EW_SILU, EW_ADD, EW_MUL, EW_SCALE };

__global__ void wkcu_ew_k(int op, const float *a, const float *b, float s,
                          int64_t n, float *y) {
  WKCU_FOR(i, n) {
    float x = a[i], r;
    switch (op) {
    case EW_GELU_TANH: {
      const float k0 = 0.7978845608028654f; /* sqrt(2/pi) */
      r = 0.5f * x * (1.0f + tanhf(k0 * (x + 0.044715f * x * x * x)));
      break;
    }
    case EW_SILU:
      r = x / (1.0f + expf(-x));
      break;
    case EW_ADD:
      r = x + b[i];
      break;
    case EW_MUL:
      r = x * b[i];
      break;
    default:
      r = x * s;
      break;
    }
    y[i] = r;
  }
}

static int wkcu__ew(wk_ctx *c, const char *W, int op, const float *a,
                    const float *b, float s, int64_t n, float *y) {
  if (n == 0) return WK_OK;
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_ew_k<<<wkcu__blocks(n, 256), 256, 0, wkcu__st(c)->compute>>>(op, a, b, s,
                                                                    n, y);
  return wkcu__launched(c, W);
}

extern "C" int wkcu_gelu_tanh(wk_ctx *c, const float *x, int64_t n, float *y) {
  return wkcu__ew(c, "wk_gelu_tanh(cuda)", EW_GELU_TANH, x, NULL, 0, n, y);
}
extern "C" int wkcu_silu(wk_ctx *c, const float *x, int64_t n, float *y) {
  return wkcu__ew(c, "wk_silu(cuda)", EW_SILU, x, NULL, 0, n, y);
}
extern "C" int wkcu_add(wk_ctx *c, const float *a, const float *b, int64_t n,
                        float *y) {
  return wkcu__ew(c, "wk_add(cuda)", EW_ADD, a, b, 0, n, y);
}
extern "C" int wkcu_mul(wk_ctx *c, const float *a, const float *b, int64_t n,
                        float *y) {
  return wkcu__ew(c, "wk_mul(cuda)", EW_MUL, a, b, 0, n, y);
}
extern "C" int wkcu_scale(wk_ctx *c, const float *x, float s, int64_t n,
                          float *y) {
  return wkcu__ew(c, "wk_scale(cuda)", EW_SCALE, x, NULL, s, n, y);
}

/* ---- row broadcasts ------------------------------------------------------ */

enum { RB_ADD_ROW, RB_MODULATE, RB_GATE_ADD };

/* add_row:  y = x + v[c]
 * modulate: y = x * (1 + v[c]) + u[c]
 * gate_add: y = x + v[c] * u[r, c]   (x = res, v = gate, u = h) */
__global__ void wkcu_rowb_k(int op, const float *x, const float *v,
                            const float *u, int64_t rows, int64_t cols,
                            float *y) {
  int64_t n = rows * cols;
  WKCU_FOR(i, n) {
    int64_t col = i % cols;
    float r;
    if (op == RB_ADD_ROW)
      r = x[i] + v[col];
    else if (op == RB_MODULATE)
      r = x[i] * (1.0f + v[col]) + u[col];
    else
      r = x[i] + v[col] * u[i];
    y[i] = r;
  }
}

static int wkcu__rowb(wk_ctx *c, const char *W, int op, const float *x,
                      const float *v, const float *u, int64_t rows,
                      int64_t cols, float *y) {
  if (rows == 0 || cols == 0) return WK_OK;
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_rowb_k<<<wkcu__blocks(rows * cols, 256), 256, 0, wkcu__st(c)->compute>>>(
      op, x, v, u, rows, cols, y);
  return wkcu__launched(c, W);
}

extern "C" int wkcu_add_row(wk_ctx *c, const float *x, const float *v,
                            int64_t rows, int64_t cols, float *y) {
  return wkcu__rowb(c, "wk_add_row(cuda)", RB_ADD_ROW, x, v, NULL, rows, cols,
                    y);
}
extern "C" int wkcu_modulate(wk_ctx *c, const float *x, const float *scale,
                             const float *shift, int64_t rows, int64_t cols,
                             float *y) {
  return wkcu__rowb(c, "wk_modulate(cuda)", RB_MODULATE, x, scale, shift, rows,
                    cols, y);
}
extern "C" int wkcu_gate_add(wk_ctx *c, const float *res, const float *gate,
                             const float *h, int64_t rows, int64_t cols,
                             float *y) {
  return wkcu__rowb(c, "wk_gate_add(cuda)", RB_GATE_ADD, res, gate, h, rows,
                    cols, y);
}

/* ---- per-head gate --------------------------------------------------------- */

/* x[r, h, :] *= 2 * sigmoid(g[r, h]), one thread per element. */
__global__ void wkcu_head_gate_k(float *x, const float *g, int64_t n,
                                 int64_t D) {
  WKCU_FOR(i, n) {
    float s = 2.0f * (1.0f / (1.0f + expf(-g[i / D])));
    x[i] = x[i] * s;
  }
}

extern "C" int wkcu_head_gate(wk_ctx *c, float *x, const float *g,
                              int64_t rows, int64_t H, int64_t D) {
  const char *W = "wk_head_gate(cuda)";
  int64_t n = rows * H * D;
  if (n == 0) return WK_OK;
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_head_gate_k<<<wkcu__blocks(n, 256), 256, 0, wkcu__st(c)->compute>>>(
      x, g, n, D);
  return wkcu__launched(c, W);
}

/* ---- transpose ----------------------------------------------------------- */

/* 32x32 tiles through shared memory (padded against bank conflicts); block
 * 32x8, each thread moves 4 elements. Grid: x over column tiles, y over row
 * tiles folded into z when there are more than 65535. y must not alias x. */
__global__ void wkcu_transpose_k(const float *x, int64_t rows, int64_t cols,
                                 float *y) {
  __shared__ float tile[32][33];
  int64_t tile_r = ((int64_t)blockIdx.z * gridDim.y + blockIdx.y) * 32;
  int64_t tile_c = (int64_t)blockIdx.x * 32;
  if (tile_r >= rows) return;
  for (int k = threadIdx.y; k < 32; k += 8) {
    int64_t r = tile_r + k, col = tile_c + threadIdx.x;
    if (r < rows && col < cols) tile[k][threadIdx.x] = x[r * cols + col];
  }
  __syncthreads();
  for (int k = threadIdx.y; k < 32; k += 8) {
    int64_t col = tile_c + k, r = tile_r + threadIdx.x;
    if (r < rows && col < cols) y[col * rows + r] = tile[threadIdx.x][k];
  }
}

extern "C" int wkcu_transpose(wk_ctx *c, const float *x, int64_t rows,
                              int64_t cols, float *y) {
  static const char *W = "wk_transpose(cuda)";
  if (rows == 0 || cols == 0) return WK_OK;
  int64_t ct = (cols + 31) / 32, rt = (rows + 31) / 32;
  int64_t gy = rt < 65535 ? rt : 65535, gz = (rt + gy - 1) / gy;
  if (ct > 0x7fffffff || gz > 65535)
    return wk__fail(c, WK_EUNSUPPORTED, "%s: %lld x %lld is too large", W,
                    (long long)rows, (long long)cols);
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  dim3 grid((unsigned)ct, (unsigned)gy, (unsigned)gz), block(32, 8);
  wkcu_transpose_k<<<grid, block, 0, wkcu__st(c)->compute>>>(x, rows, cols, y);
  return wkcu__launched(c, W);
}

/* ---- depth to space --------------------------------------------------------
 */

/* One thread per output element: y[c, t*pt+it, h*ph+ih, w*pw+iw] =
 * x[c*pt*ph*pw + it*ph*pw + ih*pw + iw, t, h, w]. */
__global__ void wkcu_d2s_k(const float *x, int64_t C, int64_t T, int64_t H,
                           int64_t Wd, int pt, int ph, int pw, float *y) {
  int64_t To = T * pt, Ho = H * ph, Wo = Wd * pw;
  int64_t n = C * To * Ho * Wo;
  WKCU_FOR(i, n) {
    int64_t wo = i % Wo, q = i / Wo;
    int64_t ho = q % Ho;
    q /= Ho;
    int64_t to = q % To, ch = q / To;
    int64_t w = wo / pw, iw = wo % pw, h = ho / ph, ih = ho % ph;
    int64_t t = to / pt, it = to % pt;
    int64_t ci = ((ch * pt + it) * ph + ih) * pw + iw;
    y[i] = x[((ci * T + t) * H + h) * Wd + w];
  }
}

extern "C" int wkcu_depth_to_space3d(wk_ctx *c, const float *x, int64_t C,
                                     int64_t T, int64_t H, int64_t W, int pt,
                                     int ph, int pw, float *y) {
  static const char *WH = "wk_depth_to_space3d(cuda)";
  int64_t n = C * T * H * W * pt * ph * pw;
  if (n == 0) return WK_OK;
  int rc = wkcu__enter(c, WH);
  if (rc) return rc;
  wkcu_d2s_k<<<wkcu__blocks(n, 256), 256, 0, wkcu__st(c)->compute>>>(
      x, C, T, H, W, pt, ph, pw, y);
  return wkcu__launched(c, WH);
}

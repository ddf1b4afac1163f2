// Fused multi-step LIF for CPU: one pass over [T, N] per direction, the neuron state in registers.
//
// The arithmetic of every element is spikingjelly 2.0's CPU LIF, operation by operation and in the
// same order, so that with IEEE float32 and no contraction (-ffp-contract=off, no -ffast-math;
// -fno-trapping-math only lets the compiler vectorise the comparisons) every result is
// bit-identical:
//   forward   H_t = decay_input ? V + (X_t - (V - r)) / tau : V - (V - r) / tau + X_t
//             S_t = (H_t - th >= 0)
//             V   = soft ? H_t - S_t * th : S_t * r + (1 - S_t) * H_t
//   backward  spikingjelly's CPU training path is PyTorch autograd through its reference step
//             (_ops/lif/reference.py, _ops/reset.py, registered for AutogradCPU by _ops/dispatch.py),
//             so the gradient is autograd's arithmetic, with its accumulation order, per element:
//             sg_t = surrogate'(H_t - th), spikingjelly's _ops/surrogate.py formula:
//                    sigmoid  s = sigmoid(alpha * (H_t - th)); sg = (1 - s) * s * alpha
//                    atan     z = (H_t - th) * (pi/2 * alpha); sg = (1 / (1 + z * z)) * (alpha / 2)
//             g = dL/dV_t (none at t = T-1: the final membrane is not an output),
//             gS = soft ? (detach ? gS_t : gS_t + (-g) * th)
//                       : (detach ? gS_t : (gS_t + -(g * H_t)) + g * r)
//             gH = t == T-1 ? gS * sg_t : gS * sg_t + (soft ? g : g * (1 - S_t))
//             gX_t = decay_input ? gH / tau : gH;   g <- gH - gH / tau
// The sigmoid itself is PyTorch's kernel, called on each [N] timestep slice as the reference does
// (its vectorised exp treats a tensor's tail, and each thread's share, with scalar code, so its bits
// depend on the slice length). Elements are independent: they are split over PyTorch's intra-op
// threads in chunks; within a chunk the loop over elements is innermost (contiguous, vectorisable).
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <algorithm>
#include <vector>

namespace {
constexpr int64_t kChunk = 1024;

void check(const torch::Tensor& t, const char* name) {
  TORCH_CHECK(t.device().is_cpu(), name, " must be a CPU tensor");
  TORCH_CHECK(t.scalar_type() == torch::kFloat32, name, " must be float32");
  TORCH_CHECK(t.dim() == 2 && t.is_contiguous(), name, " must be a contiguous [T, N] tensor");
}

template <bool DECAY, bool SOFT>
void forward_kernel(const float* __restrict xp, float* __restrict sp, float* __restrict hp,
                    float* __restrict vl, int64_t T, int64_t N, float tau, float th, float r,
                    float v_init) {
  at::parallel_for(0, N, kChunk, [&](int64_t begin, int64_t end) {
    float v[kChunk];
    for (int64_t c0 = begin; c0 < end; c0 += kChunk) {
      const int64_t n = std::min(kChunk, end - c0);
      for (int64_t i = 0; i < n; ++i) v[i] = v_init;
      for (int64_t t = 0; t < T; ++t) {
        const float* __restrict xt = xp + t * N + c0;
        float* __restrict st = sp + t * N + c0;
        float* __restrict ht = hp + t * N + c0;
        for (int64_t i = 0; i < n; ++i) {
          const float h = DECAY ? v[i] + (xt[i] - (v[i] - r)) / tau : v[i] - (v[i] - r) / tau + xt[i];
          const float s = static_cast<float>((h - th) >= 0.0f);
          v[i] = SOFT ? h - s * th : s * r + (1.0f - s) * h;
          st[i] = s;
          ht[i] = h;
        }
      }
      for (int64_t i = 0; i < n; ++i) vl[c0 + i] = v[i];
    }
  });
}

// sgp holds sigmoid(alpha * (H - th)) (SIGMOID) or is unused (atan, computed inline).
template <bool DECAY, bool SOFT, bool DETACH, bool SIGMOID>
void backward_kernel(const float* __restrict gsp, const float* __restrict hp,
                     const float* __restrict sgp, float* __restrict gxp, int64_t T, int64_t N,
                     float tau, float th, float r, float alpha, float atan_scale, float atan_half) {
  at::parallel_for(0, N, kChunk, [&](int64_t begin, int64_t end) {
    float g[kChunk];
    for (int64_t c0 = begin; c0 < end; c0 += kChunk) {
      const int64_t n = std::min(kChunk, end - c0);
      for (int64_t t = T - 1; t >= 0; --t) {
        const int64_t o = t * N + c0;
        const bool last = t == T - 1;
        for (int64_t i = 0; i < n; ++i) {
          const float h = hp[o + i];
          float sg;
          if (SIGMOID) {
            const float s = sgp[o + i];
            sg = (1.0f - s) * s * alpha;
          } else {
            const float z = (h - th) * atan_scale;
            sg = (1.0f / (z * z + 1.0f)) * atan_half;
          }
          float gh;
          if (last) {
            gh = gsp[o + i] * sg;
          } else if (SOFT) {
            const float gS = DETACH ? gsp[o + i] : gsp[o + i] + (-g[i]) * th;
            gh = gS * sg + g[i];
          } else {
            const float s = static_cast<float>((h - th) >= 0.0f);
            const float gS = DETACH ? gsp[o + i] : (gsp[o + i] + -(g[i] * h)) + g[i] * r;
            gh = gS * sg + g[i] * (1.0f - s);
          }
          gxp[o + i] = DECAY ? gh / tau : gh;
          g[i] = gh - gh / tau;
        }
      }
    }
  });
}

template <bool DECAY, bool SOFT, bool DETACH>
void backward_dispatch(bool sigmoid, const float* gsp, const float* hp, const float* sgp, float* gxp,
                       int64_t T, int64_t N, float tau, float th, float r, float alpha, float as,
                       float ah) {
  if (sigmoid) backward_kernel<DECAY, SOFT, DETACH, true>(gsp, hp, sgp, gxp, T, N, tau, th, r, alpha, as, ah);
  else backward_kernel<DECAY, SOFT, DETACH, false>(gsp, hp, sgp, gxp, T, N, tau, th, r, alpha, as, ah);
}
}  // namespace

// x [T, N] -> (spikes [T, N], H [T, N], V_T [N]); V_0 = v_init.
std::vector<torch::Tensor> lif_forward(torch::Tensor x, double tau_d, bool decay_input, double th_d,
                                       double reset_d, bool soft, double v_init) {
  check(x, "x");
  const int64_t T = x.size(0), N = x.size(1);
  auto spikes = torch::empty_like(x), h_seq = torch::empty_like(x);
  auto v_last = torch::empty({N}, x.options());
  const float tau = (float)tau_d, th = (float)th_d, r = (float)reset_d, v0 = (float)v_init;
  const float* xp = x.data_ptr<float>();
  float *sp = spikes.data_ptr<float>(), *hp = h_seq.data_ptr<float>(), *vl = v_last.data_ptr<float>();
  if (decay_input) {
    if (soft) forward_kernel<true, true>(xp, sp, hp, vl, T, N, tau, th, r, v0);
    else forward_kernel<true, false>(xp, sp, hp, vl, T, N, tau, th, r, v0);
  } else {
    if (soft) forward_kernel<false, true>(xp, sp, hp, vl, T, N, tau, th, r, v0);
    else forward_kernel<false, false>(xp, sp, hp, vl, T, N, tau, th, r, v0);
  }
  return {spikes, h_seq, v_last};
}

// (gS [T, N], H [T, N]) -> gX [T, N]; surrogate 0 = sigmoid, 1 = atan (spikingjelly's ids).
torch::Tensor lif_backward(torch::Tensor gs, torch::Tensor h_seq, double tau_d, bool decay_input,
                           double th_d, double reset_d, bool soft, bool detach, int64_t surrogate,
                           double alpha_d) {
  check(gs, "grad_spikes"); check(h_seq, "h_seq");
  TORCH_CHECK(gs.sizes() == h_seq.sizes(), "grad_spikes and h_seq shapes differ");
  TORCH_CHECK(surrogate == 0 || surrogate == 1, "surrogate id must be 0 (sigmoid) or 1 (atan)");
  const int64_t T = h_seq.size(0), N = h_seq.size(1);
  const bool sigmoid = surrogate == 0;
  torch::Tensor sgs;
  if (sigmoid) {  // s = sigmoid((H - th) * alpha): the sigmoid is PyTorch's, on each [N] slice
    sgs = torch::empty_like(h_seq);
    const float th = (float)th_d, alpha = (float)alpha_d;
    const float* __restrict hp = h_seq.data_ptr<float>();
    float* __restrict yp = sgs.data_ptr<float>();
    at::parallel_for(0, T * N, 16 * kChunk, [&](int64_t begin, int64_t end) {
      for (int64_t j = begin; j < end; ++j) yp[j] = (hp[j] - th) * alpha;
    });
    for (int64_t t = 0; t < T; ++t) {
      auto slice = sgs[t];
      at::sigmoid_(slice);
    }
  }
  auto gx = torch::empty_like(h_seq);
  const float tau = (float)tau_d, th = (float)th_d, r = (float)reset_d, alpha = (float)alpha_d;
  const float atan_scale = (float)(3.14159265358979323846 / 2 * alpha_d), atan_half = (float)(alpha_d / 2);
  const float *gsp = gs.data_ptr<float>(), *hp = h_seq.data_ptr<float>();
  const float* sgp = sigmoid ? sgs.data_ptr<float>() : nullptr;
  float* gxp = gx.data_ptr<float>();
#define LIF_BWD(D, S, DT) backward_dispatch<D, S, DT>(sigmoid, gsp, hp, sgp, gxp, T, N, tau, th, r, alpha, atan_scale, atan_half)
  if (decay_input) {
    if (soft) { if (detach) LIF_BWD(true, true, true); else LIF_BWD(true, true, false); }
    else { if (detach) LIF_BWD(true, false, true); else LIF_BWD(true, false, false); }
  } else {
    if (soft) { if (detach) LIF_BWD(false, true, true); else LIF_BWD(false, true, false); }
    else { if (detach) LIF_BWD(false, false, true); else LIF_BWD(false, false, false); }
  }
#undef LIF_BWD
  return gx;
}


// Rate-based BP spike pass (replicate.ratebp.RateBP, soft reset, decay_input off, sigmoid
// surrogate): x [T, N] -> (spikes [T, N], rate [N], elig [N]), the arithmetic and order of its
// Python loop: H_t = V - V / tau + X_t; S_t = (H_t - th >= 0); V = H_t - S_t * th;
// s = sigmoid((H_t - th) * alpha) (PyTorch's, per [N] slice); sg = 1 * (1 - s) * s * alpha;
// elig += sg * kappa_t (kappa_t from Python, float64 -> float32 as PyTorch casts a scalar);
// rate += S_t; finally rate / T, elig / T.
std::vector<torch::Tensor> ratebp_spike_pass(torch::Tensor x, double tau_d, double th_d,
                                             double alpha_d, std::vector<double> kappas) {
  check(x, "x");
  const int64_t T = x.size(0), N = x.size(1);
  TORCH_CHECK((int64_t)kappas.size() == T, "one kappa per timestep");
  auto spikes = torch::empty_like(x), h_seq = torch::empty_like(x);
  auto v_last = torch::empty({N}, x.options());
  const float tau = (float)tau_d, th = (float)th_d, alpha = (float)alpha_d;
  forward_kernel<false, true>(x.data_ptr<float>(), spikes.data_ptr<float>(), h_seq.data_ptr<float>(),
                              v_last.data_ptr<float>(), T, N, tau, th, 0.0f, 0.0f);
  float* __restrict hp = h_seq.data_ptr<float>();  // becomes sigmoid((H - th) * alpha) in place
  at::parallel_for(0, T * N, 16 * kChunk, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) hp[j] = (hp[j] - th) * alpha;
  });
  for (int64_t t = 0; t < T; ++t) {
    auto slice = h_seq[t];
    at::sigmoid_(slice);
  }
  std::vector<float> kf(kappas.begin(), kappas.end());
  auto rate = torch::empty({N}, x.options()), elig = torch::empty({N}, x.options());
  const float* __restrict sp = spikes.data_ptr<float>();
  float *rp = rate.data_ptr<float>(), *ep = elig.data_ptr<float>();
  const float n = (float)T;
  at::parallel_for(0, N, kChunk, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) { rp[i] = 0.0f; ep[i] = 0.0f; }
    for (int64_t t = 0; t < T; ++t) {
      const float k = kf[t];
      const float* __restrict st = sp + t * N;
      const float* __restrict sg = hp + t * N;
      for (int64_t i = begin; i < end; ++i) {
        ep[i] = ep[i] + (1.0f * (1.0f - sg[i]) * sg[i] * alpha) * k;
        rp[i] = rp[i] + st[i];
      }
    }
    for (int64_t i = begin; i < end; ++i) { rp[i] = rp[i] / n; ep[i] = ep[i] / n; }
  });
  return {spikes, rate, elig};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("lif_forward", &lif_forward, "fused multi-step LIF forward (CPU, float32)");
  m.def("lif_backward", &lif_backward, "fused multi-step LIF backward (CPU, float32)");
  m.def("ratebp_spike_pass", &ratebp_spike_pass, "rate-based BP spike-pass LIF (CPU, float32)");
}

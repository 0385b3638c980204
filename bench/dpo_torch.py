"""PyTorch half of `npm run bench -- dpo` (bench/dpo.ts runs it; bench-only code, not a library).

Reads the score network's weights and one Diffusion-DPO batch from a safetensors file written by bench/dpo.ts,
rebuilds the network of packages/nn/src/score.ts layer by layer (each function below names the TypeScript function
it mirrors), and
  - writes the DPO loss, margins, per-sample errors and parameter gradients in float32 and float64, for each beta
    of `config.checkBetas`, to a safetensors file (keys `beta<b>/f32|f64/...`), for the numerical cross-check;
  - times the DPO forward loss (torch.no_grad), forward+backward, and a full training step as trainDpo takes it
    (forward+backward, global-norm clipping, AdamW with decay on `*.w` only), printing the per-run wall and process
    CPU milliseconds as one JSON object on stdout. Progress goes to stderr.

The configuration (ScoreConfig fields, pairs, optimiser settings, the schedule's eta) comes in the file's
`__metadata__["config"]` as JSON. Parameters are `[din, dout]` for dense layers (x @ w + b), as in layers.ts.
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no bench/__pycache__ from the import below
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_torch import read_safetensors, write_safetensors  # noqa: E402

# ---------------------------------------------------------------------------------------------------------------
# packages/nn/src/layers.ts
# ---------------------------------------------------------------------------------------------------------------


def pad_periodic(x, p):
    """GraphBuilder.padPeriodic(x, 3, p, p): wrap p columns of longitude (the last axis) onto each side."""
    return torch.cat([x[..., -p:], x, x[..., :p]], dim=-1) if p > 0 else x


def conv2d(P, name, x, stride=1):
    """layers.ts conv2d: periodic padding in W, zero padding in H (ONNX pads [p, 0, p, 0]), square kernel."""
    w = P[name + ".w"]
    p = (w.shape[-1] - 1) // 2
    return F.conv2d(pad_periodic(x, p), w, P[name + ".b"], stride=stride, padding=(p, 0))


def group_norm(P, name, x, groups):
    """layers.ts groupNorm: per sample and group, (x - mean) / sqrt(biased var + 1e-5), then per-channel g, b."""
    return F.group_norm(x, groups, P[name + ".g"], P[name + ".b"], eps=1e-5)


def linear(P, name, x):
    """layers.ts linear: x @ w + b with w `[din, dout]`."""
    return torch.matmul(x, P[name + ".w"]) + P[name + ".b"]


def sinusoidal_embedding(t, dim, scale=1000.0, max_period=10000.0):
    """layers.ts sinusoidalEmbedding: [sin(t f_i), cos(t f_i)], f_i = scale max_period^(-i/half), float32 constants."""
    half = dim // 2
    freqs = torch.tensor(
        [scale * math.exp(-math.log(max_period) * i / half) for i in range(half)], dtype=torch.float32
    ).to(t.dtype)
    arg = t[:, None] * freqs[None, :]  # [N, half]
    return torch.cat([torch.sin(arg), torch.cos(arg)], dim=1)  # [N, dim]


def time_embedding(P, name, t, dim):
    """layers.ts timeEmbedding: sinusoid -> fc1 -> SiLU -> fc2."""
    return linear(P, name + ".fc2", F.silu(linear(P, name + ".fc1", sinusoidal_embedding(t, dim))))


def attention(P, name, xq, xkv, heads):
    """layers.ts attention: multi-head scaled dot-product attention with dense q, k, v, o projections."""
    n, tq, d = xq.shape
    tk = xkv.shape[1]
    dh = d // heads
    q = linear(P, name + ".q", xq).reshape(n, tq, heads, dh).permute(0, 2, 1, 3)  # [N, h, Tq, dh]
    k = linear(P, name + ".k", xkv).reshape(n, tk, heads, dh).permute(0, 2, 3, 1)  # [N, h, dh, Tk]
    v = linear(P, name + ".v", xkv).reshape(n, tk, heads, dh).permute(0, 2, 1, 3)  # [N, h, Tk, dh]
    att = torch.softmax(torch.matmul(q, k) * (1 / math.sqrt(dh)), dim=-1)  # [N, h, Tq, Tk]
    o = torch.matmul(att, v).permute(0, 2, 1, 3).reshape(n, tq, d)  # [N, Tq, D]
    return linear(P, name + ".o", o)


def to_tokens(x):
    """layers.ts toTokens: [N, C, H, W] -> [N, HW, C]."""
    n, c = x.shape[:2]
    return x.reshape(n, c, -1).permute(0, 2, 1)


def from_tokens(t, h, w):
    """layers.ts fromTokens: [N, HW, C] -> [N, C, H, W]."""
    n, _, c = t.shape
    return t.permute(0, 2, 1).reshape(n, c, h, w)


def attention_block(P, name, x, heads, groups, context=None):
    """layers.ts attentionBlock: x + attn(GN(x) tokens, context tokens or the same tokens)."""
    h, w = x.shape[2:]
    q = to_tokens(group_norm(P, name + ".norm", x, groups))
    a = attention(P, name + ".attn", q, q if context is None else context, heads)
    return x + from_tokens(a, h, w)


def res_block(P, name, x, cout, groups, temb=None):
    """layers.ts resBlock: skip(x) + conv2(SiLU(GN(conv1(SiLU(GN(x))) + temb(SiLU(temb)))))."""
    h = conv2d(P, name + ".conv1", F.silu(group_norm(P, name + ".norm1", x, groups)))
    if temb is not None:
        h = h + linear(P, name + ".temb", F.silu(temb))[:, :, None, None]
    h = conv2d(P, name + ".conv2", F.silu(group_norm(P, name + ".norm2", h, groups)))
    skip = x if x.shape[1] == cout else conv2d(P, name + ".skip", x)
    return skip + h


def upsample(P, name, x):
    """layers.ts upsample: periodic pad of the low-resolution input by 1, nearest x2, pads-1 conv, crop 2 each side."""
    w2 = 2 * x.shape[3]
    u = F.interpolate(pad_periodic(x, 1), scale_factor=2, mode="nearest")  # [N, C, 2H, 2W + 4]
    y = F.conv2d(u, P[name + ".w"], P[name + ".b"], padding=1)
    return y[..., 2 : w2 + 2]


def downsample(P, name, x):
    """layers.ts downsample: stride-2 periodic 3x3 conv."""
    return conv2d(P, name, x, stride=2)


# ---------------------------------------------------------------------------------------------------------------
# packages/nn/src/score.ts and packages/nn/src/dpo.ts
# ---------------------------------------------------------------------------------------------------------------


def precondition(zt, t, f, eta):
    """score.ts precondition: sigma(t) z_t / (mu^2 + sigma^2) + mu(t) / sqrt(mu^2 + sigma^2) F, cosine VP schedule."""
    tt = t.reshape(-1, 1, 1, 1)
    cs = torch.cos(tt * math.acos(math.sqrt(eta)))
    a = cs * cs  # alpha(t) = mu(t)
    s2 = (1 - a * a) + eta * eta  # sigma(t)^2
    total = 1 + eta * eta
    skip = torch.sqrt(s2) * (1 / total)
    c_out = a * (1 / math.sqrt(total))
    return zt * skip + f * c_out


def score_net(P, cfg, zt, t, zb):
    """score.ts scoreNet: eps_theta(z_t, t, z_b)."""
    c0, c1 = cfg["widths"]
    g = cfg["groups"]
    heads = cfg["heads"]
    temb = time_embedding(P, "score.time", t, cfg["timeDim"])
    cb = conv2d(P, "score.ctx.in", zb)
    cb = res_block(P, "score.ctx.res", cb, c0, g)
    cb = downsample(P, "score.ctx.down", cb)
    ctx = to_tokens(group_norm(P, "score.ctx.norm", cb, g))
    inp = torch.cat([zt, zb], dim=1) if cfg["concatBackground"] else zt
    h0 = res_block(P, "score.l0.res", conv2d(P, "score.in", inp), c0, g, temb)
    h1 = downsample(P, "score.down", h0)
    h1 = res_block(P, "score.l1.res0", h1, c1, g, temb)
    h1 = attention_block(P, "score.l1.self", h1, heads, g)
    h1 = attention_block(P, "score.l1.cross", h1, heads, g, ctx)
    h1 = res_block(P, "score.l1.res1", h1, c1, g, temb)
    u = torch.cat([upsample(P, "score.up", h1), h0], dim=1)
    h = res_block(P, "score.l0.resup", u, c0, g, temb)
    out = conv2d(P, "score.out", F.silu(group_norm(P, "score.norm", h, g)))
    return precondition(zt, t, out, cfg["eta"]) if cfg["preconditioned"] else out


def dpo_loss(P, cfg, batch):
    """dpo.ts buildScoreDpoForward: mean_k softplus(-m_k), m_k = -(beta/2)((e_w - r_w) - (e_l - r_l))."""
    pairs = cfg["pairs"]
    eps_hat = score_net(P, cfg, batch["z_t"], batch["t"], batch["z_b"])
    d = eps_hat - batch["eps"]
    err = torch.mean(d * d, dim=(1, 2, 3))  # [2P]
    rel = err - batch["ref_err"]
    margin = (rel[:pairs] - rel[pairs:]) * (batch["beta"] * -0.5)  # [P]
    return torch.mean(F.softplus(-margin)), margin, err


# ---------------------------------------------------------------------------------------------------------------


def blas_library():
    """The BLAS shared library this process mapped (PyTorch's mm/bmm go through it when it has no MKL)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.rsplit("/", 1)[-1]}
        return ", ".join(sorted(os.path.realpath(p) for p in paths)) or "none mapped"
    except OSError:
        return "unknown"


def time_runs(fn, warmup, runs, label):
    """`warmup` untimed runs, then per-run wall and process CPU milliseconds (CPU time is what other processes on a
    shared machine disturb least)."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for i in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
        if sys.stderr.isatty():
            print(f"\r  pytorch {label}: run {i + 1}/{runs}", end="", file=sys.stderr, flush=True)
    print(f"{chr(13) if sys.stderr.isatty() else ''}  pytorch {label}: run {runs}/{runs}", file=sys.stderr)
    return {"wall": wall, "cpu": cpu}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--out", help="where to write f32/f64 losses and gradients; skipped when absent")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(1)
    tensors, meta = read_safetensors(a.inp)
    cfg = json.loads(meta["config"])
    inputs = ("z_t", "t", "z_b", "eps", "ref_err", "beta")
    batch = {k: tensors.pop(k) for k in inputs}
    keys = list(tensors.keys())  # parameters, in the graph's declaration order

    # Loss, margins, per-sample errors and gradients for each beta of the cross-check, in float32 and float64.
    if a.out:
        out = {}
        for beta in cfg["checkBetas"]:
            for dtype, tag in ((torch.float32, "f32"), (torch.float64, "f64")):
                p = {k: tensors[k].to(dtype).clone().requires_grad_(True) for k in keys}
                b = {k: v.to(dtype) for k, v in batch.items()}
                b["beta"] = torch.tensor([beta], dtype=torch.float32).to(dtype)
                loss, margin, err = dpo_loss(p, cfg, b)
                loss.backward()
                pre = f"beta{beta:g}/{tag}"
                out[f"{pre}/loss"] = loss.detach().reshape([1])
                out[f"{pre}/margin"] = margin.detach()
                out[f"{pre}/model_err"] = err.detach()
                for k in keys:
                    out[f"{pre}/grad/{k}"] = p[k].grad
        write_safetensors(a.out, out, {"torch": torch.__version__})

    params = {k: tensors[k].clone().requires_grad_(True) for k in keys}
    # trainModel's step: clipGradNorm(clipNorm), then AdamW with decoupled decay on `*.w` only (decaysWeight).
    groups = [
        {"params": [params[k] for k in keys if k.endswith(".w")], "weight_decay": cfg["weightDecay"]},
        {"params": [params[k] for k in keys if not k.endswith(".w")], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=cfg["lr"])
    plist = list(params.values())

    def fwd():
        with torch.no_grad():
            dpo_loss(params, cfg, batch)

    def fwd_bwd():
        for t in plist:
            t.grad = None
        dpo_loss(params, cfg, batch)[0].backward()

    def step():
        opt.zero_grad(set_to_none=True)
        dpo_loss(params, cfg, batch)[0].backward()
        torch.nn.utils.clip_grad_norm_(plist, cfg["clipNorm"])
        opt.step()

    timings = {
        "torch": torch.__version__,
        "blas": blas_library(),
        "threads": torch.get_num_threads(),
        "forward": time_runs(fwd, a.warmup, a.runs, "forward"),
        "forward_backward": time_runs(fwd_bwd, a.warmup, a.runs, "forward+backward"),
        "train_step": time_runs(step, a.warmup, a.runs, "training step"),
    }
    print(json.dumps(timings))


if __name__ == "__main__":
    main()

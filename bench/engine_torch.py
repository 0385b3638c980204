"""PyTorch half of `npm run bench -- engine` (bench/engine.ts runs it; not a library).

Reads the reference autoencoder's weights, input and target from a safetensors file written by
bench/engine.ts, builds the same network in PyTorch (1 intra-op thread), and
  - writes its loss and parameter gradients in float32 and in float64 (a reference for both engines)
    to a safetensors file, for the numerical cross-check;
  - times forward (torch.no_grad), forward+backward and a full AdamW training step, printing the
    per-run milliseconds as one JSON object on stdout. Progress goes to stderr.

The file format is read and written here with the standard library only (8-byte LE header length,
JSON header, raw little-endian data), so no `safetensors` package is needed.
"""

import argparse
import json
import struct
import sys
import time

import torch
import torch.nn.functional as F

DTYPES = {"F32": (torch.float32, 4), "F64": (torch.float64, 8)}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        dtype, _ = DTYPES[info["dtype"]]
        b, e = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[b:e]), dtype=dtype).reshape(info["shape"])
    return out, meta


def write_safetensors(path, tensors, meta):
    header, chunks, offset = {"__metadata__": meta}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        code = "F64" if t.dtype == torch.float64 else "F32"
        b = t.numpy().tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


# name, stride, padding, activation after, upsample x2 before -- the layer table of bench/engine-model.ts.
LAYERS = [
    ("enc1", 1, 1, True, False),
    ("enc2", 2, 1, True, False),
    ("enc3", 2, 1, True, False),
    ("enc4", 1, 0, False, False),
    ("dec1", 1, 0, True, False),
    ("dec2", 1, 1, True, True),
    ("dec3", 1, 1, True, True),
    ("dec4", 1, 1, False, False),
]


def forward(params, x):
    h = x
    for name, stride, pad, act, up in LAYERS:
        if up:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = F.conv2d(h, params[name + ".w"], params[name + ".b"], stride=stride, padding=pad)
        if act:
            h = F.silu(h)
    return h


def loss_fn(params, x, y):
    return torch.mean((forward(params, x) - y) ** 2)


def median_ms(fn, warmup, runs, label):
    for _ in range(warmup):
        fn()
    out = []
    for i in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
        if sys.stderr.isatty():
            print(f"\r  pytorch {label}: run {i + 1}/{runs}", end="", file=sys.stderr, flush=True)
    print(f"{chr(13) if sys.stderr.isatty() else ''}  pytorch {label}: run {runs}/{runs}", file=sys.stderr)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--out", help="where to write f32/f64 losses and gradients; skipped when absent")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    a = ap.parse_args()
    torch.set_num_threads(1)
    tensors, _ = read_safetensors(a.inp)
    x, y = tensors.pop("input"), tensors.pop("target")
    names = [n for n, *_ in LAYERS]
    keys = [f"{n}.{s}" for n in names for s in ("w", "b")]

    # Gradients on the shared weights, float32 and float64.
    if a.out:
        out = {}
        for dtype, tag in ((torch.float32, "f32"), (torch.float64, "f64")):
            p = {k: tensors[k].to(dtype).clone().requires_grad_(True) for k in keys}
            loss = loss_fn(p, x.to(dtype), y.to(dtype))
            loss.backward()
            out[f"{tag}/loss"] = loss.detach().reshape([1])
            for k in keys:
                out[f"{tag}/grad/{k}"] = p[k].grad
        write_safetensors(a.out, out, {"torch": torch.__version__})

    params = {k: tensors[k].clone().requires_grad_(True) for k in keys}
    opt = torch.optim.AdamW(list(params.values()), lr=a.lr, weight_decay=a.weight_decay)

    def fwd():
        with torch.no_grad():
            loss_fn(params, x, y)

    def fwd_bwd():
        for t in params.values():
            t.grad = None
        loss_fn(params, x, y).backward()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(params, x, y).backward()
        opt.step()

    timings = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "forward": median_ms(fwd, a.warmup, a.runs, "forward"),
        "forward_backward": median_ms(fwd_bwd, a.warmup, a.runs, "forward+backward"),
        "train_step": median_ms(step, a.warmup, a.runs, "training step"),
    }
    print(json.dumps(timings))


if __name__ == "__main__":
    main()

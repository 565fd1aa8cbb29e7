"""Cross-checks bmae against the official MAE architecture in PyTorch, both ways, on real images:

A. PyTorch -> bmae: a PyTorch-initialised MAE (every tensor perturbed, so LayerNorm scales, biases, tokens and
   positions all differ from their init values) saved as a user would (no bmae metadata); `bmae embed --preset`
   and PyTorch compute CLS features of the same images; cosine similarity per image.
B. bmae -> PyTorch: `bmae init` writes a checkpoint; PyTorch loads it with a strict load_state_dict, its
   position embeddings are checked against MAE's formula, and CLS features are compared as in A.

    /usr/bin/python3 tools/torch/crosscheck.py --source PATH [--preset deit-tiny] [--limit 256] [--backend wasm]
Prints a JSON report; exits 1 when a cosine is below --min-cosine (default 0.99999).
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from bmae_checkpoint import open_checkpoint
from embed import cls_features, read_cache_split
from mae_vit import sincos_2d

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))


def bmae(*args):
    command = ["node", os.path.join(REPO, "packages", "experiments", "bin", "bmae.js"), *args]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout + result.stderr


def cache_split_file(cache_dir, source, split):
    """The bmae cache file of `source`'s split (the newest entry whose meta names the source)."""
    source = os.path.abspath(source)
    entries = []
    for meta_path in glob.glob(os.path.join(cache_dir, "cifar10", "*", "meta.json")):
        with open(meta_path) as f:
            meta = json.load(f)
        if meta["source"].startswith(source):
            entries.append((os.path.getmtime(meta_path), os.path.join(os.path.dirname(meta_path), f"{split}.u8")))
    if not entries:
        raise RuntimeError(f"no bmae cache entry for {source} in {cache_dir}")
    return max(entries)[1]


def compare(a, b):
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"images": int(len(a)), "width": int(a.shape[1]), "min_cosine": float(cos.min()),
            "mean_cosine": float(cos.mean()), "max_abs_diff": float(np.abs(a - b).max()),
            "feature_rms": float(np.sqrt((b**2).mean()))}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", required=True, help="CIFAR-10 source as bmae takes it")
    parser.add_argument("--preset", default="deit-tiny")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=256)
    parser.add_argument("--backend", default=None)
    parser.add_argument("--cache-dir", default=os.environ.get("BMAE_CACHE_DIR", os.path.expanduser("~/.cache/bmae")))
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--min-cosine", type=float, default=0.99999)
    args = parser.parse_args()

    work = args.workdir or tempfile.mkdtemp(prefix="bmae-crosscheck-")
    os.makedirs(work, exist_ok=True)
    common = ["--source", args.source, "--split", args.split, "--limit", str(args.limit), "--cache-dir", args.cache_dir]
    if args.backend:
        common += ["--backend", args.backend]
    report = {"preset": args.preset, "source": args.source, "split": args.split, "workdir": work}

    # A. PyTorch -> bmae
    torch_ckpt = os.path.join(work, "torch.safetensors")
    subprocess.run([sys.executable, os.path.join(HERE, "make_checkpoint.py"), "--preset", args.preset, "--seed", "0",
                    "--perturb", "0.05", "--out", torch_ckpt], check=True, capture_output=True)
    bmae_a = os.path.join(work, "bmae-from-torch.npy")
    bmae("embed", "--checkpoint", torch_ckpt, "--preset", args.preset, "--out", bmae_a, *common)
    images = read_cache_split(cache_split_file(args.cache_dir, args.source, args.split), args.limit)
    model, _, (mean, std) = open_checkpoint(torch_ckpt, args.preset)
    report["torch_to_bmae"] = compare(np.load(bmae_a), cls_features(model, images, mean, std))

    # B. bmae -> PyTorch
    bmae_ckpt = os.path.join(work, "bmae-init.safetensors")
    bmae("init", "--preset", args.preset, "--seed", "1", "--out", bmae_ckpt, *(["--backend", args.backend] if args.backend else []))
    model, metadata, (mean, std) = open_checkpoint(bmae_ckpt)  # strict load_state_dict: raises on any mismatch
    side = int(round((model.pos_embed.shape[1] - 1) ** 0.5))
    pos_error = max(float(np.abs(getattr(model, name).detach().numpy()[0] - sincos_2d(getattr(model, name).shape[-1], side)).max())
                    for name in ("pos_embed", "decoder_pos_embed"))
    bmae_b = os.path.join(work, "bmae-init.npy")
    bmae("embed", "--checkpoint", bmae_ckpt, "--out", bmae_b, *common)
    report["bmae_to_torch"] = dict(compare(np.load(bmae_b), cls_features(model, images, mean, std)),
                                   strict_load="ok", pos_embed_max_abs_error=pos_error,
                                   provenance=json.loads(metadata["bmae.provenance"]))
    ok = min(report["torch_to_bmae"]["min_cosine"], report["bmae_to_torch"]["min_cosine"]) > args.min_cosine and pos_error < 1e-6
    report["ok"] = bool(ok)
    print(json.dumps(report, indent=2))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

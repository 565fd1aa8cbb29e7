"""Loads a checkpoint written by `bmae init` / training into the PyTorch MAE with a strict load_state_dict and
checks that its fixed sin-cos position embeddings equal MAE's get_2d_sincos_pos_embed.

    /usr/bin/python3 tools/torch/check_load.py FILE.safetensors [--preset deit-tiny]
Prints one JSON line; exits 1 when a check fails.
"""
import argparse
import json
import sys

import torch

from bmae_checkpoint import open_checkpoint
from mae_vit import count_parameters, sincos_2d


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkpoint")
    parser.add_argument("--preset")
    args = parser.parse_args()

    model, metadata, (mean, std) = open_checkpoint(args.checkpoint, args.preset)  # raises on any mismatch
    grid = model.patch_embed.proj.weight.shape[-1]
    side = int(round((model.pos_embed.shape[1] - 1) ** 0.5))
    errors = {}
    for name in ("pos_embed", "decoder_pos_embed"):
        tensor = getattr(model, name)
        expected = torch.from_numpy(sincos_2d(tensor.shape[-1], side)).float().unsqueeze(0)
        errors[name] = float((tensor - expected).abs().max())
    ok = all(error < 1e-6 for error in errors.values())
    print(json.dumps({
        "checkpoint": args.checkpoint, "strict_load": "ok", "tensors": len(model.state_dict()),
        "values": count_parameters(model), "patch_size": grid, "pos_embed_max_abs_error": errors,
        "mean": mean, "std": std, "metadata_keys": sorted(metadata), "ok": ok,
    }))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

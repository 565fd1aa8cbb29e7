"""Writes a PyTorch-initialised MAE as .safetensors the way a PyTorch user would (state_dict names and layouts,
no bmae metadata, only {"format": "pt"}), for loading into bmae with `--preset`.

    /usr/bin/python3 tools/torch/make_checkpoint.py --preset deit-tiny --seed 0 [--perturb 0.05] --out FILE
--perturb adds N(0, s^2) noise to every tensor (LayerNorm scales, biases, tokens, positions too), so a
cross-check can tell apart tensors that initialisation makes equal.
"""
import argparse

import torch

from bmae_checkpoint import PRESETS
from mae_vit import MaskedAutoencoderViT, count_parameters, perturb_
from safetensors_io import save_file


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="deit-tiny", choices=sorted(PRESETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--perturb", type=float, default=0.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    model = MaskedAutoencoderViT(**PRESETS[args.preset])
    if args.perturb > 0:
        perturb_(model, torch.Generator().manual_seed(args.seed + 1), args.perturb)
    save_file(model.state_dict(), args.out, {"format": "pt"})
    print(f"wrote {args.out}: {args.preset} MAE, {len(model.state_dict())} tensors, {count_parameters(model)} values")


if __name__ == "__main__":
    main()

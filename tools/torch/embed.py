"""CLS features of a checkpoint's un-masked encoder in PyTorch (the reference for `bmae embed`).

    /usr/bin/python3 tools/torch/embed.py --checkpoint FILE [--preset P] --images SPLIT.u8 [--limit N] --out F.npy
--images is a bmae decoded-data cache file (<cache>/cifar10/<entry>/test.u8: count x 32x32x3 uint8 NHWC images,
then count labels), so both sides see the same bytes whatever the source's image format.
"""
import argparse

import numpy as np
import torch

from bmae_checkpoint import open_checkpoint


def read_cache_split(path, limit=None):
    """[N, 32, 32, 3] uint8 from a bmae cache split file."""
    raw = np.fromfile(path, dtype=np.uint8)
    image_bytes = 32 * 32 * 3
    if raw.size % (image_bytes + 1) != 0:
        raise ValueError(f"{path}: {raw.size} bytes is not a whole number of images + labels")
    count = raw.size // (image_bytes + 1)
    n = count if limit is None else min(limit, count)
    return raw[: n * image_bytes].reshape(n, 32, 32, 3)


def cls_features(model, images, mean, std, batch=256):
    """uint8 [N, H, W, 3] -> float32 [N, D], normalised as (x / 255 - mean) / std."""
    mean_t = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    outs = []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            x = torch.from_numpy(images[start : start + batch].astype(np.float32)).permute(0, 3, 1, 2) / 255.0
            outs.append(model.cls_features((x - mean_t) / std_t))
    return torch.cat(outs).numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--preset")
    parser.add_argument("--images", required=True)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    model, _, (mean, std) = open_checkpoint(args.checkpoint, args.preset)
    features = cls_features(model, read_cache_split(args.images, args.limit), mean, std)
    np.save(args.out, features.astype("<f4"))
    print(f"wrote {args.out}: {features.shape}")


if __name__ == "__main__":
    main()

"""Official MAE forward/backward in PyTorch for torch-parity.test.ts (He et al. 2022, models_mae.py:
forward_encoder's gather of kept tokens, forward_decoder's mask tokens + unshuffle with ids_restore,
patchify, forward_loss with norm_pix_loss), on a bmae checkpoint and the masking bmae drew.

    /usr/bin/python3 torch-parity.py CHECKPOINT INPUT.json  ->  JSON on stdout

INPUT: {"images": NHWC floats, "n": N, "idsKeep": [N*Lk], "idsRestore": [N*L], "mask": [N*L], "gradNames": [...]}
OUTPUT: predictions per head [N, L, K] flat, loss (norm-pix, pixels head), gradients in bmae's layout.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tools", "torch"))
from bmae_checkpoint import open_checkpoint  # noqa: E402

model, _, _ = open_checkpoint(sys.argv[1])
d = json.load(open(sys.argv[2]))
n = d["n"]
p = model.patch_size
imgs = torch.tensor(d["images"], dtype=torch.float32).reshape(n, 32, 32, 3).permute(0, 3, 1, 2)
num_patches = (32 // p) ** 2
ids_keep = torch.tensor(d["idsKeep"]).reshape(n, -1)
ids_restore = torch.tensor(d["idsRestore"]).reshape(n, num_patches)
mask = torch.tensor(d["mask"], dtype=torch.float32).reshape(n, num_patches)

x = model.patch_embed(imgs) + model.pos_embed[:, 1:, :]
x = torch.gather(x, 1, ids_keep.unsqueeze(-1).repeat(1, 1, x.shape[2]))
x = torch.cat([(model.cls_token + model.pos_embed[:, :1, :]).expand(n, -1, -1), x], 1)
for block in model.blocks:
    x = block(x)
x = model.decoder_embed(model.norm(x))
mask_tokens = model.mask_token.repeat(n, num_patches + 1 - x.shape[1], 1)
x_ = torch.cat([x[:, 1:, :], mask_tokens], 1)
x_ = torch.gather(x_, 1, ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))
x = torch.cat([x[:, :1, :], x_], 1) + model.decoder_pos_embed
for block in model.decoder_blocks:
    x = block(x)
x = model.decoder_norm(x)
heads = {name[len("decoder_pred_"):]: module for name, module in model.named_children() if name.startswith("decoder_pred_")}
if hasattr(model, "decoder_pred"):
    heads["pixels"] = model.decoder_pred
predictions = {name: head(x)[:, 1:, :] for name, head in heads.items()}

target = torch.einsum("nchpwq->nhwpqc", imgs.reshape(n, 3, 32 // p, p, 32 // p, p)).reshape(n, num_patches, p * p * 3)
target = (target - target.mean(-1, keepdim=True)) / (target.var(-1, keepdim=True) + 1e-6) ** 0.5
loss = (((predictions["pixels"] - target) ** 2).mean(-1) * mask).sum() / mask.sum()
loss.backward()

params = dict(model.named_parameters())
grads = {}
for name in d["gradNames"]:
    g = params[name].grad
    if name == "patch_embed.proj.weight":
        g = g.permute(2, 3, 1, 0).reshape(p * p * 3, -1)  # conv [D, C, P, P] -> bmae [P*P*C, D]
    elif g.dim() == 2:
        g = g.t()  # Linear [out, in] -> bmae [in, out]
    grads[name] = g.reshape(-1).tolist()
print(json.dumps({
    "predictions": {k: v.detach().reshape(-1).tolist() for k, v in predictions.items()},
    "loss": loss.item(),
    "grads": grads,
}))

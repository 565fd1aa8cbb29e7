"""Open bmae checkpoints in PyTorch: build the MAE that a file's "bmae.model" metadata describes (or a named
preset for files without it) and load the tensors with a strict load_state_dict.

The presets mirror packages/vit-model/src/config.ts (deit-tiny: DeiT-Tiny encoder, 128-wide 4-deep decoder).
"""
import json

from mae_vit import MaskedAutoencoderViT
from safetensors_io import load_file

PRESETS = {
    "deit-tiny": dict(embed_dim=192, depth=12, num_heads=3, decoder_embed_dim=128, decoder_depth=4, decoder_num_heads=4),
    "small": dict(embed_dim=128, depth=6, num_heads=4, decoder_embed_dim=64, decoder_depth=2, decoder_num_heads=4),
    "micro": dict(embed_dim=64, depth=2, num_heads=2, decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=2),
}
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


def model_kwargs(config):
    """bmae MaeConfig (JSON) -> MaskedAutoencoderViT keyword arguments."""
    enc, dec = config["encoder"], config["decoder"]
    if enc["mlpRatio"] != dec["mlpRatio"]:
        raise ValueError("encoder and decoder MLP ratios differ: MaskedAutoencoderViT takes one")
    if enc["layerNormEps"] != 1e-6:
        raise ValueError(f"layerNormEps {enc['layerNormEps']}: mae_vit uses MAE's 1e-6")
    heads = dict(config["heads"])
    pixels = heads.pop("pixels", None)
    if pixels is not None and pixels != enc["patchSize"] ** 2 * enc["channels"]:
        raise ValueError(f"pixel head of {pixels} outputs, expected P*P*C")
    if any(dim != enc["width"] for dim in heads.values()):
        raise ValueError(f"feature heads {heads} must output the encoder width {enc['width']}")
    return dict(img_size=enc["imageSize"], patch_size=enc["patchSize"], in_chans=enc["channels"], embed_dim=enc["width"],
                depth=enc["depth"], num_heads=enc["heads"], decoder_embed_dim=dec["width"], decoder_depth=dec["depth"],
                decoder_num_heads=dec["heads"], mlp_ratio=enc["mlpRatio"], extra_heads=tuple(heads),
                pixel_head=pixels is not None)


def open_checkpoint(path, preset=None):
    """Returns (model with the file's weights, strict-loaded; metadata dict; (mean, std))."""
    tensors, metadata = load_file(path)
    if "bmae.model" in metadata:
        kwargs = model_kwargs(json.loads(metadata["bmae.model"])["config"])
    elif preset is not None:
        heads = [name[len("decoder_pred_"):-len(".weight")] for name in tensors if name.startswith("decoder_pred_") and name.endswith(".weight")]
        kwargs = dict(PRESETS[preset], extra_heads=tuple(heads), pixel_head="decoder_pred.weight" in tensors)
    else:
        raise ValueError(f"{path} has no bmae.model metadata: pass a preset")
    model = MaskedAutoencoderViT(**kwargs)
    model.load_state_dict(tensors, strict=True)
    model.eval()
    if "bmae.normalization" in metadata:
        stats = json.loads(metadata["bmae.normalization"])
        normalization = (tuple(stats["mean"]), tuple(stats["std"]))
    else:
        normalization = (CIFAR10_MEAN, CIFAR10_STD)
    return model, metadata, normalization

"""Write the PyTorch reference that lusnet's C++ parity tests compare against.

For each architecture the script builds the PyTorch model with a fixed seed and random weights
(batch-norm statistics randomised too, so no layer is an identity), preprocesses real ultrasound
frames from ``--data``, and writes to ``--out/<arch>/``:

- ``weights.safetensors``: the ``state_dict``;
- ``reference.safetensors``: ``input`` ``[N, C, H, W]``, ``logits`` ``[N, classes]`` and
  ``act.<module>``, the output of every leaf module, named as the C++ node;
  metadata ``frames`` (comma-separated file names) and ``nodes`` (leaf modules in order).

It also writes ``dtypes.safetensors`` (F16 and BF16 tensors with their float32 values as PyTorch
converts them) and, through make_resize_reference.py and make_cam_reference.py, the resize and
Grad-CAM references. Results are cached in ``--out`` and rebuilt when these scripts, the model
definitions or the PyTorch version change.
"""

import argparse
import csv
import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TORCH_MODELS = ROOT / "python" / "lusnet" / "torch_models.py"
RESIZE_SCRIPT = HERE / "make_resize_reference.py"
CAM_SCRIPT = HERE / "make_cam_reference.py"
TRAIN_SCRIPT = HERE / "make_train_reference.py"
STATS_SCRIPT = HERE / "make_stats_reference.py"

IMAGENET = {"mode": "rgb", "resize": 256, "crop": 224,
            "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
LUSNET = {"mode": "gray", "resize": 224, "crop": 224, "mean": [0.155], "std": [0.176]}

# arch -> (class count, batch size, preprocessing). VGG runs a smaller batch: its activations
# are about 115 MB per image.
ARCHS = {
    "lusnet": (2, 6, LUSNET),
    "vgg16": (2, 2, IMAGENET),
    "vgg16_bn": (1000, 2, IMAGENET),
}


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(arch: str, num_classes: int) -> torch.nn.Module:
    if arch == "lusnet":
        return load_module(TORCH_MODELS, "lusnet_torch_models").LUSNet(num_classes=num_classes)
    import torchvision

    return getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)


def randomise_batch_norm(model: torch.nn.Module, generator: torch.Generator) -> None:
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            n = module.num_features
            module.weight.data = 0.5 + torch.rand(n, generator=generator)
            module.bias.data = 0.2 * torch.randn(n, generator=generator)
            module.running_mean.data = 0.2 * torch.randn(n, generator=generator)
            module.running_var.data = 0.5 + torch.rand(n, generator=generator)


def read_frame(path: Path, mode: str) -> torch.Tensor:
    """uint8 HWC decode, gray as round(0.2989 R + 0.587 G + 0.114 B), to float [1, C, H, W]."""
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    if mode == "gray":
        gray = 0.2989 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
        pixels = np.clip(np.floor(gray + 0.5), 0, 255)[..., None]
    else:
        pixels = rgb
    x = torch.from_numpy(pixels.astype(np.float32) / 255.0)
    return x.permute(2, 0, 1).unsqueeze(0).contiguous()


def center_offset(size: int, crop: int) -> int:
    return int(round((size - crop) / 2.0))


def preprocess(path: Path, p: dict) -> torch.Tensor:
    """Resize shorter side (antialiased bilinear), centre crop, normalise: torchvision's recipe."""
    x = read_frame(path, p["mode"])
    h, w = x.shape[-2:]
    short, long = (h, w) if h <= w else (w, h)
    new_short, new_long = p["resize"], int(p["resize"] * long / short)
    size = (new_short, new_long) if h <= w else (new_long, new_short)
    x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    top, left = center_offset(size[0], p["crop"]), center_offset(size[1], p["crop"])
    x = x[..., top:top + p["crop"], left:left + p["crop"]]
    mean = torch.tensor(p["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(p["std"]).view(1, -1, 1, 1)
    return ((x - mean) / std).contiguous()


def capture_leaf_outputs(model: torch.nn.Module, x: torch.Tensor):
    """Runs the model and returns its logits and every leaf module's output, in order."""
    outputs = {}
    hooks = []
    for name, module in model.named_modules():
        if len(list(module.children())) == 0:
            def hook(_module, _inputs, output, name=name):
                # Clone at once: an in-place ReLU after this module would overwrite it.
                outputs[name] = output.detach().clone()

            hooks.append(module.register_forward_hook(hook))
    with torch.no_grad():
        logits = model(x)
    for h in hooks:
        h.remove()
    return logits, outputs


def write_arch(arch: str, frames: list, out: Path) -> None:
    num_classes, batch, p = ARCHS[arch]
    torch.manual_seed(2026)
    generator = torch.Generator().manual_seed(7)
    model = build(arch, num_classes)
    randomise_batch_norm(model, generator)
    model.eval()

    chosen = frames[:batch]
    x = torch.cat([preprocess(f, p) for f in chosen])
    logits, acts = capture_leaf_outputs(model, x)

    target = out / arch
    target.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(target / "weights.safetensors"), metadata={"arch": arch})
    tensors = {"input": x, "logits": logits.contiguous()}
    tensors.update({f"act.{k}": v.contiguous() for k, v in acts.items()})
    metadata = {"frames": ",".join(f.name for f in chosen), "nodes": ",".join(acts)}
    save_file(tensors, str(target / "reference.safetensors"), metadata=metadata)
    print(f"{arch}: input {tuple(x.shape)}, {len(acts)} activations, "
          f"max |logit| {logits.abs().max().item():.4g}")


def write_dtypes(out: Path) -> None:
    generator = torch.Generator().manual_seed(11)
    values = torch.randn(257, generator=generator) * 100
    special = torch.tensor([0.0, -0.0, 1.0, -2.0, 65504.0, 6e-8, 1e-40, float("inf"),
                            -float("inf")])
    values = torch.cat([values, special])
    half, bf16 = values.half(), values.bfloat16()
    save_file({"half": half, "bf16": bf16, "half_as_f32": half.float(),
               "bf16_as_f32": bf16.float()}, str(out / "dtypes.safetensors"))


def fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (Path(__file__), TORCH_MODELS, RESIZE_SCRIPT, CAM_SCRIPT, STATS_SCRIPT,
                 TRAIN_SCRIPT):
        if path.exists():
            digest.update(path.read_bytes())
    digest.update(torch.__version__.encode())
    return digest.hexdigest()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with manifest.csv")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    stamp = args.out / "stamp.json"
    key = fingerprint()
    if stamp.exists() and json.loads(stamp.read_text()).get("fingerprint") == key:
        print(f"reference in {args.out} is up to date")
        return 0

    torch.set_num_threads(2)
    with open(args.data / "manifest.csv", newline="") as f:
        frames = [args.data / row["file"] for row in csv.DictReader(f)]
    args.out.mkdir(parents=True, exist_ok=True)
    for arch in ARCHS:
        write_arch(arch, frames, args.out)
    write_dtypes(args.out)
    if RESIZE_SCRIPT.exists():
        load_module(RESIZE_SCRIPT, "make_resize_reference").main(
            ["--data", str(args.data), "--out", str(args.out)])
    if CAM_SCRIPT.exists():
        load_module(CAM_SCRIPT, "make_cam_reference").main(
            ["--data", str(args.data), "--out", str(args.out)])
    if STATS_SCRIPT.exists():
        load_module(STATS_SCRIPT, "make_stats_reference").main(
            ["--data", str(args.data), "--out", str(args.out)])
    if TRAIN_SCRIPT.exists():
        load_module(TRAIN_SCRIPT, "make_train_reference").main(
            ["--data", str(args.data), "--out", str(args.out)])
    stamp.write_text(json.dumps({"fingerprint": key, "torch": torch.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Write the PyTorch reference for lusnet's Grad-CAM family: OUT/<arch>/cam.safetensors.

For lusnet and vgg16 the script rebuilds the PyTorch model exactly as make_reference.py does,
loads the weights that script wrote to OUT/<arch>/weights.safetensors, preprocesses the first
four frames of --data with make_reference.py's own preprocessing, hooks the layer lusnet explains
by default, and computes each method from its paper's definition with autograd:

- gradcam:   weights = mean over (i, j) of g                          (Selvaraju et al. 2017)
- gradcam++: weights = sum over (i, j) of a * ReLU(g), a = g^2 / (2 g^2 + sum(A) g^3), a = 0
             where the denominator is 0                               (Chattopadhay et al. 2018)
- hirescam:  map = sum over k of g * A                                (Draelos & Carin 2020)
- layercam:  map = sum over k of ReLU(g) * A                          (Jiang et al. 2021)
- eigencam:  map = (X - mean) v with X = A as [h*w, K], each channel centred over locations, v
             its first right singular vector, the sign chosen so the map correlates positively
             with the channel-mean map                                (Muhammad & Yeasin 2020)

where A is the hooked activation and g the gradient of the raw logit of each image's target
class (pytorch-grad-cam's ClassifierOutputTarget). Every map then goes through ReLU, bilinear
upsampling to the input size (F.interpolate, align_corners=False) and min-max normalisation per
image (a constant map becomes zeros).

Cases, per architecture: ``b4_pred`` (images 0-3, each its predicted class), ``b4_other``
(images 0-3, each another class than predicted), ``b1_pred`` (image 0) and ``b1_other``
(image 1). The file holds ``input`` [4, C, H, W], per case ``<case>.logits`` and
``<case>.<method>`` [N, 1, H, W]; metadata ``layer``, ``methods``, ``cases``, and per case
``<case>.images`` and ``<case>.targets`` (comma-separated).
"""

import argparse
import csv
import importlib.util
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

HERE = Path(__file__).resolve().parent
LAYERS = {"lusnet": "features.block4b.relu", "vgg16": "features.29"}
METHODS = ["gradcam", "gradcam++", "hirescam", "layercam", "eigencam"]
IMAGES = 4


def load_make_reference():
    spec = importlib.util.spec_from_file_location("make_reference", HERE / "make_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def activations_and_gradients(model, layer: str, x: torch.Tensor, targets):
    """A and d(logit[n, target[n]])/dA at `layer`, the logits, and the targets used."""
    captured = {}
    module = dict(model.named_modules())[layer]
    handle = module.register_forward_hook(lambda _m, _i, output: captured.update(a=output))
    try:
        logits = model(x)
    finally:
        handle.remove()
    if targets is None:
        targets = logits.argmax(dim=1)
    score = logits.gather(1, targets.view(-1, 1)).sum()
    (gradients,) = torch.autograd.grad(score, captured["a"])
    return captured["a"].detach(), gradients.detach(), logits.detach(), targets


def eigen_map(a: torch.Tensor) -> torch.Tensor:
    """The centred first principal component of one image's activations [K, h, w], in double."""
    k, h, w = a.shape
    x = a.double().reshape(k, h * w).T  # [h*w, K]
    centred = x - x.mean(dim=0, keepdim=True)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    projection = centred @ vh[0]
    mean_map = x.mean(dim=1)
    if torch.dot(projection, mean_map - mean_map.mean()) < 0:
        projection = -projection
    return projection.reshape(h, w).float()


def raw_map(method: str, a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """The map [N, h, w] before ReLU."""
    if method == "gradcam":
        return (g.mean(dim=(2, 3), keepdim=True) * a).sum(dim=1)
    if method == "gradcam++":
        g2 = g * g
        g3 = g2 * g
        denominator = 2 * g2 + a.sum(dim=(2, 3), keepdim=True) * g3
        alpha = torch.where(denominator != 0, g2 / denominator, torch.zeros_like(g))
        weights = (alpha * F.relu(g)).sum(dim=(2, 3), keepdim=True)
        return (weights * a).sum(dim=1)
    if method == "hirescam":
        return (g * a).sum(dim=1)
    if method == "layercam":
        return (F.relu(g) * a).sum(dim=1)
    if method == "eigencam":
        return torch.stack([eigen_map(image) for image in a])
    raise ValueError(f"unknown method {method}")


def heatmaps(cam: torch.Tensor, size) -> torch.Tensor:
    """ReLU, upsampling to `size`, min-max per image: [N, 1, H, W]."""
    up = F.interpolate(F.relu(cam)[:, None], size=size, mode="bilinear", align_corners=False)
    flat = up.flatten(1)
    low = flat.min(dim=1).values.view(-1, 1, 1, 1)
    high = flat.max(dim=1).values.view(-1, 1, 1, 1)
    spread = high - low
    safe = torch.where(spread > 0, spread, torch.ones_like(spread))
    return torch.where(spread > 0, (up - low) / safe, torch.zeros_like(up)).contiguous()


def other_classes(logits: torch.Tensor) -> torch.Tensor:
    """A class other than the predicted one for each image: the runner-up."""
    return logits.topk(2, dim=1).indices[:, 1]


def write_arch(arch: str, make_reference, frames: list, out: Path) -> None:
    num_classes, _, preprocessing = make_reference.ARCHS[arch]
    weights = out / arch / "weights.safetensors"
    if not weights.exists():
        raise SystemExit(f"{weights} missing: run make_reference.py first")
    model = make_reference.build(arch, num_classes)
    model.load_state_dict(load_file(str(weights)))
    for module in model.modules():
        if isinstance(module, torch.nn.ReLU):
            module.inplace = False  # the hooked output must not be overwritten later
    model.eval()

    x = torch.cat([make_reference.preprocess(f, preprocessing) for f in frames[:IMAGES]])
    with torch.no_grad():
        logits = model(x)
    predicted, other = logits.argmax(dim=1), other_classes(logits)
    cases = {
        "b4_pred": (list(range(IMAGES)), None),
        "b4_other": (list(range(IMAGES)), other),
        "b1_pred": ([0], None),
        "b1_other": ([1], other[1:2]),
    }

    layer = LAYERS[arch]
    tensors = {"input": x.contiguous()}
    metadata = {"layer": layer, "methods": ",".join(METHODS), "cases": ",".join(cases)}
    for name, (images, targets) in cases.items():
        batch = x[images]
        a, g, logits, used = activations_and_gradients(model, layer, batch, targets)
        tensors[f"{name}.logits"] = logits.contiguous()
        metadata[f"{name}.images"] = ",".join(str(i) for i in images)
        metadata[f"{name}.targets"] = ",".join(str(int(t)) for t in used)
        for method in METHODS:
            tensors[f"{name}.{method}"] = heatmaps(raw_map(method, a, g), batch.shape[-2:])
    save_file(tensors, str(out / arch / "cam.safetensors"), metadata=metadata)
    print(f"{arch}: CAM reference at {layer}, predicted {predicted.tolist()}, "
          f"{len(cases)} cases x {len(METHODS)} methods")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with manifest.csv")
    parser.add_argument("--out", type=Path, required=True, help="reference root folder")
    args = parser.parse_args(argv)

    make_reference = load_make_reference()
    with open(args.data / "manifest.csv", newline="") as f:
        frames = [args.data / row["file"] for row in csv.DictReader(f)]
    for arch in LAYERS:
        write_arch(arch, make_reference, frames, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

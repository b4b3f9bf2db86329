"""Write the PyTorch reference for lusnet's bilinear resize: OUT/resize/resize.safetensors.

Three PNG frames of different sizes are taken from --data (the smallest, a middle and the
largest size). Each is decoded to RGB, divided by 255 as torchvision's ToTensor does and resized
with torch.nn.functional.interpolate(mode="bilinear", align_corners=False), the call
torchvision's tensor Resize makes. Per frame i the file holds:

- frame{i}.input          [1, 3, H, W], the decoded frame / 255
- frame{i}.resize224      224 x 224, antialiased
- frame{i}.resize224_noaa 224 x 224, without antialiasing
- frame{i}.shorter256     shorter side 256 as torchvision's Resize(256) sizes it, antialiased
- frame{i}.up             1.7 times the frame, antialiased (upsampling)
- frame{i}.mixed          height shrunk to 3/5, width grown 1.3 times, antialiased

and a seeded sweep of small random tensors, sweep{k}.input and sweep{k}.output, over odd and
single-pixel sizes, axes left unchanged, and both antialias settings. The metadata names the
frames (frame{i}.file), counts the frames and sweep cases, and gives each case's antialias flag.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file

# Fixed sweep cases (input H, W, output H, W) for the edges random draws rarely hit: a single
# pixel in or out, one axis unchanged, one axis up while the other goes down.
EDGE_CASES = [
    (1, 1, 3, 5),
    (7, 5, 1, 1),
    (5, 9, 5, 4),
    (9, 5, 4, 5),
    (31, 17, 8, 40),
    (2, 2, 4, 4),
    (4, 4, 2, 2),
]
RANDOM_CASES = 16
SEED = 2026


def pick_frames(data: Path) -> list:
    """The first PNG (by name) of the smallest, the middle and the largest frame size."""
    by_size = {}
    for path in sorted(data.glob("*.png")):
        with Image.open(path) as img:
            by_size.setdefault(img.size, path)
    if len(by_size) < 3:
        raise SystemExit(f"{data}: expected PNG frames of at least 3 sizes, got {len(by_size)}")
    sizes = sorted(by_size, key=lambda size: (size[0] * size[1], size))
    return [by_size[sizes[0]], by_size[sizes[len(sizes) // 2]], by_size[sizes[-1]]]


def decode(path: Path) -> torch.Tensor:
    """The frame as float [1, 3, H, W]: uint8 RGB converted to float, then divided by 255."""
    with Image.open(path) as img:
        rgb = np.array(img.convert("RGB"), dtype=np.uint8)
    x = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0)
    return x.float().div(255).contiguous()


def shorter_side_size(height: int, width: int, size: int) -> tuple:
    """torchvision's output size for Resize(size) with an int size and no max_size."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    return (new_long, new_short) if width <= height else (new_short, new_long)


def interpolate(x: torch.Tensor, size: tuple, antialias: bool = True) -> torch.Tensor:
    y = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=antialias)
    return y.contiguous()


def frame_tensors(i: int, x: torch.Tensor) -> dict:
    h, w = x.shape[-2:]
    prefix = f"frame{i}."
    return {
        prefix + "input": x,
        prefix + "resize224": interpolate(x, (224, 224)),
        prefix + "resize224_noaa": interpolate(x, (224, 224), antialias=False),
        prefix + "shorter256": interpolate(x, shorter_side_size(h, w, 256)),
        prefix + "up": interpolate(x, (round(1.7 * h), round(1.7 * w))),
        prefix + "mixed": interpolate(x, (h * 3 // 5, round(1.3 * w))),
    }


def sweep_cases(generator: torch.Generator) -> list:
    def draw(low: int, high: int) -> int:
        return int(torch.randint(low, high + 1, (1,), generator=generator))

    cases = list(EDGE_CASES)
    cases += [(draw(1, 40), draw(1, 40), draw(1, 64), draw(1, 64)) for _ in range(RANDOM_CASES)]
    return cases


def sweep_tensors(tensors: dict, metadata: dict) -> None:
    generator = torch.Generator().manual_seed(SEED)
    cases = sweep_cases(generator)
    for k, (h, w, out_h, out_w) in enumerate(cases):
        n, c = k % 2 + 1, 3 if k % 3 else 1
        antialias = k % 4 != 3
        x = torch.rand((n, c, h, w), generator=generator)
        tensors[f"sweep{k}.input"] = x
        tensors[f"sweep{k}.output"] = interpolate(x, (out_h, out_w), antialias)
        metadata[f"sweep{k}.antialias"] = "1" if antialias else "0"
    metadata["sweep_count"] = str(len(cases))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of PNG frames")
    parser.add_argument("--out", type=Path, required=True, help="reference root folder")
    args = parser.parse_args(argv)

    tensors, metadata = {}, {"torch": torch.__version__}
    frames = pick_frames(args.data)
    for i, path in enumerate(frames):
        tensors.update(frame_tensors(i, decode(path)))
        metadata[f"frame{i}.file"] = path.name
    metadata["frame_count"] = str(len(frames))
    sweep_tensors(tensors, metadata)

    target = args.out / "resize" / "resize.safetensors"
    target.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(target), metadata=metadata)
    sizes = ", ".join(f"{tensors[f'frame{i}.input'].shape[-1]}" for i in range(len(frames)))
    print(
        f"resize: {len(frames)} frames (widths {sizes}), {metadata['sweep_count']} sweep "
        f"cases -> {target}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

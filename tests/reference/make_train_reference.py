"""Write the PyTorch reference for lusnet's training pieces: OUT/train/*.safetensors.

Every case is described by a JSON object in the file's metadata under the case's name, so the
C++ test builds the same loss, optimiser or schedule from the file alone.

- ``losses.safetensors``: per case ``<case>.logits`` [N, K], ``<case>.targets`` (class indices
  as floats for cross-entropy, probabilities for BCE), ``<case>.loss`` [1] and ``<case>.grad``
  [N, K] from ``nn.CrossEntropyLoss`` / ``nn.BCEWithLogitsLoss`` (mean reduction); the class
  weights or pos_weight are in the case's JSON.
- ``optimizers.safetensors``: two parameters ``init.w`` [5, 3] and ``init.b`` [5], gradients
  ``grad<t>.w`` / ``grad<t>.b`` for each step t, and per case the parameters after every step
  (``<case>.step<t>.w``) and the final optimiser state (``<case>.state.w.exp_avg``, ...). The
  learning rate may change before each step (``lrs`` in the JSON). Also ``clip`` cases for
  ``torch.nn.utils.clip_grad_norm_``: the gradients before and after, and the returned norm.
- ``schedules.safetensors``: per case ``<case>.lr`` (F64), the optimiser's learning rate after
  t = 0, 1, ... calls of ``scheduler.step()``, from the real ``torch.optim.lr_scheduler``
  classes (which update recursively), to check lusnet's closed forms against.
"""

import argparse
import json
import sys
import warnings
from pathlib import Path

import torch
from safetensors.torch import save_file

SEED = 2026
STEPS = 6

LOSS_CASES = {
    "ce_plain": {"kind": "cross_entropy", "n": 7, "classes": 4},
    "ce_weighted": {"kind": "cross_entropy", "n": 7, "classes": 4, "weight": [0.5, 2.0, 1.0, 3.0]},
    "ce_smoothed": {"kind": "cross_entropy", "n": 7, "classes": 4, "label_smoothing": 0.1},
    "ce_weighted_smoothed": {
        "kind": "cross_entropy",
        "n": 9,
        "classes": 3,
        "weight": [0.2, 1.5, 4.0],
        "label_smoothing": 0.25,
    },
    "ce_binary_large": {
        "kind": "cross_entropy",
        "n": 6,
        "classes": 2,
        "scale": 60.0,
        "label_smoothing": 0.05,
    },
    "bce_plain": {"kind": "bce", "n": 6, "classes": 3},
    "bce_one_logit": {"kind": "bce", "n": 8, "classes": 1, "hard": True},
    "bce_pos_weight": {"kind": "bce", "n": 6, "classes": 3, "pos_weight": [0.5, 2.0, 7.0]},
    "bce_large": {
        "kind": "bce",
        "n": 5,
        "classes": 2,
        "scale": 80.0,
        "hard": True,
        "pos_weight": [3.0, 0.25],
    },
}

OPTIMIZER_CASES = {
    "sgd_plain": {"kind": "sgd", "lr": 0.1},
    "sgd_momentum_decay": {"kind": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.01},
    "sgd_dampening": {"kind": "sgd", "lr": 0.05, "momentum": 0.8, "dampening": 0.3},
    "sgd_nesterov": {
        "kind": "sgd",
        "lr": 0.03,
        "momentum": 0.9,
        "nesterov": True,
        "weight_decay": 5e-4,
    },
    "adamw_default": {"kind": "adamw", "lr": 1e-2},
    "adamw_custom": {
        "kind": "adamw",
        "lr": 3e-3,
        "beta1": 0.8,
        "beta2": 0.99,
        "eps": 1e-6,
        "weight_decay": 0.1,
    },
    "adamw_no_decay": {"kind": "adamw", "lr": 2e-2, "weight_decay": 0.0},
    "adamw_scheduled": {
        "kind": "adamw",
        "lr": 1e-2,
        "weight_decay": 0.05,
        "lrs": [1e-2, 8e-3, 5e-3, 2e-3, 1e-3, 5e-4],
    },
    "sgd_scheduled": {
        "kind": "sgd",
        "lr": 0.1,
        "momentum": 0.9,
        "nesterov": True,
        "weight_decay": 1e-3,
        "lrs": [0.1, 0.1, 0.05, 0.05, 0.01, 0.01],
    },
}

CLIP_CASES = {
    "clip_active": {"max_norm": 1.0},
    "clip_inactive": {"max_norm": 1000.0},
}

SCHEDULE_CASES = {
    "step": {"kind": "step", "base_lr": 0.1, "step_size": 3, "gamma": 0.5},
    "cosine": {"kind": "cosine", "base_lr": 0.05, "t_max": 10, "eta_min": 1e-4},
    "cosine_to_zero": {"kind": "cosine", "base_lr": 1e-3, "t_max": 7, "eta_min": 0.0},
    "warmup": {
        "kind": "linear",
        "base_lr": 0.01,
        "start_factor": 0.1,
        "end_factor": 1.0,
        "total_iters": 5,
    },
    "linear_decay": {
        "kind": "linear",
        "base_lr": 0.2,
        "start_factor": 1.0,
        "end_factor": 0.05,
        "total_iters": 8,
    },
    "warmup_cosine": {
        "kind": "sequence",
        "milestones": [3],
        "parts": [
            {
                "kind": "linear",
                "base_lr": 0.01,
                "start_factor": 0.01,
                "end_factor": 1.0,
                "total_iters": 3,
            },
            {"kind": "cosine", "base_lr": 0.01, "t_max": 12, "eta_min": 0.0},
        ],
    },
    "three_parts": {
        "kind": "sequence",
        "milestones": [2, 9],
        "parts": [
            {
                "kind": "linear",
                "base_lr": 0.1,
                "start_factor": 0.25,
                "end_factor": 1.0,
                "total_iters": 2,
            },
            {"kind": "step", "base_lr": 0.1, "step_size": 2, "gamma": 0.7},
            {"kind": "cosine", "base_lr": 0.1, "t_max": 6, "eta_min": 1e-3},
        ],
    },
}
SCHEDULE_EPOCHS = 25


def loss_tensors(case: str, spec: dict, generator: torch.Generator) -> dict:
    n, k = spec["n"], spec["classes"]
    logits = torch.randn(n, k, generator=generator) * spec.get("scale", 2.0)
    logits.requires_grad_(True)
    if spec["kind"] == "cross_entropy":
        targets = torch.randint(0, k, (n,), generator=generator)
        weight = torch.tensor(spec["weight"]) if "weight" in spec else None
        loss_fn = torch.nn.CrossEntropyLoss(
            weight=weight, label_smoothing=spec.get("label_smoothing", 0.0)
        )
        loss = loss_fn(logits, targets)
        stored_targets = targets.float()
    else:
        if spec.get("hard"):
            targets = torch.randint(0, 2, (n, k), generator=generator).float()
        else:
            targets = torch.rand(n, k, generator=generator)
        pos_weight = torch.tensor(spec["pos_weight"]) if "pos_weight" in spec else None
        loss = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)(logits, targets)
        stored_targets = targets
    loss.backward()
    return {
        f"{case}.logits": logits.detach().clone(),
        f"{case}.targets": stored_targets.contiguous(),
        f"{case}.loss": loss.detach().reshape(1).clone(),
        f"{case}.grad": logits.grad.clone(),
    }


def make_optimizer(spec: dict, params: list) -> torch.optim.Optimizer:
    if spec["kind"] == "sgd":
        return torch.optim.SGD(
            params,
            lr=spec["lr"],
            momentum=spec.get("momentum", 0.0),
            dampening=spec.get("dampening", 0.0),
            weight_decay=spec.get("weight_decay", 0.0),
            nesterov=spec.get("nesterov", False),
            foreach=False,
        )
    return torch.optim.AdamW(
        params,
        lr=spec["lr"],
        betas=(spec.get("beta1", 0.9), spec.get("beta2", 0.999)),
        eps=spec.get("eps", 1e-8),
        weight_decay=spec.get("weight_decay", 1e-2),
        foreach=False,
    )


def optimizer_tensors(case: str, spec: dict, init: dict, grads: list) -> dict:
    params = {name: value.clone().requires_grad_(True) for name, value in init.items()}
    opt = make_optimizer(spec, list(params.values()))
    out = {}
    for t, step_grads in enumerate(grads):
        if "lrs" in spec:
            opt.param_groups[0]["lr"] = spec["lrs"][t]
        for name, p in params.items():
            p.grad = step_grads[name].clone()
        opt.step()
        for name, p in params.items():
            out[f"{case}.step{t}.{name}"] = p.detach().clone()
    for name, p in params.items():
        for key, value in opt.state[p].items():
            if key != "step":
                out[f"{case}.state.{name}.{key}"] = value.clone()
    return out


def clip_tensors(case: str, spec: dict, generator: torch.Generator) -> dict:
    params = [torch.zeros(4, 3, requires_grad=True), torch.zeros(6, requires_grad=True)]
    grads = [torch.randn(p.shape, generator=generator) for p in params]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    total = torch.nn.utils.clip_grad_norm_(params, spec["max_norm"])
    return {
        f"{case}.before.0": grads[0],
        f"{case}.before.1": grads[1],
        f"{case}.after.0": params[0].grad.clone(),
        f"{case}.after.1": params[1].grad.clone(),
        f"{case}.total": total.reshape(1).clone(),
    }


def make_scheduler(spec: dict, opt: torch.optim.Optimizer):
    sched = torch.optim.lr_scheduler
    kind = spec["kind"]
    if kind == "step":
        return sched.StepLR(opt, step_size=spec["step_size"], gamma=spec["gamma"])
    if kind == "cosine":
        return sched.CosineAnnealingLR(opt, T_max=spec["t_max"], eta_min=spec["eta_min"])
    if kind == "linear":
        return sched.LinearLR(
            opt,
            start_factor=spec["start_factor"],
            end_factor=spec["end_factor"],
            total_iters=spec["total_iters"],
        )
    parts = [make_scheduler(part, opt) for part in spec["parts"]]
    return sched.SequentialLR(opt, parts, milestones=spec["milestones"])


def schedule_tensor(spec: dict) -> torch.Tensor:
    base = spec["base_lr"] if "base_lr" in spec else spec["parts"][0]["base_lr"]
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    scheduler = make_scheduler(spec, opt)
    rates = []
    for _ in range(SCHEDULE_EPOCHS):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return torch.tensor(rates, dtype=torch.float64)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="unused; as the other scripts")
    parser.add_argument("--out", type=Path, required=True, help="reference root folder")
    args = parser.parse_args(argv)
    target = args.out / "train"
    target.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(SEED)

    losses, meta = {}, {"torch": torch.__version__, "cases": ",".join(LOSS_CASES)}
    for case, spec in LOSS_CASES.items():
        losses.update(loss_tensors(case, spec, generator))
        meta[case] = json.dumps(spec)
    save_file(losses, str(target / "losses.safetensors"), metadata=meta)

    init = {"w": torch.randn(5, 3, generator=generator), "b": torch.randn(5, generator=generator)}
    grads = [
        {name: torch.randn(v.shape, generator=generator) for name, v in init.items()}
        for _ in range(STEPS)
    ]
    optim = {f"init.{name}": v for name, v in init.items()}
    optim.update({f"grad{t}.{name}": g[name] for t, g in enumerate(grads) for name in g})
    meta = {
        "torch": torch.__version__,
        "steps": str(STEPS),
        "cases": ",".join(OPTIMIZER_CASES),
        "clip_cases": ",".join(CLIP_CASES),
    }
    for case, spec in OPTIMIZER_CASES.items():
        optim.update(optimizer_tensors(case, spec, init, grads))
        meta[case] = json.dumps(spec)
    for case, spec in CLIP_CASES.items():
        optim.update(clip_tensors(case, spec, generator))
        meta[case] = json.dumps(spec)
    save_file(optim, str(target / "optimizers.safetensors"), metadata=meta)

    schedules, meta = {}, {"torch": torch.__version__, "cases": ",".join(SCHEDULE_CASES)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR's and step-order notices
        for case, spec in SCHEDULE_CASES.items():
            schedules[f"{case}.lr"] = schedule_tensor(spec)
            meta[case] = json.dumps(spec)
    save_file(schedules, str(target / "schedules.safetensors"), metadata=meta)

    print(
        f"train: {len(LOSS_CASES)} loss, {len(OPTIMIZER_CASES)} optimiser, "
        f"{len(CLIP_CASES)} clipping and {len(SCHEDULE_CASES)} schedule cases -> {target}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

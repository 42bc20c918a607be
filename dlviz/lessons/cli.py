"""``python -m dlviz lessons list | prepare``: the lessons, and their runs trained before class."""

from __future__ import annotations

import time

from dlviz.i18n import t


def add_parser(sub) -> None:
    p = sub.add_parser("lessons", help=t("list the guided lessons, or train the runs they need before class"))
    what = p.add_subparsers(dest="what", required=True)
    ls = what.add_parser("list", help=t("the lessons and whether their runs are ready"))
    ls.set_defaults(func=run)
    pr = what.add_parser("prepare", help=t("train and keep every run the lessons need (once; later calls reuse them)"))
    pr.add_argument("ids", nargs="*", help=t("only these lessons (default: all)"))
    pr.add_argument("--data-dir", default=None, help=t("folder with the dataset files"))
    pr.set_defaults(func=run)


def run(args) -> int:
    from dlviz.lessons import load_lessons, snapshots
    from dlviz.runs import RunStore

    lessons = load_lessons()
    store = RunStore()
    if args.what == "list":
        for lesson in lessons.values():
            ready = sum(snapshots.find(store, s) is not None for s in lesson.snapshots.values())
            print(
                t(
                    "{order}. {id}: {title} ({steps} steps; runs ready: {ready} of {n})",
                    order=lesson.order,
                    id=lesson.id,
                    title=lesson.title("en"),
                    steps=len(lesson.steps),
                    ready=ready,
                    n=len(lesson.snapshots),
                )
            )
        return 0
    chosen = [lessons[i] for i in args.ids if i in lessons] if args.ids else list(lessons.values())
    unknown = [i for i in args.ids if i not in lessons]
    if unknown:
        print(t("No lesson named {names}. Known: {known}", names=", ".join(unknown), known=", ".join(lessons)))
        return 2
    t0 = time.perf_counter()
    done = snapshots.prepare(store, chosen, data_dir=args.data_dir)
    failed = [d for d in done if not d[2][:1].isdigit()]
    print(t("{n} runs ready in {s:.0f} s.", n=len(done) - len(failed), s=time.perf_counter() - t0))
    return 1 if failed else 0

"""One thread's py-spy samples (default: the script thread) by the deepest dlviz frame and by the page's call path.

python docs/bench/2026-12-07-pyspy/threads.py FILE.raw [THREAD_NAME_PART]   (gunzip the .raw.gz first)
"""

import collections
import sys

RATE = 200  # samples per second asked of py-spy


def main(path: str, want: str = "ScriptRunner") -> None:
    deep: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()
    total = 0
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip().rpartition(" ")
            n = int(count)
            frames = stack.split(";")
            if want not in frames[0]:
                continue
            total += n
            ours = [fr for fr in frames if "dlviz/" in fr or "pages/" in fr or "app.py" in fr]
            deep[ours[-1] if ours else "-"] += n
            calls[" > ".join(o.split(" (")[0] for o in ours[:6])] += n
    print("seconds of samples", total / RATE)
    for k, v in deep.most_common(25):
        print(f"{v / RATE:6.3f} {k[:150]}")
    print("---")
    for k, v in calls.most_common(25):
        print(f"{v / RATE:6.3f} {k[:230]}")


if __name__ == "__main__":
    main(*sys.argv[1:3])

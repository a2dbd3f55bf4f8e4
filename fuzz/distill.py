#!/usr/bin/env python3
"""Distil a fuzzing run into the repository corpus, at most CAP files (used by fuzz/run).

    distill.py CONTROL_FILE CORPUS_DIR CAP

CONTROL_FILE is a libFuzzer merge control file (`-merge=1 -merge_control_file=...` over the
repository corpus and the run's working corpus): for each input, the code edges it reaches
(`COV` lines). The hand-written seeds of CORPUS_DIR (any name that is not a 40-digit SHA-1) are
always kept. Of the other inputs, the ones that reach edges nothing kept reaches yet are added
greedily, most new edges first, until nothing is left to gain or CAP files are kept. Found
inputs no longer chosen are removed, chosen ones are copied in under the SHA-1 of their bytes.

Why not libFuzzer's own merge: it keeps an input per new hit-count bucket as well as per new
edge, and has no cap; a decoder whose error paths exclude each other then keeps thousands.
"""

import hashlib
import heapq
import os
import re
import shutil
import sys

FOUND = re.compile(r"^[0-9a-f]{40}$")


def read_control(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    count = int(lines[0])
    files = lines[2 : 2 + count]
    sizes, edges = {}, {}
    for line in lines[2 + count :]:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "STARTED":
            sizes[int(parts[1])] = int(parts[2]) if len(parts) > 2 else 0
        elif parts and parts[0] == "COV":
            edges[int(parts[1])] = set(parts[2:])
    return files, sizes, edges


def main():
    control, corpus, cap = sys.argv[1], sys.argv[2], int(sys.argv[3])
    files, sizes, edges = read_control(control)
    corpus_real = os.path.realpath(corpus)

    def in_corpus(path):
        return os.path.dirname(os.path.realpath(path)) == corpus_real

    seeds = [i for i, f in enumerate(files) if in_corpus(f) and not FOUND.match(os.path.basename(f))]
    covered = set().union(*(edges.get(i, set()) for i in seeds)) if seeds else set()
    # Lazy greedy: a candidate's gain only shrinks as more is covered, so a gain recomputed at
    # the top of the heap that is still the largest is the largest.
    # Ties go to inputs the corpus already holds, then to smaller ones, so that a run changes
    # the committed corpus only where it found something.
    heap = [
        (-len(edges[i] - covered), not in_corpus(files[i]), sizes.get(i, 0), files[i], i)
        for i in range(len(files))
        if i not in seeds and i in edges
    ]
    heapq.heapify(heap)
    chosen = []
    while heap and len(seeds) + len(chosen) < cap:
        _, new, size, name, i = heapq.heappop(heap)
        gain = len(edges[i] - covered)
        if gain == 0:
            continue
        if heap and gain < -heap[0][0]:
            heapq.heappush(heap, (-gain, new, size, name, i))
            continue
        chosen.append(i)
        covered |= edges[i]

    keep = set()
    for i in chosen:
        with open(files[i], "rb") as f:
            data = f.read()
        name = hashlib.sha1(data).hexdigest()
        keep.add(name)
        target = os.path.join(corpus, name)
        if not os.path.exists(target):
            shutil.copyfile(files[i], target)
    for name in os.listdir(corpus):
        if FOUND.match(name) and name not in keep:
            os.remove(os.path.join(corpus, name))
    total = set().union(*edges.values()) if edges else set()
    print(f"distilled: {len(seeds)} seeds + {len(chosen)} found inputs, {len(covered)} of {len(total)} edges")


if __name__ == "__main__":
    main()

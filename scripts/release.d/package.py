#!/usr/bin/env python3
"""Packages a release archive: the binary and LICENSE at the archive's root,
the man pages under man/man1/.

    package.py --binary PATH --name kubectl-klanker_trust[.exe] --license LICENSE \
        --man docs/man --mtime EPOCH --output kubectl-klanker_trust-v0.1.0-linux-amd64.tar.gz

The archive is reproducible: entries in a fixed order, owner root:root
(numeric 0), fixed modes (0755 binary, 0644 licence and man pages), every
mtime EPOCH (SOURCE_DATE_EPOCH), and a gzip header without name or time.
The root is the layout the krew manifest's `files` expects (`from: <bin>`,
`from: LICENSE`); krew installs only those, and man/ is for whoever unpacks
the archive by hand (`MANPATH=<dir>/man man kubectl-klanker_trust-add`).
Standard library only (no GNU tar needed, so it runs the same on macOS).
"""

import argparse
import gzip
import io
import os
import tarfile


def add(tar, path, name, mode, mtime):
    info = tarfile.TarInfo(name)
    info.size = os.path.getsize(path)
    info.mode = mode
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.type = tarfile.REGTYPE
    with open(path, "rb") as f:
        tar.addfile(info, f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--name", required=True, help="the binary's name in the archive")
    parser.add_argument("--license", required=True)
    parser.add_argument("--man", help="directory of the *.1 pages (scripts/gen-man writes them)")
    parser.add_argument("--mtime", type=int, default=0)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        add(tar, args.license, "LICENSE", 0o644, args.mtime)
        add(tar, args.binary, args.name, 0o755, args.mtime)
        if args.man:
            for page in sorted(p for p in os.listdir(args.man) if p.endswith(".1")):
                add(tar, os.path.join(args.man, page), "man/man1/" + page, 0o644, args.mtime)

    tmp = args.output + ".tmp"
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as gz:
            gz.write(buffer.getvalue())
    os.replace(tmp, args.output)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Fails when the application part (app/: the CLI, the sweep, the plots) reaches below
the public API (issue #19): every quoted include must be facecl.h or a header of app/
itself, no OpenCL header may be included, and no OpenCL function (clXxx) called.

  tools/app_boundary.py APP_DIR

The build enforces the same by giving app/ no src/ include path and linking it
against the shared library, which exports only facecl.h; this check says which line
broke the rule, and catches an OpenCL call the linker would have let through."""
import os
import re
import sys

QUOTED = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SYSTEM_CL = re.compile(r'^\s*#\s*include\s+<(CL|OpenCL)/')
CL_CALL = re.compile(r'\bcl[A-Z]\w*\s*\(')


def problems(app):
    own = {n for n in os.listdir(app) if n.endswith(".h")}
    found = []
    for name in sorted(os.listdir(app)):
        if not name.endswith((".c", ".h")):
            continue
        path = os.path.join(app, name)
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                where = f"{path}:{number}"
                m = QUOTED.match(line)
                if m and m.group(1) != "facecl.h" and m.group(1) not in own:
                    found.append(f"{where}: includes \"{m.group(1)}\", which is not facecl.h or a header of app/")
                if SYSTEM_CL.match(line):
                    found.append(f"{where}: includes an OpenCL header: app/ goes through facecl.h")
                code = line.split("//")[0]
                if CL_CALL.search(code) and not code.lstrip().startswith(("*", "/*")):
                    found.append(f"{where}: calls OpenCL ({CL_CALL.search(code).group(0).rstrip('( ')})")
    return found


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    found = problems(sys.argv[1])
    for p in found:
        print(p)
    print(f"{len(found)} problems in {sys.argv[1]}")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()

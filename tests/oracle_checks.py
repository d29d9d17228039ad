"""What the oracle scripts (tests/*_oracle.py) share: a check that prints and counts,
running facecl, and the closing line and exit status."""
import subprocess

failures, passed = [], [0]


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if ok:
        passed[0] += 1
    else:
        failures.append(what)


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True)


def summary(name):
    """Prints how many checks passed and failed; the exit status."""
    print(f"{name}: {passed[0]} checks passed, {len(failures)} failed")
    return 1 if failures else 0

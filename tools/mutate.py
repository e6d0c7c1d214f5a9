"""Mutation testing with mutmut: which small changes to the code would no test notice?

    python tools/mutate.py [--since REV | --all | PATH ...] [--jobs N] [--minutes M]
                           [--postgres] [--tests TEST_PATH ...]
    python tools/mutate.py --resume | --again [--unreached] [--tests TEST_PATH ...]
                           [--mutants GLOB ...]
                           [--workspace DIR] ...
    python tools/mutate.py --report [--workspace DIR]

Mutates the Python files of core/ and adapters/ changed since REV (default origin/main,
else HEAD~1), the whole of core/ with --all, or the files named. mutmut records which
tests run each function, and runs each mutant against those tests only. The run happens
in a copy of the checkout (build/mutation/), at low priority, for at most --minutes; at
the end it prints the kill rate of each module and lists the surviving mutants (their
diffs go to build/mutation/survivors.txt).

Only the SQLite half of the database tests runs unless --postgres is given (then one
throwaway PostgreSQL cluster serves the whole run).

--resume goes on with the mutants the last run did not reach, in its workspace (mutmut
keeps which tests cover what, so nothing is collected twice). --again runs only the
survivors of the last run once more, against the checkout's tests as they are now (test
files named with --tests join the selection; --mutants names some survivors only, e.g.
`'*_agent_for__mutmut_21'` with --postgres; --unreached adds the mutants the run did
not reach, the quick way to finish a module whose slowest mutants hang most of its tests);
the other mutants keep their verdicts.
Write tests from the survivors, then check that they kill them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = ROOT / "build" / "mutation"
MUTABLE = ("core/", "adapters/")
SOURCES = ["core", "adapters", "bot", "billing"]
ALSO_COPY = [
    "migrations",
    "alembic.ini",
    "pytest.ini",
    "manifest.yml",
    "babel.cfg",
    "README.md",
    "docs",
]
#: A test file that starts processes (`vizdots` commands, workers) or runs a subprocess.
STARTS_PROCESSES = re.compile(r"\bprocesses\(|subprocess|sys\.executable")
#: Tests of the source text rather than of what it does: the catalog test extracts the
#: marked texts from the (mutated) source and would fail on every mutated text.
READS_SOURCE = {"tests/unit/test_catalogs.py"}
#: A mutant whose tests outlast this many times their usual time is cut off (counted as
#: killed: it hangs them), never sooner than MIN_TIMEOUT seconds (pytest's start-up).
TIMEOUT_MULTIPLIER = 4.0
MIN_TIMEOUT = 60.0
#: --again: one test a mutant hangs fails after this long at least (pytest-timeout).
MIN_TEST_TIMEOUT = 30.0
#: --again's clean run of the named tests: a test that hangs there is flaky, not mutated.
CHECK_TIMEOUT = 120.0
KILLED = {"killed", "timeout", "caught by type check", "segfault"}
NOT_RUN = {"not checked", "skipped", "check was interrupted by user"}


def main() -> int:
    global WORKSPACE
    args = _arguments()
    WORKSPACE = ROOT / args.workspace
    if (args.again or args.resume or args.report) and not (WORKSPACE / "mutants").is_dir():
        print(f"no earlier run in {args.workspace}: run tools/mutate.py first", file=sys.stderr)
        return 1
    if args.report:
        return _report(_verdicts())
    if args.again:
        return _again(args)
    if args.resume:
        _run(args)
        return _report(_verdicts())
    since = args.since or _default_since()
    targets = _targets(args, since)
    if not targets:
        print(f"no Python file of core/ or adapters/ changed since {since}: nothing to mutate")
        return 0
    tests = args.tests or _in_process_tests()
    if not tests:
        print("no test covers " + ", ".join(targets) + ": nothing to run", file=sys.stderr)
        return 1
    print("mutating: " + ", ".join(targets))
    print("against:  " + ", ".join(tests))
    if args.list:
        return 0
    _prepare(targets, tests, postgres=args.postgres)
    _run(args)
    return _report(_verdicts())


def _run(args: argparse.Namespace) -> None:
    with ExitStack() as stack:
        env = dict(os.environ)
        if args.postgres:
            env["TEST_DATABASE_URL"] = stack.enter_context(_cluster())
        _run_mutmut(env, jobs=args.jobs, minutes=args.minutes, resume=args.resume)


def _again(args: argparse.Namespace) -> int:
    """The last run's survivors, run again against the tests as they are now: each against
    the tests mutmut recorded as running its function, plus the test files named with
    `--tests`, in the mutated copy with that mutant switched on. (Through mutmut itself, a
    changed test selection would mean its whole first run again.) With `--unreached`, the
    mutants the run never reached go too: the named tests first, so a mutant they kill
    costs seconds, and a mutant that hangs them is cut off like mutmut cuts it off."""
    before = _verdicts()
    chosen = [name for name, status in before.items() if _again_wanted(status, args)]
    if args.mutants:
        chosen = [name for name in chosen if any(fnmatch(name, g) for g in args.mutants)]
    if not chosen:
        return _report(before)
    _refresh_tests()
    started = time.monotonic()
    if args.tests and not _named_tests_pass(args):
        print("the tests named fail on the run's own copy of the code (the code changed since",
              "the run?): start a new run", file=sys.stderr)  # fmt: skip
        return 1
    named_seconds = time.monotonic() - started if args.tests else 0.0
    stats = _mutmut_stats()
    covering, seconds = _covering_tests(stats), _test_seconds(stats)
    print(f"running {len(chosen)} mutants of the last run again")
    deadline = time.monotonic() + args.minutes * 60
    env = dict(os.environ)

    def verdict(name: str) -> str | None:
        if time.monotonic() > deadline:
            return None
        usual = [seconds.get(test, 0.0) for test in covering.get(_function_of(name), [])]
        budget = max(MIN_TIMEOUT, TIMEOUT_MULTIPLIER * (named_seconds + sum(usual)))
        each = max(MIN_TEST_TIMEOUT, TIMEOUT_MULTIPLIER * max(usual, default=0.0))
        return _verdict(name, covering, args, env=env, budget=budget, test_timeout=each)

    with ExitStack() as stack, ThreadPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        if args.postgres:
            env["TEST_DATABASE_URL"] = stack.enter_context(_cluster())
        again = {name: v for name, v in zip(chosen, pool.map(verdict, chosen), strict=True) if v}
    _write_rerun(_rerun() | again)
    return _report(_verdicts())


def _named_tests_pass(args: argparse.Namespace) -> bool:
    """The named tests pass on the run's own copy of the code, none of them hanging."""
    env = dict(os.environ)
    return _verdict("", {}, args, env=env, budget=None, test_timeout=CHECK_TIMEOUT) == "survived"


def _again_wanted(status: str, args: argparse.Namespace) -> bool:
    if status in NOT_RUN:
        return bool(args.unreached)
    return status not in KILLED


def _function_of(mutant: str) -> str:
    return mutant.rsplit("__mutmut_", 1)[0]


def _mutmut_stats() -> dict[str, Any]:
    """What mutmut recorded in its clean run: the tests of each function, their times."""
    stats: dict[str, Any] = json.loads((WORKSPACE / "mutants" / "mutmut-stats.json").read_text())
    return stats


def _covering_tests(stats: dict[str, Any]) -> dict[str, list[str]]:
    """mutmut's record of which tests run each function."""
    return {name: sorted(tests) for name, tests in stats["tests_by_mangled_function_name"].items()}


def _test_seconds(stats: dict[str, Any]) -> dict[str, float]:
    """How long each test took in mutmut's clean run."""
    return {test: float(seconds) for test, seconds in stats.get("duration_by_test", {}).items()}


def _verdict(
    mutant: str,
    covering: dict[str, list[str]],
    args: argparse.Namespace,
    *,
    env: dict[str, str],
    budget: float | None,
    test_timeout: float | None = None,
) -> str:
    """'killed' when a test fails with the mutant on, 'timeout' when one test outlasts
    `test_timeout` seconds or all of them `budget`, 'survived' when all pass."""
    # the new test files first: a mutant they kill stops there (-x)
    tests = (args.tests or []) + covering.get(_function_of(mutant), [])
    if not tests:
        return "no tests"
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    if not args.postgres:
        command += ["-k", "not postgresql"]
    if test_timeout is not None:  # pytest-timeout ends the process at a hanging test
        command += ["--timeout", f"{test_timeout:.0f}", "--timeout-method", "thread"]
    try:
        done = subprocess.run(
            ["nice", "-n", "10", *command],
            cwd=WORKSPACE / "mutants",
            env=env | {"MUTANT_UNDER_TEST": mutant},
            capture_output=True,
            timeout=budget,
        )
    except subprocess.TimeoutExpired as stopped:  # the child is killed; a hang is a kill
        _keep_output(mutant, (stopped.stdout or b"") + (stopped.stderr or b""))
        return "timeout"
    _keep_output(mutant, done.stdout + done.stderr)
    if b"+ Timeout +" in done.stdout + done.stderr:
        return "timeout"
    # 1: a test failed; anything else but a pass or nothing collected (2 interrupted, 3
    # internal error, 4 a test id gone since mutmut's first run) decides nothing
    return {0: "survived", 1: "killed", 5: "no tests"}.get(done.returncode, "suspicious")


def _keep_output(mutant: str, output: bytes) -> None:
    """What pytest said about the mutant (which test failed or hung), for a second look."""
    logs = WORKSPACE / "again-logs"
    logs.mkdir(exist_ok=True)
    (logs / f"{mutant or 'clean'}.log").write_bytes(output[-20_000:])


def _verdicts() -> dict[str, str]:
    """mutmut's verdicts, with those of later `--again` runs over them."""
    return _results() | _rerun()


def _rerun() -> dict[str, str]:
    kept = WORKSPACE / "again.json"
    return dict(json.loads(kept.read_text())) if kept.exists() else {}


def _write_rerun(verdicts: dict[str, str]) -> None:
    (WORKSPACE / "again.json").write_text(json.dumps(verdicts, indent=0, sort_keys=True))


def _refresh_tests() -> None:
    """The checkout's tests copied over the mutated copy's."""
    files = _git("ls-files", "--cached", "--others", "--exclude-standard", "--", "tests")
    for name in files.splitlines():
        if (ROOT / name).is_file() and not name.startswith("tests/browser/"):
            target = WORKSPACE / "mutants" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help="files to mutate (default: those changed)")
    parser.add_argument("--since", help="mutate what changed since this git revision")
    parser.add_argument("--all", action="store_true", help="mutate the whole of core/")
    parser.add_argument("--tests", nargs="+", help="the tests to run (default: found)")
    parser.add_argument("--mutants", nargs="+", help="with --again: only the survivors matching")
    parser.add_argument("--jobs", type=int, default=1, help="mutants tested at once")
    parser.add_argument("--minutes", type=float, default=60, help="stop after this long")
    parser.add_argument("--list", action="store_true", help="say what would run, run nothing")
    parser.add_argument("--postgres", action="store_true", help="run the PostgreSQL tests too")
    parser.add_argument(
        "--workspace",
        default=str(WORKSPACE.relative_to(ROOT)),
        help="where to run (one per module lets --again check each later)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="go on with the mutants the last run did not reach"
    )
    parser.add_argument(
        "--again", action="store_true", help="run the last run's survivors again (new tests)"
    )
    parser.add_argument(
        "--unreached",
        action="store_true",
        help="with --again: the mutants the last run did not reach too",
    )
    parser.add_argument(
        "--report", action="store_true", help="the last run's kill rates so far; run nothing"
    )
    return parser.parse_args()


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


def _default_since() -> str:
    return "origin/main" if _git("rev-parse", "--verify", "-q", "origin/main") else "HEAD~1"


def _targets(args: argparse.Namespace, since: str) -> list[str]:
    if args.paths:
        return sorted(p for p in args.paths if p.endswith(".py"))
    if args.all:
        return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "core").rglob("*.py"))
    changed = _changed(since)
    return sorted(p for p in changed if p.startswith(MUTABLE) and (ROOT / p).exists())


def _changed(since: str) -> list[str]:
    """Python files changed since `since`, committed or not."""
    names = _git("diff", "--name-only", since, "--", "*.py").split()
    names += _git("ls-files", "--others", "--exclude-standard", "--", "*.py").split()
    return sorted(set(names))


def _in_process_tests() -> list[str]:
    """Every test file that runs our code in its own process: mutmut's first run records
    which of their tests execute each mutated function, and each mutant then runs only
    those. (Tests that start `vizdots` processes run the installed package, not the
    mutated copy, so they could kill nothing and are left out.)"""
    tests = [*(ROOT / "tests" / "unit").glob("test_*.py"),
             *(ROOT / "tests" / "integration").glob("test_*.py")]  # fmt: skip
    names = {str(p.relative_to(ROOT)) for p in tests if not STARTS_PROCESSES.search(p.read_text())}
    return sorted(names - READS_SOURCE)


def _prepare(targets: list[str], tests: list[str], *, postgres: bool) -> None:
    """A fresh copy of the checkout (as it is, uncommitted changes included) to run in."""
    shutil.rmtree(WORKSPACE, ignore_errors=True)
    files = _git("ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    for name in files:
        source = ROOT / name
        if source.is_file() and not name.startswith("tests/browser/"):
            (WORKSPACE / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, WORKSPACE / name)
    pytest_args = ["-p", "no:cacheprovider"]
    if not postgres:
        pytest_args += ["-k", "not postgresql"]
    config = {
        "source_paths": SOURCES,
        "only_mutate": targets,
        "also_copy": ALSO_COPY,
        "pytest_add_cli_args_test_selection": tests,
        "pytest_add_cli_args": pytest_args,
        "use_git_change_detection": False,
        # a mutant that makes its tests hang (a future never set) is cut off after 4x their
        # usual time, not mutmut's 15x: minutes per hanging mutant instead of ten
        "timeout_multiplier": TIMEOUT_MULTIPLIER,
        # mypy (strict, core/ only, as in `make test`) rejects some mutants outright: a
        # mutant `make test` would fail without running a test
        "type_check_command": ["mypy", "--output", "json", "--no-warn-unused-ignores"],
    }
    lines = ["", "[tool.mutmut]"] + [f"{key} = {_toml(value)}" for key, value in config.items()]
    with (WORKSPACE / "pyproject.toml").open("a") as pyproject:
        pyproject.write("\n".join(lines) + "\n")


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _cluster():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT))
    from tests.postgres import find_bindir, throwaway_cluster

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("--postgres: no PostgreSQL binaries found (apt-get install postgresql)")
    return throwaway_cluster(bindir)


def _run_mutmut(env: dict[str, str], *, jobs: int, minutes: float, resume: bool) -> None:
    """mutmut, niced, stopped (its results kept) once `minutes` have passed."""
    mutmut = Path(sys.executable).with_name("mutmut")
    env = env | {"PATH": f"{mutmut.parent}{os.pathsep}{env.get('PATH', '')}"}  # its mypy
    command = ["nice", "-n", "10", str(mutmut), "run", "--max-children", str(jobs)]
    log = (WORKSPACE / "mutmut.log").open("a" if resume else "w")
    process = subprocess.Popen(command, cwd=WORKSPACE, env=env, stdout=log, stderr=log)
    try:
        process.wait(timeout=minutes * 60)
    except subprocess.TimeoutExpired:
        print(f"stopped after {minutes:g} minutes; the mutants not reached are listed as such")
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    time.sleep(0.1)


def _results() -> dict[str, str]:
    mutmut = Path(sys.executable).with_name("mutmut")
    out = subprocess.run(
        [str(mutmut), "results", "--all", "true"], cwd=WORKSPACE, capture_output=True, text=True
    ).stdout
    return dict(re.findall(r"^\s*(\S+__mutmut_\d+): (.+)$", out, re.M))


def _module_of(mutant: str) -> str:
    """`core.delivery.xǁDeliveryǁ_claim__mutmut_3` → `core.delivery`."""
    return re.split(r"\.x(?:ǁ|_)", mutant, maxsplit=1)[0]


def _report(results: dict[str, str]) -> int:
    if not results:
        print("mutmut produced no results; see build/mutation/mutmut.log", file=sys.stderr)
        return 1
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: list[str] = []
    for mutant, status in sorted(results.items()):
        by_module[_module_of(mutant)][status] += 1
        if status not in KILLED | NOT_RUN:
            survivors.append(f"{mutant}: {status}")
    print(f"\n{'module':40} {'killed':>7} {'of':>5} {'rate':>6}  not run")
    for module, counts in sorted(by_module.items()):
        run = sum(n for status, n in counts.items() if status not in NOT_RUN)
        killed = sum(n for status, n in counts.items() if status in KILLED)
        rate = f"{100 * killed / run:.0f}%" if run else "-"
        not_run = sum(counts[status] for status in NOT_RUN)
        print(f"{module:40} {killed:>7} {run:>5} {rate:>6}  {not_run}")
    print(f"\nsurviving mutants ({len(survivors)}; 'no tests' = no test runs that code):")
    for line in survivors:
        print("  " + line)
    _write_diffs([line.split(":")[0] for line in survivors])
    return 0


#: Run inside the workspace: each surviving mutant's diff, in one process.
_SHOW = """
import sys
from mutmut.mutation.diff_apply import find_mutant, get_diff_for_mutant
for name in sys.stdin.read().split():
    print(f"# {name}")
    print(get_diff_for_mutant(name, path=find_mutant(name).path))
"""


def _write_diffs(survivors: list[str]) -> None:
    with (WORKSPACE / "survivors.txt").open("w") as out:
        subprocess.run(
            [sys.executable, "-c", _SHOW], cwd=WORKSPACE, input="\n".join(survivors),
            stdout=out, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
    print(f"their diffs: {WORKSPACE.relative_to(ROOT) / 'survivors.txt'}")


if __name__ == "__main__":
    sys.exit(main())

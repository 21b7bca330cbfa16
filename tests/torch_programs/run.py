"""Run PyTorch programs on torch and, with only their imports rewritten, on tapegrad (issue 15).

    python -m tests.torch_programs.run                  # every program in this folder
    python -m tests.torch_programs.run basics_tensors makemore_mlp
    python -m tests.torch_programs.run --show basics_tensors    # print the rewritten source

Each program in this folder is an ordinary PyTorch script. The harness runs it twice, each time
in its own subprocess with a timeout: as written, with real torch, and after `rewrite`, with
tapegrad (in a process where `import torch` fails, so the rewritten program cannot reach
torch). The two standard outputs must agree line by line: the text exactly, the numbers in it
to float32 rounding (see `compare`).

The rewrite is the contract of issue 15 and nothing else:
    import torch                          -> import autograd as torch; import autograd, nn, optim
    import torch.nn.functional as F       -> import nn.functional as F
    from torch import nn, optim           -> import nn, optim
    from torch.utils.data import X        -> from autograd.utils.data import X
    torch.nn.functional. / torch.nn. / torch.optim. / torch.autograd.  in the code
                                          -> nn.functional. / nn. / optim. / autograd.
Everything else a program finds under `torch.` it finds under `autograd.`, through the alias.
A rewritten import line stays one line (several statements joined by `;`), so the line
numbers of tapegrad's tracebacks are those of the original program.
"""
import argparse
import atexit
import concurrent.futures
import dataclasses
import json
import math
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TIMEOUT = 120.0          # seconds per run; a program takes a few seconds on torch
RTOL = 1e-5              # float32 rounding, accumulated over a short training run
ATOL = 1e-6              # for values that should be 0 and come out as 1e-8 on one side
TRACEBACK_LINES = 6

# ---------------------------------------------------------------------------------------------
# the rewrite
_PACKAGES = (("torch.nn", "nn"), ("torch.optim", "optim"), ("torch.autograd", "autograd"),
             ("torch", "autograd"))
_OWN_PACKAGES = ("nn", "optim", "autograd")    # `from torch import nn` -> `import nn`
_IMPORT = re.compile(r"^(\s*)import\s+(.+?)\s*(#.*)?$")
_FROM = re.compile(r"^(\s*)from\s+(torch(?:\.\w+)*)\s+import\s+(.+?)\s*(#.*)?$")
_CODE = re.compile(r"(?<![\w.])torch\.(nn|optim|autograd)\b")


def _module(name):
    """The tapegrad module of a torch module path: torch.nn.functional -> nn.functional."""
    for old, new in _PACKAGES:
        if name == old or name.startswith(old + "."):
            return new + name[len(old):]
    return name


def _rewrite_import(items):
    """`import a, b as c` where some items are torch modules: the statements that replace it."""
    out = []
    for item in (part.strip() for part in items.split(",")):
        words = item.split()
        name = words[0]
        alias = words[2] if len(words) == 3 and words[1] == "as" else None
        if name != "torch" and not name.startswith("torch."):
            out.append(f"import {item}")
        elif name == "torch":
            out.append(f"import autograd as {alias or 'torch'}")
            out.append("import autograd, nn, optim")
        elif alias is not None:
            out.append(f"import {_module(name)} as {alias}")
        else:
            out.append(f"import {_module(name)}")
            if _module(name).startswith("autograd."):
                # `import torch.utils.data` binds the name torch: so does its rewrite
                out.append("import autograd as torch")
    return out


def _rewrite_from(module, names):
    """`from torch[.x] import names`: the statements that replace it."""
    if module != "torch":
        return [f"from {_module(module)} import {names}"]
    out, rest = [], []
    for item in (part.strip() for part in names.split(",")):
        if item.split()[0] in _OWN_PACKAGES:
            out.append(f"import {item}")
        else:
            rest.append(item)
    if rest:
        out.insert(0, f"from autograd import {', '.join(rest)}")
    return out


def rewrite(source):
    """The program for tapegrad: its torch imports and torch.nn/optim/autograd prefixes mapped
    onto tapegrad's packages, every other character as it was (line numbers included)."""
    lines = []
    for line in source.splitlines():
        m_from = _FROM.match(line)
        m_import = _IMPORT.match(line)
        if m_from:
            indent, module, names, comment = m_from.groups()
            statements = _rewrite_from(module, names)
        elif m_import and re.search(r"(?<![\w.])torch\b", m_import.group(2)):
            indent, items, comment = m_import.groups()
            statements = _rewrite_import(items)
        else:
            lines.append(_CODE.sub(r"\1", line))
            continue
        lines.append(indent + "; ".join(statements) + (f"  {comment}" if comment else ""))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# comparing two outputs
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:nan|inf|(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)"
                     r"(?![\w])")


def _split(line):
    """A line as (text parts, number strings): text[0] num[0] text[1] num[1] ... text[-1]."""
    texts, numbers, pos = [], [], 0
    for m in _NUMBER.finditer(line):
        texts.append(line[pos:m.start()])
        numbers.append(m.group())
        pos = m.end()
    texts.append(line[pos:])
    return texts, numbers


def _last_place(text):
    """One unit in the last printed place of a number ("0.1234" -> 1e-4, "1.5e-03" -> 1e-4);
    0 for integers, whose every digit is exact."""
    m = re.fullmatch(r"[-+]?\d*\.(\d+)(?:[eE]([-+]?\d+))?", text)
    if not m:
        return 0.0
    return 10.0 ** (-len(m.group(1)) + int(m.group(2) or 0))


def numbers_close(a, b, rtol=RTOL, atol=ATOL):
    """Whether two printed numbers can be the same float32 computation: within rtol/atol of
    each other, plus one unit in their last printed place (values 1e-7 apart print as 0.1234
    and 0.1235 when they straddle a rounding boundary)."""
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    slack = max(_last_place(a), _last_place(b))
    return abs(x - y) <= max(rtol * max(abs(x), abs(y)), atol) + slack


def lines_match(expected, actual):
    """Whether one line of tapegrad's output matches torch's: the same text around the numbers
    (except the padding before a number, which depends on the other numbers' widths), and the
    numbers equal to float32 rounding. Returns (ok, why)."""
    texts_e, nums_e = _split(expected.rstrip())
    texts_a, nums_a = _split(actual.rstrip())
    if len(nums_e) != len(nums_a):
        return False, f"{len(nums_e)} numbers expected, {len(nums_a)} found"
    for i, (te, ta) in enumerate(zip(texts_e, texts_a)):
        if i < len(nums_e):
            te, ta = te.rstrip(), ta.rstrip()
        if te != ta:
            return False, f"text differs: {te!r} vs {ta!r}"
    for ne, na in zip(nums_e, nums_a):
        if not numbers_close(ne, na):
            return False, f"number differs: {ne} vs {na}"
    return True, ""


def compare(expected, actual):
    """The first difference between torch's output and tapegrad's, as (line number from 1,
    torch's line, tapegrad's line, why), or None when they agree."""
    exp_lines = expected.rstrip("\n").split("\n") if expected.strip() else []
    act_lines = actual.rstrip("\n").split("\n") if actual.strip() else []
    for i, (e, a) in enumerate(zip(exp_lines, act_lines)):
        ok, why = lines_match(e, a)
        if not ok:
            return i + 1, e, a, why
    if len(exp_lines) > len(act_lines):
        n = len(act_lines)
        return n + 1, exp_lines[n], None, "tapegrad's output ends here"
    if len(act_lines) > len(exp_lines):
        n = len(exp_lines)
        return n + 1, None, act_lines[n], "tapegrad printed more lines"
    return None


# ---------------------------------------------------------------------------------------------
# running
# Importing torch and scikit-learn takes about 2.5 s of the 3 s a program takes on torch. So
# each side has a zygote: a process that imports them once and forks a child per program; the
# child redirects its output to files and runs the program as __main__, as `python prog.py`
# would. (`--fresh` runs a new interpreter per program instead, to check that this changes
# nothing.) The tapegrad side cannot import torch, so a rewrite that missed an import fails.
_NO_TORCH = """\
import sys
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"the tapegrad run imports {name!r}", name=name)
sys.meta_path.insert(0, _NoTorch())
"""
# (torch's optimizers import torch._dynamo on their first step: another second per program)
_PRELOAD = {"torch": "import torch, torch._dynamo", "tapegrad": "import autograd, nn, optim"}
_ZYGOTE = """\
import json, os, runpy, sys, traceback
{blocker}
import numpy
{preload}
try:
    import sklearn.datasets, sklearn.model_selection
except ImportError:
    pass


def child(script, cwd, stdout, stderr):
    os.chdir(cwd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, stdout), (2, stderr)):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
    sys.argv = [script]
    sys.path[0] = os.path.dirname(script)
    code = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (e.code is not None)
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


for line in sys.stdin:
    request = json.loads(line)
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        child(**request)
    print(json.dumps({{"pid": pid}}), flush=True)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({{"status": os.waitstatus_to_exitcode(status)}}), flush=True)
"""


def programs():
    """The names of the programs in this folder, sorted."""
    return sorted(p.stem for p in HERE.glob("*.py") if p.stem not in ("run", "__init__"))


def _environment():
    env = dict(os.environ)
    # One thread each: the two runs go side by side on 2 cores, torch's reductions sum in one
    # fixed order, and the zygotes can fork safely.
    env.update(PYTHONHASHSEED="0", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1",
               PYTHONIOENCODING="utf-8")
    return env


@dataclasses.dataclass
class Run:
    """One run of a program: its output, exit status (None on timeout) and time in seconds."""
    stdout: str
    stderr: str
    returncode: object
    seconds: float

    def traceback_tail(self, n=TRACEBACK_LINES):
        if self.returncode is None:
            return f"timed out after {self.seconds:.0f} s"
        return "\n".join(self.stderr.rstrip().split("\n")[-n:])


class _Zygote:
    """A process with torch (or tapegrad) imported that forks one child per program."""

    def __init__(self, side):
        source = _ZYGOTE.format(blocker=_NO_TORCH if side == "tapegrad" else "",
                                preload=_PRELOAD[side])
        self.proc = subprocess.Popen([sys.executable, "-c", source], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=_environment(),
                                     cwd=HERE)
        self.replies = queue.Queue()
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.replies.put(json.loads(line))
        self.replies.put(None)

    def _reply(self, timeout=None):
        reply = self.replies.get(timeout=timeout)
        if reply is None:
            raise RuntimeError(f"the zygote process exited ({self.proc.wait()})")
        return reply

    def run(self, script, cwd, timeout):
        with self.lock:
            out, err = Path(cwd) / ".stdout", Path(cwd) / ".stderr"
            started = time.monotonic()
            self.proc.stdin.write(json.dumps({"script": str(script), "cwd": str(cwd),
                                              "stdout": str(out), "stderr": str(err)}) + "\n")
            self.proc.stdin.flush()
            pid = self._reply()["pid"]
            try:
                code = self._reply(timeout)["status"]
            except queue.Empty:
                os.kill(pid, signal.SIGKILL)
                self._reply()
                code = None
            seconds = time.monotonic() - started
            read = lambda p: p.read_text(encoding="utf-8", errors="replace")  # noqa: E731
            return Run(read(out), read(err), code, seconds)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


_zygotes = {}
_zygotes_lock = threading.Lock()


def _zygote(side):
    """This thread's zygote for `side` (one per thread, so --jobs N runs N programs at once)."""
    key = (side, threading.get_ident())
    with _zygotes_lock:
        if key not in _zygotes or _zygotes[key].proc.poll() is not None:
            _zygotes[key] = _Zygote(side)
        return _zygotes[key]


@atexit.register
def _close_zygotes():
    for zygote in _zygotes.values():
        zygote.close()


def _run_fresh(side, script, cwd, timeout):
    """The program in a new interpreter (the reference the zygotes must agree with)."""
    argv = [sys.executable, str(script)] if side == "torch" else \
        [sys.executable, "-c", _NO_TORCH + _FRESH_TAPEGRAD, str(script)]
    started = time.monotonic()
    try:
        proc = subprocess.run(argv, cwd=cwd, env=_environment(), capture_output=True, text=True,
                              encoding="utf-8", errors="replace", timeout=timeout)
        return Run(proc.stdout, proc.stderr, proc.returncode, time.monotonic() - started)
    except subprocess.TimeoutExpired as e:
        decode = lambda b: (b or b"").decode("utf-8", "replace") if isinstance(b, bytes) \
            else (b or "")  # noqa: E731
        return Run(decode(e.stdout), decode(e.stderr), None, time.monotonic() - started)


_FRESH_TAPEGRAD = """\
import os, runpy
script = sys.argv[1]
sys.argv = [script]
sys.path[0] = os.path.dirname(script)
runpy.run_path(script, run_name="__main__")
"""


@dataclasses.dataclass
class Result:
    """Both runs of one program and how their outputs compare."""
    name: str
    torch: Run
    tapegrad: Run
    difference: object        # None, or (line number, torch's line, tapegrad's line, why)

    @property
    def passed(self):
        return (self.torch.returncode == 0 and self.tapegrad.returncode == 0
                and self.difference is None)

    @property
    def status(self):
        if self.torch.returncode != 0:
            return "ERROR"           # the program itself fails on torch: fix the program
        return "PASS" if self.passed else "FAIL"

    def explain(self):
        """What went wrong, for a person: the first differing line and tapegrad's traceback."""
        if self.status == "PASS":
            return f"{self.name}: PASS"
        if self.status == "ERROR":
            return (f"{self.name}: the program fails on torch itself\n"
                    f"{self.torch.traceback_tail()}")
        lines = [f"{self.name}: FAIL"]
        if self.difference is not None:
            number, exp, act, why = self.difference
            lines.append(f"  line {number}: {why}")
            lines.append(f"    torch:    {exp!r}" if exp is not None else "    torch:    (end)")
            lines.append(f"    tapegrad: {act!r}" if act is not None else "    tapegrad: (end)")
        if self.tapegrad.returncode != 0:
            lines.append("  tapegrad's traceback ends:")
            lines += ["    " + t for t in self.tapegrad.traceback_tail().split("\n")]
        return "\n".join(lines)

    def summary(self):
        """One short phrase: PASS, or what tapegrad stopped on."""
        if self.status != "FAIL":
            return self.status
        if self.tapegrad.returncode != 0:
            return self.tapegrad.traceback_tail(1)
        return f"line {self.difference[0]}: {self.difference[3]}"


def run_program(name, timeout=TIMEOUT, fresh=False):
    """Run program `name` on torch and, rewritten, on tapegrad, side by side; compare."""
    source_path = HERE / f"{name}.py"
    if not source_path.is_file():
        raise FileNotFoundError(f"no program {name!r} in {HERE} (have: {', '.join(programs())})")
    with tempfile.TemporaryDirectory(prefix=f"torchprog_{name}_") as tmp:
        tmp = Path(tmp)
        for side in ("torch", "tapegrad"):
            (tmp / side).mkdir()
        rewritten = tmp / "tapegrad" / f"{name}.py"
        rewritten.write_text(rewrite(source_path.read_text()))
        jobs = {"torch": source_path, "tapegrad": rewritten}
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            if fresh:
                futures = {side: pool.submit(_run_fresh, side, script, tmp / side, timeout)
                           for side, script in jobs.items()}
            else:
                zygotes = {side: _zygote(side) for side in jobs}
                futures = {side: pool.submit(zygotes[side].run, script, tmp / side, timeout)
                           for side, script in jobs.items()}
            runs = {side: future.result() for side, future in futures.items()}
    difference = compare(runs["torch"].stdout, runs["tapegrad"].stdout)
    return Result(name, runs["torch"], runs["tapegrad"], difference)


def _table(results):
    width = max(len(r.name) for r in results)
    rows = [f"{'program':<{width}}  status  torch s  tapegrad s  first failure",
            "-" * (width + 60)]
    for r in results:
        rows.append(f"{r.name:<{width}}  {r.status:<6}  {r.torch.seconds:7.1f}  "
                    f"{r.tapegrad.seconds:10.1f}  {'' if r.passed else r.summary()[:100]}")
    passed = sum(r.passed for r in results)
    rows.append(f"{passed} of {len(results)} programs pass")
    return "\n".join(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="programs to run (default: all)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="programs at a time (each already runs two processes)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT)
    parser.add_argument("--show", action="store_true", help="print the rewritten programs")
    parser.add_argument("--fresh", action="store_true",
                        help="a new interpreter per run instead of forks of a preloaded one")
    args = parser.parse_args(argv)
    names = [n.removesuffix(".py") for n in args.names] or programs()
    if args.show:
        for name in names:
            print(rewrite((HERE / f"{name}.py").read_text()))
        return 0
    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_program, name, args.timeout, args.fresh) for name in names]
        for future in futures:
            result = future.result()
            print(result.explain(), flush=True)
            results.append(result)
    print()
    print(_table(results))
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Smoke-test a built Helix binary end to end, offline, on 127.0.0.1 only.

    python packaging/smoke.py [dist/helix] [--models ../shared/models] [--models-from bundled|pull|env]
                              [--port N] [--keep]

Where the two models come from (--models-from), and what `helix doctor` must then report:
- bundled  (default) the binary carries them: `helix` runs as under `env -i HOME=<empty>
           PATH=/usr/bin:/bin` (plus the fake upstream's URL and key), no HELIX_HOME, no model setting;
- pull     `helix models pull --from MODELS` first copies them into HELIX_HOME/models (a pip install);
- env      HELIX_CACHE__EMBEDDING_MODEL_PATH / HELIX_PII__SPACY_MODEL name the folders in MODELS
           (a binary built with --no-models).
It runs `helix --version`, `helix version`, `helix init --path X`, `helix doctor --config X`
(sqlite-vec loaded, semantic cache and spaCy NER loaded from where the mode says, offline), then
`helix serve` (on --port, default a free one) in front of the repository's fake upstream
(`python -m tests.fake_upstream`) and sends: a chat completion (MISS), the same again (HIT-EXACT),
a paraphrase of a cached question once the embedding model is loaded (HIT-SEMANTIC), a streamed
one, and one carrying an email address and a name that must reach the upstream redacted (the fake
upstream echoes what it received). If the server mounts a dashboard, its login page, the dashboard
(opened with the admin key `helix init` wrote) and the NiceGUI assets it links to must load. After
a clean stop, `helix logs` must list the requests and `helix cache stats` must run.

Every process it starts is bound in time and stopped by its PID. Exit status 0 when all checks pass;
otherwise 1, with one line saying what failed and the tail of the server's output. Timings are
printed at the end (they feed docs/packaging.md). Standard library only, so any Python 3.11+ runs
it; the fake upstream runs with --python (default: this interpreter), which needs uvicorn.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODELS = Path(os.environ.get("HELIX_SHARED_MODELS", REPO.parent / "shared" / "models"))
EMBEDDING_MODEL = "all-MiniLM-L6-v2-onnx"
SPACY_MODEL = "spacy-en_core_web_sm-3.8.0"
COMMAND_TIMEOUT = 120.0  # one CLI command (doctor loads both models: a few seconds)
READY_TIMEOUT = 90.0  # helix serve until /health answers
STOP_TIMEOUT = 20.0  # SIGTERM until exit, then SIGKILL


class SmokeFailure(Exception):
    pass


MODEL_SOURCES = {"bundled": "bundled", "pull": "data dir", "env": "config"}


class Smoke:
    def __init__(self, binary: Path, models: Path, source: str, python: str, workdir: Path, port: int) -> None:
        self.binary = binary
        self.models = models
        self.source = source
        self.python = python
        self.workdir = workdir
        self.port = port or free_port()
        self.home = workdir / "home"
        self.home.mkdir()
        self.config = workdir / "helix.toml"
        self.timings: dict[str, float] = {}
        self.serve_started = 0.0
        self.children: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        common = {"OPENAI_API_KEY": "sk-test", "COLUMNS": "220", "NO_COLOR": "1"}  # 220: no wrapped request ids
        if source == "bundled":
            # What a new user's shell gives a downloaded binary: an empty home, a minimal PATH, nothing else.
            self.env = {"HOME": str(self.home), "PATH": "/usr/bin:/bin", **common}
            return
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HELIX_") and not k.endswith("_API_KEY")}
        self.env.update(HELIX_HOME=str(self.home), HF_HUB_OFFLINE="1", TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="", **common)
        if source == "env":
            self.env.update(
                HELIX_CACHE__EMBEDDING_MODEL_PATH=str(models / EMBEDDING_MODEL),
                HELIX_PII__SPACY_MODEL=str(models / SPACY_MODEL),
            )

    # --- helpers ------------------------------------------------------------------------------

    def run(self, name: str, *args: str, expect: int = 0) -> str:
        started = time.perf_counter()
        try:
            done = subprocess.run(
                [str(self.binary), *args],
                env=self.env,
                cwd=self.workdir,
                capture_output=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SmokeFailure(f"`helix {' '.join(args)}` did not finish within {COMMAND_TIMEOUT:.0f} s") from None
        self.timings[name] = time.perf_counter() - started
        out = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
        if done.returncode != expect:
            raise SmokeFailure(f"`helix {' '.join(args)}` exited {done.returncode} (expected {expect}):\n{out}")
        return out

    def spawn(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as sink:
            # Own session: a stray grandchild can be found by its process group if ever needed.
            proc = subprocess.Popen(
                argv, env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.children.append((name, proc, log))
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> int | None:
        """SIGTERM by PID (the one-file bootloader forwards it to the Python process and then deletes
        its unpacked files); SIGKILL the PID and its children if it does not exit in time."""
        if proc.poll() is not None:
            return proc.returncode
        kids = _children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            for pid in [*kids, *_children(proc.pid), proc.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            proc.wait(5)
            return None

    def stop_all(self) -> None:
        for _, proc, _ in reversed(self.children):
            self.stop(proc)

    def tail(self, name: str, lines: int = 40) -> str:
        for child, _, log in self.children:
            if child == name and log.exists():
                return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    # --- the checks -----------------------------------------------------------------------------

    def check_version(self) -> None:
        found = re.search(r'__version__ = "([^"]+)"', (REPO / "helix" / "__init__.py").read_text())
        expected = found.group(1) if found else "?"
        for args in (["version"], ["--version"], ["-V"]):
            out = self.run(args[0], *args).strip()
            if out != expected:
                raise SmokeFailure(f"`helix {args[0]}` printed {out!r}, expected {expected!r}")
        ok(f"helix --version, -V and version -> {out}", self.timings["--version"])

    def pull_models(self) -> None:
        if self.source != "pull":
            return
        out = self.run("models pull", "models", "pull", "--from", str(self.models))
        expect(out.count("copied") == 2, f"`helix models pull --from {self.models}` did not copy both models:\n{out}")
        ok(f"helix models pull --from {self.models}", self.timings["models pull"])

    def check_init(self) -> None:
        self.run("init", "init", "--path", str(self.config))
        text = self.config.read_text(encoding="utf-8")
        template = (REPO / "helix.example.toml").read_text(encoding="utf-8")
        if not re.search(r'^admin_key = "hxa-[^"]+"$', text, re.M):
            raise SmokeFailure(f"{self.config} has no fresh admin_key line")
        stripped = re.sub(r'^admin_key = "hxa-[^"]+"$', '# admin_key = "hxa-..."', text, count=1, flags=re.M)
        if stripped != template:
            raise SmokeFailure(
                f"{self.config} is not helix.example.toml (plus an admin key): bundled template is stale"
            )
        ok(f"helix init --path {self.config.name} (bundled example.toml, admin key written)", self.timings["init"])

    def check_doctor(self) -> None:
        out = self.run("doctor", "doctor", "--config", str(self.config))
        wanted = {
            "sqlite-vec": r"OK\s+sqlite-vec: v[\d.]+ loaded",
            "database": r"OK\s+database: .*(?:migrations applied|not created yet)",  # doctor looks, never creates
            "semantic cache": r"OK\s+cache: exact \+ semantic",
            "spaCy NER": r"OK\s+pii: ner \(",
            "the PII firewall's Hyperscan prescreen": r"OK\s+pii: .*Hyperscan prescreen",
            f"the embedding model from {self.source}": (
                rf"OK\s+model embedding: .*\({MODEL_SOURCES[self.source]}(?:, int8)?\)"
            ),
            f"the spaCy model from {self.source}": rf"OK\s+model spacy: .*\({MODEL_SOURCES[self.source]}\)",
        }
        missing = [name for name, pattern in wanted.items() if not re.search(pattern, out)]
        if missing:
            raise SmokeFailure(f"`helix doctor` does not report {', '.join(missing)} as OK:\n{out}")
        ok(
            f"helix doctor: sqlite-vec, database, semantic cache and NER OK, models {self.source}",
            self.timings["doctor"],
        )

    def start_servers(self) -> tuple[str, str]:
        upstream_port, helix_port = free_port(), self.port
        upstream_env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.spawn(
            "fake-upstream",
            [self.python, "-m", "tests.fake_upstream", "--port", str(upstream_port)],
            upstream_env,
            REPO,
        )
        upstream = f"http://127.0.0.1:{upstream_port}"
        wait_for(lambda: http("GET", f"{upstream}/v1/models")[0] == 200, 30, "the fake upstream did not start")

        env = {**self.env, "HELIX_PROVIDERS__OPENAI__BASE_URL": f"{upstream}/v1"}
        started = time.perf_counter()
        proc = self.spawn(
            "helix-serve",
            [str(self.binary), "serve", "--config", str(self.config), "--host", "127.0.0.1", "--port", str(helix_port)],
            env,
            self.workdir,
        )
        base = f"http://127.0.0.1:{helix_port}"

        def healthy() -> bool:
            if proc.poll() is not None:
                raise SmokeFailure(f"helix serve exited with {proc.returncode}")
            return http("GET", f"{base}/health")[0] == 200

        self.serve_started = started
        wait_for(healthy, READY_TIMEOUT, "helix serve did not answer /health")
        self.timings["serve: /health"] = time.perf_counter() - started
        wait_for(lambda: http("GET", f"{base}/health/ready")[0] == 200, 30, "/health/ready never said ready")
        self.timings["serve: /health/ready"] = time.perf_counter() - started
        ok(f"helix serve on {base}: /health after", self.timings["serve: /health"])
        return base, upstream

    def check_proxy(self, base: str) -> list[str]:
        ids: list[str] = []
        prompt = f"Binary smoke test {_nonce()}: say hi"
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}], "temperature": 0}

        started = time.perf_counter()
        status, headers, data = http("POST", f"{base}/v1/chat/completions", body)
        self.timings["first chat completion"] = time.perf_counter() - started
        answer = _content(status, data)
        expect(answer == f"echo: {prompt}", f"unexpected answer {answer!r}")
        expect(headers.get("x-helix-cache") == "MISS", f"first request x-helix-cache={headers.get('x-helix-cache')}")
        ids.append(headers.get("x-helix-request-id", ""))
        ok("chat completion (MISS) in", self.timings["first chat completion"])

        started = time.perf_counter()
        status, headers, data = http("POST", f"{base}/v1/chat/completions", body)
        elapsed = time.perf_counter() - started
        expect(_content(status, data) == answer, "the cached answer differs from the first one")
        cache = headers.get("x-helix-cache")
        expect(cache == "HIT-EXACT", f"the repeated request was not an exact cache hit (x-helix-cache={cache})")
        ids.append(headers.get("x-helix-request-id", ""))
        ok("repeat -> x-helix-cache: HIT-EXACT in", elapsed)

        # The embedding model loads in the background after start; then a paraphrase is a semantic hit.
        log = self.workdir / "helix-serve.log"
        wait_for(
            lambda: "semantic cache ready" in log.read_text(errors="replace"), 60, "the semantic cache never got ready"
        )
        self.timings["serve: semantic ready"] = time.perf_counter() - self.serve_started
        first = "How do I reset my password?"
        status, headers, data = http("POST", f"{base}/v1/chat/completions", _chat(first))
        expect(_content(status, data) == f"echo: {first}", f"unexpected answer {data[:200]!r}")
        ids.append(headers.get("x-helix-request-id", ""))
        time.sleep(0.5)  # the single writer commits entries in batches (50 ms window): let it store this one
        paraphrase = _chat("I forgot my password, how can I reset it?")
        status, headers, data = http("POST", f"{base}/v1/chat/completions", paraphrase)
        cache = headers.get("x-helix-cache")
        expect(cache == "HIT-SEMANTIC", f"a paraphrase was not a semantic cache hit (x-helix-cache={cache})")
        expect(_content(status, data) == f"echo: {first}", "the semantic hit did not return the cached answer")
        ids.append(headers.get("x-helix-request-id", ""))
        ok(
            f"paraphrase -> HIT-SEMANTIC (similarity {headers.get('x-helix-cache-similarity')}); model ready after",
            self.timings["serve: semantic ready"],
        )

        stream_prompt = f"Stream smoke test {_nonce()}"
        status, headers, raw = http(
            "POST",
            f"{base}/v1/chat/completions",
            {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": stream_prompt}]},
        )
        expect(status == 200, f"streaming request answered {status}: {raw[:300]!r}")
        text, done = _sse_text(raw)
        expect(done, "the stream did not end with data: [DONE]")
        expect(text == f"echo: {stream_prompt}", f"streamed text {text!r}")
        ids.append(headers.get("x-helix-request-id", ""))
        ok("streaming chat completion assembled and [DONE]")

        email, name = "jane.doe@example.com", "John Smith"
        pii_prompt = f"Please write to {email} and tell {name} the build passed."
        status, headers, data = http(
            "POST",
            f"{base}/v1/chat/completions",
            {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": pii_prompt}]},
        )
        echoed = _content(status, data)  # the fake upstream echoes exactly what it received
        expect(email not in echoed, f"the email reached the upstream: {echoed!r}")
        expect("<EMAIL_ADDRESS>" in echoed, f"the email was not replaced by <EMAIL_ADDRESS>: {echoed!r}")
        expect(name not in echoed and "<PERSON>" in echoed, f"spaCy NER did not redact the name: {echoed!r}")
        ids.append(headers.get("x-helix-request-id", ""))
        ok(f"PII redacted before the upstream: {echoed!r}")
        return [i for i in ids if i]

    def check_dashboard(self, base: str) -> None:
        """If a dashboard is mounted: the login page renders, the admin key opens the dashboard, and
        the NiceGUI assets its page links to are served (they are data files inside the binary)."""
        status, _, body = http("GET", f"{base}/dashboard/login")
        if status == 404:
            ok("no /dashboard mounted (404): dashboard checks skipped")
            return
        expect(status == 200, f"/dashboard/login answered {status}: {body[:300]!r}")
        found = re.search(r'^admin_key = "([^"]+)"$', self.config.read_text(encoding="utf-8"), re.M)
        expect(found is not None, f"no admin_key in {self.config}")
        assert found is not None
        status, _, body = http("GET", f"{base}/dashboard", token=found.group(1), follow=True)
        expect(status == 200, f"/dashboard with the admin key answered {status}: {body[:300]!r}")
        page = body.decode(errors="replace")
        assets = sorted(set(re.findall(r'(?:src|href)="(/dashboard/_nicegui/[^"?#]+)', page)))
        expect(bool(assets), f"the dashboard page links no NiceGUI assets:\n{page[:500]}")
        broken = [a for a in assets if http("GET", f"{base}{a}", token=found.group(1))[0] != 200]
        expect(not broken, f"NiceGUI assets not served: {broken}")
        ok(f"dashboard: login page, admin-key page and its {len(assets)} NiceGUI assets served")

    def check_home(self) -> None:
        """Under an empty HOME, Helix writes only inside its own data and cache dirs."""
        if self.source != "bundled":
            return
        own = (Path(".local/share/helix"), Path(".cache/helix"))
        parents = {Path(".local"), Path(".local/share"), Path(".cache")}
        written = [p.relative_to(self.home) for p in self.home.rglob("*")]
        stray = sorted(str(p) for p in written if p not in parents and not any(o == p or o in p.parents for o in own))
        expect(not stray, f"files written outside Helix's data and cache dirs under HOME: {stray[:10]}")
        ok("nothing written under HOME outside ~/.local/share/helix and ~/.cache/helix")

    def check_offline_commands(self, ids: list[str]) -> None:
        out = self.run("logs", "logs", "--config", str(self.config), "-n", "20")
        missing = [i for i in ids if i not in out]
        expect(not missing, f"`helix logs` does not list request(s) {missing}:\n{out}")
        expect("HIT-EXACT" in out, f"`helix logs` shows no HIT-EXACT row:\n{out}")
        ok(f"helix logs lists the {len(ids)} requests", self.timings["logs"])
        out = self.run("cache stats", "cache", "stats", "--config", str(self.config))
        ok("helix cache stats", self.timings["cache stats"])
        print("      " + "\n      ".join(out.strip().splitlines()[:12]))


# --- small utilities --------------------------------------------------------------------------------


def _nonce() -> str:
    # A bare hex id can be all digits, and "06531100" is a phone number to the PII firewall (it was redacted in a CI
    # run); a letter in front keeps the id one word that no recognizer reads as a number.
    return f"x{uuid.uuid4().hex[:8]}"


def ok(message: str, seconds: float | None = None) -> None:
    print(f"  ok  {message}" + (f" {seconds:.2f} s" if seconds is not None else ""), flush=True)


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(probe: Any, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if probe():
                return
        time.sleep(0.05)
    raise SmokeFailure(f"{message} within {timeout:.0f} s")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def http(
    method: str, url: str, body: Any = None, *, token: str = "smoke-test", follow: bool = False, timeout: float = 30
) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("content-type", "application/json")
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def _chat(text: str) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], "temperature": 0}


def _content(status: int, data: bytes) -> str:
    if status != 200:
        raise SmokeFailure(f"chat completion answered {status}: {data[:500]!r}")
    return json.loads(data)["choices"][0]["message"]["content"]


def _sse_text(raw: bytes) -> tuple[str, bool]:
    text, done = "", False
    for line in raw.decode().splitlines():
        if not line.startswith("data: "):
            continue
        payload = line[len("data: ") :]
        if payload == "[DONE]":
            done = True
            continue
        for choice in json.loads(payload).get("choices", []):
            text += choice.get("delta", {}).get("content") or ""
    return text, done


def _children(pid: int) -> list[int]:
    """Direct children of pid (Linux /proc; elsewhere none are found and SIGTERM must do)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


@contextlib.contextmanager
def workspace(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="helix-smoke-"))
    try:
        yield path
    finally:
        if keep:
            print(f"kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary", nargs="?", default=str(REPO / "dist" / "helix"))
    parser.add_argument("--models", default=str(DEFAULT_MODELS), help="folder holding the two offline models")
    parser.add_argument(
        "--models-from", choices=sorted(MODEL_SOURCES), default="bundled", help="where helix is to find the models"
    )
    parser.add_argument("--port", type=int, default=0, help="port for helix serve (default: a free one)")
    parser.add_argument("--python", default=sys.executable, help="Python that runs tests.fake_upstream")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database)")
    args = parser.parse_args()

    binary = Path(args.binary).resolve()
    models = Path(args.models).resolve()
    if not os.access(binary, os.X_OK):
        print(f"FAIL  no executable binary at {binary}: run packaging/build.sh first", file=sys.stderr)
        return 1
    for folder in (models / EMBEDDING_MODEL, models / SPACY_MODEL):
        if args.models_from != "bundled" and not folder.is_dir():
            print(f"FAIL  model folder {folder} is missing (use --models or HELIX_SHARED_MODELS)", file=sys.stderr)
            return 1

    print(f"smoke-testing {binary} ({binary.stat().st_size / 1e6:.0f} MB)")
    with workspace(args.keep) as workdir:
        smoke = Smoke(binary, models, args.models_from, args.python, workdir, args.port)
        server_ids: list[str] = []
        try:
            smoke.check_version()
            smoke.pull_models()
            smoke.check_init()
            smoke.check_doctor()
            base, _ = smoke.start_servers()
            try:
                server_ids = smoke.check_proxy(base)
                smoke.check_dashboard(base)
            finally:
                serve = next(p for name, p, _ in smoke.children if name == "helix-serve")
                code = smoke.stop(serve)
            # uvicorn shuts down gracefully on SIGTERM, then re-raises it: exit status -15 is a clean stop.
            log = (workdir / "helix-serve.log").read_text(errors="replace")
            expect(
                code in (0, -signal.SIGTERM) and "Application shutdown complete" in log,
                f"helix serve did not shut down cleanly on SIGTERM (exit {code})",
            )
            ok("helix serve shut down cleanly on SIGTERM")
            smoke.check_offline_commands(server_ids)
            smoke.check_home()
        except SmokeFailure as exc:
            print(f"FAIL  {exc}", file=sys.stderr)
            for name in ("helix-serve", "fake-upstream"):
                tail = smoke.tail(name)
                if tail:
                    print(f"----- last lines of {name}'s output -----\n{tail}", file=sys.stderr)
            return 1
        finally:
            smoke.stop_all()
        print("timings:")
        for name, seconds in smoke.timings.items():
            print(f"  {name:<24} {seconds:6.2f} s")
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())

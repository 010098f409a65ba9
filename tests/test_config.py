"""Configuration: defaults < file < environment, ${VAR} interpolation, one clear line for mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from helix.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "helix.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(env={"HELIX_HOME": str(tmp_path)})
    assert (config.server.host, config.server.port) == ("127.0.0.1", 4000)
    assert config.routing.default_provider == "openai"


def test_the_issue_example_works_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, '[providers.openai]\nbase_url = "http://127.0.0.1:8001/v1"\napi_key = "sk-test"\n')
    config = load_config(path, env={})
    assert config.providers["openai"].base_url == "http://127.0.0.1:8001/v1"
    assert config.providers["openai"].api_key == "sk-test"


def test_environment_interpolation_and_overrides(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[server]\nport = 5000\n[providers.openai]\napi_key = "${MY_KEY}"\n'
        'base_url = "${BASE:-http://127.0.0.1:1/v1}"\n',
    )
    config = load_config(path, env={"MY_KEY": "sk-from-env", "HELIX_SERVER__PORT": "6001"})
    assert config.providers["openai"].api_key == "sk-from-env"
    assert config.providers["openai"].base_url == "http://127.0.0.1:1/v1"
    assert config.server.port == 6001  # env beats the file


def test_cli_overrides_beat_the_environment(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), env={"HELIX_SERVER__PORT": "6001"}, overrides={"server": {"port": 7}})
    assert config.server.port == 7


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[server]\nprot = 1\n", {}, "unknown config key 'server.prot'"),
        ("[sever]\nport = 1\n", {}, "unknown config key 'sever'"),
        ("[server]\nport = 'abc'\n", {}, "bad value for 'server.port'"),
        ("[server]\nport = 70000\n", {}, "bad value for 'server.port'"),
        (
            '[providers.openai]\napi_key = "${NOPE}"\n',
            {},
            "providers.openai.api_key: environment variable NOPE",
        ),
        ('[providers.x]\nkind = "cohere"\n', {}, "bad value for 'providers.x.kind'"),
        ("[models.fast]\n", {}, "'models.fast.target'"),
        ("[pricing.foo]\ninput = -1\noutput = 1\n", {}, "prices cannot be negative"),
        ("this is = not toml [", {}, "invalid TOML"),
        ("", {"HELIX_UPSTREAM__READ_TIMEOUT": "soon"}, "bad value for 'upstream.read_timeout'"),
        ("", {"HELIX_CACHE__THRESHOLD": "abc"}, "(set by the environment variable HELIX_CACHE__THRESHOLD)"),
        # base URLs every request would fail on (credentials in it or a port past 65535 were a 500 each time)
        ('[providers.x]\nbase_url = "http://bob:hunter2secret@127.0.0.1:1/v1"\n', {}, "'providers.x.base_url'"),
        ("", {"HELIX_PROVIDERS__OPENAI__BASE_URL": "http://bob:hunter2secret@h/v1"}, "'providers.openai.base_url'"),
        ('[providers.x]\nbase_url = "http://127.0.0.1:99999/v1"\n', {}, "'providers.x.base_url'"),
        ('[providers.x]\nbase_url = "localhost:8000/v1"\n', {}, "'providers.x.base_url': must start with http"),
        ('[providers.x]\nbase_url = "http:///v1"\n', {}, "'providers.x.base_url': it names no host"),
        ('[providers.x]\nbase_url = " http://h/v1"\n', {}, "'providers.x.base_url'"),
        ('[providers.x]\nbase_url = "http://h/v1?key=1"\n', {}, "'providers.x.base_url'"),
        ('[models.m]\ndeployments = [{target = "openai/x", base_url = "http://h:0x/v1"}]\n', {}, "base_url'"),
        # model names no provider has, which the x-helix-model header cannot carry (each request a plain-text 500)
        ('[models.fast]\ntarget = "openai/模型"\n', {}, "'models.fast.target': a model name is up to 256"),
        ('[models.fast]\ntarget = "openai/gpt-4o\\u0007"\n', {}, "'models.fast.target'"),
        ('[models.m]\ndeployments = [{target = "openai/Ünï"}]\n', {}, "'models.m.deployments[0].target'"),
        ('[models.f]\ntarget = "openai/x"\nfallbacks = ["openai/Ünï"]\n', {}, "'models.f.fallbacks'"),
        ('[models."模型\\n"]\ntarget = "openai/x"\n', {}, "alias '\\u6a21\\u578b\\n' in [models]"),
        ('[models.f]\ntarget = "openai/' + "x" * 300 + '"\n', {}, "'models.f.target'"),
        ('[providers."模"]\nbase_url = "http://h/v1"\n', {}, "provider '\\u6a21' in [providers]"),
        ('[providers."a/b"]\nbase_url = "http://h/v1"\n', {}, "provider 'a/b' in [providers]: a provider's name"),
        ('[routing]\ndefault_provider = "ünï"\n', {}, "'routing.default_provider'"),
        ("[cache]\njudge_close_similarity = 1.5\n", {}, "'cache.judge_close_similarity'"),
        ("", {"HELIX_CACHE__JUDGE_CLOSE_THRESHOLD": "0"}, "'cache.judge_close_threshold'"),
        ('[server]\ncors_origins = ["https://app.example.com/"]\n', {}, "'server.cors_origins': 'https://app"),
        ('[server]\ncors_origins = ["app.example.com"]\n', {}, "is not an origin"),
        ('[server]\ncors_origins = "*"\n', {}, "server.cors_origins"),
        # round 19: nan and inf (a price of nan charged nothing against any budget; a budget of nan was none)
        ("[pricing.foo]\ninput = nan\noutput = 1\n", {}, "'pricing.foo.input': nan is not a number"),
        ("[pricing.foo]\ninput = 1\noutput = inf\n", {}, "'pricing.foo.output': inf"),
        ("[limits]\nuser_budget = nan\n", {}, "'limits.user_budget': nan"),
        ("", {"HELIX_LIMITS__WINDOW_SECONDS": "nan"}, "'limits.window_seconds': nan"),
        # round 27: a negative hot cache failed a live reload half way (a 500, and [limits] never applied after it);
        # upstream settings every request hangs or times out on
        ("[cache]\nhot_mb = -1\n", {}, "'cache.hot_mb'"),
        ("[upstream]\nmax_connections = -3\n", {}, "bad value in [upstream]"),
        ("", {"HELIX_UPSTREAM__READ_TIMEOUT": "-1"}, "bad value in [upstream]"),
        ("[upstream]\nconnect_timeout = 0\n", {}, "bad value in [upstream]"),
    ],
)
def test_mistakes_are_one_clear_line(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text), env=env)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value) and "hunter2secret" not in str(raised.value)


def test_missing_named_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="helix init"):
        load_config(tmp_path / "absent.toml", env={})


def test_a_file_that_is_no_utf8_text_or_a_folder_is_one_clear_line(tmp_path: Path) -> None:
    """Both were a Python traceback from every command, `helix reload` included."""
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff[server]\n")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config(binary, env={})
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path, env={})


def test_example_file_is_valid_and_documents_every_key(tmp_path: Path) -> None:
    example = (REPO / "helix.example.toml").read_text()
    load_config(write(tmp_path, example), env={})
    from helix.config import Config, ModelAlias, Price, ProviderConfig
    from helix.pii.config import RegexRecognizerConfig

    sections = ("server", "storage", "upstream", "routing", "cache", "auth", "limits", "alerts", "pii", "dashboard")
    for section in sections:
        fields = getattr(Config(), section).__struct_fields__
        for field in fields:
            documented = f"{field} =" in example or f"[[{section}.{field}]]" in example
            assert documented, f"[{section}] {field} is not documented in helix.example.toml"
    from helix.routing_config import DeploymentConfig

    for struct in (ProviderConfig, ModelAlias, DeploymentConfig, Price, RegexRecognizerConfig):
        for field in struct.__struct_fields__:
            assert field in example, f"{struct.__name__}.{field} is not documented"


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('[auth]\nadmin_key = "hxa-clé-secrète-0123456789"\n', "auth.admin_key"),
        ('[auth]\nadmin_key = "hxa-two words-0123456789"\n', "auth.admin_key"),
        ('[auth]\nadmin_key = "hxa-0123456789abcdef\\t"\n', "auth.admin_key"),
        ('[providers.openai]\napi_key = "sk-ключ-0123456789"\n', "providers.openai.api_key"),
        ('[providers.openai]\nheaders = { "x-team" = "équipe" }\n', "providers.openai.headers.x-team"),
        ('[providers.openai]\nheaders = { "bad header" = "x" }\n', "providers.openai.headers"),
        ('[alerts]\nheaders = { "x-token" = "a\\nb" }\n', "alerts.headers.x-token"),
    ],
)
def test_a_secret_or_header_http_cannot_carry_is_refused_at_load(tmp_path: Path, toml: str, named: str) -> None:
    """An admin key beyond ASCII could never match (a client's header is read as latin-1), one with a space could not
    be sent; a provider's key or header beyond ASCII was a 500 on each request it went in."""
    with pytest.raises(ConfigError, match=f"'{named}'"):
        load_config(write(tmp_path, toml), env={})

"""Static checks of the deployment files (no Docker needed): docker-compose.yml,
deploy/Dockerfile, .dockerignore and the ClickHouse config snippets agree with
each other and with the code (settings fields, topic plan, packaging)."""

from __future__ import annotations

import fnmatch
import importlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from streams.runtime.settings import Settings
from streams.runtime.topics import Topics, topic_configs, topic_plan

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PYPROJECT = ROOT / "pyproject.toml"

# What a deployer must export; everything else has a default in the file.
DEPLOY_ENV = {
    "CX_PII_SECRET": "test-secret",
    "CLICKHOUSE_PASSWORD": "writer-pass",
    "CLICKHOUSE_BI_PASSWORD": "bi-pass",
    "GRAFANA_ADMIN_PASSWORD": "grafana-pass",
}
SERVICES = ("kafka", "kafka-init", "clickhouse", "migrate", "worker", "prometheus", "grafana")
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA = ROOT / "deploy" / "grafana"
BI_USERS_FILE = ROOT / "deploy" / "clickhouse" / "users.d" / "zz-cx-bi.xml"
ENV_PREFIX = str(Settings.model_config.get("env_prefix", ""))
SETTINGS_ENV = {f"{ENV_PREFIX}{name}".upper() for name in Settings.model_fields}


# --- compose interpolation (the subset of the compose spec the file uses) --


class MissingVariable(ValueError):
    pass


_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate_text(text: str, env: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["named"]
        op, arg = match["op"], match["arg"] or ""
        value = env.get(name)
        unset = value is None or (op is not None and op.startswith(":") and value == "")
        if op and op.endswith("-"):
            return arg if unset else str(value)
        if op and op.endswith("?"):
            if unset:
                raise MissingVariable(f"{name}: {arg}")
            return str(value)
        if op and op.endswith("+"):
            return "" if unset else arg
        return value or ""

    return _VARIABLE.sub(replace, text)


def interpolate(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate_text(node, env)
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    return node


def load_compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(raw, dict), "docker-compose.yml is not a mapping"
    result: dict[str, Any] = interpolate(raw, DEPLOY_ENV if env is None else env)
    return result


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    assert name in compose["services"], f"no service {name!r} in docker-compose.yml"
    svc: dict[str, Any] = compose["services"][name]
    return svc


def environment(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def command_args(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def healthcheck_text(svc: dict[str, Any]) -> str:
    test = (svc.get("healthcheck") or {}).get("test")
    assert test, "service has no healthcheck"
    if isinstance(test, str):
        return test
    assert test[0] in {"CMD", "CMD-SHELL"}, test
    return " ".join(test[1:])


def published_ports(svc: dict[str, Any]) -> list[tuple[int | None, int]]:
    """(host port, container port) of every `ports` entry."""
    result: list[tuple[int | None, int]] = []
    for entry in svc.get("ports") or []:
        if isinstance(entry, dict):
            published = entry.get("published")
            result.append((int(published) if published else None, int(entry["target"])))
            continue
        parts = str(entry).split("/", 1)[0].rsplit(":", 2)
        target = int(parts[-1])
        host = int(parts[-2]) if len(parts) >= 2 and parts[-2] else None
        result.append((host, target))
    return result


def bind_mounts(svc: dict[str, Any]) -> list[tuple[str, str]]:
    """(host path, container path) of every bind mount of a service."""
    mounts: list[tuple[str, str]] = []
    for entry in svc.get("volumes") or []:
        if isinstance(entry, dict):
            if entry.get("type") == "bind":
                mounts.append((entry["source"], entry["target"]))
            continue
        source, _, rest = str(entry).partition(":")
        if source.startswith((".", "/", "~")):
            mounts.append((source, rest.split(":", 1)[0]))
    return mounts


def parse_listeners(value: str) -> dict[str, tuple[str, int]]:
    """'NAME://host:port,...' -> {NAME: (host, port)}."""
    listeners = {}
    for item in value.split(","):
        name, _, address = item.strip().partition("://")
        host, _, port = address.rpartition(":")
        listeners[name] = (host, int(port))
    return listeners


def worker_settings(compose: dict[str, Any]) -> Settings:
    """Settings as the worker container would read them (no other CX_ vars)."""
    env = environment(service(compose, "worker"))
    fields = {
        key.removeprefix(ENV_PREFIX).lower(): value
        for key, value in env.items()
        if key.startswith(ENV_PREFIX)
    }
    return Settings.model_validate(fields)


# --- Dockerfile -------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends in a line continuation"
    return instructions


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"not the exec (JSON) form: {args}"
    return [str(v) for v in value]


def copy_sources() -> list[str]:
    """Sources of every COPY from the build context (not --from=stage)."""
    sources: list[str] = []
    for keyword, args in dockerfile_instructions():
        if keyword not in {"COPY", "ADD"}:
            continue
        words = shlex.split(args)
        if any(word.startswith("--from") for word in words):
            continue
        paths = [word for word in words if not word.startswith("--")]
        sources.extend(path.rstrip("/") or "." for path in paths[:-1])
    return sources


def health_url(text: str) -> tuple[int, str]:
    """(port, path) of the http://127.0.0.1:PORT/PATH a health check fetches."""
    match = re.search(r"http://(?:127\.0\.0\.1|localhost):(\d+)(/\w+)\b", text)
    assert match, f"no http://127.0.0.1:PORT/PATH in {text!r}"
    return int(match[1]), match[2]


def pyproject() -> dict[str, Any]:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


# --- the compose file -------------------------------------------------------


def test_compose_parses_and_has_every_service(compose: dict[str, Any]) -> None:
    assert isinstance(compose.get("services"), dict)
    missing = [name for name in SERVICES if name not in compose["services"]]
    assert not missing, f"services missing from docker-compose.yml: {missing}"


@pytest.mark.parametrize("name", sorted(DEPLOY_ENV))
def test_each_secret_is_required_from_the_environment(name: str) -> None:
    """Compose refuses to start without the PII key or any password: there
    is no default to forget to change."""
    with pytest.raises(MissingVariable, match=name):
        load_compose({key: value for key, value in DEPLOY_ENV.items() if key != name})
    with pytest.raises(MissingVariable, match=name):
        load_compose({**DEPLOY_ENV, name: ""})
    worker = load_compose({**DEPLOY_ENV, "CX_PII_SECRET": "s3cret"})["services"]["worker"]
    assert environment(worker)["CX_PII_SECRET"] == "s3cret"


def test_no_secret_has_a_fallback() -> None:
    """Every reference to a password or secret is `${NAME:?message}`; no
    placeholder password is left anywhere in the deployment files."""
    lines = COMPOSE_FILE.read_text(encoding="utf-8").splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    references = [m for m in _VARIABLE.finditer(text) if m["braced"] or m["named"]]
    secret = [m for m in references if re.search(r"PASSWORD|SECRET", m["braced"] or m["named"])]
    assert {m["braced"] for m in secret} >= set(DEPLOY_ENV)
    for match in secret:
        assert match["op"] == ":?", f"{match[0]} must be ${{NAME:?message}}"
    for path in [COMPOSE_FILE, *sorted((ROOT / "deploy").rglob("*")), ROOT / ".env.example"]:
        if path.is_file():
            assert "change-me" not in path.read_text(encoding="utf-8"), path


def test_worker_environment_names_real_settings(compose: dict[str, Any]) -> None:
    env = environment(service(compose, "worker"))
    unknown = sorted(set(env) - SETTINGS_ENV)
    # Settings ignores unknown CX_ variables, so a typo would go unnoticed.
    assert not unknown, f"not fields of streams.runtime.settings.Settings: {unknown}"
    for required in ("CX_BROKER_URL", "CX_CLICKHOUSE_URL", "CX_PII_SECRET"):
        assert env.get(required), f"worker environment lacks {required}"


def test_worker_environment_is_valid_settings(compose: dict[str, Any]) -> None:
    settings = worker_settings(compose)
    assert settings.web_host == "0.0.0.0", "the worker must listen beyond the container"
    assert not settings.embedded_clickhouse, "a deployment uses the ClickHouse server"
    assert settings.require_pii_secret() == DEPLOY_ENV["CX_PII_SECRET"].encode()


def test_broker_url_is_an_internal_kafka_listener(compose: dict[str, Any]) -> None:
    kafka = service(compose, "kafka")
    kafka_env = environment(kafka)
    advertised = parse_listeners(kafka_env["KAFKA_ADVERTISED_LISTENERS"])
    bound = parse_listeners(kafka_env["KAFKA_LISTENERS"])
    protocols = dict(
        item.split(":", 1) for item in kafka_env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    names_in_network = {"kafka", kafka.get("hostname"), kafka.get("container_name")} - {None}

    settings = worker_settings(compose)
    assert settings.broker_url.startswith("kafka://")
    for server in settings.bootstrap_servers.split(","):
        host, _, port = server.rpartition(":")
        matches = [
            name
            for name, (adv_host, adv_port) in advertised.items()
            if adv_host == host and adv_port == int(port)
        ]
        assert matches, f"{server} is not advertised by kafka ({advertised})"
        assert host in names_in_network, f"{server} is not reachable on the compose network"
        name = matches[0]
        assert bound[name][1] == int(port), f"listener {name} does not bind port {port}"
        assert protocols[name] == "PLAINTEXT", "the worker has no TLS/SASL settings"


def test_kafka_runs_kraft_without_auto_topic_creation(compose: dict[str, Any]) -> None:
    kafka = service(compose, "kafka")
    env = environment(kafka)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"].lower() == "false"
    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[key] == "1", f"{key} must be 1 on a single node"
    # The quorum voter is this node, on the controller listener.
    node_id, _, voter = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].partition("@")
    assert node_id == env["KAFKA_NODE_ID"]
    bound = parse_listeners(env["KAFKA_LISTENERS"])
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert int(voter.rpartition(":")[2]) == bound[controller][1]
    assert controller not in parse_listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    # The host listener is advertised as localhost:PORT and published on PORT.
    external = [
        port
        for host, port in parse_listeners(env["KAFKA_ADVERTISED_LISTENERS"]).values()
        if host == "localhost"
    ]
    assert external, "no listener advertised for clients on the host"
    assert (external[0], external[0]) in published_ports(kafka)


def test_clickhouse_url_reaches_the_clickhouse_service(compose: dict[str, Any]) -> None:
    settings = worker_settings(compose)
    url = urlsplit(settings.clickhouse_url)
    assert url.scheme == "http"
    assert url.hostname == "clickhouse" and "clickhouse" in compose["services"]
    assert url.port == 8123, "the worker speaks ClickHouse's HTTP interface"
    clickhouse = service(compose, "clickhouse")
    assert 8123 in [target for _, target in published_ports(clickhouse)]
    assert settings.database == environment(clickhouse).get("CLICKHOUSE_DB")


@pytest.mark.parametrize(
    "env",
    [{}, {"CLICKHOUSE_PASSWORD": "An0ther-pass"}],
    ids=["test-password", "another-password"],
)
def test_clickhouse_credentials_match(env: dict[str, str]) -> None:
    compose = load_compose({**DEPLOY_ENV, **env})
    server = environment(service(compose, "clickhouse"))
    for name in ("worker", "migrate"):
        url = urlsplit(environment(service(compose, name))["CX_CLICKHOUSE_URL"])
        assert unquote(url.username or "") == server["CLICKHOUSE_USER"], name
        assert unquote(url.password or "") == server["CLICKHOUSE_PASSWORD"], name
    if env:
        assert server["CLICKHOUSE_PASSWORD"] == env["CLICKHOUSE_PASSWORD"]


def test_worker_publishes_its_web_port(compose: dict[str, Any]) -> None:
    settings = worker_settings(compose)
    ports = published_ports(service(compose, "worker"))
    assert (settings.web_port, settings.web_port) in ports, ports


def host_addresses(svc: dict[str, Any]) -> list[str]:
    """The host address of every `ports` entry ("" when none: every interface)."""
    addresses = []
    for entry in svc.get("ports") or []:
        if isinstance(entry, dict):
            addresses.append(str(entry.get("host_ip", "")))
            continue
        parts = str(entry).split("/", 1)[0].rsplit(":", 2)
        addresses.append(parts[0] if len(parts) == 3 else "")
    return addresses


def test_every_port_is_published_on_loopback_by_default(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        for address in host_addresses(svc):
            assert address == "127.0.0.1", (
                f"{name} publishes a port on {address or 'every interface'}"
            )


def test_the_worker_s_port_can_be_published_beyond_loopback() -> None:
    worker = load_compose({**DEPLOY_ENV, "CX_WEB_PUBLISH": "0.0.0.0"})["services"]["worker"]
    assert host_addresses(worker) == ["0.0.0.0"]


def test_every_mounted_host_path_exists(compose: dict[str, Any]) -> None:
    mounts = [m for svc in compose["services"].values() for m in bind_mounts(svc)]
    assert mounts, "expected the ClickHouse config mounts"
    for source, _ in mounts:
        assert (ROOT / source).expanduser().exists(), f"mounted path missing: {source}"
    declared = set(compose.get("volumes") or {})
    for name, svc in compose["services"].items():
        for entry in svc.get("volumes") or []:
            source = entry.get("source", "") if isinstance(entry, dict) else entry.split(":")[0]
            if source and not source.startswith((".", "/", "~")):
                assert source in declared, f"{name}: named volume {source} not declared"
        build = svc.get("build")
        if build:
            context = ROOT / build.get("context", ".")
            assert (context / build.get("dockerfile", "Dockerfile")).is_file()


def test_clickhouse_image_directories_are_not_shadowed(compose: dict[str, Any]) -> None:
    """The image ships config.d/docker_related_config.xml (listen on all
    interfaces) and its entrypoint writes users.d/default-user.xml: mount
    files into those directories, never over them."""
    mounts = bind_mounts(service(compose, "clickhouse"))
    targets = {PurePosixPath(target) for _, target in mounts}
    for directory in ("config.d", "users.d"):
        path = PurePosixPath("/etc/clickhouse-server") / directory
        assert path not in targets, f"{path} mounted whole"
        inside = [source for source, target in mounts if PurePosixPath(target).parent == path]
        assert inside, f"nothing mounted into {path}"
        for source in inside:
            root = ET.parse(ROOT / source).getroot()
            assert root.tag == "clickhouse", source


def test_writer_profile_applies_to_the_clickhouse_user(compose: dict[str, Any]) -> None:
    clickhouse = service(compose, "clickhouse")
    user = environment(clickhouse)["CLICKHOUSE_USER"]
    files = [
        (source, target)
        for source, target in bind_mounts(clickhouse)
        if PurePosixPath(target).parent == PurePosixPath("/etc/clickhouse-server/users.d")
    ]
    assigned = []
    for source, target in files:
        root = ET.parse(ROOT / source).getroot()
        profile = root.find(f"users/{user}/profile")
        if profile is None:
            continue
        assigned.append(profile.text)
        assert root.find(f"profiles/{profile.text}") is not None, f"{source}: no such profile"
        # Merged in name order: must come after the entrypoint's default-user.xml.
        assert PurePosixPath(target).name > "default-user.xml", target
    assert assigned, f"no users.d file gives {user!r} a profile"


def cli_options(words: list[str]) -> dict[str, str]:
    """{--option: value} of a command line; flags map to ""."""
    options: dict[str, str] = {}
    for index, word in enumerate(words):
        if word.startswith("--"):
            following = words[index + 1] if index + 1 < len(words) else "--"
            options[word] = "" if following.startswith("--") else following
    return options


def test_kafka_init_creates_exactly_the_topic_plan(compose: dict[str, Any]) -> None:
    init = service(compose, "kafka-init")
    script = "\n".join(command_args(init.get("entrypoint")) + command_args(init.get("command")))
    created: dict[str, int] = {}
    configs: dict[str, dict[str, str]] = {}
    for line in script.splitlines():
        words = shlex.split(line, comments=True)
        if not words or not words[0].endswith("kafka-topics.sh") or "--create" not in words:
            continue
        assert "--if-not-exists" in words, line
        options = cli_options(words[1:])
        assert options["--bootstrap-server"] == worker_settings(compose).bootstrap_servers
        assert int(options["--replication-factor"]) == 1, "one broker"
        assert options["--topic"] not in created, f"created twice: {options['--topic']}"
        created[options["--topic"]] = int(options["--partitions"])
        configs[options["--topic"]] = dict(
            words[i + 1].split("=", 1) for i, word in enumerate(words) if word == "--config"
        )
    assert created, "kafka-init runs no kafka-topics.sh --create"

    settings = worker_settings(compose)
    plan = topic_plan(
        Settings(
            topic_prefix=settings.topic_prefix,
            channel_partitions=settings.channel_partitions,
            internal_partitions=settings.internal_partitions,
            clickhouse_url="http://unused:8123",
            pii_secret=None,
        )
    )
    assert sorted(created) == sorted(plan)
    assert created == plan, "partitions differ from CX_CHANNEL/INTERNAL_PARTITIONS"
    for topic in plan:  # retention, compaction, record size: the same either way
        assert configs[topic] == topic_configs(settings).get(topic, {}), topic
    init_deps = init.get("depends_on") or {}
    assert init_deps.get("kafka", {}).get("condition") == "service_healthy"


def test_worker_waits_for_its_dependencies(compose: dict[str, Any]) -> None:
    worker = service(compose, "worker")
    depends = worker.get("depends_on") or {}
    assert isinstance(depends, dict), "depends_on needs conditions"
    expected = {
        "kafka-init": "service_completed_successfully",
        "migrate": "service_completed_successfully",
        "clickhouse": "service_healthy",
    }
    for name, condition in expected.items():
        assert (depends.get(name) or {}).get("condition") == condition, name
    assert command_args(worker.get("command")) == ["worker"]
    assert worker.get("restart") == "unless-stopped"


def test_migrate_runs_db_migrate_with_the_worker_image(compose: dict[str, Any]) -> None:
    migrate, worker = service(compose, "migrate"), service(compose, "worker")
    assert command_args(migrate.get("command")) == ["db", "migrate"]
    assert migrate.get("image") == worker.get("image")
    assert migrate.get("build") == worker.get("build")
    depends = migrate.get("depends_on") or {}
    assert (depends.get("clickhouse") or {}).get("condition") == "service_healthy"
    assert str(migrate.get("restart", "no")) == "no", "a one-shot must not restart"
    env = environment(migrate)
    assert not sorted(set(env) - SETTINGS_ENV)
    assert env["CX_CLICKHOUSE_URL"] == environment(worker)["CX_CLICKHOUSE_URL"]
    assert env["CX_DATABASE"] == environment(worker)["CX_DATABASE"]


# --- the image --------------------------------------------------------------


def package_dirs() -> list[str]:
    """Top-level package directories named by [tool.setuptools.packages.find]."""
    include = pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    names = sorted({pattern.split(".")[0].rstrip("*") for pattern in include})
    assert names and all(names)
    return names


def test_dockerfile_copies_every_package() -> None:
    sources = copy_sources()
    for name in package_dirs():
        assert (ROOT / name).is_dir(), f"{name}/ named by pyproject is not in the repo"
        assert name in sources, f"deploy/Dockerfile does not COPY {name}/"
    assert "pyproject.toml" in sources
    readme = pyproject()["project"].get("readme")
    if isinstance(readme, str):
        assert any(fnmatch.fnmatch(readme, source) for source in sources), readme
    for source in sources:
        if not any(char in source for char in "*?["):
            assert (ROOT / source).exists(), f"COPY source missing from the repo: {source}"
    installs = [a for k, a in dockerfile_instructions() if k == "RUN" and "pip install" in a]
    assert any(re.search(r"pip install\b.*\s\.$", a) for a in installs), "no `pip install .`"


def test_dockerignore_keeps_what_the_image_needs() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for must_ignore in (".venv", ".git", ".cx-data", "tests"):
        assert must_ignore in patterns, f".dockerignore lets {must_ignore} into the context"
    for needed in ["pyproject.toml", *package_dirs(), "deploy/Dockerfile"]:
        hits = [p for p in patterns if not p.startswith("!") and fnmatch.fnmatch(needed, p)]
        assert not hits, f".dockerignore excludes {needed} ({hits})"


def dockerignore_patterns() -> list[str]:
    return [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether the build context leaves `path` out: the last pattern that
    matches it or one of its parent folders decides (`!` lets it back in)."""
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for pattern in patterns:
        keep = pattern.startswith("!")
        bare = pattern.removeprefix("!").strip("/")
        if any(fnmatch.fnmatch(c, bare) for c in candidates):
            verdict = not keep
    return verdict


def test_the_image_has_the_runtime_and_not_the_development_tooling() -> None:
    """streams/dev (the local broker, the generator, the demo, benchmarks)
    stays out of the build context; every other package, module and package
    data file of streams/ and schemas/ goes in (`COPY streams/ streams/`)."""
    patterns = dockerignore_patterns()
    assert ignored("streams/dev", patterns), ".dockerignore lets streams/dev into the image"
    assert ignored("streams/dev/broker.py", patterns)
    sources = copy_sources()
    shipped = [
        path.relative_to(ROOT).as_posix()
        for name in package_dirs()
        for path in sorted((ROOT / name).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    ]
    runtime = [p for p in shipped if not p.startswith("streams/dev/")]
    assert any(p.startswith("streams/runtime/") for p in runtime)
    assert any(p.startswith("streams/clickhouse/sql/") for p in runtime)
    left_out = [p for p in runtime if ignored(p, patterns)]
    assert left_out == [], f".dockerignore leaves runtime files out: {left_out}"
    packages = sorted({PurePosixPath(p).parent.as_posix() for p in runtime if p.endswith(".py")})
    assert "streams/runtime" in packages and "streams/journeys" in packages
    uncopied = [p for p in packages if not any(p.split("/")[0] == s for s in sources)]
    assert uncopied == [], f"deploy/Dockerfile does not COPY {uncopied}"


def base_image(from_args: str) -> str:
    """The image of a FROM line, build ARGs declared before it resolved."""
    defaults = {}
    for keyword, args in dockerfile_instructions():
        if keyword == "FROM":
            break
        if keyword == "ARG" and "=" in args:
            name, _, value = args.partition("=")
            defaults[name.strip()] = value.strip().strip('"')
    image = from_args.split()[0]
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: defaults[m[1] or m[2]], image)


def entrypoint_script() -> tuple[str, str]:
    """(console script, its `module:attr`) the image's ENTRYPOINT runs."""
    entrypoints = [exec_form(a) for k, a in final_stage() if k == "ENTRYPOINT"]
    assert entrypoints, "deploy/Dockerfile has no ENTRYPOINT"
    scripts = pyproject()["project"]["scripts"]
    name = entrypoints[-1][0]
    assert len(entrypoints[-1]) == 1 and name in scripts, f"ENTRYPOINT is not one of {scripts}"
    return name, scripts[name]


def test_dockerfile_runs_the_console_script_as_non_root() -> None:
    stage = final_stage()
    assert base_image(stage[0][1]).startswith("python:3.11-slim"), stage[0]
    assert entrypoint_script()[0] == "cx"
    cmds = [exec_form(a) for k, a in stage if k == "CMD"]
    assert cmds and cmds[-1] == ["worker"]
    users = [a for k, a in stage if k == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}, "the image runs as root"


def test_healthchecks_hit_live_and_ready_on_the_web_port(compose: dict[str, Any]) -> None:
    """The image checks liveness (a waiting worker is alive: restarting it
    heals nothing); compose checks readiness, which is what depends_on and
    `docker compose ps` show."""
    stage = final_stage()
    checks = [a for k, a in stage if k == "HEALTHCHECK"]
    assert checks, "deploy/Dockerfile has no HEALTHCHECK"
    image_port, image_path = health_url(checks[-1])
    compose_port, compose_path = health_url(healthcheck_text(service(compose, "worker")))
    assert (image_path, compose_path) == ("/live", "/ready")
    assert image_port == compose_port == worker_settings(compose).web_port
    exposed = [int(p.split("/")[0]) for k, a in stage if k == "EXPOSE" for p in a.split()]
    assert image_port in exposed


def test_cli_has_the_commands_compose_runs() -> None:
    module_name, _, attr = entrypoint_script()[1].partition(":")
    assert importlib.util.find_spec(module_name) is not None, (
        f"{module_name} (the `cx` console script the image runs) does not exist"
    )
    import click

    group = getattr(importlib.import_module(module_name), attr)
    assert isinstance(group, click.Group)
    ctx = click.Context(group)
    assert group.get_command(ctx, "worker") is not None, "no `cx worker`"
    db = group.get_command(ctx, "db")
    assert isinstance(db, click.Group) and db.get_command(ctx, "migrate") is not None, (
        "no `cx db migrate`"
    )


def test_the_worker_creates_the_dead_letter_topic_with_its_retention() -> None:
    """Dead letters hold original bytes (personal data included): the
    topic's retention is set by the worker, from the setting, in ms."""
    settings = Settings(clickhouse_url="http://unused:8123", deadletter_retention_days=7)
    configs = topic_configs(settings)
    deadletter = Topics(settings.topic_prefix).deadletter
    assert configs[deadletter]["retention.ms"] == str(7 * 24 * 3600 * 1000)
    touchpoints = configs[Topics(settings.topic_prefix).touchpoints]
    assert touchpoints["retention.ms"] == str(settings.internal_retention_days * 86_400_000)


def test_the_dead_letter_topic_keeps_personal_data_a_week_by_default() -> None:
    """Its original bytes are personal data in clear, kept for their producer
    to fix and replay (docs/operations.md): a week, not a month."""
    settings = Settings(clickhouse_url="http://unused:8123")
    assert settings.deadletter_retention_days == 7
    retention = topic_configs(settings)[Topics(settings.topic_prefix).deadletter]["retention.ms"]
    assert retention == str(7 * 24 * 3600 * 1000)


# --- Prometheus and Grafana -------------------------------------------------


def mount_target(svc: dict[str, Any], source: str) -> str:
    """Where `source` (a path relative to the repository) is mounted."""
    targets = [t for s, t in bind_mounts(svc) if PurePosixPath(s) == PurePosixPath(source)]
    assert targets, f"{source} is not mounted"
    return targets[0]


def pinned(image: str) -> bool:
    """A tag that names a version (digits), not `latest` or none."""
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and bool(re.match(r"v?\d+(\.\d+)+", tag))


def test_third_party_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        if "build" in svc:
            continue
        assert pinned(str(svc.get("image", ""))), f"{name}: pin {svc.get('image')} to a version"


def test_prometheus_scrapes_the_worker_s_metrics(compose: dict[str, Any]) -> None:
    prometheus = service(compose, "prometheus")
    target = mount_target(prometheus, "./deploy/prometheus/prometheus.yml")
    assert f"--config.file={target}" in command_args(prometheus.get("command"))
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    web_port = worker_settings(compose).web_port
    scraped = [
        (job.get("scheme", "http"), job.get("metrics_path", "/metrics"), address)
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for address in static["targets"]
    ]
    assert ("http", "/metrics", f"worker:{web_port}") in scraped, scraped
    assert "worker" in compose["services"]


def provisioning(kind: str) -> dict[str, Any]:
    files = sorted((GRAFANA / "provisioning" / kind).glob("*.yml"))
    assert files, f"no deploy/grafana/provisioning/{kind}/*.yml"
    merged: dict[str, Any] = {}
    for path in files:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert loaded.get("apiVersion") == 1, path
        for key, value in loaded.items():
            merged.setdefault(key, [])
            if isinstance(value, list):
                merged[key] += value
    return merged


def test_grafana_mounts_its_provisioning_and_dashboards(compose: dict[str, Any]) -> None:
    grafana = service(compose, "grafana")
    for kind in ("datasources", "dashboards"):
        for path in sorted((GRAFANA / "provisioning" / kind).glob("*.yml")):
            source = "./" + path.relative_to(ROOT).as_posix()
            target = PurePosixPath(mount_target(grafana, source))
            assert target.parent == PurePosixPath("/etc/grafana/provisioning") / kind, target
    dashboards_dir = PurePosixPath(mount_target(grafana, "./deploy/grafana/dashboards"))
    providers = provisioning("dashboards")["providers"]
    paths = {PurePosixPath(p["options"]["path"]) for p in providers if p.get("type") == "file"}
    assert paths == {dashboards_dir}, paths
    boards = sorted((GRAFANA / "dashboards").glob("*.json"))
    assert [b.name for b in boards] == ["cx-experience.json", "cx-operations.json"]
    home = environment(grafana).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        assert PurePosixPath(home).parent == dashboards_dir
        assert (GRAFANA / "dashboards" / PurePosixPath(home).name).is_file()
    assert environment(grafana)["GF_SECURITY_ADMIN_PASSWORD"] == "grafana-pass"


def test_dashboards_use_the_provisioned_datasources() -> None:
    sources = {(d["type"], d["uid"]) for d in provisioning("datasources")["datasources"]}
    for path in sorted((GRAFANA / "dashboards").glob("*.json")):
        text = path.read_text(encoding="utf-8")
        used = {(m[0], m[1]) for m in re.findall(r'"type": "([^"]+)",\s*"uid": "([^"]+)"', text)}
        assert used, path
        assert used <= sources, f"{path.name} uses data sources not provisioned: {used - sources}"


def test_grafana_reads_clickhouse_as_the_bi_user(compose: dict[str, Any]) -> None:
    """The ClickHouse data source logs in as the read-only user of
    users.d/zz-cx-bi.xml with its password, over HTTP to the clickhouse
    service, on the cx database; the plugin is installed at a pinned version."""
    grafana, clickhouse = service(compose, "grafana"), service(compose, "clickhouse")
    (source,) = [
        d
        for d in provisioning("datasources")["datasources"]
        if d["type"] == "grafana-clickhouse-datasource"
    ]
    data = source["jsonData"]
    bi_users = ET.parse(BI_USERS_FILE).getroot().find("users")
    assert bi_users is not None
    (bi_user,) = list(bi_users)
    assert data["username"] == bi_user.tag == "cx_bi"
    assert bi_user.findtext("profile") == "cx_bi"
    password_env = bi_user.find("password").attrib["from_env"]  # type: ignore[union-attr]
    assert source["secureJsonData"]["password"] in {f"${password_env}", f"${{{password_env}}}"}
    assert environment(grafana)[password_env] == environment(clickhouse)[password_env]
    assert environment(grafana)[password_env] == DEPLOY_ENV["CLICKHOUSE_BI_PASSWORD"]
    assert data["host"] in {"clickhouse", clickhouse.get("hostname")}
    assert (data["protocol"], int(data["port"])) == ("http", 8123)
    assert 8123 in [target for _, target in published_ports(clickhouse)]
    assert data["defaultDatabase"] == environment(clickhouse)["CLICKHOUSE_DB"]
    plugins = environment(grafana)["GF_INSTALL_PLUGINS"].split(",")
    versions = dict(p.strip().split(" ", 1) for p in plugins)
    assert re.fullmatch(r"\d+\.\d+\.\d+", versions["grafana-clickhouse-datasource"])
    depends = grafana.get("depends_on") or {}
    assert (depends.get("clickhouse") or {}).get("condition") == "service_healthy"


def test_grafana_reads_prometheus(compose: dict[str, Any]) -> None:
    (source,) = [d for d in provisioning("datasources")["datasources"] if d["type"] == "prometheus"]
    url = urlsplit(source["url"])
    assert url.hostname == "prometheus" and "prometheus" in compose["services"]
    assert url.port in [target for _, target in published_ports(service(compose, "prometheus"))]


# --- docker-compose itself, where it is installed -----------------------------


def compose_command() -> list[str] | None:
    """`docker compose` (v2) or `docker-compose` (v1), if either runs here."""
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        if len(command) == 1:
            return command
        probe = subprocess.run([*command, "version"], capture_output=True, timeout=30, check=False)
        if probe.returncode == 0:  # docker without its compose plugin: try v1
            return command
    return None


def test_docker_compose_accepts_the_file_and_refuses_it_without_passwords(
    tmp_path: Path,
) -> None:
    """`docker-compose config -q` where docker-compose is installed (it needs
    no engine); the static checks above stand in for it where it is not."""
    command = compose_command()
    if command is None:
        # CI installs it and requires the check; elsewhere the static checks stand in.
        assert not os.environ.get("CI_REQUIRE_DOCKER_COMPOSE"), "docker-compose is not installed"
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    empty = tmp_path / "empty.env"  # a developer's .env must not decide the outcome
    empty.write_text("")
    base = [*command, "--env-file", str(empty), "-f", str(COMPOSE_FILE), "config", "-q"]

    def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        path = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
        return subprocess.run(
            base, env={**path, **env}, capture_output=True, text=True, timeout=60, check=False
        )

    accepted = run(DEPLOY_ENV)
    assert accepted.returncode == 0, accepted.stderr
    without = run({k: v for k, v in DEPLOY_ENV.items() if k != "CLICKHOUSE_PASSWORD"})
    assert without.returncode != 0 and "CLICKHOUSE_PASSWORD" in without.stderr

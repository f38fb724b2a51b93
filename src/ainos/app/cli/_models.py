"""``ainos models …`` and ``ainos embed``: the model catalog, and embeddings from the command
line — through the daemon when one runs, in-process otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from ainos.ai.ml import (
    DEFAULT_EMBEDDING_MODEL,
    ModelCatalog,
    choose_embedding_variant,
    read_gguf_info,
)
from ainos.app.api import daemon_api_url
from ainos.app.cli._daemon import SOCKET_OPTION, progress_reporter
from ainos.app.cli._output import emit_json, human_bytes, stderr, stdout
from ainos.app.runtime import Runtime, RuntimeConfig
from ainos.errors import AinosError, InvalidArgument
from ainos.kernel.control import ServicesConfig
from ainos.protocol import ModelFormat, ModelInfo, ModelTask
from ainos.protocol.scheduler import Priority

if TYPE_CHECKING:
    from ainos.app.api import DaemonApi

models_app = typer.Typer(help="The model catalog: list, show, add, remove, load, unload.")


def _api(url: str) -> DaemonApi:
    """The daemon's API; used in a ``with`` block, which closes its connection."""
    from ainos.app.api import DaemonApi

    return DaemonApi(url)


def _loaded_aliases(socket_path: Path | None) -> set[str]:
    url = daemon_api_url(socket_path)
    if url is None:
        return set()
    with _api(url) as api:
        return {item["alias"] for item in api.models()}


def _human_count(count: int) -> str:
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if count >= scale:
            return f"{count / scale:.3g}{suffix}"
    return str(count)


def _tokens(count: int) -> str:
    return f"{count // 1024}K" if count % 1024 == 0 else str(count)


def _chat_facts(info: ModelInfo, *, compact: bool = False) -> str:
    """What a chat model's file says about it: architecture, size, context, quantization
    ("llama, 135M parameters, 8192-token context, Q4_1"; compact: "llama, 135M, 8K ctx, Q4_1").
    """
    if info.task is not ModelTask.CHAT:
        return ""
    facts = [info.architecture] if info.architecture else []
    if info.parameters:
        count = _human_count(info.parameters)
        facts.append(count if compact else f"{count} parameters")
    if info.context_length:
        window = info.context_length
        facts.append(f"{_tokens(window)} ctx" if compact else f"{window}-token context")
    if info.quantization:
        facts.append(info.quantization)
    return ", ".join(facts)


def _infos(catalog: ModelCatalog, loaded: set[str]) -> list[ModelInfo]:
    return [
        catalog.info(entry, loaded=alias in loaded)
        for alias, entry in sorted(catalog.entries().items())
    ]


@models_app.command("list")
def list_models(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    socket_path: Path | None = SOCKET_OPTION,
) -> None:
    """Models by alias, their variants, and which the daemon has loaded."""
    infos = _infos(ModelCatalog(), _loaded_aliases(socket_path))
    if as_json:
        emit_json([info.to_dict() for info in infos])
        return
    table = Table(title="models", title_justify="left")
    table.add_column("alias", no_wrap=True)  # a name to type: never cut
    for column in ("task", "source", "variants (ready)", "loaded", "model", "description"):
        table.add_column(column)
    for info in infos:
        variants = ", ".join(f"{v.name}{'' if v.ready else '*'}" for v in info.variants)
        table.add_row(
            info.alias,
            info.task.value,
            info.source.value,
            variants,
            "yes" if info.loaded else "",
            escape(_chat_facts(info, compact=True)),
            escape(info.description),
        )
    table.caption = "* made on first load"
    stdout.print(table)


@models_app.command("show")
def show(
    alias: str = typer.Argument(..., help="The model's alias."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    socket_path: Path | None = SOCKET_OPTION,
) -> None:
    """One model: where it comes from, its variants, and the one this machine uses."""
    catalog = ModelCatalog()
    entry = catalog.entry(alias)
    chosen = reason = None
    if entry.task is ModelTask.EMBEDDING and any(v.ready for v in catalog.variants(entry)):
        with progress_reporter() as report:
            chosen, reason = choose_embedding_variant(entry, report)
    info = catalog.info(
        entry, loaded=alias in _loaded_aliases(socket_path), chosen=chosen, reason=reason
    )
    if as_json:
        emit_json(info.to_dict())
        return
    stdout.print(f"[bold]{info.alias}[/bold] — {escape(info.description)}")
    stdout.print(f"task {info.task.value}, format {info.format.value}, {info.source.value}")
    stdout.print(f"source: {escape(info.source_path or '-')}")
    if facts := _chat_facts(info):
        stdout.print(f"model: {escape(facts)}")
    for variant in info.variants:
        state = (
            f"{human_bytes(variant.size_bytes)} at {escape(variant.path or '')}"
            if variant.ready
            else "made on first load"
        )
        stdout.print(
            f"  {variant.name}: {variant.precision} on {variant.execution_provider}, {state}"
        )
    if info.chosen_variant:
        stdout.print(f"this machine uses {info.chosen_variant}: {escape(info.choice_reason or '')}")
    stdout.print(f"loaded in the daemon: {'yes' if info.loaded else 'no'}")


@models_app.command("add")
def add(
    path: Path = typer.Argument(..., help="A sentence-transformers directory, .onnx or .gguf."),
    alias: str = typer.Option(..., "--alias", help="The name to use the model by."),
    tokenizer: Path | None = typer.Option(None, "--tokenizer", help="tokenizer.json (ONNX)."),
    max_tokens: int | None = typer.Option(None, "--max-tokens", help="Input window (ONNX)."),
    description: str = typer.Option("", "--description", help="A line about the model."),
) -> None:
    """Register your own model (it is checked, and used where it is: not copied)."""
    if max_tokens is not None and not 1 <= max_tokens <= 1_000_000:
        raise InvalidArgument("--max-tokens must be between 1 and 1000000")
    catalog = ModelCatalog()
    entry = catalog.add(
        path, alias=alias, tokenizer=tokenizer, max_tokens=max_tokens, description=description
    )
    facts = _chat_facts(catalog.info(entry))
    details = f"{entry.format.value}; {facts}" if facts else entry.format.value
    stderr.print(f"added {entry.alias}: {entry.task.value} model ({escape(details)})")


@models_app.command("remove")
def remove(alias: str = typer.Argument(..., help="The alias of a model you added.")) -> None:
    """Forget a model you added (its files stay where they are)."""
    entry = ModelCatalog().remove(alias)
    stderr.print(f"removed {entry.alias} (its files at {entry.path} are untouched)")


@models_app.command("load")
def load(
    alias: str = typer.Argument(..., help="The model's alias."),
    socket_path: Path | None = SOCKET_OPTION,
) -> None:
    """Load a model in the daemon; without a daemon, prepare it (convert and cache) now."""
    url = daemon_api_url(socket_path)
    if url is not None:
        with _api(url) as api:
            loaded = api.load_model(alias)
        stderr.print(
            f"loaded {loaded['alias']} ({loaded['variant']}) in the daemon "
            f"in {loaded['load_seconds']:.1f} s"
        )
        return
    catalog = ModelCatalog()
    entry = catalog.entry(alias)
    if entry.format is ModelFormat.GGUF:
        context = read_gguf_info(entry.path).context_length  # checks the file is readable
        stderr.print(
            f"{alias} is ready (GGUF, {context or 'unknown'}-token context, loads in about a "
            "second); no daemon runs, so nothing stays loaded"
        )
        return
    with progress_reporter() as report:
        variant, reason = choose_embedding_variant(entry, report)
    stderr.print(f"{alias} is ready ({variant}: {reason}); no daemon runs, so nothing stays loaded")


@models_app.command("unload")
def unload(
    alias: str = typer.Argument(..., help="The model's alias."),
    socket_path: Path | None = SOCKET_OPTION,
) -> None:
    """Unload a model from the daemon."""
    url = daemon_api_url(socket_path)
    if url is None:
        raise AinosError("no ainos daemon is running: nothing is loaded")
    with _api(url) as api:
        api.unload_model(alias)
    stderr.print(f"unloaded {alias}")


def embed(
    texts: list[str] = typer.Argument(..., help="Texts to embed."),
    model: str = typer.Option(DEFAULT_EMBEDDING_MODEL, "--model", "-m", help="Model alias."),
    priority: Priority = typer.Option(Priority.INTERACTIVE, "--priority", help="Class."),
    as_json: bool = typer.Option(False, "--json", help="Print the vectors as JSON."),
    socket_path: Path | None = SOCKET_OPTION,
) -> None:
    """Sentence embeddings of TEXTS (through the daemon when one runs)."""
    if any(not text.strip() for text in texts):
        raise InvalidArgument("texts must not be empty")
    url = daemon_api_url(socket_path)
    if url is None:
        vectors, counts = _embed_here(model, texts, priority)
        where = "in-process"
    else:
        # The daemon's /v1/embeddings, as any client's request: its gate, length buckets
        # and metrics apply.
        with _api(url) as api:
            document = api.json(
                "POST", "/v1/embeddings", {"model": model, "input": texts}, priority=priority
            )
        rows = sorted(document["data"], key=lambda row: row["index"])
        vectors = np.asarray([row["embedding"] for row in rows], dtype=np.float32)
        counts = [int(document.get("usage", {}).get("prompt_tokens", 0))]
        where = "through the daemon"
    if as_json:
        emit_json(
            {
                "model": model,
                "data": [
                    {"index": i, "text": text, "embedding": vector.tolist()}
                    for i, (text, vector) in enumerate(zip(texts, vectors, strict=True))
                ],
            }
        )
        return
    table = Table(title=f"{model} embeddings ({where})", title_justify="left")
    for column in ("#", "text", "dims", "norm", "first values"):
        table.add_column(column)
    for index, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
        shown = text if len(text) <= 40 else text[:37] + "..."
        head = " ".join(f"{v:+.3f}" for v in vector[:4])
        table.add_row(
            str(index), escape(shown), str(len(vector)), f"{np.linalg.norm(vector):.3f}", head
        )
    if counts:
        table.caption = f"{sum(counts)} tokens"
    stdout.print(table)
    if len(texts) > 1:
        similarity = vectors @ vectors.T
        stdout.print("cosine similarity:")
        for index, row in enumerate(similarity):
            stdout.print(f"  {index}: " + " ".join(f"{value:.3f}" for value in row))


def _embed_here(
    model: str, texts: list[str], priority: Priority
) -> tuple[np.ndarray[Any, Any], list[int]]:
    config = RuntimeConfig(kernel=ServicesConfig(pool_bytes=4 * 1024 * 1024, lock_pool=False))
    with Runtime(config) as runtime, progress_reporter() as report:
        runtime.embeddings.load(model, progress=report)
        result = runtime.embeddings.embed(model, texts, priority=priority)
    return result.vectors, result.token_counts


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
    app.command("embed")(embed)

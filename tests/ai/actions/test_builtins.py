"""The built-in actions, each run for real through the runtime on files made here."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PIL import Image

from ainos.ai.actions import (
    ActionEntity,
    ActionInvocationContext,
    ActionInvocationResult,
    ActionRuntime,
    StreamingTextActionEntity,
    TableActionEntity,
    TextActionEntity,
)
from ainos.ai.actions.builtin import (
    ExtractiveSummarizer,
    count_words,
    parse_table,
    to_csv,
    to_markdown,
)
from ainos.ai.actions.builtin._summarize import split_sentences

ARTICLE = (
    "Solar panels convert sunlight into electricity. The panels are made of silicon cells. "
    "Silicon cells produce electricity when sunlight hits them. Many homes now install solar "
    "panels on their roofs. My neighbour has a red car. Solar electricity lowers power bills "
    "for homes. The weather was nice on Tuesday. Batteries store solar electricity for the "
    "night. Dogs like to run in the park. Solar panels need little maintenance."
)


def _invoke(
    runtime: ActionRuntime, action_id: str, **inputs: ActionEntity
) -> ActionInvocationContext:
    context = asyncio.run(runtime.invoke_action(action_id, inputs))
    assert context.result is ActionInvocationResult.SUCCESS, context.extended_error
    return context


def _text(context: ActionInvocationContext, name: str) -> str:
    entity = context.get_output(name)
    assert isinstance(entity, TextActionEntity)
    return entity.text


def _rows(context: ActionInvocationContext, name: str) -> list[tuple[str, ...]]:
    entity = context.get_output(name)
    assert isinstance(entity, TableActionEntity)
    return entity.rows()


def test_summarize_text_streams_an_extractive_summary(runtime: ActionRuntime) -> None:
    seen: list[str] = []

    async def scenario() -> ActionInvocationContext:
        context = runtime.create_invocation_context("Ainos.SummarizeText")
        context.set_input_entity("Text", runtime.entity_factory.create_text_entity(ARTICLE))
        context.add_output_handler(
            lambda named: (
                isinstance(named.entity, StreamingTextActionEntity)
                and named.entity.add_text_changed_handler(lambda s: seen.append(s.get_text()))
            )
        )
        await runtime.invoke(context)
        return context

    context = asyncio.run(scenario())
    summary = context.get_output("Summary")
    assert isinstance(summary, StreamingTextActionEntity)
    assert summary.is_complete
    text = summary.get_text()
    # Ten sentences give a two-sentence summary: the opening one and a topical one.
    first, second = split_sentences(text)
    assert first == "Solar panels convert sunlight into electricity."
    assert "solar" in second.lower()
    assert not any(word in text for word in ("car", "Dogs", "weather"))
    assert seen[:2] == ["Solar panels convert sunlight into electricity.", text]


def test_summarizer_keeps_short_texts_whole_and_skips_markdown_structure() -> None:
    async def summarize(text: str, n: int) -> str:
        return "".join([piece async for piece in ExtractiveSummarizer().summarize(text, n)])

    assert (
        asyncio.run(summarize("One sentence. Two sentences.", 3)) == "One sentence. Two sentences."
    )
    markdown = (
        "# Title\n\nFirst para\ncontinues here. Dr. Who came.\n\n"
        "```\ncode();\n```\n- item one\n  wraps\n| a | b |"
    )
    assert split_sentences(markdown) == [
        "First para continues here.",
        "Dr. Who came.",
        "item one wraps",
    ]


def test_summarize_a_document(runtime: ActionRuntime, tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text(ARTICLE)
    document = runtime.entity_factory.create_document_entity(notes)
    context = _invoke(runtime, "Ainos.SummarizeText", Document=document)
    summary = context.get_output("Summary")
    assert isinstance(summary, StreamingTextActionEntity)
    assert summary.get_text().startswith("Solar panels convert sunlight")


def test_analyze_codebase(runtime: ActionRuntime, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "node_modules" / "dep").mkdir(parents=True)
    (project / "node_modules" / "dep" / "index.js").write_text("var x = 1;\n" * 500)
    (project / "pkg" / "core.py").write_text(
        "# TODO: split this module\n"
        "def decide(a, b):\n"
        "    if a and b:\n"
        "        return 1\n"
        "    for i in range(3):\n"
        "        if i:\n"
        "            pass\n"
        "\n"
        "    return [x for x in b if x]\n"
    )
    (project / "pkg" / "small.py").write_text("VALUE = 'TODO in a string is not a marker'\n")
    (project / "app.js").write_text("// FIXME: handle errors\nif (a && b) { run(); }\n")
    # Vendored and minified: one line of many branches, which no one wrote this way.
    (project / "vendor.min.js").write_text("if(a){b()}else if(c){d()}" * 200 + "\n")
    (project / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\ndependencies = ["requests>=2", "numpy"]\n'
        '[project.optional-dependencies]\ndev = ["pytest"]\n'
    )
    (project / "package.json").write_text('{"dependencies": {"left-pad": "1.0.0"}}')
    codebase = runtime.entity_factory.create_file_entity(project)
    context = _invoke(runtime, "Ainos.AnalyzeCodebase", Codebase=codebase)
    rows = _rows(context, "Languages")
    assert rows[0] == ("Language", "Files", "Lines", "Code", "Comments", "Blank")
    assert rows[1] == ("Python", "2", "10", "8", "1", "1")
    assert ("JavaScript", "1", "2", "1", "1", "0") in rows
    assert all(r[0] != "TOML" or r[1] == "1" for r in rows)
    report = _text(context, "Report")
    assert "- pkg/core.py: 9 lines" in report
    assert "- pkg/core.py: 6 decision points" in report
    assert "- pkg/core.py:1: TODO split this module" in report
    assert "- app.js:1: FIXME handle errors" in report
    assert "TODO in a string" not in report
    assert "pyproject.toml (Python (pyproject)): 3 dependencies: requests, numpy, pytest" in report
    assert "package.json (JavaScript (npm)): 1 dependencies: left-pad" in report
    assert "node_modules" not in report
    assert "vendor.min.js" not in report
    assert "1 minified file" in report
    summary = dict(_rows(context, "Summary")[1:])
    assert summary["Source files"] == "5"  # Python 2, JavaScript 1, TOML 1, JSON 1
    assert summary["Largest file"] == "pkg/core.py (9 lines)"
    assert summary["TODO markers"] == "2 (FIXME 1, TODO 1)"
    assert summary["Most complex file"] == "pkg/core.py (6 decision points)"


def test_search_files(runtime: ActionRuntime, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("alpha\nNeedle here\nomega\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("no match\nanother needle\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "c.txt").write_text("needle in hiding\n")
    (tmp_path / "bin.dat").write_bytes(b"needle\0\0")
    folder = runtime.entity_factory.create_file_entity(tmp_path)
    query = runtime.entity_factory.create_text_entity("needle")
    context = _invoke(runtime, "Ainos.SearchFiles", Folder=folder, Query=query)
    assert _rows(context, "Matches") == [
        ("Path", "Line", "Text"),
        ("a.txt", "2", "Needle here"),
        ("sub/b.md", "2", "another needle"),
    ]
    assert _text(context, "Summary").startswith("2 matching lines in 2 of 2 files")
    # A capital letter makes the search case-sensitive.
    capital = runtime.entity_factory.create_text_entity("Needle")
    context = _invoke(runtime, "Ainos.SearchFiles", Folder=folder, Query=capital)
    assert len(_rows(context, "Matches")) == 2


def _jpeg_with_exif(path: Path) -> None:
    image = Image.new("RGB", (64, 48), "teal")
    exif = Image.Exif()
    exif[0x010F] = "Contoso"  # Make
    exif[0x0110] = "Lens 9000"  # Model
    exif[0x0131] = "ainos tests"  # Software
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 10:30:00"  # DateTimeOriginal
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 29.0)
    gps[3], gps[4] = "E", (2.0, 17.0, 40.0)
    image.save(path, "JPEG", exif=exif)


def test_describe_photo(runtime: ActionRuntime, tmp_path: Path) -> None:
    path = tmp_path / "holiday.jpg"
    _jpeg_with_exif(path)
    photo = runtime.entity_factory.create_photo_entity(path)
    context = _invoke(runtime, "Ainos.DescribePhoto", Photo=photo)
    rows = dict(_rows(context, "Metadata"))
    assert rows["Format"] == "JPEG"
    assert rows["Dimensions"] == "64x48"
    assert rows["Make"] == "Contoso"
    assert rows["DateTimeOriginal"] == "2024:05:01 10:30:00"
    assert rows["GPS position"] == "48.858056, 2.294444"
    assert _text(context, "Description") == (
        "A 64x48 JPEG image taken with Contoso Lens 9000 on 2024:05:01 10:30:00 "
        "at 48.858056, 2.294444."
    )


def test_describe_photo_without_exif_and_a_non_image(
    runtime: ActionRuntime, tmp_path: Path
) -> None:
    plain = tmp_path / "plain.png"
    Image.new("L", (3, 2)).save(plain)
    context = _invoke(
        runtime, "Ainos.DescribePhoto", Photo=runtime.entity_factory.create_photo_entity(plain)
    )
    assert _text(context, "Description") == "A 3x2 PNG image; it carries no camera metadata."
    fake = tmp_path / "fake.jpg"
    fake.write_text("not an image")
    photo = runtime.entity_factory.create_photo_entity(fake)
    failed = asyncio.run(runtime.invoke_action("Ainos.DescribePhoto", {"Photo": photo}))
    assert failed.result is ActionInvocationResult.UNSUPPORTED
    assert "is not an image Pillow can read" in (failed.extended_error or "")


@pytest.mark.parametrize(
    ("source", "converted"),
    [
        (
            'name,age\nAda,36\n"Lovelace, A.",1815\n',
            "| name | age |\n| --- | --- |\n| Ada | 36 |\n| Lovelace, A. | 1815 |\n",
        ),
        (
            "| name | age |\n|:---|---:|\n| Ada | 36 |\n| a \\| b | 2 |\n",
            "name,age\nAda,36\na | b,2\n",
        ),
        ("x;y\n1;2\n", "| x | y |\n| --- | --- |\n| 1 | 2 |\n"),
    ],
)
def test_convert_table_both_ways(runtime: ActionRuntime, source: str, converted: str) -> None:
    context = _invoke(
        runtime, "Ainos.ConvertTable", Source=runtime.entity_factory.create_text_entity(source)
    )
    assert _text(context, "Converted") == converted
    table = context.get_output("Table")
    assert isinstance(table, TableActionEntity)
    assert table.column_count == 2


def test_convert_table_round_trip_and_file_input(runtime: ActionRuntime, tmp_path: Path) -> None:
    rows = [["h1", "h2", "h3"], ["a", "", "c|d"], ["1", "2"]]
    markdown = to_markdown(rows)
    back, found = parse_table(markdown)
    assert found == "markdown"
    assert back == [["h1", "h2", "h3"], ["a", "", "c|d"], ["1", "2", ""]]
    assert parse_table(to_csv(back)) == (back, "csv")
    csv_file = tmp_path / "t.csv"
    csv_file.write_text("a,b\n1,2\n")
    context = _invoke(
        runtime,
        "Ainos.ConvertTable",
        SourceFile=runtime.entity_factory.create_file_entity(csv_file),
    )
    assert _text(context, "Converted").startswith("| a | b |")
    cells = runtime.entity_factory.create_table_entity(["k", "v", "x", "y"], 2)
    context = _invoke(runtime, "Ainos.ConvertTable", Cells=cells)
    assert _text(context, "Converted") == "| k | v |\n| --- | --- |\n| x | y |\n"


def test_count_words(runtime: ActionRuntime) -> None:
    text = "It's a test. Another line here!\n\nSecond paragraph, with co-operation."
    counts = count_words(text)
    assert counts["Words"] == 10
    assert counts["Sentences"] == 3
    assert counts["Paragraphs"] == 2
    assert counts["Lines"] == 3
    context = _invoke(
        runtime, "Ainos.CountWords", Text=runtime.entity_factory.create_text_entity(text)
    )
    assert ("Words", "10") in _rows(context, "Counts")
    assert _text(context, "Summary") == "10 words in text"
